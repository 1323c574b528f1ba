"""Equality indexes of the default (TinyDB journal) backend.

Every check compares what ``find``/``count`` return with an index against
the full scan (the same store with ``index_min_docs=None``), down to the
types of the values (``repr``), and that each maintained index equals one
built afresh from the documents.
"""

from __future__ import annotations

import enum
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage_helpers import finish, spawn

from core.storage import AnyOf, Contains, Not, Range, open_store
from core.storage.engine import _eq_key, _Index, _Ordered
from core.storage.tinyquery import _eq

pytestmark = pytest.mark.tinydb_only("equality indexes of the TinyDB backend (PostgreSQL has its own)")


# -- helpers ----------------------------------------------------------------------


def same_as_scan(store, table, where, order_by=None, limit=None, offset=0):
    """find/count through the indexes equal the scan's; returns the find result."""
    old = store.index_min_docs
    store.index_min_docs = 0
    try:
        got = table.find(where, order_by=order_by, limit=limit, offset=offset)
        got_n = table.count(where)
        store.index_min_docs = None
        want = table.find(where, order_by=order_by, limit=limit, offset=offset)
        want_n = table.count(where)
    finally:
        store.index_min_docs = old
    assert repr(got) == repr(want), where
    assert got_n == want_n, where
    return got


def assert_indexes_sound(store):
    """Each maintained index equals one built now from the documents."""
    for state in store._states.values():
        for path, ix in state.indexes.items():
            fresh = _Index(path, state.docs)
            norm = {}
            for key, b in ix.buckets.items():
                if type(b) is set:
                    assert len(b) >= 2, (path, key)  # one id is kept bare
                    norm[key] = frozenset(b)
                else:
                    norm[key] = frozenset((b,))
            assert norm == {k: frozenset(b) if type(b) is set else frozenset((b,))
                            for k, b in fresh.buckets.items()}, (state.name, path)
        for path, ox in state.ordered.items():
            assert ox.keys == _Ordered(path, state.docs).keys, (state.name, path)


VALUES = [None, True, False, 0, 1, 1.0, -0.0, 2, 2.5, 10**20, "a", "A", "1", "", [], [1], [True],
          [1.0], [None], [[1]], ["a", 1], {}, {"x": 1}, {"x": True}, {"x": 1.0}, {"x": [1]},
          {"y": None}, {"x": "a"}]


# -- the key: equal keys exactly when the scan calls values equal ------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 0.0, -0.0, 2.5, 2**53, 2.0**53]),
              st.text("ab", max_size=2)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xy"), inner, max_size=2),
    max_leaves=6,
)


@settings(max_examples=500, deadline=None)
@given(json_values, json_values)
def test_key_equality_is_the_scans_equality(a, b):
    assert (_eq_key(a) == _eq_key(b)) is _eq(a, b)
    if _eq(a, b):
        assert hash(_eq_key(a)) == hash(_eq_key(b))


@pytest.mark.parametrize("stored, target, equal", [
    (1, 1.0, True), (1, True, False), (True, 1, False), (0, False, False), (0, -0.0, True),
    ([True], [1], True), ([1], [1.0], True), ({"x": True}, {"x": 1}, True), ([1], {"x": 1}, False),
    ([], {}, False), (None, None, True), ("1", 1, False), (2**53 + 1, float(2**53), False),
    ([[1, 2]], [[1.0, 2]], True), ({"x": 1, "y": 2}, {"y": 2, "x": 1}, True),
])
def test_key_examples(stored, target, equal):
    assert _eq(stored, target) is equal
    assert (_eq_key(stored) == _eq_key(target)) is equal


# -- mixed-type values behave exactly like the scan --------------------------------------


class Colour(str, enum.Enum):
    RED = "a"


class Level(enum.IntEnum):
    ONE = 1


@pytest.fixture
def mixed(data_dir):
    s = open_store(data_dir, index_min_docs=0)
    t = s.table("m", "t")
    with s.transaction():
        for i, v in enumerate(VALUES * 3):
            doc = {"s": v, "n": i % 4, "m": {"x": v} if i % 2 else v}
            if i % 5 == 0:
                del doc["s"]  # missing equals None
            t.insert(doc)
    yield s, t
    s.close()


