"""Leave and absence: entitlements, requests and approvals, sick notes, balances.

No Textual here; the CLI and the screens call these functions, and each
checks the operator's permission itself.

The rules, decided here and documented in docs/plugins/hr.md:

- **Days**: a request uses the *working days* between its first and last
  day for that person — weekends, the public holidays of the person's
  region and the company's days off are not counted
  (``services.calendar``, core/services/workdays.py).
- **Entitlement** per year: ``leave_days_per_year`` (setting) or the number
  set for the person (``set_entitlement``). A joiner or leaver gets 1/12 for
  each full month employed in the year (BUrlG §5); a fraction of at least
  half a day is rounded up to a whole day. Carry-over: days left at the end
  of a year are carried into the next by ``carry_over`` and expire on
  ``carry_over_until`` (31 March) unless taken by then; days taken until
  then use the carried days first.
- **Requests** are refused, with one line and nothing stored, when the last
  day lies before the first, the person is unknown or has left, the dates
  overlap another request or approved leave of theirs, the dates hold no
  working day, the request runs into the next year (request those days
  apart), or — for ``vacation`` — it needs more days than the balance
  (approved and requested days already counted). ``special`` and
  ``unpaid`` leave do not use the balance.
- **Approval** by the person's manager (the operator linked to
  ``manager_id``) or anyone with ``hr.leave.approve``; never by the person
  themselves. The manager is notified of each request; the approver sees
  the team's overlapping absences (:func:`team_overlaps`).
- **Sick notes** are confidential: reading one needs ``hr.sick_notes.read`` and is
  audited; everybody else (the calendar, the switchboard, IT, accounting)
  sees only the dates, as "absent". Days of approved vacation covered by a
  certified sick note are given back (BUrlG §9).
- An approved absence or a sick note goes into core's absence register
  (``services.calendar.put_absence``: dates and deputy only) and is
  published as ``hr.absence_approved``; a cancellation removes it and
  publishes ``hr.absence_cancelled``. The switchboard, IT and accounting
  act on those (see docs/events.md).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_CEILING, Decimal
from typing import Any

from core.dates import check_year_number
from core.errors import PermissionDenied, UnknownRecord, ValidationError
from core.i18n import date_text
from core.storage import AnyOf
from plugins.hr import models as m
from plugins.hr.models import _
from plugins.hr.service import guard_read, now_utc, person_name, require, resolve_person, today

KINDS = {"vacation": m.N_("vacation"), "special": m.N_("special leave"), "unpaid": m.N_("unpaid leave")}
STATUSES = {"requested": m.N_("requested"), "approved": m.N_("approved"), "rejected": m.N_("rejected"),
            "cancelled": m.N_("cancelled")}
#: statuses that hold the dates (and, for vacation, the balance)
HOLDING = ("requested", "approved")
MAX_DAYS_PER_YEAR = 366


# =====================================================================================
# Who is who
# =====================================================================================
def my_person_id(ctx) -> int | None:
    """The directory person of the operator (``person_id`` in config, else the same email)."""
    op = ctx.operator
    if op.person_id is not None:
        return op.person_id
    email = (getattr(op, "email", None) or "").lower()
    if not email:
        return None
    for doc in ctx.backdesk.table("core.people").find({"email": email}, limit=1):
        return doc["id"]
    return None


def _person(ctx, value: Any) -> dict:
    """A person by id or name, read from the table (the directory's own read
    permission is not what guards leave: the checks below are)."""
    people = ctx.backdesk.table("core.people")
    if isinstance(value, dict):
        value = value["id"]
    if isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("#").isdigit()):
        pid = m.record_id(value, "person", _("person"))
        doc = people.get(pid)
        if doc is None:
            raise UnknownRecord(_("no person with id {id}").format(id=pid))
        return doc
    return resolve_person(ctx, value)


def _is_manager_of(ctx, person: dict) -> bool:
    me = my_person_id(ctx)
    return me is not None and person.get("manager_id") == me


def _may_act_for(ctx, person: dict, what: str) -> None:
    """Own leave needs ``hr.leave.request``; someone else's ``hr.leave.manage``."""
    if my_person_id(ctx) == person["id"]:
        require(ctx, m.P_LEAVE_REQUEST, what)
    else:
        require(ctx, m.P_LEAVE_MANAGE, what)


