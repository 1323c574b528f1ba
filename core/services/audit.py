"""The audit trail: every change through storage, append-only and hash-chained.

:class:`AuditTrail` registers a ``before_commit`` callback on the store, so
each transaction appends one entry per changed document to ``core.audit``
inside the same transaction (the entry is on disk exactly when the change
is)::

    {"seq": 42, "at": "2026-01-05T09:30:00.123456+00:00", "actor": "alice",
     "plugin": "hr", "table": "hr.cases", "doc_id": 7, "op": "update",
     "before": {...}, "after": {...}, "what": None,
     "prev_hash": "<hash of entry 41>", "hash": "<sha256>"}

``hash`` is the SHA-256 of the canonical JSON (sorted keys, no spaces) of the
entry without ``hash``; ``prev_hash`` ties it to the entry before, so an
edited, removed or reordered entry breaks the chain where it happened.
``core.audit_head`` holds the seq and hash of the last entry, so cutting
entries off the end shows too. :meth:`AuditTrail.verify` walks the chain and
names each problem; ``backdesk audit verify`` prints them and exits 1.

Sensitive reads (an HR case opened) are recorded with :meth:`record_read`.

Archiving
---------
Every table is loaded at every start (the default backend keeps them in
memory), so years of entries would slow each start and session.
:meth:`AuditTrail.archive` (``backdesk audit archive --before DATE``,
permission ``core.audit.archive``) moves the oldest entries — a prefix of
the chain: the entries in seq order while ``at`` is before DATE — into
gzip'd JSON-lines files, one entry (as stored, with ``id``) per line in seq
order: ``audit-<first seq>-<last seq>.jsonl.gz`` (seqs written with 9
digits; at most ``batch`` entries per file; gzip without a time stamp, so
the same entries always give the same bytes), kept where
:func:`archive_shelf` says: on the default backend in
``<data_dir>/audit-archive/`` (files 0600, the folder 0700); on PostgreSQL
in the store's file area ``core/audit_archive`` (content-addressed, its
name beside it), so every host of the office reads and checks the same
files and a backup holds them (as ``audit-archive/NAME``). For each file:

1. the file is kept durably before anything is removed: on the default
   backend written as ``.<name>.<pid>.partial``, fsynced, renamed to its name
   and the folder fsynced; on PostgreSQL stored in a transaction of its own;
2. one store transaction checks that exactly those entries are still in the
   live trail, unchanged, and that no other run archived meanwhile; deletes
   them; inserts the file's *anchor* into ``core.audit_archives`` (file,
   sha256 and size of the file, first and last seq and ``at``, the hash the
   first entry chains to and that of the last one, count, the cut-off, when
   and by whom); and appends an ``op: "archive"`` entry holding the anchor to
   the live trail.

Before anything is written the live chain is verified (page by page, so
never all of it in memory besides the store's own copy): a trail with
problems is not archived. A crash between the two steps above leaves a
file that no anchor names while its
entries are still in the live trail. The next run (each run takes the
hold ``core.audit.archive``, :mod:`core.storage.holds`: one run at a time
in the whole office; a second one, on any host, does nothing and names the
first's host, process and operator) deletes such a
leftover — only when every entry in it is still live and unchanged — and
writes the file again: nothing is lost or kept twice. After the last file
the store is compacted (the default backend's snapshots and journal shrink;
PostgreSQL has no such step: its autovacuum reclaims the rows).

The live chain then starts at the newest anchor: its first entry's
``prev_hash`` is the anchor's ``last_hash`` and its seq follows the anchor's
``last_seq``. :meth:`AuditTrail.verify` checks the live chain from there,
the anchors against one another and against the "archive" entries of the
live trail; ``verify(archives=True)`` also reads every file: its sha256 and
range against its anchor, its own chain and its links to the file before it
and to the live trail, naming the file and the entry of each problem.
``entries(include_archived=True)`` reads the files too.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import zlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from core.services import audit_keys
from core.services.access import known_permissions
from core.dates import check_year
from core.errors import BackdeskError, ValidationError
from core.gcpause import gc_held
from core.api.hookspecs import TableSpec
from core.i18n import _
from core.safetext import check_text
from core.storage import Range, StorageError, open_store
from core.storage.admin import RESTORE_PENDING
from core.storage.files import FILE_MODE, MANIFEST, fsync_dir, make_dir, write_all
from core.storage.filestore import FileMissing, hash_file, is_sha256
from core.storage.holds import this_process
from core.records import Record

AUDIT = "core.audit"
HEAD = "core.audit_head"
ARCHIVES = "core.audit_archives"
GENESIS = "0" * 64
READ = "core.audit.read"
ARCHIVE = "core.audit.archive"
#: tables whose changes are not audited: the trail itself
UNAUDITED = frozenset({AUDIT, HEAD, ARCHIVES})
#: the folder under the data folder that holds the archive files (the default backend)
ARCHIVE_DIR = "audit-archive"
#: the file area that holds them on PostgreSQL (every host reads the same)
ARCHIVE_AREA = "core/audit_archive"
#: the hold an archiving run takes: one run at a time in the whole office
ARCHIVE_HOLD = "core.audit.archive"
#: the most entries one archive file (and one transaction) takes
ARCHIVE_BATCH = 20_000
_ARCHIVE_NAME = re.compile(r"^audit-(\d+)-(\d+)\.jsonl\.gz$")


def canonical(entry: dict) -> bytes:
    """The bytes the hash is taken over: the entry without ``hash`` and ``id``."""
    body = {k: v for k, v in entry.items() if k not in ("hash", "id")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict) -> str:
    import hashlib  # here: importing it (OpenSSL) costs every start, which writes no entry

    return hashlib.sha256(canonical(entry)).hexdigest()


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True, repr=False, eq=False)
class Problem(Record):
    """One thing :meth:`AuditTrail.verify` found wrong."""

    kind: str  # "edited", "removed", "reordered", "truncated", "broken"
    entry_id: int | None
    seq: int | None
    message: str
    #: the archive file the problem is in (None: the live trail)
    archive: str | None = None

    def __str__(self) -> str:
        return self.message




def _moment(value: str, field: str) -> str:
    """An ISO date or date-time (UTC) for a filter; ValidationError otherwise."""
    value = value.strip()
    try:
        if len(value) == 10:
            return check_year(date.fromisoformat(value), field).isoformat()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(_("{value!r} is not a date (YYYY-MM-DD) or a time "
                                "(YYYY-MM-DDTHH:MM)").format(value=value), field=field) from None
    check_year(moment, field)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


#: the note of the transaction being committed (AuditTrail.noting)
_WHAT: ContextVar[str | None] = ContextVar("backdesk_audit_what", default=None)


class AuditTrail:
    """``services.audit``: the append-only, tamper-evident audit trail."""

    TABLES = (TableSpec("audit", version=1, read=READ), TableSpec("audit_head", version=1, read=READ),
              TableSpec("audit_archives", version=1, read=READ))

    def __init__(self, backdesk) -> None:
        self.backdesk = backdesk
        self.store = backdesk.store
        self.table = backdesk.table(AUDIT)
        self.head = backdesk.table(HEAD)
        self.archives = backdesk.table(ARCHIVES)
        self._known: set[str] | None = None
        self._key: bytes | None = None
        self._unsubscribe = self.store.before_commit(self._on_commit)

    @property
    def operator(self):
        return self.backdesk.operator

    @property
    def key_path(self) -> Path:
        """Where the site's audit key is (:mod:`core.services.audit_keys`; it need not exist)."""
        return audit_keys.key_path(self.backdesk.config)

    def key(self) -> bytes | None:
        """The site's audit key, None while it has none. Looked for at every
        append until found (``backdesk audit key`` may create it while
        sessions run: their next entries are keyed too)."""
        if self._key is None:
            self._key = audit_keys.read_key(self.key_path)
        return self._key

    @property
    def archive_dir(self) -> Path:
        """Where the default backend keeps the archive files: ``<data_dir>/audit-archive``."""
        return Path(self.backdesk.config.data_dir) / ARCHIVE_DIR

    @property
    def archive_files(self) -> "ArchiveFolder | ArchiveInStore":
        """Where the archive files are kept (:func:`archive_shelf`)."""
        return archive_shelf(self.store, self.backdesk.config)

    # -- writing --------------------------------------------------------------------
    def _last(self) -> tuple[int, str]:
        """(seq, hash) of the last entry; called with the write lock held."""
        head = self.head.get(1)
        if head is not None:
            return head["seq"], head["hash"]
        if self.table.count() == 0:
            # nothing live: continue after the archived part, if any
            return _chain_start(self.anchors())
        # No head but entries (an old or damaged store): continue from the last entry.
        last = self.table.find(order_by="-id", limit=1)[0]
        return last.get("seq", 0), last.get("hash", GENESIS)

    def _append(self, entries: list[dict]) -> None:
        """Chain and insert ``entries`` (inside a transaction)."""
        seq, prev = self._last()
        last_id = None
        for entry in entries:
            seq += 1
            entry["seq"] = seq
            entry["prev_hash"] = prev
            entry["hash"] = prev = entry_hash(entry)
            last_id = self.table.insert(entry)
        head = {"seq": seq, "hash": prev, "entry_id": last_id}
        key = self.key()
        head["mac"] = audit_keys.head_mac(key, seq, prev) if key is not None else None
        if self.head.get(1) is None:
            self.head.insert(head)
        else:
            self.head.update(1, head)

    @contextmanager
    def noting(self, what: str | None) -> Iterator[None]:
        """Give the changes committed inside (``ctx.transaction(what=...)``)
        ``what`` as the line the audit trail shows for them; the outermost
        note wins."""
        if not what or _WHAT.get() is not None:
            yield
            return
        # the trail is exempt from the store's text guard: refuse here what it would refuse
        token = _WHAT.set(check_text(str(what), "what")[:500])
        try:
            yield
        finally:
            _WHAT.reset(token)

    def _on_commit(self, changes) -> None:
        entries = []
        at = now_utc()
        actor = self.store.actor
        what = _WHAT.get()
        for change in changes:
            if change.table in UNAUDITED:
                continue
            entries.append({
                "at": at, "actor": actor, "plugin": change.table.partition(".")[0],
                "table": change.table, "doc_id": change.id, "op": change.op,
                "before": change.before, "after": change.after, "what": what,
            })
        if entries:
            self._append(entries)

    def record_read(self, plugin: str, table: str, doc_id: int | None, what: str = "") -> None:
        """Record that the operator read something sensitive (an HR case opened)."""
        entry = {"at": now_utc(), "actor": self.store.actor, "plugin": plugin, "table": table,
                 "doc_id": doc_id, "op": "read", "before": None, "after": None, "what": what or None}
        with self.store.transaction():
            self._append([entry])

    def record_print(self, plugin: str, table: str, doc_id: int | None, what: str = "") -> None:
        """Record that the operator printed something confidential (a payslip);
        inside the caller's transaction when there is one."""
        entry = {"at": now_utc(), "actor": self.store.actor, "plugin": plugin, "table": table,
                 "doc_id": doc_id, "op": "print", "before": None, "after": None, "what": what or None}
        with self.store.transaction():
            self._append([entry])

    def record_pending_restore(self) -> bool:
        """Record the restore whose note ``restore.pending.json``
        (:data:`core.storage.admin.RESTORE_PENDING`) ``backdesk restore``
        left in the data folder, and remove the note — in one transaction, so
        of several sessions opening at once one records it. Every writable
        session's start calls it (``core.plugins.runtime``), so a restore killed
        before its own entry is still recorded. True when it recorded one."""
        if getattr(self.store, "read_only", False):
            return False
        path = Path(self.backdesk.config.data_dir) / RESTORE_PENDING
        if not path.is_file():
            return False
        with self.store.transaction():
            try:
                note = json.loads(path.read_bytes())
            except FileNotFoundError:
                return False  # another session recorded it meanwhile
            except (OSError, ValueError) as exc:
                note = {"backup": str(path), "replaced": {"unreadable": str(exc)}}
            if not isinstance(note, dict):
                note = {"backup": str(path)}
            self._append([self._restore_entry(str(note.get("backup")), note.get("marker"), note.get("replaced"),
                                              note.get("data"), actor=note.get("by"))])
            path.unlink()
        return True

    def record_restore(self, backup: str, marker: dict | None, replaced: dict | None, aside: str | None) -> None:
        """Record that ``backdesk restore`` replaced the data with ``backup``
        (its completion marker ``marker``): the first entry after the restored
        trail's head. ``replaced``: the head (seq, hash) and count of the
        trail it replaced (:func:`trail_head`), kept so that the stretch of
        history the restore discarded stays visible; ``aside``: where the
        replaced data folder is now."""
        with self.store.transaction():
            self._append([self._restore_entry(backup, marker, replaced, aside)])

    def _restore_entry(self, backup: str, marker: dict | None, replaced: dict | None, aside: str | None, *,
                       actor: str | None = None) -> dict:
        marker = marker if isinstance(marker, dict) else {}
        replaced = replaced if isinstance(replaced, dict) else None
        made = {"backup": backup, "created": marker.get("created"), "by": marker.get("by"),
                "source": marker.get("source"), "store": marker.get("store"), "files": marker.get("count")}
        head = (replaced or {}).get("seq")
        if replaced is None and aside is None:  # into an empty store (a PostgreSQL site's restore)
            what = _("restored the backup {backup} (made {created} by {by}) into an empty store").format(
                backup=backup, created=made["created"], by=made["by"])
        else:
            what = _("restored the backup {backup} (made {created} by {by}); the data it replaced, with the "
                     "audit trail up to seq {seq}, is in {aside}").format(
                backup=backup, created=made["created"], by=made["by"], seq=head if head is not None else "?",
                aside=aside or "-")
        return {"at": now_utc(), "actor": actor or self.store.actor, "plugin": "core", "table": None,
                "doc_id": None, "op": "restore", "before": dict(replaced or {}, data=aside), "after": made,
                "what": what}

    def record_keyed(self) -> None:
        """Record that the site's audit key was created (the entry's head is the first keyed one)."""
        self._key = None
        if self.key() is None:
            raise BackdeskError(_("there is no audit key at {path}").format(path=self.key_path))
        entry = {"at": now_utc(), "actor": self.store.actor, "plugin": "core", "table": None, "doc_id": None,
                 "op": "key", "before": None, "after": {"key": str(self.key_path)},
                 "what": _("the audit trail is keyed from here on (key {path})").format(path=self.key_path)}
        with self.store.transaction():
            self._append([entry])

    def read_confidential(self, permission: str, plugin: str, table: str, doc_id: int | None,
                          what: str = "") -> None:
        """Check ``permission`` (PermissionDenied otherwise) and record the read."""
        self.operator.require(permission, what or _("read {table}").format(table=table))
        self.record_read(plugin, table, doc_id, what)

    # -- reading --------------------------------------------------------------------
    def entries(self, *, operator: str | None = None, plugin: str | None = None,
                table: str | None = None, since: str | None = None, until: str | None = None,
                op: str | None = None, limit: int | None = None, newest_first: bool = True,
                include_archived: bool = False) -> list[dict]:
        """Entries matching the filters (``since``/``until``: ISO dates or times, UTC).

        The content (``before``/``after``) of a confidential table is replaced
        by ``{"redacted": permission}`` unless the operator holds the table's
        read permission (see :meth:`protecting_permission`).
        ``include_archived``: the archive files are read too (their entries
        come with ``"archive": <file name>``), older than every live entry."""
        self.operator.require(READ, _("read the audit trail"))
        where: dict[Any, Any] = {}
        if operator:
            where["actor"] = operator
        if plugin:
            where["plugin"] = plugin
        if table:
            where["table"] = table
        if op:
            where["op"] = op
        if since or until:
            bounds = {}
            if since:
                bounds["ge"] = _moment(since, "since")
            if until:
                moment = _moment(until, "until")
                # a date alone means "until the end of that day"
                bounds["lt"] = (date.fromisoformat(moment) + timedelta(days=1)).isoformat() \
                    if len(moment) == 10 else moment
            where["at"] = Range(**bounds)
        order = "-id" if newest_first else "id"
        if not include_archived:
            found = self.table.find(where or None, order_by=order, limit=limit)
        elif newest_first:
            found = self.table.find(where or None, order_by=order, limit=limit)
            if limit is None or len(found) < limit:
                found += self._archived(where, newest_first=True,
                                        limit=None if limit is None else limit - len(found))
        else:
            found = self._archived(where, newest_first=False, limit=limit)
            if limit is None or len(found) < limit:
                found += self.table.find(where or None, order_by=order,
                                         limit=None if limit is None else limit - len(found))
        for entry in found:
            self._redact(entry)
        return found

    def _archived(self, where: dict, *, newest_first: bool, limit: int | None) -> list[dict]:
        """Archived entries matching ``where`` (the filters of :meth:`entries`)."""
        bounds = where.get("at")
        out: list[dict] = []
        anchors = self.anchors()
        for anchor in reversed(anchors) if newest_first else anchors:
            if limit is not None and len(out) >= limit:
                break
            if bounds is not None:
                # skip a file whose time span lies outside the filter
                if bounds.ge is not None and str(anchor.get("last_at") or "") < bounds.ge:
                    continue
                if bounds.lt is not None and str(anchor.get("first_at") or "~") >= bounds.lt:
                    continue
            name = anchor["file"]
            shelf = self.archive_files
            try:
                data = shelf.read(name, anchor.get("sha256"))
            except OSError as exc:
                raise BackdeskError(_("archive {file} cannot be read ({error}); run 'backdesk audit verify "
                                      "--archives'").format(file=shelf.shown(name),
                                                            error=exc.strerror or exc)) from None
            entries, damage = read_archive(data)
            if damage:
                raise BackdeskError(_("archive {file} is damaged: {problem}; run 'backdesk audit verify "
                                      "--archives'").format(file=shelf.shown(name), problem=damage[0]))
            matching = [e for e in entries if _matches(e, where)]
            if newest_first:
                matching.reverse()
            if limit is not None:
                matching = matching[: limit - len(out)]
            for e in matching:
                e["archive"] = name
            out.extend(matching)
        return out

    def protecting_permission(self, table: str) -> str | None:
        """The permission guarding a table's content: the read permission its
        :class:`~core.api.hookspecs.TableSpec` declares (``hr.discipline.read``
        for hr.warnings); for a table no longer declared, by convention
        ``<table>.read`` when a plugin (or core) defines it."""
        if table in self.backdesk.table_specs:
            return self.backdesk.read_permission(table)
        if self._known is None:
            self._known = {p.name for p in known_permissions(self.backdesk.host)}
        wanted = f"{table}.read"
        return wanted if wanted in self._known else None

    def redact(self, entry: dict) -> dict:
        """``entry`` (a copy) as :meth:`entries` gives it to this operator:
        the content of a table they may not read replaced (for ``backdesk
        export core.audit``)."""
        entry = dict(entry)
        self._redact(entry)
        return entry

    def _redact(self, entry: dict) -> None:
        """Hide a confidential record's content from an auditor who may not read it:
        the entry (who, when, which record) stays visible."""
        permission = self.protecting_permission(entry.get("table") or "")
        if permission and not self.operator.can(permission):
            entry["before"] = None if entry.get("before") is None else {"redacted": permission}
            entry["after"] = None if entry.get("after") is None else {"redacted": permission}
            entry["redacted"] = permission

    def actors(self) -> list[str]:
        self.operator.require(READ, _("read the audit trail"))
        return sorted({e.get("actor") or "" for e in self.table.all()})

    def plugins(self) -> list[str]:
        self.operator.require(READ, _("read the audit trail"))
        return sorted({e.get("plugin") or "" for e in self.table.all()})

    def anchors(self) -> list[dict]:
        """The archive records (one per archive file), oldest first."""
        return sorted(self.archives.all(), key=lambda a: (_int(a.get("first_seq")), a["id"]))

    def archived_count(self) -> int:
        """How many entries the archive files hold (by their records)."""
        return sum(_int(a.get("count")) for a in self.archives.all())

    # -- verifying ------------------------------------------------------------------
    def verify(self, *, archives: bool = False) -> list[Problem]:
        """Walk the chain in id order; an empty list means the trail is intact.

        The live chain is checked from the newest archive record on (or from
        the start when nothing was archived), the records against one another
        and against the entries that recorded them. ``archives``: every
        archive file is read and checked as well (see the module docstring)."""
        self.operator.require(READ, _("verify the audit trail"))
        return verify_trail(self.table.all(), self.head.get(1), self.anchors(), archive_files=self.archive_files,
                            key=self.key(), key_path=self.key_path, archives=archives)

    def anchor(self) -> str:
        """One anchor line naming the trail's head now (:mod:`core.services.audit_keys`)."""
        self.operator.require(READ, _("take an anchor of the audit trail"))
        return audit_keys.anchor_line(self.head.get(1), self.table.count() + self.archived_count(),
                                      self.backdesk.config.site.name)

    def check_anchors(self, anchors: list[dict], where: str) -> list[Problem]:
        """Each anchor (read from ``where``) against the trail: the entry at
        its seq must be there, with its hash."""
        self.operator.require(READ, _("verify the audit trail"))
        head = self.head.get(1) or {}
        head_seq = _int(head.get("seq"))
        records = self.anchors()
        restores = self.table.find({"op": "restore"}, order_by="-id")
        problems = []
        for anchor in anchors:
            seq, want = anchor["seq"], anchor.get("hash")
            taken = _("the anchor of {at} (line {line} of {file})").format(
                at=anchor.get("at"), line=anchor.get("line"), file=where)
            if seq == 0:
                continue
            if seq > head_seq:
                problem = Problem("truncated", None, seq, _(
                    "the trail ends at seq {head}, but {anchor} names seq {seq}: entries were cut off the end, "
                    "or the trail was rolled back").format(head=head_seq, anchor=taken, seq=seq))
            else:
                found = self._hash_at(seq, records)
                if found == want:
                    continue
                problem = Problem("edited", None, seq, _(
                    "entry seq {seq} is not the one {anchor} names ({state}): the trail was rewritten up to "
                    "there").format(seq=seq, anchor=taken,
                                    state=_("it is missing") if found is None else _("another hash")))
            later = [r for r in restores if str(r.get("at") or "") > str(anchor.get("at") or "")]
            if later:
                r = later[-1]
                problem = Problem(problem.kind, problem.entry_id, problem.seq, problem.message + _(
                    "; a restore at {at} by {actor} (entry seq {rseq}) replaced the trail: the anchor may "
                    "belong to the replaced data in {data}").format(
                    at=r.get("at"), actor=r.get("actor"), rseq=r.get("seq"),
                    data=(r.get("before") or {}).get("data")))
            problems.append(problem)
        return problems

    def _hash_at(self, seq: int, records: list[dict]) -> str | None:
        """The stored hash of entry ``seq``, live or archived (None: not there)."""
        for record in records:
            if _int(record.get("first_seq")) <= seq <= _int(record.get("last_seq")):
                if seq == record.get("last_seq"):
                    return record.get("last_hash")
                try:
                    entries, _damage = read_archive(self.archive_files.read(str(record.get("file")),
                                                                            record.get("sha256")))
                except OSError:
                    return None
                return next((e.get("hash") for e in entries if e.get("seq") == seq), None)
        found = self.table.find({"seq": seq}, limit=1)
        return found[0].get("hash") if found else None

    def _verify_files(self, anchors: list[dict], live: list[dict]) -> tuple[list[Problem], dict, bool]:
        return verify_files(anchors, live, self.archive_files)


    # -- archiving ------------------------------------------------------------------
    def archive(self, before: str, *, dry_run: bool = False, batch: int = ARCHIVE_BATCH,
                progress: Callable[[str, Any], None] | None = None) -> "ArchiveResult":
        """Move the entries before ``before`` (a date or time, UTC) into archive
        files (see the module docstring); ``dry_run``: only say what would move.

        Needs ``core.audit.archive``. Refuses when the live trail has problems
        (archiving would hide them); :class:`ArchiveBusy`, doing nothing, when
        another run (on any host of the office) holds :data:`ARCHIVE_HOLD`.
        At most ``batch`` entries are in memory at a time (besides the store's
        own). ``progress(kind, what)`` is called as it goes: ``("removed",
        file name)`` for a leftover deleted, ``("file", record)`` for each file
        archived (planned, with ``dry_run``)."""
        self.operator.require(ARCHIVE, _("archive the audit trail"))
        cutoff = _moment(before, "before")
        if not isinstance(batch, int) or batch < 1:
            raise ValidationError(_("must be a whole number of at least 1"), field="batch")
        tell = progress or (lambda kind, what: None)
        files: list[dict] = []
        shelf = self.archive_files
        with self._archive_hold(dry_run), gc_held():
            anchors = self.anchors()
            start = _chain_start(anchors)
            end = self._check_before_archiving(anchors, start, cutoff, page=batch)
            removed = [] if dry_run else self._remove_leftovers(anchors)
            for name in removed:
                tell("removed", name)
            prev = start
            for first in range(start[0] + 1, end + 1, batch):
                last = min(first + batch - 1, end)
                chunk = self._chunk(first, last, prev, cutoff)
                prev = (last, chunk[-1]["hash"])
                plan = _plan(chunk, cutoff)
                if not dry_run:
                    plan.update(self._write_file(chunk, plan["file"]))
                    plan = self._commit_archive(chunk, plan)
                del chunk
                files.append(plan)
                tell("file", plan)
        compacted = False
        if files and not dry_run:
            compact = getattr(self.store, "compact", None)
            if callable(compact):  # the default backend: snapshots without the archived entries
                compact()
                compacted = True
        return ArchiveResult(before=cutoff, dry_run=dry_run, files=files, removed=removed,
                             archived=sum(f["count"] for f in files), live=self.table.count(),
                             where=shelf.where, compacted=compacted)

    def _check_before_archiving(self, anchors: list[dict], start: tuple[int, str], cutoff: str, *,
                                page: int) -> int:
        """Verify the live chain page by page (not all of it in memory at once);
        BackdeskError naming the first problem, else the last seq before ``cutoff``."""
        problems = check_anchors(anchors)
        head = self.head.get(1)  # read before the entries: every entry up to it exists
        head_seq = _int(head.get("seq")) if head is not None else None
        seen = {"prefix": start[0], "open": True, "head": None}

        def stream() -> Iterator[dict]:
            offset = 0
            while True:
                found = self.table.find(None, limit=page, offset=offset)
                if not found:
                    return
                offset += len(found)
                for entry in found:
                    if seen["open"]:
                        at = entry.get("at")
                        if isinstance(at, str) and at < cutoff:
                            seen["prefix"] = entry.get("seq")
                        else:
                            seen["open"] = False
                    if head_seq is not None and entry.get("seq") == head_seq:
                        seen["head"] = entry
                    yield entry

        walked, _last, _sound, last_seq = _walk(stream(), start, present=set())
        problems += walked
        if head is None:
            if last_seq > start[0]:
                problems.append(Problem("broken", None, None, _("the head record of the audit trail is missing")))
        elif head_seq > last_seq:
            missing = f"{last_seq + 1}" if head_seq == last_seq + 1 else f"{last_seq + 1}-{head_seq}"
            problems.append(Problem("removed", head.get("entry_id"), head_seq, _(
                "entry seq {missing} was removed from the end of the trail (entry id {id} was the last)").format(
                missing=missing, id=head.get("entry_id"))))
        elif seen["head"] is not None and seen["head"].get("hash") != head.get("hash"):
            problems.append(Problem("edited", seen["head"].get("id"), head_seq, _(
                "entry {id} (seq {seq}) was edited: it does not match the recorded head of the trail").format(
                id=seen["head"].get("id"), seq=head_seq)))
        if problems:
            # say it as 'verify' does (the walk above cannot tell a reordered entry from a removed one)
            exact = check_anchors(anchors) + verify_entries(self.table.all(), self.head.get(1), start=start)
            problems = exact or problems
            raise BackdeskError(_("the audit trail has {n} problem(s), the first: {problem}; nothing was "
                                  "archived (see 'backdesk audit verify')").format(
                                  n=len(problems), problem=problems[0]))
        return _int(seen["prefix"])

    def _chunk(self, first: int, last: int, prev: tuple[int, str], cutoff: str) -> list[dict]:
        """Entries seq ``first``-``last``, checked again: complete, intact, chained
        to ``prev`` (seq, hash) and before ``cutoff``."""
        chunk = self.table.find({"seq": Range(ge=first, le=last)}, order_by="seq")
        seq, link = prev
        for entry in chunk:
            seq += 1
            at = entry.get("at")
            if (entry.get("seq") != seq or entry.get("prev_hash") != link or entry_hash(entry) != entry.get("hash")
                    or not isinstance(at, str) or at >= cutoff):
                break
            link = entry["hash"]
        else:
            if seq == last:
                return chunk
        raise BackdeskError(_("entries seq {first}-{last} changed while they were archived; nothing was "
                              "removed (run 'backdesk audit verify')").format(first=first, last=last))

    @contextmanager
    def _archive_hold(self, dry_run: bool) -> Iterator[None]:
        """Hold :data:`ARCHIVE_HOLD`: one archiving run at a time, whichever
        host (:mod:`core.storage.holds`); ArchiveBusy naming the holder when
        another run has it."""
        if dry_run:
            yield
            return
        hold = self.store.hold(ARCHIVE_HOLD, who=this_process(self.operator.account),
                               local_dir=self.backdesk.config.data_dir)
        try:
            if not hold.held():
                holder = hold.holder() or {}
                raise ArchiveBusy(_("the audit trail is being archived by {who} since {since}; nothing was "
                                    "done (run the command again when that run has finished)").format(
                                    who=holder.get("who") or "?", since=holder.get("since") or "?"),
                                  holder=holder)
            yield
        finally:
            hold.release()

    def _remove_leftovers(self, anchors: list[dict]) -> list[str]:
        """Delete what an interrupted run left (the archive hold is held):
        partial files, and files no record names whose entries are all still live."""
        shelf = self.archive_files

        def live_hashes(first: int, last: int) -> dict:
            return {e.get("seq"): e.get("hash") for e in self.table.find({"seq": Range(ge=first, le=last)})}

        removed = shelf.remove_partials()
        for name, key in shelf.others(anchors):
            if _is_leftover(lambda: shelf.read_other(key), live_hashes):
                shelf.remove(key)
                removed.append(name)
        if removed:
            shelf.removed()
        return removed

    def _write_file(self, chunk: list[dict], name: str) -> dict:
        """Write ``chunk`` to ``name`` durably (see :meth:`ArchiveFolder.write`);
        returns the file's sha256 and size."""
        import gzip  # archiving the trail only: not at start (~0.4 ms, -X importtime)

        raw = _archive_lines(chunk)
        data = gzip.compress(raw, compresslevel=6, mtime=0)
        if gzip.decompress(data) != raw:  # what a reader will get, before anything is removed
            raise BackdeskError(_("{file}: the archive does not read back as written; nothing was "
                                  "archived").format(file=name))
        self.archive_files.write(name, data)
        import hashlib

        return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}

    def _commit_archive(self, chunk: list[dict], plan: dict) -> dict:
        """The transaction of one archive file (written and fsynced already):
        remove its entries, insert its record, append the entry recording it."""
        first, last = chunk[0]["seq"], chunk[-1]["seq"]
        with self.store.transaction():
            done = _chain_start(self.anchors())[0]
            if done != first - 1:
                raise BackdeskError(_("another run archived the trail up to seq {seq} meanwhile; nothing more "
                                      "was archived (run the command again)").format(seq=done))
            current = self.table.find({"seq": Range(ge=first, le=last)}, order_by="seq")
            if current != chunk:  # the entries just written (and verified before), exactly
                raise BackdeskError(_("entries seq {first}-{last} changed while they were archived; nothing "
                                      "was removed (run 'backdesk audit verify')").format(first=first, last=last))
            for entry in current:
                self.table.delete(entry["id"])
            anchor = dict(plan, at=now_utc(), actor=self.store.actor)
            anchor_id = self.archives.insert(anchor)
            self._append([{
                "at": anchor["at"], "actor": self.store.actor, "plugin": "core", "table": ARCHIVES,
                "doc_id": anchor_id, "op": "archive", "before": None, "after": dict(anchor),
                "what": f"archived entries seq {first}-{last} ({len(chunk)}) to {plan['file']}",
            }])
        return dict(anchor, id=anchor_id)


