"""An issued invoice's PDF (Factur-X) printed through core's one print call
(services.printing), to the test CUPS (tests/cupsd.py): what comes out of
the printer reads back as the invoice. (The invoice screens and CLI have no
print key yet: wiring them is one call, see docs/plugins/documents.md.)"""

from __future__ import annotations

import pytest

from tests.cupsd import cups_server  # noqa: F401  (the fixture)
from tests.peers import wait_until

from invoice_helpers import INVOICE_SETTINGS, customers
from plugins.accounting import invoice_pdf
from plugins.accounting import invoicing as inv


@pytest.fixture
def books(site):
    site.plugins(INVOICE_SETTINGS)
    bd = site.open()
    ctx = bd.context("accounting")
    return bd, ctx, customers(ctx)


def test_an_invoice_pdf_prints_and_reads_back(cups_server, books):
    bd, ctx, ids = books
    doc = inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung Straßenbau", "quantity": "3",
                                                  "unit_price": "100"}],
                             date="2026-03-10", delivery_date="2026-03-02", issue=True)
    issued = inv.invoice(ctx, doc["number"])
    printing = bd.services.printing
    job = printing.print_file(invoice_pdf.invoice_pdf(ctx, issued), title=f"Invoice {issued['number']}",
                              source=("accounting", "invoices", issued["id"]), printer="office-pdf", copies=2)
    assert wait_until(lambda: printing.follow_job(job["id"])["state"] not in ("waiting", "printing"), 120)
    assert printing.follow_job(job["id"])["state"] == "done"
    pages = cups_server.printed_pages("office-pdf")
    assert len(pages) == 2
    for part in ("Invoice RE-00001", "Beratung Straßenbau", "Total 357.00 EUR"):
        assert all(part in page for page in pages), part
    assert not bd.services.audit.entries(op="print")  # an invoice is not confidential
