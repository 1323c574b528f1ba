"""core.i18n: translations that follow set_locale, and dates, numbers and money per locale."""

from __future__ import annotations

import datetime as dt
import gettext
import importlib.util
import io
import sys
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from core import i18n
from core.errors import ValidationError
from core.i18n import (
    _,
    configure,
    format_date,
    format_datetime,
    format_decimal,
    format_money,
    format_number,
    format_time,
    ngettext,
    parse_decimal,
    set_locale,
    translator_for,
)

ROOT = Path(__file__).resolve().parent.parent
NBSP = "\u00a0"
NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM


def _load_script():
    spec = importlib.util.spec_from_file_location("backdesk_i18n_script", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


script = _load_script()


@pytest.fixture(autouse=True)
def english_utc():
    configure("en_US", "UTC", "EUR")
    yield
    configure("en_US", "UTC", "EUR")


@pytest.fixture
def german():
    configure("de_DE", "Europe/Berlin", "EUR")


# --------------------------------------------------------------------------
# Text


def test_underscore_follows_set_locale():
    assert _("Save") == "Save"
    assert _("Welcome, {name}").format(name="Eva") == "Welcome, Eva"
    set_locale("de_DE")
    assert _("Save") == "Speichern"
    assert _("Welcome, {name}").format(name="Eva") == "Willkommen, Eva"
    assert _("Loading…") == "Wird geladen…"
    assert _("A sentence nobody translated") == "A sentence nobody translated"
    set_locale("en_GB")
    assert _("Save") == "Save"


@pytest.mark.parametrize("locale", ["de_AT", "de_CH", "de", "de-DE"])
def test_every_german_locale_gets_the_german_catalog(locale):
    set_locale(locale)
    assert _("Cancel") == "Abbrechen"


def test_ngettext_in_english():
    assert ngettext("{n} call", "{n} calls", 1) == "{n} call"
    assert ngettext("{n} call", "{n} calls", 0) == "{n} calls"


def test_unknown_locale_timezone_currency_are_refused():
    with pytest.raises(ValueError):
        set_locale("xx_YY")
    with pytest.raises(ValueError):
        configure(timezone="Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        configure(currency="XYZ")
    assert str(i18n.get_locale()) == "en_US"  # unchanged after a refusal


def _plugin_catalog(tmp_path: Path, domain: str) -> Path:
    """A compiled German catalog for a plugin domain, as a plugin would ship it."""
    catalog = Catalog(locale="de", domain=domain)
    catalog.add("Transfer call", "Anruf weiterleiten")
    catalog.add(("{n} missed call", "{n} missed calls"), ("{n} verpasster Anruf", "{n} verpasste Anrufe"))
    target = tmp_path / "locale" / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / f"{domain}.mo").open("wb") as fh:
        write_mo(fh, catalog)
    return tmp_path / "locale"


def test_translator_for_a_plugin_follows_the_locale(tmp_path):
    t = translator_for("telephony_test", _plugin_catalog(tmp_path, "telephony_test"))
    assert t("Transfer call") == "Transfer call"
    set_locale("de_DE")
    assert t("Transfer call") == "Anruf weiterleiten"
    assert t("Save") == "Speichern"  # not in the plugin's catalog: core's
    assert t.ngettext("{n} missed call", "{n} missed calls", 1) == "{n} verpasster Anruf"
    assert t.ngettext("{n} missed call", "{n} missed calls", 3) == "{n} verpasste Anrufe"
    set_locale("en_US")
    assert t("Transfer call") == "Transfer call"


def test_translator_without_a_catalog_uses_core():
    t = translator_for("nothing_here", None)
    set_locale("de_DE")
    assert t("Save") == "Speichern"
    assert t("Plugin text") == "Plugin text"


# --------------------------------------------------------------------------
# Dates and times


def test_dates_in_english_and_german(german):
    assert format_date(dt.date(2026, 1, 5)) == "05.01.2026"
    assert format_date("2026-01-05") == "05.01.2026"
    assert format_date(dt.date(2026, 1, 5), "long") == "5. Januar 2026"
    set_locale("en_US")
    assert format_date(dt.date(2026, 1, 5)) == "Jan 5, 2026"


@pytest.mark.parametrize("locale, typed, shown, short, width", [
    ("de_DE", ("11.2026", "11.26", "1.2027", "2026-11"), "11.2026", "05.01.26", 8),
    ("en_GB", ("11/2026", "11/26", "1/2027", "2026-11"), "11/2026", "05/01/2026", 10),
    ("en_US", ("11/2026", "11/26", "1/2027", "2026-11"), "11/2026", "1/5/26", 8),
])
def test_a_month_is_typed_the_locales_way_or_iso_and_dates_fit_their_column(locale, typed, shown, short, width):
    """One parser for months (payroll's Month field, accounting's --period,
    HR's --month): the locale's "11.2026" / "11/2026", a two-digit year, or ISO."""
    set_locale(locale)
    assert [i18n.parse_month(t) for t in typed] == ["2026-11", "2026-11", "2027-01", "2026-11"]
    assert i18n.month_text("2026-11") == shown
    for bad in ("13.2026", "Jan", "2026", "", "0.2026", "11.2026.1"):
        with pytest.raises(ValidationError) as caught:
            i18n.parse_month(bad)
        assert caught.value.message.startswith(f"{bad!r} ") and caught.value.message.endswith(f" 12{shown[2]}2026)")
    assert i18n.day_text("2026-01-05") == short and i18n.day_text(None) == ""
    assert i18n.day_width() == width


@pytest.mark.parametrize("locale, typed, example", [
    ("de_DE", ("20.01.2026", "20.01.26", "20.1.2026", " 20.01.2026 "), "31.12.2026"),
    ("en_GB", ("20/01/2026", "20/01/26", "20/1/2026", "20-01-2026"), "31/12/2026"),
    ("en_US", ("1/20/2026", "1/20/26", "01/20/2026", "1.20.2026"), "12/31/2026"),
])
def test_a_day_is_typed_the_locales_way_or_iso(locale, typed, example):
    """One parser for days (a form's date field and every command line's
    date option, core.cli.params.DAY): what the CLI's tables print and the
    screens take, or ISO in every locale; anything else one line naming the
    value and the locale's example."""
    set_locale(locale)
    assert [i18n.parse_day(t) for t in typed] == ["2026-01-20"] * 4
    assert i18n.parse_day("2026-01-20") == "2026-01-20"
    assert i18n.parse_day(i18n.date_text("2026-01-20")) == "2026-01-20"  # what a form shows
    for bad in ("32.01.2026", "31/02/2026" if locale != "en_US" else "2/31/2026", "Jan 20", "",
                "2026-1-20-1", "1/20/2026" if locale != "en_US" else "20/1/2026"):
        with pytest.raises(ValidationError) as caught:
            i18n.parse_day(bad)
        words = ("ist kein Datum (etwa", ")") if locale == "de_DE" else ("is not a date (like", ")")
        assert caught.value.message == f"{bad.strip()!r} {words[0]} {example}{words[1]}"


def test_utc_times_are_shown_in_the_site_timezone(german):
    assert format_datetime("2026-01-05T09:30:00Z") == "05.01.2026, 10:30"
    assert format_datetime("2026-07-01T09:30:00+00:00") == "01.07.2026, 11:30"  # summer time
    assert format_datetime(dt.datetime(2026, 1, 5, 23, 30)) == "06.01.2026, 00:30"  # naive: UTC
    assert format_date("2026-01-05T23:30:00Z") == "06.01.2026"  # already the 6th in Berlin
    aware = dt.datetime(2026, 1, 5, 9, 30, tzinfo=ZoneInfo("America/New_York"))
    assert format_datetime(aware) == "05.01.2026, 15:30"
    assert format_time("2026-01-05T09:30:00Z") == "10:30"
    assert format_time(dt.time(8, 0)) == "08:00"  # a wall-clock time is not converted
    assert format_datetime("2026-01-05T09:30:00Z", "short") == "05.01.26, 10:30"


def test_today_is_the_site_date():
    configure(timezone="Pacific/Kiritimati")  # UTC+14: ahead of every host
    assert i18n.today() == dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()


def test_english_times(german):
    configure(locale="en_US")
    assert format_datetime("2026-01-05T09:30:00Z") == f"Jan 5, 2026, 10:30{NNBSP}AM"
    assert format_time("2026-01-05T17:05:00Z") == f"6:05{NNBSP}PM"


# --------------------------------------------------------------------------
# Numbers and money


def test_money_in_german(german):
    assert format_money(Decimal("1234.56")) == f"1.234,56{NBSP}€"
    assert format_money("1234.56") == f"1.234,56{NBSP}€"
    assert format_money("-0.5") == f"-0,50{NBSP}€"
    assert format_money("-0.001") == format_money("-0.00") == f"0,00{NBSP}€"  # never "-0,00 €"
    assert format_money("0.005") == f"0,01{NBSP}€"  # half up, as on an invoice
    assert format_money(1000) == f"1.000,00{NBSP}€"
    assert format_money("1234.56", "USD") == f"1.234,56{NBSP}$"


def test_money_in_other_locales():
    assert format_money("1234.56") == "€1,234.56"
    configure("de_CH", currency="CHF")
    assert format_money("1234.565") == f"CHF{NBSP}1'234.57"
    configure("en_US", currency="JPY")
    assert format_money("1234.5") == "¥1,235"


def test_money_is_never_a_float():
    with pytest.raises(TypeError):
        format_money(12.5)
    with pytest.raises(ValueError):
        format_money("twelve")
    with pytest.raises(ValueError):
        format_money("NaN")


def test_numbers(german):
    assert format_number(1234567) == "1.234.567"
    assert format_number(Decimal("1234.5678")) == "1.234,5678"  # every digit kept
    assert format_decimal("2.5", 2) == "2,50"
    assert format_decimal(Decimal("1234.565"), 2) == "1.234,57"
    assert format_decimal(Decimal("1234.4"), 0) == "1.234"
    set_locale("en_US")
    assert format_number(1234567) == "1,234,567"
    assert format_decimal("2.5", 2) == "2.50"


def test_parse_decimal_honours_the_locale(german):
    assert parse_decimal("1.234,56") == Decimal("1234.56")
    assert parse_decimal("1234,56") == Decimal("1234.56")
    assert parse_decimal(" 1.234,56 € ") == Decimal("1234.56")
    assert parse_decimal("-12,5") == Decimal("-12.5")
    assert parse_decimal("7") == Decimal("7")
    for bad in ("1234.56", "12,34,56", "abc", "", "1e5000" * 20, "NaN"):
        with pytest.raises(ValidationError) as info:
            parse_decimal(bad)
        assert str(info.value) == "Geben Sie eine Zahl ein"
    set_locale("en_US")
    assert parse_decimal("1,234.56") == Decimal("1234.56")
    with pytest.raises(ValidationError, match="^Enter a number$"):
        parse_decimal("1.234,56")


# --------------------------------------------------------------------------
# Catalogs


def _messages(mo: bytes) -> tuple[dict, list[int]]:
    t = gettext.GNUTranslations(io.BytesIO(mo))
    catalog = {k: v for k, v in t._catalog.items() if k != ""}  # the header carries Babel's version
    return catalog, [t.plural(n) for n in range(5)]


@pytest.mark.parametrize("po", sorted(ROOT.glob("core/locale/*/LC_MESSAGES/backdesk.po")), ids=lambda p: p.parts[-3])
def test_committed_mo_matches_its_po(po):
    """Run `python scripts/i18n.py compile` after editing a .po."""
    mo = po.with_suffix(".mo")
    assert mo.is_file(), f"{mo} is missing: run python scripts/i18n.py compile"
    assert _messages(mo.read_bytes()) == _messages(script.compile_po(po)), (
        f"{mo} is stale: run python scripts/i18n.py compile")


def test_every_core_string_has_a_german_translation():
    """`_()` text in core/ without German: run scripts/i18n.py extract + update, translate, compile.

    A string that must stay untranslated for now goes in core/locale/de/untranslated.txt
    (one msgid a line); keep that file empty.
    """
    po = ROOT / "core/locale/de/LC_MESSAGES/backdesk.po"
    template = script.extract_catalog(script.core_domain(ROOT))
    assert len(template) > 50
    allow_file = ROOT / "core/locale/de/untranslated.txt"
    allowed = set(allow_file.read_text(encoding="utf-8").splitlines()) if allow_file.exists() else set()
    missing = [m for m in script.untranslated(po, template) if m not in allowed]
    assert missing == [], f"no German translation for: {missing}"


def test_shell_vocabulary_is_in_the_german_catalog():
    set_locale("de_DE")
    for text in i18n.COMMON_TEXT:
        assert _(text) != "" and (_(text) != text or text in {"Filter", "Status", "Name", "Version", "ok"}), text


def test_script_extract_update_compile_roundtrip(tmp_path):
    pkg = tmp_path / "core"
    pkg.mkdir()
    (pkg / "screen.py").write_text(
        "from core.i18n import _, N_, ngettext\n"
        "TITLE = N_('Visitors')\n"
        "# Translators: a button\n"
        "label = _('Sign in')\n"
        "count = ngettext('{n} visitor', '{n} visitors', 2)\n"
        "ctx_label = ctx._('Badge')\n")
    domain = script.Domain("backdesk", pkg, pkg / "locale")
    script.extract(domain)
    template = script.extract_catalog(domain)
    assert [m.id for m in template if m.id] == ["Visitors", "Sign in", ("{n} visitor", "{n} visitors"), "Badge"]
    assert template.get("Sign in").auto_comments == ["a button"]
    po = script.init(domain, "de")
    assert script.untranslated(po, template) == ["Visitors", "Sign in", "{n} visitor", "Badge"]
    text = po.read_text().replace('msgid "Sign in"\nmsgstr ""', 'msgid "Sign in"\nmsgstr "Anmelden"')
    po.write_text(text)
    (pkg / "screen.py").write_text((pkg / "screen.py").read_text() + "more = _('Sign out')\n")
    script.extract(domain)
    script.update(domain)
    assert "Sign out" in script.untranslated(po)
    (mo,) = script.compile_domain(domain)
    t = gettext.translation("backdesk", str(pkg / "locale"), languages=["de"])
    assert t.gettext("Sign in") == "Anmelden"
    assert t.gettext("Visitors") == "Visitors"


ROOT = Path(__file__).resolve().parents[1]


def _same(data: bytes) -> None:
    """core.i18n's reader and gettext's read ``data`` alike: messages, header,
    charset, plural forms, and every lookup."""
    theirs, ours = gettext.GNUTranslations(io.BytesIO(data)), i18n._Catalog(io.BytesIO(data))
    assert dict(ours._catalog.items()) == theirs._catalog
    assert ours._info == theirs._info and ours._charset == theirs._charset
    assert [ours.plural(n) for n in range(300)] == [theirs.plural(n) for n in range(300)]
    for key in theirs._catalog:
        if isinstance(key, str):
            context, sep, message = key.rpartition("\x04")
            if sep:
                assert ours.pgettext(context, message) == theirs.pgettext(context, message)
            assert ours.gettext(key) == theirs.gettext(key)
        else:
            context, sep, message = key[0].rpartition("\x04")
            for n in range(12):
                if sep:
                    assert ours.npgettext(context, message, message + "s", n) == \
                        theirs.npgettext(context, message, message + "s", n)
                assert ours.ngettext(key[0], key[0] + "s", n) == theirs.ngettext(key[0], key[0] + "s", n)
    for missing in ("no such message", "", "a\x00b", "Grüße zurück"):
        assert ours.gettext(missing) == theirs.gettext(missing)
        assert ours.ngettext(missing, missing + "s", 3) == theirs.ngettext(missing, missing + "s", 3)


def test_every_shipped_catalog_reads_as_gettext_reads_it():
    """core.i18n reads the .mo files itself (it decodes a message when it is
    looked up, for the shell's start): the same messages, header, charset,
    plural forms and lookups as gettext's reader."""
    found = sorted(ROOT.glob("core/locale/*/LC_MESSAGES/*.mo")) + sorted(ROOT.glob("plugins/*/locale/*/LC_MESSAGES/*.mo"))
    assert len(found) >= 6
    for path in found:
        _same(path.read_bytes())
    # and the shell reads its catalogs with it
    assert type(i18n._load("backdesk", i18n.LOCALE_DIR, i18n._parse_locale("de_DE"))) is i18n._Catalog


@pytest.mark.parametrize("language", ["de", "pl", "ja"])
def test_catalogs_babel_and_msgfmt_write_read_as_gettext_reads_them(tmp_path, language):
    catalog = Catalog(locale=language, domain="x")
    catalog.add("Hello", "Hallo")
    catalog.add("Grüße", "Grüße, ünïcödé")
    catalog.add(("{n} file", "{n} files"), tuple(f"{{n}} Datei {i}" for i in range(catalog.num_plurals)))
    catalog.add("Open", "Öffnen (Menü)", context="menu")
    catalog.add(("{n} item", "{n} items"), tuple(f"{{n}} Ding {i}" for i in range(catalog.num_plurals)),
                context="cart")
    catalog.add("Empty", "")
    out = io.BytesIO()
    write_mo(out, catalog)
    _same(out.getvalue())
    # GNU msgfmt's own output (with its hash table), also big-endian (gettext's reader then)
    import shutil
    import subprocess
    if not shutil.which("msgfmt"):
        return
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
                  f'"Plural-Forms: {catalog.plural_forms}\\n"\n\n'
                  'msgid "Hello"\nmsgstr "Hallo"\n\nmsgctxt "menu"\nmsgid "Open"\nmsgstr "Öffnen"\n\n'
                  'msgid "{n} file"\nmsgid_plural "{n} files"\n'
                  + "".join(f'msgstr[{i}] "{{n}} Datei {i}"\n' for i in range(catalog.num_plurals)),
                  encoding="utf-8")
    for endianness in ("little", "big"):
        mo = tmp_path / f"x-{endianness}.mo"
        subprocess.run(["msgfmt", f"--endianness={endianness}", "-o", str(mo), str(po)], check=True)
        _same(mo.read_bytes())


def test_a_torn_catalog_is_refused_as_gettext_refuses_it():
    import struct

    data = (ROOT / "core/locale/de/LC_MESSAGES/backdesk.mo").read_bytes()
    for torn in (data[: len(data) // 2], data[:30], data[:3], b"\0" * 40):
        with pytest.raises((OSError, struct.error)):
            gettext.GNUTranslations(io.BytesIO(torn))
        with pytest.raises((OSError, struct.error)):
            i18n._Catalog(io.BytesIO(torn))