def _may_read(ctx, person: dict) -> None:
    """Leave of oneself, of one's reports (as their manager) or with ``hr.leave.read``."""
    if my_person_id(ctx) == person["id"] and ctx.can(m.P_LEAVE_REQUEST):
        return
    if _is_manager_of(ctx, person) and ctx.can(m.P_LEAVE_REQUEST):
        return
    require(ctx, m.P_LEAVE_READ, _("see the leave of {name}").format(name=person["name"]))


# =====================================================================================
# Days
# =====================================================================================
def _date(value: Any, field: str) -> dt.date:
    return dt.date.fromisoformat(m.date_value(value, field, required=True))


def leave_days(ctx, person_id: int, start: dt.date | str, end: dt.date | str) -> list[dt.date]:
    """The working days a leave from ``start`` to ``end`` uses for the person."""
    return ctx.services.calendar.workdays_between(start, end, person_id)


def _settings_int(ctx, key: str, default: int) -> int:
    try:
        return int(ctx.settings.get(key, default))
    except (TypeError, ValueError):
        return default


def carry_expiry(ctx, year: int) -> dt.date:
    """The day carried-over days of ``year`` must be taken by."""
    month, day = (int(x) for x in str(ctx.settings.get("carry_over_until") or "03-31").split("-"))
    return dt.date(year, month, day)


def _full_months_employed(year: int, start: str | None, end: str | None) -> int:
    months = 0
    for month in range(1, 13):
        first = dt.date(year, month, 1)
        last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1))
        if (not start or start <= first.isoformat()) and (not end or end >= last.isoformat()):
            months += 1
    return months


def prorate(annual: Decimal, months: int) -> Decimal:
    """``annual`` × months / 12; a fraction of at least half a day becomes a whole day (BUrlG §5)."""
    exact = annual * months / 12
    whole = exact.to_integral_value(rounding="ROUND_FLOOR")
    frac = exact - whole
    if frac >= Decimal("0.5"):
        return exact.to_integral_value(rounding=ROUND_CEILING)
    return exact.quantize(Decimal("0.01"))


def _entitlement_row(ctx, person_id: int, year: int) -> dict | None:
    found = ctx.table("entitlements").find({"person_id": person_id, "year": year}, limit=1)
    return found[0] if found else None


def _employment(ctx, person: dict) -> tuple[str | None, str | None]:
    """(start, end) of employment: the HR record's, else the directory's."""
    found = ctx.table("records").find({"person_id": person["id"]}, limit=1)
    rec = found[0] if found else {}
    return (rec.get("start_date") or person.get("start_date"),
            rec.get("end_date") or rec.get("left_on") or person.get("end_date"))


def entitlement(ctx, person: dict, year: int) -> dict:
    """``{"annual", "months", "days", "carried", "carry_expires"}`` for the year (Decimals)."""
    row = _entitlement_row(ctx, person["id"], year) or {}
    annual = Decimal(str(row.get("days") if row.get("days") is not None
                         else _settings_int(ctx, "leave_days_per_year", 30)))
    start, end = _employment(ctx, person)
    if start and start > f"{year}-12-31" or end and end < f"{year}-01-01":
        months = 0
    else:
        months = _full_months_employed(year, start, end)
    days = annual if months == 12 else prorate(annual, months)
    return {"annual": annual, "months": months, "days": days,
            "carried": Decimal(str(row.get("carried") or "0")), "carry_expires": carry_expiry(ctx, year)}


def _sick_days(ctx, person_id: int, certified_only: bool = False) -> set[dt.date]:
    out: set[dt.date] = set()
    for doc in ctx.table("sick_notes").find({"person_id": person_id, "status": "recorded"}):
        if certified_only and not doc.get("certificate"):
            continue
        d, last = dt.date.fromisoformat(doc["start"]), dt.date.fromisoformat(doc["end"])
        while d <= last:
            out.add(d)
            d += dt.timedelta(days=1)
    return out


def _counted_days(ctx, doc: dict, sick: set[dt.date] | None = None) -> list[dt.date]:
    """The working days of a vacation that count against the balance (less certified sick days)."""
    days = leave_days(ctx, doc["person_id"], doc["start"], doc["end"])
    if sick:
        days = [d for d in days if d not in sick]
    return days


