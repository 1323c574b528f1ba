"""XRechnung out, and every e-invoice against the official rules: the XSDs
(CII D16B, UBL 2.1), CEN's EN 16931 Schematron and KoSIT's XRechnung
Schematron (see einvoice_rules and tests/data/einvoice/README.md)."""

from __future__ import annotations

import pytest
from lxml import etree

from core.errors import ValidationError
from plugins.accounting import einvoice
from plugins.accounting import invoicing as inv
from einvoice_rules import failed, xsd_errors
from invoice_helpers import COMPANY, INVOICE_SETTINGS, customers

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
XRECHNUNG_ID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"


@pytest.fixture
def books(site):
    site.plugins({**INVOICE_SETTINGS, "company": {**COMPANY, "contact": "Buchhaltung", "phone": "+49 89 123456"}})
    bd = site.open()
    ctx = bd.context("accounting")
    ids = customers(ctx)
    # a public buyer: the Leitweg-ID KoSIT uses in its test invoices
    ids["amt"] = inv.add_customer(ctx, {"name": "Stadtverwaltung Musterstadt", "street": "Rathausplatz 1",
                                        "postcode": "12345", "city": "Musterstadt", "vat_id": "DE811569869",
                                        "email": "erechnung@musterstadt.example",
                                        "buyer_reference": "991-33333TEST-33"})["id"]
    return bd, ctx, ids


def first(xml: bytes, path: str) -> str:
    return etree.fromstring(xml).xpath(f"string({path})", namespaces=NS)


def test_an_xrechnung_in_cii_and_ubl_passes_the_official_rules(books, site, tmp_path):
    bd, ctx, ids = books
    doc = inv.create_invoice(ctx, ids["amt"], [
        {"description": "Beratung", "quantity": "10", "unit_price": "120.00", "unit": "HUR"},
        {"description": "Fachbuch", "quantity": "2", "unit_price": "24.99", "vat_code": "7"},
        {"description": "Dachdecken", "unit_price": "800", "vat_code": "rc"}],
        date="2026-03-10", delivery_date="2026-03-02", issue=True)
    note = inv.credit_note(ctx, doc["number"], [{"description": "Beratung", "unit_price": "120.00", "unit": "HUR"}],
                           reason="Eine Stunde zu viel", date="2026-03-12")
    for d in (doc, note):
        for syntax in ("cii", "ubl"):
            xml = einvoice.invoice_xml(d, syntax, "xrechnung", company=inv.company(ctx))
            assert xsd_errors(xml) == [], (d["number"], syntax)
            assert failed(xml, "en16931") == [], (d["number"], syntax)
            assert failed(xml, "xrechnung", tmp_path) == [], (d["number"], syntax)
    cii = einvoice.invoice_xml(doc, "cii", "xrechnung", company=inv.company(ctx))
    assert first(cii, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == XRECHNUNG_ID
    assert first(cii, "//ram:BuyerReference") == "991-33333TEST-33"
    assert first(cii, "//ram:SellerTradeParty/ram:DefinedTradeContact/ram:PersonName") == "Buchhaltung"
    assert first(cii, "//ram:SellerTradeParty//ram:CompleteNumber") == "+49 89 123456"
    assert first(cii, "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID") == \
        "erechnung@musterstadt.example"
    ubl = einvoice.invoice_xml(doc, "ubl", "xrechnung", company=inv.company(ctx))
    assert first(ubl, "/*/cbc:CustomizationID") == XRECHNUNG_ID and first(ubl, "/*/cbc:BuyerReference") == \
        "991-33333TEST-33"
    # the rules bite: the plain EN 16931 invoice is no XRechnung (no seller contact, another identifier)
    plain = einvoice.invoice_xml(doc, "cii")
    assert failed(plain, "en16931") == []
    assert [x.split(":")[0] for x in failed(plain, "xrechnung", tmp_path)] == ["BR-DE-21 warning", "BR-DE-2 fatal"]
    # the CLI writes it
    out = tmp_path / "x.xml"
    r = site.cli("accounting", "invoices", "xml", doc["number"], "--xrechnung", "--syntax", "ubl", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert failed(out.read_bytes(), "xrechnung", tmp_path) == [] and xsd_errors(out.read_bytes()) == []


def test_every_vat_code_makes_an_invoice_the_en16931_rules_accept(books):
    bd, ctx, ids = books
    eu = inv.create_invoice(ctx, ids["dupont"], [{"description": "Maschine", "unit_price": "5000",
                                                  "vat_code": "eu"}],
                            date="2026-03-05", delivery_date="2026-03-02", issue=True)
    rates = inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "unit_price": "100"},
                                                   {"description": "Buch", "unit_price": "10", "vat_code": "7"},
                                                   {"description": "Ausfuhr", "unit_price": "70", "vat_code": "0"},
                                                   {"description": "Bauleistung", "unit_price": "900",
                                                    "vat_code": "rc"}],
                               date="2026-03-05", delivery_date="2026-03-02", issue=True)
    untaxed = inv.create_invoice(ctx, ids["meier"], [{"description": "Schadenersatz", "unit_price": "250",
                                                      "vat_code": "nt"}],
                                 date="2026-03-05", delivery_date="2026-03-02", issue=True)
    for d in (eu, rates, untaxed):
        for syntax in ("cii", "ubl"):
            xml = einvoice.invoice_xml(d, syntax)
            assert xsd_errors(xml) == [] and failed(xml, "en16931") == [], (d["number"], syntax)
    assert xsd_errors(einvoice.invoice_xml(eu, "cii"), "facturx") == []
    # an intra-EU supply says where it went (BR-IC-12), rates of 0 where EN 16931 wants them
    cii = einvoice.invoice_xml(eu, "cii")
    assert first(cii, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CountryID") == "FR"
    # lines not subject to VAT beside taxed ones cannot be one e-invoice (BR-O-11)
    mixed = inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "unit_price": "100"},
                                                   {"description": "Schadenersatz", "unit_price": "250",
                                                    "vat_code": "nt"}],
                               date="2026-03-05", delivery_date="2026-03-02", issue=True)
    with pytest.raises(ValidationError, match="not subject to VAT beside taxed ones"):
        einvoice.invoice_xml(mixed, "cii")
    # reverse charge names the customer's VAT ID (BR-AE-02)
    amt = inv.update_customer(ctx, ids["amt"], {"vat_id": ""})
    assert amt["vat_id"] == ""
    rc = inv.create_invoice(ctx, ids["amt"], [{"description": "Dach", "unit_price": "900", "vat_code": "rc"}],
                            date="2026-03-05", delivery_date="2026-03-02", issue=True)
    with pytest.raises(ValidationError, match="reverse-charge e-invoice names the customer's VAT ID"):
        einvoice.invoice_xml(rc, "ubl")


