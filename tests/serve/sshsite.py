"""Helpers for the serving tests: a site with SSH keys and a running server.

The server runs as its own process (``backdesk serve ssh --port 0``), exactly
as an administrator starts it; tests read its log for the port and the pid
of each session's Backdesk process.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require_peer, storage_yaml

#: how long the serving tests wait for a server, a session, a screen or a
#: log line: the deadline only ends a test that already failed, so it is
#: generous (several sessions on a loaded 2-CPU machine are slow, not wrong)
DEADLINE = 120.0

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1b\][^\x07]*\x07")

CONFIG = """\
site: {{name: Test GmbH, locale: en_US, timezone: Europe/Berlin, currency: EUR}}
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
operators:
  alice: {{name: Alice Admin, roles: [admin]}}
  bob: {{name: Bob Berger, roles: [admin]}}
{extra}ssh:
  max_sessions: {max_sessions}
  authorized_keys:
    alice: ["{alice}"]
    bob: ["{bob}"]
"""


def plain(data: bytes) -> str:
    """Terminal output without escape sequences (enough to find words in it)."""
    return ANSI.sub(b"", data).decode("utf-8", "replace")


def focused_label(label: str) -> re.Pattern:
    """``label`` drawn in reverse video (SGR 7, maybe followed by colour
    sequences): how a form shows the field that has the focus
    (core/shell/widgets/record_form.tcss). Matches raw terminal output, as the app
    writes it or as ``tmux capture-pane -e`` gives it back."""
    return re.compile(r"\x1b\[(?:\d+;)*7(?:;\d+)*m(?:\x1b\[[\d;]*m)*" + re.escape(label))


class SshSite:
    """A config and data folder, keys for alice, bob and an outsider, and a server."""

    def __init__(self, root: Path) -> None:
        require_peer("ssh-keygen", shutil.which("ssh-keygen") is not None, "apt-get install openssh-client")
        self.root = root
        self.config_dir = root / "config"
        self.data_dir = root / "data"
        self.config_dir.mkdir()
        self.keys = {}
        for name in ("alice", "bob", "eve"):
            path = root / f"{name}_key"
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
            self.keys[name] = path
        self.write_config()
        (self.config_dir / "plugins.yaml").write_text("plugins: []\n")
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = root / "server.log"

    def write_config(self, *, max_sessions: int = 20, extra: str = "") -> None:
        pub = {n: (p.with_suffix(".pub").read_text().strip()) for n, p in self.keys.items()}
        (self.config_dir / "backdesk.yaml").write_text(
            CONFIG.format(alice=pub["alice"], bob=pub["bob"], max_sessions=max_sessions, extra=extra)
            + storage_yaml(self.config_dir))

    def args(self) -> list[str]:
        return ["--config-dir", str(self.config_dir), "--data-dir", str(self.data_dir)]

    def start(self, *extra: str) -> int:
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "core", *self.args(), "serve", "ssh",
                                      "--port", "0", *extra], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log())
            if m:
                self.port = int(m.group(1))
                return self.port
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("the SSH server did not start:\n" + self.log())

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def session_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"started \(pid (\d+)", self.log())]

    def wait_log(self, pattern: str, timeout: float = DEADLINE) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log())
            if m:
                return m
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not in the server log:\n{self.log()}")

    def ssh_argv(self, who: str = "alice", *options: str) -> list[str]:
        return ["ssh", "-i", str(self.keys[who]), "-p", str(self.port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                *options, f"{who}@127.0.0.1"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
