"""The absence calendar, the leave list and the clock, driven by the Pilot at 80×24."""

from __future__ import annotations

import datetime as dt

import pytest

from core.shell.app import make_app
from core.i18n import today
from core.shell.widgets import ConfirmDialog
from plugins.hr import leave

from tests.plugins.hr.absence_site import Site, make_office
from tests.pilot import open_screen, open_table, wait_for


@pytest.fixture
def office(tmp_path):
    site = Site(tmp_path)
    bd = site.open("eva")
    ids = make_office(bd)
    yield site, bd, ids
    site.close()


def shown(app) -> str:
    from textual.widgets import Static

    return "\n".join(str(w.render()) for w in app.screen.query(Static))


async def test_the_absence_calendar_at_80x24(office):
    site, bd, ids = office
    ctx = bd.context("hr")
    month = today().replace(day=1)
    mid = month.replace(day=10)
    leave.approve(ctx, leave.request_leave(ctx, "Ben Brandt", mid, mid + dt.timedelta(days=2), kind="special")["id"])
    leave.record_sick_note(ctx, "Ina Intern", month.replace(day=20), month.replace(day=21), note="confidential")
    anna = site.open("anna")
    app = make_app(anna, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_screen(pilot, "hr.absences")
        grid = app.screen.query_one("#hr-cal-grid")
        await wait_for(pilot, lambda: "Ben Brandt" in str(grid.render()))
        lines = str(grid.render()).splitlines()
        ben = next(line for line in lines if line.startswith("Ben Brandt"))
        ina = next(line for line in lines if line.startswith("Ina Intern"))
        # one character per day after a 14-character name column
        assert ben[14 + 9] in "SF·" and ina[14 + 19] in "AF·"
        marks = {cal_day: ben[14 + cal_day - 1] for cal_day in (10, 11, 12)}
        cal = bd.services.calendar
        for day, mark in marks.items():
            d = month.replace(day=day)
            assert mark == ("S" if cal.is_workday(d, ids["ben"]) else ("·" if d.weekday() >= 5 else "F"))
        # outside HR the sick note is only "absent", its note never shown
        assert "K" not in ina and "confidential" not in shown(app)
        # the whole month and the legend fit at 80 columns: the grid's width is 14 + days
        assert max(len(line.rstrip()) for line in lines) <= 14 + 31 <= 80 - 20 - 2
        assert "U vacation" in shown(app)
        title = app.screen.query_one("#hr-cal-title")
        before = str(title.render())
        await pilot.press("right")
        await wait_for(pilot, lambda: str(title.render()) != before)
        await pilot.press("left")
        await wait_for(pilot, lambda: str(title.render()) == before)
        # the screenshot as the person sees it
        svg = app.export_screenshot()
        assert "Ben&#160;Brandt" in svg
        import os

        if os.environ.get("BACKDESK_SCREENSHOTS"):
            with open(os.path.join(os.environ["BACKDESK_SCREENSHOTS"], "absences.svg"), "w") as fh:
                fh.write(svg)


async def test_a_manager_approves_on_the_leave_screen(office):
    site, bd, ids = office
    ben_ctx = site.open("ben").context("hr")
    start = today() + dt.timedelta(days=30)
    row = leave.request_leave(ben_ctx, "Ben Brandt", start, start + dt.timedelta(days=6), kind="special")
    anna = site.open("anna")
    app = make_app(anna, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_table(pilot, "hr.leave", "#hr-leave", rows=1)
        await pilot.press("p")  # only what waits for me
        await wait_for(pilot, lambda: table.row_count == 1 and table.cursor_record["id"] == row["id"])
        await pilot.press("a")  # asks first; y approves
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Approve the leave of Ben Brandt from" in str(app.screen.query_one(".confirm-dialog--question").render())
        await pilot.press("y")
        await wait_for(pilot, lambda: bd.table("hr.leave")[row["id"]]["status"] == "approved")
        assert bd.table("hr.leave")[row["id"]]["decided_by"] == "anna"
        await wait_for(pilot, lambda: table.row_count == 0)


async def test_clocking_in_on_the_clock_screen(office):
    site, bd, ids = office
    ina = site.open("ina")
    app = make_app(ina, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_screen(pilot, "hr.clock")
        state = app.screen.query_one("#clock-state")
        await wait_for(pilot, lambda: "clocked out" in str(state.render()))
        await pilot.press("i")
        await wait_for(pilot, lambda: "at work" in str(state.render()))
        rows = bd.table("hr.time").find({"person_id": ids["ina"]})
        assert len(rows) == 1 and rows[0]["end"] is None and rows[0]["by"] == "ina"
        await pilot.press("b")
        await wait_for(pilot, lambda: "on a break" in str(state.render()))
        await pilot.press("o")
        await wait_for(pilot, lambda: "clocked out" in str(state.render()))
        assert [r["kind"] for r in bd.table("hr.time").find({"person_id": ids["ina"]}, order_by=["start", "id"])] \
            == ["work", "break"]
