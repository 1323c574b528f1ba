"""What only the PostgreSQL backend has to prove: many writers, lost connections,
SQL translation details, indexes, check, and copying stores between backends.

(The shared API behaviour runs on both backends in test_api.py and
test_processes.py.)
"""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from storage_helpers import Target, finish, spawn

from core.storage import AnyOf, Contains, Not, Range, StorageError, open_store


@pytest.fixture
def pg(pg_dsn):
    from core.storage.pg import open_pg_store

    s = open_pg_store(pg_dsn)
    yield s
    s.close()


def admin(dsn):
    import psycopg

    return psycopg.connect(dsn, autocommit=True)


def kill(store, which: str = "_conn") -> None:
    """Terminate the store's backend from another connection, as a DBA or a failover would."""
    pid = getattr(store, which).info.backend_pid
    with admin(store.dsn) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]


def test_ten_writer_processes_lose_nothing(pg_dsn):
    target = Target("postgresql", pg_dsn)
    target.open().close()
    procs = [spawn("insert", target.arg(), 100) for _ in range(10)]
    reported = [int(line) for p in procs for line in finish(p)]
    assert len(reported) == 1000 and len(set(reported)) == 1000
    s = target.open()
    docs = s.table("core", "items").all()
    assert sorted(d["id"] for d in docs) == sorted(reported) == list(range(1, 1001))
    per_pid: dict[int, list[int]] = {}
    for d in docs:
        per_pid.setdefault(d["pid"], []).append(d["i"])
    assert sorted(per_pid.values()) == [list(range(100))] * 10
    assert s.check() == []
    s.close()


def test_connection_killed_mid_transaction(pg):
    cases, people = pg.table("hr", "cases"), pg.table("core", "people")
    keep = cases.insert({"title": "keep"})
    seen = []
    pg.after_commit(seen.append)
    pg.on_change(seen.append)
    with pytest.raises(StorageError) as info:
        with pg.transaction():
            people.insert({"name": "New Hire"})
            cases.update(keep, {"title": "changed"})
            kill(pg)
            cases.insert({"title": "after the kill"})
    assert str(info.value) == "the connection to PostgreSQL was lost; nothing of this change was saved"
    assert "\n" not in str(info.value) and seen == []
    # nothing of it is in the database, and the next call reconnects by itself
    assert cases.all() == [{"id": keep, "title": "keep"}] and people.count() == 0
    assert people.insert({"name": "Second try"}) == 1
    assert [d["name"] for d in people.all()] == ["Second try"]


def test_connection_lost_while_idle_or_in_callbacks(pg):
    cases = pg.table("hr", "cases")
    cases.insert({"n": 1})
    kill(pg)
    assert cases.count() == 1                 # a read reconnects and repeats
    kill(pg)
    assert cases.insert({"n": 2}) == 2        # a transaction whose BEGIN found it dead: fresh connection
    audit = pg.table("core", "audit")

    def write_audit(changes):
        kill(pg)
        audit.insert({"n": len(changes)})

    unsubscribe = pg.before_commit(write_audit)
    with pytest.raises(StorageError, match="nothing of this change was saved"):
        cases.insert({"n": 3})
    unsubscribe()
    assert [d["n"] for d in cases.all()] == [1, 2] and audit.count() == 0
    assert cases.insert({"n": 3}) == 3


def test_listener_lost_reconnects_and_reports_everything(pg):
    from core.storage.pg import open_pg_store

    pg.table("hr", "cases")
    pg.table("core", "people").insert({"x": 1})
    other = open_pg_store(pg.dsn)
    kill(pg, "_listener")
    other.table("hr", "cases").insert({"x": 1})
    assert pg.refresh() == {"hr.cases", "core.people"}  # may have missed some: all of them
    other.table("hr", "cases").insert({"x": 2})
    assert pg.refresh() == {"hr.cases"}
    assert pg.refresh() == set()
    other.close()


