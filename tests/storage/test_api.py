"""The core.storage API in one process: documents, queries, transactions, callbacks.

Tests taking ``store``/``target`` run on both backends (TinyDB journal and
PostgreSQL); those about files (compaction, modes, the hypothesis model
with reopen/compact) run on the default backend only.
"""

from __future__ import annotations

import os
import stat
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import BackdeskError
from core.storage import (AnyOf, Change, Conflict, Contains, Not, NotFound, Range,
                          StorageError, open_store)


@pytest.fixture
def store(target):
    s = target.open()
    yield s
    s.close()


@pytest.fixture
def cases(store):
    return store.table("hr", "cases")


def test_insert_get_update_replace_delete(store, cases):
    a = cases.insert({"title": "Printer jammed", "status": "open"})
    b = cases.insert({"title": "No toner", "status": "open"})
    assert (a, b) == (1, 2)
    assert cases.get(a) == {"id": 1, "title": "Printer jammed", "status": "open"}
    assert cases[b]["title"] == "No toner"
    assert cases.update(a, {"status": "closed"}) == {"id": 1, "title": "Printer jammed", "status": "closed"}
    assert cases.replace(b, {"title": "Toner"}) == {"id": 2, "title": "Toner"}
    cases.delete(a)
    assert cases.get(a) is None
    with pytest.raises(NotFound):
        cases[a]
    with pytest.raises(KeyError):
        cases[a]
    for call in (lambda: cases.update(a, {"x": 1}), lambda: cases.replace(a, {}), lambda: cases.delete(a)):
        with pytest.raises(NotFound):
            call()
    assert cases.all() == [{"id": 2, "title": "Toner"}]
    assert cases.name == "hr.cases"
    assert store.table("hr", "cases") is cases
    assert store.tables() == ["hr.cases"]


def test_returned_documents_are_copies(cases):
    doc_id = cases.insert({"tags": ["a"], "address": {"city": "Bonn"}})
    doc = cases.get(doc_id)
    doc["tags"].append("b")
    doc["address"]["city"] = "Köln"
    cases.find()[0]["tags"].append("c")
    assert cases.get(doc_id) == {"id": doc_id, "tags": ["a"], "address": {"city": "Bonn"}}
    original = {"tags": ["x"]}
    other = cases.insert(original)
    original["tags"].append("y")
    assert cases.get(other)["tags"] == ["x"]


def test_documents_must_be_json(cases):
    from datetime import datetime
    from decimal import Decimal

    for bad in ({"amount": Decimal("1.10")}, {"when": datetime.now()}, {"x": float("nan")},
                {"x": {1: "int key"}}, {"_private": 1}, {"id": 5}, ["not", "a", "dict"]):
        with pytest.raises(StorageError):
            cases.insert(bad)
    assert cases.count() == 0
    doc_id = cases.insert({"t": (1, 2), "f": 1.5})
    assert cases.get(doc_id) == {"id": doc_id, "t": [1, 2], "f": 1.5}
    with pytest.raises(StorageError):
        cases.update(doc_id, {"id": doc_id + 1})
    assert cases.update(doc_id, {"id": doc_id, "f": 2})["f"] == 2
    assert isinstance(StorageError("x"), BackdeskError)


def test_names_are_checked(store):
    for ns, name in (("HR", "cases"), ("hr", "ca-ses"), ("backups", "x"), ("hr", ""), ("../x", "y")):
        with pytest.raises(StorageError):
            store.table(ns, name)


@pytest.fixture
def people(store):
    t = store.table("core", "people")
    rows = [
        {"name": "Anna Müller", "email": "anna@example.org", "dept": "hr", "age": 41,
         "address": {"city": "Bonn"}, "active": True, "due": "2026-01-10", "tags": ["Lead"]},
        {"name": "Bernd Schulz", "email": "bernd@example.org", "dept": "it", "age": 29,
         "address": {"city": "Köln"}, "active": False, "due": "2026-02-01"},
        {"name": "Carla Diaz", "email": "carla@mueller.example", "dept": "it", "age": 35,
         "address": {"city": "Bonn"}, "active": 1, "due": None},
        {"name": "Dieter Roth", "email": "dieter@example.org", "dept": "accounting", "age": "n/a"},
    ]
    for r in rows:
        t.insert(r)
    return t


