'''The default backend: JSON files, an append-only journal, TinyDB queries.

Why this shape
--------------
Stock TinyDB keeps a table as one JSON document and rewrites it on every
write, and even its MemoryStorage rebuilds the whole table dict per write
(``Table._update_table``).  Here TinyDB is only the *query engine*: documents
live in plain dicts (id -> document) and ``tinydb.Query`` objects built by
:mod:`core.storage.tinyquery` filter them.  Writes never touch TinyDB's table
machinery.

Durability and sharing between processes are ours:

* **One journal for the whole store**, not one per table, so a transaction
  that touches core's tables and a plugin's tables is a single line: it is
  on disk completely or not at all.  Per-plugin namespaces are per-plugin
  snapshot files (``<data>/<namespace>/<table>.json``).
* **One write lock for the whole store**: ``flock(LOCK_EX)`` on
  ``<data>/.lock``, plus a ``threading.RLock`` per Store object (Textual
  workers are threads).  A transaction takes both *at its start* and first
  reads what other processes committed, so reads inside it are current and
  read-modify-write (counters, "next number") cannot lose updates; ids it
  hands out are final.  Keep transactions short: they hold the lock.
* **Commit** = undo-logged changes in memory, ``before_commit`` callbacks
  (they may write more: the audit trail), one ``write()`` of one journal
  line, ``fsync``, unlock, then ``after_commit``/``on_change`` callbacks.  The
  cost is the size of the change, never the size of the table.
* **Compaction**: when the journal passes ``compact_bytes`` the committing
  process (still under the lock) writes a snapshot of every table changed
  since the last compaction (tmp + fsync + rename), starts a new journal
  generation and names it in ``store.json``.  Snapshots carry the seq they
  include, so a crash anywhere in between replays correctly.  A big table
  not loaded is written from its segments, not loaded (``_write_tail``).
* **Other processes** stat ``store.json`` and the journal (two syscalls) on
  each read and on :meth:`refresh`; they read only new complete,
  checksum-valid lines.  A compaction elsewhere is followed without a reload
  when possible (the old journal is still readable through the open file).
* **Torn tail**: a last line without newline or with a bad checksum, with
  nothing valid after it, is the uncommitted write of a killed process; the
  next writer cuts it off under the lock (one warning line).  A bad line
  *followed by* valid lines, a damaged snapshot or a missing file raise
  :class:`CorruptData` naming the file, which is never touched.
* **Committed lines missing**: a journal cut at a line boundary (a disk or
  copy fault) is a shorter, valid journal.  What the cut cannot remove:
  ``store.head``, the last committed seq written after each commit's fsync
  (see :mod:`core.storage.files`), and the seq each snapshot holds.  A
  journal that ends before either, or whose last committed line is not the
  one the head recorded, raises :class:`CorruptData` naming the journal (or
  the snapshot) at load and before every write, so no seq and no id of a lost
  change is handed out again; a torn tail the head says was committed is
  such damage too, never cut off.  ``check`` lists the same.
* **Read-only**: ``open_store(dir, read_only=True)``, or a folder this user
  cannot write (a read-only mount): the lock file is opened for reading
  (flock needs no write access), reads work, a write raises
  :class:`StorageError` naming the folder.

Reads take the RLock too, so another thread never sees a transaction's
uncommitted changes.  Do not wait for another thread inside a transaction.

Choices beyond the first sketch, and why:

* A nested ``transaction()`` is a *savepoint*, not a plain join: an
  exception that leaves the inner block undoes only its writes, so outer
  code that catches it does not commit half of the inner step.
* Reads pick up other processes' commits by themselves (the two stats are
  cheaper than a stale read that a service then acts on); ``refresh()``
  still reports everything picked up since it was last called, so views
  learn about it.
* Each manifest carries a random token and its parent's token.  A process
  follows a compaction done elsewhere without reloading only when the new
  manifest is the direct child of the one it knows; anything else (several
  compactions, a restore) reloads from the snapshots under LOCK_SH.
* Each snapshot records the seq it contains, so a compaction interrupted
  after some snapshots were replaced is harmless: replay skips what a
  snapshot already holds.
* **Equality indexes**, in memory only: the first ``find``/``count`` that
  filters a table of at least ``index_min_docs`` documents (an
  :func:`open_store` option, default 1000; ``None`` turns them off) on a
  field by equality or ``AnyOf`` builds an index of that field (one pass,
  about the cost of one scan); later queries take the matching ids from it
  and run only the rest of the where over those documents (``count`` of
  indexed conditions alone is a ``len``; ordered by id alone, only the page
  is looked at and copied).  Nothing to declare: plugins keep
  calling ``find``/``count``.  Results are the scan's (same documents, same
  order: ``find`` sorts by id, then ``order_by``, either way), including
  its mixed-type rules (``True`` is not ``1``, ``1`` is ``1.0``; in lists and
  objects Python's ``==``).  Query values that are not plain JSON (an Enum,
  a Decimal, a tuple), tuple keys and ``Not``/``Range``/``Contains`` are
  scanned.  Every change of a document goes through ``_TableState.put`` /
  ``remove``, which keep the indexes: writes, rollbacks and savepoints
  (the undo log), other processes' commits (journal replay), migrations.
  A reload from the snapshots builds new states: their indexes come back
  on the next query.  Cost (bench/storage.py, 100k docs): 5-6 MB and
  ~25 ms to build per indexed field, ~1 us per index on a write.
'''

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import itertools
import json
import logging
import math
import os
import re
import sys
import threading
import time
from array import array
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping

from core.gcpause import gc_held

from . import files, seal
from .base import Change, Store, Table, Where, say, upgraded_line, waiting_line
from .errors import Conflict, CorruptData, NotFound, StorageError
from .query import AnyOf, Contains, Operator, Range, get_path, projection, sort_docs, sort_key, split_path
from .tinyquery import compile_where, value_test

log = logging.getLogger("backdesk.storage")

DEFAULT_COMPACT_BYTES = 8 * 1024 * 1024
# Tables with fewer documents are scanned (well under a millisecond) instead
# of getting an equality index; an index that exists is used at any size.
INDEX_MIN_DOCS = 1000
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


# -- documents ----------------------------------------------------------------


def _clean(value: Any, path: str) -> Any:
    """Validate a JSON value and return a private deep copy of it."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise StorageError(f"{path}: {value} is not a JSON number")
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise StorageError(f"{path}: key {k!r} is not a string (JSON objects have string keys)")
            out[k] = _clean(v, f"{path}.{k}")
        return out
    if t is list or t is tuple:
        return [_clean(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str.__str__(value)
    raise StorageError(
        f"{path}: a {type(value).__name__} is not JSON; store money and dates as strings "
        "(Decimal -> str, datetime -> ISO 8601)"
    )


def _clean_doc(doc: Mapping[str, Any], table: str, *, allow_id: int | None = None) -> dict:
    if not isinstance(doc, Mapping):
        raise StorageError(f"{table}: documents are dicts, not {type(doc).__name__}")
    out = _clean(doc, table)
    for key in out:
        if key.startswith("_"):
            raise StorageError(f"{table}: field {key!r}: names starting with '_' are reserved")
    if "id" in out:
        if allow_id is None or out["id"] != allow_id:
            raise StorageError(f"{table}: the table assigns ids; remove 'id' from the document")
        del out["id"]
    return out


def _copy(value: Any) -> Any:
    t = type(value)
    if t is dict:
        return {k: (v if type(v) not in (dict, list) else _copy(v)) for k, v in value.items()}
    if t is list:
        return [v if type(v) not in (dict, list) else _copy(v) for v in value]
    return value


def _picker(keep: tuple[str, ...], *, copy: bool = True) -> Callable[[dict], dict]:
    """A document's ``id`` and those of the keys ``keep`` it has (copies of
    their values unless ``copy`` is false: the document is a fresh object)."""
    if copy:
        return lambda d: {"id": d["id"], **{k: _copy(d[k]) for k in keep if k in d}}
    return lambda d: {"id": d["id"], **{k: d[k] for k in keep if k in d}}


def _wanted(keep: tuple[str, ...] | None, order_by: Any) -> tuple[str, ...] | None:
    """The top-level keys a projected read needs of each document: those
    kept and those it is ordered by (None: whole documents)."""
    if keep is None:
        return None
    orders = [order_by] if isinstance(order_by, str) else list(order_by or ())
    names = [f.lstrip("-") for f in orders]
    if any("." in n for n in names):
        return None
    return tuple(dict.fromkeys([*keep, *(n for n in names if n != "id")]))


def _doc_id(doc_id: Any) -> int:
    if type(doc_id) is int:
        return doc_id
    if isinstance(doc_id, str) and doc_id.isdigit():
        return int(doc_id)
    if isinstance(doc_id, int) and not isinstance(doc_id, bool):
        return int(doc_id)
    raise TypeError(f"document ids are integers, not {doc_id!r}")


# -- equality indexes -----------------------------------------------------------
#
# A table gets an index on a field the first time a find/count filters on it
# by equality or AnyOf (and the table holds at least ``index_min_docs``
# documents).  An index maps a hashable *key* of the field's value to the ids
# of the documents holding it; two values share a key exactly when
# ``tinyquery._eq`` calls them equal, so a bucket is precisely the set of
# documents a scan would match (the rest of the where is then checked on
# those only).  The key of a missing field (or of a path through a non-dict)
# is that of None, as ``get_path`` and the scan's ``None`` test agree.
# Indexes live in the _TableState and are kept by its put/remove, the only
# way documents change (writes, rollbacks, journal replay, migrations); a
# reload builds new states, whose indexes come back on the next query.


class _Tag:
    """Marks a key as standing for a bool/list/dict (never equal to a JSON value)."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"<{self.what}>"


_BOOL, _LIST, _DICT = _Tag("bool"), _Tag("list"), _Tag("dict")


def _inner_key(value: Any) -> Any:
    # Below the top level the scan compares with plain ==: True == 1 == 1.0.
    t = type(value)
    if t is list:
        return (_LIST, tuple([_inner_key(v) for v in value]))
    if t is dict:
        return (_DICT, frozenset([(k, _inner_key(v)) for k, v in value.items()]))
    return value


def _eq_key(value: Any) -> Any:
    """The index key of a JSON value: equal keys <=> ``tinyquery._eq`` is true
    (type-strict for a bool at the top: ``True`` is not ``1``; ``1 == 1.0``)."""
    t = type(value)
    if t is bool:
        return (_BOOL, value)
    if t is list or t is dict:
        return _inner_key(value)
    return value


