"""Part of a table read without loading it (segmented snapshots, docs/performance.md "A year").

A big table's snapshot is cut into segments with zones in its header; a
session that has not loaded the table answers a where that rules out
segments, a page ordered by id, a get, a count from those segments alone,
with the journal's later changes laid over them. What it returns equals
what a store holding the whole table returns; the table stays unloaded.
"""

from __future__ import annotations

import itertools
import json
import random

import pytest

from core.storage import AnyOf, Contains, CorruptData, Not, Range, open_store

pytestmark = pytest.mark.tinydb_only("segments of the TinyDB backend's snapshot files")

SEG = 10


def loaded(store, name: str) -> bool:
    return store._states[name]._docs is not None


def a_year(store, n: int = 95, start: int = 0) -> None:
    calls = store.table("telephony", "calls")
    rng = random.Random(start)
    with store.transaction():
        for i in range(start, start + n):
            doc = {"started_at": f"2026-{1 + i // 10:02d}-{1 + i % 10:02d}T09:00:00Z",
                   "status": "ended" if i < 80 else rng.choice(["ringing", "active", "ended"]),
                   "duration": rng.choice([None, rng.randint(0, 600), rng.random() * 100]),
                   "night": rng.choice([True, False]), "caller": rng.choice(["Müller", "Schmidt", "Zoe " * 20]),
                   "transfers": [{"to": rng.randint(1, 5)}] if i % 4 else []}
            if i % 7 == 0:
                doc["note"] = i  # a field only some documents have
            pick = random.Random(1000 + i)  # the other fields' draws as before
            ids = sorted({pick.randint(1, 12) for _ in range(pick.randint(0, 3))})
            # delimited tokens (one value in one segment is not: that segment is read)
            doc["people"] = "x|3|" if i == 52 else "|" + "|".join(map(str, ids)) + "|" if ids else ""
            calls.insert(doc)


@pytest.fixture
def office(data_dir):
    writer = open_store(data_dir, segment_docs=SEG)
    a_year(writer)
    writer.compact()
    lazy = open_store(data_dir, lazy_tables=True, segment_docs=SEG)
    yield writer, lazy
    lazy.close()
    writer.close()




#: the wheres that rule out segments here: read without loading the table
NARROW = [{"started_at": Range(ge="2026-09-01")}, {"started_at": Range(ge="2026-03-05", lt="2026-03-08")},
          {"started_at": Range(le="2026-01-03")}, {"started_at": Range(gt="2026-10")}, {"status": "ringing"},
          {"status": AnyOf(["ringing", "active"])}, {"id": Range(lt=23)}, {"id": Range(gt=90)}, {"id": 42},
          {"id": AnyOf([3, 77])}, {"note": 14}, {"note": Range(ge=50)}, {"note": "14"}, {"night": 1},
          {"caller": Range(lt="A")}, {"status": "ringing", "started_at": Range(ge="2026-09-01")}]
#: ... and those that do not (read whole unless paged by id)
WIDE = [{"status": "ended"}, {"caller": Range(ge="Zoe")}, {"duration": Range(ge=500)}, {"duration": Range(lt=1.5)}, {"duration": None},
        {"duration": 3}, {"note": None}, {"night": True}, {"caller": "Müller"}, {"caller": Contains("zoe")},
        {"status": Not("ended")}, {("status", "caller"): "ringing"}, {"transfers": []},
        {"transfers.to": None, "caller": Not(AnyOf(["Müller", None]))}, {"people": Contains("|3|")},
        {"people": Contains("|1|3|")}, {"people": Contains("3|")}, {"people": ""}]
WHERES = NARROW + WIDE
#: with a limit, every order reads the segments that can hold the first rows
ORDERS = ["-id", "id", None, "-started_at", ["-started_at", "-id"], "started_at", "duration", "-duration",
          "-caller", "caller", "note", "-note", "night", ["-night", "started_at"], "-transfers", "status"]


