"""Translations (gettext) and locale-aware formatting (Babel) for Backdesk.

Text:

```python
from core.i18n import _, ngettext
_("Save")                                   # "Speichern" after set_locale("de_DE")
ngettext("{n} call", "{n} calls", n).format(n=n)
```

Core's catalogs live in ``core/locale/<lang>/LC_MESSAGES/backdesk.po``
(compiled to ``.mo`` next to it; ``python scripts/i18n.py`` extracts, updates
and compiles). A plugin ships its own catalog in ``<plugin>/locale`` under its
own domain and gets its ``_`` from :func:`translator_for`; strings missing
there fall back to core's catalog.

Formatting follows the site's locale, time zone and currency (``configure``,
called by the shell from ``config.site``):

```python
format_date("2026-01-05")                    # "05.01.2026" in de_DE
format_datetime("2026-01-05T09:30:00Z")      # "05.01.2026, 10:30" (UTC → Europe/Berlin)
format_money("1234.56")                      # "1.234,56 €"  (NBSP before €)
parse_decimal("1.234,56")                    # Decimal("1234.56")
```

Money is ``Decimal`` (or its string form), never float. Stored times are UTC;
a naive datetime is taken to be UTC.
"""

from __future__ import annotations

import datetime as _dt
import functools
import gettext as _gettext
import io
import os
import re
import struct
import threading
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError

from core.babeldata import prime as _prime_babel
from core.errors import ValidationError
from core.records import Record

__all__ = [
    "DOMAIN",
    "LOCALE_DIR",
    "_",
    "N_",
    "gettext",
    "ngettext",
    "set_locale",
    "configure",
    "get_locale",
    "get_timezone",
    "get_currency",
    "translator_for",
    "Translator",
    "to_local",
    "today",
    "format_date",
    "date_text",
    "date_example",
    "parse_date",
    "parse_day",
    "format_datetime",
    "format_time",
    "format_number",
    "format_decimal",
    "format_money",
    "parse_decimal",
]

DOMAIN = "backdesk"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

DEFAULT_LOCALE = "en_US"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_CURRENCY = "EUR"


@dataclass(frozen=True, repr=False, eq=False)
class _State(Record):
    """Everything the active locale decides; replaced whole, never mutated."""

    locale: Locale
    tz: ZoneInfo
    currency: str
    translations: _gettext.NullTranslations
    generation: int


class _Messages(Mapping):
    """A catalog's messages as gettext keeps them (``msgid`` → text, plural
    forms under ``(msgid, n)``), decoded when a message is looked up."""

    def __init__(self, raw: dict[bytes, bytes], plurals: dict[bytes, bytes], charset: str) -> None:
        self._raw = raw
        self._plurals = plurals
        self._charset = charset
        self._all: dict | None = None

    def __getitem__(self, key):
        try:
            if type(key) is str:
                if "\x00" in key:  # gettext keeps a plural message only under (msgid, n)
                    raise KeyError(key)
                return self._raw[key.encode(self._charset)].decode(self._charset)
            singular, n = key
            return self._plurals[singular.encode(self._charset)].split(b"\x00")[n].decode(self._charset)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):  # UnicodeError is a ValueError
            raise KeyError(key) from None

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def _decoded(self) -> dict:
        if self._all is None:
            charset = self._charset
            out: dict = {}
            for msgid, msgstr in self._raw.items():
                if b"\x00" in msgid:
                    singular = msgid.split(b"\x00")[0].decode(charset)
                    for n, text in enumerate(msgstr.split(b"\x00")):
                        out[(singular, n)] = text.decode(charset)
                else:
                    out[msgid.decode(charset)] = msgstr.decode(charset)
            self._all = out
        return self._all

    def __iter__(self):
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())


