"""IT's domain operations: what the screens, the CLI and the event handlers call.

Every function takes the plugin's ``ctx`` first, checks the operator's
permission (``system=True`` skips it for reactions to other plugins' events,
see docs/events.md), validates, and writes in one ``ctx.transaction()``;
reads that decide a write happen inside that transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable

from core import csvsafe
from core.services.choices import Choice, rank
from core.errors import BackdeskError, PermissionDenied, UnknownRecord, ValidationError
from core.safetext import scrub
from core.storage import AnyOf, Contains, Not, Range
from plugins.it import models as m
from plugins.it.models import _

if TYPE_CHECKING:
    from plugins.it import sla

# -- permissions -------------------------------------------------------------------
P_CREATE = "it.tickets.create"
P_READ = "it.tickets.read"
P_WORK = "it.tickets.work"
P_ASSETS_READ = "it.assets.read"
P_ASSETS_EDIT = "it.assets.edit"
P_MAINT = "it.maintenance.edit"
P_CHANGES = "it.changes.edit"
P_APPROVE = "it.changes.approve"
P_CHECKS_READ = "it.checks.read"
P_CHECKS_EDIT = "it.checks.edit"

PERMISSIONS = {
    P_CREATE: "Open tickets (report a problem)",
    P_READ: "Read tickets and queues",
    P_WORK: "Assign, comment on, and move tickets through the workflow",
    P_ASSETS_READ: "Look assets up",
    P_ASSETS_EDIT: "Add, import, check out and check in assets",
    "it.maintenance.read": "See maintenance tasks",
    P_MAINT: "Add maintenance tasks and log them done",
    "it.changes.read": "See change requests",
    P_CHANGES: "Propose change requests and record their outcome",
    P_APPROVE: "Approve or reject change requests (with the approver role)",
    P_CHECKS_READ: "See the service-check board",
    P_CHECKS_EDIT: "Add, remove and run service checks",
}

#: the tables IT keeps, each with the permission that reads it whole (export)
TABLES = {"tickets": P_READ, "comments": P_READ, "assets": P_ASSETS_READ, "asset_history": P_ASSETS_READ,
          "tasks": "it.maintenance.read", "task_log": "it.maintenance.read", "changes": "it.changes.read",
          "checks": P_CHECKS_READ, "check_log": P_CHECKS_READ}


def clock() -> dt.datetime:
    """Now, in UTC (tests replace this to walk through a week)."""
    return dt.datetime.now(dt.timezone.utc)


def stamp(moment: dt.datetime | None = None) -> str:
    return (moment or clock()).astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def parse_stamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def today() -> dt.date:
    from core.i18n import get_timezone

    return clock().astimezone(get_timezone()).date()


def _require(ctx, permission: str, system: bool) -> None:
    if not system:
        ctx.require(permission)


# -- settings-derived -----------------------------------------------------------------
def calendar(ctx) -> sla.Calendar:
    from core.i18n import get_timezone
    from plugins.it import sla  # the SLA clocks: not for the dashboard's cards (~0.5 ms, -X importtime)

    s = ctx.settings
    office = ctx.services.calendar  # public holidays of the site's region, company days off (core.services.workdays)
    return sla.Calendar.parse(s["workdays"], s["hours"], lambda day: office.holiday(day) is not None,
                              get_timezone())


def targets(ctx, priority: str) -> tuple[dt.timedelta, dt.timedelta]:
    """(first response, resolution) targets of business time for ``priority``."""
    row = ctx.settings["sla"].get(priority) or ctx.settings["sla"]["normal"]
    return dt.timedelta(hours=float(row["response"])), dt.timedelta(hours=float(row["resolution"]))


def team(ctx) -> list[tuple[str, str]]:
    """The IT team: (account, name) of operators holding a team role."""
    roles = set(ctx.settings["team_roles"])
    out = []
    for account, op in sorted(ctx.config.operators.items()):
        if roles & set(op.roles):
            out.append((account, op.name or account))
    return out


def person_name(ctx, person_id: int | None, cache: dict | None = None) -> str:
    if person_id is None:
        return ""
    if cache is not None and person_id in cache:
        return cache[person_id]
    try:
        name = ctx.services.people.name_of(person_id, f"#{person_id}")
    except PermissionDenied:
        name = f"#{person_id}"
    if cache is not None:
        cache[person_id] = name
    return name


def resolve_person(ctx, value: Any, field: str = "person") -> dict:
    """A person from an id (int or digits) or a name that matches one person."""
    people = ctx.backdesk.table("core.people")
    if isinstance(value, bool) or value in (None, ""):
        raise ValidationError(_("name a person"), field=field)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        pid = int(value)
        doc = people.get(pid)
        if doc is None:
            raise UnknownRecord(_("no person with id {id}").format(id=pid))
        return doc
    if not isinstance(value, str) or len(value) > 200:
        raise ValidationError(_("name a person by id or name"), field=field)
    words = value.casefold().split()
    hits = [p for p in people.find({"name": Contains(words[0])}) if all(w in p["name"].casefold() for w in words)]
    exact = [p for p in hits if p["name"].casefold() == value.strip().casefold()]
    if len(exact) == 1:
        return exact[0]
    if not hits:
        raise UnknownRecord(_("no person called {name!r} in the directory").format(name=value))
    if len(hits) > 1:
        names = ", ".join(f"{p['name']} (#{p['id']})" for p in hits[:4])
        raise ValidationError(_("{name!r} matches {n} people: {names}; give the id").format(
            name=value, n=len(hits), names=names), field=field)
    return hits[0]


# ==================================================================================
# Tickets
# ==================================================================================
def _tickets(ctx):
    return ctx.table("tickets")


def get_ticket(ctx, ticket_id: Any, *, system: bool = False) -> dict:
    _require(ctx, P_READ, system)
    tid = m.whole(ticket_id, "ticket", minimum=1, maximum=10**12) if not isinstance(ticket_id, int) else ticket_id
    doc = _tickets(ctx).get(tid)
    if doc is None:
        raise UnknownRecord(_("no ticket #{id}").format(id=ticket_id))
    return doc


def _transitions(doc: dict) -> list[tuple[dt.datetime, str]]:
    return [(parse_stamp(h["at"]), h["status"]) for h in doc.get("history", []) if "status" in h]


def sla_state(ctx, doc: dict, now: dt.datetime | None = None) -> dict:
    """The ticket's SLA clocks: due times (None while paused), time left, overdue."""
    from plugins.it import sla  # the SLA clocks: not for the dashboard's cards (~0.5 ms, -X importtime)

    now = now or clock()
    cal = calendar(ctx)
    resp_t, res_t = targets(ctx, doc["priority"])
    opened = parse_stamp(doc["opened_at"])
    trans = _transitions(doc)
    out: dict[str, Any] = {}
    responded = parse_stamp(doc["first_response_at"]) if doc.get("first_response_at") else None
    for key, target, stop in (("response", resp_t, responded), ("resolution", res_t, None)):
        segs = sla.running_segments(opened, trans, stop_at=stop)
        due = sla.due_at(cal, segs, target)
        used = sla.consumed(cal, segs, now)
        out[key + "_due"] = due
        out[key + "_left"] = target - used
        done = (key == "response" and responded is not None) or (
            key == "resolution" and doc["status"] in ("resolved", "closed"))
        out[key + "_met"] = (used <= target) if done else None
        out[key + "_overdue"] = not done and used > target
    out["paused"] = doc["status"] == "waiting"
    return out


def _recompute(ctx, doc: dict) -> dict:
    """Store the due times the queues query on (called after every change)."""
    state = sla_state(ctx, doc)
    resp = state["response_due"] if not doc.get("first_response_at") else None
    res = state["resolution_due"] if doc["status"] in ("new", "open") else None
    return {"response_due": stamp(resp) if resp else None,
            "resolution_due": stamp(res) if res else None}


def _history(doc: dict, by: str, **entry) -> list:
    return list(doc.get("history", [])) + [{"at": stamp(), "by": by, **entry}]


