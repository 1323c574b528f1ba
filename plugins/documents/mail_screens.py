"""The mail intake log on screen: every mail the mailboxes delivered, what
became of it (documents filed, a ticket opened or commented, ignored and
why) or why it was refused — what `docs mail log` prints, for the operator
at the Intake screen (`m`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from core.errors import BackdeskError
from core.i18n import format_datetime
from core.shell.screens.base import BackdeskScreen
from core.shell.widgets import Column, ProgressScreen, RecordTable
from plugins.documents import mailin
from plugins.documents.models import MAIL_STATUS_TITLES, _, label

#: rows the screen shows (newest first)
LIMIT = 500


class MailLogScreen(BackdeskScreen):
    """The mail intake log, newest first; `g` reads the mailboxes now."""

    WATCH_TABLES = frozenset({"documents.mails"})
    BINDINGS = [Binding("g", "fetch", _("Read mail now"), id="documents.fetch_mail")]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def compose_content(self) -> ComposeResult:
        yield Static("", id="mail-boxes", markup=False)
        yield RecordTable([
            Column("when", _("When"), width=17),
            Column("status", _("Status"), width=9, format=lambda v: label(MAIL_STATUS_TITLES, v)),
            Column("sender", _("From"), width=16),
            Column("subject", _("Subject")),
        ], [], id="mail-table", empty_text=_("No mail read yet"))
        yield Static("", id="mail-detail", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        boxes = mailin.mailboxes(self.ctx)
        self.query_one("#mail-boxes", Static).update(
            _("Mailboxes: {names}").format(names=", ".join(f"{n} ({b.purpose})" for n, b in boxes.items()))
            if boxes else _("No mailbox is configured (the documents plugin's setting mailboxes)"))
        self.load()
        self.query_one(RecordTable).focus()

    def load(self) -> None:
        try:
            rows = mailin.mail_log(self.ctx, limit=LIMIT)
        except BackdeskError as error:
            self.notify(str(error), severity="error")
            rows = []
        for row in rows:
            row["when"] = format_datetime(row["received_at"], "short")
        table = self.query_one(RecordTable)
        table.set_records(rows)
        self._detail(table.cursor_record)

    def refresh_data(self, names) -> None:
        self.load()

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        self._detail(event.record)

    def _detail(self, row) -> None:
        box = self.query_one("#mail-detail", Static)
        if not row:
            box.update("")
            return
        box.update(f"{row.get('mailbox')}: {row.get('sender') or '?'} — {row.get('subject') or ''}\n{mailin.outcome(row)}")

    def action_fetch(self) -> None:
        def done(counts) -> None:
            if counts is None:
                return
            note = _("{handled} handled, {ignored} ignored, {refused} refused").format(**counts)
            for line in counts["errors"]:
                self.notify(line, severity="error")
            self.notify(note)
            self.load()

        self.app.push_screen(ProgressScreen(lambda progress: mailin.fetch_mail(self.ctx),
                                            title=_("Reading the mailboxes")), done)