def test_sql_translation_details(pg, caplog):
    caplog.set_level("WARNING")
    t = pg.table("core", "things")
    rows = [{"code": "50%", "amount": 12.5, "n": 1, "tags": ["a_b", 7], "when": "2026-03-01T10:00:00+00:00",
             "nested": {"deep": {"x": "O'Brien"}}},
            {"code": "500", "amount": 3, "n": 1.0, "tags": "a_b", "when": "2026-03-02", "nested": {"deep": 5}},
            {"code": "a\\b", "amount": True, "n": True, "tags": [], "nested": [1]}]
    for r in rows:
        t.insert(r)

    def ids(where, **kw):
        return [d["id"] for d in t.find(where, **kw)]

    assert ids({"code": Contains("50%")}) == [1]           # wildcards are text
    assert ids({"code": Contains("\\")}) == [3]
    assert ids({"tags": Contains("A_B")}) == [1, 2]        # list element or string
    assert ids({"amount": Range(gt=3)}) == [1]             # True is not a number
    assert ids({"amount": Range(ge=3, le=3.0)}) == [2]
    assert ids({"n": 1}) == [1, 2]                         # 1 == 1.0, True is not 1
    assert ids({"n": AnyOf([True, None])}) == [3]
    assert ids({"nested.deep.x": "O'Brien"}) == [1]
    assert ids({"nested.deep": Not(5)}) == [1, 3]
    assert ids({"when": Range(ge="2026-03-01", lt="2026-03-02")}) == [1]
    assert ids({"id": AnyOf([1, 3])}) == [1, 3] and ids({"id": Range(gt=1)}) == [2, 3]
    assert ids({"id": Range(ge=2, lt=3)}) == [2] and ids({"id": Range(gt="1")}) == []
    assert ids(None, order_by="-id", limit=2) == [3, 2]
    assert ids(None, order_by=["-amount"]) == [1, 2, 3]
    assert t.count({("code", "nested.deep.x"): Contains("bri")}) == 1
    with pytest.raises(StorageError, match="NUL"):
        t.insert({"bad": "a\x00b"})
    # the Range filters above created expression indexes, once
    with admin(pg.dsn) as conn:
        indexes = [r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'core__things'",
            (pg.schema,)).fetchall()]
    assert any("gin" in i and "jsonb_path_ops" in i for i in indexes)
    assert sum("numeric" in i for i in indexes) == 1 and sum('COLLATE "C"' in i for i in indexes) == 1
    # a Range on id uses the id column: no expression index attempted (to_jsonb is not IMMUTABLE)
    assert not [r.getMessage() for r in caplog.records if "could not create an index" in r.getMessage()]


def test_equality_and_search_are_served_by_indexes(pg):
    """Equality and AnyOf go through the GIN index on doc, Contains through a
    trigram index on the field's text (created by the first search): the plan
    PostgreSQL picks when it may not scan says so (a year's journal is not
    read row by row to find a month, nor to mark a page's reversed entries)."""
    t = pg.table("accounting", "entries")
    with pg.transaction():
        for n in range(1, 601):
            t.insert({"number": n, "reverses": n - 300 if n > 300 and n % 50 == 0 else None,
                      "date": f"2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
                      "description": f"Rechnung {n}", "tags": ["say \"hi\"", "Müller"] if n == 7 else []})

    def plan(where):
        sql, params, _pinned = t._compile(where)
        with admin(pg.dsn) as conn:
            conn.execute("SET enable_seqscan = off")
            return "\n".join(r[0] for r in conn.execute(
                f"EXPLAIN SELECT id FROM {t._rel} WHERE {sql}", params).fetchall())

    assert [d["number"] for d in t.find({"reverses": AnyOf([100, 250])})] == [400, 550]
    assert "Index Scan on accounting__entries_doc" in plan({"reverses": AnyOf([100, 250])})
    assert "Index Scan on accounting__entries_doc" in plan({"number": 42})
    assert t.count({("description", "date"): Contains("-03-")}) == 50
    searched = plan({("description", "date"): Contains("-03-")})
    assert "Seq Scan" not in searched and searched.count("Bitmap Index Scan on accounting__entries_t") == 2
    with admin(pg.dsn) as conn:
        indexes = [r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'accounting__entries'",
            (pg.schema,)).fetchall()]
    assert sum("gin_trgm_ops" in i for i in indexes) == 2
    # the same answers as without the index: a list's elements, a needle JSON escapes
    assert [d["number"] for d in t.find({"tags": Contains('"HI"')})] == [7]
    assert [d["number"] for d in t.find({"tags": Contains("müll")})] == [7]
    assert [d["number"] for d in t.find({"description": Contains("nung 60")})] == [60, 600]
    assert t.count({"tags": Contains("say")}) == 1 and t.count({"number": Contains("7")}) == 0



