"""Two SSH front ends, one office: `backdesk serve ssh` of host A and of
host B (two config and data folders, each its own port and host key, one
PostgreSQL schema), the real OpenSSH client on each, driven in tmux. What
alice does in her session on A reaches bob's session on B: a note shows in
his open inbox, a document she files from A's intake folder is opened on B.
Runs on both passes: it starts the session's PostgreSQL server itself."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from tests.conftest import office_dsn, use_postgresql
from tests.serve.sshsite import SshSite
from tests.serve.test_serve_openssh import Tmux


class Host(SshSite):
    """An SSH site whose store is the office's PostgreSQL schema ``dsn``."""

    def __init__(self, root, dsn: str) -> None:
        self.dsn = dsn
        root.mkdir()
        super().__init__(root)

    def write_config(self, **kwargs) -> None:
        super().write_config(**kwargs)
        use_postgresql(self.config_dir, self.dsn)


@pytest.fixture
def office(tmp_path):
    dsn = office_dsn()
    hosts = [Host(tmp_path / "host-a", dsn), Host(tmp_path / "host-b", dsn)]
    screens = [Tmux(f"backdesk-a-{os.getpid()}"), Tmux(f"backdesk-b-{os.getpid()}")]
    yield hosts, screens
    for t in screens:
        t.kill()
    for h in hosts:
        h.stop()


def test_a_note_sent_in_a_session_on_host_a_shows_in_a_session_on_host_b(office):
    (a, b), (on_a, on_b) = office
    port_a, port_b = a.start(), b.start()
    assert port_a != port_b and a.data_dir != b.data_dir
    # host keys of their own: each server made one in its own data folder
    keys = [(h.data_dir / "serve" / "ssh_host_ed25519_key").read_bytes() for h in (a, b)]
    assert keys[0] != keys[1]

    # bob works on host B, his inbox open
    on_b.start(b.ssh_argv("bob", "-tt"))
    on_b.wait_for("Welcome, Bob Berger")
    b.wait_log(r"session bob from 127\.0\.0\.1:\d+ started")
    on_b.keys("F4")
    on_b.wait_for("Your inbox is empty.")

    # alice, on host A, sends him a note
    on_a.start(a.ssh_argv("alice", "-tt"))
    on_a.wait_for("Welcome, Alice Admin")
    a.wait_log(r"session alice from 127\.0\.0\.1:\d+ started")
    on_a.keys("F4")
    on_a.wait_for("Your inbox is empty.")
    on_a.keys("n")
    on_a.wait_for("Send a note")
    on_a.keys("Enter")
    on_a.wait_for("Bob Berger (bob)")
    on_a.keys("Down")
    on_a.keys("Down")
    on_a.keys("Enter")
    on_a.wait_for("To * Bob Berger (bob)")
    on_a.keys("Tab")
    on_a.wait_for_focus("Message *")
    on_a.keys("Filed on host A", literal=True)
    on_a.wait_for("Filed on host A")
    on_a.keys("C-s")
    on_a.wait_for("Sent.")

    # bob's open inbox on host B shows it (PostgreSQL's LISTEN/NOTIFY between the hosts)
    screen = on_b.wait_for("Filed on host A")
    assert "alice" in screen or "Alice" in screen

    # each server served its own session; the office's data is sound from either host
    assert "session alice" not in b.log() and "session bob" not in a.log()
    for host in (a, b):
        check = subprocess.run([sys.executable, "-m", "core", *host.args(), "check"], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stderr


def test_a_document_filed_in_a_session_on_host_a_is_opened_in_a_session_on_host_b(office):
    (a, b), (on_a, on_b) = office
    for host in (a, b):
        (host.config_dir / "plugins.yaml").write_text("plugins:\n  - name: documents\n")
    inbox = a.data_dir / "documents" / "inbox"
    inbox.mkdir(parents=True)
    content = b"Lieferschein 4711\nDrei Kartons Papier\n"
    (inbox / "lieferschein-4711.txt").write_bytes(content)
    a.start()
    b.start()

    on_a.start(a.ssh_argv("alice", "-tt"))
    on_a.wait_for("Welcome, Alice Admin")
    on_a.keys("F6")
    on_a.keys("a")
    on_a.wait_for("lieferschein-4711.txt")
    on_a.keys("Down")
    on_a.keys("Enter")
    on_a.wait_for("Default: the file name")
    on_a.keys("C-s")
    on_a.wait_for("Filed as ASN 1")

    # bob, on host B, finds it in the register and opens it
    on_b.start(b.ssh_argv("bob", "-tt"))
    on_b.wait_for("Welcome, Bob Berger")
    on_b.keys("F6")
    on_b.wait_for("lieferschein-4711")
    on_b.keys("Enter")
    screen = on_b.wait_for("Current file")
    sha = hashlib.sha256(content).hexdigest()
    assert "Document 1" in screen and f"v1 lieferschein-4711.txt ({sha[:12]})" in screen
    screen = on_b.wait_for("filed")  # the history, filled a moment later
    assert "alice" in screen, screen
    # its bytes came from PostgreSQL: neither host keeps the document's file in its data folder
    for host in (a, b):
        assert not (host.data_dir / "documents" / "files").exists()
    assert not (inbox / "lieferschein-4711.txt").exists()  # filed: it left A's intake folder