def test_every_read_equals_the_whole_tables(office, data_dir):
    writer, _lazy = office
    whole = writer.table("telephony", "calls")
    for where in WHERES:
        lazy = open_store(data_dir, lazy_tables=True, segment_docs=SEG)
        try:
            part = lazy.table("telephony", "calls")
            assert lazy._states["telephony.calls"].lazy.segmented
            for order, limit, offset in itertools.product(ORDERS, [None, 3, 25], [0, 4]):
                if any(where is n for n in NARROW) or limit:
                    assert part.find(where, order_by=order, limit=limit, offset=offset) == \
                        whole.find(where, order_by=order, limit=limit, offset=offset), (where, order, limit, offset)
            assert part.count(where) == whole.count(where), where  # WIDE too: the segments streamed
            assert not loaded(lazy, "telephony.calls"), where  # segments only
            assert part.find(where) == whole.find(where), where  # WIDE: streamed, decoding the matches
            for fields, order, limit in ((["caller", "note"], "-id", 7), (["transfers"], "-started_at", 5),
                                         (["status"], None, None)):
                assert part.find(where, order_by=order, limit=limit, fields=fields) == [
                    {"id": d["id"], **{k: d[k] for k in fields if k in d}}
                    for d in whole.find(where, order_by=order, limit=limit)], (where, fields)
            assert part.count(where) == whole.count(where), where
            assert not loaded(lazy, "telephony.calls"), where
        finally:
            lazy.close()
    lazy = _lazy
    part = lazy.table("telephony", "calls")
    assert [part.get(i) for i in range(0, 100)] == [whole.get(i) for i in range(0, 100)]
    assert part.count() == whole.count() == 95
    assert not loaded(lazy, "telephony.calls")
    assert part.find(order_by="-started_at") == whole.find(order_by="-started_at")
    assert loaded(lazy, "telephony.calls")  # nothing to rule out: read whole


def test_what_another_process_wrote_since_is_laid_over(office):
    writer, lazy = office
    whole = writer.table("telephony", "calls")
    part = lazy.table("telephony", "calls")
    assert part.count({"started_at": Range(ge="2026-09-01")}) == 15
    a_year(writer, 12, start=95)  # new calls (ids 96-107), some in October
    whole.update(91, {"status": "active", "started_at": "2026-01-01T08:00:00Z"})  # moved out of its zone
    whole.update(3, {"status": "ringing", "started_at": "2026-12-24T08:00:00Z"})  # into the newest
    whole.delete(93)
    with lazy.transaction():  # and this session's own write, seen inside its transaction
        new = part.insert({"started_at": "2026-12-31T23:00:00Z", "status": "ringing"})
        assert part.find({"status": "ringing"}, order_by="-id", limit=2)[0]["id"] == new
        assert part.get(new)["status"] == "ringing"
    for where in NARROW + WIDE + [{"started_at": Range(ge="2026-12-01")}]:
        wide = any(where is w for w in WIDE)
        for order, limit in [("-id", 5), ("id", 5), ("-id", 50), (["-started_at", "-id"], 7), ("started_at", 9),
                             ("-duration", 4)] + ([] if wide else [(None, None)]):
            assert part.find(where, order_by=order, limit=limit) == whole.find(where, order_by=order, limit=limit)
        if not wide:
            assert part.count(where) == whole.count(where)
    assert part.get(93) is None and part.get(3) == whole.get(3) and part.count() == whole.count()
    keyset, last = [], None  # a keyset page at a time, newest first, as a screen pages
    while True:
        page = part.find({"id": Range(lt=last)} if last else None, order_by="-id", limit=7)
        if not page:
            break
        keyset += page
        last = page[-1]["id"]
    assert keyset == whole.find(order_by="-id")
    assert not loaded(lazy, "telephony.calls")
    # another compaction elsewhere: the new snapshot's segments are read
    writer.compact()
    a_year(writer, 3, start=200)
    assert part.find({"started_at": Range(ge="2026-09-01")}) == whole.find({"started_at": Range(ge="2026-09-01")})
    assert part.find(order_by="-id", limit=4) == whole.find(order_by="-id", limit=4)
    assert not loaded(lazy, "telephony.calls")
    assert part.all() == whole.all()  # and a read of everything loads it, the same
    assert loaded(lazy, "telephony.calls")


