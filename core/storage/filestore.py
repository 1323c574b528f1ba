"""Files an office keeps — a document's versions, a CV — behind one interface.

A :class:`FileStore` keeps the bytes of files content-addressed by their
SHA-256 in one *area* (``"documents/files"``): the same bytes are stored
once, whoever stores them.  Records (a document's version, a candidate's CV)
hold the hash; the store holds the bytes.  Two kinds serve the interface:

* :class:`FolderFileStore` — the default (TinyDB) backend's: a folder in the
  data directory, ``<area>/ab/cdef…`` (folders 0700, files 0600).  A file is
  written to a temporary name in that folder, fsynced and renamed into
  place, so nobody ever reads half a file.
* :class:`core.storage.pgfiles.PgFileStore` — the PostgreSQL backend's: the
  bytes in the database beside the tables, so every host serving the office
  reads and writes the same files.

Get the right one for a store with ``store.files(area, local_dir=...)``
(plugins: ``ctx.store.files()``).  Every method streams: a file goes in and
comes out in chunks of :data:`CHUNK` bytes, never whole in memory.

Storing happens *before* the transaction that records the hash, so a record
never points at a file that is not there; a file stored by a filing whose
transaction then failed is an *orphan* (no record names it), listed by
:meth:`FileStore.scan` and removed by whoever owns the area's records
(``backdesk docs check --orphans --delete``).  A stored file's *modified*
time is renewed when the same bytes are stored again, so a clean-up can
leave recent files alone (a filing may be about to reference them).
"""

from __future__ import annotations

import abc
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import NotFound, StorageError
from .files import make_dir
from core.records import Record

CHUNK = 1 << 20
PARTIAL_PREFIX = ".incoming-"  # a file being written (or left by a killed writer)
FILE_MODE = 0o600
_SHA = re.compile(r"^[0-9a-f]{64}$")
_AREA = re.compile(r"^[a-z][a-z0-9_]{0,62}(/[a-z][a-z0-9_]{0,62})?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")

#: Areas whose files have names of their own, kept in a data folder under
#: those names in a folder of its own (not ``<area>/ab/cdef…``): the audit
#: trail's archive files, ``audit-archive/audit-…jsonl.gz``.  On PostgreSQL
#: they are stored like any other file (by hash), their name beside them;
#: a backup and ``storage migrate`` write them back under their names.
NAMED_AREAS = {"core/audit_archive": "audit-archive"}


def _sha256():
    """A new SHA-256; hashlib is imported on first use: OpenSSL's ~1.5 ms
    (-X importtime, Textual loaded) would be paid by every start, which stores no file
    (core.storage imports this module)."""
    import hashlib  # start-up: see the docstring

    return hashlib.sha256()


class FileTooLarge(StorageError):
    """The file has more bytes than the caller allows (it grew after a check)."""


class FileChanged(StorageError):
    """The source file changed while it was being stored."""


class FileMissing(NotFound):
    """No file with that hash is in the store."""


@dataclass(frozen=True, repr=False, eq=False)
class Stored(Record):
    """What storing a file gave: its hash, its size, and whether the store
    held these bytes already (``known``: nothing new was written)."""

    sha256: str
    size: int
    known: bool


@dataclass(frozen=True, repr=False, eq=False)
class StoredFile(Record):
    """A file in a store: a stored file (``sha256``) or a partial write
    (``sha256`` None: a temporary file of a write in progress, or of a
    process that was killed).  ``path``: where it lives on this host (None
    when the store is not a folder)."""

    sha256: str | None
    size: int
    modified: datetime
    path: Path | None = None
    key: str = ""  # the store's own name for it (a partial write's file name)


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA.match(value) is not None


def check_sha(sha256: object) -> str:
    if not is_sha256(sha256):
        raise StorageError(f"not a file hash: {str(sha256)[:70]!r}")
    return sha256  # type: ignore[return-value]


def check_area(area: str) -> str:
    if not isinstance(area, str) or not _AREA.match(area):
        raise StorageError(f"file area {area!r}: use lower-case letters, digits and _, "
                           "one or two parts (\"documents/files\")")
    return area


def check_file_name(name: object) -> str:
    """A named area's file name: letters, digits, '.', '_', '-', no folders."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise StorageError(f"file name {str(name)[:70]!r}: use letters, digits, '.', '_' and '-'")
    return name


def area_folder(area: str) -> list[str]:
    """The folder (as path parts under a data folder) that keeps ``area``'s files."""
    named = NAMED_AREAS.get(area)
    return [named] if named else area.split("/")


