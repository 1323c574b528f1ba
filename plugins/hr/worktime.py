"""Working time: clock in and out, breaks, the Arbeitszeitgesetz checks, the month.

German employers must record working time. One row of ``hr.time`` is one
stretch of work or break: ``{"person_id", "kind": "work"|"break", "start",
"end"}`` (ISO UTC; ``end`` None while it runs). Clocking in opens a work
stretch; a break closes it and opens a break; ending the break opens work
again; clocking out closes whatever runs.

Checks (:func:`check_days`), per local calendar day of the person:

- more than ``max_daily_hours`` (10 h) of work (ArbZG §3);
- breaks: at least 30 min after more than 6 h of work, 45 min after more
  than 9 h (ArbZG §4);
- less than ``min_rest_hours`` (11 h) between the end of one day's work and
  the start of the next (ArbZG §5);
- work on a Sunday or on a public holiday of the person's region (ArbZG §9,
  §10: allowed in some trades, so flagged for a look, not refused).

No Textual here; the CLI, the screens and the kiosk clock terminal call these.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections import defaultdict
from typing import Any

from core.dates import check_year_text
from core.errors import ValidationError
from core.i18n import date_text, format_time, parse_month
from plugins.hr import models as m
from plugins.hr.leave import _person, my_person_id
from plugins.hr.models import _
from plugins.hr.service import require

BREAK_RULES = ((dt.timedelta(hours=9), dt.timedelta(minutes=45)), (dt.timedelta(hours=6), dt.timedelta(minutes=30)))


def _now() -> dt.datetime:
    from plugins.hr import service

    return dt.datetime.fromisoformat(service.now_utc().replace("Z", "+00:00"))


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _tz():
    from core.i18n import get_timezone

    return get_timezone()


def _subject(ctx, person: Any, what: str) -> dict:
    """The person whose clock is used: one's own with ``hr.time.clock``,
    someone else's with ``hr.time.edit``."""
    me = my_person_id(ctx)
    if person in (None, ""):
        if me is None:
            raise ValidationError(_("{name} is not linked to a person of the directory (person_id in the "
                                    "config); name the person").format(name=ctx.operator.name), field="person")
        person = me
    doc = _person(ctx, person)
    if doc["id"] == me:
        require(ctx, m.P_TIME_CLOCK, what)
    else:
        require(ctx, m.P_TIME_EDIT, what)
    if doc.get("status") == "left":
        raise ValidationError(_("{name} has left the company").format(name=doc["name"]), field="person")
    return doc


def _running(ctx, person_id: int) -> dict | None:
    found = ctx.table("time").find({"person_id": person_id, "end": None}, order_by=["-start"], limit=1)
    return found[0] if found else None


def _at(value: Any) -> dt.datetime:
    """A time the operator typed ("2026-07-01 08:00", site's time zone) or now."""
    if value in (None, ""):
        return _now()
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_tz())
    return _parse(m.datetime_utc(value, "at", _tz()))


def state(ctx, person: Any = None) -> dict:
    """``{"person_id", "name", "state": "out"|"in"|"break", "since", "today"}``
    (``today``: worked time so far today, a timedelta)."""
    me = my_person_id(ctx)
    doc = _person(ctx, person if person not in (None, "") else me) if (person not in (None, "") or me) else None
    if doc is None:
        raise ValidationError(_("{name} is not linked to a person of the directory (person_id in the "
                                "config); name the person").format(name=ctx.operator.name), field="person")
    if doc["id"] != me:
        require(ctx, m.P_TIME_READ, _("see the working time of {name}").format(name=doc["name"]))
    run = _running(ctx, doc["id"])
    now = _now()
    day = now.astimezone(_tz()).date()
    worked = sum((span for d, span in _work_by_day(ctx, doc["id"], day, day, now).items()), dt.timedelta())
    return {"person_id": doc["id"], "name": doc["name"],
            "state": "out" if run is None else ("in" if run["kind"] == "work" else "break"),
            "since": run["start"] if run else None, "today": worked}


