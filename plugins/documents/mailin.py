"""Mail intake: the configured mailboxes read over IMAP, each mail handled
once by its mailbox's purpose, then moved to the processed folder.

Purposes: ``documents`` (here: every attachment filed as a document through
the matching rules, the sender as correspondent when no rule names one; the
mail itself too with ``file_mail``, or when it has no attachment), and what
other plugins offer through the ``backdesk_mail_purposes`` hook (IT:
``helpdesk``).

Never twice, never lost. For each mail in the folder, by its UID:

1. a mail already recorded in ``documents.mails`` (mailbox, UIDVALIDITY and
   UID — or, after the server renumbered the folder, the same bytes with the
   same Message-ID) is not handled again: a handled one still in the folder
   is only moved, a refused one is left where it is;
2. otherwise it is fetched (not marked read), checked, and its attachments
   are stored in the content store; then **one transaction** files the
   documents (or lets the purpose's handler make its change) and records the
   mail as handled;
3. then it is moved to ``processed_folder`` and the record says so.

A process killed before 2's commit leaves nothing recorded (the stored files
are orphans ``docs check --orphans`` finds): the next round handles the mail
again, once. Killed between the commit and the move, the next round finds
the record and only moves the mail. A mail that cannot be handled (over the
size limit, a broken MIME structure, a password-protected PDF, an image that
is not one) gets one line in the intake log (``docs mail log``), is left in
the folder, and is not fetched again.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path
from typing import Any, Callable

from core.errors import BackdeskError, ValidationError
from plugins.documents import files as blobs
from plugins.documents import imap, models, service
from plugins.documents.models import _

log = logging.getLogger(__name__)

#: MIME defects that make a mail unreadable as a whole
BROKEN = {"StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect", "MultipartInvariantViolationDefect",
          "MissingHeaderBodySeparatorDefect", "InvalidMultipartContentTransferEncodingDefect"}
_IMAGE_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
                "image/tiff": (b"II*\x00", b"MM\x00*"), "image/gif": (b"GIF87a", b"GIF89a")}


class Refused(Exception):
    """The mail is not handled; ``str()`` is the line for the intake log."""


def mailboxes(ctx) -> dict[str, imap.Mailbox]:
    return dict(ctx.settings.get("mailboxes") or {})


def purposes(ctx) -> dict[str, Callable[..., dict] | None]:
    """Handlers by purpose from every plugin's ``backdesk_mail_purposes``,
    and ``documents`` (None: this module files the attachments itself)."""
    found: dict[str, Callable[..., dict] | None] = {"documents": None}
    for _rec, result in ctx.backdesk.host.call("backdesk_mail_purposes"):
        if isinstance(result, dict):
            found.update(result)
    return found


def outcome(row: dict) -> str:
    """What became of a mail, in words (the Mail log screen and `docs mail log`)."""
    if row.get("error"):
        return row["error"]
    docs = row.get("document_ids") or []
    if docs:
        return _.ngettext("filed as document {ids}", "filed as documents {ids}", len(docs)).format(
            ids=", ".join(str(d) for d in docs))
    result = row.get("result") or {}
    if result.get("ignored"):
        return _("ignored: {why}").format(why=result["ignored"])
    if result.get("follow_up_of"):
        return _("ticket #{id} opened, following up #{old}").format(id=result["ticket_id"], old=result["follow_up_of"])
    if result.get("comment_id"):
        return _("added to ticket #{id}").format(id=result["ticket_id"])
    if result.get("ticket_id"):
        return _("ticket #{id} opened").format(id=result["ticket_id"])
    if result.get("same_as"):
        return _("the same mail as log entry {id}").format(id=result["same_as"])
    return ", ".join(f"{k} {v}" for k, v in result.items())


def mail_log(ctx, *, mailbox: str | None = None, status: str | None = None, limit: int | None = 50) -> list[dict]:
    """The intake log: handled, ignored and refused mails, newest first."""
    ctx.require(service.READ)
    where: dict[str, Any] = {}
    if mailbox:
        where["mailbox"] = mailbox
    if status:
        where["status"] = status
    return ctx.table("mails").find(where or None, order_by=["-id"], limit=limit)


def _recorded(ctx, box: imap.Mailbox, uidvalidity: int, uid: int) -> dict | None:
    found = ctx.table("mails").find({"key": f"{box.name}:{uidvalidity}:{uid}"}, limit=1)
    return found[0] if found else None


def _same_mail(ctx, box: imap.Mailbox, sha: str) -> dict | None:
    found = ctx.table("mails").find({"mailbox": box.name, "sha256": sha, "status": "handled"}, limit=1)
    return found[0] if found else None


def fetch_mail(ctx, names: list[str] | None = None, *,
               on_step: Callable[[str, dict], None] | None = None) -> dict:
    """One round over the mailboxes (all, or those ``names``); -> counts of
    ``handled``, ``ignored``, ``refused``, ``moved`` (finished from an
    earlier round) and ``errors`` (one line per mailbox that failed).

    ``on_step(step, info)`` is told ``"stored"`` (the attachments are in the
    content store, nothing committed), ``"handled"`` (committed, not yet
    moved) and ``"moved"``."""
    ctx.require(service.FILE)
    boxes = mailboxes(ctx)
    if names:
        unknown = [n for n in names if n not in boxes]
        if unknown:
            raise ValidationError(_("no mailbox named {name!r} (configured: {known})").format(
                name=unknown[0][:40], known=", ".join(boxes) or "—"), field="mailbox")
        boxes = {n: boxes[n] for n in names}
    handlers = purposes(ctx)
    counts: dict[str, Any] = {"handled": 0, "ignored": 0, "refused": 0, "moved": 0, "errors": []}
    for box in boxes.values():
        handler = handlers.get(box.purpose)
        if box.purpose not in handlers:
            counts["errors"].append(_("mailbox {name}: no plugin handles the purpose {purpose!r} (known: {known})")
                                    .format(name=box.name, purpose=box.purpose, known=", ".join(sorted(handlers))))
            continue
        try:
            _fetch_box(ctx, box, handler, counts, on_step)
        except imap.MailboxError as exc:
            counts["errors"].append(str(exc))
    return counts


def _fetch_box(ctx, box: imap.Mailbox, handler, counts: dict, on_step) -> None:
    limit = service.max_bytes(ctx)
    with imap.Connection(box) as conn:
        uv = conn.uidvalidity
        for uid, size in conn.waiting().items():
            info = {"mailbox": box.name, "uid": uid, "uidvalidity": uv}
            row = _recorded(ctx, box, uv, uid)
            if row is not None:
                if row["status"] != "refused" and not row.get("moved"):
                    _move(ctx, conn, row, on_step, info)
                    counts["moved"] += 1
                continue
            if size > limit * 2:  # attachments are base64: a third larger than the files
                _refuse(ctx, box, uv, uid, None, imap.parse(conn.headers(uid)), _(
                    "the mail has {mb:.1f} MB, too large for attachments of at most {limit} MB").format(
                    mb=size / 1e6, limit=limit // 1_000_000))
                counts["refused"] += 1
                continue
            raw = conn.fetch(uid)
            sha = hashlib.sha256(raw).hexdigest()
            same = _same_mail(ctx, box, sha)
            if same is not None:  # the folder was renumbered (new UIDVALIDITY): handled before
                row = _record_again(ctx, same, box, uv, uid)
                _move(ctx, conn, row, on_step, info)
                counts["moved"] += 1
                continue
            try:
                row = _handle(ctx, box, uv, uid, raw, sha, handler, on_step, info)
            except (Refused, ValidationError) as exc:  # e.g. a barcode's ASN that is taken
                _refuse(ctx, box, uv, uid, sha, imap.parse(raw), str(exc))
                counts["refused"] += 1
                continue
            if row is None:  # another process handled it meanwhile
                continue
            counts[row["status"]] += 1
            if on_step is not None:
                on_step("handled", dict(info, record=row))
            _move(ctx, conn, row, on_step, info)


def _move(ctx, conn: imap.Connection, row: dict, on_step, info: dict) -> None:
    conn.move(row["uid"])
    with ctx.transaction():
        ctx.table("mails").update(row["id"], {"moved": True, "moved_at": service._iso(service.now_utc())})
    if on_step is not None:
        on_step("moved", info)


def _base_row(box: imap.Mailbox, uv: int, uid: int, sha: str | None, mail: imap.IncomingMail | None) -> dict:
    return {"mailbox": box.name, "purpose": box.purpose, "uidvalidity": uv, "uid": uid,
            "key": f"{box.name}:{uv}:{uid}", "sha256": sha,
            "message_id": mail.message_id if mail else "", "sender": mail.sender if mail else "",
            "subject": mail.subject if mail else "", "received_at": service._iso(service.now_utc()),
            "moved": False, "moved_at": None, "error": None, "document_ids": [], "result": {}}


def _refuse(ctx, box, uv, uid, sha, mail, error: str) -> None:
    line = " ".join(error.split())[:300]
    log.warning("mailbox %s: mail %s refused: %s", box.name, uid, line)
    with ctx.transaction():
        if _recorded(ctx, box, uv, uid) is None:
            ctx.table("mails").insert(dict(_base_row(box, uv, uid, sha, mail), status="refused", error=line))


def _record_again(ctx, same: dict, box, uv, uid) -> dict:
    with ctx.transaction():
        row = _recorded(ctx, box, uv, uid)
        if row is not None:
            return row
        new = {k: v for k, v in same.items() if k != "id"}
        new.update({"uidvalidity": uv, "uid": uid, "key": f"{box.name}:{uv}:{uid}", "moved": False,
                    "moved_at": None, "result": dict(same.get("result") or {}, same_as=same["id"])})
        rid = ctx.table("mails").insert(new)
        return ctx.table("mails")[rid]


def _handle(ctx, box, uv, uid, raw: bytes, sha: str, handler, on_step, info) -> dict | None:
    problems = [d for d in imap.defects(raw) if d in BROKEN]
    if problems:
        raise Refused(_("malformed MIME structure ({what})").format(what=", ".join(sorted(set(problems)))))
    mail = imap.parse(raw)
    prepared = _prepare(ctx, box, mail, raw)  # stores attachments; nothing committed
    try:
        if on_step is not None:
            on_step("stored", dict(info, files=[p["name"] for p in prepared]))
        with ctx.transaction():
            if _recorded(ctx, box, uv, uid) is not None:
                return None
            if handler is None:
                result = file_attachments(ctx, mail, box, prepared=prepared)
            else:
                result = handler(mail, box)
            result = dict(result or {})
            status = "ignored" if result.get("ignored") else "handled"
            row = dict(_base_row(box, uv, uid, sha, mail), status=status,
                       document_ids=list(result.pop("document_ids", [])), result=result)
            rid = ctx.table("mails").insert(row)
            return ctx.table("mails")[rid]
    except BaseException:
        for p in prepared:
            if not p["known"]:
                service._discard_unreferenced(ctx, p["sha"])
        raise


def _check_attachment(att: imap.Attachment, limit: int) -> None:
    if len(att.data) > limit:
        raise Refused(_("{name} has {mb:.1f} MB, more than the limit of {limit} MB").format(
            name=att.filename[:80], mb=len(att.data) / 1e6, limit=limit // 1_000_000))
    mime = blobs.guess_mime(att.filename)
    if mime in _IMAGE_MAGIC or att.mime in _IMAGE_MAGIC:
        magic = _IMAGE_MAGIC.get(mime) or _IMAGE_MAGIC[att.mime]
        if not att.data.startswith(magic):
            raise Refused(_("{name} is not the image it claims to be").format(name=att.filename[:80]))
    if mime == "application/pdf" or att.mime == "application/pdf":
        if not att.data.startswith(b"%PDF"):
            raise Refused(_("{name} is not a PDF").format(name=att.filename[:80]))
        import io

        from pypdf import PdfReader  # heavy: only for a PDF

        try:
            encrypted = PdfReader(io.BytesIO(att.data)).is_encrypted
        except Exception:
            raise Refused(_("{name} is a damaged PDF").format(name=att.filename[:80])) from None
        if encrypted:
            raise Refused(_("{name} is a password-protected PDF").format(name=att.filename[:80]))


def _prepare(ctx, box: imap.Mailbox, mail: imap.IncomingMail, raw: bytes) -> list[dict]:
    """Check the files a ``documents`` mailbox files and put them in the
    content store: ``name``, ``sha``, ``size``, ``text``, ``known``."""
    if box.purpose != "documents":
        return []
    limit = service.max_bytes(ctx)
    items = [(a.filename, a.data) for a in mail.attachments]
    for att in mail.attachments:
        _check_attachment(att, limit)
    if box.file_mail or not items:
        subject = imap.safe_filename(mail.subject, 0, "message/rfc822").rpartition(".")[0] or "mail"
        if len(raw) > limit:
            raise Refused(_("the mail has {mb:.1f} MB, more than the limit of {limit} MB").format(
                mb=len(raw) / 1e6, limit=limit // 1_000_000))
        items.append((f"{subject[:80]}.eml", raw))
    out: list[dict] = []
    try:
        with tempfile.TemporaryDirectory(prefix="backdesk-mail-") as tmp:
            for i, (name, data) in enumerate(items):
                try:
                    name = models.check_filename(name)
                except ValidationError:
                    name = imap.safe_filename(None, i + 1, blobs.guess_mime(name))
                path = Path(tmp) / f"{i}"
                path.write_bytes(data)
                sha, size, known = blobs.put(service.file_store(ctx), path, limit)
                out.append({"name": name, "sha": sha, "size": size, "known": known, "path": path,
                            "text": "", "asn": None})
                stored = service.file_store(ctx).local_path(sha)
                out[-1]["text"] = blobs.extract_text(stored, name)
                out[-1]["asn"] = service.barcode_asn(ctx, stored, name)
            for p in out:  # the sources go with the folder; the store has the bytes
                p["path"] = service.file_store(ctx).local_path(p["sha"])
    except BaseException:
        for p in out:
            if not p["known"]:
                service._discard_unreferenced(ctx, p["sha"])
        raise
    return out


def file_attachments(ctx, mail: imap.IncomingMail, box: imap.Mailbox, *, prepared: list[dict]) -> dict:
    """The ``documents`` purpose, inside the intake's transaction: each
    prepared file becomes a document; -> ``{"document_ids": [...]}``."""
    hint = f"{mail.sender}\n{mail.sender_name}\n{mail.subject}"
    sender = mail.sender_name or mail.sender
    ids = []
    for p in prepared:
        meta = {"title": Path(p["name"]).stem[:models.MAX_TITLE] or p["name"], "direction": "incoming",
                "date": mail.date, "tags": list(box.tags)}
        try:
            clean = service._clean_meta(ctx, meta)
        except ValidationError:  # a tag the mailbox names is refused: file without it
            clean = service._clean_meta(ctx, dict(meta, tags=[]))
        doc, _dups = service._file_new(ctx, clean, None, p["path"], p["sha"], p["size"], p["name"], p["text"],
                                       "mail", None, hint=hint, fallback_correspondent=sender[:models.MAX_TEXT_FIELD],
                                       asn=p["asn"])
        ids.append(doc["id"])
    return {"document_ids": ids}


def watch_mail(ctx, stop, *, interval: float, on_round: Callable[[dict], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> None:
    """Fetch every ``interval`` seconds until ``stop`` (a threading.Event)
    is set: ``backdesk docs mail watch``. A round in progress is finished."""
    if interval <= 0:
        raise ValidationError(_("the interval must be more than 0 seconds"), field="every")
    while not stop.is_set():
        try:
            counts = fetch_mail(ctx)
            if on_round is not None:
                on_round(counts)
        except (BackdeskError, OSError) as exc:
            if on_error is None:
                raise
            on_error(exc)
        stop.wait(interval)

