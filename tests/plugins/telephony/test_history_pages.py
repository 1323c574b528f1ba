"""The History reads calls a page at a time, newest first, until its limit
is filled: the same calls as filtering every call, without reading a year."""

from __future__ import annotations

import threading

import pytest

from plugins.telephony import service as tel_service


def person(bd, ext):
    return bd.services.people.by_extension(ext)


def test_a_limited_history_is_the_full_one_cut(tel, bob, monkeypatch):
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
            assert reads == [len(got)]  # one query, no more rows than shown (a person's, transferred too)


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


def _calls(tel, bob) -> None:
    """Forty calls within a few seconds (pages meet inside one second): the
    directory's people, contacts with a company, bare numbers; some put
    through, some missed."""
    me = (tel.my_person() or {}).get("id")
    people = [p for p in bob.services.people.find("") if p.get("extension") and p["id"] != me][:4]
    for i in range(40):
        if i % 4 == 0:
            cid = tel.log_call(people[i % len(people)]["extension"], to=people[(i + 1) % len(people)]["extension"])
        elif i % 4 == 1:
            cid = tel.log_call(f"+49301234{i:03d}", name=f"Kunde {i % 3}", company="Wagner Bau",
                               to=people[i % len(people)]["extension"])
        else:
            cid = tel.log_call(f"+49891111{i % 5:03d}", to=people[i % len(people)]["extension"])
        if i % 3 == 0:
            tel.transfer(cid, people[(i + 2) % len(people)]["extension"])
        else:
            tel.end_call(cid, outcome="missed" if i % 2 else "connected")


def _walk(pages, size: int) -> list[int]:
    """Every call, a keyset page after the other (as the table scrolls)."""
    got, after = [], None
    while True:
        rows = pages.page(len(got), size, after=after)
        if not rows:
            return got
        got += [c["id"] for c in rows]
        after = (rows[-1]["started_at"], rows[-1]["id"])


def test_the_history_pages_by_started_at_and_id_and_finds_names_through_the_store(tel, bob):
    _calls(tel, bob)
    full = tel.list_calls()
    for mode in ({}, {"unanswered": True}, {"today": True}):
        where = tel.history_where(**mode)
        want = [c["id"] for c in tel.list_calls(**mode)]
        pages = tel_service.CallPages(tel, where)
        assert pages.count() == len(want) and want, mode
        for size in (1, 3, 7, 100):
            assert _walk(pages, size) == want, (mode, size)
        assert [c["id"] for c in pages.page(len(want) - 5, 5)] == want[-5:]
    people = {p["id"]: p["name"] for p in bob.services.people.find("")}
    roles = ("caller_person_id", "wanted_person_id", "to_person_id", "consult_person_id")
    contacts = {c["id"]: c for c in tel.contacts.all()}
    name = people[full[-1]["wanted_person_id"]].split()[-1].casefold()  # a surname of someone called
    for text in (name, "wagner", "kunde 1", "+49891111002", "1111", "nobody-at-all"):
        def found(c: dict) -> bool:
            contact = contacts.get(c.get("contact_id")) or {}
            return (any(text in people.get(c.get(r), "").casefold() for r in roles)
                    or any(text in (contact.get(k) or "").casefold() for k in ("name", "company", "number"))
                    or any(text in (c.get(k) or "").casefold() for k in ("caller_name", "caller_number")))
        want = [c["id"] for c in full if found(c)]
        assert want or text == "nobody-at-all", text
        parts = tel.history_matching(tel.history_where(), text)
        assert sum(tel.history_count(p) for p in parts) == len(want), text  # the queries never overlap
        found = tel_service.CallMatches(tel, tel.history_where(), text)
        assert found.count() == len(want), text
        for size in (2, 7, 100):
            assert [c["id"] for o in range(0, len(want) + size, size) for c in found.page(o, size)] == want, text
        # one more letter narrows the previous matches in memory: the same calls as asking the store
        shorter = tel_service.CallMatches(tel, tel.history_where(), text[:-1])
        narrowed = tel_service.CallMatches(tel, tel.history_where(), text, previous=shorter)
        assert narrowed.rows == found.rows, text
        # among the newest 25 calls only (the History's 5,000): those from the 25th's second on
        since = tel.history_since(tel.history_where(), 25)
        assert since == full[24]["started_at"]
        recent = tel_service.CallMatches(tel, tel.history_where(), text, since=since)
        assert [r["id"] for r in recent.rows] == [i for i in want if tel.calls.get(i)["started_at"] >= since], text
        window = tel.history_window(tel.history_where(), newest=25)  # the same calls, one read
        assert [r["id"] for r in tel_service.CallMatches(tel, {}, text, window=window).rows] == \
            [r["id"] for r in recent.rows], text
        assert [r["id"] for r in window] == [c["id"] for c in full if c["started_at"] >= since]
        assert all(set(r) <= {"id", "started_at", *tel_service._FOUND_BY} for r in window)


