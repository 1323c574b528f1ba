#!/usr/bin/env python3
"""Keep Backdesk's translation catalogs in step with the code.

    python scripts/i18n.py extract      # core/ → core/locale/backdesk.pot,
                                        # plugins/<name>/ → plugins/<name>/locale/<name>.pot
    python scripts/i18n.py update       # merge the .pot into every .po (new strings, fuzzy matches)
    python scripts/i18n.py init de      # start a catalog for a new language
    python scripts/i18n.py compile      # .po → .mo (what gettext reads at run time)
    python scripts/i18n.py check        # list untranslated strings; exit 1 if any

The usual round: write ``_("...")`` in code → ``extract`` → ``update`` →
translate in the .po → ``compile`` → commit .po and .mo together (a test
fails when the .mo is stale or a core string has no German translation).

Core uses the gettext domain "backdesk"; a built-in plugin uses its own
name as its domain and keeps its catalogs in ``plugins/<name>/locale``, just
as a third-party plugin does (``--package DIR --domain NAME`` handles those).
Recognised markers: ``_()``, ``N_()``, ``gettext()``, ``ngettext(s, p, n)``
(also as ``ctx._()`` / ``_.ngettext()``); a ``# Translators:`` comment above
the call is passed on to translators.
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

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
    try:
        sys.path.insert(0, str(ROOT))
        import core

        return core.__version__
    except Exception:
        return "0"
    finally:
        sys.path.pop(0)


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
    locale = Locale.parse(lang)
    po = domain.localedir / lang / "LC_MESSAGES" / f"{domain.name}.po"
    if po.exists():
        raise SystemExit(f"{po} exists already; use update")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["extract", "update", "init", "compile", "check"])
    parser.add_argument("lang", nargs="?", help="language for init (de, fr, ...)")
    parser.add_argument("--package", type=Path,
                        help="a plugin package folder (default: core and every built-in plugin)")
    parser.add_argument("--domain", help="the gettext domain for --package (default: its name)")
    parser.add_argument("--core-only", action="store_true", help="only core's catalogs")
    args = parser.parse_args(argv)

    if args.package:
        pkg = args.package.resolve()
        targets = [Domain(args.domain or pkg.name, pkg, pkg / "locale")]
    elif args.core_only:
        targets = [core_domain()]
    else:
        targets = domains()

    status = 0
    for domain in targets:
        if args.command == "extract":
            catalog = extract_catalog(domain)
            if domain.name != "backdesk" and not len(catalog) and not domain.pot.exists():
                continue  # a plugin without translatable text needs no catalog
            path = extract(domain)
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
                  f"{len(catalog)} strings")
        elif args.command == "update":
            for po in update(domain):
                print(f"updated {po}")
        elif args.command == "init":
            if not args.lang:
                parser.error("init needs a language, e.g. `init de`")
            print(f"created {init(domain, args.lang)}")
        elif args.command == "compile":
            for mo in compile_domain(domain):
                print(f"compiled {mo}")
        elif args.command == "check":
            template = extract_catalog(domain)
            for po in domain.po_files():
                missing = untranslated(po, template)
                for msgid in missing:
                    print(f"{po}: untranslated: {msgid!r}")
                if missing:
                    status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
