"""Working time: clock in/out, breaks, the Arbeitszeitgesetz checks, the month."""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import PermissionDenied, ValidationError
from plugins.hr import leave, worktime

from tests.plugins.hr.absence_site import Site, make_office


@pytest.fixture
def office(tmp_path):
    site = Site(tmp_path)
    bd = site.open("eva")
    ids = make_office(bd)
    yield site, bd, ids
    site.close()


def rules(flags):
    return [(f["date"].isoformat(), f["rule"]) for f in flags]


def test_an_eleven_hour_rest_violation_is_flagged(office):
    site, bd, ids = office
    ctx = site.open("ina").context("hr")
    # Ina works late on Tuesday and starts early on Wednesday: 9 h 30 min of rest
    worktime.clock_in(ctx, at="2026-07-07 13:00")
    worktime.clock_out(ctx, at="2026-07-07 22:00")
    worktime.clock_in(ctx, at="2026-07-08 07:30")
    worktime.clock_out(ctx, at="2026-07-08 12:00")
    stored = bd.table("hr.time").find({"person_id": ids["ina"]}, order_by=["start"])
    assert [(r["kind"], r["start"], r["end"]) for r in stored] == [
        ("work", "2026-07-07T11:00:00Z", "2026-07-07T20:00:00Z"),
        ("work", "2026-07-08T05:30:00Z", "2026-07-08T10:00:00Z")]
    report = worktime.month_report(ctx, "2026-07", person="Ina Intern")[0]
    assert ("2026-07-08", "rest") in rules(report["flags"])
    assert [f["text"] for f in report["flags"] if f["rule"] == "rest"] == [
        "7/8/2026: 9:30 h of rest since 7/7/2026 10:00\u202fPM; 11 h are needed"]  # the locale's (en_US)
    # Tuesday's 9 h without a break is flagged as well
    assert ("2026-07-07", "breaks") in rules(report["flags"])


def test_breaks_daily_maximum_sundays_and_holidays(office):
    site, bd, ids = office
    ctx = bd.context("hr")
    # Monday 6 July: 7 h with a 30 min break: fine
    worktime.clock_in(ctx, "Ben Brandt", at="2026-07-06 08:00")
    worktime.start_break(ctx, "Ben Brandt", at="2026-07-06 12:00")
    worktime.end_break(ctx, "Ben Brandt", at="2026-07-06 12:30")
    worktime.clock_out(ctx, "Ben Brandt", at="2026-07-06 15:30")
    # Thursday 9 July: 9 h 30 min with 30 min of break: 45 min needed
    worktime.record(ctx, "Ben Brandt", "2026-07-09 07:00", "2026-07-09 12:00")
    worktime.record(ctx, "Ben Brandt", "2026-07-09 12:30", "2026-07-09 17:00")
    # Friday 10 July: 10 h 30 min: over the daily maximum
    worktime.record(ctx, "Ben Brandt", "2026-07-10 06:00", "2026-07-10 11:00")
    worktime.record(ctx, "Ben Brandt", "2026-07-10 11:45", "2026-07-10 17:15")
    # Sunday 12 July, and Assumption Day (15 Aug) which is no holiday in Berlin but ... Ben is in Bavaria
    worktime.record(ctx, "Ben Brandt", "2026-07-12 10:00", "2026-07-12 12:00")
    report = worktime.month_report(ctx, "2026-07", person="Ben Brandt")[0]
    assert rules(report["flags"]) == [("2026-07-09", "breaks"), ("2026-07-10", "max_daily"),
                                      ("2026-07-12", "sunday")]
    assert report["work_text"] == "29:00" and report["days_worked"] == 4
    # Corpus Christi (4 June 2026) is a holiday for Ben (Bavaria), not for Anna (Berlin)
    worktime.record(ctx, "Ben Brandt", "2026-06-04 09:00", "2026-06-04 12:00")
    worktime.record(ctx, "Anna Arndt", "2026-06-04 09:00", "2026-06-04 12:00")
    june = {r["name"]: rules(r["flags"]) for r in worktime.month_report(ctx, "2026-06")}
    assert june["Ben Brandt"] == [("2026-06-04", "holiday")] and june["Anna Arndt"] == []


def test_clock_states_and_bad_input(office):
    site, bd, ids = office
    ctx = site.open("ina").context("hr")
    worktime.clock_in(ctx, at="2026-07-06 08:00")
    with pytest.raises(ValidationError, match="Ina Intern is clocked in already \\(since 7/6/2026 8:00\u202fAM\\)"):
        worktime.clock_in(ctx, at="2026-07-06 09:00")
    with pytest.raises(ValidationError, match="Ina Intern is not on a break"):
        worktime.end_break(ctx, at="2026-07-06 09:00")
    with pytest.raises(ValidationError, match="is not after the start"):
        worktime.clock_out(ctx, at="2026-07-06 07:00")
    with pytest.raises(ValidationError, match="'6.7.2026 8:00' is not a time as YYYY-MM-DD HH:MM"):
        worktime.clock_out(ctx, at="6.7.2026 8:00")
    # only one's own clock
    with pytest.raises(PermissionDenied):
        worktime.clock_in(ctx, "Ben Brandt")
    with pytest.raises(PermissionDenied):
        worktime.month_report(ctx, "2026-07")
    with pytest.raises(ValidationError, match=r"'2026-13' is not a month \(like 12/2026\)"):
        worktime.month_report(ctx, "2026-13", person="Ina Intern")
    assert bd.table("hr.time").count({}) == 1


def test_the_month_expects_no_hours_on_absence_days(office):
    site, bd, ids = office
    ctx = bd.context("hr")
    leave.approve(ctx, leave.request_leave(ctx, "Ina Intern", "2026-07-13", "2026-07-17")["id"])
    row = worktime.month_report(ctx, "2026-07", person="Ina Intern")[0]
    # July 2026 has 23 working days in Berlin; 5 of them on leave
    assert (row["expected_days"], row["absent_days"]) == (18, 5)