def open_ticket(ctx, *, requester: Any, title: str, description: str = "", kind: str = "incident",
                category: str = "hardware", priority: str = "normal", assets: Iterable[Any] = (),
                due: Any = None, source: str | None = None, source_key: str | None = None,
                system: bool = False) -> dict:
    """Open a ticket for a person of the directory; returns the stored ticket."""
    _require(ctx, P_CREATE, system)
    title = m.text(title, "title", required=True)
    description = m.text(description, "description", limit=m.MAX_TEXT)
    kind = m.choice(kind, "kind", m.KINDS, default="incident")
    category = m.choice(category, "category", m.CATEGORIES, default="hardware")
    priority = m.choice(priority, "priority", m.PRIORITIES, default="normal")
    due = m.future_date(due, "due", today())
    with ctx.transaction():
        person = resolve_person(ctx, requester, "requester")
        if person.get("status") == "left" and source != "offboarding":
            raise ValidationError(_("{name} has left the company").format(name=person["name"]),
                                  field="requester")
        asset_ids = []
        for a in assets:
            asset_ids.append(find_asset(ctx, a, system=True)["id"])
        if source_key:
            found = _tickets(ctx).find({"source_key": source_key}, limit=1)
            if found:
                return found[0]
        at = stamp()
        doc = {"title": title, "description": description, "kind": kind, "category": category,
               "priority": priority, "status": "new", "requester_id": person["id"], "assignee": None,
               "asset_ids": sorted(set(asset_ids)), "opened_at": at, "opened_by": ctx.store.actor,
               "first_response_at": None, "resolved_at": None, "closed_at": None, "due": due,
               "minutes": 0, "source": source, "source_key": source_key,
               "history": [{"at": at, "by": ctx.store.actor, "status": "new"}]}
        doc.update(_recompute(ctx, doc))
        tid = _tickets(ctx).insert(doc)
        ctx.publish("ticket_opened", {"ticket_id": tid, "person_id": person["id"], "assignee": None})
        return _tickets(ctx)[tid]


def assign(ctx, ticket_id: Any, account: str | None, *, system: bool = False) -> dict:
    """Give the ticket to a member of the IT team (None: unassign). A new
    ticket becomes open; the assignee is notified."""
    _require(ctx, P_WORK, system)
    members = dict(team(ctx))
    if account is not None:
        account = str(account).strip()
        if account not in members:
            raise ValidationError(_("{account!r} is not in the IT team (team: {team})").format(
                account=account, team=", ".join(members) or "-"), field="assignee")
    with ctx.transaction():
        doc = get_ticket(ctx, ticket_id, system=True)
        if doc["status"] == "closed":
            raise ValidationError(_("ticket #{id} is closed; reopen it first").format(id=doc["id"]),
                                  field="status")
        if doc.get("assignee") == account:
            return doc
        changes: dict[str, Any] = {"assignee": account}
        entry = {"assignee": account}
        hist = _history(doc, ctx.store.actor, **entry)
        if account and doc["status"] == "new":
            changes["status"] = "open"
            hist.append({"at": hist[-1]["at"], "by": ctx.store.actor, "status": "open"})
        changes["history"] = hist
        new = {**doc, **changes}
        changes.update(_recompute(ctx, new))
        doc = _tickets(ctx).update(doc["id"], changes)
        if account:
            ctx.publish("ticket_assigned", {"ticket_id": doc["id"], "person_id": doc["requester_id"],
                                            "assignee": account})
            if account != ctx.store.actor:
                ctx.services.notifications.notify(
                    account, _("Ticket #{id} was assigned to you: {title}").format(id=doc["id"], title=doc["title"]),
                    kind="it.ticket", link=f"it.ticket:{doc['id']}")
        return doc


def on_absence(ctx, data: dict) -> list[int]:
    """``hr.absence_approved``: with ``absence_to_deputy``, the active tickets
    of a team member away today go to their deputy (if the deputy is in the
    team). Returns the ids handed over."""
    if not ctx.settings.get("absence_to_deputy") or not data.get("deputy_id"):
        return []
    day = today().isoformat()
    if not data["start"] <= day <= data["end"]:
        return []
    notes = ctx.services.notifications
    away, deputy = notes.account_of_person(data["person_id"]), notes.account_of_person(data["deputy_id"])
    members = dict(team(ctx))
    if not away or not deputy or deputy not in members:
        return []
    moved = []
    for doc in _tickets(ctx).find({"assignee": away, "status": AnyOf(list(m.ACTIVE))}, order_by=["id"]):
        assign(ctx, doc["id"], deputy, system=True)
        moved.append(doc["id"])
    return moved


def hand_over_absent(ctx) -> list[int]:
    """With ``absence_to_deputy``: the tickets of everyone away today go to
    their deputy. ``hr.absence_approved`` does it for an absence that has
    begun; for one approved ahead, the checks watcher (``backdesk it checks
    watch``) calls this every round, so the hand-over happens on its first day."""
    if not ctx.settings.get("absence_to_deputy"):
        return []
    day = today().isoformat()
    moved: list[int] = []
    for absence in ctx.services.calendar.absences(day, day):
        moved += on_absence(ctx, absence)
    return moved


def set_status(ctx, ticket_id: Any, status: str, *, note: str = "", system: bool = False) -> dict:
    """Move the ticket through new → open → waiting → resolved → closed.

    Reopening (resolved/closed → open) is allowed within ``reopen_days`` of
    the resolution. A transition the workflow does not allow is refused.
    """
    _require(ctx, P_WORK, system)
    status = m.choice(status, "status", m.STATUSES)
    note = m.text(note, "note", limit=m.MAX_TEXT)
    with ctx.transaction():
        doc = get_ticket(ctx, ticket_id, system=True)
        old = doc["status"]
        if status == old:
            raise ValidationError(_("ticket #{id} is already {status}").format(
                id=doc["id"], status=_(m.STATUS_TITLES[old])), field="status")
        if status not in m.TRANSITIONS[old]:
            allowed = ", ".join(_(m.STATUS_TITLES[s]) for s in m.TRANSITIONS[old])
            raise ValidationError(_("ticket #{id} cannot go from {a} to {b} (from {a}: {allowed})").format(
                id=doc["id"], a=_(m.STATUS_TITLES[old]), b=_(m.STATUS_TITLES[status]), allowed=allowed),
                field="status")
        now = clock()
        changes: dict[str, Any] = {"status": status}
        if old in ("resolved", "closed") and status == "open":
            limit = int(ctx.settings["reopen_days"])
            resolved = parse_stamp(doc["resolved_at"]) if doc.get("resolved_at") else now
            if now - resolved > dt.timedelta(days=limit):
                raise ValidationError(_.ngettext(
                    "ticket #{id} was resolved more than {n} day ago; open a new ticket",
                    "ticket #{id} was resolved more than {n} days ago; open a new ticket", limit).format(
                    id=doc["id"], n=limit), field="status")
            changes.update({"resolved_at": None, "closed_at": None})
        if status == "resolved":
            changes["resolved_at"] = stamp(now)
            if not doc.get("first_response_at"):
                changes["first_response_at"] = stamp(now)
        if status == "closed":
            changes["closed_at"] = stamp(now)
        hist = _history(doc, ctx.store.actor, status=status, **({"note": note} if note else {}))
        changes["history"] = hist
        changes.update(_recompute(ctx, {**doc, **changes}))
        doc = _tickets(ctx).update(doc["id"], changes)
        if note:
            ctx.table("comments").insert({"ticket_id": doc["id"], "at": stamp(now), "by": ctx.store.actor,
                                          "text": note, "internal": False, "minutes": 0})
        if status == "resolved":
            ctx.publish("ticket_resolved", {"ticket_id": doc["id"], "person_id": doc["requester_id"],
                                            "assignee": doc.get("assignee")})
            ctx.services.notifications.notify_person(
                doc["requester_id"], _("Your ticket #{id} was resolved: {title}").format(
                    id=doc["id"], title=doc["title"]), kind="it.ticket", link=f"it.ticket:{doc['id']}")
        return doc


def set_priority(ctx, ticket_id: Any, priority: str, *, system: bool = False) -> dict:
    """Change the priority; the due times follow the new targets at once."""
    _require(ctx, P_WORK, system)
    priority = m.choice(priority, "priority", m.PRIORITIES)
    with ctx.transaction():
        doc = get_ticket(ctx, ticket_id, system=True)
        if doc["priority"] == priority:
            return doc
        changes = {"priority": priority,
                   "history": _history(doc, ctx.store.actor, priority=priority)}
        changes.update(_recompute(ctx, {**doc, **changes}))
        return _tickets(ctx).update(doc["id"], changes)


