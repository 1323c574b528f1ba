"""The real app through the Pilot: record, approve and pay a bill; a refused
form keeps its input; reports and the payslips screen show what is stored."""

from __future__ import annotations

from textual.widgets import Static

from core.cli.testing import pick
from core.shell.app import make_app
from core.shell.widgets import ConfirmDialog, FormScreen, RecordTable
from plugins.accounting import payroll as pay
from plugins.accounting import service as svc
from tests.plugins.accounting.conftest import iban
from tests.pilot import shown, wait_for


def text(app, selector) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_record_approve_and_pay_a_bill(office):
    bd, ctx, ids = office
    svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000")})
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.bills")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "BillsScreen")
        table = app.screen.query_one("#acc-bills", RecordTable)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        await pick(pilot, form, "vendor", "schm", "Schmidt")
        form.control("number").value = "RE-1"
        form.control("lines").text = "Paper; 2; 12.50\nToner; x; 3"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)  # refused: the form stays with its input
        assert "not an amount" in text(app, ".record-form--form-error") + str(
            [str(w.render()) for w in app.screen.query(".record-form--error")])
        assert ctx.table("bills").count() == 0
        form.control("lines").text = "Paper; 2; 12.50"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.row_count == 1)
        assert table.cursor_record["status_text"] == "draft" and table.cursor_record["total"] == "29.75"
        await pilot.press("p")  # paying a draft is refused with a message
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen) and "not approved" in text(app, ".record-form--form-error")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        # a asks first, saying what will be posted; the default answer (enter) is no
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert text(app, ".confirm-dialog--question") == "Approve bill RE-1 of Schmidt and post €29.75?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "BillsScreen")
        assert ctx.table("bills").all()[0]["status"] == "draft" and ctx.table("entries").count() == 0
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: table.cursor_record and table.cursor_record["status"] == "approved")
        assert ctx.table("entries").count() == 1
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.form.control("amount").value = "10"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.cursor_record and table.cursor_record["status"] == "partly_paid")
        assert "paid €10.00" in text(app, "#acc-bill")
        stored = ctx.table("bills").all()[0]
        assert (stored["paid"], stored["status"]) == ("10.00", "partly_paid")
        app.open_nav("accounting.reports")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ReportsScreen")
        # what the operator sees: the trial balance with the bank, then the ageing with its buckets
        await wait_for(pilot, lambda: "assets:bank:checking" in shown(app))
        assert "-€10.00" in shown(app) and "€19.75" in shown(app)  # bank out, payables still open
        await pilot.press("5")
        await wait_for(pilot, lambda: "over 90" in shown(app) and "61-90" in shown(app))


