"""Tables read when first used (``open_store(..., lazy_tables=True)``, what a session opens).

A lazily opened store reads each snapshot's header line at open; a table's
documents are read when something first asks for them, with the journal
entries it missed meanwhile replayed — also across compactions done by
another process. Everything it returns equals what an eagerly opened store
returns.
"""

from __future__ import annotations

import pytest

from core.storage import AnyOf, CorruptData, open_store

pytestmark = pytest.mark.tinydb_only("lazy loading of the TinyDB backend's snapshot files")


def loaded(store, name: str) -> bool:
    return store._states[name]._docs is not None


def fill(store, n: int, start: int = 0) -> None:
    a, b = store.table("core", "calls"), store.table("hr", "records")
    with store.transaction():
        for i in range(start, start + n):
            a.insert({"i": i, "kind": "call"})
            if i % 3 == 0:
                b.insert({"i": i, "pay": f"{i}.00"})


def test_a_table_nobody_reads_is_never_loaded(data_dir):
    writer = open_store(data_dir, compact_bytes=4000)  # compacts often
    fill(writer, 30)
    writer.table("core", "other").insert({"x": 0})
    writer.compact()
    fill(writer, 10, 30)
    lazy = open_store(data_dir, lazy_tables=True)
    try:
        calls = lazy.table("core", "calls")
        records = lazy.table("hr", "records")  # declaring a table does not load it
        assert not loaded(lazy, "core.calls") and not loaded(lazy, "hr.records")
        assert calls.count() == 40
        assert loaded(lazy, "core.calls") and not loaded(lazy, "hr.records")
        # the other process writes on, compacting several times (new journal generations)
        for round_ in range(5):
            fill(writer, 20, 40 + 20 * round_)
            writer.table("hr", "records").update(1, {"pay": f"{round_}.50"})
            assert calls.count() == 60 + 20 * round_  # follows every change
            assert not loaded(lazy, "hr.records")
        assert lazy._states["hr.records"].lazy.pending == [] or all(
            q > lazy._states["hr.records"].snap_seq for q, _op in lazy._states["hr.records"].lazy.pending)
        fill(writer, 5, 1000)  # some entries after the last compaction: replayed at the load
        want = writer.table("hr", "records").all()
        assert records.all() == want
        assert loaded(lazy, "hr.records")
        # its own compaction reads a changed table it never used, for the
        # snapshot, and lets it go again; what it used stays loaded
        quiet = open_store(data_dir)  # a writer that does not compact now
        quiet.table("core", "other").insert({"x": 1})
        quiet.close()
        lazy.table("core", "other")
        records.insert({"i": -1})
        assert not loaded(lazy, "core.other") and lazy._states["core.other"].lazy.pending
        lazy.compact()
        assert not loaded(lazy, "core.other") and loaded(lazy, "hr.records")
        assert records.find({"i": -1})[0]["i"] == -1
        assert writer.table("hr", "records").all() == records.all()
        assert lazy.table("core", "other").all() == writer.table("core", "other").all()
        assert lazy.check() == []
    finally:
        lazy.close()
        writer.close()


def test_ids_after_a_lazy_load_are_never_reused(data_dir):
    writer = open_store(data_dir)
    fill(writer, 9)
    writer.compact()
    lazy = open_store(data_dir, lazy_tables=True)
    try:
        fill(writer, 3, 9)
        writer.table("hr", "records").delete(4)  # the highest id, deleted before we ever load
        new = lazy.table("hr", "records").insert({"i": "lazy"})
        assert new == 5 and writer.table("hr", "records").get(5) == {"id": 5, "i": "lazy"}
    finally:
        lazy.close()
        writer.close()


def test_damage_is_found_at_open_or_at_the_first_read(data_dir):
    s = open_store(data_dir)
    fill(s, 30)
    s.compact()
    s.close()
    path = data_dir / "hr" / "records.json"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) - 10])  # truncated: the header's length says so at open
    with pytest.raises(CorruptData) as info:
        open_store(data_dir, lazy_tables=True)
    assert str(path) in str(info.value) and "truncated" in str(info.value)
    damaged = bytearray(good)
    damaged[-20] ^= 0x01  # a flipped bit: the checksum says so when the table is read
    path.write_bytes(bytes(damaged))
    lazy = open_store(data_dir, lazy_tables=True)
    try:
        assert lazy.table("core", "calls").count() == 30  # the other tables serve on
        with pytest.raises(CorruptData) as info:
            lazy.table("hr", "records").all()
        assert str(path) in str(info.value) and "checksum" in str(info.value)
    finally:
        lazy.close()


def test_appending_to_a_table_does_not_read_it(data_dir):
    """The audit trail gets an entry per change: a session that writes must
    not read the whole trail for it."""
    s = open_store(data_dir)
    fill(s, 30)
    s.compact()
    s.close()
    lazy = open_store(data_dir, lazy_tables=True)
    other = open_store(data_dir)
    try:
        records = lazy.table("hr", "records")
        first = records.insert({"i": "a"})
        with pytest.raises(ZeroDivisionError):
            with lazy.transaction():
                records.insert({"i": "rolled back"})
                1 / 0
        with lazy.transaction():
            with pytest.raises(ZeroDivisionError):
                with lazy.transaction():  # a savepoint
                    records.insert({"i": "undone"})
                    1 / 0
            second = records.insert({"i": "b"})
        assert not loaded(lazy, "hr.records")
        assert (first, second) == (11, 12)
        with lazy.transaction():  # read after an insert in the same transaction, then undone
            records.insert({"i": "gone"})
            assert records.find({"i": "gone"})[0]["id"] == 13
            lazy.table("core", "calls").insert({"x": 1})
            try:
                with lazy.transaction():
                    records.insert({"i": "gone too"})
                    assert records.count() == 14
                    1 / 0
            except ZeroDivisionError:
                pass
        assert [d["i"] for d in records.find({"id": AnyOf([11, 12, 13, 14])})] == ["a", "b", "gone"]
        assert other.table("hr", "records").all() == records.all()
        assert records.insert({"i": "c"}) == 14
        lazy.compact()
        fresh = open_store(data_dir)
        assert fresh.table("hr", "records").all() == records.all()
        fresh.close()
    finally:
        lazy.close()
        other.close()