def add_comment(ctx, ticket_id: Any, text: str = "", *, internal: bool = False, minutes: Any = 0,
                canned: str | None = None, system: bool = False, by: str | None = None) -> dict:
    """A reply (or an internal note) with the time spent; a team member's
    first public reply is the ticket's first response. A public reply on a
    ticket that came by mail goes to the requester by mail too. ``by``
    (with ``system``): who wrote it, when not the operator (``mail:ADDRESS``)."""
    _require(ctx, P_WORK, system)
    if canned:
        replies = ctx.settings["canned_replies"]
        if canned not in replies:
            raise ValidationError(_("no canned reply {name!r} (known: {known})").format(
                name=canned, known=", ".join(replies) or "-"), field="canned")
        text = (replies[canned] + ("\n\n" + text if text else "")).strip()
    text = m.text(text, "text", limit=m.MAX_TEXT)
    minutes = m.whole(minutes, "minutes", minimum=0, maximum=60 * 24 * 7, default=0)
    if not text and not minutes:
        raise ValidationError(_("write a comment or enter the minutes spent"), field="text")
    with ctx.transaction():
        doc = get_ticket(ctx, ticket_id, system=True)
        if doc["status"] == "closed":
            raise ValidationError(_("ticket #{id} is closed; reopen it first").format(id=doc["id"]),
                                  field="status")
        at = stamp()
        author = by if (system and by) else ctx.store.actor
        cid = ctx.table("comments").insert({"ticket_id": doc["id"], "at": at, "by": author,
                                            "text": text, "internal": bool(internal), "minutes": minutes})
        if text and not internal and doc.get("reply_to") and not author.startswith("mail:"):
            _mail_requester(ctx, doc, _("Re: [#{id}] {title}").format(id=doc["id"], title=doc["title"]), text)
        changes: dict[str, Any] = {"minutes": int(doc.get("minutes") or 0) + minutes}
        if text and not internal and not doc.get("first_response_at") and ctx.store.actor in dict(team(ctx)):
            changes["first_response_at"] = at
            changes.update(_recompute(ctx, {**doc, **changes}))
        _tickets(ctx).update(doc["id"], changes)
        return ctx.table("comments")[cid]


def comments(ctx, ticket_id: int, *, include_internal: bool = True) -> list[dict]:
    _require(ctx, P_READ, False)
    where: dict[str, Any] = {"ticket_id": ticket_id}
    if not include_internal or not ctx.can(P_WORK):
        where["internal"] = False  # internal notes are for the IT team
    return ctx.table("comments").find(where, order_by=["at", "id"])


QUEUES = ("active", "mine", "unassigned", "overdue", "waiting", "all")
QUEUE_TITLES = {"active": m.N_("active"), "mine": m.N_("mine"), "unassigned": m.N_("unassigned"),
                "overdue": m.N_("overdue"), "waiting": m.N_("waiting"), "all": m.N_("all")}


def _in_queue(name: str, doc: dict, me: str, now: str) -> bool:
    """Whether an active ticket (new, open, waiting) is in the queue ``name``:
    the store's answers to the queues' questions (None is a missing value too,
    a due compares as text), asked of tickets read once."""
    if name == "mine":
        return doc.get("assignee") == me
    if name == "unassigned":
        return doc.get("assignee") is None
    if name == "waiting":
        return doc.get("status") == "waiting"
    if name == "overdue":
        return doc.get("status") in ("new", "open") and any(
            type(due := doc.get(k)) is str and due < now for k in ("resolution_due", "response_due"))
    return True


def _active(ctx, fields: list[str] | None = None) -> list[dict]:
    """The active tickets (new, open, waiting): every queue but "all" is among them."""
    projected = {} if fields is None else {"fields": fields}
    return _tickets(ctx).find({"status": AnyOf(list(m.ACTIVE))}, **projected)


def queue(ctx, name: str = "active", *, system: bool = False, active: list[dict] | None = None) -> list[dict]:
    """The tickets of a queue, most urgent first. ``active``: the active
    tickets read already (:func:`queue_view`)."""
    _require(ctx, P_READ, system)
    name = m.choice(name, "queue", QUEUES)
    if name == "all":
        rows = _tickets(ctx).all()
    else:
        now, me = stamp(), ctx.operator.account
        rows = [d for d in (_active(ctx) if active is None else active) if _in_queue(name, d, me, now)]
    rank = {p: i for i, p in enumerate(m.PRIORITIES)}
    rows.sort(key=lambda d: (rank.get(d["priority"], 9), d.get("resolution_due") or "9999", d["id"]))
    return rows


def queue_parts(ctx, name: str = "all") -> tuple[Any, list[tuple[dict, Any]]]:
    """The queue for a screen that reads it a page at a time
    (core.shell.widgets.ordered_pages): the tickets' table and store queries whose
    rows, one part after the other, are :func:`queue`'s in its order —
    priority, then the resolution due (none last), then the id — so a year's
    tickets are not read for the rows on screen.  For "all"; the other
    queues hold the open tickets only."""
    _require(ctx, P_READ, False)
    if m.choice(name, "queue", QUEUES) != "all":
        raise ValueError(f"queue_parts reads the queue \"all\" only, not {name!r}")
    parts: list[tuple[dict, Any]] = []
    for priority in (*m.PRIORITIES, None):
        which = {"priority": priority if priority is not None else Not(AnyOf(list(m.PRIORITIES)))}
        parts.append(({**which, "resolution_due": Range(gt="")}, ["resolution_due", "id"]))
        parts.append(({**which, "resolution_due": Not(Range(gt=""))}, "id"))
    return _tickets(ctx), parts


#: what the queues' questions look at (:func:`_in_queue`)
_QUEUE_FIELDS = ["status", "assignee", "resolution_due", "response_due"]
_COUNTED = ("active", "mine", "unassigned", "overdue", "waiting")


def queue_counts(ctx, active: list[dict] | None = None) -> dict[str, int]:
    """How many tickets each queue but "all" holds: the active tickets read
    once (the fields the queues look at), not once per queue."""
    _require(ctx, P_READ, False)
    if active is None:
        active = _active(ctx, _QUEUE_FIELDS)
    now, me = stamp(), ctx.operator.account
    return {q: sum(1 for d in active if _in_queue(q, d, me, now)) for q in _COUNTED}


def queue_view(ctx, name: str) -> tuple[dict[str, int], list[dict] | None]:
    """The Helpdesk's question on each refresh: the queues' sizes and the
    tickets of ``name`` (None for "all": read a page at a time,
    :func:`queue_parts`), from one read of the active tickets."""
    _require(ctx, P_READ, False)
    if m.choice(name, "queue", QUEUES) == "all":
        return queue_counts(ctx), None
    active = _active(ctx)
    return queue_counts(ctx, active), queue(ctx, name, active=active)


def ticket_rows(ctx, rows: list[dict]) -> list[dict]:
    """Tickets with what a table shows: requester and asset names, due text."""
    try:  # every requester's name in one read (each a query on PostgreSQL)
        names: dict = ctx.services.people.names_of(d.get("requester_id") for d in rows)
    except PermissionDenied:
        names = {}
    moments: dict = {}  # each date formatted once (Babel's date formats: ~1 ms each)
    now = stamp()
    out = []
    for d in rows:
        due = d.get("resolution_due") or d.get("response_due")
        if d["status"] == "waiting":
            due_text = _("paused")
        elif d["status"] in ("resolved", "closed"):
            due_text = "-"
        elif due:
            due_text = _short_moment(due, moments)
        else:
            due_text = ""
        overdue = any((d.get(k) or "9999") < now for k in ("response_due", "resolution_due")) \
            and d["status"] in ("new", "open")
        out.append({**d, "requester": person_name(ctx, d["requester_id"], names),
                    "status_text": m.label(m.STATUS_TITLES, d["status"]),
                    "priority_text": m.label(m.PRIORITY_TITLES, d["priority"]),
                    "due_text": ("! " if overdue else "") + due_text, "overdue": overdue,
                    "assignee_text": d.get("assignee") or "-"})
    return out


def _short_moment(value: str, dates: dict | None = None) -> str:
    """A due time in few cells: the time when it is today, else the date
    (``dates``: the dates formatted already, by date)."""
    from core.i18n import format_date, format_time, to_local

    local = to_local(value)
    day = local.date()
    if day == today():
        return format_time(local)
    if dates is None:
        return format_date(local, "short")
    if day not in dates:
        dates[day] = format_date(local, "short")
    return dates[day]


def tickets_of_asset(ctx, asset_id: int) -> list[dict]:
    _require(ctx, P_READ, False)
    return [d for d in reversed(_tickets(ctx).all()) if asset_id in (d.get("asset_ids") or [])]


# ==================================================================================
# Assets
# ==================================================================================
def _assets(ctx):
    return ctx.table("assets")