WHERES = [
    None,  # the whole table: ordered pages come from an ordered index
    *({"s": v} for v in VALUES),
    *({"m.x": v} for v in VALUES),
    *({"m": v} for v in VALUES),
    {"s": AnyOf([1, True, None])}, {"s": AnyOf([1, 1.0])}, {"s": AnyOf([])}, {"s": AnyOf([[1], {"x": 1}, "a"])},
    {"s": 1, "n": 2}, {"s": AnyOf([1, "a"]), "n": AnyOf([0, 1]), "m.x": AnyOf([1, "a", None])},
    {"s": Not(1)}, {"s": 1, "n": Not(0)}, {"s": Range(ge=1)}, {"n": 1, "s": Range(ge=1)},
    {"s": Contains("a"), "n": 1}, {("s", "m.x"): 1}, {("s", "m.x"): 1, "n": 3},
    {"nope": None}, {"nope": 1}, {"s.x.y": None}, {"m.x.y": None},
    # not plain JSON: compared by their own rules, so scanned
    {"s": Decimal(1)}, {"s": AnyOf([Decimal("1.0"), "a"])}, {"s": (1,)}, {"s": Colour.RED},
    {"s": Level.ONE}, {"s": AnyOf([float("nan")])}, {"s": {1: 1}},
]


@pytest.mark.parametrize("where", WHERES, ids=repr)
def test_mixed_types_match_the_scan(mixed, where):
    s, t = mixed
    same_as_scan(s, t, where)
    for order_by in (None, "id", "-id", ["-id", "s"], ("id",), [], "-s", ["m.x", "-id"], ["-s", "id"]):
        for limit in (None, 0, 1, 3):
            for offset in (0, 2):
                same_as_scan(s, t, where, order_by=order_by, limit=limit, offset=offset)
    assert_indexes_sound(s)


def test_the_index_is_used_and_lazy(mixed, data_dir):
    s, t = mixed
    state = s._states["m.t"]
    assert state.indexes == {}  # nothing queried yet
    t.find({"s": 1, "m.x": Not(1), ("n", "s"): 2, "n": Range(ge=1)})
    assert set(state.indexes) == {("s",)}  # only plain equality/AnyOf on one field
    t.count({"n": AnyOf([1, 2])})
    assert set(state.indexes) == {("s",), ("n",)}
    # The default threshold: small tables are scanned and get no index.
    other = open_store(data_dir)
    try:
        ot = other.table("m", "t")
        assert ot.count({"s": 1}) == t.count({"s": 1})
        assert other._states["m.t"].indexes == {}
        other.index_min_docs = len(VALUES * 3)
        assert ot.count({"s": 1}) == t.count({"s": 1})
        assert set(other._states["m.t"].indexes) == {("s",)}
    finally:
        other.close()


def test_a_page_of_the_whole_table_uses_an_ordered_index(mixed):
    """"The highest number so far" reads one end of an ordered index instead
    of sorting the table; only a limited find of the whole table builds one."""
    s, t = mixed
    state = s._states["m.t"]
    t.find(order_by="-n")
    t.find({"n": 1}, order_by="-n", limit=1)
    assert state.ordered == {}
    top = t.find(order_by=["-n"], limit=1)
    assert set(state.ordered) == {("n",)}
    assert top == t.find(order_by="-n")[:1]
    t.insert({"n": 7})
    assert t.find(order_by=["-n"], limit=1)[0]["n"] == 7
    assert_indexes_sound(s)


def test_an_id_order_page_copies_only_the_page(mixed):
    s, t = mixed
    page = t.find({"n": 1}, limit=3, offset=2)
    assert [d["id"] for d in page] == [d["id"] for d in t.find({"n": 1})][2:5]
    page[0]["n"] = 99  # copies: the stored document and the index are untouched
    same_as_scan(s, t, {"n": 1})
    assert_indexes_sound(s)


# -- writes keep the indexes: a model with random writes, rollbacks, a second store -------

value = st.one_of(st.sampled_from(VALUES), st.integers(-1, 2), st.text("aA", max_size=1))
doc_s = st.dictionaries(st.sampled_from(["s", "n", "m"]),
                        value | st.dictionaries(st.sampled_from(["x", "y"]), value, max_size=2), max_size=3)
