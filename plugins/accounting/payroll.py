"""Payroll and hours: pay rates, timesheets and their checks, payroll runs
and payslips, HR's hires and dismissals.

Salaries are confidential: reading a rate or a payslip needs
``accounting.payroll.read`` and is recorded in the audit trail.

Pay arithmetic (all Decimal, rounded per the ``rounding`` setting):

* hourly: hours of each ISO week up to ``weekly_limit`` at the rate, the
  rest at ``rate × overtime_multiplier``; hours on holidays at
  ``rate × holiday_multiplier``;
* salaried: the monthly salary, plus overtime and holiday hours at the
  hourly equivalent ``salary / monthly_hours`` with the same multipliers;
  in the month someone starts (``start_date`` of ``hr.employee_hired``) or
  leaves (``date`` of ``hr.employee_dismissed``, their last day) the salary
  is prorated by calendar days: ``salary × days employed / days in the
  month``, both days counted, rounded once (see :func:`employed_days`);
* deductions: each configured fraction of the gross, rounded on its own;
  net = gross − deductions.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from core.services.audit import now_utc
from core.services.choices import Choice, rank
from core.errors import UnknownRecord, ValidationError
from core.i18n import date_text, format_date, month_text, today
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import service as svc
from plugins.accounting.models import _



def _month(period) -> str:
    """A month the locale's way in a message ("11.2026"); as given if it is none."""
    try:
        return month_text(period)
    except ValueError:
        return str(period)[:20]


def _s(ctx, key, default):
    v = ctx.settings.get(key)
    return default if v is None else v


def _dec(ctx, key, default) -> Decimal:
    return L.to_decimal(str(_s(ctx, key, default)))


def _person(ctx, person_id) -> dict:
    try:
        pid = int(person_id)
    except (TypeError, ValueError):
        pid = None
    person = ctx.backdesk.table("core.people").get(pid) if pid is not None else None
    if person is None:
        raise UnknownRecord(_("no person with id {id}").format(id=person_id))
    return person


def resolve_person(ctx, key) -> int:
    """A directory id from an id or a unique name: first among the people on
    payroll (a payroll clerk need not read the directory), then, for an
    operator who may, in the directory."""
    text = str(key or "").strip()
    if text.isdigit():
        _person(ctx, text)
        return int(text)
    hits = [{"id": c.value} for c in (person_choices(ctx, text) if ctx.can("accounting.payroll.write") else [])
            if c.label.casefold() == text.casefold()] if text else []
    if text and not hits and ctx.can("core.directory.read"):
        hits = [p for p in ctx.services.people.find(text) if p["name"].casefold() == text.casefold()]
    if len(hits) != 1:
        raise ValidationError(_("no person called {name!r}").format(name=text[:40]) if not hits else
                              _("several people are called {name!r}: use the id").format(name=text), field="person")
    return hits[0]["id"]


def person_choices(ctx, text: str, *, everyone: bool = False) -> list[Choice]:
    """The people on payroll for a picker (recording hours, checking and
    approving them, a pay rate): ``text`` ranked against their names, each
    with how they are paid ("salaried", "awaiting a rate") as its detail, the
    rate itself not shown. Needs ``accounting.payroll.write``, not the
    directory: a payroll clerk finds the people payroll knows. With
    ``everyone`` (a new pay rate) an operator who may read the directory is
    offered its active people too ("not on payroll yet")."""
    ctx.require("accounting.payroll.write")
    rows = {}
    for r in ctx.table("rates").all():
        detail = m.label(m.PAY_KINDS, r["kind"]) if r.get("kind") else _("awaiting a rate")
        final = r.get("final_pay") or {}
        if final.get("date") and not final.get("settled_run"):
            detail += " · " + _("leaves {date}").format(date=format_date(final["date"], "short"))
        rows[int(r["person_id"])] = Choice(int(r["person_id"]), ctx.person_name(r["person_id"], "?"), detail)
    if everyone and ctx.can("core.directory.read"):
        for p in ctx.services.people.find(""):
            if p["id"] not in rows and (p.get("status") or "active") != "left":
                rows[p["id"]] = Choice(p["id"], p.get("name") or "", _("not on payroll yet"))
    return rank(text, rows.values(), lambda c: c.label, lambda c: c.detail)


def person_choice(ctx, person_id) -> Choice | None:
    """The person ``person_id`` as a payroll picker's first choice (a form
    opened on a row), or None."""
    if person_id in (None, ""):
        return None
    return Choice(int(person_id), ctx.person_name(person_id, "?"))


