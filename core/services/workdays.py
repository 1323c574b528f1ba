"""One calendar of working days for the whole office, and who is away.

Every plugin that asks "is this a working day?" asks here: IT's SLA clock,
accounting's timesheet checks and payroll, telephony's business hours and
night service, HR's leave (how many days a request uses). Before, IT and
accounting each kept a hand-written list of holidays and telephony had none.

What makes a day a working day:

- the weekdays of ``calendar.workdays`` (Monday to Friday by default);
- not a public holiday of the person's Bundesland: the ``holidays`` library
  (``holidays.DE(subdiv="BY")``) for ``calendar.country`` and the region —
  the person's own ``region`` in the people directory, else
  ``calendar.region`` (else the holidays every region shares);
- not one of the company's days off (``calendar.days_off``).

:class:`WorkCalendar` is that arithmetic, pure (no storage); the
``holidays`` library is imported when a year's holidays are first needed
(importing it costs ~100 ms, which the shell's start must not pay), and a
year's holidays are kept per region once computed.

:class:`Workdays` is ``services.calendar``: the calendar of the site plus the
register of absences (``core.absences``). HR writes an absence there when
leave is approved or a sick note recorded, and removes it when cancelled;
the register holds only *dates* (person, first and last day, deputy), never
the kind or the reason, so a sick note stays confidential while the
switchboard, IT and accounting see that the person is away.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

from core.errors import ValidationError
from core.api.hookspecs import TableSpec
from core.i18n import _, get_locale, today
from core.storage import Range

ABSENCES = "core.absences"
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: the read needed to see who is away (the same as the directory's)
READ = "core.directory.read"


def _holidays():
    """The ``holidays`` library, imported on first use.

    Its ``holidays/version.py`` asks ``importlib.metadata`` for the
    distribution's version: 35 of the ~80 ms the import costs here
    (``python -X importtime -c "import holidays"``), and the shell must reach
    its first frame without importing ``importlib.metadata`` at all
    (tests/shell/test_fast_start.py). Backdesk never reads
    ``holidays.__version__``, so a placeholder module stands in for that one
    file; the library is otherwise imported and used as it is.
    """
    import sys

    if "holidays" not in sys.modules and "holidays.version" not in sys.modules:
        import types

        stand_in = types.ModuleType("holidays.version")
        stand_in.__version__ = "unknown (not read by Backdesk)"
        sys.modules["holidays.version"] = stand_in
    import holidays

    return holidays


class CalendarError(ValueError):
    """A country or region the ``holidays`` library does not know."""


def _iso(day: dt.date | str) -> dt.date:
    return day if isinstance(day, dt.date) else dt.date.fromisoformat(day)


def days_between(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    """Every date from ``first`` to ``last`` (both included)."""
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


@dataclass
class WorkCalendar:
    """Weekdays + public holidays per region + company days off.

    ``language`` is the ``holidays`` library's language for the names
    ("de" or "en_US"); None: the library's default (the country's own).
    """

    country: str | None = "DE"
    region: str | None = None
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    days_off: frozenset[dt.date] = frozenset()
    language: str | None = None
    _years: dict = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings, language: str | None = None) -> "WorkCalendar":
        """From ``config.calendar`` (:class:`core.config.CalendarSettings`)."""
        return cls(country=settings.country, region=settings.region, workdays=frozenset(settings.workdays),
                   days_off=frozenset(dt.date.fromisoformat(d) for d in settings.days_off), language=language)

    # -- public holidays ------------------------------------------------------
    def regions(self) -> tuple[str, ...]:
        """The regions (subdivisions) the library knows for the country."""
        if not self.country:
            return ()
        return tuple(self._country_class().subdivisions)

    def _country_class(self):
        holidays = _holidays()  # only when a calendar is first used (see _holidays)
        try:
            return holidays.country_holidays(self.country).__class__
        except NotImplementedError:
            raise CalendarError(f"calendar.country: {self.country!r} is not a country the holidays "
                                "library knows (for example DE, AT, CH)") from None

    def check_region(self, region: str | None) -> str | None:
        """``region`` in the library's spelling; CalendarError naming the known ones."""
        if region is None or not self.country:
            return None
        known = self.regions()
        for code in known:
            if code.casefold() == region.strip().casefold():
                return code
        raise CalendarError(_("{region!r} is not a region of {country} (known: {known})").format(
            region=region, country=self.country, known=", ".join(known)))

    def public_holidays(self, year: int, region: str | None = None) -> dict[dt.date, str]:
        """The public holidays of ``year`` in ``region`` (default: the site's)."""
        if not self.country:
            return {}
        region = region or self.region
        key = (year, region)
        found = self._years.get(key)
        if found is None:
            with self._lock:
                found = self._years.get(key)
                if found is None:
                    holidays = _holidays()
                    code = self.check_region(region)
                    kwargs: dict[str, Any] = {"years": year}
                    if code:
                        kwargs["subdiv"] = code
                    lang = self.language
                    if lang is not None:
                        cls = self._country_class()
                        if lang not in cls.supported_languages:
                            lang = lang.split("_")[0] if lang.split("_")[0] in cls.supported_languages else None
                    if lang:
                        kwargs["language"] = lang
                    found = dict(holidays.country_holidays(self.country, **kwargs))
                    self._years[key] = found
        return found

    def holiday(self, day: dt.date | str, region: str | None = None) -> str | None:
        """The name of the public holiday or company day off on ``day``, or None."""
        day = _iso(day)
        if day in self.days_off:
            return _("company day off")
        return self.public_holidays(day.year, region).get(day)

    def is_workday(self, day: dt.date | str, region: str | None = None) -> bool:
        day = _iso(day)
        return day.weekday() in self.workdays and self.holiday(day, region) is None

    def workdays_between(self, first: dt.date | str, last: dt.date | str,
                         region: str | None = None) -> list[dt.date]:
        """The working days from ``first`` to ``last`` (both included)."""
        return [d for d in days_between(_iso(first), _iso(last)) if self.is_workday(d, region)]

    def holidays_between(self, first: dt.date | str, last: dt.date | str,
                         region: str | None = None) -> dict[dt.date, str]:
        """Public holidays and company days off from ``first`` to ``last``."""
        out = {}
        for day in days_between(_iso(first), _iso(last)):
            name = self.holiday(day, region)
            if name:
                out[day] = name
        return out


