"""The demo company's HR: records for everyone, openings and candidates with
interviews, an onboarding under way, cases, warnings and a past dismissal.
Deterministic for a seed; dates relative to today so the cards show something.
"""

from __future__ import annotations

import datetime as dt
import random

from plugins.hr import models as m
from plugins.hr import service as svc

TITLES_PAY = {  # job title words -> monthly salary band
    "Geschäftsführ": (9000, 12000), "Leit": (5200, 7000), "Buchhalt": (3600, 4600),
    "Assist": (2900, 3500), "Empfang": (2700, 3200), "Admin": (4200, 5400),
}


def _pay(rng: random.Random, title: str) -> str:
    for word, (lo, hi) in TITLES_PAY.items():
        if word.lower() in (title or "").lower():
            return f"{rng.randrange(lo, hi, 50)}.00"
    return f"{rng.randrange(3000, 5000, 50)}.00"


def create_demo(ctx, seed: int = 1) -> None:
    rng = random.Random(seed)
    today = svc.today()
    now = svc.now_utc()
    people = ctx.services.people.find(status=("active", "on_leave", "left"))
    records = ctx.table("records")
    contacts = ["Maria", "Thomas", "Sabine", "Jürgen", "Petra", "Michael", "Ute", "Stefan"]
    active = [p for p in people if p.get("status") != "left"]
    for i, p in enumerate(people):
        start = p.get("start_date") or "2020-01-01"
        probation = None
        if i % 9 == 4:  # a few recent joiners still on probation
            probation = (today + dt.timedelta(days=5 + 7 * (i % 4))).isoformat()
        records.insert({
            "person_id": p["id"], "job_title": p.get("title") or "", "contract_type":
                "part_time" if i % 7 == 3 else "permanent",
            "pay_amount": _pay(rng, p.get("title") or ""), "pay_period": "month", "currency": "EUR",
            "start_date": start, "end_date": p.get("end_date"), "probation_end": probation,
            "hours_per_week": "20.00" if i % 7 == 3 else "40.00",
            "emergency_name": f"{rng.choice(contacts)} {p['name'].split()[-1]}",
            "emergency_phone": f"+49 30 {rng.randint(1000000, 9999999)}", "emergency_relation":
                rng.choice(["spouse", "parent", "partner", "sibling"]), "notes": "",
            "created_at": now, "updated_at": now, "left_on": p.get("end_date")})
    depts = ctx.services.people.departments()
    dept = {d["name"]: d["id"] for d in depts}
    first = depts[0]["id"] if depts else None
    openings = ctx.table("openings")
    o1 = openings.insert({"title": "Buchhalter/in (m/w/d)", "department_id": dept.get("Buchhaltung", first),
                          "description": "Kreditoren, Debitoren, Monatsabschluss", "status": "open",
                          "created_at": now, "by": "demo"})
    o2 = openings.insert({"title": "IT-Systemadministrator/in", "department_id": dept.get("IT", first),
                          "description": "Windows, Linux, Telefonanlage", "status": "open",
                          "created_at": now, "by": "demo"})
    candidates = ctx.table("candidates")
    cands = [("Lena Vogt", o1, "interview"), ("Timo Krüger", o1, "screening"), ("Aylin Demir", o1, "applied"),
             ("Jonas Brenner", o2, "offer"), ("Sophie Lang", o2, "rejected"), ("Marek Nowak", o2, "interview")]
    ids = []
    for name, opening, stage in cands:
        hist = [{"stage": "applied", "at": now, "by": "demo", "note": "via Website"}]
        if stage != "applied":
            hist.append({"stage": stage, "at": now, "by": "demo", "note": ""})
        mail = name.lower().replace(" ", ".").replace("ü", "ue") + "@example.org"
        ids.append(candidates.insert({"name": name, "email": mail, "phone": f"+49 170 {rng.randint(1000000, 9999999)}",
                                      "opening_id": opening, "stage": stage, "cv": None, "person_id": None,
                                      "created_at": now, "history": hist}))
    interviews = ctx.table("interviews")
    for cid, days, hour in ((ids[0], 2, 10), (ids[5], 3, 14), (ids[3], -5, 9)):
        start = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, 0), tzinfo=dt.timezone.utc)
        interviews.insert({"candidate_id": cid, "start": start.isoformat().replace("+00:00", "Z"), "minutes": 60,
                           "location": "Besprechungsraum 2", "interviewers": "eva, Leitung",
                           "feedback": "Sehr gute Fachkenntnisse, passt ins Team." if days < 0 else "",
                           "rating": 4 if days < 0 else None, "recommend": True if days < 0 else None,
                           "created_at": now, "by": "demo"})
    # an onboarding under way for the newest active person
    if active:
        newest = max(active, key=lambda p: (p.get("start_date") or "", p["id"]))
        cid = svc.create_checklist(ctx, newest["id"], "onboarding")
        doc = ctx.table("checklists")[cid]
        for i in (0, 1):
            doc = svc._set_item(ctx, doc, i, True, by="demo")
    cases = ctx.table("cases")
    if len(active) > 6:
        a, b, c, d = active[2], active[5], active[3], active[6]
        cases.insert({"type": "complaint", "subject": "Lautstärke im Großraumbüro", "description":
                      "Dauertelefonate am Nachbartisch, Bitte um Ruhezonen.", "raised_by": a["id"], "anonymous": False,
                      "against_person_id": None, "against_party": "", "status": "open", "cause": "", "outcome": "",
                      "resolved_by": None, "resolved_at": None, "opened_at": now, "opened_by": "demo", "notes": []})
        cases.insert({"type": "harassment", "subject": "Abfällige Bemerkungen in Meetings", "description":
                      "Wiederholte herabsetzende Kommentare.", "raised_by": None, "anonymous": True,
                      "against_person_id": b["id"], "against_party": "", "status": "investigating", "cause": "",
                      "outcome": "", "resolved_by": None, "resolved_at": None, "opened_at": now, "opened_by": "demo",
                      "notes": [{"at": now, "by": "demo", "status": "investigating", "text": "Gespräche geplant"}]})
        cases.insert({"type": "grievance", "subject": "Überstunden nicht ausgeglichen", "description": "",
                      "raised_by": c["id"], "anonymous": False, "against_person_id": None,
                      "against_party": "", "status": "resolved", "cause": "Zeiterfassung fehlerhaft",
                      "outcome": "Stunden nachgetragen", "resolved_by": "eva", "resolved_at": now,
                      "opened_at": now, "opened_by": "demo", "notes": []})
        warnings = ctx.table("warnings")
        for person, level, back, reason in ((b, "verbal", 40, "Unangemessene Bemerkungen"),
                                            (b, "written", 150, "Wiederholte Unpünktlichkeit"),
                                            (d, "final", 350, "Verstoß gegen Datenschutzrichtlinie")):
            day = today - dt.timedelta(days=back)
            months = ctx.settings["warning_expiry_months"][level]
            warnings.insert({"person_id": person["id"], "level": level, "reason": reason, "date": day.isoformat(),
                             "expires": m.add_months(day, months).isoformat(), "hearing_notes": "Anhörung mit Betriebsrat",
                             "case_id": None, "acknowledged_at": day.isoformat() if level != "final" else None,
                             "acknowledgement": "", "withdrawn": False, "issued_by": "eva", "issued_at": now})
    left = [p for p in people if p.get("status") == "left"]
    for p in left[:1]:
        ctx.table("dismissals").insert({"person_id": p["id"], "date": p.get("end_date"), "reason": "Eigenkündigung",
                                        "kind": "resignation", "gross_misconduct": "", "warning_id": None,
                                        "by": "eva", "at": now, "cancelled": False})
    create_absence_demo(ctx, rng, active, today, now)


