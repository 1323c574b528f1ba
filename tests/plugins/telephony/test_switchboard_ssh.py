"""The operator's flow over the real OpenSSH client, in tmux at 80×24.

Three calls come in (``backdesk phone log`` ×3, as the issue reproduced it);
Bob, logged in over SSH, sees all three on the Switchboard, takes the second,
puts it through to the person the caller asked for — the picker starts on
her — with a note typed after Tab, and finds the note in the call history.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import require_peer
from tests.serve.sshsite import SshSite
from tests.serve.test_serve_openssh import Tmux

ALWAYS_OPEN = "business_hours: '00:00-24:00'\n      business_days: [1, 2, 3, 4, 5, 6, 7]"


@pytest.fixture
def office(tmp_path):
    require_peer("ssh", shutil.which("ssh") is not None, "apt-get install openssh-client")
    try:
        import asyncssh  # noqa: F401
    except ImportError:
        require_peer("asyncssh", False, "pip install 'backdesk[ssh]'")
    from core.services.access import current_account

    site = SshSite(tmp_path)
    cfg = site.config_dir / "backdesk.yaml"
    text = cfg.read_text()
    me = current_account()
    text = text.replace("bob: {name: Bob Berger, roles: [admin]}",
                        "bob: {name: Bob Berger, roles: [admin], email: bob@muster-partner.example}\n"
                        + (f"  {me}: {{name: Front Door, roles: [admin]}}" if me not in ("alice", "bob") else ""))
    cfg.write_text(text)
    (site.config_dir / "plugins.yaml").write_text(
        f"plugins:\n  - name: telephony\n    settings:\n      {ALWAYS_OPEN}\n")
    from core.plugins.runtime import open_backdesk

    bd = open_backdesk(site.config_dir, site.data_dir, account="alice", load_entry_points=False)
    try:
        bd.services.people.create_demo(1)
    finally:
        bd.close()
    yield site
    site.stop()


@pytest.fixture
def tmux():
    import os

    t = Tmux(f"backdesk-switchboard-{os.getpid()}")
    yield t
    t.kill()


def phone(site: SshSite, *args: str) -> str:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "core", *site.args(), "phone", *args],
                          capture_output=True, text=True, timeout=300)  # ends only a failing test: a loaded machine is slow
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_three_calls_the_second_put_through_with_a_note_over_ssh(office, tmux):
    phone(office, "log", "--from", "0301234561", "--to", "131", "--name", "Klaus Brandt")
    second = phone(office, "log", "--from", "0301234562", "--to", "Thomas Richter", "--name", "Erika Mustermann")
    phone(office, "log", "--from", "0301234563", "--name", "Otto Dritter")
    office.start()
    tmux.start(office.ssh_argv("bob", "-tt"))
    tmux.wait_for("Bob Berger")
    tmux.keys("F5")
    screen = tmux.wait_for("Otto Dritter")
    # every call on the line, each with its time, at once
    assert "Klaus Brandt" in screen and "Erika Mustermann" in screen
    assert screen.count("on the line") >= 3
    tmux.keys("2")
    tmux.wait_for("Call 2: Erika Mustermann")
    tmux.keys("t")
    tmux.wait_for("Transfer call 2 to")
    screen = tmux.wait_for("asked for")
    picked = next(line for line in screen.splitlines() if "asked for" in line)
    assert "Thomas Richter" in picked  # the picker starts on the person asked for
    tmux.keys("Tab")
    tmux.keys("Wants the new price list", literal=True)
    tmux.keys("Enter")
    screen = tmux.wait_for("Call 3: Otto Dritter")  # the put-through call left the board
    board = screen.split("find:")[0]
    assert "Erika Mustermann" not in board and "Klaus Brandt" in board
    # the note in the history
    tmux.keys("H")
    tmux.wait_for("Today: 3 calls")
    tmux.keys("Enter")  # the newest call first: Otto; down to Erika's
    tmux.wait_for("Call 3")
    tmux.keys("Escape")
    tmux.keys("Down", "Enter")
    screen = tmux.wait_for("new price list")
    transfer = screen[screen.index("Transfer"):]
    assert "Call " + second in screen and "→ Thomas Richter: Wants the" in transfer
    tmux.keys("Escape", "C-q")
