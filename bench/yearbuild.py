"""Build a year of a 60-person office through the services (for bench/year.py).

Every record is made by the function an operator's key press or command
calls — ``Telephony.log_call``/``transfer``/``take_message``, documents'
``add_document``/``add_version``, IT's ``open_ticket``/``add_comment``/
``set_status``, accounting's ``post_entry``/``add_time``/``run_payroll``,
HR's ``hire`` — so the store holds what a year of work leaves: the records,
the audit entries of every change, the events and their deliveries, the
notifications. The clock is moved with ``time_machine`` so each record is
stamped at its moment in the year (office hours, working days).

The year ends on the day of the build, so "today" has calls. Counts at
``scale=1``: 60 employees, ~150k calls (with transfer chains), ~5k
messages, 8k documents (a quarter with a second version), 6k tickets with
comments, 40k manual journal entries, 15k timesheet days, payroll for 12
months.

The build writes into ``<dest>.partial`` and renames it to ``dest`` at the
end, so a folder that exists is complete. ``BUILD_VERSION`` is part of the
cache key: change it when the builder changes what it makes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # after the code bench/year.py measures (a --baseline's), never before it
    sys.path.append(str(ROOT))

BUILD_VERSION = 1
TZ = ZoneInfo("Europe/Berlin")

#: yearly counts at scale 1 (the issue's figures)
YEAR = {"calls": 150_000, "messages": 5_000, "documents": 8_000, "tickets": 6_000,
        "journal": 40_000}
EMPLOYEES = 60
DEPARTMENTS = ("Geschäftsführung", "Empfang", "Vertrieb", "Einkauf", "Buchhaltung", "Personal", "IT",
               "Lager", "Kundendienst", "Marketing")
FIRST = ("Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Katrin",
         "Lukas", "Mia", "Niklas", "Olga", "Paul", "Quirin", "Rosa", "Stefan", "Tanja", "Uwe", "Vera",
         "Wolfgang", "Xenia", "Yusuf", "Zoe")
LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
        "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun",
        "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler", "Maier")
COMPANIES = ("GmbH", "AG", "KG", "& Co. KG", "e.K.", "Ltd", "SE")
TOPICS = ("Rechnung", "Angebot", "Lieferschein", "Vertrag", "Mahnung", "Bestellung", "Kündigung",
          "Gutschrift", "Protokoll", "Bescheid")
TICKET_TITLES = ("Drucker druckt nicht", "Passwort vergessen", "VPN verbindet nicht", "Neuer Monitor",
                 "Outlook hängt", "Telefon ohne Ton", "Laptop langsam", "Zugang zum Laufwerk",
                 "Scanner meldet Fehler", "Software installieren", "E-Mail kommt nicht an", "WLAN bricht ab")
MESSAGES = ("Bitte um Rückruf wegen der Rechnung.", "Termin am Donnerstag verschieben.",
            "Lieferung verspätet, heute zurückrufen.", "Frage zur Vertragsverlängerung.",
            "Braucht das unterschriebene Angebot zurück.", "Ruft zurück.")
EXPENSES = ("expenses:office supplies", "expenses:rent", "expenses:telephone", "expenses:it", "expenses:travel")


def site_config(root: Path, *, pubkey: str, dsn: str | None = None, compact_mb: int = 8) -> None:
    """Write ``root/config`` for the year's office (``dsn``: a PostgreSQL site)."""
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    storage = f"storage: {{backend: postgresql, dsn: {json.dumps(dsn)}}}\n" if dsn else \
        f"storage: {{compact_after_mb: {compact_mb}}}\n"
    (config / "backdesk.yaml").write_text(f"""\
site: {{name: Jahr & Partner GmbH, locale: en_US, timezone: Europe/Berlin, currency: EUR}}
data_dir: {json.dumps(str(root / 'data'))}
{storage}operators:
  alice: {{name: Alice Admin, roles: [admin]}}
  bob: {{name: Bob Berger, roles: [admin]}}
  carla: {{name: Carla Conrad, roles: [admin, it]}}
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
  it: {{title: IT, permissions: ["it.*"]}}
ssh:
  max_sessions: 64
  authorized_keys:
    alice: [{json.dumps(pubkey)}]
    bob: [{json.dumps(pubkey)}]
    carla: [{json.dumps(pubkey)}]
""")
    (config / "plugins.yaml").write_text("plugins:\n  - name: telephony\n  - name: documents\n"
                                         "  - name: it\n  - name: accounting\n  - name: hr\n")


def working_days(first: dt.date, last: dt.date) -> list[dt.date]:
    days, d = [], first
    while d <= last:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


