"""The reports read the month totals kept beside the journal, and Payroll
lists one month's hours: the same figures as summing every entry (the old
computation, kept in plugins.accounting.ledger), to the cent, on what the
screens show and what is stored."""

from __future__ import annotations

import io
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from rich.console import Console
from textual.widgets import Static

from core.shell.app import make_app
from core.shell.widgets import FormScreen, RecordTable
from core.storage import Range
from plugins.accounting import ledger as L
from plugins.accounting import payroll as pay
from plugins.accounting import reports as rep
from plugins.accounting import service as svc
from plugins.accounting import vatreturn as vr

from tests.pilot import shown, wait_for

ACCOUNTS = ["assets:bank:checking", "assets:receivables", "liabilities:payables", "equity:capital",
            "income:sales", "income:other", "expenses:rent", "expenses:travel", "expenses:salaries",
            "liabilities:tax:output vat", "assets:tax:input vat"]


def report_lines(app) -> list[str]:
    """The report on screen, line by line, as the terminal writes it."""
    console = Console(width=78, record=True, file=io.StringIO(), emoji=False)
    console.print(app.screen.query_one("#acc-report", Static).content)
    return [" ".join(line.split()) for line in console.export_text().splitlines()]


def _generated_journal(ctx, n: int = 160, seed: int = 23) -> None:
    """Entries over fourteen months in two currencies, some reversed."""
    rnd = random.Random(seed)
    posted = []
    for i in range(n):
        month = 1 + i % 14
        date = f"{2025 + (month - 1) // 12}-{1 + (month - 1) % 12:02d}-{rnd.randint(1, 28):02d}"
        cur = "USD" if i % 7 == 0 else "EUR"
        debit, credit = rnd.sample(ACCOUNTS, 2)
        amount = Decimal(rnd.randint(1, 500_000)) / 100
        posted.append(svc.post_entry(ctx, date, f"Generated {i}", [
            {"account": debit, "amount": f"{amount:f}", "currency": cur},
            {"account": credit, "amount": f"{-amount:f}", "currency": cur}]))
    for e in posted[::9]:
        svc.reverse_entry(ctx, e["number"], e["date"])


def _stored_sums(ctx) -> dict:
    return {(d["month"], d["account"], d["currency"]): (Decimal(d["debit"]), Decimal(d["credit"]))
            for d in ctx.table("month_totals").find({"kind": "month"})}


def _sums_of_entries(ctx) -> dict:
    out = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for e in ctx.table("entries").all():
        for p in e["postings"]:
            v = Decimal(p["amount"])
            out[(e["date"][:7], p["account"], p["currency"])][0 if v > 0 else 1] += v
    return {k: tuple(v) for k, v in out.items()}


RANGES = [(None, None), ("2025-03-01", "2025-08-31"), ("2025-03-15", "2025-08-10"), ("2025-05-02", "2025-05-20"),
          (None, "2025-11-14"), ("2025-12-31", None), ("2025-02-01", "2025-02-28"), ("2026-01-10", None),
          ("2025-01-01", "2026-02-28")]


@pytest.mark.parametrize("start,end", RANGES)
def test_reports_from_month_totals_are_the_sums_of_the_entries(office, start, end):
    """The oracle: each report over whole months, months cut by the dates and
    open ends equals the old computation over every entry, row for row and
    as text (the CSV's amounts); the cash by month too."""
    bd, ctx, _ids = office
    _generated_journal(ctx)
    entries = svc.journal(ctx)
    assert rep.report(ctx, "trial-balance", start, end).rows() == L.trial_balance(entries, start, end).rows()
    assert rep.report(ctx, "profit-loss", start, end).rows() == L.profit_loss(entries, start, end).rows()
    assert rep.report(ctx, "balance-sheet", start, end).rows() == L.balance_sheet(entries, end).rows()
    assert rep.cash_by_month(ctx, start, end) == L.cash_by_month(entries, "assets:bank", start, end)
    assert rep.report(ctx, "trial-balance", start, end).rows()  # not two empty reports


