"""Compaction of a big table not loaded (docs/performance.md, "Compaction of a big table not loaded").

A session's compaction writes the snapshot of a segmented table it has not
loaded from its segments: those before the first change are copied byte
for byte, the rest decoded, the journal's changes laid over them and cut
anew. The file is byte for byte the one a whole rewrite (a store holding
the table) writes; the table is never loaded; the columns kept beside the
kept segments still serve; a failure while writing leaves the store whole.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import signal
import zlib

import pytest

from core.storage import Contains, StorageError, engine, files, open_store

pytestmark = pytest.mark.tinydb_only("segments of the TinyDB backend's snapshot files")

SEG = 10
CALLS = ("telephony", "calls")
SNAPSHOT = ("telephony", "calls.json")


def a_log(store, n: int, seed: int) -> None:
    calls = store.table(*CALLS)
    rng = random.Random(seed)
    with store.transaction():
        for i in range(n):
            calls.insert({"caller": rng.choice(["Müller", "Schmidt", "Zoë"]), "n": i,
                          "status": rng.choice(["ended", "missed"]), "note": "x" * rng.randint(0, 30)})


def snapshot(data_dir) -> bytes:
    return data_dir.joinpath(*SNAPSHOT).read_bytes()


def changes(store, rng: random.Random) -> None:
    """Appends, updates of the tail, and sometimes updates and deletes in the middle."""
    calls = store.table(*CALLS)
    ids = [d["id"] for d in calls.find(None, fields=())]
    with store.transaction():
        for _ in range(rng.randint(0, 25)):
            calls.insert({"caller": rng.choice(["Neu", "Zoë"]), "status": "ringing"})
        for doc_id in rng.sample(ids[-15:], rng.randint(0, 5)):  # the tail: calls ended
            calls.update(doc_id, {"status": "ended", "duration": rng.randint(1, 600)})
        if rng.random() < 0.4:
            for doc_id in rng.sample(ids, rng.randint(1, 3)):
                calls.update(doc_id, {"note": rng.choice(["korrigiert", "", "é" * 7])})
        if rng.random() < 0.3:
            for doc_id in rng.sample(ids, rng.randint(1, 4)):
                calls.delete(doc_id)


@pytest.fixture
def never_loaded(monkeypatch):
    """A table not loaded stays so: loading it fails the test."""
    def load(st):
        raise AssertionError(f"{st.name} was loaded whole")
    monkeypatch.setattr(engine, "_load_unloaded", load)


def test_the_tail_written_equals_a_whole_rewrite(tmp_path, monkeypatch):
    """Random rounds of changes on a table of many segments: the snapshot a
    session writes from the segments is byte for byte the one a store
    holding the table writes; it decodes to the same documents, count,
    next id and seq, its body checksum checks, each segment's zones are its
    documents' zones, and stores reopened from it (lazy or not) read the same."""
    rng = random.Random(23)
    data = tmp_path / "data"
    writer = open_store(data, segment_docs=SEG)
    a_log(writer, 87, 1)
    writer.compact()
    writer.close()
    for round_ in range(12):
        lazy = open_store(data, lazy_tables=True, segment_docs=SEG)
        changes(lazy, rng)
        assert lazy._states["telephony.calls"]._docs is None
        whole_dir = tmp_path / f"whole{round_}"
        shutil.copytree(data, whole_dir)
        with monkeypatch.context() as m:
            m.setattr(engine, "_load_unloaded", lambda st: pytest.fail(f"{st.name} was loaded whole"))
            lazy.compact()
        assert lazy._states["telephony.calls"]._docs is None
        lazy.close()
        whole = open_store(whole_dir, segment_docs=SEG)
        whole.compact()
        expected = whole.table(*CALLS).all()
        whole.close()
        assert snapshot(data) == snapshot(whole_dir), f"round {round_}"
        head, body = snapshot(data).split(b"\n", 1)
        header, body = json.loads(head), body[:-1]
        assert header["bytes"] == len(body) and header["crc"] == f"{zlib.crc32(body):08x}"
        snap = files.read_snapshot(str(data.joinpath(*SNAPSHOT)), "telephony.calls")
        assert sorted(snap.docs.values(), key=lambda d: d["id"]) == expected
        assert header["count"] == len(expected) and header["next_id"] > max(d["id"] for d in expected)
        assert header["seq"] == json.loads(data.joinpath("store.json").read_bytes())["seq"]
        for sg in header["segments"]:
            docs = json.loads(b"[" + body[sg["at"]:sg["at"] + sg["bytes"]] + b"]")
            assert sg["zones"] == files.zones(docs) and sg["count"] == len(docs)
        for lazy_tables in (False, True):
            again = open_store(data, lazy_tables=lazy_tables, segment_docs=SEG)
            calls = again.table(*CALLS)
            assert calls.all() == expected
            assert calls.find({"caller": Contains("zoë")}, order_by="-id", limit=5) == \
                [d for d in reversed(expected) if "zoë" in d["caller"].casefold()][:5]
            again.close()
        shutil.rmtree(whole_dir)