def test_a_search_without_letters_is_a_like_and_no_jit(pg):
    """A Contains whose text has no letter ("-03-", "12,50", "2026-") is a
    LIKE: what ILIKE finds (case changes no digit or sign), without lowering
    every row's text (the Journal's first letters count a year's entries:
    65 -> 28 ms). A text with a letter stays ILIKE. The store's sessions do
    not JIT-compile (20-40 ms added to each such count)."""
    t = pg.table("accounting", "entries")
    with pg.transaction():
        for n in range(1, 301):
            t.insert({"date": f"2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
                      "description": ["Miete März", "MIETE-03-X", f"Zahlung {n},50 €", "a_b%c"][n % 4],
                      "tags": ["-03-", "x"] if n % 9 == 0 else None})
    for text in ("-", "-0", "-03", "-03-", "2026-", ",50", " ", "_", "%", "\\", "50 €", "mie", "MIETE-0", "ä"):
        where = {("description", "date", "tags"): Contains(text)}
        sql, _params, _pinned = t._compile(where)
        uncased = text.isascii() and not any(c.isalpha() for c in text)
        assert (" LIKE " in sql and "ILIKE" not in sql) if uncased else ("ILIKE" in sql), (text, sql)
        folded = text.casefold()

        def found(value) -> bool:
            values = value if isinstance(value, list) else [value]
            return any(isinstance(v, str) and folded in v.casefold() for v in values)

        want = [d["id"] for d in t.all() if any(found(d.get(f)) for f in ("description", "date", "tags"))]
        assert [d["id"] for d in t.find(where)] == want and t.count(where) == len(want), text
    assert pg._read(lambda: pg._q("SHOW jit").fetchone()[0]) == "off"

def test_a_needle_the_trigram_index_cannot_narrow_reads_the_table_instead(pg):
    """The Journal's "-0" (every date of January to September and every
    day 01-09 has it): pg_trgm's only trigram for it is "  0", a word
    starting with 0, so the index handed over nearly every entry to be
    checked again (33,000 of 40,000 at a year: 32 ms against 20 for reading
    the table). A text without letters whose digits make no trigram of two
    ("-", "-0", "0-", "03") is a strpos no index serves; "-03", "2026-",
    "12,50" still go through the trigram index; the rows are the same."""
    t = pg.table("accounting", "entries")
    with pg.transaction():
        for n in range(1, 401):
            t.insert({"date": f"2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
                      "description": ["Miete 03/2026", f"Zahlung {n},50", "Büro-0815", "a_b%c-0"][n % 4],
                      "tags": ["-0", "x"] if n % 9 == 0 else 7 if n % 11 == 0 else None})

    def plan(where) -> str:
        sql, params, _pinned = t._compile(where)
        with admin(pg.dsn) as conn:
            conn.execute("SET enable_seqscan = off")  # the index whenever it can serve
            return "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT count(*) FROM {t._rel} WHERE {sql}",
                                                        params).fetchall())

    fields = ("date", "description", "tags")
    for text in ("-", "-0", "0-", "03", "-0-", " 0", "_", "%"):
        searched = plan({fields: Contains(text)})
        assert "accounting__entries_t" not in searched and "strpos" in searched, (text, searched)
    for text in ("-03", "-03-", "2026-", ",50", "815", "03/"):
        searched = plan({fields: Contains(text)})
        assert searched.count("Bitmap Index Scan on accounting__entries_t") == 3, (text, searched)
    for text in ("-", "-0", "0-", "03", "-0-", " 0", "_", "%", "-03", "0815", "7", "\\"):
        folded = text.casefold()

        def found(value) -> bool:
            values = value if isinstance(value, list) else [value]
            return any(isinstance(v, str) and folded in v.casefold() for v in values)

        want = [d["id"] for d in t.all() if any(found(d.get(f)) for f in fields)]
        where = {fields: Contains(text)}
        assert [d["id"] for d in t.find(where)] == want and t.count(where) == len(want), text
        assert t.count({"description": Not(Contains(text))}) == 400 - len(
            [d for d in t.all() if found(d.get("description"))]), text


