"""Bills and journal entries name their vendor and accounts by typing part of
the name: the operator sees the full name, the store keeps the id."""

from __future__ import annotations

import pytest

from core.shell.app import make_app
from core.errors import PermissionDenied
from core.cli.testing import pick, wait_for
from core.shell.widgets import FormScreen, RecordTable
from plugins.accounting import payroll as pay
from plugins.accounting import service as svc

from tests.pilot import shown


async def test_bill_vendor_found_by_part_of_its_name(office):
    bd, ctx, _ids = office
    svc.add_vendor(ctx, {"name": "Stadtwerke München GmbH", "email": "rechnung@swm.example", "terms_days": 14})
    other = svc.add_vendor(ctx, {"name": "Stadtbäckerei Huber"})
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.bills")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "BillsScreen")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        picker = form.control("vendor")
        picker.focus()
        await pilot.press(*"stadt")
        await wait_for(pilot, lambda: len(picker.choices) == 2)
        # both offered, each with its full name and a second line
        await wait_for(pilot, lambda: "Stadtwerke München GmbH" in shown(app))
        assert "Stadtbäckerei Huber" in shown(app) and "rechnung@swm.example" in shown(app)
        vendor_id = await pick(pilot, form, "vendor", "stadtwerke", "Stadtwerke München GmbH")
        assert vendor_id != other["id"]
        assert picker.text == "Stadtwerke München GmbH"
        form.control("number").value = "SW-2026-11"
        form.control("lines").text = "Strom November; 1; 100.00"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: app.screen.query_one("#acc-bills", RecordTable).row_count == 1)
    stored = ctx.table("bills").all()[0]
    assert stored["vendor_id"] == vendor_id and stored["number"] == "SW-2026-11"


async def test_journal_accounts_found_by_part_of_their_names(office):
    bd, ctx, _ids = office
    svc.ensure_chart(ctx)
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.ledger")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LedgerScreen")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        form.control("description").value = "Paper"
        assert await pick(pilot, form, "debit", "expenses:office", "expenses:office supplies") == \
            "expenses:office supplies"
        assert await pick(pilot, form, "credit", "bank chec", "assets:bank:checking") == "assets:bank:checking"
        form.control("amount").value = "23.80"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
    entry = svc.journal(ctx)[-1]
    assert entry["description"] == "Paper"
    assert sorted((p["account"], p["amount"]) for p in entry["postings"]) == [
        ("assets:bank:checking", "-23.80"), ("expenses:office supplies", "23.80")]


def test_a_role_without_bills_read_gets_no_vendors(site, office):
    bd, ctx, _ids = office
    svc.add_vendor(ctx, {"name": "Stadtwerke München GmbH"})
    assert [c.label for c in svc.vendor_choices(ctx, "stadtw")] == ["Stadtwerke München GmbH"]
    staff = site.open("sam").context("accounting")
    with pytest.raises(PermissionDenied):
        svc.vendor_choices(staff, "stadtw")
    with pytest.raises(PermissionDenied):
        svc.account_choices(staff, "expenses")


async def test_a_payroll_clerk_finds_people_on_payroll_without_the_directory(site, office):
    """Paula may do payroll but not read the directory: the Hours form's
    Person finds the people payroll knows by part of the name (how each is
    paid under it, never the rate), stores the chosen id; someone not on
    payroll is not offered. An admin setting a rate is offered the
    directory's people too."""
    bd, ctx, ids = office
    pay.set_rate(ctx, ids["anna"], "salaried", "3000")
    pay.set_rate(ctx, ids["ben"], "hourly", "18.50")
    paula = site.open("paula")
    pctx = paula.context("accounting")
    with pytest.raises(PermissionDenied):
        paula.services.people.choices("ben")
    assert [(c.label, c.detail) for c in pay.person_choices(pctx, "")] == [("Anna Arndt", "salaried"),
                                                                           ("Ben Brandt", "hourly")]
    assert pay.person_choices(pctx, "clara", everyone=True) == []  # no directory for her
    with pytest.raises(PermissionDenied):
        pay.person_choices(site.open("sam").context("accounting"), "ben")
    app = make_app(paula, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.payroll")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayrollScreen")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        picker = form.control("person")
        picker.focus()
        await pilot.press(*"clara")
        await wait_for(pilot, lambda: picker.expanded)
        assert picker.choices == [] and "no match for" in shown(app)
        picker.input.value = ""
        await pilot.press(*"bra")
        await wait_for(pilot, lambda: picker.expanded and picker.choices)
        assert "Ben Brandt" in shown(app) and "hourly" in shown(app) and "18.50" not in shown(app)
        assert await pick(pilot, form, "person", "bra", "Ben Brandt") == ids["ben"]
        form.control("date").value = "2026-01-05"
        form.control("hours").value = "7.5"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        table = app.screen.query_one("#acc-time", RecordTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        assert table.cursor_record["name"] == "Ben Brandt"
    [row] = pay.timesheets(ctx)
    assert (row["person_id"], row["hours"], row["by"]) == (ids["ben"], "7.50", "paula")
    # an admin's new rate: the directory's people who are not on payroll yet
    assert [(c.label, c.detail) for c in pay.person_choices(ctx, "clara", everyone=True)] == [
        ("Clara Conrad", "not on payroll yet")]
    # the CLI's name works for the clerk too (payroll's people, not the directory)
    assert pay.resolve_person(pctx, "ben brandt") == ids["ben"]
