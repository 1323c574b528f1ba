"""Files another plugin hands over to be sent: filed, then queued.

Accounting publishes ``accounting.send_to_customer`` (an invoice or a
reminder for a customer) with its files, the address and the Message-ID it
recorded; this plugin, reacting to it, files the files as one outgoing
document each (so what left the office is in the register, with its
correspondent and date) and queues one outbox job: an email with all of
them attached, or a fax of the first. Called as a reaction (the operator's
permissions are not asked here: the publisher checked ``documents.send``);
a second call with the same Message-ID returns the job already queued, so a
retried event sends nothing twice.
"""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
from pathlib import Path

from core.errors import ValidationError
from plugins.documents import models
from plugins.documents import service as svc
from plugins.documents.models import _

_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
MAX_FILES = 5


def _decoded(files, limit: int) -> list[tuple[str, bytes]]:
    if not isinstance(files, list) or not 1 <= len(files) <= MAX_FILES:
        raise ValidationError(_("one to {n} files are sent at once").format(n=MAX_FILES), field="files")
    out = []
    for item in files:
        name = models.check_filename(str((item or {}).get("filename") or ""))
        try:
            data = base64.b64decode(str(item.get("data") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(_("{name} is not base64").format(name=name), field="files") from None
        if not data or len(data) > limit:
            raise ValidationError(_("{name} is empty or too large").format(name=name), field="files")
        out.append((name, data))
    return out


def queue_handed_over(ctx, data: dict, *, source: str) -> dict:
    """File ``data["files"]`` as outgoing documents and queue them to
    ``data["to"]`` by ``data["via"]`` (``email`` or ``fax``) under
    ``data["message_id"]``; -> the outbox job."""
    message_id = str(data.get("message_id") or "")
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValidationError(_("not a Message-ID: {value!r}").format(value=message_id[:60]), field="message_id")
    via = data.get("via")
    if via not in ("email", "fax"):
        raise ValidationError(_("must be email or fax"), field="via")
    to = models.check_email(str(data.get("to") or "")) if via == "email" else \
        models.check_fax_number(str(data.get("to") or ""))
    subject = models._text(" ".join(str(data.get("subject") or "").split())[:200], "subject", limit=200)
    body = str(data.get("body") or "")[:models.MAX_NOTE]
    files = _decoded(data.get("files"), svc.max_bytes(ctx))
    outbox = ctx.table("outbox")
    with ctx.transaction():
        found = outbox.find({"message_id": message_id}, limit=1)
        if found:
            return found[0]
        if via == "email" and not ctx.settings.get("smtp_from"):
            raise ValidationError(_("the smtp_from setting is empty: set the sender address in plugins.yaml"),
                                  field="smtp_from")
        transport = "smtp" if via == "email" else ctx.settings["fax_transport"]
        if via == "fax" and transport not in svc.transports(ctx):
            raise ValidationError(_("unknown fax transport {name!r}").format(name=transport), field="fax_transport")
        meta = {"title": (str(data.get("title") or "") or files[0][0])[:models.MAX_TITLE],
                "correspondent": str(data.get("correspondent") or "")[:models.MAX_TEXT_FIELD],
                "direction": "outgoing", "date": data.get("date") or None, "tags": [source]}
        docs = []
        with tempfile.TemporaryDirectory(prefix="backdesk-outgoing-") as tmp:
            for name, raw in files:
                path = Path(tmp) / name
                path.write_bytes(raw)
                title = meta["title"] if not docs else f"{meta['title']} ({name})"[:models.MAX_TITLE]
                docs.append(svc.add_document(ctx, path, {**meta, "title": title}, filename=name, source=source))
        versions = [{"document_id": d["id"], "version": d["current_version"]} for d in docs]
        now = svc._iso(svc.now_utc())
        row = {"kind": via, "document_id": docs[0]["id"], "version": docs[0]["current_version"],
               "attachments": versions[1:] if via == "email" else [],
               "recipients": [{"address": to}] if via == "email" else [], "to": None if via == "email" else to,
               "subject": subject, "body": body, "status": "queued", "attempts": 0, "next_attempt_at": now,
               "last_error": None, "message_id": message_id, "transport": transport, "job_id": None,
               "created_at": now, "created_by": ctx.operator.account, "sent_at": None, "source": source}
        oid = outbox.insert(row)
        for d in docs:
            svc._history(ctx, d["id"], f"{via}_queued", outbox_id=oid, **({"number": to} if via == "fax" else {}))
        return outbox[oid]