def _plain(value: Any) -> bool:
    """Whether a query value is a plain JSON value (anything else is scanned:
    an Enum, Decimal or tuple compares by its own rules)."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return True
    if t is float:
        return math.isfinite(value)
    if t is list:
        return all(_plain(v) for v in value)
    if t is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def _target_keys(targets: Iterable[Any]) -> list | None:
    """The distinct keys of equality targets, or None when one is not plain."""
    keys: dict = {}
    try:
        for t in targets:
            if not _plain(t):
                return None
            keys.setdefault(_eq_key(t))
    except RecursionError:
        return None
    return list(keys)


class _Index:
    """Ids of a table's documents by the key of the value at ``path``.

    A bucket is a bare int while it holds one id (a unique field then costs
    a dict entry per document, not a set), a set of ids beyond that."""

    __slots__ = ("path", "buckets")

    def __init__(self, path: tuple[str, ...], docs: Mapping[int, dict]) -> None:
        self.path = path
        self.buckets: dict[Any, int | set[int]] = {}
        for doc_id, doc in docs.items():
            self._add(_eq_key(get_path(doc, path)), doc_id)

    def _add(self, key: Any, doc_id: int) -> None:
        buckets = self.buckets
        b = buckets.get(key)
        if b is None:
            buckets[key] = doc_id
        elif type(b) is int:
            buckets[key] = {b, doc_id}
        else:
            b.add(doc_id)

    def _discard(self, key: Any, doc_id: int) -> None:
        buckets = self.buckets
        b = buckets.get(key)
        if b is None:
            return
        if type(b) is int:
            if b == doc_id:
                del buckets[key]
            return
        b.discard(doc_id)
        if len(b) == 1:
            buckets[key] = next(iter(b))

    def change(self, doc_id: int, old: dict | None, new: dict | None) -> None:
        """Document ``doc_id`` goes from ``old`` to ``new`` (None: absent)."""
        path = self.path
        if old is not None:
            k_old = _eq_key(get_path(old, path))
            if new is not None:
                k_new = _eq_key(get_path(new, path))
                if k_old == k_new:
                    return
                self._discard(k_old, doc_id)
                self._add(k_new, doc_id)
            else:
                self._discard(k_old, doc_id)
        elif new is not None:
            self._add(_eq_key(get_path(new, path)), doc_id)

    def lookup(self, keys: list) -> list:
        """The non-empty buckets of ``keys`` (disjoint: one key per document)."""
        buckets = self.buckets
        return [b for b in map(buckets.get, keys) if b is not None]


def _size(buckets: list) -> int:
    return sum(1 if type(b) is int else len(b) for b in buckets)


def _ids_of(buckets: list) -> Any:
    """The ids in ``buckets`` as a collection (a live set: read it under the lock)."""
    if len(buckets) == 1:
        b = buckets[0]
        return (b,) if type(b) is int else b
    ids: list[int] = []
    for b in buckets:
        if type(b) is int:
            ids.append(b)
        else:
            ids.extend(b)
    return ids


def _id_order(order_by: Any) -> bool | None:
    """False/True when ``order_by`` sorts by id ascending/descending alone
    (nothing, or "id"/"-id" first: ids are unique), else None."""
    if not order_by:
        return False
    first = order_by if isinstance(order_by, str) else (
        order_by[0] if type(order_by) in (list, tuple) else None)
    if first == "id":
        return False
    if first == "-id":
        return True
    return None


def _select(st: _TableState, where: Where, query: Any, min_docs: int | None) -> tuple[Any, Any]:
    """Use the indexes for ``where`` (already compiled to ``query``).

    Returns ``(ids, residual)``: ``ids`` the documents satisfying every
    indexed condition (None: no index applies, scan with ``query``) and
    ``residual`` the query for the other conditions (None: nothing left)."""
    if min_docs is None:
        return None, query
    conds: list[list] = []
    rest: dict = {}
    for key, cond in where.items():
        keys = None
        if type(key) is str:
            if isinstance(cond, AnyOf):
                keys = _target_keys(cond.values)
            elif not isinstance(cond, Operator):
                keys = _target_keys((cond,))
        ix = st.index(split_path(key), min_docs) if keys is not None else None
        if ix is None:
            rest[key] = cond
            continue
        conds.append(ix.lookup(keys))
    if not conds:
        return None, query
    conds.sort(key=_size)
    ids = _ids_of(conds[0])
    for buckets in conds[1:]:
        if not ids:
            break
        if len(buckets) == 1 and type(buckets[0]) is set:
            ids = buckets[0].intersection(ids)
            continue
        if type(ids) is not set:
            ids = set(ids)
        hits: set[int] = set()
        for b in buckets:  # disjoint: the union of each one's hits
            if type(b) is int:
                if b in ids:
                    hits.add(b)
            else:
                hits |= b.intersection(ids)
        ids = hits
    return ids, (compile_where(rest) if rest else None)


# -- ordered pages ---------------------------------------------------------------
#
# "The newest 50", "the highest number so far" (a next-number inside the
# write transaction): a find without a where, ordered by one field, with a
# limit.  Sorting the whole table for it made each such call cost the size
# of the history (bench/year.py: posting a journal entry sorted every entry
# to find the last number).  The first such find on a table of at least
# ``index_min_docs`` documents builds an ordered index of that field: a
# sorted list of ``(sort_key(value), id)``, kept by ``_TableState.put`` and
# ``remove`` like the equality indexes (bisect; a memmove per write).  A
# page is then read from one end of it.  Ordered by id alone, no index is
# needed: the ids are the dict's keys.


class _Ordered:
    """``(sort_key(value at path), id)`` of every document, ascending."""

    __slots__ = ("path", "keys")

    def __init__(self, path: tuple[str, ...], docs: Mapping[int, dict]) -> None:
        self.path = path
        self.keys = sorted((sort_key(get_path(d, path)), i) for i, d in docs.items())

    def change(self, doc_id: int, old: dict | None, new: dict | None) -> None:
        keys, path = self.keys, self.path
        if old is not None:
            k_old = (sort_key(get_path(old, path)), doc_id)
            if new is not None and sort_key(get_path(new, path)) == k_old[0]:
                return
            at = bisect.bisect_left(keys, k_old)
            if at < len(keys) and keys[at] == k_old:
                del keys[at]
        if new is not None:
            bisect.insort(keys, (sort_key(get_path(new, path)), doc_id))

    def page(self, desc: bool, end: int) -> list[int]:
        """The ids of the first ``end`` documents in the order of
        ``sort_docs`` (the field ascending or descending, ties by id)."""
        keys = self.keys
        if not desc:
            return [i for _k, i in keys[:end]]
        # Walk from the top; a run of equal values is taken whole, then put
        # in id order (sort_docs keeps ids ascending among equal values).
        out: list[int] = []
        at = len(keys) - 1
        while at >= 0 and len(out) < end:
            value = keys[at][0]
            start = bisect.bisect_left(keys, (value,), 0, at + 1)
            out.extend(i for _k, i in keys[start:at + 1])
            at = start - 1
        return out[:end]


def _single_order(order_by: Any) -> tuple[tuple[str, ...], bool] | None:
    """(path, descending) when ``order_by`` names one field (then maybe "id")."""
    if isinstance(order_by, str):
        fields = [order_by]
    elif type(order_by) in (list, tuple) and order_by and all(isinstance(f, str) for f in order_by):
        fields = list(order_by)
        if len(fields) == 2 and fields[1] == "id":
            fields = fields[:1]
    else:
        return None
    if len(fields) != 1:
        return None
    field = fields[0]
    desc = field.startswith("-")
    path = split_path(field[1:] if desc else field)
    return path, desc


def _ordered_page(st: "_TableState", order_by: Any, offset: int, limit: int,
                  min_docs: int | None, copy: Callable[[dict], dict] | None = None) -> list[dict] | None:
    """A page of the whole table in ``order_by`` without sorting it, or None
    when no ordered index applies (then the caller sorts)."""
    docs = st.docs
    end = offset + limit
    desc = _id_order(order_by)
    if desc is not None:
        ids = heapq.nlargest(end, docs) if desc else heapq.nsmallest(end, docs)
        return [(copy or _copy)(docs[i]) for i in ids[offset:]]
    single = _single_order(order_by)
    if single is None or min_docs is None:
        return None
    path, desc = single
    if path == ("id",):
        return None
    ordered = st.ordered.get(path)
    if ordered is None:
        if len(docs) < min_docs:
            return None
        ordered = st.ordered[path] = _Ordered(path, docs)
    return [(copy or _copy)(docs[i]) for i in ordered.page(desc, end)[offset:]]


# -- in-memory state ----------------------------------------------------------


class _TableState:
    __slots__ = ("name", "_docs", "next_id", "version", "seq", "snap_seq", "indexes", "ordered", "lazy")

    def __init__(self, name: str, version: int, *, next_id: int = 1, seq: int = 0,
                 snap_seq: int = 0, docs: dict | None = None, lazy: "_Unloaded | None" = None) -> None:
        self.name = name
        # None while a lazily opened table is not loaded yet (see _Unloaded)
        self._docs: dict[int, dict] | None = docs if docs is not None else (None if lazy else {})
        self.lazy = lazy
        self.next_id = next_id
        self.version = version
        self.seq = seq            # last journal seq that touched this table
        self.snap_seq = snap_seq  # seq contained in its snapshot file (0: none)
        self.indexes: dict[tuple[str, ...], _Index] = {}  # field path -> equality index
        self.ordered: dict[tuple[str, ...], _Ordered] = {}  # field path -> ordered index

    @property
    def docs(self) -> dict[int, dict]:
        """id -> document (a lazily opened table is read from its snapshot now)."""
        docs = self._docs
        if docs is None:
            docs = _load_unloaded(self)
        return docs

    # Every change to ``docs`` goes through put/remove: they keep the indexes.

    def put(self, doc_id: int, doc: dict) -> None:
        """Insert or replace document ``doc_id``."""
        if self.indexes or self.ordered:
            old = self.docs.get(doc_id)
            for ix in self.indexes.values():
                ix.change(doc_id, old, doc)
            for ox in self.ordered.values():
                ox.change(doc_id, old, doc)
        self.docs[doc_id] = doc

    def remove(self, doc_id: int) -> dict | None:
        """Remove document ``doc_id``; return it (None when there was none)."""
        old = self.docs.pop(doc_id, None)
        if old is not None and (self.indexes or self.ordered):
            for ix in self.indexes.values():
                ix.change(doc_id, old, None)
            for ox in self.ordered.values():
                ox.change(doc_id, old, None)
        return old

    def index(self, path: tuple[str, ...], min_docs: int | None) -> "_Index | None":
        """The equality index on ``path``, built now if the table is big enough."""
        ix = self.indexes.get(path)
        if ix is None and min_docs is not None and len(self.docs) >= min_docs:
            ix = self.indexes[path] = _Index(path, self.docs)
        return ix


def _apply_entry(states: dict[str, _TableState], body: dict, where: str) -> set[str]:
    """Apply one journal entry to ``states``; return the touched table names."""
    seq = body["seq"]
    touched: set[str] = set()
    try:
        for op in body["ops"]:
            kind = op["op"]
            name = op["t"]
            st = states.get(name)
            if st is not None and seq <= st.snap_seq:
                continue  # the snapshot already holds it
            if st is not None and st._docs is None:
                _defer(st, seq, op)  # not loaded: applied when it is
                touched.add(name)
                continue
            if kind == "create":
                if st is not None:
                    raise ValueError(f"table {name} created twice")
                st = states[name] = _TableState(name, int(op["version"]))
            elif st is None:
                raise ValueError(f"writes to table {name}, which was never created")
            elif kind == "insert":
                doc_id = op["id"]
                if type(doc_id) is not int or doc_id in st.docs or doc_id < 1:
                    raise ValueError(f"inserts id {doc_id!r} into {name} twice")
                doc = op["doc"]
                if type(doc) is not dict or doc.get("id") != doc_id:
                    raise ValueError("bad document")
                st.put(doc_id, doc)
                if doc_id >= st.next_id:
                    st.next_id = doc_id + 1
            elif kind == "update":
                doc_id = op["id"]
                doc = op["doc"]
                if doc_id not in st.docs:
                    raise ValueError(f"updates missing document {name} {doc_id!r}")
                if type(doc) is not dict or doc.get("id") != doc_id:
                    raise ValueError("bad document")
                st.put(doc_id, doc)
            elif kind == "delete":
                if st.remove(op["id"]) is None:
                    raise ValueError(f"deletes missing document {name} {op['id']!r}")
            elif kind == "version":
                st.version = int(op["version"])
            else:
                raise ValueError(f"unknown op {kind!r}")
            st.seq = seq
            touched.add(name)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CorruptData(where, f"journal entry seq {seq} cannot be applied ({e})") from None
    return touched


def _load_states(data_dir: str, manifest: dict, *, lazy: bool = False) -> dict[str, _TableState]:
    states: dict[str, _TableState] = {}
    for name, info in manifest["tables"].items():
        path = os.path.join(data_dir, info["file"])
        if lazy:
            states[name] = _open_unloaded(path, name, info["seq"])
            continue
        snap = files.read_snapshot(path, name)
        if snap.seq < info["seq"]:
            raise CorruptData(path, f"holds changes up to seq {snap.seq} but store.json needs {info['seq']} "
                                    "(an older copy of the file)")
        states[name] = _TableState(name, snap.version, next_id=snap.next_id, seq=snap.seq,
                                   snap_seq=snap.seq, docs=snap.docs)
    return states


def _check_snapshots_reach(data_dir: str, manifest: dict, states: dict[str, _TableState], end_seq: int,
                           jpath: str) -> None:
    """A snapshot may be ahead of store.json (the trace of an interrupted
    compaction: replay skips what it holds), never ahead of the journal's
    end: then committed lines are missing, and new writes would get seqs the
    snapshot claims to hold already (replay would skip them)."""
    for name, st in states.items():
        if st.snap_seq > end_seq:
            info = manifest["tables"].get(name) or {}
            path = os.path.join(data_dir, info.get("file") or snapshot_path(name))
            raise CorruptData(path, f"holds changes up to seq {st.snap_seq}, but the journal "
                                    f"{os.path.basename(jpath)} ends at seq {end_seq}: committed lines are "
                                    "missing from the journal")
# -- tables loaded when first used ---------------------------------------------------
#
# ``open_store(..., lazy_tables=True)`` (what core.plugins.runtime opens for a
# session) reads only the header line of each snapshot when it opens or
# reloads: version, next id, seq, and whether the file has the length the
# header promises (a truncated or missing file is refused at once).  The
# documents are read, checksummed and decoded the first time anything asks
# for ``state.docs`` — a get/find/count, a write, a migration — so a session
# holds the tables it used, not the whole history (bench/year.py).  Journal
# entries for a table not loaded yet are kept as they are (``_defer``; the
# journal is bounded by compaction) and replayed when it is loaded.  A
# snapshot another process's compaction replaced meanwhile is fine: it holds
# everything up to its own seq, and only what is newer is replayed.  Our own
# compaction writes a changed unloaded table's snapshot and unloads it again.


class _Unloaded:
    """Where a table not loaded yet lives, and the journal ops it missed."""

    __slots__ = ("path", "pending", "segmented")

    def __init__(self, path: str) -> None:
        self.path = path
        self.pending: list[tuple[int, dict]] = []
        self.segmented = False  # its snapshot has segments (read part of it: _Part)


def _open_unloaded(path: str, name: str, manifest_seq: int) -> _TableState:
    """A state from the snapshot's header line alone."""
    try:
        with open(path, "rb") as fh:
            header, _start = files.read_header(fh, path, name)
    except FileNotFoundError:
        raise CorruptData(path, f"the snapshot of table {name} is missing (store.json names it)") from None
    version, next_id, seq = int(header["version"]), int(header["next_id"]), int(header["seq"])
    if seq < manifest_seq:
        raise CorruptData(path, f"holds changes up to seq {seq} but store.json needs {manifest_seq} "
                                "(an older copy of the file)")
    lazy = _Unloaded(path)
    lazy.segmented = bool(header.get("segments"))
    return _TableState(name, version, next_id=next_id, seq=seq, snap_seq=seq, lazy=lazy)


