"""Open items: payments received clear them, the ageing of what customers
owe, dunning levels with the configured fees and interest — posted, and the
receivables account equal to the open items; reminders as PDF letters with
the GiroCode read back by zbarimg."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from core.errors import PermissionDenied, ValidationError
from plugins.accounting import invoicing as inv
from plugins.accounting import ledger as L
from plugins.accounting import receivables as rcv
from plugins.accounting import service as svc
from invoice_helpers import INVOICE_SETTINGS, customers
from tests.peers import require_peer

LEVELS = [{"days": 7, "fee": "0.00"}, {"days": 21, "fee": "5.00"}, {"days": 35, "fee": "12.50"}]


@pytest.fixture
def books(site):
    site.plugins({**INVOICE_SETTINGS, "dunning": LEVELS})
    bd = site.open()
    ctx = bd.context("accounting")
    ids = customers(ctx)
    # due 2026-03-24, 2026-04-30 and 2026-05-15 (Meier 14 days, Dupont 30)
    a = inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "unit_price": "1000"}],
                           date="2026-03-10", delivery_date="2026-03-09", issue=True)
    b = inv.create_invoice(ctx, ids["dupont"], [{"description": "Maschine", "unit_price": "5000", "vat_code": "eu"}],
                           date="2026-03-31", delivery_date="2026-03-30", issue=True)
    c = inv.create_invoice(ctx, ids["meier"], [{"description": "Wartung", "unit_price": "100"}],
                           date="2026-05-01", delivery_date="2026-04-30", issue=True)
    return bd, ctx, (a, b, c)


def receivables_balance(ctx) -> Decimal:
    return L.balances(svc.journal(ctx)).get(("assets:receivables", "EUR"), Decimal(0))


def test_payments_received_clear_open_items(books, site):
    bd, ctx, (a, b, c) = books
    assert [r["number"] for r in rcv.open_items(ctx, "2026-05-20")] == ["RE-00001", "RE-00002", "RE-00003"]
    part = rcv.record_payment(ctx, "RE-00001", "500.00", "2026-03-20")
    assert (part["paid"], part["status"], inv.open_amount(part)) == ("500.00", "partly_paid", Decimal("690.00"))
    with pytest.raises(ValidationError, match="more than the 690.00 still open"):
        rcv.record_payment(ctx, "RE-00001", "690.01", "2026-03-21")
    with pytest.raises(ValidationError, match="dated before invoice"):
        rcv.record_payment(ctx, "RE-00003", None, "2026-04-01")
    full = rcv.record_payment(ctx, "RE-00001", None, "2026-03-25")
    assert (full["paid"], full["status"]) == ("1190.00", "paid")
    with pytest.raises(ValidationError, match="nothing open"):
        rcv.record_payment(ctx, "RE-00001", "1", "2026-03-26")
    assert [r["number"] for r in rcv.open_items(ctx, "2026-05-20")] == ["RE-00002", "RE-00003"]
    entry = ctx.table("entries").find({"number": rcv.receipts(ctx, a["id"])[1]["entry"]})[0]
    assert sorted((p["account"], p["amount"]) for p in entry["postings"]) == [
        ("assets:bank:checking", "690.00"), ("assets:receivables", "-690.00")]
    assert receivables_balance(ctx) == Decimal("5119.00") == sum(r["open"] for r in rcv.open_items(ctx))
    r = site.cli("accounting", "invoices", "pay", "RE-00003", "--amount", "12,x", "--date", "2026-05-02")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "not an amount" in r.stderr
    r = site.cli("accounting", "invoices", "pay", "RE-00003", "--date", "2026-05-02")
    assert r.returncode == 0 and r.stdout.strip() == "invoice RE-00003: paid €119.00, open €0.00"
    clerk = site.open("clara").context("accounting")
    with pytest.raises(PermissionDenied):
        rcv.record_payment(clerk, "RE-00002", "1", "2026-04-01")


def test_ageing_of_what_customers_owe(books):
    bd, ctx, _ = books
    ageing = rcv.ageing(ctx, "2026-06-01")
    # RE-00001 due 03-24: 69 days; RE-00002 due 04-30: 32 days; RE-00003 due 05-15: 17 days
    assert {k: v.get("EUR") for k, v in ageing.items()} == {
        "current": None, "1-30": Decimal("119.00"), "31-60": Decimal("5000.00"), "61-90": Decimal("1190.00"),
        "over 90": None}
    assert [x["days_overdue"] for x in rcv.open_items(ctx, "2026-06-01")] == [69, 32, 17]
    assert rcv.open_items(ctx, "2026-03-31")[0]["bucket"] == "1-30"
    assert [x["number"] for x in rcv.open_items(ctx, "2026-03-15")] == ["RE-00001"]  # not yet issued: not open


def test_dunning_levels_with_fees(books, site, tmp_path):
    bd, ctx, (a, b, c) = books
    assert rcv.dunning_due(ctx, "2026-03-30") == []  # 6 days past due
    first = rcv.run_dunning(ctx, "2026-03-31")
    assert [(x["number"], x["level"], x["fee"]) for x in first] == [("RE-00001", 1, Decimal("0.00"))]
    assert rcv.run_dunning(ctx, "2026-04-01") == []  # level 2 waits until 21 days past due
    assert rcv.dunning_due(ctx, "2026-04-13") == []  # 20 days past due
    second = rcv.run_dunning(ctx, "2026-04-14")
    assert [(x["number"], x["level"], x["fee"]) for x in second] == [("RE-00001", 2, Decimal("5.00"))]
    # one level per run: a long-forgotten invoice gets its first reminder first
    late = rcv.run_dunning(ctx, "2026-07-01")
    assert [(x["number"], x["level"]) for x in late] == [("RE-00001", 3), ("RE-00002", 1), ("RE-00003", 1)]
    stored = inv.invoice(ctx, "RE-00001")
    assert (stored["dunning_level"], stored["fees"], inv.open_amount(stored)) == (3, "17.50", Decimal("1207.50"))
    assert [d["level"] for d in stored["dunning"]] == [1, 2, 3]
    # the same day again: the customer gets the 14 days between level 1 and 2 first
    assert rcv.run_dunning(ctx, "2026-07-01") == [] and rcv.dunning_due(ctx, "2026-07-14") == []
    again = rcv.run_dunning(ctx, "2026-08-01")  # RE-00001 is at the last level: no more
    assert [(x["number"], x["level"], x["fee"]) for x in again] == [("RE-00002", 2, Decimal("5.00")),
                                                                  ("RE-00003", 2, Decimal("5.00"))]
    fees = L.balances(svc.journal(ctx)).get(("income:dunning fees", "EUR"))
    assert fees == Decimal("-27.50")
    assert receivables_balance(ctx) == sum(r["open"] for r in rcv.open_items(ctx, "2026-08-01"))
    letter = rcv.letter_text(ctx, {**late[0], "fee": Decimal("12.50")}, "2026-07-01")
    for part in ("Final reminder — 2026-07-01", "Our invoice RE-00001 of 2026-03-10, due on 2026-03-24",
                 "Dunning fee 12.50", "Please pay the 1,207.50 EUR now open", "IBAN DE89370400440532013000"):
        assert part in letter, part
    # paying the invoice with its fees clears it
    paid = rcv.record_payment(ctx, "RE-00001", None, "2026-08-02")
    assert (paid["paid"], paid["status"]) == ("1207.50", "paid")


def test_dunning_on_the_cli(books, site, tmp_path):
    r = site.cli("accounting", "dunning", "--as-of", "2026-04-14", "--dry-run")
    assert r.returncode == 0 and "RE-00001" in r.stdout and "level 1" in r.stdout
    r = site.cli("accounting", "dunning", "--as-of", "2026-04-14", "--letters", str(tmp_path / "letters"))
    assert r.returncode == 0, r.stderr
    assert pdf_text((tmp_path / "letters" / "RE-00001-level1.pdf").read_bytes()).count("Payment reminder") == 1
    r = site.cli("accounting", "open-items", "--as-of", "2026-04-14")
    assert r.returncode == 0 and "RE-00001" in r.stdout and "L1" in r.stdout and "1-30" in r.stdout
    r = site.cli("accounting", "open-items", "--as-of", "2026-14-01")
    assert r.returncode == 2 and "not a date" in r.stderr


def test_the_dunning_setting_is_checked(site):
    site.plugins({**INVOICE_SETTINGS, "dunning": [{"days": 14, "fee": "0"}, {"days": 7, "fee": "5"}]})
    r = site.cli("accounting", "open-items")
    assert r.returncode == 2 and "dunning" in r.stderr and "above the level before" in r.stderr


INTEREST_LEVELS = [{"days": 7, "fee": "0.00"}, {"days": 21, "fee": "5.00", "interest": "9.27"},
                   {"days": 35, "fee": "10.00", "interest": "9.27"}]


@pytest.fixture
def interest_books(site):
    site.plugins({**INVOICE_SETTINGS, "dunning": INTEREST_LEVELS})
    bd = site.open()
    ctx = bd.context("accounting")
    ids = customers(ctx)
    # 1,190.00 due 2026-03-24 (Meier: 14 days)
    inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "unit_price": "1000"}],
                       date="2026-03-10", delivery_date="2026-03-09", issue=True)
    return bd, ctx


def pdf_text(data: bytes) -> str:
    import io

    import pypdf

    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def read_qr(pdf: Path) -> str:
    """The QR code on the letter's page, as zbarimg reads it from the page Ghostscript renders."""
    png = pdf.with_suffix(".png")
    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=pnggray", "-r200", f"-sOutputFile={png}", str(pdf)],
                   check=True)
    return subprocess.run(["zbarimg", "--raw", "-q", str(png)], check=True, capture_output=True,
                          text=True).stdout


