"""Holds: work an office wants done once, by one process, whichever host.

Some work must run in one place per office — the IT checks watcher, the
outbox's sending, the audit archive — however many hosts serve it.  A
:class:`Hold` names such work ("it.checks"); the one process that has it
does the work, the others stand by and take over when it goes away:

* :class:`FolderHold` (the default backend, one host): ``flock(2)`` on
  ``<data_dir>/lock/<name>``.  The kernel releases it when the holder exits
  or is killed; a process standing by gets it on its next try.
* :class:`PgHold` (PostgreSQL, any number of hosts): a session-level
  ``pg_try_advisory_lock`` on a connection of its own.  PostgreSQL releases
  it when that session ends: at once when the holder's process dies (its
  socket closes), within about 10 seconds when its host vanishes (the
  session's TCP keepalives and ``client_connection_check_interval``).  The
  holder checks its connection before each piece of work (at most every
  ``check_every`` seconds) and stops when it is gone, so two hosts never
  both believe they hold it.  ``_holds`` in the schema records who took it
  and when; whether it is still held comes from ``pg_locks``.

``who`` is "host:pid" and the operator's account; :func:`held` (and
``backdesk status``) lists who holds what.
"""

from __future__ import annotations

import abc
import fcntl
import json
import os
import socket
import time
from datetime import datetime, timezone
from typing import Any

from .errors import StorageError
from .files import FILE_MODE, make_dir

LOCK_DIR = "lock"  # a reserved name: no plugin's folder can be called so
CHECK_EVERY = 2.0
_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not name or len(name) > 60 or not set(name) <= _NAME_OK or name[0] == ".":
        raise StorageError(f"hold {name!r}: use lower-case letters, digits, '.', '_' and '-' (\"it.checks\")")
    return name


def this_process(account: str | None = None) -> str:
    """``host:pid`` (and `` account``): who a hold names."""
    who = f"{socket.gethostname()[:40]}:{os.getpid()}"
    return f"{who} {account}" if account else who


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Hold(abc.ABC):
    """Once-per-office work ``name``; see the module docstring.  Nothing is
    taken until :meth:`held` is asked."""

    name: str
    who: str

    @abc.abstractmethod
    def held(self) -> bool:
        """Take the hold when nobody has it; whether this process has it now
        (a hold this process took is checked to be still its own)."""

    @abc.abstractmethod
    def holder(self) -> dict | None:
        """Who has the hold (``who``, ``since``), None when nobody does."""

    @abc.abstractmethod
    def release(self) -> None:
        """Give the hold up (also when the process ends)."""

    def __enter__(self) -> "Hold":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# -- one host: flock -----------------------------------------------------------------


