"""The switchboard driven through the Pilot, as the operator uses it."""

from __future__ import annotations

import asyncio

import pytest

from textual.widgets import Static

from core.shell.app import make_app
from core.shell.widgets import RecordTable
from plugins.telephony.service import service_for

from telephony_helpers import Site


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def wait_for(predicate, timeout: float = 60.0) -> None:  # a deadline for failing runs only
    for _ in range(int(timeout / 0.05)):
        await asyncio.sleep(0.05)
        if predicate():
            return
    raise AssertionError("condition not reached in time")


async def test_answer_attended_transfer_target_away_message_reaches_the_target(site):
    bd = site.open("bob")
    anna_bd = site.open("anna")  # Anna works in her own Backdesk at the same time
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await pilot.pause()
            assert app.current_mode == "telephony"
            assert "No call on the line" in text_of(app, "#sb-call")
            # answer: a new external caller, remembered with name and company
            await pilot.press("a")
            await pilot.pause()
            await pilot.press(*"+49 30 4471230", "enter")
            await pilot.press(*"Klaus Brandt", "enter", *"Brandt GmbH", "enter")
            await pilot.pause()
            assert "Klaus Brandt (Brandt GmbH)" in text_of(app, "#sb-call")
            # attended transfer to Anna Becker, found by typing
            await pilot.press("T")
            await pilot.pause()
            await pilot.press(*"becker", "enter")
            await pilot.pause()
            assert "Consulting Anna Becker" in text_of(app, "#sb-call")
            # she is away: the operator takes a message instead
            await pilot.press("w")
            await pilot.pause()
            await pilot.press(*"Please call back about the offer")
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "No call on the line" in text_of(app, "#sb-call")
        svc = service_for(bd.context("telephony"))
        call = svc.calls.all()[-1]
        assert call["outcome"] == "message"
        assert [t["state"] for t in call["transfers"]] == ["cancelled"]
        message = svc.messages.get(call["message_id"])
        assert message["text"] == "Please call back about the offer"
        assert message["for_person_id"] == bd.services.people.by_extension("131")["id"]
        assert svc.contacts.find({"number": "+49304471230"})[0]["company"] == "Brandt GmbH"
        assert svc.presence_of(message["for_person_id"]) == "away"

        # Anna, logged in as herself in another Backdesk, sees it
        anna_bd.store.refresh()
        anna_app = make_app(anna_bd, poll_interval=0)
        async with anna_app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert anna_app.sub_title.endswith("1 unread")
            await pilot.press("f4")
            await pilot.pause()
            table = anna_app.screen.query_one("#inbox-table", RecordTable)
            texts = [table.record_at(i)["text"] for i in range(table.row_count)]
            assert texts == ["While you were out: Klaus Brandt (Brandt GmbH) called (+49304471230): "
                             "Please call back about the offer — please call back"]
    finally:
        anna_bd.close()
        bd.close()


async def test_filter_as_you_type_transfer_with_enter_and_away_offers_message(site):
    bd = site.open("bob")
    svc = service_for(bd.context("telephony"))
    svc.set_presence("150", "dnd")
    call_id = svc.log_call("121")
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await pilot.pause()
            await pilot.press("slash", *"richter", "enter")
            await pilot.pause()
            table = app.screen.query_one("#sb-table", RecordTable)
            assert table.row_count == 1 and table.cursor_record["name"] == "Thomas Richter"
            assert table.cursor_record["state"] == "dnd"
            await pilot.press("enter")  # put through: he is on DND → the message form opens
            await pilot.pause()
            assert app.screen.__class__.__name__ == "FormScreen"
            await pilot.press("escape")
            await pilot.pause()
            assert svc.get_call(call_id)["status"] == "active"
            await pilot.press("d")  # DND off for the highlighted person
            await pilot.pause()
            assert svc.presence_of(table.cursor_record["id"]) == "idle"
            await pilot.press("enter")
            await pilot.pause()
            assert svc.get_call(call_id)["to_person_id"] == table.cursor_record["id"]
            assert "No call on the line" in text_of(app, "#sb-call")
            # the history screen shows the chain
            app.open_nav("telephony.history")
            await pilot.pause()
            hist = app.screen.query_one("#hist-table", RecordTable)
            assert hist.record_at(0)["chain"].endswith("→ Thomas Richter")
            await pilot.press("2")  # unanswered only
            await pilot.pause()
            assert hist.row_count == 0
    finally:
        bd.close()


