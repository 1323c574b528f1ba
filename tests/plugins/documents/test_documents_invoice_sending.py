"""Invoices and reminders leave through the documents outbox (#19), end to
end with the real SMTP server (aiosmtpd, STARTTLS + login): accounting
publishes them, documents files them as outgoing documents and queues
them; the mail that arrives holds the Factur-X PDF with its XML inside
(and, for a public buyer, the XRechnung XML); a customer with only a fax
number gets a fax (here through the email gateway). The invoice keeps
when, how and to whom, and reads the outbox job's state."""

from __future__ import annotations

import datetime as dt
import email
import json
from email import policy

import pytest
from lxml import etree

from core.errors import BackdeskError, PermissionDenied
from plugins.documents import service as docs_service
from tests.pilot import shown

COMPANY = {"name": "Test GmbH", "street": "Hauptstraße 1", "postcode": "80331", "city": "München",
           "country": "DE", "tax_number": "143/123/45678", "vat_id": "DE136695976",
           "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "bank": "Commerzbank",
           "email": "rechnung@test.example", "phone": "+49 89 1234567", "contact": "Erika Buchhalter"}


def _setup(site, smtp, **more):
    settings = {"company": COMPANY}
    site.more_plugins = ["  - name: accounting", f"    settings: {json.dumps(settings)}"]
    site.write_plugins(**smtp.settings(), fax_transport="email_gateway", fax_gateway_domain="fax.test.example",
                       **more)
    return site.open()


def _customers(actx):
    from plugins.accounting import invoicing as inv

    meier = inv.add_customer(actx, {"name": "Meier Bau GmbH", "street": "Lindenweg 5", "postcode": "10115",
                                    "city": "Berlin", "email": "buchhaltung@meier.example"})
    stadt = inv.add_customer(actx, {"name": "Stadt Musterstadt", "street": "Rathausplatz 1", "postcode": "12345",
                                    "city": "Musterstadt", "email": "xrechnung@musterstadt.example",
                                    "buyer_reference": "991-33333TEST-33", "xrechnung": "ubl"})
    fax = inv.add_customer(actx, {"name": "Faxbetrieb KG", "street": "Am Hang 2", "postcode": "80333",
                                  "city": "München", "fax": "+49 (89) 555-0100"})
    return meier, stadt, fax


def _invoice(actx, customer_id, date="2026-11-02"):
    from plugins.accounting import invoicing as inv

    return inv.create_invoice(actx, customer_id, inv.parse_lines(["Beratung; 10; 120; 19", "Buch; 2; 24.99; 7"]),
                              delivery_date="2026-10-30", date=date, issue=True)


def _mails(smtp) -> list:
    with smtp.lock:
        return [email.message_from_bytes(m["data"], policy=policy.default) for m in smtp.messages]


def _attachments(msg) -> dict:
    return {p.get_filename(): p.get_payload(decode=True) for p in msg.walk() if p.get_filename()}


