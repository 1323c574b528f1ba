"""The ledger, vendors, bills, payments, payment runs and purchase orders
through the service functions: what is stored, and what is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import PermissionDenied, UnknownRecord, ValidationError
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import reports
from plugins.accounting import sepa
from plugins.accounting import service as svc
from plugins.accounting.hledger import JournalError, parse_journal
from tests.plugins.accounting.conftest import iban


def test_money_rounds_half_up_and_never_takes_floats():
    assert L.round_money("2.675") == Decimal("2.68")
    assert L.round_money("-2.675") == Decimal("-2.68")
    assert L.round_money("2.665", rounding="ROUND_HALF_EVEN") == Decimal("2.66")
    with pytest.raises(L.LedgerError):
        L.to_decimal(0.1)
    for bad in ("1e400", "NaN", "12,3,4", "", "1" * 20):
        with pytest.raises(L.LedgerError):
            L.to_decimal(bad)


def test_iban_check_digits():
    assert m.iban("de89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    with pytest.raises(ValidationError, match="wrong check digits"):
        m.iban("DE88370400440532013000")
    with pytest.raises(ValidationError, match="not an IBAN"):
        m.iban("12345")


def test_ageing_buckets():
    items = [("2026-03-31", "EUR", Decimal("10")), ("2026-03-30", "EUR", Decimal("1")),
             ("2026-03-01", "EUR", Decimal("30")), ("2026-02-28", "EUR", Decimal("31")),
             ("2026-01-29", "EUR", Decimal("61")), ("2025-12-30", "EUR", Decimal("91"))]
    got = L.ageing(items, "2026-03-31")
    assert got == {"current": {"EUR": Decimal(10)}, "1-30": {"EUR": Decimal(31)}, "31-60": {"EUR": Decimal(31)},
                   "61-90": {"EUR": Decimal(61)}, "over 90": {"EUR": Decimal(91)}}


def test_journal_errors_are_named_by_line():
    with pytest.raises(JournalError, match="line 3: 'twelve' is not an amount"):
        parse_journal("2026-01-01 x\n    assets:cash  10 EUR\n    income:sales  twelve\n")
    with pytest.raises(JournalError, match="line 4: expected a transaction date"):
        parse_journal("2026-01-01 x\n    assets:cash  10\n    income:sales\nJan 5 y\n")
    with pytest.raises(JournalError, match="line 1: 2026-02-30 is not a date"):
        parse_journal("2026-02-30 x\n    assets:cash  10\n    income:sales\n")
    with pytest.raises(JournalError, match="line 1: the transaction does not balance"):
        parse_journal("2026-01-01 x\n    assets:cash  10\n    income:sales  -9\n")


def test_unbalanced_entry_is_refused_and_nothing_stored(office):
    bd, ctx, ids = office
    with pytest.raises(ValidationError, match=r"does not balance \(off by \+0.01 EUR\)"):
        svc.post_entry(ctx, "2026-01-05", "Rent", [{"account": "expenses:rent", "amount": "100.01"},
                                                   {"account": "assets:bank:checking", "amount": "-100"}])
    with pytest.raises(ValidationError, match="no account expenses:nope"):
        svc.post_entry(ctx, "2026-01-05", "Rent", [{"account": "expenses:nope", "amount": "1"},
                                                   {"account": "assets:bank:checking", "amount": "-1"}])
    assert ctx.table("entries").count() == 0


def test_posted_entries_are_reversed_not_edited_and_closed_periods_refuse(office):
    bd, ctx, ids = office
    e = svc.post_entry(ctx, "2026-01-05", "Rent", [{"account": "expenses:rent", "amount": "1200"},
                                                   {"account": "assets:bank:checking", "amount": "-1200"}])
    r = svc.reverse_entry(ctx, e["number"], "2026-01-06", "wrong month")
    assert r["reverses"] == e["number"] and r["postings"][0]["amount"] == "-1200.00"
    assert ctx.table("entries").get(e["id"]) == e  # the original is untouched
    with pytest.raises(ValidationError, match="reversed already"):
        svc.reverse_entry(ctx, e["number"])
    with pytest.raises(UnknownRecord):
        svc.reverse_entry(ctx, 999)
    assert reports.report(ctx, "trial-balance").sections[0][1] == []
    svc.close_period(ctx, "2026-01")
    with pytest.raises(ValidationError, match="the period 2026-01 is closed"):
        svc.post_entry(ctx, "2026-01-31", "Late", [{"account": "expenses:rent", "amount": "1"},
                                                   {"account": "assets:bank:checking", "amount": "-1"}])
    svc.post_entry(ctx, "2026-02-01", "On time", [{"account": "expenses:rent", "amount": "1"},
                                                  {"account": "assets:bank:checking", "amount": "-1"}])
    assert [x["number"] for x in svc.journal(ctx)] == [1, 2, 3]


def test_vendor_and_bill_rules(office):
    bd, ctx, ids = office
    with pytest.raises(ValidationError, match="wrong check digits"):
        svc.add_vendor(ctx, {"name": "Bad Bank", "iban": "DE00370400440532013000"})
    v = svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000")})
    assert ctx.table("vendors").count() == 1
    with pytest.raises(ValidationError, match="exists already"):
        svc.add_vendor(ctx, {"name": "schmidt"})
    b = svc.create_bill(ctx, v["id"], "A-1", "2026-01-10", "2026-01-24",
                        [{"description": "Paper", "quantity": "3", "unit_price": "10.005"}])
    # 3 × 10.005 = 30.015 → 30.02 (half up); tax 19 % of 30.02 = 5.7038 → 5.70
    assert (b["net"], b["tax"], b["total"], b["status"]) == ("30.02", "5.70", "35.72", "draft")
    with pytest.raises(ValidationError, match="already has a bill numbered a-1"):
        svc.create_bill(ctx, v["id"], "a-1", "2026-01-10", None, [{"description": "x", "unit_price": "1"}])
    with pytest.raises(ValidationError, match="not an amount"):
        svc.create_bill(ctx, v["id"], "A-2", "2026-01-10", None, [{"description": "x", "unit_price": "1,2,3"}])
    with pytest.raises(ValidationError, match="not approved: it cannot be paid"):
        svc.pay_bill(ctx, b["id"])
    assert ctx.table("bills").count() == 1 and ctx.table("payments").count() == 0
    assert ctx.table("entries").count() == 0
    svc.approve_bill(ctx, b["id"])
    with pytest.raises(ValidationError, match="more than the 35.72 still open"):
        svc.pay_bill(ctx, b["id"], "40")
    svc.pay_bill(ctx, b["id"], "20", "2026-01-20")
    assert ctx.table("bills").get(b["id"])["status"] == "partly_paid"
    done = svc.pay_bill(ctx, b["id"], date="2026-01-21")
    assert (done["status"], done["paid"]) == ("paid", "35.72")
    tb = {a: v for a, _c, v in reports.report(ctx, "trial-balance").sections[0][1]}
    assert tb == {"expenses:purchases": Decimal("30.02"), "assets:tax:input vat": Decimal("5.70"),
                  "assets:bank:checking": Decimal("-35.72")}


def test_approval_needs_the_role_and_tells_approvers(site, office):
    bd, ctx, ids = office
    v = svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000")})
    bd.close()
    clerk = site.open("clara")
    cctx = clerk.context("accounting")
    b = svc.create_bill(cctx, v["id"], "A-1", "2026-01-10", None, [{"description": "Paper", "unit_price": "10"}])
    with pytest.raises(PermissionDenied):
        svc.approve_bill(cctx, b["id"])
    with pytest.raises(PermissionDenied):
        sepa.payment_run(cctx, "2026-12-31")
    events = clerk.table("core.events").find({"name": "accounting.bill_awaiting_approval"})
    assert [e["data"] for e in events] == [{"bill_id": b["id"], "vendor_id": v["id"], "amount": "11.90",
                                            "currency": "EUR"}]
    inbox = sorted(n["account"] for n in clerk.table("core.notifications").all())
    assert "dieter" in inbox and "alice" in inbox and "clara" not in inbox and "sam" not in inbox


def test_payment_run_sends_due_approved_bills_to_the_bank_in_one_go(office):
    bd, ctx, ids = office
    a = svc.add_vendor(ctx, {"name": "Alpha", "iban": iban("DE", "370400440532013000"), "bic": "COBADEFFXXX"})
    b = svc.add_vendor(ctx, {"name": "Beta", "iban": iban("DE", "500105175407324396")})
    nobank = svc.add_vendor(ctx, {"name": "Gamma"})
    bills = [svc.create_bill(ctx, a["id"], "A-1", "2026-01-01", "2026-01-15", [{"description": "x", "unit_price": "100"}]),
             svc.create_bill(ctx, b["id"], "B-1", "2026-01-01", "2026-01-31", [{"description": "y", "unit_price": "50"}]),
             svc.create_bill(ctx, b["id"], "B-2", "2026-01-01", "2026-02-15", [{"description": "z", "unit_price": "70"}]),
             svc.create_bill(ctx, nobank["id"], "G-1", "2026-01-01", "2026-01-10", [{"description": "w", "unit_price": "5"}]),
             svc.create_bill(ctx, a["id"], "A-2", "2026-01-01", "2026-01-10", [{"description": "draft", "unit_price": "9"}])]
    for bill in bills[:4]:
        svc.approve_bill(ctx, bill["id"])
    svc.pay_bill(ctx, bills[1]["id"], "9.50", "2026-01-05")
    entries = ctx.table("entries").count()
    run = sepa.payment_run(ctx, "2026-01-31", "2026-01-30")
    assert [(i["reference"], i["amount"], i["end_to_end_id"]) for i in run["items"]] == [
        ("A-1", "119.00", f"BD-R1-B{bills[0]['id']}"), ("B-1", "50.00", f"BD-R1-B{bills[1]['id']}")]
    assert [s["reason"] for s in run["skipped"]] == ["Gamma has no IBAN"]
    assert (run["bank"], run["pain"], run["total"], run["status"]) == ("Hausbank", "001.001.09", "169.00", "sent")
    # sent to the bank, not paid, and nothing posted: the bank statement pays them
    status = {x["number"]: x["status"] for x in ctx.table("bills").all()}
    assert status == {"A-1": "in_payment", "B-1": "in_payment", "B-2": "approved", "G-1": "approved", "A-2": "draft"}
    assert ctx.table("entries").count() == entries
    with pytest.raises(ValidationError, match="bill A-1 is sent to the bank in payment run 1"):
        svc.pay_bill(ctx, bills[0]["id"])
    with pytest.raises(ValidationError, match="no approved bills"):
        sepa.payment_run(ctx, "2026-01-31")
    assert ctx.table("payment_runs").count() == 1  # the refused run left nothing behind
    # still owed until the bank has paid: the ageing counts them
    ageing = svc.ageing(ctx, "2026-03-01")
    assert ageing["over 90"] == {} and ageing["31-60"] == {"EUR": Decimal("124.95")}
    assert ageing["1-30"] == {"EUR": Decimal("133.30")}
    # the bank refused the run: cancelled, the bills are open again (B-1 part-paid as before)
    cancelled = sepa.cancel_run(ctx, 1)
    assert (cancelled["status"], cancelled["reopened"]) == ("cancelled", 2)
    status = {x["number"]: x["status"] for x in ctx.table("bills").all()}
    assert (status["A-1"], status["B-1"]) == ("approved", "partly_paid")
    with pytest.raises(ValidationError, match="cancelled already"):
        sepa.cancel_run(ctx, 1)


def test_purchase_order_receiving_and_bill_matching(office):
    bd, ctx, ids = office
    v = svc.add_vendor(ctx, {"name": "Schmidt"})
    other = svc.add_vendor(ctx, {"name": "Other"})
    po = svc.create_order(ctx, v["id"], [{"item": "Toner", "quantity": "10", "price": "49.90"},
                                         {"item": "Paper", "quantity": "20", "price": "24.50"}])
    assert (po["number"], po["status"]) == ("PO-00001", "draft")
    with pytest.raises(ValidationError, match="nothing to receive"):
        svc.receive(ctx, po["id"], {"1": "1"})
    svc.place_order(ctx, po["id"])
    assert svc.receive(ctx, po["id"], {"Toner": "10"})["status"] == "partly_received"
    with pytest.raises(ValidationError, match="receiving 21 of 20 ordered"):
        svc.receive(ctx, po["id"], {"2": "21"})
    assert svc.receive(ctx, po["id"], {"2": "18"})["status"] == "partly_received"
    with pytest.raises(ValidationError, match="another vendor"):
        b0 = svc.create_bill(ctx, other["id"], "X", "2026-01-10", None, [{"description": "Toner", "unit_price": "1"}],
                             order_id=po["id"])
    assert ctx.table("bills").count() == 0  # the refused match took the bill with it
    b = svc.create_bill(ctx, v["id"], "RE-1", "2026-01-10", None,
                        [{"description": "Toner", "quantity": "10", "unit_price": "52.00"},
                         {"description": "Paper", "quantity": "20", "unit_price": "24.50"},
                         {"description": "Stapler", "quantity": "1", "unit_price": "8"}], order_id=po["id"])
    assert b["match_flags"] == ["Toner: billed at 52.00, ordered at 49.90", "Stapler: not on order PO-00001",
                                "Paper: 20 billed, 18 received"]
    assert ctx.table("orders").get(po["id"])["status"] == "billed"


def test_bank_csv_import_with_mapping(office):
    bd, ctx, ids = office
    text = "Buchungstag;Verwendungszweck;Betrag\n02.01.2026;Miete Januar;-1.200,00\n05.01.2026;Kunde 4711;3.456,78\n"
    mp = {"date": "Buchungstag", "description": "Verwendungszweck", "amount": "Betrag", "date_format": "%d.%m.%Y",
          "decimal": ",", "delimiter": ";", "rules": {"miete": "expenses:rent", "kunde": "income:sales"}}
    assert reports.import_bank_csv(ctx, text, mp) == 2
    tb = {a: v for a, _c, v in reports.report(ctx, "trial-balance").sections[0][1]}
    assert tb == {"assets:bank:checking": Decimal("2256.78"), "expenses:rent": Decimal("1200.00"),
                  "income:sales": Decimal("-3456.78")}
    bad = text + "31.02.2026;Kaputt;1,00\n"
    with pytest.raises(ValidationError, match=r"line 4: '31.02.2026' is not a date"):
        reports.import_bank_csv(ctx, bad, mp)
    bad = text + "06.01.2026;Kaputt;zwölf\n"
    with pytest.raises(ValidationError, match=r"line 4: 'zwölf' is not an amount"):
        reports.import_bank_csv(ctx, bad, mp)
    assert ctx.table("entries").count() == 2  # the refused files posted nothing


def test_import_is_all_or_nothing(office):
    bd, ctx, ids = office
    svc.close_period(ctx, "2026-01")
    text = ("2026-02-01 ok\n    assets:cash  10\n    income:sales\n\n"
            "2026-01-15 into a closed month\n    assets:cash  5\n    income:sales\n")
    with pytest.raises(ValidationError, match="line 5: .*period 2026-01 is closed"):
        reports.import_hledger(ctx, text)
    assert ctx.table("entries").count() == 0


def test_staff_sees_nothing_of_the_books(site, office):
    bd, ctx, ids = office
    bd.close()
    staff = site.open("sam").context("accounting")
    for call in (lambda: svc.journal(staff), lambda: svc.bills(staff), lambda: reports.report(staff, "trial-balance"),
                 lambda: svc.post_entry(staff, "2026-01-01", "x", [])):
        with pytest.raises(PermissionDenied):
            call()
