"""Progressive discipline: verbal, written and final warnings that expire,
and dismissal under the escalation rule from the settings.

The rule (setting ``dismissal_needs``, default ``final``): a dismissal for
conduct needs a warning of at least that level that is active on the
dismissal date, unless gross misconduct is recorded with the dismissal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.errors import UnknownRecord, ValidationError
from plugins.hr import models as m
from plugins.hr import service as svc
from plugins.hr.models import _


#: kinds that are a dismissal by the employer (the event's ``kind`` is "dismissal")
DISMISSAL = ("conduct", "capability", "redundancy")


def expiry_of(ctx, level: str, day: str) -> str:
    months = ctx.settings["warning_expiry_months"][level]
    return m.add_months(dt.date.fromisoformat(day), months).isoformat()


def is_active(warning: dict, on: str) -> bool:
    return not warning.get("withdrawn") and warning["date"] <= on < warning["expires"]


def issue_warning(ctx, person: Any, *, level: str, reason: str, date: Any = None, hearing_notes: str = "",
                  case_id: Any = None) -> dict:
    """A warning for ``person``; its expiry comes from the settings."""
    svc.require(ctx, m.P_DISCIPLINE_EDIT, _("issue warnings"))
    m.choice(level, m.LEVELS, "level")
    reason = m.text(reason, "reason", required=True, limit=2000)
    hearing_notes = m.text(hearing_notes, "hearing_notes", limit=m.MAX_LONG)
    day = m.date_value(date, "date") or svc.today().isoformat()
    if day > (svc.today() + dt.timedelta(days=31)).isoformat():
        raise ValidationError(_("a warning cannot be dated more than a month ahead"), field="date")
    case = None if case_id in (None, "") else m.record_id(case_id, "case_id", _("case"))
    with ctx.transaction():
        doc = svc.resolve_person(ctx, person)
        if doc.get("status") == "left":
            raise ValidationError(_("{name} has left the company ({end}): no warning").format(
                name=doc["name"], end=doc.get("end_date") or "?"), field="person")
        if case is not None and ctx.table("cases").get(case) is None:
            raise UnknownRecord(_("no HR case #{id}").format(id=case))
        wid = ctx.table("warnings").insert({
            "person_id": doc["id"], "level": level, "reason": reason, "date": day,
            "expires": expiry_of(ctx, level, day), "hearing_notes": hearing_notes, "case_id": case,
            "acknowledged_at": None, "acknowledgement": "", "withdrawn": False,
            "issued_by": ctx.operator.account, "issued_at": svc.now_utc()})
        return ctx.table("warnings")[wid]


def acknowledge(ctx, warning_id: Any, *, on: Any = None, comment: str = "") -> dict:
    """Record that the employee acknowledged (signed) the warning."""
    svc.require(ctx, m.P_DISCIPLINE_EDIT, _("record acknowledgements"))
    wid = m.record_id(warning_id, "warning", _("warning"))
    day = m.date_value(on, "date") or svc.today().isoformat()
    comment = m.text(comment, "comment", limit=m.MAX_LONG)
    with ctx.transaction():
        doc = ctx.table("warnings").get(wid)
        if doc is None:
            raise UnknownRecord(_("no warning #{id}").format(id=wid))
        if doc.get("acknowledged_at"):
            raise ValidationError(_("warning #{id} was acknowledged on {date}").format(
                id=wid, date=doc["acknowledged_at"]), field="warning")
        if day < doc["date"]:
            raise ValidationError(_("acknowledged before it was issued ({date})").format(date=doc["date"]),
                                  field="date")
        return ctx.table("warnings").update(wid, {"acknowledged_at": day, "acknowledgement": comment})


def warnings_of(ctx, person: Any) -> list[dict]:
    """A person's warnings, newest first; audited."""
    pid = svc._person_id(ctx, person)
    svc.guard_read(ctx, m.P_DISCIPLINE_READ, "warnings", None,
                   what=_("read the warnings of #{id}").format(id=pid), owner_id=pid)
    return ctx.table("warnings").find({"person_id": pid}, order_by=["-date", "-id"])


def warning_rows(ctx, *, active_only: bool = False, audit: bool = True) -> list[dict]:
    """Warnings with their state, newest first; one audited read (``audit=False``
    for a screen's refresh, see :func:`service.guard_read`)."""
    svc.guard_read(ctx, m.P_DISCIPLINE_READ, "warnings", None, what=_("list warnings"), audit=audit)
    today = svc.today().isoformat()
    names: dict = {}
    out = []
    for w in ctx.table("warnings").find({}, order_by=["-date", "-id"]):
        active = is_active(w, today)
        if active_only and not active:
            continue
        out.append(dict(w, name=svc.person_name(ctx, w["person_id"], names),
                        level_text=_(m.LEVEL_TITLES[w["level"]]),
                        state=_("active") if active else (_("withdrawn") if w.get("withdrawn") else _("expired")),
                        ack=w.get("acknowledged_at") or ""))
    return out


