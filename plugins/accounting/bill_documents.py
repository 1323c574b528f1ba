"""The document a bill came from: an e-invoice read into a bill is filed
in the documents plugin (``einvoice_in``); the bill keeps the document's id
or the file's SHA-256, and finds the document through the documents
plugin's tables, read-only (``ctx.read_table``: the operator needs
``documents.read``). Light: the Bills screen imports it.
"""

from __future__ import annotations

from core.errors import BackdeskError
from plugins.accounting.models import _


def document_of(ctx, bill: dict) -> dict | None:
    """The document a bill read from an e-invoice was filed as (read from
    the documents plugin's tables; None without that plugin, without the
    operator's ``documents.read``, or when it is not filed)."""
    source = bill.get("source") or {}
    if source.get("kind") != "e-invoice":
        return None
    try:
        documents = ctx.read_table("documents.documents")
        if source.get("document_id"):
            return documents.get(int(source["document_id"]))
        if source.get("sha256"):
            found = ctx.read_table("documents.versions").find({"sha256": source["sha256"]}, limit=1)
            return documents.get(found[0]["document_id"]) if found else None
    except BackdeskError:
        return None
    return None


def document_line(ctx, bill: dict) -> str:
    """The bill's document for its detail: "Document: ASN 7 · title", or ""."""
    doc = document_of(ctx, bill)
    if doc is None:
        return ""
    return _("Document: ASN {asn} · {title} (d opens it)").format(asn=doc["asn"], title=doc["title"])


def open_document(app, ctx, bill: dict) -> str | None:
    """Open the bill's document in the documents plugin, through the global
    search's hit for it (the documents plugin's own way to jump to one);
    -> what went wrong, or None."""
    doc = document_of(ctx, bill)
    if doc is None:
        return _("This bill has no document (or you may not read documents)")
    wanted = f"ASN {doc['asn']}: "
    for result in ctx.services.search.search(doc["title"]):
        if result.owner == "documents" and result.hit.title.startswith(wanted) and result.hit.open:
            result.hit.open(app)
            return None
    return _("Document ASN {asn} was not found").format(asn=doc["asn"])