class FolderHold(Hold):
    def __init__(self, data_dir: str, name: str, who: str) -> None:
        self.name = check_name(name)
        self.who = who
        self.path = os.path.join(data_dir, LOCK_DIR, name)
        self._fd: int | None = None

    def held(self) -> bool:
        if self._fd is not None:
            return True
        make_dir(os.path.dirname(self.path))
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        body = json.dumps({"who": self.who, "since": _now()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, body, 0)
        self._fd = fd
        return True

    def holder(self) -> dict | None:
        if self._fd is not None:
            return _read_holder(self.path)
        return folder_holder(self.path)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the file releases the flock


def _read_holder(path: str) -> dict | None:
    try:
        with open(path, "rb") as fh:
            found = json.loads(fh.read() or b"{}")
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("who") else None


def folder_holder(path: str) -> dict | None:
    """Who holds the flock on ``path`` (None when nobody does)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(path) or {"who": "?", "since": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def folder_holds(data_dir: str) -> list[dict]:
    """Every hold ever taken in ``data_dir``: ``name``, ``who``, ``since``, ``held``."""
    root = os.path.join(data_dir, LOCK_DIR)
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        path = os.path.join(root, name)
        if not os.path.isfile(path):
            continue
        holder = folder_holder(path)
        last = holder or _read_holder(path) or {}
        out.append({"name": name, "who": last.get("who"), "since": last.get("since"), "held": holder is not None})
    return out


# -- any number of hosts: PostgreSQL --------------------------------------------------


HOLDS = "_holds"


def hold_key(schema: str, name: str) -> int:
    import hashlib  # here: OpenSSL's ~1.5 ms (-X importtime, Textual loaded) on every start, which takes no PostgreSQL hold

    digest = hashlib.sha256(f"backdesk-hold:{schema}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock_parts(key: int) -> tuple[int, int]:
    """(classid, objid) as pg_locks shows a bigint advisory lock key."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


#: the session's own settings: a vanished client is noticed within ~10 s
_SESSION = ("SET tcp_keepalives_idle = 4", "SET tcp_keepalives_interval = 2", "SET tcp_keepalives_count = 3",
            "SET client_connection_check_interval = '2s'", "SET idle_session_timeout = 0")


class PgHold(Hold):
    def __init__(self, dsn: str, schema: str, name: str, who: str, *, check_every: float = CHECK_EVERY,
                 connect_timeout: int = 10) -> None:
        self.name = check_name(name)
        self.who = who
        self.dsn = dsn
        self.schema = schema
        self.key = hold_key(schema, name)
        self.check_every = check_every
        self.connect_timeout = connect_timeout
        self._table = f'"{schema}"."{HOLDS}"'
        self._conn: Any = None
        self._mine = False
        self._checked = 0.0

    def _connect(self):
        import psycopg

        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=self.connect_timeout,
                                   application_name=f"backdesk hold {self.name}"[:63],
                                   keepalives=1, keepalives_idle=4, keepalives_interval=2, keepalives_count=3)
        except psycopg.Error as e:
            raise StorageError(f"cannot connect to PostgreSQL for the hold {self.name}: "
                               f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") from None
        for sql in _SESSION:
            try:
                conn.execute(sql)
            except psycopg.Error:  # an older server without the setting: the keepalives still work
                pass
        conn.execute(f'CREATE TABLE IF NOT EXISTS {self._table} (name text PRIMARY KEY, who text NOT NULL, '
                     "since timestamptz NOT NULL, pid integer NOT NULL)")
        return conn

    def _lost(self) -> None:
        self._mine = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def held(self) -> bool:
        import psycopg

        try:
            if self._mine:
                if time.monotonic() - self._checked < self.check_every:
                    return True
                self._conn.execute("SELECT 1")  # the session (and so the lock) is still there
                self._checked = time.monotonic()
                return True
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            if not self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]:
                return False
            self._conn.execute(f"INSERT INTO {self._table} (name, who, since, pid) "
                               "VALUES (%s, %s, now(), pg_backend_pid()) ON CONFLICT (name) DO UPDATE "
                               "SET who = excluded.who, since = excluded.since, pid = excluded.pid",
                               (self.name, self.who))
            self._mine = True
            self._checked = time.monotonic()
            return True
        except psycopg.Error:
            self._lost()  # whatever it was, this process holds nothing now
            return False

    def holder(self) -> dict | None:
        import psycopg

        try:
            conn = self._conn if self._conn is not None and not self._conn.closed else None
            if conn is None:
                self._conn = conn = self._connect()
            for row in pg_holds(conn, self.schema, [self.name]):
                return row if row["held"] else None
        except psycopg.Error:
            return None
        return None

    def release(self) -> None:
        if self._mine and self._conn is not None:
            try:  # at once, not a moment after the session ends
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            except Exception:
                pass  # the session ends below all the same
        self._lost()  # the session ends: PostgreSQL releases its locks


def pg_holds(conn, schema: str, names: list[str] | None = None) -> list[dict]:
    """Every hold recorded in ``schema``: ``name``, ``who``, ``since`` and
    ``held`` (its holder's session still has the advisory lock)."""
    table = f'"{schema}"."{HOLDS}"'
    if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
        return []
    rows = conn.execute(f"SELECT name, who, since, pid FROM {table} ORDER BY name").fetchall()
    out = []
    for name, who, since, pid in rows:
        if names is not None and name not in names:
            continue
        classid, objid = _lock_parts(hold_key(schema, name))
        held = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                            "AND pid = %s AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1",
                            (pid, classid, objid)).fetchone()[0] > 0
        out.append({"name": name, "who": who, "since": since.astimezone(timezone.utc).isoformat()
                    .replace("+00:00", "Z"), "held": held})
    return out
