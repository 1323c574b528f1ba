"""HR's domain operations: employee records, checklists and the shared helpers.

No Textual here. Every function checks the operator's permission itself (the
CLI and the screens call the same functions); every read of a confidential
record is written to the audit trail (``services.audit.record_read``) unless
the operator reads their own record, and so is every refused attempt. Multi-step
changes run in one ``ctx.transaction()`` and read what they change inside it.

Hiring lives in :mod:`plugins.hr.hiring`, complaints in :mod:`plugins.hr.cases`,
warnings and dismissals in :mod:`plugins.hr.discipline`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.errors import PermissionDenied, UnknownRecord, ValidationError
from core.storage import AnyOf, Range
from plugins.hr import models as m
from plugins.hr.models import _

PLUGIN = "hr"


def now_utc() -> str:
    from core.services.audit import now_utc as _now

    return _now()


def today() -> dt.date:
    from core.i18n import today as _today

    return _today()


# =====================================================================================
# Permission walls and the audit of reads
# =====================================================================================
def guard_read(ctx, permission: str, table: str, doc_id: int | None, *, what: str,
               owner_id: int | None = None, audit: bool = True) -> None:
    """Let the operator read ``table``/``doc_id`` or raise PermissionDenied.

    The owner of a record (the operator linked to ``owner_id``) reads it
    without the permission and without an audit entry; everyone else needs
    ``permission``, and the read is audited. A refused attempt is audited too
    (``what`` starts with "refused"), in its own transaction, before the error.

    ``audit=False`` is for a screen refreshing what the operator already
    opened (the opening was audited): the permission is still checked and a
    refusal is still audited; only the granted read is not recorded again.
    """
    op = ctx.operator
    if owner_id is not None and op.person_id is not None and op.person_id == owner_id:
        return
    trail = ctx.services.audit
    if not ctx.can(permission):
        trail.record_read(PLUGIN, f"hr.{table}", doc_id, f"refused ({permission}): {what}")
        raise PermissionDenied(_("{name} ({account}) may not {what}: needs permission '{perm}'").format(
            name=op.name, account=op.account, what=what, perm=permission))
    if audit:
        trail.record_read(PLUGIN, f"hr.{table}", doc_id, what)


def require(ctx, permission: str, what: str) -> None:
    if not ctx.can(permission):
        op = ctx.operator
        raise PermissionDenied(_("{name} ({account}) may not {what}: needs permission '{perm}'").format(
            name=op.name, account=op.account, what=what, perm=permission))


# =====================================================================================
# People (by directory id; never copied)
# =====================================================================================
def resolve_person(ctx, value: Any, field: str = "person") -> dict:
    """A person from an id (7, "7", "#7") or an exact name; clear errors otherwise."""
    people = ctx.services.people
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(_("name a person (directory id or name)"), field=field)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("#").isdigit()):
        pid = m.record_id(value, field, _("person"))
        doc = people.get(pid)
        if doc is None:
            raise UnknownRecord(_("no person with id {id}").format(id=pid))
        return doc
    if not isinstance(value, str):
        raise ValidationError(_("name a person (directory id or name)"), field=field)
    name = m.text(value, field, limit=200)
    hits = people.find(name)
    exact = [d for d in hits if d["name"].casefold() == name.casefold()]
    if len(exact) == 1:
        return people.get(exact[0]["id"])
    if len(exact) > 1:
        raise ValidationError(_("{n} people are called {name!r}: use the directory id").format(
            n=len(exact), name=name), field=field)
    if len(hits) == 1:
        return people.get(hits[0]["id"])
    if not hits:
        raise UnknownRecord(_("no person called {name!r}").format(name=name))
    raise ValidationError(_("{name!r} matches {n} people: use the directory id").format(name=name, n=len(hits)),
                          field=field)


def person_status_title(status: str | None) -> str:
    """A person's directory status (active, on_leave, left) in words: core's own labels."""
    from core.services.people import status_title

    return status_title(status) if status else ""


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


def resolve_department(ctx, value: Any, field: str = "department") -> int | None:
    if value is None or value == "":
        return None
    people = ctx.services.people
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        dept_id = int(value)
        if not any(d["id"] == dept_id for d in people.departments()):
            raise UnknownRecord(_("no department with id {id}").format(id=dept_id))
        return dept_id
    dept = people.department_by_name(m.text(value, field))
    if dept is None:
        raise UnknownRecord(_("no department called {name!r}").format(name=value))
    return dept["id"]


# =====================================================================================
# Employee records
# =====================================================================================
RECORD_FIELDS = ("job_title", "contract_type", "pay_amount", "pay_period", "currency", "start_date",
                 "end_date", "probation_end", "hours_per_week", "emergency_name", "emergency_phone",
                 "emergency_relation", "notes")


def normalize_record(ctx, data: dict, old: dict | None = None) -> dict:
    """The record fields of ``data`` cleaned and checked against each other."""
    unknown = [k for k in data if k not in RECORD_FIELDS]
    if unknown:
        raise ValidationError(_("unknown field (known: {known})").format(known=", ".join(RECORD_FIELDS)),
                              field=unknown[0])
    out = dict(old or {})
    for key, value in data.items():
        if key in ("start_date", "end_date", "probation_end"):
            out[key] = m.date_value(value, key)
        elif key == "contract_type":
            out[key] = m.choice(value, m.CONTRACT_TYPES, key)
        elif key == "pay_period":
            out[key] = m.choice(value, m.PAY_PERIODS, key)
        elif key == "pay_amount":
            out[key] = m.money(value, key)
        elif key == "currency":
            out[key] = m.currency(value) if value else site_currency(ctx)
        elif key == "hours_per_week":
            if value in (None, ""):
                out[key] = None
            else:
                try:
                    hours = m.money(value, key)
                except ValidationError:
                    raise ValidationError(_("expected hours like 38.5"), field=key) from None
                if hours is not None and not (0 < float(hours) <= 80):
                    raise ValidationError(_("between 0 and 80 hours"), field=key)
                out[key] = hours
        elif key == "emergency_phone":
            out[key] = m.phone(value, key)
        elif key == "notes":
            out[key] = m.text(value, key, limit=m.MAX_LONG)
        else:
            out[key] = m.text(value, key)
    if not out.get("start_date"):
        raise ValidationError(_("a start date is required (YYYY-MM-DD)"), field="start_date")
    start, end, probation = out.get("start_date"), out.get("end_date"), out.get("probation_end")
    if end and end < start:
        raise ValidationError(_("the end date {end} lies before the start date {start}").format(end=end, start=start),
                              field="end_date")
    if probation and probation < start:
        raise ValidationError(_("the probation cannot end before the start date {start}").format(start=start),
                              field="probation_end")
    if probation and end and probation > end:
        raise ValidationError(_("the probation cannot end after the contract ({end})").format(end=end),
                              field="probation_end")
    if out.get("contract_type") == "fixed_term" and not end:
        raise ValidationError(_("a fixed-term contract needs an end date"), field="end_date")
    if out.get("pay_amount") is not None and not out.get("currency"):
        out["currency"] = site_currency(ctx)
    out.setdefault("contract_type", "permanent")
    out.setdefault("pay_period", "month")
    return out


def site_currency(ctx) -> str:
    site = getattr(ctx.config, "site", None)
    return getattr(site, "currency", None) or "EUR"


def _record_of(ctx, person_id: int) -> dict | None:
    found = ctx.table("records").find({"person_id": person_id}, limit=1)
    return found[0] if found else None


def get_record(ctx, person: Any, *, audit: bool = True) -> dict:
    """The HR record of ``person`` (contract, pay, emergency contact, notes).

    Needs ``hr.records.read`` unless it is the operator's own; audited
    (``audit=False``: a refresh of a record already opened, see :func:`guard_read`).
    """
    pid = person["id"] if isinstance(person, dict) else _person_id(ctx, person)
    guard_read(ctx, m.P_RECORDS_READ, "records", pid, what=_("read the employee record of #{id}").format(id=pid),
               owner_id=pid, audit=audit)
    doc = _record_of(ctx, pid)
    if doc is None:
        raise UnknownRecord(_("#{id} has no HR record").format(id=pid))
    return doc


def _person_id(ctx, value: Any) -> int:
    """A person id without reading the directory when the value is a number
    (so a refused read is refused before anything is looked up)."""
    if isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("#").isdigit()):
        return m.record_id(value, "person", _("person"))
    return resolve_person(ctx, value)["id"]


def pay_of(ctx, person: Any) -> dict:
    """What payroll needs: ``pay_amount`` (Decimal), ``pay_period``, ``currency``,
    ``contract_type``, dates. Needs ``hr.payroll.read`` or ``hr.records.read``; audited."""
    from decimal import Decimal

    pid = _person_id(ctx, person)
    perm = m.P_PAYROLL_READ if ctx.can(m.P_PAYROLL_READ) else m.P_RECORDS_READ
    guard_read(ctx, perm, "records", pid, what=_("read the pay of #{id}").format(id=pid), owner_id=pid)
    doc = _record_of(ctx, pid)
    if doc is None:
        raise UnknownRecord(_("#{id} has no HR record").format(id=pid))
    amount = doc.get("pay_amount")
    return {"person_id": pid, "pay_amount": Decimal(amount) if amount is not None else None,
            "pay_period": doc.get("pay_period"), "currency": doc.get("currency"),
            "contract_type": doc.get("contract_type"), "start_date": doc.get("start_date"),
            "end_date": doc.get("end_date")}


def record_rows(ctx, *, audit: bool = True) -> list[dict]:
    """Every employee record with the person's name and status (one audited read;
    ``audit=False`` for a screen's refresh, see :func:`guard_read`)."""
    guard_read(ctx, m.P_RECORDS_READ, "records", None, what=_("list employee records"), audit=audit)
    names: dict = {}
    people = ctx.services.people
    out = []
    for doc in ctx.table("records").all():
        person = people.get(doc["person_id"]) or {}
        names[doc["person_id"]] = person.get("name", f"#{doc['person_id']}")
        out.append(dict(doc, name=names[doc["person_id"]], status=person.get("status", ""),
                        department=person.get("department", ""),
                        contract_text=_(m.CONTRACT_TYPES.get(doc.get("contract_type"), "")),
                        status_text=person_status_title(person.get("status"))))
    out.sort(key=lambda d: (d["status"] == "left", d["name"].casefold()))
    return out


