"""``backdesk serve ssh``: every SSH connection gets its own Backdesk process.

Textual's terminal driver owns the whole process (stdin, stdout, SIGWINCH),
so the server never runs the app itself: for each authenticated connection
with a PTY it opens a pseudo-terminal, starts ``python -m core --config-dir
... --data-dir ...`` on its slave side in a new session (the slave is the
child's controlling terminal) and copies bytes between the PTY master and
the SSH channel. All processes share the data through core storage, whose
commits are atomic.

- Authentication: public keys only, per operator (``ssh.authorized_keys``),
  plus certificates signed by ``ssh.trusted_user_ca_keys`` for the account
  named as a principal. The SSH user name is the operator's account.
- The operator reaches the child through :mod:`core.cli.serve.session` (an
  inherited pipe carrying an HMAC made with a secret in the data folder),
  never through a variable a local user could set.
- TERM and the size come from the PTY request; resizes are applied with
  TIOCSWINSZ, which makes the kernel send SIGWINCH to the child's process
  group (sent again explicitly). ``TEXTUAL_ANIMATIONS=none``: no bytes spent
  on animations.
- A connection without a PTY, or one asking to run a command, is refused
  with a one-line explanation.
- ``ssh.idle_timeout_minutes`` without a key press ends the session;
  ``ssh.max_sessions`` caps concurrent sessions; each session logs a line
  when it starts and one when it ends (who, from where, how long, bytes).
- A dropped connection sends SIGHUP to the child's process group; the child
  leaves like Ctrl+Q, and after :data:`HANGUP_GRACE` seconds what is left is
  killed, so no process outlives its connection.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pty
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import asyncssh

from core.errors import BackdeskError
from core.plugins.runtime import open_configured_store
from core.cli.serve.session import ENV_SESSION_FD, pass_account, serve_dir

log = logging.getLogger("backdesk.serve.ssh")

HOST_KEY_NAME = "ssh_host_ed25519_key"
#: seconds a hung-up child gets to leave before it is killed
HANGUP_GRACE = 5.0
#: the environment a child never inherits from the server
_DROP_ENV = ("SSH_", "BACKDESK_CONFIG_DIR", "BACKDESK_DATA_DIR", ENV_SESSION_FD, "COLORTERM",
             "TMUX", "STY", "COLUMNS", "LINES")


def load_host_key(config) -> asyncssh.SSHKey:
    """The host key: ``ssh.host_key`` or one kept in the data folder, made on first start (0600)."""
    path = Path(config.ssh.host_key) if config.ssh.host_key else serve_dir(config.data_dir) / HOST_KEY_NAME
    if not path.exists():
        key = asyncssh.generate_private_key("ssh-ed25519", comment="backdesk host key")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.export_private_key())
        log.info("created host key %s (%s)", path, key.get_fingerprint())
        return key
    if os.stat(path).st_mode & 0o077:
        raise BackdeskError(f"{path}: the host key must be readable by its owner alone (chmod 600)")
    return asyncssh.read_private_key(str(path))


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", max(rows, 1), max(cols, 1), 0, 0))


def _controlling_tty() -> None:  # runs in the child between fork and exec, after setsid
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Hub:
    """What the server shares between connections: config, limits, live sessions."""

    def __init__(self, config, *, config_dir: Path, data_dir: Path,
                 idle_timeout: float | None = None) -> None:
        self.config = config
        self.config_dir = Path(config_dir).resolve()
        self.data_dir = Path(data_dir).resolve()
        minutes = config.ssh.idle_timeout_minutes
        self.idle_timeout = idle_timeout if idle_timeout is not None else minutes * 60.0
        self.max_sessions = config.ssh.max_sessions
        self.sessions: set[OperatorSession] = set()
        self.closing = False

    def authorized_keys(self, account: str) -> asyncssh.SSHAuthorizedKeys | None:
        """The keys that may log in as ``account``; None for no operator."""
        if account not in self.config.operators:
            return None
        lines = list(self.config.ssh.authorized_keys.get(account, ()))
        lines += [f"cert-authority {ca}" for ca in self.config.ssh.trusted_user_ca_keys]
        if not lines:
            return None
        return asyncssh.import_authorized_keys("\n".join(lines) + "\n")

    def child_argv(self) -> list[str]:
        # -P: the child runs in the data folder, whose per-namespace folders
        # ("core/" once the store has compacted) must not shadow the package
        return [sys.executable, "-P", "-m", "core", "--config-dir", str(self.config_dir),
                "--data-dir", str(self.data_dir)]

    def child_env(self, term: str, client_env: dict) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP_ENV)}
        env["TERM"] = term or "xterm"
        env["TEXTUAL_ANIMATIONS"] = "none"  # over SSH every animation frame costs bytes
        if client_env.get("COLORTERM") in ("truecolor", "24bit"):
            env["COLORTERM"] = client_env["COLORTERM"]
        for key in ("LANG", "LC_ALL"):
            if key in client_env:
                env[key] = client_env[key]
        env.setdefault("LANG", "C.UTF-8")
        return env

    async def watch_idle(self) -> None:
        if not self.idle_timeout:
            return
        while not self.closing:
            await asyncio.sleep(max(0.05, min(30.0, self.idle_timeout / 4)))
            now = time.monotonic()
            for session in list(self.sessions):
                if now - session.last_input >= self.idle_timeout:
                    session.end("idle")


class BackdeskSSHServer(asyncssh.SSHServer):
    """One SSH connection: public-key authentication mapped to an operator."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.conn = None
        self.peer = "?"

    def connection_made(self, conn) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self.peer = f"{peer[0]}:{peer[1]}"

    def connection_lost(self, exc) -> None:
        if exc is not None and not isinstance(exc, asyncssh.ConnectionLost):
            log.info("connection from %s closed: %s", self.peer, exc)

    def begin_auth(self, username: str) -> bool:
        keys = self.hub.authorized_keys(username)
        if keys is None:
            log.info("refused %s from %s: no keys configured for this account", username, self.peer)
            keys = asyncssh.import_authorized_keys("")
        self.conn.set_authorized_keys(keys)
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def session_requested(self):
        return OperatorSession(self.hub, self.conn.get_extra_info("username"), self.peer)


