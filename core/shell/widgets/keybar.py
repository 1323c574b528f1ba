"""The key bar at the bottom of every screen: the keys that work here.

Textual's ``Footer`` builds one widget per key and rebuilds them all each
time the focus moves (a recompose and a full layout pass, ~30 ms on a small
VM with a dozen keys, twice before the dashboard's first frame). The key
bar is one line of text drawn from the screen's active bindings when it
paints, so a focus change costs a repaint of one line. It looks like the
footer (same theme variables), shows the command palette's key on the
right, dims keys that are not available, and a click on a key presses it.
When the keys do not fit, the last ones give way to an ellipsis; F1 lists
them all.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widget import Widget

from core.shell.widgets.keys import binding_rank


class KeyBar(Widget, can_focus=False):
    """One line: the active bindings' keys and what they do."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        & > .keybar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .keybar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        #: (start, end, key) of each key drawn in the last paint, for clicks
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        self.refresh()

    def keys(self) -> list[tuple[str, str, str, bool]]:
        """(key, key as shown, description, enabled) as drawn, palette last."""
        app = self.app
        screen = self.screen
        seen: set[str] = set()
        # The screen's own keys first (Payroll's "r Run payroll"), then the
        # focused widget's (a table's open, filter, sort), then the app's: when
        # the line is too short, the general keys give way, not the screen's.
        ranks: tuple[list, list, list] = ([], [], [])
        palette = None
        for node, binding, enabled, _tooltip in screen.active_bindings.values():
            if app.ENABLE_COMMAND_PALETTE and binding.key == app.COMMAND_PALETTE_BINDING:
                palette = (binding.key, app.get_key_display(binding),
                           binding.description, enabled)
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            ranks[binding_rank(node, binding, screen)].append((binding.key, app.get_key_display(binding), binding.description, enabled))
        shown = ranks[0] + ranks[1] + ranks[2]
        if palette is not None:
            shown.append(palette)
        return shown

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        desc_style = self.get_component_rich_style("keybar--description")
        width = self.size.width
        items = self.keys()
        palette = None
        if items and self.app.ENABLE_COMMAND_PALETTE and items[-1][0] == self.app.COMMAND_PALETTE_BINDING:
            palette = items.pop()

        def piece(key_display: str, description: str, enabled: bool) -> Text:
            text = Text.assemble((f" {key_display} ", key_style), (f"{description} " if description else "",
                                                                   desc_style))
            if not enabled:
                text.stylize("dim")
            return text

        right = piece(*palette[1:]) if palette else Text()
        room = max(0, width - right.cell_len - (1 if palette else 0))
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        spans: list[tuple[int, int, str]] = []
        for key, key_display, description, enabled in items:
            part = piece(key_display, description, enabled)
            if line.cell_len + part.cell_len > room:
                if line.cell_len < room:
                    line.append("…")
                break
            spans.append((line.cell_len, line.cell_len + part.cell_len, key))
            line.append_text(part)
        if palette:
            line.append(" " * max(0, width - line.cell_len - right.cell_len))
            spans.append((line.cell_len, line.cell_len + right.cell_len, palette[0]))
            line.append_text(right)
        self._spans = spans
        return line

    def key_at(self, x: int) -> str | None:
        """The key drawn at column ``x`` in the last paint."""
        for start, end, key in self._spans:
            if start <= x < end:
                return key
        return None

    def on_click(self, event: events.Click) -> None:
        key = self.key_at(event.x)
        if key is not None:
            event.stop()
            self.app.simulate_key(key)
