"""The Audit trail screen (``core.audit.read``): who changed what, when.

Filters by operator, plugin and date (from/to, YYYY-MM-DD) above a table of
entries, newest first; enter shows an entry with what changed; ``a`` shows
the archived entries too (read from the archive files, see core.services.audit);
``v`` verifies the hash chain (with the archive files while they are shown)
and reports the first problems found.
"""

from __future__ import annotations

import json
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Select, Static

from core.errors import BackdeskError
from core.i18n import _, format_datetime
from core.shell.screens.base import BackdeskScreen
from core.shell.screens.notifications import short_when
from core.shell.widgets import Column, RecordTable

#: the most entries the screen loads at once
LIMIT = 2000


def summary(entry: dict) -> str:
    """One line saying what an entry changed."""
    if entry.get("op") == "read":
        return entry.get("what") or _("read")
    if entry.get("op") == "archive":
        return entry.get("what") or _("archived")
    if entry.get("op") == "print":
        return entry.get("what") or _("printed")
    before, after = entry.get("before") or {}, entry.get("after") or {}
    if entry.get("op") == "update":
        keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        return ", ".join(f"{k}: {_short(before.get(k))} → {_short(after.get(k))}" for k in keys[:3])
    doc = after or before
    for key in ("name", "title", "text", "subject"):
        if doc.get(key):
            return _short(doc[key], 60)
    return ""


def _short(value: Any, width: int = 20) -> str:
    text = "∅" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