def test_xrechnung_refusals_on_one_line(books, site, tmp_path):
    bd, ctx, ids = books
    meier = inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "unit_price": "100"}],
                               date="2026-03-05", delivery_date="2026-03-02", issue=True)  # 04011000-12345-67
    dupont = inv.create_invoice(ctx, ids["dupont"], [{"description": "Beratung", "unit_price": "100"}],
                                date="2026-03-05", delivery_date="2026-03-02", issue=True)
    for number, says in ((meier["number"], "the Leitweg-ID 04011000-12345-67 has wrong check digits"),
                         (dupont["number"], "XRechnung needs the customer's buyer reference")):
        r = site.cli("accounting", "invoices", "xml", number, "--xrechnung")
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr
    assert einvoice.leitweg_ok("991-33333TEST-33") and einvoice.leitweg_ok("04011000-1234512345-06")
    assert not einvoice.leitweg_ok("991-33333TEST-34")
    amt = inv.create_invoice(ctx, ids["amt"], [{"description": "Beratung", "unit_price": "100"}],
                             date="2026-03-05", delivery_date="2026-03-02", issue=True)
    without = {**amt, "seller": {**amt["seller"], "contact": "", "phone": ""}}  # issued before they were set
    with pytest.raises(ValidationError, match="XRechnung needs the company's contact, phone"):
        einvoice.invoice_xml(without, "cii", "xrechnung")
    assert failed(einvoice.invoice_xml(without, "cii", "xrechnung", company=inv.company(ctx)), "xrechnung",
                  tmp_path) == []  # the company's contact now fills in
