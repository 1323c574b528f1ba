"""The Messages screen and the dashboard's callbacks card read a page of
messages, not the year's: the screen's rows, order, counts and filter are
those of every message read and sorted (``list_messages``, which the CLI
keeps), an operator without ``telephony.messages.read`` still sees only
their own, and the store hands over no more rows than a page."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from textual.widgets import Static

from core.errors import PermissionDenied
from core.shell.app import make_app
from core.shell.widgets import RecordTable
from plugins.telephony import cards
from plugins.telephony.service import service_for

START = datetime(2026, 11, 2, 7, 0, tzinfo=timezone.utc)
ANNA = "Anna Becker"  # the staff operator anna: no telephony.messages.read


async def wait_for(predicate, timeout: float = 60.0) -> None:  # a deadline for failing runs only
    for _ in range(int(timeout / 0.05)):
        await asyncio.sleep(0.05)
        if predicate():
            return
    raise AssertionError("condition not reached in time")


def _office(bd, n: int = 240) -> dict:
    """``n`` messages taken over a few days (ids in the order taken): for
    four people, anna among them; from the directory's people, stored
    callers with a company, bare numbers; a third urgent; of every ten,
    four done, one a note without callback, five open callbacks."""
    tel = service_for(bd.context("telephony"))
    people = [p for p in bd.services.people.find("") if p.get("extension")][:6]
    anna = next(p for p in bd.services.people.find("Anna Becker"))
    targets = [anna] + [p for p in people if p["id"] != anna["id"]][:3]
    callers = [p for p in people if p not in targets]
    with bd.context("telephony").transaction():
        for i in range(n):
            caller = {"caller_person_id": None, "contact_id": None, "caller_name": f"Kunde {i % 7}",
                      "caller_number": f"+4930555{i % 11:04d}", "company": "Wagner Bau" if i % 5 == 0 else None}
            if i % 4 == 3 and callers:
                caller.update(caller_person_id=callers[i % len(callers)]["id"], caller_name=None)
            status = ("done", "done", "open", "done", "open", "noted", "open", "open", "done", "open")[i % 10]
            tel.messages.insert({
                **caller, "for_person_id": targets[i % len(targets)]["id"], "call_id": None,
                "urgency": "urgent" if i % 3 == 0 else "normal", "text": f"Bitte zurückrufen wegen Auftrag {i}",
                "callback": status != "noted", "status": status, "taken_by": "bob",
                "taken_at": (START + timedelta(minutes=37 * i)).isoformat(timespec="seconds"),
                "done_at": None, "done_by": None})
    return {"tel": tel, "anna": anna, "targets": targets}


class _Handed(list):
    """How many messages the store handed over, one entry per read."""

    def __init__(self, monkeypatch) -> None:
        super().__init__()
        self.monkeypatch = monkeypatch

    def patch(self, table) -> None:
        find = type(table).find
        handed = self

        def counting(self, *args, **kwargs):
            out = find(self, *args, **kwargs)
            if self.name == "telephony.messages":
                handed.append(len(out))
            return out

        self.monkeypatch.setattr(type(table), "find", counting)


@pytest.fixture
def counted(monkeypatch):
    return _Handed(monkeypatch)


def _walk(tel, where: dict, size: int) -> list[int]:
    """Every message, a keyset page after the other (as the table scrolls)."""
    got, after = [], None
    while True:
        rows = tel.message_page(where, size, offset=len(got), after=after)
        if not rows:
            return got
        got += [m["id"] for m in rows]
        after = (rows[-1]["status"] == "open", rows[-1]["id"])


def test_message_pages_are_every_message_in_the_screens_order(bob):
    tel = _office(bob, 60)["tel"]
    for open_only in (True, False):
        where = tel.messages_where(open_only=open_only)
        want = [m["id"] for m in tel.list_messages(open_only=open_only)]
        assert tel.message_count(where) == len(want) and want
        for size in (1, 7, 100):
            assert _walk(tel, where, size) == want, (open_only, size)
        for offset in (0, 5, 35, len(want) - 3):  # a jump (End): the parts before counted
            assert [m["id"] for m in tel.message_page(where, 10, offset=offset)] == want[offset:offset + 10]
    every = tel.list_messages()
    assert tel.message_count(tel.messages_where(), open_only=True) == sum(m["status"] == "open" for m in every)


def test_without_messages_read_one_sees_only_ones_own(site, bob):
    anna = _office(bob, 60)["anna"]
    bd = site.open("anna")
    try:
        tel = service_for(bd.context("telephony"))
        where = tel.messages_where()
        got = _walk(tel, where, 7)
        theirs = [m["id"] for m in service_for(bob.context("telephony")).list_messages(for_person_id=anna["id"])]
        assert got == theirs and len(theirs) == 15
        assert tel.message_count(where) == 15
        # another's messages are not found by their name, nor by the caller's
        assert {i for _o, i in tel.messages_matching(where, "kunde")} <= set(theirs)
        assert {i for _o, i in tel.messages_matching(where, "auftrag")} == set(theirs)
        assert tel.open_callbacks(3)[0] == sum(1 for m in tel.list_messages() if m["status"] == "open")
    finally:
        bd.close()


def test_the_wall_without_a_person_in_the_directory(site, bob):
    _office(bob, 10)
    site._write_config("staff")
    from core.services.access import current_account

    bd = site.open(current_account())  # a staff operator with no person in the directory
    try:
        tel = service_for(bd.context("telephony"))
        if tel.my_person() is not None:
            pytest.skip("the account running the tests is in the directory")
        with pytest.raises(PermissionDenied):
            tel.messages_where()
        with pytest.raises(PermissionDenied):
            tel.open_callbacks()
    finally:
        bd.close()


def test_the_card_counts_and_reads_three(bob, counted):
    office = _office(bob)
    tel = office["tel"]
    every = tel.list_messages(open_only=True)
    counted.patch(tel.messages)
    text = cards.render_callbacks(bob.context("telephony"))
    lines = text.split("\n")
    assert lines[0] == f"[b]{len(every)}[/b] open callbacks"
    want = [f"  • {tel.person_text(m['for_person_id'])} ← {tel.message_caller(m)}" for m in every[:3]]
    assert lines[1:] == [w if len(w) <= 38 else w[:37] + "…" for w in want]
    assert sum(counted) == 3  # the three shown; the rest counted by the store


def _summary(app) -> str:
    return str(app.screen.query_one("#msg-summary", Static).render())


async def test_the_messages_screen_shows_a_page_open_first_and_asks_the_store(site, bob, counted):
    office = _office(bob)
    tel = office["tel"]
    every = tel.list_messages()
    open_ = [m for m in every if m["status"] == "open"]
    counted.patch(tel.messages)
    other = site.open("alice")  # another operator, in another session
    app = make_app(bob, poll_interval=0.1)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            counted.clear()
            app.open_nav("telephony.messages")
            await wait_for(lambda: app.screen.__class__.__name__ == "MessagesScreen")
            table = app.screen.query_one("#msg-table", RecordTable)
            await wait_for(lambda: table.row_count == len(open_))
            await pilot.pause()
            assert _summary(app).startswith(f"Open callbacks: {len(open_)} · ")
            assert sum(counted) <= 100, counted  # one page of the open callbacks, not the 240
            first = table.record_at(0)
            assert first["id"] == open_[0]["id"] and first["flags"].endswith("☎")
            assert first["for"] == tel.person_text(open_[0]["for_person_id"])
            assert first["from"] == tel.message_caller(open_[0])
            assert first["text"] == open_[0]["text"]

            counted.clear()
            await pilot.press("o")  # every message: the open ones first, newest first
            await wait_for(lambda: table.row_count == len(every))
            assert _summary(app).startswith(f"All messages: {len(every)}, {len(open_)} open · ")
            assert sum(counted) <= 100, counted
            shown = [table.record_at(i) for i in range(len(every))]
            assert [r["id"] for r in shown] == [m["id"] for m in every]
            assert [r["flags"] for r in shown] == [
                ("!" if m["urgency"] == "urgent" else " ") + {"open": "☎", "done": "✓"}.get(m["status"], " ")
                for m in every]
            assert [r["from"] for r in shown] == [tel.message_caller(m) for m in every]

            # / finds the text, the caller, whom it is for (through the store)
            table.move_cursor(0)
            await pilot.press("slash", *"kunde 3")
            kunde = [m["id"] for m in every if m.get("caller_name") == "Kunde 3"]
            await wait_for(lambda: table.row_count == len(kunde))
            assert [table.record_at(i)["id"] for i in range(len(kunde))] == kunde
            await pilot.press("escape")
            await wait_for(lambda: table.row_count == len(every))

            # x marks the newest open callback done: counted, and it moves down
            table.focus()
            table.move_cursor(0)
            await pilot.press("x")
            await wait_for(lambda: _summary(app).startswith(f"All messages: {len(every)}, {len(open_) - 1} open"))
            assert tel.messages.get(open_[0]["id"])["status"] == "done"
            await wait_for(lambda: table.record_at(0)["id"] == open_[1]["id"])

            # another session takes a message: it shows at the top
            new = service_for(other.context("telephony")).take_message(
                ANNA, "Ruft wegen der Rechnung an", caller="Paula Parker")
            await wait_for(lambda: table.row_count == len(every) + 1, timeout=20)
            await wait_for(lambda: table.record_at(0)["id"] == new)
            assert table.record_at(0)["from"] == "Paula Parker" and table.record_at(0)["for"] == ANNA
            assert _summary(app).startswith(f"All messages: {len(every) + 1}, {len(open_)} open")
    finally:
        other.close()


async def test_an_operator_without_messages_read_sees_only_their_own(site, bob):
    office = _office(bob)
    theirs = [m for m in office["tel"].list_messages() if m["for_person_id"] == office["anna"]["id"]]
    open_ = [m for m in theirs if m["status"] == "open"]
    bd = site.open("anna")
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_nav("telephony.messages")
            await wait_for(lambda: app.screen.__class__.__name__ == "MessagesScreen")
            table = app.screen.query_one("#msg-table", RecordTable)
            await wait_for(lambda: table.row_count == len(open_))
            assert _summary(app).startswith(f"Open callbacks: {len(open_)} · ")
            await pilot.press("o")
            await wait_for(lambda: table.row_count == len(theirs))
            assert _summary(app).startswith(f"All messages: {len(theirs)}, {len(open_)} open · ")
            assert [table.record_at(i)["id"] for i in range(len(theirs))] == [m["id"] for m in theirs]
            assert {table.record_at(i)["for"] for i in range(len(theirs))} == {ANNA}
            await pilot.press("slash", *"kunde")  # the callers of others' messages are not found
            await wait_for(lambda: table.filter_text == "kunde")
            await pilot.pause()
            assert all(table.record_at(i)["for"] == ANNA for i in range(table.row_count))
    finally:
        bd.close()