cond = st.one_of(
    value, value, st.lists(value, max_size=3).map(AnyOf), value.map(Not),
    st.lists(value, max_size=2).map(AnyOf).map(Not),
    st.just(Range(ge=0)), st.just(Contains("a")), st.sampled_from([Decimal(1), (1,), Level.ONE]),
)
where_s = st.dictionaries(st.sampled_from(["s", "n", "m", "m.x", "s.x", "nope", ("s", "n")]), cond,
                          min_size=1, max_size=3)
query_s = st.tuples(where_s, st.sampled_from([None, "n", "-s", ["m.x", "-n"], "-id", ["id", "s"]]),
                    st.none() | st.integers(0, 4), st.integers(0, 2))
who = st.sampled_from(["a", "b"])
pick = st.integers(0, 50)
op_s = st.one_of(
    st.tuples(st.just("insert"), who, doc_s),
    st.tuples(st.just("update"), who, pick, doc_s),
    st.tuples(st.just("replace"), who, pick, doc_s),
    st.tuples(st.just("delete"), who, pick),
    st.tuples(st.just("rollback"), who, pick, doc_s, query_s),
    st.tuples(st.just("savepoint"), who, pick, doc_s, query_s),
    st.tuples(st.just("compact"), who),
    st.tuples(st.just("reopen_b")),
    st.tuples(st.just("query"), who, query_s),
    st.tuples(st.just("query"), who, query_s),
)


def _pick(t, n):
    ids = [d["id"] for d in t.find()]
    return ids[n % len(ids)] if ids else None


@settings(max_examples=120, deadline=None,  # too_slow: see tests/conftest.py
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(op_s, max_size=30))
def test_indexes_follow_every_write(tmp_path_factory, ops):
    data_dir = tmp_path_factory.mktemp("index")
    stores = {"a": open_store(data_dir, index_min_docs=0),
              "b": open_store(data_dir, index_min_docs=0, compact_bytes=3000, lazy_tables=True)}  # the other process
    tables = {k: s.table("m", "t") for k, s in stores.items()}
    probes = [{"s": 1}, {"n": AnyOf([0, 1, None])}, {"m.x": 1}, {"m": {"x": 1}}]
    try:
        for i in range(6):  # a few documents, and indexes from the start on both sides
            tables["a"].insert({"s": VALUES[i], "n": i % 3, "m": {"x": VALUES[-i]}})
        for k in stores:
            for w in probes:
                same_as_scan(stores[k], tables[k], w)
        for op in ops:
            kind = op[0]
            if kind == "reopen_b":
                stores["b"].close()
                stores["b"] = open_store(data_dir, index_min_docs=0, compact_bytes=3000, lazy_tables=True)
                tables["b"] = stores["b"].table("m", "t")
                continue
            s, t = stores[op[1]], tables[op[1]]
            if kind == "insert":
                t.insert(op[2])
            elif kind in ("update", "replace", "delete"):
                doc_id = _pick(t, op[2])
                if doc_id is None:
                    continue
                if kind == "delete":
                    t.delete(doc_id)
                else:
                    getattr(t, kind)(doc_id, op[3])
            elif kind == "rollback":
                with pytest.raises(ZeroDivisionError):
                    with s.transaction():
                        t.insert(op[3])
                        doc_id = _pick(t, op[2])
                        t.update(doc_id, op[3])
                        same_as_scan(s, t, *op[4])  # may build an index from uncommitted data
                        t.delete(_pick(t, op[2] + 1))
                        same_as_scan(s, t, *op[4])
                        1 / 0
            elif kind == "savepoint":
                with s.transaction():
                    kept = t.insert({"kept": True, **op[3]})
                    with pytest.raises(ZeroDivisionError):
                        with s.transaction():
                            t.replace(_pick(t, op[2]), op[3])
                            t.delete(kept)
                            same_as_scan(s, t, *op[4])
                            1 / 0
                    same_as_scan(s, t, *op[4])
                    t.update(kept, {"s": op[3].get("s")})
            elif kind == "compact":
                s.compact()
            elif kind == "query":
                same_as_scan(s, t, *op[2])
            for k in stores:  # each side sees the other's writes, indexes kept
                for w in probes:
                    same_as_scan(stores[k], tables[k], w)
                for order_by in ("-s", "n", ["m.x", "id"], "-id", "m"):
                    same_as_scan(stores[k], tables[k], None, order_by=order_by, limit=3, offset=1)
                assert_indexes_sound(stores[k])
        assert repr(tables["a"].all()) == repr(tables["b"].all())
    finally:
        for s in stores.values():
            s.close()


