"""The visitor log: sign in, sign out, who is in the building.

Called by the screen and the CLI alike; no Textual here. Permissions are
checked here, errors are ``ValidationError`` naming the field.

A visit::

    {"id": 4, "visitor": "Jane Roe", "company": "ACME", "host_id": 12,
     "badge": "B7", "status": "in", "arrived": "2026-...Z", "left": None,
     "by": "bob"}
"""

from __future__ import annotations

from core.errors import UnknownRecord, ValidationError

READ = "visitors.visits.read"
SIGN = "visitors.visits.sign"
PERMISSIONS = {READ: "See who is in the building", SIGN: "Sign visitors in and out"}
MAX_TEXT = 120


def migrate_visit_v1_to_v2(doc: dict) -> dict:
    """Version 2 stores ``status`` ("in"/"out", so reception can ask who is
    in) and the ``badge`` handed out; version 1 knew only ``left``."""
    return {**doc, "status": "out" if doc.get("left") else "in", "badge": doc.get("badge")}


def _now() -> str:
    from core.services.audit import now_utc

    return now_utc()


def _text(value, field: str, *, required: bool = False) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise ValidationError("this is needed", field=field)
    if len(text) > MAX_TEXT:
        raise ValidationError(f"at most {MAX_TEXT} characters", field=field)
    return text


def find_host(ctx, text) -> dict:
    """The active person ``text`` names: an id, or words of the name that
    match exactly one person in the directory."""
    people = ctx.services.people
    text = str(text or "").strip()
    if not text:
        raise ValidationError("name the host", field="host")
    if text.isdigit():
        person = people.get(int(text))
        if person is None or person.get("status") != "active":
            raise ValidationError(f"no active person with id {text}", field="host")
        return person
    matches = people.find(text, status="active")
    exact = [p for p in matches if p["name"].lower() == text.lower()]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0]
    if not matches:
        raise ValidationError(f"nobody in the directory is called {text!r}", field="host")
    names = ", ".join(p["name"] for p in matches[:3])
    raise ValidationError(f"{len(matches)} people match {text!r} ({names}…): be more specific",
                          field="host")


def sign_in(ctx, visitor: str, host, *, company: str = "", badge: str = "") -> int:
    """Sign a visitor in; returns the visit's id. The host is told (event)."""
    ctx.require(SIGN)
    visitor = _text(visitor, "visitor", required=True)
    company = _text(company, "company")
    badge = _text(badge, "badge") or None
    host_doc = find_host(ctx, host)
    visits = ctx.table("visits")
    if badge and visits.count({"status": "in", "badge": badge}):
        raise ValidationError(f"badge {badge} is already handed out", field="badge")
    with ctx.transaction():
        visit_id = visits.insert({"visitor": visitor, "company": company, "host_id": host_doc["id"],
                                  "badge": badge, "status": "in", "arrived": _now(), "left": None,
                                  "by": ctx.operator.account})
        ctx.publish("visitor_arrived", {"visit_id": visit_id, "host_id": host_doc["id"]})
    return visit_id


def sign_out(ctx, visit_id: int) -> dict:
    """Sign a visitor out; returns the visit."""
    ctx.require(SIGN)
    visits = ctx.table("visits")
    visit = visits.get(int(visit_id))
    if visit is None:
        raise UnknownRecord(f"no visit {visit_id}")
    if visit["status"] != "in":
        raise ValidationError(f"{visit['visitor']} has already left", field="visit")
    with ctx.transaction():
        visit = visits.update(visit["id"], {"status": "out", "left": _now()})
        ctx.publish("visitor_left", {"visit_id": visit["id"], "host_id": visit["host_id"]})
    return visit


def visits(ctx, *, in_building: bool = True, limit: int | None = None) -> list[dict]:
    """Visits (those in the building, or all, newest first) with ``host`` as a name."""
    ctx.require(READ)
    where = {"status": "in"} if in_building else {}
    order = ["arrived", "id"] if in_building else ["-arrived", "-id"]
    rows = ctx.table("visits").find(where, order_by=order, limit=limit)
    names = ctx.services.people
    for row in rows:
        row["host"] = names.name_of(row["host_id"], f"#{row['host_id']}")
    return rows


def card_text(ctx) -> str:
    """The dashboard card: how many are in, the first few by name."""
    inside = visits(ctx)
    if not inside:
        return "Nobody signed in"
    lines = [f"{len(inside)} in the building"]
    lines += [f"{v['visitor']} → {v['host']}" for v in inside[:3]]
    if len(inside) > 3:
        lines.append(f"… and {len(inside) - 3} more")
    return "\n".join(lines)


def tell_host(ctx, event) -> int | None:
    """``visitors.visitor_arrived``: a notification for the host, once.

    A follow-up of a sign-in someone was allowed to make: no permission
    check. Idempotent: the visit remembers that its host was told, in the
    same transaction as the notification, so a retried delivery adds
    nothing. Hosts who are no operators get nothing (None)."""
    visits = ctx.table("visits")
    visit = visits.get(event.data.get("visit_id"))
    if visit is None or visit.get("host_told"):
        return None
    notes = ctx.services.notifications
    account = notes.account_of_person(visit["host_id"])
    if account is None:
        return None
    company = f" ({visit['company']})" if visit.get("company") else ""
    with ctx.transaction():
        note_id = notes.notify(account, f"{visit['visitor']}{company} is at reception for you",
                               kind="visitors.arrived", link="visitors", data={"visit_id": visit["id"]})
        visits.update(visit["id"], {"host_told": True})
    return note_id