def verify_trail(live: list[dict], head: dict | None, anchors: list[dict], *,
                 archive_files: "ArchiveFolder | ArchiveInStore", key: bytes | None, key_path: Path | None = None,
                 archives: bool = False) -> list[Problem]:
    """The problems of a trail: its live entries (id order), head record and
    archive records (see :meth:`AuditTrail.verify`); with ``key``, the
    head's keyed hash too. Needs no operator (``backdesk check``)."""
    with gc_held():
        problems = check_anchors(anchors)
        problems += verify_entries(live, head, start=_chain_start(anchors))
        problems += check_head_mac(head, key, key_path)
        records = {e.get("doc_id"): e for e in live if e.get("op") == "archive" and e.get("table") == ARCHIVES}
        complete = False
        if archives:
            found, archived_records, complete = verify_files(anchors, live, archive_files)
            problems += found
            records.update(archived_records)
        problems += check_anchor_records(anchors, records, complete=complete)
        return problems


def check_trail(store, config, *, archives: bool = False) -> list[str]:
    """``backdesk check``'s look at the audit trail of an opened ``store``
    (read only, no operator): one line per problem, [] when intact."""
    names = set(store.tables())
    if AUDIT not in names:
        return []
    live = sorted(store.existing_table(AUDIT).all(), key=lambda e: e["id"])
    head = store.existing_table(HEAD).get(1) if HEAD in names else None
    anchors = sorted(store.existing_table(ARCHIVES).all(), key=lambda a: (_int(a.get("first_seq")), a["id"])) \
        if ARCHIVES in names else []
    path = audit_keys.key_path(config)
    try:
        key = audit_keys.read_key(path)
    except BackdeskError as exc:
        return [f"audit trail: {exc}"]
    problems = verify_trail(live, head, anchors, archive_files=archive_shelf(store, config), key=key,
                            key_path=path, archives=archives)
    return [f"audit trail: {p}" for p in problems]


