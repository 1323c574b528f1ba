"""``backdesk storage migrate``, and ``backdesk backup``/``restore`` on a PostgreSQL store.

The copying and the verification are :mod:`core.storage.migrate_cli`'s;
this module is the command line around them. ``register(cli)`` adds
``backdesk storage`` and teaches ``backdesk backup`` about a PostgreSQL
store (a backup is a consistent copy in the default backend's format) and
makes ``backdesk restore`` explain how to restore into PostgreSQL
(``backdesk check`` asks :func:`core.storage.pg.check_pg`).
"""

from __future__ import annotations

import functools
import os
import sys

import click

from core.cli.launch import State
from core.errors import ConfigError
from core.storage.admin import RESTORE_PENDING, check_backup
from core.storage.errors import StorageError
from core.storage.files import make_dir, write_atomic
from core.storage.migrate_cli import migrate, restore_pg, shown
from core.storage.seal import read_marker


# -- the click commands ---------------------------------------------------------------


@click.group("storage")
def storage() -> None:
    """Move the data between storage backends (TinyDB files, PostgreSQL)."""


@storage.command("migrate")
@click.option("--to", "to", type=click.Choice(["postgresql", "tinydb"]), required=True,
              help="The backend to copy into.")
@click.option("--from", "source", default=None, metavar="DIR|DSN",
              help="Copy this store instead of the configured one.")
@click.argument("dest", metavar="DSN|DIR")
@click.pass_context
def migrate_cmd(ctx, to: str, source: str | None, dest: str) -> None:
    """Copy every table into DEST (an empty PostgreSQL schema or a new directory), then verify.

    \b
    backdesk storage migrate --to postgresql postgresql://backdesk@db/backdesk
    backdesk storage migrate --to tinydb /srv/backdesk/data-copy
    """
    if source is None:
        config = _state(ctx).config()
        source = config.storage.dsn if config.storage.backend == "postgresql" else str(config.data_dir)
    click.echo(f"copying {shown(source)} -> {shown(dest)} ({to})")
    if not migrate(source, to, dest, echo=click.echo):
        sys.exit(1)
    if to == "postgresql":
        click.echo("to use it, set in backdesk.yaml:  storage: {backend: postgresql, dsn: \"...\"}")
    else:
        click.echo(f"to use it, set data_dir: {os.path.abspath(dest)} and storage.backend: tinydb")


@storage.command("upgrade")
@click.pass_context
def upgrade_cmd(ctx) -> None:
    """Bring every table to this release's schema versions now.

    After installing a new release, the first session (``backdesk``, a
    command, an SSH login) upgrades the tables whose schema changed, while
    every other session starting meanwhile waits: run this first, before the
    operators start. Each upgrade says on the terminal what it does (the
    backup first) and how long it took; nothing to upgrade says so too.
    """
    upgraded: list[str] = []

    def notice(line: str) -> None:
        click.echo(f"backdesk: {line}", err=True)
        if " upgraded to schema version " in line:
            upgraded.append(line.partition(":")[0])

    state = _state(ctx)
    state.notice = notice
    bd = state.backdesk()
    count = len(bd.table_specs)
    if upgraded:
        click.echo(f"Upgraded {', '.join(upgraded)}; every table ({count}) is at this release's schema version.")
    else:
        click.echo(f"Nothing to upgrade: every table ({count}) is at this release's schema version.")


def _state(ctx):
    state = ctx.find_object(State)
    if state is None:  # pragma: no cover - always run below the backdesk group
        state = State()
    return state


def _pg_config(ctx):
    """The config when it names the postgresql backend, else None."""
    try:
        config = _state(ctx).config()
    except ConfigError:
        return None
    return config if config.storage.backend == "postgresql" else None


def _wrap(cli, name: str, pg_callback) -> None:
    cmd = cli.commands.get(name)
    if cmd is None or cmd.callback is None:
        return
    original = cmd.callback

    @functools.wraps(original)
    def callback(*args, **kwargs):
        ctx = click.get_current_context()
        config = _pg_config(ctx)
        if config is None:
            return original(*args, **kwargs)
        return pg_callback(config, **kwargs)

    cmd.callback = callback


def _pg_backup(config, dest) -> None:
    from core.storage.pg import open_pg_store  # psycopg (~200 ms): only for a PostgreSQL store

    store = open_pg_store(config.storage.dsn)
    try:
        store.backup(str(dest), files_from=os.fspath(config.data_dir))
    finally:
        store.close()
    click.echo(f"Backup written to {dest} (in the default backend's format: the tables and files from one "
               "snapshot; `backdesk restore` loads it into an empty schema)")


def _pg_restore(config, src) -> None:
    """``backdesk restore SRC`` on a PostgreSQL site: the backup (a default-
    backend data folder, as ``backdesk backup`` writes it) goes into the
    configured schema, which must hold no table (a database is not moved
    aside as a data folder is: restore into a new schema and point
    storage.dsn at it). Recorded in the audit trail like a folder's restore."""
    import json

    from core.storage.pg import pg_contents, schema_from_dsn  # psycopg (~200 ms): only for a PostgreSQL store

    state = _state(click.get_current_context())
    account = state.operator().account
    source = os.path.abspath(os.fspath(src))
    dsn = config.storage.dsn
    check_backup(source)
    tables, _files = pg_contents(dsn)
    if tables:
        raise StorageError(f"{shown(dsn)} (schema {schema_from_dsn(dsn)}) already holds {tables} tables: a "
                           "PostgreSQL site restores into an empty schema (create one, point storage.dsn at it "
                           "and run the restore again); nothing was restored")
    click.echo(f"restoring {source} -> {shown(dsn)}")
    if not restore_pg(source, dsn, echo=click.echo):
        sys.exit(1)
    note = {"backup": source, "marker": read_marker(source), "replaced": None, "data": None, "by": account}
    make_dir(os.fspath(config.data_dir))
    write_atomic(os.path.join(config.data_dir, RESTORE_PENDING), json.dumps(note, sort_keys=True).encode())
    state.backdesk()  # the audit trail records the restore (its note) as the store opens
    click.echo(f"Restored {src} into {shown(dsn)}")


def register(cli) -> None:
    """Add ``backdesk storage`` and make check/backup/restore PostgreSQL-aware."""
    cli.add_command(storage)
    _wrap(cli, "backup", lambda config, dest: _pg_backup(config, dest))
    _wrap(cli, "restore", lambda config, src: _pg_restore(config, src))