class AuditScreen(BackdeskScreen):
    """Audit entries with filters; verify the chain."""

    DEFAULT_CSS = """
    AuditScreen #audit-filters { height: 1; }
    AuditScreen #audit-filters Select { width: 1fr; }
    AuditScreen #audit-filters Input { width: 12; }
    AuditScreen #audit-status { height: 1; padding: 0 1; color: $text-muted; }
    AuditScreen RecordTable { height: 1fr; }
    """
    WATCH_TABLES = frozenset({"core.audit"})
    BINDINGS = [
        Binding("v", "verify", _("Verify"), id="audit.verify"),
        Binding("a", "toggle_archived", _("Archived"), id="audit.archived"),
        Binding("ctrl+r", "clear_filters", _("Clear filters"), id="audit.clear"),
    ]
    nav_id = "audit"

    def __init__(self, backdesk) -> None:
        super().__init__()
        self.backdesk = backdesk
        self.audit = backdesk.services.audit
        self.allowed = backdesk.operator.can("core.audit.read")
        #: whether the archived entries are shown too (``a``)
        self.include_archived = False

    def compose_content(self) -> ComposeResult:
        if not self.allowed:
            try:
                self.backdesk.operator.require("core.audit.read", _("read the audit trail"))
            except BackdeskError as exc:
                yield Static(str(exc), id="audit-denied")
            return
        actors = [(a or "-", a) for a in self.audit.actors()]
        plugins = [(p or "-", p) for p in self.audit.plugins()]
        with Horizontal(id="audit-filters"):
            yield Select(actors, prompt=_("Operator"), id="audit-operator", compact=True)
            yield Select(plugins, prompt=_("Plugin"), id="audit-plugin", compact=True)
            yield Input(placeholder=_("from"), id="audit-since", compact=True)
            yield Input(placeholder=_("to"), id="audit-until", compact=True)
        yield Static("", id="audit-status")
        yield RecordTable(
            [Column("seq", "#", width=5, align="right"),
             Column("when", _("When")),
             Column("actor", _("Operator"), width=8),
             Column("op", _("Op"), width=6),
             Column("what", _("Record and change"))],
            [], id="audit-table", empty_text=_("No entries match."))

    def on_mount(self) -> None:
        super().on_mount()
        if not self.allowed:
            return
        self.reload()
        self.query_one(RecordTable).focus()

    def _filters(self) -> dict[str, Any]:
        op = self.query_one("#audit-operator", Select).value
        plugin = self.query_one("#audit-plugin", Select).value
        return {
            "operator": None if op is Select.NULL else op,
            "plugin": None if plugin is Select.NULL else plugin,
            "since": self.query_one("#audit-since", Input).value.strip() or None,
            "until": self.query_one("#audit-until", Input).value.strip() or None,
        }

    def reload(self) -> None:
        if self.allowed:
            self._load(dict(self._filters(), include_archived=self.include_archived))

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def _load(self, filters: dict[str, Any]) -> None:
        try:
            rows = self.audit.entries(limit=LIMIT, **filters)
            error = None
        except BackdeskError as exc:
            rows, error = [], str(exc)
        for r in rows:
            r["when"] = short_when(r.get("at"))
            r["record"] = f"{r.get('table')} {r.get('doc_id') if r.get('doc_id') is not None else ''}".strip()
            r["summary"] = summary(r)
            r["what"] = f"{r['record']}: {r['summary']}" if r["summary"] else r["record"]
        self.app.call_from_thread(self._show, rows, error)

    def _show(self, rows: list[dict], error: str | None) -> None:
        if not self.is_attached:
            return
        self.query_one(RecordTable).set_records(rows)
        status = self.query_one("#audit-status", Static)
        if error:
            status.update(error)
        else:
            more = _(" (the newest {n})").format(n=LIMIT) if len(rows) >= LIMIT else ""
            archived = _(", archived ones included") if self.include_archived else ""
            status.update(_("{n} entries").format(n=len(rows)) + more + archived)

    def refresh_data(self, names: frozenset[str]) -> None:
        self.reload()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        self.reload()

    @on(Input.Submitted)
    def _date_entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.reload()

    @on(Input.Blurred)
    def _date_left(self, event: Input.Blurred) -> None:
        self.reload()

    def action_clear_filters(self) -> None:
        self.query_one("#audit-operator", Select).clear()
        self.query_one("#audit-plugin", Select).clear()
        self.query_one("#audit-since", Input).value = ""
        self.query_one("#audit-until", Input).value = ""
        self.reload()

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        event.stop()
        from core.shell.screens.directory import DetailModal  # 86–145 ms: when a person is opened

        e = event.record
        pairs = [(_("Seq"), str(e.get("seq"))), (_("When"), format_datetime(e["at"])), (_("Operator"), e.get("actor")),
                 (_("Plugin"), e.get("plugin")), (_("Record"), e.get("record")), (_("Op"), e.get("op"))]
        if e.get("what"):
            pairs.append((_("What"), e["what"]))
        before, after = e.get("before") or {}, e.get("after") or {}
        for key in sorted(set(before) | set(after)):
            if key == "id":
                continue
            old, new = before.get(key), after.get(key)
            if e.get("op") == "update" and old == new:
                continue
            if e.get("op") == "update":
                pairs.append((key, f"{_short(old, 30)} → {_short(new, 30)}"))
            else:
                pairs.append((key, _short(new if e.get("op") == "insert" else old, 60)))
        pairs.append((_("Hash"), (e.get("hash") or "")[:16] + "…"))
        if e.get("archive"):
            pairs.append((_("Archive file"), e["archive"]))
        self.app.push_screen(DetailModal(_("Audit entry {seq}").format(seq=e.get("seq")), pairs))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("verify", "clear_filters", "toggle_archived") and not self.allowed:
            return False
        return True

    def action_toggle_archived(self) -> None:
        self.include_archived = not self.include_archived
        self.reload()

    def action_verify(self) -> None:
        self._verify()

    @work(thread=True, exclusive=True, group="audit-verify", exit_on_error=False)
    def _verify(self) -> None:
        problems = self.audit.verify(archives=self.include_archived)
        count = self.audit.table.count() + (self.audit.archived_count() if self.include_archived else 0)

        def show() -> None:
            if problems:
                text = "\n".join(str(p) for p in problems[:5])
                if len(problems) > 5:
                    text += "\n" + _("… and {n} more").format(n=len(problems) - 5)
                self.notify(text, title=_("The audit trail was tampered with"), severity="error", timeout=15)
            else:
                self.notify(_("The audit trail is intact: {n} entries.").format(n=count), timeout=5)

        self.app.call_from_thread(show)
