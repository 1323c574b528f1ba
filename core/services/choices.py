"""Finding a record by part of its name: what a picker offers as you type.

A service that lets an operator pick one of its records (a person, a
vendor, an account, an asset) offers a *source*: ``source(text) ->
list[Choice]``, with the permission check in the service like every other
read. The shared :class:`~core.shell.widgets.Picker` calls it on every key press
and shows each :class:`Choice`'s ``label`` with its ``detail`` under it; the
form stores the ``value`` (the record's id).

:func:`rank` orders candidates the way a person expects: the exact name
first, then names starting with what was typed, then names with a word
starting with each typed word ("off sup" → "expenses:office supplies"),
then names containing it anywhere, then records whose other text (their
department, their e-mail) contains it. Case and accents do not matter
("muller" finds "Müller", "strasse" "Straße").

No Textual import: the CLI and services use it too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, TypeVar
from core.records import Record

__all__ = ["Choice", "fold", "rank", "score"]

T = TypeVar("T")

#: how many choices a source returns unless asked for more
LIMIT = 20

_WORD_SPLIT = re.compile(r"[\s:/.,;()_\-–—]+")
_SPECIAL = str.maketrans({"ß": "ss", "ẞ": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l"})


@dataclass(frozen=True, repr=False, eq=False)
class Choice(Record):
    """One record a picker offers.

    Args:
        value: What the form stores (usually the record's id).
        label: The record's full name, as the operator knows it.
        detail: A second line that tells two records apart (department and
            extension, an account's balance, a vendor's terms).
    """

    value: Any
    label: str
    detail: str = ""


def fold(text: Any) -> str:
    """``text`` for comparing: case-folded, accents removed (é → e, ß → ss)."""
    folded = str(text or "").casefold().translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(folded: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(folded) if w]


def score(query: str, name: str, extra: str = "") -> int | None:
    """How well ``query`` matches a record called ``name`` (lower is better),
    or None when it does not match. ``extra`` is the record's other text.

    0 the name itself, 1 the name starts with it, 2 every typed word starts
    a word of the name, 3 the name contains every typed word, 4 the name and
    ``extra`` together contain every typed word.
    """
    q = fold(query).strip()
    if not q:
        return 5
    n = fold(name).strip()
    if n == q:
        return 0
    if n.startswith(q):
        return 1
    typed = _words(q) or [q]
    name_words = _words(n)
    if all(any(w.startswith(t) for w in name_words) for t in typed):
        return 2
    if q in n or all(t in n for t in typed):
        return 3
    both = n + " " + fold(extra)
    if all(t in both for t in typed):
        return 4
    return None


def rank(query: str, items: Iterable[T], name: Callable[[T], str],
         extra: Callable[[T], str] | None = None, *, limit: int | None = LIMIT) -> list[T]:
    """The ``items`` matching ``query``, best first (ties by name), at most ``limit``."""
    scored: list[tuple[int, str, int, T]] = []
    for position, item in enumerate(items):
        label = name(item)
        s = score(query, label, extra(item) if extra is not None else "")
        if s is not None:
            scored.append((s, fold(label), position, item))
    scored.sort(key=lambda row: row[:3])
    found = [row[3] for row in scored]
    return found if limit is None else found[:limit]


def best(query: str, choices: Sequence[Choice]) -> Choice | None:
    """The one choice ``query`` means without doubt: the only one offered,
    or the only one whose label is exactly ``query`` (case and accents aside)."""
    if len(choices) == 1:
        return choices[0]
    exact = [c for c in choices if fold(c.label).strip() == fold(query).strip()]
    return exact[0] if len(exact) == 1 else None
