"""E-invoices out: an issued invoice and a credit note as EN 16931 CII
(Factur-X / ZUGFeRD EN 16931 profile), validated against the official XSD
copied into tests/data/einvoice (see its README), and as UBL 2.1."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from core.errors import ValidationError
from plugins.accounting import einvoice
from plugins.accounting import invoicing as inv
from invoice_helpers import INVOICE_SETTINGS, customers

XSD = Path(__file__).resolve().parents[2] / "data" / "einvoice" / "facturx-en16931" / "Factur-X_EN16931.xsd"
NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}


@pytest.fixture
def books(site):
    site.plugins(INVOICE_SETTINGS)
    bd = site.open()
    ctx = bd.context("accounting")
    return bd, ctx, customers(ctx)


def valid_cii(xml: bytes) -> etree._Element:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.fromstring(xml)
    schema.assertValid(doc)
    return doc


def texts(doc, path: str) -> list[str]:
    return [x.text for x in doc.xpath(path, namespaces=NS)]


def test_an_invoice_and_its_credit_note_as_cii_valid_against_the_xsd(books, site, tmp_path):
    bd, ctx, ids = books
    doc = inv.create_invoice(ctx, ids["meier"], [
        {"description": "Beratung", "quantity": "10", "unit_price": "120.00", "unit": "HUR"},
        {"description": "Fachbuch", "quantity": "2", "unit_price": "24.99", "vat_code": "7"},
        {"description": "Dachdecken", "unit_price": "800", "vat_code": "rc"}],
        date="2026-03-10", delivery_date="2026-03-02", delivery_end="2026-03-06", issue=True)
    cii = valid_cii(einvoice.invoice_xml(doc, "cii"))
    assert texts(cii, "//rsm:ExchangedDocument/ram:ID") == ["RE-00001"]
    assert texts(cii, "//rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert texts(cii, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString") == ["20260310"]
    assert texts(cii, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == ["DE136695976",
                                                                                       "143/123/45678"]
    assert texts(cii, "//ram:BuyerTradeParty/ram:Name") == ["Meier Bau GmbH"]
    assert texts(cii, "//ram:BuyerReference") == ["04011000-12345-67"]
    assert texts(cii, "//ram:ApplicableTradeTax/ram:CategoryCode")[-3:] == ["S", "S", "AE"]
    assert "Reverse charge: the recipient of the service owes the VAT (§ 13b UStG)" in texts(
        cii, "//ram:ApplicableTradeTax/ram:ExemptionReason")
    assert texts(cii, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount") == ["2281.48"]
    assert texts(cii, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount") == ["231.50"]
    assert texts(cii, "//ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString") == ["20260302"]
    assert texts(cii, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == ["DE89370400440532013000"]
    note = inv.credit_note(ctx, "RE-00001", [{"description": "Beratung", "unit_price": "120.00", "unit": "HUR"}],
                           reason="Eine Stunde zu viel", date="2026-03-12")
    credit = valid_cii(einvoice.invoice_xml(note, "cii"))
    assert texts(credit, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    assert texts(credit, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == ["RE-00001"]
    assert texts(credit, "//ram:GrandTotalAmount") == ["142.80"]
    # UBL 2.1: the library checks it against the UBL XSD before returning it
    ubl = etree.fromstring(einvoice.invoice_xml(doc, "ubl"))
    assert texts(ubl, "/*/cbc:ID") == ["RE-00001"]
    assert texts(ubl, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == ["2281.48"]
    # the CLI writes the same, and refuses a draft in one line
    out = tmp_path / "RE-00001.xml"
    r = site.cli("accounting", "invoices", "xml", "RE-00001", "-o", str(out))
    assert r.returncode == 0, r.stderr
    valid_cii(out.read_bytes())
    draft = inv.create_invoice(ctx, ids["meier"], [{"description": "x", "unit_price": "1"}],
                               delivery_date="2026-03-02")
    with pytest.raises(ValidationError, match="issue it first"):
        einvoice.invoice_xml(draft)
    r = site.cli("accounting", "invoices", "xml", str(draft["id"]))
    assert r.returncode == 2 and r.stderr.strip() == "backdesk: invoice: a draft is not an invoice yet: issue it first"


def test_an_intra_eu_invoice_names_both_vat_ids(books):
    bd, ctx, ids = books
    doc = inv.create_invoice(ctx, ids["dupont"], [{"description": "Maschine", "unit_price": "5000",
                                                   "vat_code": "eu"}],
                             date="2026-03-05", delivery_date="2026-03-02", issue=True)
    cii = valid_cii(einvoice.invoice_xml(doc, "cii"))
    assert texts(cii, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == ["FR40303265045"]
    assert texts(cii, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode") == ["K"]
    assert texts(cii, "//ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString") == ["20260302"]


def test_the_invoice_pdf_carries_its_xml(books, site, tmp_path):
    import io

    import facturx
    import pypdf

    bd, ctx, ids = books
    inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung Straßenbau", "quantity": "3",
                                            "unit_price": "100"}],
                       date="2026-03-10", delivery_date="2026-03-02", issue=True)
    out = tmp_path / "RE-00001.pdf"
    r = site.cli("accounting", "invoices", "pdf", "RE-00001", "-o", str(out))
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    name, xml = facturx.get_xml_from_pdf(data)
    assert name == "factur-x.xml"
    cii = valid_cii(xml)
    assert texts(cii, "//ram:GrandTotalAmount") == ["357.00"]
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    for part in ("Invoice RE-00001", "Beratung Straßenbau", "Tax number 143/123/45678", "Delivery: 3/2/2026",
                 "Total €357.00"):
        assert part in page, part
    r = site.cli("accounting", "invoices", "pdf", "RE-00009", "-o", str(tmp_path / "x.pdf"))
    assert r.returncode == 2 and "no invoice numbered 'RE-00009'" in r.stderr and not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize("syntax", ["cii", "ubl"])
def test_an_incoming_einvoice_becomes_a_draft_bill(books, site, tmp_path, syntax):
    from plugins.accounting import einvoice_in

    bd, ctx, ids = books
    doc = inv.create_invoice(ctx, ids["meier"], [
        {"description": "Beratung", "quantity": "10", "unit_price": "120.00", "unit": "HUR"},
        {"description": "Fachbuch", "quantity": "2", "unit_price": "24.99", "vat_code": "7"}],
        date="2026-03-10", delivery_date="2026-03-02", issue=True)
    path = tmp_path / f"incoming.{syntax}.xml"
    path.write_bytes(einvoice.invoice_xml(doc, syntax))  # written by this test: a vendor's invoice to us
    broken = tmp_path / "broken.xml"
    broken.write_bytes(path.read_bytes()[:-40])
    r = site.cli("accounting", "read-einvoice", str(broken))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "broken.xml: not XML" in r.stderr
    assert ctx.table("bills").count() == 0 and ctx.table("vendors").count() == 0
    # valid XML, but not valid against the official schema: refused in one line
    invalid = tmp_path / "invalid.xml"
    invalid.write_bytes(_without_issue_date(path.read_bytes(), syntax))
    r = site.cli("accounting", "read-einvoice", str(invalid))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "invalid.xml: not valid against the official schema (line" in r.stderr
    assert ctx.table("bills").count() == 0 and ctx.table("vendors").count() == 0
    r = site.cli("accounting", "read-einvoice", "--dry-run", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "Test GmbH: invoice RE-00001 of 3/10/2026, due 3/24/2026"
    assert "Fachbuch" in r.stdout.splitlines()[2] and r.stdout.splitlines()[2].endswith("VAT 7")
    assert r.stdout.splitlines()[-1] == "total 1481.48 EUR"
    assert ctx.table("bills").count() == 0
    r = site.cli("accounting", "read-einvoice", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "draft bill 1: RE-00001, 1481.48 EUR, 2 line(s)"
    bill = ctx.table("bills").get(1)
    assert (bill["status"], bill["date"], bill["due"], bill["tax"]) == ("draft", "2026-03-10", "2026-03-24", "231.50")
    assert [(x["description"], Decimal(x["quantity"]), Decimal(x["unit_price"]), x["net"], x["vat_code"])
            for x in bill["lines"]] == [("Beratung", 10, Decimal("120"), "1200.00", "19"),
                                        ("Fachbuch", 2, Decimal("24.99"), "49.98", "7")]
    assert ctx.table("vendors").get(bill["vendor_id"])["name"] == "Test GmbH"
    with pytest.raises(ValidationError, match="already has a bill numbered RE-00001"):
        einvoice_in.bill_from_einvoice(ctx, path.read_bytes(), path.name)


def _without_issue_date(xml: bytes, syntax: str) -> bytes:
    doc = etree.fromstring(xml)
    path = "//rsm:ExchangedDocument/ram:IssueDateTime" if syntax == "cii" else "/*/cbc:IssueDate"
    (node,) = doc.xpath(path, namespaces=NS)
    node.getparent().remove(node)
    return etree.tostring(doc)


def test_a_vendors_factur_x_pdf_becomes_a_draft_bill_and_a_credit_note_is_refused(books, site, tmp_path):
    from plugins.accounting import einvoice_in

    bd, ctx, ids = books
    inv.create_invoice(ctx, ids["meier"], [{"description": "Dachdecken", "unit_price": "800", "vat_code": "rc"},
                                           {"description": "Material", "quantity": "3", "unit_price": "10"}],
                       date="2026-03-10", delivery_date="2026-03-02", issue=True)
    pdf = tmp_path / "RE-00001.pdf"
    assert site.cli("accounting", "invoices", "pdf", "RE-00001", "-o", str(pdf)).returncode == 0
    bill = einvoice_in.bill_from_einvoice(ctx, pdf.read_bytes(), pdf.name)
    assert [(x["description"], x["vat_code"], x["net"]) for x in bill["lines"]] == [
        ("Dachdecken", "rc", "800.00"), ("Material", "19", "30.00")]
    assert (bill["net"], bill["total"], bill["source"]) == ("830.00", "835.70", {
        "kind": "e-invoice", "file": "RE-00001.pdf", "sha256": hashlib.sha256(pdf.read_bytes()).hexdigest(),
        "document_id": None})
    note = inv.credit_note(ctx, "RE-00001", [{"description": "Material", "unit_price": "10"}],
                           reason="Zu viel", date="2026-03-12")
    for syntax in ("cii", "ubl"):
        with pytest.raises(ValidationError, match="a credit note, not an invoice"):
            einvoice_in.read(einvoice.invoice_xml(note, syntax), "note.xml")
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(pdf.read_bytes().split(b"/EmbeddedFiles")[0] + b"%%EOF")
    r = site.cli("accounting", "read-einvoice", str(plain))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "plain.pdf: a PDF without an e-invoice inside" in r.stderr and ctx.table("bills").count() == 1