async def test_payroll_screen_checks_and_payslips(office):
    bd, ctx, ids = office
    pay.set_rate(ctx, ids["anna"], "salaried", "3000")
    pay.add_time(ctx, ids["anna"], "2026-01-05", "07:00", "19:00")
    pay.run_payroll(ctx, "2026-01")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.payroll")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayrollScreen")
        table = app.screen.query_one("#acc-time", RecordTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        assert table.cursor_record["span"] == "07:00–19:00" and table.cursor_record["hours"] == "12.00"
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.form.control("period").value = "2026-01"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: "12 h on 1/5/2026: over 10 h a day" in text(app, "#acc-flags"))
        await pilot.press("p")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayslipScreen")
        slips = app.screen.query_one("#acc-payslips", RecordTable)
        await wait_for(pilot, lambda: slips.row_count == 1)
        await wait_for(pilot, lambda: "Net €2,115.00" in text(app, "#acc-payslip"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayrollScreen")


async def test_payslip_of_a_part_month_names_its_days(office):
    bd, ctx, ids = office
    with bd.store.transaction():  # HR's hire as core delivers it: starts on 19 April (12 of 30 days)
        bd.services.events.publish("hr.employee_hired", {"person_id": ids["anna"], "start_date": "2026-04-19"})
    pay.set_rate(ctx, ids["anna"], "salaried", "3000")
    pay.run_payroll(ctx, "2026-04")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.payroll")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayrollScreen")
        await pilot.press("p")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayslipScreen")
        await wait_for(pilot, lambda: "Salary 12/30 days €1,200.00" in text(app, "#acc-payslip"))
        assert "Gross €1,200.00" in text(app, "#acc-payslip") and "Net €846.00" in text(app, "#acc-payslip")


async def test_the_journal_pages_newest_first_and_finds_a_month(office):
    """The Journal reads a page at a time, newest first (a year's journal is
    never read for the rows on screen); a reversal on another page still
    marks its entry; / finds entries by date or description in the store."""
    from core.shell.widgets import PagedRecords

    bd, ctx, ids = office
    posted = []
    for i in range(130):  # more than a page (100)
        day = f"2026-{1 + i % 4:02d}-{1 + i % 28:02d}"
        posted.append(svc.post_entry(ctx, day, f"Entry {i}", [
            {"account": "expenses:rent", "amount": "10.00"}, {"account": "assets:bank:checking", "amount": "-10.00"}]))
    svc.reverse_entry(ctx, posted[0]["number"])  # the oldest entry, reversed by the newest
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.ledger")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LedgerScreen")
        table = app.screen.query_one("#acc-journal", RecordTable)
        await wait_for(pilot, lambda: table.row_count == 131)
        assert isinstance(table.records, PagedRecords)
        assert table.record_at(0)["state"] == "reversal" and table.record_at(130)["number"] == posted[0]["number"]
        assert table.record_at(130)["state"] == "reversed"  # its reversal is on the first page
        assert [table.record_at(r)["number"] for r in range(131)] == sorted(
            (e["number"] for e in ctx.table("entries").all()), reverse=True)
        assert "131 entries" in text(app, "#acc-journal-bar")
        await pilot.press("slash", *"-03-")
        want = {e["number"] for e in ctx.table("entries").all() if "-03-" in e["date"]}
        await wait_for(pilot, lambda: table.row_count == len(want))
        assert {table.record_at(r)["number"] for r in range(table.row_count)} == want


async def test_payroll_run_says_what_it_will_post_and_defaults_to_no(office):
    bd, ctx, ids = office
    pay.set_rate(ctx, ids["anna"], "salaried", "3000")
    pay.set_rate(ctx, ids["ben"], "salaried", "2500")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.payroll")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayrollScreen")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.form.control("period").value = "2/26"  # the locale's way: February 2026
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert text(app, ".confirm-dialog--question") == "Post 2 payslips for 02/2026, gross €5,500.00?"
        await pilot.press("enter")  # the default: no
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert ctx.table("payroll_runs").count() == 0 and ctx.table("payslips").count() == 0
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayrollScreen")
    (run,) = ctx.table("payroll_runs").all()
    assert run["period"] == "2026-02" and len(run["payslips"]) == 2
    assert run["totals"]["EUR"]["gross"] == "5500.00"


