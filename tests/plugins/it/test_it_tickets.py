"""Tickets: workflow rules, SLA clocks through the service, queues, bad input."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.errors import PermissionDenied, UnknownRecord, ValidationError
from plugins.it import service as svc

BERLIN = ZoneInfo("Europe/Berlin")


class Clock:
    """Walks the service's clock through the week (no sleeping, no timing)."""

    def __init__(self, monkeypatch, start: dt.datetime) -> None:
        self.now = start
        monkeypatch.setattr(svc, "clock", lambda: self.now.astimezone(dt.timezone.utc))

    def set(self, *args) -> None:
        self.now = dt.datetime(*args, tzinfo=BERLIN)


def test_workflow_allows_the_path_and_refuses_the_rest(office, monkeypatch):
    bd, ctx, ids = office
    clock = Clock(monkeypatch, dt.datetime(2026, 3, 2, 9, tzinfo=BERLIN))
    t = svc.open_ticket(ctx, requester=ids["anna"], title="Printer jammed")
    assert t["status"] == "new"
    with pytest.raises(ValidationError, match="cannot go from new to closed"):
        svc.set_status(ctx, t["id"], "closed")
    t = svc.assign(ctx, t["id"], "carla")
    assert (t["status"], t["assignee"]) == ("open", "carla")
    svc.set_status(ctx, t["id"], "waiting")
    svc.set_status(ctx, t["id"], "open")
    svc.set_status(ctx, t["id"], "resolved")
    with pytest.raises(ValidationError, match="already resolved"):
        svc.set_status(ctx, t["id"], "resolved")
    svc.set_status(ctx, t["id"], "closed")
    with pytest.raises(ValidationError, match="closed; reopen it first"):
        svc.add_comment(ctx, t["id"], "more")
    # reopen within reopen_days (7) works, later it is refused
    clock.set(2026, 3, 5, 9)
    assert svc.set_status(ctx, t["id"], "open")["status"] == "open"
    svc.set_status(ctx, t["id"], "resolved")
    clock.set(2026, 3, 20, 9)
    with pytest.raises(ValidationError, match="more than 7 days ago"):
        svc.set_status(ctx, t["id"], "open")
    stored = ctx.table("tickets")[t["id"]]
    assert stored["status"] == "resolved"
    assert [h.get("status") for h in stored["history"] if "status" in h] == \
        ["new", "open", "waiting", "open", "resolved", "closed", "open", "resolved"]


def test_sla_pauses_while_waiting_and_follows_priority(office, monkeypatch):
    bd, ctx, ids = office
    clock = Clock(monkeypatch, dt.datetime(2026, 3, 6, 15, tzinfo=BERLIN))  # Friday 15:00
    t = svc.open_ticket(ctx, requester=ids["ben"], title="VPN down", priority="high")  # 2h / 8h
    due = lambda key: dt.datetime.fromisoformat(ctx.table("tickets")[t["id"]][key]).astimezone(BERLIN)  # noqa: E731
    # 8 business hours from Friday 15:00: 2h Friday, 6h Monday -> Monday 14:00
    assert due("resolution_due") == dt.datetime(2026, 3, 9, 14, tzinfo=BERLIN)
    assert due("response_due") == dt.datetime(2026, 3, 6, 17, tzinfo=BERLIN)
    # waiting Monday 09:00 - Tuesday 09:00: 1h used Monday, due moves by the pause
    clock.set(2026, 3, 9, 9)
    svc.set_status(ctx, t["id"], "waiting")
    assert ctx.table("tickets")[t["id"]]["resolution_due"] is None
    clock.set(2026, 3, 10, 9)
    svc.set_status(ctx, t["id"], "open")
    # used: 2h Fri + 1h Mon = 3h; 5h left from Tuesday 09:00 -> Tuesday 14:00
    assert due("resolution_due") == dt.datetime(2026, 3, 10, 14, tzinfo=BERLIN)
    # priority down to normal (27h): 24h left from Tuesday 09:00 -> 9+9+6 -> Thursday 15:00
    svc.set_priority(ctx, t["id"], "normal")
    assert due("resolution_due") == dt.datetime(2026, 3, 12, 15, tzinfo=BERLIN)
    # and up to urgent (4h): already 3h used, 1h left -> Tuesday 10:00
    svc.set_priority(ctx, t["id"], "urgent")
    assert due("resolution_due") == dt.datetime(2026, 3, 10, 10, tzinfo=BERLIN)
    clock.set(2026, 3, 10, 11)
    state = svc.sla_state(ctx, ctx.table("tickets")[t["id"]])
    assert state["resolution_overdue"] and state["response_overdue"]
    assert [d["id"] for d in svc.queue(ctx, "overdue")] == [t["id"]]
    # a reply from the team is the first response; the response clock stops
    monkeypatch.setattr(ctx.backdesk.store, "actor", "carla")  # carla of the team writes (ctx.store.actor is read-only)
    svc.add_comment(ctx, t["id"], "Looking at it", minutes=15)
    stored = ctx.table("tickets")[t["id"]]
    assert stored["first_response_at"] and stored["response_due"] is None and stored["minutes"] == 15