def named_files(data_dir: str | os.PathLike, area: str) -> list[tuple[str, Path]]:
    """(name, path) of the files a data folder keeps for the named area
    ``area`` (regular files only: not ``.lock``, ``.partial`` files, links)."""
    folder = Path(data_dir, *area_folder(area))
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [(e.name, Path(e.path)) for e in entries
            if not e.name.startswith(".") and not e.is_symlink() and e.is_file() and _NAME.match(e.name)]


def hash_file(path: str | os.PathLike, *, max_bytes: int | None = None) -> tuple[str, int]:
    """(sha256, size) of a file, read in chunks; FileTooLarge beyond ``max_bytes``."""
    digest = _sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise FileTooLarge(f"{os.fspath(path)} is larger than {max_bytes} bytes")
            digest.update(chunk)
    return digest.hexdigest(), size


def copy_verified(reader: BinaryIO, out: BinaryIO, sha256: str, size: int | None = None) -> int:
    """Copy ``reader`` to ``out`` in chunks, checking the bytes hash to
    ``sha256`` (and are ``size`` long); StorageError when they do not."""
    digest = _sha256()
    n = 0
    while chunk := reader.read(CHUNK):
        digest.update(chunk)
        out.write(chunk)
        n += len(chunk)
    if digest.hexdigest() != sha256 or (size is not None and n != size):
        raise StorageError(f"the stored file {sha256[:16]} does not hash to its name "
                           "(damaged): `backdesk check` lists it; restore it from a backup")
    return n


