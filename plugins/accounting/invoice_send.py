"""Sending an invoice or a reminder to the customer: by email with the
Factur-X PDF attached (and the XRechnung XML for a customer who asks for
it), or by fax.

Accounting does not send mail itself, and plugins never import each other:
it publishes ``accounting.send_to_customer`` with the files and the
address, and the documents plugin, reacting to it, files them as an
outgoing document and queues them in its outbox (SMTP, or the fax
transport), which retries and reports. The invoice keeps when, how and to
whom it was sent, with the outbox job's Message-ID; :func:`deliveries`
reads how far the outbox got with it (``documents.outbox``, read-only).

The event carries the files (base64): a reaction may run again later
(``backdesk events retry``), so it must not depend on anything accounting
holds only in memory.
"""

from __future__ import annotations

import base64
from email.utils import make_msgid

from core.services.audit import now_utc
from core.errors import BackdeskError, ValidationError
from core.i18n import format_date, format_datetime
from plugins.accounting import einvoice
from plugins.accounting import invoice_pdf
from plugins.accounting import invoicing as inv
from plugins.accounting import receivables as rcv
from plugins.accounting.models import _

EVENT = "accounting.send_to_customer"


def destination(ctx, doc: dict, *, email=None, fax=None) -> tuple[str, str]:
    """-> (``"email"`` or ``"fax"``, the address): what is given, else the
    customer's email, else the customer's fax number."""
    if email and fax:
        raise ValidationError(_("give an email address or a fax number, not both"), field="email")
    if email:
        return "email", inv.check_email(email)
    if fax:
        return "fax", inv.check_fax(fax)
    cust = ctx.table("customers").get(doc["customer_id"]) or {}
    if cust.get("email"):
        return "email", inv.check_email(cust["email"])
    if cust.get("fax"):
        return "fax", inv.check_fax(cust["fax"])
    raise ValidationError(_("{name} has no email address or fax number: give one").format(
        name=cust.get("name") or "?"), field="email")


def _files_of_invoice(ctx, doc: dict, via: str) -> list[dict]:
    pdf = invoice_pdf.invoice_pdf(ctx, doc)
    files = [{"filename": f"{doc['number']}.pdf", "mime": "application/pdf", "data": pdf}]
    cust = ctx.table("customers").get(doc["customer_id"]) or {}
    syntax = cust.get("xrechnung") or ""
    if via == "email" and syntax:
        xml = einvoice.invoice_xml(doc, syntax, "xrechnung", company=inv.company(ctx))
        files.append({"filename": f"{doc['number']}-xrechnung-{syntax}.xml", "mime": "application/xml",
                      "data": xml})
    return files


def _texts(ctx, doc: dict, what: str, level: int | None) -> tuple[str, str]:
    seller = doc.get("seller") or inv.company(ctx)
    if what == "reminder":
        title = rcv.title(level)
        subject = _("{title} for invoice {number}").format(title=title, number=doc["number"])
        body = _("Dear Sir or Madam,\n\nplease find attached our {title} for invoice {number}.\n\n"
                 "Kind regards\n{company}").format(title=title, number=doc["number"], company=seller.get("name", ""))
    else:
        credit = doc["kind"] == "credit_note"
        subject = (_("Credit note {number}") if credit else _("Invoice {number}")).format(number=doc["number"])
        body = (_("Dear Sir or Madam,\n\nplease find attached our credit note {number} of {date}. The PDF holds "
                  "its data as XML (Factur-X/ZUGFeRD) for your bookkeeping.\n\nKind regards\n{company}") if credit else
                _("Dear Sir or Madam,\n\nplease find attached our invoice {number} of {date}. The PDF holds "
                  "its data as XML (Factur-X/ZUGFeRD) for your bookkeeping.\n\nKind regards\n{company}")).format(
            number=doc["number"], date=format_date(doc["date"]), company=seller.get("name", ""))
    return subject, body