def test_a_damaged_segment_is_named(office, data_dir):
    writer, lazy = office
    path = data_dir / "telephony" / "calls.json"
    raw = bytearray(path.read_bytes())
    at = raw.rindex(b'"Schmidt"')
    raw[at + 2] ^= 0x01  # a flipped bit in the newest segment, same length
    path.write_bytes(bytes(raw))
    fresh = open_store(data_dir, lazy_tables=True, segment_docs=SEG)
    try:
        with pytest.raises(CorruptData) as info:
            fresh.table("telephony", "calls").find(order_by="-id", limit=3)
        assert str(path) in str(info.value) and "checksum" in str(info.value)
    finally:
        fresh.close()


def test_small_tables_and_old_snapshots_have_no_segments(data_dir):
    """A table up to a segment's size is written as before; a snapshot
    written before segments existed is read whole, and gets segments at a
    compaction that rewrites it."""
    s = open_store(data_dir, segment_docs=None)  # as an older version wrote it
    a_year(s, 40)
    s.compact()
    lazy = open_store(data_dir, lazy_tables=True, segment_docs=SEG)
    assert not lazy._states["telephony.calls"].lazy.segmented
    assert lazy.table("telephony", "calls").count({"status": "ringing"}) == 0
    assert loaded(lazy, "telephony.calls")
    lazy.close()
    s.close()
    s = open_store(data_dir, segment_docs=SEG)
    s.compact(rewrite=True)
    s.close()
    lazy = open_store(data_dir, lazy_tables=True, segment_docs=SEG)
    try:
        assert lazy.table("telephony", "calls").count({"id": Range(ge=35)}) == 6
        assert not loaded(lazy, "telephony.calls")
        assert lazy.check() == []
    finally:
        lazy.close()


def test_changing_one_document_does_not_load_the_table(office):
    """An operator's session transfers today's call: an update (or a delete)
    of a document reads its segment, not the year."""
    writer, lazy = office
    whole = writer.table("telephony", "calls")
    part = lazy.table("telephony", "calls")
    part.update(94, {"status": "active", "transfers": [{"to": 9}]})
    with pytest.raises(ZeroDivisionError):
        with lazy.transaction():
            part.update(95, {"status": "gone"})
            part.delete(2)
            assert part.get(95)["status"] == "gone" and part.get(2) is None
            1 / 0
    with lazy.transaction():
        with pytest.raises(ZeroDivisionError):
            with lazy.transaction():  # a savepoint
                part.replace(95, {"status": "undone"})
                1 / 0
        part.delete(1)
    with pytest.raises(Exception) as info:
        part.update(500, {"status": "x"})
    assert "500" in str(info.value)
    assert not loaded(lazy, "telephony.calls")
    assert whole.get(94)["transfers"] == [{"to": 9}] and whole.get(1) is None
    assert whole.get(95)["status"] != "gone" and whole.get(2) is not None
    assert part.find({"status": "active"}, order_by="-id", limit=100) == whole.find({"status": "active"}, order_by="-id")
    assert part.count() == whole.count() == 94
    assert part.all() == whole.all()  # loaded now: the same
    with lazy.transaction():
        with pytest.raises(ZeroDivisionError):
            with lazy.transaction():
                part.update(94, {"status": "ended"})
                1 / 0
    assert part.all() == whole.all()


def test_the_newest_rows_by_a_field_read_the_newest_segments(office, monkeypatch):
    """"The newest calls" (ordered by started_at, with a limit, as the call
    history pages) read the segments whose zones reach the newest, not all."""
    from core.storage import files

    writer, lazy = office
    reads = []
    real = files.segment_bytes
    monkeypatch.setattr(files, "segment_bytes", lambda *a: reads.append(a[2]["at"]) or real(*a))
    part, whole = lazy.table("telephony", "calls"), writer.table("telephony", "calls")
    order = ["-started_at", "-id"]
    assert part.find(order_by=order, limit=5) == whole.find(order_by=order, limit=5)
    assert len(reads) == 1  # of 10 segments
    last = whole.find(order_by=order, limit=15)[-1]["started_at"]
    reads.clear()
    page = part.find({"started_at": Range(le=last)}, order_by=order, limit=15)
    assert page == whole.find({"started_at": Range(le=last)}, order_by=order, limit=15)
    assert len(reads) == 3 and not loaded(lazy, "telephony.calls")


