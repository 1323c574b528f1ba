"""The Visitors screen: who is in the building; sign in (i) and out (o)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from core.errors import BackdeskError
from core.i18n import format_time
from core.shell.screens.base import BackdeskScreen
from core.shell.widgets import Column, ConfirmDialog, Field, FormScreen, RecordTable

from visitors import service

CSS_PATH = Path(__file__).with_name("visitors.tcss")


def sign_in_dialog(ctx):
    """The form that signs a visitor in (screen binding and palette command)."""
    fields = [Field("visitor", "Visitor", required=True),
              Field("company", "Company"),
              Field("host", "Host", required=True, help="A name from the directory, or an id")]
    if ctx.settings.get("badges"):
        fields.append(Field("badge", "Badge"))

    def submit(values: dict):
        return service.sign_in(ctx, values["visitor"], values["host"],
                               company=values.get("company") or "", badge=values.get("badge") or "")

    def run(app) -> None:
        def done(visit_id) -> None:
            if visit_id is not None:
                app.notify(f"{ctx.table('visits')[visit_id]['visitor']} is signed in; the host is told")

        app.push_screen(FormScreen("Sign a visitor in", fields, on_submit=submit,
                                   submit_label="Sign in"), done)

    return run


class VisitorsScreen(BackdeskScreen):
    """Visitors in the building, oldest arrival first."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"visitors.visits"})
    BINDINGS = [
        Binding("i", "sign_in", "Sign in", id="visitors.sign_in"),
        Binding("o", "sign_out", "Sign out", id="visitors.sign_out"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def compose_content(self) -> ComposeResult:
        yield Static("", id="visitors-summary", classes="visitors-bar")
        yield RecordTable(
            [Column("visitor", "Visitor"), Column("company", "Company", width=14),
             Column("host", "Host", width=16),
             Column("arrived", "In", width=8, format=lambda v: format_time(v) if v else "")],
            [], id="visitors-table", empty_text="Nobody signed in. Press i to sign a visitor in.")

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_data(frozenset())
        self.query_one(RecordTable).focus()

    def refresh_data(self, names: frozenset[str]) -> None:
        rows = service.visits(self.ctx)
        self.query_one(RecordTable).set_records(rows)
        n = len(rows)
        self.query_one("#visitors-summary", Static).update(
            "Nobody signed in" if n == 0 else f"{n} in the building")

    def action_sign_in(self) -> None:
        sign_in_dialog(self.ctx)(self.app)

    def action_sign_out(self) -> None:
        visit = self.query_one(RecordTable).cursor_record
        if visit is None:
            return

        def confirmed(yes) -> None:
            if not yes:
                return
            try:
                service.sign_out(self.ctx, visit["id"])
            except BackdeskError as error:  # a refusal is news, not a crash
                self.notify(str(error), severity="error")

        self.app.push_screen(ConfirmDialog(f"Sign {visit['visitor']} out?"), confirmed)
