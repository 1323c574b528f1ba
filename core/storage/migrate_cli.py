"""``backdesk storage migrate``: copy a whole store between the backends, then verify.

``backdesk storage migrate --to postgresql DSN`` copies the configured store
(or ``--from DIR|DSN``) into an empty PostgreSQL schema; ``--to tinydb DIR``
copies into a new data directory for the default backend.  Every table is
copied with its documents and their ids, its schema version and its next id
(so ids stay never-reused).  Then the target is read back and compared per
table: document count, version, next id and a SHA-256 over the canonical
JSON of every document in id order; one line per table and a final verdict
(exit 1 when anything differs).  A non-empty target is refused.

The files go with the tables (documents' versions, CVs: every file area of
the data folder, :func:`core.storage.filestore.folder_areas`; the audit
trail's archive files, ``audit-archive/``, under their names): into
PostgreSQL's file store, or out of it into the new data directory's folders;
each checked against its hash on the way, then compared per area (count,
bytes, a SHA-256 over the hashes) like the tables.

The source is read in one consistent snapshot (the TinyDB store under its
shared lock, PostgreSQL in a REPEATABLE READ transaction) and read again at
the end: if it changed meanwhile (someone kept working), the verdict says
so.  Stop the sessions before migrating.

The command itself, and what ``backdesk backup``/``restore`` do on a
PostgreSQL store, are in :mod:`core.cli.storage_cli` (the command line's layer).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Iterable

from .engine import write_tinydb
from .errors import StorageError
from .filestore import NAMED_AREAS, FolderFileStore, folder_areas, hash_file, listing, listing_hash, named_files

TableDump = tuple[str, int, int, list[dict]]  # name, version, next_id, docs in id order


# -- reading and writing whole stores -----------------------------------------------


def is_dsn(where: str) -> bool:
    w = str(where)
    return w.startswith(("postgresql://", "postgres://")) or "=" in w


def dump_tinydb(store) -> list[TableDump]:
    """Every table of a default-backend store, from one consistent state."""
    from .engine import _copy

    with store._rlock:
        store._fresh()
        store._lock.acquire("sh")
        try:
            store._catch_up()
            return [(name, st.version, st.next_id, [_copy(st.docs[i]) for i in sorted(st.docs)])
                    for name, st in sorted(store._states.items())]
        finally:
            store._lock.release()


def dump(store) -> list[TableDump]:
    from .pg import PgStore

    if isinstance(store, PgStore):
        return list(store.dump())
    return dump_tinydb(store)


def _normal(value):
    """JSON values as both backends return them (an integral float may come back as an int)."""
    t = type(value)
    if t is float and value.is_integer():
        return int(value)
    if t is dict:
        return {k: _normal(v) for k, v in value.items()}
    if t is list:
        return [_normal(v) for v in value]
    return value


def content_hash(docs: Iterable[dict]) -> str:
    """SHA-256 over the canonical JSON (sorted keys) of each document, in id order."""
    h = hashlib.sha256()
    for doc in sorted(docs, key=lambda d: d["id"]):
        h.update(json.dumps(_normal(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def summary(tables: Iterable[TableDump]) -> dict[str, tuple[int, int, int, str]]:
    """name -> (version, next_id, count, content hash)."""
    out = {}
    for name, version, next_id, docs in tables:
        top = max((d["id"] for d in docs), default=0)
        out[name] = (version, max(next_id, top + 1), len(docs), content_hash(docs))
    return out


def compare(source: dict, target: dict) -> tuple[list[str], bool]:
    """One line per table and whether everything matches."""
    lines, ok = [], True
    width = max((len(n) for n in set(source) | set(target)), default=10)
    for name in sorted(set(source) | set(target)):
        s, t = source.get(name), target.get(name)
        if s is None or t is None:
            ok = False
            lines.append(f"  {name:<{width}}  MISSING in the {'target' if t is None else 'source'}")
            continue
        version, next_id, count, digest = s
        problems = [what for what, a, b in (("version", s[0], t[0]), ("next id", s[1], t[1]),
                                             ("count", s[2], t[2]), ("content hash", s[3], t[3])) if a != b]
        if problems:
            ok = False
        verdict = "ok" if not problems else "MISMATCH: " + ", ".join(
            f"{p} {a} != {b}" for p, a, b in (("version", s[0], t[0]), ("next id", s[1], t[1]),
                                                ("count", s[2], t[2]), ("hash", s[3][:12], t[3][:12]))
            if a != b)
        lines.append(f"  {name:<{width}}  v{version}  {count:>7} docs  next id {next_id:<7}  "
                     f"sha256 {digest[:12]}  {verdict}")
    return lines, ok


def open_any(where: str):
    if is_dsn(where):
        from .pg import open_pg_store

        return open_pg_store(where)
    from . import files
    from .engine import open_store

    if not os.path.isfile(os.path.join(os.path.abspath(where), files.MANIFEST)):
        raise StorageError(f"{where}: not a Backdesk data directory (no {files.MANIFEST}); nothing to migrate")
    return open_store(where)


FileListing = dict[str, list[tuple[str, int]]]  # area -> [(sha256, size)]


def folder_listing(data_dir: str) -> FileListing:
    found = {area: listing(FolderFileStore(os.path.join(data_dir, *area.split("/")), area=area, full_names=full))
             for area, full in folder_areas(data_dir)}
    for area in NAMED_AREAS:
        named = sorted(hash_file(path) for _name, path in named_files(data_dir, area))
        if named:
            found[area] = named
    return found


def pg_listing(store) -> FileListing:
    from .pgfiles import file_listing

    conn = store._connect()
    try:
        return file_listing(conn, store.schema)
    finally:
        conn.close()


def copy_files_in(source_dir: str, target, target_dir: str | None = None) -> None:
    """Store every file of ``source_dir``'s file areas in ``target`` (a
    PostgreSQL store, or with ``target_dir`` the folders of a new data
    directory); streamed, and a file whose bytes do not hash to its name is
    refused."""
    import tempfile

    from .files import copy_file, make_dir
    from .filestore import area_folder

    with tempfile.TemporaryDirectory(prefix="backdesk-migrate-") as cache:
        for area, full in folder_areas(source_dir):
            folder = FolderFileStore(os.path.join(source_dir, *area.split("/")), area=area, full_names=full)
            files = (FolderFileStore(os.path.join(target_dir, *area.split("/")), area=area, full_names=full)
                     if target_dir is not None else target.files(area, local_dir=cache, full_names=full))
            for item in folder.scan():
                if item.sha256 is None:
                    continue  # a partial write: not a file
                stored = files.put_file(folder.path_of(item.sha256))
                if stored.sha256 != item.sha256:
                    raise StorageError(f"{folder.path_of(item.sha256)}: the file does not hash to its name "
                                       "(damaged); restore it from a backup, then migrate again")
        for area in NAMED_AREAS:  # the audit archive: files with names of their own
            for name, path in named_files(source_dir, area):
                if target_dir is not None:
                    to = os.path.join(target_dir, *area_folder(area), name)
                    make_dir(os.path.dirname(to))
                    copy_file(str(path), to)
                else:
                    target.files(area, local_dir=cache).put_file(path, name=name)


def copy_files_out(source, dest: str) -> None:
    """Write every file of the PostgreSQL store ``source`` into ``dest``'s folders."""
    from .pgfiles import export_files

    conn = source._connect()
    try:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        export_files(conn, source.schema, dest)
        conn.execute("COMMIT")
    finally:
        conn.close()