def test_a_filter_counts_and_pages_without_loading_the_table(office, monkeypatch):
    """A table's filter typed letter by letter (Contains over some fields:
    the Journal's, the call history's) is counted and paged from the
    segments' searched texts, kept once read: the table is never loaded and
    the next letter parses no segment for the count."""
    from core.storage import files

    writer, lazy = office
    reads = []
    real = files.segment_bytes
    monkeypatch.setattr(files, "segment_bytes", lambda *a: reads.append(a[2]["at"]) or real(*a))
    part, whole = lazy.table("telephony", "calls"), writer.table("telephony", "calls")
    with writer.transaction():
        whole.update(9, {"caller": ["Zoe", 4]})
        whole.update(11, {"caller": [4]})
    writer.compact()  # lists in the segments
    with writer.transaction():  # written since the snapshot: laid over
        whole.update(5, {"caller": "Zoe Neu"})
        whole.update(6, {"caller": ["Ana", "ZOEY"]})   # a list: any element
        whole.update(7, {"caller": []})
        whole.delete(next(d["id"] for d in whole.find({"caller": Contains("zoe")}, order_by="-id", limit=1)))
        whole.insert({"caller": "zoé", "status": "ringing"})
    searches = [{"caller": Contains("Z")}, {"caller": Contains("zo")}, {"caller": Contains("zoe")},
                {"caller": Contains("ü")}, {("status", "caller"): Contains("ING")},
                {"caller": Contains("zoe"), "status": Contains("end")}, {"note": Contains("1")},
                {"caller": Contains("nobody")}, {"caller": Contains("")},
                {"caller": Contains("zo"), "status": "ended"}, {"caller": Contains("mü"), "note": Not(None)},
                {"caller": Contains("Z"), "started_at": Range(ge="2026-05")}, {"caller": Contains("a\x00")}]
    for where in searches:
        assert part.count(where) == whole.count(where), where
        for (limit, offset), order in itertools.product([(7, 0), (7, 14), (200, 0)], ["-id", "started_at"]):
            assert part.find(where, order_by=order, limit=limit, offset=offset) == \
                whole.find(where, order_by=order, limit=limit, offset=offset), where
        keyset, last = [], None  # keyset pages, as the table pages a filter
        while page := part.find({**where, "id": Range(lt=last)} if last else where, order_by="-id", limit=6):
            keyset += page
            last = page[-1]["id"]
        assert keyset == whole.find(where, order_by="-id"), where
    assert not loaded(lazy, "telephony.calls")
    reads.clear()
    assert part.count({"caller": Contains("zoe z")}) == whole.count({"caller": Contains("zoe z")})
    assert reads == []  # the next letter: the texts kept, no segment parsed
    assert part.find({"caller": Contains("nobody")}, order_by="-id", limit=5) == [] and reads == []


def test_a_search_for_a_few_fields_reads_each_segment_once(office, monkeypatch):
    """A search that wants only some fields (a register's ids and sort keys)
    takes them from the segments' columns: each segment is read once, in
    the same pass as its searched texts, and asked again with another
    where over those fields (the ids found: AnyOf), nothing is read; the
    answers equal the whole table's, with other processes' writes laid over."""
    from core.storage import files

    writer, lazy = office
    reads = []
    real = files.segment_bytes
    monkeypatch.setattr(files, "segment_bytes", lambda *a: reads.append(a[2]["at"]) or real(*a))
    part, whole = lazy.table("telephony", "calls"), writer.table("telephony", "calls")
    with writer.transaction():  # written since the snapshot: laid over
        whole.update(5, {"caller": "Zoe Neu", "note": ["a", {"b": 1}]})
        whole.delete(8)
        whole.insert({"caller": "zoé", "status": "ringing"})

    def want(where, keep, **kw):
        return [{"id": d["id"], **{k: d[k] for k in keep if k in d}} for d in whole.find(where, **kw)]

    search = {("caller", "status"): Contains("e")}
    keep = ["started_at", "note", "duration"]
    got = part.find(search, fields=keep)
    assert got == want(search, keep) and len(got) > SEG
    segments = len(set(reads))
    assert len(reads) == segments  # each segment once: texts and fields in one pass
    got[0]["note"] = "changed"  # copies: the kept columns are not the caller's
    reads.clear()
    ids = [d["id"] for d in got][::3]
    for where, kw in (({"id": AnyOf(ids)}, {}), ({"id": AnyOf(ids), "duration": Not(None)}, {}),
                      ({"id": AnyOf([True, str(ids[0]), float(ids[1]), [ids[2]], None, ids[3]])}, {}),
                      (search, {"order_by": "-id", "limit": 9}), (search, {"order_by": ["id"], "limit": 5})):
        assert part.find(where, fields=keep, **kw) == want(where, keep, **kw), where
    assert reads == []  # the columns kept: nothing read again
    assert part.find(search, order_by="-started_at", limit=4, fields=keep) == \
        want(search, keep, order_by="-started_at", limit=4)  # ordered by a kept field: the top rows
    assert not loaded(lazy, "telephony.calls")


