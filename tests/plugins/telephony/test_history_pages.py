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


def test_a_history_looks_each_name_up_once(tel, bob, monkeypatch):
    """The History's and ``phone calls``' rows name the caller and everyone
    in the chain: with Names each person is looked up once for all the calls
    (on PostgreSQL a lookup is a query: 5,000 calls made 15,000 of them)."""
    from plugins.telephony.cli import call_row

    for i in range(12):
        cid = tel.log_call("+4930123456" + str(i % 3), to="131" if i % 2 else "150")
        if i % 3 == 0:
            tel.transfer(cid, "150" if i % 2 else "131")
    calls = tel.list_calls()
    looked: list = []
    name_of = tel.people.name_of
    monkeypatch.setattr(tel.people, "name_of", lambda pid, default="": looked.append(pid) or name_of(pid, default))
    expected = [call_row(tel, c, human=True) for c in calls]
    assert len(looked) > 12
    looked.clear()
    names = tel_service.Names(tel)
    assert [call_row(names, c, human=True) for c in calls] == expected
    assert sorted(looked, key=str) == sorted(set(looked), key=str) and 0 < len(looked) <= 4
