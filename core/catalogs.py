"""Translation catalogs: extract the text to translate, start a language,
merge new text in, compile — for core, the built-in plugins and any plugin
package (``backdesk i18n … --package DIR``; ``scripts/i18n.py`` in a
checkout does core and every built-in plugin).

The usual round: write ``_("...")`` in code → ``extract`` → ``update`` (or
``init de`` the first time) → translate in the .po → ``compile`` → ship
.po and .mo together. A package's catalogs live in ``<package>/locale``:
``<domain>.pot`` and ``<lang>/LC_MESSAGES/<domain>.po|.mo``; the domain of
a plugin is its name (what ``ctx._`` looks up).

Recognised markers: ``_()``, ``N_()``, ``gettext()``, ``ngettext(s, p, n)``
(also as ``ctx._()``, ``ctx.ngettext()``, ``_.ngettext()``); a
``# Translators:`` comment above the call is passed on to translators.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from core import __version__
from core.errors import BackdeskError

#: the checkout (or installed tree) holding core/ and plugins/
ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
COMMENT_TAGS = ("Translators:",)
METHOD_MAP = [("**/locale/**", "ignore"), ("**.py", "python")]
SKIP_DIRS = {"__pycache__", "locale", "tests", ".git"}
PROJECT = "Backdesk"
BUGS_ADDRESS = "maintainers@backdesk.example"
COPYRIGHT = "Backdesk contributors"


@dataclass(frozen=True)
class Domain:
    """One set of catalogs: the code it covers and where its catalogs live."""

    name: str
    source: Path
    localedir: Path

    @property
    def pot(self) -> Path:
        return self.localedir / f"{self.name}.pot"

    def po_files(self) -> list[Path]:
        return sorted(self.localedir.glob(f"*/LC_MESSAGES/{self.name}.po"))


def _version() -> str:
    return __version__


def core_domain(root: Path = ROOT) -> Domain:
    """Core's catalogs: domain "backdesk" for everything under core/."""
    return Domain("backdesk", root / "core", root / "core" / "locale")


def domains(root: Path = ROOT) -> list[Domain]:
    """Core and every built-in plugin package under plugins/."""
    result = [core_domain(root)]
    plugins = root / "plugins"
    if plugins.is_dir():
        for pkg in sorted(plugins.iterdir()):
            if pkg.is_dir() and (pkg / "__init__.py").is_file() and not pkg.name.startswith(("_", ".")):
                result.append(Domain(pkg.name, pkg, pkg / "locale"))
    return result


def _dir_filter(path: str) -> bool:
    return Path(path).name not in SKIP_DIRS


def extract_catalog(domain: Domain) -> Catalog:
    """Every translatable string in ``domain.source``, as a template catalog."""
    catalog = Catalog(project=PROJECT, version=_version(), msgid_bugs_address=BUGS_ADDRESS,
                      copyright_holder=COPYRIGHT, charset="utf-8", fuzzy=False, domain=domain.name)
    root = domain.source.parent
    for filename, lineno, message, comments, context in extract_from_dir(
        str(domain.source), method_map=METHOD_MAP, keywords=KEYWORDS, comment_tags=COMMENT_TAGS,
        strip_comment_tags=True, directory_filter=_dir_filter,
    ):
        path = (domain.source / filename).relative_to(root).as_posix()
        catalog.add(message, None, [(path, lineno)], auto_comments=comments, context=context)
    return catalog


def _write_po_file(path: Path, catalog: Catalog, **kwargs) -> None:
    buf = io.BytesIO()
    write_po(buf, catalog, width=76, sort_by_file=False, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def extract(domain: Domain) -> Path:
    """Write ``<domain>.pot`` from the code; returns its path."""
    catalog = extract_catalog(domain)
    _write_po_file(domain.pot, catalog, omit_header=False, include_previous=False)
    return domain.pot


def update(domain: Domain) -> list[Path]:
    """Merge the template into each language's .po; returns the files written."""
    if not domain.pot.is_file():
        extract(domain)
    template = _read(domain.pot)
    written = []
    for po in domain.po_files():
        lang = po.parent.parent.name
        catalog = _read(po, locale=lang)
        catalog.update(template, update_header_comment=False)
        _write_po_file(po, catalog, include_previous=True)
        written.append(po)
    return written


def init(domain: Domain, lang: str) -> Path:
    """Start ``<lang>/LC_MESSAGES/<domain>.po`` from the template."""
    if not domain.pot.is_file():
        extract(domain)
    template = _read(domain.pot)
    try:
        locale = Locale.parse(lang)
    except (ValueError, TypeError, UnknownLocaleError):
        raise BackdeskError(f"{lang!r} is not a language code like de or fr") from None
    po = domain.localedir / lang / "LC_MESSAGES" / f"{domain.name}.po"
    if po.exists():
        raise BackdeskError(f"{po} exists already; use update")
    catalog = Catalog(locale=locale, domain=domain.name, project=PROJECT, version=_version(),
                      copyright_holder=COPYRIGHT, msgid_bugs_address=BUGS_ADDRESS,
                      charset="utf-8", fuzzy=False)
    catalog.revision_date = datetime.now(timezone.utc)
    catalog.update(template)
    _write_po_file(po, catalog)
    return po


def compile_po(po: Path) -> bytes:
    """The .mo bytes for one .po (fuzzy entries left out, as gettext expects)."""
    lang = po.parent.parent.name
    catalog = _read(po, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def compile_domain(domain: Domain) -> list[Path]:
    """Write a .mo next to each .po; returns the .mo files."""
    written = []
    for po in domain.po_files():
        mo = po.with_suffix(".mo")
        mo.write_bytes(compile_po(po))
        written.append(mo)
    return written


def untranslated(po: Path, template: Catalog | None = None) -> list[str]:
    """Strings of ``template`` (or of the .po itself) with no usable translation in ``po``."""
    catalog = _read(po, locale=po.parent.parent.name)
    wanted = template if template is not None else catalog
    missing = []
    for message in wanted:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        strings = found.string if found is not None else None
        if isinstance(strings, (tuple, list)):
            ok = all(strings)
        else:
            ok = bool(strings)
        if found is None or not ok or found.fuzzy:
            key = message.id if isinstance(message.id, str) else message.id[0]
            missing.append(key)
    return missing