class FileStore(abc.ABC):
    """Content-addressed files of one area; see the module docstring."""

    area: str
    #: where the files are, for messages ("/srv/backdesk/documents/files", "PostgreSQL …")
    where: str

    @abc.abstractmethod
    def put_file(self, source: str | os.PathLike, *, max_bytes: int | None = None) -> Stored:
        """Store the file at ``source`` (read in chunks); FileTooLarge when it
        has more than ``max_bytes``, FileChanged when it changed meanwhile,
        OSError when it cannot be read.  Storing bytes the store holds already
        writes nothing and renews their modified time."""

    def put_bytes(self, data: bytes) -> Stored:
        """Store ``data`` (small files: the demo, generated letters, tests)."""
        with tempfile.TemporaryDirectory() as tmpdir:
            src = Path(tmpdir) / "file"
            src.write_bytes(data)
            return self.put_file(src)

    @abc.abstractmethod
    def size(self, sha256: str) -> int | None:
        """The stored file's size in bytes; None when it is not there (or
        only part of it is)."""

    def exists(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    @abc.abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """The stored file for reading (in chunks; close it); FileMissing."""

    def read_bytes(self, sha256: str) -> bytes:
        """The whole file (small files only: a CV's text, a test)."""
        with self.open(sha256) as fh:
            return fh.read()

    @abc.abstractmethod
    def local_path(self, sha256: str) -> Path:
        """A file on this host holding the stored bytes, for programs that
        want a path (text extraction, OCR, the fax and print spoolers, an
        email's attachment).  Never write to it.  FileMissing."""

    @abc.abstractmethod
    def remove(self, sha256: str) -> bool:
        """Delete the stored file (the caller made sure nothing references
        it, under the store's write lock); -> whether it was there."""

    @abc.abstractmethod
    def scan(self) -> Iterator[StoredFile]:
        """Every stored file and partial write of the area."""

    @abc.abstractmethod
    def recheck(self, item: StoredFile) -> StoredFile | None:
        """``item`` as it is now (its modified time may have been renewed);
        None when it is gone."""

    @abc.abstractmethod
    def discard(self, item: StoredFile) -> bool:
        """Delete what :meth:`scan` listed (a stored file or a partial
        write); -> whether it was there."""

    def verify(self, sha256: str) -> str | None:
        """Read the whole file and check it hashes to its name; one line
        saying what is wrong, or None."""
        try:
            with self.open(sha256) as fh:
                copy_verified(fh, _Discard(), sha256, self.size(sha256))
        except FileMissing:
            return f"{sha256[:16]}: missing from {self.where}"
        except StorageError as e:
            return str(e)
        return None

    def close(self) -> None:
        """Release connections (a folder holds none)."""


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


# -- the folder ------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hex(name: str, length: int) -> bool:
    return len(name) == length and all(c in "0123456789abcdef" for c in name)


def _modified(path: Path) -> StoredFile | None:
    try:
        st = path.lstat()
    except FileNotFoundError:  # renamed or removed while we looked
        return None
    return StoredFile(None, st.st_size, datetime.fromtimestamp(st.st_mtime, timezone.utc), path, path.name)


class FolderFileStore(FileStore):
    """Files in a folder on this host: ``root/ab/cdef…`` (the hash's first
    two digits name the folder; ``full_names``: the file is named by the
    whole hash, ``root/ab/abcdef…``, as HR's CV folder has it)."""

    def __init__(self, root: str | os.PathLike, *, area: str = "", full_names: bool = False) -> None:
        self.root = Path(root)
        self.area = area
        self.where = str(self.root)
        self.full_names = full_names

    def path_of(self, sha256: str) -> Path:
        sha = check_sha(sha256)
        return self.root / sha[:2] / (sha if self.full_names else sha[2:])

    def put_file(self, source: str | os.PathLike, *, max_bytes: int | None = None) -> Stored:
        make_dir(str(self.root))
        fd, tmp = tempfile.mkstemp(prefix=PARTIAL_PREFIX, dir=self.root)
        digest = _sha256()
        size = 0
        try:
            with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
                while chunk := src.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:  # the file grew after it was checked
                        raise FileTooLarge(f"{os.fspath(source)} is larger than {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self.path_of(sha)
            if target.exists():
                os.unlink(tmp)
                _touch(target)  # in use again: the orphan clean-up leaves recent files alone
                return Stored(sha, size, True)
            make_dir(str(target.parent))
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, target)
            _fsync_dir(target.parent)
            return Stored(sha, size, False)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def size(self, sha256: str) -> int | None:
        try:
            return self.path_of(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self.path_of(sha256), "rb")
        except FileNotFoundError:
            raise FileMissing(f"{self.where}: no file {sha256[:16]}") from None

    def local_path(self, sha256: str) -> Path:
        path = self.path_of(sha256)
        if not path.exists():
            raise FileMissing(f"{self.where}: no file {sha256[:16]}")
        return path

    def remove(self, sha256: str) -> bool:
        try:
            os.unlink(self.path_of(sha256))
        except FileNotFoundError:
            return False
        return True

    def scan(self) -> Iterator[StoredFile]:
        """Symbolic links and names the store does not write are skipped
        (never reported, never removed)."""
        if not self.root.is_dir():
            return
        length = 64 if self.full_names else 62
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.is_symlink():
                continue
            if entry.is_file() and entry.name.startswith(PARTIAL_PREFIX):
                found = _modified(Path(entry.path))
                if found is not None:
                    yield found
            elif entry.is_dir() and _hex(entry.name, 2):
                for item in sorted(os.scandir(entry.path), key=lambda e: e.name):
                    if not item.is_symlink() and item.is_file() and _hex(item.name, length) \
                            and (not self.full_names or item.name[:2] == entry.name):
                        found = _modified(Path(item.path))
                        if found is not None:
                            sha = item.name if self.full_names else entry.name + item.name
                            yield StoredFile(sha, found.size, found.modified, found.path, sha)

    def recheck(self, item: StoredFile) -> StoredFile | None:
        path = item.path if item.path is not None else self.path_of(item.sha256 or "")
        found = _modified(path)
        if found is None:
            return None
        return StoredFile(item.sha256, found.size, found.modified, path, item.key)

    def discard(self, item: StoredFile) -> bool:
        path = item.path if item.path is not None else self.path_of(item.sha256 or "")
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<FolderFileStore {self.root}>"


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:  # a read-only store still files what it has
        pass


def folder_areas(data_dir: str | os.PathLike) -> list[tuple[str, bool]]:
    """The file areas a data folder holds: ``(area, full_names)`` for each
    ``<ns>/<name>/`` whose entries are the ``ab/`` folders of a file store
    (``documents/files``, ``hr/files``), for moving them to another backend."""
    root = Path(data_dir)
    out: list[tuple[str, bool]] = []
    if not root.is_dir():
        return out
    for ns in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        for folder in sorted(p for p in ns.iterdir() if p.is_dir() and not p.is_symlink()):
            area = f"{ns.name}/{folder.name}"
            if not _AREA.match(area):
                continue
            entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
            if not entries or not all(e.is_dir() and _hex(e.name, 2) for e in entries):
                continue
            lengths = {len(f.name) for e in entries for f in e.iterdir() if f.is_file() and not f.name.startswith(".")}
            if lengths and lengths <= {62, 64} and len(lengths) == 1:
                out.append((area, lengths == {64}))
    return out


def listing(store: FileStore) -> list[tuple[str, int]]:
    """(sha256, size) of every stored file, by hash."""
    return sorted((f.sha256, f.size) for f in store.scan() if f.sha256 is not None)


def listing_hash(items: list[tuple[str, int]]) -> str:
    """One SHA-256 over a listing: what two copies of an area compare."""
    h = _sha256()
    for sha, size in items:
        h.update(f"{sha} {size}\n".encode())
    return h.hexdigest()
