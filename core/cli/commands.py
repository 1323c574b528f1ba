"""The ``backdesk`` subcommands: the click group and core's commands.

Imported only when the command line names a subcommand (or asks for
``--help``/``--version``); a bare ``backdesk [options]`` opens the shell
through :func:`core.cli.open_shell` without importing click. :func:`run` is
what :func:`core.cli.main` hands such a line to: it loads the config and the
plugins once, gives each plugin its ``backdesk_cli`` hook, and lets the
opened :class:`core.cli.launch.State` reuse that config and plugin host
(:class:`core.cli.launch.Preloaded`) instead of loading them a second time.
"""

from __future__ import annotations

import functools
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from core.cli.launch import (
    Preloaded,
    State,
    _fill_demo,
    _has_records,
    _start_shell,
    demo_data_dir,
    exit_for_error,
)
from core.config import load_config
from core.errors import BackdeskError, ConfigError
from core.i18n import configure, format_datetime, to_local
from core.outputs import check_output_path, export_name, exports_dir, list_exports, output_file
from core.plugins.host import PluginHost
from core.safetext import SafeStream, json_safe, one_line
from core.services.access import UnknownAccount
from core.services.audit import check_trail, trail_head
from core.services.tableread import check_table_name, export_table
from core.storage import backup as do_backup, check as check_data, open_store, restore as do_restore
from core.storage.files import MANIFEST
from core.storage.seal import is_backup, read_marker

# A command imports inside its function only what no other command line
# needs and costs start-up time (python -X importtime after
# `import core.cli.commands`, three runs, this 2-CPU VM under load): the SSH
# server (asyncssh, 300–410 ms), the web server (7–16 ms), the kiosk's PIN
# hashing (10–12 ms), PostgreSQL's driver (psycopg); the rest comes with
# core.cli.service_cli, storage_cli and kit anyway or costs under 2 ms
# (core.outputs, core.services.tableread) and is imported above.
# None of them hides a cycle (pyproject.toml [tool.importlinter]).

pass_state = click.make_pass_decorator(State)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder with backdesk.yaml (default: $BACKDESK_CONFIG_DIR or the shipped config/).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder with the data (default: $BACKDESK_DATA_DIR or data_dir in backdesk.yaml).")
@click.option("--demo", is_flag=True, help="Open the demo company (created on first use).")
@click.option("--kiosk", is_flag=True, help="Kiosk mode: the operator cannot leave the app.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="backdesk")
@click.pass_context
def cli(ctx, config_dir, data_dir, demo, kiosk, debug):
    """Backdesk: the back office in a terminal."""
    if demo and data_dir is None:
        data_dir = demo_data_dir()
    preloaded = ctx.obj if isinstance(ctx.obj, Preloaded) else None
    state = State(config_dir, data_dir, debug, demo, kiosk, preloaded=preloaded)
    ctx.obj = state
    ctx.call_on_close(state.close)
    from core.cli.serve import ENV_SESSION_FD  # its constant only: no server's code

    if ENV_SESSION_FD in os.environ:  # started by `backdesk serve ssh` for an operator
        from core.cli.serve.session import take_account  # only when a server started this process

        state.account = take_account(state.config().data_dir)
    if ctx.invoked_subcommand is None:  # a line core.cli.main did not recognise as the shell's
        _start_shell(state)


@cli.command()
@click.option("--force", is_flag=True, help="Move existing data aside and start anew.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for the demo's random choices.")
@pass_state
def demo(state: State, force: bool, seed: int):
    """Fill the data folder with a realistic demo company."""
    state.demo = True  # an account the config does not know works as the demo's admin
    config = state.config()
    data_dir = Path(config.data_dir)
    where = str(data_dir) if config.storage.backend == "tinydb" else "the PostgreSQL store"
    if _has_records(state):
        if not force:
            raise BackdeskError(f"{where} is not empty; use --force to move its data aside "
                                "and create the demo there")
        state.require("core.admin.demo", "move the data aside and create the demo company (demo --force)")
        if config.storage.backend != "tinydb":
            raise BackdeskError("--force cannot move PostgreSQL data aside; point the dsn at an empty "
                                "schema (or use `backdesk storage migrate` to keep a copy) and run "
                                "`backdesk demo` again")
        from datetime import datetime

        state.close()  # the store was opened to look: close it before moving its folder
        aside = data_dir.with_name(f"{data_dir.name}.before-demo-{datetime.now():%Y%m%d-%H%M%S}")
        data_dir.rename(aside)
        click.echo(f"Moved the old data to {aside}", err=True)
    state.filling_demo = True
    counts = _fill_demo(state, seed=seed, quiet=False)
    click.echo(f"Demo company created in {where} ({sum(counts.values())} records).")


@cli.command("plugins")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--verbose", "-v", is_flag=True,
              help="Show the events each plugin reacts to and the traceback of failed plugins.")
