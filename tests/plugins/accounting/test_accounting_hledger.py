"""Backdesk's reports agree with the real hledger to the cent, both ways:
our export read by hledger, and an hledger journal imported into Backdesk."""

from __future__ import annotations

import csv
import io
import subprocess
from decimal import Decimal

import pytest

from core.errors import ValidationError
from plugins.accounting import reports
from period import build_period
from tests.plugins.accounting.conftest import iban


def hl(path, *args) -> list[list[str]]:
    out = subprocess.run(["hledger", "-f", str(path), *args, "-O", "csv"], capture_output=True, text=True,
                         check=True).stdout
    return list(csv.reader(io.StringIO(out)))


def amount(text: str) -> Decimal:
    text = text.strip()
    return Decimal(0) if text in ("", "0") else Decimal(text.split()[0])


def hl_accounts(rows, skip=("account", "total", "Account")) -> dict[str, Decimal]:
    return {r[0]: amount(r[1]) for r in rows
            if len(r) > 1 and r[0] not in skip and ":" in r[0] and not r[0].startswith("Net")}


def section_totals(rows) -> dict[str, Decimal]:
    """hledger's incomestatement/balancesheet CSV: section -> its total."""
    out, section = {}, None
    for r in rows:
        if len(r) > 1 and r[1] == "" and ":" not in r[0]:
            section = r[0]
        elif r and r[0] == "total" and section:
            out[section] = amount(r[1]) if len(r) > 1 else Decimal(0)
        elif r and r[0].startswith("Net"):
            out["Net"] = amount(r[1])
    return out


def test_realistic_period_agrees_with_hledger(office, hledger, tmp_path):
    bd, ctx, ids = office
    period = build_period(ctx, ids, iban)
    # the payment run was paid by the bank's statement, not when it was made
    assert period["statement"] == {"statements": 1, "new": 2, "known": 0, "matched": 2, "suggested": 0,
                                   "unmatched": 0}
    assert {b["status"] for b in ctx.table("bills").all()} == {"paid"}
    assert sorted(p["date"] for p in ctx.table("payments").find({"run_id": period["run"]["id"]})) == \
        ["2026-01-29", "2026-01-29"]
    journal = tmp_path / "books.journal"
    journal.write_text(reports.export_hledger(ctx))
    subprocess.run(["hledger", "-f", str(journal), "check"], check=True)

    tb = reports.report(ctx, "trial-balance")
    ours = {acc: v for acc, _c, v in tb.sections[0][1]}
    assert hl_accounts(hl(journal, "balance", "--flat")) == ours
    assert tb.totals["accounts"]["EUR"] == 0
    assert "liabilities:payroll:net pay" not in ours  # the wages were paid out in full

    pl = reports.report(ctx, "profit-loss")
    his = hl(journal, "incomestatement", "--flat")
    totals = section_totals(his)
    assert totals["Revenues"] == pl.totals["income"]["EUR"] == Decimal("23456.78")
    assert totals["Expenses"] == pl.totals["expenses"]["EUR"]
    assert totals["Net"] == pl.net["EUR"]
    ours_pl = {a: v for _s, rows in pl.sections for a, _c, v in rows}
    assert hl_accounts(his) == ours_pl

    bs = reports.report(ctx, "balance-sheet")
    hbs = hl(journal, "balancesheet", "--flat")
    totals = section_totals(hbs)
    assert totals["Assets"] == bs.totals["assets"]["EUR"]
    assert totals["Liabilities"] == bs.totals["liabilities"]["EUR"]
    assert hl_accounts(hbs) == {a: v for s, rows in bs.sections if s != "equity" for a, _c, v in rows}

    # a date range: hledger -b is inclusive, -e exclusive
    tb_mid = reports.report(ctx, "trial-balance", "2026-01-10", "2026-01-20")
    assert hl_accounts(hl(journal, "balance", "--flat", "-b", "2026-01-10", "-e", "2026-01-21")) == \
        {a: v for a, _c, v in tb_mid.sections[0][1]}


JOURNAL = """\
; a journal written for hledger by hand
account assets:bank:giro
commodity 1,000.00 EUR

2026-02-01 * (1) Opening
    assets:bank:giro          12,000.00 EUR
    equity:opening balances

2026-02-03 ! Rent February  ; paid late
    expenses:rent              1500 EUR
    assets:bank:giro          -1500 EUR

2026-02-10=2026-02-11 Hardware
    expenses:it               EUR 999.99  ; a laptop
    assets:tax:input vat      190.00 EUR
    liabilities:payables

2026/02/20 Sales
    assets:bank:giro            4321.09 EUR
    income:sales
"""


def test_hledger_journal_imported_gives_the_same_trial_balance(office, hledger, tmp_path):
    bd, ctx, ids = office
    path = tmp_path / "hand.journal"
    path.write_text(JOURNAL)
    # an account the chart lacks is refused, as `accounting post` refuses it ...
    with pytest.raises(ValidationError, match=r"not in the chart: assets:bank:giro \(line 6\).*--create-accounts"):
        reports.import_hledger(ctx, JOURNAL)
    assert ctx.table("entries").count() == 0
    # ... or added when the operator says so, and listed
    created: list[str] = []
    assert reports.import_hledger(ctx, JOURNAL, create_accounts=True, created=created) == 4
    assert created == ["assets:bank:giro"]
    tb = reports.report(ctx, "trial-balance")
    assert {a: v for a, _c, v in tb.sections[0][1]} == hl_accounts(hl(path, "balance", "--flat"))
    assert ctx.table("entries").count() == 4
    # and our export of it says the same again
    again = tmp_path / "again.journal"
    again.write_text(reports.export_hledger(ctx))
    assert hl_accounts(hl(again, "balance", "--flat")) == hl_accounts(hl(path, "balance", "--flat"))


def test_hours_export_is_read_by_hledger_as_timeclock(office, hledger, tmp_path):
    from plugins.accounting import payroll as pay

    bd, ctx, ids = office
    pay.add_time(ctx, ids["ben"], "2026-01-05", "08:00", "12:30")
    pay.add_time(ctx, ids["ben"], "2026-01-05", "13:00", "17:00")
    pay.add_time(ctx, ids["anna"], "2026-01-05", hours="7.5")
    path = tmp_path / "hours.timeclock"
    path.write_text(pay.timeclock(ctx))
    rows = hl(path, "balance", "--flat")
    assert {r[0]: r[1] for r in rows[1:] if r[0] != "total"} == {"Anna Arndt": "7.50h", "Ben Brandt": "8.50h"}
