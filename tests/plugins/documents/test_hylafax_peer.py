"""The HylaFAX peer owns its state: the two machines of issue #28.

- HylaFAX installed but never set up: the system spool has only
  ``etc/hosts.hfaxd`` (no ``etc/config``, no ``setup.cache``), so a
  ``faxq`` run on it exits at once and no FIFO appears.
- A stale ``hfaxd`` left listening on a port while its ``faxq`` is gone:
  it answers, but ``faxstat -s`` says the scheduler is not running.

Both are recreated here with the real programs (the stale hfaxd on a port
of its own, not on the machine's 4559, which another suite may use), and
the peer must come up whole and queue a fax regardless.
"""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from tests.peers import Process, free_port, listener_pids, private_dir, require_peer, session_peer, wait_until
from tests.plugins.documents.hylafax import LIBDATA, PACKAGE_SPOOL, SPOOL_DIRS, HylaFax, fax_user, which


@pytest.fixture
def needs_hylafax():
    for found, why in HylaFax().requirements():
        require_peer("HylaFAX", found, why)
    require_peer("HylaFAX", (PACKAGE_SPOOL / "bin").is_dir(), f"{PACKAGE_SPOOL}/bin (hylafax-server's spool)")


@pytest.fixture
def never_set_up(needs_hylafax):
    """A copy of the machine's HylaFAX as the packages leave it before
    anyone runs faxsetup: the spool skeleton with only ``etc/hosts.hfaxd``,
    and ``/etc/hylafax`` without ``setup.cache``/``setup.modem``."""
    root = private_dir("hylafax-never-set-up", mode=0o755)
    spool, libdata = root / "spool", root / "libdata"
    spool.mkdir()
    for name in ("bin", "config"):
        shutil.copytree(PACKAGE_SPOOL / name, spool / name, symlinks=True)
    for name in SPOOL_DIRS + ("etc",):
        (spool / name).mkdir(exist_ok=True)
    (spool / "etc" / "hosts.hfaxd").write_text("127.0.0.1\n")
    shutil.copytree(LIBDATA, libdata, symlinks=True,
                    ignore=shutil.ignore_patterns("setup.cache", "setup.modem"))
    user = fax_user()
    for path in [spool, *spool.rglob("*")]:
        if not path.is_symlink():
            shutil.chown(path, user, user)
    os.chmod(spool / "etc" / "hosts.hfaxd", 0o600)  # hfaxd ignores it otherwise
    yield spool, libdata
    shutil.rmtree(root, ignore_errors=True)


def _queued(peer: HylaFax, tmp_path) -> str:
    """Submit a page through the peer; the faxstat line of its job."""
    page = tmp_path / "page.txt"
    page.write_text("Please call back.\n")
    answer = peer.sendfax(page, "0301234567")
    assert "request id is" in answer, answer
    job_id = answer.split("request id is", 1)[1].split()[0]
    lines = [ln for ln in peer.faxstat().splitlines() if ln.split()[:1] == [job_id]]
    assert lines and "0301234567" in lines[0], peer.faxstat()
    return lines[0]


def test_a_spool_that_was_never_set_up(never_set_up, tmp_path):
    spool, libdata = never_set_up
    # the machine as it was: faxq on that spool dies at once, silently, no FIFO
    faxq = Process([which("faxq"), "-D", "-q", str(spool)], log=tmp_path / "faxq.log", cwd=spool)
    try:
        assert wait_until(lambda: not faxq.alive(), 15), "faxq kept running on a spool without etc/config"
        assert faxq.exit_code() != 0
        assert not (spool / "FIFO").exists()
    finally:
        faxq.stop()
    # the peer builds its own spool from the same packages and comes up whole
    with HylaFax(package_spool=spool, libdata=libdata) as peer:
        assert peer.problems() == []
        assert peer.faxstat().splitlines()[0].endswith(": Running")
        _queued(peer, tmp_path)
    assert sorted(p.name for p in (spool / "etc").iterdir()) == ["hosts.hfaxd"], "the machine's spool untouched"


def test_a_stale_hfaxd_without_its_faxq(never_set_up, tmp_path):
    spool, _ = never_set_up
    port = free_port()
    # an hfaxd left behind: it listens on every IPv4 address, as the one seen
    # on 4559 did ...
    stale = Process([which("hfaxd"), "-d", "-l", "0.0.0.0", "-i", str(port), "-q", str(spool)],
                    log=tmp_path / "stale.log", cwd=spool)
    try:
        assert wait_until(lambda: stale.pid in listener_pids(port), 15), "the stale hfaxd did not listen"
        # ... and answers, but no scheduler is behind it
        probe = HylaFax()
        probe.port = port
        # a new hfaxd's first answer can be lost under load (two suites at
        # once on 2 CPUs: no answer in 20 s, once); a second question is
        # answered at once, as the peer's own start asks again
        answers = []
        wait_until(lambda: answers.append(probe._faxstat(timeout=10)) or answers[-1][0], 45, 0.5)
        out, err = answers[-1]
        assert out.splitlines()[:1] and out.splitlines()[0].endswith(": Not running"), (out, err, stale.log_text())
        # the peer is asked for that very port: it sees the listener is not
        # its own hfaxd, moves to another port, and is whole there
        with HylaFax(port=port) as peer:
            assert peer.port != port
            assert peer.problems() == []
            _queued(peer, tmp_path)
        assert stale.alive(), "the peer stopped what it did not start"
    finally:
        stale.stop()


def test_a_peer_whose_faxq_died_is_not_whole_and_is_restarted(needs_hylafax):
    key = "test: faxq dies"
    peer = again = session_peer(HylaFax, key=key)
    try:
        os.killpg(peer.faxq.pid, signal.SIGKILL)
        assert wait_until(lambda: peer.problems(), 10)
        assert "faxq exited" in peer.problems()[0]
        again = session_peer(HylaFax, key=key)
        assert again is not peer and again.problems() == []
        assert peer.dir is None, "the broken one was stopped and its spool removed"
    finally:
        peer.stop()
        again.stop()
