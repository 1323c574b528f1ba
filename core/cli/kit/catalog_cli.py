"""``backdesk i18n extract|init|update|compile|check --package DIR``: a plugin
package's translation catalogs, without a Backdesk checkout.

``DIR`` is the package folder (``parcels/`` next to ``pyproject.toml``); its
catalogs go to ``DIR/locale`` under the package's name as gettext domain
(what ``ctx._`` reads). No config, store or operator is needed.
"""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

import click

from core.errors import BackdeskError

if TYPE_CHECKING:  # pragma: no cover
    from core.catalogs import Domain  # types only


def _catalogs():
    """core.catalogs, imported when an i18n command runs: babel's catalog
    tools stay out of every other command's start."""
    from core import catalogs  # Babel's catalog tools (above)

    return catalogs


def _domain(package: Path, domain: str | None) -> "Domain":
    pkg = package.resolve()
    if not (pkg / "__init__.py").is_file():
        raise BackdeskError(f"--package {package}: not a Python package folder (no __init__.py in it)")
    return _catalogs().Domain(domain or pkg.name, pkg, pkg / "locale")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _options(command):
    command = click.option("--domain", default=None,
                           help="The gettext domain (default: the package's name).")(command)
    return click.option("--package", "package", required=True,
                        type=click.Path(exists=True, file_okay=False, path_type=Path),
                        help="The plugin's package folder (the one with __init__.py).")(command)


def register(cli) -> None:
    """Add ``backdesk i18n`` to the ``backdesk`` command."""

    @cli.group("i18n")
    def i18n():
        """A plugin package's translation catalogs (extract, init, update, compile, check)."""

    @i18n.command("extract")
    @_options
    def extract(package: Path, domain: str | None):
        """Write DIR/locale/DOMAIN.pot from the _() texts in the code."""
        d = _domain(package, domain)
        path = _catalogs().extract(d)
        click.echo(f"{_shown(path)}: {len(_catalogs().extract_catalog(d))} strings")

    @i18n.command("init")
    @click.argument("lang")
    @_options
    def init(lang: str, package: Path, domain: str | None):
        """Start the catalog of language LANG (de, fr, …) from the .pot."""
        click.echo(f"created {_shown(_catalogs().init(_domain(package, domain), lang))}")

    @i18n.command("update")
    @_options
    def update(package: Path, domain: str | None):
        """Merge the .pot into every language's .po (new texts, fuzzy matches)."""
        d = _domain(package, domain)
        _catalogs().extract(d)
        for po in _catalogs().update(d):
            click.echo(f"updated {_shown(po)}")

    @i18n.command("compile")
    @_options
    def compile_(package: Path, domain: str | None):
        """Write each .po's .mo (what Backdesk reads at run time)."""
        for mo in _catalogs().compile_domain(_domain(package, domain)):
            click.echo(f"compiled {_shown(mo)}")

    @i18n.command("check")
    @_options
    def check(package: Path, domain: str | None):
        """List texts without a translation; exit 1 if there are any."""
        d = _domain(package, domain)
        template = _catalogs().extract_catalog(d)
        missing = 0
        for po in d.po_files():
            for msgid in _catalogs().untranslated(po, template):
                click.echo(f"{_shown(po)}: untranslated: {msgid!r}")
                missing += 1
        raise SystemExit(1 if missing else 0)