class OperatorSession(asyncssh.SSHServerSession):
    """One operator's session: the SSH channel joined to their own PTY and process."""

    def __init__(self, hub: Hub, account: str, peer: str) -> None:
        self.hub = hub
        self.account = account
        self.peer = peer
        self.chan = None
        self.term: str | None = None
        self.size = (80, 24)
        self.command: str | None = None
        self.master: int | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.started = time.monotonic()
        self.last_input = time.monotonic()
        self.bytes_out = 0
        self.reason = "quit"
        self._reading = False
        self._done = False

    # -- requests ---------------------------------------------------------------------
    def connection_made(self, chan) -> None:
        self.chan = chan

    def pty_requested(self, term_type, term_size, term_modes) -> bool:
        self.term = term_type
        cols, rows = term_size[0], term_size[1]
        self.size = (cols or 80, rows or 24)
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return True

    def session_started(self) -> None:
        asyncio.get_running_loop().create_task(self._start())

    async def _start(self) -> None:
        if self.command is not None:
            return self._refuse("Backdesk runs no commands over SSH: connect without one (ssh -t).")
        if self.term is None:
            return self._refuse("Backdesk needs a terminal: connect with ssh -t "
                                "(this session asked for none).")
        if len(self.hub.sessions) >= self.hub.max_sessions:
            log.warning("refused %s from %s: all %d sessions in use", self.account, self.peer,
                        self.hub.max_sessions)
            return self._refuse(f"All {self.hub.max_sessions} Backdesk sessions are in use; "
                                "try again later.")
        master, slave = pty.openpty()
        _set_size(slave, *self.size)
        env = self.hub.child_env(self.term, self.chan.get_environment() or {})
        fd = pass_account(self.hub.data_dir, self.account, env)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.hub.child_argv(), stdin=slave, stdout=slave, stderr=slave, env=env,
                pass_fds=(fd,), start_new_session=True, preexec_fn=_controlling_tty,
                cwd=str(self.hub.data_dir))
        except OSError as exc:
            os.close(master)
            log.error("could not start Backdesk for %s: %s", self.account, exc)
            return self._refuse(f"Backdesk could not start: {exc}")
        finally:
            os.close(slave)
            os.close(fd)
        self.master = master
        os.set_blocking(master, False)
        self.hub.sessions.add(self)
        log.info("session %s from %s started (pid %d, %s %dx%d)", self.account, self.peer,
                 self.proc.pid, self.term, *self.size)
        self._resume_reading()
        asyncio.get_running_loop().create_task(self._wait_child())

    def _refuse(self, message: str) -> None:
        self.chan.write(f"backdesk: {message}\r\n".encode())
        self.chan.exit(1)

    # -- bytes both ways --------------------------------------------------------------
    def _resume_reading(self) -> None:
        if self.master is not None and not self._reading:
            asyncio.get_running_loop().add_reader(self.master, self._pty_readable)
            self._reading = True

    def _pause_reading(self) -> None:
        if self.master is not None and self._reading:
            asyncio.get_running_loop().remove_reader(self.master)
            self._reading = False

    def _pty_readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: every slave fd is closed, the child is leaving
            data = b""
        if not data:
            self._pause_reading()
            return
        if self._done:
            return  # the connection is gone: drain so the child never blocks writing
        self.bytes_out += len(data)
        self.chan.write(data)

    def pause_writing(self) -> None:
        self._pause_reading()  # a slow client: let the PTY buffer fill, the app waits

    def resume_writing(self) -> None:
        self._resume_reading()

    def data_received(self, data: bytes, datatype) -> None:
        self.last_input = time.monotonic()
        if self.master is None:
            return
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.master, view)
            except BlockingIOError:
                time.sleep(0.001)  # the child is not reading; input is small
                continue
            except OSError:
                return
            view = view[n:]

    def terminal_size_changed(self, width, height, pixwidth, pixheight) -> None:
        self.size = (width or self.size[0], height or self.size[1])
        if self.master is None:
            return
        _set_size(self.master, *self.size)  # the kernel sends SIGWINCH to the foreground group
        self._signal(signal.SIGWINCH)

    def eof_received(self) -> bool:
        return True  # keep the channel open until the app leaves

    def break_received(self, msec) -> bool:
        return True  # no SIGINT for a break

    def connection_lost(self, exc) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self._done = True
            self.end("hangup")

    # -- ending -------------------------------------------------------------------------
    def _signal(self, sig: int) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def end(self, reason: str) -> None:
        """End this session: SIGHUP now, SIGKILL after the grace period."""
        if self.proc is None or self.proc.returncode is not None:
            return
        if self.reason == "quit":
            self.reason = reason
        self._signal(signal.SIGHUP)
        asyncio.get_running_loop().call_later(HANGUP_GRACE, self._signal, signal.SIGKILL)

    async def _wait_child(self) -> None:
        rc = await self.proc.wait()
        # drain what the app wrote while leaving (it restores the screen)
        await asyncio.sleep(0.05)
        if self.master is not None:
            while self._reading and not self._done:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    break
                if not data:
                    break
                self.bytes_out += len(data)
                self.chan.write(data)
            self._pause_reading()
            os.close(self.master)
            self.master = None
        # a child that left its own process group still goes with the session
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.hub.sessions.discard(self)
        took = time.monotonic() - self.started
        log.info("session %s from %s ended after %.1f s (%s, exit %s, %d bytes sent)",
                 self.account, self.peer, took, self.reason, rc, self.bytes_out)
        if not self._done:
            if self.reason == "idle":
                minutes = self.hub.idle_timeout / 60
                self.chan.write(f"backdesk: session closed after {minutes:g} idle minutes.\r\n".encode())
                rc = 0  # closing an idle session is no failure
            self._done = True
            self.chan.exit(max(rc, 0) if rc is not None else 1)