def compare_files(source: FileListing, target: FileListing) -> tuple[list[str], bool]:
    lines, ok = [], True
    for area in sorted(set(source) | set(target)):
        s, t = source.get(area, []), target.get(area, [])
        digest = listing_hash(s)
        same = s == t
        ok = ok and same
        verdict = "ok" if same else (f"MISMATCH: {len(s)} files in the source, {len(t)} in the target"
                                     if len(s) != len(t) else "MISMATCH: the files differ")
        lines.append(f"  files {area:<20}  {len(s):>7} files  {sum(n for _s, n in s):>13,} bytes  "
                     f"sha256 {digest[:12]}  {verdict}")
    return lines, ok


def migrate(source: str, to: str, dest: str, echo=print) -> bool:
    """Copy the store at ``source`` (a dir or a DSN) to ``dest`` on backend ``to``; verify.

    Returns True when the target matches the source table by table.
    """
    if to not in ("postgresql", "tinydb"):
        raise StorageError(f"--to {to}: use postgresql or tinydb")
    src = open_any(source)
    try:
        tables = dump(src)
        before = summary(tables)
        files_before = pg_listing(src) if is_dsn(source) else folder_listing(os.path.abspath(source))
        if to == "postgresql":
            from .pg import open_pg_store

            target = open_pg_store(dest)
            try:
                target.load(tables)
                after = summary(dump(target))
                if is_dsn(source):
                    import tempfile

                    with tempfile.TemporaryDirectory(prefix="backdesk-migrate-") as between:
                        copy_files_out(src, between)
                        copy_files_in(between, target)
                else:
                    copy_files_in(os.path.abspath(source), target)
                files_after = pg_listing(target)
            finally:
                target.close()
        else:
            if os.path.isdir(dest) and os.listdir(dest):
                raise StorageError(f"{dest}: not empty; the copy goes into a new or empty directory")
            write_tinydb(dest, tables)
            if is_dsn(source):
                copy_files_out(src, dest)
            else:
                copy_files_in(os.path.abspath(source), None, target_dir=os.path.abspath(dest))
            files_after = folder_listing(os.path.abspath(dest))
            from .engine import open_store

            target = open_store(dest)
            try:
                after = summary(dump(target))
                problems = target.check()
            finally:
                target.close()
            if problems:
                raise StorageError(f"{dest}: the copy is not sound: {problems[0]}")
        del tables
        again = summary(dump(src))
    finally:
        src.close()
    lines, ok = compare(before, after)
    file_lines, files_ok = compare_files(files_before, files_after)
    ok = ok and files_ok
    for line in lines + file_lines:
        echo(line)
    docs = sum(v[2] for v in before.values())
    where = shown(dest)
    if not ok:
        echo(f"FAILED: the copy in {where} differs from the source (see above); do not switch to it")
        return False
    if again != before:
        echo(f"FAILED: the source changed while it was copied (someone kept working); "
             f"copy again into an empty target with every session stopped")
        return False
    n_files = sum(len(v) for v in files_before.values())
    files = f", {n_files} files" if n_files else ""
    echo(f"verified: {len(before)} tables, {docs} documents{files} copied to {where}; "
         "counts, versions, next ids and content hashes match")
    return True