# ============================================================================ rates
def payroll_record(ctx, person_id) -> dict | None:
    return next(iter(ctx.table("rates").find({"person_id": int(person_id)}, limit=1)), None)


def rates(ctx) -> list[dict]:
    """Every payroll record with its rate (confidential: audited)."""
    ctx.services.audit.read_confidential("accounting.payroll.read", "accounting", "rates", None,
                                         _("list pay rates"))
    rows = ctx.table("rates").find({}, order_by=["person_id"])
    return [{**r, "name": ctx.person_name(r["person_id"], "?")} for r in rows]


def set_rate(ctx, person_id, kind: str, rate, cur=None) -> dict:
    ctx.require("accounting.payroll.write")
    person_id = resolve_person(ctx, person_id)
    if kind not in m.PAY_KINDS:
        raise ValidationError(_("{kind!r} is not a pay kind (salaried, hourly)").format(kind=str(kind)[:20]),
                              field="kind")
    value = m.amount(rate, "rate", positive=True, allow_zero=False)
    with ctx.transaction():
        t = ctx.table("rates")
        doc = {"person_id": person_id, "kind": kind, "rate": svc.mtext(ctx, value),
               "currency": str(cur or svc.currency(ctx)).upper(), "status": "active",
               "updated_at": now_utc(), "updated_by": ctx.operator.account}
        old = payroll_record(ctx, person_id)
        if old:
            return t.update(old["id"], doc)
        return t.get(t.insert({**doc, "final_pay": None}))


# ============================================================================ HR events
def on_employee_hired(ctx, data: dict) -> None:
    """A payroll record awaiting a rate (once per person, however often delivered)."""
    pid = int(data["person_id"])
    with ctx.transaction():
        if payroll_record(ctx, pid):
            return
        ctx.table("rates").insert({"person_id": pid, "kind": None, "rate": None, "currency": svc.currency(ctx),
                                   "status": "awaiting_rate", "start_date": data.get("start_date"),
                                   "final_pay": None, "updated_at": now_utc()})
        ctx.publish("payroll_record_created", {"person_id": pid})
    for login in svc.approvers(ctx, "accounting.payroll.write"):
        ctx.services.notifications.notify(login, _("A new employee (person {id}) needs a pay rate").format(id=pid),
                                          link="accounting.payroll")


def on_employee_dismissed(ctx, data: dict) -> None:
    """Flag a final pay run for the person (once per dismissal date)."""
    pid = int(data["person_id"])
    date = str(data.get("date") or today().isoformat())
    with ctx.transaction():
        t = ctx.table("rates")
        rec = payroll_record(ctx, pid)
        if rec and (rec.get("final_pay") or {}).get("date") == date:
            return
        flag = {"date": date, "reason": data.get("reason") or data.get("kind") or "", "settled_run": None}
        if rec is None:
            t.insert({"person_id": pid, "kind": None, "rate": None, "currency": svc.currency(ctx),
                      "status": "awaiting_rate", "final_pay": flag, "updated_at": now_utc()})
        else:
            t.update(rec["id"], {"final_pay": flag})
        ctx.publish("final_pay_flagged", {"person_id": pid, "date": date})
    for login in svc.approvers(ctx, "accounting.payroll.run"):
        ctx.services.notifications.notify(login, _("Final pay is due for person {id} (leaving {date})").format(
            id=pid, date=date), kind="warning", link="accounting.payroll")


def final_pay_flags(ctx) -> list[dict]:
    return [r for r in ctx.table("rates").all() if r.get("final_pay") and not r["final_pay"].get("settled_run")]


