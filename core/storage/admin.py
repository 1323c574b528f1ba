"""Store administration for the CLI: backup, restore, check, export.

No click here: ``core.cli`` wires these into ``backdesk backup DEST``,
``restore SRC``, ``check`` and ``export PLUGIN.TABLE --format json|csv``.
Every function raises :class:`~core.storage.errors.StorageError` (a
``BackdeskError``) with a one-line message.
"""

from __future__ import annotations

import json
import os
import time
from typing import TextIO

from core import csvsafe

from . import files, seal
from .engine import check_files
from .errors import CorruptData, NotFound, StorageError
# prepare_dest and copy_store are the file primitives' (core.storage.files); named here
# too for the PostgreSQL store's backup
from .files import copy_store, prepare_dest


# -- copying ------------------------------------------------------------------


def _store_paths(manifest: dict) -> set[str]:
    """The store's own files in a data directory (relative paths)."""
    return {info["file"] for info in manifest["tables"].values()} | {files.MANIFEST, files.LOCK, files.HEAD}


def copy_other_files(src: str, dest: str, manifest: dict, *, skip: tuple[str, ...] = ()) -> int:
    """Copy what the plugins keep beside the store (the documents' files,
    CVs, audit archives …) from ``src`` to ``dest``; returns the count.

    Everything under ``src`` except the store's own files (the manifest,
    journals, the snapshots ``manifest`` names, the lock), ``backups/``,
    temporary files (``*.tmp``, ``.incoming-*``) and symbolic links, which are
    never followed. A file already in ``dest`` is never overwritten (the
    store's fresh copy is there first). Files 0600, folders 0700.
    ``skip``: more top-level folders to leave out (a PostgreSQL site's cache).
    """
    own = _store_paths(manifest)
    count = 0
    for root, dirs, names in os.walk(src):
        rel_root = os.path.relpath(root, src)
        if rel_root == ".":
            rel_root = ""
            dirs[:] = [d for d in dirs if d != files.BACKUPS and d not in skip]
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        for name in names:
            rel = os.path.join(rel_root, name) if rel_root else name
            path = os.path.join(root, name)
            if (rel in own or (not rel_root and name.startswith("journal-") and name.endswith(".log"))
                    or (not rel_root and name in seal.OWN)
                    or name.endswith(".tmp") or name.startswith(".incoming-")
                    or os.path.islink(path) or not os.path.isfile(path)):
                continue
            target = os.path.join(dest, rel)
            if os.path.lexists(target):  # the store's copy, or copied already: never overwritten
                continue
            files.make_dir(os.path.dirname(target))
            try:
                files.copy_file(path, target)
            except FileNotFoundError:  # removed meanwhile (an orphan cleaned up): not needed
                continue
            count += 1
    return count


def _valid_journal_end(data_dir: str, manifest: dict, jfd: int) -> int:
    path = os.path.join(data_dir, files.journal_name(manifest["generation"]))
    scan = files.scan_journal(files.read_from(jfd, 0))
    if scan.corrupt:
        raise CorruptData(path, f"the entry at byte {scan.bad_offset} is damaged and valid entries follow it")
    return scan.valid_end


def backup(data_dir: str | os.PathLike, dest: str | os.PathLike, *, by: str | None = None) -> str:
    """Copy the data in ``data_dir`` into ``dest`` (new or empty); returns ``dest``.

    The store is copied consistently while operators keep working: writers
    wait (LOCK_SH) for the time of that copy. Then the files the plugins keep
    beside it (documents, CVs, audit archives; see :func:`copy_other_files`)
    are copied without holding writers up: a file is written before the
    change that refers to it is committed, so every file the copied store
    names is there. ``backups/`` (automatic backups) is not copied.
    ``store.backup(dest)`` (automatic backups before a migration) copies
    the store alone.

    ``backup.partial`` is written first and the completion marker
    ``backup.json`` (every file's size and SHA-256; ``by``: who made it)
    last (:mod:`core.storage.seal`): a backup killed half-way has none,
    and ``check`` and ``restore`` refuse it.
    """
    data_dir = os.path.abspath(os.fspath(data_dir))
    if not os.path.isfile(os.path.join(data_dir, files.MANIFEST)):
        raise StorageError(f"{data_dir}: not a Backdesk data directory (no {files.MANIFEST})")
    dest = prepare_dest(dest)
    if dest == data_dir or dest.startswith(data_dir + os.sep):
        raise StorageError(f"{dest}: a backup cannot go inside the data directory it copies")
    seal.start_backup(dest)
    lock = files.DirLock(data_dir)
    try:
        lock.acquire("sh")
        manifest, _ = files.read_manifest(data_dir)
        path = os.path.join(data_dir, files.journal_name(manifest["generation"]))
        try:
            jfd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise CorruptData(path, "the journal is missing (store.json names it)") from None
        try:
            copy_store(data_dir, dest, manifest, jfd, _valid_journal_end(data_dir, manifest, jfd))
        finally:
            os.close(jfd)
    finally:
        lock.close()
    copy_other_files(data_dir, dest, manifest)
    seal.seal_backup(dest, source=data_dir, by=by)
    return dest


# -- checking -------------------------------------------------------------------


