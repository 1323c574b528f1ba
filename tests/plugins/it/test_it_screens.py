"""The real app through the Pilot: open, assign and resolve a ticket; the
ticket shows its asset's history, the asset its tickets; the dashboard counts."""

from __future__ import annotations

import asyncio

from textual.widgets import Static

from core.shell.app import make_app
from core.cli.testing import pick
from core.shell.widgets import DetailView, FormScreen, RecordTable
from plugins.it import service as svc
from tests.pilot import open_screen, open_table, wait_for


def text(app, selector) -> str:
    if selector.startswith("#card-"):
        return app.screen.card_text(selector[len("#card-"):])
    return str(app.screen.query_one(selector, Static).render())


async def test_open_assign_resolve_a_ticket_in_the_app(office):
    bd, ctx, ids = office
    me = bd.operator.account
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.current_mode == "it.tickets")
        table = app.screen.query_one("#it-tickets", RecordTable)
        assert table.row_count == 0
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press(*"Nobody")
        await pilot.press("tab", *"Printer jammed")
        await pilot.press("ctrl+s")
        await pilot.pause()
        # an unknown person: the form stays open with the message, nothing stored
        assert isinstance(app.screen, FormScreen)
        assert "Choose one from the list" in str(app.screen.form._errors["requester"].render())
        assert ctx.table("tickets").count() == 0
        assert await pick(pilot, app.screen.form, "requester", "arn", "Anna Arndt") == ids["anna"]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.row_count == 1)
        row = table.cursor_record
        assert row["title"] == "Printer jammed" and row["requester"] == "Anna Arndt" and row["status_text"] == "new"
        # assign: the form offers the IT team, with me first
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.cursor_record and table.cursor_record["assignee_text"] == me)
        assert table.cursor_record["status_text"] == "open"
        await pilot.press("2")  # my queue
        await wait_for(pilot, lambda: "2 mine 1" in text(app, "#it-queues"))
        assert table.row_count == 1
        # r asks for the reply the requester reads; one stray key resolves nothing
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert str(app.screen.query_one(".form-screen--title", Static).render()) == "Resolve #1: Printer jammed"
        assert ctx.table("tickets").all()[0]["status"] == "open"
        await pilot.press(*"New drum fitted")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.row_count == 0)  # resolved: out of my queue
        stored = ctx.table("tickets").all()[0]
        assert (stored["status"], stored["assignee"]) == ("resolved", me)
        assert [(c["text"], c["internal"]) for c in ctx.table("comments").all()] == [("New drum fitted", False)]
        assert [e["name"] for e in bd.table("core.events").find({"source": "it"}, order_by=["id"])] == \
            ["it.ticket_opened", "it.ticket_assigned", "it.ticket_resolved"]
        await pilot.press("6")  # all
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.press("r")  # resolving twice is refused with a message
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "already resolved" in text(app, ".record-form--form-error"))


async def test_ticket_shows_asset_history_and_asset_shows_tickets(office):
    bd, ctx, ids = office
    svc.add_asset(ctx, {"tag": "PC-42", "type": "computer", "model": "ThinkPad", "person": ids["ben"]})
    t = svc.open_ticket(ctx, requester=ids["ben"], title="Fan loud", assets=["PC-42"], priority="high")
    svc.add_comment(ctx, t["id"], "cleaned it", minutes=20)
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.current_mode == "it.tickets")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.query("#it-ticket-text"))
        body = text(app, "#it-ticket-text")
        assert "Asset PC-42" in body and "checked out to Ben Brandt" in body and "cleaned it" in body
        pairs = dict(app.screen.query_one(DetailView).pairs)
        assert pairs["Priority"] == "high" and pairs["Time spent"] == "20 min"
        await pilot.press("w")  # waiting: the SLA shows as paused
        await wait_for(pilot, lambda: "paused" in dict(app.screen.query_one(DetailView).pairs)["Resolution"])
        await pilot.press("escape")
        await open_screen(pilot, "it.assets")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.query("#it-asset-text"))
        assert f"#{t['id']} waiting: Fan loud" in text(app, "#it-asset-text")