# -- migrations --------------------------------------------------------------------------


def test_migrations_keep_the_indexes(data_dir):
    a = open_store(data_dir, index_min_docs=0)
    ta = a.table("m", "t")
    with a.transaction():
        for i, v in enumerate(VALUES * 2):
            ta.insert({"s": v, "n": i % 3})
    wheres = [{"s": 1}, {"s": "1"}, {"n": AnyOf([0, 2])}, {"s": None}, {"s": AnyOf(["a", "A", True])}]
    for w in wheres:
        same_as_scan(a, ta, w)

    def to_v2(doc):  # values move between buckets; some fields disappear
        doc["s"] = str(doc["s"]) if doc.get("n") == 0 else doc.get("s")
        if doc["n"] == 2:
            del doc["n"]
        return doc

    b = open_store(data_dir)  # another process migrates: a replays it
    b.table("m", "t", version=2, migrations={2: to_v2})
    b.close()
    for w in wheres:
        same_as_scan(a, ta, w)
    assert_indexes_sound(a)
    a.close()

    c = open_store(data_dir, index_min_docs=0)
    existing = c.existing_table("m.t")
    for w in wheres:
        same_as_scan(c, existing, w)
    before = [repr(existing.find(w)) for w in wheres]

    def broken(doc):
        if doc["id"] == len(VALUES):
            raise ValueError("no")
        doc["s"] = [doc.get("s")]
        return doc

    with pytest.raises(Exception, match="migration to version 3 failed"):
        c.table("m", "t", version=3, migrations={3: broken})
    assert_indexes_sound(c)  # rolled back with the migration
    assert [repr(existing.find(w)) for w in wheres] == before

    def to_v3(doc):
        doc["s"] = [doc.get("s")]
        return doc

    t3 = c.table("m", "t", version=3, migrations={3: to_v3})  # in the store holding the indexes
    assert_indexes_sound(c)
    for w in [*wheres, {"s": ["1"]}, {"s": [None]}, {"s": AnyOf([[1], ["a"]])}]:
        same_as_scan(c, t3, w)
    c.close()


# -- real writer processes -------------------------------------------------------------------


def test_indexes_follow_other_processes(data_dir):
    a = open_store(data_dir, index_min_docs=0)
    items = a.table("core", "items")
    items.insert({"pid": 0, "n": 0})
    procs = [spawn("mixed", data_dir, 150, compact_bytes=20_000) for _ in range(3)]
    pids = [p.pid for p in procs]
    wheres = [{"n": 0}, {"n": AnyOf([1, 2])}, {"pid": pids[0]}, {"pid": AnyOf(pids[1:]), "n": 1},
              {"pid": pids[2], "n": Not(0)}]
    rounds = 0
    while any(p.poll() is None for p in procs) or rounds < 3:
        rounds += 1
        a.refresh()
        with a.transaction():  # the writers wait: both reads see the same data
            for w in wheres:
                same_as_scan(a, items, w)
            assert_indexes_sound(a)
    expected: dict[int, int] = {1: 0}
    for p in procs:
        for line in finish(p):
            kind, doc_id, *rest = line.split()
            if kind == "insert":
                expected[int(doc_id)] = 0
            elif kind == "update":
                expected[int(doc_id)] = int(rest[0])
            else:
                del expected[int(doc_id)]
    a.refresh()
    for w in wheres:
        same_as_scan(a, items, w)
    assert_indexes_sound(a)
    zeros = sorted(k for k, n in expected.items() if n == 0)
    assert [d["id"] for d in items.find({"n": 0})] == zeros
    assert items.count({"n": AnyOf([1, 2])}) == sum(1 for n in expected.values() if n in (1, 2))
    a.close()
