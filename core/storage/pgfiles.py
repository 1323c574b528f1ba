"""Files in PostgreSQL: the file store of a PostgreSQL site.

On a PostgreSQL site no file is kept on one host: every host serving the
office stores and reads the same files in the database, beside the tables.
Two relations in the store's schema hold them::

    _files        (area, sha256, path, size, chunks, added, touched)   one row per file
    _file_chunks  (area, sha256, n, data bytea)                  its bytes, 1 MB a row

A file is stored in one transaction on a connection of its own: first its
``_files`` row (``INSERT … ON CONFLICT DO NOTHING``: when another host
stores the same bytes at the same moment, the second waits for the first's
commit and then finds them stored), then its chunks, hashed again as they
are read; a source that changed meanwhile rolls everything back.  So a
``_files`` row is only ever seen with all its chunks.  Reading streams the
chunks through a server-side cursor in one snapshot (two chunks in memory
at a time, whatever the file's size).

Programs that want a path (text extraction, OCR, spoolers, email
attachments) get a copy in the host's cache folder
(``<data_dir>/cache/<area>/ab/…``, 0600), written under a temporary name,
checked against its hash and renamed into place; the cache holds nothing
that is not also in the database and may be deleted at any time.  It is
kept small (:func:`trim_cache`, after each new copy): copies not used for
:data:`CACHE_MAX_AGE` (30 days) go, and while the area's cache holds more
than :data:`CACHE_MAX_BYTES` (500 MB) the least recently used go first;
a copy made or used in the last :data:`CACHE_KEEP` (10 minutes) is never
removed (a program may be about to open the path it was given).

The chunks' column keeps its bytes uncompressed (``STORAGE EXTERNAL``): the
files an office stores (PDF, JPEG, DOCX) are compressed already.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from datetime import timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from .errors import StorageError
from .filestore import (CHUNK, FILE_MODE, PARTIAL_PREFIX, FileChanged, FileMissing, FileStore, FolderFileStore,
                        Stored, StoredFile, area_folder, check_area, check_file_name, check_sha, copy_verified,
                        hash_file)
from .files import make_dir

FILES = "_files"
CHUNKS = "_file_chunks"
#: the host's cache of an area: what it may hold, how long a copy may go unused,
#: and how long a new or used copy is kept whatever the bounds say
CACHE_MAX_BYTES = 500 * 1024 * 1024
CACHE_MAX_AGE = 30 * 24 * 3600
CACHE_KEEP = 10 * 60


def _psycopg():
    try:
        import psycopg
    except ImportError:  # pragma: no cover - depends on the installation
        raise StorageError("the postgresql storage backend needs psycopg 3: "
                           "pip install 'backdesk[postgresql]'") from None
    return psycopg


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def create_file_tables(conn, schema: str, lock_key: int) -> None:
    """Create ``_files`` and ``_file_chunks`` in ``schema`` when missing (on
    ``conn``, autocommit; under an advisory lock so two hosts starting at
    once do not race)."""
    s = f'"{schema}"'
    exists = conn.execute("SELECT to_regclass(%s)", (f'{s}."{CHUNKS}"',)).fetchone()[0]
    if exists is not None:
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        conn.execute(f'CREATE TABLE IF NOT EXISTS {s}."{FILES}" ('
                     "area text NOT NULL, sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'), path text NOT NULL, "
                     "size bigint NOT NULL CHECK (size >= 0), chunks integer NOT NULL CHECK (chunks >= 0), "
                     "added timestamptz NOT NULL DEFAULT now(), touched timestamptz NOT NULL DEFAULT now(), "
                     "PRIMARY KEY (area, sha256))")
        conn.execute(f'CREATE TABLE IF NOT EXISTS {s}."{CHUNKS}" ('
                     "area text NOT NULL, sha256 text NOT NULL, n integer NOT NULL CHECK (n >= 0), "
                     "data bytea NOT NULL, PRIMARY KEY (area, sha256, n), "
                     f'FOREIGN KEY (area, sha256) REFERENCES {s}."{FILES}" (area, sha256) ON DELETE CASCADE)')
        conn.execute(f'ALTER TABLE {s}."{CHUNKS}" ALTER COLUMN data SET STORAGE EXTERNAL')


def files_lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"backdesk-files:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def check_files(conn, schema: str) -> list[str]:
    """One line per stored file whose chunks do not add up (on ``conn``)."""
    s = f'"{schema}"'
    if conn.execute("SELECT to_regclass(%s)", (f'{s}."{CHUNKS}"',)).fetchone()[0] is None:
        return []
    rows = conn.execute(
        f'SELECT f.area, f.sha256, f.size, f.chunks, count(c.n), coalesce(sum(octet_length(c.data)), 0) '
        f'FROM {s}."{FILES}" f LEFT JOIN {s}."{CHUNKS}" c ON c.area = f.area AND c.sha256 = f.sha256 '
        f'GROUP BY f.area, f.sha256, f.size, f.chunks '
        f'HAVING count(c.n) <> f.chunks OR coalesce(sum(octet_length(c.data)), 0) <> f.size '
        f'ORDER BY f.area, f.sha256').fetchall()
    return [f"file {area}/{sha[:16]}: {n} of {chunks} chunks, {got} of {size} bytes are stored; "
            "restore it from a backup" for area, sha, size, chunks, n, got in rows]


class PgFileStore(FileStore):
    """The files of one area in a PostgreSQL schema (see the module docstring).

    ``legacy_dir``: the folder the area's files were kept in on this host
    before the site kept them in PostgreSQL (``<data_dir>/<area>``); a file
    asked for that is not in the database but there is stored from it first
    (checked against its hash), so a site upgraded in place loses nothing.
    ``backdesk storage migrate`` moves them all at once."""

    def __init__(self, dsn: str, schema: str, area: str, *, cache_dir: str | os.PathLike,
                 legacy_dir: str | os.PathLike | None = None, full_names: bool = False,
                 where: str = "PostgreSQL", connect_timeout: int = 10) -> None:
        _psycopg()
        self.dsn = dsn
        self.schema = schema
        self.area = check_area(area)
        self.cache = Path(cache_dir)
        self.legacy = FolderFileStore(legacy_dir, area=area, full_names=full_names) if legacy_dir else None
        self.full_names = full_names
        self.where = f"{where}, files {area}"
        self.connect_timeout = connect_timeout
        self._files = f'"{schema}"."{FILES}"'
        self._chunks = f'"{schema}"."{CHUNKS}"'
        self._lock = threading.Lock()
        self._conn = None
        self._ready = False

    def folder_path(self, sha256: str) -> str:
        """Where the file goes in a folder of this area ("ab/cdef…")."""
        return f"{sha256[:2]}/{sha256 if self.full_names else sha256[2:]}"

    # -- connections --------------------------------------------------------------

    def _connect(self, *, autocommit: bool = True):
        psycopg = _psycopg()
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=self.connect_timeout,
                                   application_name="backdesk-files")
        except psycopg.Error as e:
            raise StorageError(f"cannot connect to PostgreSQL for files: {_one_line(e)}") from None
        try:
            if not self._ready:
                create_file_tables(conn, self.schema, files_lock_key(self.schema))
                self._ready = True
            if not autocommit:
                conn.autocommit = False
        except psycopg.Error as e:
            conn.close()
            raise StorageError(f"cannot create the file tables in PostgreSQL: {_one_line(e)}") from None
        return conn

    def _q(self, sql: str, params: Any = None) -> list[tuple]:
        """One statement on the shared connection (reconnecting once)."""
        psycopg = _psycopg()
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                try:
                    cur = self._conn.execute(sql, params)
                    return cur.fetchall() if cur.description is not None else []
                except psycopg.OperationalError as e:
                    if self._conn.broken or self._conn.closed:
                        self._conn = None
                        if attempt == 1:
                            continue
                    raise StorageError(f"{self.where}: {_one_line(e)}") from e
                except psycopg.Error as e:
                    raise StorageError(f"{self.where}: {_one_line(e)}") from e
        raise AssertionError("unreachable")  # pragma: no cover

    # -- writing ---------------------------------------------------------------------

    def put_file(self, source: str | os.PathLike, *, max_bytes: int | None = None,
                 name: str | None = None) -> Stored:
        """``name``: the file's own name, for a named area (``NAMED_AREAS``):
        a backup writes it under that name."""
        path = check_file_name(name) if name is not None else None
        sha, size = hash_file(source, max_bytes=max_bytes)
        if self._q(f"UPDATE {self._files} SET touched = now() WHERE area = %s AND sha256 = %s RETURNING 1",
                   (self.area, sha)):
            return Stored(sha, size, True)
        psycopg = _psycopg()
        conn = self._connect(autocommit=False)
        try:
            chunks = (size + CHUNK - 1) // CHUNK
            row = conn.execute(f"INSERT INTO {self._files} (area, sha256, path, size, chunks) "
                               "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                               (self.area, sha, path or self.folder_path(sha), size, chunks)).fetchone()
            if row is None:  # another host stored it meanwhile (we waited for its commit)
                conn.rollback()
                return Stored(sha, size, True)
            digest = hashlib.sha256()
            got = 0
            with open(source, "rb") as src, conn.cursor() as cur:
                n = 0
                while chunk := src.read(CHUNK):
                    got += len(chunk)
                    if got > size:
                        break
                    digest.update(chunk)
                    cur.execute(f"INSERT INTO {self._chunks} (area, sha256, n, data) VALUES (%s, %s, %s, %b)",
                                (self.area, sha, n, chunk))
                    n += 1
            if got != size or digest.hexdigest() != sha:
                conn.rollback()
                raise FileChanged(f"{os.fspath(source)} changed while it was being stored")
            conn.commit()
            return Stored(sha, size, False)
        except psycopg.Error as e:
            raise StorageError(f"storing a file in PostgreSQL failed: {_one_line(e)}; nothing was stored") from e
        finally:
            conn.close()

    def put_bytes(self, data: bytes, *, name: str | None = None) -> Stored:
        with tempfile.TemporaryDirectory() as tmpdir:
            src = Path(tmpdir) / "file"
            src.write_bytes(data)
            return self.put_file(src, name=name)

    def names(self) -> dict[str, str]:
        """sha256 -> the name (or folder path) each stored file of the area goes by."""
        return dict(self._q(f"SELECT sha256, path FROM {self._files} WHERE area = %s", (self.area,)))

    def remove(self, sha256: str) -> bool:
        return bool(self._q(f"DELETE FROM {self._files} WHERE area = %s AND sha256 = %s RETURNING 1",
                            (self.area, check_sha(sha256))))

    def _from_legacy(self, sha: str) -> int | None:
        """Store the file from the host's old folder when it is there; its size."""
        if self.legacy is None or not self.legacy.exists(sha):
            return None
        stored = self.put_file(self.legacy.path_of(sha))
        if stored.sha256 != sha:
            return None  # the old folder's copy is damaged: not taken
        return stored.size

    # -- reading ---------------------------------------------------------------------

    def size(self, sha256: str) -> int | None:
        rows = self._q(f"SELECT size FROM {self._files} WHERE area = %s AND sha256 = %s",
                       (self.area, check_sha(sha256)))
        return rows[0][0] if rows else self._from_legacy(sha256)

    def open(self, sha256: str) -> BinaryIO:
        check_sha(sha256)
        try:
            return ChunkReader(self._connect(autocommit=False), self.schema, self.area, sha256, self.where)
        except FileMissing:
            if self._from_legacy(sha256) is None:
                raise
        return ChunkReader(self._connect(autocommit=False), self.schema, self.area, sha256, self.where)

    def local_path(self, sha256: str) -> Path:
        sha = check_sha(sha256)
        size = self.size(sha)
        if size is None:
            raise FileMissing(f"{self.where}: no file {sha[:16]}")
        target = self.cache / sha[:2] / sha
        try:
            if target.stat().st_size == size:
                os.utime(target)  # used: the trimming keeps the copies in use
                return target
        except FileNotFoundError:
            pass
        write_verified(self.open(sha), target, sha, size)
        trim_cache(self.cache)
        return target

    def scan(self) -> Iterator[StoredFile]:
        rows = self._q(f"SELECT sha256, size, touched FROM {self._files} WHERE area = %s ORDER BY sha256",
                       (self.area,))
        for sha, size, touched in rows:
            yield StoredFile(sha, size, touched.astimezone(timezone.utc), None, sha)

    def recheck(self, item: StoredFile) -> StoredFile | None:
        rows = self._q(f"SELECT size, touched FROM {self._files} WHERE area = %s AND sha256 = %s",
                       (self.area, item.sha256))
        if not rows:
            return None
        return StoredFile(item.sha256, rows[0][0], rows[0][1].astimezone(timezone.utc), None, item.key)

    def discard(self, item: StoredFile) -> bool:
        return item.sha256 is not None and self.remove(item.sha256)

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"<PgFileStore {self.schema} {self.area}>"