def asset_choices(ctx, text: str) -> list[Choice]:
    """Assets for a picker: ``text`` ranked against their tags, then their
    model and serial; the value is the tag, the detail its type, model and
    who has it."""
    _require(ctx, P_ASSETS_READ, False)
    found = rank(text, _assets(ctx).all(), lambda a: a.get("tag") or "",
                 lambda a: " ".join(str(a.get(k) or "") for k in ("model", "serial", "type")))
    names: dict = {}
    out = []
    for a in found:
        parts = [m.label(m.ASSET_TYPE_TITLES, a.get("type")) if a.get("type") else "", a.get("model") or ""]
        if a.get("person_id"):
            parts.append(person_name(ctx, a["person_id"], names))
        out.append(Choice(a["tag"], a["tag"], " · ".join(p for p in parts if p)))
    return out


def ticket_asset_choices(ctx, text: str) -> list[Choice]:
    """Assets for a new ticket's "Asset tags": as :func:`asset_choices` for
    an operator who may read the assets; anyone who may open a ticket (which
    names any tag) finds a tag by part of it, its type or model, without
    whom it is lent to."""
    if ctx.can(P_ASSETS_READ):
        return asset_choices(ctx, text)
    _require(ctx, P_CREATE, False)
    found = rank(text, _assets(ctx).all(), lambda a: a.get("tag") or "",
                 lambda a: " ".join(str(a.get(k) or "") for k in ("model", "type")))
    return [Choice(a["tag"], a["tag"], " · ".join(
        p for p in (m.label(m.ASSET_TYPE_TITLES, a.get("type")) if a.get("type") else "", a.get("model") or "") if p))
            for a in found]


def find_asset(ctx, value: Any, *, system: bool = False) -> dict:
    """An asset by its tag (or #id)."""
    _require(ctx, P_ASSETS_READ, system)
    if isinstance(value, int) and not isinstance(value, bool):
        doc = _assets(ctx).get(value)
    else:
        text = str(value or "").strip()
        if text.startswith("#") and text[1:].isdigit():
            doc = _assets(ctx).get(int(text[1:]))
        else:
            found = _assets(ctx).find({"tag": text}, limit=1)
            doc = found[0] if found else None
    if doc is None:
        raise UnknownRecord(_("no asset with tag {tag!r}").format(tag=str(value)))
    return doc


def _log_asset(ctx, asset_id: int, action: str, **data) -> None:
    ctx.table("asset_history").insert({"asset_id": asset_id, "at": stamp(), "by": ctx.store.actor,
                                       "action": action, **data})


def add_asset(ctx, data: dict, *, system: bool = False) -> dict:
    _require(ctx, P_ASSETS_EDIT, system)
    clean = m.clean_asset(data, today())
    person = data.get("person")
    with ctx.transaction():
        if _assets(ctx).find({"tag": clean["tag"]}, limit=1):
            raise ValidationError(_("the asset tag {tag!r} is already in use").format(tag=clean["tag"]),
                                  field="tag")
        clean.update({"person_id": None, "assignees": [], "created_at": stamp()})
        aid = _assets(ctx).insert(clean)
        _log_asset(ctx, aid, "added")
        if person not in (None, ""):
            check_out(ctx, clean["tag"], person=person, system=True)
        return _assets(ctx)[aid]


def update_asset(ctx, tag: Any, data: dict, *, system: bool = False) -> dict:
    _require(ctx, P_ASSETS_EDIT, system)
    clean = m.clean_asset(data, today(), partial=True)
    with ctx.transaction():
        doc = find_asset(ctx, tag, system=True)
        if "tag" in clean and clean["tag"] != doc["tag"] and _assets(ctx).find({"tag": clean["tag"]}, limit=1):
            raise ValidationError(_("the asset tag {tag!r} is already in use").format(tag=clean["tag"]),
                                  field="tag")
        changed = {k: v for k, v in clean.items() if doc.get(k) != v}
        if changed:
            doc = _assets(ctx).update(doc["id"], changed)
            _log_asset(ctx, doc["id"], "edited", fields=sorted(changed))
        return doc


def check_out(ctx, tag: Any, *, person: Any = None, location: str = "", quantity: Any = 1,
              system: bool = False) -> dict:
    """Hand an asset to a person or a location. A licence gives one seat to
    the person; an accessory or consumable is issued from stock."""
    _require(ctx, P_ASSETS_EDIT, system)
    location = m.text(location, "location")
    with ctx.transaction():
        doc = find_asset(ctx, tag, system=True)
        pid = resolve_person(ctx, person)["id"] if person not in (None, "") else None
        if pid is None and not location:
            raise ValidationError(_("name a person or a location"), field="person")
        if doc.get("status") == "retired":
            raise ValidationError(_("{tag} is retired").format(tag=doc["tag"]), field="tag")
        if doc["type"] == "licence":
            if pid is None:
                raise ValidationError(_("a licence seat goes to a person"), field="person")
            seats = list(doc.get("assignees") or [])
            if pid in seats:
                raise ValidationError(_("{name} already has a seat of {tag}").format(
                    name=person_name(ctx, pid), tag=doc["tag"]), field="person")
            if len(seats) >= int(doc.get("seats") or 0):
                total = int(doc.get("seats") or 0)
                raise ValidationError(_.ngettext("the only seat of {tag} is taken", "all {n} seats of {tag} are taken",
                                                 total).format(n=total, tag=doc["tag"]), field="tag")
            doc = _assets(ctx).update(doc["id"], {"assignees": seats + [pid], "status": "in_use"})
            _log_asset(ctx, doc["id"], "check_out", person_id=pid)
        elif doc["type"] in m.STOCK_TYPES:
            qty = m.whole(quantity, "quantity", minimum=1, maximum=10**6, default=1)
            have = int(doc.get("quantity") or 0)
            if qty > have:
                raise ValidationError(_("only {n} of {tag} in stock").format(n=have, tag=doc["tag"]),
                                      field="quantity")
            doc = _assets(ctx).update(doc["id"], {"quantity": have - qty})
            _log_asset(ctx, doc["id"], "issue", person_id=pid, location=location or None, quantity=qty)
        else:
            if doc.get("person_id") is not None or (doc.get("status") == "in_use" and doc.get("location")):
                who = person_name(ctx, doc.get("person_id")) or doc.get("location")
                raise ValidationError(_("{tag} is checked out to {who}; check it in first").format(
                    tag=doc["tag"], who=who), field="tag")
            doc = _assets(ctx).update(doc["id"], {"person_id": pid, "location": location or doc.get("location", ""),
                                                  "status": "in_use"})
            _log_asset(ctx, doc["id"], "check_out", person_id=pid, location=location or None)
        return doc


def check_in(ctx, tag: Any, *, person: Any = None, quantity: Any = 1, status: str = "spare",
             system: bool = False) -> dict:
    """Take an asset back (a licence seat from ``person``; stock back in)."""
    _require(ctx, P_ASSETS_EDIT, system)
    status = m.choice(status, "status", m.ASSET_STATUSES, default="spare")
    with ctx.transaction():
        doc = find_asset(ctx, tag, system=True)
        if doc["type"] == "licence":
            seats = list(doc.get("assignees") or [])
            pid = resolve_person(ctx, person)["id"] if person not in (None, "") else None
            if pid is None or pid not in seats:
                raise ValidationError(_("name the person whose seat of {tag} is freed").format(tag=doc["tag"]),
                                      field="person")
            seats.remove(pid)
            doc = _assets(ctx).update(doc["id"], {"assignees": seats, "status": "in_use" if seats else "spare"})
            _log_asset(ctx, doc["id"], "check_in", person_id=pid)
        elif doc["type"] in m.STOCK_TYPES:
            qty = m.whole(quantity, "quantity", minimum=1, maximum=10**9, default=1)
            doc = _assets(ctx).update(doc["id"], {"quantity": int(doc.get("quantity") or 0) + qty})
            _log_asset(ctx, doc["id"], "restock", quantity=qty)
        else:
            if doc.get("person_id") is None and doc.get("status") != "in_use":
                raise ValidationError(_("{tag} is not checked out").format(tag=doc["tag"]), field="tag")
            prev = doc.get("person_id")
            doc = _assets(ctx).update(doc["id"], {"person_id": None, "status": status})
            _log_asset(ctx, doc["id"], "check_in", person_id=prev)
        return doc


def asset_history(ctx, asset_id: int) -> list[dict]:
    _require(ctx, P_ASSETS_READ, False)
    return ctx.table("asset_history").find({"asset_id": asset_id}, order_by=["at", "id"])


