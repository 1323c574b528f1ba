"""TERM=linux (the Linux console, a kiosk's usual terminal): the shell draws
only glyphs the console's font has. Checked on what tmux shows of the demo
company's screens, and on the swap table itself."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import unicodedata
import uuid
from pathlib import Path

import pytest
from rich.cells import cell_len

from core.shell.console_glyphs import CONSOLE_GLYPHS, console_driver, console_safe, ConsoleDriver

from tests.conftest import require_peer

ROOT = Path(__file__).resolve().parents[2]

# What Debian's console fonts (Uni2-*, the default for UTF-8) draw: Latin-1
# and Latin Extended-A (people's names: Ayşe), typographic punctuation, the euro, light and double box lines, full/half blocks and
# shades, arrows and the four triangles.
_BOX = set("─│┌┐└┘├┤┬┴┼═║╒╓╔╕╖╗╘╙╚╛╜╝╞╟╠╡╢╣╤╥╦╧╨╩╪╫╬")
_EXTRA = set("█▀▄▌▐░▒▓←↑→↓▲▼►◄…–—‘’‚“”„•€≡≤≥±·") | _BOX


def drawable(char: str) -> bool:
    return ord(char) < 0x180 or char in _EXTRA


def test_every_swap_keeps_the_width_and_is_drawable():
    for code, replacement in CONSOLE_GLYPHS.items():
        glyph = chr(code)
        assert cell_len(glyph) == cell_len(replacement), (glyph, replacement)
        assert all(drawable(c) for c in replacement), (glyph, replacement, unicodedata.name(glyph))
    assert console_safe("╭─ ⚠ low ─╮ ⏎ Open ▕▁▂▇") == "┌─ ! low ─┐ » Open │_▄█"
    assert console_driver("linux") is ConsoleDriver
    assert console_driver("xterm-256color") is None and console_driver(None) is None


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=60).stdout


def _wait(session: str, text: str, timeout: float = 120.0) -> str:
    end = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < end:
        shown = _tmux("capture-pane", "-p", "-t", session)
        if text in shown:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} did not appear; the screen shows:\n{shown}")


@pytest.mark.tinydb_only("what is drawn does not depend on the storage backend")
def test_the_demo_on_the_linux_console_uses_the_fonts_glyphs(backdesk_site):
    require_peer("tmux", shutil.which("tmux") is not None, "the shell is looked at in tmux")
    site = backdesk_site
    site.plugins(["telephony", "documents", "it", "accounting", "hr"])
    assert site.cli("demo").code == 0
    session = f"bd-console-{uuid.uuid4().hex[:8]}"
    cmd = " ".join(shlex.quote(p) for p in [sys.executable, "-m", "core", *site.cli_args()])
    env = {"TERM": "linux", "TEXTUAL_ANIMATIONS": "none", "PYTHONPATH": str(ROOT),
           "HOME": os.environ.get("HOME", "/root"), "PATH": os.environ.get("PATH", "")}
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
                    "env", *(f"{k}={v}" for k, v in env.items()), "sh", "-c", f"cd {shlex.quote(str(ROOT))} && {cmd}"],
                   check=True, timeout=10)
    try:
        screens = {"dashboard": _wait(session, "Open callbacks")}
        for key, name, text in [("F1", "help", "Key bindings"), ("Escape", "dashboard again", "Open callbacks"),
                                ("F3", "directory", "Department"), ("F7", "helpdesk", "Prio"),
                                ("F5", "switchboard", "Switchboard")]:
            _tmux("send-keys", "-t", session, key)
            screens[name] = _wait(session, text)
        for name, shown in screens.items():
            strange = sorted({c for c in shown if not drawable(c)})
            assert not strange, f"{name}: {strange} outside the console's font:\n{shown}"
        assert "┌─" in screens["dashboard"]  # the cards' rounded corners, squared
    finally:
        _tmux("send-keys", "-t", session, "C-q")
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
