"""Translate a backend-neutral *where* dict into a TinyDB query.

TinyDB is the query engine of the default backend: a where dict becomes a
``tinydb.Query`` (a callable over a document) that the engine runs over the
table's documents in memory.  The semantics are those documented in
:mod:`core.storage.query`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from tinydb import Query
from tinydb.queries import QueryInstance

from .query import AnyOf, Contains, Not, Operator, Range, split_path


def _field(path: tuple[str, ...]) -> Query:
    q = Query()
    for part in path:
        q = q[part]
    return q


def _eq(value: Any, target: Any) -> bool:
    # Type-strict: JSON true is not 1 (json/JSONB agree), 1 == 1.0 is fine.
    if type(value) is bool or type(target) is bool:
        return type(value) is type(target) and value == target
    return value == target


def _is_none(value: Any) -> bool:
    return value is None


def _contains(value: Any, needle: str) -> bool:
    if type(value) is str:
        return needle in value.casefold()
    if type(value) is list:
        return any(type(v) is str and needle in v.casefold() for v in value)
    return False


def _comparable(value: Any, bound: Any) -> bool:
    if value is None or type(value) is bool or type(bound) is bool:
        return False
    if isinstance(bound, (int, float)):
        return type(value) in (int, float) and not (type(value) is float and math.isnan(value))
    return type(value) is type(bound)


def _in_range(value: Any, r: Range) -> bool:
    try:
        if r.gt is not None and not (_comparable(value, r.gt) and value > r.gt):
            return False
        if r.ge is not None and not (_comparable(value, r.ge) and value >= r.ge):
            return False
        if r.lt is not None and not (_comparable(value, r.lt) and value < r.lt):
            return False
        if r.le is not None and not (_comparable(value, r.le) and value <= r.le):
            return False
    except TypeError:
        return False
    return True


_SCALARS = (bool, int, float, str, type(None))


class _Targets:
    """AnyOf's values for testing many documents: scalars in a set keyed by
    (is a boolean, value) — type-strict as :func:`_eq`: true is not 1, 1 is
    1.0 — the rest (lists, objects, subclasses) compared one by one."""

    __slots__ = ("values", "keys", "rest")

    def __init__(self, values: tuple) -> None:
        self.values = values
        keys, rest = set(), []
        for v in values:
            if type(v) in _SCALARS:
                keys.add((type(v) is bool, v))
            else:
                rest.append(v)
        self.keys, self.rest = frozenset(keys), tuple(rest)

    def __hash__(self) -> int:  # TinyDB keys its query cache by the query's arguments
        return hash(self.values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Targets) and other.values == self.values


def _any_of(value: Any, targets: _Targets) -> bool:
    if type(value) in _SCALARS:
        return (type(value) is bool, value) in targets.keys or any(_eq(value, t) for t in targets.rest)
    return any(_eq(value, t) for t in targets.values)


def value_test(cond: Any, missing: Any) -> Callable[[Any], bool]:
    """``cond`` as a test of one field's value, ``missing`` standing for a
    document without the field: what :func:`compile_where`'s query answers
    for that field (a segment's column tested value by value)."""
    if isinstance(cond, Not):
        inner = value_test(cond.cond, missing)
        return lambda v: not inner(v)
    if isinstance(cond, AnyOf):
        targets = _Targets(cond.values)
        keys, rest, values = targets.keys, targets.rest, targets.values
        none_too = any(v is None for v in cond.values)

        def any_of(v: Any) -> bool:
            if v is missing:
                return none_too
            if type(v) in _SCALARS:
                return (type(v) is bool, v) in keys or (bool(rest) and any(_eq(v, t) for t in rest))
            return any(_eq(v, t) for t in values)
        return any_of
    if isinstance(cond, Range):
        return lambda v: v is not missing and _in_range(v, cond)
    if isinstance(cond, Contains):
        needle = cond.text.casefold()
        return lambda v: v is not missing and _contains(v, needle)
    if isinstance(cond, Operator):
        raise TypeError(f"unknown query operator {cond!r}")
    if cond is None:
        return lambda v: v is missing or v is None
    if isinstance(cond, float) and not math.isfinite(cond):
        raise TypeError("queries compare JSON values; NaN/inf are not JSON")
    return lambda v: v is not missing and _eq(v, cond)


def _condition(path: tuple[str, ...], cond: Any) -> QueryInstance:
    q = _field(path)
    if isinstance(cond, Not):
        return ~_condition(path, cond.cond)
    if isinstance(cond, AnyOf):
        inst = q.test(_any_of, _Targets(cond.values))
        if any(v is None for v in cond.values):
            inst = inst | ~q.exists()
        return inst
    if isinstance(cond, Range):
        return q.test(_in_range, cond)
    if isinstance(cond, Contains):
        return q.test(_contains, cond.text.casefold())
    if isinstance(cond, Operator):
        raise TypeError(f"unknown query operator {cond!r}")
    if cond is None:
        return q.test(_is_none) | ~q.exists()
    if isinstance(cond, float) and not math.isfinite(cond):
        raise TypeError("queries compare JSON values; NaN/inf are not JSON")
    return q.test(_eq, cond)


def compile_where(where: Mapping[Any, Any] | None) -> QueryInstance | None:
    """A TinyDB query for ``where``, or ``None`` when it matches everything."""
    if not where:
        return None
    if not isinstance(where, Mapping):
        raise TypeError(f"where must be a dict of field -> condition, not {type(where).__name__}")
    result: QueryInstance | None = None
    for key, cond in where.items():
        if isinstance(key, tuple):
            if not key:
                raise TypeError("an empty tuple of fields matches nothing")
            part: QueryInstance | None = None
            for field in key:
                inst = _condition(split_path(field), cond)
                part = inst if part is None else part | inst
        else:
            part = _condition(split_path(key), cond)
        result = part if result is None else result & part
    return result