def save_record(ctx, person: Any, data: dict) -> dict:
    """Create or change ``person``'s HR record (``hr.records.edit``)."""
    require(ctx, m.P_RECORDS_EDIT, _("change employee records"))
    doc = resolve_person(ctx, person)
    with ctx.transaction():
        old = _record_of(ctx, doc["id"])
        base = {k: v for k, v in (old or {}).items() if k in RECORD_FIELDS}
        if old is None and "start_date" not in data:
            base["start_date"] = doc.get("start_date")
        clean = normalize_record(ctx, data, base)
        clean["updated_at"] = now_utc()
        if old is None:
            clean.update(person_id=doc["id"], created_at=clean["updated_at"])
            rid = ctx.table("records").insert(clean)
            return ctx.table("records")[rid]
        return ctx.table("records").update(old["id"], clean)


def probation_ends(ctx, days: int = 30) -> list[dict]:
    """Records whose probation ends within ``days`` from today (for the card; counts only)."""
    start = today()
    rows = ctx.table("records").find({"probation_end": Range(ge=start.isoformat(),
                                                            le=(start + dt.timedelta(days=days)).isoformat())},
                                     order_by=["probation_end"])
    return [r for r in rows if not r.get("left_on")]


# =====================================================================================
# Onboarding and offboarding checklists
# =====================================================================================
def _template(ctx, kind: str) -> list[dict]:
    return ctx.settings["onboarding_template" if kind == "onboarding" else "offboarding_template"]


