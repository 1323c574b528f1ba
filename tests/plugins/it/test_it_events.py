"""Reactions to HR: onboarding and offboarding tickets, idempotent; and the
ticket events IT publishes."""

from __future__ import annotations

from plugins.it import service as svc


def _publish(bd, name, data):
    with bd.store.transaction():
        return bd.services.events.publish(name, data)


def _events(bd, name):
    return [e for e in bd.table("core.events").find({"name": name}, order_by=["id"])]


def test_hired_opens_one_onboarding_ticket(office):
    bd, ctx, ids = office
    data = {"person_id": ids["dora"], "start_date": "2026-04-01", "job_title": "Accountant",
            "department_id": None, "candidate_id": 7}
    event_id = _publish(bd, "hr.employee_hired", data)
    tickets = ctx.table("tickets").find({"source": "onboarding"})
    assert len(tickets) == 1
    t = tickets[0]
    assert t["requester_id"] == ids["dora"] and "Dora Dietz starts 2026-04-01" in t["title"]
    assert "User account and e-mail" in t["description"] and "Accountant" in t["description"]
    opened = _events(bd, "it.onboarding_ticket_opened")
    assert [e["data"] for e in opened] == [{"person_id": ids["dora"], "ticket_id": t["id"]}]
    # a retry of the same event, and the same event published twice, open nothing new
    _publish(bd, "hr.employee_hired", data)
    from core.services.events import Event

    svc_ctx = bd.context("it")
    import plugins.it as it

    it.backdesk_event(svc_ctx, Event(id=event_id, name="hr.employee_hired", data=data))
    assert ctx.table("tickets").count({"source": "onboarding"}) == 1
    assert len(_events(bd, "it.onboarding_ticket_opened")) == 1
    deliveries = bd.table("core.event_deliveries").find({"plugin": "it"})
    assert deliveries and all(d["status"] == "ok" for d in deliveries)


def test_dismissed_lists_every_asset_and_access(office):
    bd, ctx, ids = office
    svc.add_asset(ctx, {"tag": "PC-7", "type": "computer", "model": "T14", "person": ids["ben"]})
    svc.add_asset(ctx, {"tag": "TEL-7", "type": "phone", "person": ids["ben"]})
    svc.add_asset(ctx, {"tag": "PC-8", "type": "computer", "person": ids["anna"]})
    svc.add_asset(ctx, {"tag": "LIC-1", "type": "licence", "seats": 5})
    svc.check_out(ctx, "LIC-1", person=ids["ben"])
    data = {"person_id": ids["ben"], "date": "2026-05-31", "reason": "end of contract", "kind": "resignation"}
    _publish(bd, "hr.employee_dismissed", data)
    _publish(bd, "hr.employee_dismissed", data)
    tickets = ctx.table("tickets").find({"source": "offboarding"})
    assert len(tickets) == 1
    t = tickets[0]
    for tag in ("PC-7", "TEL-7", "LIC-1"):
        assert f"[ ] {tag}" in t["description"]
    assert "PC-8" not in t["description"] and "VPN" in t["description"]
    assert sorted(svc.find_asset(ctx, a)["id"] for a in ("PC-7", "TEL-7", "LIC-1")) == t["asset_ids"]
    (opened,) = _events(bd, "it.offboarding_ticket_opened")
    assert opened["data"] == {"person_id": ids["ben"], "ticket_id": t["id"], "assets": ["LIC-1", "PC-7", "TEL-7"]}


def test_ticket_events_and_notifications(office):
    bd, ctx, ids = office
    t = svc.open_ticket(ctx, requester=ids["anna"], title="No sound")
    svc.assign(ctx, t["id"], "carla")
    svc.set_status(ctx, t["id"], "resolved")
    names = [e["name"] for e in bd.table("core.events").find({"source": "it"}, order_by=["id"])]
    assert names == ["it.ticket_opened", "it.ticket_assigned", "it.ticket_resolved"]
    assigned = _events(bd, "it.ticket_assigned")[0]["data"]
    assert assigned == {"ticket_id": t["id"], "person_id": ids["anna"], "assignee": "carla"}
    carla = bd.table("core.notifications").find({"account": "carla"})
    assert [n["text"] for n in carla] == [f"Ticket #{t['id']} was assigned to you: No sound"]
