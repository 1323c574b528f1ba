"""Vendors' e-invoices between the register and accounting.

- ``b`` on a document (:func:`hand_to_accounting`): the document's current
  file is handed to accounting (``documents.handed_to_accounting``), which
  reads it as an e-invoice into a draft bill linked to this document and
  tells the operator how it went (a notification).
- An e-invoice accounting read from a file (``accounting.einvoice_read``,
  :func:`file_read_einvoice`) is filed here as an incoming document of the
  vendor, unless the same file (by its SHA-256) is filed already.

Plugins never import each other: they meet in these two events.
"""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
from pathlib import Path
from typing import Any

from core.errors import ValidationError
from plugins.documents import models
from plugins.documents import service as svc
from plugins.documents.models import _

HANDED = "documents.handed_to_accounting"
#: what accounting reads at most (its e-invoice reader's limit)
MAX_BYTES = 20 << 20


def hand_to_accounting(ctx, doc_id: Any) -> dict:
    """Hand document ``doc_id``'s current file to accounting to become a
    draft bill; -> the document. Needs ``documents.read`` and
    ``accounting.bills.write`` (accounting reads it as a reaction)."""
    ctx.require(svc.READ)
    ctx.require("accounting.bills.write", _("turn documents into bills"))
    if not ctx.services.events.handlers(HANDED):
        raise ValidationError(_("the accounting plugin is not loaded"), field="plugins")
    doc = svc.get_document(ctx, doc_id)
    ver = svc.current_version(ctx, doc)
    if ver["size"] > MAX_BYTES:
        raise ValidationError(_("{name} is larger than an e-invoice can be").format(name=ver["filename"]),
                              field="file")
    data = svc.file_of(ctx, ver).read_bytes()
    with ctx.transaction(what=_("handed ASN {asn} to accounting as a bill").format(asn=doc["asn"])):
        svc._history(ctx, doc["id"], "handed_to_accounting", version=ver["number"])
        ctx.publish("handed_to_accounting", {"document_id": doc["id"], "asn": doc["asn"], "version": ver["number"],
                                             "filename": ver["filename"], "sha256": ver["sha256"],
                                             "data": base64.b64encode(data).decode("ascii")})
    return doc


def file_read_einvoice(ctx, data: dict) -> dict:
    """React to ``accounting.einvoice_read``: file the e-invoice as an
    incoming document of the vendor; -> the document (the one filed before
    when the same file is)."""
    sha = str(data.get("sha256") or "")
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ValidationError(_("not a file hash: {value!r}").format(value=sha[:70]), field="sha256")
    found = ctx.table("versions").find({"sha256": sha}, limit=1)
    if found:
        return ctx.table("documents")[found[0]["document_id"]]
    try:
        raw = base64.b64decode(str(data.get("data") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(_("{name} is not base64").format(name="e-invoice"), field="data") from None
    name = models.check_filename(Path(str(data.get("filename") or "e-invoice.xml")).name)
    vendor = str(data.get("vendor") or "")[:models.MAX_TEXT_FIELD]
    title = (f"{vendor} {data.get('number') or ''}".strip() or name)[:models.MAX_TITLE]
    with tempfile.TemporaryDirectory(prefix="backdesk-einvoice-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(raw)
        return svc.add_document(ctx, path, {"title": title, "correspondent": vendor, "direction": "incoming",
                                            "date": data.get("date") or None, "tags": ["accounting"]},
                                filename=name, source="accounting")
