"""The plugin kit: ``backdesk kit new NAME`` (also ``backdesk new-plugin NAME``)
writes a plugin package to start from; ``backdesk i18n …`` keeps a
package's translation catalogs (core/cli/kit/catalog_cli.py).

The template lives in ``core/cli/kit/template/`` as plain files ending in
``.tmpl``; ``__plugin__`` in a path and ``{{name}}``-style markers in the
text are replaced (nothing else is: ``$primary`` in the .tcss stays as is).
The result is a pip-installable package with the ``backdesk`` entry point,
hookimpls, a service, a screen with its .tcss, a table with a migration, a
CLI group, a reaction to an event, a German catalog (the .po from the
template; its .pot extracted and its .mo compiled when the package is
written), tests using :mod:`core.cli.testing` and a README.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import sys
from pathlib import Path

import click

from core.errors import BackdeskError
from core.api.hookspecs import HOOK_API_VERSION
from core.cli.kit import catalog_cli
from core.plugins.host import RESERVED_NAMES, _builtin_names

TEMPLATE = Path(__file__).parent / "template"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def check_name(name: str, dest: Path) -> str | None:
    """Why ``name`` cannot be a new plugin in ``dest`` (None when it can)."""
    if not _NAME_RE.match(name) or keyword.iskeyword(name) or len(name) > 40:
        return (f"{name!r} is not a plugin name: use lowercase letters, digits and _, "
                "starting with a letter (it becomes a Python package)")
    if name in RESERVED_NAMES:
        return f"{name!r} is reserved for Backdesk itself; pick another name"
    if name in _builtin_names():
        return f"{name!r} is a built-in plugin; pick another name"
    if name in sys.stdlib_module_names:
        return f"{name!r} is a module of Python's standard library; pick another name"
    try:
        spec = importlib.util.find_spec(name)
        # a plain folder of that name (a namespace package) is no module yet
        taken = spec is not None and spec.origin not in (None, "namespace")
    except (ImportError, ValueError):
        taken = True
    if taken:
        return f"a module named {name!r} is already installed; pick another name"
    target = dest / name
    if target.exists():
        return f"{target} already exists; pick another name or --dir"
    return None


def title_of(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split("_") if part)


def render(name: str, title: str | None = None) -> dict[str, str]:
    """The files of a new plugin: ``{relative path: text}``."""
    try:
        from importlib.metadata import version

        backdesk_version = version("backdesk")
    except Exception:  # running from a checkout that is not installed
        backdesk_version = "0.1"
    title = title or title_of(name)
    values = {
        "name": name,
        "title": title,
        "class": "".join(part.capitalize() for part in name.split("_")),
        "dist": "backdesk-" + name.replace("_", "-"),
        "api": str(HOOK_API_VERSION),
        "backdesk_version": backdesk_version,
    }
    files = {}
    for path in sorted(TEMPLATE.rglob("*.tmpl")):
        rel = path.relative_to(TEMPLATE).as_posix()[: -len(".tmpl")].replace("__plugin__", name)
        text = path.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        files[rel] = text
    return files


def write_plugin(name: str, dest: Path, title: str | None = None) -> Path:
    """Write the plugin ``name`` into ``dest/name``; returns that folder."""
    dest = Path(dest)
    problem = check_name(name, dest)
    if problem:
        raise BackdeskError(problem)
    root = dest / name
    try:
        for rel, text in render(name, title).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        # the catalogs as `backdesk i18n extract` and `compile` make them (babel's
        # catalog tools are imported here: every other command starts without them)
        from core import catalogs  # Babel's catalog tools (above)

        domain = catalogs.Domain(name, root / name, root / name / "locale")
        catalogs.extract(domain)
        catalogs.compile_domain(domain)
    except OSError as exc:
        raise BackdeskError(f"cannot write the plugin into {dest}: {exc.strerror or exc}") from None
    return root


def register(cli) -> None:
    """Add ``backdesk kit new``, ``backdesk new-plugin`` and ``backdesk i18n``
    to the ``backdesk`` command."""

    @click.command("new")
    @click.argument("name")
    @click.option("--dir", "dest", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                  show_default=True, help="Folder to create the plugin's folder in.")
    @click.option("--title", default=None, help="The title operators see (default: from NAME).")
    def new_plugin(name: str, dest: Path, title: str | None):
        """Write a pip-installable plugin package NAME to start from."""
        root = write_plugin(name, dest, title)
        click.echo(f"Wrote the plugin {name!r} to {root}")
        click.echo("Next:")
        click.echo(f"  cd {root}")
        click.echo("  pip install -e '.[test]'   # backdesk plugins lists it now")
        click.echo("  pytest")

    @cli.group("kit")
    def kit():
        """Tools for plugin authors: a new plugin package (kit new)."""

    kit.add_command(new_plugin, "new")
    cli.add_command(new_plugin, "new-plugin")
    catalog_cli.register(cli)