@pytest.mark.parametrize("period", ["2025-Q2", "2025-11", "2026-Q1"])
def test_the_vat_return_is_the_balances_of_its_entries(office, period):
    """The VAT return's figures from the month totals are those of the
    period's entries (the old computation)."""
    bd, ctx, _ids = office
    _generated_journal(ctx)
    _name, first, last = vr.period_range(period)
    bal = L.balances(svc.journal(ctx, first, last), first, last)
    result = vr.vat_return(ctx, period)
    assert result["output_vat"] == -bal.get(("liabilities:tax:output vat", "EUR"), Decimal(0)) != 0
    assert result["input_vat"] == bal.get(("assets:tax:input vat", "EUR"), Decimal(0))
    assert [r["amount"] for r in result["rows"] if r["account"]] == [
        (1 if r["kz"] in ("66", "61", "67") else -1) * bal.get((r["account"], "EUR"), Decimal(0))
        for r in result["rows"] if r["account"]]


def test_totals_are_written_with_each_entry_and_nothing_with_a_refused_one(office):
    """What is stored: after each posting the month totals are the sums of
    the entries, counted in their state; an entry refused (a closed month,
    unbalanced) changes neither."""
    bd, ctx, _ids = office
    rep.report(ctx, "trial-balance")  # an empty journal: totals kept from here on
    _generated_journal(ctx, n=40)
    assert _stored_sums(ctx) == _sums_of_entries(ctx)
    (state,) = ctx.table("month_totals").find({"kind": "state"})
    assert state["entries"] == ctx.table("entries").count() == 45
    before = ctx.table("month_totals").all()
    svc.close_period(ctx, "2025-03")
    with pytest.raises(Exception, match="closed"):
        svc.post_entry(ctx, "2025-03-10", "late", [{"account": "expenses:rent", "amount": "5.00"},
                                                   {"account": "assets:bank:checking", "amount": "-5.00"}])
    with pytest.raises(Exception, match="does not balance"):
        svc.post_entry(ctx, "2025-04-10", "off", [{"account": "expenses:rent", "amount": "5.00"},
                                                  {"account": "assets:bank:checking", "amount": "-4.00"}])
    assert ctx.table("month_totals").all() == before


def test_an_entry_written_beside_the_service_is_never_missed(office):
    """Totals that do not hold every entry (an older store, an entry written
    by other code) are rebuilt by the next report, not read stale."""
    bd, ctx, _ids = office
    _generated_journal(ctx, n=30)
    rep.report(ctx, "trial-balance")
    with ctx.transaction():
        ctx.table("entries").insert({"number": 999, "date": "2025-02-03", "description": "written beside",
                                     "postings": [{"account": "expenses:travel", "amount": "12.34", "currency": "EUR"},
                                                  {"account": "assets:bank:checking", "amount": "-12.34",
                                                   "currency": "EUR"}],
                                     "source": "manual", "ref": {}, "reverses": None})
    svc.post_entry(ctx, "2025-02-04", "after it", [{"account": "expenses:rent", "amount": "1.00"},
                                                   {"account": "assets:bank:checking", "amount": "-1.00"}])
    entries = svc.journal(ctx)
    assert rep.report(ctx, "trial-balance").rows() == L.trial_balance(entries).rows()
    assert _stored_sums(ctx) == _sums_of_entries(ctx)
    assert ctx.table("month_totals").find({"kind": "state"})[0]["entries"] == ctx.table("entries").count() == 36


