"""SLA arithmetic in business hours: hand-checked cases and properties."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.it import sla

BERLIN = ZoneInfo("Europe/Berlin")
CAL = sla.Calendar.parse(["mon", "tue", "wed", "thu", "fri"], "08:00-17:00",
                         ["2026-12-24", "2026-12-25", "2026-12-31"], BERLIN)
H = dt.timedelta(hours=1)


def local(y, mo, d, h=0, mi=0):
    return dt.datetime(y, mo, d, h, mi, tzinfo=BERLIN)


# ------------------------------------------------------------------ hand-checked
def test_within_one_day():
    assert sla.business_time(CAL, local(2026, 3, 2, 9), local(2026, 3, 2, 12)) == 3 * H  # Monday


def test_over_night_counts_only_working_hours():
    # Monday 15:00 -> Tuesday 10:00: 2h Monday + 2h Tuesday
    assert sla.business_time(CAL, local(2026, 3, 2, 15), local(2026, 3, 3, 10)) == 4 * H
    assert sla.add_business(CAL, local(2026, 3, 2, 15), 4 * H) == local(2026, 3, 3, 10)


def test_over_the_weekend():
    # Friday 16:00 + 4h -> Monday 11:00
    assert sla.add_business(CAL, local(2026, 3, 6, 16), 4 * H) == local(2026, 3, 9, 11)
    assert sla.business_time(CAL, local(2026, 3, 7, 10), local(2026, 3, 8, 15)) == dt.timedelta(0)


def test_over_christmas_holidays():
    # Wednesday 23 Dec 2026 16:00 + 3h: 1h on the 23rd, 24th/25th holidays,
    # 26th/27th weekend -> Monday 28 Dec 10:00
    assert sla.add_business(CAL, local(2026, 12, 23, 16), 3 * H) == local(2026, 12, 28, 10)


def test_started_outside_hours_begins_next_morning():
    assert sla.add_business(CAL, local(2026, 3, 2, 6), H) == local(2026, 3, 2, 9)
    assert sla.add_business(CAL, local(2026, 3, 2, 20), H) == local(2026, 3, 3, 9)


def test_dst_change_uses_wall_clock_hours():
    # 29 March 2026 is the spring-forward Sunday; Monday still has 9 working hours
    assert sla.business_time(CAL, local(2026, 3, 30, 0), local(2026, 3, 31, 0)) == 9 * H
    assert sla.add_business(CAL, local(2026, 3, 27, 16), 2 * H) == local(2026, 3, 30, 9)


def test_waiting_pauses_the_clock():
    opened = local(2026, 3, 2, 9)
    trans = [(local(2026, 3, 2, 10), "open"), (local(2026, 3, 2, 11), "waiting"),
             (local(2026, 3, 3, 14), "open")]
    segs = sla.running_segments(opened, trans)
    assert segs == [(opened, local(2026, 3, 2, 11)), (local(2026, 3, 3, 14), None)]
    # 8h target: 2h used Monday, 6h from Tuesday 14:00 -> 3h Tue + 3h Wed -> Wed 11:00
    assert sla.due_at(CAL, segs, 8 * H) == local(2026, 3, 4, 11)
    # while waiting there is no due time, and the used time does not grow
    waiting = sla.running_segments(opened, trans[:2])
    assert sla.due_at(CAL, waiting, 8 * H) is None
    assert sla.consumed(CAL, waiting, local(2026, 3, 9, 12)) == 2 * H


def test_due_in_the_past_when_already_overdue():
    opened = local(2026, 3, 2, 9)
    trans = [(local(2026, 3, 2, 12), "waiting"), (local(2026, 3, 3, 9), "open")]
    segs = sla.running_segments(opened, trans)
    assert sla.due_at(CAL, segs, 2 * H) == local(2026, 3, 2, 11)


def test_response_stops_at_first_response():
    opened = local(2026, 3, 2, 9)
    segs = sla.running_segments(opened, [], stop_at=local(2026, 3, 2, 10, 30))
    assert sla.consumed(CAL, segs, local(2026, 3, 5, 9)) == dt.timedelta(minutes=90)


def test_bad_calendars_are_refused_with_a_message():
    with pytest.raises(ValueError, match="08:00-17:00"):
        sla.Calendar.parse(["mon"], "8 to 5", [], BERLIN)
    with pytest.raises(ValueError, match="after the start"):
        sla.Calendar.parse(["mon"], "17:00-08:00", [], BERLIN)
    with pytest.raises(ValueError, match="working day"):
        sla.Calendar.parse(["funday"], "08:00-17:00", [], BERLIN)
    with pytest.raises(ValueError, match="2026-12-25"):
        sla.Calendar.parse(["mon"], "08:00-17:00", ["25.12.2026"], BERLIN)


# ------------------------------------------------------------------ properties
moments = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 31),
                       timezones=st.just(dt.timezone.utc))
amounts = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(hours=200))


@settings(max_examples=150, deadline=None)
@given(moments, amounts)
def test_add_then_measure_round_trips(start, amount):
    end = sla.add_business(CAL, start, amount)
    assert end >= start
    assert sla.business_time(CAL, start, end) == amount


@settings(max_examples=100, deadline=None)
@given(moments, amounts, amounts)
def test_adding_more_never_ends_earlier(start, a, b):
    small, big = sorted((a, b))
    assert sla.add_business(CAL, start, small) <= sla.add_business(CAL, start, big)


@settings(max_examples=100, deadline=None)
@given(moments, st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=20)),
       st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=20)))
def test_business_time_is_additive(start, d1, d2):
    mid, end = start + d1, start + d1 + d2
    assert sla.business_time(CAL, start, end) == (
        sla.business_time(CAL, start, mid) + sla.business_time(CAL, mid, end))
    assert sla.business_time(CAL, start, end) <= d1 + d2


@settings(max_examples=100, deadline=None)
@given(moments, st.lists(st.timedeltas(min_value=dt.timedelta(minutes=1), max_value=dt.timedelta(days=3)),
                         min_size=1, max_size=6), amounts)
def test_waiting_periods_are_excluded(opened, gaps, target):
    """The clock's used time is the business time of the running spans only;
    the due time is never earlier than without the waits."""
    trans, t, status = [], opened, "waiting"
    for gap in gaps:
        t = t + gap
        trans.append((t, status))
        status = "open" if status == "waiting" else "waiting"
    segs = sla.running_segments(opened, trans)
    now = t + dt.timedelta(days=1)
    running = sum((sla.business_time(CAL, a, b if b is not None else now) for a, b in segs), dt.timedelta(0))
    assert sla.consumed(CAL, segs, now) == running
    assert sla.consumed(CAL, segs, now) <= sla.business_time(CAL, opened, now)
    due = sla.due_at(CAL, segs, target)
    plain = sla.add_business(CAL, opened, target)
    if due is not None:
        assert due >= plain