def check_head_mac(head: dict | None, key: bytes | None, key_path: Path | None) -> list[Problem]:
    """The head's keyed hash against the site's key (:mod:`core.services.audit_keys`)."""
    if head is None:
        return []
    if key is None:
        if head.get("mac"):
            return [Problem("broken", head.get("entry_id"), head.get("seq"), _(
                "the trail was written with an audit key, but there is none at {path}: it cannot be checked "
                "(restore the key, or set {env})").format(path=key_path, env=audit_keys.ENV_KEY))]
        return []
    if not head.get("mac"):
        return [Problem("edited", head.get("entry_id"), head.get("seq"), _(
            "the head of the trail (seq {seq}) carries no keyed hash although the site has an audit key: the "
            "trail was rewritten without the key").format(seq=head.get("seq")))]
    if not audit_keys.mac_matches(key, head):
        return [Problem("edited", head.get("entry_id"), head.get("seq"), _(
            "the head of the trail (seq {seq}) does not match its keyed hash: the trail was rewritten by "
            "someone without the audit key").format(seq=head.get("seq")))]
    return []


def verify_files(anchors: list[dict], live: list[dict],
                 shelf: "ArchiveFolder | ArchiveInStore") -> tuple[list[Problem], dict, bool]:
    """Check every archive file kept in ``shelf``; returns (problems, the "archive"
    entries found in them by anchor id, whether every file was read whole)."""
    problems: list[Problem] = []
    records: dict = {}
    hashes: dict[int, str] = {}
    complete = True
    end: tuple[int, str] = (0, GENESIS)  # where the next file must continue
    for anchor in anchors:
        name = str(anchor.get("file"))
        first, last = _int(anchor.get("first_seq")), _int(anchor.get("last_seq"))
        recorded_end = (last, anchor.get("last_hash"))
        try:
            data = shelf.read(name, anchor.get("sha256"))
        except OSError as exc:
            complete = False
            problems.append(Problem("removed", None, first, _(
                "archive {file} is missing or unreadable ({error}): it holds entries seq {first}-{last}").format(
                file=name, error=exc.strerror or exc, first=first, last=last), archive=name))
            end = recorded_end
            continue
        import hashlib

        if hashlib.sha256(data).hexdigest() != anchor.get("sha256"):
            problems.append(Problem("edited", None, None, _(
                "archive {file} was changed after it was written: its sha256 is not the one "
                "recorded").format(file=name), archive=name))
        entries, damage = read_archive(data)
        for what in damage:
            complete = False
            problems.append(Problem("truncated", None, None, _("archive {file}: {problem}").format(
                file=name, problem=what), archive=name))
        if entries and not first <= _int(entries[0].get("seq")) <= last:
            complete = False
            problems.append(Problem("reordered", None, None, _(
                "archive {file} holds entries seq {a}-{b}, but its record says seq {first}-{last} "
                "(another file was put in its place)").format(
                file=name, a=entries[0].get("seq"), b=entries[-1].get("seq"), first=first, last=last),
                archive=name))
            end = recorded_end
            continue
        walked, prev, prev_sound, last_seq = _walk(entries, end)
        problems += _in_archive(walked, name)
        if last_seq < last:
            missing = f"{last_seq + 1}" if last == last_seq + 1 else f"{last_seq + 1}-{last}"
            problems.append(Problem("truncated", None, last_seq + 1, _(
                "archive {file}: entry seq {missing} is missing from its end").format(
                file=name, missing=missing), archive=name))
        elif last_seq > last:
            problems.append(Problem("broken", None, last, _(
                "archive {file} goes on after seq {last}, where its record says it ends").format(
                file=name, last=last), archive=name))
        elif prev is not None and prev_sound and prev.get("hash") != anchor.get("last_hash"):
            problems.append(Problem("edited", prev.get("id"), prev.get("seq"), _(
                "archive {file}: entry {id} (seq {seq}) was edited: it does not match the hash "
                "recorded for the archive's last entry").format(
                file=name, id=prev.get("id"), seq=prev.get("seq")), archive=name))
        for e in entries:
            if isinstance(e.get("seq"), int):
                hashes[e["seq"]] = e.get("hash")
            if e.get("op") == "archive" and e.get("table") == ARCHIVES:
                records[e.get("doc_id")] = e
        end = (last_seq, prev.get("hash")) if prev is not None and last_seq == last else recorded_end
    # files no record names: the leftover of an interrupted run (harmless:
    # its entries are all still in the trail) or something put there
    for e in live:
        if isinstance(e.get("seq"), int):
            hashes[e["seq"]] = e.get("hash")
    for name, key in shelf.others(anchors):
        if not _is_leftover(lambda: shelf.read_other(key), lambda first, last: hashes):
            problems.append(Problem("broken", None, None, _(
                "archive {file} is not named by any archive record (copied in, or its record was "
                "removed)").format(file=name), archive=name))
    return problems, records, complete