async def start_server(config, *, listen: str | None = None, port: int | None = None,
                       config_dir=None, data_dir=None, idle_timeout: float | None = None):
    """Start listening; returns (asyncssh server, Hub). Port 0 picks a free port."""
    open_configured_store(config).close()  # a new data folder is created as the store wants it
    hub = Hub(config, config_dir=config_dir or config.config_dir, data_dir=data_dir or config.data_dir,
              idle_timeout=idle_timeout)
    host_key = load_host_key(config)
    server = await asyncssh.create_server(
        lambda: BackdeskSSHServer(hub),
        listen or config.ssh.listen, config.ssh.port if port is None else port,
        server_host_keys=[host_key], line_editor=False, encoding=None,
        allow_scp=False, agent_forwarding=False, x11_forwarding=False,
        sftp_factory=None, login_timeout=60, keepalive_interval=60, keepalive_count_max=3)
    hub.idle_task = asyncio.get_running_loop().create_task(hub.watch_idle())
    return server, hub


async def serve_forever(config, **kwargs) -> None:
    server, hub = await start_server(config, **kwargs)
    sock = server.sockets[0].getsockname()
    log.info("Backdesk SSH server listening on %s:%d", sock[0], sock[1])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: hanging up %d session(s)", len(hub.sessions))
    hub.closing = True
    server.close()
    for session in list(hub.sessions):
        session.end("server stopped")
    for _ in range(int(HANGUP_GRACE / 0.1) + 10):
        if not hub.sessions:
            break
        await asyncio.sleep(0.1)


def run_server(config, *, listen=None, port=None, config_dir=None, data_dir=None,
               idle_timeout: float | None = None) -> None:
    """``backdesk serve ssh``: run until SIGTERM or Ctrl+C."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s backdesk-ssh %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    asyncio.run(serve_forever(config, listen=listen, port=port, config_dir=config_dir,
                              data_dir=data_dir, idle_timeout=idle_timeout))