def _defer(st: _TableState, seq: int, op: dict) -> None:
    """Keep a journal op for a table not loaded yet (what a write needs
    before the load — next id, version — is kept current)."""
    st.lazy.pending.append((seq, op))
    kind = op.get("op")
    if kind == "insert" and type(op.get("id")) is int:
        st.next_id = max(st.next_id, op["id"] + 1)
    elif kind == "version":
        st.version = int(op["version"])
    elif kind == "next_id" and type(op.get("next_id")) is int:
        st.next_id = max(st.next_id, op["next_id"])
    st.seq = seq


def _load_unloaded(st: _TableState) -> dict[int, dict]:
    """Read a lazily opened table's snapshot and replay what it missed (the
    store's lock is held by the caller, as for every read)."""
    lazy = st.lazy
    with gc_held():
        snap = files.read_snapshot(lazy.path, st.name)
    if snap.seq < st.snap_seq:
        raise CorruptData(lazy.path, f"holds changes up to seq {snap.seq} but store.json needs {st.snap_seq} "
                                     "(an older copy of the file)")
    seq, next_id = st.seq, st.next_id
    st._docs, st.lazy = snap.docs, None
    st.version, st.next_id, st.snap_seq, st.seq = snap.version, snap.next_id, snap.seq, snap.seq
    states = {st.name: st}
    for op_seq, op in lazy.pending:
        _apply_entry(states, {"seq": op_seq, "ops": [op]}, lazy.path)
    st.seq = max(st.seq, seq)
    st.next_id = max(st.next_id, next_id)
    return st._docs


def _insert_unloaded(st: _TableState, seq: int, doc_id: int, doc: dict) -> Callable[[], None]:
    """Insert into a table not loaded yet (as a deferred op of the committing
    seq); returns what undoes it."""
    entry = (seq, {"op": "insert", "t": st.name, "id": doc_id, "doc": doc})
    st.lazy.pending.append(entry)

    def undo() -> None:
        if st._docs is None:
            st.lazy.pending.remove(entry)
        else:  # loaded since (the op was replayed): take the document out
            st.remove(doc_id)
        st.next_id = doc_id

    return undo


def _change_unloaded(st: _TableState, seq: int, op: dict, old: dict) -> Callable[[], None]:
    """Update or delete a document of a table not loaded yet (read from its
    segments) as a deferred op of the committing seq; returns what undoes it."""
    entry = (seq, op)
    st.lazy.pending.append(entry)

    def undo() -> None:
        if st._docs is None:
            st.lazy.pending.remove(entry)
        else:  # loaded since (the op was replayed): put the document back
            st.put(old["id"], old)

    return undo


def _forget_replayed(st: _TableState) -> None:
    """Drop deferred ops a newer snapshot holds (another process compacted)."""
    if st.lazy is not None:
        st.lazy.pending = [(q, op) for q, op in st.lazy.pending if q > st.snap_seq]


def _unload(st: _TableState, path: str, segmented: bool) -> None:
    """Drop a table's documents (its snapshot holds all of them)."""
    st._docs, st.lazy = None, _Unloaded(path)
    st.lazy.segmented = segmented
    st.indexes, st.ordered = {}, {}


# -- part of a table not loaded ----------------------------------------------------
#
# A big table's snapshot is cut into segments of ``segment_docs`` documents
# in id order, each with its zones in the header (files.encode_snapshot).  A
# read of a table not loaded yet whose where rules out some segments by
# their zones ("calls since this morning": only the last segment's
# started_at reach today), a page ordered by id ("the newest 50", a keyset
# page "ids below 1234"), the first rows by another field (segments in the
# order of their zone's best value, until none can beat the last row
# wanted), or a get by id reads only those segments, lays
# the journal's later changes over them, and keeps nothing: the table stays
# unloaded, and the next such read reads its segments again (a few
# milliseconds a segment).  Anything else loads the table whole, as before.
# Zones make history cheap to skip without anything declared: ids and
# time stamps grow with the year, so old segments fall outside "today",
# "this week", "open" (the statuses of old tickets are all final).
#
# What a where looks at in the segments it cannot skip is kept as columns
# (_Columns, per store: the fields' values, a searched field's folded text,
# the ids, where each document starts; least recently used dropped beyond
# 200,000 values): a count, a filter typed letter by letter or a page of
# matches then reads those columns, not the documents, and decodes only the
# documents a page shows.  A count or a find no zone narrows (a queue's
# size, a card's question) streams the segments once instead of loading the
# table; only a read of every document loads it.


def _zone_keeps_value(zone: dict, value: Any) -> bool:
    if not _plain(value) or type(value) in (list, dict):
        return True
    if "v" in zone:
        key = _eq_key(value)
        return any(_eq_key(v) == key for v in zone["v"])
    t = type(value)
    if t is str:
        b = zone.get("s")
        return b is not None and b[0] <= value and (b[1] is None or value <= b[1])
    if t is int or t is float:
        b = zone.get("n")
        return b is not None and b[0] <= value <= b[1]
    return True  # None, a bool: kept unless the values are listed


def _values_by_kind(values: tuple) -> tuple[bool, list, list]:
    """An AnyOf's values as (whether one of them can match anywhere: not a
    plain string or finite number, the strings sorted, the numbers sorted),
    for :func:`_zone_keeps_any`; the last few kept by the tuple's identity
    (one where's values, asked for every segment)."""
    kept = _BY_KIND.get(id(values))
    if kept is not None and kept[0] is values:
        return kept[1]
    other, strs, nums = False, [], []
    for v in values:
        t = type(v)
        if t is str:
            strs.append(v)
        elif (t is int or t is float) and _plain(v):
            nums.append(v)
        else:
            other = True
    out = (other, sorted(strs), sorted(nums))
    if len(_BY_KIND) >= 8:
        _BY_KIND.clear()
    _BY_KIND[id(values)] = (values, out)
    return out


_BY_KIND: dict[int, tuple[tuple, tuple[bool, list, list]]] = {}


def _zone_keeps_any(zone: dict, values: tuple) -> bool:
    """``any(_zone_keeps_value(zone, v) for v in values)`` by bisecting the
    sorted values against the zone's bounds (a page of 100 calls by id
    against a year's 78 segments: 7,800 tests, now 78 bisections)."""
    other, strs, nums = _values_by_kind(values)
    if other:
        return True
    if strs and (b := zone.get("s")) is not None:
        i = bisect.bisect_left(strs, b[0])
        if i < len(strs) and (b[1] is None or strs[i] <= b[1]):
            return True
    if nums and (b := zone.get("n")) is not None:
        i = bisect.bisect_left(nums, b[0])
        if i < len(nums) and nums[i] <= b[1]:
            return True
    return False


def _zone_keeps_range(zone: dict, r: Range) -> bool:
    bounds = [b for b in (r.gt, r.ge, r.lt, r.le) if b is not None]
    if all(type(b) is str for b in bounds):
        lim = zone.get("s")
    elif all(type(b) is int or type(b) is float for b in bounds):
        lim = zone.get("n")
    else:
        return True
    if lim is None:  # no value of the bounds' type: a Range matches none
        return False
    lo, hi = lim
    if hi is not None and ((r.gt is not None and not hi > r.gt) or (r.ge is not None and not hi >= r.ge)):
        return False
    if (r.lt is not None and not lo < r.lt) or (r.le is not None and not lo <= r.le):
        return False
    return True


def _segment_keeps(zones: dict, where: Where | None) -> bool:
    """Whether a segment with ``zones`` may hold a document matching ``where``
    (only top-level fields by value, AnyOf or Range are looked at)."""
    for key, cond in (where or {}).items():
        if type(key) is not str or "." in key:
            continue
        zone = zones.get(key)
        if zone is None:  # no document of the segment has the field: None in all
            zone = {"v": [None], "o": True}
        if type(cond) is Contains and "t" in zone and (tok := _token(cond)) is not None:
            keeps = tok in zone["t"]  # a delimited token none of the segment's documents holds
        elif isinstance(cond, AnyOf):
            if "v" in zone:  # the segment's few values, against many wanted (a page's numbers)
                held = {_eq_key(v) for v in zone["v"]}
                keeps = any(not _plain(v) or type(v) in (list, dict) or _eq_key(v) in held for v in cond.values)
            elif len(cond.values) > 16 and all(type(v) is int for v in cond.values) and "n" in zone:
                # many whole numbers (the ids a search found): any of them in the zone's range
                lo, hi = zone["n"]
                ordered = sorted(cond.values)
                at = bisect.bisect_left(ordered, lo)
                keeps = at < len(ordered) and ordered[at] <= hi
            else:
                keeps = _zone_keeps_any(zone, cond.values)
        elif isinstance(cond, Range):
            keeps = _zone_keeps_range(zone, cond)
        elif isinstance(cond, Operator):
            keeps = True
        else:
            keeps = _zone_keeps_value(zone, cond)
        if not keeps:
            return False
    return True


def _token(cond: Contains) -> str | None:
    """The token of ``Contains("|17|")`` (one ``|``-delimited token), folded."""
    needle = cond.text.casefold()
    if len(needle) < 3 or needle[0] != "|" or needle[-1] != "|" or "|" in needle[1:-1]:
        return None
    return needle[1:-1]


def _zone_tally(where: Where | None) -> Callable[[dict, int], int | None] | None:
    """For a where of one top-level field — equal to a value, one of some
    values, or holding a delimited token — a function of a segment's
    zones and size giving how many of its documents match (None: its zones
    cannot say; see files.zones ``c`` and ``t``)."""
    if not where or len(where) != 1:
        return None
    [(key, cond)] = where.items()
    if type(key) is not str or "." in key:
        return None
    if type(cond) is Contains:
        tok = _token(cond)
        if tok is None:
            return None

        def tokens(zones: dict, count: int) -> int | None:
            zone = zones.get(key)
            if zone is None:
                return 0  # no document has the field
            held = zone.get("t")
            return held.get(tok, 0) if held is not None else None
        return tokens
    if isinstance(cond, Operator) and type(cond) is not AnyOf:
        return None
    values = cond.values if type(cond) is AnyOf else (cond,)
    if not all(_plain(v) and type(v) not in (list, dict) for v in values):
        return None
    keys = {_eq_key(v) for v in values}

    def equal(zones: dict, count: int) -> int | None:
        zone = zones.get(key)
        if zone is None:  # no document has the field: all None
            return count if _eq_key(None) in keys else 0
        if "c" not in zone:
            return None
        return sum(c for v, c in zip(zone["v"], zone["c"]) if _eq_key(v) in keys)
    return equal


_TOP = (9,)  # above every sort_key


def _first_order(order_by: Any) -> tuple[str, bool] | None:
    """(field, descending) of the first top-level field ``order_by`` sorts by."""
    first = order_by if isinstance(order_by, str) else (
        order_by[0] if type(order_by) in (list, tuple) and order_by else None)
    if not isinstance(first, str) or not first:
        return None
    desc = first.startswith("-")
    field = first[1:] if desc else first
    return (field, desc) if field and "." not in field else None


def _zone_bound(zone: dict | None, desc: bool) -> tuple:
    """The greatest (``desc``) or least sort_key a segment's field may hold."""
    if zone is None:
        return sort_key(None)
    if "v" in zone:
        keys = [sort_key(v) for v in zone["v"]]
        return max(keys) if desc else min(keys)
    if desc:
        if "o" in zone:  # a list or object sorts above all
            return _TOP
        if "s" in zone:
            return _TOP if zone["s"][1] is None else sort_key(zone["s"][1])
        return sort_key(zone["n"][1]) if "n" in zone else sort_key(None)
    if "o" in zone:  # None sorts below all
        return sort_key(None)
    if "n" in zone:
        return sort_key(zone["n"][0])
    return sort_key(zone["s"][0]) if "s" in zone else sort_key(None)


def _where_fields(where: Where) -> set[str]:
    """The top-level fields a (compiled, so well-formed) where looks at."""
    fields = set()
    for key in where:
        for field in (key if type(key) is tuple else (key,)):
            fields.add(field.split(".", 1)[0])
    return fields


def _folded(value: Any) -> str | None:
    """What ``Contains`` looks in: a string folded, a list's strings folded
    and joined by NUL (no needle holds one: such a needle is tested on the
    values), else None."""
    if type(value) is str:
        return value.casefold()
    if type(value) is list:
        texts = [v.casefold() for v in value if type(v) is str]
        return "\x00".join(texts) if texts else None
    return None


_ABSENT = _Tag("absent")  # a field a document does not have, in a column


_WORD = re.compile(r"\w+")


class _Words:
    """A segment's searched text by word: every distinct run of word
    characters (``\\w+``) of a field's folded text, and the positions of the
    documents holding it.  A needle made of word characters alone is in a
    text exactly when it is inside one of its words, so ``Contains`` of such
    a needle is answered from the words (a few thousand, not the documents'
    megabytes of text): the same documents as the text's test."""

    __slots__ = ("text", "starts", "post", "ends")

    def __init__(self, text: str, post: bytes, ends: list[int]) -> None:
        self.text = text        # the words joined by "\n", sorted
        self.post = post        # the positions, uint32 little-endian, word after word
        self.ends = ends        # where each word's positions end (counted in positions)
        # where each word starts in the text
        self.starts = list(itertools.accumulate((len(w) + 1 for w in text.split("\n")), initial=0))[:-1] \
            if text else []

    @classmethod
    def of(cls, texts: list) -> "_Words":
        where: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            if t:
                for w in set(_WORD.findall(t)):
                    where.setdefault(w, []).append(i)
        words = sorted(where)
        post, ends = array("I"), []
        for w in words:
            post.extend(where[w])
            ends.append(len(post))
        return cls("\n".join(words), _le(post), ends)

    def __len__(self) -> int:
        return len(self.starts) + len(self.post) // 16

    def positions(self, needle: str) -> list[int]:
        """Positions of the documents whose text holds ``needle`` (word characters only)."""
        text, starts, ends = self.text, self.starts, self.ends
        found: set[int] = set()
        i = text.find(needle)
        while i >= 0:
            k = bisect.bisect_right(starts, i) - 1
            lo = ends[k - 1] if k else 0
            found.update(_from_le(self.post[lo * 4:ends[k] * 4]))
            i = text.find(needle, starts[k + 1]) if k + 1 < len(starts) else -1
        return sorted(found)

    def dump(self) -> dict:
        return {"text": self.text, "post": base64.b64encode(self.post).decode("ascii"), "ends": self.ends}

    @classmethod
    def load(cls, data: dict) -> "_Words":
        return cls(data["text"], base64.b64decode(data["post"]), data["ends"])