@dataclass
class ArchiveResult:
    """What :meth:`AuditTrail.archive` did (or, with ``dry_run``, would do)."""

    before: str                  # the cut-off, as compared with ``at``
    dry_run: bool
    files: list[dict]            # the archive records written (planned)
    removed: list[str]           # leftovers of an interrupted run deleted first
    archived: int                # entries moved (to move)
    live: int                    # entries in the live trail now
    where: str                   # where the archive files are kept
    compacted: bool = False      # the store was compacted afterwards


def _plan(chunk: list[dict], cutoff: str) -> dict:
    first, last = chunk[0], chunk[-1]
    return {"file": archive_name(first["seq"], last["seq"]), "first_seq": first["seq"], "last_seq": last["seq"],
            "count": len(chunk), "first_prev_hash": first["prev_hash"], "last_hash": last["hash"],
            "first_at": first["at"], "last_at": last["at"], "before": cutoff, "sha256": None, "bytes": None}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _chain_start(anchors: list[dict]) -> tuple[int, str]:
    """(seq, hash) the live chain continues from: the newest archive record's
    last entry, or the genesis."""
    if not anchors:
        return 0, GENESIS
    newest = max(anchors, key=lambda a: _int(a.get("last_seq")))
    return _int(newest.get("last_seq")), str(newest.get("last_hash"))


