"""The Notifications screen (the operator's inbox) and the header's unread count.

:class:`InboxBadge` keeps ``app.sub_title`` at "Alice Admin · admin · 2 unread"
and shows a toast for each new notification; the app feeds it the table
changes it hears (its own commits and, through the 0.5 s poll, other
processes'), so a notification sent from another SSH session shows within
about a second.

Keys on the screen: enter opens a notification (marks it read, jumps to its
link), ``r`` read/unread, ``a`` all read, ``d`` delete, ``n`` send a note to
another operator (``core.notifications.send``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from core.errors import BackdeskError
from core.i18n import _, format_datetime, format_time, to_local, today
from core.services.notifications import NOTIFICATIONS, SEND, header_text
from core.safetext import one_line
from core.shell.screens.base import BackdeskScreen

if TYPE_CHECKING:  # pragma: no cover
    from core.shell.widgets import RecordTable  # types only


class InboxBadge:
    """The unread count in the header and toasts for new notifications."""

    def __init__(self, app) -> None:
        self.app = app
        self.backdesk = app.backdesk
        service = self.service
        self.last_id = service.last_id() if service is not None else 0
        self.update(toast=False)

    @property
    def service(self):
        return getattr(self.backdesk.services, "notifications", None)

    def tables_changed(self, names) -> None:
        if NOTIFICATIONS in names:
            self.update(toast=True)

    def update(self, *, toast: bool = True) -> None:
        service = self.service
        if service is None or self.backdesk.store is None:
            return
        self.app.sub_title = header_text(self.backdesk)
        new = service.newer_than(self.last_id)
        if new:
            self.last_id = max(doc["id"] for doc in new)
        if toast:
            for doc in new[-3:]:
                op = self.backdesk.config.operators.get(doc.get("sender") or "")
                sender = op.name if op is not None and op.name else (doc.get("sender") or "?")
                self.app.notify(doc["text"], title=_("From {sender}").format(sender=sender), timeout=8)


def short_when(value: Any) -> str:
    """A stored UTC time, short: the time alone when it is today, else date and time."""
    if not value:
        return ""
    try:
        if to_local(value).date() == today():
            return format_time(value)
        return format_datetime(value, "short")
    except Exception:
        return str(value)[:16].replace("T", " ")


class NotificationsScreen(BackdeskScreen):
    """The operator's inbox, newest first."""

    DEFAULT_CSS = """
    NotificationsScreen #inbox-summary { height: 1; padding: 0 1; color: $text-muted; }
    NotificationsScreen RecordTable { height: 1fr; }
    """
    WATCH_TABLES = frozenset({NOTIFICATIONS})
    BINDINGS = [
        Binding("r", "toggle_read", _("Read/unread"), id="notifications.toggle_read"),
        Binding("a", "all_read", _("All read"), id="notifications.all_read"),
        Binding("d", "delete", _("Delete"), id="notifications.delete"),
        Binding("n", "send", _("Send note"), id="notifications.send"),
    ]
    nav_id = "notifications"

    def __init__(self, backdesk) -> None:
        super().__init__()
        self.backdesk = backdesk
        self.service = backdesk.services.notifications

    def compose_content(self) -> ComposeResult:
        # core.shell.widgets on first use: the shell starts with InboxBadge only
        from core.shell.widgets import Column, RecordTable  # when opened; the badge starts with the shell

        yield Static("", id="inbox-summary")
        yield RecordTable(
            [Column("mark", " ", width=1),
             Column("when", _("When")),
             Column("from", _("From"), width=14),
             Column("text", _("Message"))],
            [], id="inbox-table", empty_text=_("Your inbox is empty."))

    def on_mount(self) -> None:
        super().on_mount()
        self.reload()
        self.table.focus()

    @property
    def table(self) -> RecordTable:
        from core.shell.widgets import RecordTable  # types only

        return self.query_one("#inbox-table", RecordTable)

    def reload(self) -> None:
        rows = []
        for doc in self.service.inbox():
            doc["mark"] = " " if doc.get("read") else "●"
            doc["when"] = short_when(doc.get("at"))
            doc["from"] = self._operator_name(doc.get("sender"))
            doc["text"] = doc["text"].replace("\n", " ")
            rows.append(doc)
        self.table.set_records(rows)
        unread = sum(1 for r in rows if not r.get("read"))
        self.query_one("#inbox-summary", Static).update(
            _("{n} unread of {total}").format(n=unread, total=len(rows)))

    def _operator_name(self, account: str | None) -> str:
        op = self.backdesk.config.operators.get(account or "")
        return op.name if op is not None and op.name else (account or "?")

    def refresh_data(self, names: frozenset[str]) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send" and not self.backdesk.operator.can(SEND):
            return False
        return True

    def _current(self) -> dict | None:
        return self.table.cursor_record  # type: ignore[return-value]

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        event.stop()
        doc = event.record
        try:
            self.service.mark_read(doc["id"])
        except BackdeskError as exc:
            self.notify(str(exc), severity="error")
            return
        link = doc.get("link")
        if link:
            self.bd_app.open_nav(link)
        else:
            from core.shell.screens.directory import DetailModal  # 86–145 ms: when a person is opened

            pairs = [(_("From"), doc.get("from")), (_("When"), format_datetime(doc["at"])),
                     (_("Kind"), doc.get("kind")), (_("Message"), self.service.table.get(doc["id"])["text"])]
            self.app.push_screen(DetailModal(_("Notification"), pairs))

    def action_toggle_read(self) -> None:
        doc = self._current()
        if doc is not None:
            self.service.mark_read(doc["id"], not doc.get("read"))

    def action_all_read(self) -> None:
        n = self.service.mark_all_read()
        self.notify(_("{n} marked as read.").format(n=n), timeout=2)

    def action_delete(self) -> None:
        from core.shell.widgets import ConfirmDialog  # as the screen's table (above)

        doc = self._current()
        if doc is None:
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.service.delete(doc["id"])

        text = one_line(str(doc.get("text") or ""))
        self.app.push_screen(ConfirmDialog(_("Delete the notification “{text}”?").format(
            text=text if len(text) <= 48 else text[:47] + "…"), danger=True, yes_label=_("Delete")), answer)

    def action_send(self) -> None:
        from core.shell.widgets import Field, FormScreen  # as the screen's table (above)

        accounts = [(login, f"{op.name} ({login})") for login, op in
                    sorted(self.backdesk.config.operators.items())]
        fields = [Field("account", _("To"), kind="choice", choices=accounts, required=True),
                  Field("text", _("Message"), kind="multiline", required=True)]

        def submit(values: dict) -> int:
            return self.service.send(values["account"], values["text"])

        def done(result) -> None:
            if result is not None:
                self.notify(_("Sent."), timeout=2)

        self.app.push_screen(FormScreen(_("Send a note"), fields, on_submit=submit,
                                        submit_label=_("Send")), done)