def _le(values: array) -> bytes:
    if sys.byteorder != "little":
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _from_le(raw: bytes) -> array:
    out = array("I", raw)
    if sys.byteorder != "little":
        out.byteswap()
    return out


def _dump_column(want: tuple, column: Any) -> Any:
    if want[0] == "words":
        return column.dump()
    if want[0] == "raw":
        return {"values": [None if v is _ABSENT else v for v in column],
                "absent": [i for i, v in enumerate(column) if v is _ABSENT]}
    return list(column)  # ids, starts


def _load_column(want: tuple, data: Any, count: int) -> Any:
    if want[0] == "words":
        column = _Words.load(data)
        if column.ends and column.ends[-1] * 4 != len(column.post):
            raise ValueError("positions do not match")
        return column
    if want[0] == "raw":
        column = data["values"]
        for i in data["absent"]:
            column[i] = _ABSENT
    else:
        column = array("q", data)
    if len(column) != count:
        raise ValueError("not the segment's length")
    return column


#: the columns kept on disk beside a snapshot (files.write_column): small
#: values and words, not the folded texts (as big as the documents)
_KEPT_ON_DISK = ("id", "off", "raw", "words")


class _Columns:
    """Columns of segments read: the values of the fields wheres looked at
    (a searched field's text folded), and the ids a where matched, kept for
    the next read (least recently used dropped beyond ``limit`` values).  A
    filter typed letter by letter, a queue's size asked at each refresh, a
    page of matches then read a table not loaded without parsing its
    segments again: a few MB where the documents would be tens."""

    def __init__(self, limit: int = 200_000, *, write: bool = True) -> None:
        self.limit = limit
        self.size = 0
        self._kept: OrderedDict[tuple, Any] = OrderedDict()
        #: also keep the columns built beside the snapshots (files.write_column)
        self.write = write

    def get(self, key: tuple) -> Any:
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
        return found

    def put(self, key: tuple, values: Any) -> None:
        if key in self._kept:
            return
        self._kept[key] = values
        self.size += len(values)
        while self.size > self.limit and len(self._kept) > 1:
            _key, old = self._kept.popitem(last=False)
            self.size -= len(old)


class _Part:
    """An unloaded table's segmented snapshot, open for reading some segments,
    and the journal's changes since it (``overlay``: id -> doc, None when
    deleted).  None from :meth:`open` when the table must be loaded whole."""

    __slots__ = ("st", "fh", "start", "segments", "overlay", "total", "cols", "last", "tests", "raw")

    @classmethod
    def open(cls, st: _TableState, cols: _Columns | None = None) -> "_Part | None":
        lazy = st.lazy
        if lazy is None or not lazy.segmented:
            return None
        try:
            fh = open(lazy.path, "rb")
        except FileNotFoundError:
            return None  # the whole load says what is missing
        try:
            header, start = files.read_header(fh, lazy.path, st.name)
            segments, seq = header.get("segments"), int(header["seq"])
            if not segments or seq < st.snap_seq:
                fh.close()
                return None
            overlay: dict[int, dict | None] = {}
            total = int(header["count"])
            for op_seq, op in lazy.pending:
                if op_seq <= seq:
                    continue
                kind = op.get("op")
                if kind in ("insert", "update"):
                    overlay[op["id"]] = op["doc"]
                    total += kind == "insert"
                elif kind == "delete":
                    overlay[op["id"]] = None
                    total -= 1
                elif kind != "next_id":  # a migration: read it whole
                    fh.close()
                    return None
        except BaseException:
            fh.close()
            raise
        part = cls()
        part.st, part.fh, part.start, part.segments, part.overlay = st, fh, start, segments, overlay
        part.total, part.cols, part.last, part.tests, part.raw = total, cols, None, {}, None
        return part

    def close(self) -> None:
        self.fh.close()

    def _parse(self, segment: dict) -> list[dict]:
        """All of a segment's documents (fresh objects: no copy needed); where
        each starts is kept, for reading a few of them later (_docs_at)."""
        if self.last is not None and self.last[0] == segment["at"]:
            return self.last[1]
        docs, starts = files.segment_docs(self._bytes(segment), segment, self.st.lazy.path, self.st.name)
        if self.cols is not None:
            key = (self.st.lazy.path, segment["at"], segment["crc"], "off")
            if self.cols.get(key) is None:
                self.cols.put(key, array("q", starts))
                self._keep(segment, ("off",), starts)
        self.last = (segment["at"], docs)  # while this read lasts
        return docs

    def _bytes(self, segment: dict) -> bytes:
        """The segment's bytes, checksummed (the last segment's kept while this read lasts)."""
        if self.raw is None or self.raw[0] != segment["at"]:
            self.raw = (segment["at"], files.segment_bytes(self.fh, self.start, segment, self.st.lazy.path,
                                                           self.st.name))
        return self.raw[1]

    def read(self, segment: dict) -> list[dict]:
        """The segment's documents not changed since (fresh objects: no copy needed)."""
        overlay = self.overlay
        docs = self._parse(segment)
        return [d for d in docs if d["id"] not in overlay] if overlay else docs

    def _columns(self, segment: dict, wants: set[tuple]) -> dict[tuple, Any]:
        """The segment's columns ``wants`` asks for: ("raw", field) its values
        (``_ABSENT`` where missing), ("fold", path) its folded text, ("id",)
        its ids, in the file's order (the overlay not applied); those not
        kept are read from the segment, at once."""
        base = (self.st.lazy.path, segment["at"], segment["crc"])
        out, todo = {}, []
        for want in wants:
            found = self.cols.get(base + want)
            if found is None:
                found = self._kept(segment, want)
                if found is not None:
                    self.cols.put(base + want, found)
            if found is None:
                todo.append(want)
            else:
                out[want] = found
        if todo and (self.last is None or self.last[0] != segment["at"]) and all(
                w[0] in ("id", "raw") or (w[0] in ("fold", "words") and len(w[1]) == 1) for w in todo):
            # top-level fields only, the segment not decoded: decode only those
            keys = tuple(sorted({w[1] if w[0] == "raw" else w[1][0] for w in todo if w[0] != "id"}))
            got = files.segment_fields(self._bytes(segment), segment, keys, _ABSENT)
            if got is not None:
                ids, values = got
                by_key = dict(zip(keys, values))
                for want in todo:
                    if want[0] == "id":
                        column: Any = array("q", ids)
                    elif want[0] == "raw":
                        column = by_key[want[1]]
                    else:
                        column = [t.casefold() if type(t) is str else _folded(t) for t in by_key[want[1][0]]]
                        if want[0] == "words":
                            column = _Words.of(column)
                    self.cols.put(base + want, column)
                    self._keep(segment, want, column)
                    out[want] = column
                return out
        if todo:
            docs = self._parse(segment)
            for want in todo:
                if want[0] == "id":
                    column = array("q", [d["id"] for d in docs])
                elif want[0] == "raw":
                    column = [d.get(want[1], _ABSENT) for d in docs]
                elif want[0] == "words":
                    column = _Words.of(self._folds(docs, want[1]))
                else:
                    column = self._folds(docs, want[1])
                self.cols.put(base + want, column)
                self._keep(segment, want, column)
                out[want] = column
        return out

    @staticmethod
    def _folds(docs: list[dict], path: tuple[str, ...]) -> list[str | None]:
        if len(path) == 1:  # a top-level field: read directly, strings folded inline
            key = path[0]
            return [t.casefold() if type(t := d.get(key)) is str else _folded(t) for d in docs]
        return [_folded(get_path(d, path)) for d in docs]

    def _kept(self, segment: dict, want: tuple) -> Any:
        """The column kept on disk beside the snapshot, or None."""
        if self.cols is None or want[0] not in _KEPT_ON_DISK:
            return None
        what = json.dumps(want)
        data = files.read_column(self.st.lazy.path, segment, what)
        if data is None:
            return None
        try:
            return _load_column(want, data, segment["count"])
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, binascii.Error):
            return None

    def _keep(self, segment: dict, want: tuple, column: Any) -> None:
        if self.cols is not None and self.cols.write and want[0] in _KEPT_ON_DISK:
            files.write_column(self.st.lazy.path, segment, json.dumps(want), _dump_column(want, column))

    def matches(self, segment: dict, where: Where, *, changed_too: bool = False,
                also: Iterable[str] = ()) -> list[int]:
        """Positions in ``segment`` of its documents matching ``where`` and
        not changed since the snapshot (``changed_too``: changed or not),
        from its columns: a ``Contains`` on the folded texts, the rest of
        the where on the values."""
        terms, rest = [], {}
        for key, cond in where.items():
            if type(cond) is Contains and "\x00" not in cond.text:
                needle = cond.text.casefold()
                # a needle of word characters: the words of the text say (_Words)
                terms.append((tuple(split_path(f) for f in (key if type(key) is tuple else (key,))), needle,
                              "words" if _WORD.fullmatch(needle) else "fold"))
            else:
                rest[key] = cond
        fields = sorted(_where_fields(rest))
        # a document's id is in the ids' column (kept for every segment read)
        wants = {("id",)} | {(kind, p) for paths, _n, kind in terms for p in paths} | {
            ("raw", f) for f in (*fields, *also) if f != "id"}  # ``also``: read with them, for later
        cols = self._columns(segment, wants)
        cols[("raw", "id")] = cols[("id",)]
        hits: Any = range(segment["count"])
        for paths, needle, kind in terms:
            if kind == "words":
                either = set()
                for p in paths:
                    either.update(cols[("words", p)].positions(needle))
                hits = sorted(either.intersection(hits)) if type(hits) is not range else sorted(either)
                if not hits:
                    return []
                continue
            texts = [cols[("fold", p)] for p in paths]
            if len(texts) == 1:
                [one] = texts
                hits = [i for i in hits if (t := one[i]) is not None and needle in t]
            elif len(texts) == 2 and type(hits) is range:  # (description, date): one pass
                a, b = texts
                hits = [i for i, x, y in zip(hits, a, b)
                        if (x is not None and needle in x) or (y is not None and needle in y)]
            else:
                either: set[int] = set()
                for one in texts:
                    either.update([i for i in hits if (t := one[i]) is not None and needle in t])
                hits = sorted(either)
            if not hits:
                return []
        nested = {}
        for key, cond in rest.items():  # top-level fields: tested on their columns, value by value
            names = key if type(key) is tuple else (key,)
            if any("." in n for n in names):
                nested[key] = cond
                continue
            test = self._test(cond)
            columns = [cols[("raw", n)] for n in names]
            if len(columns) == 1:
                [one] = columns
                hits = [i for i in hits if test(one[i])]
            else:
                hits = [i for i in hits if any(test(one[i]) for one in columns)]
            if not hits:
                return []
        if nested:
            query = compile_where(nested)
            values = [(f, cols[("raw", f)]) for f in sorted(_where_fields(nested))]
            hits = [i for i in hits if query({f: c[i] for f, c in values if c[i] is not _ABSENT})]
        ids, overlay = cols[("id",)], self.overlay
        return [i for i in hits if ids[i] not in overlay] if overlay and not changed_too else list(hits)

    def _test(self, cond: Any) -> Callable[[Any], bool]:
        """``value_test(cond)``, made once for every segment a read looks at
        (an AnyOf of the 7,000 ids a search found: its set built once)."""
        kept = self.tests.get(id(cond))
        if kept is None or kept[0] is not cond:
            kept = self.tests[id(cond)] = (cond, value_test(cond, _ABSENT))
        return kept[1]

    def _docs_at(self, segment: dict, at: list[int], want: tuple[str, ...] | None = None) -> list[dict]:
        """The documents at positions ``at`` of a segment (read from it);
        ``want``: only those top-level keys (and ``id``), from its columns."""
        if not at:
            return []
        if want is not None and self.cols is not None:
            cols = self._columns(segment, {("id",)} | {("raw", f) for f in want})
            ids, columns = cols[("id",)], [(f, cols[("raw", f)]) for f in want]
            out = []
            for i in at:
                doc = {"id": ids[i]}
                for f, c in columns:
                    v = c[i]
                    if v is not _ABSENT:
                        doc[f] = v if type(v) not in (dict, list) else _copy(v)
                out.append(doc)
            return out
        if self.last is None or self.last[0] != segment["at"]:
            starts = None
            if self.cols is not None:
                key = (self.st.lazy.path, segment["at"], segment["crc"], "off")
                starts = self.cols.get(key)
                if starts is None:
                    starts = self._kept(segment, ("off",))
                    if starts is None and len(at) * 4 < segment["count"]:
                        # a few of them (a page of matches): where each starts, found without decoding
                        found = files.segment_starts(self._bytes(segment), segment)
                        if found is not None:
                            starts = array("q", found)
                            self._keep(segment, ("off",), starts)
                    if starts is not None:
                        self.cols.put(key, starts)
            if starts is not None:  # decode those documents only
                return files.segment_docs(self._bytes(segment), segment, self.st.lazy.path, self.st.name,
                                          starts=starts, positions=at)[0]
        docs = self._parse(segment)
        return [docs[i] for i in at]

    def changed(self, query: Any) -> list[dict]:
        """Copies of the documents written since the snapshot that match."""
        return [_copy(d) for d in self.overlay.values() if d is not None and (query is None or query(d))]

    def find(self, where: Where | None, query: Any, order_by: Any, limit: int | None,
             offset: int, want: tuple[str, ...] | None = None) -> list[dict] | None:
        """The page, or None (load the table). ``want``: the documents may
        hold only these top-level keys (and ``id``; read from the columns)."""
        segments = [sg for sg in self.segments if _segment_keeps(sg["zones"], where)]
        desc = _id_order(order_by)
        paged = desc is not None and limit is not None
        first = _first_order(order_by) if limit is not None and desc is None else None
        if len(segments) == len(self.segments) and not paged and first is None and (
                query is None and want is None or self.cols is None):
            return None  # every document whole: as well loaded
        extra = self.changed(query)
        if want is not None:  # every document found holds only the keys wanted (and id)
            extra = list(map(_picker(want, copy=False), extra))  # copies already
        found: list[dict] = []
        end = None if limit is None else offset + limit
        if first is not None:
            return self._top(segments, where, query, order_by, first, extra, offset, end, want)
        by_columns = self.cols is not None
        for sg in (reversed(segments) if desc else segments):
            if by_columns:  # only the documents that match (and can be on the page) decoded
                at = self.matches(sg, where or {}, also=want or ())
                if paged and end < len(at):  # in id order: the page takes at most ``end`` of them
                    at = at[len(at) - end:] if desc else at[:end]
                found.extend(self._docs_at(sg, at, want))
            else:
                docs = [d for d in self.read(sg) if query is None or query(d)]
                found.extend(docs if want is None else map(_picker(want, copy=False), docs))
            if paged:
                # every document beyond this segment's first (last) id is known now
                lo, hi = sg["zones"]["id"]["n"]
                known = len(found) + sum(1 for d in extra if (d["id"] >= lo if desc else d["id"] <= hi))
                if known >= end:
                    break
        found.extend(extra)
        sort_docs(found, order_by)
        return found[offset:end]

    def _top(self, segments: list[dict], where: Where | None, query: Any, order_by: Any, first: tuple[str, bool],
             extra: list[dict], offset: int, end: int, want: tuple[str, ...] | None = None) -> list[dict]:
        """The first ``end`` documents ordered by a field: segments in the
        order of their zone's best value, until none left can beat the
        ``end``-th found ("the newest calls" read the newest segments)."""
        field, desc = first
        bounds = [(_zone_bound(sg["zones"].get(field), desc), i) for i, sg in enumerate(segments)]
        bounds.sort(key=lambda b: b[0], reverse=desc)
        found = list(extra)
        keys = [sort_key(d.get(field)) for d in found]
        for bound, i in bounds:
            if end and len(keys) >= end:
                kth = heapq.nlargest(end, keys)[-1] if desc else heapq.nsmallest(end, keys)[-1]
                if (bound < kth) if desc else (bound > kth):
                    break  # this segment and all after it hold only worse values
            if query is not None and self.cols is not None:
                docs = self._docs_at(segments[i], self.matches(segments[i], where, also=want or ()), want)
            else:
                docs = [d for d in self.read(segments[i]) if query is None or query(d)]
                if want is not None:
                    docs = list(map(_picker(want, copy=False), docs))
            for d in docs:
                found.append(d)
                keys.append(sort_key(d.get(field)))
        sort_docs(found, order_by)
        return found[offset:end]

    def count(self, where: Where | None, query: Any) -> int | None:
        if query is None:
            return self.total
        segments = [sg for sg in self.segments if _segment_keeps(sg["zones"], where)]
        if self.cols is None:
            if len(segments) == len(self.segments):
                return None
            return len(self.changed(query)) + sum(1 for sg in segments for d in self.read(sg) if query(d))
        # from the segments' columns, never the table loaded; the ids a where
        # without a search matched kept (a queue's size asked at each refresh);
        # a segment none of whose documents changed since, from its zones'
        # counts when they can say (files.zones: "c", "t")
        n = len(self.changed(query))
        searched = any(type(c) is Contains for c in where.values())
        tally = _zone_tally(where)
        changed = sorted(self.overlay) if tally is not None else []
        for sg in segments:
            if tally is not None:
                lo, hi = sg["zones"]["id"]["n"]
                at = bisect.bisect_left(changed, lo)
                if at == len(changed) or changed[at] > hi:
                    got = tally(sg["zones"], sg["count"])
                    if got is not None:
                        n += got
                        continue
            key = (self.st.lazy.path, sg["at"], sg["crc"], "where", repr(where))
            ids = None if searched else self.cols.get(key)
            if ids is None:
                at = self.matches(sg, where, changed_too=True)
                if searched and not self.overlay:  # a filter's letter: how many, nothing kept
                    n += len(at)
                    continue
                column = self._columns(sg, {("id",)})[("id",)]
                ids = array("q", [column[i] for i in at])
                if not searched:
                    self.cols.put(key, ids)
            n += sum(1 for i in ids if i not in self.overlay) if self.overlay else len(ids)
        return n

    def get(self, doc_id: int) -> dict | None:
        if doc_id in self.overlay:
            doc = self.overlay[doc_id]
            return _copy(doc) if doc is not None else None
        for sg in self.segments:
            lo, hi = sg["zones"]["id"]["n"]
            if lo <= doc_id <= hi:
                return next((d for d in self.read(sg) if d["id"] == doc_id), None)
        return None