def trail_head(data_dir: str) -> dict | None:
    """The audit trail's head in the (default backend's) data folder
    ``data_dir``, read without writing anything: ``{"seq", "hash",
    "entries"}``; ``{"unreadable": reason}`` when the store cannot be read;
    None when the folder holds no store."""
    if not os.path.isfile(os.path.join(data_dir, MANIFEST)):
        return None
    try:
        store = open_store(data_dir, read_only=True)
    except (StorageError, OSError) as exc:
        return {"unreadable": str(exc)}
    try:
        if HEAD not in store.tables():
            return {"seq": 0, "hash": GENESIS, "entries": 0}
        head = store.existing_table(HEAD).get(1) or {}
        return {"seq": head.get("seq"), "hash": head.get("hash"),
                "entries": store.existing_table(AUDIT).count() if AUDIT in store.tables() else 0}
    except (StorageError, OSError) as exc:
        return {"unreadable": str(exc)}
    finally:
        store.close()


def _matches(entry: dict, where: dict) -> bool:
    """``where`` of :meth:`AuditTrail.entries` (equality and the ``at`` range) on one entry."""
    for key, want in where.items():
        value = entry.get(key)
        if isinstance(want, Range):
            if not isinstance(value, str):
                return False
            if want.ge is not None and value < want.ge:
                return False
            if want.lt is not None and value >= want.lt:
                return False
        elif type(value) is not type(want) or value != want:
            return False
    return True


