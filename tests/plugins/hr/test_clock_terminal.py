"""The kiosk clock terminal, driven in tmux at 80×24 (TERM=xterm-16color) with a PIN."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from core.services.kiosk import hash_pin

from tests.conftest import require_peer
from tests.plugins.hr.absence_site import ROOT, Site, make_office


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=60).stdout


def _screen(session: str) -> str:
    return _tmux("capture-pane", "-p", "-t", session)


def _field_colours(session: str) -> dict[str, str]:
    """The colour of each input's left edge (``▊``), by the text in the input's
    row: a focused input is drawn in another colour than the others."""
    colours = {}
    for row in _tmux("capture-pane", "-p", "-e", "-t", session).splitlines():
        edge = re.search(r"\x1b\[7m\x1b\[(\d+)m▊", row)
        text = re.sub(r"\x1b\[[\d;]*m", "", row)
        if edge and text.strip(" ▊▎┃"):
            colours[text.strip(" ▊▎┃")] = edge.group(1)
    return colours


def _wait_focus_moves(session: str, focused: str, left: str, reached: str, timeout: float = 60.0) -> None:
    """Wait until the input showing ``reached`` is drawn in the ``focused``
    colour and the one showing ``left`` no longer: the focus moved."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        colours = _field_colours(session)
        if colours.get(reached) == focused and colours.get(left) != focused:
            return
        time.sleep(0.2)
    raise AssertionError(f"the focus did not move from {left!r} to {reached!r}:\n{_screen(session)}")


def _wait(session: str, text: str, timeout: float = 60.0) -> str:
    end = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < end:
        shown = _screen(session)
        if text in shown:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} did not appear; the screen shows:\n{shown}")


@pytest.fixture
def terminal(tmp_path):
    require_peer("tmux", shutil.which("tmux") is not None, "the clock terminal is driven in tmux")
    site = Site(tmp_path, anna_pin=hash_pin("4711"))
    bd = site.open("eva")
    make_office(bd)
    session = f"bd-clock-{uuid.uuid4().hex[:8]}"
    cmd = " ".join(shlex.quote(p) for p in [sys.executable, "-m", "core", "--config-dir", str(site.config_dir),
                                            "--data-dir", str(site.data_dir), "time", "terminal"])
    env = {"TERM": "xterm-16color", "TEXTUAL_ANIMATIONS": "none", "PYTHONPATH": str(ROOT),
           "HOME": os.environ.get("HOME", "/root"), "PATH": os.environ.get("PATH", "")}
    if "BACKDESK_TEST_STORAGE" in os.environ:
        env["BACKDESK_TEST_STORAGE"] = os.environ["BACKDESK_TEST_STORAGE"]
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
                    "env", *(f"{k}={v}" for k, v in env.items()), "sh", "-c", f"cd {shlex.quote(str(ROOT))} && {cmd}"],
                   check=True, timeout=10)
    try:
        yield site, bd, session
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
        site.close()


def test_the_clock_terminal_with_a_pin(terminal):
    site, bd, session = terminal
    _wait(session, "Clock terminal: log in with your PIN")
    # no way out: Ctrl+Q and Ctrl+C do nothing
    _tmux("send-keys", "-t", session, "C-q")
    _tmux("send-keys", "-t", session, "C-c")
    time.sleep(0.5)
    assert "Clock terminal" in _screen(session)
    # a wrong PIN is refused and nothing is written
    _tmux("send-keys", "-t", session, "anna")
    _wait(session, "anna")
    focused = _field_colours(session)["anna"]  # how the field with the focus looks
    _tmux("send-keys", "-t", session, "Enter")
    _wait_focus_moves(session, focused, "anna", "digits, then Enter")  # to the PIN field (its placeholder)
    _tmux("send-keys", "-t", session, "0000", "Enter")
    _wait(session, "Wrong operator or PIN")
    assert bd.table("hr.time").count({}) == 0
    _wait(session, "Enter your PIN.")  # the PIN guard's first wait is over: the field is open again
    _tmux("send-keys", "-t", session, "4711", "Enter")
    shown = _wait(session, "clocked out")
    assert "Anna Arndt" in shown
    # only the clock: no sidebar, no other screen
    assert "Directory" not in shown and "Employees" not in shown
    _tmux("send-keys", "-t", session, "i")
    _wait(session, "at work")
    bd.store.refresh()
    rows = bd.table("hr.time").find({"person_id": 1})
    assert len(rows) == 1 and rows[0]["end"] is None and rows[0]["by"] == "anna"
    # done: back at the login for the next person
    _tmux("send-keys", "-t", session, "Escape")
    _wait(session, "Clock terminal: log in with your PIN")