def test_a_range_is_an_index_condition_with_the_planners_figures(pg):
    """A Range over a field is the index's condition (inside COALESCE it was
    a filter over every row: the History's newest 5,000 of a year's calls
    read all 155,000), the table is analysed once for the expression's
    figures, and Not(Range) still matches what is missing or of another type."""
    t = pg.table("telephony", "calls")
    with pg.transaction():
        for n in range(1, 901):
            t.insert({"started_at": f"2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}T09:{n % 60:02d}:00Z",
                      "duration": n % 7} if n % 100 else {"started_at": n} if n % 200 else {"other": 1})
    since = "2026-12-20"
    want = [d["id"] for d in t.all() if isinstance(d.get("started_at"), str) and d["started_at"] >= since]
    assert [d["id"] for d in t.find({"started_at": Range(ge=since)})] == want and 0 < len(want) < 100
    with admin(pg.dsn) as conn:  # the expression's figures are there (the first range analysed the table)
        assert conn.execute("SELECT count(*) FROM pg_stats s JOIN pg_indexes i ON i.indexname = s.tablename "
                            "WHERE i.schemaname = %s AND i.tablename = 'telephony__calls'",
                            (pg.schema,)).fetchone()[0] >= 1
    sql, params, _pinned = t._compile({"started_at": Range(ge=since), "duration": Range(lt=3)})
    with admin(pg.dsn) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT id FROM {t._rel} WHERE {sql}", params))
    assert "Index Cond" in plan and "COALESCE" not in plan, plan
    # the same answers: missing, numbers for a string range, Not, either of two fields
    assert [d["id"] for d in t.find({"started_at": Not(Range(ge=since))})] == \
        [d["id"] for d in t.all() if d["id"] not in want]
    early = [d for d in t.all() if isinstance(d.get("started_at"), str) and d["started_at"] < "2026-02"]
    assert t.count({"started_at": Range(ge=1)}) == 5
    assert t.count({"started_at": Not(Range(lt="2026-02"))}) == 900 - len(early) and 0 < len(early) < 100
    assert t.count({("started_at", "duration"): Range(ge=6)}) == len([
        d for d in t.all() if d.get("duration") == 6 or (type(d.get("started_at")) is int and d["started_at"] >= 6)])
    assert t.count({"started_at": Not(Not(Range(ge=since)))}) == len(want)
    # equality on the id is the primary key's (2.0 is 2; true and "2" are no ids)
    assert [d["id"] for d in t.find({"id": 2})] == [d["id"] for d in t.find({"id": 2.0})] == [2]
    assert t.find({"id": True}) == t.find({"id": "2"}) == t.find({"id": 2.5}) == []
    assert t.count({"id": Not(2)}) == 899


