"""Translation and number text for the shared widgets.

``core.i18n`` owns translations and locale formats; a number it cannot
read falls back to ``1234.56`` or ``1234,56``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from core.i18n import _  # noqa: F401 (the widgets' translations)
from core.i18n import format_decimal as _format_decimal
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


__all__ = ["_", "decimal_text", "parse_decimal_text"]