async def test_dashboard_cards_count_the_queues(office):
    bd, ctx, ids = office
    svc.open_ticket(ctx, requester=ids["anna"], title="A")
    b = svc.open_ticket(ctx, requester=ids["ben"], title="B")
    svc.assign(ctx, b["id"], "carla")
    svc.set_status(ctx, b["id"], "waiting")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "active tickets" in text(app, "#card-it-helpdesk"))
        card = text(app, "#card-it-helpdesk")
        assert "2 active tickets" in card and "unassigned: 1" in card and "waiting: 1" in card


async def test_check_board_runs_in_a_worker_and_stays_responsive(office):
    """A check that hangs (a server that accepts and never answers) does not
    freeze the board: keys work while the worker waits, and the check ends
    as failing, "timed out".

    "While the worker waits" is made a matter of order, not of speed: during
    the key press the probe's timeout is an hour, so on any machine, however
    loaded, the key is handled while the probe is still waiting; the server
    then drops the connection to let the probe go. The hang ending as "timed
    out" is then seen with the site's short timeout (r: run now)."""
    import socket

    bd, ctx, ids = office
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    silent.setblocking(False)
    short_timeout = ctx.settings["check_timeout"]
    try:
        svc.add_check(ctx, "silent", "http", f"http://127.0.0.1:{silent.getsockname()[1]}/")
        ctx.settings["check_timeout"] = 3600.0
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_screen(pilot, "it.checks")
            board = app.screen
            table = board.query_one("#it-checks", RecordTable)
            probing = lambda: any(w.group == "it-checks" and w.is_running for w in app.workers)  # noqa: E731
            await wait_for(pilot, probing)
            # the probe is connected and waits for an answer that never comes
            loop = asyncio.get_running_loop()
            probe, _ = await asyncio.wait_for(loop.sock_accept(silent), 60)
            request = await asyncio.wait_for(loop.sock_recv(probe, 65536), 60)
            assert request.startswith(b"GET / HTTP/1.1\r\n")
            await pilot.press("n")  # handled while the probe still waits for an answer
            await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
            assert probing() and table.row_count == 1 and table.record_at(0)["state"] != "failing"
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is board)
            probe.close()  # the server hangs up without answering: the probe ends, the worker with it
            await wait_for(pilot, lambda: not probing() and table.record_at(0)["state"] == "failing")
            assert table.record_at(0)["message"] == "Remote end closed connection without response"
            ctx.settings["check_timeout"] = short_timeout
            await pilot.press("r")  # run now: the same silent server, the site's timeout
            await wait_for(pilot, lambda: table.row_count == 1 and table.record_at(0)["message"] == "timed out")
            assert table.record_at(0)["state"] == "failing"
            assert "1 check, 1 failing" in text(app, "#it-checks-bar")
    finally:
        ctx.settings["check_timeout"] = short_timeout
        silent.close()


async def test_german_screens(site, office):
    bd, ctx, ids = office
    from core.i18n import configure

    svc.open_ticket(ctx, requester=ids["anna"], title="Drucker")
    configure("de_DE", "Europe/Berlin", "EUR")
    try:
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f7")
            await wait_for(pilot, lambda: app.current_mode == "it.tickets")
            row = app.screen.query_one("#it-tickets", RecordTable).cursor_record
            assert row["status_text"] == "neu" and row["priority_text"] == "normal"
            assert "nicht zugewiesen" in text(app, "#it-queues")
    finally:
        configure("en_US", "Europe/Berlin", "EUR")


async def test_removing_a_check_asks_and_defaults_to_no(office):
    from core.shell.widgets import ConfirmDialog

    bd, ctx, ids = office
    svc.add_check(ctx, "root disk", "disk", "/")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_screen(pilot, "it.checks")
        board = app.screen
        await wait_for(pilot, lambda: board.query_one("#it-checks", RecordTable).row_count == 1)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert str(app.screen.query_one(".confirm-dialog--question", Static).render()) == "Remove the check root disk?"
        await pilot.press("enter")  # the default: no
        await wait_for(pilot, lambda: app.screen is board)
        assert ctx.table("checks").count() == 1
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: ctx.table("checks").count() == 0)


