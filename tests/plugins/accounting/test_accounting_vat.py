"""VAT codes on bill and invoice lines and the VAT return (UStVA) of a
quarter: the Kennzahlen worked out by hand, and equal to what the real
hledger computes from the exported journal for the same period (one
query per Kennzahl's account), both ways."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
from decimal import Decimal

import pytest

from core.errors import ValidationError
from plugins.accounting import invoicing as inv
from plugins.accounting import reports
from plugins.accounting import service as svc
from plugins.accounting import vatreturn as vr
from tests.plugins.accounting.conftest import iban
from invoice_helpers import INVOICE_SETTINGS, customers


@pytest.fixture
def quarter(site):
    """Sales and purchases of 2026-Q1 with every VAT code, a credit note,
    and an invoice and a bill in April (outside the quarter)."""
    site.plugins(INVOICE_SETTINGS)
    bd = site.open()
    ctx = bd.context("accounting")
    ids = customers(ctx)
    inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "quantity": "10", "unit_price": "100"},
                                           {"description": "Buch", "unit_price": "50", "vat_code": "7"},
                                           {"description": "Solarmodul", "unit_price": "300", "vat_code": "0"}],
                       date="2026-01-15", delivery_date="2026-01-10", issue=True)
    inv.create_invoice(ctx, ids["meier"], [{"description": "Dachdecken", "unit_price": "2000", "vat_code": "rc"},
                                           {"description": "Wartung", "unit_price": "333.33"}],
                       date="2026-02-10", delivery_date="2026-02-09", issue=True)
    inv.create_invoice(ctx, ids["dupont"], [{"description": "Maschine", "unit_price": "5000", "vat_code": "eu"},
                                            {"description": "Montage in Paris", "unit_price": "400", "vat_code": "nt"}],
                       date="2026-03-01", delivery_date="2026-02-27", issue=True)
    inv.credit_note(ctx, "RE-00001", [{"description": "Beratung", "quantity": "2", "unit_price": "100"}],
                    reason="Zwei Stunden zu viel", date="2026-03-20")
    inv.create_invoice(ctx, ids["meier"], [{"description": "April", "unit_price": "1000"}],
                       date="2026-04-02", delivery_date="2026-03-31", issue=True)
    v = svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000")})
    cloud = svc.add_vendor(ctx, {"name": "Cloud Ltd (IE)"})
    parts = svc.add_vendor(ctx, {"name": "Pièces SA (FR)"})
    for vendor, number, date, lines in [
        (v["id"], "S-1", "2026-01-20", [{"description": "Papier", "quantity": "1", "unit_price": "200",
                                         "vat_code": "19"},
                                        {"description": "Zeitung", "quantity": "1", "unit_price": "100",
                                         "vat_code": "7"}]),
        (cloud["id"], "C-1", "2026-02-01", [{"description": "Hosting", "quantity": "1", "unit_price": "1000",
                                             "vat_code": "rc", "account": "expenses:it"}]),
        (parts["id"], "P-1", "2026-03-05", [{"description": "Ersatzteile", "quantity": "1", "unit_price": "2000",
                                             "vat_code": "eu"}]),
        (v["id"], "S-2", "2026-04-03", [{"description": "Toner", "quantity": "1", "unit_price": "80"}]),
        (v["id"], "S-3", "2026-03-25", [{"description": "nicht freigegeben", "quantity": "1",
                                         "unit_price": "999", "vat_code": "eu"}])]:
        b = svc.create_bill(ctx, vendor, number, date, None, lines)
        if number != "S-3":
            svc.approve_bill(ctx, b["id"])
    return bd, ctx


def figures(result) -> dict[str, Decimal]:
    return {f"{r['kz']}/{r['kind']}": r["amount"] for r in result["rows"]}


def test_bill_lines_with_vat_codes_post_to_their_own_accounts(quarter):
    bd, ctx = quarter
    cloud = ctx.table("bills").find({"number": "C-1"})[0]
    assert (cloud["tax"], cloud["total"], cloud["lines"][0]["vat_code"]) == ("0.00", "1000.00", "rc")
    entry = ctx.table("entries").find({"number": cloud["entry"]})[0]
    assert sorted((p["account"], p["amount"]) for p in entry["postings"]) == [
        ("assets:tax:input vat:reverse charge", "190.00"), ("expenses:it", "1000.00"),
        ("liabilities:payables", "-1000.00"), ("liabilities:tax:output vat:reverse charge", "-190.00")]
    paper = ctx.table("bills").find({"number": "S-1"})[0]
    assert (paper["tax"], paper["total"]) == ("45.00", "345.00")  # 38.00 + 7.00
    with pytest.raises(ValidationError, match="not a VAT code"):
        svc.create_bill(ctx, cloud["vendor_id"], "C-2", "2026-02-02", None,
                        [{"description": "x", "quantity": "1", "unit_price": "1", "vat_code": "20"}])


def test_the_quarter_by_hand(quarter):
    bd, ctx = quarter
    r = vr.vat_return(ctx, "2026-q1")
    assert (r["period"], r["from"], r["to"]) == ("2026-Q1", "2026-01-01", "2026-03-31")
    f = figures(r)
    # 19 %: 1000 + 333.33 − 200 (credit note); VAT 190.00 + 63.33 − 38.00
    assert (f["81/net"], f["81/tax"]) == (Decimal("1133.33"), Decimal("215.33"))
    assert (f["86/net"], f["86/tax"]) == (Decimal("50.00"), Decimal("3.50"))
    assert (f["87/net"], f["41/net"], f["45/net"], f["60/net"]) == (Decimal("300.00"), Decimal("5000.00"),
                                                                     Decimal("400.00"), Decimal("2000.00"))
    assert (f["46/net"], f["47/tax"], f["67/tax"]) == (Decimal("1000.00"), Decimal("190.00"), Decimal("190.00"))
    assert (f["89/net"], f["93/tax"], f["61/tax"]) == (Decimal("2000.00"), Decimal("380.00"), Decimal("380.00"))
    assert f["66/tax"] == Decimal("45.00")  # Papier 38.00 + Zeitung 7.00; April's toner is outside
    assert r["output_vat"] == Decimal("215.33") + Decimal("3.50") + Decimal("190.00") + Decimal("380.00")
    assert r["input_vat"] == Decimal("45.00") + Decimal("190.00") + Decimal("380.00")
    assert r["payable"] == Decimal("173.83")
    april = figures(vr.vat_return(ctx, "2026-04"))
    assert (april["81/net"], april["66/tax"]) == (Decimal("1000.00"), Decimal("15.20"))
    with pytest.raises(ValidationError, match="not a period"):
        vr.vat_return(ctx, "2026-Q5")


def hledger_sum(journal, first: str, last: str, query: str) -> Decimal:
    """hledger's balance of the accounts ``query`` matches, postings dated first…last."""
    end = (dt.date.fromisoformat(last) + dt.timedelta(days=1)).isoformat()  # -e is exclusive
    out = subprocess.run(["hledger", "-f", str(journal), "balance", "-b", first, "-e", end, "--flat", "-N", query,
                          "-O", "csv"], capture_output=True, text=True, check=True).stdout
    rows = [r for r in csv.reader(io.StringIO(out)) if r and r[0] != "account"]
    return sum((Decimal(r[1].split()[0]) for r in rows if r[1].strip() not in ("", "0")), Decimal(0))


