"""The help screen: the key bindings of the screen it was opened from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from core.i18n import _


class HelpScreen(ModalScreen):
    """Lists (key, action) for every binding active where F1 was pressed."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 70; max-width: 100%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    HelpScreen DataTable { height: auto; max-height: 18; }
    """
    BINDINGS = [Binding("escape,f1,q", "dismiss", _("Close"), id="help.close")]

    def __init__(self, rows: list[tuple[str, str]], title: str) -> None:
        super().__init__()
        self.rows = rows
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]{_('Key bindings')}[/b] — {self.title_text}")
            yield DataTable(cursor_type="row", show_cursor=True)
            yield Static(f"[dim]{_('Escape closes this help.')}[/dim]")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(_("Key"), _("Action"))
        for key, desc in self.rows:
            table.add_row(key, desc)
        table.focus()

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(result)