def send(ctx, key, *, what: str = "invoice", level: int | None = None, email=None, fax=None) -> dict:
    """Send an issued invoice or credit note (``what="invoice"``), or the
    reminder at ``level`` (default: the last), to the customer through the
    documents plugin's outbox; -> the invoice as stored, its ``sent`` list
    one longer. Needs ``accounting.invoices.issue`` and ``documents.send``
    (the documents plugin queues it as a reaction, asking no permission)."""
    ctx.require("accounting.invoices.issue", _("send invoices"))
    ctx.require("documents.send", _("send invoices"))
    if what not in ("invoice", "reminder"):
        raise ValidationError(_("must be invoice or reminder"), field="what")
    if not ctx.services.events.handlers(EVENT):
        raise ValidationError(_("the documents plugin is not loaded: nothing would send it"), field="plugins")
    doc = inv.invoice(ctx, key)
    if doc["status"] == "draft":
        raise ValidationError(_("draft {id} is not issued: issue it before sending it").format(id=doc["id"]),
                              field="invoice")
    via, to = destination(ctx, doc, email=email, fax=fax)
    if what == "reminder":
        item = rcv.reminder(ctx, doc["id"], level)
        level = item["level"]
        files = [{"filename": f"{doc['number']}-reminder{level}.pdf", "mime": "application/pdf",
                  "data": invoice_pdf.reminder_pdf(ctx, item)}]
    else:
        level = None
        files = _files_of_invoice(ctx, doc, via)
    subject, body = _texts(ctx, doc, what, level)
    sender = (doc.get("seller") or {}).get("email") or inv.company(ctx).get("email") or ""
    message_id = make_msgid(idstring=f"{doc['number']}", domain=sender.rpartition("@")[2] or "backdesk.local")
    record = {"what": what, "level": level, "via": via, "to": to, "at": now_utc(), "by": ctx.operator.account,
              "message_id": message_id, "files": [f["filename"] for f in files]}
    summary = (_("Reminder {level} of {number} sent by {via} to {to}") if what == "reminder" else
               _("{number} sent by {via} to {to}")).format(level=level, number=doc["number"], to=to,
                                                          via=_("email") if via == "email" else _("fax"))
    with ctx.transaction(what=summary):
        current = inv.invoice(ctx, doc["id"])
        stored = ctx.table("invoices").update(doc["id"], {"sent": list(current.get("sent") or []) + [record]})
        ctx.publish("send_to_customer", {
            "invoice_id": doc["id"], "number": doc["number"], "what": what, "level": level, "via": via, "to": to,
            "subject": subject, "body": body, "message_id": message_id,
            "correspondent": (doc.get("buyer") or {}).get("name") or "", "date": doc["date"],
            "title": subject, "files": [{"filename": f["filename"], "mime": f["mime"],
                                         "data": base64.b64encode(f["data"]).decode("ascii")} for f in files]})
    return stored


def deliveries(ctx, doc: dict) -> list[dict]:
    """Each time the invoice was sent, with how far the outbox got:
    ``state`` is the outbox job's status (queued, sent, failed, …),
    ``"missing"`` when the outbox has no job with its Message-ID (the
    documents plugin's reaction failed: ``backdesk events list --failed``),
    or ``""`` when the operator may not read the outbox."""
    out = []
    for rec in doc.get("sent") or []:
        state, error = "", ""
        try:
            jobs = ctx.read_table("documents.outbox").find({"message_id": rec["message_id"]}, limit=1)
        except BackdeskError:  # no documents plugin, or the operator may not read its outbox
            jobs = None
        if jobs is not None:
            state = jobs[0]["status"] if jobs else "missing"
            error = (jobs[0].get("last_error") or "") if jobs else ""
        out.append({**rec, "state": state, "error": error})
    return out


def state_text(state: str) -> str:
    return {"queued": _("queued"), "sending": _("sending"), "submitted": _("submitted"), "sent": _("sent"),
            "failed": _("failed"), "unknown": _("unknown"), "missing": _("not in the outbox")}.get(state, state)


def sent_lines(ctx, doc: dict) -> list[str]:
    """One line per sending, for the invoice's detail: when, what, how, to
    whom, and what the outbox says."""
    out = []
    for rec in deliveries(ctx, doc):
        what = (_("reminder {level}").format(level=rec["level"]) if rec["what"] == "reminder" else
                _("invoice"))
        via = _("email") if rec["via"] == "email" else _("fax")
        line = _("Sent {at}: {what} by {via} to {to}").format(at=format_datetime(rec["at"], "short"), what=what,
                                                                via=via, to=rec["to"])
        if rec["state"]:
            line += f" ({state_text(rec['state'])})"
        out.append(line)
    return out
