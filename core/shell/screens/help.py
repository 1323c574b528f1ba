"""The help screen: the key bindings of the screen it was opened from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from core.i18n import _
from core.shell.widgets.keys import binding_rank, key_text


def _textual_words() -> dict[str, str]:
    """Textual's own bindings carry English descriptions; these are ours."""
    return {"Focus Next": _("Next field"), "Focus Previous": _("Previous field"), "Copy": _("Copy"), "Copy selected text": _("Copy selected text"),
            "Quit": _("Quit"), "Command palette": _("Commands"), "Maximize": _("Maximize")}


def help_rows(screen, active_bindings) -> list[tuple[str, str]]:
    """(keys, what they do) for F1: the screen's own keys first, then those of
    the focused widget (a table's sort and filter), then the app's. Keys
    without a description (cursor movement) become one "Move" line; keys of
    one action share a line (``Home, Ctrl+Home``); ``super+`` (the Mac's
    command key) is left out."""
    groups: dict[int, list] = {0: [], 1: [], 2: []}
    moves = []
    for node, binding, _enabled, _tooltip in active_bindings:
        if binding.key.startswith("super+"):
            continue
        if not binding.description:
            if binding.action in ("cursor_up", "cursor_down", "scroll_up", "scroll_down",
                                  "column_left", "column_right", "page_up", "page_down", "first", "last"):
                moves.append(binding.key)
            continue
        groups[binding_rank(node, binding, screen)].append(binding)
    words = _textual_words()
    rows: list[tuple[str, str]] = []
    index: dict[tuple[str, str], int] = {}
    for rank in (0, 1, 2):
        for binding in groups[rank]:
            description = str(binding.description)
            description = words.get(description, description)
            keys = binding.key_display or key_text(binding.key)
            found = index.get((binding.action, description))
            if found is not None:
                shown, desc = rows[found]
                if keys not in shown.split(", "):
                    rows[found] = (f"{shown}, {keys}", desc)
                continue
            index[(binding.action, description)] = len(rows)
            rows.append((keys, description))
    if moves:
        order = ["up", "down", "left", "right", "pageup", "pagedown", "home", "end"]
        names = [key_text(k) for k in order if k in moves]
        rows.append((" ".join(names), _("Move the cursor")))
    return rows



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