def assets_of_person(ctx, person_id: int) -> list[dict]:
    """Every asset checked out to the person (licence seats included)."""
    out = []
    for d in _assets(ctx).find({"status": Not("retired")}, order_by=["tag"]):
        if d.get("person_id") == person_id or person_id in (d.get("assignees") or []):
            out.append(d)
    return out


def warranty_expiring(ctx, days: int | None = None) -> list[dict]:
    _require(ctx, P_ASSETS_READ, False)
    days = int(ctx.settings["warranty_warn_days"] if days is None else days)
    start = today()
    end = (start + dt.timedelta(days=days)).isoformat()
    return _assets(ctx).find({"warranty_end": Range(ge=start.isoformat(), le=end), "status": Not("retired")},
                             order_by=["warranty_end", "tag"])


def low_stock(ctx) -> list[dict]:
    _require(ctx, P_ASSETS_READ, False)
    return [d for d in _assets(ctx).find({"type": AnyOf(list(m.STOCK_TYPES)), "status": Not("retired")},
                                         order_by=["tag"])
            if int(d.get("quantity") or 0) < int(d.get("min_quantity") or 0)]


def asset_rows(ctx, rows: list[dict]) -> list[dict]:
    names: dict = {}
    out = []
    for d in rows:
        if d["type"] == "licence":
            seats = int(d.get("seats") or 0)
            holder = _.ngettext("{n}/{s} seat", "{n}/{s} seats", seats).format(n=len(d.get("assignees") or []), s=seats)
        elif d["type"] in m.STOCK_TYPES:
            q, mq = int(d.get("quantity") or 0), int(d.get("min_quantity") or 0)
            holder = _("{q} in stock").format(q=q) + (" ⚠ " + _("low") if q < mq else "")
        else:
            holder = person_name(ctx, d.get("person_id"), names) or d.get("location") or ""
        out.append({**d, "holder": holder, "type_text": m.label(m.ASSET_TYPE_TITLES, d["type"]),
                    "status_text": m.label(m.ASSET_STATUS_TITLES, d.get("status"))})
    return out


CSV_FIELDS = ("tag", "type", "model", "serial", "name", "status", "person", "location", "purchase_date",
              "warranty_end", "next_audit", "seats", "quantity", "min_quantity", "notes")
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def import_csv(ctx, fh: IO[str]) -> dict:
    """Add or update assets keyed on the tag: all rows or none.

    Problems are collected and reported with their line numbers in one
    message; nothing is stored unless every row is good. One leading
    apostrophe before ``= + - @``, a tab or a carriage return — what the
    CSV listings (``--format csv``) put there — is removed
    (:func:`core.csvsafe.unescape_cell`).
    """
    _require(ctx, P_ASSETS_EDIT, False)
    data = fh.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError(_("the file is larger than 20 MB"), field="file")
    try:
        reader = csvsafe.DictReader(io.StringIO(data))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ValidationError(_("not a CSV file: {e}").format(e=exc), field="file") from None
    if "tag" not in header:
        raise ValidationError(_("line 1: the header needs a 'tag' column (columns: {cols})").format(
            cols=", ".join(CSV_FIELDS)), field="file")
    unknown = [h for h in header if h and h not in CSV_FIELDS]
    if unknown:
        raise ValidationError(_.ngettext("line 1: unknown column {cols}", "line 1: unknown columns {cols}",
                                         len(unknown)).format(cols=", ".join(unknown)), field="file")
    reader.fieldnames = header
    problems: list[str] = []
    created, updated = [], []
    with ctx.transaction():
        seen: dict[str, int] = {}
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise ValidationError(_("line {n}: {e}").format(n=reader.line_num, e=exc), field="file") from None
        for index, row in enumerate(rows):
            line = index + 2
            if None in row:
                problems.append(_("line {n}: more values than columns").format(n=line))
                continue
            values = {k: (v or "").strip() for k, v in row.items() if k}
            try:
                tag = m.asset_tag(values.get("tag"))
                if tag in seen:
                    raise ValidationError(_("the tag {tag!r} is also on line {other}").format(
                        tag=tag, other=seen[tag]), field="tag")
                seen[tag] = line
                person = values.pop("person", "")
                existing = _assets(ctx).find({"tag": tag}, limit=1)
                if existing:
                    given = {k: v for k, v in values.items() if v != ""}
                    update_asset(ctx, existing[0]["id"], given, system=True)
                    updated.append(tag)
                else:
                    add_asset(ctx, values, system=True)
                    created.append(tag)
                if person:
                    doc = find_asset(ctx, tag, system=True)
                    pid = resolve_person(ctx, person)["id"]
                    if doc["type"] not in ("licence", *m.STOCK_TYPES) and doc.get("person_id") != pid:
                        if doc.get("person_id") is not None:
                            check_in(ctx, tag, system=True)
                        check_out(ctx, tag, person=pid, system=True)
            except BackdeskError as exc:
                problems.append(_("line {n}: {problem}").format(n=line, problem=str(exc)))
            if len(problems) >= 20:
                break
        if problems:
            more = len(problems) - 3
            text = "; ".join(problems[:3]) + (_(" (and {n} more)").format(n=more) if more > 0 else "")
            raise ValidationError(_("nothing imported: {problems}").format(problems=text), field="file")
    return {"created": created, "updated": updated}


def parse_fusion_xml(data: bytes) -> dict:
    """The computer described by a FusionInventory agent's XML inventory."""
    import xml.etree.ElementTree as ET

    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError(_("the file is larger than 20 MB"), field="file")
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise ValidationError(_("XML with a DOCTYPE or entities is refused"), field="file")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValidationError(_("not an XML inventory: {e}").format(e=exc), field="file") from None
    content = root.find("CONTENT")
    hw = content.find("HARDWARE") if content is not None else None
    if root.tag != "REQUEST" or hw is None:
        raise ValidationError(_("not a FusionInventory inventory (no REQUEST/CONTENT/HARDWARE)"), field="file")

    def txt(node, path):
        found = node.find(path) if node is not None else None
        return (found.text or "").strip() if found is not None and found.text else ""

    bios = content.find("BIOS")
    tag = ""
    for info in content.findall("ACCOUNTINFO"):
        if txt(info, "KEYNAME") == "TAG":
            tag = txt(info, "KEYVALUE")
    cpu = content.find("CPUS")
    cpu_text = txt(cpu, "NAME") or txt(hw, "PROCESSORT")
    if cpu is not None and txt(cpu, "CORE"):
        cpu_text += f" ({txt(cpu, 'CORE')} cores)"
    mem = txt(hw, "MEMORY")
    os_name = txt(content.find("OPERATINGSYSTEM"), "FULL_NAME") or txt(hw, "OSNAME")
    return {"name": txt(hw, "NAME"), "serial": txt(bios, "SSN") or txt(hw, "UUID"),
            "model": " ".join(x for x in (txt(bios, "SMANUFACTURER"), txt(bios, "SMODEL")) if x),
            "os": os_name, "cpu": cpu_text, "memory_mb": int(mem) if mem.isdigit() else 0,
            "tag": tag, "device_id": txt(root, "DEVICEID")}


def import_fusion(ctx, data: bytes, *, tag: str | None = None) -> tuple[str, dict]:
    """Add or update the computer of an inventory; keyed on the asset tag
    (from --tag, the agent's TAG, or a known serial or name)."""
    _require(ctx, P_ASSETS_EDIT, False)
    inv = parse_fusion_xml(data)
    if not inv["name"]:
        raise ValidationError(_("the inventory names no computer"), field="file")
    fields = {k: inv[k] for k in ("name", "serial", "model", "os", "cpu", "memory_mb") if inv[k] not in ("", None)}
    with ctx.transaction():
        doc = None
        wanted = tag or inv["tag"]
        if wanted:
            found = _assets(ctx).find({"tag": m.asset_tag(wanted)}, limit=1)
            doc = found[0] if found else None
        if doc is None and not wanted and inv["serial"]:
            found = _assets(ctx).find({"serial": inv["serial"], "type": "computer"}, limit=1)
            doc = found[0] if found else None
        if doc is None and not wanted:
            found = _assets(ctx).find({"name": inv["name"], "type": "computer"}, limit=1)
            doc = found[0] if found else None
        if doc is not None:
            if doc["type"] != "computer":
                raise ValidationError(_("{tag} is a {type}, not a computer").format(tag=doc["tag"], type=doc["type"]),
                                      field="tag")
            doc = update_asset(ctx, doc["id"], fields, system=True)
            _log_asset(ctx, doc["id"], "inventory", device_id=inv["device_id"])
            return "updated", doc
        new_tag = wanted or ("FI-" + "".join(c if c.isalnum() or c in "-._" else "-" for c in inv["name"]))[:m.MAX_TAG]
        doc = add_asset(ctx, {"tag": new_tag, "type": "computer", "status": "in_use", **fields}, system=True)
        _log_asset(ctx, doc["id"], "inventory", device_id=inv["device_id"])
        return "created", doc


