"""Text recognition on this machine: pages per minute, and the time to file
a 20-page scan until its words are found.

    python bench/ocr.py [--pages 20] [--dir DIR]

Renders PAGES A4 pages of German text at 200 dpi with Pillow (the test
extra), files them as one image-only PDF in a fresh site (the documents
plugin alone), runs the OCR queue as ``backdesk docs ocr --run`` does
(``ocrmypdf -l deu+eng``, one page at a time, as the app's worker runs it)
and checks that a word of the last page is found by search. Prints the
filing time, the recognition time, pages per minute and the searchable
PDF's size. Needs Debian's ocrmypdf and tesseract-ocr-deu.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TEXT = ["Stadtwerke Musterstadt GmbH", "Rechnung Nr. {n}", "Wasserverbrauch im Abrechnungszeitraum",
        "Zählerstand alt 1234, neu 1290", "Betrag: {n},45 EUR", "Zahlbar bis zum Monatsende",
        "Seite {n} Stichwort Seitenwort{n}"]


def scan_pdf(pages: int) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, 34)
    images = []
    for n in range(1, pages + 1):
        img = Image.new("L", (1654, 2339), 255)  # A4 at 200 dpi
        draw = ImageDraw.Draw(img)
        for i, line in enumerate(TEXT * 3):
            draw.text((150, 200 + i * 90), line.format(n=n), fill=0, font=font)
        images.append(img.convert("RGB"))
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    from core.services.access import current_account
    from core.plugins.runtime import open_backdesk
    from plugins.documents import ocr_jobs, service

    root = Path(args.dir or tempfile.mkdtemp(prefix="backdesk-bench-ocr-"))
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "backdesk.yaml").write_text(
        'roles:\n  admin: {title: Admin, permissions: ["*"]}\n'
        f"operators:\n  {current_account()}: {{name: Bench, roles: [admin]}}\n")
    (config / "plugins.yaml").write_text("plugins:\n  - name: documents\n    settings:\n"
                                         "      worker_interval: 0\n      max_file_mb: 500\n")
    scan = root / "scan.pdf"
    scan.write_bytes(scan_pdf(args.pages))
    bd = open_backdesk(config, root / "data", load_entry_points=False)
    try:
        ctx = bd.context("documents")
        t0 = time.perf_counter()
        doc = service.add_document(ctx, scan, {"title": "Bench scan"})
        filed = time.perf_counter() - t0
        t1 = time.perf_counter()
        counts = ocr_jobs.run_ocr(ctx)
        recognised = time.perf_counter() - t1
        assert counts["done"] == 1, counts
        found = [d["id"] for d in service.search(ctx, f"Seitenwort{args.pages}")]
        assert found == [doc["id"]], found
        ver = service.versions(ctx, doc["id"])[-1]
    finally:
        bd.close()
    print(f"scan: {args.pages} pages, {scan.stat().st_size / 1e6:.1f} MB image-only PDF (A4, 200 dpi)")
    print(f"filed in {filed:.2f} s; text recognised in {recognised:.1f} s "
          f"({args.pages / recognised * 60:.1f} pages per minute); searchable PDF {ver['size'] / 1e6:.1f} MB")
    print(f"from filing to found by search: {filed + recognised:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