class _Catalog(_gettext.GNUTranslations):
    """A compiled catalog (.mo) that decodes a message when it is looked up.

    gettext's reader unpacks and decodes every message of a catalog when it
    loads it: the six German catalogs of the shell's start (2,600 messages,
    of which the first frame looks up a few hundred) took ~4 ms of it
    (bench/startup.py's child, 2-vCPU VM). This one reads the two index
    tables at once and keeps the messages' bytes; a lookup decodes the one
    it finds. Same messages, header, charset and plural forms as gettext
    (tests/test_i18n.py compares every shipped catalog, and Babel's and
    msgfmt's output); a big-endian file goes to gettext's own reader.
    """

    def _parse(self, fp) -> None:
        buf = fp.read()
        name = getattr(fp, "name", "")
        head = struct.unpack_from("<5I", buf) if len(buf) >= 20 else None
        if head is None or head[0] != self.LE_MAGIC or head[1] >> 16 not in self.VERSIONS:
            source = io.BytesIO(buf)
            source.name = name  # gettext names the file in its errors
            return super()._parse(source)
        _magic, _version, count, ids_at, texts_at = head
        try:
            ids = struct.unpack_from(f"<{2 * count}I", buf, ids_at)
            texts = struct.unpack_from(f"<{2 * count}I", buf, texts_at)
        except struct.error:
            raise OSError(0, "File is corrupt", name) from None
        size = len(buf)
        if count and (max(map(sum, zip(ids[0::2], ids[1::2]))) >= size
                      or max(map(sum, zip(texts[0::2], texts[1::2]))) >= size):
            raise OSError(0, "File is corrupt", name)
        msgids = [buf[at:at + n] for n, at in zip(ids[0::2], ids[1::2])]
        msgstrs = [buf[at:at + n] for n, at in zip(texts[0::2], texts[1::2])]
        raw = dict(zip(msgids, msgstrs))
        self.plural = lambda n: int(n != 1)  # gettext's default (germanic)
        if b"" in raw:
            self._header(raw[b""])  # the header: the empty msgid's text
        plurals = {m.split(b"\x00")[0]: raw[m] for m in msgids if b"\x00" in m}
        self._catalog = _Messages(raw, plurals, self._charset or "ascii")

    def _header(self, text: bytes) -> None:
        """The header's fields, charset and plural forms, as gettext reads them."""
        last = None
        for line in text.split(b"\n"):
            item = line.decode().strip()
            if not item or (item.startswith("#-#-#-#-#") and item.endswith("#-#-#-#-#")):
                continue
            key = value = None
            if ":" in item:
                key, value = item.split(":", 1)
                key = key.strip().lower()
                value = value.strip()
                self._info[key] = value
                last = key
            elif last:
                self._info[last] += "\n" + item
            if key == "content-type":
                self._charset = value.split("charset=")[1]
            elif key == "plural-forms":
                self.plural = _plural(value.split(";")[1].split("plural=")[1])


@functools.lru_cache(maxsize=16)
def _plural(expression: str):
    """gettext's plural function for a Plural-Forms expression (compiled once)."""
    return _gettext.c2py(expression)


def _load(domain: str, localedir: Path | str | None, locale: Locale,
          fallback: _gettext.NullTranslations | None = None) -> _gettext.NullTranslations:
    """The catalog for ``locale`` (de_AT → de_AT, then de), or an empty one."""
    languages = [str(locale)]
    if locale.language not in languages:
        languages.append(locale.language)
    translations: _gettext.NullTranslations
    if localedir is not None and Path(localedir).is_dir():
        try:
            translations = _gettext.translation(domain, str(localedir), languages=languages,
                                                fallback=True, class_=_Catalog)
        except OSError:  # a corrupt .mo must not stop the shell
            translations = _gettext.NullTranslations()
    else:
        translations = _gettext.NullTranslations()
    if fallback is not None:
        if type(translations) is _gettext.NullTranslations:
            return fallback
        translations.add_fallback(fallback)  # gettext.translation() returns a copy: safe
    return translations


