"""The text of a stored file, for search and for reading on a screen.

One extraction for the whole office: the documents plugin indexes filed
documents with it, HR shows a candidate's CV with it. Plain text as is (UTF-8,
else Windows-1252, else Latin-1), PDF text via pypdf (imported only when a
PDF comes in); other kinds (images, office files) give "" and are found by
their metadata.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from core.safetext import scrub

#: characters of extracted text kept per file
MAX_TEXT = 200_000


def guess_mime(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def extract_text(path: Path, filename: str, limit: int = MAX_TEXT) -> str:
    """The text of the file at ``path`` (named ``filename``), at most ``limit``
    characters; "" for a kind without text or a damaged file. Line ends are
    ``\n`` and control characters (a PDF's form feeds, a file's escape
    sequences) are stored visibly (:func:`core.safetext.scrub`)."""
    return scrub(_extract_text(path, filename, limit))


def _extract_text(path: Path, filename: str, limit: int) -> str:
    mime = guess_mime(filename)
    try:
        if mime == "application/pdf" or filename.lower().endswith(".pdf"):
            from pypdf import PdfReader  # heavy: only when a PDF comes in

            reader = PdfReader(str(path))
            parts = []
            total = 0
            for page in reader.pages:
                text = page.extract_text() or ""
                parts.append(text)
                total += len(text)
                if total > limit:
                    break
            return "\n".join(parts)[:limit]
        if mime.startswith("text/") or filename.lower().endswith((".txt", ".md", ".csv", ".eml")):
            with open(path, "rb") as fh:
                raw = fh.read(limit * 4)
            for encoding in ("utf-8", "cp1252"):
                try:
                    return raw.decode(encoding)[:limit]
                except UnicodeDecodeError:
                    continue
            return raw.decode("latin-1")[:limit]
    except Exception:  # a damaged PDF is still filed; it is just not searchable
        return ""
    return ""
