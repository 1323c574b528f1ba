"""Text recognition of scans with the real ocrmypdf and Tesseract (German).

The scans are made here: German text drawn into an image with Pillow, saved
as a PNG, a two-page fax TIFF (Group 4, as a fax server stores it) or an
image-only PDF."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from core.shell.app import make_app
from core.cli.testing import wait_for
from plugins.documents import ocr_jobs, service
from plugins.documents.screens import DocumentScreen
from tests.peers import require_peer

LINES = ["Stadtwerke Musterstadt GmbH", "Rechnung Nr. 4711", "Wasserverbrauch Zählerstand", "Betrag: 123,45 EUR"]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture(autouse=True)
def _ocrmypdf():
    require_peer("ocrmypdf", shutil.which("ocrmypdf") is not None,
                 "apt-get install ocrmypdf tesseract-ocr-deu tesseract-ocr-eng")
    require_peer("Tesseract (German)", os.path.exists("/usr/share/tesseract-ocr/5/tessdata/deu.traineddata"),
                 "apt-get install tesseract-ocr-deu")
    require_peer("DejaVu fonts", os.path.exists(FONT), "apt-get install fonts-dejavu-core")


def page(lines=LINES, *, mode="L"):
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, 40)
    img = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((150, 200 + i * 80), line, fill=0, font=font)
    return img.convert(mode)


def scan_png(lines=LINES, dpi=200) -> bytes:
    out = io.BytesIO()
    page(lines).save(out, "PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return out.getvalue()


def fax_tiff(pages) -> bytes:
    out = io.BytesIO()
    images = [page(lines, mode="1") for lines in pages]
    images[0].save(out, "TIFF", compression="group4", dpi=(200, 200), save_all=True, append_images=images[1:])
    return out.getvalue()


def scan_pdf(pages) -> bytes:
    out = io.BytesIO()
    images = [page(lines).convert("RGB") for lines in pages]
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


@pytest.fixture
def big(site):
    site.write_plugins(max_file_mb=20)
    return site


def test_a_scanned_image_gets_a_searchable_pdf_as_a_new_version(big):
    bd = big.open()
    try:
        ctx = bd.context("documents")
        doc = service.add_document(ctx, big.file("scan.png", scan_png()), {"title": "Scan 1"})
        assert service.search(ctx, "Stadtwerke") == []  # an image has no text yet
        job = ocr_jobs.latest_job(ctx, doc["id"])
        assert job["status"] == "queued" and job["version"] == 1
        seen = []
        counts = ocr_jobs.run_ocr(ctx, on_progress=lambda j: seen.append((j["pages_done"], j["pages"])))
        assert counts == {"done": 1, "failed": 0, "interrupted": 0}
        assert seen[-1] == (1, 1)
        doc = service.get_document(ctx, doc["id"])
        vers = service.versions(ctx, doc["id"])
        assert [(v["number"], v["filename"], v["mime"]) for v in vers] == [
            (1, "scan.png", "image/png"), (2, "scan.pdf", "application/pdf")]
        assert doc["current_version"] == 2
        assert "Musterstadt" in vers[1]["text"] and vers[0]["text"] == ""
        # the original stays in the store, byte for byte
        assert service.file_of(ctx, vers[0]).read_bytes() == (big.files / "scan.png").read_bytes()
        assert service.file_of(ctx, vers[1]).read_bytes().startswith(b"%PDF")
        hits = service.search(ctx, "stadtwerke rechnung")
        assert [h["id"] for h in hits] == [doc["id"]] and "Stadtwerke" in hits[0]["snippet"]
        assert ocr_jobs.describe(ocr_jobs.latest_job(ctx, doc["id"])) == "text recognised (version 2)"
        assert [h["what"] for h in service.history(ctx, doc["id"])] == ["filed", "ocr_queued", "ocr_done"]
        assert not (big.data_dir / "documents" / "ocr-work" / str(job["id"])).exists()
    finally:
        bd.close()
    # as a user finds it: `backdesk docs search`
    proc = subprocess.run([sys.executable, "-m", "core", *big.cli_args(), "docs", "search", "Wasserverbrauch"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Scan 1" in proc.stdout


def test_a_received_fax_tiff_is_recognised_page_by_page(big):
    bd = big.open()
    try:
        ctx = bd.context("documents")
        tiff = fax_tiff([LINES, ["Seite zwei", "Kündigung zum Monatsende"]])
        doc = service.add_document(ctx, big.file("fax-0301234567.tif", tiff), {"title": "Fax"})
        seen = []
        ocr_jobs.run_ocr(ctx, on_progress=lambda j: seen.append((j["pages_done"], j["pages"])))
        assert (1, 2) in seen and seen[-1] == (2, 2)
        assert [d["id"] for d in service.search(ctx, "Kündigung")] == [doc["id"]]
        assert [d["id"] for d in service.search(ctx, "Musterstadt")] == [doc["id"]]
    finally:
        bd.close()


def test_bad_scans_fail_on_one_line_and_leave_the_document(big, ctx):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.encrypt("geheim")
    locked = io.BytesIO()
    writer.write(locked)
    doc = service.add_document(ctx, big.file("locked.pdf", locked.getvalue()), {"title": "Locked"})
    fake = service.add_document(ctx, big.file("photo.png", b"this is no picture at all"), {"title": "Fake"})
    counts = ocr_jobs.run_ocr(ctx)
    assert counts["failed"] == 2
    for d, words in ((doc, "password-protected"), (fake, "not a readable scan")):
        job = ocr_jobs.latest_job(ctx, d["id"])
        assert job["status"] == "failed" and words in job["error"] and "\n" not in job["error"]
        assert service.get_document(ctx, d["id"])["current_version"] == 1
        assert len(service.versions(ctx, d["id"])) == 1
    # a typed text file is no scan: nothing queued, and asking is refused
    memo = service.add_document(ctx, big.file("memo.txt", "Hallo"), {"title": "Memo"})
    assert ocr_jobs.latest_job(ctx, memo["id"]) is None
    with pytest.raises(service.ValidationError, match="no scan"):
        ocr_jobs.request_ocr(ctx, memo["id"])


def test_a_pdf_with_text_is_not_recognised_again(big, ctx):
    from tests.office import simple_pdf

    doc = service.add_document(ctx, big.file("typed.pdf", simple_pdf("Typed letter")), {"title": "Typed"})
    assert ocr_jobs.latest_job(ctx, doc["id"]) is None
    with pytest.raises(service.ValidationError, match="has its text already"):
        ocr_jobs.request_ocr(ctx, doc["id"])


def test_a_killed_ocr_run_leaves_the_scan_and_runs_again(big):
    """SIGKILL to `backdesk docs ocr --run` in the middle of a four-page scan:
    the document keeps its scan and no half version, the job says it was
    interrupted, its work folder goes, and running it again gives the text."""
    bd = big.open()
    ctx = bd.context("documents")
    pages = [LINES, ["Zweite Seite Lieferschein"], ["Dritte Seite Mahnung"], ["Vierte Seite Quittung"]]
    doc = service.add_document(ctx, big.file("batch.pdf", scan_pdf(pages)), {"title": "Batch"})
    job = ocr_jobs.latest_job(ctx, doc["id"])
    assert job["status"] == "queued"
    bd.close()
    proc = subprocess.Popen([sys.executable, "-m", "core", *big.cli_args(), "docs", "ocr", "--run"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # wait for the event: the first page is recorded, three are still to come
        first = proc.stdout.readline()
        assert "page 0 of 4" in first or "page 1 of 4" in first, first
        while "page 1 of 4" not in first:
            first = proc.stdout.readline()
            assert first, "the run ended before its first page"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    bd = big.open()
    try:
        ctx = bd.context("documents")
        job = ocr_jobs.latest_job(ctx, doc["id"])
        assert job["status"] == "running" and job["pages_done"] == 1
        assert service.get_document(ctx, doc["id"])["current_version"] == 1
        assert len(service.versions(ctx, doc["id"])) == 1
        assert ocr_jobs.recover(ctx) == 1
        job = ocr_jobs.latest_job(ctx, doc["id"])
        assert job["status"] == "interrupted" and "stopped before it finished" in job["error"]
        assert not (big.data_dir / "documents" / "ocr-work" / str(job["id"])).exists()
        again = ocr_jobs.request_ocr(ctx, doc["id"])
        assert again["version"] == 1 and again["status"] == "queued"
        assert ocr_jobs.run_ocr(ctx)["done"] == 1
        assert [d["id"] for d in service.search(ctx, "Quittung")] == [doc["id"]]
        assert [v["number"] for v in service.versions(ctx, doc["id"])] == [1, 2]
        assert service.check_files(ctx) == []
    finally:
        bd.close()


async def test_the_document_screen_shows_the_ocr_state(big):
    bd = big.open()
    try:
        ctx = bd.context("documents")
        doc = service.add_document(ctx, big.file("scan.png", scan_png()), {"title": "Scan 1"})
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f6")
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, DocumentScreen)

            def text_line():
                return str(dict((str(k), v) for k, v in screen.query_one("#doc-detail").pairs).get("Text"))

            assert text_line() == "waiting for text recognition"
            await pilot.press("r")  # already waiting: refused, said so
            await pilot.pause()
            assert any("is waiting for text recognition" in str(n.message) for n in app._notifications)
            ocr_jobs.run_ocr(ctx)  # the screen follows the store's change, as from the app's worker
            await wait_for(pilot, lambda: text_line() == "text recognised (version 2)")
            assert text_line() == "text recognised (version 2)"
            assert "scan.pdf" in str(dict((str(k), v) for k, v in screen.query_one("#doc-detail").pairs)[
                "Current file"])
    finally:
        bd.close()