def restore_pg(backup: str, dsn: str, echo=print) -> bool:
    """Load the backup folder ``backup`` (checked complete and sound before,
    :func:`core.storage.admin.check_backup`) into the PostgreSQL store at
    ``dsn``, which holds no table: ``backdesk restore`` on a PostgreSQL site.

    The files first (each checked against its hash; stored once, so files
    left by an interrupted restore are simply found again), then every
    table in one transaction: a restore stopped half-way leaves no table,
    and running it again completes it.  Then tables and files are read back
    and compared with the backup as :func:`migrate` does (lines through
    ``echo``); True when they match."""
    from .engine import open_store
    from .pg import open_pg_store

    backup = os.path.abspath(backup)
    source = open_store(backup, read_only=True)  # (writes nothing into the sealed backup)
    try:
        tables = dump(source)
    finally:
        source.close()
    before = summary(tables)
    files_before = folder_listing(backup)
    target = open_pg_store(dsn)
    try:
        copy_files_in(backup, target)
        target.load(tables)
        del tables
        after = summary(dump(target))
        files_after = pg_listing(target)
    finally:
        target.close()
    lines, ok = compare(before, after)
    file_lines, files_ok = compare_files(files_before, files_after)
    for line in lines + file_lines:
        echo(line)
    if not (ok and files_ok):
        echo(f"FAILED: what {shown(dsn)} holds now differs from the backup (see above); do not use it")
        return False
    n_files = sum(len(v) for v in files_before.values())
    echo(f"verified: {len(before)} tables, {sum(v[2] for v in before.values())} documents, {n_files} files "
         f"restored to {shown(dsn)}; counts, versions, next ids and content hashes match the backup")
    return True


def shown(where: str) -> str:
    """A store's place as messages show it (a DSN without its password)."""
    if is_dsn(where):
        from .pg import _redact

        return _redact(where)
    return os.path.abspath(where)
