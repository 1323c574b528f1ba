"""What one ``backdesk`` line opens: its :class:`State` (config, operator,
Backdesk, opened on first use), the shell or the kiosk loop, and the way an
error ends the process (:func:`exit_for_error`).

Shared by :mod:`core.cli` (the shell's own line, without click) and
:mod:`core.cli.commands` (the click group and the subcommands, also
:mod:`core.cli.service_cli` and :mod:`core.cli.storage_cli`), which is why it sits
below both: they import it, it imports neither.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from core.errors import BackdeskError, ConfigError
from core.safetext import visible

# core.shell.app, core.shell.screens and core.plugins.runtime are imported where a shell or a
# Backdesk is opened, not here: core.cli.commands imports this module for every
# subcommand, and `backdesk --version`, `backdesk plugins` and the like must
# not pay for Textual (~160 ms to import, measured with -X importtime on the
# 2-vCPU VM) or the store.

EXIT_USAGE = 2


class Preloaded:
    """The config and plugin host :mod:`core.cli.commands` loaded before parsing
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
        #: a store opened already on this config (see _has_records), for the Backdesk to use
        self._store = None
        #: where the store's lines go while a start waits (a table's upgrade): the terminal
        self.notice = _notice

    def config(self):
        if self._config is None:
            pre = self._preloaded
            if pre is not None and pre.serves(self.config_dir, self.data_dir):
                self._config = pre.config
            else:
                from core.config import load_config  # ~10 ms: after the shell's hold_gc

                self._config = load_config(self.config_dir, self.data_dir)
        return self._config

    def backdesk(self):
        """Open config, store and plugins on first use."""
        if self._backdesk is None:
            # the plugin host and the store: only when a command opens a Backdesk
            from core.plugins.runtime import hold_gc, open_backdesk  # 12–35 ms (-X importtime)

            release_gc = hold_gc()  # the config too (see hold_gc)
            try:
                config = self.config()
                host = self._preloaded.take_host(config) if self._preloaded is not None else None
                store, self._store = self._store, None
                self._backdesk = open_backdesk(config=config, account=self.account,
                                               demo=self.demo_admin(), kiosk=self.kiosk, host=host,
                                               store=store, notice=self.notice)
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
        from core.services.access import resolve_operator  # after the shell's hold_gc (open_shell)

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
        if self._store is not None:
            self._store.close()
            self._store = None


def demo_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "backdesk-demo"


def _is_empty(path: Path) -> bool:
    return not path.exists() or not any(path.iterdir())


def _echo_err(text: str) -> None:
    stream = sys.stderr
    stream.write(visible(text) + "\n")
    stream.flush()


def _notice(line: str) -> None:
    """What the store says while a start waits (a table's upgrade after a
    new release, another process's before it): on the terminal before the
    first screen (and left there), one line each."""
    _echo_err(f"backdesk: {line}")


def _has_records(state: State) -> bool:
    """True when the configured store (TinyDB folder or PostgreSQL schema)
    holds any document; an empty or never-opened store holds none."""
    config = state.config()
    if config.storage.backend == "tinydb" and _is_empty(Path(config.data_dir)):
        return False
    # Only the store is opened to look: the account is not resolved yet (an
    # account the config does not know may fill an empty store with the demo).
    from core.plugins.runtime import open_configured_store  # the store: only when the demo is asked for

    store = open_configured_store(config)
    try:
        found = any(store.existing_table(name).count() for name in store.tables())
    except BaseException:
        store.close()
        raise
    if found and state._store is None:
        # the shell opens this store rather than a second one (the demo's start
        # read the store twice: ~15 ms of bench/startup.py's 0.37 s)
        state._store = store
    else:
        store.close()
    return found


def _fill_demo(state: State, seed: int, quiet: bool) -> dict:
    from core.cli.demo import create_demo  # the demo company's records: only when it is filled

    bd = state.backdesk()
    counts = create_demo(bd, seed=seed)
    if not quiet:
        for name, count in counts.items():
            _echo_err(f"  {name}: {count}")
    return counts


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
    if state.kiosk or state.config().kiosk.enabled:
        if release_gc is not None:
            release_gc()  # the kiosk loop starts apps of its own
        run_kiosk(state.config(), demo=state.demo, demo_pins=state.demo_admin())
        return
    # the Backdesk first: it sets the site's language, and core.shell.app's key
    # labels are translated when it is imported
    bd = state.backdesk()
    from core.shell.app import make_app  # Textual: only when a shell opens (see the imports above)

    app = make_app(bd, start_gc_hold=release_gc)
    _exit_on_hangup(app)
    app.run(auto_pilot=auto_pilot)
    if app.return_code:
        sys.exit(app.return_code)


#: seconds the shell gets to leave after a hangup before the process ends hard
HANGUP_GRACE = 5.0


def _exit_on_hangup(app, grace: float = HANGUP_GRACE) -> None:
    """SIGHUP (the SSH connection or terminal went away): leave like Ctrl+Q.

    Every change is already committed when it is made; this only spares the
    operator's process a hard kill. If the shell has not left ``grace``
    seconds later, the process ends at once with the same code: with the
    terminal gone, Textual's leaving can block for good on its output queue
    (seen after ``tmux kill-session``: the main thread waiting to put into a
    full queue that no thread would empty, a process left for hours holding
    the store open).
    """
    import signal
    import threading

    def hangup(signum, frame):
        code = 128 + signum
        watchdog = threading.Timer(grace, os._exit, args=(code,))
        watchdog.daemon = True
        watchdog.start()
        loop = getattr(app, "_loop", None)
        if loop is None or loop.is_closed():
            raise SystemExit(code)
        loop.call_soon_threadsafe(app.exit, None, code)

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


def run_kiosk(config, *, demo: bool = False, demo_pins: bool = False) -> None:
    """The kiosk loop: login screen → that operator's Backdesk → lock → ...

    Never returns on its own: the app ignores quit keys, and when it locks
    the next operator logs in. systemd restarts the process if it dies.
    ``demo_pins`` (``--demo --kiosk`` on the demo's own folder): every
    operator without a PIN has :data:`core.services.kiosk.DEMO_PIN`, and the login says so.
    """
    from core.shell.app import make_app  # Textual: only when a shell opens (see the imports above)
    from core.services.kiosk import PinGuard, with_demo_pins  # the kiosk loop only
    from core.plugins.runtime import open_backdesk  # 12–35 ms (-X importtime)
    from core.shell.screens.lock import LoginApp  # Textual (as make_app)

    hint = None
    if demo_pins:
        config, hint = with_demo_pins(config)
    guard = PinGuard(max_attempts=config.kiosk.max_pin_attempts)
    account = None
    while True:
        if account is None:
            login = LoginApp(config, guard, hint=hint)
            account = login.run()
            if not account:
                continue
        bd = open_backdesk(config=config, account=account, kiosk=True, demo=demo)
        try:
            app = make_app(bd, guard=guard)
            result = app.run()
        finally:
            bd.close()
        # the lock screen returns the account of whoever opened it again
        account = result if isinstance(result, str) and result else None
