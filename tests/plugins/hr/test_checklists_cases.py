"""Checklists ticked by the other plugins' events (idempotent), by hand and by
the exit interview; complaints and grievances through their statuses."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied, ValidationError
from core.services.events import Event
from plugins.hr import cases, discipline, hiring
from plugins.hr import service as svc


def _hire(ctx, ids):
    op = hiring.add_opening(ctx, "Clerk", department=ids["sales"])
    cand = hiring.add_candidate(ctx, "Nils Nagel", opening=op["id"])
    return hiring.hire(ctx, cand["id"], start="2026-03-01")


def _publish(bd, name, data):
    with bd.store.transaction():
        return bd.services.events.publish(name, data)


def test_events_tick_onboarding_items_once(office):
    bd, ctx, ids = office
    out = _hire(ctx, ids)
    pid = out["person_id"]
    _publish(bd, "it.onboarding_ticket_opened", {"person_id": pid, "ticket_id": 17})
    _publish(bd, "telephony.extension_assigned", {"person_id": pid, "extension": "245"})
    _publish(bd, "it.onboarding_ticket_opened", {"person_id": pid, "ticket_id": 17})  # a retry
    doc = ctx.table("checklists")[out["checklist_id"]]
    done = {i["title"]: (i["done"], i["done_by"], i.get("ref")) for i in doc["items"] if i["done"]}
    assert done == {"IT account and equipment": (True, "it", {"ticket_id": 17}),
                    "Phone extension": (True, "telephony", {"extension": "245"})}
    assert doc["status"] == "open"
    deliveries = bd.table("core.event_deliveries").find({"plugin": "hr"})
    assert deliveries and all(d["status"] == "ok" for d in deliveries)
    # unrelated or malformed events change nothing
    import plugins.hr as hr

    hr.backdesk_event(ctx, Event(id=999, name="it.onboarding_ticket_opened", data={"person_id": "x"}))
    hr.backdesk_event(ctx, Event(id=998, name="accounting.payroll_record_created", data={"person_id": 4242}))
    assert ctx.table("checklists")[out["checklist_id"]]["items"] == doc["items"]
    # the rest by hand; the last tick completes the list
    _publish(bd, "accounting.payroll_record_created", {"person_id": pid})
    svc.tick(ctx, out["checklist_id"], 0)
    doc = svc.tick(ctx, out["checklist_id"], 4, note="lunch with the team")
    assert doc["status"] == "done" and doc["items"][4]["note"] == "lunch with the team"
    with pytest.raises(ValidationError, match="no item 9"):
        svc.tick(ctx, out["checklist_id"], 8)


def test_owner_role_may_tick_its_item_only(site, fill_office):
    bd = site.open("eva")
    ids = fill_office(bd)
    out = _hire(bd.context("hr"), ids)
    it = site.open("carla").context("hr")
    doc = svc.tick(it, out["checklist_id"], 1)  # the IT item
    assert doc["items"][1]["done_by"] == "carla"
    with pytest.raises(PermissionDenied):
        svc.tick(it, out["checklist_id"], 0)  # HR's item


def test_offboarding_and_exit_interview(office):
    bd, ctx, ids = office
    with pytest.raises(ValidationError, match="only leavers get an exit interview"):
        svc.record_exit_interview(ctx, ids["ina"], "n/a")
    d = discipline.dismiss(ctx, ids["ina"], date="2026-06-30", reason="studies", kind="resignation")
    _publish(bd, "it.offboarding_ticket_opened", {"person_id": ids["ina"], "ticket_id": 5, "assets": ["PC-1", "TEL-9"]})
    _publish(bd, "accounting.final_pay_flagged", {"person_id": ids["ina"], "date": "2026-06-30"})
    _publish(bd, "telephony.extension_released", {"person_id": ids["ina"], "extension": "210"})
    cl = ctx.table("checklists")[d["checklist_id"]]
    assert [i["done"] for i in cl["items"]] == [True, True, True, False, False]
    assert cl["items"][0]["ref"] == {"ticket_id": 5, "assets": ["PC-1", "TEL-9"]}
    with pytest.raises(ValidationError, match="record the exit interview"):
        svc.tick(ctx, d["checklist_id"], 3)
    cl = svc.record_exit_interview(ctx, ids["ina"], "liked the team; pay too low", reason="studies",
                                   would_return=True)
    assert cl["exit_interview"]["notes"] == "liked the team; pay too low" and cl["items"][3]["done"]


def test_case_lifecycle(office):
    bd, ctx, ids = office
    c = cases.open_case(ctx, type="grievance", subject="Overtime not paid", raised_by="Ina Intern",
                        against_party="Payroll provider")
    assert c["raised_by"] == ids["ina"] and c["status"] == "open" and not c["anonymous"]
    cases.set_status(ctx, c["id"], "investigating", note="asked payroll")
    with pytest.raises(ValidationError, match="say what came out"):
        cases.set_status(ctx, c["id"], "resolved")
    done = cases.set_status(ctx, c["id"], "resolved", cause="wrong timesheet import", outcome="hours paid in May")
    assert done["resolved_by"] == "eva" and done["resolved_at"] and done["cause"] == "wrong timesheet import"
    assert [n["status"] for n in done["notes"]] == ["investigating", "resolved"]
    cases.set_status(ctx, c["id"], "closed")
    with pytest.raises(ValidationError, match="a case that is closed cannot become resolved"):
        cases.set_status(ctx, c["id"], "resolved")
    rows = cases.case_rows(ctx, ["closed"])
    assert [r["id"] for r in rows] == [c["id"]] and rows[0]["against_text"] == "Payroll provider"
    assert cases.case_rows(ctx, ["open"]) == []


def test_case_bad_input(office):
    bd, ctx, ids = office
    for kwargs, message in (
            ({"type": "gossip", "subject": "x", "anonymous": True}, "'gossip' is not one of"),
            ({"type": "complaint", "subject": "", "anonymous": True}, "this is required"),
            ({"type": "complaint", "subject": "x"}, "or mark it anonymous"),
            ({"type": "complaint", "subject": "x", "anonymous": True, "raised_by": ids["ben"]}, "anonymous case"),
            ({"type": "complaint", "subject": "x", "raised_by": ids["ben"], "against_person": ids["ben"]},
             "against the person raising it"),
            ({"type": "complaint", "subject": "x", "raised_by": 555}, "no person with id 555")):
        with pytest.raises(Exception, match=message):
            cases.open_case(ctx, **kwargs)
    assert ctx.table("cases").count() == 0
    with pytest.raises(ValidationError, match="'nope' is not one of"):
        cases.case_rows(ctx, ["nope"])