async def test_reports_screen_shows_the_totals_of_the_journal(office):
    """What the bookkeeper sees: P&L, balance sheet and trial balance lines
    and totals, and a period that cuts months."""
    bd, ctx, _ids = office
    for date, account, amount in [("2026-01-31", "income:sales", "-1000.00"), ("2026-02-15", "expenses:rent", "300.00"),
                                  ("2026-02-20", "income:sales", "-250.50"), ("2026-03-05", "expenses:travel", "19.99")]:
        svc.post_entry(ctx, date, "x", [{"account": account, "amount": amount},
                                        {"account": "assets:bank:checking", "amount": f"{-Decimal(amount):f}"}])
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 30)) as pilot:
        app.open_nav("accounting.reports")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReportsScreen")
        await wait_for(pilot, lambda: "assets:bank:checking" in shown(app))
        assert "€930.51" in shown(app) and "-€1,250.50" in shown(app)  # the trial balance: bank, sales
        await pilot.press("2")
        await wait_for(pilot, lambda: "expenses:travel" in shown(app))
        lines = report_lines(app)
        assert "income:sales €1,250.50" in lines and "expenses:rent €300.00" in lines
        assert "expenses:travel €19.99" in lines and "total €319.99" in lines and "net €930.51" in lines
        await pilot.press("3")
        await wait_for(pilot, lambda: "equity:current earnings" in shown(app))
        lines = report_lines(app)
        assert "assets:bank:checking €930.51" in lines and "equity:current earnings €930.51" in lines
        # a period cutting February: only 15–28 February
        app.screen.start, app.screen.end = "2026-02-16", "2026-02-28"
        await pilot.press("2")
        await wait_for(pilot, lambda: "expenses:rent" not in shown(app))
        assert "income:sales €250.50" in report_lines(app) and "net €250.50" in report_lines(app)


async def test_payroll_lists_the_hours_of_one_month(office):
    """Payroll opens on the month of the latest hours (a year's days are not
    read for it), names each person, flags approved hours with problems;
    m shows another month."""
    bd, ctx, ids = office
    pay.set_rate(ctx, ids["anna"], "hourly", "20")
    pay.set_rate(ctx, ids["ben"], "salaried", "3000")
    for day in ("2026-10-05", "2026-10-06"):
        pay.add_time(ctx, ids["anna"], day, hours="8")
    pay.add_time(ctx, ids["anna"], "2026-11-02", "07:00", "19:00")
    pay.add_time(ctx, ids["ben"], "2026-11-03", hours="7.5")
    pay.approve_timesheets(ctx, ids["anna"], "2026-11", accept_flags=True)
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.payroll")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PayrollScreen")
        table = app.screen.query_one("#acc-time", RecordTable)
        await wait_for(pilot, lambda: table.row_count > 0)
        rows = [table.record_at(i) for i in range(table.row_count)]
        assert [(r["date"], r["name"], r["hours"], r["flag"]) for r in rows] == [
            ("2026-11-03", "Ben Brandt", "7.50", ""), ("2026-11-02", "Anna Arndt", "12.00", "!")]
        assert "Hours of 11/2026" in str(app.screen.query_one("#acc-payroll-bar", Static).render())
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.form.control("period").value = "2026-10"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PayrollScreen")
        await wait_for(pilot, lambda: table.row_count == 2 and table.record_at(0)["date"] == "2026-10-06")
        assert {table.record_at(i)["date"] for i in range(2)} == {"2026-10-05", "2026-10-06"}
        assert "Hours of 10/2026" in str(app.screen.query_one("#acc-payroll-bar", Static).render())


def test_timesheets_of_a_month_are_a_range_of_the_store(office):
    """The month the screen lists is asked of the store by its dates."""
    bd, ctx, ids = office
    pay.add_time(ctx, ids["anna"], "2026-10-30", hours="8")
    pay.add_time(ctx, ids["anna"], "2026-11-01", hours="3")
    assert pay.latest_month(ctx) == "2026-11"
    assert [r["date"] for r in pay.timesheets(ctx, None, "2026-10-01", "2026-10-31")] == ["2026-10-30"]
    assert [r["date"] for r in ctx.table("timesheets").find({"date": Range(ge="2026-11-01")})] == ["2026-11-01"]
