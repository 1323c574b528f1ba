"""The German catalogs the built-in plugins ship: complete, placeholders intact, .mo up to date.

Every package under plugins/ with a ``locale`` folder keeps its German catalog in
``plugins/<name>/locale/de/LC_MESSAGES/<name>.po`` (gettext domain = plugin name).
After changing a plugin's ``_()`` text:

    python scripts/i18n.py extract --package plugins/<name> --domain <name>
    python scripts/i18n.py update  --package plugins/<name> --domain <name>
    (translate; remove "fuzzy" once checked)
    python scripts/i18n.py compile --package plugins/<name> --domain <name>
"""

from __future__ import annotations

import gettext
import importlib.util
import io
import re
import string
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import PYTHON_FORMAT
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if p.is_dir() and (p / "locale").is_dir())
LANG = "de"


def _load_script():
    spec = importlib.util.spec_from_file_location("backdesk_i18n_script_plugins", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


script = _load_script()


def _po(plugin: Path) -> Path:
    return plugin / "locale" / LANG / "LC_MESSAGES" / f"{plugin.name}.po"


def _rel(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _read(po: Path):
    with po.open("rb") as fh:
        return read_po(fh, locale=LANG)


def _key(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


_BRACES = re.compile(r"(?<!\{)\{[^{}]*\}(?!\})")
_RICH_TAG = re.compile(r"\[/?[a-z][a-z0-9 #]*\]|\[/\]")


def _fields(text: str) -> set[str]:
    """``{name}``, ``{value!r}``, ``{mb:.1f}``… as written (``{{`` ``}}`` are literal braces)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:  # not a valid format string: compare the brace groups as they stand
        return set(_BRACES.findall(text))
    found = set()
    for _literal, name, spec, conversion in parsed:
        if name is not None:
            found.add("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
    return found


def _placeholders(text: str) -> tuple[set[str], set[str], set[str]]:
    return (_fields(text), {m.group(0) for m in PYTHON_FORMAT.finditer(text)}, set(_RICH_TAG.findall(text)))


def _messages(mo: bytes) -> tuple[dict, list[int]]:
    t = gettext.GNUTranslations(io.BytesIO(mo))
    catalog = {k: v for k, v in t._catalog.items() if k != ""}  # the header carries Babel's version
    return catalog, [t.plural(n) for n in range(5)]


def test_plugins_with_catalogs_are_found():
    names = {p.name for p in PLUGINS}
    assert {"accounting", "documents", "hr", "it", "telephony"} <= names


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_german_catalog_is_complete(plugin):
    """No entry of the German .po is untranslated or fuzzy."""
    po = _po(plugin)
    assert po.is_file(), f"{po} is missing: python scripts/i18n.py init {LANG} --package plugins/{plugin.name}"
    catalog = _read(po)
    assert len([m for m in catalog if m.id]) > 0
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if not all(strings):
            untranslated.append(_key(message))
        elif message.fuzzy:
            fuzzy.append(_key(message))
    assert untranslated == [], f"{_rel(po)}: untranslated: {untranslated}"
    assert fuzzy == [], f"{_rel(po)}: fuzzy (check, then remove the flag): {fuzzy}"


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_every_plugin_string_in_the_code_is_in_the_german_catalog(plugin):
    """`_()` text in the plugin that the .po does not cover yet: extract, update, translate, compile."""
    domain = script.Domain(plugin.name, plugin, plugin / "locale")
    template = script.extract_catalog(domain)
    missing = script.untranslated(_po(plugin), template)
    assert missing == [], f"no German translation in {plugin.name}: {missing}"


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_translations_keep_their_placeholders(plugin):
    """Each msgstr has the {fields}, %-formats and Rich markup tags of its msgid."""
    problems = []
    for message in _read(_po(plugin)):
        if not message.id:
            continue
        if isinstance(message.id, (tuple, list)):
            singular, plural = message.id[0], message.id[1]
            pairs = [(singular if i == 0 else plural, s) for i, s in enumerate(message.string)]
        else:
            pairs = [(message.id, message.string)]
        for source, translation in pairs:
            if not translation:
                continue  # reported by test_german_catalog_is_complete
            want, got = _placeholders(source), _placeholders(translation)
            if want != got:
                problems.append(f"{source!r} -> {translation!r}: expected {want}, found {got}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_committed_mo_matches_its_po(plugin):
    """Run `python scripts/i18n.py compile --package plugins/<name> --domain <name>` after editing a .po."""
    po = _po(plugin)
    mo = po.with_suffix(".mo")
    assert mo.is_file(), f"{_rel(mo)} is missing: compile the catalog"
    assert _messages(mo.read_bytes()) == _messages(script.compile_po(po)), (
        f"{_rel(mo)} is stale: compile the catalog")


def test_placeholder_check_catches_a_dropped_field():
    assert _placeholders("{n} calls") != _placeholders("Anrufe")
    assert _placeholders("{value!r} is not a date") != _placeholders("{value} ist kein Datum")
    assert _placeholders("{mb:.1f} MB") == _placeholders("{mb:.1f} MB")
    assert _placeholders("[b]{n}[/b] open") != _placeholders("{n} offen")
    assert _placeholders("%s files") != _placeholders("Dateien")
    assert _placeholders("use {{braces}}") == _placeholders("{{Klammern}} verwenden")
