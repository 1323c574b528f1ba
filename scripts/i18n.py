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
as a third-party plugin does (``--package DIR --domain NAME`` handles those;
an installed Backdesk has ``backdesk i18n … --package DIR`` for them).
The logic is core.catalogs.
Recognised markers: ``_()``, ``N_()``, ``gettext()``, ``ngettext(s, p, n)``
(also as ``ctx._()`` / ``_.ngettext()``); a ``# Translators:`` comment above
the call is passed on to translators.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from core.catalogs import (  # noqa: E402  (the logic; `backdesk i18n` uses it for plugin packages)
    ROOT, Domain, compile_domain, compile_po, core_domain, domains, extract, extract_catalog, init,
    untranslated, update)

__all__ = ["ROOT", "Domain", "compile_domain", "compile_po", "core_domain", "domains", "extract",
           "extract_catalog", "init", "untranslated", "update", "main"]


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