def test_queues_mine_unassigned_waiting(office, monkeypatch):
    bd, ctx, ids = office
    a = svc.open_ticket(ctx, requester=ids["anna"], title="A")
    b = svc.open_ticket(ctx, requester=ids["ben"], title="B")
    c = svc.open_ticket(ctx, requester=ids["clara"], title="C")
    svc.assign(ctx, a["id"], bd.operator.account)
    svc.assign(ctx, b["id"], "dirk")
    svc.set_status(ctx, b["id"], "waiting")
    assert [d["id"] for d in svc.queue(ctx, "mine")] == [a["id"]]
    assert [d["id"] for d in svc.queue(ctx, "unassigned")] == [c["id"]]
    assert [d["id"] for d in svc.queue(ctx, "waiting")] == [b["id"]]
    assert svc.queue_counts(ctx)["active"] == 3
    # dirk was told, through core notifications
    inbox = bd.table("core.notifications").find({"account": "dirk"})
    assert any(f"#{b['id']}" in n["text"] for n in inbox)


def test_bad_input_is_refused_and_nothing_is_stored(office):
    bd, ctx, ids = office
    cases = [
        (dict(requester=999, title="x"), UnknownRecord, "no person with id 999"),
        (dict(requester="Nobody Here", title="x"), UnknownRecord, "no person called"),
        (dict(requester=ids["anna"], title=""), ValidationError, "title: is required"),
        (dict(requester=ids["anna"], title="x" * 500), ValidationError, "too long"),
        (dict(requester=ids["anna"], title="x", priority="asap"), ValidationError, "'asap' is not one of"),
        (dict(requester=ids["anna"], title="x", assets=["NOPE-1"]), UnknownRecord, "no asset with tag 'NOPE-1'"),
        (dict(requester=ids["anna"], title="x", due="2000-01-01"), ValidationError, "in the past"),
        (dict(requester=ids["anna"], title="x", due="31.12.2099"), ValidationError, "not a date"),
    ]
    for kwargs, error, text in cases:
        with pytest.raises(error, match=text):
            svc.open_ticket(ctx, **kwargs)
    assert ctx.table("tickets").count() == 0
    t = svc.open_ticket(ctx, requester="anna arndt", title="ok")
    with pytest.raises(ValidationError, match="not in the IT team"):
        svc.assign(ctx, t["id"], "sam")
    with pytest.raises(UnknownRecord, match="no ticket #77"):
        svc.set_status(ctx, 77, "open")
    with pytest.raises(ValidationError, match="no canned reply"):
        svc.add_comment(ctx, t["id"], canned="nope")
    assert ctx.table("comments").count() == 0


def test_staff_may_open_but_not_work_tickets(site, office):
    bd, ctx, ids = office
    staff = site.open("sam").context("it")
    t = svc.open_ticket(staff, requester=ids["anna"], title="Mouse broken")
    with pytest.raises(PermissionDenied):
        svc.assign(staff, t["id"], "carla")
    with pytest.raises(PermissionDenied):
        svc.add_asset(staff, {"tag": "X1", "type": "computer"})
    # internal notes stay with the team
    svc.add_comment(ctx, t["id"], "internal thought", internal=True)
    svc.add_comment(ctx, t["id"], "public answer")
    assert [c["text"] for c in svc.comments(staff, t["id"])] == ["public answer"]


