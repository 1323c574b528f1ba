"""The dashboard's cards, drawn by one widget.

A widget per card (a bordered Static in a Grid) cost the first frame about
70 ms with sixteen cards on a small VM: sixteen sets of styles, a grid
arrangement and a border render per card, in every layout pass before the
frame. :class:`CardBoard` lays the cards out itself (two columns from 72
cells of width, one below that), draws each card's rounded border with its
title, and keeps the lines it drew until a card or the width changes; the
screen scrolls it like any other view.

Keys: arrows (or h/j/k/l) move between cards, Enter opens the screen the
card points at, Home/End jump to the first/last card. A click selects a
card, a click on the selected card opens it.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual, visualize

from core.i18n import _
from core.safetext import UNSAFE, one_line, visible

#: content width below which the cards stack in one column
TWO_COLUMNS_FROM = 72
#: blank columns between two cards side by side
GUTTER = 1
#: the content of a card not rendered yet
PENDING = "…"


def _safe_strip(strip: Strip) -> Strip:
    """A card's line with control characters shown, not sent (core.safetext):
    a card shows text others typed (a caller's message, a ticket title)."""
    if not any(UNSAFE.search(segment.text) for segment in strip):
        return strip
    return Strip([Segment(visible(segment.text), segment.style, segment.control) for segment in strip])


class BoardCard:
    """One card on the board: what it shows and where it was drawn."""

    __slots__ = ("key", "title", "target", "content", "failed", "rendered", "region", "source")

    def __init__(self, key: str, title: str, target: str | None = None, source: Any = None) -> None:
        self.key = key  # "plugin-card": the card's id on the board
        self.title = title
        self.target = target
        self.source = source  # what the board was built from (the plugin's Card)
        self.content: Any = PENDING
        self.failed = False
        self.rendered = False
        self.region = Region(0, 0, 0, 0)

    def __repr__(self) -> str:
        return f"BoardCard({self.key!r}, rendered={self.rendered}, failed={self.failed})"

    @property
    def text(self) -> str:
        """The content as plain text (markup removed)."""
        content = self.content
        if isinstance(content, str):
            from textual.content import Content

            try:
                return Content.from_markup(content).plain
            except Exception:
                return content
        plain = getattr(content, "plain", None)
        return plain if isinstance(plain, str) else str(content)


class CardBoard(ScrollView, can_focus=True, inherit_bindings=False):
    """Cards in one or two columns, each a rounded box with its title."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {
        "cardboard--border", "cardboard--cursor", "cardboard--failed", "cardboard--title",
    }
    DEFAULT_CSS = """
    CardBoard {
        height: 1fr;
        padding: 0 1;
        scrollbar-gutter: stable;
        background: $background;
        & > .cardboard--border { color: $primary-darken-1; }
        & > .cardboard--title { color: $text; text-style: bold; }
        & > .cardboard--failed { color: $error; }
        & > .cardboard--cursor { color: $primary-darken-1; }
        &:focus > .cardboard--cursor { color: $accent; }
    }
    """

    BINDINGS = [
        Binding("enter", "open", _("Open"), id="card.open"),
        Binding("down,j", "move(0, 1)", _("Next card"), show=False, id="card.down"),
        Binding("up,k", "move(0, -1)", _("Previous card"), show=False, id="card.up"),
        Binding("right,l", "move(1, 0)", _("Card to the right"), show=False, id="card.right"),
        Binding("left,h", "move(-1, 0)", _("Card to the left"), show=False, id="card.left"),
        Binding("home", "jump(0)", _("First card"), show=False, id="card.first"),
        Binding("end", "jump(-1)", _("Last card"), show=False, id="card.last"),
    ]

    class Opened(Message):
        """Enter (or a second click) on a card that points at a screen."""

        def __init__(self, card: BoardCard) -> None:
            super().__init__()
            self.card = card

    def __init__(self, cards: list[BoardCard], *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.cards = cards
        self.cursor = 0
        self.columns = 2
        self._lines: list[Strip] = []
        self._drawn_width = 0  # the width the lines were drawn for
        self._dirty = True  # a card, the cursor or the focus changed since
        self._pass_style: Style | None = None  # the base style while render_lines draws (below)

    # ------------------------------------------------------------------ data
    def card(self, key: str) -> BoardCard:
        for card in self.cards:
            if card.key == key:
                return card
        raise KeyError(key)

    def set_cards(self, updates: list[tuple[BoardCard, Any, bool]]) -> None:
        """Show new content for some cards: ``(card, content, failed)``."""
        for card, content, failed in updates:
            card.content, card.failed, card.rendered = content, failed, True
        self._invalidate()

    @property
    def all_rendered(self) -> bool:
        return all(card.rendered for card in self.cards)

    def _invalidate(self) -> None:
        self._dirty = True
        if self.is_mounted:
            self.refresh()

    # ------------------------------------------------------------------ layout
    def on_resize(self) -> None:
        self._layout_cards()  # sets the virtual size for the new width (if it changed)

    def on_focus(self) -> None:
        self._invalidate()

    def on_blur(self) -> None:
        self._invalidate()

    def _content_width(self) -> int:
        return self.scrollable_content_region.width or self.size.width

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size,
                      layout: bool = True) -> bool:
        # Lay the cards out for the new width while the layout is being
        # arranged, not in the first render: a virtual size set while
        # rendering asks for another layout pass (and frame) at once.
        width = size.width - self.styles.gutter.width - self.styles.scrollbar_size_vertical
        if width > 0:
            self._layout_cards(width, quiet=True)
        return super()._size_updated(size, self.virtual_size, container_size, layout)

    def _layout_cards(self, width: int | None = None, *, quiet: bool = False) -> None:
        width = width or self._content_width()
        if width <= 0 or (not self._dirty and width == self._drawn_width):
            return
        self.columns = 2 if width >= TWO_COLUMNS_FROM else 1
        card_width = max(6, (width - GUTTER * (self.columns - 1)) // self.columns)
        lines: list[Strip] = []
        base = self.rich_style
        blank = Strip.blank(width, base)
        for row_start in range(0, len(self.cards), self.columns):
            row = self.cards[row_start:row_start + self.columns]
            boxes = [self._box(card, card_width, row_start + i, base) for i, card in enumerate(row)]
            height = max(len(box) for box in boxes)
            top = len(lines)
            for i, card in enumerate(row):
                card.region = Region(i * (card_width + GUTTER), top, card_width, len(boxes[i]))
            for y in range(height):
                parts: list[Strip] = []
                for i, box in enumerate(boxes):
                    if i:
                        parts.append(Strip.blank(GUTTER, base))
                    parts.append(box[y] if y < len(box) else Strip.blank(card_width, base))
                lines.append(Strip.join(parts).extend_cell_length(width, base))
        self._lines = lines or [blank]
        self._drawn_width, self._dirty = width, False
        if quiet:
            self.set_reactive(CardBoard.virtual_size, Size(width, len(self._lines)))
        else:
            self.virtual_size = Size(width, len(self._lines))

    def _box(self, card: BoardCard, width: int, index: int, base: Style) -> list[Strip]:
        """The card's lines: a rounded border with the title, content inside;
        ``base``: the board's style (``rich_style``, computed once per layout)."""
        if card.failed:
            frame = base + self.get_component_rich_style("cardboard--failed", partial=True)
        elif index == self.cursor:
            frame = base + self.get_component_rich_style("cardboard--cursor", partial=True)
        else:
            frame = base + self.get_component_rich_style("cardboard--border", partial=True)
        title_style = frame + self.get_component_rich_style("cardboard--title", partial=True)
        inner = max(1, width - 4)
        title = one_line(card.title)
        if cell_len(title) > width - 6:
            title = set_cell_size(title, max(0, width - 7)) + "…"
        top = [Segment("╭─", frame)]
        if title:
            top += [Segment(" ", frame), Segment(title, title_style), Segment(" ", frame)]
        used = sum(s.cell_length for s in top)
        top.append(Segment("─" * max(0, width - used - 1) + "╮", frame))
        content = self._content_strips(card, inner, base)
        left, right = Segment("│ ", frame), Segment(" │", frame)
        lines = [Strip(top, width)]
        for strip in content or [Strip.blank(inner, base)]:
            lines.append(Strip([left, *strip.extend_cell_length(inner, base).crop(0, inner), right], width))
        lines.append(Strip([Segment("╰" + "─" * (width - 2) + "╯", frame)], width))
        return lines

    def _content_strips(self, card: BoardCard, width: int, base: Style) -> list[Strip]:
        content = card.content
        if isinstance(content, str) and not card.rendered:
            return [Strip([Segment(content, base)])]
        try:
            visual = visualize(self, content, markup=True)
            strips = Visual.to_strips(self, visual, width, None, self.visual_style, pad=True)
        except Exception as exc:  # bad markup from a plugin stays on its card
            return [Strip([Segment(one_line(f"{type(exc).__name__}: {exc}")[:width], base)])]
        return [_safe_strip(strip) for strip in strips]

    def painted_text(self) -> str:
        """Every line of the board as drawn, as plain text."""
        self._layout_cards()
        return "\n".join(strip.text.rstrip() for strip in self._lines)

    def render_lines(self, crop: Region) -> list[Strip]:
        # the board's style once per pass, not once per line: Textual's
        # rich_style walks the styles of every ancestor on each call (the
        # dashboard's first frame asked 44 times, ~1.3 ms)
        self._pass_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._pass_style = None

    def render_line(self, y: int) -> Strip:
        self._layout_cards()
        base = self._pass_style if self._pass_style is not None else self.rich_style
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        if index >= len(self._lines):
            return Strip.blank(width, base)
        return self._lines[index].crop_extend(scroll_x, scroll_x + width, base)

    # ------------------------------------------------------------------ keys
    def _move_to(self, index: int) -> None:
        if not self.cards:
            return
        index = max(0, min(len(self.cards) - 1, index))
        if index != self.cursor:
            self.cursor = index
            self._invalidate()
        self._layout_cards()
        region = self.cards[self.cursor].region
        if region.height:
            self.scroll_to_region(region, animate=False, immediate=True)

    def action_move(self, dx: int, dy: int) -> None:
        self._move_to(self.cursor + dx + dy * self.columns)

    def action_jump(self, index: int) -> None:
        self._move_to(index if index >= 0 else len(self.cards) - 1)

    def action_open(self) -> None:
        if self.cards:
            self.post_message(self.Opened(self.cards[self.cursor]))

    def card_at(self, x: int, y: int) -> int | None:
        """The index of the card drawn at (x, y) of the board's content."""
        for index, card in enumerate(self.cards):
            if card.region.contains(x, y):
                return index
        return None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.card_at(offset.x + self.scroll_offset.x, offset.y + self.scroll_offset.y)
        if index is None:
            return
        event.stop()
        if index == self.cursor and self.has_focus:
            self.action_open()
        else:
            self.focus()
            self._move_to(index)