def balance(ctx, person: Any, year: int | None = None, *, as_of: dt.date | None = None,
            _check: bool = True) -> dict:
    """A person's vacation balance for ``year`` (default: this year).

    ``{"person_id", "name", "year", "annual", "months", "entitlement", "carried",
    "carried_usable", "carry_expires", "taken", "planned", "requested", "left"}``
    (days as Decimal). ``taken``: approved days up to ``as_of``; ``planned``:
    approved days after it; ``requested``: waiting for approval; ``left``:
    what may still be requested.
    """
    doc = _person(ctx, person)
    if _check:
        _may_read(ctx, doc)
    as_of = as_of or today()
    year = year or as_of.year
    ent = entitlement(ctx, doc, year)
    sick = _sick_days(ctx, doc["id"], certified_only=True)
    taken = planned = requested = Decimal(0)
    before_expiry = Decimal(0)
    for row in ctx.table("leave").find({"person_id": doc["id"], "kind": "vacation",
                                        "status": AnyOf(list(HOLDING))}):
        if not row["start"].startswith(str(year)):
            continue
        days = _counted_days(ctx, row, sick)
        if row["status"] == "requested":
            requested += len(days)
            continue
        taken += sum(1 for d in days if d <= as_of)
        planned += sum(1 for d in days if d > as_of)
        before_expiry += sum(1 for d in days if d <= ent["carry_expires"])
    carried = ent["carried"]
    usable = carried if as_of <= ent["carry_expires"] else min(carried, before_expiry)
    left = ent["days"] + usable - taken - planned - requested
    return {"person_id": doc["id"], "name": doc["name"], "year": year, "annual": ent["annual"],
            "months": ent["months"], "entitlement": ent["days"], "carried": carried, "carried_usable": usable,
            "carry_expires": ent["carry_expires"].isoformat(), "taken": taken, "planned": planned,
            "requested": requested, "left": left}


def days_text(value: Decimal | int) -> str:
    """12, 12.5 — days as a person writes them."""
    value = Decimal(value)
    return f"{value.normalize():f}" if value != value.to_integral_value() else str(int(value))


# =====================================================================================
# Requests
# =====================================================================================
def _overlapping(ctx, person_id: int, start: str, end: str, *, skip: int | None = None) -> dict | None:
    for row in ctx.table("leave").find({"person_id": person_id, "status": AnyOf(list(HOLDING))}):
        if row["id"] != skip and row["start"] <= end and row["end"] >= start:
            return row
    return None


def request_leave(ctx, person: Any, start: Any, end: Any, *, kind: str = "vacation", note: str = "",
                  deputy: Any = None) -> dict:
    """Ask for leave; the manager is notified. See the module docstring for what is refused."""
    kind = m.choice(kind, KINDS, "kind")
    first, last = _date(start, "start"), _date(end, "end")
    if last < first:
        raise ValidationError(_("the last day ({end}) lies before the first ({start})").format(
            end=date_text(last), start=date_text(first)), field="end")
    if first.year != last.year:
        raise ValidationError(_("a request ends in the year it starts: request the days from 1 January "
                                "{year} apart").format(year=last.year), field="end")
    note = m.text(note, "note", limit=m.MAX_TEXT)
    with ctx.transaction():
        doc = _person(ctx, person)
        _may_act_for(ctx, doc, _("request leave for {name}").format(name=doc["name"]))
        if doc.get("status") == "left":
            raise ValidationError(_("{name} has left the company").format(name=doc["name"]), field="person")
        deputy_id = None
        if deputy not in (None, ""):
            dep = _person(ctx, deputy)
            if dep["id"] == doc["id"]:
                raise ValidationError(_("a person cannot be their own deputy"), field="deputy")
            deputy_id = dep["id"]
        clash = _overlapping(ctx, doc["id"], first.isoformat(), last.isoformat())
        if clash is not None:
            raise ValidationError(_("{name} already has {kind} from {start} to {end} ({status})").format(
                name=doc["name"], kind=_(KINDS[clash["kind"]]), start=date_text(clash["start"]),
                end=date_text(clash["end"]),
                status=_(STATUSES[clash["status"]])), field="start")
        days = leave_days(ctx, doc["id"], first, last)
        if not days:
            raise ValidationError(_("{start} to {end} holds no working day for {name}").format(
                start=date_text(first), end=date_text(last), name=doc["name"]), field="start")
        if kind == "vacation":
            bal = balance(ctx, doc, first.year, _check=False)
            if len(days) > bal["left"]:
                raise ValidationError(_("{n} days asked, but {name} has {left} days left in {year}").format(
                    n=len(days), name=doc["name"], left=days_text(bal["left"]), year=first.year), field="end")
        now = now_utc()
        row = {"person_id": doc["id"], "kind": kind, "start": first.isoformat(), "end": last.isoformat(),
               "days": len(days), "status": "requested", "note": note, "deputy_id": deputy_id,
               "requested_by": ctx.operator.account, "requested_at": now, "decided_by": None,
               "decided_at": None, "reason": ""}
        leave_id = ctx.table("leave").insert(row)
        ctx.publish("leave_requested", {"leave_id": leave_id, "person_id": doc["id"], "start": row["start"],
                                        "end": row["end"]})
        _notify_approvers(ctx, doc, leave_id, row)
        return ctx.table("leave")[leave_id]