def expiring_this_month(ctx, on: dt.date | None = None) -> list[dict]:
    """Active warnings whose expiry falls in the current month (for the card)."""
    from core.storage import Range

    today = on or svc.today()
    first = today.replace(day=1)
    nxt = m.add_months(first, 1)
    rows = ctx.table("warnings").find({"expires": Range(ge=today.isoformat(), lt=nxt.isoformat())},
                                      order_by=["expires"])
    return [w for w in rows if is_active(w, today.isoformat())]


def dismiss(ctx, person: Any, *, date: Any, reason: str, kind: str = "conduct",
            gross_misconduct: str = "") -> dict:
    """Dismiss ``person`` (or record a leaver with another ``kind``).

    In one transaction: the dismissal record, the HR record's end, the
    person set to ``left`` on ``date``, the offboarding checklist,
    ``hr.employee_dismissed`` (now) and ``hr.employee_left`` for the last
    day itself (scheduled: published on that day, see core.services.events). A
    conduct dismissal needs an active warning
    of the level the settings name, unless gross misconduct is recorded.
    """
    svc.require(ctx, m.P_DISMISS, _("dismiss employees"))
    m.choice(kind, m.DISMISSAL_KINDS, "kind")
    day = m.date_value(date, "date", required=True)
    reason = m.text(reason, "reason", required=True, limit=2000)
    gross = m.text(gross_misconduct, "gross_misconduct", limit=m.MAX_LONG)
    if gross and kind != "conduct":
        raise ValidationError(_("gross misconduct is a conduct dismissal (kind conduct)"), field="gross_misconduct")
    needs = ctx.settings["dismissal_needs"]
    with ctx.transaction():
        doc = svc.resolve_person(ctx, person)
        pid = doc["id"]
        if doc.get("status") == "left":
            raise ValidationError(_("{name} has already left (on {end})").format(
                name=doc["name"], end=doc.get("end_date") or "?"), field="person")
        if ctx.table("dismissals").count({"person_id": pid, "cancelled": False}):
            raise ValidationError(_("{name} is already dismissed").format(name=doc["name"]), field="person")
        record = svc._record_of(ctx, pid)
        started = (record or {}).get("start_date") or doc.get("start_date")
        if started and day < started:
            raise ValidationError(_("the leaving date {date} lies before the start date {start}").format(
                date=day, start=started), field="date")
        basis = None
        if kind == "conduct" and not gross and needs != "none":
            rank = m.LEVELS.index(needs)
            active = [w for w in ctx.table("warnings").find({"person_id": pid}, order_by=["-date"])
                      if is_active(w, day) and m.LEVELS.index(w["level"]) >= rank]
            if not active:
                raise ValidationError(_(
                    "a dismissal for conduct needs an active {level} warning on {date} "
                    "(or gross misconduct recorded); {name} has none").format(
                        level=_(m.LEVEL_TITLES[needs]), date=day, name=doc["name"]), field="kind")
            basis = active[0]["id"]
        did = ctx.table("dismissals").insert({
            "person_id": pid, "date": day, "reason": reason, "kind": kind, "gross_misconduct": gross,
            "warning_id": basis, "by": ctx.operator.account, "at": svc.now_utc(), "cancelled": False})
        if record is not None:
            ctx.table("records").update(record["id"], {"end_date": day, "left_on": day, "leaving_kind": kind,
                                                       "updated_at": svc.now_utc()})
        people = ctx.services.people
        after = people.set_status(pid, "left", on=day)
        if after.get("end_date") != day:
            people.update_person(pid, {"end_date": day})
        # an open onboarding checklist has nothing left to do
        for cl in ctx.table("checklists").find({"person_id": pid, "kind": "onboarding", "status": "open"}):
            ctx.table("checklists").update(cl["id"], {"status": "cancelled"})
        checklist_id = svc.create_checklist(ctx, pid, "offboarding", ref={"dismissal_id": did})
        # what the reactions need (who, the last day, dismissal or resignation); the reason
        # and the grounds stay in hr.dismissals, behind HR's permission
        leaving = {"person_id": pid, "date": day, "kind": "dismissal" if kind in DISMISSAL else kind}
        ctx.publish("employee_dismissed", leaving)
        ctx.publish("employee_left", leaving, on=day)  # on the last day itself
        return dict(ctx.table("dismissals")[did], checklist_id=checklist_id)


def dismissal_rows(ctx) -> list[dict]:
    svc.guard_read(ctx, m.P_DISCIPLINE_READ, "dismissals", None, what=_("list dismissals"))
    names: dict = {}
    return [dict(d, name=svc.person_name(ctx, d["person_id"], names), kind_text=_(m.DISMISSAL_KINDS[d["kind"]]))
            for d in ctx.table("dismissals").find({}, order_by=["-date"])]
