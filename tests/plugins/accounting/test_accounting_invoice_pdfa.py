"""The invoice PDF against what PDF/A-3 B and Factur-X ask, as far as it can
be checked without a PDF/A validator (veraPDF is not packaged for Debian and
needs Java; see the note of #19): read with pikepdf (qpdf).

Checked: the XMP says PDF/A-3 B and carries the Factur-X extension schema
(declared as a PDF/A extension) with document type, file name, version and
conformance level; the document information agrees with the XMP entry by
entry; the XML is an associated file (/AF, relationship Data, MIME
text/xml, size and date); every font is embedded (a TrueType subset with a
CIDToGIDMap and ToUnicode); an sRGB PDF/A output intent with its ICC
profile; a file ID; no encryption, no JavaScript (PDF/A-3 allows transparency: not checked).
Not checked here: everything else veraPDF's 6.x rules cover (e.g. each
glyph's widths against the font program, XMP schema value types)."""

from __future__ import annotations

import io
import shutil

import pikepdf
import pytest

from plugins.accounting import invoice_pdf
from plugins.accounting import invoicing as inv
from invoice_helpers import INVOICE_SETTINGS, customers
from test_accounting_receivables import read_qr
from tests.peers import require_peer

FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"


@pytest.fixture
def books(site):
    site.plugins(INVOICE_SETTINGS)
    bd = site.open()
    ctx = bd.context("accounting")
    return bd, ctx, customers(ctx)


def test_the_invoice_pdf_is_pdfa3_as_far_as_pikepdf_can_tell(books, tmp_path):
    from facturx import get_xml_from_pdf

    bd, ctx, ids = books
    doc = inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung – März", "quantity": "10",
                                                  "unit_price": "120"}],
                             date="2026-03-10", delivery_date="2026-03-02", issue=True)
    data = invoice_pdf.invoice_pdf(ctx, doc)
    pdf = pikepdf.open(io.BytesIO(data))
    assert not pdf.is_encrypted and len(pdf.trailer.ID) == 2

    meta = pdf.open_metadata()
    assert meta["pdfaid:part"] == "3" and meta["pdfaid:conformance"] == "B"
    assert (meta[f"{{{FX}}}DocumentType"], meta[f"{{{FX}}}DocumentFileName"], meta[f"{{{FX}}}Version"],
            meta[f"{{{FX}}}ConformanceLevel"]) == ("INVOICE", "factur-x.xml", "1.0", "EN 16931")
    xmp = bytes(pdf.Root.Metadata.read_bytes()).decode()
    assert f"<pdfaSchema:namespaceURI>{FX}</pdfaSchema:namespaceURI>" in xmp
    # every entry of the document information has its XMP twin, with the same value
    twins = {"/Title": "dc:title", "/Author": "dc:creator", "/Subject": "dc:description",
             "/Creator": "xmp:CreatorTool", "/Producer": "pdf:Producer", "/Keywords": "pdf:Keywords"}
    info = {str(k): str(v) for k, v in pdf.docinfo.items()}
    for key, value in info.items():
        if key in ("/CreationDate", "/ModDate"):
            continue
        assert key in twins, key
        got = meta[twins[key]]
        assert (got[0] if isinstance(got, list) else got) == value, key
    assert meta["xmp:CreateDate"].startswith(f"{info['/CreationDate'][2:6]}-{info['/CreationDate'][6:8]}")

    [spec] = list(pdf.Root.AF)
    assert spec.AFRelationship == "/Data" and str(spec.F) == str(spec.UF) == "factur-x.xml"
    stream = spec.EF.F
    assert stream.Subtype == "/text/xml" and int(stream.Params.Size) == len(stream.read_bytes())
    assert str(stream.Params.ModDate).startswith("D:")
    assert get_xml_from_pdf(data, check_xsd=True)[0] == "factur-x.xml"

    [intent] = list(pdf.Root.OutputIntents)
    assert intent.S == "/GTS_PDFA1" and int(intent.DestOutputProfile.N) == 3
    assert intent.DestOutputProfile.read_bytes()[36:40] == b"acsp"  # an ICC profile

    assert "/Names" not in pdf.Root or "/JavaScript" not in pdf.Root.Names
    for page in pdf.pages:
        for name, font in page.Resources.Font.items():
            assert font.Subtype == "/Type0" and "/ToUnicode" in font, name
            [cid] = list(font.DescendantFonts)
            assert "/FontFile2" in cid.FontDescriptor and "/CIDToGIDMap" in cid, name
    # the page says what it says, in its own font (the dash and umlauts as they are)
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Beratung – März" in text and "GiroCode" in text
    # the GiroCode asks for the invoice's total with its number as the reference
    require_peer("zbarimg", shutil.which("zbarimg") is not None, "apt-get install zbar-tools")
    require_peer("Ghostscript", shutil.which("gs") is not None, "apt-get install ghostscript")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(data)
    assert read_qr(path).split("\n")[:11] == ["BCD", "002", "1", "SCT", "COBADEFFXXX", "Test GmbH",
                                              "DE89370400440532013000", "EUR1428", "", "", doc["number"]]