@pass_state
def plugins_cmd(state: State, fmt: str, verbose: bool):
    """List every plugin: name, version, source, status and error."""
    bd = state.backdesk()
    events = bd.services.events
    rows = []
    for rec in bd.host.records.values():
        error = rec.error or (rec.hook_errors[-1][1] if rec.hook_errors else "")
        rows.append({"name": rec.name, "version": rec.version, "source": rec.source,
                     "status": rec.status, "error": error, "target": rec.target,
                     "reacts_to": events.reacts_to(rec.name) if rec.status == "ok" else []})
    if fmt == "json":
        click.echo(json_safe(rows, indent=2))
        return
    _print_table(rows, ["name", "version", "source", "status", "error"])
    if verbose:
        click.echo("\nEvents each plugin reacts to (* every event, through backdesk_event):")
        for row in rows:
            if row["reacts_to"]:
                click.echo(f"  {row['name']}: {', '.join(row['reacts_to'])}")
        for rec in bd.host.records.values():
            if rec.traceback:
                click.echo(f"\n--- {rec.name} ---\n{rec.traceback}")


@cli.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_state
def status_cmd(state: State, fmt: str):
    """Which process of which host runs the work done once per office
    (the IT checks watcher, …): the holds and who has them."""
    bd = state.backdesk()
    holds = bd.store.holds(local_dir=bd.config.data_dir)
    if fmt == "json":
        click.echo(json_safe({"storage": bd.config.storage.backend, "holds": holds}, indent=2))
        return
    rows = [{"work": h["name"], "run by": h["who"] if h["held"] else "-",
             "since": to_local(h["since"]).strftime("%Y-%m-%d %H:%M:%S") if h["held"] and h["since"] else ""}
            for h in holds]
    if not rows:
        click.echo("Nothing that runs once per office has been started yet (backdesk it checks watch, …).")
        return
    _print_table(rows, ["work", "run by", "since"])


def _print_table(rows: list[dict], columns: list[str]) -> None:
    rows = [{c: one_line(str(r.get(c, ""))) for c in columns} for r in rows]
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        click.echo("  ".join(r[c].ljust(widths[c]) for c in columns).rstrip())


@cli.command()
@click.option("--archives", is_flag=True, help="Also read every audit archive file.")
@pass_state
def check(state: State, archives: bool):
    """Verify the config, every data file and the audit trail's chain (exit 0 when sound)."""
    problems: list[str] = []
    try:
        config = state.config()
    except ConfigError as exc:
        problems.extend(getattr(exc, "problems", None) or [str(exc)])
        config = None
    if config is not None:
        problems.extend(_check_store(config, archives))
    if problems:
        for line in problems:
            click.echo(line, err=True)
        sys.exit(1)
    click.echo("Config and data are sound.")


