"""Barcodes on scans, read with zbar's ``zbarimg`` (Debian: zbar-tools).

Only the reading: :func:`read_codes` gives the texts of the barcodes and QR
codes on a scan's first page (a PDF's first page is rendered with
Ghostscript, which ocrmypdf brings along); :func:`asn_from` finds an archive
serial number among them — ``ASN`` followed by digits (``ASN00042``), the
labels office scanners and paperless-style ASN stickers print. The filing
(:func:`plugins.documents.service.add_document`) gives the document that
number. :func:`codes_per_page` reads every page of a PDF, for the separator
sheets that split a batch scan (:mod:`plugins.documents.separators`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from core.safetext import scrub

_ASN = re.compile(r"ASN ?0*(\d{1,9})", re.IGNORECASE)
#: seconds zbarimg and Ghostscript may take on one page
TIMEOUT = 120


def available() -> bool:
    return shutil.which("zbarimg") is not None


def _run(argv: list[str]) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(argv, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None


def read_codes(path: Path, mime: str) -> list[str]:
    """The texts of the codes on the first page ([] when there are none, or
    zbarimg is missing, or the file cannot be read)."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        return []
    with tempfile.TemporaryDirectory(prefix="backdesk-barcode-") as tmp:
        image = Path(path)
        if mime == "application/pdf":
            gs = shutil.which("gs")
            if gs is None:
                return []
            image = Path(tmp) / "page1.png"
            done = _run([gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pnggray", "-r200",
                         "-dFirstPage=1", "-dLastPage=1", "-o", str(image), str(path)])
            if done is None or done.returncode != 0 or not image.exists():
                return []
        return _codes_in(zbarimg, image)


def _codes_in(zbarimg: str, image: Path) -> list[str]:
    """The texts of the codes zbarimg finds in one image, each cleaned of
    control characters and cut to 200 characters, at most 20."""
    done = _run([zbarimg, "--raw", "-q", str(image)])
    if done is None or done.returncode != 0:  # 4: no code found
        return []
    text = done.stdout.decode("utf-8", "replace")
    return [" ".join(scrub(line).split())[:200] for line in text.splitlines() if line.strip()][:20]


#: pages of one PDF read for separator sheets at most (a batch beyond this is not split)
MAX_PAGES = 500


def codes_per_page(path: Path, pages: int) -> list[list[str]] | None:
    """The codes on each of a PDF's ``pages`` pages, rendered once with
    Ghostscript at 150 dpi (separator sheets carry big codes). None when
    zbarimg or Ghostscript is missing or the file cannot be rendered."""
    zbarimg, gs = shutil.which("zbarimg"), shutil.which("gs")
    if zbarimg is None or gs is None or not 0 < pages <= MAX_PAGES:
        return None
    with tempfile.TemporaryDirectory(prefix="backdesk-barcode-") as tmp:
        done = _run([gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pnggray", "-r150",
                     "-o", str(Path(tmp) / "p%04d.png"), str(path)])
        if done is None or done.returncode != 0:
            return None
        out = []
        for number in range(1, pages + 1):
            image = Path(tmp) / f"p{number:04d}.png"
            if not image.exists():
                return None
            out.append(_codes_in(zbarimg, image))
    return out


def asn_from(codes: list[str]) -> int | None:
    """The first archive serial number among the codes."""
    for code in codes:
        found = _ASN.fullmatch(code.strip())
        if found and int(found.group(1)) > 0:
            return int(found.group(1))
    return None