def test_a_page_in_a_pinned_fields_order_is_an_index_scan(pg):
    """A page of calls newest first, "before this one" (keyset on
    started_at, id): the Range pins started_at to strings, so the ORDER BY is
    that text and the id, served by the (expression, id) index the first
    such page creates — no sort of every call — and the pages put together
    are the whole table's order (ties in started_at by id)."""
    from core.storage.pg import _order

    t = pg.table("telephony", "calls")
    with pg.transaction():
        for n in range(900):
            t.insert({"started_at": f"2026-03-{n % 28 + 1:02d}T{n % 24:02d}:00:00Z", "n": n})
    want = [d["id"] for d in t.find(None, order_by=["-started_at", "-id"])]
    got, last = [], None
    while True:
        if last is None:
            page = t.find({"started_at": Range(ge="")}, order_by=["-started_at", "-id"], limit=40)
        else:  # the same second's older ids, then the seconds before
            page = t.find({"started_at": last["started_at"], "id": Range(lt=last["id"])}, order_by=["-id"], limit=40)
            page += t.find({"started_at": Range(lt=last["started_at"])}, order_by=["-started_at", "-id"],
                           limit=40 - len(page))
        if not page:
            break
        got += [d["id"] for d in page]
        last = page[-1]
    assert got == want
    where = {"started_at": Range(le="2026-03-15T00:00:00Z")}
    sql, params, pinned = t._compile(where)
    with admin(pg.dsn) as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_sort = off")
        plan = "\n".join(r[0] for r in conn.execute(
            f"EXPLAIN SELECT id FROM {t._rel} WHERE {sql} ORDER BY {_order(['-started_at', '-id'], pinned)} "
            "LIMIT 40", params).fetchall())
        indexes = [r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'telephony__calls'",
            (pg.schema,)).fetchall()]
    assert "Index Scan Backward using telephony__calls_o" in plan and "Sort" not in plan, plan
    # a page of calls by id (the History's filter) is a primary-key lookup, not a scan
    ids = AnyOf([5, 7.0, 900, True, "6"])
    assert [d["id"] for d in t.find({"id": ids})] == [5, 7, 900]
    sql, params, _pinned = t._compile({"id": ids})
    with admin(pg.dsn) as conn:
        conn.execute("SET enable_seqscan = off")
        by_id = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT id FROM {t._rel} WHERE {sql}", params))
    assert "Seq Scan" not in by_id and "telephony__calls_pkey" in by_id, by_id
    assert any(", id)" in i for i in indexes), indexes
    # unpinned (no Range on it): the full order of JSON values, as before
    assert t.find(None, order_by=["-started_at", "-id"], limit=3) == t.find(
        {"started_at": Range(ge="")}, order_by=["-started_at", "-id"], limit=3)


def test_a_migrated_table_is_vacuumed_so_a_count_reads_the_primary_key_alone(pg_dsn):
    """A migration rewrites every row: the old versions are dead and no page
    is marked all-visible, so a count read the whole heap (the History's
    "all calls" after telephony.calls v2: 740 ms at a year) until autovacuum
    came by. The table is vacuumed after the migration's commit: the count
    is an index-only scan that fetches nothing from the heap."""
    from core.storage.pg import open_pg_store

    s = open_pg_store(pg_dsn)
    try:
        t = s.table("telephony", "calls")
        with s.transaction():
            for n in range(3000):
                t.insert({"started_at": f"2026-03-{n % 28 + 1:02d}T09:00:00Z", "note": "x" * 40})
    finally:
        s.close()
    s = open_pg_store(pg_dsn)
    try:
        t = s.table("telephony", "calls", version=2, migrations={2: lambda d: {**d, "people": "||"}})
        assert t.count() == 3000 and t.get(3000)["people"] == "||"
        with admin(pg_dsn) as conn:
            pages, visible = conn.execute("SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass",
                                          (t._rel,)).fetchone()
            conn.execute("SET enable_seqscan = off")
            plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN (ANALYZE) SELECT count(*) FROM {t._rel}"))
        assert "Index Only Scan" in plan and "Heap Fetches: 0" in plan, plan
        assert pages > 10 and visible == pages, (pages, visible)
        # inside someone's transaction nothing is vacuumed (VACUUM cannot run there); the table still opens
        with s.transaction():
            s.table("hr", "cases", version=2, migrations={2: lambda d: d})
    finally:
        s.close()


def test_check_finds_a_broken_next_id(pg):
    from core.storage.pg import check_pg

    t = pg.table("hr", "cases")
    t.insert({"x": 1})
    t.insert({"x": 2})
    assert pg.check() == []
    with admin(pg.dsn) as conn:
        conn.execute(f'UPDATE "{pg.schema}"._meta SET next_id = 2')
    (problem,) = pg.check()
    assert "hr.cases" in problem and "next id 2" in problem
    assert check_pg("host=/nonexistent user=nobody dbname=x")[0].startswith("cannot connect to PostgreSQL")


