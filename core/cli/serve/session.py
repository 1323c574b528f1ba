"""The operator identity a server hands to the Backdesk process it starts.

A Backdesk process normally acts for the OS account that runs it. A server
(``backdesk serve ssh``) runs as one service account for every operator, so
it must tell each child *which* operator it authenticated — in a way no
other local user can imitate.

How: the server keeps a random secret in ``<data_dir>/serve/session.key``
(0600, created on first use). For each session it opens a pipe, writes one
line ``{"account": ..., "nonce": ..., "mac": ...}`` with
``mac = HMAC-SHA256(secret, account + "\\n" + nonce)`` and closes its end;
the child inherits the read end and learns its number from
``BACKDESK_SESSION_FD``. The child reads the line once, closes the fd,
drops the variable (grandchildren such as a fax command never see it) and
accepts the account only when the MAC checks out against the secret it
reads from the same data folder, whose file must be owned by the process's
own user and not readable by others.

So a local user who sets ``BACKDESK_SESSION_FD`` and feeds a forged line
gets nowhere without the secret, and whoever can read the secret already
runs as the service account that owns the data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from pathlib import Path

from core.errors import BackdeskError

from core.cli.serve import ENV_SESSION_FD  # noqa: E402,F401 (the name servers and tests use)
SECRET_NAME = "session.key"


class SessionError(BackdeskError):
    """The identity handed to this process cannot be trusted."""


def serve_dir(data_dir: Path) -> Path:
    """``<data_dir>/serve`` (0700): the server's host key and session secret."""
    path = Path(data_dir) / "serve"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _secret_path(data_dir: Path) -> Path:
    return Path(data_dir) / "serve" / SECRET_NAME


def server_secret(data_dir: Path) -> bytes:
    """The secret (created 0600 on first use)."""
    path = serve_dir(data_dir) / SECRET_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    st = os.stat(path)
    if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SessionError(f"{path} must belong to this account and be readable by it alone (0600)")
    return bytes.fromhex(path.read_text().strip())


def _mac(secret: bytes, account: str, nonce: str) -> str:
    return hmac.new(secret, f"{account}\n{nonce}".encode(), hashlib.sha256).hexdigest()


def session_line(data_dir: Path, account: str) -> bytes:
    """The line the server writes into the child's pipe for ``account``."""
    nonce = secrets.token_hex(16)
    mac = _mac(server_secret(data_dir), account, nonce)
    return (json.dumps({"account": account, "nonce": nonce, "mac": mac}) + "\n").encode()


def pass_account(data_dir: Path, account: str, env: dict) -> int:
    """Open the pipe for a child about to start; returns the fd it must inherit.

    Sets ``env[BACKDESK_SESSION_FD]``. The caller passes the fd in
    ``pass_fds`` and closes it after the child started.
    """
    line = session_line(data_dir, account)
    r, w = os.pipe()
    try:
        os.write(w, line)  # far below the pipe buffer: never blocks
    finally:
        os.close(w)
    env[ENV_SESSION_FD] = str(r)
    return r


def take_account(data_dir: Path, environ: dict | None = None) -> str | None:
    """The account a server handed to this process, or None when none was.

    Raises :class:`SessionError` when ``BACKDESK_SESSION_FD`` is set but what
    it carries does not check out.
    """
    environ = os.environ if environ is None else environ
    value = environ.pop(ENV_SESSION_FD, None)
    if value is None:
        return None
    try:
        fd = int(value)
    except ValueError:
        raise SessionError(f"{ENV_SESSION_FD} is not a file descriptor") from None
    try:
        with os.fdopen(fd, "rb", closefd=True) as fh:
            data = fh.read(4096)
    except OSError as exc:
        raise SessionError(f"cannot read the session handed over: {exc}") from None
    try:
        doc = json.loads(data)
        account, nonce, mac = str(doc["account"]), str(doc["nonce"]), str(doc["mac"])
    except (ValueError, KeyError, TypeError):
        raise SessionError("the session handed over is malformed") from None
    path = _secret_path(data_dir)
    if not path.exists():
        raise SessionError("no server secret in the data folder: this session was not started by a server")
    if not hmac.compare_digest(_mac(_read_secret(path), account, nonce), mac):
        raise SessionError("the session handed over does not carry the server's signature")
    return account