# ============================================================================ timesheets
def add_time(ctx, person_id, date, start=None, end=None, hours=None, note: str = "") -> dict:
    """Record hours for a day: a start and end time, or a number of hours."""
    ctx.require("accounting.payroll.write")
    pid = resolve_person(ctx, person_id)
    date = m.date(date, "date")
    if start or end:
        start, end = m.hhmm(start, "start"), m.hhmm(end, "end")
        span = m.minutes(end) - m.minutes(start)
        if span <= 0:
            raise ValidationError(_("the end {end} is not after the start {start}").format(end=end, start=start),
                                  field="end")
        value = Decimal(span) / 60
    else:
        value = m.amount(hours, "hours")
        start = end = None
    if value < 0:
        raise ValidationError(_("hours must not be negative"), field="hours")
    if value > 24:
        raise ValidationError(_("{h} hours is more than a day has").format(h=f"{value:f}"), field="hours")
    with ctx.transaction():
        t = ctx.table("timesheets")
        day_total = sum((L.to_decimal(x["hours"]) for x in t.find({"person_id": pid, "date": date})), Decimal(0))
        if day_total + value > 24:
            raise ValidationError(_("{date} would have {h} hours: more than 24 in a day").format(
                date=date, h=f"{(day_total + value).normalize():f}"), field="hours")
        doc_id = t.insert({"person_id": pid, "date": date, "start": start, "end": end,
                           "hours": f"{value.quantize(Decimal('0.01')):f}", "note": m.text(note, "note", required=False),
                           "status": "open", "flags": [], "at": now_utc(), "by": ctx.operator.account})
    return t.get(doc_id)


def timesheets(ctx, person_id=None, start=None, end=None) -> list[dict]:
    if not ctx.can("accounting.payroll.read"):
        ctx.require("accounting.payroll.write")
    from core.storage import Range

    where: dict = {}
    if person_id is not None:
        where["person_id"] = int(person_id)
    if start or end:
        where["date"] = Range(**({"ge": start} if start else {}), **({"le": end} if end else {}))
    return ctx.table("timesheets").find(where, order_by=["date", "person_id", "start"])


def latest_month(ctx) -> str | None:
    """The month (YYYY-MM) of the latest hours recorded, or None."""
    if not ctx.can("accounting.payroll.read"):
        ctx.require("accounting.payroll.write")
    last = ctx.table("timesheets").find({}, order_by=["-date"], limit=1, fields=["date"])
    return last[0]["date"][:7] if last else None


def check_hours(ctx, rows: list[dict], start: str, end: str, person_ids=None) -> list[dict]:
    """Flags ``{person_id, date, reason}`` for the timesheet rows of [start, end]:
    over the daily limit, over the weekly limit, missing working days, overlapping
    entries, work on holidays.

    Working days and holidays come from the office's calendar
    (``services.calendar``: the person's region, company days off), and a
    day of approved leave or a sick note expects no hours."""
    daily = _dec(ctx, "daily_limit", 10)
    weekly = _dec(ctx, "weekly_limit", 40)
    cal = ctx.services.calendar
    flags = []
    by_person: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_person[r["person_id"]].append(r)
    for pid in (person_ids if person_ids is not None else by_person):
        mine = by_person.get(pid, [])
        days: dict[str, list[dict]] = defaultdict(list)
        for r in mine:
            days[r["date"]].append(r)
        weeks: dict[str, Decimal] = defaultdict(Decimal)
        for day, items in sorted(days.items()):
            total = sum((L.to_decimal(x["hours"]) for x in items), Decimal(0))
            y, w, _d = dt.date.fromisoformat(day).isocalendar()
            weeks[f"{y}-W{w:02d}"] += total
            if total > daily:
                flags.append({"person_id": pid, "date": day, "reason": _("{h} h on {date}: over {limit} h a day").format(
                    h=f"{total.normalize():f}", date=date_text(day), limit=f"{daily.normalize():f}")})
            if total > 0 and cal.holiday(day, pid):
                flags.append({"person_id": pid, "date": day,
                              "reason": _("work on a holiday ({date})").format(date=date_text(day))})
            timed = sorted((x for x in items if x.get("start")), key=lambda x: x["start"])
            for a, b in zip(timed, timed[1:]):
                if b["start"] < a["end"]:
                    flags.append({"person_id": pid, "date": day, "reason": _(
                        "overlapping entries on {date}: {a1}–{a2} and {b1}–{b2}").format(
                        date=date_text(day), a1=a["start"], a2=a["end"], b1=b["start"], b2=b["end"])})
        for week, total in sorted(weeks.items()):
            if total > weekly:
                flags.append({"person_id": pid, "date": week, "reason": _("{h} h in week {week}: over {limit} h").format(
                    h=f"{total.normalize():f}", week=week, limit=f"{weekly.normalize():f}")})
        last = min(dt.date.fromisoformat(end), today())
        d = dt.date.fromisoformat(start)
        while d <= last:
            iso = d.isoformat()
            if iso not in days and cal.expects_work(d, pid):
                flags.append({"person_id": pid, "date": iso,
                              "reason": _("no hours on {date}, a working day").format(date=date_text(iso))})
            d += dt.timedelta(days=1)
    return sorted(flags, key=lambda f: (f["person_id"], f["date"]))


