"""Separator sheets: one batch scan becomes several documents.

An office feeds a stack of letters through the scanner at once and puts a
separator sheet — a page with the barcode or QR code ``PATCHT`` (the
``separator_barcode`` setting; the code paperless-ngx uses) — between them.
When such a PDF arrives in the inbox, :func:`split_batch` writes each part
as its own PDF beside it in the inbox (without the separator pages) and
removes the batch; each part then becomes an intake item of its own, with
its own suggestions, its own archive serial number from an ASN label on its
first page, and its own OCR after filing.

Nothing is lost if Backdesk stops half-way: the parts are written under
hidden names, then linked to their final names (a name another process
linked first is left alone), and only then is the batch removed; a batch
found again next round is split again into the same names.
"""

from __future__ import annotations

import os
from pathlib import Path

from plugins.documents import barcodes

#: the separator code by default (paperless-ngx's PATCHT)
DEFAULT_CODE = "PATCHT"


def is_separator(codes: list[str], code: str) -> bool:
    wanted = code.strip().casefold()
    return any(c.strip().casefold() == wanted for c in codes)


def parts_of(per_page: list[list[str]], code: str) -> list[list[int]]:
    """The page numbers (0-based) of each part: separator pages start a new
    part and are left out; parts without pages (two separators in a row, a
    separator first or last) are dropped."""
    parts: list[list[int]] = [[]]
    for number, codes in enumerate(per_page):
        if is_separator(codes, code):
            parts.append([])
        else:
            parts[-1].append(number)
    return [p for p in parts if p]


def part_names(name: str, count: int) -> list[str]:
    stem, suffix = os.path.splitext(name)
    return [f"{stem}-{n:0{len(str(count))}d}{suffix or '.pdf'}" for n in range(1, count + 1)]


def split_batch(path: Path, code: str) -> list[Path] | None:
    """Split the PDF at ``path`` at its separator sheets into PDFs beside it
    and remove it. -> the parts' paths, or None when it has no separator page
    (or cannot be read: it then goes through the intake as it is, whose
    checks name the problem)."""
    if not code or path.suffix.lower() != ".pdf":
        return None
    # pypdf here, not at the top: importing it costs ~74 ms (python -X
    # importtime), which every start of the shell paid through the documents
    # service (bench/startup.py); only an inbox round with a new PDF needs it
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            return None
        pages = len(reader.pages)
    except (PdfReadError, OSError, ValueError):
        return None
    if pages < 2:
        return None
    per_page = barcodes.codes_per_page(path, pages)
    if per_page is None or not any(is_separator(codes, code) for codes in per_page):
        return None
    parts = parts_of(per_page, code)
    out = []
    for name, numbers in zip(part_names(path.name, len(parts)), parts):
        final = path.with_name(name)
        hidden = path.with_name(f".{name}.{os.getpid()}.part")
        writer = PdfWriter()
        for number in numbers:
            writer.add_page(reader.pages[number])
        with open(hidden, "wb") as fh:
            writer.write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(hidden, final)  # never over a part another process linked first
        except FileExistsError:
            pass
        finally:
            os.unlink(hidden)
        out.append(final)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass  # another process split it at the same time
    return out