class Workdays:
    """``services.calendar``: the site's working days and the absence register."""

    TABLES = (TableSpec("absences", version=1, read=READ),)

    def __init__(self, backdesk) -> None:
        self.backdesk = backdesk
        config = backdesk.config
        locale = str(get_locale() or "en_US")
        self.calendar = WorkCalendar.from_settings(config.calendar,
                                                   language="de" if locale.startswith("de") else "en_US")
        self.absence_table = backdesk.table(ABSENCES)
        self.people_table = backdesk.table("core.people")

    # -- the calendar, per person ---------------------------------------------
    def region_of(self, person_id: int | None) -> str | None:
        """The person's region (their directory entry's ``region``), else the site's."""
        if person_id is not None:
            doc = self.people_table.get(person_id)
            if doc and doc.get("region"):
                return doc["region"]
        return self.calendar.region

    def holiday(self, day: dt.date | str, person_id: int | None = None) -> str | None:
        return self.calendar.holiday(day, self.region_of(person_id))

    def is_workday(self, day: dt.date | str, person_id: int | None = None) -> bool:
        return self.calendar.is_workday(day, self.region_of(person_id))

    def workdays_between(self, first, last, person_id: int | None = None) -> list[dt.date]:
        return self.calendar.workdays_between(first, last, self.region_of(person_id))

    def holidays_between(self, first, last, person_id: int | None = None) -> dict[dt.date, str]:
        return self.calendar.holidays_between(first, last, self.region_of(person_id))

    def expects_work(self, day: dt.date | str, person_id: int) -> bool:
        """A working day for the person on which they are not away."""
        return self.is_workday(day, person_id) and self.absence_on(person_id, day) is None

    # -- absences (dates only) --------------------------------------------------
    def absence_on(self, person_id: int, day: dt.date | str | None = None) -> dict | None:
        """The absence covering ``day`` (default: today) for the person, or None.

        ``{"person_id", "start", "end", "deputy_id", "ref"}`` — no kind, no reason."""
        iso = (_iso(day) if day is not None else today()).isoformat()
        for doc in self.absence_table.find({"person_id": person_id}, order_by=["start"]):
            if doc["start"] <= iso <= doc["end"]:
                return doc
        return None

    def absences(self, first: dt.date | str, last: dt.date | str,
                 person_ids: Iterable[int] | None = None) -> list[dict]:
        """Absences overlapping [first, last], by start date."""
        a, b = _iso(first).isoformat(), _iso(last).isoformat()
        wanted = set(person_ids) if person_ids is not None else None
        rows = self.absence_table.find({"start": Range(le=b)}, order_by=["start", "person_id"])
        return [r for r in rows if r["end"] >= a and (wanted is None or r["person_id"] in wanted)]

    def away_today(self) -> set[int]:
        day = today().isoformat()
        return {r["person_id"] for r in self.absences(day, day)}

    def put_absence(self, ref: str, person_id: int, start: str, end: str, *,
                    deputy_id: int | None = None) -> dict:
        """Record (or move) the absence ``ref`` ("hr.leave:12"): called by the
        plugin that owns it, inside its transaction, after its own checks."""
        if not isinstance(ref, str) or not ref:
            raise ValidationError(_("an absence needs a reference"), field="ref")
        if _iso(end) < _iso(start):
            raise ValidationError(_("the last day lies before the first day"), field="end")
        doc = {"ref": ref, "person_id": int(person_id), "start": _iso(start).isoformat(),
               "end": _iso(end).isoformat(), "deputy_id": deputy_id}
        found = self.absence_table.find({"ref": ref}, limit=1)
        if found:
            return self.absence_table.update(found[0]["id"], doc)
        new_id = self.absence_table.insert(doc)
        return self.absence_table[new_id]

    def remove_absence(self, ref: str) -> bool:
        """Take the absence ``ref`` out of the register (cancelled leave)."""
        found = self.absence_table.find({"ref": ref})
        for doc in found:
            self.absence_table.delete(doc["id"])
        return bool(found)