# ==================================================================================
# Maintenance and changes
# ==================================================================================
def add_task(ctx, title: str, interval_days: Any, next_due: Any, *, asset: Any = None, system: bool = False) -> dict:
    _require(ctx, P_MAINT, system)
    title = m.text(title, "title", required=True)
    interval = m.whole(interval_days, "interval_days", minimum=1, maximum=3660)
    due = m.future_date(next_due, "next_due", today(), required=True)
    with ctx.transaction():
        asset_id = find_asset(ctx, asset, system=True)["id"] if asset not in (None, "") else None
        tid = ctx.table("tasks").insert({"title": title, "interval_days": interval, "next_due": due,
                                         "asset_id": asset_id, "last_done": None})
        return ctx.table("tasks")[tid]


def task_done(ctx, task_id: Any, note: str = "", *, system: bool = False) -> dict:
    """Log the task done today; the next due date moves one interval on."""
    _require(ctx, P_MAINT, system)
    note = m.text(note, "note", limit=m.MAX_TEXT)
    with ctx.transaction():
        tid = m.whole(task_id, "task", minimum=1, maximum=10**12)
        doc = ctx.table("tasks").get(tid)
        if doc is None:
            raise UnknownRecord(_("no maintenance task #{id}").format(id=task_id))
        day = today()
        ctx.table("task_log").insert({"task_id": tid, "at": stamp(), "by": ctx.store.actor, "note": note})
        nxt = (day + dt.timedelta(days=int(doc["interval_days"]))).isoformat()
        return ctx.table("tasks").update(tid, {"last_done": day.isoformat(), "next_due": nxt})


def tasks(ctx) -> list[dict]:
    _require(ctx, "it.maintenance.read", False)
    now = today().isoformat()
    return [{**d, "overdue": d["next_due"] < now} for d in ctx.table("tasks").find(order_by=["next_due", "id"])]


def overdue_tasks(ctx) -> list[dict]:
    return ctx.table("tasks").find({"next_due": Range(lt=today().isoformat())}, order_by=["next_due"])


def task_log(ctx, task_id: int) -> list[dict]:
    return ctx.table("task_log").find({"task_id": task_id}, order_by=["-at", "-id"])


def propose_change(ctx, *, title: str, proposal: str = "", reason: str = "", risk: str = "low",
                   planned_date: Any = None) -> dict:
    _require(ctx, P_CHANGES, False)
    doc = {"title": m.text(title, "title", required=True),
           "proposal": m.text(proposal, "proposal", limit=m.MAX_TEXT),
           "reason": m.text(reason, "reason", limit=m.MAX_TEXT),
           "risk": m.choice(risk, "risk", m.RISKS, default="low"),
           "planned_date": m.future_date(planned_date, "planned_date", today()),
           "status": "proposed", "proposed_by": ctx.store.actor, "proposed_at": stamp(),
           "decided_by": None, "decided_at": None, "decision_note": "", "outcome": ""}
    with ctx.transaction():
        cid = ctx.table("changes").insert(doc)
        return ctx.table("changes")[cid]


def _change(ctx, change_id: Any) -> dict:
    cid = m.whole(change_id, "change", minimum=1, maximum=10**12)
    doc = ctx.table("changes").get(cid)
    if doc is None:
        raise UnknownRecord(_("no change request #{id}").format(id=change_id))
    return doc


def decide_change(ctx, change_id: Any, approve: bool, note: str = "") -> dict:
    """Approve or reject a proposed change: needs ``it.changes.approve`` and
    the approver role from the settings."""
    ctx.require(P_APPROVE)
    role = ctx.settings["change_approver_role"]
    if role not in ctx.operator.roles and "admin" not in ctx.operator.roles:
        raise PermissionDenied(_("only the {role} role approves changes").format(role=role))
    note = m.text(note, "note", limit=m.MAX_TEXT)
    with ctx.transaction():
        doc = _change(ctx, change_id)
        if doc["status"] != "proposed":
            raise ValidationError(_("change #{id} is {status}, not proposed").format(
                id=doc["id"], status=m.label(m.CHANGE_STATUS_TITLES, doc["status"])), field="status")
        if doc["proposed_by"] == ctx.store.actor and "admin" not in ctx.operator.roles:
            raise PermissionDenied(_("a change is approved by someone other than who proposed it"))
        return ctx.table("changes").update(doc["id"], {
            "status": "approved" if approve else "rejected", "decided_by": ctx.store.actor,
            "decided_at": stamp(), "decision_note": note})


def finish_change(ctx, change_id: Any, outcome: str, success: bool = True) -> dict:
    _require(ctx, P_CHANGES, False)
    outcome = m.text(outcome, "outcome", required=True, limit=m.MAX_TEXT)
    with ctx.transaction():
        doc = _change(ctx, change_id)
        if doc["status"] != "approved":
            raise ValidationError(_("change #{id} is {status}; only an approved change is carried out").format(
                id=doc["id"], status=m.label(m.CHANGE_STATUS_TITLES, doc["status"])), field="status")
        return ctx.table("changes").update(doc["id"], {"status": "done" if success else "failed",
                                                       "outcome": outcome, "done_at": stamp()})


def changes(ctx) -> list[dict]:
    _require(ctx, "it.changes.read", False)
    return ctx.table("changes").find(order_by=["-id"])


def change_rows(ctx, rows: list[dict]) -> list[dict]:
    """Change requests with what a table shows: risk and status in words."""
    return [{**d, "risk_text": m.label(m.RISK_TITLES, d.get("risk")),
             "status_text": m.label(m.CHANGE_STATUS_TITLES, d.get("status"))} for d in rows]


def check_rows(ctx, rows: list[dict]) -> list[dict]:
    """Checks with what the status board shows: the state in words (a
    failing one in capitals, marked)."""
    out = []
    for c in rows:
        state = m.label(m.CHECK_STATE_TITLES, c.get("state") or "unknown")
        out.append({**c, "state_text": "● " + state.upper() if c.get("state") == "failing" else state})
    return out


# ==================================================================================
# Service checks
# ==================================================================================
def add_check(ctx, name: str, kind: str, target: str, expect: Any = None) -> dict:
    _require(ctx, P_CHECKS_EDIT, False)
    name = m.text(name, "name", required=True, limit=60)
    clean = m.clean_check(kind, target, expect)
    with ctx.transaction():
        if ctx.table("checks").find({"name": name}, limit=1):
            raise ValidationError(_("a check named {name!r} exists").format(name=name), field="name")
        cid = ctx.table("checks").insert({"name": name, **clean, "state": "unknown", "since": None,
                                          "last_run": None, "message": "", "ticket_id": None})
        return ctx.table("checks")[cid]


def remove_check(ctx, name_or_id: Any) -> None:
    _require(ctx, P_CHECKS_EDIT, False)
    with ctx.transaction():
        doc = _check(ctx, name_or_id)
        ctx.table("checks").delete(doc["id"])


def _check(ctx, name_or_id: Any) -> dict:
    t = ctx.table("checks")
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        doc = t.get(int(name_or_id))
    else:
        found = t.find({"name": str(name_or_id)}, limit=1)
        doc = found[0] if found else None
    if doc is None:
        raise UnknownRecord(_("no check {name!r}").format(name=str(name_or_id)))
    return doc


def list_checks(ctx) -> list[dict]:
    _require(ctx, P_CHECKS_READ, False)
    return ctx.table("checks").find(order_by=["name"])


def _probed(doc: dict) -> dt.datetime | None:
    """When the check's recorded result was probed (``probed_at``, to the
    microsecond; ``last_run`` for results recorded before it was kept)."""
    value = doc.get("probed_at") or doc.get("last_run")
    return parse_stamp(value) if value else None


def is_due(doc: dict, interval: float, now: dt.datetime | None = None) -> bool:
    """True when the check has not been probed within ``interval`` seconds
    (with a tenth of slack, so runs a little early still count: several
    boards and watchers share the work instead of repeating it)."""
    last = _probed(doc)
    return last is None or last <= (now or clock()) - dt.timedelta(seconds=float(interval) * 0.9)