# -- archive files ----------------------------------------------------------------------


def archive_name(first: int, last: int) -> str:
    """The file name of the archive of entries seq ``first``-``last``."""
    return f"audit-{first:09d}-{last:09d}.jsonl.gz"


def encode_archive(entries: list[dict]) -> bytes:
    """An archive file's bytes: gzip (no name, no time stamp) of one JSON line
    (sorted keys, no spaces) per entry, as stored (with ``id``)."""
    import gzip  # archiving the trail only: not at start (~0.4 ms, -X importtime)

    return gzip.compress(_archive_lines(entries), compresslevel=6, mtime=0)


def _archive_lines(entries: list[dict]) -> bytes:
    dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    return "".join([dumps(e) + "\n" for e in entries]).encode("utf-8")


def read_archive(data: bytes) -> tuple[list[dict], list[str]]:
    """The entries of an archive file's bytes, and what is wrong with it
    (damaged gzip, a cut-off end, lines that are not entries)."""
    import gzip  # archiving the trail only: not at start (~0.4 ms, -X importtime)

    entries: list[dict] = []
    damage: list[str] = []
    line = 0

    def after() -> str:
        seq = entries[-1].get("seq") if entries else None
        return _("after entry seq {seq}").format(seq=seq) if seq is not None else _("at its start")

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            for raw in gz:
                line += 1
                if not raw.endswith(b"\n"):
                    damage.append(_("line {line} is cut off ({where})").format(line=line, where=after()))
                    break
                try:
                    entry = json.loads(raw)
                except ValueError:
                    entry = None
                if not isinstance(entry, dict):
                    damage.append(_("line {line} is not an audit entry ({where})").format(line=line, where=after()))
                    continue
                entries.append(entry)
    except EOFError:
        damage.append(_("the file is cut off ({where})").format(where=after()))
    except (OSError, zlib.error) as exc:
        damage.append(_("the file is damaged ({where}): {error}").format(where=after(), error=exc))
    return entries, damage


