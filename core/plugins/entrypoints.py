"""The ``backdesk`` entry points of the installed distributions, found cheaply.

``importlib.metadata.entry_points(group=...)`` builds a distribution object
for every ``*.dist-info``/``*.egg-info`` folder on ``sys.path`` and parses
every ``entry_points.txt``; with a well-filled site-packages that, and
importing ``importlib.metadata`` (which pulls in ``email``, ``zipfile``,
``csv`` …), costs about 20 ms of every start. :func:`entry_points` gives the
same answer for one group by listing each ``sys.path`` folder once and
reading only the ``entry_points.txt`` files of the distributions that count.

It follows ``importlib.metadata`` (Python 3.11) where it matters:

- distributions are the ``*.dist-info`` and ``*.egg-info`` folders of each
  ``sys.path`` entry, in ``sys.path`` order (``""`` is the current folder);
  within a folder they are grouped by normalised name in listing order;
- a distribution is known by its normalised name (PEP 503, ``-`` as ``_``)
  taken from the folder name, and the *first* one on ``sys.path`` wins: a
  later one of the same name is ignored even when only it has the group;
- editable installs need nothing special: pip writes their ``*.dist-info``
  into site-packages like any other (the ``__editable__`` finder entries
  on ``sys.path`` are not folders and are skipped);
- the result lists the group's entry points in that order; callers that
  build ``{ep.name: ep}`` get the same "last one wins" as before.

What it does not reproduce cheaply it hands to ``importlib.metadata``:
``sys.path`` entries that are files (zip archives) or ``*.egg`` folders are
searched by ``importlib.metadata.distributions(path=[entry])`` (only those
entries, in their place in the order), and when a finder on
``sys.meta_path`` other than the standard ``PathFinder`` can report
distributions (``find_distributions``), the whole lookup is done by
``importlib.metadata``.

Differences, on purpose: an unreadable or malformed ``entry_points.txt``
(not UTF-8, a line without ``=``) drops that distribution's entries (or that
line) instead of every distribution's, and a malformed value raises a
``ValueError`` naming it when loaded.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from typing import Any, Iterable

_SEPARATORS = re.compile(r"[-_.]+")
#: the syntax importlib.metadata.EntryPoint accepts: module[:attr][ [extras]]
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")
_INFO_SUFFIXES = (".dist-info", ".egg-info")


class EntryPoint:
    """One entry point: ``name = value`` in ``group`` of distribution ``dist_name``."""

    __slots__ = ("name", "value", "group", "dist_name", "location")

    def __init__(self, name: str, value: str, group: str, dist_name: str = "",
                 location: str = "") -> None:
        self.name = name
        self.value = value
        self.group = group
        #: the distribution's normalised name and its metadata folder (or
        #: the sys.path entry, for the ones importlib.metadata found)
        self.dist_name = dist_name
        self.location = location

    @property
    def module(self) -> str:
        return self._match().group("module")

    @property
    def attr(self) -> str | None:
        return self._match().group("attr")

    def _match(self) -> re.Match:
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"malformed entry point {self.name} = {self.value!r} "
                             "(expected module or module:attribute)")
        return match

    def load(self) -> Any:
        """Import the module and return it, or the named attribute of it
        (exactly as ``importlib.metadata.EntryPoint.load``)."""
        match = self._match()
        module = importlib.import_module(match.group("module"))
        attrs = filter(None, (match.group("attr") or "").split("."))
        return functools.reduce(getattr, attrs, module)

    def __repr__(self) -> str:
        return (f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r}, "
                f"dist={self.dist_name!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EntryPoint):
            return NotImplemented
        return (self.name, self.value, self.group) == (other.name, other.value, other.group)

    def __hash__(self) -> int:
        return hash((self.name, self.value, self.group))


def normalize(name: str) -> str:
    """A distribution name as importlib.metadata compares them."""
    return _SEPARATORS.sub("-", name).lower().replace("-", "_")


def entry_points(group: str, path: Iterable[str] | None = None) -> list[EntryPoint]:
    """The entry points of ``group`` of every distribution on ``path``
    (default ``sys.path``), in importlib.metadata's order."""
    if _other_finders():
        return _all_from_importlib(group, path)
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for entry in (sys.path if path is None else path):
        try:
            root = os.fspath(entry)
        except TypeError:
            continue
        if isinstance(root, bytes):
            root = os.fsdecode(root)
        if os.path.basename(root).lower().endswith(".egg"):
            found.extend(_from_importlib(root, group, seen))
            continue
        try:
            children = os.listdir(root or ".")
        except NotADirectoryError:
            if os.path.isfile(root):  # a zip archive
                found.extend(_from_importlib(root, group, seen))
            continue
        except OSError:
            continue
        # grouped by normalised name, in the order the listing first shows it
        infos: dict[str, list[str]] = {}
        for child in children:
            if child.lower().endswith(_INFO_SUFFIXES):
                stem = child[: child.rfind(".")]
                infos.setdefault(normalize(stem.partition("-")[0]), []).append(child)
        for name, folders in infos.items():
            if name in seen:
                continue
            seen.add(name)
            folder = os.path.join(root, folders[0])
            found.extend(_read(folder, group, name))
    return found


def _read(folder: str, group: str, dist_name: str) -> list[EntryPoint]:
    """The group's entries in ``folder/entry_points.txt`` ([] without one)."""
    try:
        with open(os.path.join(folder, "entry_points.txt"), encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return []
    if group not in text:
        return []
    return parse(text, group, dist_name, folder)


def parse(text: str, group: str, dist_name: str = "", location: str = "") -> list[EntryPoint]:
    """The entries of ``[group]`` in an ``entry_points.txt`` (the format
    importlib.metadata reads: stripped lines, ``#`` comments, ``[section]``,
    ``name = value``)."""
    out = []
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section != group:
            continue
        name, eq, value = line.partition("=")
        if not eq:
            continue  # importlib.metadata would give up on every distribution
        out.append(EntryPoint(name.strip(), value.strip(), group, dist_name, location))
    return out


def _other_finders() -> bool:
    """True when a meta-path finder besides PathFinder reports distributions."""
    from importlib.machinery import PathFinder

    return any(finder is not PathFinder and getattr(finder, "find_distributions", None) is not None
               for finder in sys.meta_path)


def _from_importlib(entry: str, group: str, seen: set[str]) -> list[EntryPoint]:
    """One sys.path entry (zip archive, egg) searched by importlib.metadata."""
    from importlib.metadata import distributions

    out = []
    for dist in distributions(path=[entry]):
        out.extend(_dist_entries(dist, group, seen, entry))
    return out


def _all_from_importlib(group: str, path: Iterable[str] | None) -> list[EntryPoint]:
    from importlib.metadata import distributions

    seen: set[str] = set()
    out = []
    dists = distributions() if path is None else distributions(path=list(path))
    for dist in dists:
        out.extend(_dist_entries(dist, group, seen, ""))
    return out


def _dist_entries(dist, group: str, seen: set[str], location: str) -> list[EntryPoint]:
    try:
        name = getattr(dist, "_normalized_name", None) or normalize(dist.metadata["Name"] or "")
    except Exception:
        return []
    if name in seen:
        return []
    seen.add(name)
    try:
        eps = [ep for ep in dist.entry_points if ep.group == group]
    except Exception:  # broken metadata of one distribution
        return []
    return [EntryPoint(ep.name, ep.value, group, name, location) for ep in eps]
