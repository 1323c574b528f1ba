"""Babel's tables a start reads, kept in the user's cache (core.babeldata):
every number, amount and date reads exactly as from Babel's own files, with
the cache cold, warm or switched off; a start with a warm cache reads no
Babel file whole; an entry that is not to be trusted is not used. Real
processes: Babel keeps what it loaded for the life of a process."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: formats what the screens format, in one locale; prints one value a line and
#: finally which of Babel's data were read whole
SCRIPT = textwrap.dedent("""\
    import datetime, sys
    from decimal import Decimal
    from core.config import _currency
    from core import i18n
    import babel.core, babel.localedata

    def whole():
        return sorted(name for name, data in (("global", babel.core._global_data),
                                              *babel.localedata._cache.items())
                      if getattr(data, "_whole", True) is not None)

    _currency(sys.argv[2])
    i18n.configure(sys.argv[1], "Europe/Berlin", sys.argv[2])
    day = datetime.date(2026, 3, 9)
    at = datetime.datetime(2026, 3, 9, 14, 5, tzinfo=datetime.timezone.utc)
    print(i18n.format_money(Decimal("-1234.5")))
    print(i18n.format_money(Decimal("0.004"), "JPY"))
    print(i18n.format_decimal(Decimal("1234567.891"), places=2))
    print(i18n.format_date(day), i18n.format_date(day, "long"), i18n.format_date(day, "full"))
    print(i18n.day_month_text(day), i18n.month_text("2026-03"))
    print(i18n.format_datetime(at))
    print(i18n.parse_decimal(i18n.format_decimal(Decimal("98765.4"), places=1)))
    print(i18n.ngettext("{n} day", "{n} days", 2))
    print("kept only:", whole())
    # a table the cache does not keep: Babel's own file, read whole on first use
    print(i18n.get_locale().territories["FR"], i18n.get_locale().languages["fr"])
    print(babel.core.get_global("zone_aliases").get("Asia/Calcutta"))
    print("read whole:", whole())
""")


def run(locale: str, currency: str, env: dict) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, locale, currency], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def entries(cache: Path) -> list[str]:
    folder = cache / "backdesk" / "babel"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("locale,currency", [("de_DE", "EUR"), ("en_GB", "GBP"), ("en_US", "USD"),
                                             ("de_CH", "CHF")])
def test_numbers_amounts_and_dates_read_as_from_babels_files(tmp_path, locale, currency):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    without = run(locale, currency, {**env, "BACKDESK_NO_CACHE": "1"})
    assert entries(tmp_path / "cache") == []  # switched off: nothing written
    cold = run(locale, currency, env)  # reads Babel's files, keeps the tables
    assert entries(tmp_path / "cache") == sorted([f"{locale}.tables", "global.tables"])
    warm = run(locale, currency, env)
    assert values(cold) == values(without) and values(warm) == values(without), (without, cold, warm)
    # the values themselves (so that a cache and no cache cannot agree on nothing)
    if locale == "de_DE":
        assert without[0] == "-1.234,50\xa0€" and without[3].startswith("09.03.2026 9. März 2026 Montag")
        assert without[-3] == "Frankreich Französisch"
    # the cold start read Babel's files whole, as without the cache; a warm
    # start none until it asked for a table not kept
    assert "global" in kept(cold) and locale in kept(cold), cold
    assert kept(warm) == "[]", warm
    assert "'global'" in warm[-1] and repr(locale) in warm[-1], warm


def values(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith(("kept only:", "read whole:"))]


def kept(lines: list[str]) -> str:
    (line,) = [line for line in lines if line.startswith("kept only:")]
    return line.partition(": ")[2]


def test_an_entry_that_is_not_to_be_trusted_is_not_used(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    without = run("de_DE", "EUR", {**env, "BACKDESK_NO_CACHE": "1"})
    run("de_DE", "EUR", env)
    entry = tmp_path / "cache" / "backdesk" / "babel" / "de_DE.tables"
    header, _, body = entry.read_bytes().partition(b"\n")
    marker = tmp_path / "ran"

    class Evil:  # unpickling it would create the marker file
        def __reduce__(self):
            return (Path.touch, (marker,))

    import zlib
    for kind in ("foreign class", "torn", "other Babel", "writable by others"):
        bad_body = body
        bad_header = header
        if kind == "foreign class":
            bad_body = pickle.dumps({"number_symbols": Evil()})
            magic, stamp, _digest = header.split(b" ")
            bad_header = b"%s %s %08x" % (magic, stamp, zlib.crc32(bad_body))
        elif kind == "torn":
            bad_body = body[: len(body) // 2]
        elif kind == "other Babel":
            magic, stamp, digest = header.split(b" ")
            bad_header = b"%s %s %s" % (magic, b"0" * len(stamp), digest)
        entry.write_bytes(bad_header + b"\n" + bad_body)
        entry.chmod(0o666 if kind == "writable by others" else 0o600)
        got = run("de_DE", "EUR", env)
        assert values(got) == values(without), kind
        assert not marker.exists(), kind
        # not used: the locale's data was read whole (the global tables came from theirs), the entry written anew
        assert "'de_DE'" in kept(got) and "'global'" not in kept(got), (kind, got)
        entry.chmod(0o600)
        assert entry.read_bytes() == header + b"\n" + body, kind
