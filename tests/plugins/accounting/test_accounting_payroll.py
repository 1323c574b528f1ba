"""Payroll: timesheet checks, the pay arithmetic, confidentiality, HR's events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import PermissionDenied, ValidationError
from plugins.accounting import models
from plugins.accounting import payroll as pay
from plugins.accounting import reports


def reasons(flags):
    return [f["reason"] for f in flags]


def test_bad_hours_are_refused_and_nothing_stored(office):
    bd, ctx, ids = office
    with pytest.raises(ValidationError, match="hours must not be negative"):
        pay.add_time(ctx, ids["ben"], "2026-01-05", hours="-1")
    with pytest.raises(ValidationError, match="25 hours is more than a day has"):
        pay.add_time(ctx, ids["ben"], "2026-01-05", hours="25")
    with pytest.raises(ValidationError, match="not after the start"):
        pay.add_time(ctx, ids["ben"], "2026-01-05", "17:00", "08:00")
    with pytest.raises(ValidationError, match="'25:00' is not a time"):
        pay.add_time(ctx, ids["ben"], "2026-01-05", "08:00", "25:00")
    pay.add_time(ctx, ids["ben"], "2026-01-05", hours="20")
    with pytest.raises(ValidationError, match="would have 25 hours"):
        pay.add_time(ctx, ids["ben"], "2026-01-05", hours="5")
    with pytest.raises(ValidationError, match="no person called 'Nobody'"):
        pay.add_time(ctx, "Nobody", "2026-01-05", hours="5")
    assert ctx.table("timesheets").count() == 1


def test_checks_flag_each_problem_with_its_reason(office):
    bd, ctx, ids = office
    ben = ids["ben"]
    # week of 2026-01-05 (Mon) .. 2026-01-11; the 6th is a holiday (settings)
    pay.add_time(ctx, ben, "2026-01-05", "07:00", "18:00")       # 11 h: over 10
    pay.add_time(ctx, ben, "2026-01-06", hours="4")              # holiday
    pay.add_time(ctx, ben, "2026-01-07", "08:00", "12:00")
    pay.add_time(ctx, ben, "2026-01-07", "11:00", "19:00")       # overlaps
    # 2026-01-08 missing
    pay.add_time(ctx, ben, "2026-01-09", "06:00", "16:00")
    pay.add_time(ctx, ben, "2026-01-10", "06:00", "16:00")       # a Saturday: 47 h this week
    flags = pay.check_hours(ctx, pay.timesheets(ctx, ben), "2026-01-05", "2026-01-11", [ben])
    assert reasons(flags) == [
        "11 h on 1/5/2026: over 10 h a day",
        "work on a holiday (1/6/2026)",
        "12 h on 1/7/2026: over 10 h a day",
        "overlapping entries on 1/7/2026: 08:00–12:00 and 11:00–19:00",
        "no hours on 1/8/2026, a working day",
        "47 h in week 2026-W02: over 40 h",
    ]
    with pytest.raises(ValidationError, match=r"22 problems, first: no hours on 1/2/2026"):
        pay.approve_timesheets(ctx, ben, "2026-01")
    assert {t["status"] for t in ctx.table("timesheets").all()} == {"open"}


def test_payroll_run_payslips_and_journal(office):
    bd, ctx, ids = office
    pay.set_rate(ctx, ids["anna"], "salaried", "4000")
    pay.set_rate(ctx, "Ben Brandt", "hourly", "20.00")
    # Ben: week 2 (Jan 5–9): 5 × 9 h = 45 h → 40 regular + 5 overtime; Jan 6 is a holiday: 9 h there
    for day in (5, 6, 7, 8, 9):
        pay.add_time(ctx, ids["ben"], f"2026-01-{day:02d}", "08:00", "17:00")
    pay.add_time(ctx, ids["anna"], "2026-01-12", hours="6")
    with pytest.raises(ValidationError, match="problem"):
        pay.approve_timesheets(ctx, ids["ben"], "2026-01")
    pay.approve_timesheets(ctx, ids["ben"], "2026-01", accept_flags=True)
    run = pay.run_payroll(ctx, "2026-01")
    assert run["warnings"] == ["Anna Arndt: 1 unapproved day left out"]
    slips = {s["name"]: s for s in pay.payslips(ctx, run_id=run["id"])}
    ben = slips["Ben Brandt"]
    # holiday hours are paid apart: 36 h regular in the week, 9 h on the holiday × 2
    assert (ben["regular_hours"], ben["overtime_hours"], ben["holiday_hours"]) == ("36.00", "0.00", "9.00")
    assert (ben["base"], ben["holiday_pay"], ben["gross"]) == ("720.00", "360.00", "1080.00")
    assert [d["amount"] for d in ben["deductions"]] == ["216.00", "102.60"]
    assert ben["net"] == "761.40"
    anna = slips["Anna Arndt"]
    assert (anna["gross"], anna["net"]) == ("4000.00", "2820.00")
    tb = {a: v for a, _c, v in reports.report(ctx, "trial-balance").sections[0][1]}
    assert tb == {"expenses:salaries": Decimal("5080.00"), "liabilities:payroll:net pay": Decimal("-3581.40"),
                  "liabilities:payroll:withholdings": Decimal("-1498.60")}
    with pytest.raises(ValidationError, match="has been run already"):
        pay.run_payroll(ctx, "2026-01")
    with pytest.raises(ValidationError, match="not a period"):
        pay.run_payroll(ctx, "2026-13")


def test_overtime_over_the_weekly_limit(office):
    bd, ctx, ids = office
    pay.set_rate(ctx, ids["ben"], "hourly", "20")
    for day in (12, 13, 14, 15, 16):
        pay.add_time(ctx, ids["ben"], f"2026-01-{day:02d}", "08:00", "17:30")  # 9.5 h → 47.5 h
    pay.approve_timesheets(ctx, ids["ben"], "2026-01", accept_flags=True)
    slip = pay.payslips(ctx, run_id=pay.run_payroll(ctx, "2026-01")["id"])[0]
    assert (slip["regular_hours"], slip["overtime_hours"]) == ("40.00", "7.50")
    assert (slip["base"], slip["overtime_pay"], slip["gross"]) == ("800.00", "187.50", "987.50")


def test_salaries_are_confidential_and_reads_audited(site, office):
    bd, ctx, ids = office
    pay.set_rate(ctx, ids["anna"], "salaried", "4000")
    pay.run_payroll(ctx, "2026-01")
    bd.close()
    clerk = site.open("clara").context("accounting")
    with pytest.raises(PermissionDenied):
        pay.payslips(clerk)
    with pytest.raises(PermissionDenied):
        pay.rates(clerk)
    acc = site.open("dieter")
    slips = pay.payslips(acc.context("accounting"))
    assert len(slips) == 1
    reads = site.open().services.audit.entries(plugin="accounting")
    assert any(e["op"] == "read" and e["table"] == "payslips" and e["actor"] == "dieter" for e in reads)


def test_hr_events_make_a_payroll_record_and_flag_final_pay_once(office):
    bd, ctx, ids = office
    events = bd.services.events
    data = {"person_id": ids["dora"], "start_date": "2026-01-01", "job_title": "Clerk", "department_id": 1,
            "candidate_id": 7}
    hr = bd.store  # HR is not loaded here: publish its events as core would deliver them
    with hr.transaction():
        events.publish("hr.employee_hired", data)
    with hr.transaction():
        events.publish("hr.employee_hired", data)  # a second delivery of the same hire
    recs = ctx.table("rates").find({"person_id": ids["dora"]})
    assert len(recs) == 1 and recs[0]["status"] == "awaiting_rate"
    assert len(bd.table("core.events").find({"name": "accounting.payroll_record_created"})) == 1
    pay.set_rate(ctx, ids["dora"], "salaried", "3000")
    dismissal = {"person_id": ids["dora"], "date": "2026-02-14", "reason": "end of contract", "kind": "dismissal"}
    for _ in range(2):
        with hr.transaction():
            events.publish("hr.employee_dismissed", dismissal)
    assert [e["data"] for e in bd.table("core.events").find({"name": "accounting.final_pay_flagged"})] == \
        [{"person_id": ids["dora"], "date": "2026-02-14"}]
    assert [r["person_id"] for r in pay.final_pay_flags(ctx)] == [ids["dora"]]
    pay.run_payroll(ctx, "2026-01")
    assert pay.final_pay_flags(ctx)  # leaves in February: not settled in January
    feb = pay.run_payroll(ctx, "2026-02")
    slip = pay.payslips(ctx, run_id=feb["id"])[0]
    assert slip["final"] is True and pay.final_pay_flags(ctx) == []
    with pytest.raises(ValidationError, match="nobody has a pay rate"):
        pay.run_payroll(ctx, "2026-03")  # she has left: no one to pay


# ----------------------------------------------------------------------------- a month in part
def _hire(bd, person_id, start):
    with bd.store.transaction():  # HR is not loaded here: its events as core delivers them
        bd.services.events.publish("hr.employee_hired", {"person_id": person_id, "start_date": start,
                                                         "job_title": "Clerk", "department_id": 1})


def _leave(bd, person_id, date):
    with bd.store.transaction():
        bd.services.events.publish("hr.employee_dismissed", {"person_id": person_id, "date": date,
                                                             "reason": "resigned", "kind": "resignation"})


def _slips(ctx, run):
    return {s["name"]: s for s in pay.payslips(ctx, run_id=run["id"])}


def test_salary_is_prorated_by_calendar_days_in_the_month_of_starting_or_leaving(office):
    bd, ctx, ids = office
    # April 2026 has 30 days: Anna starts on the 19th (12 days), Ben leaves on the 12th (12 days),
    # Clara starts on the 1st (the whole month), Dora started before and stays (the whole month)
    _hire(bd, ids["anna"], "2026-04-19")
    _hire(bd, ids["ben"], "2025-06-01")
    _hire(bd, ids["clara"], "2026-04-01")
    for who in ("anna", "ben", "clara", "dora"):
        pay.set_rate(ctx, ids[who], "salaried", "3000")
    _leave(bd, ids["ben"], "2026-04-12")
    run = pay.run_payroll(ctx, "2026-04")
    slips = _slips(ctx, run)
    anna, ben = slips["Anna Arndt"], slips["Ben Brandt"]
    # 3000 × 12 / 30 = 1200.00 each; deductions and net on the prorated gross
    assert (anna["days"], anna["period_days"], anna["base"], anna["gross"]) == (12, 30, "1200.00", "1200.00")
    assert [d["amount"] for d in anna["deductions"]] == ["240.00", "114.00"] and anna["net"] == "846.00"
    assert (ben["days"], ben["period_days"], ben["base"], ben["final"]) == (12, 30, "1200.00", True)
    assert pay.is_prorated(anna) and pay.is_prorated(ben)
    assert pay.salary_days_text(anna) == "Salary 12/30 days"
    # a whole month is paid as before
    for name in ("Clara Conrad", "Dora Dietz"):
        s = slips[name]
        assert (s["days"], s["period_days"], s["base"], s["gross"], s["net"]) == (30, 30, "3000.00", "3000.00",
                                                                                 "2115.00")
        assert not pay.is_prorated(s)
    # the journal carries what the payslips say
    assert run["totals"]["EUR"]["gross"] == "8400.00"
    # Anna's next month is whole again; Ben, settled, is not paid again
    may = _slips(ctx, pay.run_payroll(ctx, "2026-05"))
    assert sorted(may) == ["Anna Arndt", "Clara Conrad", "Dora Dietz"]
    assert (may["Anna Arndt"]["days"], may["Anna Arndt"]["period_days"], may["Anna Arndt"]["base"]) == \
        (31, 31, "3000.00")


def test_start_and_leave_in_the_same_month_and_the_cents_rounded_once(office):
    bd, ctx, ids = office
    # February 2026 (28 days): from the 10th through the 20th is 11 days, both counted:
    # 3100 × 11 / 28 = 1217.857142… → 1217.86 (half up, once)
    _hire(bd, ids["dora"], "2026-02-10")
    pay.set_rate(ctx, ids["dora"], "salaried", "3100")
    _leave(bd, ids["dora"], "2026-02-20")
    # January 2026 (31 days): leaving on the 12th, 4000 × 12 / 31 = 1548.387096… → 1548.39
    pay.set_rate(ctx, ids["anna"], "salaried", "4000")
    _leave(bd, ids["anna"], "2026-01-12")
    jan = _slips(ctx, pay.run_payroll(ctx, "2026-01"))
    assert sorted(jan) == ["Anna Arndt"]  # Dora starts in February
    anna = jan["Anna Arndt"]
    assert (anna["days"], anna["period_days"], anna["base"], anna["gross"]) == (12, 31, "1548.39", "1548.39")
    assert [d["amount"] for d in anna["deductions"]] == ["309.68", "147.10"] and anna["net"] == "1091.61"
    feb = _slips(ctx, pay.run_payroll(ctx, "2026-02"))
    assert sorted(feb) == ["Dora Dietz"]
    dora = feb["Dora Dietz"]
    assert (dora["days"], dora["period_days"], dora["base"], dora["final"]) == (11, 28, "1217.86", True)
    assert pay.salary_days_text(dora) == "Salary 11/28 days"


def test_proration_follows_the_rounding_setting_and_leaves_hourly_pay_alone(office):
    bd, ctx, ids = office
    rec = {"person_id": ids["anna"], "kind": "salaried", "rate": "4000.00", "currency": "EUR",
           "start_date": None, "final_pay": {"date": "2026-01-12"}}
    assert pay.employed_days(rec, "2026-01-01", "2026-01-31") == (12, 31)
    assert pay.employed_days({**rec, "start_date": "2026-01-05"}, "2026-01-01", "2026-01-31") == (8, 31)
    assert pay.employed_days({**rec, "final_pay": None, "start_date": "2025-12-24"}, "2026-01-01",
                             "2026-01-31") == (31, 31)
    assert pay.employed_days({**rec, "final_pay": {"date": "2025-12-31"}}, "2026-01-01", "2026-01-31") == (0, 31)
    ctx.settings["rounding"] = "ROUND_DOWN"
    assert pay.compute_payslip(ctx, rec, [], "2026-01-01", "2026-01-31")["base"] == "1548.38"
    ctx.settings["rounding"] = "ROUND_HALF_UP"
    assert pay.compute_payslip(ctx, rec, [], "2026-01-01", "2026-01-31")["base"] == "1548.39"
    # hourly pay is the hours worked: nothing to prorate
    hourly = {**rec, "kind": "hourly", "rate": "20.00"}
    slip = pay.compute_payslip(ctx, hourly, [{"date": "2026-01-05", "hours": "8"}], "2026-01-01", "2026-01-31")
    assert (slip["base"], slip["days"]) == ("160.00", 12) and not pay.is_prorated(slip)


def test_payslips_show_the_prorated_salary(site, office):
    bd, ctx, ids = office
    _hire(bd, ids["anna"], "2026-04-19")
    pay.set_rate(ctx, ids["anna"], "salaried", "3000")
    pay.set_rate(ctx, ids["ben"], "salaried", "2000")
    pay.run_payroll(ctx, "2026-04")
    r = site.cli("accounting", "payroll", "payslips", "--period", "2026-04")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "Anna Arndt               gross    €1,200.00 net      €846.00  (Salary 12/30 days)",
        "Ben Brandt               gross    €2,000.00 net    €1,410.00",
    ]


@pytest.mark.parametrize("typed, month", [("2026-02", "2026-02"), ("2.2026", "2026-02"), ("02/2026", "2026-02"),
                                          ("2/26", "2026-02"), ("12-2026", "2026-12")])
def test_a_month_is_typed_the_locales_way_or_as_iso(typed, month):
    assert models.month(typed) == month


@pytest.mark.parametrize("typed", ["13.2026", "2026", "Feb", "0/2026", "2026-13"])
def test_a_month_that_is_none_is_one_line_naming_an_example(typed):
    with pytest.raises(ValidationError) as caught:
        models.month(typed)
    assert caught.value.message.startswith(f"{typed!r} is not a month (like ") and caught.value.field == "period"
