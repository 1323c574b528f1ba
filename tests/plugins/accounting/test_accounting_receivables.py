"""Open items: payments received clear them, the ageing of what customers
owe, dunning levels with the configured fees — posted, and the receivables
account equal to the open items."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import PermissionDenied, ValidationError
from plugins.accounting import invoicing as inv
from plugins.accounting import ledger as L
from plugins.accounting import receivables as rcv
from plugins.accounting import service as svc
from invoice_helpers import INVOICE_SETTINGS, customers

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
    assert r.returncode == 0 and r.stdout.strip() == "invoice RE-00003: paid 119.00, open 0.00 EUR"
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
    second = rcv.run_dunning(ctx, "2026-04-14")
    assert [(x["number"], x["level"], x["fee"]) for x in second] == [("RE-00001", 2, Decimal("5.00"))]
    # one level per run: a long-forgotten invoice gets its first reminder first
    late = rcv.run_dunning(ctx, "2026-07-01")
    assert [(x["number"], x["level"]) for x in late] == [("RE-00001", 3), ("RE-00002", 1), ("RE-00003", 1)]
    stored = inv.invoice(ctx, "RE-00001")
    assert (stored["dunning_level"], stored["fees"], inv.open_amount(stored)) == (3, "17.50", Decimal("1207.50"))
    assert [d["level"] for d in stored["dunning"]] == [1, 2, 3]
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
    assert (tmp_path / "letters" / "RE-00001-level1.txt").read_text().count("Payment reminder") == 1
    r = site.cli("accounting", "open-items", "--as-of", "2026-04-14")
    assert r.returncode == 0 and "RE-00001" in r.stdout and "L1" in r.stdout and "1-30" in r.stdout
    r = site.cli("accounting", "open-items", "--as-of", "2026-14-01")
    assert r.returncode == 2 and "not a date" in r.stderr


def test_the_dunning_setting_is_checked(site):
    site.plugins({**INVOICE_SETTINGS, "dunning": [{"days": 14, "fee": "0"}, {"days": 7, "fee": "5"}]})
    r = site.cli("accounting", "open-items")
    assert r.returncode == 2 and "dunning" in r.stderr and "above the level before" in r.stderr
