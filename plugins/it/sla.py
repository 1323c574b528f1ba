"""Business-hours arithmetic for SLA clocks: pure, no storage, no Textual.

A :class:`Calendar` says when the IT team works: weekdays, one daily window
("08:00-17:00") in the site's time zone, and holidays. Times passed in and
out are aware datetimes; the windows are built in local wall time and then
compared as instants, so a DST change shortens or lengthens the day exactly
as the clock on the wall does.

The SLA clock of a ticket runs in *segments*: from opening until it waits
(or is resolved), and again from each time it is taken up again.
:func:`running_segments` turns a ticket's status history into those
segments, :func:`due_at` finds when a target of business time runs out,
:func:`consumed` how much of it is used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo
from core.records import Record

ZERO = dt.timedelta(0)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: statuses during which the clock does not run
PAUSED = frozenset({"waiting", "resolved", "closed"})
#: how far ahead add_business looks before it gives up (a calendar without
#: a single working day in ten years is a configuration mistake)
_MAX_DAYS = 3660


@dataclass(frozen=True, repr=False, eq=False)
class Calendar(Record):
    """When the IT team works."""

    workdays: frozenset[int]  # 0 = Monday
    start: dt.time
    end: dt.time
    #: a set of dates, or a predicate: the office's calendar (core.services.workdays) is one
    holidays: frozenset[dt.date] | Callable[[dt.date], bool]
    tz: dt.tzinfo

    @classmethod
    def parse(cls, workdays: Iterable[str], hours: str,
              holidays: Iterable[str] | Callable[[dt.date], bool], tz: dt.tzinfo | str) -> "Calendar":
        """Build a calendar from settings; raises ValueError with a readable message.

        ``holidays``: ISO dates, or a function telling whether a date is a
        holiday (IT passes the office's calendar, ``services.calendar``)."""
        days = set()
        for name in workdays:
            key = str(name).strip().lower()[:3]
            if key not in DAY_NAMES:
                raise ValueError(f"unknown working day {name!r} (use mon, tue, … sun)")
            days.add(DAY_NAMES.index(key))
        if not days:
            raise ValueError("the calendar needs at least one working day")
        start, end = parse_hours(hours)
        hol: frozenset[dt.date] | Callable[[dt.date], bool]
        if callable(holidays):
            hol = holidays
        else:
            found = set()
            for text in holidays:
                try:
                    found.add(dt.date.fromisoformat(str(text).strip()))
                except ValueError:
                    raise ValueError(f"holiday {text!r} is not a date like 2026-12-25") from None
            hol = frozenset(found)
        if isinstance(tz, str):
            tz = ZoneInfo(tz)
        return cls(frozenset(days), start, end, hol, tz)

    def is_business_day(self, day: dt.date) -> bool:
        if day.weekday() not in self.workdays:
            return False
        return not (self.holidays(day) if callable(self.holidays) else day in self.holidays)

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The working window of ``day`` as aware instants (in UTC)."""
        a = dt.datetime.combine(day, self.start, self.tz).astimezone(dt.timezone.utc)
        b = dt.datetime.combine(day, self.end, self.tz).astimezone(dt.timezone.utc)
        return a, b

    def _local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.tz).date()


def parse_hours(text: str) -> tuple[dt.time, dt.time]:
    """ "08:00-17:00" -> (time(8), time(17)); ValueError otherwise."""
    try:
        a, b = str(text).split("-")
        start = dt.time.fromisoformat(a.strip())
        end = dt.time.fromisoformat(b.strip())
    except ValueError:
        raise ValueError(f"working hours {text!r} are not like 08:00-17:00") from None
    if not start < end:
        raise ValueError(f"working hours {text!r}: the end must come after the start")
    return start, end


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: SLA times must carry a time zone")
    return moment


def business_time(cal: Calendar, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Working time between two instants (zero when ``end`` is not after ``start``)."""
    _aware(start), _aware(end)
    if end <= start:
        return ZERO
    total = ZERO
    day = cal._local_date(start) - dt.timedelta(days=1)
    last = cal._local_date(end) + dt.timedelta(days=1)
    while day <= last:
        if cal.is_business_day(day):
            a, b = cal.window(day)
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += hi - lo
        day += dt.timedelta(days=1)
    return total


def add_business(cal: Calendar, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
    """The instant when ``amount`` of working time after ``start`` has passed.

    ``amount`` zero gives ``start`` itself. The result is in UTC.
    """
    _aware(start)
    if amount < ZERO:
        raise ValueError("a negative amount of business time")
    start = start.astimezone(dt.timezone.utc)
    if amount == ZERO:
        return start
    left = amount
    day = cal._local_date(start) - dt.timedelta(days=1)
    for _ in range(_MAX_DAYS):
        if cal.is_business_day(day):
            a, b = cal.window(day)
            lo = max(a, start)
            if b > lo:
                if b - lo >= left:
                    return lo + left
                left -= b - lo
        day += dt.timedelta(days=1)
    raise ValueError("the calendar has no working time in the next ten years")


Segment = tuple[dt.datetime, "dt.datetime | None"]


def running_segments(opened_at: dt.datetime, transitions: Sequence[tuple[dt.datetime, str]],
                     stop_at: dt.datetime | None = None) -> list[Segment]:
    """The spans in which the clock runs; the last one is open (end None)
    while the ticket is being worked on.

    ``transitions`` are ``(when, new_status)`` in time order; the clock
    pauses in :data:`PAUSED` statuses. ``stop_at`` ends the clock for good
    (the first response, for the response target).
    """
    out: list[Segment] = []
    running = True
    since = opened_at
    for when, status in transitions:
        if stop_at is not None and when >= stop_at:
            break
        now_running = status not in PAUSED
        if running and not now_running:
            out.append((since, when))
        elif now_running and not running:
            since = when
        running = now_running
    if running:
        out.append((since, stop_at))  # stop_at None: still running
    return out


def consumed(cal: Calendar, segments: Sequence[Segment], now: dt.datetime) -> dt.timedelta:
    """Working time used by the clock up to ``now``."""
    total = ZERO
    for a, b in segments:
        end = now if b is None else min(b, now)
        total += business_time(cal, a, end)
    return total


def due_at(cal: Calendar, segments: Sequence[Segment], target: dt.timedelta) -> dt.datetime | None:
    """When ``target`` of working time runs out; None while the clock is
    paused (or stopped) before it ran out."""
    used = ZERO
    for a, b in segments:
        part = business_time(cal, a, b) if b is not None else None
        if part is None or used + part >= target:
            return add_business(cal, a, target - used)
        used += part
    return None


def format_span(span: dt.timedelta) -> str:
    """ "2h 05m", "35m", "-1h 10m" for a duration (business time)."""
    sign = "-" if span < ZERO else ""
    minutes = int(abs(span).total_seconds() // 60)
    h, m = divmod(minutes, 60)
    return f"{sign}{h}h {m:02d}m" if h else f"{sign}{m}m"
