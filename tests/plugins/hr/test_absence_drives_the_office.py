"""An approved absence drives the office: the switchboard, IT's queue, timesheets.

The plugins never import each other: HR writes the dates into core's absence
register (services.calendar) and publishes hr.absence_approved; telephony
asks the register at transfer time, IT reacts to the event, accounting's
timesheet checks ask the register.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.i18n import today
from plugins.hr import leave

from tests.plugins.hr.absence_site import Site, make_office

ALWAYS_OPEN = {"business_hours": "00:00-24:00", "business_days": [1, 2, 3, 4, 5, 6, 7], "night_on_holidays": False}


@pytest.fixture
def office(tmp_path):
    site = Site(tmp_path, plugins=("telephony", "it", "accounting", "hr"),
                settings={"telephony": ALWAYS_OPEN, "it": {"team_roles": ["staff"], "absence_to_deputy": True}})
    bd = site.open("eva")
    ids = make_office(bd)
    yield site, bd, ids
    site.close()


def away_now(site, bd, person, deputy=None):
    """Approved leave for ``person`` from today for a week (HR asks, HR approves)."""
    ctx = bd.context("hr")
    first = today()
    row = leave.request_leave(ctx, person, first, first + dt.timedelta(days=6), kind="special", deputy=deputy)
    return leave.approve(ctx, row["id"])


def test_a_transfer_to_someone_on_approved_leave_becomes_a_message(office):
    from plugins.telephony.service import TargetUnreachable, service_for

    site, bd, ids = office
    away_now(site, bd, "Ben Brandt")
    rita = site.open("rita")
    tel = service_for(rita.context("telephony"))
    # the switchboard shows him away without anyone setting it by hand
    assert {r["name"]: r["state"] for r in tel.extension_rows()}["Ben Brandt"] == "away"
    call = tel.log_call("+49 30 1234567", name="Frau Kunde")
    with pytest.raises(TargetUnreachable) as err:
        tel.transfer(call, "Ben Brandt")
    assert err.value.message_for == ids["ben"]
    assert err.value.message.startswith("Ben Brandt is away until ")
    assert "sick" not in err.value.message and "special" not in err.value.message
    # what the switchboard screen does then: the message for him
    tel.take_message(err.value.message_for, "Please call back about the offer", call_id=call)
    msgs = rita.table("telephony.messages").find({"for_person_id": ids["ben"]})
    assert [m["text"] for m in msgs] == ["Please call back about the offer"]
    assert rita.table("telephony.calls")[call]["transfers"] == []
    ben = site.open("ben")
    assert any("Please call back about the offer" in n["text"] for n in ben.services.notifications.inbox())
    # cancelled leave: he is reachable again
    leave.cancel(bd.context("hr"), bd.table("hr.leave").all()[-1]["id"])
    call2 = tel.log_call("+49 30 1234567")
    assert tel.transfer(call2, "Ben Brandt")["to_person_id"] == ids["ben"]


def test_with_absence_route_deputy_the_call_goes_to_the_deputy(office):
    from plugins.telephony.service import service_for

    site, bd, ids = office
    site.plugins(("telephony", "it", "accounting", "hr"),
                 {"telephony": dict(ALWAYS_OPEN, absence_route="deputy")})
    away_now(site, bd, "Ben Brandt", deputy="Ina Intern")
    tel = service_for(site.open("rita").context("telephony"))
    call = tel.log_call("+49 30 1234567")
    doc = tel.transfer(call, "Ben Brandt")
    assert doc["to_person_id"] == ids["ina"]
    assert doc["transfers"][-1]["instead_of"] == ids["ben"]


def test_it_tickets_go_to_the_deputy_and_timesheets_expect_no_hours(office):
    from plugins.accounting import payroll
    from plugins.it import service as it

    site, bd, ids = office
    ben = site.open("ben")
    ctx_it = ben.context("it")
    t1 = it.open_ticket(ctx_it, requester="Anna Arndt", title="Printer", system=True)
    it.assign(ctx_it, t1["id"], "ben", system=True)
    away_now(site, bd, "Ben Brandt", deputy="Ina Intern")
    assert bd.table("it.tickets")[t1["id"]]["assignee"] == "ina"
    # accounting: no "no hours on …" flag for the days he is away
    ctx_acc = site.open("dieter").context("accounting")
    day = today()
    flags = payroll.check_hours(ctx_acc, [], day.isoformat(), day.isoformat(), [ids["ben"], ids["anna"]])
    people = {f["person_id"] for f in flags}
    assert ids["ben"] not in people
    if bd.services.calendar.is_workday(day, ids["anna"]):
        assert ids["anna"] in people  # Anna is at work: her missing hours are flagged


def test_an_absence_approved_ahead_hands_tickets_over_on_its_first_day(office):
    from plugins.it import service as it

    site, bd, ids = office
    away_now(site, bd, "Ben Brandt", deputy="Ina Intern")
    # a ticket given to Ben after the approval (the event has passed): the
    # watcher's round hands it over, as it does on the first day of leave approved ahead
    ctx_it = site.open("ben").context("it")
    t2 = it.open_ticket(ctx_it, requester="Anna Arndt", title="Monitor", system=True)
    it.assign(ctx_it, t2["id"], "ben", system=True)
    assert bd.table("it.tickets")[t2["id"]]["assignee"] == "ben"
    assert it.hand_over_absent(site.open("eva").context("it")) == [t2["id"]]
    assert bd.table("it.tickets")[t2["id"]]["assignee"] == "ina"
