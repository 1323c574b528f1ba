'''The PostgreSQL backend: the same Store/Table API on JSONB tables.

Open it with :func:`open_pg_store` (``core.plugins.runtime`` does when the config says
``storage: {backend: postgresql, dsn: ...}``).  Plugins see no difference;
psycopg 3 is imported only when this backend is used.

Layout
------
Everything lives in one schema, ``backdesk`` unless the DSN sets a
``search_path`` (``options=-csearch_path=acme``: the first schema named is
used, so several sites can share one database).  In it:

* ``_meta (name text primary key, relname text unique, version int,
  next_id bigint)`` — one row per table ("hr.cases"): the relation that holds
  it, its schema version and the next id to hand out.  Ids are allocated
  inside the writing transaction (``UPDATE _meta SET next_id = next_id + 1
  ... RETURNING``), so they are final at once and never reused, not even
  after a delete or a rolled-back transaction (a rollback leaves no gap
  either: the counter rolls back with it).
* one relation per table, ``"<ns>__<table>"`` (shortened with a hash
  when longer than PostgreSQL's 63 bytes; ``_meta`` records the name), with
  ``id bigint primary key, doc jsonb`` (the document without its id) and a
  GIN index (``jsonb_path_ops``) on ``doc`` that equality and ``AnyOf``
  filters use (they are written as ``doc @> '{"f": v}'``).
* ``_bak_*`` relations: the copy of a table taken before a migration.  The
  migrated table is vacuumed after the migration's commit (its rows' old
  versions are dead: a count would read the whole heap until autovacuum).

Indexes are created lazily: the first ``find``/``count`` in a process with a
``Range`` over a field creates (under the write lock, once;
``IF NOT EXISTS``) a btree expression index on exactly the expression the
range compares (numeric or ``COLLATE "C"`` text), so date and amount ranges
stay index scans as tables grow.  A ``Contains`` likewise creates a trigram
GIN index (the ``pg_trgm`` extension, created in the schema when the
database has none; without it, ILIKE scans) on the field's text
(``doc #>> '{field}'``), which the condition tests first: a search finds its
rows through the index, whatever the table's size (needles of three letters
or more; shorter ones scan, and so does a text without letters whose digits
make no trigram of two: "-0" is a ``strpos``, see ``_TRIGRAM_WORTH``).  A field the table declares searched for words
(``store.table(..., words=)``) gets at the first search for a word a stored
generated column of its words with a trigram index (``_ensure_words``): a
``Contains`` of one word tests those words instead of the text.  ``order_by`` on arbitrary fields sorts every
matching row (a field may hold values of any JSON type: five sort keys),
except when the where pins the field's type — a ``Range`` over it with
string (or number) bounds: then the order is that one expression and the
id, and a ``find`` with a ``limit`` creates a btree index on exactly
``(expression, id)``, so "the newest 100 before this one" (keyset pages by
``(started_at, id)``: ``Range(le=last)``, or ``Range(ge="")`` for "any
string") is an index scan that stops after 100 rows.  Keyset pages by
``id`` use the primary key.  A btree expression index the table has no
statistics for yet (``pg_stats``) is followed by an ``ANALYZE`` of the
table, once: without the expression's figures the planner takes a third of
the table to match any range over it and scans the table (the History's
newest 5,000 calls of a year: a scan of 155,000).

Transactions and locking
------------------------
One connection per Store (guarded by an ``RLock``: every call is
thread-safe; a transaction holds the RLock, so other threads never see its
uncommitted changes).  A write transaction is ``BEGIN`` plus
``pg_advisory_xact_lock(<key of the schema>)``: the store-wide write lock of
the contract, held to COMMIT.  That is what keeps the documented semantics
on PostgreSQL: reads inside a transaction are current and read-modify-write
(counters, "next number", the audit chain's head) cannot lose updates; all
writers take the same single lock first, so they never deadlock on rows.
Readers (outside transactions) never wait: plain MVCC snapshots.  A nested
``transaction()`` is a ``SAVEPOINT``; an exception leaving it rolls back to
it (PostgreSQL side and the Python-side list of changes).

Commit: ``before_commit`` callbacks run inside the transaction with the lock
held (the audit trail's writes join it), then ``pg_notify('backdesk_<schema>',
'<store token> <table> <table>...')`` and ``COMMIT`` in one round trip; then
``after_commit`` and ``on_change`` callbacks.  Each Store LISTENs on a second
connection; :meth:`PgStore.refresh` drains it without waiting and returns the
table names other stores (processes, hosts) committed to, ignoring its own.

Connection loss
---------------
A write or transaction that loses its connection (server restart, network,
``pg_terminate_backend``) raises one :class:`StorageError`: "the connection
to PostgreSQL was lost; nothing of this change was saved" — PostgreSQL rolls
the transaction back, and the Python side drops the transaction's changes
and any table it created.  Only when the loss hits the ``COMMIT`` itself is
the outcome unknown, and the message says so.  The next call reconnects; a
transaction whose ``BEGIN`` finds the connection dead (nothing sent yet)
reconnects at once, as does a read outside a transaction.  When the
listening connection is lost, the next :meth:`refresh` reconnects and reports
every table (notifications may have been missed).

Migrations run as in the default backend: under the write lock, once (a
second process finds the new version and does nothing), after copying the
table to ``_bak_...``, in the same transaction as the version change.

Known differences from the TinyDB backend (outside the documented contract):
``Contains`` folds case with PostgreSQL's ``ILIKE`` (the database's
``LC_CTYPE``: use a UTF-8 locale), not Python's ``casefold`` ("ß" is not
"ss"); documents come back with their keys in JSONB order; an integral float
written in exponent form (``1e20``) comes back as an int; strings may not
contain NUL characters (PostgreSQL text cannot).
'''

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Mapping

import msgspec

from .base import Change, Store, Table, Where, say, upgraded_line, waiting_line
from .errors import Conflict, NotFound, StorageError
from .files import took_soon
from .filestore import FileStore
from .holds import Hold, PgHold, pg_holds
from .pgfiles import PgFileStore, check_files, export_files
from .query import AnyOf, Contains, Not, Operator, Range, projection, split_path

log = logging.getLogger("backdesk.storage")

DEFAULT_SCHEMA = "backdesk"
LOST = "the connection to PostgreSQL was lost; nothing of this change was saved"
LOST_AT_COMMIT = ("the connection to PostgreSQL was lost while committing; the change may or may not "
                  "have been saved: look before repeating it")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_RESERVED = {"backups", "journal", "store", "lock", "tmp"}  # as the default backend (files.RESERVED_NAMES)


def _psycopg():
    try:
        import psycopg
    except ImportError:  # pragma: no cover - depends on the installation
        raise StorageError("the postgresql storage backend needs psycopg 3: "
                           "pip install 'backdesk[postgresql]'") from None
    return psycopg


class ConnectionLost(StorageError):
    """The connection to PostgreSQL broke (the message says what was saved)."""


# -- documents ------------------------------------------------------------------


def _clean_doc(doc: Mapping[str, Any], table: str, *, allow_id: int | None = None) -> dict:
    from .engine import _clean_doc as clean

    out = clean(doc, table, allow_id=allow_id)
    _no_nul(out, table)
    return out


def _no_nul(value: Any, path: str) -> None:
    t = type(value)
    if t is str:
        if "\x00" in value:
            raise StorageError(f"{path}: text with a NUL character cannot be stored in PostgreSQL")
    elif t is dict:
        for k, v in value.items():
            if "\x00" in k:
                raise StorageError(f"{path}: a key with a NUL character cannot be stored in PostgreSQL")
            _no_nul(v, f"{path}.{k}")
    elif t is list:
        for i, v in enumerate(value):
            _no_nul(v, f"{path}[{i}]")


def _doc_id(doc_id: Any) -> int:
    from .engine import _doc_id as check

    return check(doc_id)