def _notify_approvers(ctx, person: dict, leave_id: int, row: dict) -> None:
    text = _("{name} asks for {kind} from {start} to {end} ({n} days)").format(
        name=person["name"], kind=_(KINDS[row["kind"]]), start=date_text(row["start"]), end=date_text(row["end"]),
        n=row["days"])
    overlaps = team_overlaps(ctx, row, _check=False)
    if overlaps:
        text += "; " + _("also away: {names}").format(
            names=", ".join(sorted({person_name(ctx, o["person_id"]) for o in overlaps})))
    notes = ctx.services.notifications
    if person.get("manager_id") and notes.account_of_person(person["manager_id"]):
        notes.notify_person(person["manager_id"], text, kind="hr.leave", link="hr.leave",
                            data={"leave_id": leave_id})
        return
    # no manager who is an operator: whoever holds hr.leave.approve (not "*": admins are not HR)
    from core.config import permission_matches

    config = ctx.config
    for account, op in sorted(config.operators.items()):
        patterns = [p for role in op.roles if role in config.roles for p in config.roles[role].permissions]
        if any(p != "*" and permission_matches(p, m.P_LEAVE_APPROVE) for p in patterns):
            notes.notify(account, text, kind="hr.leave", link="hr.leave", data={"leave_id": leave_id})


def get_leave(ctx, leave_id: Any) -> dict:
    lid = m.record_id(leave_id, "leave", _("leave request"))
    doc = ctx.table("leave").get(lid)
    if doc is None:
        raise UnknownRecord(_("no leave request #{id}").format(id=lid))
    return doc


def team_of(ctx, person: dict) -> list[int]:
    """The person's team: the same department, and the same manager's reports."""
    people = ctx.backdesk.table("core.people")
    ids = {p["id"] for p in people.find({"department_id": person.get("department_id")})
           if p.get("status") != "left"}
    if person.get("manager_id"):
        ids |= {p["id"] for p in people.find({"manager_id": person["manager_id"]}) if p.get("status") != "left"}
    ids.discard(person["id"])
    return sorted(ids)


def team_overlaps(ctx, row: dict, *, _check: bool = True) -> list[dict]:
    """Absences of the person's team overlapping ``row``'s dates (dates only:
    ``{"person_id", "name", "start", "end", "status"}``; sick notes as "absent")."""
    person = _person(ctx, row["person_id"])
    if _check:
        _may_read(ctx, person)
    team = team_of(ctx, person)
    out = []
    for other in ctx.table("leave").find({"person_id": AnyOf(team), "status": AnyOf(list(HOLDING))}):
        if other["start"] <= row["end"] and other["end"] >= row["start"]:
            out.append({"person_id": other["person_id"], "name": person_name(ctx, other["person_id"]),
                        "start": other["start"], "end": other["end"], "status": other["status"]})
    for other in ctx.table("sick_notes").find({"person_id": AnyOf(team), "status": "recorded"}):
        if other["start"] <= row["end"] and other["end"] >= row["start"]:
            out.append({"person_id": other["person_id"], "name": person_name(ctx, other["person_id"]),
                        "start": other["start"], "end": other["end"], "status": "absent"})
    return sorted(out, key=lambda o: (o["start"], o["name"]))