def check(data_dir: str | os.PathLike) -> list[str]:
    """Verify every data file of the store in ``data_dir``; [] when sound.

    Takes LOCK_SH when the directory has a lock file (it never creates one,
    so checking a backup leaves it untouched).
    """
    data_dir = os.path.abspath(os.fspath(data_dir))
    if not os.path.exists(os.path.join(data_dir, files.LOCK)):
        return check_files(data_dir)
    lock = files.DirLock(data_dir, create=False, read_only=True)
    try:
        lock.acquire("sh")
        return check_files(data_dir)
    finally:
        lock.close()


# -- restoring -------------------------------------------------------------------

#: the note a restore leaves in the data folder for the audit trail to record
#: (``core.services.audit.AuditTrail.record_pending_restore``): written under the lock
#: with the restored data, so a restore is recorded even when the command is
#: killed right after it
RESTORE_PENDING = "restore.pending.json"


def check_backup(src: str) -> None:
    """StorageError (one line ending "nothing was restored") unless ``src``
    is a complete and sound backup: its ``backup.json`` there and every file
    matching it (:mod:`core.storage.seal`), the store in it sound."""
    if not os.path.isdir(src):
        raise StorageError(f"{src}: no such backup folder; nothing was restored")
    if not seal.is_backup(src):
        raise StorageError(f"{src}: not a Backdesk backup (no {seal.MARKER}: `backdesk backup` did not make "
                           "it, or did not finish it); nothing was restored")
    problems = check(src)
    if problems:
        more = f" (and {len(problems) - 1} more: run `backdesk check` on it)" if len(problems) > 1 else ""
        raise StorageError(f"{src}: the backup is not sound, nothing was restored: {problems[0]}{more}")


def restore(src: str | os.PathLike, data_dir: str | os.PathLike, *, by: str | None = None,
            note: dict | None = None) -> str | None:
    """Replace the data in ``data_dir`` with the backup in ``src`` (the store
    and the files the plugins keep beside it).

    ``src`` must be a complete backup (its ``backup.json`` there and every
    file matching it, :mod:`core.storage.seal`) and sound; nothing changes
    when it is not.  The current data is moved (not deleted) to
    ``<data>/backups/<time>-replaced-by-restore``, sealed as a backup of its
    own (so it can be restored in turn), whose path is returned (None when
    ``data_dir`` held no data). ``note``: what the audit trail records of
    the restore, left as :data:`RESTORE_PENDING` with the restored data.  Running
    sessions notice the new data and reload; restart them to be sure.
    """
    src = os.path.abspath(os.fspath(src))
    data_dir = os.path.abspath(os.fspath(data_dir))
    if os.path.isdir(src) and src == data_dir:
        raise StorageError(f"{src}: is the data directory itself; nothing was restored")
    check_backup(src)
    files.make_dir(data_dir)
    lock = files.DirLock(data_dir)
    try:
        lock.acquire("ex")
        aside = None
        entries = [e for e in os.listdir(data_dir) if e not in (files.LOCK, files.BACKUPS)]
        if entries:
            aside = os.path.join(data_dir, files.BACKUPS, time.strftime("%Y%m%d-%H%M%S")
                                 + f"-{time.time_ns() % 10**9:09d}-replaced-by-restore")
            files.make_dir(aside)
            # The manifest first: a crash half-way leaves no store.json
            # pointing at files that moved (open refuses and names the dir).
            entries.sort(key=lambda e: e != files.MANIFEST)
            for e in entries:
                os.rename(os.path.join(data_dir, e), os.path.join(aside, e))
            files.fsync_dir(aside)
            files.fsync_dir(data_dir)
        manifest, _ = files.read_manifest(src)
        jpath = os.path.join(src, files.journal_name(manifest["generation"]))
        jfd = os.open(jpath, os.O_RDONLY)
        try:
            fresh = files.new_manifest(manifest["generation"], manifest["seq"], manifest["tables"], None)
            copy_store(src, data_dir, fresh, jfd, _valid_journal_end(src, manifest, jfd))
        finally:
            os.close(jfd)
        copy_other_files(src, data_dir, manifest)
        if note is not None:  # for the audit trail (RESTORE_PENDING)
            files.write_atomic(os.path.join(data_dir, RESTORE_PENDING),
                               json.dumps(dict(note, data=aside, by=by), sort_keys=True).encode())
        if aside is not None:  # the replaced data can be restored in turn
            seal.seal_backup(aside, source=data_dir, by=by)
    finally:
        lock.close()
    return aside


# -- exporting -------------------------------------------------------------------


def export_table(store, name: str, fmt: str, out: TextIO) -> int:
    """Write every document of table ``name`` ("ns.table") to ``out``; returns the count.

    ``json``: a JSON array of documents.  ``csv``: a header row of ``id`` and
    the union of top-level keys (in first-seen order); strings as they are,
    missing/None empty, every other value as JSON (``true``, ``12.5``,
    ``{"city": "Bonn"}``). The CSV is for spreadsheets: a string a
    spreadsheet would take for a formula (starting with ``= + - @``, a tab
    or a carriage return) gets a leading apostrophe (:mod:`core.csvsafe`),
    except a plain decimal number (``-12.50``) in a column whose every
    value is a number or such a string (amounts stay numbers).
    """
    if fmt not in ("json", "csv"):
        raise StorageError(f"--format {fmt}: use json or csv")
    try:
        docs = store.existing_table(name).all()
    except NotFound as e:
        raise StorageError(str(e)) from None
    if fmt == "json":
        json.dump(docs, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return len(docs)
    return csvsafe.write_documents(out, docs)