def create_checklist(ctx, person_id: int, kind: str, *, ref: dict | None = None) -> int:
    """A new checklist from the template (call inside the change's transaction)."""
    items = []
    for item in _template(ctx, kind):
        items.append({"title": item["title"], "owner_role": item.get("owner_role", "hr"),
                      "event": item.get("event"), "key": item.get("key"), "done": False,
                      "done_at": None, "done_by": None, "note": ""})
    return ctx.table("checklists").insert({"person_id": person_id, "kind": kind, "items": items,
                                           "status": "open", "created_at": now_utc(), "ref": ref or {},
                                           "exit_interview": None})


def checklist_rows(ctx, *, status: str | None = "open", kind: str | None = None) -> list[dict]:
    require(ctx, m.P_ONBOARDING_READ, _("see checklists"))
    where: dict = {}
    if status:
        where["status"] = status
    if kind:
        where["kind"] = kind
    names: dict = {}
    out = []
    for doc in ctx.table("checklists").find(where, order_by=["-id"]):
        done = sum(1 for i in doc["items"] if i["done"])
        out.append(dict(doc, name=person_name(ctx, doc["person_id"], names),
                        kind_text=_(m.CHECKLIST_KINDS[doc["kind"]]),
                        progress=f"{done}/{len(doc['items'])}",
                        waiting_for=", ".join(m.label(m.OWNER_ROLE_TITLES, r) for r in
                                              sorted({i["owner_role"] for i in doc["items"] if not i["done"]}))))
    return out