class Clock:
    """Moves time_machine's clock through the year (never backwards)."""

    def __init__(self) -> None:
        import time_machine

        self.now = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
        self.traveller = time_machine.travel(self.now, tick=False)
        self.coords = None

    def __enter__(self) -> "Clock":
        self.coords = self.traveller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.traveller.stop()

    def at(self, moment: dt.datetime) -> None:
        moment = max(moment, self.now + dt.timedelta(microseconds=1))
        self.now = moment
        self.coords.move_to(moment)


def build(dest: Path, *, scale: float, seed: int = 23, progress=print) -> dict:
    """Build the year into ``dest`` (config/, data/, the SSH client key);
    returns the counts.

    ``fsync`` is off while the year is generated (hundreds of thousands of
    commits; this builds test data, it measures no write); the folder is
    synced once at the end.
    """
    import asyncssh

    dest = Path(dest)
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    (partial / "client_key").write_bytes(key.export_private_key())
    os.chmod(partial / "client_key", 0o600)
    pubkey = key.export_public_key().decode().strip()
    # A big journal while building: compacting a growing year every 8 MB
    # would rewrite the audit table's snapshot hundreds of times. The site
    # gets the default back (and one compaction) at the end.
    site_config(partial, pubkey=pubkey, compact_mb=4096)
    started = time.perf_counter()
    real_fsync = os.fsync
    os.fsync = lambda fd: None
    try:
        counts = _fill(partial, scale=scale, seed=seed, progress=progress)
    finally:
        os.fsync = real_fsync
    os.sync()
    counts["build_seconds"] = round(time.perf_counter() - started, 1)
    from core.storage import open_store

    store = open_store(partial / "data")
    store.compact()
    store.close()
    site_config(partial, pubkey=pubkey)
    (partial / "build.json").write_text(json.dumps({"version": BUILD_VERSION, "scale": scale,
                                                    "counts": counts}, indent=1))
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(partial, dest)
    return counts


def _fill(root: Path, *, scale: float, seed: int, progress) -> dict:
    from core.plugins.runtime import open_backdesk

    rng = random.Random(seed)
    last = dt.date.today()
    first = last - dt.timedelta(days=364)
    days = working_days(first, last)
    n = {k: max(1, round(v * scale)) for k, v in YEAR.items()}
    employees = max(12, round(EMPLOYEES * min(1.0, max(scale, 0.2))))
    counts: dict[str, int] = {"working_days": len(days), "employees": employees}
    with Clock() as clock:
        clock.at(dt.datetime.combine(first - dt.timedelta(days=40), dt.time(9), TZ))
        bd = open_backdesk(root / "config", root / "data", account="alice")
        try:
            hired = _staff(bd, clock, rng, employees, first)
            _year(bd, clock, rng, days, n, hired, counts, root, progress)
        finally:
            bd.close()
    return counts


def _staff(bd, clock, rng, employees: int, first: dt.date) -> list[dict]:
    """Departments, and every employee hired through HR (which gives them an
    extension, a payroll record and an onboarding ticket), with a pay rate."""
    from plugins.accounting import payroll
    from plugins.hr import hiring

    people = bd.services.people
    hr = bd.context("hr")
    acc = bd.context("accounting")
    depts = {name: people.add_department(name) for name in DEPARTMENTS}
    names = set()
    staff = []
    openings = {name: hiring.add_opening(hr, f"Team {name}", department=depts[name])["id"] for name in DEPARTMENTS}
    for i in range(employees):
        while True:
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            if name not in names:
                names.add(name)
                break
        dept = DEPARTMENTS[i % len(DEPARTMENTS)]
        cand = hiring.add_candidate(hr, name, opening=openings[dept],
                                    email=f"{name.lower().replace(' ', '.')}@jahr-partner.example".replace(
                                        "ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss"))
        start = first - dt.timedelta(days=rng.randint(30, 3000))
        out = hiring.hire(hr, cand["id"], start=start.isoformat(), pay_amount=f"{rng.randint(32, 80) * 100}.00",
                          job_title="Sachbearbeitung" if i % 3 else "Teamleitung")
        payroll.set_rate(acc, out["person_id"], "salaried", f"{rng.randint(32, 80) * 100}.00")
        staff.append(people.get(out["person_id"]))
    return staff