def check_period(ctx, person_id, period: str) -> list[dict]:
    first, last = m.period(period)
    pid = resolve_person(ctx, person_id)
    return check_hours(ctx, timesheets(ctx, pid, first, last), first, last, [pid])


def approve_timesheets(ctx, person_id, period: str, *, accept_flags: bool = False) -> dict:
    """Approve a person's hours of a month after the checks; flagged hours
    are approved only with ``accept_flags`` (the reasons are kept)."""
    ctx.require("accounting.payroll.write")
    first, last = m.period(period)
    pid = resolve_person(ctx, person_id)
    with ctx.transaction():
        rows = [r for r in timesheets(ctx, pid, first, last)]
        if not rows:
            raise ValidationError(_("no hours recorded for person {id} in {period}").format(id=pid, period=_month(period)))
        flags = check_hours(ctx, rows, first, last, [pid])
        if flags and not accept_flags:
            raise ValidationError(_.ngettext(
                "{n} problem, first: {reason}; approve with the flags accepted to go on",
                "{n} problems, first: {reason}; approve with the flags accepted to go on",
                len(flags)).format(n=len(flags), reason=flags[0]["reason"]))
        by_date = defaultdict(list)
        for f in flags:
            by_date[f["date"]].append(f["reason"])
        t = ctx.table("timesheets")
        for r in rows:
            t.update(r["id"], {"status": "approved", "flags": by_date.get(r["date"], []),
                               "approved_by": ctx.operator.account})
    return {"approved": len(rows), "flags": flags}


def timeclock(ctx, start=None, end=None) -> str:
    """The hours in hledger timeclock format (account = the person's name);
    entries recorded as a number of hours start at 09:00."""
    from plugins.accounting.hledger import write_timeclock

    rows = []
    for r in timesheets(ctx, None, start, end):
        s, e = r.get("start"), r.get("end")
        if not s:
            mins = int(L.to_decimal(r["hours"]) * 60)
            s = "09:00"
            total = 9 * 60 + mins
            if total >= 24 * 60:
                s, total = "00:00", mins
            e = f"{total // 60:02d}:{total % 60:02d}"
        rows.append({"account": ctx.person_name(r["person_id"], f"person {r['person_id']}"), "date": r["date"],
                     "start": s, "end": e})
    return write_timeclock(rows)


# ============================================================================ payroll run
def deductions(ctx) -> dict[str, Decimal]:
    return {k: L.to_decimal(str(v)) for k, v in (_s(ctx, "deductions", {}) or {}).items()}


