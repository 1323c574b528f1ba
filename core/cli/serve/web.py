"""``backdesk serve web``: Backdesk in a browser through textual-serve.

textual-serve starts one Backdesk process per browser tab (the command
below, with Textual's web driver) and relays it over a websocket to
xterm.js in the page. It binds to 127.0.0.1 by default: put a reverse proxy
with authentication in front of it (docs/serving.md).

Whose Backdesk is it? textual-serve passes nothing about the browser's user
to the process, so every tab acts for the account that runs the server —
unless the server runs with ``--kiosk``, where each tab opens on the PIN
login and acts for whoever logs in. Browser kiosks and shared desks use
``backdesk --kiosk serve web``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from core.plugins.runtime import open_configured_store


def command_for(config, *, config_dir=None, data_dir=None, kiosk: bool = False) -> str:
    """The shell command textual-serve runs for each browser tab."""
    argv = [sys.executable, "-P", "-m", "core",  # -P: never a module from the working folder
            "--config-dir", str(Path(config_dir or config.config_dir).resolve()),
            "--data-dir", str(Path(data_dir or config.data_dir).resolve())]
    if kiosk:
        argv.append("--kiosk")
    return shlex.join(argv)


def make_server(config, *, host: str = "127.0.0.1", port: int = 8000, public_url: str | None = None,
                kiosk: bool = False, config_dir=None, data_dir=None):
    from textual_serve.server import Server

    command = command_for(config, config_dir=config_dir, data_dir=data_dir, kiosk=kiosk)
    return Server(command, host=host, port=port, title=config.site.name, public_url=public_url)


def run_web(config, **kwargs) -> None:
    """Serve until Ctrl+C or SIGTERM."""
    open_configured_store(config).close()  # fail here, not in every tab, when the data cannot be opened
    make_server(config, **kwargs).serve()
