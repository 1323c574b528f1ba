"""The navigation list on the left of every screen.

One line per navigation entry (its title and, dimmed, its key), the current
screen's entry highlighted. Textual's OptionList did this before; it
measures every option on its first paint and asks for another layout pass
afterwards, which the first frame of every screen paid for. The entries
here are single lines known up front, so the list knows its size when it
is mounted.

Keys: up/down (or k/j), Home/End, PageUp/PageDown move the cursor, Enter
opens the entry; a click opens the entry under the pointer.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from core.i18n import _
from core.shell.widgets import keys


class NavList(ScrollView, can_focus=True, inherit_bindings=False):
    """Navigation entries: ``(id, title, key)`` each."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"navlist--key", "navlist--cursor", "navlist--cursor-blurred"}
    DEFAULT_CSS = """
    NavList {
        & > .navlist--key { text-style: dim; }
        & > .navlist--cursor-blurred {
            color: $block-cursor-blurred-foreground;
            background: $block-cursor-blurred-background;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .navlist--cursor {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
    }
    """

    BINDINGS = [
        Binding("down,j", "move(1)", _("Next entry"), show=False, id="nav.down"),
        Binding("up,k", "move(-1)", _("Previous entry"), show=False, id="nav.up"),
        Binding("pagedown", "move(10)", _("Page down"), show=False, id="nav.pagedown"),
        Binding("pageup", "move(-10)", _("Page up"), show=False, id="nav.pageup"),
        Binding("home", "jump(0)", _("First entry"), show=False, id="nav.first"),
        Binding("end", "jump(-1)", _("Last entry"), show=False, id="nav.last"),
        Binding("enter", "select", _("Open"), show=False, id="nav.open"),
    ]

    class Selected(Message):
        """Enter or a click on an entry."""

        def __init__(self, nav_list: "NavList", entry_id: str) -> None:
            super().__init__()
            self.nav_list = nav_list
            self.entry_id = entry_id

        @property
        def control(self) -> "NavList":
            return self.nav_list

    def __init__(self, entries: list[tuple[str, str, str | None]], *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.entries = list(entries)
        self._highlighted = 0 if entries else None
        self._pass_style: Style | None = None  # the base style while render_lines draws (below)
        self.set_reactive(NavList.virtual_size, Size(0, len(self.entries)))

    # ------------------------------------------------------------------ API
    @property
    def highlighted(self) -> int | None:
        return self._highlighted

    @highlighted.setter
    def highlighted(self, index: int | None) -> None:
        if index is not None and self.entries:
            index = max(0, min(len(self.entries) - 1, index))
        self._highlighted = index
        self.refresh()
        if index is not None and self.is_mounted:
            self.scroll_to_region(Region(0, index, 1, 1), animate=False, immediate=True)

    def get_option_index(self, entry_id: str) -> int:
        for index, (eid, _title, _key) in enumerate(self.entries):
            if eid == entry_id:
                return index
        raise KeyError(entry_id)

    def has_entry(self, entry_id: str) -> bool:
        return any(eid == entry_id for eid, _title, _key in self.entries)

    # ------------------------------------------------------------------ drawing
    def on_mount(self) -> None:
        if self._highlighted is not None:
            self.call_after_refresh(self._scroll_to_cursor)

    def _scroll_to_cursor(self) -> None:
        if self._highlighted is not None:
            self.scroll_to_region(Region(0, self._highlighted, 1, 1), animate=False, immediate=True)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        # the list's style once per pass, not once per line: Textual's
        # rich_style walks the styles of every ancestor on each call (the
        # dashboard's first frame asked 28 times, ~0.7 ms)
        self._pass_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._pass_style = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self._pass_style if self._pass_style is not None else self.rich_style
        index = scroll_y + y
        if index >= len(self.entries):
            return Strip.blank(width, base)
        _eid, title, key = self.entries[index]
        style = base
        if index == self._highlighted:
            name = "navlist--cursor" if self.has_focus else "navlist--cursor-blurred"
            style = base + self.get_component_rich_style(name, partial=True)
        key_text = keys.key_text(key) if key else ""
        room = width - cell_len(key_text) - (1 if key_text else 0)
        if cell_len(title) > room:
            title = set_cell_size(title, max(0, room - 1)) + "…" if room > 0 else ""
        segments = [Segment(title + " " if key_text else title, style)]
        if key_text and room > 0:
            segments.append(Segment(key_text, style + self.get_component_rich_style("navlist--key", partial=True)))
        return Strip(segments).extend_cell_length(width, style).crop(0, width)

    # ------------------------------------------------------------------ keys
    def action_move(self, delta: int) -> None:
        if not self.entries:
            return
        current = self._highlighted if self._highlighted is not None else 0
        self.highlighted = current + delta

    def action_jump(self, index: int) -> None:
        if self.entries:
            self.highlighted = index if index >= 0 else len(self.entries) - 1

    def action_select(self) -> None:
        if self._highlighted is not None and self.entries:
            self.post_message(self.Selected(self, self.entries[self._highlighted][0]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = offset.y + self.scroll_offset.y
        if 0 <= index < len(self.entries):
            event.stop()
            self.highlighted = index
            self.action_select()