def clock_in(ctx, person: Any = None, *, at: Any = None) -> dict:
    moment = _at(at)
    with ctx.transaction():
        doc = _subject(ctx, person, _("clock in"))
        run = _running(ctx, doc["id"])
        if run is not None:
            raise ValidationError(_("{name} is clocked in already (since {since})").format(
                name=doc["name"], since=local_text(run["start"])), field="person")
        _no_overlap(ctx, doc, moment)
        return _open(ctx, doc["id"], "work", moment)


def clock_out(ctx, person: Any = None, *, at: Any = None) -> dict:
    moment = _at(at)
    with ctx.transaction():
        doc = _subject(ctx, person, _("clock out"))
        run = _running(ctx, doc["id"])
        if run is None:
            raise ValidationError(_("{name} is not clocked in").format(name=doc["name"]), field="person")
        _close(ctx, run, moment)
        return ctx.table("time")[run["id"]]


def start_break(ctx, person: Any = None, *, at: Any = None) -> dict:
    moment = _at(at)
    with ctx.transaction():
        doc = _subject(ctx, person, _("take a break"))
        run = _running(ctx, doc["id"])
        if run is None or run["kind"] != "work":
            raise ValidationError(_("{name} is not at work: clock in first").format(name=doc["name"]) if run is None
                                  else _("{name} is on a break already").format(name=doc["name"]), field="person")
        _close(ctx, run, moment)
        return _open(ctx, doc["id"], "break", moment)


def end_break(ctx, person: Any = None, *, at: Any = None) -> dict:
    moment = _at(at)
    with ctx.transaction():
        doc = _subject(ctx, person, _("end a break"))
        run = _running(ctx, doc["id"])
        if run is None or run["kind"] != "break":
            raise ValidationError(_("{name} is not on a break").format(name=doc["name"]), field="person")
        _close(ctx, run, moment)
        return _open(ctx, doc["id"], "work", moment)


def _open(ctx, person_id: int, kind: str, moment: dt.datetime) -> dict:
    row = {"person_id": person_id, "kind": kind, "start": _stamp(moment), "end": None,
           "by": ctx.operator.account}
    return ctx.table("time")[ctx.table("time").insert(row)]


def _close(ctx, run: dict, moment: dt.datetime) -> None:
    if moment <= _parse(run["start"]):
        raise ValidationError(_("{at} is not after the start ({start})").format(
            at=local_text(_stamp(moment)), start=local_text(run["start"])), field="at")
    if moment - _parse(run["start"]) > dt.timedelta(hours=24):
        raise ValidationError(_("a stretch of more than 24 hours: was clocking out forgotten? "
                                "HR corrects it with an end time"), field="at")
    ctx.table("time").update(run["id"], {"end": _stamp(moment)})


def _no_overlap(ctx, doc: dict, moment: dt.datetime) -> None:
    stamp = _stamp(moment)
    for row in ctx.table("time").find({"person_id": doc["id"]}, order_by=["-start"], limit=5):
        if row["end"] and row["start"] <= stamp < row["end"]:
            raise ValidationError(_("{name} has time recorded until {end} already").format(
                name=doc["name"], end=local_text(row["end"])), field="at")


def local_text(stamp: str | dt.datetime) -> str:
    """A stored UTC time as the site's people write a day and a time:
    "07.07.2026 13:00" (German), "7/7/2026 1:00 PM" (en_US); what the
    CLI's --at takes back."""
    local = (_parse(stamp) if isinstance(stamp, str) else stamp).astimezone(_tz())
    return f"{date_text(local.date())} {local_time_text(local)}"


def local_time_text(stamp: str | dt.datetime) -> str:
    """The time of day of a stored UTC time, the locale's way ("13:00", "1:00 PM")."""
    local = (_parse(stamp) if isinstance(stamp, str) else stamp).astimezone(_tz())
    return format_time(local.time().replace(second=0, microsecond=0), "short")


