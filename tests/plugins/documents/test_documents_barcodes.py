"""Archive serial numbers from a scan's QR code, read with the real zbarimg."""

from __future__ import annotations

import io
import shutil

import pytest

from plugins.documents import service
from tests.peers import require_peer
from tests.plugins.documents.test_documents_ocr import page, scan_pdf


@pytest.fixture(autouse=True)
def _zbar():
    require_peer("zbarimg", shutil.which("zbarimg") is not None, "apt-get install zbar-tools")
    require_peer("Ghostscript", shutil.which("gs") is not None, "apt-get install ghostscript")


def labelled(code: str, kind: str) -> bytes:
    """A scanned page with a QR code label in its top right corner."""
    import segno
    from PIL import Image

    buf = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buf, kind="png", scale=8, border=4)
    img = page()
    img.paste(Image.open(io.BytesIO(buf.getvalue())).convert("L"), (1300, 100))
    out = io.BytesIO()
    if kind == "pdf":
        img.convert("RGB").save(out, "PDF", resolution=200)
    elif kind == "tiff":
        img.convert("1").save(out, "TIFF", compression="group4", dpi=(200, 200))
    else:
        img.save(out, "PNG", dpi=(200, 200))
    return out.getvalue()


@pytest.fixture
def big(site):
    site.write_plugins(max_file_mb=20)
    return site


@pytest.mark.parametrize("kind", ["png", "tiff", "pdf"])
def test_the_qr_label_gives_the_archive_serial_number(big, kind):
    bd = big.open()
    try:
        ctx = bd.context("documents")
        first = service.add_document(ctx, big.file("plain.pdf", scan_pdf([["Ohne Etikett"]])), {"title": "Plain"})
        assert first["asn"] == 1
        doc = service.add_document(ctx, big.file(f"labelled.{kind}", labelled("ASN00042", kind)),
                                   {"title": "Labelled"})
        assert doc["asn"] == 42
        assert service.find_by_asn(ctx, 42)["id"] == doc["id"]
        assert service.history(ctx, doc["id"])[0]["asn_from_barcode"] == 42
        # the next number without a label follows the highest
        after = service.add_document(ctx, big.file("next.png", labelled("https://example.org", "png")),
                                     {"title": "Next"})
        assert after["asn"] == 43
        # the same label again: refused on one line, nothing filed
        with pytest.raises(service.ValidationError, match="the barcode says ASN 42, which is document"):
            service.add_document(ctx, big.file(f"again.{kind}", labelled("ASN 42", kind)), {"title": "Again"})
        assert len(service.list_documents(ctx)) == 3
    finally:
        bd.close()


def test_the_setting_turns_it_off(big):
    big.write_plugins(asn_barcode=False)
    bd = big.open()
    try:
        ctx = bd.context("documents")
        doc = service.add_document(ctx, big.file("labelled.png", labelled("ASN00042", "png")), {"title": "L"})
        assert doc["asn"] == 1
    finally:
        bd.close()
