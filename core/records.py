"""The base of Backdesk's frozen record classes (configuration, plugin API,
services, storage).

``@dataclass(frozen=True)`` compiles each method it writes, one ``exec`` per
method, when the class is created: about 0.5 ms a class on the 2-vCPU VM,
paid at every start for every record class imported (the shell's start
creates some 40). A class that says ``@dataclass(frozen=True, repr=False,
eq=False)`` and derives from :class:`Record` gets ``__repr__``, ``__eq__`` and
``__hash__`` that behave exactly as the generated ones (the same fields by
their ``repr``, ``compare`` and ``hash`` flags, the same results) but are
written once here: ~0.2 ms less a class (docs/performance.md, "Start-up").
Only for frozen classes: a mutable dataclass with ``eq`` is unhashable,
which this base is not.
"""

from __future__ import annotations

import reprlib
from dataclasses import fields


class Record:
    """``__repr__``, ``__eq__`` and ``__hash__`` of a frozen dataclass, written once."""

    __slots__ = ()

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in record_fields(type(self))[0])
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            names = record_fields(self.__class__)[1]
            return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in record_fields(self.__class__)[2]))


_RECORD_FIELDS: dict[type, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}


def record_fields(cls: type) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The fields ``cls`` shows in repr, compares and hashes (as dataclasses picks them)."""
    names = _RECORD_FIELDS.get(cls)
    if names is None:
        fs = fields(cls)
        names = _RECORD_FIELDS[cls] = (
            tuple(f.name for f in fs if f.repr),
            tuple(f.name for f in fs if f.compare),
            tuple(f.name for f in fs if (f.compare if f.hash is None else f.hash)),
        )
    return names