def _archive_files(folder: Path) -> list[Path]:
    """The archive files in ``folder`` (by name), none when it does not exist."""
    try:
        return sorted(p for p in folder.iterdir() if _ARCHIVE_NAME.match(p.name) and p.is_file())
    except FileNotFoundError:
        return []


def _is_leftover(read: Callable[[], bytes], hashes_for: Callable[[int, int], dict]) -> bool:
    """Whether an archive file no record names (``read()``: its bytes) is the
    harmless leftover of an interrupted run: readable, and every entry in it
    still in the trail, unchanged (``hashes_for(first, last)``: the trail's
    hashes by seq)."""
    try:
        entries, damage = read_archive(read())
    except OSError:
        return False
    seqs = [e.get("seq") for e in entries]
    if not entries or damage or not all(isinstance(q, int) and not isinstance(q, bool) for q in seqs):
        return False
    known = hashes_for(min(seqs), max(seqs))
    return all(known.get(e["seq"]) == e.get("hash") for e in entries)


class ArchiveBusy(BackdeskError):
    """Another archiving run holds :data:`ARCHIVE_HOLD` (``holder``: who, since when)."""

    def __init__(self, message: str, *, holder: dict) -> None:
        super().__init__(message)
        self.holder = holder


def archive_shelf(store, config) -> "ArchiveFolder | ArchiveInStore":
    """Where a site keeps its archive files: the data folder's
    ``audit-archive/`` on the default backend; on PostgreSQL the store's file
    area :data:`ARCHIVE_AREA`, which every host of the office reads."""
    folder = Path(config.data_dir) / ARCHIVE_DIR
    if config.storage.backend == "postgresql":
        return ArchiveInStore(store.files(ARCHIVE_AREA, local_dir=config.data_dir), folder)
    return ArchiveFolder(folder)