def test_kept_segments_are_copied_and_their_columns_still_serve(data_dir, never_loaded):
    """Appends and an update of the newest call: only the last segment is
    written anew; the others are the same bytes, and the columns a session
    kept beside them are read, not built again."""
    writer = open_store(data_dir, segment_docs=SEG)
    a_log(writer, 95, 2)
    writer.compact()
    writer.close()
    where = {"caller": Contains("müller")}
    first = open_store(data_dir, lazy_tables=True, segment_docs=SEG)
    calls = first.table(*CALLS)
    before = calls.count(where)
    folder = data_dir / "telephony" / "calls.columns"
    kept = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    old_head, old_body = snapshot(data_dir).split(b"\n", 1)
    old = json.loads(old_head)["segments"]
    with first.transaction():
        calls.update(95, {"status": "ended"})
        calls.insert({"caller": "Müller", "status": "ringing"})
        calls.insert({"caller": "Schmidt", "status": "ringing"})
    first.compact()
    first.close()
    new_head, new_body = snapshot(data_dir).split(b"\n", 1)
    new = json.loads(new_head)["segments"]
    assert new[:-1] == old[:-1] and new[-1] != old[-1] and len(new) == len(old)
    for sg in old[:-1]:
        assert new_body[sg["at"]:sg["at"] + sg["bytes"]] == old_body[sg["at"]:sg["at"] + sg["bytes"]]
    still = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert {n: t for n, t in kept.items() if not n.startswith("91-95-")} == still  # only the last one's gone
    second = open_store(data_dir, lazy_tables=True, segment_docs=SEG)
    assert second.table(*CALLS).count(where) == before + 1
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.name in still} == still  # read, not rebuilt
    second.close()


def test_a_delete_in_the_middle_shifts_only_from_there(data_dir, never_loaded):
    """A delete in the fourth segment: the three before are kept, those from
    it on cut anew (each one document later)."""
    writer = open_store(data_dir, segment_docs=SEG)
    a_log(writer, 80, 3)
    writer.compact()
    writer.close()
    old = json.loads(snapshot(data_dir).split(b"\n", 1)[0])["segments"]
    session = open_store(data_dir, lazy_tables=True, segment_docs=SEG)
    session.table(*CALLS).delete(35)
    session.compact()
    session.close()
    new = json.loads(snapshot(data_dir).split(b"\n", 1)[0])["segments"]
    assert new[:3] == old[:3]
    assert [sg["zones"]["id"]["n"] for sg in new[3:]] == [[31, 41], [42, 51], [52, 61], [62, 71], [72, 80]]


def test_a_failure_while_writing_leaves_the_store_whole(data_dir, never_loaded):
    """The disk fills while the new snapshot is written: the compaction says
    so in one line, its temporary file is gone, the old snapshot and journal
    still hold everything, and the next compaction writes it."""
    writer = open_store(data_dir, segment_docs=SEG)
    a_log(writer, 95, 4)
    writer.compact()
    writer.close()
    session = open_store(data_dir, lazy_tables=True, segment_docs=SEG)
    calls = session.table(*CALLS)
    calls.insert({"caller": "Neu", "status": "ringing"})
    calls.update(3, {"note": "korrigiert"})
    before = snapshot(data_dir)
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) // 2, limit[1]))
        with pytest.raises(StorageError, match="compaction failed .* nothing was lost"):
            session.compact()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, handler)
    assert snapshot(data_dir) == before
    assert not [p for p in (data_dir / "telephony").iterdir() if p.name.endswith(".tmp")]
    assert calls.get(96)["caller"] == "Neu" and calls.get(3)["note"] == "korrigiert"
    session.compact()
    session.close()
    again = open_store(data_dir, segment_docs=SEG)
    assert again.table(*CALLS).get(96)["caller"] == "Neu" and again.table(*CALLS).get(3)["note"] == "korrigiert"
    assert again.table(*CALLS).count() == 96
    again.close()


def test_a_damaged_kept_segment_is_not_copied(data_dir, never_loaded):
    """A kept segment whose bytes no longer match its checksum: the
    compaction refuses (naming the snapshot) and writes nothing."""
    writer = open_store(data_dir, segment_docs=SEG)
    a_log(writer, 95, 5)
    writer.compact()
    writer.close()
    session = open_store(data_dir, lazy_tables=True, segment_docs=SEG)
    session.table(*CALLS).insert({"caller": "Neu"})
    path = data_dir.joinpath(*SNAPSHOT)
    raw = bytearray(path.read_bytes())
    at = raw.index(b'"Schmidt"', raw.index(b"\n"))  # in the first segment's documents
    raw[at + 1] = ord("s")
    path.write_bytes(bytes(raw))
    with pytest.raises(Exception, match="calls.json.*damaged"):
        session.compact()
    assert path.read_bytes() == bytes(raw)
    session.close()