def record(ctx, person: Any, start: Any, end: Any, *, kind: str = "work") -> dict:
    """Add a finished stretch after the fact (a forgotten clock-in), ``hr.time.edit``
    for others, ``hr.time.clock`` for oneself."""
    kind = m.choice(kind, ("work", "break"), "kind")
    a, b = _at(start), _at(end)
    if b <= a:
        raise ValidationError(_("the end lies before the start"), field="end")
    if b - a > dt.timedelta(hours=24):
        raise ValidationError(_("at most 24 hours in one entry"), field="end")
    with ctx.transaction():
        doc = _subject(ctx, person, _("record working time"))
        sa, sb = _stamp(a), _stamp(b)
        for row in ctx.table("time").find({"person_id": doc["id"]}):
            if row["start"] < sb and (row["end"] is None or row["end"] > sa):
                raise ValidationError(_("{name} has time recorded from {start} already").format(
                    name=doc["name"], start=local_text(row["start"])), field="start")
        row = {"person_id": doc["id"], "kind": kind, "start": sa, "end": sb, "by": ctx.operator.account}
        return ctx.table("time")[ctx.table("time").insert(row)]


# =====================================================================================
# Days, checks and the month
# =====================================================================================
def _rows(ctx, person_id: int, first: dt.date, last: dt.date) -> list[dict]:
    from core.storage import Range

    lo = _stamp(dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), _tz()))
    hi = _stamp(dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), _tz()))
    return ctx.table("time").find({"person_id": person_id, "start": Range(ge=lo, lt=hi)}, order_by=["start"])


def _split(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.date, dt.timedelta]]:
    """A stretch cut at local midnight: [(day, length)]."""
    tz = _tz()
    out = []
    a = start.astimezone(tz)
    b = end.astimezone(tz)
    while a.date() < b.date():
        midnight = dt.datetime.combine(a.date() + dt.timedelta(days=1), dt.time(), tz)
        out.append((a.date(), midnight - a))
        a = midnight
    out.append((a.date(), b - a))
    return out


def _work_by_day(ctx, person_id: int, first: dt.date, last: dt.date, now: dt.datetime) -> dict:
    out: dict[dt.date, dt.timedelta] = defaultdict(dt.timedelta)
    for row in _rows(ctx, person_id, first, last):
        if row["kind"] != "work":
            continue
        end = _parse(row["end"]) if row["end"] else now
        for day, span in _split(_parse(row["start"]), end):
            if first <= day <= last:
                out[day] += span
    return out


def days(ctx, person_id: int, first: dt.date, last: dt.date, *, now: dt.datetime | None = None) -> list[dict]:
    """One dict per local day with work: ``{"date", "first", "last", "work", "breaks"}``
    (``first``/``last``: aware datetimes of the first start and last end; spans as timedeltas)."""
    now = now or _now()
    by_day: dict[dt.date, dict] = {}
    for row in _rows(ctx, person_id, first, last):
        start = _parse(row["start"])
        end = _parse(row["end"]) if row["end"] else now
        for day, span in _split(start, end):
            if not first <= day <= last:
                continue
            d = by_day.setdefault(day, {"date": day, "first": None, "last": None, "work": dt.timedelta(),
                                        "breaks": dt.timedelta(), "open": False})
            if row["kind"] == "work":
                d["work"] += span
                lo = max(start, dt.datetime.combine(day, dt.time(), _tz()))
                hi = min(end, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), _tz()))
                d["first"] = lo if d["first"] is None else min(d["first"], lo)
                d["last"] = hi if d["last"] is None else max(d["last"], hi)
            else:
                d["breaks"] += span
            if row["end"] is None:
                d["open"] = True
    # a gap between two stretches of work is a break too (clocked out for lunch)
    for d in by_day.values():
        span = (d["last"] - d["first"]) if d["first"] and d["last"] else dt.timedelta()
        d["breaks"] = max(d["breaks"], span - d["work"])
    return [by_day[k] for k in sorted(by_day)]