def test_reminders_charge_interest_on_late_payment_and_are_letters_as_pdf(interest_books, site, tmp_path):
    require_peer("zbarimg", shutil.which("zbarimg") is not None, "apt-get install zbar-tools")
    require_peer("Ghostscript", shutil.which("gs") is not None, "apt-get install ghostscript")
    bd, ctx = interest_books
    first = rcv.run_dunning(ctx, "2026-03-31")
    assert [(x["level"], x["fee"], x["interest"]) for x in first] == [(1, Decimal("0.00"), Decimal(0))]
    # level 2, 21 days past due: 1,190.00 × 9.27 % × 21 / 365 = 6.35
    due = rcv.dunning_due(ctx, "2026-04-14")
    assert [(x["next_level"], x["interest"], x["interest_days"]) for x in due] == [(2, Decimal("6.35"), 21)]
    second = rcv.run_dunning(ctx, "2026-04-14")
    assert (second[0]["fee"], second[0]["interest"], second[0]["open"]) == (
        Decimal("5.00"), Decimal("6.35"), Decimal("1201.35"))
    # level 3 charges interest only for the 14 days since: 4.23 — not on fees, not twice
    third = rcv.run_dunning(ctx, "2026-04-28")
    assert (third[0]["interest"], third[0]["interest_from"], third[0]["earlier_fees"], third[0]["open"]) == (
        Decimal("4.23"), "2026-04-14", Decimal("11.35"), Decimal("1215.58"))
    books = L.balances(svc.journal(ctx))
    assert books[("income:late payment interest", "EUR")] == Decimal("-10.58")
    assert books[("income:dunning fees", "EUR")] == Decimal("-15.00")
    assert receivables_balance(ctx) == Decimal("1215.58") == sum(r["open"] for r in rcv.open_items(ctx))
    # the CLI writes the second reminder again as a PDF letter, as it was that day
    out = tmp_path / "RE-00001-2.pdf"
    r = site.cli("accounting", "invoices", "reminder", "RE-00001", "--level", "2", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = pdf_text(out.read_bytes())
    for part in ("Second reminder", "Date: 4/14/2026", "Invoice RE-00001 of 3/10/2026", "Meier Bau GmbH",
                 "Dunning fee", "Interest on late payment: 9.27 % a year on 1,190.00 for 21 days from 2026-03-24",
                 "Now open", "1,201.35 EUR", "IBAN DE89370400440532013000"):
        assert part in text, part
    assert "Final reminder" not in text
    qr = read_qr(out).splitlines()
    assert qr[:3] == ["BCD", "002", "1"] and "DE89370400440532013000" in qr and "EUR1201.35" in qr
    r = site.cli("accounting", "invoices", "reminder", "RE-00001", "--level", "3")
    assert r.returncode == 0 and "Final reminder — 2026-04-28" in r.stdout and "Interest on late payment 4.23" \
        in r.stdout and "Fees and interest of earlier reminders 11.35." in r.stdout
    r = site.cli("accounting", "invoices", "reminder", "RE-00001", "--level", "4", "-o", str(tmp_path / "x.pdf"))
    assert r.returncode == 2 and "no reminder at level 4 was sent for RE-00001" in r.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_dunning_writes_each_letter_as_pdf(interest_books, site, tmp_path):
    r = site.cli("accounting", "dunning", "--as-of", "2026-04-14", "--letters", str(tmp_path / "letters"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "letters").iterdir()) == ["RE-00001-level1.pdf"]
    text = pdf_text((tmp_path / "letters" / "RE-00001-level1.pdf").read_bytes())
    assert "Payment reminder" in text and "Perhaps it escaped your attention" in text
