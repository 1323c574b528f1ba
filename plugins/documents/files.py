"""The documents' files: the content-addressed file store, and text extraction.

A document version's bytes live in the site's file store for the area
``documents/files`` (:mod:`core.storage.filestore`; the service gets it with
``ctx.store.files()``): on the default backend the folder
``<data_dir>/documents/files/ab/cdef…`` named by their sha256 (folders
0700, files 0600), on PostgreSQL the database, which every host serving the
office shares. A file is stored completely *before* the transaction that
records it, so a record never points at a half-written file. When that
transaction fails, the filing removes the file it wrote again (unless a
version references it by then); a file left behind by a process killed in
between is an orphan that costs space but no correctness, listed and removed
by ``backdesk docs check --orphans [--delete]``.

The functions taking a ``data_dir`` work on the folder of the default
backend (tools, tests, the demo); the service goes through :func:`put` with
the site's store.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterator

from core.errors import ValidationError
from core.storage.filestore import (CHUNK, PARTIAL_PREFIX, FileStore, FileTooLarge,  # noqa: F401 (re-exported)
                                    FolderFileStore, StoredFile, hash_file, is_sha256)
from core.textfiles import MAX_TEXT, extract_text, guess_mime  # noqa: F401 (used as blobs.extract_text)
from plugins.documents.models import _

AREA = "files"  # ctx.store.files(AREA): the area documents/files


def files_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "documents" / "files"


def folder(data_dir: Path) -> FolderFileStore:
    """The default backend's file store of the documents (in the data folder)."""
    return FolderFileStore(files_dir(data_dir), area="documents/files")


def check_hash(sha256: str) -> str:
    if not is_sha256(sha256):
        raise ValidationError(_("not a file hash: {value!r}").format(value=str(sha256)[:70]), field="sha256")
    return sha256


def blob_path(data_dir: Path, sha256: str) -> Path:
    return folder(data_dir).path_of(check_hash(sha256))


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


def put(store: FileStore, source: Path, max_bytes: int) -> tuple[str, int, bool]:
    """Copy ``source`` into ``store``; -> (sha256, size, already_stored).
    What goes wrong is one line at the field ``file``."""
    try:
        stored = store.put_file(source, max_bytes=max_bytes)
    except FileTooLarge:  # the file grew after it was checked
        raise ValidationError(_("{path} is larger than the limit of {limit} MB").format(
            path=Path(source).name[:80], limit=max_bytes // 1_000_000 or 1), field="file") from None
    except OSError as exc:
        raise ValidationError(_("cannot read {path}: {error}").format(
            path=str(source)[:120], error=exc.strerror), field="file") from None
    return stored.sha256, stored.size, stored.known


def store_file(data_dir: Path, source: Path, max_bytes: int) -> tuple[str, int, bool]:
    """Copy ``source`` into the data folder's store; -> (sha256, size, already_stored)."""
    return put(folder(data_dir), source, max_bytes)


def remove_blob(data_dir: Path, sha256: str) -> bool:
    """Delete the stored file ``sha256`` from the data folder (the caller made
    sure nothing references it, under the store's lock); -> whether it was there."""
    return folder(data_dir).remove(check_hash(sha256))


def scan_store(data_dir: Path) -> Iterator[StoredFile]:
    """Every file and partial write in the data folder's store. Symbolic
    links and names the store does not write are skipped (never reported,
    never removed)."""
    return folder(data_dir).scan()


def store_bytes(data_dir: Path, data: bytes, name: str = "file") -> tuple[str, int, bool]:
    """Store bytes (the demo, tests) through the same path as a file."""
    with tempfile.TemporaryDirectory() as tmpdir:
        src = Path(tmpdir) / name
        src.write_bytes(data)
        return store_file(data_dir, src, max(len(data), 1))


def sha256_of(path: Path) -> str:
    return hash_file(path)[0]
