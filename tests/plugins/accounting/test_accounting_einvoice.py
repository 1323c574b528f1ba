"""E-invoices out: an issued invoice and a credit note as EN 16931 CII
(Factur-X / ZUGFeRD EN 16931 profile), validated against the official XSD
copied into tests/data/einvoice (see its README), and as UBL 2.1."""

from __future__ import annotations

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
    for part in ("Invoice RE-00001", "Beratung Straßenbau", "Tax number 143/123/45678", "Delivery: 2026-03-02",
                 "Total 357.00 EUR"):
        assert part in page, part
    r = site.cli("accounting", "invoices", "pdf", "RE-00009", "-o", str(tmp_path / "x.pdf"))
    assert r.returncode == 2 and "no invoice numbered 'RE-00009'" in r.stderr and not (tmp_path / "x.pdf").exists()