def assert_agrees_with_hledger(ctx, journal, period: str) -> dict:
    r = vr.vat_return(ctx, period)
    checked = 0
    for row in r["rows"]:
        if not row["account"]:
            continue
        sign = 1 if row["kz"] in ("66", "61", "67") else -1
        assert sign * hledger_sum(journal, r["from"], r["to"], f"^{row['account']}$") == row["amount"], row
        checked += 1
    assert checked == 13
    output = -hledger_sum(journal, r["from"], r["to"], f"^{vr.OUTPUT_VAT_TREE}(:|$)")
    input_ = hledger_sum(journal, r["from"], r["to"], f"^{vr.INPUT_VAT_TREE}(:|$)")
    assert (output, input_, output - input_) == (r["output_vat"], r["input_vat"], r["payable"])
    return r


def test_the_return_agrees_with_hledger_both_ways(quarter, hledger, tmp_path, site):
    bd, ctx = quarter
    journal = tmp_path / "books.journal"
    journal.write_text(reports.export_hledger(ctx))
    subprocess.run(["hledger", "-f", str(journal), "check"], check=True)
    for period in ("2026-Q1", "2026-01", "2026-03", "2026-04"):
        assert_agrees_with_hledger(ctx, journal, period)
    # the other way: a journal written for hledger, imported into fresh books
    other = tmp_path / "other.journal"
    other.write_text(
        "2026-05-04 Sale\n    assets:receivables  1190.00 EUR\n    income:sales:vat 19  -1000.00 EUR\n"
        "    liabilities:tax:output vat:19  -190.00 EUR\n\n"
        "2026-05-06 Book sale\n    assets:receivables  107.00 EUR\n    income:sales:vat 7  -100.00 EUR\n"
        "    liabilities:tax:output vat:7  -7.00 EUR\n\n"
        "2026-05-20 Office supplies\n    expenses:office supplies  100.00 EUR\n"
        "    assets:tax:input vat  19.00 EUR\n    liabilities:payables  -119.00 EUR\n\n"
        "2026-06-01 Outside the month\n    assets:receivables  119.00 EUR\n    income:sales:vat 19  -100.00 EUR\n"
        "    liabilities:tax:output vat:19  -19.00 EUR\n")
    fresh_site = type(site)(tmp_path / "fresh")
    fresh_site.plugins(INVOICE_SETTINGS)
    fresh = fresh_site.open().context("accounting")
    reports.import_hledger(fresh, other.read_text(), create_accounts=True)
    r = assert_agrees_with_hledger(fresh, other, "2026-05")
    assert (figures(r)["81/net"], r["payable"]) == (Decimal("1000.00"), Decimal("178.00"))
    fresh_site.close()