def _check_store(config, archives: bool) -> list[str]:
    """The store's problems, then (when it is sound) the audit trail's."""
    if config.storage.backend == "postgresql":
        from core.storage.pg import check_pg, open_pg_store  # psycopg, ~200 ms: PostgreSQL only

        problems = check_pg(config.storage.dsn)
        if problems:
            return problems
        store = open_pg_store(config.storage.dsn)
    else:
        problems = check_data(config.data_dir)
        data_dir = Path(config.data_dir)
        if problems or not (data_dir / MANIFEST).is_file() or is_backup(str(data_dir)):
            return problems  # (a backup is checked whole by its marker; opening it would add a lock file)
        store = open_store(data_dir, read_only=True)
    try:
        return check_trail(store, config, archives=archives)
    finally:
        store.close()


@cli.command()
@click.argument("dest", type=click.Path(path_type=Path))
@pass_state
def backup(state: State, dest: Path):
    """Copy the whole data folder to DEST while operators keep working."""
    do_backup(state.config().data_dir, dest, by=state.operator().account)
    click.echo(f"Backup written to {dest}")


@cli.command()
@click.argument("src", type=click.Path(path_type=Path))
@pass_state
def restore(state: State, src: Path):
    """Replace the data folder with the backup in SRC (the old data is kept aside).

    SRC must be complete (its backup.json written last, every file matching
    it). The restore is recorded in the audit trail: who, when, which
    backup, and the head of the trail it replaced."""
    data_dir = os.fspath(state.config().data_dir)
    account = state.operator().account
    source = os.path.abspath(os.fspath(src))
    note = {"backup": source, "marker": None, "replaced": trail_head(data_dir)}
    try:
        note["marker"] = read_marker(source)
    except (OSError, BackdeskError):
        pass  # restore names what is wrong with it
    state.close()
    result = do_restore(src, data_dir, by=account, note=note)
    state.backdesk()  # the audit trail records the restore (its note) as the store opens
    click.echo(f"Restored {src}" + (f"; the previous data is in {result}" if result else ""))


@cli.command()
@click.argument("table")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@pass_state
def export(state: State, table: str, fmt: str, output: Path | None):
    """Export PLUGIN.TABLE (for example it.tickets) as JSON or CSV.

    Needs the table's read permission (hr.records: hr.records.read, …);
    reading a confidential table is recorded in the audit trail. A file
    written with -o is private to its owner (0600)."""

    output = check_output_path(output)
    bd = state.backdesk()
    check_table_name(bd, table)
    with output_file(output) as fh:
        export_table(bd, table, fmt, fh)
    if output is not None:
        click.echo(f"Wrote {output}", err=True)


@cli.group("files", invoke_without_command=True)
@click.option("--path", "path_only", is_flag=True, help="Print only the folder's path (for scp).")
@click.pass_context
def files_group(click_ctx, path_only: bool):
    """Your exports folder: the bank files, reports and documents you saved
    from a screen (<data_dir>/exports/<account>/), newest first. On a
    PostgreSQL site the same on every host: the files are kept in the
    database and the folder is brought up to date first.

    Fetch one over SSH with `ssh HOST backdesk files get NAME > NAME`, or scp
    from the folder `backdesk files --path` prints."""
    if click_ctx.invoked_subcommand is not None:
        return
    from datetime import datetime, timezone


    state = click_ctx.find_object(State)
    config = state.config()
    account = state.operator().account
    folder = _synced_exports(state, exports_dir(config.data_dir, account))
    if path_only:
        click.echo(str(folder))
        return
    rows = list_exports(config.data_dir, account)
    configure(config.site.locale, config.site.timezone, config.site.currency)
    click.echo(f"{folder}/")
    if not rows:
        click.echo("  (nothing yet: files you save from a screen go here)")
    width = max([len(f"{size:,}") for _name, size, _mtime in rows] + [1])
    for name, size, mtime in rows:
        when = format_datetime(datetime.fromtimestamp(mtime, timezone.utc))
        click.echo(f"  {when}  {size:>{width},}  {one_line(name)}")


