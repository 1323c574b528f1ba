"""The ``backdesk`` command.

``backdesk`` opens the shell; subcommands manage data and plugins, and each
plugin adds its own group through the ``backdesk_cli`` hook. Errors print one
line and exit 2 (no traceback unless ``--debug``).

This module is what the console script imports, so it stays small and does
not import click: :func:`main` recognises the shell's own line —
``backdesk [--config-dir DIR] [--data-dir DIR] [--demo] [--kiosk] [--debug]``
— and opens the shell with :func:`open_shell`, without loading the plugins
for their commands first. Every other line (a subcommand, ``--help``,
``--version``, anything unusual) goes to the click group in
:mod:`core.commands`, which loads config and plugins once for both the
plugins' commands and the opened Backdesk (:class:`Preloaded`).
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from core.errors import BackdeskError, ConfigError
from core.safetext import visible

EXIT_USAGE = 2

#: what core.commands defines and older code imported from here
_FROM_COMMANDS = frozenset({
    "cli", "pass_state", "demo", "plugins_cmd", "check", "backup", "restore", "export",
    "serve", "serve_ssh", "serve_web", "kiosk_group", "kiosk_pin_hash", "_print_table",
    "_peek_option", "register_plugin_commands", "_register_plugin_commands",
})


def __getattr__(name: str):
    if name in _FROM_COMMANDS:
        from core import commands

        if name == "_register_plugin_commands":
            name = "register_plugin_commands"
        return getattr(commands, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Preloaded:
    """The config and plugin host :mod:`core.commands` loaded before parsing
    the line (to add the plugins' commands), for :class:`State` to use
    instead of loading them again — when the line's --config-dir and
    --data-dir are the ones the config was loaded for."""

    def __init__(self, config_dir, data_dir, config, host) -> None:
        self.config_dir = None if config_dir is None else Path(config_dir)
        self.data_dir = None if data_dir is None else Path(data_dir)
        self.config = config
        self.host = host

    def serves(self, config_dir, data_dir) -> bool:
        return (self.config_dir == (None if config_dir is None else Path(config_dir))
                and self.data_dir == (None if data_dir is None else Path(data_dir)))

    def take_host(self, config):
        """The loaded host, once, for a Backdesk opened on this config."""
        host = self.host
        if host is None or config is not self.config or not host.has_loaded(config.plugins):
            return None
        self.host = None
        return host


class State:
    """What the subcommands share: where things are and the opened Backdesk."""

    def __init__(self, config_dir=None, data_dir=None, debug=False, demo=False, kiosk=False,
                 account=None, preloaded: Preloaded | None = None):
        self.config_dir = config_dir
        self.data_dir = data_dir
        self.debug = debug
        self.demo = demo
        self.kiosk = kiosk
        self.account = account
        #: `backdesk demo` (or the shell's --demo) is filling an empty store
        self.filling_demo = False
        self._backdesk = None
        self._config = None
        self._preloaded = preloaded

    def config(self):
        if self._config is None:
            pre = self._preloaded
            if pre is not None and pre.serves(self.config_dir, self.data_dir):
                self._config = pre.config
            else:
                from core.config import load_config

                self._config = load_config(self.config_dir, self.data_dir)
        return self._config

    def backdesk(self):
        """Open config, store and plugins on first use."""
        if self._backdesk is None:
            from core.runtime import hold_gc, open_backdesk

            release_gc = hold_gc()  # the config too (see hold_gc)
            try:
                config = self.config()
                host = self._preloaded.take_host(config) if self._preloaded is not None else None
                self._backdesk = open_backdesk(config=config, account=self.account,
                                               demo=self.demo_admin(), kiosk=self.kiosk, host=host)
            finally:
                release_gc()
        return self._backdesk

    def demo_admin(self) -> bool:
        """Whether ``--demo`` makes an account the config does not know the
        demo's administrator: only on the demo's own folder
        (:func:`demo_data_dir`) or while the demo fills an empty store —
        never on an office's data that ``--data-dir`` names."""
        if not self.demo:
            return False
        if self.filling_demo:
            return True
        config = self.config()
        return (config.storage.backend == "tinydb"
                and Path(config.data_dir).resolve() == demo_data_dir().resolve())

    def operator(self):
        """The operator at work (resolved from the config; nothing opened)."""
        from core.access import resolve_operator

        return resolve_operator(self.config(), self.account, demo=self.demo_admin())

    def require(self, permission: str, what: str) -> None:
        """Refuse (PermissionDenied, or UnknownAccount for an account that is
        no operator) unless the account at work holds ``permission``; for
        the commands that act on the store as a whole (backup, restore,
        storage migrate, demo --force), checked before anything is opened."""
        self.operator().require(permission, what)

    def close(self):
        if self._backdesk is not None:
            self._backdesk.close()
            self._backdesk = None


def demo_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "backdesk-demo"


def _is_empty(path: Path) -> bool:
    return not path.exists() or not any(path.iterdir())


def _echo_err(text: str) -> None:
    stream = sys.stderr
    stream.write(visible(text) + "\n")
    stream.flush()


def _has_records(state: State) -> bool:
    """True when the configured store (TinyDB folder or PostgreSQL schema)
    holds any document; an empty or never-opened store holds none."""
    config = state.config()
    if config.storage.backend == "tinydb" and _is_empty(Path(config.data_dir)):
        return False
    # Only the store is opened to look: the account is not resolved yet (an
    # account the config does not know may fill an empty store with the demo).
    from core.runtime import open_configured_store

    store = open_configured_store(config)
    try:
        return any(store.existing_table(name).count() for name in store.tables())
    finally:
        store.close()


def _fill_demo(state: State, seed: int, quiet: bool) -> dict:
    from core.demo import create_demo

    bd = state.backdesk()
    counts = create_demo(bd, seed=seed)
    if not quiet:
        for name, count in counts.items():
            _echo_err(f"  {name}: {count}")
    return counts


# ---------------------------------------------------------------------- the shell

_SHELL_FLAGS = {"--demo": "demo", "--kiosk": "kiosk", "--debug": "debug"}
_SHELL_DIRS = {"--config-dir": "config_dir", "--data-dir": "data_dir"}


def shell_options(argv: list[str]) -> dict | None:
    """The keyword arguments of :func:`open_shell` when ``argv`` is the
    shell's own line (only the group's options, no subcommand), else None.

    Cautious: anything click might read differently or reject (an unknown
    token, a missing or empty value, a value starting with ``-``, a folder
    option naming a file or an unreadable folder, ``-h``/``--help``,
    ``--version``, ``--``) gives None, and click parses the line as before.
    """
    opts: dict = {"config_dir": None, "data_dir": None, "demo": False, "kiosk": False,
                  "debug": False}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _SHELL_FLAGS:
            opts[_SHELL_FLAGS[arg]] = True
            i += 1
            continue
        name, eq, value = arg.partition("=")
        if name not in _SHELL_DIRS:
            return None
        if eq:
            i += 1
        elif i + 1 < len(argv):
            value = argv[i + 1]
            i += 2
        else:
            return None
        if not value or value.startswith("-"):
            return None
        if os.path.exists(value) and not (os.path.isdir(value) and os.access(value, os.R_OK)):
            return None  # click's Path(file_okay=False) reports it
        opts[_SHELL_DIRS[name]] = Path(value)  # the last one wins, as in click
    return opts


def open_shell(config_dir=None, data_dir=None, demo=False, kiosk=False, debug=False,
               auto_pilot=None) -> None:
    """Open the shell exactly as ``backdesk [--config-dir DIR] [--data-dir
    DIR] [--demo] [--kiosk] [--debug]`` does, and return when it is closed.

    ``--demo`` without a data folder uses the demo folder and creates the
    demo company on first use; a server's session (``BACKDESK_SESSION_FD``)
    sets the operator; kiosk mode (``kiosk`` or ``kiosk.enabled``) runs the
    kiosk loop; SIGHUP leaves like Ctrl+Q. Errors end the process as the
    command does: a config or Backdesk error prints ``backdesk: …`` lines on
    stderr and exits 2 (with the traceback first when ``debug``), anything
    else exits 1, Ctrl+C 130, and the app's own non-zero return code is the
    exit code. ``auto_pilot`` is passed to Textual's ``App.run`` (benchmarks,
    tests); the kiosk loop runs its own apps and does not use it.
    """
    from core.runtime import hold_gc

    # no cyclic GC from here to the first frame (see hold_gc): the app
    # releases this hold then, after freezing what starting allocated
    release_gc = hold_gc()
    try:
        if demo and data_dir is None:
            data_dir = demo_data_dir()
        state = State(None if config_dir is None else Path(config_dir),
                      None if data_dir is None else Path(data_dir), debug, demo, kiosk)
        try:
            from core.serve import ENV_SESSION_FD

            if ENV_SESSION_FD in os.environ:  # started by `backdesk serve ssh` for an operator
                from core.serve.session import take_account

                state.account = take_account(state.config().data_dir)
            _start_shell(state, auto_pilot=auto_pilot, release_gc=release_gc)
        finally:
            state.close()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        exit_for_error(exc, debug)
    finally:
        release_gc()


def _start_shell(state: State, auto_pilot=None, release_gc=None) -> None:
    """The demo company on first use, then the shell or the kiosk loop."""
    if state.demo and not _has_records(state):
        state.filling_demo = True
        counts = _fill_demo(state, seed=1, quiet=True)
        # one line (the counts are `backdesk demo`'s): it stays on the
        # terminal after the shell closes
        _echo_err(f"backdesk: the demo company was created in {state.config().data_dir} "
                  f"({sum(counts.values())} records); other commands reach it with --demo, "
                  "e.g. backdesk --demo phone calls")
    _open_shell(state, auto_pilot=auto_pilot, release_gc=release_gc)


def _open_shell(state: State, auto_pilot=None, release_gc=None) -> None:
    from core.app import make_app

    if state.kiosk or state.config().kiosk.enabled:
        from core.kiosk import run_kiosk

        if release_gc is not None:
            release_gc()  # the kiosk loop starts apps of its own
        run_kiosk(state.config(), demo=state.demo, demo_pins=state.demo_admin())
        return
    bd = state.backdesk()
    app = make_app(bd, start_gc_hold=release_gc)
    _exit_on_hangup(app)
    app.run(auto_pilot=auto_pilot)
    if app.return_code:
        sys.exit(app.return_code)


def _exit_on_hangup(app) -> None:
    """SIGHUP (the SSH connection or terminal went away): leave like Ctrl+Q.

    Every change is already committed when it is made; this only spares the
    operator's process a hard kill.
    """
    import signal

    def hangup(signum, frame):
        loop = getattr(app, "_loop", None)
        if loop is None or loop.is_closed():
            raise SystemExit(128 + signum)
        loop.call_soon_threadsafe(app.exit, None, 128 + signum)

    signal.signal(signal.SIGHUP, hangup)


# ---------------------------------------------------------------------- errors

def exit_for_error(exc: Exception, debug: bool):
    """End the process for an error that reached the command: a config or
    Backdesk error is one ``backdesk: …`` line per problem and exit 2,
    anything else an "internal error" line and exit 1; ``debug`` prints the
    traceback (instead of the internal-error line)."""
    if isinstance(exc, ConfigError):
        if debug:
            traceback.print_exception(exc)
        for line in getattr(exc, "problems", None) or [str(exc)]:
            _echo_err(f"backdesk: {line}")
        sys.exit(EXIT_USAGE)
    if isinstance(exc, BackdeskError):
        if debug:
            traceback.print_exception(exc)
        _echo_err(f"backdesk: {exc}")
        sys.exit(EXIT_USAGE)
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        # a path the operator gave that the system refuses (too long, not a folder, no permission)
        if debug:
            traceback.print_exception(exc)
        name = str(exc.filename)
        name = name if len(name) <= 200 else name[:199] + "…"
        _echo_err(f"backdesk: {name}: {exc.strerror}")
        sys.exit(EXIT_USAGE)
    if debug:
        traceback.print_exception(exc)
    else:
        _echo_err(f"backdesk: internal error: {type(exc).__name__}: {exc} "
                  "(run with --debug for the traceback)")
    sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    shell = shell_options(argv)
    if shell is not None:
        open_shell(**shell)
        return
    from core.commands import run

    run(argv)