def get_checklist(ctx, checklist_id: Any) -> dict:
    require(ctx, m.P_ONBOARDING_READ, _("see checklists"))
    cid = m.record_id(checklist_id, "checklist", _("checklist"))
    doc = ctx.table("checklists").get(cid)
    if doc is None:
        raise UnknownRecord(_("no checklist #{id}").format(id=cid))
    return doc


def tick(ctx, checklist_id: Any, index: int, done: bool = True, note: str = "") -> dict:
    """Tick (or untick) item ``index`` (0-based). Allowed with
    ``hr.onboarding.edit`` or for an operator holding the item's role."""
    cid = m.record_id(checklist_id, "checklist", _("checklist"))
    note = m.text(note, "note", limit=1000)
    with ctx.transaction():
        doc = ctx.table("checklists").get(cid)
        if doc is None:
            raise UnknownRecord(_("no checklist #{id}").format(id=cid))
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(doc["items"]):
            raise ValidationError(_("no item {n} on this checklist").format(n=index + 1 if isinstance(index, int) else index),
                                  field="item")
        item = doc["items"][index]
        if not (ctx.can(m.P_ONBOARDING_EDIT) or item["owner_role"] in ctx.operator.roles):
            require(ctx, m.P_ONBOARDING_EDIT, _("tick this checklist item"))
        if item.get("key") == "exit_interview" and done and not doc.get("exit_interview"):
            raise ValidationError(_("record the exit interview (key x) to tick this item"), field="item")
        return _set_item(ctx, doc, index, done, by=ctx.operator.account, note=note)


def _set_item(ctx, doc: dict, index: int, done: bool, *, by: str, note: str = "", ref: Any = None) -> dict:
    items = [dict(i) for i in doc["items"]]
    items[index].update(done=done, done_at=now_utc() if done else None, done_by=by if done else None)
    if note:
        items[index]["note"] = note
    if ref is not None:
        items[index]["ref"] = ref
    status = "done" if all(i["done"] for i in items) else "open"
    return ctx.table("checklists").update(doc["id"], {"items": items, "status": status})