def _h(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _iso(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def employed_days(rec: dict, first: str, last: str) -> tuple[int, int]:
    """``(days employed, days)`` of the period [first, last] in calendar days.

    Employed from the record's ``start_date`` (HR's hire) through the
    ``final_pay`` date (HR's leaving date: the last day worked), both days
    counted; a missing date does not limit the period.
    """
    period_start, period_end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    total = (period_end - period_start).days + 1
    start = _iso(rec.get("start_date"))
    leave = _iso((rec.get("final_pay") or {}).get("date"))
    begin = max(period_start, start) if start else period_start
    end = min(period_end, leave) if leave else period_end
    return max(0, (end - begin).days + 1), total


def is_prorated(slip: dict) -> bool:
    """A salaried payslip for part of its month (a start or a leaving date in it)."""
    return slip.get("kind") == "salaried" and slip.get("days") is not None and slip["days"] != slip.get("period_days")


def salary_days_text(slip: dict) -> str:
    """"Salary 12/30 days" for a prorated payslip."""
    return _("Salary {days}/{total} days").format(days=slip["days"], total=slip["period_days"])


def compute_payslip(ctx, rec: dict, hours: list[dict], first: str, last: str) -> dict:
    """One person's pay for [first, last] (pure arithmetic on their approved hours).

    A salary is prorated by calendar days employed (:func:`employed_days`):
    ``salary × days / days in the period``, computed exactly and rounded once
    to ``places`` with ``rounding``; a whole period pays the salary as it is.
    """
    rate = L.to_decimal(rec["rate"])
    days, period_days = employed_days(rec, first, last)
    weekly = _dec(ctx, "weekly_limit", 40)
    ot_mult, hol_mult = _dec(ctx, "overtime_multiplier", "1.25"), _dec(ctx, "holiday_multiplier", "2")
    cal = ctx.services.calendar
    weeks: dict[str, Decimal] = defaultdict(Decimal)
    holiday_hours = Decimal(0)
    for r in hours:
        h = L.to_decimal(r["hours"])
        if cal.holiday(r["date"], rec["person_id"]):
            holiday_hours += h
        else:
            y, w, _d = dt.date.fromisoformat(r["date"]).isocalendar()
            weeks[f"{y}-W{w:02d}"] += h
    regular = sum((min(v, weekly) for v in weeks.values()), Decimal(0))
    overtime = sum((max(v - weekly, Decimal(0)) for v in weeks.values()), Decimal(0))
    if rec["kind"] == "hourly":
        hourly = rate
        base = svc.rnd(ctx, regular * rate)
    else:
        hourly = rate / _dec(ctx, "monthly_hours", 160)
        base = svc.rnd(ctx, rate if days == period_days else rate * days / period_days)
    overtime_pay = svc.rnd(ctx, overtime * hourly * ot_mult)
    holiday_pay = svc.rnd(ctx, holiday_hours * hourly * hol_mult)
    gross = base + overtime_pay + holiday_pay
    deds = [{"name": name, "rate": f"{fr:f}", "amount": svc.mtext(ctx, gross * fr)} for name, fr in deductions(ctx).items()]
    net = gross - sum((L.to_decimal(d["amount"]) for d in deds), Decimal(0))
    return {"person_id": rec["person_id"], "kind": rec["kind"], "rate": rec["rate"], "currency": rec["currency"],
            "days": days, "period_days": period_days,
            "regular_hours": _h(regular), "overtime_hours": _h(overtime), "holiday_hours": _h(holiday_hours),
            "base": svc.mtext(ctx, base), "overtime_pay": svc.mtext(ctx, overtime_pay),
            "holiday_pay": svc.mtext(ctx, holiday_pay), "gross": svc.mtext(ctx, gross), "deductions": deds,
            "net": svc.mtext(ctx, net)}


def _payroll_slips(ctx, period: str) -> tuple[list[tuple[dict, dict, bool]], list[str], dict]:
    """What a payroll run of ``period`` would pay, written nowhere: (rate record,
    payslip, final pay?) per person, the warnings, and the totals per currency."""
    from core.storage import Range

    first, last = m.period(period)
    people = {p["id"]: p for p in ctx.backdesk.table("core.people").all()}
    records = [r for r in ctx.table("rates").find({"status": "active"}, order_by=["person_id"])]
    slips, warnings = [], []
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    all_hours = ctx.table("timesheets").find({"date": Range(ge=first, le=last)})
    for rec in records:
        fp = rec.get("final_pay") or {}
        if fp.get("settled_run"):
            continue  # left in an earlier period
        if rec.get("start_date") and rec["start_date"] > last:
            continue
        mine = [h for h in all_hours if h["person_id"] == rec["person_id"]]
        open_ = [h for h in mine if h["status"] != "approved"]
        if open_:
            warnings.append(_.ngettext("{name}: {n} unapproved day left out",
                                       "{name}: {n} unapproved days left out", len(open_)).format(
                name=people.get(rec["person_id"], {}).get("name", rec["person_id"]), n=len(open_)))
        slip = compute_payslip(ctx, rec, [h for h in mine if h["status"] == "approved"], first, last)
        final = bool(fp.get("date")) and fp["date"] <= last
        slips.append((rec, slip, final))
        tot = totals[slip["currency"]]
        tot["gross"] += L.to_decimal(slip["gross"])
        tot["net"] += L.to_decimal(slip["net"])
        tot["withheld"] += L.to_decimal(slip["gross"]) - L.to_decimal(slip["net"])
    return slips, warnings, totals


def payroll_preview(ctx, period: str) -> dict:
    """What ``run_payroll(period)`` would do, for the operator to confirm:
    ``{"period", "payslips": n, "gross": {currency: Decimal}, "warnings"}``.
    Refused like the run (permission, a period run already, nobody paid)."""
    ctx.require("accounting.payroll.run")
    m.period(period)
    if ctx.table("payroll_runs").find({"period": period}, limit=1):
        raise ValidationError(_("payroll for {period} has been run already").format(period=_month(period)), field="period")
    slips, warnings, totals = _payroll_slips(ctx, period)
    if not slips:
        raise ValidationError(_("nobody has a pay rate: set rates first"))
    return {"period": period, "payslips": len(slips), "warnings": warnings,
            "gross": {cur: tot["gross"] for cur, tot in sorted(totals.items())}}


def run_payroll(ctx, period: str, date=None) -> dict:
    """Payslips for everyone with a rate, and the journal entry, for one month."""
    ctx.require("accounting.payroll.run")
    first, last = m.period(period)
    date = m.date(date or last, "date")
    with ctx.transaction():
        runs = ctx.table("payroll_runs")
        if runs.find({"period": period}, limit=1):
            raise ValidationError(_("payroll for {period} has been run already").format(period=_month(period)), field="period")
        computed, warnings, totals = _payroll_slips(ctx, period)
        run_id = runs.insert({"period": period, "date": date, "at": now_utc(), "by": ctx.operator.account,
                              "payslips": [], "warnings": []})
        slips = []
        for rec, slip, final in computed:
            slip.update({"run_id": run_id, "period": period, "final": final})
            if final:
                fp = rec.get("final_pay") or {}
                ctx.table("rates").update(rec["id"], {"final_pay": {**fp, "settled_run": run_id}})
            slips.append(ctx.table("payslips").insert(slip))
        if not slips:
            raise ValidationError(_("nobody has a pay rate: set rates first"))
        entries = []
        for cur, tot in sorted(totals.items()):
            postings = [{"account": svc.account(ctx, "salaries"), "amount": svc.mtext(ctx, tot["gross"]), "currency": cur},
                        {"account": svc.account(ctx, "net_pay"), "amount": svc.mtext(ctx, -tot["net"]), "currency": cur}]
            if tot["withheld"]:
                postings.append({"account": svc.account(ctx, "withholdings"),
                                 "amount": svc.mtext(ctx, -tot["withheld"]), "currency": cur})
            entries.append(svc._post(ctx, date, _("Payroll {period}").format(period=period), postings,
                                     source="payroll", ref={"run_id": run_id})["number"])
        return runs.update(run_id, {"payslips": slips, "warnings": warnings, "entries": entries,
                                    "totals": {c: {k: svc.mtext(ctx, v) for k, v in t.items()} for c, t in totals.items()}})


def pay_out(ctx, period: str, date=None) -> dict:
    """Pay the net wages of a run from the bank (one entry)."""
    ctx.require("accounting.payroll.run")
    with ctx.transaction():
        runs = ctx.table("payroll_runs")
        found = runs.find({"period": period}, limit=1)
        if not found:
            raise UnknownRecord(_("no payroll run for {period}").format(period=_month(period)))
        run = found[0]
        if run.get("paid_entries"):
            raise ValidationError(_("the wages of {period} are paid already").format(period=_month(period)))
        numbers = []
        for cur, tot in sorted(run["totals"].items()):
            numbers.append(svc._post(ctx, m.date(date or run["date"], "date"), _("Wages {period}").format(period=period),
                                     [{"account": svc.account(ctx, "net_pay"), "amount": tot["net"], "currency": cur},
                                      {"account": svc.account(ctx, "bank"), "amount": svc.mtext(ctx, -L.to_decimal(tot["net"])),
                                       "currency": cur}], source="wages", ref={"run_id": run["id"]})["number"])
        return runs.update(run["id"], {"paid_entries": numbers})


def payroll_runs(ctx) -> list[dict]:
    ctx.require("accounting.payroll.read")
    return ctx.table("payroll_runs").find({}, order_by=["-period"])


def payslips(ctx, *, run_id=None, person_id=None) -> list[dict]:
    """Payslips (confidential: needs accounting.payroll.read; the read is audited)."""
    where = {}
    if run_id is not None:
        where["run_id"] = int(run_id)
    if person_id is not None:
        where["person_id"] = int(person_id)
    ctx.services.audit.read_confidential("accounting.payroll.read", "accounting", "payslips", None,
                                         _("payslips {where}").format(where=where or _("all")))
    return [{**s, "name": ctx.person_name(s["person_id"], "?")}
            for s in ctx.table("payslips").find(where, order_by=["-run_id", "person_id"])]


def payslip(ctx, slip_id) -> dict:
    ctx.services.audit.read_confidential("accounting.payroll.read", "accounting", "payslips", int(slip_id),
                                         _("payslip"))
    doc = svc._get(ctx.table("payslips"), slip_id, _("payslip"))
    return {**doc, "name": ctx.person_name(doc["person_id"], "?")}