def test_a_count_streams_the_segments_once(office, monkeypatch):
    """A count no zone narrows (a queue's size, "every ended call") reads each
    segment once and keeps only the ids it matched: asked again, with other
    processes' changes since, it parses nothing and the table stays unloaded."""
    from core.storage import files

    writer, lazy = office
    reads = []
    real = files.segment_bytes
    monkeypatch.setattr(files, "segment_bytes", lambda *a: reads.append(a[2]["at"]) or real(*a))
    part, whole = lazy.table("telephony", "calls"), writer.table("telephony", "calls")
    wheres = [{"status": "ended"}, {"night": True, "status": Not("ringing")}, {"duration": None}]
    for where in wheres:
        assert part.count(where) == whole.count(where)
    assert len(reads) <= 2 * 10  # "ended" (and a few segments' durations) counted from the zones
    reads.clear()
    whole.update(2, {"status": "ringing", "night": False})
    whole.delete(4)
    whole.insert({"status": "ended", "night": True})
    for where in wheres:
        assert part.count(where) == whole.count(where), where
    assert reads == [] and not loaded(lazy, "telephony.calls")


def test_a_count_of_one_value_or_token_is_read_from_the_zones(office, monkeypatch):
    """A count of one field's value (``status``: few values) or of one
    ``|``-delimited token (``Contains("|3|")``: a person's calls) is the sum
    of the segments' zone counts: no segment is read, except those holding
    documents changed since (another process's update) and one whose zone
    cannot say (a value that is not delimited tokens)."""
    from core.storage import files

    writer, lazy = office
    reads = []
    real = files.segment_bytes
    monkeypatch.setattr(files, "segment_bytes", lambda *a: reads.append(a[2]["at"]) or real(*a))
    part, whole = lazy.table("telephony", "calls"), writer.table("telephony", "calls")
    counted = [{"status": "ended"}, {"status": AnyOf(["ringing", "active"])}, {"night": True}, {"note": None},
               {"people": Contains("|3|")}, {"people": Contains("|7|")}, {"people": Contains("|99|")}]
    for where in counted:
        assert part.count(where) == whole.count(where), where
    assert len(set(reads)) == 1  # the segment holding "x|3|", for the tokens
    reads.clear()
    assert [part.count({"people": Contains("|3|")}) for _ in range(2)] == [whole.count({"people": Contains("|3|")})] * 2
    whole.update(2, {"status": "ringing", "people": "|3|"})  # another process: segment 1 is read
    whole.insert({"status": "ended", "people": "|3|7|"})
    reads.clear()
    for where in counted:
        assert part.count(where) == whole.count(where), where
    assert set(reads) == {1} and not loaded(lazy, "telephony.calls")  # ids 1-10 changed (the odd one: kept columns)
    # finds skip the segments without the token
    assert part.find({"people": Contains("|11|")}, order_by="-id", limit=3) == \
        whole.find({"people": Contains("|11|")}, order_by="-id", limit=3)