def _year(bd, clock, rng, days, n, staff, counts, root: Path, progress) -> None:
    from core.errors import BackdeskError
    from plugins.accounting import payroll
    from plugins.accounting import service as acc_svc
    from plugins.documents import service as docs
    from plugins.it import service as it
    from plugins.telephony.service import TargetUnreachable, service_for

    tel = service_for(bd.context("telephony"))
    docs_ctx = bd.context("documents")
    it_ctx = bd.context("it")
    acc = bd.context("accounting")
    acc_svc.ensure_chart(acc)
    reachable = [p for p in staff if p.get("extension")]
    numbers = [f"+49 {rng.randint(30, 999)} {rng.randint(100000, 9999999)}" for _ in range(900)]
    contact_names = {num: (f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                           f"{rng.choice(LAST)} {rng.choice(COMPANIES)}") for num in numbers[:600]}
    files = root / "incoming"
    files.mkdir()
    c = {"calls": 0, "transfers": 0, "attended": 0, "messages": 0, "documents": 0, "versions": 0,
         "tickets": 0, "comments": 0, "journal": 0, "timesheet_days": 0, "payroll_runs": 0}
    per_day = {k: v / len(days) for k, v in n.items()}
    owed = {k: 0.0 for k in per_day}
    t0 = time.perf_counter()
    month_done = None
    open_tickets: list[int] = []
    for day_no, day in enumerate(days):
        # the previous month's payroll on the first working day of a month
        period = f"{day:%Y-%m}"
        if month_done is None:
            month_done = period
        if period != month_done:
            clock.at(dt.datetime.combine(day, dt.time(7, 30), TZ))
            _payroll(acc, payroll, staff, month_done, c)
            month_done = period
        work = []
        for kind in ("calls", "messages", "documents", "tickets", "journal"):
            owed[kind] += per_day[kind]
            k = int(owed[kind])
            owed[kind] -= k
            work += [kind] * k
        rng.shuffle(work)
        opening = dt.datetime.combine(day, dt.time(8, 0), TZ)
        span = 9 * 3600
        moments = sorted(rng.random() * span for _ in work)
        for kind, offset in zip(work, moments):
            clock.at(opening + dt.timedelta(seconds=offset))
            try:
                if kind == "calls":
                    _call(tel, clock, rng, reachable, numbers, contact_names, c, TargetUnreachable)
                elif kind == "messages":
                    _message(tel, rng, reachable, numbers, c)
                elif kind == "documents":
                    _document(docs, docs_ctx, rng, files, c)
                elif kind == "tickets":
                    _ticket(it, it_ctx, clock, rng, staff, open_tickets, c)
                else:
                    _journal(acc_svc, acc, rng, day, c)
            except BackdeskError as exc:  # a rule refused it: count it, go on (as an operator would)
                c["refused"] = c.get("refused", 0) + 1
                c.setdefault("refusals", {}).setdefault(type(exc).__name__ + ": " + str(exc)[:60], 0)
                c["refusals"][type(exc).__name__ + ": " + str(exc)[:60]] += 1
        # everybody's hours of the day, entered at the end of it
        clock.at(dt.datetime.combine(day, dt.time(17, 45), TZ))
        for p in staff:
            payroll.add_time(acc, p["id"], day.isoformat(), start="08:00", end=rng.choice(("16:00", "16:30", "17:00")))
            c["timesheet_days"] += 1
        if day_no % 10 == 0 or day_no == len(days) - 1:
            took = time.perf_counter() - t0
            progress(f"  {day} ({day_no + 1}/{len(days)} days, {took:.0f} s): " +
                     ", ".join(f"{k} {v}" for k, v in c.items() if not isinstance(v, dict)))
    counts.update(c)


def _call(tel, clock, rng, reachable, numbers, contact_names, c, TargetUnreachable) -> None:
    target = rng.choice(reachable)
    if rng.random() < 0.3:
        caller = rng.choice([p for p in reachable if p["id"] != target["id"]])
        cid = tel.log_call(caller["extension"], to=target["extension"])
    else:
        number = rng.choice(numbers)
        name, company = contact_names.get(number, (None, None))
        cid = tel.log_call(number, to=target["extension"], name=name if rng.random() < 0.2 else None,
                           company=company if rng.random() < 0.1 else None)
    c["calls"] += 1
    clock.at(clock.now + dt.timedelta(seconds=rng.randint(8, 60)))
    roll = rng.random()
    try:
        if roll < 0.62:
            tel.transfer(cid, target["id"], mode="blind")
            c["transfers"] += 1
            if rng.random() < 0.06:  # handed on: the chain grows (B -> C)
                clock.at(clock.now + dt.timedelta(seconds=rng.randint(30, 300)))
                other = rng.choice([p for p in reachable if p["id"] != target["id"]])
                tel.transfer(cid, other["id"], mode="blind", note="weitergeleitet")
                c["transfers"] += 1
        elif roll < 0.77:
            tel.transfer(cid, target["id"], mode="attended")
            clock.at(clock.now + dt.timedelta(seconds=rng.randint(5, 40)))
            if rng.random() < 0.85:
                tel.complete_transfer(cid)
                c["attended"] += 1
            else:
                tel.cancel_transfer(cid, reason="no answer")
                tel.end_call(cid, outcome="connected")
        elif roll < 0.87:
            tel.end_call(cid, outcome="missed")
        else:
            tel.end_call(cid, outcome="connected")
    except TargetUnreachable:
        tel.end_call(cid, outcome="connected")


