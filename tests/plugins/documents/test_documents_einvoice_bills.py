"""Vendors' e-invoices and the documents plugin (#19): an e-invoice read
into a draft bill is filed as an incoming document (once, however often the
file is read), and the bill shows and opens it; a filed document becomes a
draft bill with `b` in the register, the operator told the outcome at once
(a broken file: why it is no bill, nothing stored)."""

from __future__ import annotations

import json

import pytest

from plugins.documents import service as docs_service

COMPANY = {"name": "Lieferant GmbH", "street": "Hauptstraße 1", "postcode": "80331", "city": "München",
           "country": "DE", "tax_number": "143/123/45678", "vat_id": "DE136695976",
           "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "email": "rechnung@lieferant.example"}


@pytest.fixture
def office(site):
    site.more_plugins = ["  - name: accounting", f"    settings: {json.dumps({'company': COMPANY})}"]
    site.write_plugins()
    bd = site.open()
    yield bd
    bd.close()


def _einvoice(actx, syntax="cii") -> tuple[dict, bytes]:
    """A vendor's invoice to us (written by this test with accounting's own
    writer: the seller, Lieferant GmbH, is the 'company' setting)."""
    from plugins.accounting import einvoice
    from plugins.accounting import invoicing as inv

    found = inv.customers(actx, "Test GmbH")
    cust = found[0] if found else inv.add_customer(actx, {"name": "Test GmbH", "street": "Weg 1", "postcode": "10115",
                                                          "city": "Berlin"})
    doc = inv.create_invoice(actx, cust["id"], inv.parse_lines(["Papier; 10; 4.50; 19", "Buch; 1; 20; 7"]),
                             delivery_date="2026-11-02", date="2026-11-03", issue=True)
    return doc, einvoice.invoice_xml(doc, syntax)


def test_a_read_einvoice_is_filed_once_and_its_bill_shows_its_document(office, site):
    from plugins.accounting import bill_documents, einvoice_in

    actx, dctx = office.context("accounting"), office.context("documents")
    invoice, xml = _einvoice(actx)
    bill = einvoice_in.bill_from_einvoice(actx, xml, "RE-00001.xml")
    [filed] = docs_service.list_documents(dctx)
    assert (filed["direction"], filed["correspondent"], filed["title"], filed["source"]) == (
        "incoming", "Lieferant GmbH", "Lieferant GmbH RE-00001", "accounting")
    assert docs_service.current_version(dctx, filed)["filename"] == "RE-00001.xml"
    assert bill_documents.document_of(actx, bill)["id"] == filed["id"]
    assert bill_documents.document_line(actx, bill) == f"Document: ASN {filed['asn']} · Lieferant GmbH RE-00001 (d opens it)"

    # the same file filed by hand first: the bill finds that one, nothing is filed twice
    other, xml2 = _einvoice(actx, "ubl")
    path = site.file("lieferant-2.xml", xml2)
    by_hand = docs_service.add_document(dctx, path, {"title": "Rechnung Lieferant 2"})
    bill2 = einvoice_in.bill_from_einvoice(actx, xml2, "lieferant-2.xml")
    assert len(docs_service.list_documents(dctx)) == 2
    assert bill_documents.document_of(actx, bill2)["id"] == by_hand["id"]


async def test_b_in_the_register_makes_a_bill_and_the_bill_opens_its_document(office, site):
    from core.shell.app import make_app
    from core.cli.testing import text_of, wait_for
    from core.shell.widgets import RecordTable

    actx, dctx = office.context("accounting"), office.context("documents")
    invoice, xml = _einvoice(actx)
    good = docs_service.add_document(dctx, site.file("eingang.xml", xml), {"title": "Eingangsrechnung"})
    broken = docs_service.add_document(dctx, site.file("kaputt.xml", xml[:200]), {"title": "Kaputt"})
    app = make_app(office, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("documents")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RegisterScreen" and app.screen.query(RecordTable))
        table = app.screen.query_one(RecordTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        # newest first: the broken one is selected
        assert table.cursor_record["id"] == broken["id"]
        await pilot.press("b")
        await wait_for(pilot, lambda: any(f"Document ASN {broken['asn']} is no bill" in n.message
                                          for n in app._notifications))
        assert actx.table("bills").count() == 0 and actx.table("vendors").count() == 0
        await pilot.press("down")
        await wait_for(pilot, lambda: table.cursor_record["id"] == good["id"])
        await pilot.press("b")
        await wait_for(pilot, lambda: any("Draft bill 1 from Lieferant GmbH (RE-00001, "
                                          f"{invoice['total']} EUR) from document ASN {good['asn']}" in n.message for n in app._notifications))
        [bill] = actx.table("bills").all()
        assert bill["source"]["document_id"] == good["id"] and bill["status"] == "draft"
        assert docs_service.list_documents(dctx).__len__() == 2  # nothing filed again
        await pilot.press("b")  # handed over twice: the same bill
        await wait_for(pilot, lambda: sum("Draft bill 1 " in n.message for n in app._notifications) == 2)
        assert actx.table("bills").count() == 1

        app.open_nav("accounting.bills")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "BillsScreen" and app.screen.query("#acc-bill"))
        await wait_for(pilot, lambda: f"Document: ASN {good['asn']} · Eingangsrechnung" in text_of(app, "#acc-bill"))
        await pilot.press("d")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DocumentScreen")
        assert app.screen.doc_id == good["id"]