def create_absence_demo(ctx, rng: random.Random, active: list[dict], today: dt.date, now: str) -> None:
    """A month of absences around today (approved and requested leave, two sick
    notes, in core's absence register too) and two weeks of clocked time, one
    day of it with too little rest."""
    from core.i18n import get_timezone
    from plugins.hr import leave

    cal = ctx.services.calendar
    month = today.replace(day=1)
    table = ctx.table("leave")
    taken: dict[int, list[tuple[dt.date, dt.date]]] = {}

    def free(pid: int, a: dt.date, b: dt.date) -> bool:
        return all(b < x or a > y for x, y in taken.get(pid, []))

    for i, p in enumerate(active):
        if i % 3:
            continue
        start = month + dt.timedelta(days=rng.randrange(0, 24))
        end = start + dt.timedelta(days=rng.choice((2, 4, 6, 9)))
        days = leave.leave_days(ctx, p["id"], start, end)
        if not days or start.year != end.year:
            continue
        status = "requested" if start > today + dt.timedelta(days=3) and i % 2 else "approved"
        deputy = active[(i + 1) % len(active)]["id"] if len(active) > 1 else None
        lid = table.insert({"person_id": p["id"], "kind": "vacation", "start": start.isoformat(), "end": end.isoformat(),
                            "days": len(days), "status": status, "note": "", "deputy_id": deputy,
                            "requested_by": "demo", "requested_at": now, "decided_by": "eva" if status == "approved"
                            else None, "decided_at": now if status == "approved" else None, "reason": ""})
        if status == "approved":
            cal.put_absence(f"hr.leave:{lid}", p["id"], start.isoformat(), end.isoformat(), deputy_id=deputy)
        taken.setdefault(p["id"], []).append((start, end))
    sick = ctx.table("sick_notes")
    for i, p in enumerate(active[1::5][:2]):
        start = today - dt.timedelta(days=2 + 3 * i)
        end = start + dt.timedelta(days=2 + i)
        if not free(p["id"], start, end):
            continue
        sid = sick.insert({"person_id": p["id"], "start": start.isoformat(), "end": end.isoformat(),
                           "certificate": bool(i), "note": "AU-Bescheinigung liegt vor" if i else "",
                           "status": "recorded", "deputy_id": None, "recorded_by": "eva", "recorded_at": now})
        cal.put_absence(f"hr.sick:{sid}", p["id"], start.isoformat(), end.isoformat())
    # two weeks of clocked time for a few people: 8 h with a 30 min break, one late evening
    clock = ctx.table("time")
    tz = get_timezone()

    def stamp(day: dt.date, hh: int, mm: int = 0) -> str:
        moment = dt.datetime.combine(day, dt.time(hh, mm), tz).astimezone(dt.timezone.utc)
        return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")

    for n, p in enumerate(active[:4]):
        for back in range(14, 0, -1):
            day = today - dt.timedelta(days=back)
            if not cal.expects_work(day, p["id"]):
                continue
            late = n == 0 and back == 6  # 13:00–22:00: too little rest before the next day at 07:00
            begin = 13 if late else 7 if n == 0 and back == 5 else 7 + (n + back) % 3
            pause = 17 if late else 12
            clock.insert({"person_id": p["id"], "kind": "work", "start": stamp(day, begin),
                          "end": stamp(day, pause), "by": "demo"})
            clock.insert({"person_id": p["id"], "kind": "break", "start": stamp(day, pause),
                          "end": stamp(day, pause, 30), "by": "demo"})
            clock.insert({"person_id": p["id"], "kind": "work", "start": stamp(day, pause, 30),
                          "end": stamp(day, 22) if late else stamp(day, begin + 8, 30), "by": "demo"})