async def test_payroll_keys_come_first_and_read_one_way(office):
    """At 80×24 the key bar shows the screen's own keys before the table's
    (Run payroll is not hidden behind "…"), and F1 lists what the keys do,
    not Textual's action names."""
    from textual.widgets import DataTable

    from core.shell.widgets.keybar import KeyBar

    bd, ctx, ids = office
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.payroll")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayrollScreen")
        bar = app.screen.query_one(KeyBar)
        await wait_for(pilot, lambda: " r Run payroll " in str(bar.render()))
        assert str(bar.render()).startswith(" n Hours  c Check  a Approve  r Run payroll")
        assert str(bar.render()).rstrip().endswith("Ctrl+P Commands")
        await pilot.press("f1")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
        table = app.screen.query_one(DataTable)
        rows = [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert rows[:5] == [("n", "Hours"), ("c", "Check"), ("a", "Approve"), ("r", "Run payroll"), ("p", "Payslips")]
        assert ("↑ ↓ ← → PgUp PgDn Home End", "Move the cursor") in rows
        assert ("Enter", "Open") in rows and ("Ctrl+Q", "Quit") in rows
        assert not any("_" in desc or "super" in key.lower() or "^" in key for key, desc in rows)


async def test_the_due_card_marks_an_overdue_bill_in_words_and_with_a_sign(office):
    """16 colours draw overdue and due alike: the card says "overdue: 1" and
    puts "!" before the overdue bill's date."""
    import datetime as dt

    from core.i18n import day_month_text, today
    from core.cli.testing import text_of

    bd, ctx, ids = office
    v = svc.add_vendor(ctx, {"name": "Stadtwerke Musterstadt", "iban": iban("DE", "370400440532013000")})
    late = (today() - dt.timedelta(weeks=7)).isoformat()
    soon = (today() + dt.timedelta(days=2)).isoformat()
    for number, due in (("S-1", late), ("S-2", soon)):
        svc.create_bill(ctx, v["id"], number, (today() - dt.timedelta(weeks=9)).isoformat(), due,
                        [{"description": "Strom", "quantity": "1", "unit_price": "100"}])
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.board.all_rendered)
        card = text_of(app, "#card-accounting-accounting-due")
        assert "draft: 2 · overdue: 1" in card
        # the day the locale's way without its year (en_US: "10/19", "12/9"), the vendor cut to
        # what the card has left
        late_day, soon_day = (day_month_text(d) for d in (late, soon))
        assert "-" not in late_day and late[:4] not in late_day
        width = max(len(late_day), len(soon_day))
        vendor = "Stadtwerke Musterstadt"[:20 - width]
        assert f"!{late_day.ljust(width)} {vendor} 119.00" in card
        assert f" {soon_day.ljust(width)} {vendor} 119.00" in card


async def test_the_vendor_form_names_every_field_in_error_at_once(office):
    """A vendor with a bad IBAN, a bad BIC and terms out of range: the form
    shows all three under their fields (not only the first), nothing stored."""
    from core.cli.testing import field_error

    bd, ctx, ids = office
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.bills")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "BillsScreen")
        await pilot.press("N")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        form.control("name").value = "Stadtwerke"
        form.control("iban").value = "DE00 3704 0044 0532 0130 00"
        form.control("bic").value = "COBA"
        form.control("terms_days").value = "400"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: field_error(form, "bic") != "")
        assert "wrong check digits" in field_error(form, "iban")
        assert "is not a BIC" in field_error(form, "bic")
        assert field_error(form, "terms_days") == "between 0 and 365 days"
        assert field_error(form, "name") == ""
        assert isinstance(app.screen, FormScreen) and app.focused is form.control("iban")
        assert ctx.table("vendors").count() == 0
        form.control("iban").value = iban("DE", "370400440532013000")
        form.control("bic").value = "COBADEFFXXX"
        form.control("terms_days").value = "14"
        form.control("address").value = "Hauptstraße 5, 10115 Berlin"  # what the DATEV master data splits
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        assert [(v["name"], v["address"]) for v in ctx.table("vendors").all()] == [
            ("Stadtwerke", "Hauptstraße 5, 10115 Berlin")]


async def test_a_bill_lines_account_is_found_by_part_of_its_name(office):
    """A bill line names its account as the journal's picker finds it: part of
    the name is enough when one account matches; several or none are said."""
    bd, ctx, ids = office
    v = svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000")})
    svc.ensure_chart(ctx)
    known = {a["name"] for a in svc.accounts(ctx)}
    for name in ("expenses:office supplies", "expenses:office rent", "expenses:travel"):
        if name not in known:
            svc.add_account(ctx, name)
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.bills")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "BillsScreen")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        await pick(pilot, form, "vendor", "schm", "Schmidt")
        form.control("number").value = "RE-7"
        for typed, said in (("office", "line 1: 'office' matches expenses:office"),
                            ("kantine", "line 1: no account like 'kantine' in the chart")):
            form.control("lines").text = f"Papier; 2; 12.50; {typed}"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, FormScreen)
            assert said in str([str(w.render()) for w in app.screen.query(".record-form--error")]) + \
                text(app, ".record-form--form-error")
        assert ctx.table("bills").count() == 0
        form.control("lines").text = "Papier; 2; 12.50; off sup\nReise; 1; 80; Travel"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
    [bill] = ctx.table("bills").all()
    assert [x["account"] for x in bill["lines"]] == ["expenses:office supplies", "expenses:travel"]
    assert bill["vendor_id"] == v["id"]
