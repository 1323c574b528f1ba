"""Click parameter types for days, shared by core's and the plugins' commands.

A command line takes a day as its screens do and as its tables print it —
"20.01.2026" or "20.01.26" in German, "20/01/2026" (en_GB), "1/20/2026"
(en_US), "2026-01-20" everywhere — through :func:`core.i18n.parse_day`, the
parser behind a form's date field. The command gets ISO ``YYYY-MM-DD`` (the
services take nothing else). A value that is no day is one line naming the
option, exit 2, before the command runs, so nothing is written::

    backdesk: --due-by: '32.01.2026' is not a date (like 31.12.2026)

Use ``type=DAY`` on an option or argument (``DAY_OR_TIME`` where an ISO time
is taken as well, ``DAY_TIME`` for "DAY HH:MM").
"""

from __future__ import annotations

import datetime as dt
import re

import click

from core.cli.launch import State
from core.dates import check_year
from core.errors import ValidationError
from core.i18n import _, configure, date_example, parse_day


def _site_locale(ctx: click.Context | None) -> None:
    """Read the value the site's way: click converts an option before the
    command opens its Backdesk (which sets the locale), so set it here from
    the line's config (loaded already for the plugins' commands)."""
    state = ctx.find_object(State) if ctx is not None else None
    if state is not None:
        site = state.config().site
        configure(site.locale, site.timezone, site.currency)


def _name(param: click.Parameter | None) -> str | None:
    """How the line names ``param``: "--due-by", "START"."""
    if param is None:
        return None
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return param.human_readable_name


def _day(text: str, param, ctx) -> str:
    _site_locale(ctx)
    try:
        iso = parse_day(text)
        check_year(dt.date.fromisoformat(iso))
    except ValidationError as error:  # "backdesk: --due-by: '32.01.2026' is not a date (like 31.12.2026)"
        raise ValidationError(error.message, field=_name(param)) from None
    return iso


class Day(click.ParamType):
    """A day as the site writes it or ISO → ``YYYY-MM-DD``; empty stays empty."""

    name = "date"

    def convert(self, value, param, ctx):
        if value is None or (isinstance(value, str) and not value.strip()):
            return value
        return _day(str(value), param, ctx)


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d")


class DayOrTime(Day):
    """A day as :class:`Day`, or an ISO date-time (``2026-01-20T08:00``),
    passed on for the command's own check."""

    name = "date or time"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and _ISO_TIME.match(value.strip()):
            return value
        return super().convert(value, param, ctx)


_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*([AaPp]\.?[Mm]\.?)?")


class DayTime(click.ParamType):
    """"DAY HH:MM" (the day as :class:`Day` takes it, the time 24-hour or
    with AM/PM) → ``YYYY-MM-DD HH:MM``, local time."""

    name = "date time"

    def convert(self, value, param, ctx):
        if value is None or (isinstance(value, str) and not value.strip()):
            return value
        text = str(value).strip()
        day_part, _sep, clock_part = text.replace("T", " ").partition(" ")
        clock = _CLOCK.fullmatch(clock_part.strip())
        hour = int(clock[1]) if clock else -1
        minute = int(clock[2] or 0) if clock else -1
        if clock and clock[3]:
            hour = -1 if not 1 <= hour <= 12 else hour % 12 + (12 if clock[3][0] in "Pp" else 0)
        _site_locale(ctx)
        try:
            if not (clock and 0 <= hour <= 23 and 0 <= minute <= 59 and (clock[2] or clock[3])):
                raise ValidationError(text)
            return f"{_day(day_part, param, ctx)} {hour:02d}:{minute:02d}"
        except ValidationError:  # the whole value and what it should look like
            raise ValidationError(_("{value!r} is not a date and time (like {example})").format(
                value=text[:30], example=f"{date_example()} 08:30"), field=_name(param)) from None


#: for an option's help: how a day is typed (as a month's help says "11.2026 as on the screens, or 2026-11")
DATE = "as on the screens (31.12.2026, 12/31/2026) or 2026-12-31"

DAY = Day()
DAY_OR_TIME = DayOrTime()
DAY_TIME = DayTime()

__all__ = ["DATE", "DAY", "DAY_OR_TIME", "DAY_TIME", "Day", "DayOrTime", "DayTime"]
