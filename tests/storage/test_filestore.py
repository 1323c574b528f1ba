"""The file store (core.storage.filestore): the same interface in a folder
(TinyDB sites) and in PostgreSQL, content-addressed, streamed, checked."""

from __future__ import annotations

import hashlib
import os
import stat
import threading

import pytest

from core.storage import StorageError
from core.storage.filestore import CHUNK, FileMissing, FileTooLarge


@pytest.fixture
def files(target, tmp_path):
    store = target.open()
    yield store.files("documents/files", local_dir=tmp_path / "host")
    store.close()


def _source(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_stored_once_read_in_chunks_and_as_a_path(files, tmp_path):
    data = os.urandom(2 * CHUNK + 12345)
    sha = hashlib.sha256(data).hexdigest()
    first = files.put_file(_source(tmp_path, "a.bin", data))
    assert (first.sha256, first.size, first.known) == (sha, len(data), False)
    again = files.put_file(_source(tmp_path, "b.bin", data))
    assert again.known and again.sha256 == sha
    assert [f.sha256 for f in files.scan()] == [sha]
    assert files.size(sha) == len(data) and files.exists(sha)
    with files.open(sha) as fh:
        parts = []
        while part := fh.read(100_000):
            assert len(part) <= 100_000
            parts.append(part)
    assert b"".join(parts) == data
    path = files.local_path(sha)
    assert path.read_bytes() == data and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert files.verify(sha) is None
    small = files.put_bytes(b"")
    assert small.size == 0 and files.read_bytes(small.sha256) == b""


def test_too_large_stores_nothing_and_a_missing_file_is_named(files, tmp_path):
    with pytest.raises(FileTooLarge):
        files.put_file(_source(tmp_path, "big.bin", b"x" * 1001), max_bytes=1000)
    assert list(files.scan()) == []
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert files.size(sha) is None and not files.exists(sha)
    for read in (files.open, files.local_path):
        with pytest.raises(FileMissing, match=sha[:16]):
            read(sha)
    with pytest.raises(StorageError, match="not a file hash"):
        files.size("../../etc/passwd")


def test_removed_scanned_and_renewed_when_stored_again(files, tmp_path):
    kept = files.put_bytes(b"kept")
    gone = files.put_bytes(b"gone")
    listed = {f.sha256: f for f in files.scan()}
    assert set(listed) == {kept.sha256, gone.sha256}
    assert files.discard(listed[gone.sha256]) and files.recheck(listed[gone.sha256]) is None
    assert not files.discard(listed[gone.sha256])
    before = files.recheck(listed[kept.sha256]).modified
    if target_is_folder(files):
        os.utime(files.path_of(kept.sha256), (0, 0))
        before = files.recheck(listed[kept.sha256]).modified
    assert files.put_bytes(b"kept").known
    assert files.recheck(listed[kept.sha256]).modified >= before
    assert files.remove(kept.sha256) and not files.remove(kept.sha256)
    assert list(files.scan()) == []


def target_is_folder(files) -> bool:
    return hasattr(files, "path_of")


def test_damage_is_found(files, target, tmp_path):
    data = os.urandom(CHUNK + 10)
    sha = files.put_file(_source(tmp_path, "d.bin", data)).sha256
    if target.pg:
        import psycopg

        from core.storage.pg import check_pg

        with psycopg.connect(target.where, autocommit=True) as conn:
            conn.execute(f'UPDATE "{files.schema}"._file_chunks SET data = %s WHERE n = 1', (b"0123456789",))
            assert files.verify(sha) is not None and "does not hash" in files.verify(sha)
            conn.execute(f'DELETE FROM "{files.schema}"._file_chunks WHERE n = 1')
            problems = check_pg(target.where)
            assert len(problems) == 1 and f"file documents/files/{sha[:16]}: 1 of 2 chunks" in problems[0]
            with pytest.raises(StorageError, match="lacks chunk 1"):
                files.read_bytes(sha)
    else:
        files.path_of(sha).write_bytes(b"x" + data[1:])
        assert "does not hash" in files.verify(sha)


def test_hosts_storing_the_same_file_at_once_store_it_once(target, tmp_path):
    """Four "hosts" (stores of their own) store the same 3 MB at the same moment."""
    data = os.urandom(3 * CHUNK)
    source = _source(tmp_path, "same.bin", data)
    stores = [target.open() for _ in range(4)]
    try:
        areas = [s.files("documents/files", local_dir=tmp_path / f"host{i}" if target.pg else tmp_path / "host")
                 for i, s in enumerate(stores)]
        barrier = threading.Barrier(len(areas))
        results, errors = [], []

        def put(fs):
            try:
                barrier.wait()
                results.append(fs.put_file(source))
            except BaseException as e:  # pragma: no cover - shown by the assert below
                errors.append(e)

        threads = [threading.Thread(target=put, args=(fs,)) for fs in areas]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert {r.sha256 for r in results} == {hashlib.sha256(data).hexdigest()}
        written = sum(not r.known for r in results)
        assert written == 1 if target.pg else written >= 1  # (a folder: renames of the same bytes)
        assert [f.sha256 for f in areas[0].scan()] == [results[0].sha256]
        assert all(fs.read_bytes(results[0].sha256) == data for fs in areas)
    finally:
        for s in stores:
            s.close()


def test_storage_migrate_moves_the_files_both_ways_with_counts_and_hashes(tmp_path, pg_dsn):
    """A TinyDB site's files (documents' split names, HR's whole-hash names)
    go into PostgreSQL with its tables, and back out into a new folder."""
    from core.storage import open_store
    from core.storage.migrate_cli import migrate

    src = tmp_path / "src"
    s = open_store(src)
    s.table("documents", "versions").insert({"sha256": "x"})
    docs = s.files("documents/files", local_dir=src)
    cvs = s.files("hr/files", local_dir=src, full_names=True)
    big = os.urandom(CHUNK + 5)
    stored = [docs.put_bytes(big), docs.put_bytes(b"letter"), cvs.put_bytes(b"%PDF cv")]
    s.close()
    lines: list[str] = []
    assert migrate(str(src), "postgresql", pg_dsn, echo=lines.append), lines
    files = [line for line in lines if line.strip().startswith("files ")]
    assert len(files) == 2 and all(line.endswith(" ok") for line in files)
    assert "documents/files" in files[0] and "2 files" in files[0] and f"{len(big) + 6:,} bytes" in files[0]
    assert lines[-1].startswith("verified: 1 tables, 1 documents, 3 files")
    from core.storage.pg import open_pg_store

    pg = open_pg_store(pg_dsn)
    try:
        assert pg.files("documents/files", local_dir=tmp_path / "host").read_bytes(stored[0].sha256) == big
        assert pg.files("hr/files", local_dir=tmp_path / "host", full_names=True).read_bytes(
            stored[2].sha256) == b"%PDF cv"
    finally:
        pg.close()
    back = tmp_path / "back"
    lines.clear()
    assert migrate(pg_dsn, "tinydb", str(back), echo=lines.append), lines
    assert lines[-1].startswith("verified: 1 tables, 1 documents, 3 files")
    sha = stored[0].sha256
    assert (back / "documents" / "files" / sha[:2] / sha[2:]).read_bytes() == big
    cv = stored[2].sha256
    assert (back / "hr" / "files" / cv[:2] / cv).read_bytes() == b"%PDF cv"


# -- the host's cache of a PostgreSQL site's files ---------------------------------------


def test_the_cache_is_trimmed_by_age_then_size_never_a_copy_just_used(tmp_path):
    from core.storage.pgfiles import PARTIAL_PREFIX, trim_cache

    root = tmp_path / "cache" / "documents" / "files"
    now = 10_000_000.0
    day = 24 * 3600

    def copy(name: str, size: int, age: float):
        path = root / name[:2] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
        os.utime(path, (now - age, now - age))
        return path

    old = copy("aa" + "0" * 62, 100, 31 * day)          # unused for 31 days: goes
    lru = copy("bb" + "1" * 62, 400, 5 * day)           # the least recently used of the rest
    mid = copy("cc" + "2" * 62, 400, 2 * day)
    fresh = copy("dd" + "3" * 62, 400, 60)              # made a minute ago: kept whatever the size
    partial = copy("ee" + "4" * 62, 50, 3600)
    partial = partial.rename(partial.parent / f"{PARTIAL_PREFIX}abc")  # a writer killed an hour ago
    assert trim_cache(root, max_bytes=900, max_age=30 * day, keep=600, now=now) == (3, 550)
    assert not old.exists() and not lru.exists() and not partial.exists()
    assert mid.exists() and fresh.exists()
    # within the bounds nothing goes; a copy made just now is kept even far over them
    assert trim_cache(root, max_bytes=900, max_age=30 * day, keep=600, now=now) == (0, 0)
    assert trim_cache(root, max_bytes=0, max_age=30 * day, keep=600, now=now) == (1, 400)
    assert fresh.exists() and not mid.exists()
    assert trim_cache(tmp_path / "nothing-here", now=now) == (0, 0)


def test_a_used_copy_is_renewed_and_a_new_one_trims_the_cache(pg_dsn, tmp_path):
    from core.storage.pg import open_pg_store
    from core.storage import pgfiles

    store = open_pg_store(pg_dsn)
    try:
        files = store.files("documents/files", local_dir=tmp_path / "host")
        first = files.put_bytes(b"first file" * 1000)
        path = files.local_path(first.sha256)
        os.utime(path, (1, 1))  # as if unused for decades
        assert files.local_path(first.sha256) == path and path.stat().st_mtime > 1  # used again: renewed
        os.utime(path, (1, 1))
        second = files.put_bytes(b"second file" * 1000)
        other = files.local_path(second.sha256)  # a new copy: the cache is trimmed, the old copy goes
        assert other.exists() and not path.exists()
        assert files.local_path(first.sha256).read_bytes() == b"first file" * 1000  # fetched again when asked
        assert pgfiles.CACHE_MAX_BYTES == 500 * 1024 * 1024 and pgfiles.CACHE_MAX_AGE == 30 * 24 * 3600
    finally:
        store.close()
