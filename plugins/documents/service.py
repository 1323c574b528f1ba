"""The documents plugin's operations: what the CLI and the screens both call.

Every function takes the plugin's ``ctx``, checks the operator's permission,
validates its input (raising :class:`core.errors.ValidationError` naming the
field) and makes its change in one ``ctx.transaction()``.

Files are copied into the content-addressed store (:mod:`.files`) *before*
the transaction that records them; archive serial numbers are derived inside
the transaction, under the store's lock, so two operators filing at the same
moment never get the same number. A filing whose transaction fails removes the
file it wrote (when nothing references it, checked under the lock); inside the
transaction the filing makes sure its file is still there, so the orphan
clean-up (:func:`delete_orphans`, also under the lock) can never take a file a
commit is about to reference.

Outbox (email and fax): a job's Message-ID is fixed when it is queued. A send
first claims the job in a transaction (``queued``/``failed`` → ``sending``,
attempt counted), then talks to the server outside any transaction, then
records ``sent`` or ``failed`` (with the next attempt after a backoff) in a
second transaction. Only one process can claim a job, so a job is never sent
twice by two workers. The crash window: a process that dies after the server
accepted the mail but before ``sent`` was recorded leaves the job in
``sending``; such a job is never resent automatically — after
``STALE_SENDING`` it is marked ``unknown`` and an operator decides (look in
the recipient's mailbox for the Message-ID, then ``requeue`` it or not).
At most once, never twice.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from core.errors import BackdeskError, UnknownRecord, ValidationError
from core.gcpause import gc_held
from core.outputs import exports_root, private_dir
from core.services.choices import Choice, rank
from core.storage import AnyOf, Contains, Range
from core.storage.filestore import FileMissing
from plugins.documents import barcodes
from plugins.documents import files as blobs
from plugins.documents import models
from plugins.documents import separators
from plugins.documents.models import _
from plugins.documents.ocr import is_scan_type

READ = "documents.read"
FILE = "documents.file"
SEND = "documents.send"
RULES = "documents.rules"
PRINT = "documents.print"

PERMISSIONS = {
    READ: "See and search documents",
    FILE: "File, edit and copy documents; work the intake queue",
    SEND: "Email and fax documents; work the outbox",
    RULES: "Edit document types and matching rules",
    PRINT: "Print documents; scan and copy paper",
}

STALE_SENDING = timedelta(minutes=10)
MAX_BACKOFF = 3600
#: files in the content store modified more recently are never removed as
#: orphans: another process may be filing them right now
ORPHAN_MIN_AGE = timedelta(minutes=10)


# ---------------------------------------------------------------- helpers
def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def data_dir(ctx) -> Path:
    return Path(ctx.config.data_dir)


def file_store(ctx):
    """The site's store of the documents' files (a folder in the data folder,
    or PostgreSQL, which every host shares: see :mod:`.files`)."""
    return ctx.store.files(blobs.AREA)


def max_bytes(ctx) -> int:
    return int(ctx.settings["max_file_mb"]) * 1_000_000


def inbox_dir(ctx) -> Path:
    configured = ctx.settings.get("inbox")
    path = Path(configured) if configured else data_dir(ctx) / "documents" / "inbox"
    return path


def _history(ctx, doc_id: int, what: str, **data: Any) -> None:
    ctx.table("history").insert({"document_id": doc_id, "at": _iso(now_utc()),
                                 "actor": ctx.operator.account, "what": what, **data})


def _int_id(value: Any, what: str = "document") -> int:
    if isinstance(value, bool):
        raise ValidationError(_("not a {what} id: {value!r}").format(what=what, value=value), field="id")
    if isinstance(value, int):
        return value
    text = str(value).strip().lstrip("#")
    if not text.isdigit() or len(text) > 12:
        raise ValidationError(_("not a {what} id: {value!r}").format(what=what, value=str(value)[:30]),
                              field="id")
    return int(text)


# ---------------------------------------------------------------- types
def list_types(ctx) -> list[dict]:
    ctx.require(READ)
    return ctx.table("types").find(None, order_by="name")


def get_type(ctx, type_id: Any) -> dict:
    ctx.require(READ)
    type_id = _int_id(type_id, "document type")
    found = ctx.table("types").get(type_id)
    if found is None:
        raise UnknownRecord(_("no document type with id {id}").format(id=type_id))
    return found


def _clean_type(name: Any, retention_years: Any, fields: Any) -> dict:
    """A document type: ``name``, ``retention_years`` (None or 0-100),
    ``fields`` (custom field names: a list or a comma-separated text)."""
    name = models._text(name, "name", required=True, limit=60)
    if isinstance(retention_years, str) and retention_years.strip().isdigit():
        retention_years = int(retention_years)
    if retention_years == "":
        retention_years = None
    if retention_years is not None and (isinstance(retention_years, bool) or not isinstance(retention_years, int)
                                        or not 0 <= retention_years <= 100):
        raise ValidationError(_("must be a whole number of years from 0 to 100"), field="retention_years")
    if fields is None:
        fields = ()
    elif isinstance(fields, str):
        fields = [f for f in (part.strip() for part in fields.split(",")) if f]
    clean_fields: list[str] = []
    for f in fields:
        f = models._text(f, "fields", required=True, limit=40)
        if f not in clean_fields:
            clean_fields.append(f)
    if len(clean_fields) > 30:
        raise ValidationError(_("too many fields (at most {n})").format(n=30), field="fields")
    return {"name": name, "retention_years": retention_years, "fields": clean_fields}


def _name_taken(ctx, name: str, except_id: int | None = None) -> None:
    if any(t["name"].casefold() == name.casefold() and t["id"] != except_id for t in ctx.table("types").all()):
        raise ValidationError(_("a type named {name!r} exists already").format(name=name), field="name")


def add_type(ctx, name: str, *, retention_years: int | None = None, fields: Iterable[str] | str = ()) -> dict:
    ctx.require(RULES)
    clean = _clean_type(name, retention_years, fields)
    with ctx.transaction():
        _name_taken(ctx, clean["name"])
        table = ctx.table("types")
        tid = table.insert(clean)
        return table[tid]


def update_type(ctx, type_id: Any, data: dict) -> dict:
    """Change a type (``name``, ``retention_years``, ``fields``; keys left out
    stay). Its documents follow in the same transaction: a new name, a new
    retention date, custom fields of a removed field dropped — refused while a
    document still has a value in such a field. Rules assigning it follow a
    new name."""
    ctx.require(RULES)
    type_id = _int_id(type_id, "document type")
    unknown = [k for k in data if k not in ("name", "retention_years", "fields")]
    if unknown:
        raise ValidationError(_("unknown field (known: {known})").format(known="name, retention_years, fields"),
                              field=unknown[0])
    with ctx.transaction():
        table = ctx.table("types")
        old = table.get(type_id)
        if old is None:
            raise UnknownRecord(_("no document type with id {id}").format(id=type_id))
        merged = {"name": old["name"], "retention_years": old.get("retention_years"),
                  "fields": old.get("fields") or [], **data}
        clean = _clean_type(merged["name"], merged["retention_years"], merged["fields"])
        _name_taken(ctx, clean["name"], except_id=type_id)
        docs = ctx.table("documents").find({"type": old["name"]}, order_by="id")
        removed = [f for f in old.get("fields") or [] if f not in clean["fields"]]
        for f in removed:
            using = [d["id"] for d in docs if (d.get("fields") or {}).get(f) not in (None, "")]
            if using:
                raise ValidationError(_.ngettext(
                    "document {ids} has a value in the field {field!r}: clear it there first",
                    "documents {ids} have a value in the field {field!r}: clear it there first",
                    len(using)).format(ids=", ".join(map(str, using[:10])), field=f), field="fields")
        new = table.update(type_id, clean)
        renamed = clean["name"] != old["name"]
        for d in docs:
            changes: dict[str, Any] = {}
            if renamed:
                changes["type"] = clean["name"]
            if removed and any(f in (d.get("fields") or {}) for f in removed):
                changes["fields"] = {k: v for k, v in d["fields"].items() if k not in removed}
            until = models.retention_until(d["date"], clean["retention_years"])
            if until != d.get("retention_until"):
                changes["retention_until"] = until
            if changes:
                ctx.table("documents").update(d["id"], changes)
                _history(ctx, d["id"], "edited", fields=sorted(changes), type_id=type_id)
        if renamed:
            for r in ctx.table("rules").find({"type": old["name"]}):
                ctx.table("rules").update(r["id"], {"type": clean["name"]})
        return new


def delete_type(ctx, type_id: Any) -> None:
    """Delete a type no document and no rule uses."""
    ctx.require(RULES)
    type_id = _int_id(type_id, "document type")
    with ctx.transaction():
        table = ctx.table("types")
        old = table.get(type_id)
        if old is None:
            raise UnknownRecord(_("no document type with id {id}").format(id=type_id))
        n_docs = ctx.table("documents").count({"type": old["name"]})
        if n_docs:
            raise ValidationError(_.ngettext("{n} document has the type {name!r}: a type in use is not deleted",
                                             "{n} documents have the type {name!r}: a type in use is not deleted",
                                             n_docs).format(
                n=n_docs, name=old["name"]))
        n_rules = ctx.table("rules").count({"type": old["name"]})
        if n_rules:
            raise ValidationError(_.ngettext("{n} matching rule assigns the type {name!r}: change it first",
                                             "{n} matching rules assign the type {name!r}: change them first",
                                             n_rules).format(n=n_rules, name=old["name"]))
        table.delete(type_id)


def _type_named(ctx, name: str) -> dict | None:
    if not name:
        return None
    for t in ctx.table("types").all():
        if t["name"].casefold() == name.casefold():
            return t
    known = ", ".join(t["name"] for t in ctx.table("types").find(None, order_by="name")) or "—"
    raise ValidationError(_("unknown document type {name!r} (known: {known})").format(name=name[:40], known=known),
                          field="type")


# ---------------------------------------------------------------- rules
def list_rules(ctx) -> list[dict]:
    ctx.require(READ)
    return ctx.table("rules").find(None, order_by=["order", "id"])


def get_rule(ctx, rule_id: Any) -> dict:
    ctx.require(READ)
    rule_id = _int_id(rule_id, "rule")
    found = ctx.table("rules").get(rule_id)
    if found is None:
        raise UnknownRecord(_("no matching rule with id {id}").format(id=rule_id))
    return found


def add_rule(ctx, data: dict) -> dict:
    ctx.require(RULES)
    rule = models.clean_rule(data)
    with ctx.transaction():
        if rule["type"]:
            rule["type"] = _type_named(ctx, rule["type"])["name"]
        rid = ctx.table("rules").insert(rule)
        return ctx.table("rules")[rid]


def update_rule(ctx, rule_id: Any, data: dict) -> dict:
    ctx.require(RULES)
    rule_id = _int_id(rule_id, "rule")
    with ctx.transaction():
        table = ctx.table("rules")
        old = table.get(rule_id)
        if old is None:
            raise UnknownRecord(_("no matching rule with id {id}").format(id=rule_id))
        merged = {**old, **data}
        rule = models.clean_rule(merged)
        if rule["type"]:
            rule["type"] = _type_named(ctx, rule["type"])["name"]
        return table.update(rule_id, rule)


def delete_rule(ctx, rule_id: Any) -> None:
    ctx.require(RULES)
    rule_id = _int_id(rule_id, "rule")
    with ctx.transaction():
        if ctx.table("rules").get(rule_id) is None:
            raise UnknownRecord(_("no matching rule with id {id}").format(id=rule_id))
        ctx.table("rules").delete(rule_id)


def suggest(ctx, text: str) -> dict:
    """What the matching rules assign for ``text`` (first rule wins per
    field; tags add up)."""
    out: dict[str, Any] = {"correspondent": "", "type": "", "tags": [], "rules": []}
    for rule in ctx.table("rules").find(None, order_by=["order", "id"]):
        if not models.rule_matches(rule, text):
            continue
        out["rules"].append(rule["id"])
        if rule.get("correspondent") and not out["correspondent"]:
            out["correspondent"] = rule["correspondent"]
        if rule.get("type") and not out["type"]:
            out["type"] = rule["type"]
        for tag in rule.get("tags") or []:
            if tag not in out["tags"]:
                out["tags"].append(tag)
    return out


# ---------------------------------------------------------------- documents
META_KEYS = ("title", "correspondent", "type", "direction", "date", "tags", "location",
             "responsible_id", "fields")


def _clean_meta(ctx, data: dict, *, partial: bool = False) -> dict:
    unknown = [k for k in data if k not in META_KEYS]
    if unknown:
        raise ValidationError(_("unknown field (known: {known})").format(known=", ".join(META_KEYS)),
                              field=unknown[0])
    out: dict[str, Any] = {}
    if not partial or "title" in data:
        out["title"] = models.clean_title(data.get("title"))
    if not partial or "correspondent" in data:
        out["correspondent"] = models._text(data.get("correspondent"), "correspondent")
    if not partial or "direction" in data:
        out["direction"] = models.clean_direction(data.get("direction"))
    if not partial or "date" in data:
        out["date"] = models.clean_date(data.get("date") or _today())
    if not partial or "tags" in data:
        out["tags"] = models.clean_tags(data.get("tags"))
    if not partial or "location" in data:
        out["location"] = models._text(data.get("location"), "location")
    if not partial or "responsible_id" in data:
        rid = data.get("responsible_id")
        if rid in (None, ""):
            out["responsible_id"] = None
        else:
            rid = _int_id(rid, "person")
            if ctx.services.people.get(rid) is None:
                raise ValidationError(_("no person with id {id}").format(id=rid), field="responsible_id")
            out["responsible_id"] = rid
    if not partial or "type" in data:
        t = _type_named(ctx, models._text(data.get("type"), "type"))
        out["type"] = t["name"] if t else ""
    return out


def _today() -> str:
    from core.i18n import today

    return today().isoformat()


def _finish_meta(ctx, doc: dict, fields: Any) -> dict:
    """Custom fields and the retention date follow from the type."""
    t = _type_named(ctx, doc.get("type") or "")
    doc["fields"] = models.clean_custom_fields(fields if fields is not None else doc.get("fields"),
                                               t["fields"] if t else [])
    doc["retention_until"] = models.retention_until(doc["date"], t["retention_years"] if t else None)
    return doc


def _next_asn(ctx) -> int:
    """The next archive serial number; call inside the transaction."""
    last = ctx.table("documents").find(None, order_by=["-asn"], limit=1)
    return (last[0].get("asn") or 0) + 1 if last else 1


def _ingest(ctx, path: Any, *, filename: str | None = None, allowed_root: Path | None = None):
    """Check and store a file; -> (source path, sha, size, filename, text,
    known: the store held these bytes already)."""
    source = blobs.check_source(path, data_dir(ctx), max_bytes(ctx), allowed_root=allowed_root)
    name = models.check_filename(filename if filename is not None else source.name)
    sha, size, known = blobs.put(file_store(ctx), source, max_bytes(ctx))
    try:
        text = blobs.extract_text(file_store(ctx).local_path(sha), name)
    except BaseException:
        if not known:
            _discard_unreferenced(ctx, sha)
        raise
    return source, sha, size, name, text, known


def _referenced(ctx, sha: str) -> bool:
    return ctx.table("versions").count({"sha256": sha}) > 0


def _discard_unreferenced(ctx, sha: str) -> None:
    """Remove the stored file ``sha`` if no version references it — a filing's
    own file after its transaction failed. Under the store's lock, so no commit
    can reference it meanwhile; a failure here only leaves an orphan."""
    import logging

    try:
        with ctx.transaction():
            if not _referenced(ctx, sha):
                file_store(ctx).remove(sha)
    except Exception:  # the original error matters more; `docs check --orphans` finds it
        logging.getLogger(__name__).exception("could not remove the unused file %s", sha)


def _ensure_stored(ctx, source: Path, sha: str) -> None:
    """Inside the filing transaction: the file the filing stored is still
    there. (An orphan clean-up may have removed bytes that were stored, unused,
    before this filing began: store them again from the source.)"""
    if file_store(ctx).exists(sha):
        return
    again, _size, known = blobs.put(file_store(ctx), source, max_bytes(ctx))
    if again != sha:
        if not known and not _referenced(ctx, again):
            file_store(ctx).remove(again)
        raise ValidationError(_("{name} changed while it was being filed; file it again").format(
            name=source.name[:80]), field="file")


def add_document(ctx, path: Any, meta: dict | None = None, *, filename: str | None = None,
                 source: str = "upload", _allowed_root: Path | None = None, _intake_id: int | None = None) -> dict:
    """File a new document from the file at ``path``.

    ``meta``: title (default: the file name), correspondent, type, direction,
    date, tags, location, responsible_id, fields. Empty correspondent, type
    and tags are filled in by the matching rules. Returns the document with
    ``duplicates``: ids of documents that already hold the same file.
    """
    ctx.require(FILE)
    meta = dict(meta or {})
    fields = meta.pop("fields", None)
    if not meta.get("title") and path:
        meta["title"] = Path(str(path)).stem[:models.MAX_TITLE] or str(path)[:models.MAX_TITLE]
    clean = _clean_meta(ctx, meta)  # cheap checks before any file is read
    src, sha, size, name, text, known = _ingest(ctx, path, filename=filename, allowed_root=_allowed_root)
    try:
        asn = barcode_asn(ctx, lambda: file_store(ctx).local_path(sha), name)
        out, duplicates = _file_new(ctx, clean, fields, src, sha, size, name, text, source, _intake_id, asn=asn)
    except BaseException:
        if not known:  # the file this filing wrote: not left behind as an orphan
            _discard_unreferenced(ctx, sha)
        raise
    out["duplicates"] = duplicates
    return out


def _file_new(ctx, clean: dict, fields: Any, src: Path, sha: str, size: int, name: str, text: str,
              source: str, intake_id: int | None, *, hint: str = "",
              fallback_correspondent: str = "", asn: int | None = None) -> tuple[dict, list[int]]:
    """The filing transaction of :func:`add_document` (and of a mail's
    attachments: ``hint`` is more text for the matching rules, such as the
    sender; ``fallback_correspondent`` applies when no rule names one)."""
    with ctx.transaction():
        _ensure_stored(ctx, src, sha)
        found = suggest(ctx, f"{hint}\n{name}\n{text}" if hint else f"{name}\n{text}")
        hint = found
        if not clean["correspondent"]:
            clean["correspondent"] = hint["correspondent"] or fallback_correspondent
        if not clean["type"] and hint["type"] and _type_exists(ctx, hint["type"]):
            clean["type"] = hint["type"]
        for tag in hint["tags"]:
            if tag not in clean["tags"]:
                clean["tags"].append(tag)
        doc = _finish_meta(ctx, clean, fields)
        duplicates = sorted({v["document_id"] for v in ctx.table("versions").find({"sha256": sha})})
        moment = _iso(now_utc())
        if asn is not None:
            taken = ctx.table("documents").find({"asn": asn}, limit=1)
            if taken:
                raise ValidationError(_("the barcode says ASN {asn}, which is document {id}'s already").format(
                    asn=asn, id=taken[0]["id"]), field="asn")
        doc.update({"asn": asn if asn is not None else _next_asn(ctx), "current_version": 1, "original_id": None,
                    "source": source, "filed_at": moment, "filed_by": ctx.operator.account,
                    **_file_words(name, text, 1)})
        doc_id = ctx.table("documents").insert(doc)
        _add_version_row(ctx, doc_id, 1, sha, size, name, text, note="")
        _history(ctx, doc_id, "filed", source=source, duplicates=duplicates, rules=hint["rules"],
                 **({"asn_from_barcode": asn} if asn is not None else {}))
        queue_ocr_if_scan(ctx, doc_id, 1, name, text)
        if intake_id is not None:
            ctx.table("intake").update(intake_id, {"status": "filed", "document_id": doc_id,
                                                  "filed_at": moment})
        ctx.publish("document_filed", {"document_id": doc_id, "type": doc["type"],
                                       "correspondent": doc["correspondent"]})
        return ctx.table("documents")[doc_id], duplicates


def _type_exists(ctx, name: str) -> bool:
    return any(t["name"].casefold() == name.casefold() for t in ctx.table("types").all())


def _file_words(name: str | None, text: str | None, number: int) -> dict:
    """What a document keeps of its current version ``number`` for the
    search (models.search_fields): written with every change of the version."""
    return {"file_words": models.words_of(name, text), "file_words_version": number}


def _add_version_row(ctx, doc_id: int, number: int, sha: str, size: int, name: str, text: str, note: str) -> int:
    return ctx.table("versions").insert({
        "document_id": doc_id, "number": number, "sha256": sha, "size": size, "filename": name,
        "mime": blobs.guess_mime(name), "text": text, "note": note,
        "added_at": _iso(now_utc()), "added_by": ctx.operator.account,
    })


def fill_file_words(ctx, *, limit: int = 500) -> int:
    """Keep the words of their current file on up to ``limit`` documents
    that lack them (filed before the search kept them, or whose current
    version was changed around the service), in one transaction: the
    search then finds their words on them (:class:`SearchResults`). The
    worker does it a batch a round; -> how many were filled in."""
    ctx.require(FILE)
    if not ctx.table("documents").count({"file_words_missing": True}):
        return 0  # asked every round of every app's worker: no transaction when none lack them
    with ctx.transaction(_("the words of their current file kept on the documents for the search")):
        docs = ctx.table("documents").find({"file_words_missing": True}, order_by="id", limit=limit,
                                           fields=("current_version",))
        if not docs:
            return 0
        found = {(v["document_id"], v["number"]): v for v in ctx.table("versions").find(
            {"document_id": AnyOf([d["id"] for d in docs])}, fields=("document_id", "number", "filename", "text"))}
        for doc in docs:
            number = doc.get("current_version")
            version = found.get((doc["id"], number)) or {}
            # a document without its version: no words of a file (as the search reads it)
            ctx.table("documents").update(doc["id"], _file_words(version.get("filename"), version.get("text"),
                                                                 number or 0))
        return len(docs)


def barcode_asn(ctx, path: Path | Callable[[], Path], filename: str) -> int | None:
    """The archive serial number a scan's barcode or QR code gives (``ASN00042``
    on the first page; the ``asn_barcode`` setting), else None. ``path``: the
    scan, or what gives it (a stored file is fetched only for a scan)."""
    mime = blobs.guess_mime(filename)
    if not ctx.settings.get("asn_barcode", True) or not is_scan_type(mime):
        return None
    return barcodes.asn_from(barcodes.read_codes(path() if callable(path) else path, mime))


def needs_ocr(filename: str, text: str) -> bool:
    """A scan: an image, or a PDF without a text layer."""
    return is_scan_type(blobs.guess_mime(filename)) and not text.strip()


def queue_ocr_if_scan(ctx, doc_id: int, number: int, filename: str, text: str) -> dict | None:
    """Inside a filing transaction: a scan gets a text-recognition job
    (:mod:`plugins.documents.ocr_jobs` runs it) when the ``ocr`` setting is
    on; -> the job."""
    if not ctx.settings.get("ocr", True) or not needs_ocr(filename, text):
        return None
    return add_ocr_job(ctx, doc_id, number)


def add_ocr_job(ctx, doc_id: int, number: int) -> dict:
    """A queued OCR job for version ``number`` (inside the caller's transaction)."""
    table = ctx.table("ocr")
    job_id = table.insert({"document_id": doc_id, "version": number, "status": "queued", "pages": None,
                           "pages_done": 0, "error": None, "runner": None, "heartbeat": None,
                           "queued_at": _iso(now_utc()), "queued_by": ctx.operator.account,
                           "started_at": None, "finished_at": None, "result_version": None})
    _history(ctx, doc_id, "ocr_queued", version=number, job_id=job_id)
    return table[job_id]


def get_document(ctx, doc_id: Any) -> dict:
    ctx.require(READ)
    doc_id = _int_id(doc_id)
    doc = ctx.table("documents").get(doc_id)
    if doc is None:
        raise UnknownRecord(_("no document with id {id}").format(id=doc_id))
    return doc


def find_by_asn(ctx, asn: int) -> dict | None:
    ctx.require(READ)
    found = ctx.table("documents").find({"asn": asn}, limit=1)
    return found[0] if found else None


def list_documents(ctx, *, type: str | None = None, tag: str | None = None,
                   direction: str | None = None, limit: int | None = None) -> list[dict]:
    ctx.require(READ)
    where: dict[str, Any] = {}
    if type:
        where["type"] = type
    if direction:
        where["direction"] = direction
    docs = ctx.table("documents").find(where or None, order_by=["-asn"])
    if tag:
        docs = [d for d in docs if any(models.tag_matches(t, tag) for t in d.get("tags") or [])]
    return docs[:limit] if limit else docs


def document_choices(ctx, text: str) -> list[Choice]:
    """Documents for a picker: ``text`` against the title, then the
    correspondent (or an ASN typed as digits); the detail is the ASN, the
    type and the date. Needs ``documents.read``."""
    ctx.require(READ)
    needle = str(text or "").strip()
    table = ctx.table("documents")
    if needle.lstrip("#").isdigit():
        found = table.find({"asn": int(needle.lstrip("#"))}, limit=1)
    else:
        found = table.find({("title", "correspondent"): Contains(needle)} if needle else None,
                           order_by=["-asn"], limit=200)
    ranked = rank(needle, found, lambda d: d.get("title") or "", lambda d: d.get("correspondent") or "") \
        if needle and not needle.lstrip("#").isdigit() else found
    return [Choice(d["id"], d.get("title") or _("document {id}").format(id=d["id"]),
                   " · ".join(p for p in (f"ASN {d['asn']}" if d.get("asn") else "", d.get("type") or "",
                                          d.get("date") or "") if p)) for d in ranked]


def update_document(ctx, doc_id: Any, changes: dict) -> dict:
    ctx.require(FILE)
    doc_id = _int_id(doc_id)
    changes = dict(changes)
    fields = changes.pop("fields", None)
    clean = _clean_meta(ctx, changes, partial=True)
    with ctx.transaction():
        old = get_document(ctx, doc_id)
        merged = {**old, **clean}
        _finish_meta(ctx, merged, fields)
        diff = {k: merged[k] for k in (*clean, "fields", "retention_until") if merged.get(k) != old.get(k)}
        if not diff:
            return old
        doc = ctx.table("documents").update(doc_id, diff)
        _history(ctx, doc_id, "edited", fields=sorted(diff))
        return doc


def versions(ctx, doc_id: Any) -> list[dict]:
    ctx.require(READ)
    return ctx.table("versions").find({"document_id": _int_id(doc_id)}, order_by="number")


def current_version(ctx, doc: dict) -> dict:
    found = ctx.table("versions").find({"document_id": doc["id"], "number": doc["current_version"]}, limit=1)
    if not found:
        raise BackdeskError(_("document {id} has no file").format(id=doc["id"]))
    return found[0]


def history(ctx, doc_id: Any) -> list[dict]:
    ctx.require(READ)
    return ctx.table("history").find({"document_id": _int_id(doc_id)}, order_by="id")


def file_of(ctx, version: dict) -> Path:
    """A file on this host holding the version's bytes (on PostgreSQL a
    checked copy in the host's cache): for programs that want a path."""
    try:
        return file_store(ctx).local_path(blobs.check_hash(version["sha256"]))
    except FileMissing:
        raise BackdeskError(_("the file of document {id} version {n} is missing from the store").format(
            id=version["document_id"], n=version["number"])) from None


def add_version(ctx, doc_id: Any, path: Any, *, note: str = "", filename: str | None = None) -> dict:
    """A new version of a document from a file; the old ones are kept."""
    ctx.require(FILE)
    doc_id = _int_id(doc_id)
    get_document(ctx, doc_id)
    note = models._text(note, "note", limit=models.MAX_NOTE)
    src, sha, size, name, text, known = _ingest(ctx, path, filename=filename)
    try:
        with ctx.transaction():
            _ensure_stored(ctx, src, sha)
            doc = get_document(ctx, doc_id)
            number = max(v["number"] for v in versions(ctx, doc_id)) + 1
            _add_version_row(ctx, doc_id, number, sha, size, name, text, note)
            _history(ctx, doc_id, "version_added", version=number)
            queue_ocr_if_scan(ctx, doc_id, number, name, text)
            return ctx.table("documents").update(doc["id"], {"current_version": number,
                                                             **_file_words(name, text, number)})
    except BaseException:
        if not known:  # the file this filing wrote: not left behind as an orphan
            _discard_unreferenced(ctx, sha)
        raise


def copy_document(ctx, doc_id: Any, *, into: Any = None, title: str | None = None) -> dict:
    """Copy the document's current file: to a new document linked to its
    original (``original_id``), or, with ``into``, as a new version of that
    document. The file is shared, never stored twice."""
    ctx.require(FILE)
    doc_id = _int_id(doc_id)
    with ctx.transaction():
        doc = get_document(ctx, doc_id)
        ver = current_version(ctx, doc)
        if into is not None:
            target_id = _int_id(into)
            if target_id == doc_id:
                raise ValidationError(_("a document cannot be copied into itself"), field="into")
            target = get_document(ctx, target_id)
            number = max(v["number"] for v in versions(ctx, target_id)) + 1
            _add_version_row(ctx, target_id, number, ver["sha256"], ver["size"], ver["filename"], ver["text"],
                             note=_("copied from document {asn}").format(asn=doc["asn"]))
            _history(ctx, target_id, "version_added", version=number, copied_from=doc_id)
            _history(ctx, doc_id, "copied", to=target_id, as_version=number)
            return ctx.table("documents").update(target["id"], {
                "current_version": number, **_file_words(ver["filename"], ver["text"], number)})
        new = {k: doc.get(k) for k in META_KEYS}
        new["title"] = models.clean_title(title) if title else models.clean_title(
            _("Copy of {title}").format(title=doc["title"])[:models.MAX_TITLE])
        new.update({"retention_until": doc.get("retention_until"), "asn": _next_asn(ctx), "current_version": 1,
                    "original_id": doc_id, "source": "copy", "filed_at": _iso(now_utc()),
                    "filed_by": ctx.operator.account, **_file_words(ver["filename"], ver["text"], 1)})
        new_id = ctx.table("documents").insert(new)
        _add_version_row(ctx, new_id, 1, ver["sha256"], ver["size"], ver["filename"], ver["text"], note="")
        _history(ctx, new_id, "filed", source="copy", original=doc_id)
        _history(ctx, doc_id, "copied", to=new_id)
        ctx.publish("document_filed", {"document_id": new_id, "type": new["type"],
                                       "correspondent": new["correspondent"]})
        return ctx.table("documents")[new_id]


def export_document(ctx, doc_id: Any, dest: Any) -> Path:
    """Write the document's current file into the folder ``dest``."""
    import shutil

    ctx.require(READ)
    doc = get_document(ctx, doc_id)
    ver = current_version(ctx, doc)
    folder = Path(str(dest)).expanduser().resolve()
    data = data_dir(ctx).resolve()
    exports = exports_root(data)
    if (folder == data or data in folder.parents) and exports not in folder.parents:
        raise ValidationError(_("refused: {path} is inside the data directory").format(path=str(dest)[:120]),
                              field="dest")
    if not folder.is_dir():
        raise ValidationError(_("no such folder: {path}").format(path=str(dest)[:120]), field="dest")
    target = folder / models.check_filename(ver["filename"])
    if target.exists():
        raise ValidationError(_("{path} exists already").format(path=str(target)[:120]), field="dest")
    from core.outputs import output_file

    try:
        src = file_store(ctx).open(blobs.check_hash(ver["sha256"]))
    except FileMissing:
        file_of(ctx, ver)  # says which document's file is missing
        raise
    with src, output_file(target, binary=True) as out:
        shutil.copyfileobj(src, out)  # 0600, as the store keeps it
    return target


# ---------------------------------------------------------------- the content store
def check_files(ctx) -> list[str]:
    """Every version's file is in the store with its size; -> one line per
    problem ([] when sound)."""
    ctx.require(READ)
    problems = []
    store = file_store(ctx)
    for v in ctx.table("versions").find(None, order_by=["document_id", "number"]):
        size = store.size(blobs.check_hash(v["sha256"]))
        if size is None:
            problems.append(_("document {id} version {n}: the file {sha} is missing from the store").format(
                id=v["document_id"], n=v["number"], sha=v["sha256"][:12]))
            continue
        if size != v["size"]:
            problems.append(_("document {id} version {n}: the file {sha} has {size} bytes, not {expected}").format(
                id=v["document_id"], n=v["number"], sha=v["sha256"][:12], size=size, expected=v["size"]))
    return problems


def _orphans(ctx, now: datetime, min_age: timedelta) -> list[dict]:
    referenced = {v["sha256"] for v in ctx.table("versions").all()}
    out = []
    for f in file_store(ctx).scan():
        if f.sha256 is not None and f.sha256 in referenced:
            continue
        out.append({"path": f.path, "sha256": f.sha256, "size": f.size, "modified": f.modified,
                    "young": now - f.modified < min_age, "item": f})
    return out


def find_orphans(ctx, *, now: datetime | None = None, min_age: timedelta = ORPHAN_MIN_AGE) -> list[dict]:
    """Files in the content store that no document version references:
    ``path``, ``sha256`` (None for a partial write), ``size``, ``modified``
    (UTC) and ``young`` (modified within ``min_age``: it may be a filing in
    progress, and :func:`delete_orphans` leaves it alone)."""
    ctx.require(READ)
    return _orphans(ctx, now or now_utc(), min_age)


def delete_orphans(ctx, *, now: datetime | None = None, min_age: timedelta = ORPHAN_MIN_AGE) -> dict:
    """Delete the orphans older than ``min_age``; -> ``{"deleted": [...],
    "kept": [...]}`` (the files as :func:`find_orphans` lists them).

    The store is scanned first; then, under the store's lock (no filing can
    commit meanwhile), each file is checked again — still referenced by no
    version, still not modified within ``min_age`` — and only then removed.
    A filing in progress keeps its file: it is young (a reused file is touched
    when filed), and the filing's transaction stores it again should it be gone.
    """
    ctx.require(FILE)
    found = find_orphans(ctx, now=now, min_age=min_age)
    deleted, kept = [], [o for o in found if o["young"]]
    with ctx.transaction():  # the lock: what is unreferenced now stays so until we are done
        moment = now or now_utc()
        referenced = {v["sha256"] for v in ctx.table("versions").all()}
        for o in (o for o in found if not o["young"]):
            if o["sha256"] is not None and o["sha256"] in referenced:
                continue
            now_item = file_store(ctx).recheck(o["item"])
            if now_item is None:
                continue
            if moment - now_item.modified < min_age:
                kept.append(dict(o, modified=now_item.modified, young=True))
                continue
            if not file_store(ctx).discard(now_item):
                continue
            deleted.append(o)
    return {"deleted": deleted, "kept": kept}


# ---------------------------------------------------------------- search
_QUERY_TOKEN = re.compile(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)', re.UNICODE)


def parse_query(query: str) -> tuple[list[str], dict[str, str]]:
    """Words and ``"phrases"`` (all must match) and filters ``tag:``,
    ``type:``, ``from:`` (correspondent), ``dir:`` (direction)."""
    if not isinstance(query, str):
        raise ValidationError(_("must be text"), field="query")
    if len(query) > models.MAX_QUERY:
        raise ValidationError(_("search too long (at most {n} characters)").format(n=models.MAX_QUERY),
                              field="query")
    terms: list[str] = []
    filters: dict[str, str] = {}
    for m in _QUERY_TOKEN.finditer(query):
        key = m.group(1) or m.group(3)
        value = m.group(2) if m.group(1) else m.group(4)
        if key and key.lower() in ("tag", "type", "from", "dir"):
            filters[key.lower()] = value
            continue
        word = m.group(5) if m.group(5) is not None else m.group(0)
        if word.strip():
            terms.append(word.casefold())
    return terms, filters


def _haystack(doc: dict, version: dict | None) -> str:
    parts = models.search_parts(doc)
    if version is not None:
        parts.append(f"{version.get('filename') or ''}\n{version.get('text') or ''}")
    return "\n".join(parts).casefold()


#: the documents' fields a search word is looked for in (besides ``fields.*``
#: and the ASN); the versions': file name and text
_DOC_TEXT = ("title", "correspondent", "type", "tags", "location")
_VERSION_TEXT = ("filename", "text")
_FOLDS: tuple[frozenset[str], tuple[str, ...]] | None = None


def _folds() -> tuple[frozenset[str], tuple[str, ...]]:
    """What casefolding makes of the characters lower case leaves alone:
    the single characters and the longer sequences. Every difference lies
    in the BMP (0xFB17 at most); blocks of 256 whose casefold is their
    lower case are passed over (one test instead of 256: ~2 ms, not ~40,
    at a session's first search)."""
    chars, seqs = set(), set()
    for block in range(0, 0x10000, 256):
        text = "".join(map(chr, range(block, block + 256)))
        if text.casefold() == text.lower():
            continue
        for ch in text:
            folded = ch.casefold()
            if folded != ch.lower():
                (chars if len(folded) == 1 else seqs).add(folded)
    return frozenset(chars), tuple(sorted(seqs))


def _store_needle(word: str) -> str:
    """The longest piece of a (case-folded) search word that the store's
    ``Contains`` finds wherever Python's ``casefold`` does: without what
    casefolding makes of characters lower case leaves alone ("ss" from "ß",
    "fi" from "ﬁ", "s" from "ſ", "σ" from "ς" — PostgreSQL's ILIKE folds by
    lower case). "" when nothing is left."""
    global _FOLDS
    if _FOLDS is None:
        _FOLDS = _folds()
    chars, seqs = _FOLDS
    unsafe = [c in chars for c in word]
    for seq in seqs:
        i = word.find(seq)
        while i >= 0:
            unsafe[i:i + len(seq)] = [True] * len(seq)
            i = word.find(seq, i + 1)
    best, run = "", ""
    for c, bad in zip(word, unsafe):
        run = "" if bad else run + c
        if len(run) > len(best):
            best = run
    return best


#: every ASN a number can be (a Range's bound pins the order to numbers: an index on PostgreSQL)
_ANY_NUMBER = sys.float_info.max


def _search_order(doc: dict) -> tuple:
    """The register's order: highest ASN first (none last), then by id."""
    asn = doc.get("asn")
    return (0, -asn, doc["id"]) if isinstance(asn, (int, float)) and not isinstance(asn, bool) \
        else (1, 0, doc["id"])


class SearchResults:
    """The documents a search finds, newest (highest ASN) first, read a page
    at a time: :meth:`count` and :meth:`page` (documents with ``snippet``
    and ``terms``, as :func:`search` gives them).

    ``shown``: only those whose ASN, title, type or correspondent contains
    this too (the register's ``/``).

    The store does the finding: a search without words pages the documents
    table (LIMIT/OFFSET by ASN). One or two words alone are one query of the
    documents table: each word in the words of the document's fields and
    ASN or of its current file, kept on the document
    (:func:`models.search_fields`) — the store counts them and reads the
    page, nothing else leaves it (:meth:`_word_where`). Otherwise (more
    words, a phrase, ``from:``, ``dir:``, ``/``, or documents whose file's
    words are not filled in yet) each word asks the store
    which documents' fields and which versions' file names and texts
    contain it (two ``Contains`` queries), and the documents found for
    every word, with the word in their fields or in their *current*
    version, are the results — their ids and ASNs are kept, nothing else.
    Only phrases, words the store cannot fold like Python (see
    :func:`_store_needle`) and ``tag:``/``type:`` read the candidates'
    documents (and, for the first two, their current versions' text) to
    test them exactly as the register always did.
    """

    def __init__(self, ctx, query: str, *, shown: str = "") -> None:
        ctx.require(READ)
        self.ctx = ctx
        self.terms, self.filters = parse_query(query)
        #: the register's ``/``: the ASN, title, type or correspondent contains this too
        self.shown = shown.casefold()
        self._ids: list[int] | None = None
        #: the store's query of the documents found, when it can say (_word_where)
        self._where: dict | None = self._word_where() if self.terms else None
        self._count: int | None = None
        if self._where is None and (self.terms or self.filters or self.shown):
            # tens of thousands of short-lived rows and sets ("rechnung": 9,274
            # versions, 7,411 documents): the cyclic collector's passes over the
            # session's whole heap meanwhile would find no garbage (~30-60 ms)
            with gc_held():
                self._ids = self._find()

    # -- what a page shows
    def count(self) -> int:
        if self._ids is not None:
            return len(self._ids)
        if self._count is None:  # asked once: the count the results were read against
            self._count = self.ctx.table("documents").count(self._where)
        return self._count

    def page(self, offset: int, limit: int, *, after: dict | None = None, snippets: bool = True) -> list[dict]:
        """``limit`` results from ``offset`` on; ``after``: the result before
        ``offset`` (its ``id`` and ``asn``), when the caller has it — then a
        search without words reads the next page by ASN (a keyset page:
        "the ASNs below this one") instead of counting ``offset`` rows.
        ``snippets=False``: no ``snippet`` (the current versions not read;
        :meth:`snippet_of` gives one result's)."""
        docs_table = self.ctx.table("documents")
        if self._ids is None and self._where is not None:
            # the page's ids and ASNs (the store's columns, an index in ASN order), then
            # those documents (not every match's whole document read to sort them)
            found = self._after(after, limit, fields=("asn",)) if after is not None and offset else \
                self._from(offset, limit)
            wanted = [d["id"] for d in found]
            whole = {d["id"]: d for d in docs_table.find({"id": AnyOf(wanted)})} if wanted else {}
            docs = [whole[i] for i in wanted if i in whole]
        elif self._ids is None:
            docs = self._after(after, limit) if after is not None and offset else \
                docs_table.find(None, order_by=["-asn"], limit=limit, offset=offset)
        else:
            wanted = self._ids[offset:offset + limit]
            found = {d["id"]: d for d in docs_table.find({"id": AnyOf(wanted)})} if wanted else {}
            docs = [found[i] for i in wanted if i in found]
        current = self._current_versions(docs) if self.terms and snippets else {}
        out = []
        for doc in docs:
            hit = dict(doc)
            hit["terms"] = self.terms
            if snippets:
                version = current.get(doc["id"])
                hit["snippet"] = snippet(version.get("text") or "", self.terms) if version and self.terms else ""
            out.append(hit)
        return out

    def snippet_of(self, doc: dict) -> str:
        """The ``snippet`` of one result (its current version's text around
        the first term; the screen's line under the table, for the row the
        cursor is on)."""
        if not self.terms:
            return ""
        version = self._current_versions([doc]).get(doc["id"])
        return snippet(version.get("text") or "", self.terms) if version else ""

    def _after(self, last: dict, limit: int, *, fields: tuple[str, ...] | None = None) -> list[dict]:
        """The ``limit`` documents after ``last`` in the register's order
        (:func:`_search_order`: highest ASN first, ties by id, those without
        an ASN last by id), each part a store query from where ``last`` was
        (of those the words find, when the store finds them: ``_where``)."""
        docs_table, where = self.ctx.table("documents"), self._where or {}
        asn, last_id = last.get("asn"), last["id"]
        docs: list[dict] = []
        if isinstance(asn, (int, float)) and not isinstance(asn, bool):
            docs = docs_table.find({**where, "asn": asn, "id": Range(gt=last_id)}, order_by="id", limit=limit,
                                   fields=fields)
            if len(docs) < limit:
                # the Range pins the ASN to numbers: PostgreSQL reads an (ASN, id) index
                docs += docs_table.find({**where, "asn": Range(lt=asn)}, order_by=["-asn"],
                                        limit=limit - len(docs), fields=fields)
            last_id = None
        if len(docs) < limit:
            docs += docs_table.find({**where, "asn": None} if last_id is None else
                                    {**where, "asn": None, "id": Range(gt=last_id)},
                                    order_by="id", limit=limit - len(docs), fields=fields)
        return docs

    def _from(self, offset: int, limit: int) -> list[dict]:
        """``limit`` of the documents the words find from ``offset`` on (the
        first page, or a jump: End), their ids and ASNs: those with an ASN in
        ASN order, then those without by id."""
        docs_table, where = self.ctx.table("documents"), self._where or {}
        numbered = {**where, "asn": Range(le=_ANY_NUMBER)}
        docs = docs_table.find(numbered, order_by=["-asn"], limit=limit, offset=offset, fields=("asn",))
        if len(docs) < limit:
            skip = max(0, offset - docs_table.count(numbered)) if not docs else 0
            docs += docs_table.find({**where, "asn": None}, order_by="id", limit=limit - len(docs), offset=skip,
                                    fields=("asn",))
        return docs

    def _word_where(self) -> dict | None:
        """The store's query of the documents the words find, when one query
        can say: one or two words alone (no phrase, no ``from:``, ``tag:``,
        ``type:``, ``dir:`` or ``/``), each a run of word characters, and
        every document's ``file_words`` filled in (for the version that is
        current: models.search_fields) — each word in the words of the
        document's fields and ASN (``fields_words``) or of its current file
        (``file_words``), both case-folded as the terms are. None: the words
        are looked for in the versions (:meth:`_find`)."""
        if self.filters or self.shown:
            return None
        words = list(dict.fromkeys(self.terms))
        # a where holds each key once: the second word asks the two fields the other way round
        keys = [("fields_words", "file_words"), ("file_words", "fields_words")]
        if len(words) > len(keys) or not all(models.WORD.fullmatch(w) for w in words):
            return None
        # documents filed before they kept their words, or whose current version changed around
        # the service: their versions are read (TinyDB counts them from its segments' headers)
        if self.ctx.table("documents").count({"file_words_missing": True}):
            return None
        return {key: Contains(word) for key, word in zip(keys, words)}

    # -- finding
    def _current_versions(self, docs: list[dict]) -> dict[int, dict]:
        if not docs:
            return {}
        wanted = {(d["id"], d.get("current_version")) for d in docs}
        return {v["document_id"]: v
                for v in self.ctx.table("versions").find({"document_id": AnyOf(sorted({d["id"] for d in docs}))})
                if (v["document_id"], v["number"]) in wanted}

    def _doc_fields(self) -> tuple[str, ...] | None:
        """The documents' text fields (custom fields of every type too);
        None when a custom field's name cannot be a store path."""
        custom = sorted({f for t in self.ctx.table("types").all() for f in t.get("fields") or []})
        if any("." in f or not f for f in custom):
            return None
        return _DOC_TEXT + tuple(f"fields.{f}" for f in custom)

    def _filter_where(self) -> dict:
        """A store query every document the filters keep matches (it may match more)."""
        where: dict = {}
        f = self.filters
        if "dir" in f:
            where["direction"] = f["dir"]
        for key, field in (("from", "correspondent"), ("type", "type"), ("tag", "tags")):
            if key in f:
                needle = _store_needle(f[key].casefold().strip("/") if key == "tag" else f[key].casefold())
                if needle:
                    where[field] = Contains(needle)
        return where

    def _keeps(self, doc: dict) -> bool:
        f = self.filters
        if "tag" in f and not any(models.tag_matches(t, f["tag"]) for t in doc.get("tags") or []):
            return False
        if "type" in f and (doc.get("type") or "").casefold() != f["type"].casefold():
            return False
        if "from" in f and f["from"].casefold() not in (doc.get("correspondent") or "").casefold():
            return False
        if "dir" in f and doc.get("direction") != f["dir"]:
            return False
        return True

    def _find(self) -> list[int]:
        docs_table, versions = self.ctx.table("documents"), self.ctx.table("versions")
        where = self._filter_where()
        fields = self._doc_fields()
        words = [w for t in self.terms for w in t.split()]
        exact = fields is not None and all(" " not in t and not any(c.isspace() for c in t) for t in self.terms)
        candidates: set[int] | None = None
        if self.shown:
            needle = _store_needle(self.shown)
            if needle:
                candidates = {d["id"] for d in docs_table.find({**where, ("title", "type", "correspondent"):
                                                                Contains(needle)}, fields=())}
                candidates |= self._asn_containing(needle, where)
        in_doc: dict[str, set[int]] = {}
        in_version: dict[str, set[tuple[int, int]]] = {}
        if fields is not None:
            for word in dict.fromkeys(words):
                needle = _store_needle(word)
                if needle != word:
                    exact = False
                if not needle:
                    continue  # the store cannot narrow by it: tested below
                # ids (and the versions' document and number, the documents' order
                # and current version, for the test below): no text is read
                found = {d["id"] for d in docs_table.find({**where, fields: Contains(needle)},
                                                          fields=("asn", "current_version"))}
                found |= self._asn_containing(needle, where)
                pairs = {(v["document_id"], v["number"])
                         for v in versions.find({_VERSION_TEXT: Contains(needle)}, fields=("document_id", "number"))}
                in_doc[word], in_version[word] = found, pairs
                ids = found | {d for d, _n in pairs}
                candidates = ids if candidates is None else candidates & ids
                if not candidates:
                    return []
        # what the tests below look at: every field when the terms are tested
        # in the documents' text, else the order, the filters' and ``/``'s fields
        keep = None if self.terms and not (words and exact) else \
            ("asn", "current_version") + (("tags", "type", "correspondent", "direction") if self.filters else ()) \
            + (("title", "type", "correspondent") if self.shown else ())
        if candidates is None:
            docs = docs_table.find(where or None, fields=keep)
        elif keep is not None and 2 * len(candidates) > docs_table.count():
            # most of the register ("rechnung": 7,411 of 7,999): every document's
            # few fields in one read, without sending the store the ids
            docs = [d for d in docs_table.find(where or None, fields=keep) if d["id"] in candidates]
        else:
            docs = docs_table.find({**where, "id": AnyOf(sorted(candidates))}, fields=keep)
        docs = [d for d in docs if self._keeps(d)]
        if self.shown:
            docs = [d for d in docs if self.shown in str(d.get("asn") or "") or self.shown in "\n".join(
                str(d.get(k) or "") for k in ("title", "type", "correspondent")).casefold()]
        if words and exact:
            # every word was asked of the store as it is: its answers are the test (a
            # document's fields hold it, or its current version's name or text does)
            current = {d["id"]: d.get("current_version") for d in docs}
            kept = None
            for w in dict.fromkeys(words):
                hit = in_doc[w] | {doc for doc, number in in_version[w] if doc in current and current[doc] == number}
                kept = hit if kept is None else kept & hit
            docs = [d for d in docs if d["id"] in kept]
        elif self.terms:
            current = self._current_versions(docs)
            docs = [d for d in docs if all(t in _haystack(d, current.get(d["id"])) for t in self.terms)]
        docs.sort(key=_search_order)
        return [d["id"] for d in docs]

    def _asn_containing(self, needle: str, where: dict) -> set[int]:
        """Documents whose ASN's digits contain ``needle``."""
        if not needle.isdigit() or not needle.isascii():
            return set()
        top = self.ctx.table("documents").find(None, order_by=["-asn"], limit=1)
        highest = top[0].get("asn") if top else None
        if not isinstance(highest, int) or isinstance(highest, bool):
            return set()
        asns = [n for n in range(1, highest + 1) if needle in str(n)]
        out: set[int] = set()
        for i in range(0, len(asns), 1000):
            out |= {d["id"] for d in self.ctx.table("documents").find({**where, "asn": AnyOf(asns[i:i + 1000])},
                                                                      fields=())}
        return out


def search(ctx, query: str, *, limit: int | None = 200) -> list[dict]:
    """Documents matching ``query`` (metadata and file text), newest first.
    Each result has ``snippet`` (text around the first match in the file)
    and ``terms`` (for highlighting). :class:`SearchResults` pages them."""
    results = SearchResults(ctx, query)
    return results.page(0, limit if limit else results.count())


def snippet(text: str, terms: list[str], width: int = 70) -> str:
    """About ``width`` characters of ``text`` around the first matching term."""
    flat = " ".join(text.split())
    low = flat.casefold()
    positions = [low.find(t) for t in terms if low.find(t) >= 0]
    if not positions:
        return ""
    start = max(0, min(positions) - width // 3)
    piece = flat[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


def highlight_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of the terms in ``text`` (case-insensitive)."""
    low = text.casefold()
    spans = []
    for term in terms:
        if not term:
            continue
        i = low.find(term)
        while i >= 0:
            spans.append((i, i + len(term)))
            i = low.find(term, i + len(term))
    return sorted(spans)


def save_search(ctx, name: str, query: str) -> dict:
    ctx.require(READ)
    name = models._text(name, "name", required=True, limit=60)
    parse_query(query)
    if not query.strip():
        raise ValidationError(_("is required"), field="query")
    with ctx.transaction():
        table = ctx.table("searches")
        mine = table.find({"owner": ctx.operator.account, "name": name}, limit=1)
        if mine:
            return table.update(mine[0]["id"], {"query": query})
        sid = table.insert({"owner": ctx.operator.account, "name": name, "query": query,
                            "created_at": _iso(now_utc())})
        return table[sid]


def saved_searches(ctx) -> list[dict]:
    ctx.require(READ)
    return ctx.table("searches").find({"owner": ctx.operator.account}, order_by="name")


def saved_search(ctx, name: str) -> dict:
    for s in saved_searches(ctx):
        if s["name"].casefold() == (name or "").casefold():
            return s
    raise UnknownRecord(_("no saved search named {name!r}").format(name=str(name)[:60]))


def delete_search(ctx, search_id: Any) -> None:
    ctx.require(READ)
    search_id = _int_id(search_id, "saved search")
    with ctx.transaction():
        found = ctx.table("searches").get(search_id)
        if found is None or found.get("owner") != ctx.operator.account:
            raise UnknownRecord(_("no saved search with id {id}").format(id=search_id))
        ctx.table("searches").delete(search_id)


# ---------------------------------------------------------------- intake
def _inbox_files(inbox: Path) -> list[Path]:
    out = []
    for entry in sorted(inbox.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        out.append(entry)
    return out


def scan_inbox(ctx) -> dict:
    """Look for new files in the inbox folder: each becomes an intake item
    with the fields the matching rules suggest. -> counts."""
    ctx.require(FILE)
    inbox = inbox_dir(ctx)
    if not inbox.exists():
        private_dir(inbox)
    if not inbox.is_dir():
        raise ValidationError(_("the inbox {path} is not a folder").format(path=str(inbox)[:120]), field="inbox")
    counts = {"new": 0, "gone": 0, "finished": 0, "split": 0}
    found = {}
    for path in _inbox_files(inbox):
        try:
            resolved = path.resolve()
            if inbox.resolve() not in resolved.parents:
                continue  # a symlink out of the inbox is never read
            found[path.name] = (path, path.stat().st_size, path.stat().st_mtime_ns)
        except OSError:
            continue
    table = ctx.table("intake")
    known = {(r["filename"], r.get("mtime_ns"), r.get("size")): r for r in table.find({"status": AnyOf(["waiting", "refused"])})}
    found, split_from = _split_batches(ctx, found, known, counts)
    new_rows = []
    for name, (path, size, mtime) in found.items():
        if (name, mtime, size) in known:
            continue
        row = {"filename": name, "size": size, "mtime_ns": mtime, "seen_at": _iso(now_utc()),
               "status": "waiting", "error": None, "document_id": None}
        if name in split_from:
            row["split_from"] = split_from[name]
        try:
            models.check_filename(name)
            if size > max_bytes(ctx):
                raise ValidationError(_("{name} is {mb:.1f} MB, more than the limit of {limit} MB").format(
                    name=name[:80], mb=size / 1e6, limit=max_bytes(ctx) // 1_000_000), field="file")
            sha = blobs.sha256_of(path)
            filed = ctx.table("versions").find({"sha256": sha}, limit=1)
            done = table.find({"sha256": sha, "status": "filed"}, limit=1)
            if done and filed:
                # filed before a crash kept it from leaving the inbox: finish now
                os.unlink(path)
                counts["finished"] += 1
                continue
            text = blobs.extract_text(path, name)
            hint = suggest(ctx, f"{name}\n{text}")
            row.update({"sha256": sha, "suggested": {k: hint[k] for k in ("correspondent", "type", "tags")},
                        "excerpt": " ".join(text.split())[:300]})
        except ValidationError as exc:
            row.update({"status": "refused", "error": exc.message, "sha256": None, "suggested": {}})
        except OSError as exc:
            continue  # vanished or unreadable while we looked; next scan
        new_rows.append(row)
    with ctx.transaction():
        for r in table.find({"status": AnyOf(["waiting", "refused"])}):
            cur = found.get(r["filename"])
            if cur is None or (cur[1], cur[2]) != (r.get("size"), r.get("mtime_ns")):
                table.update(r["id"], {"status": "gone"})
                counts["gone"] += 1
        for row in new_rows:
            if table.find({"filename": row["filename"], "status": AnyOf(["waiting", "refused"]),
                           "mtime_ns": row["mtime_ns"]}, limit=1):
                continue  # another process took it in meanwhile
            table.insert(row)
            counts["new"] += 1
    return counts


def _split_batches(ctx, found: dict, known: dict, counts: dict) -> tuple[dict, dict[str, str]]:
    """Split the new PDFs in ``found`` that hold separator sheets (the
    ``separator_barcode`` setting) into their parts, in the inbox. -> ``found``
    with each batch replaced by its parts in its place, {part's name: the
    batch's name}."""
    code = (ctx.settings.get("separator_barcode") or "").strip()
    if not code:
        return found, {}
    out: dict = {}
    batches: dict[str, str] = {}
    for name, (path, size, mtime) in found.items():
        parts = None
        if (name, mtime, size) not in known and size <= max_bytes(ctx) and name.lower().endswith(".pdf"):
            try:
                models.check_filename(name)
                parts = separators.split_batch(path, code)
            except ValidationError:
                pass  # refused as it is, with the reason, by the caller
        if parts is None:
            out[name] = (path, size, mtime)
            continue
        counts["split"] += 1
        for part in parts:
            try:
                stat = part.stat()
            except OSError:
                continue  # taken in and filed by another process meanwhile
            out[part.name] = (part, stat.st_size, stat.st_mtime_ns)
            batches[part.name] = name
    return out, batches


def intake_queue(ctx, *, include_done: bool = False) -> list[dict]:
    ctx.require(READ)
    where = None if include_done else {"status": AnyOf(["waiting", "refused"])}
    return ctx.table("intake").find(where, order_by="id")


def file_intake(ctx, intake_id: Any, meta: dict | None = None) -> dict:
    """File an intake item as a document; the file leaves the inbox only
    after the document is committed."""
    ctx.require(FILE)
    intake_id = _int_id(intake_id, "intake item")
    row = ctx.table("intake").get(intake_id)
    if row is None:
        raise UnknownRecord(_("no intake item with id {id}").format(id=intake_id))
    if row["status"] != "waiting":
        raise ValidationError(_("intake item {id} is {status}, not waiting").format(
            id=intake_id, status=models.label(models.INTAKE_STATUS_TITLES, row["status"])), field="id")
    inbox = inbox_dir(ctx)
    path = inbox / models.check_filename(row["filename"])
    meta = dict(meta or {})
    suggested = row.get("suggested") or {}
    for key in ("correspondent", "type", "tags"):
        if not meta.get(key) and suggested.get(key):
            meta[key] = suggested[key]
    if path.exists() and blobs.sha256_of(path) != row.get("sha256"):
        raise ValidationError(_("{name} changed since it arrived; scan the inbox again").format(
            name=row["filename"]), field="file")
    with ctx.transaction():
        fresh = ctx.table("intake").get(intake_id)
        if fresh["status"] != "waiting":
            raise ValidationError(_("intake item {id} was filed by someone else").format(id=intake_id), field="id")
    doc = add_document(ctx, path, meta, source="inbox", _allowed_root=inbox, _intake_id=intake_id)
    try:
        os.unlink(path)
    except OSError:
        pass  # the next scan finishes it
    return doc


def file_chosen(ctx, path: Any, meta: dict | None = None) -> dict:
    """File the file an operator chose (the screens' folder tree): one in the
    inbox through its intake item (the rules' suggestions apply, the file
    leaves the inbox), any other as :func:`add_document` does."""
    chosen = Path(str(path)).expanduser()
    inbox = inbox_dir(ctx)
    if inbox.is_dir() and chosen.resolve().parent == inbox.resolve():
        ctx.require(FILE)
        for attempt in range(2):
            found = ctx.table("intake").find({"filename": chosen.name, "status": "waiting"}, limit=1)
            if found:
                return file_intake(ctx, found[0]["id"], meta)
            if not attempt:
                scan_inbox(ctx)  # arrived since the last round of the worker
    return add_document(ctx, chosen, meta)


# ---------------------------------------------------------------- outbox
def _resolve_recipients(ctx, to: Iterable[str] | str) -> list[dict]:
    items = [t.strip() for t in (to.split(",") if isinstance(to, str) else to) if t and t.strip()]
    if not items:
        raise ValidationError(_("at least one recipient is required"), field="to")
    if len(items) > models.MAX_RECIPIENTS:
        raise ValidationError(_("too many recipients (at most {n})").format(n=models.MAX_RECIPIENTS), field="to")
    out = []
    people = ctx.services.people
    for item in items:
        if "@" in item:
            out.append({"address": models.check_email(item)})
            continue
        if item.lstrip("#").isdigit():
            person = people.get(int(item.lstrip("#")))
            if person is None:
                raise ValidationError(_("no person with id {id}").format(id=item.lstrip("#")), field="to")
        else:
            found = [p for p in people.find(item) if p.get("status") != "left"]
            if len(found) != 1:
                raise ValidationError(
                    (_("no one in the directory matches {text!r}") if not found else
                     _("{n} people match {text!r}; be more precise")).format(text=item[:40], n=len(found)),
                    field="to")
            person = found[0]
        if not person.get("email"):
            raise ValidationError(_("{name} has no email address in the directory").format(name=person["name"]),
                                  field="to")
        out.append({"person_id": person["id"]})
    return out


def _new_job_id(ctx) -> str:
    from plugins.documents.mail import new_message_id

    return new_message_id(ctx.settings.get("smtp_from") or "backdesk@backdesk.local")


def queue_email(ctx, doc_id: Any, to: Iterable[str] | str, *, subject: str = "", body: str = "") -> dict:
    """Queue the document's current version for email; -> the outbox row."""
    ctx.require(SEND)
    recipients = _resolve_recipients(ctx, to)
    subject = models._text(subject, "subject", limit=200)
    if not isinstance(body, str) or len(body) > models.MAX_NOTE:
        raise ValidationError(_("is too long (at most {n} characters)").format(n=models.MAX_NOTE), field="body")
    if not ctx.settings.get("smtp_from"):
        raise ValidationError(_("the smtp_from setting is empty: set the sender address in plugins.yaml"),
                              field="smtp_from")
    with ctx.transaction():
        doc = get_document(ctx, doc_id)
        ver = current_version(ctx, doc)
        row = {"kind": "email", "document_id": doc["id"], "version": ver["number"], "recipients": recipients,
               "to": None, "subject": subject or doc["title"], "body": body, "status": "queued",
               "attempts": 0, "next_attempt_at": _iso(now_utc()), "last_error": None,
               "message_id": _new_job_id(ctx), "transport": "smtp", "job_id": None,
               "created_at": _iso(now_utc()), "created_by": ctx.operator.account, "sent_at": None}
        oid = ctx.table("outbox").insert(row)
        _history(ctx, doc["id"], "email_queued", outbox_id=oid)
        return ctx.table("outbox")[oid]


def queue_fax(ctx, doc_id: Any, number: str, *, cover_note: str = "") -> dict:
    ctx.require(SEND)
    number = models.check_fax_number(number)
    if not isinstance(cover_note, str) or len(cover_note) > models.MAX_NOTE:
        raise ValidationError(_("is too long (at most {n} characters)").format(n=models.MAX_NOTE), field="cover_note")
    transport = ctx.settings["fax_transport"]
    if transport not in transports(ctx):
        raise ValidationError(_("unknown fax transport {name!r} (known: {known})").format(
            name=transport, known=", ".join(sorted(transports(ctx)))), field="fax_transport")
    with ctx.transaction():
        doc = get_document(ctx, doc_id)
        ver = current_version(ctx, doc)
        row = {"kind": "fax", "document_id": doc["id"], "version": ver["number"], "recipients": [],
               "to": number, "subject": doc["title"], "body": cover_note, "status": "queued",
               "attempts": 0, "next_attempt_at": _iso(now_utc()), "last_error": None,
               "message_id": _new_job_id(ctx), "transport": transport, "job_id": None,
               "created_at": _iso(now_utc()), "created_by": ctx.operator.account, "sent_at": None}
        oid = ctx.table("outbox").insert(row)
        _history(ctx, doc["id"], "fax_queued", outbox_id=oid, number=number)
        return ctx.table("outbox")[oid]


def queue_reply(ctx, *, to: str, subject: str, body: str, message_id: str, in_reply_to: str = "",
                references: Iterable[str] = ()) -> dict:
    """Queue a mail without a document — another plugin's answer to a mail
    it was handed (IT's helpdesk, through the ``it.mail_to_requester``
    event): sent by the outbox like any other, with the given Message-ID
    and threading headers. Called as a reaction (no permission of the
    operator's is asked); a second call with the same Message-ID returns
    the job already queued."""
    address = models.check_email(to)
    if not isinstance(message_id, str) or not re.fullmatch(r"<[^<>\s]{1,250}>", message_id):
        raise ValidationError(_("not a Message-ID: {value!r}").format(value=str(message_id)[:60]), field="message_id")
    subject = models._text(" ".join(str(subject).split())[:200], "subject", limit=200)
    body = str(body)[:models.MAX_NOTE * 5]
    refs = [r for r in references if isinstance(r, str) and re.fullmatch(r"<[^<>\s]{1,250}>", r)][-20:]
    with ctx.transaction():
        found = ctx.table("outbox").find({"message_id": message_id}, limit=1)
        if found:
            return found[0]
        row = {"kind": "email", "document_id": None, "version": None, "recipients": [{"address": address}],
               "to": None, "subject": subject, "body": body, "status": "queued", "attempts": 0,
               "next_attempt_at": _iso(now_utc()), "last_error": None, "message_id": message_id,
               "transport": "smtp", "job_id": None, "created_at": _iso(now_utc()),
               "created_by": ctx.operator.account, "sent_at": None,
               "in_reply_to": in_reply_to if re.fullmatch(r"<[^<>\s]{1,250}>", in_reply_to or "") else "",
               "references": refs}
        oid = ctx.table("outbox").insert(row)
        return ctx.table("outbox")[oid]


def transports(ctx) -> dict:
    """Fax transports from every plugin's ``backdesk_fax_transports`` hook."""
    found: dict = {}
    for _rec, result in ctx.backdesk.host.call("backdesk_fax_transports"):
        if isinstance(result, dict):
            found.update(result)
    return found


def outbox(ctx, *, status: str | None = None, kind: str | None = None, limit: int | None = None) -> list[dict]:
    ctx.require(READ)
    where: dict[str, Any] = {}
    if status:
        where["status"] = status
    if kind:
        where["kind"] = kind
    return ctx.table("outbox").find(where or None, order_by=["-id"], limit=limit)


def _backoff(ctx, attempts: int) -> int:
    base = int(ctx.settings["retry_base_seconds"])
    return min(MAX_BACKOFF, base * (2 ** max(0, attempts - 1)))


def _claim(ctx, oid: int, now: datetime, force: bool) -> dict | None:
    """queued/failed → sending, under the lock; None when not ours to send."""
    with ctx.transaction():
        row = ctx.table("outbox").get(oid)
        if row is None or row["status"] not in ("queued", "failed"):
            return None
        if not force and (row.get("next_attempt_at") is None or _parse_iso(row["next_attempt_at"]) > now):
            return None
        return ctx.table("outbox").update(oid, {"status": "sending", "attempts": row["attempts"] + 1,
                                                "sending_since": _iso(now_utc()), "sending_by": ctx.operator.account})


def _deliver(ctx, row: dict) -> tuple[str, str | None]:
    """Hand the job to the server: -> (new status, transport job id)."""
    from plugins.documents import fax, mail

    if row["kind"] == "email" and row.get("document_id") is None:  # a reply without a document
        addresses = [r["address"] for r in row["recipients"]]
        msg = mail.build_message(sender=ctx.settings["smtp_from"], recipients=addresses, subject=row["subject"],
                                 body=row.get("body") or "", message_id=row["message_id"],
                                 in_reply_to=row.get("in_reply_to") or "", references=row.get("references") or ())
        mail.send_message(ctx.settings, msg, addresses)
        return "sent", None
    docs = ctx.table("documents")
    doc = docs.get(row["document_id"])
    if doc is None:
        raise mail.MailError(f"document {row['document_id']} no longer exists")
    ver = ctx.table("versions").find({"document_id": doc["id"], "number": row["version"]}, limit=1)
    if not ver:
        raise mail.MailError(f"version {row['version']} of document {doc['id']} is missing")
    ver = ver[0]
    path = file_of(ctx, ver)
    if row["kind"] == "email":
        addresses = []
        for r in row["recipients"]:
            if r.get("address"):
                addresses.append(r["address"])
            else:
                # the address is looked up when sending: people are never copied
                person = ctx.backdesk.table("core.people").get(r["person_id"])
                if not person or not person.get("email"):
                    raise mail.MailError(f"person {r['person_id']} has no email address")
                addresses.append(person["email"])
        more = [_attachment(ctx, a["document_id"], a["version"]) for a in row.get("attachments") or ()]
        msg = mail.build_message(sender=ctx.settings["smtp_from"], recipients=addresses, subject=row["subject"],
                                 body=row.get("body") or "", message_id=row["message_id"], attachment=path,
                                 filename=ver["filename"], mime=ver.get("mime") or "application/octet-stream",
                                 more=more)
        mail.send_message(ctx.settings, msg, addresses)
        return "sent", None
    factory = transports(ctx).get(row["transport"])
    if factory is None:
        raise fax.FaxError(f"unknown fax transport {row['transport']!r}")
    transport = factory(ctx, ctx.settings)
    job_id = transport.submit(row["to"], [(path, ver["filename"], ver.get("mime") or "")],
                              row.get("body") or "", row["message_id"])
    return ("sent" if getattr(transport, "delivered_on_submit", False) else "submitted"), str(job_id)


def _attachment(ctx, doc_id: int, number: int) -> tuple[Path, str, str]:
    """A further attachment of an email (a handed-over invoice's XML):
    (its file, file name, MIME type)."""
    from plugins.documents import mail

    ver = ctx.table("versions").find({"document_id": doc_id, "number": number}, limit=1)
    if not ver:
        raise mail.MailError(f"version {number} of document {doc_id} is missing")
    return file_of(ctx, ver[0]), ver[0]["filename"], ver[0].get("mime") or "application/octet-stream"


def send_one(ctx, oid: int, *, now: datetime | None = None, force: bool = False) -> dict | None:
    """Try to send outbox job ``oid`` once if it is due (or ``force``)."""
    from plugins.documents import fax, mail

    now = now or now_utc()
    row = _claim(ctx, oid, now, force)
    if row is None:
        return None
    try:
        status, job_id = _deliver(ctx, row)
        error = None
    except (mail.MailError, fax.FaxError, BackdeskError, OSError) as exc:
        status, job_id, error = "failed", None, str(exc)[:300]
    with ctx.transaction():
        changes: dict[str, Any] = {"status": status, "last_error": error, "sending_since": None}
        if status == "failed":
            if row["attempts"] >= int(ctx.settings["max_attempts"]):
                changes["next_attempt_at"] = None  # given up: an operator retries by hand
            else:
                changes["next_attempt_at"] = _iso(now_utc() + timedelta(seconds=_backoff(ctx, row["attempts"])))
        else:
            changes["next_attempt_at"] = None
            changes["job_id"] = job_id
            if status == "sent":
                changes["sent_at"] = _iso(now_utc())
        done = ctx.table("outbox").update(oid, changes)
        if row.get("document_id") is not None:
            _history(ctx, row["document_id"], f"{row['kind']}_{status}", outbox_id=oid, error=error)
        if status == "failed" and changes["next_attempt_at"] is None:
            _tell_sender(ctx, done)
    return done


def _tell_sender(ctx, row: dict) -> None:
    """The operator who queued a job that finally failed finds it in their
    notifications (linked to the Outbox), not only on the Outbox screen."""
    account = row.get("created_by")
    if not account or account not in ctx.config.operators:
        return
    to = row.get("to") or ", ".join(r.get("address") or f"#{r.get('person_id')}" for r in row.get("recipients") or ())
    text = (_("The fax of “{title}” to {to} failed after {n} tries: {error}. Requeue it in the Outbox (q).")
            if row["kind"] == "fax" else
            _("The email “{title}” to {to} failed after {n} tries: {error}. Requeue it in the Outbox (q)."))
    ctx.services.notifications.notify(account, text.format(
        title=row.get("subject") or "", to=to, n=row.get("attempts") or 1,
        error=(row.get("last_error") or row.get("transport_state") or _("no reason given")).rstrip(".")),
        kind="warning", link="documents.outbox", data={"outbox_id": row["id"]})


def process_outbox(ctx, *, now: datetime | None = None, force: bool = False) -> dict:
    """Send what is due; mark stale ``sending`` jobs ``unknown``; poll fax
    status. ``force`` retries failed jobs now, whatever their backoff."""
    ctx.require(SEND)
    now = now or now_utc()
    counts = {"sent": 0, "submitted": 0, "failed": 0, "unknown": 0}
    table = ctx.table("outbox")
    with ctx.transaction():
        for row in table.find({"status": "sending"}):
            since = row.get("sending_since")
            if since and now - _parse_iso(since) > STALE_SENDING:
                table.update(row["id"], {"status": "unknown", "last_error": _(
                    "the sending process stopped before it recorded the outcome; check whether it arrived "
                    "(Message-ID {mid}) and requeue it only if not").format(mid=row["message_id"])})
                counts["unknown"] += 1
    for row in table.find({"status": AnyOf(["queued", "failed"])}, order_by="id"):
        if row["status"] == "failed" and row.get("next_attempt_at") is None and not force:
            continue
        done = send_one(ctx, row["id"], now=now, force=force)
        if done is not None:
            counts[done["status"]] = counts.get(done["status"], 0) + 1
    poll_fax_status(ctx)
    return counts


def requeue(ctx, oid: Any) -> dict:
    """Send a failed or ``unknown`` job again (an operator's decision)."""
    ctx.require(SEND)
    oid = _int_id(oid, "outbox job")
    with ctx.transaction():
        row = ctx.table("outbox").get(oid)
        if row is None:
            raise UnknownRecord(_("no outbox job with id {id}").format(id=oid))
        if row["status"] not in ("failed", "unknown"):
            raise ValidationError(_("outbox job {id} is {status}; only failed or unknown jobs are requeued").format(
                id=oid, status=models.label(models.OUTBOX_STATUS_TITLES, row["status"])), field="id")
        return ctx.table("outbox").update(oid, {"status": "queued", "next_attempt_at": _iso(now_utc()),
                                                "sending_since": None})


def poll_fax_status(ctx) -> int:
    """Ask the transports about submitted fax jobs; -> how many changed."""
    table = ctx.table("outbox")
    rows = table.find({"kind": "fax", "status": "submitted"})
    by_transport: dict[str, list[dict]] = {}
    for r in rows:
        by_transport.setdefault(r["transport"], []).append(r)
    changed = 0
    for name, items in by_transport.items():
        factory = transports(ctx).get(name)
        if factory is None:
            continue
        try:
            states = factory(ctx, ctx.settings).status([r["job_id"] for r in items])
        except Exception as exc:  # the server is away: try again next time
            for r in items:
                if r.get("last_error") != str(exc)[:300]:
                    table.update(r["id"], {"last_error": str(exc)[:300]})
            continue
        with ctx.transaction():
            for r in items:
                state = states.get(str(r["job_id"]))
                if state is None or state == r.get("transport_state"):
                    continue
                changes = {"transport_state": state, "last_error": None}
                if state in ("sent", "failed"):
                    changes["status"] = state
                    if state == "sent":
                        changes["sent_at"] = _iso(now_utc())
                    else:
                        changes["next_attempt_at"] = None  # the fax server gave up: no retry of ours
                done = table.update(r["id"], changes)
                if state == "failed":
                    _tell_sender(ctx, done)
                changed += 1
    return changed


# ---------------------------------------------------------------- dashboard
def counts_for_cards(ctx) -> dict:
    start = (now_utc() - timedelta(days=now_utc().weekday())).replace(hour=0, minute=0, second=0)
    retrying = sum(1 for row in ctx.table("outbox").find({"status": "failed"}) if row.get("next_attempt_at"))
    return {
        "intake": ctx.table("intake").count({"status": "waiting"}),
        "failed": ctx.table("outbox").count({"status": AnyOf(["failed", "unknown"])}) - retrying,
        "retrying": retrying,
        "queued": ctx.table("outbox").count({"status": AnyOf(["queued", "sending", "submitted"])}),
        "week": ctx.table("documents").count({"filed_at": Range(ge=_iso(start))}),
    }
