"""The PDF of an issued invoice or credit note, with its EN 16931 CII
embedded (Factur-X / ZUGFeRD, EN 16931 profile): readable by a person and
by the customer's bookkeeping; and the PDF of a reminder (dunning letter)
with the GiroCode (EPC QR, ``segno``) to pay what is open.

fpdf2 lays the page out from ``invoicing.invoice_text`` (the same § 14
content the terminal shows); the ``factur-x`` library embeds the XML
(``factur-x.xml``, relationship "Data") and the Factur-X XMP metadata.
The built-in PDF fonts know Latin-1 only: other characters are replaced.
Imported when used.
"""

from __future__ import annotations

from core.i18n import date_text
from plugins.accounting import einvoice
from plugins.accounting import invoicing as inv
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import receivables as rcv
from plugins.accounting.models import _


def _latin1(text: str) -> str:
    return text.replace("€", "EUR").replace("–", "-").replace("—", "-").encode("latin-1", "replace").decode(
        "latin-1")


#: where the font the invoice is set in is looked for (Debian's fonts-dejavu-core; CI installs it)
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
              "/usr/share/fonts/dejavu/DejaVuSansMono.ttf", "/usr/local/share/fonts/DejaVuSansMono.ttf")


def _font_file() -> str | None:
    import os

    return next((p for p in FONT_PATHS if os.path.isfile(p)), None)


def _srgb_profile() -> bytes:
    """An sRGB ICC profile (littleCMS through Pillow, which fpdf2 needs
    anyway): the PDF/A output intent's colour space."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def invoice_pdf(ctx, doc: dict) -> bytes:
    """The invoice as a Factur-X PDF (the XML checked against its XSD).

    Factur-X asks for PDF/A-3; the factur-x library adds the XML, the /AF
    relation and the PDF/A-3 B XMP, so the page itself has to be PDF/A: its
    font embedded (DejaVu Sans Mono, a subset; Unicode, so € and – print as
    they are) and an sRGB output intent. Without the font file the page
    falls back to the unembedded Courier (Latin-1) and is not PDF/A. An
    invoice (not a credit note) carries the GiroCode for what it asks.
    """
    import io

    from facturx import generate_from_binary
    from fpdf import FPDF
    from fpdf.enums import OutputIntentSubType
    from fpdf.output import PDFICCProfile

    xml = einvoice.invoice_xml(doc, "cii")
    font = _font_file()
    text = (lambda t: t) if font else _latin1
    pdf = FPDF(format="A4")
    pdf.set_title(text(f"{doc['number']}"))
    pdf.set_author(text(doc["seller"].get("name", "")))
    pdf.add_output_intent(OutputIntentSubType.PDFA, "sRGB IEC61966-2.1", "sRGB", "http://www.color.org",
                          PDFICCProfile(_srgb_profile(), 3, "DeviceRGB"), "sRGB IEC61966-2.1")
    pdf.add_page()
    if font:
        pdf.add_font("DejaVuSansMono", "", font)
        pdf.set_font("DejaVuSansMono", size=8.5)
    else:
        pdf.set_font("Courier", size=9)
    for line in inv.invoice_text(ctx, doc).splitlines():
        pdf.cell(0, 4.5, text(line), new_x="LMARGIN", new_y="NEXT")
    seller = doc.get("seller") or {}
    qr = girocode(seller, inv.open_amount(doc), doc["number"]) if doc["kind"] == "invoice" else None
    if qr:
        pdf.ln(3)
        pdf.cell(0, 4.5, text(_("IBAN {iban} · reference {number}").format(iban=seller["iban"],
                                                                        number=doc["number"])),
                 new_x="LMARGIN", new_y="NEXT")
        pdf.image(io.BytesIO(qr), w=32)
        pdf.cell(0, 4.5, text(_("Scan with your banking app (GiroCode)")), new_x="LMARGIN", new_y="NEXT")
    return _info_as_xmp(generate_from_binary(bytes(pdf.output()), xml, flavor="factur-x", level="en16931",
                                             check_xsd=True))


def _info_as_xmp(data: bytes) -> bytes:
    """PDF/A wants every entry of the document information dictionary in
    the XMP as well; the factur-x library writes /Keywords ("Invoice,
    Factur-X") into the one but no pdf:Keywords into the other: dropped."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(data))
    keep = {k: v for k, v in (writer.metadata or {}).items() if k != "/Keywords"}
    writer.metadata = None
    writer.metadata = keep
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def girocode(seller: dict, amount, reference: str) -> bytes | None:
    """The EPC QR code ("GiroCode") a banking app reads a SEPA transfer
    from, as PNG; None without the company's IBAN."""
    import io

    import segno.helpers

    if not seller.get("iban") or amount <= 0:
        return None
    qr = segno.helpers.make_epc_qr(name=seller.get("name", "")[:70] or "-", iban=seller["iban"],
                                   amount=amount, text=reference[:140], bic=seller.get("bic") or None,
                                   encoding="utf-8")
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=4, border=2)
    return buf.getvalue()