def test_a_segment_is_decoded_the_fast_way_or_the_careful_way_alike():
    """msgspec decodes a segment this code wrote (documents joined by commas)
    as json's careful loop does — the documents and where each starts —
    and leaves what it cannot (spaces between documents, a lone surrogate)
    to that loop."""
    from core.storage import files

    docs = [{"id": i, "name": "Müller 😀 \u2028 \"q\" \\\\", "n": [1.5, -0.0, 10**30, {"x": None}], "t": True}
            for i in range(1, 40)]
    body = files.encode_snapshot("t.x", 1, 40, 1, docs, segment_docs=10).split(b"\n", 1)[1]
    header = json.loads(files.encode_snapshot("t.x", 1, 40, 1, docs, segment_docs=10).split(b"\n", 1)[0])
    for sg in header["segments"]:
        raw = body[sg["at"]:sg["at"] + sg["bytes"]]
        fast = files._segment_fast(raw, sg)
        assert fast is not None
        careful = files.segment_docs(raw.replace(b"},{", b"}, {"), sg, "p", "t.x")  # spaces: the loop
        assert files._segment_fast(raw.replace(b"},{", b"}, {"), sg) is None
        lo, hi = sg["zones"]["id"]["n"]
        assert fast[0] == careful[0] == [d for d in docs if lo <= d["id"] <= hi]
        with pytest.MonkeyPatch.context() as mp:  # the same bytes by json's loop
            mp.setattr(files, "_segment_fast", lambda raw, segment: None)
            loop = files.segment_docs(raw, sg, "p", "t.x")
        assert fast[0] == loop[0] and list(fast[1]) == list(loop[1])
        assert [raw[s:s + 6] for s in fast[1]] == [b'{"id":'] * sg["count"]
    lone = b'{"id":1,"s":"\\ud800"},{"id":2}'
    assert files._segment_fast(lone, {"count": 2}) is None
    assert files.segment_docs(lone, {"count": 2}, "p", "t.x")[0] == [{"id": 1, "s": "\ud800"}, {"id": 2}]


def test_a_segment_is_skipped_for_many_wanted_values_as_value_by_value():
    """A page read by id (AnyOf of 100 ids) against every segment's zone
    bisects the sorted values instead of testing each: the same segments
    kept, whatever the values' kinds (strings, numbers, NaN, True beside 1,
    None, lists) and the zone's bounds."""
    from core.storage.engine import _segment_keeps, _zone_keeps_value

    rnd = random.Random(7)
    kinds = [lambda: rnd.randint(-5, 300), lambda: rnd.random() * 300, lambda: f"2026-{rnd.randint(1, 12):02d}",
             lambda: True, lambda: None, lambda: float("nan"), lambda: [1], lambda: {"a": 1}, lambda: 1.0]
    for _ in range(3000):
        values = [rnd.choice(kinds[:3] if rnd.random() < 0.7 else kinds)() for _ in range(rnd.randint(0, 12))]
        zone = {}
        if rnd.random() < 0.8:
            lo = rnd.randint(-10, 310)
            zone["n"] = [lo, lo + rnd.randint(0, 60)]
        if rnd.random() < 0.6:
            lo = f"2026-{rnd.randint(1, 12):02d}"
            zone["s"] = [lo, rnd.choice([None, lo, "2026-13"])]
        where = {"id": AnyOf(values)}
        assert _segment_keeps({"id": zone}, where) == any(_zone_keeps_value(zone, v) for v in values), (zone, values)