def record_exit_interview(ctx, person: Any, notes: str, *, on: Any = None, reason: str = "",
                          would_return: bool | None = None) -> dict:
    """The exit interview of a leaver: notes on their offboarding checklist,
    which ticks its exit-interview item."""
    require(ctx, m.P_ONBOARDING_EDIT, _("record exit interviews"))
    pid = resolve_person(ctx, person)["id"]
    notes = m.text(notes, "notes", required=True, limit=m.MAX_LONG)
    reason = m.text(reason, "reason", limit=500)
    day = m.date_value(on, "date") or today().isoformat()
    with ctx.transaction():
        lists = ctx.table("checklists").find({"person_id": pid, "kind": "offboarding"}, order_by=["-id"], limit=1)
        if not lists:
            raise ValidationError(_("{name} has no offboarding checklist: only leavers get an exit interview").format(
                name=person_name(ctx, pid)), field="person")
        doc = lists[0]
        ctx.table("checklists").update(doc["id"], {"exit_interview": {
            "date": day, "notes": notes, "reason": reason, "would_return": would_return,
            "by": ctx.operator.account}})
        doc = ctx.table("checklists")[doc["id"]]
        for i, item in enumerate(doc["items"]):
            if item.get("key") == "exit_interview" and not item["done"]:
                doc = _set_item(ctx, doc, i, True, by=ctx.operator.account)
        return doc


def on_event(ctx, event) -> dict | None:
    """Tick the checklist items the event completes (idempotent).

    Runs as a reaction (no permission asked, per docs/events.md); the
    reference the other plugin reports (ticket, extension, assets) is kept
    on the item.
    """
    kind = m.TICKING_EVENTS.get(event.name)
    pid = (event.data or {}).get("person_id")
    if kind is None or not isinstance(pid, int) or isinstance(pid, bool):
        return None
    lists = ctx.table("checklists").find({"person_id": pid, "kind": kind}, order_by=["-id"], limit=1)
    if not lists:
        return None
    doc = lists[0]
    ref = {k: v for k, v in event.data.items() if k != "person_id"}
    for i, item in enumerate(doc["items"]):
        if item.get("event") == event.name and not item["done"]:
            doc = _set_item(ctx, doc, i, True, by=event.name.partition(".")[0], ref=ref)
    return doc


def onboarding_in_progress(ctx) -> list[dict]:
    return ctx.table("checklists").find({"status": "open", "kind": "onboarding"})


# =====================================================================================
# Global search
# =====================================================================================
def search(ctx, query: str) -> list[dict]:
    """(kind, id, title, detail) for what the operator may see; confidential
    kinds (cases) only with their permission, and such hits are audited."""
    q = (query or "").strip()
    if len(q) < 2:
        return []
    from core.storage import Contains

    out: list[dict] = []
    if ctx.can(m.P_HIRING_READ):
        for c in ctx.table("candidates").find({("name", "email"): Contains(q)}, limit=8):
            out.append({"kind": "candidate", "id": c["id"], "title": c["name"],
                        "detail": _("candidate · {stage}").format(stage=_(m.STAGE_TITLES[c["stage"]]))})
        for o in ctx.table("openings").find({"title": Contains(q)}, limit=5):
            out.append({"kind": "opening", "id": o["id"], "title": o["title"],
                        "detail": _("opening · {status}").format(status=_(m.OPENING_STATUSES[o["status"]]))})
    if ctx.can(m.P_CASES_READ):
        hits = ctx.table("cases").find({("subject", "against_party"): Contains(q)}, limit=8)
        if hits:
            ctx.services.audit.record_read(PLUGIN, "hr.cases", None,
                                           _("search cases for {q!r}").format(q=q[:50]))
        for c in hits:
            out.append({"kind": "case", "id": c["id"], "title": f"#{c['id']} {c['subject']}",
                        "detail": _("HR case · {status}").format(status=_(m.CASE_STATUSES[c["status"]]))})
    return out


def open_case_count(ctx) -> int:
    return ctx.table("cases").count({"status": AnyOf(["open", "investigating"])})