class ArchiveFolder:
    """The archive files in a folder of this host, by name (the default
    backend's ``<data_dir>/audit-archive``; files 0600, the folder 0700)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.where = str(folder)

    def shown(self, name: str) -> str:
        """The file as messages name it."""
        return str(self.folder / name)

    def read(self, name: str, sha256: object = None) -> bytes:
        """The bytes of the archive file ``name``; OSError when it cannot be read."""
        return (self.folder / name).read_bytes()

    def write(self, name: str, data: bytes) -> None:
        """Keep ``data`` as ``name`` durably: written as ``.<name>.<pid>.partial``,
        fsynced, renamed to its name and the folder fsynced."""
        folder = self.folder
        tmp = folder / f".{name}.{os.getpid()}.partial"
        try:
            make_dir(str(folder))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            try:
                write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, folder / name)
            fsync_dir(str(folder))
        except OSError as exc:
            raise BackdeskError(_("{path}: cannot write the archive ({error}); nothing was archived").format(
                path=folder / name, error=exc.strerror or exc)) from None

    def others(self, anchors: list[dict]) -> list[tuple[str, str]]:
        """(name, key) of the archive files no record in ``anchors`` names."""
        anchored = {a.get("file") for a in anchors}
        return [(p.name, p.name) for p in _archive_files(self.folder) if p.name not in anchored]

    def read_other(self, key: str) -> bytes:
        return (self.folder / key).read_bytes()

    def remove(self, key: str) -> None:
        (self.folder / key).unlink()

    def remove_partials(self) -> list[str]:
        """Delete the partial files of an interrupted run; their names."""
        removed = []
        for path in sorted(self.folder.glob(".*.partial")):
            path.unlink()
            removed.append(path.name)
        return removed

    def removed(self) -> None:
        """After removing: make the removals durable."""
        fsync_dir(str(self.folder))


class ArchiveInStore:
    """The archive files of a PostgreSQL site: in the store's file area
    :data:`ARCHIVE_AREA` (content-addressed, each with its name beside it),
    read by the hash its record names, so every host of the office reads
    (and ``backdesk check`` checks) the same files.  A file that is not
    there but still in this host's ``audit-archive/`` folder (archived there
    before the site kept its archives in PostgreSQL) is moved in when first
    read, when it hashes to its record."""

    def __init__(self, files, legacy: Path) -> None:
        self.files = files
        self.legacy = legacy
        self.where = files.where

    def shown(self, name: str) -> str:
        return f"{name} ({self.where})"

    def read(self, name: str, sha256: object = None) -> bytes:
        if not is_sha256(sha256):
            raise OSError(errno.EINVAL, _("its archive record names no file hash"))
        try:
            return self.files.read_bytes(sha256)
        except FileMissing:
            pass
        except StorageError as exc:
            raise OSError(errno.EIO, str(exc)) from None
        old = self.legacy / name
        try:
            if old.is_file() and hash_file(old)[0] == sha256:
                self.files.put_file(old, name=name)
                return self.files.read_bytes(sha256)
        except (OSError, StorageError):
            pass
        raise OSError(errno.ENOENT, _("not in {where}").format(where=self.where))

    def write(self, name: str, data: bytes) -> None:
        """Store ``data`` as ``name`` (committed before this returns)."""
        try:
            self.files.put_bytes(data, name=name)
        except StorageError as exc:
            raise BackdeskError(_("{path}: cannot store the archive ({error}); nothing was archived").format(
                path=name, error=exc)) from None

    def others(self, anchors: list[dict]) -> list[tuple[str, str]]:
        anchored = {a.get("sha256") for a in anchors}
        return sorted((name, sha) for sha, name in self.files.names().items() if sha not in anchored)

    def read_other(self, key: str) -> bytes:
        try:
            return self.files.read_bytes(key)
        except StorageError as exc:
            raise OSError(errno.EIO, str(exc)) from None

    def remove(self, key: str) -> None:
        self.files.remove(key)

    def remove_partials(self) -> list[str]:
        return []  # a file is stored in one transaction: nothing is left half-way

    def removed(self) -> None:
        pass


def _in_archive(problems: list[Problem], name: str) -> list[Problem]:
    return [Problem(p.kind, p.entry_id, p.seq, _("archive {file}: {problem}").format(file=name, problem=p.message),
                    archive=name) for p in problems]


# -- checking ---------------------------------------------------------------------------

#: what the "archive" entry of the trail and the archive record must agree on
_RECORDED = ("file", "sha256", "bytes", "first_seq", "last_seq", "count", "first_prev_hash", "last_hash")


def check_anchors(anchors: list[dict]) -> list[Problem]:
    """The problems of the archive records (oldest first): each must hold a
    consistent range, start where the one before ends and chain to it."""
    problems: list[Problem] = []
    expected_seq, expected_hash = 1, GENESIS
    for a in anchors:
        name = a.get("file")
        first, last, count = a.get("first_seq"), a.get("last_seq"), a.get("count")
        if not (_int(first) >= 1 and _int(last) >= _int(first) and count == last - first + 1
                and name == archive_name(first, last)):
            problems.append(Problem("broken", None, None, _(
                "the archive record {id} ({file}) is not consistent: its range, count and file name "
                "disagree").format(id=a.get("id"), file=name)))
            if _int(last):
                expected_seq, expected_hash = last + 1, a.get("last_hash")
            continue
        if first > expected_seq:
            missing = f"{expected_seq}" if first == expected_seq + 1 else f"{expected_seq}-{first - 1}"
            problems.append(Problem("removed", None, expected_seq, _(
                "the record of archived entries seq {missing} was removed (it stood before {file})").format(
                missing=missing, file=name), archive=name))
        elif first < expected_seq:
            problems.append(Problem("reordered", None, first, _(
                "archive {file} overlaps the archive before it (it starts at seq {first}, not {expected})").format(
                file=name, first=first, expected=expected_seq), archive=name))
        elif a.get("first_prev_hash") != expected_hash:
            problems.append(Problem("edited", None, first, _(
                "archive {file} does not chain to the archive before it: the hashes recorded for them "
                "differ").format(file=name), archive=name))
        expected_seq, expected_hash = last + 1, a.get("last_hash")
    return problems


def check_anchor_records(anchors: list[dict], records: dict, *, complete: bool) -> list[Problem]:
    """Each archive record against the "archive" entry of the trail that
    recorded it (``records``: those entries by anchor id). A record without
    one is a problem only when ``complete`` (every archive file was read)."""
    problems: list[Problem] = []
    for a in anchors:
        entry = records.get(a.get("id"))
        if entry is None:
            if complete:
                problems.append(Problem("removed", None, None, _(
                    "no entry of the trail records the archiving of {file}").format(file=a.get("file")),
                    archive=a.get("file")))
            continue
        after = entry.get("after") if isinstance(entry.get("after"), dict) else {}
        if any(after.get(k) != a.get(k) for k in _RECORDED):
            problems.append(Problem("edited", None, None, _(
                "the archive record of {file} was changed: it does not match entry {id} (seq {seq}), which "
                "recorded the archiving").format(file=a.get("file"), id=entry.get("id"), seq=entry.get("seq")),
                archive=a.get("file")))
    return problems


def verify_entries(entries: list[dict], head: dict | None, *,
                   start: tuple[int, str] | None = None) -> list[Problem]:
    """The problems of a chain of entries (in id order) and its head record.

    Each problem names the entry: an entry whose content no longer matches
    its hash (or whose successor no longer chains to it) was *edited*; a gap
    in the sequence numbers is a *removed* entry; a sequence number out of
    place is a *reordered* one; a head pointing past the last entry means
    entries were cut off the end. ``start``: the (seq, hash) of the last
    archived entry the chain continues from (None: the chain's beginning).
    """
    problems, prev, prev_sound, last_seq = _walk(entries, start)
    if head is None:
        if entries:
            problems.append(Problem("broken", None, None, _("the head record of the audit trail is missing")))
        return problems
    head_seq = head.get("seq")
    if isinstance(head_seq, int) and head_seq > last_seq:
        missing = f"{last_seq + 1}" if head_seq == last_seq + 1 else f"{last_seq + 1}-{head_seq}"
        problems.append(Problem("removed", head.get("entry_id"), head_seq, _(
            "entry seq {missing} was removed from the end of the trail (entry id {id} was the last)").format(
            missing=missing, id=head.get("entry_id"))))
    elif prev is not None and head_seq == prev.get("seq") and head.get("hash") != prev.get("hash") and prev_sound:
        problems.append(Problem("edited", prev.get("id"), prev.get("seq"), _(
            "entry {id} (seq {seq}) was edited: it does not match the recorded head of the trail").format(
            id=prev.get("id"), seq=prev.get("seq"))))
    elif head_seq != last_seq and not problems:
        problems.append(Problem("broken", head.get("entry_id"), head_seq, _(
            "the head of the audit trail (seq {head}) does not match its last entry (seq {last})").format(
            head=head_seq, last=last_seq)))
    return problems


def _walk(entries: Iterable[dict], start: tuple[int, str] | None,
          present: set | None = None) -> tuple[list[Problem], dict | None, bool, int]:
    """Walk a chain: (problems, the last entry, whether it is sound, the last seq).
    ``present``: the seqs there are (None: those of ``entries``), to tell a
    reordered entry from a removed one."""
    start_seq, start_hash = start or (0, GENESIS)
    problems: list[Problem] = []
    if present is None:
        entries = list(entries)
        present = {e.get("seq") for e in entries}
    prev: dict | None = None
    prev_sound = False
    expected_seq = start_seq + 1
    for entry in entries:
        eid, seq = entry.get("id"), entry.get("seq")
        stored = entry.get("hash")
        sound = isinstance(stored, str) and entry_hash(entry) == stored
        if not sound:
            problems.append(Problem("edited", eid, seq, _(
                "entry {id} (seq {seq}) was edited: its content does not match its hash").format(
                id=eid, seq=seq)))
        if not isinstance(seq, int) or isinstance(seq, bool):
            problems.append(Problem("broken", eid, seq, _("entry {id} has no sequence number").format(id=eid)))
            sound = False
        elif seq < expected_seq and prev is None and start_seq > 0:
            problems.append(Problem("reordered", eid, seq, _(
                "entry {id} (seq {seq}) belongs to the archived part of the trail (up to seq {last})").format(
                id=eid, seq=seq, last=start_seq)))
            sound = False
        elif seq < expected_seq:
            problems.append(Problem("reordered", eid, seq, _(
                "entry {id} (seq {seq}) is out of order: it comes after seq {prev}").format(
                id=eid, seq=seq, prev=expected_seq - 1)))
            sound = False
        elif seq > expected_seq:
            if any(s in present for s in range(expected_seq, seq)):
                problems.append(Problem("reordered", eid, seq, _(
                    "entry {id} (seq {seq}) is out of order: expected seq {expected} here").format(
                    id=eid, seq=seq, expected=expected_seq)))
            else:
                missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
                problems.append(Problem("removed", eid, seq, _(
                    "entry seq {missing} was removed (it stood before entry {id}, seq {seq})").format(
                    missing=missing, id=eid, seq=seq)))
            sound = False
        elif sound and prev is not None and prev_sound and entry.get("prev_hash") != prev.get("hash"):
            # sequence and own hash fine, link broken: the entry before was
            # rewritten together with its hash
            problems.append(Problem("edited", prev.get("id"), prev.get("seq"), _(
                "entry {id} (seq {seq}) was edited: entry {next} (seq {next_seq}) does not "
                "chain to it").format(id=prev.get("id"), seq=prev.get("seq"), next=eid, next_seq=seq)))
        elif sound and prev is None and entry.get("prev_hash") != start_hash:
            if start_seq == 0:
                problems.append(Problem("removed", eid, seq, _(
                    "entries before entry {id} (seq {seq}) were removed: it does not start the chain").format(
                    id=eid, seq=seq)))
            else:
                problems.append(Problem("edited", eid, seq, _(
                    "entry {id} (seq {seq}) does not chain to the archived entry seq {last} before it: one of "
                    "them was changed").format(id=eid, seq=seq, last=start_seq)))
        if isinstance(seq, int):
            expected_seq = max(expected_seq, seq + 1)
        prev, prev_sound = entry, sound
    return problems, prev, prev_sound, expected_seq - 1