def _may_approve(ctx, person: dict) -> None:
    if my_person_id(ctx) == person["id"]:
        raise PermissionDenied(_("{name} may not approve their own leave").format(name=ctx.operator.name))
    if _is_manager_of(ctx, person) and ctx.can(m.P_LEAVE_REQUEST):
        return
    require(ctx, m.P_LEAVE_APPROVE, _("approve the leave of {name}").format(name=person["name"]))


def approve(ctx, leave_id: Any) -> dict:
    """Approve a request: it enters the absence register and drives the office."""
    with ctx.transaction():
        row = get_leave(ctx, leave_id)
        person = _person(ctx, row["person_id"])
        _may_approve(ctx, person)
        if row["status"] != "requested":
            raise ValidationError(_("leave request #{id} is {status}, not waiting for approval").format(
                id=row["id"], status=_(STATUSES[row["status"]])), field="leave")
        if row["kind"] == "vacation":
            bal = balance(ctx, person, int(row["start"][:4]), _check=False)
            # its own days are counted as requested in the balance already
            if bal["left"] < 0:
                raise ValidationError(_("{name} has {left} days left in {year}: not enough for this request").format(
                    name=person["name"], left=days_text(bal["left"] + row["days"]), year=row["start"][:4]),
                    field="leave")
        doc = ctx.table("leave").update(row["id"], {"status": "approved", "decided_by": ctx.operator.account,
                                                    "decided_at": now_utc()})
        _register(ctx, f"hr.leave:{row['id']}", doc)
        ctx.services.notifications.notify_person(
            person["id"], _("Your {kind} from {start} to {end} is approved").format(
                kind=_(KINDS[row["kind"]]), start=date_text(row["start"]), end=date_text(row["end"])),
            kind="hr.leave", link="hr.leave", data={"leave_id": row["id"]})
        return doc


def _register(ctx, ref: str, doc: dict) -> None:
    ctx.services.calendar.put_absence(ref, doc["person_id"], doc["start"], doc["end"],
                                      deputy_id=doc.get("deputy_id"))
    ctx.publish("absence_approved", {"ref": ref, "person_id": doc["person_id"], "start": doc["start"],
                                     "end": doc["end"], "deputy_id": doc.get("deputy_id")})


def _unregister(ctx, ref: str, doc: dict) -> None:
    if ctx.services.calendar.remove_absence(ref):
        ctx.publish("absence_cancelled", {"ref": ref, "person_id": doc["person_id"], "start": doc["start"],
                                          "end": doc["end"], "deputy_id": doc.get("deputy_id")})


def reject(ctx, leave_id: Any, reason: str = "") -> dict:
    reason = m.text(reason, "reason", limit=m.MAX_TEXT)
    with ctx.transaction():
        row = get_leave(ctx, leave_id)
        person = _person(ctx, row["person_id"])
        _may_approve(ctx, person)
        if row["status"] != "requested":
            raise ValidationError(_("leave request #{id} is {status}, not waiting for approval").format(
                id=row["id"], status=_(STATUSES[row["status"]])), field="leave")
        doc = ctx.table("leave").update(row["id"], {"status": "rejected", "decided_by": ctx.operator.account,
                                                    "decided_at": now_utc(), "reason": reason})
        text = _("Your {kind} from {start} to {end} is not approved").format(
            kind=_(KINDS[row["kind"]]), start=date_text(row["start"]), end=date_text(row["end"]))
        if reason:
            text += ": " + reason
        ctx.services.notifications.notify_person(person["id"], text, kind="hr.leave", link="hr.leave",
                                                 data={"leave_id": row["id"]})
        return doc


def cancel(ctx, leave_id: Any) -> dict:
    """Withdraw a request or cancel approved leave (own, or with ``hr.leave.manage``)."""
    with ctx.transaction():
        row = get_leave(ctx, leave_id)
        person = _person(ctx, row["person_id"])
        _may_act_for(ctx, person, _("cancel the leave of {name}").format(name=person["name"]))
        if row["status"] not in HOLDING:
            raise ValidationError(_("leave request #{id} is {status} already").format(
                id=row["id"], status=_(STATUSES[row["status"]])), field="leave")
        was = row["status"]
        doc = ctx.table("leave").update(row["id"], {"status": "cancelled", "cancelled_by": ctx.operator.account,
                                                    "cancelled_at": now_utc()})
        if was == "approved":
            _unregister(ctx, f"hr.leave:{row['id']}", row)
            if person.get("manager_id"):
                ctx.services.notifications.notify_person(
                    person["manager_id"], _("{name} cancelled {kind} from {start} to {end}").format(
                        name=person["name"], kind=_(KINDS[row["kind"]]), start=date_text(row["start"]),
                        end=date_text(row["end"])),
                    kind="hr.leave", link="hr.leave", data={"leave_id": row["id"]})
        return doc