def ids(docs):
    return [d["id"] for d in docs]


def test_find_operators(people):
    assert ids(people.find({"dept": "it"})) == [2, 3]
    assert ids(people.find({"address.city": "Bonn"})) == [1, 3]
    assert ids(people.find({"dept": AnyOf(["hr", "accounting"])})) == [1, 4]
    assert ids(people.find({"age": Range(ge=30, lt=41)})) == [3]
    assert ids(people.find({"age": Range(gt=0)})) == [1, 2, 3]  # "n/a" is not a number
    assert ids(people.find({"due": Range(ge="2026-01-01", lt="2026-02-01")})) == [1]
    assert ids(people.find({"name": Contains("MÜLL")})) == [1]
    assert ids(people.find({("name", "email"): Contains("mueller")})) == [3]
    assert ids(people.find({"tags": Contains("lead")})) == [1]
    assert ids(people.find({"dept": Not("it")})) == [1, 4]
    assert ids(people.find({"dept": Not(AnyOf(["it", "hr"]))})) == [4]
    assert ids(people.find({"active": True})) == [1]          # 1 is not True
    assert ids(people.find({"due": None})) == [3, 4]           # None or missing
    assert ids(people.find({"due": Not(None)})) == [1, 2]
    assert ids(people.find({"dept": "it", "active": False})) == [2]
    assert people.count({"dept": "it"}) == 2
    assert people.count() == 4
    assert people.find({"nope": "x"}) == []


def test_find_order_limit_offset(people):
    assert ids(people.find(order_by="-age")) == [4, 1, 3, 2]   # strings sort after numbers
    assert ids(people.find(order_by=["dept", "-age"])) == [4, 1, 3, 2]
    assert ids(people.find(order_by="due")) == [3, 4, 1, 2]    # None/missing first, ties by id
    assert ids(people.find(order_by="-due")) == [2, 1, 3, 4]
    assert ids(people.find(order_by="name", limit=2)) == [1, 2]
    assert ids(people.find(order_by="name", limit=2, offset=2)) == [3, 4]
    assert ids(people.find(offset=3)) == [4]


def project(docs, fields):
    return [{"id": d["id"], **{k: d[k] for k in fields if k in d}} for d in docs]


def test_find_gives_only_the_fields_asked_for(people, cases):
    """``fields=``: each document's id and those of the keys it has, for
    every where, order and page (both backends: PostgreSQL sends only them)."""
    cases.insert({"title": None, "tags": ["a", {"b": [1]}], "n": 2.5, "x": {"y": "z"}, 'q"\\': "odd key"})
    cases.insert({"other": 1})
    assert cases.find(fields=["title", "tags", "n", "x", 'q"\\']) == [
        {"id": 1, "title": None, "tags": ["a", {"b": [1]}], "n": 2.5, "x": {"y": "z"}, 'q"\\': "odd key"},
        {"id": 2}]  # a key the document lacks stays missing (not None)
    assert cases.find(fields=[]) == [{"id": 1}, {"id": 2}]
    wide = cases.insert({f"k{i}": (None if i % 9 == 0 else [i]) for i in range(0, 90, 2)})  # 45 keys
    assert cases.find({"id": wide}, fields=[f"k{i}" for i in range(90)]) == [cases.get(wide)]
    cases.delete(wide)
    assert cases.find(fields=("id", "other", "other")) == [{"id": 1}, {"id": 2, "other": 1}]
    for where in (None, {"dept": "it"}, {"name": Contains("e")}, {"age": Range(gt=0)}, {"id": AnyOf([2, 4])}):
        for order, limit, offset in ((None, None, 0), ("-age", 2, 1), (["dept", "-name"], None, 1), ("-id", 3, 0)):
            for fields in (["name"], ("address", "tags", "due"), ["nope"]):
                got = people.find(where, order_by=order, limit=limit, offset=offset, fields=fields)
                assert got == project(people.find(where, order_by=order, limit=limit, offset=offset), fields), \
                    (where, order, limit, offset, fields)
    doc = people.find({"id": 1}, fields=["tags", "address"])[0]
    doc["tags"].append("x")
    doc["address"]["city"] = "Rom"
    assert people.get(1)["tags"] == ["Lead"] and people.get(1)["address"] == {"city": "Bonn"}  # copies
    for bad in ("name", ["address.city"], [""], [1], {"name": 1}, ["a\x00"]):
        with pytest.raises(TypeError):
            people.find(fields=bad)