def _hm(span: dt.timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def check_days(ctx, person_id: int, rows: list[dict]) -> list[dict]:
    """ArbZG flags ``{"date", "rule", "text"}`` for the day rows of :func:`days`."""
    max_day = dt.timedelta(hours=int(ctx.settings.get("max_daily_hours", 10)))
    min_rest = dt.timedelta(hours=int(ctx.settings.get("min_rest_hours", 11)))
    cal = ctx.services.calendar
    flags = []
    prev = None
    for d in rows:
        day = d["date"]
        if d["work"] > max_day:
            flags.append({"date": day, "rule": "max_daily", "text": _(
                "{date}: {h} h of work, more than {max} h a day").format(
                date=date_text(day), h=_hm(d["work"]), max=int(max_day.total_seconds() // 3600))})
        for over, needed in BREAK_RULES:
            if d["work"] > over:
                if d["breaks"] < needed:
                    flags.append({"date": day, "rule": "breaks", "text": _(
                        "{date}: {b} min of breaks after {h} h of work; {need} min are needed").format(
                        date=date_text(day), b=int(d["breaks"].total_seconds() // 60), h=_hm(d["work"]),
                        need=int(needed.total_seconds() // 60))})
                break
        if prev is not None and prev["last"] and d["first"] and prev["date"] < day:
            rest = d["first"] - prev["last"]
            if rest < min_rest:
                flags.append({"date": day, "rule": "rest", "text": _(
                    "{date}: {h} h of rest since {prev}; {min} h are needed").format(
                    date=date_text(day), h=_hm(rest), prev=local_text(prev["last"]),
                    min=int(min_rest.total_seconds() // 3600))})
        if d["work"] > dt.timedelta():
            if day.weekday() == 6:
                flags.append({"date": day, "rule": "sunday", "text": _("{date}: work on a Sunday").format(
                    date=date_text(day))})
            name = cal.holiday(day, person_id)
            if name:
                flags.append({"date": day, "rule": "holiday", "text": _("{date}: work on a holiday ({name})").format(
                    date=date_text(day), name=name)})
            prev = d
    return flags


def _month(value: Any) -> tuple[dt.date, dt.date]:
    """A month typed as ``2026-07`` or the locale's way ("07.2026", "7/26";
    core.i18n.parse_month, as accounting's --period) → its first and last day."""
    try:
        first = dt.date.fromisoformat(check_year_text(parse_month(str(value or ""))) + "-01")
    except ValidationError as error:
        raise ValidationError(error.message, field="month") from None
    return first, first.replace(day=_cal.monthrange(first.year, first.month)[1])


def month_report(ctx, month: Any, *, person: Any = None) -> list[dict]:
    """The month per person for payroll: ``{"person_id", "name", "days_worked", "work",
    "expected_days", "absent_days", "holidays_worked", "sundays_worked", "flags"}``.

    One person: oneself with ``hr.time.clock``, anyone with ``hr.time.read``;
    everyone: ``hr.time.read``."""
    first, last = _month(month)
    me = my_person_id(ctx)
    if person not in (None, ""):
        doc = _person(ctx, person)
        if doc["id"] == me:
            require(ctx, m.P_TIME_CLOCK, _("see one's working time"))
        else:
            require(ctx, m.P_TIME_READ, _("see the working time of {name}").format(name=doc["name"]))
        people = [doc]
    else:
        require(ctx, m.P_TIME_READ, _("see everyone's working time"))
        people = [p for p in ctx.backdesk.table("core.people").all()
                  if p.get("status") != "left" or (p.get("end_date") or "") >= first.isoformat()]
        people.sort(key=lambda p: p["name"].casefold())
    cal = ctx.services.calendar
    out = []
    now = _now()
    for p in people:
        rows = days(ctx, p["id"], first - dt.timedelta(days=1), last, now=now)
        flags = [f for f in check_days(ctx, p["id"], rows) if first <= f["date"] <= last]
        rows = [r for r in rows if first <= r["date"] <= last]
        work = sum((r["work"] for r in rows), dt.timedelta())
        expected = [d for d in cal.workdays_between(first, last, p["id"])]
        absent = [d for d in expected if cal.absence_on(p["id"], d) is not None]
        out.append({"person_id": p["id"], "name": p["name"], "days_worked": sum(1 for r in rows if r["work"]),
                    "work": work, "work_text": _hm(work), "expected_days": len(expected) - len(absent),
                    "absent_days": len(absent),
                    "sundays_worked": sum(1 for f in flags if f["rule"] == "sunday"),
                    "holidays_worked": sum(1 for f in flags if f["rule"] == "holiday"),
                    "flags": flags, "days": rows})
    return out


def hm(span: dt.timedelta) -> str:
    """8:05 for a duration."""
    return _hm(span)

