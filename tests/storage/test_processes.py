"""Several real processes on one data directory: races, visibility, migrations, backup.

Tests taking ``target`` run on both backends (TinyDB journal, PostgreSQL);
the ones about files, backups and compaction on the default backend only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage_helpers import finish, spawn

from core.storage import backup, check, open_store


@pytest.mark.tinydb_only("writer processes on one TinyDB data folder "
                         "(on both backends: test_race_mixed_writes_and_shared_counter)")
def test_race_four_processes_insert(data_dir):
    open_store(data_dir).close()
    procs = [spawn("insert", data_dir, 200, compact_bytes=16_000) for _ in range(4)]
    reported = [int(line) for p in procs for line in finish(p)]
    assert len(reported) == 800 and len(set(reported)) == 800
    s = open_store(data_dir)
    docs = s.table("core", "items").all()
    assert sorted(d["id"] for d in docs) == sorted(reported) == list(range(1, 801))
    per_pid: dict[int, list[int]] = {}
    for d in docs:
        per_pid.setdefault(d["pid"], []).append(d["i"])
    assert sorted(per_pid.values()) == [list(range(200))] * 4
    assert s.check() == []
    s.close()


def test_race_mixed_writes_and_shared_counter(target):
    target.open().close()
    procs = [spawn("mixed", target.arg(), 150, compact_bytes=20_000) for _ in range(4)]
    expected: dict[int, int] = {}
    for p in procs:
        for line in finish(p):
            op, doc_id, *rest = line.split()
            if op == "insert":
                expected[int(doc_id)] = 0
            elif op == "update":
                expected[int(doc_id)] = int(rest[0])
            else:
                del expected[int(doc_id)]
    s = target.open()
    items = {d["id"]: d["n"] for d in s.table("core", "items").all()}
    assert items == expected
    assert s.table("core", "counter").all() == [{"id": 1, "n": 600}]  # read-modify-write lost nothing
    assert (s.check() if target.pg else check(target.where)) == []
    s.close()


def test_other_process_changes_are_seen(target):
    s = target.open()
    items = s.table("core", "items")
    seen: list[set[str]] = []
    s.on_change(seen.append)
    assert s.refresh() == set()
    finish(spawn("insert", target.arg(), 5))
    assert s.refresh() == {"core.items"}
    assert seen == [{"core.items"}]
    assert items.count() == 5
    assert s.refresh() == set()
    # Across several compactions done by the other process:
    lines = finish(spawn("insert", target.arg(), 300, compact_bytes=3000))
    assert items.count() == 305           # reads pick up outside commits by themselves
    assert s.refresh() == {"core.items"}  # and refresh() still reports them
    assert items.get(int(lines[-1]))["i"] == 299
    assert items.insert({"mine": True}) == 306
    s.close()


def test_watch_reports_outside_changes(target):
    import threading

    s = target.open()
    s.table("core", "items")
    got = threading.Event()
    s.on_change(lambda names: got.set() if "core.items" in names else None)
    s.watch(interval=0.05)
    finish(spawn("insert", target.arg(), 3))
    assert got.wait(10)
    s.close()


def test_migration_runs_once_with_three_processes(target):
    s = target.open()
    items = s.table("core", "items")
    with s.transaction():
        for i in range(50):
            items.insert({"i": i})
    s.close()
    procs = [spawn("migrate", target.arg()) for _ in range(3)]
    assert [finish(p) for p in procs] == [["ok 50"]] * 3
    s = target.open()
    docs = s.table("core", "items", version=2).all()
    assert [d["index"] for d in docs] == list(range(50))
    assert all("i" not in d for d in docs)
    assert len({d["migrated_by"] for d in docs}) == 1  # one process did it all
    if target.pg:
        s.close()
        return
    data_dir = Path(target.where)
    backups = os.listdir(data_dir / "backups")
    assert len(backups) == 1 and backups[0].endswith("-before-core.items-v2")
    old = open_store(data_dir / "backups" / backups[0])
    assert old.table("core", "items").all()[3] == {"id": 4, "i": 3}  # the backup is version 1
    old.close()
    s.close()


@pytest.mark.tinydb_only('file backup of a TinyDB data folder')
def test_backup_while_another_process_writes(data_dir, tmp_path):
    open_store(data_dir).close()
    writer = spawn("insert", data_dir, 1500, compact_bytes=8000)
    first = int(writer.stdout.readline())  # it is writing now
    copies = []
    for n in range(5):
        dest = tmp_path / f"copy{n}"
        backup(data_dir, dest)
        copies.append(dest)
    reported = [first] + [int(x) for x in finish(writer)]
    last = -1
    for dest in copies:
        assert check(dest) == []
        s = open_store(dest)
        found = [d["id"] for d in s.table("core", "items").all()] if "core.items" in s.tables() else []
        # A consistent copy is a prefix of what the writer committed.
        assert found == reported[:len(found)]
        assert len(found) >= last
        last = len(found)
        s.close()


@pytest.mark.tinydb_only('TinyDB journal compaction')
def test_reader_follows_writers_through_many_compactions(data_dir):
    s = open_store(data_dir)
    items = s.table("core", "items")
    writers = [spawn("insert", data_dir, 300, compact_bytes=2500) for _ in range(2)]
    seen = []
    while any(w.poll() is None for w in writers):
        seen.append(items.count())
        s.refresh()
    for w in writers:
        finish(w)
    seen.append(items.count())
    assert seen == sorted(seen) and seen[-1] == 600
    assert sorted(d["id"] for d in items.all()) == list(range(1, 601))
    s.close()


@pytest.mark.tinydb_only('TinyDB journal compaction')
def test_follow_one_compaction_without_reloading(data_dir):
    a, b = open_store(data_dir), open_store(data_dir)
    ta, tb = a.table("hr", "cases"), b.table("hr", "cases")
    ta.insert({"n": 1})
    tb.count()
    state = b._states["hr.cases"]  # white box: the same in-memory table must carry on
    ta.insert({"n": 2})
    a.compact()
    ta.insert({"n": 3})
    assert [d["n"] for d in tb.all()] == [1, 2, 3]
    assert b._states["hr.cases"] is state
    assert b.refresh() == {"hr.cases"}
    a.close()
    b.close()
