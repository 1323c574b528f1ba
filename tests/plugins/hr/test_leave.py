"""Leave: the calendar of working days, entitlements, requests, approval, sick notes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.errors import PermissionDenied, UnknownRecord, ValidationError
from plugins.hr import leave

from tests.plugins.hr.absence_site import Site, make_office


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.close()


@pytest.fixture
def office(site):
    bd = site.open("eva")
    ids = make_office(bd)
    return site, bd, ids


def as_(site, account):
    bd = site.open(account)
    return bd, bd.context("hr")


def test_a_bavarian_and_a_berlin_employee_see_different_holidays(office):
    site, bd, ids = office
    cal = bd.services.calendar
    # 6 January (Epiphany) and Corpus Christi (4 June 2026) are holidays in Bavaria, not in Berlin;
    # 8 March (Women's Day) is one in Berlin, not in Bavaria
    assert cal.holiday("2026-01-06", ids["ben"]) == "Epiphany"
    assert cal.holiday("2026-01-06", ids["anna"]) is None
    assert cal.is_workday("2026-06-04", ids["anna"]) and not cal.is_workday("2026-06-04", ids["ben"])
    assert cal.holiday("2026-03-09", ids["ina"]) is None  # 8 March 2026 is a Sunday: no holiday on Monday
    assert "Women" in cal.holiday("2027-03-08", ids["ina"]) and cal.holiday("2027-03-08", ids["ben"]) is None
    # both share the national ones and the company's day off
    assert cal.holiday("2026-10-03", ids["ben"]) == cal.holiday("2026-10-03", ids["anna"]) == "German Unity Day"
    assert cal.holiday("2026-12-24", ids["ben"]) == "company day off"
    # without a region of their own a person takes the site's (BE)
    assert cal.region_of(ids["ina"]) == "BE" and cal.region_of(ids["ben"]) == "BY"
    # the same days counted for a leave: Jan 5–9 2026 is 5 working days in Berlin, 4 in Bavaria
    ctx = bd.context("hr")
    assert len(leave.leave_days(ctx, ids["anna"], "2026-01-05", "2026-01-09")) == 5
    assert len(leave.leave_days(ctx, ids["ben"], "2026-01-05", "2026-01-09")) == 4


def test_an_unknown_region_is_one_clear_line(office):
    site, bd, ids = office
    with pytest.raises(ValidationError) as err:
        bd.services.people.update_person(ids["ina"], {"region": "B/Y"})
    assert err.value.field == "region"
    bd.services.people.update_person(ids["ina"], {"region": "XX"})
    from core.services.workdays import CalendarError

    with pytest.raises(CalendarError, match="'XX' is not a region of DE \\(known: BB, BE, BW, BY"):
        bd.services.calendar.holiday("2026-05-01", ids["ina"])


def test_a_request_across_a_holiday_and_a_weekend_uses_the_right_days(office):
    site, bd, ids = office
    bd_ben, ctx = as_(site, "ben")
    # Thu 31 Dec 2026 .. would cross the year; take Wed 30 Sep .. Tue 6 Oct 2026 in Bavaria:
    # Sat 3 Oct is German Unity Day (a Saturday), so: Wed 30, Thu 1, Fri 2, Mon 5, Tue 6 = 5 days.
    # Across a weekday holiday: Thu 30 Apr .. Wed 6 May 2026: 1 May (Fri) holiday, weekend 2–3:
    # Thu 30, Mon 4, Tue 5, Wed 6 = 4 days.
    row = leave.request_leave(ctx, "Ben Brandt", "2026-04-30", "2026-05-06", note="Garda")
    assert row["days"] == 4 and row["status"] == "requested"
    stored = bd.table("hr.leave")[row["id"]]
    assert (stored["start"], stored["end"], stored["days"], stored["requested_by"]) == (
        "2026-04-30", "2026-05-06", 4, "ben")
    # Corpus Christi (Thu 4 June) counts in Berlin, not in Bavaria
    assert leave.request_leave(ctx, ids["ben"], "2026-06-01", "2026-06-05")["days"] == 4
    bd_ina, ctx_ina = as_(site, "ina")
    assert leave.request_leave(ctx_ina, ids["ina"], "2026-06-01", "2026-06-05")["days"] == 5


def test_a_joiner_on_1_july_gets_half_the_entitlement(office):
    site, bd, ids = office
    ctx = bd.context("hr")
    joiner = bd.services.people.add_person(name="Jule Neu", department_id=ids["sales"], start_date="2026-07-01")
    b = leave.balance(ctx, joiner, 2026, as_of=dt.date(2026, 7, 1))
    assert (b["annual"], b["months"], b["entitlement"], b["left"]) == (Decimal(30), 6, Decimal(15), Decimal(15))
    # a joiner on 15 July: five full months, 12.5 days rounded up to 13 (BUrlG §5)
    later = bd.services.people.add_person(name="Lea Spät", department_id=ids["sales"], start_date="2026-07-15")
    assert leave.balance(ctx, later, 2026)["entitlement"] == Decimal(13)
    # a leaver on 31 March with a 28-day contract: 3 × 28 / 12 = 7
    leaver = bd.services.people.add_person(name="Max Weg", department_id=ids["sales"], start_date="2019-01-01",
                                           end_date="2026-03-31")
    leave.set_entitlement(ctx, leaver, 2026, 28)
    assert leave.balance(ctx, leaver, 2026)["entitlement"] == Decimal(7)
    # a joiner cannot ask for more than that
    with pytest.raises(ValidationError, match="16 days asked, but Jule Neu has 15 days left in 2026"):
        leave.request_leave(ctx, joiner, "2026-08-03", "2026-08-24")
    assert bd.table("hr.leave").count({"person_id": joiner}) == 0


def test_approval_by_the_manager_with_notification_and_team_overlaps(office):
    site, bd, ids = office
    _, ctx_ina = as_(site, "ina")
    first = leave.request_leave(ctx_ina, "Ina Intern", "2026-08-03", "2026-08-07")
    _, ctx_ben = as_(site, "ben")
    second = leave.request_leave(ctx_ben, "Ben Brandt", "2026-08-05", "2026-08-14", deputy="Ina Intern")
    bd_anna, ctx_anna = as_(site, "anna")
    inbox = bd_anna.services.notifications.inbox()
    texts = [n["text"] for n in inbox]
    assert "Ina Intern asks for vacation from 8/3/2026 to 8/7/2026 (5 days)" in texts
    assert "Ben Brandt asks for vacation from 8/5/2026 to 8/14/2026 (8 days); also away: Ina Intern" in texts
    # the approver sees who else in the team is away then
    overlaps = leave.team_overlaps(ctx_anna, bd.table("hr.leave")[second["id"]])
    assert [(o["name"], o["status"]) for o in overlaps] == [("Ina Intern", "requested")]
    # nobody approves their own leave; a colleague who is no manager may not either
    with pytest.raises(PermissionDenied):
        leave.approve(ctx_ben, second["id"])
    with pytest.raises(PermissionDenied):
        leave.approve(ctx_ina, second["id"])
    doc = leave.approve(ctx_anna, second["id"])
    assert doc["status"] == "approved" and doc["decided_by"] == "anna"
    absence = bd.services.calendar.absence_on(ids["ben"], "2026-08-10")
    assert (absence["start"], absence["end"], absence["deputy_id"]) == ("2026-08-05", "2026-08-14", ids["ina"])
    assert bd.services.calendar.absence_on(ids["ben"], "2026-08-15") is None
    bd_ben = site.open("ben")
    assert "Your vacation from 8/5/2026 to 8/14/2026 is approved" in [
        n["text"] for n in bd_ben.services.notifications.inbox()]
    b = leave.balance(ctx_ben, "Ben Brandt", 2026, as_of=dt.date(2026, 8, 1))
    assert (b["planned"], b["requested"], b["left"]) == (Decimal(8), Decimal(0), Decimal(22))
    # cancelling takes it out of the register again
    leave.cancel(ctx_ben, second["id"])
    assert bd.services.calendar.absence_on(ids["ben"], "2026-08-10") is None
    assert leave.balance(ctx_ben, "Ben Brandt", 2026)["left"] == Decimal(30)


@pytest.mark.parametrize("args, message", [
    (("Ina Intern", "2026-08-07", "2026-08-03"), "the last day (8/3/2026) lies before the first (8/7/2026)"),
    (("Nobody Here", "2026-08-03", "2026-08-07"), "no person called 'Nobody Here'"),
    (("Ina Intern", "2026-08-06", "2026-08-10"), "Ina Intern already has vacation from 8/3/2026 to 8/7/2026"),
    (("Ina Intern", "2026-08-08", "2026-08-09"), "holds no working day"),
    (("Ina Intern", "2026-12-28", "2027-01-08"), "a request ends in the year it starts"),
    (("Ina Intern", "2026-09-01", "2026-10-30"), "days asked, but Ina Intern has 25 days left in 2026"),
    (("Ina Intern", "03.08.2026", "2026-08-07"), "'03.08.2026' is not a date as YYYY-MM-DD"),
])
def test_bad_requests_are_refused_and_store_nothing(office, args, message):
    site, bd, ids = office
    ctx = bd.context("hr")
    leave.request_leave(ctx, "Ina Intern", "2026-08-03", "2026-08-07")
    before = bd.table("hr.leave").all()
    with pytest.raises((ValidationError, UnknownRecord)) as err:
        leave.request_leave(ctx, *args)
    assert message in str(err.value)
    assert bd.table("hr.leave").all() == before


def test_staff_cannot_request_for_others_or_read_their_leave(office):
    site, bd, ids = office
    _, ctx_ina = as_(site, "ina")
    with pytest.raises(PermissionDenied):
        leave.request_leave(ctx_ina, "Ben Brandt", "2026-08-03", "2026-08-07")
    with pytest.raises(PermissionDenied):
        leave.balance(ctx_ina, "Ben Brandt")
    assert bd.table("hr.leave").count({}) == 0


def test_carry_over_expires_at_the_end_of_march(office):
    site, bd, ids = office
    ctx = bd.context("hr")
    # 2025: Ina takes 25 of 30 days -> 5 carried into 2026
    leave.request_leave(ctx, "Ina Intern", "2025-07-01", "2025-08-04")  # 25 working days in Berlin
    leave.approve(ctx, bd.table("hr.leave").all()[-1]["id"])
    rows = leave.carry_over(ctx, 2026)
    assert {r["name"]: r["carried"] for r in rows}["Ina Intern"] == Decimal(5)
    # 2 of them taken in March, the other 3 lapse on 31 March
    leave.approve(ctx, leave.request_leave(ctx, "Ina Intern", "2026-03-16", "2026-03-17")["id"])
    assert leave.balance(ctx, "Ina Intern", 2026, as_of=dt.date(2026, 3, 31))["left"] == Decimal(33)
    after = leave.balance(ctx, "Ina Intern", 2026, as_of=dt.date(2026, 4, 1))
    assert (after["carried_usable"], after["left"]) == (Decimal(2), Decimal(30))


def test_sick_notes_are_confidential_and_give_vacation_days_back(office):
    site, bd, ids = office
    ctx = bd.context("hr")
    leave.approve(ctx, leave.request_leave(ctx, "Ben Brandt", "2026-08-03", "2026-08-14")["id"])
    note = leave.record_sick_note(ctx, "Ben Brandt", "2026-08-10", "2026-08-12", certificate=True,
                                  note="flu")
    # three certified sick days inside the vacation are not counted against it
    assert leave.balance(ctx, "Ben Brandt", 2026)["left"] == Decimal(30 - 10 + 3)
    # outside HR only the dates are seen
    bd_anna, ctx_anna = as_(site, "anna")
    grid = leave.month_grid(ctx_anna, 2026, 8)
    ben = next(r for r in grid["rows"] if r["name"] == "Ben Brandt")
    assert ben["marks"][9] == "absent" and ben["marks"][3] == "vacation"  # 10 Aug, 4 Aug
    with pytest.raises(PermissionDenied):
        leave.sick_notes(ctx_anna, "Ben Brandt")
    assert b"Ben Brandt: absent" in leave.ics_feed(ctx_anna, person="Ben Brandt")
    assert b"flu" not in leave.ics_feed(ctx_anna, person="Ben Brandt")
    # HR reads them; the read and the refusal are in the audit trail, whose
    # auditors see the note's content only with hr.sick_notes.read
    assert [n["note"] for n in leave.sick_notes(ctx, "Ben Brandt")] == ["flu"]
    reads = [e for e in site.open("alice").services.audit.entries(table="hr.sick_notes") if e["op"] == "read"]
    assert [e["actor"] for e in reads][:2] == ["eva", "anna"]
    assert "refused" in str(reads[1])
    assert leave.m.P_SICK_READ == "hr.sick_notes.read"
    assert bd.services.calendar.absence_on(ids["ben"], "2026-08-11")["ref"] in (
        f"hr.sick:{note['id']}", next(r["ref"] for r in bd.table("core.absences").all() if r["ref"].startswith("hr.leave")))
