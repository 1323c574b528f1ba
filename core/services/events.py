"""Domain events between plugins: stored, delivered after commit, retried.

A plugin publishes ``ctx.publish("employee_hired", {"person_id": 7})``
(core: ``services.events.publish("core.person_added", {...})``). The event is
a row of ``core.events`` written in the caller's transaction, so it exists
exactly when the change it reports does. Once that transaction is committed,
every plugin reacting to it gets it, each on its own: the plugins that
name it in ``backdesk_reactions`` (``{"core.person_left": handler}``) and
those implementing the catch-all ``backdesk_event``:

* a handler runs inside its own transaction together with the record of its
  delivery, so a handler that raises leaves nothing half-done;
* its failure is stored in ``core.event_deliveries`` (status ``failed``,
  the error, attempts), shown under Plugins, and never reaches the publisher
  or the other handlers;
* ``backdesk events retry`` (:meth:`EventBus.retry`) runs failed deliveries
  again, only for the plugins that failed.

Events published inside a handler are queued and delivered after the
current one, so a chain of events never grows the stack.

An event for a day to come (``ctx.publish("employee_left", {...},
on="2026-12-31")``) is stored as ``scheduled`` with that ``due`` day and
published on it by :meth:`EventBus.deliver_due`: the shell runs it when it
starts and every quarter of an hour, ``backdesk events due`` (a cron line)
where no shell runs over midnight. Each is delivered once, however many
processes ask at the same time: the claim is a transaction.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

from core.services.access import reaction
from core.services.audit import now_utc
from core.errors import BackdeskError, UnknownRecord, ValidationError
from core.api.hookspecs import TableSpec
from core.i18n import _, today
from core.storage import Range
from core.records import Record

log = logging.getLogger("backdesk.events")

EVENTS = "core.events"
DELIVERIES = "core.event_deliveries"
_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")
READ = "core.events.read"
MANAGE = "core.events.manage"
HOOK = "backdesk_event"
REACTIONS = "backdesk_reactions"


@dataclass(frozen=True, repr=False, eq=False)
class Event(Record):
    """What a ``backdesk_event`` handler receives."""

    id: int
    name: str
    data: dict = field(default_factory=dict)
    at: str = ""
    actor: str | None = None
    source: str = ""

    @property
    def plugin(self) -> str:
        """The namespace that published it ("hr" for ``hr.employee_hired``)."""
        return self.name.partition(".")[0]

    @classmethod
    def from_doc(cls, doc: dict) -> "Event":
        return cls(id=doc["id"], name=doc["name"], data=copy.deepcopy(doc.get("data") or {}),
                   at=doc.get("at", ""), actor=doc.get("actor"), source=doc.get("source", ""))


class EventBus:
    """``services.events``: publish domain events and deliver them to plugins."""

    TABLES = (TableSpec("events", version=1, read=READ), TableSpec("event_deliveries", version=1, read=READ))

    def __init__(self, backdesk) -> None:
        self.backdesk = backdesk
        self.store = backdesk.store
        self.events = backdesk.table(EVENTS)
        self.deliveries = backdesk.table(DELIVERIES)
        self._local = threading.local()
        self._reactions: dict[str, dict[str, Any]] | None = None
        self._unsubscribe = self.store.after_commit(self._committed)

    @property
    def operator(self):
        return self.backdesk.operator

    # -- publishing ----------------------------------------------------------------
    def publish(self, name: str, data: dict | None = None, *, source: str | None = None,
                on: Any = None) -> int:
        """Store the event ``name`` ("<plugin>.<what_happened>"); returns its id.

        Inside a transaction the event belongs to it (rolled back with it);
        handlers run after the commit, in this process. ``source``: the
        plugin that publishes (``ctx.publish`` and ``ctx.services.events``
        pass it and refuse other plugins' names); core's own events are
        ``core``'s. ``on``: the day the event is for (a ``datetime.date`` or
        "YYYY-MM-DD", the site's calendar): a later day than today stores
        it as ``scheduled`` until :meth:`deliver_due` publishes it on that
        day; today or a day gone by publishes it at once.
        """
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationError(_("{name!r} is not an event name like 'hr.employee_hired'").format(
                name=name), field="name")
        if data is not None and not isinstance(data, dict):
            raise ValidationError(_("event data must be a dict"), field="data")
        due = _day(on) if on is not None else None
        doc = {"name": name, "data": data or {}, "at": now_utc(), "actor": self.store.actor,
               "source": source or name.partition(".")[0]}
        if due is not None and due > today().isoformat():
            return self.events.insert({**doc, "status": "scheduled", "due": due})
        # with nobody listening there is nothing to deliver (and nothing to settle later)
        return self.events.insert({**doc, "status": "pending" if self.handlers(name) else "done"})

    def deliver_due(self, day: Any = None) -> list[int]:
        """Publish the scheduled events whose day has come (``day``: the
        site's today) and deliver them; returns their ids. Each is claimed
        in one transaction (``scheduled`` → ``pending``), so two processes
        asking at once deliver it once. Call it outside a transaction."""
        until = _day(day) if day is not None else today().isoformat()
        with self.store.transaction():
            claimed = [self.events.update(doc["id"], {"status": "pending" if self.handlers(doc["name"]) else "done"})
                       for doc in self.events.find({"status": "scheduled", "due": Range(le=until)},
                                                   order_by=["due", "id"])]
        for doc in claimed:
            if doc["status"] == "pending":
                try:
                    self._deliver(Event.from_doc(doc), first=True)
                except Exception:  # bookkeeping failed: the next call finds it pending, `events retry` too
                    log.exception("delivering event %s failed", doc["id"])
        return [doc["id"] for doc in claimed]

    # -- delivering ----------------------------------------------------------------
    def _committed(self, changes) -> None:
        """after_commit: queue the events this transaction stored, deliver them."""
        new = [c.after for c in changes
               if c.table == EVENTS and c.op == "insert" and c.after is not None
               and c.after.get("status") == "pending"]
        if not new:
            return
        queue = getattr(self._local, "queue", None)
        if queue is None:
            queue = self._local.queue = []
        queue.extend(new)
        if getattr(self._local, "busy", False):
            return  # an outer call in this thread is delivering: it picks these up
        self._local.busy = True
        try:
            while queue:
                doc = queue.pop(0)
                try:
                    self._deliver(Event.from_doc(doc), first=True)
                except Exception:  # bookkeeping failed (store closed?): never the publisher's problem
                    log.exception("delivering event %s failed", doc.get("id"))
        finally:
            self._local.busy = False

    def handlers(self, name: str | None = None) -> list:
        """Active plugins that react to the event ``name`` (any event when
        None), in load order: those implementing ``backdesk_event`` and those
        naming it in ``backdesk_reactions``."""
        host = self.backdesk.host
        implementing = {impl.plugin_name for impl in getattr(host.pm.hook, HOOK).get_hookimpls()}
        reactions = self.reactions()
        return [rec for rec in host.active if rec.name in implementing
                or (rec.name in reactions and (name is None or name in reactions[rec.name]))]

    def reactions(self) -> dict[str, dict[str, Any]]:
        """``{plugin: {event name: handler}}`` from ``backdesk_reactions``
        (asked once). A plugin whose hook fails or returns something else
        than ``{name: callable}`` is recorded as failing it and reacts to
        nothing through it."""
        if self._reactions is None:
            found: dict[str, dict[str, Any]] = {}
            host = self.backdesk.host
            for rec, result in host.call(REACTIONS):
                if not isinstance(result, dict) or not all(
                        isinstance(k, str) and _NAME.match(k) and callable(v) for k, v in result.items()):
                    host.record_failure(rec, REACTIONS, BackdeskError(
                        "backdesk_reactions must return {event name: handler(event)}"))
                    continue
                found[rec.name] = dict(result)
            self._reactions = found
        return self._reactions

    def reacts_to(self, plugin: str) -> list[str]:
        """The events ``plugin`` names in ``backdesk_reactions`` (sorted);
        ``["*"]`` first when it implements the catch-all ``backdesk_event``."""
        host = self.backdesk.host
        out = sorted(self.reactions().get(plugin, {}))
        if host.implements(plugin, HOOK):
            out.insert(0, "*")
        return out

    def _deliver(self, event: Event, only: set[str] | None = None, *, first: bool = False) -> dict[str, str]:
        """Run the handlers for ``event`` (``only`` these plugins); record each.

        ``first``: the event was just committed, so it has no delivery rows
        yet and none need looking up (a scan of the deliveries table)."""
        results: dict[str, str] = {}
        for rec in self.handlers(event.name):
            if only is not None and rec.name not in only:
                continue
            results[rec.name] = self._run_handler(rec, event, first)
        if only is not None:
            for name in only - set(results):
                self._record(event.id, name, "failed", _("the plugin is not loaded"))
                results[name] = "failed"
        self._settle(event.id, None if not first else "failed" in results.values())
        return results

    def _run_handler(self, rec, event: Event, first: bool = False) -> str:
        host = self.backdesk.host
        ctx = host.contexts.get(rec.name)
        try:
            with self.store.transaction(), reaction(event.name):
                handler = self.reactions().get(rec.name, {}).get(event.name)
                if handler is not None:
                    handler(event)
                host.call_one(rec, HOOK, ctx=ctx, event=event)  # None when it has no backdesk_event
                self._record(event.id, rec.name, "ok", None, first=first)
            return "ok"
        except Exception as exc:
            host.record_failure(rec, f"{HOOK} {event.name}", exc)
            error = f"{type(exc).__name__}: {exc}"
            log.warning("plugin %s failed on event %s (%s): %s", rec.name, event.id, event.name, error)
            try:
                self._record(event.id, rec.name, "failed", error,
                             "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
                             first=first)
            except Exception:
                log.exception("could not record the failed delivery of event %s", event.id)
            return "failed"

    def _record(self, event_id: int, plugin: str, status: str, error: str | None,
                tb: str | None = None, *, first: bool = False) -> None:
        with self.store.transaction():
            found = [] if first else self.deliveries.find({"event_id": event_id, "plugin": plugin}, limit=1)
            if found:
                row = found[0]
                self.deliveries.update(row["id"], {"status": status, "error": error, "traceback": tb,
                                                   "attempts": row.get("attempts", 0) + 1, "last_at": now_utc()})
            else:
                self.deliveries.insert({"event_id": event_id, "plugin": plugin, "status": status,
                                        "error": error, "traceback": tb, "attempts": 1,
                                        "last_at": now_utc()})

    def _settle(self, event_id: int, failed: bool | None = None) -> None:
        """Set the event's status from its deliveries: done or failed."""
        if failed is None:
            failed = bool(self.deliveries.count({"event_id": event_id, "status": "failed"}))
        status = "failed" if failed else "done"
        doc = self.events.get(event_id)
        if doc is not None and doc.get("status") != status:
            self.events.update(event_id, {"status": status})

    # -- looking and retrying ----------------------------------------------------
    def list(self, *, failed: bool = False, name: str | None = None, limit: int | None = None) -> list[dict]:
        """Events, newest first, each with ``deliveries`` (list of rows);
        ``failed``: only events with a failed delivery."""
        self.operator.require(READ, _("list events"))
        where: dict[str, Any] = {}
        if failed:
            where["status"] = "failed"
        if name:
            where["name"] = name
        events = self.events.find(where or None, order_by="-id", limit=limit)
        by_event: dict[int, list] = {}
        ids = {e["id"] for e in events}
        for row in self.deliveries.find(order_by="id"):
            if row["event_id"] in ids:
                by_event.setdefault(row["event_id"], []).append(row)
        for e in events:
            e["deliveries"] = by_event.get(e["id"], [])
        return events

    def failed_deliveries(self) -> list[dict]:
        self.operator.require(READ, _("list events"))
        return self.deliveries.find({"status": "failed"}, order_by="id")

    def retry(self, event_id: int | None = None, *, plugin: str | None = None) -> list[tuple[int, str, str]]:
        """Run the failed deliveries again (of one event, for one plugin, or all).

        Returns ``[(event_id, plugin, "ok" | "failed"), ...]``. Events still
        ``pending`` (their publisher stopped before delivering) are delivered
        to every handler.
        """
        self.operator.require(MANAGE, _("retry event deliveries"))
        where: dict[str, Any] = {"status": "failed"}
        if event_id is not None:
            if self.events.get(event_id) is None:
                raise UnknownRecord(_("no event with id {id}").format(id=event_id))
            where["event_id"] = event_id
        if plugin:
            where["plugin"] = plugin
        todo: dict[int, set[str]] = {}
        for row in self.deliveries.find(where, order_by="id"):
            todo.setdefault(row["event_id"], set()).add(row["plugin"])
        pending = []
        if plugin is None:
            pend_where: dict[str, Any] = {"status": "pending"}
            if event_id is not None:
                pend_where["id"] = event_id
            pending = [e["id"] for e in self.events.find(pend_where, order_by="id")
                       if not self.deliveries.count({"event_id": e["id"]})]
        results = []
        for eid in sorted(set(todo) | set(pending)):
            doc = self.events.get(eid)
            if doc is None:
                continue
            only = todo.get(eid) if eid not in pending else None
            outcome = self._deliver_queued(Event.from_doc(doc), only)
            results.extend((eid, name, status) for name, status in sorted(outcome.items()))
        return results

    def _deliver_queued(self, event: Event, only: set[str] | None) -> dict[str, str]:
        """Deliver with the same queueing as after a commit (nested publishes wait)."""
        queue = getattr(self._local, "queue", None)
        if queue is None:
            queue = self._local.queue = []
        outer = getattr(self._local, "busy", False)
        self._local.busy = True
        try:
            result = self._deliver(event, only)
            if not outer:
                while queue:
                    doc = queue.pop(0)
                    try:
                        self._deliver(Event.from_doc(doc), first=True)
                    except Exception:
                        log.exception("delivering event %s failed", doc.get("id"))
        finally:
            self._local.busy = outer
        return result

    def get(self, event_id: int) -> dict:
        self.operator.require(READ, _("list events"))
        doc = self.events.get(event_id)
        if doc is None:
            raise UnknownRecord(_("no event with id {id}").format(id=event_id))
        doc["deliveries"] = self.deliveries.find({"event_id": event_id}, order_by="id")
        return doc


def _day(value: Any) -> str:
    """``value`` (a date or "YYYY-MM-DD") as an ISO day; ValidationError otherwise."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValidationError(_("{value!r} is not a day (YYYY-MM-DD)").format(value=str(value)[:20]),
                              field="on") from None


def describe(name: str) -> str:
    """``hr.employee_hired`` -> ``hr: employee hired`` (for lists)."""
    ns, _sep, what = name.partition(".")
    return f"{ns}: {what.replace('_', ' ')}"


__all__ = ["Event", "EventBus", "BackdeskError", "describe"]
