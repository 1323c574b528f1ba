"""The real OpenSSH client against ``backdesk serve ssh``, driven in tmux.

What a person does: log in with their key, see the dashboard, send a note
(written through core storage), then lose the connection abruptly. The
session's Backdesk process must be gone and the data intact.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import require_peer
from tests.serve.sshsite import DEADLINE, alive, focused_label


class Tmux:
    """One tmux server of our own (its own socket), one 80x24 window."""

    def __init__(self, name: str) -> None:
        require_peer("tmux", shutil.which("tmux") is not None, "apt-get install tmux")
        self.socket = name

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True,
                              capture_output=True, text=True).stdout

    def start(self, argv: list[str]) -> None:
        command = " ".join(["env", "TERM=xterm-16color", *argv])
        self.run("new-session", "-d", "-s", "t", "-x", "80", "-y", "24", command)

    def screen(self) -> str:
        try:
            return self.run("capture-pane", "-p", "-t", "t")
        except subprocess.CalledProcessError:
            return ""

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def wait_for(self, text: str, timeout: float = DEADLINE) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never showed; the screen:\n{self.screen()}")

    def wait_for_focus(self, label: str, timeout: float = DEADLINE) -> None:
        """Wait until the form shows the field labelled ``label`` focused:
        what a person waits for before typing into it."""
        shown = focused_label(label)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if shown.search(self.run("capture-pane", "-p", "-e", "-t", "t")):
                    return
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the focus never reached {label!r}; the screen:\n{self.screen()}")

    def pane_pid(self) -> int:
        return int(self.run("display-message", "-p", "-t", "t", "#{pane_pid}").strip())

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def tmux():
    t = Tmux(f"backdesk-test-{os.getpid()}")
    yield t
    t.kill()


def test_openssh_login_dashboard_note_and_abrupt_disconnect(ssh_site, tmux):
    ssh_site.start()
    tmux.start(ssh_site.ssh_argv("alice", "-tt"))
    screen = tmux.wait_for("Welcome, Alice Admin")
    assert "Test GmbH" in screen and "Alice Admin · admin" in screen
    session = ssh_site.wait_log(r"session alice from 127\.0\.0\.1:\d+ started \(pid (\d+), xterm-16color 80x24\)")
    child = int(session.group(1))
    assert alive(child)

    # one real action: a note to Bob, written through core storage
    tmux.keys("F4")
    tmux.wait_for("Your inbox is empty.")
    tmux.keys("n")
    tmux.wait_for("Send a note")
    tmux.keys("Enter")
    tmux.wait_for("Bob Berger (bob)")
    tmux.keys("Down")
    tmux.keys("Down")
    tmux.keys("Enter")
    tmux.wait_for("To * Bob Berger (bob)")
    tmux.keys("Tab")
    tmux.wait_for_focus("Message *")
    tmux.keys("Hello from OpenSSH", literal=True)
    tmux.wait_for("Hello from OpenSSH")
    tmux.keys("C-s")
    tmux.wait_for("Sent.")

    # the connection drops: the client dies without a goodbye
    os.kill(tmux.pane_pid(), signal.SIGKILL)
    ended = ssh_site.wait_log(r"session alice from \S+ ended after [\d.]+ s \((\w+), exit (-?\d+)")
    assert ended.group(1) == "hangup"
    assert ended.group(2) == "129", "the app left on SIGHUP like Ctrl+Q, not killed"
    deadline = time.monotonic() + DEADLINE
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "the session's Backdesk process outlived its connection"

    # the data is intact and the note is there, sent by alice
    check = subprocess.run([sys.executable, "-m", "core", *ssh_site.args(), "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    from core.plugins.runtime import open_backdesk

    bd = open_backdesk(ssh_site.config_dir, ssh_site.data_dir, account="bob")
    try:
        notes = bd.store.table("core", "notifications").all()
    finally:
        bd.close()
    assert [(n.get("account"), n.get("sender"), n.get("text")) for n in notes] == [
        ("bob", "alice", "Hello from OpenSSH")]


def test_wrong_key_and_unknown_account_are_refused(ssh_site):
    ssh_site.start()
    # eve's key offered for alice
    argv = ssh_site.ssh_argv("eve", "-tt")
    argv[-1] = "alice@127.0.0.1"
    result = subprocess.run(argv, capture_output=True, text=True, timeout=DEADLINE, stdin=subprocess.DEVNULL)
    assert result.returncode == 255 and "Permission denied (publickey)" in result.stderr
    # eve is no operator at all
    result = subprocess.run(ssh_site.ssh_argv("eve", "-tt"), capture_output=True, text=True, timeout=DEADLINE,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 255 and "Permission denied (publickey)" in result.stderr
    assert "no keys configured for this account" in ssh_site.log()
    assert "started (pid" not in ssh_site.log()


def test_no_pty_and_commands_are_refused_with_a_message(ssh_site):
    ssh_site.start()
    result = subprocess.run(ssh_site.ssh_argv("alice", "-T"), capture_output=True, text=True, timeout=DEADLINE,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert "Backdesk needs a terminal: connect with ssh -t" in result.stdout
    result = subprocess.run(ssh_site.ssh_argv("alice", "-T") + ["cat /etc/passwd"], capture_output=True,
                            text=True, timeout=DEADLINE, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "runs no commands" in result.stdout
    assert "root:" not in result.stdout


def test_idle_session_is_closed(ssh_site):
    ssh_site.start("--idle-timeout-seconds", "1.5")
    started = time.monotonic()
    result = subprocess.run(ssh_site.ssh_argv("alice", "-tt"), capture_output=True, timeout=DEADLINE,
                            stdin=subprocess.PIPE)
    took = time.monotonic() - started
    assert b"session closed after 0.025 idle minutes" in result.stdout
    assert result.returncode == 0 and took >= 1.5  # not before it was idle that long
    ended = ssh_site.wait_log(r"session alice from \S+ ended after [\d.]+ s \((\w+)")
    assert ended.group(1) == "idle"
    assert not any(alive(pid) for pid in ssh_site.session_pids())


def test_openssh_operator_logs_and_transfers_a_call(ssh_site, tmux):
    """The switchboard over a real ssh session: answer, blind transfer, stored."""
    (ssh_site.config_dir / "plugins.yaml").write_text(
        "plugins:\n  - name: telephony\n    settings:\n"
        "      business_hours: \"00:00-24:00\"\n      business_days: [1, 2, 3, 4, 5, 6, 7]\n")
    demo = subprocess.run([sys.executable, "-m", "core", *ssh_site.args(), "--demo", "demo"], capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr
    from core.plugins.runtime import open_backdesk
    from plugins.telephony.service import service_for

    def calls():
        bd = open_backdesk(ssh_site.config_dir, ssh_site.data_dir, account="alice")
        try:
            return service_for(bd.context("telephony")).calls.all(), bd.services.people.by_extension("131")
        finally:
            bd.close()

    before, anna = calls()
    ssh_site.start()
    tmux.start(ssh_site.ssh_argv("alice", "-tt"))
    tmux.wait_for("Welcome, Alice Admin")
    tmux.keys("F5")
    tmux.wait_for("No call on the line")
    # a colleague calls from extension 120 and wants Anna Becker
    tmux.keys("a")
    tmux.wait_for("who is calling?")
    tmux.keys("120", literal=True)
    tmux.keys("Enter")
    screen = tmux.wait_for("t transfer · T consult")  # the switchboard's line for a call on the line
    assert "Carla Conrad" in screen and "on the line" in screen
    tmux.keys("t")
    tmux.wait_for("Type a name, department or extension")
    tmux.keys("becker", literal=True)
    tmux.wait_for("becker")  # typed; the list follows the text before Enter (messages in order)
    tmux.keys("Enter")
    tmux.wait_for("No call on the line")
    tmux.keys("C-q")
    ssh_site.wait_log(r"session alice from \S+ ended after")

    after, _ = calls()
    assert len(after) == len(before) + 1
    call = after[-1]
    assert call["transfers"] and call["transfers"][-1]["to_person_id"] == anna["id"]
    assert call["transfers"][-1]["by"] == "alice"  # the SSH login is the operator
    assert call["transfers"][-1]["mode"] == "blind"