def _parse_locale(locale: str | Locale) -> Locale:
    if isinstance(locale, Locale):
        return locale
    try:
        return Locale.parse(str(locale).strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown locale {locale!r}") from exc


def _parse_tz(timezone: str | _dt.tzinfo) -> ZoneInfo:
    if isinstance(timezone, ZoneInfo):
        return timezone
    try:
        return ZoneInfo(str(timezone))
    except Exception as exc:
        raise ValueError(f"unknown time zone {timezone!r}") from exc


_lock = threading.Lock()
_state = _State(
    locale=Locale.parse(DEFAULT_LOCALE),
    tz=ZoneInfo(DEFAULT_TIMEZONE),
    currency=DEFAULT_CURRENCY,
    translations=_load(DOMAIN, LOCALE_DIR, Locale.parse(DEFAULT_LOCALE)),
    generation=0,
)


def configure(locale: str | Locale | None = None, timezone: str | _dt.tzinfo | None = None,
              currency: str | None = None) -> None:
    """Set the active locale, time zone and currency (any left None stays as it is).

    The shell calls this once from ``config.site``; raises ValueError for an
    unknown locale, time zone or currency.
    """
    global _state
    with _lock:
        old = _state
        loc = _parse_locale(locale) if locale is not None else old.locale
        # the locale's number and date tables and the currencies from a small
        # file instead of Babel's whole data (~10 ms of a start: core.babeldata)
        _prime_babel(str(loc))
        tz = _parse_tz(timezone) if timezone is not None else old.tz
        cur = old.currency
        if currency is not None:
            from babel.numbers import list_currencies

            if currency not in list_currencies():
                raise ValueError(f"unknown currency {currency!r}")
            cur = currency
        changed = loc != old.locale
        _state = _State(
            locale=loc,
            tz=tz,
            currency=cur,
            translations=_load(DOMAIN, LOCALE_DIR, loc) if changed else old.translations,
            generation=old.generation + 1 if changed else old.generation,
        )


def set_locale(locale: str | Locale) -> None:
    """Switch the language and formats: ``set_locale("de_DE")``."""
    configure(locale=locale)


def get_locale() -> Locale:
    """The active Babel locale."""
    return _state.locale


def get_timezone() -> ZoneInfo:
    """The site's time zone."""
    return _state.tz


def get_currency() -> str:
    """The site's default currency (ISO 4217)."""
    return _state.currency


# --------------------------------------------------------------------------
# Text


def gettext(message: str) -> str:
    """``message`` in the active language (core's catalog)."""
    return _state.translations.gettext(message)


def _(message: str) -> str:
    """``message`` in the active language (core's catalog)."""
    return _state.translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the active language."""
    return _state.translations.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now.

    For text defined at import time (titles in tables, choices); translate it
    with ``_()`` where it is shown.
    """
    return message


class Translator:
    """A plugin's ``_``: its own domain and catalog folder, core's as fallback.

    Follows ``set_locale``: the catalog is reloaded when the locale changes.
    """

    def __init__(self, domain: str, localedir: str | os.PathLike[str] | None) -> None:
        self.domain = domain
        self.localedir = Path(localedir) if localedir is not None else None
        self._generation = -1
        self._translations: _gettext.NullTranslations = _gettext.NullTranslations()

    def _current(self) -> _gettext.NullTranslations:
        state = _state
        if self._generation != state.generation:
            self._translations = _load(self.domain, self.localedir, state.locale,
                                       fallback=state.translations)
            self._generation = state.generation
        return self._translations

    def __call__(self, message: str) -> str:
        return self._current().gettext(message)

    gettext = __call__

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for ``n``."""
        return self._current().ngettext(singular, plural, n)

    def label(self, titles: dict, code) -> str:
        """The label of a stored ``code`` in ``titles`` (a map of codes to
        ``N_()``-marked messages) in the site's language: records, CSV and
        JSON keep the code, screens show this. An unknown code is shown as it
        is, None as ""."""
        if code is None:
            return ""
        message = titles.get(code)
        return self(message) if message else str(code)

    def __repr__(self) -> str:
        return f"Translator({self.domain!r}, {str(self.localedir)!r})"


def translator_for(domain: str, localedir: str | os.PathLike[str] | None) -> Translator:
    """A ``_`` for a plugin's own catalog: ``<localedir>/<lang>/LC_MESSAGES/<domain>.mo``.

    ``_ = translator_for("telephony", Path(__file__).parent / "locale")``;
    ``_.ngettext(s, p, n)`` for plurals. Strings missing from the plugin's
    catalog are looked up in core's.
    """
    return Translator(domain, localedir)


# --------------------------------------------------------------------------
# Dates and times


def _as_datetime(value: _dt.datetime | str) -> _dt.datetime:
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)  # stored times are UTC
    return value


def to_local(value: _dt.datetime | str) -> _dt.datetime:
    """A UTC ISO string or datetime as an aware datetime in the site's time zone."""
    return _as_datetime(value).astimezone(_state.tz)


def today() -> _dt.date:
    """Today's date in the site's time zone (not the host's)."""
    return _dt.datetime.now(_state.tz).date()


def _is_date_only(value: str) -> bool:
    return len(value.strip()) == 10  # "2026-01-05"


def format_date(value: _dt.date | _dt.datetime | str, format: str = "medium") -> str:
    """A date in the site's locale: "Jan 5, 2026" / "05.01.2026".

    A datetime (or an ISO string with a time) is first shown in the site's
    time zone, so 23:30 UTC may be the next day in Berlin.
    """
    from babel.dates import format_date as _format_date

    state = _state
    if isinstance(value, str):
        value = (_dt.date.fromisoformat(value.strip()) if _is_date_only(value)
                 else to_local(value))
    elif isinstance(value, _dt.datetime):
        value = to_local(value)
    if isinstance(value, _dt.datetime):
        value = value.date()
    return _format_date(value, format=format, locale=state.locale)


def _numeric_date_pattern() -> str:
    """The locale's short date with the whole year: "dd.MM.y", "dd/MM/y", "M/d/y"."""
    return re.sub(r"y+", "y", _state.locale.date_formats["short"].pattern)


def date_text(value: _dt.date | str) -> str:
    """A date as the site's people type it, with the whole year: "07.12.2026"
    (de_DE), "07/12/2026" (en_GB), "12/7/2026" (en_US); what a form's date
    field shows and :func:`parse_date` reads back."""
    from babel.dates import format_date as _format_date

    if isinstance(value, str):
        value = _dt.date.fromisoformat(value.strip()[:10])
    return _format_date(value, format=_numeric_date_pattern(), locale=_state.locale)


_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DATE_NUMBERS = re.compile(r"\d+")
_DATE_TEXT = re.compile(r"[\d\s./-]+")


def parse_date(text: str) -> _dt.date:
    """A date typed the locale's way or as ISO: in German "7.12.2026",
    "07.12.26" and "7.12." (this year); in English (en_GB) "7/12/2026",
    (en_US) "12/7/26"; everywhere "2026-12-07". A two-digit year is in this
    century. Raises ValidationError with one line naming an example
    ("Enter a date like 07.12.2026") for anything else or a day that does
    not exist (31.2.)."""
    raw = text.strip() if isinstance(text, str) else ""
    try:
        if len(raw) > 20 or not _DATE_TEXT.fullmatch(raw):
            raise ValueError(raw)
        iso = _ISO_DAY.fullmatch(raw)
        if iso:
            return _dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        numbers = _DATE_NUMBERS.findall(raw)
        order = [c for c in dict.fromkeys(re.sub(r"[^dMy]", "", _numeric_date_pattern()))]
        if len(numbers) == 2:  # day and month of this year
            numbers.insert(order.index("y"), str(today().year))
        if len(numbers) != 3:
            raise ValueError(raw)
        parts = dict(zip(order, numbers))
        year = parts["y"]
        if len(year) == 2:
            year = str(today().year // 100) + year
        if len(year) != 4 or len(parts["d"]) > 2 or len(parts["M"]) > 2:
            raise ValueError(raw)
        return _dt.date(int(year), int(parts["M"]), int(parts["d"]))
    except (ValueError, KeyError):
        raise ValidationError(_("Enter a date like {example}").format(example=date_example())) from None


def parse_day(text: str) -> str:
    """A day typed the locale's way or as ISO → ``YYYY-MM-DD``: what
    :func:`parse_date` (a form's date field) reads — "20.01.2026" and
    "20.01.26" (German), "20/01/2026" (en_GB), "1/20/2026" (en_US),
    "2026-01-20" everywhere — for a command line's date options and
    arguments, as :func:`parse_month` is for its months. Raises
    ValidationError with one line naming the value and an example
    ("'32.01.2026' is not a date (like 31.12.2026)"). Whether the year is
    one a record may have is the caller's (core.dates.check_year)."""
    try:
        return parse_date(text).isoformat()
    except ValidationError:
        raise ValidationError(_("{value!r} is not a date (like {example})").format(
            value=(text.strip() if isinstance(text, str) else str(text))[:20], example=date_example())) from None


def date_example() -> str:
    """A date as :func:`parse_date` reads it, for a placeholder or an error:
    the last day of 2026, so the order of day and month shows ("31.12.2026",
    "31/12/2026", "12/31/2026") and the text does not change with the day."""
    return date_text(_dt.date(2026, 12, 31))


def day_text(value: _dt.date | str | None) -> str:
    """A stored date as a table shows it, on a screen or in a CLI table:
    the locale's short date ("17.10.26", "17/10/2026", "10/17/26"); ""
    for none. CSV and JSON keep ISO."""
    return format_date(value, "short") if value else ""


def day_month_text(value: _dt.date | str) -> str:
    """A day of this year without its year, the locale's way: "09.12."
    (de_DE), "09/12" (en_GB), "12/9" (en_US); for a short list such as a
    dashboard card's bills due this week."""
    from babel.dates import format_skeleton

    if isinstance(value, str):
        value = _dt.date.fromisoformat(value.strip()[:10])
    return format_skeleton("MMdd", value, locale=_state.locale)


def day_width() -> int:
    """Cells :func:`day_text` takes at most ("31.12.26" 8, "31/12/2026" 10):
    a date column as wide as its dates."""
    return len(format_date(_dt.date(2026, 12, 31), "short"))


def month_text(period: str) -> str:
    """A month ``YYYY-MM`` as the site's people write it: "11.2026" (German),
    "11/2026" (English); what :func:`parse_month` reads back."""
    sep = next((c for c in date_text(_dt.date(2026, 12, 7)) if not c.isdigit()), "/")
    y, mo = str(period).split("-")[:2]
    return f"{int(mo):02d}{sep}{y}"


_MONTH_ISO = re.compile(r"(\d{4})-(\d{1,2})")
_MONTH_LOCAL = re.compile(r"(\d{1,2})\s*[./-]\s*(\d{4}|\d{2})")


def parse_month(text: str) -> str:
    """A month typed the locale's way or as ISO → ``YYYY-MM``: "11.2026",
    "11/2026", "11.26" (this century) or "2026-11". Raises ValidationError
    with one line naming an example ("'13.2026' is not a month (like
    12.2026)") for anything else. Whether the year is one a record may
    have is the caller's (core.dates.check_year_text)."""
    s = text.strip() if isinstance(text, str) else ""
    iso = _MONTH_ISO.fullmatch(s)
    local = _MONTH_LOCAL.fullmatch(s)
    y, mo = (iso[1], iso[2]) if iso else (local[2], local[1]) if local else ("", "0")
    if len(y) == 2:
        y = str(today().year // 100) + y
    if not y or not 1 <= int(mo) <= 12:
        raise ValidationError(_("{value!r} is not a month (like {example})").format(
            value=s[:20], example=month_text("2026-12")))
    return f"{y}-{int(mo):02d}"


def format_time(value: _dt.time | _dt.datetime | str, format: str = "short") -> str:
    """A time in the site's locale: "10:30 AM" / "10:30".

    A datetime or ISO datetime string is shown in the site's time zone; a
    plain ``time`` (opening hours) is shown as it is.
    """
    from babel.dates import format_time as _format_time

    state = _state
    if isinstance(value, str):
        text = value.strip()
        value = to_local(text) if ("T" in text or " " in text or len(text) > 15) else _dt.time.fromisoformat(text)
    elif isinstance(value, _dt.datetime):
        value = to_local(value)
    if isinstance(value, _dt.datetime):
        value = value.timetz().replace(tzinfo=None)
    return _format_time(value, format=format, locale=state.locale)


def format_datetime(value: _dt.datetime | str, format: str = "medium") -> str:
    """A moment in the site's time zone and locale.

    The default shows the date in medium length and the time without
    seconds: "Jan 5, 2026, 10:30 AM" / "05.01.2026, 10:30". Other formats are
    Babel's ("short", "long", "full" or a pattern).
    """
    from babel import dates

    state = _state
    local = to_local(value)
    if format == "medium":
        pattern = dates.get_datetime_format("medium", locale=state.locale)
        date_text = dates.format_date(local.date(), "medium", locale=state.locale)
        time_text = dates.format_time(local.timetz().replace(tzinfo=None), "short", locale=state.locale)
        return pattern.replace("'", "").replace("{0}", time_text).replace("{1}", date_text)
    return dates.format_datetime(local, format=format, tzinfo=state.tz, locale=state.locale)


# --------------------------------------------------------------------------
# Numbers and money


def _to_decimal(value: Any, *, allow_float: bool) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not allow_float:
            raise TypeError("money is never a float: pass a Decimal or its string form")
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    raise TypeError(f"not a number: {value!r}")


def format_number(value: int | Decimal | float | str) -> str:
    """A number with the locale's grouping and decimal sign, digits kept: "1.234.567", "2,5"."""
    from babel.numbers import format_decimal as _fd

    number = _to_decimal(value, allow_float=True)
    return _fd(number, locale=_state.locale, decimal_quantization=False)


def format_decimal(value: int | Decimal | float | str, places: int | None = None) -> str:
    """A number in the locale's form; ``places`` fixes the decimals (rounded half up)."""
    from babel.numbers import format_decimal as _fd

    number = _to_decimal(value, allow_float=True)
    if places is None:
        return _fd(number, locale=_state.locale, decimal_quantization=False)
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "0" * places if places > 0 else "")
    return _fd(number, format=pattern, locale=_state.locale, decimal_quantization=False)


def format_money(amount: Decimal | str | int, currency: str | None = None) -> str:
    """An amount with its currency in the locale's form: "1.234,56 €", "€1,234.56".

    ``amount`` is a Decimal or its string form ("1234.56"), never a float
    (TypeError). Rounded half up to the currency's minor unit.
    """
    from babel.numbers import format_currency, get_currency_precision

    state = _state
    code = currency or state.currency
    number = _to_decimal(amount, allow_float=False)
    if not number.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    digits = get_currency_precision(code)
    number = number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if number == 0:
        number = number.copy_abs()  # never "-0,00 €"
    return format_currency(number, code, locale=state.locale)


_MAX_NUMBER_TEXT = 64


def parse_decimal(text: str) -> Decimal:
    """A number typed in the site's locale: "1.234,56" → Decimal("1234.56") in German.

    Spaces and the site currency's symbol or code around the number are
    ignored. Raises ValidationError ("Enter a number") for anything else,
    including "1234.56" in German (ambiguous there).
    """
    from babel.numbers import NumberFormatError, get_currency_symbol
    from babel.numbers import parse_decimal as _parse

    state = _state
    if not isinstance(text, str):
        raise ValidationError(_("Enter a number"))
    cleaned = text.strip()
    if len(cleaned) > _MAX_NUMBER_TEXT or not cleaned:
        raise ValidationError(_("Enter a number"))
    for token in (get_currency_symbol(state.currency, locale=state.locale), state.currency):
        cleaned = cleaned.replace(token, "")
    cleaned = "".join(cleaned.split())  # spaces, NBSP, narrow NBSP
    # Babel's strict mode does not know the ASCII minus is typed for U+2212.
    cleaned = cleaned.replace("\u2212", "-")
    try:
        value = _parse(cleaned, locale=state.locale, strict=True)
    except (NumberFormatError, ValueError, InvalidOperation):
        raise ValidationError(_("Enter a number")) from None
    if not value.is_finite():
        raise ValidationError(_("Enter a number"))
    return value


# --------------------------------------------------------------------------
# The shell's common words, so every screen uses the same translation.
# Kept here (marked with N_) so extraction keeps them in the catalogs even
# before a screen uses them.

COMMON_TEXT: tuple[str, ...] = (
    N_("Home"), N_("Dashboard"), N_("Plugins"), N_("Help"), N_("Quit"), N_("Search"),
    N_("Notifications"), N_("Directory"), N_("Audit trail"), N_("Settings"), N_("Save"),
    N_("Cancel"), N_("Yes"), N_("No"), N_("Confirm"), N_("Back"), N_("Filter"), N_("Sort"),
    N_("No records"), N_("Operator"), N_("Role"), N_("Status"), N_("Name"), N_("Version"),
    N_("Source"), N_("Error"), N_("failed"), N_("disabled"), N_("ok"), N_("built-in"),
    N_("entry point"), N_("path"), N_("This field is required"), N_("Enter a whole number"),
    N_("Enter a number"), N_("Permission denied"),
    N_("Loading…"), N_("Working…"), N_("Done"), N_("Plugin failed"), N_("Open"), N_("Close"),
    N_("Delete"), N_("Edit"), N_("New"), N_("Unread"), N_("Read-only"), N_("Locked"),
    N_("Command palette"), N_("Key bindings"), N_("Welcome, {name}"),
)
