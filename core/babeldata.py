"""Babel's data for a start: the tables it reads, from a small file.

Babel keeps the CLDR data in pickles: ``global.dat`` (460 kB: currencies,
time zones, likely subtags, ...) and one file per locale, merged with its
parents (de_DE is root.dat and de.dat, 300 kB). The first amount or date a
process formats loads them whole: ~10 ms of the shell's start on the
2-vCPU VM (the global data ~5 ms, de_DE's ~5 ms; docs/performance.md,
"Start-up"), of which the dashboard reads 3 of the 17 global tables and 8 of
the locale's 43.

:func:`prime` hands Babel, as the data it has loaded, the tables of
:data:`GLOBAL_TABLES` and :data:`LOCALE_TABLES` (what a start reads and the
rest of the number and date tables), kept in ``$XDG_CACHE_HOME/backdesk/babel/``
(:mod:`core.cachefiles`) since the first start that read Babel's files whole.
The first use of any other table reads Babel's files whole, as without this
module, so every value is Babel's own. An entry is used only for the Babel
version, data files and tables it was written from, and may hold nothing but
plain values and Babel's own four table classes (anything else: the entry is
not used). ``BACKDESK_NO_CACHE=1`` switches it off.

This reaches into two of Babel's module globals (``babel.core._global_data``,
``babel.localedata._cache``, with its lock); a Babel without them is left
alone.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import zlib
from collections.abc import MutableMapping
from typing import Any, Callable

import babel
import babel.core
import babel.localedata

from core.cachefiles import cache_dir, read_entry, write_entry

#: the global tables kept: the currency check, the amounts' minor units, the locales' parents
GLOBAL_TABLES = ("all_currencies", "cldr", "currency_fractions", "parent_exceptions")
#: a locale's tables kept: numbers, amounts, dates (the dashboard reads currency_formats,
#: currency_names(_plural), currency_symbols, date_formats, datetime_skeletons,
#: number_symbols and plural_form)
LOCALE_TABLES = (
    "number_symbols", "decimal_formats", "currency_formats", "currency_symbols", "currency_names",
    "currency_names_plural", "currency_unit_patterns", "percent_formats", "scientific_formats",
    "default_numbering_system", "date_formats", "time_formats", "datetime_formats", "datetime_skeletons",
    "interval_formats", "months", "days", "quarters", "eras", "day_periods", "week_data", "plural_form",
    "ordinal_form", "list_patterns",
)

_FORMAT = 1  # bump when what an entry holds changes
_MAGIC = b"backdesk-babel"
_MAX_BYTES = 1 << 20
_NAME = re.compile(r"[A-Za-z0-9_]{1,40}")
#: the classes Babel's tables hold (an entry naming any other is not read)
_CLASSES = frozenset({("babel.numbers", "NumberPattern"), ("babel.dates", "DateTimePattern"),
                      ("babel.localedata", "Alias"), ("babel.plural", "PluralRule")})


class _Tables(MutableMapping):
    """Some of Babel's tables, standing in for all of them: the first use of
    another table loads the whole data (``load_whole``) and answers from it."""

    def __init__(self, tables: dict[str, Any], load_whole: Callable[[], dict]) -> None:
        self._tables = tables
        self._load_whole = load_whole
        self._whole: dict | None = None

    def whole(self) -> dict:
        with babel.localedata._cache_lock:
            if self._whole is None:
                self._whole = self._load_whole()
            return self._whole

    def __getitem__(self, key: str) -> Any:
        try:
            return self._tables[key]
        except KeyError:
            return self.whole()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._tables or key in self.whole()

    def __iter__(self):
        return iter(self.whole())

    def __len__(self) -> int:
        return len(self.whole())

    def __bool__(self) -> bool:  # babel.localedata.load asks `if not data`
        return True

    def __setitem__(self, key: str, value: Any) -> None:
        self.whole()[key] = value
        self._tables.pop(key, None)

    def __delitem__(self, key: str) -> None:
        del self.whole()[key]
        self._tables.pop(key, None)

    def copy(self) -> dict:  # Babel copies a parent's data to merge a child's into it
        return dict(self.whole())


def _supported() -> bool:
    return (hasattr(babel.core, "_global_data") and hasattr(babel.localedata, "_cache")
            and hasattr(babel.localedata, "_cache_lock") and hasattr(babel.localedata, "resolve_locale_filename"))


def prime(locale: str | None = None) -> None:
    """Give Babel the kept global tables and, for ``locale`` (canonical: "de_DE"),
    the locale's; on the first start (or after Babel changed) read Babel's
    files whole, as Babel would, and keep the tables for the next. Data
    Babel has loaded already is left as it is."""
    if not _supported():
        return
    directory = cache_dir("babel")
    with babel.localedata._cache_lock:
        if babel.core._global_data is None:
            _prime("global", GLOBAL_TABLES, os.path.join(os.path.dirname(babel.core.__file__), "global.dat"),
                   _whole_global, _install_global, directory)
        if locale and _NAME.fullmatch(locale) and locale not in babel.localedata._cache:
            try:
                source = babel.localedata.resolve_locale_filename(locale)
            except (OSError, ValueError):
                return
            _prime(locale, LOCALE_TABLES, source, lambda: _whole_locale(locale),
                   lambda tables: babel.localedata._cache.__setitem__(locale, tables), directory)


def _whole_global() -> dict:
    """Babel's global data, read by Babel (babel.core.get_global)."""
    babel.core._global_data = None
    babel.core.get_global("cldr")
    return babel.core._global_data