def trim_cache(root: str | os.PathLike, *, max_bytes: int = CACHE_MAX_BYTES, max_age: float = CACHE_MAX_AGE,
               keep: float = CACHE_KEEP, now: float | None = None) -> tuple[int, int]:
    """Remove copies from the cache folder ``root`` (``<data_dir>/cache/<area>``):
    those not made or used for ``max_age`` seconds, then the least recently
    used while the rest holds more than ``max_bytes``; never one made or used
    in the last ``keep`` seconds.  Left-over temporary files older than
    ``keep`` go too.  Another process removing the same copy meanwhile is
    fine.  -> (files removed, bytes freed)."""
    import time

    now = time.time() if now is None else now
    found: list[tuple[float, int, str]] = []
    for folder in Path(root).glob("??"):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.is_file(follow_symlinks=False):
                found.append((st.st_mtime, st.st_size, entry.path))
    found.sort()  # least recently used first
    total = sum(size for _mtime, size, _path in found)
    removed = freed = 0
    for mtime, size, path in found:
        age = now - mtime
        if age < keep:
            break  # (sorted: every later one is newer)
        partial = os.path.basename(path).startswith(PARTIAL_PREFIX)
        if not (partial or age > max_age or total > max_bytes):
            continue
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        total -= size
        removed += 1
        freed += size
    return removed, freed


