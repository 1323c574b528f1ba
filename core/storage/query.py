"""Query operators: the backend-neutral way to say which documents you want.

A *where* is a dict.  Each key is a field name (dotted for nested fields:
``"address.city"``) or a tuple of field names (any of them may match).  Each
value is either a plain JSON value (equality) or one of the operators below.
All entries must hold (AND).

These classes only describe a condition; each backend translates them (the
TinyDB engine into ``tinydb.Query`` objects, a PostgreSQL backend would
translate them into JSONB SQL).  Semantics every backend must keep:

* equality is type-strict: ``True`` does not equal ``1``; a missing field
  equals ``None``;
* ``Contains`` is a case-insensitive substring test on strings; on a list it
  matches when any string element contains the text;
* ``Range`` never matches a missing/``None`` value or a value of another type;
* ``Not(x)`` matches whatever ``x`` does not (including missing fields);
* ordering puts missing/``None`` before every value, then booleans, numbers,
  strings, then lists/objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Iterable, Mapping
from core.records import Record

__all__ = ["AnyOf", "Range", "Contains", "Not", "Operator", "split_path", "sort_docs", "projection"]


class Operator:
    """Base class of the query operators (a marker for backends)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class AnyOf(Operator, Record):
    """The field equals one of ``values``."""

    values: tuple

    def __init__(self, values: Iterable[Any]) -> None:
        if isinstance(values, (str, bytes, Mapping)):
            raise TypeError("AnyOf takes a list of values, not a single value")
        object.__setattr__(self, "values", tuple(values))


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Range(Operator, Record):
    """The field lies within bounds: ``Range(ge="2026-01-01", lt="2026-02-01")``."""

    gt: Any = None
    ge: Any = None
    lt: Any = None
    le: Any = None

    def __post_init__(self) -> None:
        if self.gt is None and self.ge is None and self.lt is None and self.le is None:
            raise TypeError("Range needs at least one of gt, ge, lt, le")
        if self.gt is not None and self.ge is not None:
            raise TypeError("Range takes gt or ge, not both")
        if self.lt is not None and self.le is not None:
            raise TypeError("Range takes lt or le, not both")


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Contains(Operator, Record):
    """The field (a string, or a list of strings) contains ``text``, ignoring case."""

    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError("Contains takes a string")


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Not(Operator, Record):
    """Negates an operator, or means "not equal" for a plain value."""

    cond: Any


def split_path(field: str) -> tuple[str, ...]:
    """``"address.city"`` -> ``("address", "city")``."""
    if not isinstance(field, str) or not field:
        raise TypeError(f"field names are non-empty strings, not {field!r}")
    return tuple(field.split("."))


def projection(fields: Iterable[str] | None) -> tuple[str, ...] | None:
    """``find(fields=...)`` checked: the top-level keys wanted besides ``id``
    (in order, once each), or None for whole documents."""
    if fields is None:
        return None
    if isinstance(fields, (str, bytes, Mapping)):
        raise TypeError("fields takes a list of field names, not a single value")
    out: list[str] = []
    for f in fields:
        if not isinstance(f, str) or not f or "." in f or "\x00" in f:
            raise TypeError(f"fields are top-level field names, not {f!r}")
        if f != "id" and f not in out:
            out.append(f)
    return tuple(out)


_MISSING = object()


def get_path(doc: Mapping, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in ``doc``, or ``None`` when any step is missing."""
    value: Any = doc
    for part in path:
        if type(value) is not dict:
            return None
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return None
    return value


def sort_key(value: Any) -> tuple:
    """A total order over JSON values (see the module docstring)."""
    if value is None:
        return (0,)
    t = type(value)
    if t is bool:
        return (1, value)
    if t is int or t is float:
        return (2, value)
    if t is str:
        return (3, value)
    return (4, json.dumps(value, sort_keys=True, ensure_ascii=False))


_by_id = itemgetter("id")


def sort_docs(docs: list[dict], order_by: str | Iterable[str] | None) -> list[dict]:
    """Sort ``docs`` in place by ``order_by`` ("-field" for descending), then id."""
    if isinstance(order_by, str):
        order_by = [order_by]
    elif order_by:
        order_by = list(order_by)
    if order_by and order_by[0] in ("id", "-id"):  # ids are unique: the rest never decides
        docs.sort(key=_by_id, reverse=order_by[0] == "-id")
        return docs
    docs.sort(key=_by_id)
    if not order_by:
        return docs
    for field in reversed(list(order_by)):
        desc = field.startswith("-")
        path = split_path(field[1:] if desc else field)
        # list.sort is stable, also with reverse=True: earlier keys win.
        docs.sort(key=lambda d: sort_key(get_path(d, path)), reverse=desc)
    return docs
