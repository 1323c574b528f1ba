"""tests/peers.py: ports held back, whole-or-nothing starts, process groups
stopped, a foreign listener never taken for ours, skip here / fail in CI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from tests import peers
from tests.peers import Peer, PeerError, Process, free_port, listener_pids, session_peer, wait_until

ROOT = Path(__file__).resolve().parents[1]


class WebPeer(Peer):
    """Python's http.server on a free port, serving its private directory;
    whole when the listener is its own and the page lists its marker file."""

    name = "test web server"

    def __init__(self, port: int | None = None) -> None:
        super().__init__()
        self.wanted = port

    def launch(self) -> None:
        (self.dir / "marker.txt").write_text("ours\n")
        self.port, self.wanted = self.wanted or free_port(), None
        self.spawn([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(self.port)], log="http")

    def problems(self) -> list[str]:
        problems = self.process_problems() or self.listener_problems(self.port)
        if problems:
            return problems
        try:
            page = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5).read().decode()
        except OSError as exc:
            return [f"no page: {exc}"]
        return [] if "marker.txt" in page else ["the page is not ours"]


class Broken(Peer):
    """A server that dies on its config before it listens."""

    name = "broken peer"

    def launch(self) -> None:
        self.port = free_port()
        self.spawn(["sh", "-c", "sleep 0.2; echo 'config line 3: no such option' >&2; exit 3"], log="broken")

    def problems(self) -> list[str]:
        return self.process_problems() or self.listener_problems(self.port)


class Missing(Peer):
    name = "missing peer"

    def requirements(self):
        return [(False, "apt-get install missing-peer")]


def test_free_port_is_held_back_from_other_choosers_but_a_server_binds_it():
    port = free_port()
    plain = socket.socket()  # what bind(0) elsewhere checks against
    with pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))
    plain.close()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    try:
        assert listener_pids(port) == {os.getpid()}
    finally:
        server.close()


def test_a_peer_starts_whole_in_its_own_directory_and_stops_its_whole_group():
    peer = WebPeer().start()
    home = peer.dir
    assert home.is_dir() and home.name.startswith(peers.DIR_PREFIX + "test-web-server-")
    assert peer.problems() == []
    child = Process(["sh", "-c", "sleep 300 & sleep 300 & wait"], log=home / "kids.log")
    peer.processes.append(child)  # a process with children of its own
    assert wait_until(lambda: len(peers._group_members(child.pid)) == 3, 10)
    peer.stop()
    assert peers._group_members(child.pid) == []
    assert not home.exists()
    assert peer not in peers._LIVE


def test_a_foreign_listener_on_the_port_is_not_taken_for_the_peer(tmp_path):
    port = free_port()
    squatter = Process([sys.executable, "-c", textwrap.dedent(f"""
        import socket, time
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", {port})); s.listen(); time.sleep(300)""")], log=tmp_path / "squatter.log")
    try:
        assert wait_until(lambda: squatter.pid in listener_pids(port), 15)
        with WebPeer(port=port) as peer:
            assert peer.port != port
            assert peer.problems() == []
        assert squatter.alive(), "the peer stopped what it did not start"
    finally:
        squatter.stop()


def test_a_peer_that_cannot_be_made_whole_fails_with_its_log():
    with pytest.raises(PeerError) as failed:
        Broken().start()
    assert "broken exited with code 3" in str(failed.value)  # its problem ...
    assert "config line 3: no such option" in str(failed.value)  # ... and its log
    assert not list(Path(peers.tempfile.gettempdir()).glob(peers.DIR_PREFIX + "broken-peer-*"))
    # a session peer that failed fails every test asking for it, here too, at once
    for _ in range(2):
        with pytest.raises(pytest.fail.Exception, match="broken peer did not start whole"):
            session_peer(Broken)


@pytest.mark.parametrize("ci, outcome", [("", pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_a_missing_peer_skips_here_but_fails_in_ci(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="missing-peer"):
        session_peer(Missing)


def test_peers_left_running_are_stopped_when_the_interpreter_exits():
    script = textwrap.dedent("""
        from tests.peers import session_peer
        from tests.test_peers import WebPeer
        peer = session_peer(WebPeer)
        print(peer.processes[0].pid, peer.dir, flush=True)
        # no stop: the interpreter just ends
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    pid, home = out.stdout.split()
    assert peers._group_members(int(pid)) == []
    assert not Path(home).exists()


def test_a_session_ended_by_sigterm_stops_its_peers(tmp_path):
    """CI's time limit, or a person, may end a run with SIGTERM: the session
    still ends (tests/conftest.py: stop_on_sigterm) and stops its peers."""
    info = tmp_path / "peer.txt"
    (tmp_path / "test_sleeper.py").write_text(textwrap.dedent(f"""
        import time
        from tests.peers import session_peer
        from tests.test_peers import WebPeer

        def test_sleeps_with_a_peer():
            peer = session_peer(WebPeer)
            open({str(info)!r}, "w").write(f"{{peer.processes[0].pid}} {{peer.dir}}")
            time.sleep(120)
    """))
    session = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                                "--rootdir", str(tmp_path), str(tmp_path / "test_sleeper.py")],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: info.exists() and info.read_text(), 60), "the sleeper never started its peer"
        pid, home = info.read_text().split()
        assert peers._group_members(int(pid))
        session.terminate()
        out = session.communicate(timeout=60)[0]
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()
    assert peers._group_members(int(pid)) == [], out
    assert not Path(home).exists(), out
