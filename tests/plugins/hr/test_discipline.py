"""Progressive discipline: expiry from the settings, the escalation rule for
dismissals, and dismissal's effects — and the bad input that stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import UnknownRecord, ValidationError
from plugins.hr import discipline as disc
from plugins.hr import service as svc


def _snapshot(bd):
    return {n: bd.table(n).all() for n in ("core.people", "hr.warnings", "hr.dismissals", "hr.checklists",
                                           "hr.records", "core.events")}


def test_expiry_comes_from_the_settings(office):
    bd, ctx, ids = office
    v = disc.issue_warning(ctx, ids["ben"], level="verbal", reason="late", date="2026-01-31")
    w = disc.issue_warning(ctx, ids["ben"], level="written", reason="late again", date="2026-01-31",
                           hearing_notes="heard with the works council")
    f = disc.issue_warning(ctx, "Ben Brandt", level="final", reason="late a third time", date="2026-02-10")
    assert (v["expires"], w["expires"], f["expires"]) == ("2026-04-30", "2026-07-31", "2027-02-10")
    assert w["hearing_notes"] == "heard with the works council" and w["issued_by"] == "eva"
    assert disc.is_active(f, "2027-02-09") and not disc.is_active(f, "2027-02-10")
    acked = disc.acknowledge(ctx, w["id"], on="2026-02-02", comment="I disagree")
    assert acked["acknowledged_at"] == "2026-02-02" and acked["acknowledgement"] == "I disagree"
    with pytest.raises(ValidationError, match="was acknowledged on 2026-02-02"):
        disc.acknowledge(ctx, w["id"])
    with pytest.raises(ValidationError, match="before it was issued"):
        disc.acknowledge(ctx, v["id"], on="2026-01-01")


def test_expiry_setting_is_used(site, fill_office):
    site.plugins(["hr"], {"hr": {"warning_expiry_months": {"verbal": 1, "written": 2, "final": 3}}})
    bd = site.open("eva")
    ids = fill_office(bd)
    w = disc.issue_warning(bd.context("hr"), ids["ben"], level="final", reason="x", date="2026-01-15")
    assert w["expires"] == "2026-04-15"


def test_conduct_dismissal_needs_an_active_final_warning(office):
    bd, ctx, ids = office
    disc.issue_warning(ctx, ids["ben"], level="written", reason="late", date="2025-01-10")
    before = _snapshot(bd)
    with pytest.raises(ValidationError, match="needs an active final warning on 2026-03-01"):
        disc.dismiss(ctx, ids["ben"], date="2026-03-01", reason="lateness")
    # a final warning that has expired by the dismissal date does not count
    disc.issue_warning(ctx, ids["ben"], level="final", reason="late", date="2025-01-20")
    before = _snapshot(bd)
    with pytest.raises(ValidationError, match="needs an active final warning on 2026-03-01"):
        disc.dismiss(ctx, ids["ben"], date="2026-03-01", reason="lateness")
    assert _snapshot(bd) == before
    # on a date while it was active it does
    d = disc.dismiss(ctx, ids["ben"], date="2025-12-31", reason="lateness")
    assert d["warning_id"] == ctx.table("warnings").find({"level": "final"})[0]["id"]


def test_gross_misconduct_needs_no_warning_and_dismissal_effects(office):
    bd, ctx, ids = office
    svc.save_record(ctx, ids["anna"], {"pay_amount": "4000"})
    d = disc.dismiss(ctx, "Anna Arndt", date="2026-04-30", reason="theft", gross_misconduct="took the till")
    person = bd.services.people.get(ids["anna"])
    assert person["status"] == "left" and person["end_date"] == "2026-04-30"
    rec = ctx.table("records").find({"person_id": ids["anna"]})[0]
    assert rec["end_date"] == "2026-04-30" and rec["leaving_kind"] == "conduct"
    (off,) = ctx.table("checklists").find({"person_id": ids["anna"], "kind": "offboarding"})
    assert off["id"] == d["checklist_id"] and off["status"] == "open"
    (ev,) = bd.table("core.events").find({"name": "hr.employee_dismissed"})
    # the reason and the grounds stay with HR: every plugin gets the event
    assert ev["data"] == {"person_id": ids["anna"], "date": "2026-04-30", "kind": "dismissal"}
    # dismissing someone already gone; a warning for them
    before = _snapshot(bd)
    with pytest.raises(ValidationError, match="Anna Arndt has already left \\(on 2026-04-30\\)"):
        disc.dismiss(ctx, ids["anna"], date="2026-05-01", reason="again", gross_misconduct="x")
    with pytest.raises(ValidationError, match="has left the company"):
        disc.issue_warning(ctx, ids["anna"], level="verbal", reason="x")
    assert _snapshot(bd) == before


def test_other_leavers_need_no_warning(office):
    bd, ctx, ids = office
    disc.dismiss(ctx, ids["ina"], date="2026-06-30", reason="moves to Hamburg", kind="resignation")
    (ev,) = bd.table("core.events").find({"name": "hr.employee_dismissed"})
    assert ev["data"]["kind"] == "resignation"


def test_rule_from_the_settings(site, fill_office):
    site.plugins(["hr"], {"hr": {"dismissal_needs": "written"}})
    bd = site.open("eva")
    ids = fill_office(bd)
    ctx = bd.context("hr")
    disc.issue_warning(ctx, ids["ben"], level="written", reason="x", date=svc.today())
    disc.dismiss(ctx, ids["ben"], date=svc.today(), reason="y")
    assert bd.services.people.get(ids["ben"])["status"] == "left"


@pytest.mark.parametrize("person, kwargs, error, message", [
    (999, {"level": "verbal", "reason": "x"}, UnknownRecord, "no person with id 999"),
    ("Nobody Here", {"level": "verbal", "reason": "x"}, UnknownRecord, "no person called 'Nobody Here'"),
    ("ben", {"level": "severe", "reason": "x"}, ValidationError, "'severe' is not one of"),
    ("ben", {"level": "verbal", "reason": "  "}, ValidationError, "this is required"),
    ("ben", {"level": "verbal", "reason": "x" * 3000}, ValidationError, "at most 2000"),
    ("ben", {"level": "verbal", "reason": "x", "date": "2026-13-01"}, ValidationError, "not a date"),
    ("ben", {"level": "verbal", "reason": "x", "case_id": 42}, UnknownRecord, "no HR case #42"),
])
def test_bad_warnings(office, person, kwargs, error, message):
    bd, ctx, ids = office
    if person == "ben":
        person = ids["ben"]
    with pytest.raises(error, match=message):
        disc.issue_warning(ctx, person, **kwargs)
    assert ctx.table("warnings").count() == 0


def test_bad_dismissals(office):
    bd, ctx, ids = office
    before = _snapshot(bd)
    for kwargs, message in (({"date": None, "reason": "x"}, "a date is required"),
                            ({"date": "2019-12-31", "reason": "x", "kind": "redundancy"}, "before the start date"),
                            ({"date": "2026-01-01", "reason": ""}, "this is required"),
                            ({"date": "2026-01-01", "reason": "x", "kind": "redundancy",
                              "gross_misconduct": "y"}, "gross misconduct is a conduct dismissal")):
        with pytest.raises(ValidationError, match=message):
            disc.dismiss(ctx, ids["ben"], **kwargs)
    assert _snapshot(bd) == before


def test_warnings_expiring_this_month_card(office):
    bd, ctx, ids = office
    # written warnings (6 months) that expire 2026-03-20, 2026-04-02 and 2026-03-05
    for day in ("2025-09-20", "2025-10-02", "2025-09-05"):
        disc.issue_warning(ctx, ids["ben"], level="written", reason=day, date=day)
    rows = disc.expiring_this_month(ctx, on=dt.date(2026, 3, 10))
    assert [w["expires"] for w in rows] == ["2026-03-20"]


LEAVERS = '''
from core.api.hookspecs import PluginInfo, TableSpec, hookimpl


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="leavers", title="Leavers", version="0.1.0", api_version=1)


@hookimpl
def backdesk_tables():
    return [TableSpec("seen", version=1)]


@hookimpl
def backdesk_reactions(ctx):
    return {"hr.employee_left": lambda event: ctx.table("seen").insert(dict(event.data, event_id=event.id))}
'''


def test_the_last_day_itself_brings_hr_employee_left_once(site, fill_office, tmp_path):
    """A dismissal recorded ahead: hr.employee_dismissed at once, and
    hr.employee_left scheduled for the last day — not delivered the day
    before, delivered on the day to the plugin that reacts to it, once
    although two processes ask at once; a last day gone by publishes it at
    once; ``backdesk events due`` is what a cron line runs."""
    import yaml

    plugin = tmp_path / "leavers.py"
    plugin.write_text(LEAVERS)
    (site.config_dir / "plugins.yaml").write_text(yaml.safe_dump(
        {"plugins": [{"name": "hr"}, {"name": "leavers", "path": str(plugin)}]}))
    bd = site.open("eva")
    other = site.open("alice")  # a second process of the office
    ids = fill_office(bd)
    ctx = bd.context("hr")
    last = svc.today() + dt.timedelta(days=10)
    disc.dismiss(ctx, ids["ina"], date=last.isoformat(), reason="moves to Hamburg", kind="resignation")
    assert [e["name"] for e in bd.table("core.events").find({"name": "hr.employee_dismissed"})] == [
        "hr.employee_dismissed"]
    (ev,) = bd.table("core.events").find({"name": "hr.employee_left"})
    assert (ev["status"], ev["due"], ev["source"]) == ("scheduled", last.isoformat(), "hr")
    assert bd.services.events.deliver_due(last - dt.timedelta(days=1)) == []
    assert bd.table("leavers.seen").all() == []
    assert bd.services.events.deliver_due(last) == [ev["id"]]
    other.store.refresh()
    assert other.services.events.deliver_due(last) == []  # claimed once
    (seen,) = bd.table("leavers.seen").all()
    assert {k: seen[k] for k in ("person_id", "date", "kind", "event_id")} == {
        "person_id": ids["ina"], "date": last.isoformat(), "kind": "resignation", "event_id": ev["id"]}
    assert bd.table("core.events").get(ev["id"])["status"] == "done"
    # a last day gone by: published with the dismissal
    disc.dismiss(ctx, ids["anna"], date=(svc.today() - dt.timedelta(days=1)).isoformat(), reason="retires",
                 kind="resignation")
    assert [s["person_id"] for s in bd.table("leavers.seen").all()] == [ids["ina"], ids["anna"]]
    r = site.cli("events", "due")
    assert (r.returncode, r.stdout.strip()) == (0, "0 scheduled events published"), r.stderr