async def test_hang_up_asks_first_and_callback_done_can_be_taken_back(site):
    """h on a call asks (default no: n or Enter keeps the caller); x marks a
    callback done at once and u opens it again."""
    from core.shell.widgets import ConfirmDialog

    bd = site.open("bob")
    svc = service_for(bd.context("telephony"))
    call_id = svc.log_call("0301234567", name="Klaus Brandt")
    message_id = svc.take_message("Anna Becker", "Wants the price list", caller="Paula Parker")
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await wait_for(lambda: "Klaus Brandt" in text_of(app, "#sb-call"))
            await pilot.press("h")
            await wait_for(lambda: isinstance(app.screen, ConfirmDialog))
            assert "Hang up on Klaus Brandt (call {})?".format(call_id) in str(
                app.screen.query_one(".confirm-dialog--question", Static).render())
            await pilot.press("enter")  # the focus is on No
            await wait_for(lambda: not isinstance(app.screen, ConfirmDialog))
            assert svc.get_call(call_id)["status"] == "active"
            await pilot.press("h", "y")
            await wait_for(lambda: svc.get_call(call_id)["status"] == "ended")
            assert svc.get_call(call_id)["outcome"] == "connected"

            app.open_nav("telephony.messages")
            await wait_for(lambda: app.screen.__class__.__name__ == "MessagesScreen")
            table = app.screen.query_one("#msg-table", RecordTable)
            await wait_for(lambda: table.row_count == 1)
            await pilot.press("x")
            await wait_for(lambda: svc.messages.get(message_id)["status"] == "done")
            await wait_for(lambda: table.row_count == 0)  # open callbacks only
            assert any("Callback for Anna Becker done (u takes it back)." in str(n.message)
                       for n in app._notifications)
            await pilot.press("u")
            await wait_for(lambda: svc.messages.get(message_id)["status"] == "open")
            await wait_for(lambda: table.row_count == 1)
            assert svc.messages.get(message_id)["done_by"] is None
            await pilot.press("u")  # nothing more to take back
            await pilot.pause()
            assert svc.messages.get(message_id)["status"] == "open"
    finally:
        bd.close()


async def test_the_clock_repaints_the_calls_only_when_a_line_changed(site):
    """Each second the board is shown again (a call's waiting time grows):
    with nothing on the line, or the same lines, nothing is repainted (20
    operators' sessions repainted an empty board every second, and the key
    pressed at that moment waited for it)."""
    bd = site.open("bob")
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await pilot.pause()
            screen, board = app.screen, app.screen.query_one("#sb-calls")
            painted = []
            real = board.refresh
            board.refresh = lambda *a, **kw: painted.append(1) or real(*a, **kw)
            for _ in range(3):
                screen._tick()
            assert painted == []
            service_for(bd.context("telephony")).log_call("+49301111222", to="131")
            screen.reload()
            assert len(painted) == 1 and "1111222" in str(board.render())  # a new line: repainted
    finally:
        bd.close()


LONG_TEXT = ("Asks whether the invoice from last month can be paid in two parts; "
             "please call back before Friday, she is in the office until four")


async def _open_messages(app, pilot):
    """The Messages screen opened with its one message shown: its table and
    each column's width by key."""
    app.open_nav("telephony.messages")
    await wait_for(lambda: app.screen.__class__.__name__ == "MessagesScreen")
    table = app.screen.query_one("#msg-table", RecordTable)
    await wait_for(lambda: table.row_count == 1 and table.size.width > 0)
    await pilot.pause()
    return table, dict(zip((c.key for c in table.columns), table._widths))


@pytest.mark.parametrize("locale", ["de_DE", "en_GB"])
async def test_the_messages_text_gets_the_room_at_80x24_and_the_rest_is_whole_under_it(site, locale):
    """Beside the menu at 80x24 the message's text is what an operator
    reads: it takes 30 cells and more (it had 16) while whom it is for and
    the caller give way, both whole on the detail lines under the rows with
    the rest of a long text; at 120x40 every column shows again."""
    from core.i18n import configure

    bd = site.open("bob")
    svc = service_for(bd.context("telephony"))
    svc.take_message("Anna Becker", LONG_TEXT, caller="Paula Parker-Schmidt (Schmidt & Partner Steuerberatung)")
    configure(locale, "Europe/Berlin", "EUR")
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            table, widths = await _open_messages(app, pilot)
            room = table.scrollable_content_region.width
            assert table._table_width <= room  # nothing scrolls sideways
            assert widths["for"] == 0 and widths["from"] == 0, widths  # gave way
            assert widths["text"] >= 30 and widths["text"] == max(widths.values()), widths
            assert widths["when"] > 0 and widths["flags"] > 0
            row = table.render_line(1).text
            assert LONG_TEXT[:widths["text"] - 1] in row, row
            # under the rows: the caller and whom it is for whole, then the text on
            height = table.scrollable_content_region.height
            detail = [table.render_line(y).text.strip() for y in range(height - 3, height)]
            for_, from_, message = ("Für", "Von", "Notiz") if locale == "de_DE" else ("For", "From", "Message")
            joined = " ".join(detail)
            # a value longer than a line goes on on the next one, between two words
            assert joined.startswith(f"{from_}: Paula Parker-Schmidt (Schmidt & Partner Steuerberatung) · "
                                     f"{for_}: Anna Becker · {message}: Asks whether the invoice"), detail
            assert joined.endswith("…") and detail[0].startswith(f"{from_}: Paula"), detail
            assert all(len(line) <= room for line in detail)
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(120, 40)) as pilot:
            table, widths = await _open_messages(app, pilot)
            assert all(widths.values()), widths  # every column shows
            assert widths["text"] >= 40 and widths["text"] == max(widths.values()), widths
            assert "Anna Becker" in table.render_line(1).text
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
        bd.close()