def write_verified(reader: BinaryIO, target: Path, sha256: str, size: int | None) -> None:
    """Copy ``reader`` (closed afterwards) to ``target`` through a temporary
    file in its folder, checked against ``sha256``, renamed into place (0600)."""
    make_dir(str(target.parent))
    fd, tmp = tempfile.mkstemp(prefix=PARTIAL_PREFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, reader:
            copy_verified(reader, out, sha256, size)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ChunkReader:
    """A stored file read a chunk (one row) at a time in one snapshot.

    ``conn``: a connection not in autocommit mode; the reader starts a
    repeatable-read transaction on it and closes it when closed — unless
    ``own`` is False (a backup reading many files in its one snapshot)."""

    def __init__(self, conn, schema: str, area: str, sha256: str, where: str, *, own: bool = True) -> None:
        psycopg = _psycopg()
        self._conn = conn
        self._own = own
        self._sql = f'SELECT data FROM "{schema}"."{CHUNKS}" WHERE area = %s AND sha256 = %s AND n = %s'
        self._key = (area, sha256)
        self._where = where
        self._sha = sha256
        try:
            if own:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = conn.execute(f'SELECT size, chunks FROM "{schema}"."{FILES}" WHERE area = %s AND sha256 = %s',
                               self._key).fetchone()
            if row is None:
                raise FileMissing(f"{where}: no file {sha256[:16]}")
        except psycopg.Error as e:
            self.close()
            raise StorageError(f"reading a file from PostgreSQL failed: {_one_line(e)}") from e
        except BaseException:
            self.close()
            raise
        self.size, self._chunks = row
        self._buf = b""
        self._next = 0

    def _more(self) -> bool:
        if self._next >= self._chunks:
            return False
        psycopg = _psycopg()
        try:
            row = self._conn.execute(self._sql, (*self._key, self._next), binary=True).fetchone()
        except psycopg.Error as e:
            raise StorageError(f"reading a file from PostgreSQL failed: {_one_line(e)}") from e
        if row is None:
            raise StorageError(f"{self._where}: file {self._sha[:16]} lacks chunk {self._next} of "
                               f"{self._chunks} (damaged): restore it from a backup")
        self._next += 1
        self._buf = self._buf + bytes(row[0]) if self._buf else bytes(row[0])
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            while self._more():
                pass
            out, self._buf = self._buf, b""
            return out
        while len(self._buf) < size and self._more():
            pass
        if len(self._buf) <= size:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._own:
            try:
                conn.close()
            except Exception:
                pass

    def __enter__(self) -> "ChunkReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def export_files(conn, schema: str, dest: str | os.PathLike) -> tuple[int, int]:
    """Write every stored file into ``dest/<area>/<path>`` (the folder
    layout; a named area's files under their names in its folder), each checked against its hash; on ``conn``, inside the caller's
    (repeatable-read) transaction.  -> (files, bytes)."""
    s = f'"{schema}"'
    if conn.execute("SELECT to_regclass(%s)", (f'{s}."{CHUNKS}"',)).fetchone()[0] is None:
        return 0, 0
    rows = conn.execute(f'SELECT area, sha256, path, size FROM {s}."{FILES}" ORDER BY area, sha256').fetchall()
    total = 0
    for area, sha, path, size in rows:
        target = Path(dest, *area_folder(area), *path.split("/"))
        reader = ChunkReader(conn, schema, area, sha, f"PostgreSQL schema {schema}", own=False)
        write_verified(reader, target, sha, size)
        total += size
    return len(rows), total


def file_listing(conn, schema: str) -> dict[str, list[tuple[str, int]]]:
    """area -> [(sha256, size)] of every stored file, by hash (on ``conn``)."""
    s = f'"{schema}"'
    if conn.execute("SELECT to_regclass(%s)", (f'{s}."{FILES}"',)).fetchone()[0] is None:
        return {}
    out: dict[str, list[tuple[str, int]]] = {}
    for area, sha, size in conn.execute(f'SELECT area, sha256, size FROM {s}."{FILES}" ORDER BY area, sha256'):
        out.setdefault(area, []).append((sha, size))
    return out