async def _every_call(app, pilot):
    """The Call history opened and switched to every call (key 4): its table."""
    from core.shell.widgets import RecordTable

    app.open_nav("telephony.history")
    await pilot.pause()
    await pilot.press("4")
    await pilot.pause()
    return app.screen.query_one("#hist-table", RecordTable)

async def test_the_history_screen_shows_every_call_and_its_filter_asks_the_store(site, tel, bob, monkeypatch):
    from core.shell.app import make_app

    _calls(tel, bob)
    full = tel.list_calls()
    app = make_app(bob, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await _every_call(app, pilot)
        assert table.row_count == len(full) == 40
        assert [table.record_at(r)["id"] for r in range(table.row_count)] == [c["id"] for c in full]
        read_in: list = []
        window = tel_service.Telephony.history_window

        def history_window(self, *a, **kw):
            read_in.append(threading.current_thread() is threading.main_thread())
            return window(self, *a, **kw)

        monkeypatch.setattr(tel_service.Telephony, "history_window", history_window)
        await pilot.press("slash")  # the window's fields are read in a thread while the user types
        await app.workers.wait_for_complete()
        assert read_in == [False]
        await pilot.press(*"wagner")
        await pilot.pause(0.3)
        assert read_in == [False]  # once for the whole filter
        want = [c["id"] for c in full if c.get("contact_id")]
        assert table.row_count == len(want) == 10
        assert [table.record_at(r)["id"] for r in range(table.row_count)] == want
        assert all("Wagner Bau" in table.record_at(r)["caller"] for r in range(table.row_count))


def _shown(tel, c: dict) -> dict:
    """A History row as the screen made it before it kept rows (the
    oracle): every name asked of the service, the call read afresh."""
    from core.i18n import format_datetime
    from plugins.telephony.cli import chain_text
    from plugins.telephony.models import format_duration, outcome_title, status_title

    c = tel.calls.get(c["id"])
    return {"id": c["id"], "time": format_datetime(c["started_at"], "short"), "caller": tel.caller_text(c),
            "outcome": outcome_title(c.get("outcome")) or status_title(c["status"]),
            "duration": format_duration(c.get("duration")), "chain": chain_text(tel, c, human=True)}


def test_a_pages_names_are_read_at_once_and_read_the_same(tel, bob, monkeypatch):
    """Names.prefetch reads a page's people in one read and its contacts in
    another; the texts are the service's own, also for a person or contact
    that is gone (``#id``, the stored name or number)."""
    _calls(tel, bob)
    calls = tel.list_calls()
    gone = [{**calls[0], "caller_person_id": 999_999, "chain": [{"kind": "caller"}, {"kind": "put_through",
                                                                                        "person_id": 999_998}]},
            {**calls[1], "caller_person_id": None, "contact_id": 999_997, "caller_name": "Frau Gone"},
            {**calls[2], "caller_person_id": None, "contact_id": 999_996, "caller_name": None,
             "caller_number": "+49 1"}]
    from plugins.telephony.cli import chain_text

    want = [(tel.caller_text(c), chain_text(tel, c, human=True)) for c in calls + gone]
    asked: list = []
    for name in ("get", "name_of"):
        monkeypatch.setattr(tel.people, name, (lambda f, n: lambda *a, **k: asked.append(n) or f(*a, **k))(
            getattr(tel.people, name), name))
    contact_get = tel.contacts.get
    monkeypatch.setattr(tel.contacts, "get", lambda *a, **k: asked.append("contact") or contact_get(*a, **k))
    names = tel_service.Names(tel)
    names.prefetch(calls + gone)
    assert [(names.caller_text(c), chain_text(names, c, human=True)) for c in calls + gone] == want
    # one by one only what the reads did not find: the two contacts that are gone
    assert asked == ["contact", "contact"], asked
    assert any(t.startswith("#999") for t, _c in want) and "Frau Gone" in [t for t, _c in want]


async def test_the_history_screen_shows_the_same_rows_letter_by_letter(site, tel, bob, monkeypatch):
    """Typing a name after ``/`` shows, at every letter, the rows the
    History showed when it read and named each page's calls afresh (the
    oracle: :func:`_shown`); a call shown by an earlier letter is not read
    again (its row is kept until the calls change)."""
    from core.shell.app import make_app

    _calls(tel, bob)
    full = tel.list_calls()
    people = {p["id"]: p["name"] for p in bob.services.people.find("")}
    name = people[full[-1]["wanted_person_id"]].split()[-1]
    app = make_app(bob, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await _every_call(app, pilot)
        columns = ("id", "time", "caller", "outcome", "duration", "chain")
        assert [{k: table.record_at(r)[k] for k in columns} for r in range(table.row_count)] == \
            [_shown(tel, c) for c in full]
        read: list = []
        calls_of = tel_service.Telephony.calls_of
        monkeypatch.setattr(tel_service.Telephony, "calls_of",
                            lambda self, ids: read.append(list(ids)) or calls_of(self, ids))
        await pilot.press("slash")
        await app.workers.wait_for_complete()
        typed = ""
        for letter in name.casefold():
            typed += letter
            await pilot.press(letter)
            await pilot.pause()
            found = {r["id"] for r in tel_service.CallMatches(tel, {}, typed).rows}
            want = [c for c in full if c["id"] in found]
            assert want, typed
            assert [{k: table.record_at(r)[k] for k in columns} for r in range(table.row_count)] == \
                [_shown(tel, c) for c in want], typed
        assert read == []  # every match was among the calls the table had shown (all 40)


def _hops(tel, bob) -> tuple[list[dict], int]:
    """Calls where one person was only passed through (asked for A, put
    through to P, then on to C: P is in the transfers alone), older than
    thirty calls that do not touch P at all (put through, to voicemail,
    missed, consulted and cancelled)."""
    me = (tel.my_person() or {}).get("id")
    a, p, c = [x for x in bob.services.people.find("") if x.get("extension") and x["id"] != me][:3]
    for i in range(3):
        cid = tel.log_call(f"+4930555{i:04d}", to=a["extension"])
        tel.transfer(cid, p["extension"])
        tel.transfer(cid, c["extension"])
    for i in range(30):
        cid = tel.log_call(f"+4989777{i:04d}", to=(a, c)[i % 2]["extension"])
        if i % 3 == 0:
            tel.transfer(cid, c["extension"], mode="voicemail" if i % 2 else "blind")
        elif i % 3 == 1:
            tel.transfer(cid, a["extension"], mode="attended")
            tel.cancel_transfer(cid, reason="busy")
            tel.end_call(cid, outcome="connected")
        else:
            tel.end_call(cid, outcome="missed")
    return tel.list_calls(), p["id"]


def test_a_person_only_passed_through_and_the_transferred_are_paged_by_the_store(tel, bob):
    full, passed = _hops(tel, bob)
    hops = [c["id"] for c in full if passed in tel_service._people_of(c)]
    assert len(hops) == 3 and all(passed not in (tel.calls.get(i).get(r) for r in tel_service._ROLES)
                                  for i in hops)  # only inside transfers[]
    transferred = [c["id"] for c in full if any(t.get("state") == "completed" and t.get("mode") != "voicemail"
                                                for t in c.get("transfers") or ())]
    assert 3 < len(transferred) < len(full)
    for mode, want in (({"person_id": passed}, hops), ({"transferred": True}, transferred),
                       ({"transferred": True, "person_id": passed}, hops)):
        where = tel.history_where(**mode)
        pages = tel_service.CallPages(tel, where)
        assert pages.count() == len(want), mode
        for size in (1, 2, 5, 100):
            assert _walk(pages, size) == want, (mode, size)
        assert [c["id"] for c in pages.page(1, 2)] == want[1:3]  # the oldest on the second page
        assert [c["id"] for c in tel.list_calls(**mode)] == want
    # every call's stored fields say the same as its transfers
    for c in full:
        assert {int(i) for i in c["people"].strip("|").split("|") if i} == tel_service._people_of(c)
        assert c["transferred"] == (c["id"] in transferred)


async def test_the_history_screen_pages_a_persons_and_the_transferred_calls(site, tel, bob):
    from core.shell.app import make_app
    from core.shell.widgets import RecordTable

    full, passed = _hops(tel, bob)
    name = bob.services.people.get(passed)["name"]
    app = make_app(bob, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("telephony.history")
        await pilot.pause()
        table = app.screen.query_one("#hist-table", RecordTable)
        await pilot.press("3")
        await pilot.pause()
        want = [c["id"] for c in full if c["transferred"]]
        assert [table.record_at(r)["id"] for r in range(table.row_count)] == want
        await pilot.press("4", "f")
        await pilot.pause()
        assert type(app.screen).__name__ == "PersonPicker"
        await pilot.press(*name, "enter")
        await pilot.pause()
        table = app.screen.query_one("#hist-table", RecordTable)
        hops = [c["id"] for c in full if f"|{passed}|" in c["people"]]
        assert [table.record_at(r)["id"] for r in range(table.row_count)] == hops and len(hops) == 3
        summary = app.screen.query_one("#hist-summary")
        # whole at 80x24 beside the menu (#18: the keys it listed were cut; the key bar has them)
        assert str(summary.render()) == f"All calls · {name}: 3 calls"
        assert len(str(summary.render())) <= summary.content_size.width


def test_calls_stored_before_get_their_fields_from_the_migration(tmp_path):
    """A site's calls from before (version 1, without people/transferred):
    opening the table at version 2 fills them in, and later writes keep them."""
    from core.storage import Contains
    from tests.conftest import ON_POSTGRESQL, pg_session_server

    def open_raw():
        if ON_POSTGRESQL:
            from core.storage.pg import open_pg_store

            return open_pg_store(dsn)
        from core.storage import open_store

        return open_store(tmp_path / "data")

    if ON_POSTGRESQL:
        server = pg_session_server()
        dsn = server.dsn(schema=server.new_schema())
    old = [{"started_at": "2026-01-05T09:00:00+00:00", "wanted_person_id": 1, "to_person_id": 3,
            "caller_person_id": None, "consult_person_id": None, "status": "ended", "outcome": "connected",
            "transfers": [{"from_person_id": 9, "to_person_id": 2, "mode": "blind", "state": "completed"},
                          {"from_person_id": 2, "to_person_id": 3, "mode": "blind", "state": "completed"}]},
           {"started_at": "2026-01-05T10:00:00+00:00", "wanted_person_id": 2, "to_person_id": None,
            "transfers": [{"from_person_id": 9, "to_person_id": 2, "mode": "voicemail", "state": "completed"}]},
           {"started_at": "2026-01-05T11:00:00+00:00", "caller_person_id": 4, "transfers": []}]
    with open_raw() as store:
        calls = store.table("telephony", "calls", version=1)
        for doc in old:
            calls.insert(doc)
    spec = tel_service.TABLE_VERSIONS["calls"]
    with open_raw() as store:
        calls = store.table("telephony", "calls", **spec)
        assert [(d["people"], d["transferred"]) for d in calls.all()] == [
            ("|1|2|3|9|", True), ("|2|9|", False), ("|4|", False)]
        assert [d["id"] for d in calls.find({"people": Contains("|2|")})] == [1, 2]
        calls.update(3, {"transfers": [{"from_person_id": 4, "to_person_id": 12, "mode": "blind",
                                        "state": "completed"}]})
        assert calls.get(3)["people"] == "|4|12|" and calls.get(3)["transferred"] is True
        assert [d["id"] for d in calls.find({"people": Contains("|2|")})] == [1, 2]  # 12 is not 2
        new = calls.insert({"started_at": "2026-01-06T09:00:00+00:00", "wanted_person_id": 2, "transfers": []})
        assert calls.get(new)["people"] == "|2|" and calls.get(new)["transferred"] is False