@files_group.command("get")
@click.argument("name")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@pass_state
def files_get(state: State, name: str, output: Path | None):
    """Print the file NAME of your exports folder (or write it with -o)."""
    import shutil


    output = check_output_path(output)
    folder = _synced_exports(state, exports_dir(state.config().data_dir, state.operator().account))
    path = folder / export_name(name)
    if not path.is_file() or path.is_symlink():
        raise BackdeskError(f"no file {one_line(name)!r} in {folder}/ (backdesk files lists them)")
    with open(path, "rb") as src, output_file(output, binary=True) as out:
        shutil.copyfileobj(src, out)


def _synced_exports(state: State, folder: Path) -> Path:
    """``folder`` (the operator's exports), on a PostgreSQL site brought up to
    date with what they saved on other hosts first."""
    if state.config().storage.backend != "postgresql":
        return folder
    shared = state.backdesk().services.exports
    return shared.sync(folder) if shared is not None else folder


@cli.group()
def serve():
    """Serve Backdesk to operators elsewhere: over SSH or in a browser."""


@serve.command("ssh")
@click.option("--listen", default=None, help="Address to listen on (default: ssh.listen, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: ssh.port, 2222; 0: any free port).")
@click.option("--idle-timeout-seconds", type=float, default=None, hidden=True,
              help="Overrides ssh.idle_timeout_minutes (tests).")
@pass_state
def serve_ssh(state: State, listen: str | None, port: int | None, idle_timeout_seconds: float | None):
    """An SSH server giving each operator their own Backdesk (needs backdesk[ssh])."""
    from core.cli.serve.ssh import run_server  # asyncssh: 300–410 ms (-X importtime)

    run_server(state.config(), listen=listen, port=port, config_dir=state.config_dir,
               data_dir=state.data_dir, idle_timeout=idle_timeout_seconds)


@serve.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port.")
@click.option("--public-url", default=None, help="The URL browsers use, when behind a reverse proxy.")
@pass_state
def serve_web(state: State, host: str, port: int, public_url: str | None):
    """Backdesk in a browser through textual-serve (needs backdesk[web])."""
    from core.cli.serve.web import run_web  # textual-serve: 7–16 ms (-X importtime)

    run_web(state.config(), host=host, port=port, public_url=public_url, kiosk=state.kiosk,
            config_dir=state.config_dir, data_dir=state.data_dir)


@cli.group("kiosk")
def kiosk_group():
    """Kiosk consoles: PINs."""


@kiosk_group.command("pin-hash")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the PIN from standard input.")
def kiosk_pin_hash(from_stdin: bool):
    """Print the hash of a PIN for operators.<account>.pin_hash."""
    from core.services.kiosk import hash_pin  # 10–12 ms (-X importtime): only for `kiosk pin-hash`

    if from_stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
    else:
        pin = click.prompt("PIN", hide_input=True, confirmation_prompt=True, err=True)
    try:
        click.echo(hash_pin(pin))
    except ValueError as exc:
        raise BackdeskError(str(exc)) from None


def register_plugin_commands(argv: list[str]) -> Preloaded | None:
    """Give each plugin its ``backdesk_cli`` hook before click parses the line.

    Returns the config and the loaded plugin host for :class:`State` to
    reuse (it does when the line's --config-dir/--data-dir turn out to be
    the ones peeked here), or None when the config cannot be loaded: the
    command itself then reports it."""
    config_dir = _peek_option(argv, "--config-dir")
    data_dir = _peek_option(argv, "--data-dir")
    if data_dir is None and "--demo" in argv:
        data_dir = str(demo_data_dir())  # as the group does for --demo
    try:
        config = load_config(config_dir, data_dir)
    except Exception:
        return None  # the command itself reports the bad config
    host = PluginHost()
    host.load(config.plugins)

    for rec in host.active:
        def get_context(name=rec.name):
            state = click.get_current_context().find_object(State)
            return state.backdesk().context(name)

        try:
            host.call_one(rec, "backdesk_cli", cli=cli, get_context=get_context)
        except Exception as exc:
            # its commands are missing; `backdesk plugins` shows why
            host.record_failure(rec, "backdesk_cli", exc)
    return Preloaded(config_dir, data_dir, config, host)