def test_a_table_keeps_derived_fields_on_every_write(store, target):
    """``derive``: fields kept from a document's others on insert, update and
    replace (what a query asks for where the facts sit inside a list)."""
    def hops(doc):
        return {"hops": "|" + "|".join(str(h["to"]) for h in doc.get("transfers") or []) + "|",
                "n": len(doc.get("transfers") or [])}

    calls = store.table("telephony", "calls", derive=hops)
    a = calls.insert({"transfers": [{"to": 3}, {"to": 17}]})
    assert calls.get(a) == {"id": a, "transfers": [{"to": 3}, {"to": 17}], "hops": "|3|17|", "n": 2}
    assert calls.update(a, {"transfers": [{"to": 4}]})["hops"] == "|4|"
    assert calls.replace(a, {"note": "x"}) == {"id": a, "note": "x", "hops": "||", "n": 0}
    assert store.table("telephony", "calls") is calls and calls.derive is hops  # declared once is enough
    with pytest.raises(RuntimeError):
        with store.transaction():
            calls.update(a, {"transfers": [{"to": 5}]})
            raise RuntimeError
    assert calls.get(a)["hops"] == "||"
    assert [d["id"] for d in calls.find({"hops": Contains("|4|")})] == []
    calls.update(a, {"transfers": [{"to": 4}, {"to": 44}]})
    assert [d["id"] for d in calls.find({"hops": Contains("|4|")})] == [a]
    other = target.open()  # another process sees what was written
    try:
        assert other.table("telephony", "calls").get(a)["hops"] == "|4|44|"
    finally:
        other.close()
    bad = store.table("hr", "bad", derive=lambda doc: {"when": object()})
    with pytest.raises(StorageError):
        bad.insert({"x": 1})
    assert bad.count() == 0


def test_transaction_rolls_back_everything(store, cases, target):
    people = store.table("core", "people")
    keep = cases.insert({"title": "keep"})
    with pytest.raises(RuntimeError):
        with store.transaction():
            pid = people.insert({"name": "New Hire"})
            cases.insert({"person_id": pid})
            cases.update(keep, {"title": "changed"})
            cases.delete(keep)
            assert cases.get(keep) is None
            raise RuntimeError("boom")
    assert people.count() == 0
    assert cases.all() == [{"id": keep, "title": "keep"}]
    store2 = target.open()
    assert store2.table("core", "people").count() == 0
    assert store2.table("hr", "cases").all() == [{"id": keep, "title": "keep"}]
    store2.close()


def test_nested_transaction_is_a_savepoint(store, cases):
    with store.transaction():
        a = cases.insert({"n": "outer"})
        with pytest.raises(ValueError):
            with store.transaction():
                cases.insert({"n": "inner"})
                cases.update(a, {"n": "inner changed it"})
                raise ValueError
        b = cases.insert({"n": "after"})
    assert cases.all() == [{"id": a, "n": "outer"}, {"id": b, "n": "after"}]