def _prune_columns(snapshot: str, namespace: str, folder: str) -> None:
    """The columns kept beside a snapshot: those of segments it no longer has removed."""
    name = f"{namespace}.{folder[:-len('.columns')]}"
    try:
        with open(snapshot, "rb") as fh:
            header, _start = files.read_header(fh, snapshot, name)
    except FileNotFoundError:
        header = {}
    except CorruptData:
        return
    files.prune_columns(snapshot, header.get("segments"))


def _part(st: _TableState, read: Callable[[_Part], Any], cols: _Columns | None = None) -> Any:
    """``read(part)`` of a table not loaded, or None (then load it whole)."""
    if st._docs is not None:
        return None
    part = _Part.open(st, cols)
    if part is None:
        return None
    try:
        return read(part)
    finally:
        part.close()


# -- compaction of a big table not loaded ----------------------------------------------
#
# An audit trail or a call log only grows: since its snapshot, new ids were
# added at its end and a few recent documents updated.  Its compaction keeps
# the segments before the first one holding a change byte for byte (copied,
# never decoded: their kept columns stay valid), decodes the segments from
# there on, lays the journal's changes over them and cuts them into segments
# anew; a segment whose documents were only updated (its count unchanged:
# the cuts after it stay where they were) is encoded alone and those after
# it kept.  The file written is byte for byte what a whole rewrite writes
# (tests/storage/test_compaction.py), holding one segment's documents at a
# time and the bytes of those encoded anew, where the whole rewrite loads
# the table (a year's audit: 9 GB, docs/performance.md).


def _write_tail(st: _TableState, path: str, seq: int, segment_docs: int | None) -> bool:
    """Write the snapshot of a table not loaded from its segments (above);
    False when that does not apply (no segments, segments of another size,
    a migration since, a table shrunk to one segment): then it is loaded
    and written whole."""
    if not segment_docs or not st.lazy.segmented:
        return False
    part = _Part.open(st)
    if part is None:
        return False
    try:
        segments, overlay = part.segments, part.overlay
        if part.total <= segment_docs or any(sg["count"] != segment_docs for sg in segments[:-1]):
            return False
        los = [sg["zones"]["id"]["n"][0] for sg in segments]
        touched: dict[int, list[int]] = {}  # segment -> ids changed in its range (the last: and beyond)
        for doc_id in overlay:
            touched.setdefault(max(0, bisect.bisect_right(los, doc_id) - 1), []).append(doc_id)
        last = len(segments) - 1
        parts: list[tuple[dict, bytes | None]] = []
        # documents not cut into a segment yet; when none are left over at a
        # cut, the cuts after it are where the whole rewrite makes them again
        carry: list[dict] = []
        for i, sg in enumerate(segments):
            ids = touched.get(i)
            if not carry and ids is None:
                parts.append((sg, None))
                continue
            if not carry and i == last and sg["count"] == segment_docs and min(ids) > sg["zones"]["id"]["n"][1]:
                parts.append((sg, None))  # full, and only new documents after it
            else:
                docs = [d for d in part._parse(sg) if d["id"] not in overlay]
                top = sg["zones"]["id"]["n"][1]  # the last segment's: new documents after it come below
                docs.extend(overlay[k] for k in ids or () if overlay[k] is not None and (i < last or k <= top))
                docs.sort(key=lambda d: d["id"])
                if not carry and len(docs) == sg["count"] and not (ids and i == last):
                    # only updated: the cuts after it stay where they were
                    parts.append(files.encode_segment(docs)[::-1])
                    continue
                carry.extend(docs)
            if i == last and ids:
                top = sg["zones"]["id"]["n"][1]
                carry.extend(overlay[k] for k in sorted(ids) if k > top and overlay[k] is not None)
            while len(carry) >= segment_docs or (i == last and carry):
                chunk, carry = carry[:segment_docs], carry[segment_docs:]
                parts.append(files.encode_segment(chunk)[::-1])
        if sum(entry["count"] for entry, _raw in parts) != part.total:
            raise CorruptData(part.st.lazy.path, f"snapshot of table {st.name} is damaged: its segments and "
                                                 "the journal's changes do not add up")
        header = {"format": files.TABLE_FORMAT, "table": st.name, "version": st.version, "next_id": st.next_id,
                  "seq": seq, "count": part.total}
        files.write_segments(path, header, parts, part.fh.fileno(), part.start, st.name)
    finally:
        part.close()
    return True


def snapshot_path(name: str) -> str:
    ns, table = name.split(".", 1)
    return f"{ns}/{table}.json"


# -- transactions ---------------------------------------------------------------


class _Txn:
    __slots__ = ("ops", "undo", "changes", "notify")

    def __init__(self) -> None:
        self.ops: list[dict] = []
        # (state, doc_id, previous doc or None, previous next_id or None,
        #  previous version or None), or a callable that undoes something.
        self.undo: list[tuple] = []
        self.changes: list[Change] = []
        self.notify: set[str] = set()

    def mark(self) -> tuple[int, int, int]:
        return (len(self.ops), len(self.undo), len(self.changes))

    def rollback_to(self, mark: tuple[int, int, int]) -> None:
        n_ops, n_undo, n_changes = mark
        while len(self.undo) > n_undo:
            entry = self.undo.pop()
            if callable(entry):
                entry()
                continue
            st, doc_id, prev, prev_next, prev_version = entry
            if doc_id is not None:
                if prev is None:
                    st.remove(doc_id)
                else:
                    st.put(doc_id, prev)
            if prev_next is not None:
                st.next_id = prev_next
            if prev_version is not None:
                st.version = prev_version
        del self.ops[n_ops:]
        del self.changes[n_changes:]


# -- the store ------------------------------------------------------------------


