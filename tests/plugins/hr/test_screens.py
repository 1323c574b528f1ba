"""The real app through the Pilot at 80x24: hire from the Hiring screen (a bad
end date shows at its field, nothing stored), warn and dismiss from the
Discipline screen, tick a checklist, open a case (audited) — and an operator
without HR rights sees no HR screen, and a forced one shows the refusal."""

from __future__ import annotations

from textual.widgets import Static

from core.shell.app import make_app
from core.cli.testing import pick
from core.shell.widgets import ConfirmDialog, DetailView, FormScreen, RecordTable
from plugins.hr import cases, discipline, hiring
from plugins.hr import screens as hr_screens
from tests.pilot import open_screen, open_table, wait_for


def text(widget) -> str:
    return str(widget.render())


async def test_hire_from_the_hiring_screen(office):
    bd, ctx, ids = office
    op = hiring.add_opening(ctx, "Clerk", department=ids["sales"])
    cand = hiring.add_candidate(ctx, "Nils Nagel", opening=op["id"])
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_table(pilot, "hr.hiring", "#hr-candidates", rows=1)
        assert table.cursor_record["name"] == "Nils Nagel" and table.cursor_record["stage_text"] == "applied"
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press(*"2026-03-01", "tab", *"2026-02-01")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        errors = " ".join(text(w) for w in app.screen.query(".record-form--error"))
        assert "lies before the start date 2026-03-01" in errors
        assert bd.table("core.people").count() == 3 and ctx.table("records").count() == 0
        app.screen.form.control("end").value = ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        # hired: out of the active list, in the full one
        await wait_for(pilot, lambda: table.row_count == 0)
        await pilot.press("a")
        await wait_for(pilot, lambda: table.row_count == 1 and table.cursor_record["stage_text"] == "hired")
        person = bd.services.people.find("Nils Nagel")[0]
        assert person["start_date"] == "2026-03-01"
        assert ctx.table("records").find({"person_id": person["id"]})[0]["contract_type"] == "permanent"


async def test_warn_dismiss_and_checklist_in_the_app(office):
    bd, ctx, ids = office
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_screen(pilot, "hr.discipline")
        table = app.screen.query_one("#hr-warnings", RecordTable)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press(*"Nobody")
        picker = app.screen.form.control("person")
        await wait_for(pilot, lambda: picker.expanded)
        assert "no match for 'Nobody'" in str(picker.list.get_option_at_index(0).prompt)
        app.screen.form.control("reason").value = "late"
        await pilot.press("escape", "ctrl+s")  # Esc closes the list, the form stays
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert "Choose one from the list" in text(app.screen.form._errors["person"])
        assert ctx.table("warnings").count() == 0
        assert await pick(pilot, app.screen.form, "person", "bra", "Ben Brandt") == ids["ben"]
        app.screen.form.control("level").value = "final"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.row_count == 1)
        assert table.cursor_record["level_text"] == "final" and table.cursor_record["state"] == "active"
        # dismiss from the warning's row: the person is filled in
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert app.screen.form.control("person").value == ids["ben"]
        assert app.screen.form.control("person").text == "Ben Brandt"
        from plugins.hr.service import today

        app.screen.form.control("date").value = today().isoformat()
        app.screen.form.control("reason").value = "late again"
        await pilot.press("ctrl+s")  # asks first, defaulting to no
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        question = text(app.screen.query_one(".confirm-dialog--question", Static))
        assert question.startswith("Record that Ben Brandt leaves on ") and "(conduct)?" in question
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert bd.services.people.get(ids["ben"])["status"] != "left" and ctx.table("dismissals").count() == 0
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: not isinstance(app.screen, (FormScreen, ConfirmDialog)))
        assert bd.services.people.get(ids["ben"])["status"] == "left"
        # the offboarding checklist: open it and tick the reference letter
        lists = await open_table(pilot, "hr.checklists", "#hr-checklists", rows=1)
        assert lists.cursor_record["name"] == "Ben Brandt" and lists.cursor_record["progress"] == "0/5"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, hr_screens.ChecklistScreen))
        items = app.screen.query_one("#hr-items", RecordTable)
        await wait_for(pilot, lambda: items.row_count == 5)
        await pilot.press("end", "space")
        await wait_for(pilot, lambda: items.cursor_record and items.cursor_record["mark"] == "[x]")
        assert ctx.table("checklists").all()[0]["items"][4]["done_by"] == bd.operator.account
        await pilot.press("up", "space")  # the exit-interview item is ticked by the interview only
        await pilot.pause()
        assert not ctx.table("checklists").all()[0]["items"][3]["done"]


async def test_case_view_is_audited(office):
    bd, ctx, ids = office
    case = cases.open_case(ctx, type="complaint", subject="Broken chair ignored", raised_by=ids["anna"],
                           against_party="Facility service")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_table(pilot, "hr.cases", "#hr-cases", rows=1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, hr_screens.CaseScreen))
        await wait_for(pilot, lambda: app.screen.doc is not None)
        view = app.screen.query_one(DetailView)
        pairs = dict(view.pairs)
        assert pairs["Raised by"] == "Anna Arndt" and pairs["Against"] == "Facility service"
        assert pairs["Status"] == "open"
        assert text(view.query_one(".detail-view--title", Static)) == f"#{case['id']} Broken chair ignored"
        reads = [a for a in bd.table("core.audit").find({"op": "read", "table": "hr.cases"})]
        assert [a["doc_id"] for a in reads] == [None, case["id"]]


async def test_operator_without_hr_rights_sees_nothing(site, fill_office):
    hr_bd = site.open("eva")
    ids = fill_office(hr_bd)
    hr_ctx = hr_bd.context("hr")
    case = cases.open_case(hr_ctx, type="harassment", subject="Remarks", anonymous=True)
    from plugins.hr import service as svc

    svc.save_record(hr_ctx, ids["ben"], {"pay_amount": "5100"})
    discipline.issue_warning(hr_ctx, ids["ben"], level="verbal", reason="x")
    bd = site.open("carla")
    ctx = bd.context("hr")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not [e for e in app.nav_entries if e.id.startswith("hr.")]
        # forced open anyway: the screens show the refusal, not the data
        screen = hr_screens.CasesScreen(ctx)
        app.push_screen(screen)
        await wait_for(pilot, lambda: app.screen is screen and "may not" in text(screen.query_one("#hr-bar", Static)))
        assert screen.query_one(RecordTable).row_count == 0
        app.pop_screen()
        detail = hr_screens.EmployeeScreen(ctx, ids["ben"])
        app.push_screen(detail)
        await wait_for(pilot, lambda: app.screen is detail)
        await pilot.pause()
        assert detail.doc is None
        assert "5100" not in text(detail.query_one("#hr-text", Static))
    refused = [a for a in bd.table("core.audit").find({"op": "read", "plugin": "hr"}) if a["actor"] == "carla"]
    assert [(a["table"], a["doc_id"]) for a in refused] == [("hr.cases", None), ("hr.records", ids["ben"])]
    assert all(a["what"].startswith("refused") for a in refused)
    assert case["id"]


async def test_german_discipline_screen(office):
    bd, ctx, ids = office
    from core.i18n import configure

    discipline.issue_warning(ctx, ids["ben"], level="written", reason="Verspätung")
    configure("de_DE", "Europe/Berlin", "EUR")
    try:
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            table = await open_table(pilot, "hr.discipline", "#hr-warnings", rows=1)
            assert table.cursor_record["level_text"] == "schriftlich" and table.cursor_record["state"] == "aktiv"
            assert "aktive Abmahnungen" in text(app.screen.query_one("#hr-bar", Static))
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
