"""Paper in and out: print a register document (through core's print
service, :mod:`core.services.printing`), and the print jobs the Documents screen shows.

The permission is the documents plugin's (``documents.print``), checked here;
which printers exist, copies, pages and both sides are checked by
``services.printing``. A document is confidential when its type is one of
the ``confidential_types`` setting or it carries the tag ``confidential`` /
``vertraulich``: every print of it is in the audit trail.
"""

from __future__ import annotations

from typing import Any

from core.errors import ValidationError
from plugins.documents import service
from plugins.documents.models import _

PRINT = service.PRINT
#: what CUPS prints as it is (its filters turn these into pages)
PRINTABLE = {"application/pdf", "application/postscript", "image/png", "image/jpeg", "image/tiff",
             "image/gif", "text/plain"}
CONFIDENTIAL_TAGS = {"confidential", "vertraulich"}


def is_confidential(ctx, doc: dict) -> bool:
    types = {t.casefold() for t in ctx.settings.get("confidential_types") or ()}
    tags = {t.casefold() for t in doc.get("tags") or ()}
    return bool((doc.get("type") or "").casefold() in types or tags & CONFIDENTIAL_TAGS)


def printers(ctx) -> list[dict]:
    """The print server's printers, the operator's default marked ``chosen``."""
    ctx.require(PRINT)
    printing = ctx.services.printing
    found = printing.printers()
    default = printing.default_printer(found)
    return [{**p, "chosen": p["name"] == default} for p in found]


def print_document(ctx, doc_id: Any, *, printer: str | None = None, copies: Any = 1, duplex: bool = False,
                   pages: Any = None, tray: str | None = None) -> dict:
    """Print the current version of a register document; returns the print job."""
    ctx.require(PRINT)
    doc = service.get_document(ctx, doc_id)
    version = service.current_version(ctx, doc)
    if version.get("mime") not in PRINTABLE:
        raise ValidationError(_("{name} cannot be printed: only PDF, PostScript, images and plain text").format(
            name=version.get("filename") or doc["title"]), field="id")
    path = service.file_of(ctx, version)
    confidential = is_confidential(ctx, doc)
    job = ctx.services.printing.print_file(
        path, title=f"ASN {doc['asn']} {doc['title']}", source=("documents", "documents", doc["id"]),
        printer=printer, copies=copies, duplex=duplex, pages=pages, tray=tray, confidential=confidential,
        link="documents")
    with ctx.transaction():
        service._history(ctx, doc["id"], "printed", printer=job["printer"], copies=job["copies"],
                         job_id=job["id"])
    return job


def last_print(ctx, doc_id: int) -> dict | None:
    """The operator's newest print job of a document (for the register), if any."""
    found = ctx.services.printing.jobs(source=("documents", "documents", doc_id), limit=1)
    return found[0] if found else None