def _fill(store) -> None:
    people = store.table("core", "people", version=2, migrations={2: lambda d: d})
    cases = store.table("hr", "cases")
    for i in range(30):
        people.insert({"name": f"Person {i}", "salary": {"amount": f"{i}000.00", "currency": "EUR"},
                       "ratio": i / 7, "big": 1e20, "tags": ["x", i], "active": i % 2 == 0, "none": None})
    for i in range(5):
        cases.insert({"person_id": i + 1, "text": "Straße Ärger ✓"})
    people.delete(30)  # the next id stays 31
    cases.delete(2)
    store.table("it", "empty")


def test_migrate_round_trip_tinydb_postgresql_tinydb(tmp_path, pg_dsn):
    from core.storage.migrate_cli import dump, migrate, summary

    src = tmp_path / "src"
    s = open_store(src)
    _fill(s)
    s.close()
    lines: list[str] = []
    assert migrate(str(src), "postgresql", pg_dsn, echo=lines.append)
    assert lines[-1].startswith("verified: 3 tables, 33 documents")
    assert [line.split()[0] for line in lines[:-1]] == ["core.people", "hr.cases", "it.empty"]
    assert all(line.endswith(" ok") for line in lines[:-1])
    back = tmp_path / "back"
    assert migrate(pg_dsn, "tinydb", str(back), echo=lines.append)
    a, b = open_store(src), open_store(back)
    assert summary(dump(a)) == summary(dump(b))
    people = b.table("core", "people", version=2)
    assert people.insert({"name": "new"}) == 31    # ids never reused across the copies
    assert b.check() == []
    a.close()
    b.close()
    # a non-empty target is refused
    with pytest.raises(StorageError, match="already holds 3 tables"):
        migrate(str(src), "postgresql", pg_dsn, echo=lines.append)
    with pytest.raises(StorageError, match="not empty"):
        migrate(pg_dsn, "tinydb", str(back), echo=lines.append)


def test_storage_migrate_command_and_pg_aware_check_and_backup(tmp_path, pg_dsn):
    from core.cli import main

    cli = click.command(context_settings={"ignore_unknown_options": True})(
        click.argument("argv", nargs=-1, type=click.UNPROCESSED)(lambda argv: main(list(argv))))
    from core.services.access import current_account

    config_dir = tmp_path / "config"
    config_dir.mkdir()
    # storage migrate, backup and restore need core.admin.*: the account running the test is an admin
    admin = f"roles: {{admin: {{title: Admin, permissions: ['*']}}}}\noperators: {{{current_account()}: {{roles: [admin]}}}}\n"
    (config_dir / "backdesk.yaml").write_text(admin)
    data_dir = tmp_path / "data"
    s = open_store(data_dir)
    _fill(s)
    s.close()
    runner = CliRunner()
    base = ["--config-dir", str(config_dir), "--data-dir", str(data_dir)]
    result = runner.invoke(cli, [*base, "storage", "migrate", "--to", "postgresql", pg_dsn])
    assert result.exit_code == 0, result.output
    assert "verified: 3 tables, 33 documents" in result.output
    assert "hr.cases" in result.output and "sha256" in result.output
    result = runner.invoke(cli, [*base, "storage", "migrate", "--to", "postgresql", pg_dsn])
    assert result.exit_code == 2 and "already holds 3 tables" in result.output
    # the site switches to PostgreSQL: check, backup and export work on it
    (config_dir / "backdesk.yaml").write_text(
        admin + "storage:\n  backend: postgresql\n  dsn: " + json.dumps(pg_dsn) + "\n")
    result = runner.invoke(cli, [*base, "check"])
    assert result.exit_code == 0 and "sound" in result.output, result.output
    result = runner.invoke(cli, [*base, "backup", str(tmp_path / "bak")])
    assert result.exit_code == 0, result.output
    b = open_store(tmp_path / "bak")
    assert b.table("hr", "cases").count() == 4 and b.check() == []
    b.close()
    result = runner.invoke(cli, [*base, "restore", str(tmp_path / "bak")])  # into the schema that holds it
    assert result.exit_code == 2 and "already holds" in result.output and "nothing was restored" in result.output
