"""The content-addressed file store and text extraction.

Files live under ``<data_dir>/documents/files/ab/cdef…`` named by their
sha256 (folders 0700, files 0600). A file is written to a temporary name in
the same folder, fsynced and renamed into place *before* the transaction that
records it, so a record never points at a half-written file. When that
transaction fails, the filing removes the file it wrote again (unless a
version references it by then); a file left behind by a process killed in
between is an orphan that costs space but no correctness, listed and removed
by ``backdesk docs check --orphans [--delete]`` (see :func:`scan_store`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from core.errors import ValidationError
from core.outputs import private_dir
from core.textfiles import MAX_TEXT, extract_text, guess_mime  # noqa: F401 (used as blobs.extract_text)
from plugins.documents.models import _

CHUNK = 1 << 20
PARTIAL_PREFIX = ".incoming-"  # a file being written (or left by a killed writer)


def files_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "documents" / "files"


def blob_path(data_dir: Path, sha256: str) -> Path:
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValidationError(_("not a file hash: {value!r}").format(value=sha256[:70]), field="sha256")
    return files_dir(data_dir) / sha256[:2] / sha256[2:]


def _mkdir(path: Path) -> None:
    private_dir(path)  # the missing parents 0700 too (the documents folder)


def check_source(path: str | os.PathLike, data_dir: Path, max_bytes: int,
                 allowed_root: Path | None = None) -> Path:
    """Resolve a file an operator names and refuse what must not be read:
    missing or unreadable files, folders, files over the size limit, and
    anything inside the data directory (``../`` tricks included) except under
    ``allowed_root`` (the inbox)."""
    raw = os.fspath(path)
    if not raw or "\x00" in raw:
        raise ValidationError(_("a file is required"), field="file")
    resolved = Path(raw).expanduser().resolve()
    data = Path(data_dir).resolve()
    inside_data = resolved == data or data in resolved.parents
    if inside_data and not (allowed_root is not None and Path(allowed_root).resolve() in resolved.parents):
        raise ValidationError(_("refused: {path} is inside the data directory").format(path=raw[:120]),
                              field="file")
    if allowed_root is not None:
        root = Path(allowed_root).resolve()
        if root not in resolved.parents:
            raise ValidationError(_("refused: {path} is outside the inbox").format(path=raw[:120]), field="file")
    if not resolved.exists():
        raise ValidationError(_("no such file: {path}").format(path=raw[:120]), field="file")
    if not resolved.is_file():
        raise ValidationError(_("not a regular file: {path}").format(path=raw[:120]), field="file")
    size = resolved.stat().st_size
    if size > max_bytes:
        raise ValidationError(_("{path} is {mb:.1f} MB, more than the limit of {limit} MB").format(
            path=resolved.name[:80], mb=size / 1e6, limit=max_bytes // 1_000_000 or 1), field="file")
    if not os.access(resolved, os.R_OK):
        raise ValidationError(_("cannot read {path}").format(path=raw[:120]), field="file")
    return resolved


def store_file(data_dir: Path, source: Path, max_bytes: int) -> tuple[str, int, bool]:
    """Copy ``source`` into the store; -> (sha256, size, already_stored)."""
    directory = files_dir(data_dir)
    _mkdir(directory)
    fd, tmp = tempfile.mkstemp(prefix=PARTIAL_PREFIX, dir=directory)
    import hashlib  # here, not at import: OpenSSL's is loaded when a file comes in

    digest = hashlib.sha256()
    size = 0
    try:
        try:
            src = open(source, "rb")
        except OSError as exc:
            raise ValidationError(_("cannot read {path}: {error}").format(
                path=str(source)[:120], error=exc.strerror), field="file") from None
        with src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:  # the file grew after it was checked
                    raise ValidationError(_("{path} is larger than the limit of {limit} MB").format(
                        path=source.name[:80], limit=max_bytes // 1_000_000 or 1), field="file")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        target = blob_path(data_dir, sha)
        if target.exists():
            os.unlink(tmp)
            _touch(target)  # in use again: the orphan clean-up leaves recent files alone
            return sha, size, True
        _mkdir(target.parent)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return sha, size, False
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:  # a read-only store still files what it has
        pass


def remove_blob(data_dir: Path, sha256: str) -> bool:
    """Delete the stored file ``sha256`` (the caller made sure nothing
    references it, under the store's lock); -> whether it was there."""
    path = blob_path(data_dir, sha256)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class StoredFile:
    """A file in the content store: a stored blob (``sha256``) or a partial
    write (``sha256`` None: a temporary file of a filing in progress or of a
    process that was killed)."""

    path: Path
    sha256: str | None
    size: int
    modified: datetime


def _hex(name: str, length: int) -> bool:
    return len(name) == length and all(c in "0123456789abcdef" for c in name)


def scan_store(data_dir: Path) -> Iterator[StoredFile]:
    """Every blob and partial write in the content store. Symbolic links and
    names the store does not write are skipped (never reported, never removed)."""
    root = files_dir(data_dir)
    if not root.is_dir():
        return
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.is_symlink():
            continue
        if entry.is_file() and entry.name.startswith(PARTIAL_PREFIX):
            found = _stored(Path(entry.path), None)
            if found is not None:
                yield found
        elif entry.is_dir() and _hex(entry.name, 2):
            for item in sorted(os.scandir(entry.path), key=lambda e: e.name):
                if not item.is_symlink() and item.is_file() and _hex(item.name, 62):
                    found = _stored(Path(item.path), entry.name + item.name)
                    if found is not None:
                        yield found


def _stored(path: Path, sha: str | None) -> StoredFile | None:
    try:
        st = path.lstat()
    except FileNotFoundError:  # renamed or removed while we looked
        return None
    return StoredFile(path, sha, st.st_size, datetime.fromtimestamp(st.st_mtime, timezone.utc))


def store_bytes(data_dir: Path, data: bytes, name: str = "file") -> tuple[str, int, bool]:
    """Store bytes (the demo, tests) through the same path as a file."""
    with tempfile.TemporaryDirectory() as tmpdir:
        src = Path(tmpdir) / name
        src.write_bytes(data)
        return store_file(data_dir, src, max(len(data), 1))


def sha256_of(path: Path) -> str:
    import hashlib  # here, not at import: OpenSSL's is loaded when a file comes in

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


    return ""
