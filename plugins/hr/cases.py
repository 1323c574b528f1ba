"""Complaints and grievances: confidential cases, readable only with
``hr.cases.read``; every view (and every refused attempt) is audited, every
change is in the audit trail through storage.
"""

from __future__ import annotations

from typing import Any

from core.errors import UnknownRecord, ValidationError
from plugins.hr import models as m
from plugins.hr import service as svc
from plugins.hr.models import _


def open_case(ctx, *, type: str, subject: str, description: str = "", raised_by: Any = None,
              anonymous: bool = False, against_person: Any = None, against_party: str = "") -> dict:
    """Record a complaint or grievance (status ``open``)."""
    svc.require(ctx, m.P_CASES_EDIT, _("record HR cases"))
    m.choice(type, m.CASE_TYPES, "type")
    subject = m.text(subject, "subject", required=True)
    description = m.text(description, "description", limit=m.MAX_LONG)
    against_party = m.text(against_party, "against_party")
    if anonymous and raised_by not in (None, ""):
        raise ValidationError(_("an anonymous case names nobody as raising it"), field="raised_by")
    raiser = None if anonymous or raised_by in (None, "") else svc.resolve_person(ctx, raised_by, "raised_by")["id"]
    if raiser is None and not anonymous:
        raise ValidationError(_("name who raises the case, or mark it anonymous"), field="raised_by")
    against = None if against_person in (None, "") else svc.resolve_person(ctx, against_person, "against_person")["id"]
    if against is not None and against == raiser:
        raise ValidationError(_("a case cannot be raised against the person raising it"), field="against_person")
    with ctx.transaction():
        cid = ctx.table("cases").insert({
            "type": type, "subject": subject, "description": description, "raised_by": raiser,
            "anonymous": bool(anonymous), "against_person_id": against, "against_party": against_party,
            "status": "open", "cause": "", "outcome": "", "resolved_by": None, "resolved_at": None,
            "opened_at": svc.now_utc(), "opened_by": ctx.operator.account, "notes": []})
        return ctx.table("cases")[cid]


def get_case(ctx, case_id: Any, *, audit: bool = True) -> dict:
    """One case; needs ``hr.cases.read``; the view is audited (a refusal too;
    ``audit=False`` for a screen's refresh, see :func:`service.guard_read`)."""
    cid = m.record_id(case_id, "case", _("case"))
    svc.guard_read(ctx, m.P_CASES_READ, "cases", cid, what=_("read HR case #{id}").format(id=cid), audit=audit)
    doc = ctx.table("cases").get(cid)
    if doc is None:
        raise UnknownRecord(_("no HR case #{id}").format(id=cid))
    return doc


def case_rows(ctx, statuses=None, *, audit: bool = True) -> list[dict]:
    """Cases (optionally of some statuses), newest first; one audited read
    (``audit=False`` for a screen's refresh)."""
    from core.storage import AnyOf

    wanted = [s for s in (statuses or []) if s]
    for s in wanted:
        m.choice(s, m.CASE_STATUSES, "status")
    svc.guard_read(ctx, m.P_CASES_READ, "cases", None,
                   what=_("list HR cases") + (f" ({', '.join(wanted)})" if wanted else ""), audit=audit)
    where = {"status": AnyOf(wanted)} if wanted else {}
    names: dict = {}
    out = []
    for c in ctx.table("cases").find(where, order_by=["-id"]):
        against = svc.person_name(ctx, c["against_person_id"], names) if c.get("against_person_id") else ""
        if c.get("against_party"):
            against = f"{against}, {c['against_party']}" if against else c["against_party"]
        out.append(dict(c, type_text=_(m.CASE_TYPES[c["type"]]), status_text=_(m.CASE_STATUSES[c["status"]]),
                        raised_text=_("anonymous") if c["anonymous"] else svc.person_name(ctx, c["raised_by"], names),
                        against_text=against, opened_on=c["opened_at"][:10]))
    return out


def set_status(ctx, case_id: Any, status: str, *, cause: str | None = None, outcome: str | None = None,
               note: str = "") -> dict:
    """Move a case; ``resolved``/``invalid`` need an outcome and record who and when."""
    svc.require(ctx, m.P_CASES_EDIT, _("work on HR cases"))
    cid = m.record_id(case_id, "case", _("case"))
    m.choice(status, m.CASE_STATUSES, "status")
    note = m.text(note, "note", limit=m.MAX_LONG)
    with ctx.transaction():
        doc = ctx.table("cases").get(cid)
        if doc is None:
            raise UnknownRecord(_("no HR case #{id}").format(id=cid))
        if status != doc["status"] and status not in m.CASE_TRANSITIONS[doc["status"]]:
            raise ValidationError(_("a case that is {old} cannot become {new}").format(
                old=_(m.CASE_STATUSES[doc["status"]]), new=_(m.CASE_STATUSES[status])), field="status")
        changes: dict = {"status": status}
        if cause is not None:
            changes["cause"] = m.text(cause, "cause", limit=m.MAX_LONG)
        if outcome is not None:
            changes["outcome"] = m.text(outcome, "outcome", limit=m.MAX_LONG)
        if status in ("resolved", "invalid"):
            if not (changes.get("outcome") or doc.get("outcome")):
                raise ValidationError(_("say what came out of the case"), field="outcome")
            changes.update(resolved_by=ctx.operator.account, resolved_at=svc.now_utc())
        elif status in ("open", "investigating"):
            changes.update(resolved_by=None, resolved_at=None)
        if note or status != doc["status"]:
            changes["notes"] = list(doc.get("notes") or []) + [
                {"at": svc.now_utc(), "by": ctx.operator.account, "status": status, "text": note}]
        return ctx.table("cases").update(cid, changes)


def add_note(ctx, case_id: Any, text: str) -> dict:
    svc.require(ctx, m.P_CASES_EDIT, _("work on HR cases"))
    cid = m.record_id(case_id, "case", _("case"))
    text = m.text(text, "note", required=True, limit=m.MAX_LONG)
    with ctx.transaction():
        doc = ctx.table("cases").get(cid)
        if doc is None:
            raise UnknownRecord(_("no HR case #{id}").format(id=cid))
        return ctx.table("cases").update(cid, {"notes": list(doc.get("notes") or []) + [
            {"at": svc.now_utc(), "by": ctx.operator.account, "status": doc["status"], "text": text}]})
