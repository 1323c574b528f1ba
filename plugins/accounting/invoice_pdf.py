"""The PDF of an issued invoice or credit note, with its EN 16931 CII
embedded (Factur-X / ZUGFeRD, EN 16931 profile): readable by a person and
by the customer's bookkeeping.

fpdf2 lays the page out from ``invoicing.invoice_text`` (the same § 14
content the terminal shows); the ``factur-x`` library embeds the XML
(``factur-x.xml``, relationship "Data") and the Factur-X XMP metadata.
The built-in PDF fonts know Latin-1 only: other characters are replaced.
Imported when used.
"""

from __future__ import annotations

from plugins.accounting import einvoice
from plugins.accounting import invoicing as inv


def _latin1(text: str) -> str:
    return text.replace("€", "EUR").replace("–", "-").replace("—", "-").encode("latin-1", "replace").decode(
        "latin-1")


def invoice_pdf(ctx, doc: dict) -> bytes:
    """The invoice as a Factur-X PDF (the XML checked against its XSD)."""
    from facturx import generate_from_binary
    from fpdf import FPDF

    xml = einvoice.invoice_xml(doc, "cii")
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"{doc['number']}"))
    pdf.set_author(_latin1(doc["seller"].get("name", "")))
    pdf.add_page()
    pdf.set_font("Courier", size=9)
    for line in inv.invoice_text(ctx, doc).splitlines():
        pdf.cell(0, 4.5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    return generate_from_binary(bytes(pdf.output()), xml, flavor="factur-x", level="en16931", check_xsd=True)