def test_ids_never_reused_after_delete_and_compaction(target):
    s = target.open()
    compact = getattr(s, "compact", lambda: None)  # the default backend's snapshots
    t = s.table("hr", "cases")
    for i in range(5):
        t.insert({"i": i})
    t.delete(5)
    t.delete(4)
    compact()
    assert t.insert({"i": 6}) == 6
    t.delete(6)
    compact()
    with pytest.raises(RuntimeError):
        with s.transaction():
            assert t.insert({"i": "rolled back"}) == 7
            raise RuntimeError
    s.close()
    s = target.open()
    t = s.table("hr", "cases")
    assert t.insert({"i": 7}) == 7
    assert ids(t.all()) == [1, 2, 3, 7]
    s.close()


def test_callbacks(store, cases):
    audit = store.table("core", "audit")
    seen: list = []
    store.on_change(lambda names: seen.append(("change", names)))
    unsubscribe = store.after_commit(lambda changes: seen.append(("after", changes)))

    def write_audit(changes: list[Change]) -> None:
        for c in changes:
            audit.insert({"table": c.table, "op": c.op, "doc": c.id})

    store.before_commit(write_audit)
    a = cases.insert({"title": "x"})
    cases.update(a, {"title": "y"})
    assert [(d["table"], d["op"], d["doc"]) for d in audit.all()] == [
        ("hr.cases", "insert", a), ("hr.cases", "update", a)]
    assert seen[0] == ("after", [Change("hr.cases", "insert", a, None, {"id": a, "title": "x"}),
                                 Change("core.audit", "insert", 1, None,
                                        {"id": 1, "table": "hr.cases", "op": "insert", "doc": a})])
    assert seen[1] == ("change", {"hr.cases", "core.audit"})
    assert seen[2][1][0] == Change("hr.cases", "update", a, {"id": a, "title": "x"}, {"id": a, "title": "y"})
    unsubscribe()
    seen.clear()
    cases.delete(a)
    assert seen == [("change", {"hr.cases", "core.audit"})]


def test_failing_before_commit_rolls_back(store, cases):
    def refuse(changes):
        raise PermissionError("no")

    store.before_commit(refuse)
    with pytest.raises(PermissionError):
        cases.insert({"x": 1})
    assert cases.count() == 0


def test_threads_share_one_store(store, cases):
    def work():
        for i in range(50):
            with store.transaction():
                cases.insert({"t": threading.get_ident(), "i": i})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    docs = cases.all()
    assert len(docs) == 200 and ids(docs) == list(range(1, 201))


def test_two_stores_in_one_process(target):
    a, b = target.open(), target.open()
    ta, tb = a.table("hr", "cases"), b.table("hr", "cases")
    ta.insert({"from": "a"})
    assert tb.insert({"from": "b"}) == 2
    assert a.refresh() == {"hr.cases"}
    assert ids(ta.all()) == [1, 2]
    a.close()
    b.close()


@pytest.mark.tinydb_only('file modes of the TinyDB data folder')
def test_permissions_owner_only(data_dir):
    s = open_store(data_dir)
    t = s.table("hr", "cases")
    t.insert({"x": 1})
    s.compact()
    s.table("hr", "cases2", version=1)
    s.close()
    s = open_store(data_dir)
    s.table("hr", "cases", version=2, migrations={2: lambda d: d})  # makes backups/...
    s.close()
    for dirpath, dirs, names in os.walk(data_dir):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) == 0o700, dirpath
        for n in names:
            p = os.path.join(dirpath, n)
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p


def test_version_conflicts(target):
    s = target.open()
    s.table("hr", "cases", version=3)
    s.close()
    s = target.open()
    with pytest.raises(Conflict, match="version 3"):
        s.table("hr", "cases", version=2)
    with pytest.raises(StorageError, match="no migration to version 4"):
        s.table("hr", "cases", version=4)
    t = s.table("hr", "cases", version=3)
    with pytest.raises(Conflict):
        s.table("hr", "cases", version=4)
    assert t.count() == 0
    s.close()