def _with_id(doc_id: int, doc: dict) -> dict:
    out = {"id": doc_id}
    out.update(doc)
    return out


def _change_copy(c: Change) -> Change:
    from .engine import _copy

    return Change(c.table, c.op, c.id, _copy(c.before), _copy(c.after))


# -- SQL for where dicts --------------------------------------------------------


def _json_loads(data: bytes | memoryview) -> Any:
    """A JSONB value read (msgspec: a page of 5,000 calls' fields decoded in a
    fifth of json.loads's time); json.loads for what msgspec refuses."""
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        return json.loads(bytes(data))


def _literal(text: str) -> str:
    """A SQL string literal (standard_conforming_strings), safe in a %s-query."""
    return ("'" + text.replace("'", "''") + "'").replace("%", "%%")


def _array_text(elem: str) -> str:
    """One element of a text[] literal ("{a,b}"), quoted."""
    return '"' + elem.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _path(path: tuple[str, ...]) -> str:
    return _literal("{" + ",".join(_array_text(p) for p in path) + "}") + "::text[]"


def _value(path: tuple[str, ...]) -> str:
    """The JSONB value at ``path`` (NULL when missing); ``id`` is the id column."""
    if path == ("id",):
        return "to_jsonb(id)"
    return f"(doc #> {_path(path)})"


def _num(path: tuple[str, ...]) -> str:
    x = _value(path)
    return f"(CASE WHEN jsonb_typeof({x}) = 'number' THEN ({x})::numeric END)"


def _text(path: tuple[str, ...]) -> str:
    x = _value(path)
    return f"((CASE WHEN jsonb_typeof({x}) = 'string' THEN {x} #>> '{{}}' END) COLLATE \"C\")"


def _field_text(path: tuple[str, ...]) -> str:
    """The field as one text (a string's own text, other values' JSON text):
    the expression a Contains index is built on."""
    return f"(doc #>> {_path(path)})"


#: characters JSON text escapes: a needle with one may not be found in a list's JSON text
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')
_UNCASED = re.compile(r"[^A-Za-z\x80-\U0010ffff]*")  # ASCII without letters
#: an uncased needle a trigram index narrows down: pg_trgm takes trigrams of
#: its runs of digits, and only a run of three, or of two next to a sign or
#: space ("-03": " 03", a word starting 03), has one with two of them; a
#: single digit's trigram ("-0": "  0", any word starting with 0: nearly
#: every date) or none ("-", "03") makes the index hand over most rows to
#: be checked again (the Journal's "-0" at a year: 33,000 of 40,000, 32 ms
#: against 20 for reading the table)
_TRIGRAM_WORTH = re.compile(r"\d{3}|\D\d\d|\d\d\D")


def _nested(path: tuple[str, ...], value: Any) -> str:
    for part in reversed(path):
        value = {part: value}
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _is_number(v: Any) -> bool:
    return type(v) in (int, float) or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _bound(v: Any) -> Any:
    return Decimal(repr(float(v))) if isinstance(v, float) else int(v)


