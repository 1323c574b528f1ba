"""Separator sheets split a batch scan into documents (the real zbarimg and
Ghostscript; the PDFs are pages rendered by Pillow with QR codes from segno)."""

from __future__ import annotations

import io
import shutil

import pytest
from pypdf import PdfReader

from core.shell.app import make_app
from core.shell.widgets import RecordTable
from plugins.documents import barcodes, separators, service
from plugins.documents.screens import IntakeScreen
from tests.peers import require_peer
from tests.plugins.documents.test_documents_ocr import page


@pytest.fixture(autouse=True)
def _zbar():
    require_peer("zbarimg", shutil.which("zbarimg") is not None, "apt-get install zbar-tools")
    require_peer("Ghostscript", shutil.which("gs") is not None, "apt-get install ghostscript")


def _coded(lines: list[str], code: str):
    """A scanned page with text and a QR code (a separator sheet's PATCHT,
    an ASN label or a mark that tells the tests which page it is)."""
    import segno
    from PIL import Image

    buf = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buf, kind="png", scale=8, border=4)
    img = page(lines)
    img.paste(Image.open(io.BytesIO(buf.getvalue())).convert("L"), (1300, 100))
    return img.convert("RGB")


def batch(codes: list[str]) -> bytes:
    images = [_coded([f"Seite {code}"], code) for code in codes]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


#: a stack of three letters: A (two pages, the second page's mark is an ASN
#: label too far down the stack to count), B (ASN label on its first page), C;
#: two separator sheets in a row between B and C
STACK = ["A1", "A2", "PATCHT", "ASN00007", "B2", "PATCHT", "patcht", "C1"]


@pytest.fixture
def big(site):
    site.write_plugins(max_file_mb=20)
    return site


def _marks(ctx, doc) -> list[str]:
    """What each page of the document's stored file carries (read again with zbarimg)."""
    path = service.file_of(ctx, service.current_version(ctx, doc))
    pages = len(PdfReader(path).pages)
    return [codes[0] if codes else "" for codes in barcodes.codes_per_page(path, pages)]


async def test_a_batch_scan_in_the_inbox_becomes_one_document_per_letter(big):
    (big.inbox / "stapel.pdf").write_bytes(batch(STACK))
    (big.inbox / "zwei-seiten.pdf").write_bytes(batch(["X1", "X2"]))  # no separator: stays whole
    bd = big.open()
    try:
        ctx = bd.context("documents")
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_nav("documents.intake")
            await pilot.pause()
            assert isinstance(app.screen, IntakeScreen)
            await pilot.press("r")
            await pilot.pause()
            shown = [n.message for n in app._notifications]
            assert any("4 new files" in m and "1 batch scan split at separator sheets" in m for m in shown), shown
            table = app.screen.query_one(RecordTable)
            assert [r["filename"] for r in table.records] == ["stapel-1.pdf", "stapel-2.pdf", "stapel-3.pdf",
                                                             "zwei-seiten.pdf"]
            await pilot.pause()
            excerpt = str(app.screen.query_one("#intake-excerpt").render())
            assert "From the batch scan stapel.pdf" in excerpt
        assert sorted(p.name for p in big.inbox.iterdir()) == ["stapel-1.pdf", "stapel-2.pdf", "stapel-3.pdf",
                                                               "zwei-seiten.pdf"]
        rows = service.intake_queue(ctx)
        assert [r.get("split_from") for r in rows] == ["stapel.pdf"] * 3 + [None]
        docs = [service.file_intake(ctx, r["id"], {"title": r["filename"]}) for r in rows]
        # each letter holds its own pages, the separator sheets are gone
        assert [_marks(ctx, d) for d in docs] == [["A1", "A2"], ["ASN00007", "B2"], ["C1"], ["X1", "X2"]]
        # the ASN label on B's first page numbers B; the others count on from it
        assert [d["asn"] for d in docs] == [1, 7, 8, 9]
        assert list(big.inbox.iterdir()) == []
        assert service.scan_inbox(ctx)["new"] == 0
    finally:
        bd.close()


def test_stopped_half_way_the_batch_is_split_once(big):
    """Backdesk stopped after writing the parts but before removing the batch:
    the next round splits it again into the same names — three items, not six."""
    bd = big.open()
    try:
        ctx = bd.context("documents")
        content = batch(STACK)
        (big.inbox / "stapel.pdf").write_bytes(content)
        parts = separators.split_batch(big.inbox / "stapel.pdf", "PATCHT")
        assert [p.name for p in parts] == ["stapel-1.pdf", "stapel-2.pdf", "stapel-3.pdf"]
        (big.inbox / "stapel.pdf").write_bytes(content)  # as if the removal never happened
        counts = service.scan_inbox(ctx)
        assert (counts["new"], counts["split"]) == (3, 1)
        assert [r["filename"] for r in service.intake_queue(ctx)] == ["stapel-1.pdf", "stapel-2.pdf", "stapel-3.pdf"]
        assert sorted(p.name for p in big.inbox.iterdir()) == ["stapel-1.pdf", "stapel-2.pdf", "stapel-3.pdf"]
        assert not [p for p in big.inbox.iterdir() if p.name.startswith(".")]  # no hidden part left over
    finally:
        bd.close()


def test_the_setting_names_the_code_or_turns_it_off(big):
    big.write_plugins(separator_barcode="TRENNBLATT")
    (big.inbox / "a.pdf").write_bytes(batch(["A1", "PATCHT", "B1"]))
    (big.inbox / "b.pdf").write_bytes(batch(["A1", "TRENNBLATT", "B1"]))
    bd = big.open()
    try:
        ctx = bd.context("documents")
        service.scan_inbox(ctx)
        assert [r["filename"] for r in service.intake_queue(ctx)] == ["a.pdf", "b-1.pdf", "b-2.pdf"]
    finally:
        bd.close()
    big.write_plugins(separator_barcode="")
    (big.inbox / "c.pdf").write_bytes(batch(["A1", "TRENNBLATT", "B1"]))
    bd = big.open()
    try:
        ctx = bd.context("documents")
        service.scan_inbox(ctx)
        assert "c.pdf" in [r["filename"] for r in service.intake_queue(ctx)]
    finally:
        bd.close()


def test_the_parts_of_a_stack():
    assert separators.parts_of([["x"], ["PATCHT"], [], [" patcht "], ["PATCHT"]], "PATCHT") == [[0], [2]]
    assert separators.parts_of([["PATCHT"], [], []], "PATCHT") == [[1, 2]]
    assert separators.part_names("scan.pdf", 12)[:2] == ["scan-01.pdf", "scan-02.pdf"]