def leave_rows(ctx, *, person: Any = None, status: str | None = None, year: int | None = None,
               pending_for_me: bool = False) -> list[dict]:
    """Leave requests the operator may see, with names and kind/status texts."""
    table = ctx.table("leave")
    where: dict = {}
    if status:
        where["status"] = m.choice(status, STATUSES, "status")
    if person is not None:
        doc = _person(ctx, person)
        _may_read(ctx, doc)
        where["person_id"] = doc["id"]
        rows = table.find(where, order_by=["start"])
    else:
        rows = table.find(where, order_by=["start"])
        if not ctx.can(m.P_LEAVE_READ):
            me = my_person_id(ctx)
            if me is None or not ctx.can(m.P_LEAVE_REQUEST):
                require(ctx, m.P_LEAVE_READ, _("see leave requests"))
            mine = {me} | {p["id"] for p in ctx.backdesk.table("core.people").find({"manager_id": me})}
            rows = [r for r in rows if r["person_id"] in mine]
    if year:
        rows = [r for r in rows if r["start"].startswith(str(year))]
    if pending_for_me:
        me = my_person_id(ctx)
        approver = ctx.can(m.P_LEAVE_APPROVE)
        people = ctx.backdesk.table("core.people")
        rows = [r for r in rows if r["status"] == "requested" and r["person_id"] != me and
                (approver or (people.get(r["person_id"]) or {}).get("manager_id") == me)]
    names: dict = {}
    return [dict(r, name=person_name(ctx, r["person_id"], names), kind_text=_(KINDS[r["kind"]]),
                 status_text=_(STATUSES[r["status"]]),
                 deputy=person_name(ctx, r.get("deputy_id"), names) if r.get("deputy_id") else "")
            for r in rows]


# =====================================================================================
# Entitlements and carry-over (HR)
# =====================================================================================
def set_entitlement(ctx, person: Any, year: int, days: Any) -> dict:
    """The full-year entitlement of a person (before pro rata)."""
    require(ctx, m.P_LEAVE_MANAGE, _("set leave entitlements"))
    year = check_year_number(year)
    value = _days_value(days, "days")
    with ctx.transaction():
        doc = _person(ctx, person)
        row = _entitlement_row(ctx, doc["id"], int(year))
        if row is None:
            new = ctx.table("entitlements").insert({"person_id": doc["id"], "year": int(year), "days": value,
                                                    "carried": "0"})
            return ctx.table("entitlements")[new]
        return ctx.table("entitlements").update(row["id"], {"days": value})


def _days_value(value: Any, field: str) -> str:
    try:
        days = Decimal(str(value).strip().replace(",", "."))
    except Exception:
        raise ValidationError(_("{value!r} is not a number of days").format(value=str(value)[:20]),
                              field=field) from None
    if not days.is_finite() or days < 0 or days > MAX_DAYS_PER_YEAR or days * 2 != int(days * 2):
        raise ValidationError(_("a number of days from 0 to 366, in half days"), field=field)
    return days_text(days)


def carry_over(ctx, year: int) -> list[dict]:
    """Carry what is left of ``year - 1`` into ``year`` for everyone employed
    (replaces an earlier carry-over of the same year). Returns the rows set."""
    require(ctx, m.P_LEAVE_MANAGE, _("carry leave over"))
    year = check_year_number(year)
    out = []
    with ctx.transaction():
        people = ctx.backdesk.table("core.people").all()
        end = dt.date(year - 1, 12, 31)
        for person in people:
            start, left_on = _employment(ctx, person)
            if left_on and left_on < f"{year}-01-01":
                continue
            if start and start > end.isoformat():
                continue
            bal = balance(ctx, person, year - 1, as_of=end, _check=False)
            carried = max(bal["left"], Decimal(0))
            row = _entitlement_row(ctx, person["id"], year)
            if row is None:
                ctx.table("entitlements").insert({"person_id": person["id"], "year": year, "days": None,
                                                  "carried": days_text(carried)})
            else:
                ctx.table("entitlements").update(row["id"], {"carried": days_text(carried)})
            out.append({"person_id": person["id"], "name": person["name"], "carried": carried})
    return out