def test_closed_store_refuses(target):
    s = target.open()
    t = s.table("hr", "cases")
    s.close()
    with pytest.raises(StorageError, match="closed"):
        t.insert({"x": 1})
    with pytest.raises(StorageError, match="closed"):
        t.find()


# -- a model: random operations, rollbacks, reopen, compaction ------------------------

ops = st.lists(
    st.tuples(
        st.sampled_from(["insert", "update", "delete", "rollback", "compact", "reopen"]),
        st.integers(min_value=0, max_value=30),
        st.dictionaries(st.sampled_from(["a", "b", "c"]),
                        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
                        max_size=3),
    ),
    max_size=40,
)


@pytest.mark.tinydb_only('model test of the TinyDB journal with compaction and reopening')
@settings(max_examples=40, deadline=None,  # too_slow: see tests/conftest.py
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops)
def test_store_matches_a_dict_model(tmp_path_factory, ops):
    data_dir = tmp_path_factory.mktemp("model")
    model: dict[int, dict] = {}
    next_id = 1
    s = open_store(data_dir, compact_bytes=2000)
    t = s.table("m", "t")
    try:
        for op, n, doc in ops:
            if op == "insert":
                assert t.insert(doc) == next_id
                model[next_id] = {"id": next_id, **doc}
                next_id += 1
            elif op == "update" and model:
                k = sorted(model)[n % len(model)]
                t.update(k, doc)
                model[k] = {**model[k], **doc}
            elif op == "delete" and model:
                k = sorted(model)[n % len(model)]
                t.delete(k)
                del model[k]
            elif op == "rollback":
                with pytest.raises(ZeroDivisionError):
                    with s.transaction():
                        t.insert(doc)
                        if model:
                            t.delete(sorted(model)[n % len(model)])
                        1 / 0
            elif op == "compact":
                s.compact()
            elif op == "reopen":
                s.close()
                s = open_store(data_dir, compact_bytes=2000)
                t = s.table("m", "t")
            assert t.all() == [model[k] for k in sorted(model)]
        s.close()
        s = open_store(data_dir)
        t = s.table("m", "t")
        assert t.all() == [model[k] for k in sorted(model)]
        if model:
            assert t.insert({}) >= next_id
        assert s.check() == []
    finally:
        s.close()


def test_migrations_chain_and_failure(target):
    s = target.open()
    t = s.table("hr", "cases")
    for name in ("Anna", "Bernd", "Carla"):
        t.insert({"name": name})
    s.close()

    def broken(doc):
        if doc["name"] == "Bernd":
            raise ValueError("cannot split Bernd")
        return doc

    s = target.open()
    with pytest.raises(StorageError, match="migration to version 2 failed on document 2"):
        s.table("hr", "cases", version=2, migrations={2: broken})
    s.close()
    s = target.open()
    assert s.table("hr", "cases").all()[1] == {"id": 2, "name": "Bernd"}  # still version 1
    s.close()

    def split_name(doc):
        doc["first"] = doc.pop("name")
        return doc

    migrations = {2: split_name, 3: lambda d: {**d, "active": True}}
    s = target.open()
    t = s.table("hr", "cases", version=3, migrations=migrations)
    assert t.all() == [{"id": i, "first": n, "active": True} for i, n in ((1, "Anna"), (2, "Bernd"), (3, "Carla"))]
    assert t.insert({"first": "Dora"}) == 4
    s.close()
    s = target.open()
    assert s.table("hr", "cases", version=3).count() == 4
    s.close()
    if target.pg:  # the failed attempt's copy was rolled back with it
        import psycopg

        with psycopg.connect(target.where) as conn:
            baks = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                                "AND tablename LIKE '\\_bak\\_%'").fetchone()[0]
        assert baks == 1
    else:
        assert len(os.listdir(os.path.join(target.where, "backups"))) == 2  # one per attempt, each before any change