async def test_the_all_queue_pages_a_years_tickets_in_the_queues_order(site, office):
    """Queue 6 "all" over a year's tickets (more than two segments of the
    store's snapshot, the older ones all closed or resolved): the screen shows every ticket in the queue's order
    (priority, resolution due, none last, id) as svc.queue lists them, read a
    page at a time — on TinyDB the tickets' table is never loaded whole; the
    filter (/) finds titles through the store, in the same order."""
    bd, ctx, ids = office
    first = svc.open_ticket(ctx, requester=ids["anna"], title="Printer jammed")
    template = {k: v for k, v in ctx.table("tickets")[first["id"]].items() if k != "id"}
    priorities = ["urgent", "high", "normal", "low"]
    with bd.store.transaction():
        for i in range(2 * 2000 + 60):
            due = [None, "", f"2026-{1 + i % 12:02d}-{1 + i % 27:02d}T10:00:00+00:00", "2026-06-01T08:00:00+00:00"][i % 4]
            ctx.table("tickets").insert({**template, "title": f"Case {i}", "priority": priorities[i % 7 % 4],
                                         "status": ["closed", "resolved"][i % 2] if i < 4000 else "open",
                                         "resolution_due": due,
                                         "assignee": "carla" if i % 5 == 0 else None})
        ctx.table("tickets").insert({**template, "title": "Case without priority", "priority": None})
    expected = [(d["id"], d["title"]) for d in svc.queue(ctx, "all")]
    if hasattr(bd.store, "compact"):
        bd.store.compact(rewrite=True)
    bd.close()
    bd = site.open()
    app = make_app(bd, poll_interval=0)
    tickets_loaded = (lambda: bd.store._states["it.tickets"]._docs is not None) \
        if hasattr(bd.store, "_states") else (lambda: False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.current_mode == "it.tickets")
        table = app.screen.query_one("#it-tickets", RecordTable)
        await pilot.press("6")
        await wait_for(pilot, lambda: table.row_count == len(expected))
        shown = [(table.record_at(i)["id"], table.record_at(i)["title"]) for i in range(table.row_count)]
        assert shown == expected
        assert table.record_at(len(expected) - 1)["requester"] == "Anna Arndt"
        await pilot.press("end")
        assert table.cursor_record["title"] == expected[-1][1]
        await pilot.press("home", "slash", *"case 12", "enter")
        want = [t for t in expected if "case 12" in t[1].casefold()]
        await wait_for(pilot, lambda: table.row_count == len(want))
        assert [(table.record_at(i)["id"], table.record_at(i)["title"]) for i in range(table.row_count)] == want
        assert not tickets_loaded()


def drawn(table: RecordTable) -> list[str]:
    """The table's lines as the terminal shows them (no colour)."""
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


async def test_urgent_overdue_and_failing_read_in_words_at_80x24_in_german(site, office):
    """16 colours draw urgent, overdue and failing in the same white, so the
    rows say it: "dringend" whole (the priority is never cut), "!" before an
    overdue time, "● GESTÖRT"; the requester and assignee give way at 80
    columns and the line under the rows names the requester, then the title."""
    import socket

    from core.i18n import configure

    bd, ctx, ids = office
    ticket = svc.open_ticket(ctx, requester=ids["anna"], priority="urgent",
                             title="Access to the accounting share for the new colleague")
    ctx.table("tickets").update(ticket["id"], {"response_due": "2026-01-05T08:00:00+00:00"})
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the check fails
    svc.add_check(ctx, "Intranet", "tcp", f"127.0.0.1:{port}")
    svc.run_checks(ctx)
    configure("de_DE", "Europe/Berlin", "EUR")
    try:
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f7")
            await wait_for(pilot, lambda: app.current_mode == "it.tickets")
            table = app.screen.query_one("#it-tickets", RecordTable)
            await wait_for(pilot, lambda: table.row_count == 1 and table.is_mounted)
            await pilot.pause()
            lines = drawn(table)
            assert lines[0].split()[:5] == ["#", "Prio", "Titel", "Fällig", "Status"]
            assert "dringend" in lines[1] and "! " in lines[1] and "neu" in lines[1]
            assert "Access to the" in lines[1] and "colleague" not in lines[1]
            assert [c.key for c in table.hidden_columns] == ["requester", "assignee_text"]
            assert table.detail_text == "Für: Anna Arndt · Titel: Access to the accounting share for the new colleague"
            assert lines[-1].startswith(" Für: Anna Arndt · Titel: Access to the accounting")
            checks = await open_table(pilot, "it.checks", "#it-checks", rows=1)
            await pilot.pause()
            assert drawn(checks)[1].lstrip().startswith("● GESTÖRT")
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