def _install_global(tables: _Tables) -> None:
    babel.core._global_data = tables


def _whole_locale(name: str) -> dict:
    """A locale's data merged with its parents', read by Babel (babel.localedata.load)."""
    with babel.localedata._cache_lock:
        if isinstance(babel.localedata._cache.get(name), _Tables):
            del babel.localedata._cache[name]
        return babel.localedata.load(name)


def _prime(name: str, wanted: tuple[str, ...], source: str, load_whole: Callable[[], dict],
           install: Callable[[_Tables], None], directory) -> None:
    stamp = _stamp(name, wanted, source)
    tables = None if directory is None or stamp is None else _read(directory, name, stamp, wanted)
    if tables is not None:
        install(_Tables(tables, load_whole))
        return
    whole = load_whole()  # what Babel does without the cache
    if directory is not None and stamp is not None:
        _write(directory, name, stamp, {key: whole[key] for key in wanted if key in whole})


def _stamp(name: str, wanted: tuple[str, ...], source: str) -> bytes | None:
    """What an entry must have been written from: this format, Babel's
    version, the tables and Babel's file (its size and time)."""
    try:
        st = os.stat(source)
    except OSError:
        return None
    what = f"{_FORMAT}\0{babel.__version__}\0{name}\0{','.join(wanted)}\0{st.st_size}\0{st.st_mtime_ns}"
    return b"%08x%08x" % (zlib.crc32(what.encode()), zlib.adler32(what.encode()))


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} is not one of Babel's table classes")
        return super().find_class(module, name)


def _read(directory, name: str, stamp: bytes, wanted: tuple[str, ...]) -> dict | None:
    data = read_entry(directory, name + ".tables", _MAX_BYTES)
    if data is None:
        return None
    header, newline, body = data.partition(b"\n")
    try:
        magic, entry_stamp, digest = header.split(b" ")
        if (not newline or magic != _MAGIC or entry_stamp != stamp
                or digest != b"%08x" % zlib.crc32(body)):
            return None
        tables = _Unpickler(io.BytesIO(body)).load()
    except Exception:  # truncated, corrupt, foreign: Babel reads its files instead
        return None
    if type(tables) is not dict or not set(tables) <= set(wanted):
        return None
    return tables


def _write(directory, name: str, stamp: bytes, tables: dict) -> None:
    try:
        body = pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # a Babel whose tables do not pickle: no entry
        return
    write_entry(directory, name + ".tables", b"%s %s %08x\n%s" % (_MAGIC, stamp, zlib.crc32(body), body))