def test_a_search_decodes_only_the_fields_it_reads(office, monkeypatch):
    """A filter's texts (and a read of a few fields) are decoded from a
    segment as only those keys — never the whole documents — when msgspec
    reads the segment alike; a segment it refuses (bytes not as this code
    writes them) is decoded whole, as before. ``prepare_search`` (a screen's ``/``) reads
    the folded texts ahead: the next letters (not a word alone: that is
    looked up in the words kept) decode no segment, and every answer equals
    the whole table's, other processes' writes laid over."""
    from core.storage import files

    writer, lazy = office
    part, whole = lazy.table("telephony", "calls"), writer.table("telephony", "calls")
    with writer.transaction():
        whole.update(12, {"caller": ["ZOE", 4, None], "note": {"zoe": 1}})
        whole.update(25, {"status": "Zoë"})
        whole.update(26, {"caller": None})
    writer.compact()
    with writer.transaction():  # written since the snapshot: laid over
        whole.update(40, {"caller": "Zoe Neu"})
        whole.delete(41)
        whole.insert({"caller": "zoé", "status": "ringing"})
    decoded = []
    real_docs, real_fields = files.segment_docs, files.segment_fields

    def whole_docs(raw, segment, *a, starts=None, positions=None):
        decoded.append(("whole" if starts is None else "some", segment["at"]))
        return real_docs(raw, segment, *a, starts=starts, positions=positions)

    refuse = lazy._states["telephony.calls"]  # the third segment: as if msgspec refused it
    refuse = files.read_header(open(refuse.lazy.path, "rb"), refuse.lazy.path, "telephony.calls")[0]["segments"][2]

    def some_fields(raw, segment, keys, missing):
        got = real_fields(raw, segment, keys, missing) if segment["at"] != refuse["at"] else None
        decoded.append(("fields" if got is not None else "refused", segment["at"]))
        return got

    monkeypatch.setattr(files, "segment_docs", whole_docs)
    monkeypatch.setattr(files, "segment_fields", some_fields)
    lazy.table("telephony", "calls").prepare_search(["caller", "status"])
    ats = {at for _kind, at in decoded}
    (refused,) = [at for kind, at in decoded if kind == "refused"]  # that segment: whole
    assert sorted(decoded) == sorted([("fields", at) for at in ats - {refused}] + [
        ("refused", refused), ("whole", refused)]) and len(ats) >= 9
    decoded.clear()
    texts = ("zoe ", "e z", " ", "r ", "zoë n", "nobody ")  # (a word alone: the words kept say)
    for text in texts:  # the counts: from the texts read ahead
        where = {("caller", "status"): Contains(text)}
        assert part.count(where) == whole.count(where), text
    assert decoded == []
    for text in texts:  # a page decodes its documents (here 7 of a segment of 10: all of it)
        where = {("caller", "status"): Contains(text)}
        assert part.find(where, order_by="-id", limit=7) == whole.find(where, order_by="-id", limit=7), text
    assert {kind for kind, _at in decoded} <= {"some", "whole"}
    for text in ("z", "zo", "zoe", "zoë", "4", "ing", "nobody"):  # words (built once, then kept)
        where = {("caller", "status"): Contains(text)}
        assert part.count(where) == whole.count(where), text
        assert part.find(where, order_by="-id", limit=7) == whole.find(where, order_by="-id", limit=7), text
    keep = ["caller", "note"]
    assert part.find(None, order_by="-id", fields=keep) == [
        {"id": d["id"], **{k: d[k] for k in keep if k in d}} for d in whole.find(None, order_by="-id")]
    assert not loaded(lazy, "telephony.calls")


def test_a_segments_fields_are_its_documents_keys():
    """files.segment_fields gives what decoding the whole documents gives:
    ids, values of every JSON type, a missing key as ``missing``; None for
    bytes msgspec refuses or reads otherwise than json (NaN, a lone
    surrogate, an id that is no integer)."""
    import json

    from core.storage import files

    docs = [{"id": 1, "a": "Zoë", "b": [1, "x", None, {"c": 2.5}]}, {"id": 2, "b": None},
            {"id": 3, "a": {"n": [True, False]}, "b": -0.0, "z": "ignored"}, {"id": 4, "a": 12345678901234567890}]
    raw = ",".join(json.dumps(d, separators=(",", ":"), ensure_ascii=False) for d in docs).encode()
    ids, (a, b) = files.segment_fields(raw, {"count": 4}, ("a", "b"), "MISSING")
    assert ids == [1, 2, 3, 4]
    assert a == ["Zoë", "MISSING", {"n": [True, False]}, 12345678901234567890]
    assert b == [[1, "x", None, {"c": 2.5}], None, -0.0, "MISSING"]
    assert files.segment_starts(raw, {"count": 4}) == files.segment_docs(raw, {"count": 4}, "p", "t")[1]
    assert files.segment_fields(raw, {"count": 5}, ("a",), None) is None  # not the header's count
    for bad in (b'{"id":1,"a":NaN}', b'{"id":1,"a":"\\ud800"}', b'{"id":true,"a":1}', b'{"id":1.0}',
                b'{"id":1,"a":1e999}'):
        assert files.segment_fields(bad, {"count": 1}, ("a",), None) is None, bad
