"""A backup's completion marker: ``backup.json``, written last.

A backup folder is complete only when it holds ``backup.json``: what the
backup holds (every file's size and SHA-256, the store's generation and
seq, counts), when and by whom it was made, from which data folder.  It is
written atomically after every other file was copied and fsynced, so a
backup killed half-way never has one.  ``backup.partial`` is written first
and removed after the marker: ``backdesk check`` on the folder of a killed
backup names it as incomplete (without it, a folder whose store was copied
but whose documents were not would look like a sound data folder).

:func:`verify_backup` compares a folder with its marker: a missing,
changed or added file, a marker that is not one.  ``restore`` takes a
backup only when that finds nothing.

What the marker guards against: a backup cut short (killed, a full disk),
a file lost, damaged or swapped in afterwards by accident.  It is no
signature: whoever can write the folder can write a new marker; the audit
trail's key and anchors (``backdesk audit anchor``) are the wall against
that.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

from . import files
from .errors import CorruptData

#: the completion marker, written last
MARKER = "backup.json"
#: written first, removed after the marker: "a backup is being written here"
PARTIAL = "backup.partial"
FORMAT = "backdesk-backup"
#: files of a backup folder that are not part of what it holds
OWN = frozenset({MARKER, PARTIAL})
#: ... nor is the lock file opening it as a store creates (empty, never restored)
_IGNORED = OWN | {files.LOCK}


def start_backup(dest: str) -> None:
    """Mark ``dest`` (new, empty) as a backup being written."""
    path = os.path.join(dest, PARTIAL)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, files.FILE_MODE)
    try:
        files.write_all(fd, b"a backup was being written here and did not finish; it cannot be restored\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    files.fsync_dir(dest)


def file_digest(path: str) -> tuple[int, str]:
    """(size, sha256 hex) of a file, read in chunks."""
    import hashlib  # here: importing it (OpenSSL) would cost every start (core.storage imports this module)

    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            h.update(chunk)
    return size, h.hexdigest()


def _held_files(folder: str) -> list[str]:
    """The files a backup folder holds (relative paths, sorted), besides its
    own markers; symbolic links count too (a backup never writes one)."""
    out = []
    for root, dirs, names in os.walk(folder):
        rel_root = os.path.relpath(root, folder)
        dirs.sort()
        for name in names:
            rel = name if rel_root == "." else os.path.join(rel_root, name)
            if rel in _IGNORED:
                continue
            out.append(rel)
    return sorted(out)


def seal_backup(dest: str, *, source: str, by: str | None = None) -> dict:
    """Write ``backup.json`` into the finished backup ``dest`` (every file
    fsynced already) and remove ``backup.partial``; returns the marker."""
    held = {}
    total = 0
    for rel in _held_files(dest):
        size, digest = file_digest(os.path.join(dest, rel))
        held[rel] = {"bytes": size, "sha256": digest}
        total += size
    store = {}
    try:
        manifest, _ = files.read_manifest(dest)
        store = {"generation": manifest["generation"], "seq": manifest["seq"], "tables": len(manifest["tables"])}
    except (FileNotFoundError, CorruptData):
        pass
    marker = {
        "format": FORMAT, "version": 1,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "by": by or _account(), "source": source, "store": store,
        "count": len(held), "bytes": total, "files": held,
    }
    files.write_atomic(os.path.join(dest, MARKER), json.dumps(marker, indent=1, sort_keys=True).encode() + b"\n")
    files.remove_quietly(os.path.join(dest, PARTIAL))
    files.fsync_dir(dest)
    return marker


def _account() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a container): the number
        return str(os.getuid())


def read_marker(folder: str) -> dict | None:
    """The marker of a backup folder, None when it has none; a
    :class:`~core.storage.errors.CorruptData` when it is not one."""
    path = os.path.join(folder, MARKER)
    try:
        raw = files.read_file(path)
    except FileNotFoundError:
        return None
    try:
        marker = json.loads(raw)
    except ValueError:
        marker = None
    if (not isinstance(marker, dict) or marker.get("format") != FORMAT
            or not isinstance(marker.get("files"), dict) or marker.get("count") != len(marker["files"])):
        raise CorruptData(path, "not a backup's completion marker (damaged or cut off)")
    return marker


def is_backup(folder: str) -> bool:
    """Whether ``folder`` is (or was going to be) a backup."""
    return os.path.lexists(os.path.join(folder, MARKER)) or os.path.lexists(os.path.join(folder, PARTIAL))


def verify_backup(folder: str) -> list[str]:
    """What is wrong with the backup in ``folder``: [] when its marker is
    there and every file matches it. One line per problem."""
    try:
        marker = read_marker(folder)
    except CorruptData as e:
        return [f"{e}; the backup cannot be trusted whole"]
    if marker is None:
        return [f"{folder}: an incomplete backup (no {MARKER}: it was interrupted before it finished, "
                "or was not made by `backdesk backup`); it cannot be restored"]
    problems = []
    listed = marker["files"]
    present = set(_held_files(folder))
    for rel in sorted(listed):
        path = os.path.join(folder, rel)
        want = listed[rel] if isinstance(listed[rel], dict) else {}
        if rel not in present:
            problems.append(f"{path}: missing from the backup ({MARKER} lists it)")
            continue
        if os.path.islink(path) or not os.path.isfile(path):
            problems.append(f"{path}: not a regular file ({MARKER} lists a file)")
            continue
        try:
            size, digest = file_digest(path)
        except OSError as e:
            problems.append(f"{path}: cannot be read ({e.strerror or e})")
            continue
        if size != want.get("bytes") or digest != want.get("sha256"):
            problems.append(f"{path}: changed since the backup was made (its size or SHA-256 is not the one "
                            f"{MARKER} records)")
    for rel in sorted(present - set(listed)):
        problems.append(f"{os.path.join(folder, rel)}: added after the backup was made ({MARKER} does not "
                        "list it)")
    return problems