# =====================================================================================
# Sick notes (confidential)
# =====================================================================================
def record_sick_note(ctx, person: Any, start: Any, end: Any, *, certificate: bool = False,
                     note: str = "", deputy: Any = None) -> dict:
    """Record a sick note (``hr.sick_notes.edit``); only its dates leave HR."""
    require(ctx, m.P_SICK_EDIT, _("record sick notes"))
    first, last = _date(start, "start"), _date(end, "end")
    if last < first:
        raise ValidationError(_("the last day ({end}) lies before the first ({start})").format(
            end=date_text(last), start=date_text(first)), field="end")
    note = m.text(note, "note", limit=m.MAX_LONG)
    with ctx.transaction():
        doc = _person(ctx, person)
        deputy_id = _person(ctx, deputy)["id"] if deputy not in (None, "") else None
        for other in ctx.table("sick_notes").find({"person_id": doc["id"], "status": "recorded"}):
            if other["start"] <= last.isoformat() and other["end"] >= first.isoformat():
                raise ValidationError(_("{name} has a sick note from {start} to {end} already").format(
                    name=doc["name"], start=date_text(other["start"]), end=date_text(other["end"])), field="start")
        row = {"person_id": doc["id"], "start": first.isoformat(), "end": last.isoformat(),
               "certificate": bool(certificate), "note": note, "status": "recorded", "deputy_id": deputy_id,
               "recorded_by": ctx.operator.account, "recorded_at": now_utc()}
        sid = ctx.table("sick_notes").insert(row)
        _register(ctx, f"hr.sick:{sid}", row)
        return ctx.table("sick_notes")[sid]


def sick_notes(ctx, person: Any = None) -> list[dict]:
    """Sick notes with their details: ``hr.sick_notes.read``, audited."""
    pid = _person(ctx, person)["id"] if person is not None else None
    guard_read(ctx, m.P_SICK_READ, "sick_notes", pid,
               what=_("read sick notes of #{id}").format(id=pid) if pid else _("list sick notes"))
    where = {"person_id": pid} if pid else {}
    names: dict = {}
    return [dict(r, name=person_name(ctx, r["person_id"], names))
            for r in ctx.table("sick_notes").find(where, order_by=["start"])]


def withdraw_sick_note(ctx, note_id: Any) -> dict:
    require(ctx, m.P_SICK_EDIT, _("record sick notes"))
    sid = m.record_id(note_id, "sick_note", _("sick note"))
    with ctx.transaction():
        row = ctx.table("sick_notes").get(sid)
        if row is None or row["status"] != "recorded":
            raise UnknownRecord(_("no sick note #{id}").format(id=sid))
        doc = ctx.table("sick_notes").update(sid, {"status": "withdrawn"})
        _unregister(ctx, f"hr.sick:{sid}", row)
        return doc


# =====================================================================================
# The absence calendar
# =====================================================================================
#: one character per day in the month grid
MARKS = {"vacation": "U", "special": "S", "unpaid": "N", "sick": "K", "absent": "A", "requested": "?",
         "holiday": "F", "weekend": "·", "work": " "}


def visible_people(ctx, department: Any = None) -> list[dict]:
    """Whose absences the operator sees: everyone with ``hr.leave.read``,
    else their own team (department) and reports."""
    people = ctx.backdesk.table("core.people")
    rows = [p for p in people.all() if p.get("status") != "left"]
    if department not in (None, ""):
        from plugins.hr.service import resolve_department

        dept_id = resolve_department(ctx, department)
        rows = [p for p in rows if p.get("department_id") == dept_id]
    if not ctx.can(m.P_LEAVE_READ):
        me = my_person_id(ctx)
        if me is None or not ctx.can(m.P_LEAVE_REQUEST):
            require(ctx, m.P_LEAVE_READ, _("see the absence calendar"))
        mine = people.get(me) or {}
        allowed = {me, *team_of(ctx, mine)} | {p["id"] for p in people.find({"manager_id": me})}
        rows = [p for p in rows if p["id"] in allowed]
    return sorted(rows, key=lambda p: p["name"].casefold())


