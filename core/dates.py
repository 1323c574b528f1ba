"""The years a back office's dates can fall in.

A date of 0001-01-01 or 9999-12-31 is a typo, not a booking: it sorts
before or after everything real, and date arithmetic on it (the end of the
day, the month after, a retention period) leaves Python's range and
crashes. Every parser of a date someone typed (postings, bills, warnings,
hires, documents, people, audit filters, periods) checks the year with
:func:`check_year`: from :data:`MIN_YEAR` to :data:`MAX_YEAR`, else one
:class:`~core.errors.ValidationError` naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from core.errors import ValidationError

MIN_YEAR = 1900
MAX_YEAR = 2199

D = TypeVar("D", dt.date, dt.datetime)


def check_year(value: D, field: str | None = None) -> D:
    """``value`` (a date or datetime) when its year is 1900–2199, else a
    ValidationError naming ``field``."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        from core.i18n import _  # Babel: only when a date is refused

        raise ValidationError(_("{value} is outside the years {first}–{last}").format(
            value=value.isoformat()[:10], first=MIN_YEAR, last=MAX_YEAR), field=field)
    return value


def check_year_number(year, field: str | None = "year") -> int:
    """``year`` (an int or its text) when it is 1900–2199, else a ValidationError."""
    try:
        value = int(str(year).strip())
    except (TypeError, ValueError):
        from core.i18n import _  # Babel: only when a date is refused

        raise ValidationError(_("{value!r} is not a year").format(value=str(year)[:20]), field=field) from None
    if not MIN_YEAR <= value <= MAX_YEAR:
        from core.i18n import _  # Babel: only when a date is refused

        raise ValidationError(_("{value} is outside the years {first}–{last}").format(
            value=value, first=MIN_YEAR, last=MAX_YEAR), field=field)
    return value


def check_year_text(text: str, field: str | None = None) -> str:
    """``text`` (ISO, ``YYYY-MM-DD…`` or ``YYYY-MM``) when its year is in range."""
    head = str(text).strip()[:4]
    if head.isdigit() and not MIN_YEAR <= int(head) <= MAX_YEAR:
        from core.i18n import _  # Babel: only when a date is refused

        raise ValidationError(_("{value} is outside the years {first}–{last}").format(
            value=str(text).strip()[:10], first=MIN_YEAR, last=MAX_YEAR), field=field)
    return text


__all__ = ["MIN_YEAR", "MAX_YEAR", "check_year", "check_year_number", "check_year_text"]
