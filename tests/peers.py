"""Real peers for the test suite: started by the session, private, verified
whole before use, stopped afterwards.

A *peer* is a real program the tests talk to (HylaFAX, PostgreSQL, an SMTP
server, Asterisk, Dovecot, CUPS, …).  The rules every peer follows here:

- **its own port**, chosen free at run time (:func:`free_port`), never a
  fixed one, and never whatever already answers there;
- **its own directory** (:func:`private_dir`), so nothing of the machine's
  own state (a system spool, a stale daemon, another test suite running at
  the same time) can matter;
- **verified whole** before use: not "a port answers" but "the listener on
  that port is *our* process, and the service does its job" (for HylaFAX:
  hfaxd *and* faxq, a ``faxstat -s`` that says the scheduler runs);
- **stopped** at the end of the session (and at interpreter exit) by its
  process group, which it got to itself when started.

Writing a peer: subclass :class:`Peer`, and give it a session fixture with
:func:`session_peer`::

    from tests.peers import Peer, free_port, session_peer

    class Dovecot(Peer):
        name = "Dovecot"

        def requirements(self):          # (found, how to get it) pairs
            return [(shutil.which("dovecot") is not None, "apt-get install dovecot-imapd")]

        def launch(self):                # self.dir: a fresh private directory
            self.port = free_port()
            conf = self.dir / "dovecot.conf"
            conf.write_text(f"... listen = 127.0.0.1 ... port = {self.port} ...")
            self.spawn(["dovecot", "-F", "-c", str(conf)])

        def problems(self):              # [] when whole; checked until it is
            return self.process_problems() or self.listener_problems(self.port) \\
                or ([] if imap_login_works(self.port) else ["IMAP login refused"])

    @pytest.fixture
    def dovecot():
        return session_peer(Dovecot)     # started once, re-checked per use

What :func:`session_peer` does: a peer whose requirements are not met is
skipped here but *fails* in CI (``CI=true``), through :func:`require_peer`;
one that is installed but cannot be made whole fails everywhere, with its
problems and the tail of its logs.  A started peer is re-checked each time
it is asked for and restarted when it is no longer whole.  If a peer's port
was taken by a foreign listener between choosing and binding, :meth:`Peer.start`
tries again on a new port.

Import this module as ``tests.peers`` (one registry per session; this file
must not be imported under a second name).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

import pytest

P = TypeVar("P", bound="Peer")

#: where peers keep their private directories (the system temp dir: pytest's
#: own tmp dirs are root-only, and peers often run as another user)
DIR_PREFIX = "backdesk-peer-"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_peer(name: str, found: bool, why: str) -> None:
    """Skip when a real peer is missing, but fail in CI (CI=true): a skipped
    test is not a passing one."""
    if found:
        return
    if in_ci():
        pytest.fail(f"{name} is required in CI: {why}")
    pytest.skip(f"{name} not available: {why}")


# -- ports ---------------------------------------------------------------------

def free_port(host: str = "127.0.0.1", *, reserve: bool = True) -> int:
    """A TCP port on ``host`` that nothing listens on.

    With ``reserve`` (the default) the port is held back for about a minute:
    it is left in TIME_WAIT, so the kernel hands it to no other ``bind()`` to
    port 0 on the machine (another test suite choosing its ports the same
    way), while a server that sets SO_REUSEADDR can bind it — checked for
    asyncio/aiohttp servers (aiosmtpd, textual-serve), Python's http.server
    and hfaxd; Chromium picks its own DevTools port.  A server that does not
    set SO_REUSEADDR cannot bind a held port: give it ``reserve=False``.
    (The trick of Yelp's ephemeral-port-reserve package, used here.)"""
    if reserve:
        from ephemeral_port_reserve import reserve as hold

        return int(hold(host))
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def listener_pids(port: int) -> set[int | None]:
    """Process ids holding a listening TCP socket on ``port`` (any address,
    IPv4 or IPv6); None for a socket whose process cannot be seen."""
    import psutil

    return {c.pid for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port}


def _describe_pid(pid: int | None) -> str:
    if pid is None:
        return "a process this user cannot see"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmd = "?"
    return f"pid {pid} ({cmd[:80]})"


# -- directories ---------------------------------------------------------------

def private_dir(name: str, *, owner: str | None = None, mode: int = 0o700) -> Path:
    """A fresh directory for one peer in the system temp dir (unique name;
    given to ``owner`` when a peer runs as another user)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "peer"
    path = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{slug}-"))
    os.chmod(path, mode)
    if owner is not None:
        shutil.chown(path, owner, owner)
    return path


# -- waiting -------------------------------------------------------------------

def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Call ``predicate`` until it returns something true or ``timeout``
    seconds have passed; True when it did."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# -- processes -----------------------------------------------------------------

def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state, fields[2] the process group
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


class Process:
    """A program a peer started: in a session (process group) of its own,
    stdin from /dev/null, stdout and stderr into ``log``.

    (mirakuru does this too, but its exit clean-up kills every process on
    the machine whose environment *contains our pid as a substring* — on a
    machine shared by several test suites that can hit theirs.)"""

    def __init__(self, argv: Sequence[str], *, log: Path, cwd: str | Path | None = None,
                 env: dict[str, str] | None = None, user: str | None = None) -> None:
        self.argv = [str(a) for a in argv]
        self.log = Path(log)
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, cwd=cwd, env=env, user=user,
                                          start_new_session=True)
        self.pid = self.popen.pid  # also its process group's id

    def exit_code(self) -> int | None:
        """None while it runs (the process is not reaped here: its pid, and
        so its process group id, stays ours until :meth:`stop`)."""
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # reaped already (here, or by a SIGCHLD handler elsewhere)
            if self.popen.returncode is not None:
                return self.popen.returncode
            return None if os.path.exists(f"/proc/{self.pid}") else -1
        if info is None:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.exit_code() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the whole group, SIGKILL to what is left after
        ``timeout``; then reap.  Only this process's own group is signalled."""
        if self.popen.returncode is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            # the leader is not reaped yet, so the group id cannot be reused
            if wait_until(lambda: not _group_members(self.pid), timeout if sig == signal.SIGTERM else 5):
                break
        self.popen.wait()

    def __repr__(self) -> str:
        return f"<Process {self.pid} {' '.join(self.argv)[:60]!r}>"


# -- peers ---------------------------------------------------------------------

class PeerError(Exception):
    """A peer could not be started whole."""


class Peer:
    """One real program (or a few) the tests talk to.  Subclasses set
    :attr:`name` and define :meth:`launch`, and usually :meth:`requirements`
    and :meth:`problems`; see the module docstring."""

    #: shown in messages ("HylaFAX")
    name: str = "peer"
    #: seconds :meth:`start` waits for :meth:`problems` to become empty
    start_timeout: float = 30.0
    #: attempts when the chosen port was taken by someone else meanwhile
    attempts: int = 3
    #: the user the private directory belongs to (None: the test runner)
    dir_owner: str | None = None
    #: mode of the private directory
    dir_mode: int = 0o700

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.port: int | None = None
        self.processes: list[Process] = []
        self.port_taken = False

    # -- what a peer defines ---------------------------------------------------
    def requirements(self) -> Iterable[tuple[bool, str]]:
        """``(found, how to get it)`` pairs: programs, privileges, packages."""
        return ()

    def launch(self) -> None:
        """Write the peer's files into :attr:`dir`, choose its port(s) with
        :func:`free_port`, and start its process(es) with :meth:`spawn`.
        Do not wait here: :meth:`start` waits for :meth:`problems`."""
        raise NotImplementedError

    def problems(self) -> list[str]:
        """What keeps the peer from being whole ([] when it is).  The
        default only says every spawned process still runs, which a server
        about to die on its config also does: a peer adds what shows it
        works (its own listener on its port, a protocol answer)."""
        return self.process_problems()

    # -- helpers for subclasses ------------------------------------------------
    def spawn(self, argv: Sequence[str], *, log: str | None = None, cwd: str | Path | None = None,
              env: dict[str, str] | None = None, user: str | None = None) -> Process:
        """Start a process of this peer (own process group; output in
        ``DIR/<log or program>.log``); stopped with the peer."""
        assert self.dir is not None, "spawn() belongs in launch()"
        log_name = log or Path(argv[0]).name
        proc = Process(argv, log=self.dir / f"{log_name}.log", cwd=cwd or self.dir, env=env, user=user)
        self.processes.append(proc)
        return proc

    def process_problems(self) -> list[str]:
        return [f"{p.log.stem} exited with code {code}" for p in self.processes
                if (code := p.exit_code()) is not None]

    def owns(self, pid: int | None) -> bool:
        """True for a process of this peer (any member of a spawned
        process's group) or of this test process (in-process servers)."""
        if pid is None:
            return False
        if pid == os.getpid():
            return True
        try:
            pgid = os.getpgid(pid)
        except ProcessLookupError:
            return False
        return any(pgid == p.pid for p in self.processes)

    def listener_problems(self, port: int | None) -> list[str]:
        """[] when something listens on ``port`` and every listener there is
        this peer's own; otherwise what is wrong.  A foreign listener sets
        :attr:`port_taken`, so :meth:`start` tries again on a new port."""
        if port is None:
            return ["no port chosen"]
        pids = listener_pids(port)
        if not pids:
            return [f"nothing listens on port {port} yet"]
        foreign = [pid for pid in pids if not self.owns(pid)]
        if foreign:
            self.port_taken = True
            return [f"port {port} is held by {_describe_pid(foreign[0])}, not by this {self.name}"]
        return []

    def logs(self, lines: int = 30) -> str:
        """The last ``lines`` of each log in the private directory."""
        out = []
        if self.dir is not None and self.dir.is_dir():
            for log in sorted(self.dir.glob("*.log")):
                text = log.read_text(errors="replace").splitlines()[-lines:]
                if text:
                    out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    # -- lifecycle -------------------------------------------------------------
    def start(self: P) -> P:
        """Launch and wait until whole; on a port taken meanwhile, stop and
        try again (up to :attr:`attempts`).  Raises :class:`PeerError`."""
        problems: list[str] = []
        report = ""
        for _ in range(self.attempts):
            self.port_taken = False
            self.dir = private_dir(self.name, owner=self.dir_owner, mode=self.dir_mode)
            _LIVE.append(self)  # stopped at exit even if the start goes wrong
            try:
                self.launch()
                # a process that died will not come back, a foreign listener
                # will not leave: no point waiting for either
                wait_until(lambda: not self.problems() or self.process_problems() or self.port_taken,
                           self.start_timeout, 0.1)
                problems = self.problems()
            except Exception as exc:  # a launch that raised is a problem to report
                problems = [f"{type(exc).__name__}: {exc}"]
            if not problems:
                return self
            if not self.port_taken and self.port is not None:
                self.listener_problems(self.port)  # a server that died on a taken port
            report = self.logs()
            retry = self.port_taken
            self.stop()
            if not retry:
                break
        raise PeerError(f"{self.name} did not start whole: {'; '.join(problems)}"
                        + (f"\n{report}" if report else ""))

    def stop(self) -> None:
        """Stop every process of this peer (by process group) and remove
        its private directory."""
        try:
            for proc in reversed(self.processes):
                proc.stop()
        finally:
            self.processes.clear()
            if self.dir is not None:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None
            while self in _LIVE:
                _LIVE.remove(self)

    def __enter__(self: P) -> P:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- the session's peers -------------------------------------------------------

#: every peer started and not yet stopped (stopped at session end and exit)
_LIVE: list[Peer] = []
#: session peers by key, and the message of those that could not start
_SESSION: dict[object, Peer] = {}
_FAILED: dict[object, str] = {}
#: other things to stop at session end (e.g. the PostgreSQL server)
_AT_END: list[Callable[[], None]] = []
#: set by SIGTERM: no new peers from then on
_TERMINATING = False


def session_peer(factory: Callable[[], P], key: object = None) -> P:
    """The test session's peer made by ``factory`` (a Peer subclass or a
    function returning a Peer), started on first use and checked whole on
    every use (restarted when it is not).  Missing requirements skip (fail
    in CI); a peer that cannot be made whole fails the test."""
    if _TERMINATING:
        pytest.exit("the test session got SIGTERM: no new peers", returncode=2)
    key = key if key is not None else factory
    if key in _FAILED:
        pytest.fail(_FAILED[key])
    peer = _SESSION.get(key)
    if peer is not None:
        if peer.dir is not None and not peer.problems():  # dir is None once stopped
            return peer  # type: ignore[return-value]
        peer.stop()
        del _SESSION[key]
    peer = factory()
    for found, why in peer.requirements():
        require_peer(peer.name, found, why)
    try:
        peer.start()
    except PeerError as exc:
        _FAILED[key] = str(exc)
        pytest.fail(str(exc))
    _SESSION[key] = peer
    return peer  # type: ignore[return-value]


def stop_on_sigterm() -> None:
    """On SIGTERM, stop the session's peers at once, then end the session
    like Ctrl+C (pytest still prints its summary); a second SIGTERM exits
    at once.  The peers are stopped in the handler itself because a
    KeyboardInterrupt raised inside, say, a weakref callback is swallowed
    and the session would go on.  (Called at session start; only when
    nobody else handles SIGTERM.)"""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def terminate(signum, frame):
        global _TERMINATING
        again = _TERMINATING
        _TERMINATING = True
        stop_all()
        if again:
            os._exit(128 + signum)
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)


def at_session_end(stop: Callable[[], None]) -> None:
    """Call ``stop`` when the session ends (or the interpreter exits)."""
    _AT_END.append(stop)


def stop_all() -> None:
    """Stop every peer started in this process (session end, and atexit)."""
    while _LIVE:
        try:
            _LIVE[-1].stop()  # removes it from _LIVE, also when it raises
        except Exception as exc:  # one stubborn peer must not keep the others running
            print(f"tests.peers: stopping a peer failed: {exc}")
    _SESSION.clear()
    _FAILED.clear()
    while _AT_END:
        try:
            _AT_END.pop()()
        except Exception as exc:  # one stubborn peer must not keep the others running
            print(f"tests.peers: stopping at session end failed: {exc}")


atexit.register(stop_all)