class JournalTable(Table):
    """A table of a :class:`JournalStore` (get one with ``store.table()``)."""

    def __init__(self, store: "JournalStore", name: str, version: int) -> None:
        self._store = store
        self.name = name
        self.version = version

    # reads ------------------------------------------------------------------

    def get(self, doc_id: int) -> dict | None:
        s = self._store
        with s._rlock:
            s._fresh()
            st = s._state(self.name)
            doc_id = _doc_id(doc_id)
            if st._docs is None and st.lazy.segmented:
                part = _Part.open(st)
                if part is not None:
                    try:
                        return part.get(doc_id)
                    finally:
                        part.close()
            doc = st.docs.get(doc_id)
            return _copy(doc) if doc is not None else None

    def find(self, where: Where | None = None, *, order_by: str | Iterable[str] | None = None,
             limit: int | None = None, offset: int = 0, fields: Iterable[str] | None = None) -> list[dict]:
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("limit and offset cannot be negative")
        keep = projection(fields)
        query = compile_where(where)
        s = self._store
        with s._rlock:
            s._fresh()
            st = s._state(self.name)
            if st._docs is None and st.lazy.segmented:
                want = _wanted(keep, order_by)
                page = _part(st, lambda part: part.find(where, query, order_by, limit, offset, want), s._columns)
                if page is not None:  # fresh objects (decoded, or copies of the overlay's)
                    return page if keep is None or want == keep else list(map(_picker(keep, copy=False), page))
            copy = _copy if keep is None else _picker(keep)
            docs = st.docs
            ids = None
            if query is None and limit is not None:
                page = _ordered_page(st, order_by, offset, limit, s.index_min_docs, copy)
                if page is not None:
                    return page
            if query is not None:
                ids, query = _select(st, where, query, s.index_min_docs)
                if ids is None and query is not None and limit is not None and _id_order(order_by) is not None:
                    ids = docs.keys()  # a page by id (a paged table's filter): scan from that end, stop at its end
            if ids is None:
                found = [d for d in docs.values() if query(d)] if query is not None else list(docs.values())
            elif (desc := _id_order(order_by)) is not None:
                # Ordered by id alone: sort the ids, stop at the page's end.
                ids = sorted(ids, reverse=desc)
                end = None if limit is None else offset + limit
                if query is None:
                    return [copy(docs[i]) for i in ids[offset:end]]
                found = []
                if end != 0:
                    for i in ids:
                        d = docs[i]
                        if query(d):
                            found.append(d)
                            if len(found) == end:
                                break
                return [copy(d) for d in found[offset:end]]
            elif query is None:
                found = [docs[i] for i in ids]
            else:
                found = [d for d in map(docs.__getitem__, ids) if query(d)]
        sort_docs(found, order_by)
        if offset:
            found = found[offset:]
        if limit is not None:
            found = found[:limit]
        return [copy(d) for d in found]

    def prepare_search(self, fields: Iterable[str]) -> None:
        """A table not loaded: its segments' folded texts of ``fields`` (and
        their ids) read into the columns kept, as a ``Contains`` on them
        reads them (only those keys decoded: the journal's descriptions and
        dates, ~30 ms for 40,000 entries)."""
        wants = {("id",)} | {("fold", split_path(f)) for f in fields}
        s = self._store
        with s._rlock:
            s._fresh()
            st = s._state(self.name)
            if st._docs is None and st.lazy.segmented:
                _part(st, lambda part: [part._columns(sg, wants) for sg in part.segments], s._columns)

    def count(self, where: Where | None = None) -> int:
        query = compile_where(where)
        s = self._store
        with s._rlock:
            s._fresh()
            st = s._state(self.name)
            if st._docs is None and st.lazy.segmented:
                n = _part(st, lambda part: part.count(where, query), s._columns)
                if n is not None:
                    return n
            docs = st.docs
            if query is None:
                return len(docs)
            ids, query = _select(st, where, query, s.index_min_docs)
            if ids is None:
                return sum(1 for d in docs.values() if query(d))
            if query is None:
                return len(ids)
            return sum(1 for i in ids if query(docs[i]))

    def __len__(self) -> int:
        return self.count()

    # writes -----------------------------------------------------------------

    def _writable(self) -> _TableState:
        st = self._store._state(self.name)
        if st.version != self.version:
            raise Conflict(f"{self.name}: the data is now at schema version {st.version}, this code "
                           f"writes version {self.version}; restart Backdesk with matching plugins")
        return st

    def insert(self, doc: Mapping[str, Any]) -> int:
        clean = self._derived(_clean_doc(doc, self.name))
        with self._store._write() as txn:
            st = self._writable()
            doc_id = st.next_id
            new = {"id": doc_id}
            new.update(clean)
            st.next_id = doc_id + 1
            if st._docs is None:  # appending needs no documents (the audit trail)
                txn.undo.append(_insert_unloaded(st, self._store._seq + 1, doc_id, new))
            else:
                st.put(doc_id, new)
                txn.undo.append((st, doc_id, None, doc_id, None))
            txn.ops.append({"op": "insert", "t": self.name, "id": doc_id, "doc": new})
            txn.changes.append(Change(self.name, "insert", doc_id, None, new))
            txn.notify.add(self.name)
        return doc_id

    def _old_unloaded(self, st: _TableState, doc_id: int) -> tuple[bool, dict | None]:
        """(True, the document or None) read from the segments of a table not
        loaded yet; (False, None) when it must be loaded for it."""
        part = _Part.open(st) if st._docs is None and st.lazy.segmented else None
        if part is None:
            return False, None
        try:
            return True, part.get(doc_id)
        finally:
            part.close()

    def _put(self, doc_id: int, make: Callable[[dict], dict]) -> dict:
        with self._store._write() as txn:
            st = self._writable()
            read, old = self._old_unloaded(st, doc_id)
            if read:  # changing one call of the year does not load the year
                if old is None:
                    raise NotFound(f"{self.name}: no document with id {doc_id}")
                new = make(old)
                op = {"op": "update", "t": self.name, "id": doc_id, "doc": new}
                txn.undo.append(_change_unloaded(st, self._store._seq + 1, op, old))
                txn.ops.append(op)
                txn.changes.append(Change(self.name, "update", doc_id, old, new))
                txn.notify.add(self.name)
                return _copy(new)
            old = st.docs.get(doc_id)
            if old is None:
                raise NotFound(f"{self.name}: no document with id {doc_id}")
            new = make(old)
            st.put(doc_id, new)
            txn.undo.append((st, doc_id, old, None, None))
            txn.ops.append({"op": "update", "t": self.name, "id": doc_id, "doc": new})
            txn.changes.append(Change(self.name, "update", doc_id, old, new))
            txn.notify.add(self.name)
        return _copy(new)

    def _checked(self, doc_id: Any, doc: Mapping[str, Any]) -> tuple[int, dict]:
        doc_id = _doc_id(doc_id)
        return doc_id, _clean_doc(doc, self.name, allow_id=doc_id)

    def delete(self, doc_id: int) -> None:
        doc_id = _doc_id(doc_id)
        with self._store._write() as txn:
            st = self._writable()
            read, old = self._old_unloaded(st, doc_id)
            if read:
                if old is None:
                    raise NotFound(f"{self.name}: no document with id {doc_id}")
                op = {"op": "delete", "t": self.name, "id": doc_id}
                txn.undo.append(_change_unloaded(st, self._store._seq + 1, op, old))
                txn.ops.append(op)
                txn.changes.append(Change(self.name, "delete", doc_id, old, None))
                txn.notify.add(self.name)
                return
            old = st.remove(doc_id)
            if old is None:
                raise NotFound(f"{self.name}: no document with id {doc_id}")
            txn.undo.append((st, doc_id, old, None, None))
            txn.ops.append({"op": "delete", "t": self.name, "id": doc_id})
            txn.changes.append(Change(self.name, "delete", doc_id, old, None))
            txn.notify.add(self.name)