def test_global_search_finds_tickets_and_assets(office):
    bd, ctx, ids = office
    import plugins.it as it

    svc.add_asset(ctx, {"tag": "PRN-7", "type": "printer", "model": "LaserJet", "serial": "XYZ"})
    t = svc.open_ticket(ctx, requester=ids["anna"], title="LaserJet jams", assets=["PRN-7"])
    hits = it.backdesk_search(ctx, "laserjet")
    assert [h.title for h in hits] == [f"#{t['id']} LaserJet jams", "PRN-7 LaserJet"]
    assert [h.target for h in hits] == ["it.tickets", "it.assets"]
    assert it.backdesk_search(ctx, "x") == []


def test_the_queues_read_once_equal_each_queues_own_question(office, monkeypatch):
    """The Helpdesk reads the active tickets once per refresh and sorts them
    into the queues (``queue_view``/``queue_counts``): every queue's tickets,
    in its order, and its size equal the store's answer to that queue's own
    question (kept here as the oracle) on a mix of statuses, assignees (mine,
    another's, none, the key missing) and dues (past, future, none)."""
    from core.storage import AnyOf, Range

    bd, ctx, ids = office
    clock = Clock(monkeypatch, dt.datetime(2026, 3, 2, 9, tzinfo=BERLIN))
    me = bd.operator.account
    people = [ids["anna"], ids["ben"], ids["clara"]]
    made = []
    for i in range(24):
        t = svc.open_ticket(ctx, requester=people[i % 3], title=f"T{i}",
                            priority=("urgent", "high", "normal", "low")[i % 4])
        if i % 4 == 1:
            svc.assign(ctx, t["id"], me)
        elif i % 4 == 2:
            svc.assign(ctx, t["id"], "dirk")
        if i % 6 == 3:
            svc.set_status(ctx, t["id"], "waiting")
        elif i % 6 == 4 and i % 4:
            svc.set_status(ctx, t["id"], "resolved")
        made.append(t["id"])
        if i == 11:
            clock.set(2026, 3, 9, 9)  # the first half's dues lie in the past
    tickets = ctx.table("tickets")
    with ctx.transaction():  # an assignee key removed (a ticket from an older version)
        doc = tickets[made[0]]
        tickets.replace(made[0], {k: v for k, v in doc.items() if k not in ("id", "assignee")})
    clock.set(2026, 3, 6, 12)
    now = svc.stamp()
    active = {"status": AnyOf(list(svc.m.ACTIVE))}
    oracle = {
        "active": tickets.find(active),
        "mine": tickets.find({**active, "assignee": me}),
        "unassigned": tickets.find({**active, "assignee": None}),
        "waiting": tickets.find({"status": "waiting"}),
        "overdue": list({d["id"]: d for d in tickets.find({"status": AnyOf(["new", "open"]),
                                                           "resolution_due": Range(lt=now)})
                         + tickets.find({"status": AnyOf(["new", "open"]), "response_due": Range(lt=now)})
                         }.values()),
    }
    rank = {p: i for i, p in enumerate(svc.m.PRIORITIES)}
    for rows in oracle.values():
        rows.sort(key=lambda d: (rank.get(d["priority"], 9), d.get("resolution_due") or "9999", d["id"]))
    assert all(oracle[q] for q in oracle) and len(oracle["overdue"]) < len(oracle["active"])
    counts = svc.queue_counts(ctx)
    assert counts == {q: len(rows) for q, rows in oracle.items()}
    for name, rows in oracle.items():
        assert svc.queue(ctx, name) == rows
        assert svc.queue_view(ctx, name) == (counts, rows)
    assert svc.queue_view(ctx, "all") == (counts, None)
    # the rows' requesters named in one read: the same names as one by one
    shown = svc.ticket_rows(ctx, oracle["active"])
    assert [r["requester"] for r in shown] == \
        [ctx.services.people.name_of(d["requester_id"]) for d in oracle["active"]]
    assert {r["requester"] for r in shown} == {"Anna Arndt", "Ben Brandt", "Clara Conrad"}
