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
:mod:`core.cli.commands`, which loads config and plugins once for both the
plugins' commands and the opened Backdesk (:class:`Preloaded`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.gcpause import hold_gc
# State, the shell's start and the one-line errors live in core.cli.launch, below
# this module and core.cli.commands alike; imported from here by older code.
from core.cli.launch import (  # noqa: F401
    EXIT_USAGE,
    Preloaded,
    State,
    _fill_demo,
    _has_records,
    _start_shell,
    demo_data_dir,
    exit_for_error,
)

#: what core.cli.commands defines and older code imported from here
_FROM_COMMANDS = frozenset({
    "cli", "pass_state", "demo", "plugins_cmd", "check", "backup", "restore", "export",
    "serve", "serve_ssh", "serve_web", "kiosk_group", "kiosk_pin_hash", "_print_table",
    "_peek_option", "register_plugin_commands", "_register_plugin_commands",
})


def __getattr__(name: str):
    if name in _FROM_COMMANDS:
        from core.cli import commands  # click: only for a line that is not the shell's (see main)

        if name == "_register_plugin_commands":
            name = "register_plugin_commands"
        return getattr(commands, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    # no cyclic GC from here to the first frame (see hold_gc): the app
    # releases this hold then, after freezing what starting allocated
    release_gc = hold_gc()
    try:
        if demo and data_dir is None:
            data_dir = demo_data_dir()
        state = State(None if config_dir is None else Path(config_dir),
                      None if data_dir is None else Path(data_dir), debug, demo, kiosk)
        try:
            from core.cli.serve import ENV_SESSION_FD  # its constant only

            if ENV_SESSION_FD in os.environ:  # started by `backdesk serve ssh` for an operator
                from core.cli.serve.session import take_account  # only in a server's child

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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    shell = shell_options(argv)
    if shell is not None:
        open_shell(**shell)
        return
    # click (22 ms) and the plugins' commands only for a line that is not the
    # shell's: the shell's first frame does not wait for them (docs/performance.md,
    # "No click, one plugin load", −48 ms)
    from core.cli.commands import run  # click: −48 ms of the shell's start (above)

    run(argv)