class JournalStore(Store):
    """The default store: see the module docstring.  Use :func:`open_store`."""

    def __init__(self, data_dir: str | os.PathLike, *, compact_bytes: int = DEFAULT_COMPACT_BYTES,
                 index_min_docs: int | None = INDEX_MIN_DOCS, read_only: bool = False,
                 lazy_tables: bool = False, segment_docs: int | None = files.SEGMENT_DOCS,
                 notice: Callable[[str], None] | None = None) -> None:
        self.data_dir = os.path.abspath(os.fspath(data_dir))
        self.notice = notice  # Store.notice: said already while this open waits
        # Snapshots of bigger tables are cut into segments of this many
        # documents (None: never), read one by one by a session that has
        # not loaded the table (see _Part).
        self.segment_docs = segment_docs
        # Read a table's documents when it is first used (see _Unloaded);
        # False: every table at open (and a damaged snapshot is found then).
        self.lazy_tables = lazy_tables
        self.actor: str | None = None
        #: what _begin says when it waits over 1 s for another process's write lock (a table created or upgraded)
        self._on_wait: Callable[[], None] | None = None
        self.compact_bytes = compact_bytes
        # Equality indexes for tables of at least this many documents (None:
        # build and use none; indexes already built are still kept up to date).
        self.index_min_docs = index_min_docs
        self._rlock = threading.RLock()
        self._states: dict[str, _TableState] = {}
        self._tables: dict[str, JournalTable] = {}
        # columns of segments read (_Part.matches), also kept on disk beside the snapshots
        self._columns = _Columns(write=not read_only)
        self._txn: _Txn | None = None
        self._outside: set[str] = set()   # changed elsewhere, not yet reported by refresh()
        self._init_callbacks()
        self._jfd: int | None = None
        self._jpos = 0
        self._seq = 0
        self._manifest: dict = {}
        self._manifest_id: tuple = ()
        self._closed = False
        self._manifest_path = os.path.join(self.data_dir, files.MANIFEST)
        self._head_path = os.path.join(self.data_dir, files.HEAD)
        self._head_fd: int | None = None   # store.head, opened by the first write
        self._head_raw: bytes | None = None  # its bytes when last found in order
        self._last_crc = ""                # checksum field of the last journal line read
        try:
            if not read_only:
                files.make_dir(self.data_dir)
            self._lock = files.DirLock(self.data_dir, read_only=read_only)
        except OSError as e:
            raise StorageError(f"{e.filename or self.data_dir}: cannot open the data directory "
                               f"({e.strerror}); check the path and its owner") from e
        #: True when this store cannot write: opened with ``read_only=True``, or
        #: the data folder refuses writing (a read-only mount, another owner).
        #: Reads work; a write raises StorageError naming the folder.
        self.read_only = not self._lock.writable
        try:
            self._open()
        except OSError as e:
            self._lock.close()
            raise StorageError(f"{e.filename or self.data_dir}: cannot open the store "
                               f"({e.strerror}); check the files' owner and permissions") from e
        except BaseException:
            self._lock.close()
            raise

    # -- opening and reloading --------------------------------------------------

    def _open(self) -> None:
        if not os.path.exists(self._manifest_path):
            if self.read_only:
                raise StorageError(f"{self.data_dir}: no Backdesk store here ({files.MANIFEST} is missing) "
                                   f"and the folder cannot be written ({self._lock.read_only_reason})")
            self._lock.acquire("ex")
            try:
                if not os.path.exists(self._manifest_path):
                    self._initialize()
                self._reload()
            finally:
                self._lock.release()
        else:
            self._lock.acquire("sh", None if self.notice is None else lambda: say(self, waiting_line("", None, 0)))
            try:
                self._reload()
            finally:
                self._lock.release()

    def _initialize(self) -> None:
        # An empty journal is what an interrupted first open leaves behind.
        leftovers = [n for n in os.listdir(self.data_dir)
                     if (n.startswith("journal-") and os.path.getsize(os.path.join(self.data_dir, n)) > 0) or (
                         os.path.isdir(os.path.join(self.data_dir, n)) and n != files.BACKUPS
                         and any(f.endswith(".json") for f in os.listdir(os.path.join(self.data_dir, n))))]
        if leftovers:
            raise CorruptData(self._manifest_path,
                              f"missing, but the directory holds store data ({', '.join(sorted(leftovers))})")
        if set(os.listdir(self.data_dir)) <= {files.LOCK, files.journal_name(1)}:
            os.chmod(self.data_dir, files.DIR_MODE)  # a new, empty data dir: owner-only
        path = os.path.join(self.data_dir, files.journal_name(1))
        fd = files.open_journal(path, create=True)
        os.fsync(fd)
        os.close(fd)
        files.fsync_dir(self.data_dir)
        files.write_manifest(self.data_dir, files.new_manifest(1, 0, {}, None))
        log.info("created a new store in %s", self.data_dir)

    def _reload(self) -> set[str]:
        """Load everything from the files (a lock is held).  Returns changed names."""
        # Decoding the snapshots and the journal allocates many small objects
        # and no cycles: the collector's passes over the whole heap meanwhile
        # cost more than the decoding itself (~30 ms of a 1 MB journal at start).
        with gc_held():
            return self._reload_files()

    def _reload_files(self) -> set[str]:
        manifest, ident = files.read_manifest(self.data_dir)
        states = _load_states(self.data_dir, manifest, lazy=self.lazy_tables)
        jpath = os.path.join(self.data_dir, files.journal_name(manifest["generation"]))
        try:
            jfd = files.open_journal(jpath, write=not self.read_only)
        except FileNotFoundError:
            raise CorruptData(jpath, "the journal is missing (store.json names it)") from None
        try:
            seq, pos = manifest["seq"], 0
            buf = files.read_from(jfd, 0)
            scan = files.scan_journal(buf)
            for offset, body in scan.entries:
                if body["seq"] != seq + 1:
                    raise CorruptData(jpath, f"entry at byte {offset} has seq {body['seq']}, expected {seq + 1}")
                _apply_entry(states, body, jpath)
                seq = body["seq"]
            pos = scan.valid_end
            last_crc = files.line_crc(buf, scan.entries[-1][0]) if scan.entries else ""
            if scan.corrupt:
                raise CorruptData(jpath, f"the entry at byte {scan.bad_offset} is damaged and valid entries follow it")
            # Before the torn tail is cut: a damaged last line the head says
            # was committed is damage, not an interrupted write.
            head_raw = self._verified_head(manifest, seq, scan, buf, jpath)
            _check_snapshots_reach(self.data_dir, manifest, states, seq, jpath)
            self._check_tail(scan, jpath, jfd)
        except BaseException:
            os.close(jfd)
            raise
        old = self._states
        if self._states and seq < self._seq:  # history went back: a restore
            changed = set(old) | set(states)
        else:
            changed = {n for n in set(old) | set(states)
                       if n not in old or n not in states or old[n].seq != states[n].seq}
        if self._jfd is not None:
            os.close(self._jfd)
        self._states, self._jfd, self._jpos, self._seq = states, jfd, pos, seq
        self._manifest, self._manifest_id = manifest, ident
        self._last_crc, self._head_raw = last_crc, head_raw
        if self._head_fd is not None:  # a restore puts a new store.head in place: open it afresh
            os.close(self._head_fd)
            self._head_fd = None
        for name, tbl in self._tables.items():
            st = states.get(name)
            if st is not None and st.version != tbl.version:
                log.warning("%s: data now at schema version %s, this code declares %s",
                            name, st.version, tbl.version)
        return changed

    def _check_tail(self, scan: files.Scan, jpath: str, jfd: int) -> None:
        """Decide about bytes after the last valid entry (a lock is held)."""
        if scan.bad_offset is None:
            return
        if scan.corrupt:
            raise CorruptData(jpath, f"the entry at byte {scan.bad_offset} is damaged and valid entries follow it")
        if self._lock.mode == "ex":
            size = os.fstat(jfd).st_size
            log.warning("%s: discarded %d bytes at byte %d: the unfinished write of a transaction that "
                        "was never committed", jpath, size - scan.valid_end, scan.valid_end)
            os.ftruncate(jfd, scan.valid_end)
            os.fsync(jfd)

    def _verified_head(self, manifest: dict, end_seq: int, scan: files.Scan, buf: bytes,
                       jpath: str) -> bytes | None:
        """Compare ``store.head`` with a journal read whole (``buf``) that ends at
        ``end_seq``: CorruptData when committed lines are missing; returns the
        head's bytes when they agree (None: no head, or a damaged one)."""
        head, raw = files.read_head(self.data_dir)
        if head is None:
            if raw is not None:
                log.warning("%s: damaged; the journal's end cannot be checked until the next "
                            "change rewrites it", self._head_path)
            return None
        start = manifest["seq"]

        def crc_of(seq: int) -> str | None:
            i = seq - start - 1
            return files.line_crc(buf, scan.entries[i][0]) if 0 <= i < len(scan.entries) else None

        problem = files.head_problem(head, manifest["generation"], end_seq, crc_of)
        if problem:
            raise CorruptData(jpath, problem)
        return raw

    def _check_head(self) -> None:
        """Before a write (the write lock held, caught up): the journal must
        reach what ``store.head`` says was committed, or this write would
        reuse sequence numbers and ids of lost changes."""
        fd = self._head_fd
        if fd is None:
            fd = self._head_fd = os.open(self._head_path, os.O_RDWR | os.O_CREAT, files.FILE_MODE)
        raw = os.pread(fd, files.HEAD_SIZE, 0)
        if raw == self._head_raw or not raw:
            return
        head = files.decode_head(raw)
        if head is None:
            log.warning("%s: damaged; this change rewrites it", self._head_path)
            return
        seq, start = self._seq, self._manifest["seq"]
        problem = files.head_problem(head, self._manifest["generation"], seq,
                                     lambda q: self._last_crc if q == seq and seq > start else None)
        if problem:
            raise CorruptData(os.path.join(self.data_dir, files.journal_name(self._manifest["generation"])),
                              problem)
        self._head_raw = raw

    def _write_head(self) -> None:
        """Record the last commit in ``store.head`` (after its fsync, lock held)."""
        gen, start = self._manifest["generation"], self._manifest["seq"]
        raw = files.encode_head(files.Head(self._seq, gen, self._seq - start, self._jpos,
                                           self._last_crc if self._seq > start else ""))
        try:
            os.pwrite(self._head_fd, raw, 0)
        except OSError as e:  # the commit stands; the head only lags
            log.warning("%s: cannot be updated (%s); the journal's end is checked against an older "
                        "mark until the next change", self._head_path, e.strerror)
            return
        self._head_raw = raw

    def _fresh(self) -> None:
        """Apply what other processes committed (cheap when nothing changed)."""
        if self._closed:
            raise StorageError(f"{self.data_dir}: the store is closed")
        if self._txn is not None:
            return  # we hold the write lock: nobody else has written
        self._catch_up()

    def _catch_up(self) -> None:
        try:
            ident = files.stat_id(os.stat(self._manifest_path))
        except FileNotFoundError:
            self._manifest_gone()
            return
        if ident != self._manifest_id:
            self._follow_generation()
            return
        size = os.fstat(self._jfd).st_size
        if size > self._jpos:
            self._read_journal()
        elif size < self._jpos:
            self._locked_reload()

    def _read_journal(self) -> bool:
        """Apply new complete entries of the open journal; False if a reload is needed."""
        jpath = os.path.join(self.data_dir, files.journal_name(self._manifest["generation"]))
        base = self._jpos
        buf = files.read_from(self._jfd, base)
        scan = files.scan_journal(buf, base)
        for offset, body in scan.entries:
            if body["seq"] != self._seq + 1:
                if self._lock.mode is None:
                    self._locked_reload()
                    return False
                raise CorruptData(jpath, f"entry at byte {offset} has seq {body['seq']}, expected {self._seq + 1}")
            touched = _apply_entry(self._states, body, jpath)
            self._seq = body["seq"]
            self._last_crc = files.line_crc(buf, offset - base)
            self._outside |= touched
        self._jpos = scan.valid_end
        if scan.bad_offset is not None:
            if self._lock.mode is not None:
                self._check_tail(scan, jpath, self._jfd)
            elif not scan.incomplete:
                # Unlocked, a damaged-looking line may be a write in progress:
                # look again with writers excluded.
                self._lock.acquire("sh")
                try:
                    self._read_journal()
                finally:
                    self._lock.release()
        return True

    def _manifest_gone(self) -> None:
        if self._lock.mode is not None:
            raise CorruptData(self._manifest_path, "the store manifest disappeared")
        # A restore moves it away under the write lock: wait for it.
        self._lock.acquire("sh")
        try:
            self._catch_up()
        finally:
            self._lock.release()

    def _follow_generation(self) -> None:
        """store.json changed: a compaction (or a restore) happened elsewhere."""
        try:
            manifest, ident = files.read_manifest(self.data_dir)
        except FileNotFoundError:
            self._manifest_gone()
            return
        if (manifest["parent"] == self._manifest["token"]
                and manifest["generation"] == self._manifest["generation"] + 1):
            # The old journal is complete and still readable through our fd.
            if not self._read_journal():
                return  # it reloaded
            if self._seq == manifest["seq"]:
                jpath = os.path.join(self.data_dir, files.journal_name(manifest["generation"]))
                try:
                    jfd = files.open_journal(jpath, write=not self.read_only)
                except FileNotFoundError:
                    jfd = None  # compacted again meanwhile
                if jfd is not None:
                    os.close(self._jfd)
                    self._jfd, self._jpos = jfd, 0
                    self._manifest, self._manifest_id = manifest, ident
                    for name, info in manifest["tables"].items():
                        if name in self._states:
                            self._states[name].snap_seq = info["seq"]
                            _forget_replayed(self._states[name])
                            if self._states[name].lazy is not None:  # rewritten: maybe in segments now
                                self._states[name].lazy.segmented = True
                    self._catch_up()
                    return
        self._locked_reload()

    def _locked_reload(self) -> None:
        if self._lock.mode is None:
            self._lock.acquire("sh")
            try:
                self._outside |= self._reload()
            finally:
                self._lock.release()
        else:
            self._outside |= self._reload()

    def _state(self, name: str) -> _TableState:
        st = self._states.get(name)
        if st is None:
            raise StorageError(f"{name}: the table no longer exists in {self.data_dir} (data restored?); restart Backdesk")
        return st

    # -- tables -------------------------------------------------------------------

    def table(self, namespace: str, name: str, *, version: int = 1,
              migrations: Mapping[int, Callable[[dict], dict]] | None = None,
              derive: Callable[[dict], Mapping[str, Any]] | None = None,
              words: Iterable[str] = ()) -> JournalTable:
        # ``words``: nothing to keep here (a segment's words are read for any field: _Words)
        for part, what in ((namespace, "namespace"), (name, "table name")):
            if not isinstance(part, str) or not _NAME.match(part) or part in files.RESERVED_NAMES:
                raise StorageError(f"{what} {part!r}: use lower-case letters, digits and _ (not {sorted(files.RESERVED_NAMES)})")
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
                return tbl
            self._fresh()
            st = self._states.get(full)
            if st is None or st.version != version:
                upgrade = st is not None and st.version < version
                started = time.monotonic()
                if self.notice is not None:
                    self._on_wait = lambda: say(self, waiting_line(full, st and st.version, version))
                try:
                    with self.transaction():
                        migrated = self._prepare_table(full, version, migrations or {})
                finally:
                    self._on_wait = None
                if upgrade:
                    say(self, upgraded_line(full, version, time.monotonic() - started, migrated))
            tbl = self._tables[full] = JournalTable(self, full, version)
            tbl.derive = derive
            return tbl

    def _prepare_table(self, full: str, version: int, migrations: Mapping[int, Callable[[dict], dict]]) -> bool:
        """Create or migrate ``full`` (inside a transaction: the lock is held);
        True when this call migrated it."""
        txn = self._txn
        st = self._states.get(full)
        if st is None:
            st = self._states[full] = _TableState(full, version)
            txn.undo.append(lambda: self._states.pop(full, None))
            txn.ops.append({"op": "create", "t": full, "version": version})
            txn.notify.add(full)
            return False
        if st.version > version:
            raise Conflict(
                f"{full}: the data is at schema version {st.version} but this code knows only "
                f"version {version}; upgrade the plugin that owns it (older code must not write newer data)")
        if st.version == version:
            return False  # another process migrated it meanwhile
        missing = [v for v in range(st.version + 1, version + 1) if v not in migrations]
        if missing:
            raise StorageError(f"{full}: no migration to version {missing[0]} (from {st.version})")
        say(self, f"{full}: upgrading {len(st.docs):,} records from schema version {st.version} to {version}; "
                  f"first a backup of the whole store …")
        dest = os.path.join(self.data_dir, files.BACKUPS,
                            time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 10**9:09d}-before-{full}-v{version}")
        from .seal import seal_backup, start_backup

        files.make_dir(dest)
        start_backup(dest)
        files.copy_store(self.data_dir, dest, self._manifest, self._jfd, self._jpos)
        seal_backup(dest, source=self.data_dir, by=self.actor)
        log.info("%s: migrating from version %s to %s (backup in %s)", full, st.version, version, dest)
        say(self, f"{full}: the backup is in {dest}; upgrading the records …")
        for v in range(st.version + 1, version + 1):
            fn = migrations[v]
            for doc_id, old in list(st.docs.items()):
                try:
                    out = fn(_copy(old))
                except Exception as e:
                    raise StorageError(f"{full}: migration to version {v} failed on document {doc_id}: {e!r}") from e
                if not isinstance(out, Mapping):
                    raise StorageError(f"{full}: migration to version {v} returned {type(out).__name__} for document {doc_id}, not a dict")
                new = {"id": doc_id}
                new.update(_clean_doc(out, full, allow_id=doc_id))
                st.put(doc_id, new)
                txn.undo.append((st, doc_id, old, None, None))
                txn.ops.append({"op": "update", "t": full, "id": doc_id, "doc": new})
        txn.undo.append((st, None, None, None, st.version))
        st.version = version
        txn.ops.append({"op": "version", "t": full, "version": version})
        # Not added to txn.changes: a migration is not an operator's change,
        # so before/after_commit callbacks (the audit trail) do not see it.
        txn.notify.add(full)
        return True

    def tables(self) -> list[str]:
        with self._rlock:
            self._fresh()
            return sorted(self._states)

    def existing_table(self, name: str) -> JournalTable:
        with self._rlock:
            tbl = self._tables.get(name)
            if tbl is not None:
                return tbl
            self._fresh()
            st = self._states.get(name)
            if st is None:
                known = ", ".join(sorted(self._states)) or "none"
                raise NotFound(f"{name}: no such table in {self.data_dir} (tables: {known})")
            return JournalTable(self, name, st.version)

    # -- transactions ---------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._write():
            yield

    @contextmanager
    def _write(self) -> Iterator[_Txn]:
        notify: set[str] = set()
        changes: list[Change] = []
        with self._rlock:
            txn = self._txn
            if txn is not None:  # nested: a savepoint
                mark = txn.mark()
                try:
                    yield txn
                except BaseException:
                    txn.rollback_to(mark)
                    raise
                return
            if self._closed:
                raise StorageError(f"{self.data_dir}: the store is closed")
            self._begin()
            txn = self._txn
            try:
                yield txn
                self._commit(txn)
            except BaseException:
                txn.rollback_to((0, 0, 0))
                raise
            finally:
                self._txn = None
                self._lock.release()
            changes = txn.changes
            notify = txn.notify
        # Outside the locks: callbacks may be slow or read the store.
        if changes and self._after:
            for cb in list(self._after):
                try:
                    cb([_change_copy(c) for c in changes])
                except Exception:
                    log.exception("after_commit callback %r failed", cb)
        if notify:
            self._notify(notify)

    def _begin(self) -> None:
        if self.read_only:
            raise StorageError(f"{self.data_dir}: the data folder cannot be written "
                               f"({self._lock.read_only_reason}); nothing was saved")
        self._lock.acquire("ex", self._on_wait)
        try:
            self._catch_up()
            self._check_head()
        except BaseException:
            self._lock.release()
            raise
        self._txn = _Txn()

    def _commit(self, txn: _Txn) -> None:
        if not txn.ops:
            return
        if txn.changes and self._before:
            for cb in list(self._before):
                cb([_change_copy(c) for c in txn.changes])
        seq = self._seq + 1
        body = {"seq": seq, "ts": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                "actor": self.actor, "ops": txn.ops}
        try:
            line = files.encode_entry(body)
        except (TypeError, ValueError) as e:  # cannot happen with cleaned docs
            raise StorageError(f"{self.data_dir}: cannot encode the transaction: {e}") from e
        try:
            files.write_all(self._jfd, line)
            os.fsync(self._jfd)
        except BaseException as e:
            # Cut back a partial line (we still hold the lock) and report
            # that nothing was saved.
            try:
                os.ftruncate(self._jfd, self._jpos)
            except OSError:
                log.exception("could not cut back a failed journal write")
            if isinstance(e, OSError):
                raise StorageError(f"{self.data_dir}: the change could not be written "
                                   f"({e.strerror}); nothing was saved") from e
            raise
        self._seq = seq
        self._jpos += len(line)
        self._last_crc = line[:8].decode("ascii")
        for op in txn.ops:
            st = self._states.get(op["t"])
            if st is not None:
                st.seq = seq
        self._write_head()
        if self._jpos >= self.compact_bytes:
            try:
                self._compact()
            except StorageError as e:
                log.warning("%s; the journal keeps growing until the next try (the change itself was saved)", e)
            except Exception:
                log.exception("%s: compaction failed; the journal keeps growing until the next try", self.data_dir)

    # -- compaction -----------------------------------------------------------------

    def compact(self, *, rewrite: bool = False) -> None:
        """Write snapshots and start a new journal now (normally automatic).

        ``rewrite``: write every table's snapshot anew, also of tables that
        did not change (a snapshot written by an older version then gets the
        segments a session reads part of a big table by)."""
        with self._rlock:
            with self._write():
                self._compact(rewrite=rewrite)

    def _compact(self, *, rewrite: bool = False) -> None:
        """Under the write lock, fully caught up.

        Any failure (a full disk) leaves the store as it was: temporary files
        and the new journal are removed, and StorageError says why in one
        line.  Snapshots already replaced hold what they held plus changes
        up to this seq, which replay skips: nothing is lost."""
        old = self._manifest
        unloaded = {name for name, st in self._states.items() if st._docs is None}
        segmented = {name for name in unloaded if self._states[name].lazy.segmented}
        gen = old["generation"] + 1
        jpath = os.path.join(self.data_dir, files.journal_name(gen))
        jfd: int | None = None
        manifest: dict | None = None
        try:
            tables = {}
            for name, st in sorted(self._states.items()):
                info = old["tables"].get(name)
                if info is not None and st.seq <= st.snap_seq and not rewrite:
                    tables[name] = info
                    continue
                rel = snapshot_path(name)
                ns_dir = os.path.join(self.data_dir, rel.split("/")[0])
                files.make_dir(ns_dir)
                if st._docs is None and not rewrite and _write_tail(
                        st, os.path.join(self.data_dir, rel), self._seq, self.segment_docs):
                    tables[name] = {"file": rel, "seq": self._seq}
                    continue
                docs = sorted(st.docs.values(), key=lambda d: d["id"])
                files.write_atomic(os.path.join(self.data_dir, rel),
                                   files.encode_snapshot(name, st.version, st.next_id, self._seq, docs,
                                                         segment_docs=self.segment_docs))
                if self.segment_docs and len(docs) > self.segment_docs:
                    segmented.add(name)
                tables[name] = {"file": rel, "seq": self._seq}
            jfd = files.open_journal(jpath, create=True)
            os.fsync(jfd)
            files.fsync_dir(self.data_dir)
            manifest = files.new_manifest(gen, self._seq, tables, old["token"])
            files.write_manifest(self.data_dir, manifest)
        except BaseException as e:
            if not self._manifest_written(manifest):
                if jfd is not None:
                    os.close(jfd)
                    files.remove_quietly(jpath)
                if isinstance(e, OSError):
                    raise StorageError(f"{self.data_dir}: compaction failed ({e.strerror or e}); its temporary "
                                       "files were removed and nothing was lost") from e
                raise
            # The new manifest is in place (only syncing its folder failed): adopt it.
            log.warning("%s: compaction: the folder could not be synced after the manifest was written (%s)",
                        self.data_dir, e)
            if jfd is None:  # cannot happen: the manifest is written after the journal is opened
                raise
        ident = files.stat_id(os.stat(self._manifest_path))
        os.close(self._jfd)
        self._jfd, self._jpos = jfd, 0
        self._manifest, self._manifest_id = manifest, ident
        for name, info in tables.items():
            self._states[name].snap_seq = info["seq"]
        for name in unloaded:  # written from a load for the snapshot: let go again
            _unload(self._states[name], os.path.join(self.data_dir, tables[name]["file"]), name in segmented)
        self._write_head()
        # Leftovers: older journals, temp files of interrupted writes.
        current = files.journal_name(gen)
        try:
            for entry in os.scandir(self.data_dir):
                if (entry.name.startswith("journal-") and entry.name != current) or entry.name.endswith(".tmp"):
                    os.unlink(entry.path)
                elif entry.is_dir() and entry.name != files.BACKUPS:
                    for sub in os.scandir(entry.path):
                        if sub.name.endswith(".tmp"):
                            os.unlink(sub.path)
                        elif sub.name.endswith(".columns") and sub.is_dir():
                            _prune_columns(sub.path[:-len(".columns")] + ".json", entry.name, sub.name)
            files.fsync_dir(self.data_dir)
        except OSError as e:
            log.warning("%s: compacted, but old files could not be removed (%s); the next compaction "
                        "tries again", self.data_dir, e.strerror or e)
        log.info("%s: compacted into generation %d", self.data_dir, gen)

    def _manifest_written(self, manifest: dict | None) -> bool:
        """Whether ``manifest`` is the one store.json holds now."""
        if manifest is None:
            return False
        try:
            on_disk, _ = files.read_manifest(self.data_dir)
        except (OSError, CorruptData):
            return False
        return on_disk.get("token") == manifest["token"]

    # -- watching for changes -------------------------------------------------------

    def refresh(self) -> set[str]:
        with self._rlock:
            self._fresh()
            names, self._outside = self._outside, set()
        if names:
            self._notify(names)
        return names

    # -- admin ----------------------------------------------------------------------

    def backup(self, dest: str | os.PathLike) -> None:
        from .seal import seal_backup, start_backup

        dest = files.prepare_dest(dest)
        start_backup(dest)
        with self._rlock:
            self._fresh()
            if self._txn is not None:
                files.copy_store(self.data_dir, dest, self._manifest, self._jfd, self._jpos)
            else:
                self._lock.acquire("sh")
                try:
                    self._catch_up()
                    files.copy_store(self.data_dir, dest, self._manifest, self._jfd, self._jpos)
                finally:
                    self._lock.release()
        seal_backup(dest, source=self.data_dir, by=self.actor)

    def check(self) -> list[str]:
        with self._rlock:
            if self._lock.mode is not None:
                return check_files(self.data_dir)
            self._lock.acquire("sh")
            try:
                return check_files(self.data_dir)
            finally:
                self._lock.release()

    def close(self) -> None:
        with self._rlock:
            if self._closed:
                return
            self._closed = True
            self._stop_watching()
            if self._jfd is not None:
                os.close(self._jfd)
                self._jfd = None
            if self._head_fd is not None:
                os.close(self._head_fd)
                self._head_fd = None
            self._lock.close()

    def __repr__(self) -> str:
        return f"<JournalStore {self.data_dir}>"


