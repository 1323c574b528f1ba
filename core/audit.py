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
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from core.errors import ValidationError
from core.hookspecs import TableSpec
from core.i18n import _
from core.storage import Range

AUDIT = "core.audit"
HEAD = "core.audit_head"
GENESIS = "0" * 64
READ = "core.audit.read"
#: tables whose changes are not audited: the trail itself
UNAUDITED = frozenset({AUDIT, HEAD})


def canonical(entry: dict) -> bytes:
    """The bytes the hash is taken over: the entry without ``hash`` and ``id``."""
    body = {k: v for k, v in entry.items() if k not in ("hash", "id")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Problem:
    """One thing :meth:`AuditTrail.verify` found wrong."""

    kind: str  # "edited", "removed", "reordered", "truncated", "broken"
    entry_id: int | None
    seq: int | None
    message: str

    def __str__(self) -> str:
        return self.message


def _moment(value: str, field: str) -> str:
    """An ISO date or date-time (UTC) for a filter; ValidationError otherwise."""
    value = value.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(_("{value!r} is not a date (YYYY-MM-DD) or a time "
                                "(YYYY-MM-DDTHH:MM)").format(value=value), field=field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


class AuditTrail:
    """``services.audit``: the append-only, tamper-evident audit trail."""

    TABLES = (TableSpec("audit", version=1), TableSpec("audit_head", version=1))

    def __init__(self, backdesk) -> None:
        self.backdesk = backdesk
        self.store = backdesk.store
        self.table = backdesk.table(AUDIT)
        self.head = backdesk.table(HEAD)
        self._known: set[str] | None = None
        self._unsubscribe = self.store.before_commit(self._on_commit)

    @property
    def operator(self):
        return self.backdesk.operator

    # -- writing --------------------------------------------------------------------
    def _last(self) -> tuple[int, str]:
        """(seq, hash) of the last entry; called with the write lock held."""
        head = self.head.get(1)
        if head is not None:
            return head["seq"], head["hash"]
        if self.table.count() == 0:
            return 0, GENESIS
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
        if self.head.get(1) is None:
            self.head.insert(head)
        else:
            self.head.update(1, head)

    def _on_commit(self, changes) -> None:
        entries = []
        at = now_utc()
        actor = self.store.actor
        for change in changes:
            if change.table in UNAUDITED:
                continue
            entries.append({
                "at": at, "actor": actor, "plugin": change.table.partition(".")[0],
                "table": change.table, "doc_id": change.id, "op": change.op,
                "before": change.before, "after": change.after, "what": None,
            })
        if entries:
            self._append(entries)

    def record_read(self, plugin: str, table: str, doc_id: int | None, what: str = "") -> None:
        """Record that the operator read something sensitive (an HR case opened)."""
        entry = {"at": now_utc(), "actor": self.store.actor, "plugin": plugin, "table": table,
                 "doc_id": doc_id, "op": "read", "before": None, "after": None, "what": what or None}
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
                op: str | None = None, limit: int | None = None, newest_first: bool = True) -> list[dict]:
        """Entries matching the filters (``since``/``until``: ISO dates or times, UTC).

        The content (``before``/``after``) of a confidential table is replaced
        by ``{"redacted": permission}`` unless the operator holds the table's
        read permission (see :meth:`protecting_permission`)."""
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
        found = self.table.find(where or None, order_by="-id" if newest_first else "id", limit=limit)
        for entry in found:
            self._redact(entry)
        return found

    def protecting_permission(self, table: str) -> str | None:
        """The permission guarding a table's content, by convention
        ``<table>.read`` ("hr.cases.read" for hr.cases) when a plugin (or
        core) defines it."""
        from core.access import known_permissions

        if self._known is None:
            self._known = {p.name for p in known_permissions(self.backdesk.host)}
        wanted = f"{table}.read"
        return wanted if wanted in self._known else None

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

    # -- verifying ------------------------------------------------------------------
    def verify(self) -> list[Problem]:
        """Walk the chain in id order; an empty list means the trail is intact."""
        self.operator.require(READ, _("verify the audit trail"))
        return verify_entries(self.table.all(), self.head.get(1))


def verify_entries(entries: list[dict], head: dict | None) -> list[Problem]:
    """The problems of a chain of entries (in id order) and its head record.

    Each problem names the entry: an entry whose content no longer matches
    its hash (or whose successor no longer chains to it) was *edited*; a gap
    in the sequence numbers is a *removed* entry; a sequence number out of
    place is a *reordered* one; a head pointing past the last entry means
    entries were cut off the end.
    """
    problems: list[Problem] = []
    present = {e.get("seq") for e in entries}
    prev: dict | None = None
    prev_sound = False
    expected_seq = 1
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
        elif sound and prev is None and entry.get("prev_hash") != GENESIS:
            problems.append(Problem("removed", eid, seq, _(
                "entries before entry {id} (seq {seq}) were removed: it does not start the chain").format(
                id=eid, seq=seq)))
        if isinstance(seq, int):
            expected_seq = max(expected_seq, seq + 1)
        prev, prev_sound = entry, sound
    last_seq = expected_seq - 1
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
