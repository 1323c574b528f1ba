"""Content-addressed files (candidates' CVs): the site's file store of the
area ``hr/files`` (``ctx.store.files(full_names=True)``): on the default
backend the folder ``<data_dir>/hr/files``, on PostgreSQL the database,
which every host serving the office shares (:func:`put`, :func:`read`).
The functions taking a ``data_dir`` work on the default backend's folder.

A file is stored once under the SHA-256 of its content
(``files/ab/abcdef…``), written to a temporary file in the same folder,
fsynced and renamed into place, so a reader never sees half a file and two
operators storing the same CV at once both end with the one complete copy.
Paths are derived from the hash only; a hash that is not 64 hex digits, or a
path that resolves outside the folder, is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from core.errors import ValidationError
from core.storage.filestore import FileMissing, FileStore, FileTooLarge
from core.outputs import private_dir
from plugins.hr.models import _

_SHA = re.compile(r"^[0-9a-f]{64}$")
ALLOWED_SUFFIXES = (".pdf", ".doc", ".docx", ".odt", ".rtf", ".txt", ".md")


def files_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / "hr" / "files"


def blob_path(data_dir: Path | str, sha: str) -> Path:
    """Where the file with ``sha`` lives; refuses anything but a SHA-256."""
    if not isinstance(sha, str) or not _SHA.match(sha):
        raise ValidationError(_("not a file reference"), field="cv")
    root = files_dir(data_dir).resolve()
    path = (root / sha[:2] / sha).resolve()
    if root not in path.parents:
        raise ValidationError(_("not a file reference"), field="cv")
    return path


def check_source(path: str | Path, max_bytes: int) -> Path:
    """The resolved source file; a clear message when it cannot be stored."""
    raw = str(path or "").strip()
    if not raw:
        raise ValidationError(_("name the CV file"), field="cv")
    if "\x00" in raw or len(raw) > 4096:
        raise ValidationError(_("not a usable file name"), field="cv")
    source = Path(raw).expanduser().resolve()
    if not source.exists():
        raise ValidationError(_("no file {path}").format(path=raw), field="cv")
    if not source.is_file():
        raise ValidationError(_("{path} is not a regular file").format(path=raw), field="cv")
    if source.suffix.lower() not in ALLOWED_SUFFIXES:
        raise ValidationError(_("a CV must be one of {kinds}").format(kinds=" ".join(ALLOWED_SUFFIXES)),
                              field="cv")
    size = source.stat().st_size
    if size == 0:
        raise ValidationError(_("{path} is empty").format(path=raw), field="cv")
    if size > max_bytes:
        raise ValidationError(_("{path} is larger than {mb} MB").format(path=raw, mb=max_bytes // (1 << 20)),
                              field="cv")
    return source


def store_bytes(data_dir: Path | str, content: bytes) -> tuple[str, int]:
    """Store ``content``; returns (sha256, size). Idempotent."""
    sha = hashlib.sha256(content).hexdigest()
    target = blob_path(data_dir, sha)
    if target.exists() and target.stat().st_size == len(content):
        return sha, len(content)
    private_dir(target.parent)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return sha, len(content)


def store_file(data_dir: Path | str, source: Path, max_bytes: int) -> tuple[str, int]:
    with open(source, "rb") as fh:
        content = fh.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise ValidationError(_("the file is larger than {mb} MB").format(mb=max_bytes // (1 << 20)), field="cv")
    return store_bytes(data_dir, content)


def read_blob(data_dir: Path | str, sha: str) -> bytes:
    path = blob_path(data_dir, sha)
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != sha:
        raise ValidationError(_("the stored file {sha} is damaged").format(sha=sha[:12]), field="cv")
    return content


def put(store: FileStore, source: Path, max_bytes: int) -> tuple[str, int]:
    """Store the CV at ``source`` in ``store`` (streamed); (sha256, size)."""
    try:
        stored = store.put_file(source, max_bytes=max_bytes)
    except FileTooLarge:
        raise ValidationError(_("the file is larger than {mb} MB").format(mb=max_bytes // (1 << 20)),
                              field="cv") from None
    return stored.sha256, stored.size


def read(store: FileStore, sha: str) -> bytes:
    """The stored CV's bytes, checked against their hash; OSError when missing."""
    blob_path(".", sha)  # refuses anything but a SHA-256
    try:
        content = store.read_bytes(sha)
    except FileMissing as e:
        raise FileNotFoundError(str(e)) from None
    if hashlib.sha256(content).hexdigest() != sha:
        raise ValidationError(_("the stored file {sha} is damaged").format(sha=sha[:12]), field="cv")
    return content