def test_vat_return_on_the_cli(quarter, site):
    r = site.cli("accounting", "vat-return", "--period", "2026-Q1")
    assert r.returncode == 0, r.stderr
    assert "VAT return 2026-Q1 (2026-01-01 to 2026-03-31)" in r.stdout
    assert " 81  taxable sales at 19 %" in r.stdout and "1,133.33" in r.stdout
    assert r.stdout.rstrip().endswith("173.83 EUR")
    r = site.cli("accounting", "vat-return", "--period", "2026-Q1", "--format", "csv")
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["kz", "what", "kind", "amount", "account"] and rows[-1][0] == "83" and rows[-1][3] == "173.83"
    r = site.cli("accounting", "vat-return", "--period", "2026-Q5")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "not a period" in r.stderr


async def test_the_vat_return_screen(quarter, tmp_path):
    from core.shell.app import make_app
    from core.shell.widgets import FormScreen
    from textual.widgets import Input
    from test_accounting_screens import shown, text, wait_for

    bd, ctx = quarter
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.vat_return")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "VatReturnScreen")
        await pilot.press("f")
        field = app.screen.query_one("#acc-vat-period", Input)
        await wait_for(pilot, lambda: field.has_focus)
        field.value = "2026-Q5"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("not a period" in n.message for n in app._notifications))
        field.value = "2026-Q1"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "VAT return 2026-Q1" in text(app, "#acc-vat"))
        assert "173.83 EUR" in text(app, "#acc-vat") and "1,133.33" in shown(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert app.screen.form.control("name").value == "vat-return-2026-Q1.csv"
        app.screen.form.control("name").value = "q1.csv"
        target = bd.config.data_dir / "exports" / bd.operator.account / "q1.csv"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: target.exists())
        assert target.read_text().splitlines()[-1].startswith("83,") and "173.83" in target.read_text()