def test_an_invoice_goes_out_by_mail_with_its_factur_x_pdf_and_xrechnung(site, smtp):
    from facturx import get_xml_from_pdf

    from plugins.accounting import invoice_send

    bd = _setup(site, smtp)
    try:
        actx, dctx = bd.context("accounting"), bd.context("documents")
        meier, stadt, _fax = _customers(actx)
        first = _invoice(actx, meier["id"])
        sent = invoice_send.send(actx, first["number"])
        [rec] = sent["sent"]
        assert (rec["what"], rec["via"], rec["to"], rec["by"]) == ("invoice", "email", "buchhaltung@meier.example",
                                                                 "alice")
        [job] = docs_service.outbox(dctx)
        assert job["status"] == "queued" and job["message_id"] == rec["message_id"]
        assert invoice_send.deliveries(actx, sent)[0]["state"] == "queued"

        assert docs_service.process_outbox(dctx)["sent"] == 1
        [msg] = _mails(smtp)
        assert msg["To"] == "buchhaltung@meier.example" and msg["Subject"] == f"Invoice {first['number']}"
        assert msg["Message-ID"] == rec["message_id"]
        files = _attachments(msg)
        assert list(files) == [f"{first['number']}.pdf"]
        name, xml = get_xml_from_pdf(files[f"{first['number']}.pdf"], check_xsd=True)
        assert name == "factur-x.xml"
        root = etree.fromstring(xml)
        ns = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
              "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
        assert root.findtext("rsm:ExchangedDocument/ram:ID", namespaces=ns) == first["number"]
        assert root.findtext(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount",
                             namespaces=ns) == first["total"]
        assert invoice_send.deliveries(actx, bd.context("accounting").table("invoices").get(first["id"]))[0][
            "state"] == "sent"

        # the PDF is filed as an outgoing document of the customer
        [filed] = docs_service.list_documents(dctx)
        assert filed["direction"] == "outgoing" and filed["correspondent"] == "Meier Bau GmbH"
        assert filed["title"] == f"Invoice {first['number']}" and "accounting" in filed["tags"]

        # a public buyer gets the XRechnung (UBL) beside the PDF
        second = _invoice(actx, stadt["id"])
        invoice_send.send(actx, second["number"])
        docs_service.process_outbox(dctx)
        msg = _mails(smtp)[1]
        files = _attachments(msg)
        assert list(files) == [f"{second['number']}.pdf", f"{second['number']}-xrechnung-ubl.xml"]
        ubl = etree.fromstring(files[f"{second['number']}-xrechnung-ubl.xml"])
        cbc = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
        assert ubl.findtext("cbc:CustomizationID", namespaces=cbc).endswith("xrechnung_3.0")
        assert ubl.findtext("cbc:BuyerReference", namespaces=cbc) == "991-33333TEST-33"
        assert get_xml_from_pdf(files[f"{second['number']}.pdf"], check_xsd=True)[0] == "factur-x.xml"

        # the audit trail names what was sent to whom
        lines = [e.get("what") or "" for e in bd.services.audit.entries(limit=50)]
        assert f"{first['number']} sent by email to buchhaltung@meier.example" in lines
    finally:
        bd.close()


def test_a_customer_with_a_fax_number_gets_a_fax_and_a_reminder_goes_out_too(site, smtp):
    from plugins.accounting import invoice_send
    from plugins.accounting import receivables as rcv

    bd = _setup(site, smtp)
    try:
        actx, dctx = bd.context("accounting"), bd.context("documents")
        _meier, _stadt, fax = _customers(actx)
        doc = _invoice(actx, fax["id"])
        invoice_send.send(actx, doc["number"])
        [job] = docs_service.outbox(dctx)
        assert (job["kind"], job["to"]) == ("fax", "+49895550100")
        docs_service.process_outbox(dctx)
        assert smtp.messages[0]["to"] == ["49895550100@fax.test.example"]
        assert list(_attachments(_mails(smtp)[0])) == [f"{doc['number']}.pdf"]

        # overdue: the reminder goes to the address given
        due = dt.date.fromisoformat(doc["due"])
        [step] = rcv.run_dunning(actx, (due + dt.timedelta(days=8)).isoformat())
        stored = invoice_send.send(actx, doc["number"], what="reminder", email="chef@faxbetrieb.example")
        assert [(r["what"], r["level"], r["via"]) for r in stored["sent"]] == [
            ("invoice", None, "fax"), ("reminder", 1, "email")]
        docs_service.process_outbox(dctx)
        msg = _mails(smtp)[1]
        assert msg["To"] == "chef@faxbetrieb.example"
        assert msg["Subject"] == f"Payment reminder for invoice {doc['number']}"
        assert list(_attachments(msg)) == [f"{doc['number']}-reminder1.pdf"]
        assert [line.split(": ", 1)[1] for line in invoice_send.sent_lines(actx, stored)] == [
            "invoice by fax to +49895550100 (sent)", "reminder 1 by email to chef@faxbetrieb.example (sent)"]
    finally:
        bd.close()


