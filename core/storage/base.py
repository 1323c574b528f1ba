"""The backend-neutral storage API: what every backend serves.

Plugins see only :class:`Store`, :class:`Table`, :class:`Change`, the query
operators and the errors.  The default backend (:mod:`core.storage.engine`)
keeps data in JSON files with TinyDB as the query engine; a PostgreSQL (JSONB)
backend can implement the same classes without any plugin changing.
"""

from __future__ import annotations

import abc
import logging
import os
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from .filestore import FileStore, FolderFileStore, check_area
from .holds import FolderHold, Hold, folder_holds
from core.records import Record

log = logging.getLogger("backdesk.storage")

Where = Mapping[Any, Any]


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Change(Record):
    """One document change inside a committed (or committing) transaction."""

    table: str                 # "hr.cases"
    op: str                    # "insert" | "update" | "delete"
    id: int
    before: dict | None        # None for an insert
    after: dict | None         # None for a delete


class Table(abc.ABC):
    """One table of one namespace.  Documents are JSON objects with an int ``id``."""

    name: str  # "namespace.table"
    #: ``derive(doc) -> {field: value}``: fields kept from a document's
    #: others, merged into it on every insert, update and replace (set by
    #: ``store.table(..., derive=)``; the document has its id except on insert)
    derive: Callable[[dict], Mapping[str, Any]] | None = None

    @abc.abstractmethod
    def insert(self, doc: Mapping[str, Any]) -> int:
        """Store a new document; return its id (final at once, never reused)."""

    @abc.abstractmethod
    def get(self, doc_id: int) -> dict | None:
        """A copy of the document (with its ``id``), or ``None``."""

    def __getitem__(self, doc_id: int) -> dict:
        doc = self.get(doc_id)
        if doc is None:
            from .errors import NotFound

            raise NotFound(f"{self.name}: no document with id {doc_id}")
        return doc

    def update(self, doc_id: int, changes: Mapping[str, Any]) -> dict:
        """Merge ``changes`` into the document (top-level keys); return the new doc."""
        doc_id, clean = self._checked(doc_id, changes)
        return self._put(doc_id, lambda old: self._derived({**old, **clean}))

    def replace(self, doc_id: int, doc: Mapping[str, Any]) -> dict:
        """Replace the whole document (the id stays); return the new doc."""
        doc_id, clean = self._checked(doc_id, doc)
        return self._put(doc_id, lambda old: self._derived({"id": doc_id, **clean}))

    def _derived(self, doc: dict) -> dict:
        """``doc`` with the fields :attr:`derive` keeps (checked as any write's)."""
        if self.derive is None:
            return doc
        extra = self.derive(doc)
        if not extra:
            return doc
        _id, clean = self._checked(doc.get("id", 0), extra)
        return {**doc, **clean}

    @abc.abstractmethod
    def _checked(self, doc_id: Any, doc: Mapping[str, Any]) -> tuple[int, dict]:
        """The id as an int and ``doc`` as the backend stores it (may keep ``id``
        only when it equals the document's own); raises for anything else."""

    @abc.abstractmethod
    def _put(self, doc_id: int, make: Callable[[dict], dict]) -> dict:
        """Write ``make(old)`` in place of document ``doc_id`` in one transaction;
        NotFound when there is none; returns a copy of the new document."""

    @abc.abstractmethod
    def delete(self, doc_id: int) -> None:
        """Remove the document; its id is never handed out again."""

    @abc.abstractmethod
    def find(
        self,
        where: Where | None = None,
        *,
        order_by: str | Iterable[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        fields: Iterable[str] | None = None,
    ) -> list[dict]:
        """Copies of the matching documents (see :mod:`core.storage.query`).

        ``fields``: only these top-level keys of each document (and ``id``),
        those it has (a projection: a list reads what it shows, PostgreSQL
        sends only those)."""

    @abc.abstractmethod
    def count(self, where: Where | None = None) -> int:
        """How many documents match."""

    def all(self) -> list[dict]:
        """Every document, in id order."""
        return self.find()

    def prepare_search(self, fields: Iterable[str]) -> None:
        """Read now what a ``Contains`` on these top-level ``fields`` will
        read, so the first search does not wait for it (a screen's filter
        calls it in a thread when ``/`` opens). Safe from any thread; does
        nothing where a search reads nothing ahead (PostgreSQL asks its
        indexes; a table held in memory)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


Callback = Callable[[Any], None]


def waiting_line(full: str, stored: int | None, version: int) -> str:
    """What a start says while it waits for another process's write lock to
    create or upgrade the table ``full`` (``stored``: its version, None: new)."""
    if stored is not None and stored < version:
        return (f"{full}: waiting for another Backdesk process that is writing the store "
                f"(upgrading it from schema version {stored} to {version}?) …")
    return ("waiting for another Backdesk process that is writing the store "
            "(the first start after a new release upgrades its tables) …")


def upgraded_line(full: str, version: int, seconds: float, migrated: bool) -> str:
    """What a start says after ``full`` reached schema ``version``: this
    process upgraded it in ``seconds``, or another did while it waited."""
    if migrated:
        return f"{full}: upgraded to schema version {version} in {seconds:.1f} s"
    return f"{full}: upgraded to schema version {version} by another process"


def say(store: "Store", line: str) -> None:
    """Tell ``store.notice`` (the terminal) ``line``; a terminal gone stops no upgrade."""
    if store.notice is not None:
        try:
            store.notice(line)
        except Exception:  # noqa: BLE001 — an upgrade goes on without its lines
            log.warning("%s", line)


class Store(abc.ABC):
    """All tables of all namespaces in one data directory."""

    actor: str | None  # who writes (recorded in the journal, read by the audit trail)
    #: where the store says, one line each, what a start waits for: a
    #: table's upgrade to a newer schema version (its backup, its records,
    #: how long it took) and another process's write lock before it (a
    #: second session started meanwhile). The command line sets it to the
    #: terminal (core.cli.launch); None: the log alone.
    notice: Callable[[str], None] | None = None

    @abc.abstractmethod
    def table(
        self,
        namespace: str,
        name: str,
        *,
        version: int = 1,
        migrations: Mapping[int, Callable[[dict], dict]] | None = None,
        derive: Callable[[dict], Mapping[str, Any]] | None = None,
        words: Iterable[str] = (),
    ) -> Table:
        """The table ``namespace.name``, created or migrated to ``version``;
        ``derive``: fields it keeps on every write (:attr:`Table.derive`);
        ``words``: fields searched for words (a ``Contains`` of one word on
        them: PostgreSQL keeps each one's words in a column of their own with
        a trigram index; the TinyDB backend finds any field's words by
        itself). What a search finds is the same either way."""

    @abc.abstractmethod
    def tables(self) -> list[str]:
        """Names ("ns.table") of every table in the store."""

    @abc.abstractmethod
    def existing_table(self, name: str) -> Table:
        """An existing table by full name ("ns.table"), without declaring a
        version (for tools such as export); NotFound if there is none."""

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """All-or-nothing across any tables; nested blocks are savepoints."""

    @abc.abstractmethod
    def refresh(self) -> set[str]:
        """Read changes committed elsewhere; return the names of changed tables."""

    # -- callbacks: the same for every backend --------------------------------------
    def _init_callbacks(self) -> None:
        self._on_change: list[Callable[[set[str]], None]] = []
        self._before: list[Callable[[list[Change]], None]] = []
        self._after: list[Callable[[list[Change]], None]] = []

    def _notify(self, names: set[str]) -> None:
        for cb in list(self._on_change):
            try:
                cb(set(names))
            except Exception:
                log.exception("on_change callback %r failed", cb)

    @staticmethod
    def _subscribe(lst: list, cb: Callable) -> Callable[[], None]:
        lst.append(cb)

        def unsubscribe() -> None:
            if cb in lst:
                lst.remove(cb)

        return unsubscribe

    def on_change(self, callback: Callable[[set[str]], None]) -> Callable[[], None]:
        """Call ``callback(names)`` when tables change; returns an unsubscribe function."""
        return self._subscribe(self._on_change, callback)

    def before_commit(self, callback: Callable[[list[Change]], None]) -> Callable[[], None]:
        """Call ``callback(changes)`` inside each transaction before it is written."""
        return self._subscribe(self._before, callback)

    def after_commit(self, callback: Callable[[list[Change]], None]) -> Callable[[], None]:
        """Call ``callback(changes)`` after each transaction is durable."""
        return self._subscribe(self._after, callback)

    def watch(self, interval: float = 0.5) -> None:
        """Call :meth:`refresh` every ``interval`` seconds in a daemon thread.

        ``on_change`` callbacks then run in that thread: a Textual app hops
        back with ``app.call_from_thread``.  :meth:`close` stops it.  A
        backend with push notifications (PostgreSQL LISTEN) may override it.
        """
        if getattr(self, "_watcher", None) is not None:
            return
        stop = self._watch_stop = threading.Event()

        def loop() -> None:
            from .errors import StorageError

            while not stop.wait(interval):
                try:
                    self.refresh()
                except StorageError as e:
                    if stop.is_set():
                        return
                    logging.getLogger("backdesk.storage").error("%s", e)

        self._watcher = threading.Thread(target=loop, name="backdesk-store-watch", daemon=True)
        self._watcher.start()

    def _stop_watching(self) -> None:
        stop = getattr(self, "_watch_stop", None)
        if stop is not None:
            stop.set()

    # -- files: the same interface for every backend ------------------------------------
    def files(self, area: str, *, local_dir: str | os.PathLike, full_names: bool = False) -> FileStore:
        """The content-addressed files of ``area`` ("documents/files"; see
        :mod:`core.storage.filestore`).  ``local_dir`` is the host's data
        folder: the default backend keeps the files in ``<local_dir>/<area>``
        (``full_names``: named by the whole hash, HR's layout), a backend that
        keeps them elsewhere (PostgreSQL) only its cache there.  One object
        per area and store."""
        check_area(area)
        cache = self.__dict__.setdefault("_file_stores", {})
        found = cache.get(area)
        if found is None:
            found = cache[area] = self._open_files(area, os.fspath(local_dir), full_names)
        return found

    def _open_files(self, area: str, local_dir: str, full_names: bool) -> FileStore:
        return FolderFileStore(os.path.join(local_dir, *area.split("/")), area=area, full_names=full_names)

    def _close_files(self) -> None:
        for fs in self.__dict__.pop("_file_stores", {}).values():
            fs.close()

    # -- holds: once-per-office work --------------------------------------------------
    def hold(self, name: str, *, who: str, local_dir: str | os.PathLike) -> Hold:
        """The hold ``name`` ("it.checks"; :mod:`core.storage.holds`): the
        one process of the office that has it does the work.  Nothing is
        taken until ``held()`` is asked.  ``local_dir``: the host's data
        folder (where the default backend keeps its lock files)."""
        return FolderHold(os.fspath(local_dir), name, who)

    def holds(self, *, local_dir: str | os.PathLike) -> list[dict]:
        """Every hold taken so far: ``name``, ``who``, ``since``, ``held``."""
        return folder_holds(os.fspath(local_dir))

    @abc.abstractmethod
    def backup(self, dest: str) -> None:
        """A consistent copy of the whole store into the empty directory ``dest``."""

    @abc.abstractmethod
    def check(self) -> list[str]:
        """One line per problem found in the data; empty when sound."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release files and locks; the store cannot be used afterwards."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
