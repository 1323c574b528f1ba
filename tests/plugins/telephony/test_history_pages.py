"""The History reads calls a page at a time, newest first, until its limit
is filled: the same calls as filtering every call, without reading a year."""

from __future__ import annotations

import pytest

from plugins.telephony import service as tel_service


def person(bd, ext):
    return bd.services.people.by_extension(ext)


@pytest.mark.parametrize("page", [2, 3, 500])
def test_a_limited_history_is_the_full_one_cut(tel, bob, monkeypatch, page):
    monkeypatch.setattr(tel_service, "HISTORY_PAGE", page)
    target = person(bob, "131")["id"]
    for i in range(14):  # many calls within the same second: pages meet inside one timestamp
        cid = tel.log_call("+4930123456" + str(i % 10), to="131" if i % 2 else "150")
        if i % 3 == 0:
            tel.transfer(cid, "131" if i % 2 else "150")
        else:
            tel.end_call(cid, outcome="missed" if i % 4 else "connected")
    reads = []
    find = tel.calls.find

    def counting_find(*args, **kwargs):
        out = find(*args, **kwargs)
        reads.append(len(out))
        return out

    monkeypatch.setattr(tel.calls, "find", counting_find)
    for filters in ({}, {"person_id": target}, {"transferred": True}, {"unanswered": True},
                    {"today": True, "person_id": target}):
        full = tel.list_calls(**filters)
        assert full, filters
        for limit in (1, 2, 5, 100):
            reads.clear()
            got = tel.list_calls(limit=limit, **filters)
            assert [c["id"] for c in got] == [c["id"] for c in full[:limit]], (filters, limit)
            if not filters.get("person_id") and not filters.get("transferred"):
                assert reads == [len(got)]  # one query, no more rows than shown