#: what PostgreSQL's words of a field (``backdesk_words``) are split at: every
#: ASCII character but letters and digits (the same in every locale). A
#: needle without one is in a field's text exactly when it is in one of its
#: words (``ILIKE`` lowers both, one character at a time).
_WORD_SPLIT = r"[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+"
_PG_WORD = re.compile(r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+")


def _index_name(table: "PgTable", expr: str, kind: str) -> str:
    """The name of the index :meth:`PgStore._ensure_indexes` makes on ``expr``."""
    letter = {"trgm": "t", "order": "o"}.get(kind, "r")
    return f"{table.relname[:40]}_{letter}{hashlib.sha1(expr.encode()).hexdigest()[:12]}"


def _words_column(path: tuple[str, ...]) -> str:
    return "w_" + hashlib.sha1(json.dumps(list(path)).encode()).hexdigest()[:16]


class _Compiler:
    def __init__(self, words: Mapping[tuple[str, ...], str] | None = None) -> None:
        #: the fields whose words have a column: path -> its name (PgStore._ensure_words)
        self.words = words or {}
        self.params: list[Any] = []
        self.ranges: list[str] = []  # expressions worth an index
        self.texts: list[str] = []   # texts worth a trigram index (Contains)
        #: fields whose type the where pins ("string"/"number": a Range with such bounds)
        self.pinned: dict[tuple[str, ...], str] = {}

    def p(self, value: Any) -> str:
        self.params.append(value)
        return "%s"

    def condition(self, path: tuple[str, ...], cond: Any, negated: bool = False) -> str:
        """SQL true for the documents ``cond`` matches; ``negated``: under a
        ``Not``, where it must never be NULL (NOT NULL is not true)."""
        x = _value(path)
        if isinstance(cond, Not):
            return f"(NOT {self.condition(path, cond.cond, negated=True)})"
        if isinstance(cond, AnyOf):
            parts = []
            values = [v for v in cond.values if v is not None]
            for v in values:
                if isinstance(v, float) and v != v:
                    raise TypeError("queries compare JSON values; NaN/inf are not JSON")
            if values and path == ("id",):
                # the id column (its primary key serves "a page of calls by id"): only whole
                # numbers can be an id (true is not 1; 2.0 is 2)
                ids = [int(v) for v in values if _is_number(v) and type(v) is not bool and v == int(v)]
                parts.append(f"id = ANY({self.p(ids)}::bigint[])" if ids else "false")
            elif values:
                # the containment outside COALESCE: the GIN index serves it
                parts.append(f"(doc @> ANY({self.p([_nested(path, v) for v in values])}::jsonb[]) "
                             f"AND COALESCE({x} = ANY({self.p([_json(v) for v in values])}::jsonb[]), false))")
            if len(values) != len(cond.values):
                parts.append(f"({x} IS NULL OR {x} = 'null'::jsonb)")
            return "(" + " OR ".join(parts) + ")" if parts else "false"
        if isinstance(cond, Range):
            parts = []
            for op, bound in ((">", cond.gt), (">=", cond.ge), ("<", cond.lt), ("<=", cond.le)):
                if bound is None:
                    continue
                if type(bound) is bool:
                    return "false"
                if _is_number(bound):
                    if isinstance(bound, float) and (bound != bound or bound in (float("inf"), float("-inf"))):
                        raise TypeError("queries compare JSON values; NaN/inf are not JSON")
                    if path == ("id",):
                        # the id column (the primary key's index serves it;
                        # to_jsonb(id) is not IMMUTABLE, so no expression index)
                        parts.append(f"id {op} {self.p(_bound(bound))}::numeric")
                        continue
                    expr = _num(path)
                    parts.append(f"{expr} {op} {self.p(_bound(bound))}::numeric")
                elif isinstance(bound, str):
                    if path == ("id",):
                        parts.append("false")  # ids are numbers: no string is in range
                        continue
                    expr = _text(path)
                    parts.append(f"{expr} {op} {self.p(str(bound))}")
                else:
                    return "false"  # lists/objects have no range order here
                self.ranges.append(expr)
            if negated:
                return "COALESCE(" + " AND ".join(parts) + ", false)"
            # NULL (not a string/number) rules a row out as false does, and
            # the bare comparison is what an index on the expression serves
            # (inside COALESCE it was a filter over every row)
            return "(" + " AND ".join(parts) + ")"
        if isinstance(cond, Contains) and path in self.words and _PG_WORD.fullmatch(cond.text):
            # the field's words (a column of their own, a trigram index on it): a
            # few hundred bytes tested per row, not the text (no LIKE wildcard in a word)
            return f'COALESCE("{self.words[path]}" LIKE lower({self.p(f"%{cond.text}%")}), false)'
        if isinstance(cond, Contains):
            needle = cond.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{needle}%"
            # Without a letter (ASCII digits, signs, spaces: "-03-") case
            # changes nothing: LIKE, which need not lower every row's text
            # (a count over a year's journal: 65 -> 28 ms)
            like = "LIKE" if _UNCASED.fullmatch(cond.text) else "ILIKE"
            # First the field's text as one string (a list's is its JSON
            # text, which holds each element's text unless the needle has
            # a character JSON escapes): a trigram index on that text
            # serves it (see _ensure_indexes); the CASE then decides.
            # A string's text is the field's text: the first test decided it
            # (not tested again: each test reads the field out of the document).
            if path != ("id",) and not _JSON_ESCAPED.search(cond.text):
                text = _field_text(path)
                self.texts.append(text)
                if like == "LIKE" and not _TRIGRAM_WORTH.search(cond.text):
                    # a needle the index would not narrow down: strpos, which
                    # no index serves (the same test as the LIKE: a substring)
                    prefilter = f"strpos({text}, {self.p(cond.text)}) > 0 AND "
                else:
                    prefilter = f"{text} {like} {self.p(pattern)} AND "
                string = "true"
            else:
                prefilter, string = "", f"({x} #>> '{{}}') {like} {self.p(pattern)}"
            return ("(" + prefilter + f"COALESCE(CASE jsonb_typeof({x}) WHEN 'string' THEN {string} "
                    f"WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements({x}) AS e(v) "
                    f"WHERE jsonb_typeof(e.v) = 'string' AND (e.v #>> '{{}}') {like} {self.p(pattern)}) "
                    f"ELSE false END, false))")
        if isinstance(cond, Operator):
            raise TypeError(f"unknown query operator {cond!r}")
        if cond is None:
            return f"({x} IS NULL OR {x} = 'null'::jsonb)"
        if isinstance(cond, float) and (cond != cond or cond in (float("inf"), float("-inf"))):
            raise TypeError("queries compare JSON values; NaN/inf are not JSON")
        from .engine import _clean

        value = _clean(cond, "query")
        if path == ("id",):
            # the id column's primary key (only a whole number is an id: true is not 1, 2.0 is 2)
            if _is_number(value) and type(value) is not bool and value == int(value):
                return f"id = {self.p(int(value))}::bigint"
            return "false"
        # ``doc @> ...`` is never NULL and stays outside COALESCE, where the
        # GIN index can serve it; the equality then rules out what containment
        # lets through (a list holding the value, an object with more keys).
        return (f"(doc @> {self.p(_nested(path, value))}::jsonb "
                f"AND COALESCE({x} = {self.p(_json(value))}::jsonb, false))")

    def where(self, where: Where | None) -> str:
        if not where:
            return "true"
        if not isinstance(where, Mapping):
            raise TypeError(f"where must be a dict of field -> condition, not {type(where).__name__}")
        parts = []
        for key, cond in where.items():
            if isinstance(key, tuple):
                if not key:
                    raise TypeError("an empty tuple of fields matches nothing")
                parts.append("(" + " OR ".join(self.condition(split_path(f), cond) for f in key) + ")")
            else:
                path = split_path(key)
                parts.append(self.condition(path, cond))
                if isinstance(cond, Range) and path != ("id",):
                    bounds = [b for b in (cond.gt, cond.ge, cond.lt, cond.le) if b is not None]
                    if all(isinstance(b, str) for b in bounds):
                        self.pinned[path] = "string"
                    elif all(_is_number(b) and type(b) is not bool for b in bounds):
                        self.pinned[path] = "number"
        return " AND ".join(parts)


def _order(order_by: str | Iterable[str] | None, pinned: Mapping[tuple[str, ...], str] | None = None) -> str:
    """ORDER BY for ``order_by`` (the query module's order of JSON values);
    a field the where ``pinned`` to strings or numbers is ordered by that
    one expression (the other keys are equal for every matching row)."""
    keys = []
    if order_by:
        if isinstance(order_by, str):
            order_by = [order_by]
        for field in order_by:
            desc = field.startswith("-")
            path = split_path(field[1:] if desc else field)
            x = _value(path)
            d = " DESC" if desc else ""
            if path == ("id",):
                keys.append(f"id{d}")
                continue
            kind = (pinned or {}).get(path)
            if kind is not None:
                keys.append(f"{_text(path) if kind == 'string' else _num(path)}{d}")
                continue
            keys += [
                f"(CASE jsonb_typeof({x}) WHEN 'boolean' THEN 1 WHEN 'number' THEN 2 WHEN 'string' THEN 3 "
                f"WHEN 'array' THEN 4 WHEN 'object' THEN 4 ELSE 0 END){d}",
                f"(CASE WHEN jsonb_typeof({x}) = 'boolean' THEN ({x})::boolean END){d}",
                f"{_num(path)}{d}",
                f"{_text(path)}{d}",
                f"(CASE WHEN jsonb_typeof({x}) IN ('array', 'object') THEN ({x})::text END) COLLATE \"C\"{d}",
            ]
    keys.append("id")
    return ", ".join(keys)


# -- transactions ---------------------------------------------------------------


class _Txn:
    __slots__ = ("changes", "notify", "undo", "checked", "depth", "failed", "wrote")

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.notify: set[str] = set()
        self.undo: list[Callable[[], None]] = []   # Python-side state to restore on rollback
        self.checked: set[str] = set()              # tables whose version was checked
        self.depth = 0
        self.failed: str | None = None
        self.wrote = False

    def mark(self) -> tuple[int, int, frozenset, frozenset]:
        return (len(self.changes), len(self.undo), frozenset(self.notify), frozenset(self.checked))

    def rollback_to(self, mark: tuple) -> None:
        n_changes, n_undo, notify, checked = mark
        while len(self.undo) > n_undo:
            self.undo.pop()()
        del self.changes[n_changes:]
        self.notify = set(notify)
        self.checked = set(checked)


# -- tables -----------------------------------------------------------------------


class PgTable(Table):
    """A table of a :class:`PgStore` (get one with ``store.table()``)."""

    def __init__(self, store: "PgStore", name: str, relname: str, version: int) -> None:
        self._store = store
        self.name = name
        self.relname = relname
        self.version = version
        self._rel = f'{store._schema_sql}."{relname}"'
        #: the fields whose words PostgreSQL keeps in a column (``store.table(words=)``)
        self.words: frozenset[tuple[str, ...]] = frozenset()

    # reads ------------------------------------------------------------------

    def get(self, doc_id: int) -> dict | None:
        doc_id = _doc_id(doc_id)
        row = self._store._read(lambda: self._store._q(
            f"SELECT doc FROM {self._rel} WHERE id = %s", (doc_id,)).fetchone())
        return _with_id(doc_id, row[0]) if row is not None else None

    def _compile(self, where: Where | None) -> tuple[str, list, dict]:
        words = None
        if self.words and where:
            searched = {split_path(f) for key, cond in where.items() if isinstance(cond, Contains)
                        and _PG_WORD.fullmatch(cond.text) for f in (key if isinstance(key, tuple) else (key,))}
            if searched & self.words:
                words = self._store._ensure_words(self, searched & self.words)
        c = _Compiler(words)
        sql = c.where(where)
        if c.ranges or c.texts:
            self._store._ensure_indexes(self, c.ranges, c.texts)
        return sql, c.params, c.pinned

    def find(self, where: Where | None = None, *, order_by: str | Iterable[str] | None = None,
             limit: int | None = None, offset: int = 0, fields: Iterable[str] | None = None) -> list[dict]:
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("limit and offset cannot be negative")
        keep = projection(fields)
        cond, params, pinned = self._compile(where)
        first = ([order_by] if isinstance(order_by, str) else list(order_by or ()))[:1]
        if limit is not None and first and (kind := pinned.get(split_path(first[0].lstrip("-")))):
            # a page in a pinned field's order: an index on (expression, id) serves it
            path = split_path(first[0].lstrip("-"))
            self._store._ensure_indexes(self, [], [], [_text(path) if kind == "string" else _num(path)])
        doc = "doc"
        if keep == ():
            doc = ""  # the ids alone
        elif keep is not None and len(keep) <= 62:
            # Only the keys wanted leave the server, each row as one JSON text
            # [id, {the keys: a missing one is null there}, which ones the document
            # has], all rows decoded at once (a search's 9,000 rows: a tenth of
            # the time of a JSONB value, a row and a number each)
            has = " + ".join(f"(CASE WHEN doc ? {_literal(k)} THEN {1 << i} ELSE 0 END)"
                             for i, k in enumerate(keep)) or "0"
            doc = "jsonb_build_array(id, " + (" || ".join(
                "jsonb_build_object(" + ", ".join(f"{_literal(k)}, doc -> {_literal(k)}" for k in part) + ")"
                for part in (keep[i:i + 40] for i in range(0, len(keep), 40))) or "'{}'::jsonb") + f", {has})::text"
        elif keep is not None:
            # Only the keys wanted leave the server: one object of them (a
            # missing key is JSON null there) and which ones the document has.
            doc = " || ".join(
                "jsonb_build_object(" + ", ".join(f"{_literal(k)}, doc -> {_literal(k)}" for k in part) + ")"
                for part in (keep[i:i + 40] for i in range(0, len(keep), 40))) or "'{}'::jsonb"
            doc += ", " + (" + ".join(f"(CASE WHEN doc ? {_literal(k)} THEN {1 << i} ELSE 0 END)::numeric"
                                      for i, k in enumerate(keep)) or "0")
        one_text = keep is not None and keep != () and len(keep) <= 62
        sql = f"SELECT {doc if one_text else 'id' + (', ' + doc if doc else '')} FROM {self._rel} WHERE {cond} " \
              f"ORDER BY {_order(order_by, pinned)}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        if not doc:
            return [{"id": i} for (i,) in self._store._read(lambda: self._store._q(sql, params).fetchall())]
        rows = self._store._read(lambda: self._store._q(sql, params).fetchall())
        if keep is None:
            return [_with_id(i, d) for i, d in rows]
        if one_text:
            rows = _json_loads(("[" + ",".join(r for (r,) in rows) + "]").encode())
        out = []
        for i, d, has in rows:
            has = int(has)
            doc_out = {"id": i}
            for at, k in enumerate(keep):
                v = d[k]
                if v is not None or has >> at & 1:
                    doc_out[k] = v
            out.append(doc_out)
        return out

    def count(self, where: Where | None = None) -> int:
        cond, params, _pinned = self._compile(where)
        sql = f"SELECT count(*) FROM {self._rel} WHERE {cond}"
        return self._store._read(lambda: self._store._q(sql, params).fetchone()[0])

    def __len__(self) -> int:
        return self.count()

    # writes -----------------------------------------------------------------

    def _check_version(self, txn: _Txn) -> None:
        if self.name in txn.checked:
            return
        row = self._store._q(f"SELECT version FROM {self._store._meta} WHERE name = %s", (self.name,)).fetchone()
        self._version_ok(row[0] if row else None)
        txn.checked.add(self.name)

    def _version_ok(self, version: int | None) -> None:
        if version is None:
            raise StorageError(f"{self.name}: the table no longer exists in PostgreSQL "
                               f"(schema {self._store.schema}); restart Backdesk")
        if version != self.version:
            raise Conflict(f"{self.name}: the data is now at schema version {version}, this code "
                           f"writes version {self.version}; restart Backdesk with matching plugins")

    def insert(self, doc: Mapping[str, Any]) -> int:
        from psycopg.types.json import Jsonb

        clean = self._derived(_clean_doc(doc, self.name))
        s = self._store
        with s._write() as txn:
            row = s._q(
                f"WITH m AS (UPDATE {s._meta} SET next_id = next_id + 1 WHERE name = %s AND version = %s "
                f"RETURNING next_id - 1 AS id) "
                f"INSERT INTO {self._rel} (id, doc) SELECT id, %s FROM m RETURNING id",
                (self.name, self.version, Jsonb(clean))).fetchone()
            if row is None:
                self._check_version(txn)  # raises
                raise StorageError(f"{self.name}: could not allocate an id")  # pragma: no cover
            doc_id = row[0]
            txn.checked.add(self.name)
            new = _with_id(doc_id, clean)
            txn.changes.append(Change(self.name, "insert", doc_id, None, new))
            txn.notify.add(self.name)
            txn.wrote = True
        return doc_id

    def _put(self, doc_id: int, make: Callable[[dict], dict]) -> dict:
        from psycopg.types.json import Jsonb

        from .engine import _copy

        s = self._store
        with s._write() as txn:
            self._check_version(txn)
            row = s._q(f"SELECT doc FROM {self._rel} WHERE id = %s", (doc_id,)).fetchone()
            if row is None:
                raise NotFound(f"{self.name}: no document with id {doc_id}")
            old = _with_id(doc_id, row[0])
            new = make(old)
            body = {k: v for k, v in new.items() if k != "id"}
            s._q(f"UPDATE {self._rel} SET doc = %s WHERE id = %s", (Jsonb(body), doc_id))
            txn.changes.append(Change(self.name, "update", doc_id, old, new))
            txn.notify.add(self.name)
            txn.wrote = True
        return _copy(new)

    def _checked(self, doc_id: Any, doc: Mapping[str, Any]) -> tuple[int, dict]:
        doc_id = _doc_id(doc_id)
        return doc_id, _clean_doc(doc, self.name, allow_id=doc_id)

    def delete(self, doc_id: int) -> None:
        doc_id = _doc_id(doc_id)
        s = self._store
        with s._write() as txn:
            self._check_version(txn)
            row = s._q(f"DELETE FROM {self._rel} WHERE id = %s RETURNING doc", (doc_id,)).fetchone()
            if row is None:
                raise NotFound(f"{self.name}: no document with id {doc_id}")
            txn.changes.append(Change(self.name, "delete", doc_id, _with_id(doc_id, row[0]), None))
            txn.notify.add(self.name)
            txn.wrote = True


# -- the store ---------------------------------------------------------------------


def schema_from_dsn(dsn: str) -> str:
    """The schema the store uses: the first of the DSN's search_path, else ``backdesk``."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        options = conninfo_to_dict(dsn).get("options") or ""
    except Exception as e:
        raise StorageError(f"storage.dsn: not a PostgreSQL connection string ({_one_line(e)})") from None
    m = re.search(r"search_path\s*=\s*([^\s,]+)", str(options))
    if not m:
        return DEFAULT_SCHEMA
    schema = m.group(1).strip("'\"")
    if not _NAME.match(schema):
        raise StorageError(f"storage.dsn: search_path {schema!r}: use a lower-case schema name "
                           "(letters, digits, _)")
    return schema


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _redact(dsn: str) -> str:
    return re.sub(r"(password\s*=\s*)\S+|(://[^:/@]*:)[^@]*@", lambda m: (m.group(1) or m.group(2)) + "***"
                  + ("" if m.group(1) else "@"), dsn)


class PgStore(Store):
    """A store in a PostgreSQL schema: see the module docstring.  Use :func:`open_pg_store`."""

    def __init__(self, dsn: str, *, schema: str | None = None, connect_timeout: int = 10) -> None:
        _psycopg()
        self.dsn = dsn
        self.schema = schema or schema_from_dsn(dsn)
        if not _NAME.match(self.schema):
            raise StorageError(f"{self.schema!r}: use a lower-case schema name (letters, digits, _)")
        self.actor: str | None = None
        #: what _begin says when it waits over 1 s for another process's write lock (a table created or upgraded)
        self._on_wait: Callable[[], None] | None = None
        self.connect_timeout = connect_timeout
        self._schema_sql = f'"{self.schema}"'
        self._meta = f'{self._schema_sql}."_meta"'
        self._channel = f"backdesk_{self.schema}"[:63]
        digest = hashlib.sha256(f"backdesk-store:{self.schema}".encode()).digest()
        self._lock_key = int.from_bytes(digest[:8], "big", signed=True)
        self._token = uuid.uuid4().hex[:16]
        self._rlock = threading.RLock()
        self._listen_lock = threading.Lock()
        self._conn = None
        self._listener = None
        self._heard: list = []  # notifications the listener received, not yet reported
        self._txn: _Txn | None = None
        self._tables: dict[str, PgTable] = {}
        self._indexed: set[tuple[str, str]] = set()
        self._trgm: str | bool | None = None  # the trigram operator class (None: not looked up)
        self._init_callbacks()
        self._closed = False
        try:
            self._initialize()
            self._listen()
        except BaseException:
            self._close_connections()
            raise

    @property
    def data_dir(self) -> str:
        """Where the data lives (for messages): the DSN without a password, and the schema."""
        return f"{_redact(self.dsn)} (schema {self.schema})"

    # -- connections ------------------------------------------------------------------

    def _connect(self):
        psycopg = _psycopg()
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=self.connect_timeout,
                                   application_name="backdesk")
        except psycopg.Error as e:
            raise StorageError(f"cannot connect to PostgreSQL at {_redact(self.dsn)}: {_one_line(e)}") from None
        psycopg.types.json.set_json_loads(_json_loads, conn)
        # No JIT compiling: it pays off for analytics over millions of rows;
        # here it only added its 20-40 ms to a count over a year's journal
        # (a plan's cost above jit_above_cost: every search of a big table)
        conn.execute("SET jit = off")
        return conn

    def _connection(self):
        if self._closed:
            raise StorageError(f"{self.data_dir}: the store is closed")
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def _q(self, sql: str, params: Any = None):
        """Execute on the store's connection, translating errors to StorageError."""
        psycopg = _psycopg()
        txn = self._txn
        if txn is not None and txn.failed:
            raise StorageError(txn.failed)
        conn = self._connection()
        try:
            return conn.execute(sql, params, prepare=None)
        except psycopg.Error as e:
            if conn.broken or conn.closed:
                self._drop()
                if txn is not None:
                    txn.failed = LOST
                    raise ConnectionLost(LOST) from e
                raise ConnectionLost(f"the connection to PostgreSQL was lost ({_one_line(e)}); "
                                     "it reconnects on the next call") from e
            message = f"PostgreSQL refused a statement: {_one_line(e)}"
            if txn is not None:
                txn.failed = message + "; nothing of this transaction was saved"
            raise StorageError(message) from e

    def _read(self, fn: Callable[[], Any]) -> Any:
        with self._rlock:
            if self._txn is not None:
                return fn()
            try:
                return fn()
            except ConnectionLost:
                return fn()  # a read is safe to repeat on a new connection

    # -- opening ----------------------------------------------------------------------

    def _initialize(self) -> None:
        with self._rlock:
            exists = self._read(lambda: self._q("SELECT to_regclass(%s)", (f'{self._meta}',)).fetchone()[0])
            if exists is not None:
                return
            with self._write():
                self._q(f"CREATE SCHEMA IF NOT EXISTS {self._schema_sql}")
                self._q(f"CREATE TABLE IF NOT EXISTS {self._meta} ("
                        "name text PRIMARY KEY, relname text NOT NULL UNIQUE, "
                        "version integer NOT NULL CHECK (version >= 1), "
                        "next_id bigint NOT NULL CHECK (next_id >= 1))")
            log.info("created a new store in PostgreSQL schema %s", self.schema)

    def _listen(self) -> None:
        from psycopg import sql

        conn = self._connect()
        try:
            conn.add_notify_handler(self._heard.append)
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except Exception:
            conn.close()
            raise
        self._listener = conn

    # -- tables -----------------------------------------------------------------------

    def table(self, namespace: str, name: str, *, version: int = 1,
              migrations: Mapping[int, Callable[[dict], dict]] | None = None,
              derive: Callable[[dict], Mapping[str, Any]] | None = None,
              words: Iterable[str] = ()) -> PgTable:
        for part, what in ((namespace, "namespace"), (name, "table name")):
            if not isinstance(part, str) or not _NAME.match(part) or part in _RESERVED:
                raise StorageError(f"{what} {part!r}: use lower-case letters, digits and _ (not {sorted(_RESERVED)})")
        if type(version) is not int or version < 1:
            raise StorageError(f"{namespace}.{name}: version must be an integer >= 1")
        full = f"{namespace}.{name}"
        with self._rlock:
            tbl = self._tables.get(full)
            if tbl is not None:
                if tbl.version != version:
                    raise Conflict(f"{full}: declared with version {tbl.version} and {version} in one process")
                if derive is not None:
                    tbl.derive = derive
                if words:
                    tbl.words = frozenset(split_path(w) for w in words)
                return tbl
            row = self._meta_row(full)
            if row is None or row[1] != version:
                upgrade = row is not None and row[1] < version
                started = time.monotonic()
                if self.notice is not None and self._txn is None:
                    self._on_wait = lambda: say(self, waiting_line(full, row and row[1], version))
                try:
                    with self._write(savepoint=True) as txn:
                        relname, migrated = self._prepare_table(full, version, migrations or {})
                        txn.undo.append(lambda: self._tables.pop(full, None))
                finally:
                    self._on_wait = None
                if row is not None and self._txn is None and migrated:
                    self._vacuum(relname)
                if upgrade:
                    say(self, upgraded_line(full, version, time.monotonic() - started, migrated))
            else:
                relname = row[0]
            tbl = self._tables[full] = PgTable(self, full, relname, version)
            tbl.derive = derive
            tbl.words = frozenset(split_path(w) for w in words)
            return tbl

    def _vacuum(self, relname: str) -> None:
        """``VACUUM (ANALYZE)`` a table a migration has just rewritten (after
        its commit: VACUUM cannot run in a transaction). Every row's old
        version is dead then and none is marked all-visible: a count of the
        table read all of them from the heap — twice the table — instead of
        the primary key alone (the History's "all calls" after telephony.
        calls v2 at a year: 740 ms against 20 ms), until autovacuum came by,
        which a server started for an hour's work may never finish."""
        try:
            self._q(f'VACUUM (ANALYZE) {self._schema_sql}."{relname}"')
        except StorageError as e:
            log.warning("%s: could not vacuum after the migration (%s)", relname, e)

    def _meta_row(self, full: str) -> tuple | None:
        return self._read(lambda: self._q(
            f"SELECT relname, version, next_id FROM {self._meta} WHERE name = %s", (full,)).fetchone())

    def _new_relname(self, full: str) -> str:
        base = full.replace(".", "__")
        if len(base) > 63:
            base = base[:50] + "_" + hashlib.sha1(full.encode()).hexdigest()[:10]
        taken = self._q(f"SELECT 1 FROM {self._meta} WHERE relname = %s", (base,)).fetchone()
        if taken:
            base = base[:50] + "_" + uuid.uuid4().hex[:10]
        return base

    def _create_relation(self, relname: str) -> None:
        rel = f'{self._schema_sql}."{relname}"'
        self._q(f"CREATE TABLE {rel} (id bigint PRIMARY KEY, doc jsonb NOT NULL)")
        idx = (relname[:55] + "_doc").replace('"', "")
        self._q(f'CREATE INDEX "{idx}" ON {rel} USING gin (doc jsonb_path_ops)')

    def _prepare_table(self, full: str, version: int,
                       migrations: Mapping[int, Callable[[dict], dict]]) -> tuple[str, bool]:
        """Create or migrate ``full`` (inside a write transaction: the lock is
        held) -> its relation, and whether this call migrated it."""
        from psycopg.types.json import Jsonb

        txn = self._txn
        row = self._q(f"SELECT relname, version FROM {self._meta} WHERE name = %s", (full,)).fetchone()
        txn.wrote = True
        if row is None:
            relname = self._new_relname(full)
            self._create_relation(relname)
            self._q(f"INSERT INTO {self._meta} (name, relname, version, next_id) VALUES (%s, %s, %s, 1)",
                    (full, relname, version))
            txn.notify.add(full)
            return relname, False
        relname, stored = row
        if stored > version:
            raise Conflict(
                f"{full}: the data is at schema version {stored} but this code knows only "
                f"version {version}; upgrade the plugin that owns it (older code must not write newer data)")
        if stored == version:
            return relname, False  # another process migrated it meanwhile
        missing = [v for v in range(stored + 1, version + 1) if v not in migrations]
        if missing:
            raise StorageError(f"{full}: no migration to version {missing[0]} (from {stored})")
        rel = f'{self._schema_sql}."{relname}"'
        # The commit waits for its WAL to be flushed even on a server that
        # commits asynchronously: the VACUUM after it (PgStore._vacuum) can
        # only mark the rewritten rows all-visible once their commit is on disk.
        self._q("SET LOCAL synchronous_commit = on")
        count = self._q(f"SELECT count(*) FROM {rel}").fetchone()[0]
        say(self, f"{full}: upgrading {count:,} records from schema version {stored} to {version}; "
                  f"first a copy of the table …")
        backup = f"_bak_{time.strftime('%Y%m%d%H%M%S')}_{relname[:30]}_v{stored}"[:63]
        self._q(f'CREATE TABLE {self._schema_sql}."{backup}" AS SELECT * FROM {rel}')
        log.info("%s: migrating from version %s to %s (copy in %s.%s)", full, stored, version, self.schema, backup)
        say(self, f"{full}: the copy is the table {self.schema}.{backup}; upgrading the records …")
        rows = self._q(f"SELECT id, doc FROM {rel} ORDER BY id").fetchall()
        for v in range(stored + 1, version + 1):
            fn = migrations[v]
            out_rows = []
            for doc_id, body in rows:
                try:
                    out = fn(_with_id(doc_id, body))
                except Exception as e:
                    raise StorageError(f"{full}: migration to version {v} failed on document {doc_id}: {e!r}") from e
                if not isinstance(out, Mapping):
                    raise StorageError(f"{full}: migration to version {v} returned {type(out).__name__} "
                                       f"for document {doc_id}, not a dict")
                out_rows.append((doc_id, _clean_doc(out, full, allow_id=doc_id)))
            rows = out_rows
        if rows:
            conn = self._connection()
            try:
                with conn.cursor() as cur:
                    cur.executemany(f"UPDATE {rel} SET doc = %s WHERE id = %s",
                                    [(Jsonb(body), doc_id) for doc_id, body in rows])
            except _psycopg().Error as e:
                self._q("SELECT 1")  # let _q classify a lost connection
                raise StorageError(f"{full}: migration failed: {_one_line(e)}") from e
        self._q(f"UPDATE {self._meta} SET version = %s WHERE name = %s", (version, full))
        # Not in txn.changes: a migration is not an operator's change.
        txn.notify.add(full)
        return relname, True

    def tables(self) -> list[str]:
        rows = self._read(lambda: self._q(f"SELECT name FROM {self._meta} ORDER BY name").fetchall())
        return [r[0] for r in rows]

    def existing_table(self, name: str) -> PgTable:
        with self._rlock:
            tbl = self._tables.get(name)
            if tbl is not None:
                return tbl
            row = self._meta_row(name)
            if row is None:
                known = ", ".join(self.tables()) or "none"
                raise NotFound(f"{name}: no such table in {self.data_dir} (tables: {known})")
            return PgTable(self, name, row[0], row[1])

    def _ensure_indexes(self, table: PgTable, exprs: list[str], texts: list[str] = (),
                        orders: Iterable[str] = ()) -> None:
        """Create the indexes a query needs (once per process; see the
        docstring): a btree on each expression a Range compares, a trigram
        GIN index (pg_trgm) on each field's text a Contains searches, a
        btree on (expression, id) for each order a page is read in."""
        todo = [(e, "btree") for e in exprs if (table.relname, e) not in self._indexed]
        todo += [(t, "trgm") for t in texts if (table.relname, t) not in self._indexed]
        todo += [(o, "order") for o in orders if (table.relname, ("order", o)) not in self._indexed]
        if not todo:
            return
        # those made already (by any process): one look at the catalog, not a
        # locked CREATE ... IF NOT EXISTS each (a session's first search asked
        # for six trigram indexes, ~5 ms each)
        there = {r[0] for r in self._read(lambda: self._q(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s AND indexname = ANY(%s)",
            [self.schema, table.relname, [_index_name(table, e, k) for e, k in todo]]).fetchall())}
        for expr, kind in todo:
            if _index_name(table, expr, kind) in there:
                self._indexed.add((table.relname, ("order", expr) if kind == "order" else expr))
        todo = [(e, k) for e, k in todo if _index_name(table, e, k) not in there]
        if not todo:
            return
        with self._rlock:
            if self._txn is not None:
                return  # not inside someone's transaction; the next read outside one does it
            for expr, kind in todo:
                if kind == "trgm":
                    opclass = self._trigram_opclass()
                    if opclass is None:
                        self._indexed.add((table.relname, expr))  # no pg_trgm: ILIKE scans
                        continue
                    name = _index_name(table, expr, kind)
                    sql = f'CREATE INDEX IF NOT EXISTS "{name}" ON {table._rel} USING gin (({expr}) {opclass})'
                elif kind == "order":
                    name = _index_name(table, expr, kind)
                    sql = f'CREATE INDEX IF NOT EXISTS "{name}" ON {table._rel} (({expr}), id)'
                else:
                    name = _index_name(table, expr, kind)
                    sql = f'CREATE INDEX IF NOT EXISTS "{name}" ON {table._rel} (({expr}))'
                try:
                    with self._write():
                        self._q(sql, [])
                        if kind != "trgm" and self._q(
                                "SELECT 1 FROM pg_stats WHERE schemaname = %s AND tablename = %s LIMIT 1",
                                [self.schema, name]).fetchone() is None:
                            # the planner's figures for the expression (how many calls are newer than
                            # this one): without them it guesses a third of the table and scans it
                            self._q(f"ANALYZE {table._rel}", [])
                except StorageError as e:
                    log.warning("%s: could not create an index (%s)", table.name, e)
                    return
                self._indexed.add((table.relname, ("order", expr) if kind == "order" else expr))

    def _ensure_words(self, table: PgTable, paths: set[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
        """The columns of these fields' words that exist (path -> name), made
        when missing (once per process; not inside a transaction, and not
        without pg_trgm: then the field's text is searched, as before).

        A stored generated column ``backdesk_words(doc #> path)``: the
        field's words (a list's strings' too), lower case, each once, kept
        by PostgreSQL itself on every write, whoever writes; with a trigram
        index on it. Adding them rewrites the table once (about 4 s for the
        10,000 versions of a year, the table locked meanwhile)."""
        out, todo = {}, []
        for path in sorted(paths):
            column = _words_column(path)
            if (table.relname, ("words", column)) in self._indexed:
                out[path] = column
            elif (table.relname, ("no words", column)) not in self._indexed:
                todo.append((path, column))
        if not todo:
            return out
        there = {r[0] for r in self._read(lambda: self._q(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attname = ANY(%s) "
            "AND NOT attisdropped UNION ALL SELECT indexname FROM pg_indexes WHERE schemaname = %s "
            "AND tablename = %s AND indexname = ANY(%s)",
            [table._rel, [c for _p, c in todo], self.schema, table.relname,
             [f"{table.relname[:40]}_{c}" for _p, c in todo]]).fetchall())}
        if all(c in there and f"{table.relname[:40]}_{c}" in there for _p, c in todo):
            self._indexed.update((table.relname, ("words", c)) for _p, c in todo)
            out.update(todo)
            return out
        with self._rlock:
            if self._txn is not None:  # not inside someone's transaction: the next read outside one
                out.update((path, column) for path, column in todo if column in there)  # exact already
                return out
            opclass = self._trigram_opclass()
            if opclass is None:  # without trigrams the words would be scanned: the text is as well
                self._indexed.update((table.relname, ("no words", c)) for _p, c in todo)
                return out
            words = f"{self._schema_sql}.backdesk_words"
            try:
                with self._write():
                    if self._q("SELECT 1 FROM pg_proc WHERE proname = 'backdesk_words' "
                               "AND pronamespace = %s::regnamespace", [self._schema_sql]).fetchone() is None:
                        self._q(f"""CREATE FUNCTION {words}(v jsonb) RETURNS text
                            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                            SELECT string_agg(DISTINCT w, ' ') FROM (
                              SELECT regexp_split_to_table(lower(v #>> '{{}}'), '{_WORD_SPLIT}')
                              WHERE jsonb_typeof(v) = 'string'
                              UNION ALL
                              SELECT regexp_split_to_table(lower(e #>> '{{}}'), '{_WORD_SPLIT}')
                              FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v END) e
                              WHERE jsonb_typeof(e) = 'string') t(w)
                            WHERE w <> '' $$""", [])
                    add = [f'ADD COLUMN IF NOT EXISTS "{column}" text GENERATED ALWAYS AS '
                           f"({words}(doc #> {_path(path)})) STORED" for path, column in todo if column not in there]
                    if add:  # one rewrite of the table for all of them
                        self._q(f"ALTER TABLE {table._rel} " + ", ".join(add), [])
                    for _path_, column in todo:
                        self._q(f'CREATE INDEX IF NOT EXISTS "{table.relname[:40]}_{column}" ON {table._rel} '
                                f'USING gin ("{column}" {opclass})', [])
            except StorageError as e:
                log.warning("%s: no columns of words (%s)", table.name, e)
                self._indexed.update((table.relname, ("no words", c)) for _p, c in todo)
                return out
            self._indexed.update((table.relname, ("words", c)) for _p, c in todo)
            out.update(todo)
        return out

    def _trigram_opclass(self) -> str | None:
        """``<schema>.gin_trgm_ops`` of the pg_trgm extension, created in the
        store's schema when the database has none (a trusted extension: the
        right to create in the database is enough); None when it cannot be."""
        if self._trgm is False:
            return None
        if self._trgm is None:
            find = ("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                    "WHERE e.extname = 'pg_trgm'")
            row = self._read(lambda: self._q(find).fetchone())
            if row is None:
                try:
                    with self._write():
                        self._q(f"CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA {self._schema_sql}")
                    row = self._read(lambda: self._q(find).fetchone())
                except StorageError as e:
                    log.warning("no trigram indexes for searches: %s", e)
            if row is None:
                self._trgm = False
                return None
            self._trgm = '"' + row[0].replace('"', '""') + '".gin_trgm_ops'
        return self._trgm

    # -- transactions -----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._write(savepoint=True):
            yield

    @contextmanager
    def _write(self, *, savepoint: bool = False) -> Iterator[_Txn]:
        with self._rlock:
            txn = self._txn
            if txn is not None:
                if not savepoint:  # one Table call inside a transaction: no savepoint needed
                    yield txn
                    return
                mark = txn.mark()
                txn.depth += 1
                name = f"bd_sp{txn.depth}"
                self._q(f"SAVEPOINT {name}")
                try:
                    yield txn
                except BaseException:
                    if txn.failed != LOST:
                        try:
                            txn.failed = None
                            self._q(f"ROLLBACK TO SAVEPOINT {name}")
                            self._q(f"RELEASE SAVEPOINT {name}")
                        except StorageError:
                            pass  # txn.failed is set: the whole transaction fails
                    txn.rollback_to(mark)
                    raise
                else:
                    self._q(f"RELEASE SAVEPOINT {name}")
                finally:
                    txn.depth -= 1
                return
            self._begin()
            txn = self._txn
            try:
                yield txn
                self._commit(txn)
            except BaseException:
                self._rollback(txn)
                raise
            finally:
                self._txn = None
            changes, notify = txn.changes, txn.notify
        # Outside the lock: callbacks may be slow or read the store.
        if changes and self._after:
            for cb in list(self._after):
                try:
                    cb([_change_copy(c) for c in changes])
                except Exception:
                    log.exception("after_commit callback %r failed", cb)
        if notify:
            self._notify(notify)

    def _begin(self) -> None:
        sql = f"BEGIN; SELECT pg_advisory_xact_lock({self._lock_key})"
        waiting = self._on_wait
        if waiting is not None:  # a table created or upgraded: say so when another process writes first
            sql = "BEGIN"
        try:
            self._q(sql)
        except ConnectionLost:
            self._q(sql)  # nothing was sent in that transaction yet: try once on a new connection
        if waiting is not None and not took_soon(
                lambda: self._q(f"SELECT pg_try_advisory_xact_lock({self._lock_key})").fetchone()[0]):
            waiting()
            self._q(f"SELECT pg_advisory_xact_lock({self._lock_key})")
        self._txn = _Txn()

    def _commit(self, txn: _Txn) -> None:
        if txn.failed:
            raise StorageError(txn.failed)
        if txn.changes and self._before:
            for cb in list(self._before):
                cb([_change_copy(c) for c in txn.changes])
        if txn.failed:
            raise StorageError(txn.failed)
        if txn.notify:
            payload = " ".join([self._token, *sorted(txn.notify)])[:7900]
            self._q("SELECT pg_notify(%s, %s)", (self._channel, payload))
        try:
            self._q("COMMIT")
        except ConnectionLost as e:
            raise ConnectionLost(LOST_AT_COMMIT) from e

    def _rollback(self, txn: _Txn) -> None:
        self._txn = None
        try:
            txn.rollback_to((0, 0, frozenset(), frozenset()))
        finally:
            if self._conn is not None and not self._conn.closed:
                try:
                    self._conn.execute("ROLLBACK")
                except Exception:
                    self._drop()

    # -- changes ----------------------------------------------------------------------

    def refresh(self) -> set[str]:
        names: set[str] = set()
        with self._listen_lock:
            if self._closed:
                raise StorageError(f"{self.data_dir}: the store is closed")
            try:
                names = self._drain()
            except ConnectionLost:
                # The listening connection broke: reconnect at once (a
                # StorageError if that fails) and report every table, since
                # notifications may have been missed meanwhile.
                self._listen()
                self._heard.clear()
                names = set(self.tables())
        if names:
            self._notify(names)
        return names

    def _drain(self) -> set[str]:
        """Notifications from other stores since the last call (the listen lock is held)."""
        psycopg = _psycopg()
        if self._listener is None or self._listener.closed:
            raise ConnectionLost("not listening")
        names: set[str] = set()
        try:
            # A round trip: the server delivers every notification of a
            # commit that finished before it (the handler collects them).
            self._listener.execute("SELECT 1")
        except psycopg.Error as e:
            try:
                self._listener.close()
            except Exception:
                pass
            self._listener = None
            raise ConnectionLost(f"the connection to PostgreSQL was lost ({_one_line(e)})") from e
        heard, self._heard[:] = list(self._heard), []
        for n in heard:
            token, _, rest = n.payload.partition(" ")
            if token != self._token:
                names.update(rest.split())
        return names

    # -- copying (backup, storage migrate) ------------------------------------------------

    def dump(self) -> Iterator[tuple[str, int, int, list[dict]]]:
        """(name, version, next_id, docs in id order) per table, from one consistent snapshot."""
        psycopg = _psycopg()
        conn = self._connect()
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield from self._dump_on(conn)
            conn.execute("COMMIT")
        except psycopg.Error as e:
            raise StorageError(f"reading {self.data_dir} failed: {_one_line(e)}") from e
        finally:
            conn.close()

    def _dump_on(self, conn) -> Iterator[tuple[str, int, int, list[dict]]]:
        meta = conn.execute(f"SELECT name, relname, version, next_id FROM {self._meta} ORDER BY name").fetchall()
        for name, relname, version, next_id in meta:
            rows = conn.execute(f'SELECT id, doc FROM {self._schema_sql}."{relname}" ORDER BY id').fetchall()
            yield name, version, next_id, [_with_id(i, d) for i, d in rows]

    def load(self, tables: Iterable[tuple[str, int, int, list[dict]]]) -> None:
        """Write whole tables with their ids, versions and next ids; refuses a non-empty store."""
        from psycopg.types.json import Jsonb

        with self._rlock:
            with self._write() as txn:
                count = self._q(f"SELECT count(*) FROM {self._meta}").fetchone()[0]
                if count:
                    raise StorageError(f"{self.data_dir}: already holds {count} tables; "
                                       "copy into an empty schema")
                txn.wrote = True
                for name, version, next_id, docs in tables:
                    relname = self._new_relname(name)
                    self._create_relation(relname)
                    rel = f'{self._schema_sql}."{relname}"'
                    top = max((d["id"] for d in docs), default=0)
                    self._q(f"INSERT INTO {self._meta} (name, relname, version, next_id) VALUES (%s, %s, %s, %s)",
                            (name, relname, version, max(next_id, top + 1)))
                    conn = self._connection()
                    try:
                        with conn.cursor() as cur, cur.copy(f"COPY {rel} (id, doc) FROM STDIN") as copy:
                            for d in docs:
                                copy.write_row((d["id"], Jsonb({k: v for k, v in d.items() if k != "id"})))
                    except _psycopg().Error as e:
                        self._q("SELECT 1")
                        raise StorageError(f"{name}: copying failed: {_one_line(e)}") from e
                    txn.notify.add(name)

    # -- files ------------------------------------------------------------------------

    def _open_files(self, area: str, local_dir: str, full_names: bool) -> FileStore:
        """The area's files in this schema (every host shares them); only a
        cache of what this host read is kept in ``<local_dir>/cache/<area>``."""
        parts = area.split("/")
        return PgFileStore(self.dsn, self.schema, area, cache_dir=os.path.join(local_dir, "cache", *parts),
                           legacy_dir=os.path.join(local_dir, *parts), full_names=full_names,
                           where=f"PostgreSQL schema {self.schema}", connect_timeout=self.connect_timeout)

    # -- holds ------------------------------------------------------------------------

    def hold(self, name: str, *, who: str, local_dir: str | os.PathLike) -> Hold:
        """A session-level advisory lock on a connection of its own (every
        host of the office competes for it): see :mod:`core.storage.holds`."""
        return PgHold(self.dsn, self.schema, name, who, connect_timeout=self.connect_timeout)

    def holds(self, *, local_dir: str | os.PathLike) -> list[dict]:
        conn = self._connect()
        try:
            return pg_holds(conn, self.schema)
        except _psycopg().Error as e:
            raise StorageError(f"reading the holds in {self.data_dir} failed: {_one_line(e)}") from e
        finally:
            conn.close()

    # -- admin ------------------------------------------------------------------------

    def backup(self, dest: str, *, files_from: str | None = None) -> None:
        """A consistent copy into ``dest`` as a default-backend (TinyDB) data
        directory: the tables and the files kept in PostgreSQL (each area in
        its folder, ``documents/files/ab/…``), read in one repeatable-read
        snapshot; then what the data folder ``files_from`` keeps beside them
        (its cache of PostgreSQL's files left out); sealed last
        (``backup.json``, :mod:`core.storage.seal`)."""
        from .admin import copy_other_files, prepare_dest
        from .engine import write_tinydb
        from .seal import seal_backup, start_backup

        psycopg = _psycopg()
        dest = prepare_dest(dest)
        start_backup(dest)
        conn = self._connect()
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            write_tinydb(dest, self._dump_on(conn), prepared=True)
            export_files(conn, self.schema, dest)
            conn.execute("COMMIT")
        except psycopg.Error as e:
            raise StorageError(f"reading {self.data_dir} failed: {_one_line(e)}") from e
        finally:
            conn.close()
        if files_from is not None and os.path.isdir(files_from):
            copy_other_files(files_from, dest, {"tables": {}}, skip=("cache",))
        seal_backup(dest, source=_redact(self.dsn), by=self.actor)

    def check(self) -> list[str]:
        return check_pg(self.dsn, schema=self.schema)

    def _close_connections(self) -> None:
        self._drop()
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:
                pass
            self._listener = None

    def close(self) -> None:
        with self._rlock:
            if self._closed:
                return
            self._closed = True
            self._stop_watching()
            self._drop()
            self._close_files()
        with self._listen_lock:  # (never taken while holding the RLock: refresh() nests them the other way)
            self._close_connections()

    def __repr__(self) -> str:
        return f"<PgStore {self.data_dir}>"


def check_pg(dsn: str, *, schema: str | None = None) -> list[str]:
    """Can we connect, and are the store's tables sound?  One line per problem."""
    psycopg = _psycopg()
    schema = schema or schema_from_dsn(dsn)
    where = f"{_redact(dsn)} (schema {schema})"
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as e:
        return [f"cannot connect to PostgreSQL at {_redact(dsn)}: {_one_line(e)}"]
    problems = []
    try:
        meta = f'"{schema}"."_meta"'
        if conn.execute("SELECT to_regclass(%s)", (meta,)).fetchone()[0] is None:
            return [f"{where}: no Backdesk store here (no _meta table); "
                    "`backdesk storage migrate --to postgresql DSN` copies one in"]
        rows = conn.execute(f"SELECT name, relname, version, next_id FROM {meta} ORDER BY name").fetchall()
        for name, relname, version, next_id in rows:
            rel = f'"{schema}"."{relname}"'
            if conn.execute("SELECT to_regclass(%s)", (rel,)).fetchone()[0] is None:
                problems.append(f"{where}: table {name}: its relation {relname} is missing; restore from a backup")
                continue
            top, bad = conn.execute(f"SELECT max(id), count(*) FILTER (WHERE jsonb_typeof(doc) <> 'object' "
                                    f"OR doc ? 'id') FROM {rel}").fetchone()
            if top is not None and top >= next_id:
                problems.append(f"{where}: table {name}: next id {next_id} is not above the highest id {top}; "
                                "ids could be handed out twice")
            if bad:
                problems.append(f"{where}: table {name}: {bad} documents are not JSON objects or carry an id")
            if version < 1:
                problems.append(f"{where}: table {name}: schema version {version} is not valid")
        problems += [f"{where}: {line}" for line in check_files(conn, schema)]
    except psycopg.Error as e:
        problems.append(f"{where}: {_one_line(e)}")
    finally:
        conn.close()
    return problems


def pg_contents(dsn: str) -> tuple[int, int]:
    """(tables, stored files) the store at ``dsn`` holds, looked at without
    creating anything (a schema that does not exist holds nothing)."""
    psycopg = _psycopg()
    schema = schema_from_dsn(dsn)
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as e:
        raise StorageError(f"cannot connect to PostgreSQL at {_redact(dsn)}: {_one_line(e)}") from None
    try:
        counts = []
        for rel in ("_meta", "_files"):
            name = f'"{schema}"."{rel}"'
            there = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None
            counts.append(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] if there else 0)
        return counts[0], counts[1]
    except psycopg.Error as e:
        raise StorageError(f"{_redact(dsn)} (schema {schema}): {_one_line(e)}") from None
    finally:
        conn.close()


def open_pg_store(dsn: str, **options: Any) -> PgStore:
    """Open (creating its schema and meta table if needed) the store at ``dsn``."""
    if not dsn:
        raise StorageError("storage.dsn: the postgresql backend needs a connection string "
                           "(postgresql://user@host/dbname)")
    return PgStore(dsn, **options)