def _message(tel, rng, reachable, numbers, c) -> None:
    target = rng.choice(reachable)
    number = rng.choice(numbers)
    cid = tel.log_call(number, to=target["extension"])
    tel.take_message(target["id"], rng.choice(MESSAGES), number=number, call_id=cid,
                     urgency="urgent" if rng.random() < 0.2 else "normal")
    c["calls"] += 1
    c["messages"] += 1
    if rng.random() < 0.8:
        done = tel.list_messages(open_only=True, for_person_id=target["id"])
        if done:
            tel.complete_callback(done[-1]["id"])


def _document(docs, ctx, rng, files: Path, c) -> None:
    topic = rng.choice(TOPICS)
    who = f"{rng.choice(LAST)} {rng.choice(COMPANIES)}"
    number = rng.randint(10000, 99999)
    path = files / f"{topic.lower()}-{number}.txt"
    body = (f"{topic} Nr. {number}\n{who}\nBetreff: {topic} {rng.choice(TOPICS)}\n"
            + " ".join(rng.choice(TOPICS + LAST) for _ in range(rng.randint(40, 160))) + "\n")
    path.write_text(body, encoding="utf-8")
    doc = docs.add_document(ctx, str(path), {"title": f"{topic} {number} {who}", "correspondent": who,
                                             "direction": rng.choice(("incoming", "outgoing"))})
    c["documents"] += 1
    if rng.random() < 0.25:
        path.write_text(body + "Korrigiert.\n", encoding="utf-8")
        docs.add_version(ctx, doc["id"], str(path), note="korrigiert")
        c["versions"] += 1
    path.unlink()


def _ticket(it, ctx, clock, rng, staff, open_tickets: list, c) -> None:
    requester = rng.choice(staff)
    t = it.open_ticket(ctx, requester=requester["id"], title=rng.choice(TICKET_TITLES),
                       description="Seit heute morgen. " * rng.randint(1, 4),
                       priority=rng.choices(("low", "normal", "high", "urgent"), (2, 6, 2, 1))[0])
    c["tickets"] += 1
    open_tickets.append(t["id"])
    # work on an older ticket: assign, reply, resolve, close
    if len(open_tickets) > 12:
        tid = open_tickets.pop(0)
        it.assign(ctx, tid, "carla")
        for _ in range(rng.randint(1, 3)):
            it.add_comment(ctx, tid, "Bitte einmal neu starten und melden.", minutes=rng.randint(5, 40))
            c["comments"] += 1
        it.set_status(ctx, tid, "resolved", note="erledigt")
        if rng.random() < 0.9:
            it.set_status(ctx, tid, "closed")


def _journal(svc, ctx, rng, day: dt.date, c) -> None:
    amount = rng.randint(500, 250000) / 100
    if rng.random() < 0.5:
        postings = [{"account": rng.choice(EXPENSES), "amount": f"{amount:.2f}"},
                    {"account": "assets:bank:checking", "amount": f"{-amount:.2f}"}]
        text = f"{rng.choice(TOPICS)} {rng.choice(LAST)} {rng.choice(COMPANIES)}"
    else:
        postings = [{"account": "assets:bank:checking", "amount": f"{amount:.2f}"},
                    {"account": "income:sales", "amount": f"{-amount:.2f}"}]
        text = f"Zahlung {rng.choice(LAST)} {rng.choice(COMPANIES)}"
    svc.post_entry(ctx, day.isoformat(), text, postings)
    c["journal"] += 1


def _payroll(acc, payroll, staff, period: str, c) -> None:
    for p in staff:
        try:
            payroll.approve_timesheets(acc, p["id"], period, accept_flags=True)
        except Exception:  # noqa: BLE001 - a person without hours that month
            pass
    payroll.run_payroll(acc, period)
    payroll.pay_out(acc, period)
    c["payroll_runs"] += 1