def reminder_pdf(ctx, item: dict) -> bytes:
    """A reminder (``receivables.reminder``/``run_dunning``) as a letter:
    the company's address line, the customer's address in the window, the
    level's title and date, the invoice and what is open — fee and interest
    on lines of their own — and the GiroCode to pay it."""
    import io

    from fpdf import FPDF

    places = m.places(ctx)
    seller = item.get("seller") or inv.company(ctx)
    buyer = item.get("buyer") or {}
    cur = item["currency"]

    def money(value) -> str:
        return f"{m.number_text(value, places)} {cur}"

    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"{rcv.title(item['level'])} {item['number']}"))
    pdf.set_author(_latin1(seller.get("name", "")))
    pdf.set_margins(25, 20, 20)
    pdf.add_page()
    pdf.set_font("Helvetica", size=7)
    pdf.set_xy(25, 45)  # DIN 5008: the return address above the window
    pdf.cell(85, 4, _latin1(" · ".join([seller.get("name", "")] + inv.address_lines(seller))))
    pdf.set_font("Helvetica", size=10)
    pdf.set_xy(25, 52)
    for line in [item["customer"], *inv.address_lines(buyer)]:
        pdf.cell(85, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(125, 52)
    for line in (_("Date: {date}").format(date=date_text(item["reminded_on"])),
                 _("Invoice: {number}").format(number=item["number"]),
                 _("Customer no.: {id}").format(id=item["customer_id"])):
        pdf.set_x(125)
        pdf.cell(60, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(25, 100)
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 8, _latin1(rcv.title(item["level"])), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.ln(3)
    pdf.multi_cell(0, 5, _latin1(rcv.opening(item)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    rows = [(_("Invoice {number} of {date}").format(number=item["number"], date=date_text(item["date"])), item["total"])]
    if L.to_decimal(item["credited"]):
        rows.append((_("Credited"), -L.to_decimal(item["credited"])))
    if L.to_decimal(item["paid"]):
        rows.append((_("Paid"), -L.to_decimal(item["paid"])))
    if item.get("earlier_fees"):
        rows.append((_("Fees and interest of earlier reminders"), item["earlier_fees"]))
    if item.get("fee"):
        rows.append((_("Dunning fee"), item["fee"]))
    if item.get("interest"):
        rows.append((_("Interest on late payment: {rate} % a year on {principal} for {days} days from {since}")
                     .format(rate=item["rate"], principal=m.number_text(item["principal"], places),
                             days=item["interest_days"], since=item["interest_from"]), item["interest"]))
    for label, amount in rows:
        pdf.cell(125, 6, _latin1(label))
        pdf.cell(35, 6, _latin1(money(amount)), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(125, 7, _latin1(_("Now open")), border="T")
    pdf.cell(35, 7, _latin1(money(item["open"])), border="T", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.ln(4)
    pdf.multi_cell(0, 5, _latin1(rcv.closing(item, places)), new_x="LMARGIN", new_y="NEXT")
    if seller.get("iban"):
        pdf.ln(2)
        pdf.multi_cell(0, 5, _latin1(_("IBAN {iban} · reference {number}").format(iban=seller["iban"],
                                                                                  number=item["number"])),
                       new_x="LMARGIN", new_y="NEXT")
        qr = girocode(seller, L.to_decimal(item["open"]), item["number"])
        if qr:
            pdf.ln(2)
            pdf.image(io.BytesIO(qr), w=32)
            pdf.set_font("Helvetica", size=7)
            pdf.cell(0, 4, _latin1(_("Scan with your banking app (GiroCode)")), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