@pytest.mark.parametrize("kwargs, message", [
    ({"email": "nobody"}, "not a valid email address: 'nobody'"),
    ({"fax": "12ab"}, "not a valid fax number: '12ab'"),
    ({"email": "a@b.example", "fax": "0301234"}, "give an email address or a fax number, not both"),
])
def test_refusals_store_nothing(site, smtp, kwargs, message):
    from plugins.accounting import invoice_send
    from plugins.accounting import invoicing as inv

    bd = _setup(site, smtp)
    try:
        actx, dctx = bd.context("accounting"), bd.context("documents")
        meier, _stadt, _fax = _customers(actx)
        doc = _invoice(actx, meier["id"])
        with pytest.raises(BackdeskError, match=message.replace("(", r"\(")):
            invoice_send.send(actx, doc["number"], **kwargs)
        nobody = inv.add_customer(actx, {"name": "Ohne Adresse", "street": "Weg 1", "postcode": "10115",
                                         "city": "Berlin"})
        with pytest.raises(BackdeskError, match="Ohne Adresse has no email address or fax number"):
            invoice_send.send(actx, _invoice(actx, nobody["id"])["number"])
        draft = inv.create_invoice(actx, meier["id"], inv.parse_lines(["X; 1; 10; 19"]), delivery_date="2026-10-30")
        with pytest.raises(BackdeskError, match="is not issued"):
            invoice_send.send(actx, draft["id"])
        assert docs_service.outbox(dctx) == [] and docs_service.list_documents(dctx) == []
        assert all(not i.get("sent") for i in actx.table("invoices").all())
    finally:
        bd.close()
    bob = site.open("bob")  # documents only: may not send invoices
    try:
        with pytest.raises(PermissionDenied):
            invoice_send.send(bob.context("accounting"), doc["number"])
    finally:
        bob.close()


def test_send_and_list_from_the_cli(site, smtp):
    import subprocess
    import sys

    bd = _setup(site, smtp)
    try:
        actx = bd.context("accounting")
        meier, _stadt, _fax = _customers(actx)
        doc = _invoice(actx, meier["id"])
    finally:
        bd.close()

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "core", *site.cli_args(), *args], capture_output=True,
                              text=True, timeout=300)

    done = cli("accounting", "invoice", "send", doc["number"], "--email", "einkauf@meier.example")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"invoice by email to einkauf@meier.example (queued)")
    bad = cli("accounting", "invoice", "send", doc["number"], "--fax", "x")
    assert bad.returncode == 2 and bad.stderr.strip() == "backdesk: fax: not a valid fax number: 'x'"
    listed = cli("accounting", "invoice", "list")
    assert listed.returncode == 0 and doc["number"] in listed.stdout
    shown = cli("accounting", "invoices", "show", doc["number"])
    assert "by email to einkauf@meier.example (queued)" in shown.stdout


async def test_m_on_the_invoices_screen_sends_the_invoice_or_its_reminder(site, smtp):
    from core.shell.app import make_app
    from core.cli.testing import field_error, text_of, wait_for
    from core.shell.widgets import FormScreen, RecordTable
    from plugins.accounting import invoice_send

    bd = _setup(site, smtp)
    try:
        actx, dctx = bd.context("accounting"), bd.context("documents")
        meier, _stadt, _fax = _customers(actx)
        doc = _invoice(actx, meier["id"])
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_nav("accounting.invoices")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "InvoicesScreen"
                           and app.screen.query("#acc-invoices"))
            table = app.screen.query_one("#acc-invoices", RecordTable)
            await wait_for(pilot, lambda: table.row_count == 1)
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
            form = app.screen.form
            assert f"Send {doc['number']} to Meier Bau GmbH" in shown(app)
            assert form.control("to").value == "buchhaltung@meier.example"
            form.control("to").value = "kunde@nirgends"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: field_error(form, "to") == "not a valid email address: 'kunde@nirgends'")
            form.control("to").value = "0 1"  # no @: a fax number
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: field_error(form, "to") == "not a valid fax number: '0 1'")
            assert docs_service.outbox(dctx) == []
            form.control("to").value = "buchhaltung@meier.example"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
            await wait_for(pilot, lambda: any("by email to buchhaltung@meier.example (queued)" in n.message
                                              for n in app._notifications))
            await wait_for(pilot, lambda: "invoice by email to buchhaltung@meier.example (queued)" in text_of(
                app, "#acc-invoice"))
        [job] = docs_service.outbox(dctx)
        assert job["recipients"] == [{"address": "buchhaltung@meier.example"}]
        assert invoice_send.deliveries(actx, actx.table("invoices").get(doc["id"]))[0]["via"] == "email"
    finally:
        bd.close()