def run_checks(ctx, *, only_due: bool = False, interval: float | None = None,
               system: bool = False) -> list[dict]:
    """Run the checks (at once, in threads) and record what they found.

    ``only_due``: only checks not probed within ``interval`` seconds (default:
    the ``check_interval`` setting) by anyone — an open status board, a
    ``checks watch`` process, ``checks run`` — see :func:`is_due`.
    """
    _require(ctx, P_CHECKS_READ, system)
    from plugins.it.probes import run_probes

    rows = ctx.table("checks").all()
    started = clock()
    if only_due:
        every = float(interval or ctx.settings["check_interval"])
        rows = [r for r in rows if is_due(r, every, started)]
    results = run_probes(rows, timeout=float(ctx.settings["check_timeout"]))
    return record_results(ctx, results, at=started)


def record_results(ctx, results: dict[int, tuple[bool, str]], at: dt.datetime | None = None) -> list[dict]:
    """Store check results probed at ``at`` (default: now); a state change
    is logged with its time, and a check failing for ``open_ticket_after``
    minutes opens one ticket.

    Decided inside one transaction against the stored state (the store's
    write lock serialises transactions across processes), so two processes
    recording the same failure still open a single ticket: the ticket's
    ``source_key`` names the check and the start of the outage. A result
    probed before the one already stored is dropped: a process that probed
    a moment earlier but records later must not turn a recovered check back
    to failing (a false new outage, a second ticket).
    """
    at = at or clock()
    when = stamp(at)
    after = dt.timedelta(minutes=int(ctx.settings["open_ticket_after"]))
    with ctx.transaction():
        t = ctx.table("checks")
        for cid, (ok, message) in results.items():
            message = scrub(message)  # a server's reply: its control characters stored visibly
            doc = t.get(cid)
            if doc is None:
                continue  # removed meanwhile
            last = _probed(doc)
            if last is not None and last > at:
                continue  # a newer result is stored already
            state = "ok" if ok else "failing"
            changes: dict[str, Any] = {"last_run": when, "probed_at": at.astimezone(dt.timezone.utc).isoformat(
                timespec="microseconds"), "message": message[:200]}
            if state != doc.get("state"):
                changes.update({"state": state, "since": when})
                ctx.table("check_log").insert({"check_id": cid, "at": when, "state": state,
                                               "message": message[:200]})
            since = parse_stamp(changes.get("since") or doc.get("since") or when)
            if state == "failing" and after >= dt.timedelta(0) and at - since >= after:
                key = f"check:{cid}:{stamp(since)}"
                if not doc.get("ticket_id") or doc.get("ticket_key") != key:
                    ticket = _check_ticket(ctx, doc, message, key)
                    if ticket is not None:
                        changes.update({"ticket_id": ticket["id"], "ticket_key": key})
            if state == "ok" and doc.get("ticket_id"):
                changes.update({"ticket_id": None, "ticket_key": None})
            t.update(cid, changes)
        return t.find(order_by=["name"])


def seconds_to_next_due(ctx, interval: float, now: dt.datetime | None = None) -> float:
    """Seconds until the first check is due again (0: one is due now);
    ``interval`` when there are no checks."""
    now = now or clock()
    waits = []
    for doc in ctx.table("checks").all():
        last = _probed(doc)
        if last is None:
            return 0.0
        waits.append((last + dt.timedelta(seconds=float(interval)) - now).total_seconds())
    return max(0.0, min(waits)) if waits else float(interval)


#: how often a watcher standing by asks for the hold (and reads the log)
STANDBY_POLL = 1.0


def watch_checks(ctx, stop, *, interval: float | None = None,
                 on_change: Callable[[dict, dict | None], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None,
                 hold=None, on_hold: Callable[[bool, dict | None], None] | None = None) -> None:
    """Run the due checks until ``stop`` (a ``threading.Event``) is set:
    ``backdesk it checks watch``.

    Wakes when the first check is due again — probed ``interval`` seconds
    ago (default: the ``check_interval`` setting) by this process, another
    watcher or an open status board — plus a little jitter, so watchers
    started together drift apart instead of probing in step. After each
    round ``on_change(entry, check)`` is called for every new ``check_log``
    entry (a state change, whoever recorded it) in order. A store or
    Backdesk error in a round goes to ``on_error`` (raised without it) and
    the next round comes after a pause. A round in progress is finished
    before returning (probes give up after ``check_timeout``).

    ``hold`` (``ctx.store.hold("checks")``): the checks are run once per
    office — only while this process has the hold; otherwise it stands by,
    asks again every :data:`STANDBY_POLL` seconds and follows what the one
    running them records. ``on_hold(mine, holder)`` is called when that
    changes (``holder``: who has it, when it is not this process).
    """
    import random

    _require(ctx, P_CHECKS_READ, False)
    every = float(interval or ctx.settings["check_interval"])
    if every <= 0:
        raise ValidationError(_("the interval must be more than 0 seconds"), field="every")
    log = ctx.table("check_log")
    newest = log.find(order_by=["-id"], limit=1)
    seen = newest[0]["id"] if newest else 0  # changes before the start are history
    was: bool | None = None
    while not stop.is_set():
        try:
            mine = hold is None or hold.held()
            if hold is not None and mine != was:
                was = mine
                if on_hold is not None:
                    on_hold(mine, None if mine else hold.holder())
            if mine:
                run_checks(ctx, only_due=True, interval=every)
                hand_over_absent(ctx)
            for entry in log.find({"id": Range(gt=seen)}, order_by=["id"]):
                seen = entry["id"]
                if on_change is not None:
                    on_change(entry, ctx.table("checks").get(entry["check_id"]))
            wait = min(every, seconds_to_next_due(ctx, every)) if mine else min(every, STANDBY_POLL)
        except (BackdeskError, OSError) as exc:
            if on_error is None:
                raise
            on_error(exc)
            wait = max(1.0, min(every, 10.0))
        stop.wait(wait + random.uniform(0.0, min(1.0, every * 0.05)))


def _check_ticket(ctx, check: dict, message: str, key: str) -> dict | None:
    found = _tickets(ctx).find({"source_key": key}, limit=1)
    if found:
        return found[0]
    requester = ctx.settings["check_requester"]
    person = None
    if requester:
        try:
            person = resolve_person(ctx, requester)
        except BackdeskError:
            person = None
    if person is None:
        first = ctx.backdesk.table("core.people").find({"status": Not("left")}, order_by=["id"], limit=1)
        person = first[0] if first else None
    if person is None:
        return None  # nobody in the directory to open it for
    return open_ticket(ctx, requester=person["id"], system=True, source="check", source_key=key,
                       title=_("Service check failing: {name}").format(name=check["name"])[:m.MAX_TITLE],
                       description=_("{kind} {target}: {message}").format(
                           kind=check["kind"], target=check["target"], message=message),
                       kind="incident", category="network", priority="high")


def check_log(ctx, check_id: int, limit: int = 50) -> list[dict]:
    return ctx.table("check_log").find({"check_id": check_id}, order_by=["-at", "-id"], limit=limit)


# ==================================================================================
# Helpdesk by mail (the documents plugin's mail intake, purpose "helpdesk")
# ==================================================================================
_TICKET_REF = re.compile(r"\[#(\d{1,12})\]")
#: senders that are machines: never answered, never a ticket
_MAILER = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+@.-]|$)")
_QUOTE_HEAD = re.compile(r"^(On .{1,200} wrote:|Am .{1,200} schrieb .{1,200}:|-----Original Message-----)\s*$")


def _reply_text(body: str) -> str:
    """The new part of a reply: the quoted mail below it cut off."""
    lines = []
    for line in body.splitlines():
        if _QUOTE_HEAD.match(line.strip()) or line.startswith(">"):
            break
        lines.append(line)
    return "\n".join(lines).strip()[:m.MAX_TEXT]


def _ticket_of_mail(ctx, mail) -> dict | None:
    found = _TICKET_REF.search(mail.subject or "")
    if found:
        doc = _tickets(ctx).get(int(found.group(1)))
        if doc is not None and doc.get("reply_to"):
            return doc
    for ref in [mail.in_reply_to, *reversed(mail.references)]:
        if ref:
            hits = [t for t in _tickets(ctx).find({"mail_ids": Contains(ref)}) if ref in t.get("mail_ids", [])]
            if hits:
                return hits[0]
    return None