def _change_copy(c: Change) -> Change:
    return Change(c.table, c.op, c.id, _copy(c.before), _copy(c.after))


def open_store(data_dir: str | os.PathLike, **options: Any) -> JournalStore:
    """Open (creating if needed) the store in ``data_dir``."""
    return JournalStore(data_dir, **options)


# -- checking the files (Store.check, core.storage.admin.check) -------------------------


def check_files(data_dir: str) -> list[str]:
    """Verify every data file (the caller keeps writers out); one line per problem."""
    problems: list[str] = []
    if not os.path.isdir(data_dir):
        return [f"{data_dir}: not a directory"]
    if seal.is_backup(data_dir):  # a backup: complete, and holding what its marker lists
        problems += seal.verify_backup(data_dir)
    mpath = os.path.join(data_dir, files.MANIFEST)
    try:
        manifest, _ = files.read_manifest(data_dir)
    except FileNotFoundError:
        return problems or [f"{mpath}: missing; {data_dir} is not a Backdesk data directory, or its manifest "
                            "was lost (restore from a backup with `backdesk restore SRC`)"]
    except CorruptData as e:
        return problems + [str(e)]
    states: dict = {}
    snap_seqs: dict[str, int] = {}
    sound = True
    for name, info in sorted(manifest["tables"].items()):
        try:
            snap = files.read_snapshot(os.path.join(data_dir, info["file"]), name)
        except CorruptData as e:
            problems.append(str(e))
            sound = False
            continue
        if snap.seq < info["seq"]:
            # (A newer one is the trace of a compaction that was interrupted:
            # replay skips what it holds.)
            problems.append(f"{os.path.join(data_dir, info['file'])}: holds changes up to seq {snap.seq} but "
                            f"store.json needs {info['seq']} (an older copy of the file); restore from a backup")
            sound = False
        snap_seqs[name] = snap.seq
        states[name] = _TableState(name, snap.version, next_id=snap.next_id, seq=snap.seq,
                                   snap_seq=snap.seq, docs=snap.docs)
    jpath = os.path.join(data_dir, files.journal_name(manifest["generation"]))
    try:
        with open(jpath, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        problems.append(f"{jpath}: the journal is missing (store.json names it); restore from a backup")
        data = None
    if data is not None:
        scan = files.scan_journal(data)
        seq = manifest["seq"]
        in_order = []
        for offset, body in scan.entries:
            if body["seq"] != seq + 1:
                problems.append(f"{jpath}: entry at byte {offset} has seq {body['seq']}, expected {seq + 1}; "
                                "restore from a backup")
                break
            seq = body["seq"]
            in_order.append(offset)
            if sound:
                try:
                    _apply_entry(states, body, jpath)
                except CorruptData as e:
                    problems.append(str(e))
                    break
        if scan.corrupt:
            problems.append(str(CorruptData(
                jpath, f"the entry at byte {scan.bad_offset} is damaged and valid entries follow it")))
        # A torn tail (an interrupted, never-acknowledged write) is not a
        # problem: the next write discards it -- unless store.head says it
        # was committed (below).
        problems += _check_journal_end(data_dir, manifest, snap_seqs, seq, jpath, data, in_order)
    for root, dirs, names in os.walk(data_dir):
        if root == data_dir and files.BACKUPS in dirs:
            dirs.remove(files.BACKUPS)
        for d in dirs:
            _check_mode(os.path.join(root, d), files.DIR_MODE, problems)
        for n in names:
            _check_mode(os.path.join(root, n), files.FILE_MODE, problems)
    return problems


def _check_journal_end(data_dir: str, manifest: dict, snap_seqs: dict[str, int], end_seq: int, jpath: str,
                       data: bytes, offsets: list[int]) -> list[str]:
    """The journal's end (``end_seq``) against the snapshots and store.head."""
    problems = []
    for name, snap_seq in sorted(snap_seqs.items()):
        if snap_seq > end_seq:
            path = os.path.join(data_dir, manifest["tables"][name]["file"])
            problems.append(f"{path}: holds changes up to seq {snap_seq}, but the journal {os.path.basename(jpath)} "
                            f"ends at seq {end_seq}: committed lines are missing from the journal; "
                            "restore from a backup")
    head, raw = files.read_head(data_dir)
    if head is None and raw is not None:
        problems.append(f"{os.path.join(data_dir, files.HEAD)}: damaged, so the journal's end cannot be checked "
                        "(the next change rewrites it)")
    elif head is not None:
        start = manifest["seq"]

        def crc_of(seq: int) -> str | None:
            i = seq - start - 1
            return files.line_crc(data, offsets[i]) if 0 <= i < len(offsets) else None

        problem = files.head_problem(head, manifest["generation"], end_seq, crc_of)
        if problem:
            problems.append(f"{jpath}: {problem}; restore from a backup")
    return problems


def _check_mode(path: str, mode: int, problems: list[str]) -> None:
    try:
        actual = os.lstat(path).st_mode & 0o777
    except FileNotFoundError:
        return
    if actual & 0o077:
        problems.append(f"{path}: mode {actual:04o} lets other users in; run `chmod {mode:o} {path}`")


# -- writing a whole store (a migration to TinyDB, a PostgreSQL store's backup) ------------


def write_tinydb(dest: str | os.PathLike, tables: Iterable[tuple[str, int, int, list[dict]]], *,
                 prepared: bool = False) -> str:
    """A new default-backend data directory in ``dest`` (new or empty) holding ``tables``.

    Written as a compaction leaves it: one snapshot per table, an empty
    journal, the manifest last. ``prepared``: ``dest`` was made ready
    already (a backup's, holding its ``backup.partial``).
    """
    dest = os.path.abspath(os.fspath(dest)) if prepared else files.prepare_dest(dest)
    entries = {}
    for name, version, next_id, docs in tables:
        rel = snapshot_path(name)
        files.make_dir(os.path.join(dest, rel.split("/")[0]))
        top = max((d["id"] for d in docs), default=0)
        files.write_atomic(os.path.join(dest, rel),
                           files.encode_snapshot(name, version, max(next_id, top + 1), 0, docs))
        entries[name] = {"file": rel, "seq": 0}
    fd = files.open_journal(os.path.join(dest, files.journal_name(1)), create=True)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for entry in os.scandir(dest):
        if entry.is_dir():
            files.fsync_dir(entry.path)
    files.fsync_dir(dest)
    files.write_manifest(dest, files.new_manifest(1, 0, entries, None))
    return dest
