"""Customers, invoices and credit notes: what § 14 UStG asks of an invoice,
what issuing posts, credit notes and their limit, gap-free numbers from
several processes at once, permissions, and refused input on the CLI."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from core.errors import PermissionDenied, ValidationError
from core.i18n import configure
from plugins.accounting import invoicing as inv
from plugins.accounting import ledger as L
from plugins.accounting import service as svc
from tests.office import ROOT
from invoice_helpers import INVOICE_SETTINGS, customers


@pytest.fixture
def books(site):
    site.plugins(INVOICE_SETTINGS)
    bd = site.open()
    ctx = bd.context("accounting")
    return bd, ctx, customers(ctx)


def balances(ctx) -> dict:
    return {acc: v for (acc, _cur), v in L.balances(svc.journal(ctx)).items()}


def test_vat_id_is_checked_and_kept_compact(books, site):
    bd, ctx, ids = books
    assert ctx.table("customers").get(ids["meier"])["vat_id"] == "DE129273398"
    with pytest.raises(ValidationError, match="wrong check digit"):
        inv.add_customer(ctx, {"name": "Wrong AG", "vat_id": "DE129273397"})
    with pytest.raises(ValidationError, match="not a VAT ID"):
        inv.add_customer(ctx, {"name": "Wrong AG", "vat_id": "DE12"})
    # outside the EU another tax number is kept as typed; inside, the prefix is required
    c = inv.add_customer(ctx, {"name": "Zürich AG", "country": "CH", "vat_id": "CHE-123.456.788 MWST"})
    assert c["vat_id"] == "CHE-123.456.788 MWST"
    with pytest.raises(ValidationError, match="starts with the country code"):
        inv.add_customer(ctx, {"name": "Wien GmbH", "country": "AT", "vat_id": "123"})
    r = site.cli("accounting", "customers", "add", "Schulz KG", "--vat-id", "DE136695977")
    assert r.returncode == 2 and r.stderr.strip() == "backdesk: vat_id: the VAT ID DE136695977 has a wrong check digit"
    assert [c["name"] for c in inv.customers(ctx)] == ["Dupont SARL", "Meier Bau GmbH", "Nobody", "Zürich AG"]
    r = site.cli("accounting", "customers", "add", "Schulz KG", "--vat-id", "de136695976", "--city", "Köln")
    assert r.returncode == 0, r.stderr
    assert inv.customer(ctx, "schulz kg")["vat_id"] == "DE136695976"


def test_an_issued_invoice_has_the_content_and_posting_the_law_asks(books):
    bd, ctx, ids = books
    draft = inv.create_invoice(ctx, ids["meier"], [
        {"description": "Beratung", "quantity": "10", "unit_price": "120.00", "unit": "HUR"},
        {"description": "Fachbuch", "quantity": "2", "unit_price": "24.99", "vat_code": "7"},
        {"description": "Montage", "quantity": "1", "unit_price": "0.01"}],
        date="2026-03-10", delivery_date="2026-03-02", delivery_end="2026-03-06")
    assert (draft["status"], draft["number"], draft["entry"]) == ("draft", None, None)
    assert svc.journal(ctx) == []  # a draft posts nothing
    # the VAT of a rate is taken on the sum of its lines (1200.01 × 19 % = 228.0019 → 228.00)
    assert [(r["vat_code"], r["net"], r["tax"]) for r in draft["breakdown"]] == [("19", "1200.01", "228.00"),
                                                                                 ("7", "49.98", "3.50")]
    assert (draft["net"], draft["tax"], draft["total"]) == ("1249.99", "231.50", "1481.49")
    assert draft["due"] == "2026-03-24"  # the customer's 14 days
    issued = inv.issue_invoice(ctx, draft["id"])
    assert (issued["number"], issued["seq"], issued["status"]) == ("RE-00001", 1, "open")
    assert issued["seller"]["tax_number"] == "143/123/45678" and issued["buyer"]["name"] == "Meier Bau GmbH"
    entry = ctx.table("entries").find({"number": issued["entry"]})[0]
    assert entry["date"] == "2026-03-10" and entry["source"] == "invoice"
    assert sorted((p["account"], p["amount"]) for p in entry["postings"]) == [
        ("assets:receivables", "1481.49"), ("income:sales:vat 19", "-1200.01"), ("income:sales:vat 7", "-49.98"),
        ("liabilities:tax:output vat:19", "-228.00"), ("liabilities:tax:output vat:7", "-3.50")]
    text = inv.invoice_text(ctx, issued)
    for part in ("Invoice RE-00001", "Test GmbH · Hauptstraße 1 · 80331 München", "VAT ID DE136695976",
                 "Tax number 143/123/45678", "To: Meier Bau GmbH", "10115 Berlin", "VAT ID DE129273398",
                 "Date: 3/10/2026", "Delivery: 3/2/2026 to 3/6/2026", "Due: 3/24/2026", "Beratung",
                 "19 % VAT: net 1,200.01, VAT 19 % 228.00", "7 % VAT: net 49.98, VAT 7 % 3.50",
                 "Net 1,249.99 · VAT 231.50 · Total €1,481.49"):
        assert part in text, part
    # a German office's invoice: its dates and total the locale's way, as on every screen
    configure("de_DE", "Europe/Berlin", "EUR")
    try:
        text = inv.invoice_text(ctx, issued)
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
    for part in ("Datum: 10.03.2026", "Fällig: 24.03.2026", "Netto 1.249,99 · USt 231,50 · Gesamt 1.481,49\u00a0€"):
        assert part in text, part
    with pytest.raises(ValidationError, match="issued already"):
        inv.issue_invoice(ctx, draft["id"])
    with pytest.raises(ValidationError, match="a credit note corrects it"):
        inv.update_draft(ctx, draft["id"], note="changed")
    nobody = inv.create_invoice(ctx, ids["nobody"], [{"description": "Beratung", "unit_price": "100"}],
                                delivery_date="2026-03-02")
    with pytest.raises(ValidationError, match="Nobody has no address"):
        inv.issue_invoice(ctx, nobody["id"])
    assert inv.invoice(ctx, str(nobody["id"]))["number"] is None and len(svc.journal(ctx)) == 1


def test_zero_rated_reverse_charge_and_intra_eu_lines(books):
    bd, ctx, ids = books
    with pytest.raises(ValidationError, match="is in Germany"):
        inv.create_invoice(ctx, ids["meier"], [{"description": "Maschine", "unit_price": "5000", "vat_code": "eu"}],
                           delivery_date="2026-03-02")
    with pytest.raises(ValidationError, match="not a VAT code"):
        inv.create_invoice(ctx, ids["meier"], [{"description": "X", "unit_price": "1", "vat_code": "16"}],
                           delivery_date="2026-03-02")
    eu = inv.create_invoice(ctx, ids["dupont"], [{"description": "Maschine", "unit_price": "5000", "vat_code": "EU"}],
                            date="2026-03-05", delivery_date="2026-03-02", issue=True)
    rc = inv.create_invoice(ctx, ids["meier"], [
        {"description": "Dachdeckerarbeiten", "quantity": "3", "unit_price": "800", "vat_code": "rc"},
        {"description": "Solarmodul", "unit_price": "300", "vat_code": "0"}],
        date="2026-03-06", delivery_date="2026-03-03", issue=True)
    assert [x["number"] for x in (eu, rc)] == ["RE-00001", "RE-00002"]
    assert (eu["tax"], eu["total"], eu["due"]) == ("0.00", "5000.00", "2026-04-04")
    assert "Tax-free intra-Community supply" in inv.invoice_text(ctx, eu)
    assert "VAT ID FR40303265045" in inv.invoice_text(ctx, eu)
    assert "the recipient of the service owes the VAT" in inv.invoice_text(ctx, rc)
    assert balances(ctx) == {"assets:receivables": Decimal("7700.00"), "income:sales:intra-eu": Decimal("-5000.00"),
                             "income:sales:reverse charge": Decimal("-2400.00"),
                             "income:sales:vat 0": Decimal("-300.00")}


def test_credit_notes_never_exceed_their_invoice(books, site):
    bd, ctx, ids = books
    a = inv.create_invoice(ctx, ids["meier"], [{"description": "Wartung", "quantity": "2", "unit_price": "100"},
                                               {"description": "Buch", "unit_price": "50", "vat_code": "7"}],
                           date="2026-03-10", delivery_date="2026-03-09", issue=True)
    assert a["total"] == "291.50"
    with pytest.raises(ValidationError, match="dated before invoice RE-00001"):
        inv.credit_note(ctx, "RE-00001", reason="Rabatt", date="2026-03-01")
    part = inv.credit_note(ctx, "RE-00001", [{"description": "Wartung (1 Std. zu viel)", "unit_price": "100"}],
                           reason="Eine Stunde zu viel berechnet", date="2026-03-12")
    assert (part["number"], part["kind"], part["total"], part["corrects_number"]) == \
        ("RE-00002", "credit_note", "119.00", "RE-00001")
    stored = inv.invoice(ctx, "RE-00001")
    assert (stored["credited"], stored["status"], inv.open_amount(stored)) == ("119.00", "open", Decimal("172.50"))
    # more than is left at 19 % (100 of 200 are credited already) is refused, on the CLI too: one line, exit 2
    with pytest.raises(ValidationError, match="larger than what invoice RE-00001 has left"):
        inv.credit_note(ctx, "RE-00001", [{"description": "Wartung", "quantity": "2", "unit_price": "100"}],
                        reason="zu viel", date="2026-03-12")
    r = site.cli("accounting", "invoices", "credit", "RE-00001", "--reason", "zu viel", "--date", "2026-03-12",
                 "--line", "Wartung; 1; 100.01")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "larger than what invoice RE-00001 has left to credit (100.00)" in r.stderr
    with pytest.raises(ValidationError, match="not an issued invoice"):
        inv.credit_note(ctx, "RE-00002", reason="x")
    assert [x["number"] for x in inv.invoices(ctx)] == ["RE-00002", "RE-00001"]  # nothing stored by the refusals
    rest = inv.credit_note(ctx, "RE-00001", reason="Storno", date="2026-03-13")  # what is left of it
    assert (rest["number"], rest["total"]) == ("RE-00003", "172.50")
    assert inv.invoice(ctx, "RE-00001")["status"] == "credited"
    assert "Corrects invoice RE-00001 of 3/10/2026" in inv.invoice_text(ctx, rest)
    assert balances(ctx) == {}  # invoice and its two credit notes cancel out on every account


def test_issuing_needs_the_seller_and_the_delivery_date(site):
    site.plugins({**INVOICE_SETTINGS, "company": {"name": "Test GmbH", "street": "Hauptstraße 1",
                                                  "postcode": "80331", "city": "München"}})
    bd = site.open()
    ctx = bd.context("accounting")
    ids = customers(ctx)
    draft = inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "unit_price": "100"}],
                               delivery_date="2026-03-02")
    with pytest.raises(ValidationError, match="tax number or VAT ID"):
        inv.issue_invoice(ctx, draft["id"])
    assert [x["status"] for x in inv.invoices(ctx)] == ["draft"] and svc.journal(ctx) == []
    r = site.cli("accounting", "invoices", "new", "--customer", "Meier Bau GmbH", "--line", "Beratung; 1; 100")
    assert r.returncode == 2
    assert r.stderr.strip().startswith("backdesk: delivery_date: an invoice states when the goods were delivered")
    assert len(r.stderr.strip().splitlines()) == 1 and len(inv.invoices(ctx)) == 1


def test_permissions_are_checked_in_the_service(books, site):
    bd, ctx, ids = books
    clerk = site.open("clara").context("accounting")  # bills only
    for call in (lambda: inv.customers(clerk), lambda: inv.invoices(clerk),
                 lambda: inv.add_customer(clerk, {"name": "X"}),
                 lambda: inv.create_invoice(clerk, ids["meier"], [{"description": "X", "unit_price": "1"}],
                                            delivery_date="2026-03-02")):
        with pytest.raises(PermissionDenied):
            call()
    dieter = site.open("dieter").context("accounting")
    doc = inv.create_invoice(dieter, ids["meier"], [{"description": "X", "unit_price": "1"}],
                             delivery_date="2026-03-02", issue=True)
    assert doc["number"] == "RE-00001" and doc["issued_by"] == "dieter"


WORKER = r'''
import sys
from core.plugins.runtime import open_backdesk
from core.errors import ValidationError
from plugins.accounting import invoicing as inv

bd = open_backdesk(sys.argv[1], sys.argv[2], account="alice")
ctx = bd.context("accounting")
n = int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # all start at once
for i in range(5):
    doc = inv.create_invoice(ctx, "Meier Bau GmbH", [{"description": f"worker {n} item {i}", "unit_price": "10"}],
                             delivery_date="2026-03-02", issue=True)
    print(doc["number"], flush=True)
    try:  # refused half-way (no address): must not use up a number
        inv.create_invoice(ctx, "Nobody", [{"description": "x", "unit_price": "1"}], delivery_date="2026-03-02",
                           issue=True)
    except ValidationError:
        pass
bd.close()
'''


def test_ten_processes_issue_gap_free_numbers(books, site):
    bd, ctx, ids = books
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(site.config_dir), str(site.data_dir), str(n)],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for n in range(10)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    printed = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        printed += out.split()
    expected = [f"RE-{n:05d}" for n in range(1, 51)]
    assert sorted(printed) == expected
    stored = inv.invoices(ctx)
    assert sorted(x["number"] for x in stored) == expected and {x["status"] for x in stored} == {"open"}
    assert sorted(x["seq"] for x in stored) == list(range(1, 51))
    # each number posted once, and no posting for a refused one
    entries = [e for e in svc.journal(ctx) if e["source"] == "invoice"]
    assert sorted(e["ref"]["invoice_id"] for e in entries) == sorted(x["id"] for x in stored)
    assert balances(ctx)["assets:receivables"] == Decimal("595.00")