def _mail_requester(ctx, doc: dict, subject: str, body: str) -> str:
    """Queue a mail to the ticket's requester (the documents plugin's outbox
    sends it, reacting to ``it.mail_to_requester``); -> its Message-ID."""
    from email.utils import make_msgid

    ids = list(doc.get("mail_ids") or [])
    domain = (doc.get("reply_to") or "").rpartition("@")[2] or "backdesk.local"
    message_id = make_msgid(idstring=f"ticket{doc['id']}", domain=domain)
    ctx.publish("mail_to_requester", {"ticket_id": doc["id"], "to": doc["reply_to"], "subject": subject[:200],
                                      "body": body, "message_id": message_id,
                                      "in_reply_to": ids[-1] if ids else "", "references": ids[-10:]})
    _tickets(ctx).update(doc["id"], {"mail_ids": ids + [message_id]})
    return message_id


def _mail_stranger_requester(ctx) -> dict | None:
    """The person tickets from senders outside the directory are for (the
    ``mail_requester`` setting), or None when such mails are ignored."""
    value = ctx.settings.get("mail_requester")
    if value in (None, ""):
        return None
    try:
        return resolve_person(ctx, value, "mail_requester")
    except (UnknownRecord, ValidationError):
        return None  # the setting names nobody (any more): ignored, as without it


def ticket_from_mail(ctx, mail, mailbox) -> dict:
    """A mail to the helpdesk mailbox, inside the intake's transaction: a
    reply (``[#N]`` in the subject, or In-Reply-To/References naming a mail
    of the ticket) becomes a comment — the requester's answer on a waiting
    ticket opens it again, so its SLA clock runs; a reply to a closed ticket
    opens a follow-up ticket that names it; any other mail from a person of
    the directory opens a ticket and gets a confirmation with its number. A
    sender outside the directory opens a ticket only when ``mail_requester``
    names whom such tickets are for (answers still go to the sender).
    Auto-replies, mailers and the mailbox's own address are ignored, never
    answered. -> what the intake log keeps."""
    sender = mail.sender or ""
    local = sender.partition("@")[0]
    if not sender:
        return {"ignored": "no sender"}
    if mail.auto_submitted:
        return {"ignored": "auto-reply"}
    if (mailbox.address and sender == mailbox.address) or _MAILER.match(local):
        return {"ignored": "a mailer or our own address"}
    person = ctx.services.people.by_email(sender)
    doc = _ticket_of_mail(ctx, mail)
    follow_up_of = None
    if doc is not None and doc["status"] == "closed":
        follow_up_of, doc = doc, None
    if doc is not None:
        text = _reply_text(mail.body) or (mail.subject or "-")
        comment = add_comment(ctx, doc["id"], text, system=True, by=f"mail:{sender}"[:200])
        ids = list(doc.get("mail_ids") or [])
        if mail.message_id and mail.message_id not in ids:
            _tickets(ctx).update(doc["id"], {"mail_ids": ids + [mail.message_id]})
        from_requester = (person is not None and person["id"] == doc["requester_id"]) or \
            sender.casefold() == (doc.get("reply_to") or "").casefold()
        if from_requester and doc["status"] in ("waiting", "resolved"):
            try:
                set_status(ctx, doc["id"], "open", system=True)
            except ValidationError:  # resolved too long ago: the comment stays, the ticket too
                pass
        return {"ticket_id": doc["id"], "comment_id": comment["id"]}
    stranger = person is None
    if stranger:
        person = _mail_stranger_requester(ctx)
        if person is None:
            if follow_up_of is not None:
                return {"ignored": f"ticket #{follow_up_of['id']} is closed", "ticket_id": follow_up_of["id"]}
            return {"ignored": "the sender is not in the directory"}
    key = f"mail:{mailbox.name}:{mail.message_id}" if mail.message_id else None
    title = (mail.subject or _("(no subject)"))[:m.MAX_TITLE]
    description = mail.body.strip()
    if follow_up_of is not None:
        description = _("Follow-up to the closed ticket #{id}: {title}").format(
            id=follow_up_of["id"], title=follow_up_of["title"]) + "\n\n" + (_reply_text(mail.body) or description)
    if stranger:
        description = _("From {sender} (not in the directory)").format(sender=sender) + "\n\n" + description
    doc = open_ticket(ctx, requester=person["id"], title=title, description=description[:m.MAX_TEXT],
                      source="mail", source_key=key, system=True)
    changes = {"reply_to": sender, "mailbox": mailbox.name,
               "mail_ids": [mail.message_id] if mail.message_id else []}
    if follow_up_of is not None:
        changes["follow_up_of"] = follow_up_of["id"]
    doc = _tickets(ctx).update(doc["id"], changes)
    _mail_requester(ctx, doc, _("[#{id}] {title}").format(id=doc["id"], title=doc["title"]),
                    _("We have your request and opened ticket #{id}: {title}\n\n"
                      "Answer this mail to add to it; keep [#{id}] in the subject.").format(
                        id=doc["id"], title=doc["title"]))
    out = {"ticket_id": doc["id"]}
    if follow_up_of is not None:
        out["follow_up_of"] = follow_up_of["id"]
    return out


# ==================================================================================
# Reacting to HR
# ==================================================================================
def on_employee_hired(ctx, data: dict) -> dict | None:
    """hr.employee_hired → one onboarding ticket (accounts, equipment)."""
    pid = data.get("person_id")
    if not isinstance(pid, int):
        raise ValidationError(_("hr.employee_hired without a person_id"), field="person_id")
    key = f"onboarding:{pid}:{data.get('start_date') or ''}"
    if _tickets(ctx).find({"source_key": key}, limit=1):
        return None  # an earlier delivery made it
    person = resolve_person(ctx, pid)
    items = "\n".join(f"- [ ] {i}" for i in ctx.settings["onboarding_items"])
    start = data.get("start_date") or "?"
    doc = open_ticket(ctx, requester=pid, system=True, source="onboarding", source_key=key, kind="request",
                      category="access", priority="normal",
                      title=_("Onboarding: {name} starts {date}").format(name=person["name"], date=start)[:m.MAX_TITLE],
                      description=_("{name} ({job}) starts on {date}. Prepare:\n{items}").format(
                          name=person["name"], job=data.get("job_title") or "-", date=start, items=items))
    ctx.publish("onboarding_ticket_opened", {"person_id": pid, "ticket_id": doc["id"]})
    return doc


def on_employee_dismissed(ctx, data: dict) -> dict | None:
    """hr.employee_dismissed → one offboarding ticket with every asset the
    person holds and the access to revoke."""
    pid = data.get("person_id")
    if not isinstance(pid, int):
        raise ValidationError(_("hr.employee_dismissed without a person_id"), field="person_id")
    key = f"offboarding:{pid}:{data.get('date') or ''}"
    if _tickets(ctx).find({"source_key": key}, limit=1):
        return None
    person = resolve_person(ctx, pid)
    held = assets_of_person(ctx, pid)
    tags = [a["tag"] for a in held]
    lines = [f"- [ ] {a['tag']} ({a['type']}{', ' + a['model'] if a.get('model') else ''})" for a in held] \
        or ["- " + _("no assets checked out")]
    access = "\n".join(f"- [ ] {i}" for i in ctx.settings["access_to_revoke"])
    date = data.get("date") or "?"
    doc = open_ticket(ctx, requester=pid, system=True, source="offboarding", source_key=key, kind="request",
                      category="access", priority="high", assets=tags,
                      title=_("Offboarding: {name}, last day {date}").format(name=person["name"], date=date)[:m.MAX_TITLE],
                      description=_("Collect the equipment:\n{assets}\n\nRevoke access:\n{access}").format(
                          assets="\n".join(lines), access=access))
    ctx.publish("offboarding_ticket_opened", {"person_id": pid, "ticket_id": doc["id"], "assets": tags})
    return doc


# ==================================================================================
# Search
# ==================================================================================
def search(ctx, query: str) -> list[tuple[str, str, str, int]]:
    """(kind, title, detail, id) hits for the global search."""
    q = (query or "").strip()
    if len(q) < 2:
        return []
    out = []
    if ctx.can(P_READ):
        where = {"title": Contains(q)}
        hits = _tickets(ctx).find(where, order_by=["-id"], limit=10)
        if q.lstrip("#").isdigit():
            doc = _tickets(ctx).get(int(q.lstrip("#")))
            if doc:
                hits.insert(0, doc)
        for d in hits[:10]:
            out.append(("ticket", f"#{d['id']} {d['title']}", _(m.STATUS_TITLES[d["status"]]), d["id"]))
    if ctx.can(P_ASSETS_READ):
        for d in _assets(ctx).find({("tag", "serial", "model", "name"): Contains(q)}, order_by=["tag"], limit=10):
            out.append(("asset", f"{d['tag']} {d.get('model') or d.get('name') or ''}".strip(),
                        _(m.ASSET_TYPE_TITLES[d["type"]]), d["id"]))
    return out