def month_grid(ctx, year: int, month: int, *, department: Any = None) -> dict:
    """The team's month: ``{"days": [date…], "rows": [{"person_id", "name", "marks": [kind…]}]}``.

    Kinds per day: ``work``, ``weekend``, ``holiday`` (the person's region),
    ``vacation``/``special``/``unpaid`` (approved), ``requested``, and for
    sick notes ``sick`` with ``hr.sick_notes.read``, else ``absent``.
    """
    import calendar as _cal

    if not (1 <= int(month) <= 12 and 1900 <= int(year) <= 2999):
        raise ValidationError(_("{value!r} is not a month like 2026-07").format(value=f"{year}-{month}"),
                              field="month")
    first = dt.date(int(year), int(month), 1)
    last = first.replace(day=_cal.monthrange(first.year, first.month)[1])
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    people = visible_people(ctx, department)
    ids = [p["id"] for p in people]
    cal = ctx.services.calendar
    show_sick = ctx.can(m.P_SICK_READ)
    leave = ctx.table("leave").find({"person_id": AnyOf(ids), "status": AnyOf(list(HOLDING))}) if ids else []
    sick = ctx.table("sick_notes").find({"person_id": AnyOf(ids), "status": "recorded"}) if ids else []
    if show_sick and sick:
        ctx.services.audit.record_read("hr", "hr.sick_notes", None,
                                       _("absence calendar {month} with sick notes").format(
                                           month=first.strftime("%Y-%m")))
    rows = []
    for p in people:
        marks = []
        mine = [r for r in leave if r["person_id"] == p["id"] and r["start"] <= last.isoformat()
                and r["end"] >= first.isoformat()]
        ill = [r for r in sick if r["person_id"] == p["id"] and r["start"] <= last.isoformat()
               and r["end"] >= first.isoformat()]
        region = cal.region_of(p["id"])
        for d in days:
            iso = d.isoformat()
            kind = "work"
            if d.weekday() not in cal.calendar.workdays:
                kind = "weekend"
            elif cal.calendar.holiday(d, region):
                kind = "holiday"
            if kind == "work":
                for r in ill:
                    if r["start"] <= iso <= r["end"]:
                        kind = "sick" if show_sick else "absent"
                for r in mine:
                    if kind == "work" and r["start"] <= iso <= r["end"]:
                        kind = r["kind"] if r["status"] == "approved" else "requested"
            marks.append(kind)
        rows.append({"person_id": p["id"], "name": p["name"], "marks": marks})
    holidays = {d: cal.calendar.holiday(d) for d in days if cal.calendar.holiday(d)}
    return {"first": first, "last": last, "days": days, "rows": rows, "holidays": holidays}


def ics_feed(ctx, *, person: Any = None, department: Any = None) -> bytes:
    """Approved absences as an iCalendar feed (all-day events; sick notes as
    "absent" without ``hr.sick_notes.read``)."""
    from icalendar import Calendar, Event

    if person is not None:
        doc = _person(ctx, person)
        _may_read(ctx, doc)
        people = [doc]
    else:
        people = visible_people(ctx, department)
    ids = [p["id"] for p in people]
    names = {p["id"]: p["name"] for p in people}
    show_sick = ctx.can(m.P_SICK_READ)
    cal = Calendar()
    cal.add("prodid", "-//Backdesk//HR absences//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", _("Absences"))
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    domain = "backdesk.invalid"
    events = []
    if ids:
        for r in ctx.table("leave").find({"person_id": AnyOf(ids), "status": "approved"}):
            events.append((f"leave-{r['id']}", r, _(KINDS[r["kind"]])))
        for r in ctx.table("sick_notes").find({"person_id": AnyOf(ids), "status": "recorded"}):
            events.append((f"sick-{r['id']}", r, _("sick") if show_sick else _("absent")))
    for uid, r, what in sorted(events, key=lambda e: (e[1]["start"], e[0])):
        ev = Event()
        ev.add("uid", f"{uid}@{domain}")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", dt.date.fromisoformat(r["start"]))
        ev.add("dtend", dt.date.fromisoformat(r["end"]) + dt.timedelta(days=1))
        ev.add("summary", f"{names[r['person_id']]}: {what}")
        ev.add("transp", "TRANSPARENT")
        cal.add_component(ev)
    return cal.to_ical()
