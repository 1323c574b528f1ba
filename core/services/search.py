"""Global search: people from the directory plus every plugin's hits.

``services.search.search("müller")`` asks core (the people directory, when
the operator may read it) and each plugin's ``backdesk_search`` hook — each
plugin on its own, so a failing one is recorded and skipped — and merges the
hits by score. The Search screen (Ctrl+F) and the command palette
(:class:`SearchCommands`) use it alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from core.api.hookspecs import SearchHit
from core.i18n import _
from core.services.people import status_title
from core.records import Record

log = logging.getLogger("backdesk.search")

#: the most hits a single plugin may contribute
PER_PLUGIN = 20


@dataclass(frozen=True, repr=False, eq=False)
class Result(Record):
    """A hit and who found it."""

    owner: str  # "core" or a plugin name
    hit: SearchHit

    @property
    def title(self) -> str:
        return self.hit.title

    @property
    def detail(self) -> str:
        return self.hit.detail

    @property
    def score(self) -> float:
        return self.hit.score


def open_hit(app, hit: SearchHit) -> None:
    """Jump to a hit in the running app: its ``open(app)``, else its target screen."""
    if hit.open is not None:
        hit.open(app)
    elif hit.target:
        app.open_nav(hit.target)


def _person_score(query: str, doc: dict) -> float:
    q = query.casefold().strip()
    name = (doc.get("name") or "").casefold()
    if name == q or doc.get("extension") == q or (doc.get("email") or "") == q:
        return 1.0
    if name.startswith(q):
        return 0.9
    if any(part.startswith(q) for part in name.split()):
        return 0.8
    if q in name:
        return 0.7
    return 0.5


class GlobalSearch:
    """``services.search``."""

    def __init__(self, backdesk) -> None:
        self.backdesk = backdesk

    def core_hits(self, query: str) -> list[SearchHit]:
        people = getattr(self.backdesk.services, "people", None)
        if people is None or not self.backdesk.operator.can("core.directory.read"):
            return []
        hits = []
        for doc in people.find(query, limit=200):
            detail = " · ".join(p for p in (
                doc.get("department"), doc.get("title"),
                _("ext. {ext}").format(ext=doc["extension"]) if doc.get("extension") else "",
                doc.get("email"), status_title(doc["status"]) if doc.get("status") != "active" else "",
            ) if p)
            hits.append(SearchHit(title=doc["name"], detail=detail, target="directory",
                                  open=_person_opener(doc["id"]), score=_person_score(query, doc)))
        hits.sort(key=lambda h: -h.score)
        return hits[:PER_PLUGIN]

    def search(self, query: str, *, limit: int = 50) -> list[Result]:
        """Hits from core and every plugin, best first (ties keep plugin order)."""
        query = (query or "").strip()
        if not query:
            return []
        results = [Result("core", hit) for hit in self.core_hits(query)]
        per_owner: dict[str, int] = {}
        for rec, hit in self.backdesk.host.collect("backdesk_search", query=query):
            if not isinstance(hit, SearchHit):
                log.warning("plugin %s returned %r from backdesk_search, not a SearchHit", rec.name, hit)
                continue
            if per_owner.get(rec.name, 0) >= PER_PLUGIN:
                continue
            per_owner[rec.name] = per_owner.get(rec.name, 0) + 1
            results.append(Result(rec.name, hit))
        order = {id(r): n for n, r in enumerate(results)}
        results.sort(key=lambda r: (-_as_score(r.hit.score), order[id(r)]))
        return results[:limit]


def _as_score(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _person_opener(person_id: int):
    def open_person(app) -> None:
        app.show_person(person_id)  # the shell knows its screens (core.shell.app)

    return open_person