def _peek_option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def run(argv: list[str]) -> None:
    """Parse and run a command line through click (see :func:`core.cli.main`).

    Standard output and error are :class:`core.safetext.SafeStream` while it
    runs: whatever a command prints (stored text, an error echoing input)
    shows control characters instead of sending them to the terminal."""
    with safe_output():
        _run(argv)


@contextmanager
def safe_output():
    """``sys.stdout``/``sys.stderr`` as :class:`SafeStream` (restored after)."""
    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, SafeStream) and sys.stdout is not None:
        sys.stdout = SafeStream(sys.stdout)
    if not isinstance(sys.stderr, SafeStream) and sys.stderr is not None:
        sys.stderr = SafeStream(sys.stderr)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        sys.stdout, sys.stderr = saved


def _run(argv: list[str]) -> None:
    debug = "--debug" in argv
    try:
        preloaded = register_plugin_commands(argv)
        cli.main(args=argv, prog_name="backdesk", standalone_mode=False, obj=preloaded)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.UsageError as exc:
        # one line, as every other error (click's own is three: usage, hint, error)
        where = exc.ctx.command_path if exc.ctx is not None else "backdesk"
        click.echo(f"backdesk: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"backdesk: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except UnknownAccount as exc:
        exit_for_error(_demo_hint(exc, argv), debug)
    except Exception as exc:
        exit_for_error(exc, debug)


def _demo_hint(exc: UnknownAccount, argv: list[str]) -> UnknownAccount:
    """``exc``, saying how to reach the demo company when there is one and
    the line did not ask for it (`backdesk --demo` once does not make the
    demo every command's data)."""
    if ("--demo" in argv or any(a.split("=")[0] in ("--config-dir", "--data-dir") for a in argv)
            or os.environ.get("BACKDESK_CONFIG_DIR") or os.environ.get("BACKDESK_DATA_DIR")):
        return exc
    if not demo_data_dir().is_dir() or not any(demo_data_dir().iterdir()):
        return exc
    line = " ".join(["backdesk", "--demo", *argv])
    return UnknownAccount(f"{exc.message}; the demo company is reached with --demo: {line}")


from core.cli.service_cli import register as _register_service_cli  # noqa: E402

_register_service_cli(cli)

from core.cli.kit import register as _register_kit  # noqa: E402

_register_kit(cli)

from core.cli.storage_cli import register as _register_storage_cli; _register_storage_cli(cli)  # noqa: E402,E702

#: the commands that act on the store as a whole, and the permission each needs
ADMIN_COMMANDS = {
    ("backup",): ("core.admin.backup", "copy the whole store (backup)"),
    ("restore",): ("core.admin.restore", "replace the live data with a backup (restore)"),
    ("storage", "migrate"): ("core.admin.migrate", "copy the store to another backend (storage migrate)"),
}


def _guard_admin_commands() -> None:
    """Check each admin command's permission before its callback runs —
    whichever callback that is (core.cli.storage_cli puts PostgreSQL's
    in front of backup's and restore's)."""
    for path, (permission, what) in ADMIN_COMMANDS.items():
        command = cli
        for name in path:
            command = command.commands[name]
        original = command.callback

        @functools.wraps(original)
        def guarded(*args, _original=original, _permission=permission, _what=what, **kwargs):
            click.get_current_context().find_object(State).require(_permission, _what)
            return _original(*args, **kwargs)

        command.callback = guarded


_guard_admin_commands()
