"""Translation and number text for the shared widgets.

``core.i18n`` owns translations and locale formats; a number it cannot
read falls back to ``1234.56`` or ``1234,56``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from core.errors import ValidationError
from core.i18n import _  # noqa: F401 (the widgets' translations)
from core.i18n import date_example as _date_example
from core.i18n import date_text as _date_text
from core.i18n import format_date as _format_date
from core.i18n import format_decimal as _format_decimal
from core.i18n import parse_date as _parse_date
from core.i18n import parse_decimal as _parse_decimal

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def decimal_text(value: Decimal) -> str:
    """A number as the user would type it in the site's locale, its decimals
    kept ("1.234,50" in German, "1,234.50" in English)."""
    if value.is_finite():
        places = max(0, -int(value.as_tuple().exponent))
        try:
            return _format_decimal(value, places)
        except (TypeError, ValueError):
            pass
    return str(value)


def parse_decimal_text(text: str) -> Decimal | None:
    """A typed number, or ``None`` if it is not one.

    The site's locale is tried first ("1.234,56" in German); then plain
    ``1234.56``, or ``1234,56`` with a comma as the decimal sign.
    """
    try:
        return _parse_decimal(text)
    except Exception:  # core.i18n raises ValidationError; any failure falls back
        pass
    cleaned = "".join(text.split()).replace("_", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not _PLAIN_NUMBER.fullmatch(cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern rules it out
        return None


def date_entry_text(value: date) -> str:
    """A date as the user types it in the site's locale ("07.12.2026")."""
    return _date_text(value)


def date_example_text() -> str:
    """An example date as typed in the site's locale ("31.12.2026")."""
    return _date_example()


def long_date_text(value: date) -> str:
    """A date written out, to confirm what was typed ("Montag, 7. Dezember 2026")."""
    return _format_date(value, "full")


def parse_date_text(text: str) -> date:
    """A typed date: the locale's form or ISO; ValueError with the message
    for the user otherwise."""
    try:
        return _parse_date(text)
    except ValidationError as error:  # one line for the field
        raise ValueError(error.message) from None


__all__ = ["_", "date_entry_text", "date_example_text", "decimal_text", "long_date_text", "parse_date_text", "parse_decimal_text"]
