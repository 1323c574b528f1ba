"""DetailView: one record as label/value pairs, scrollable."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Iterable, Mapping, Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from core.safetext import UNSAFE, one_line, visible
from core.shell.widgets._css import load_css
from core.shell.widgets._i18n import _
from core.shell.widgets.record_form import Field

__all__ = ["DetailView"]

Pair = tuple[str, Any]


def _value_renderable(value: Any) -> RenderableType:
    """A cell for ``value``: Rich renderables as they are, data as plain text
    (never parsed as markup, so ``[brackets]`` in a record stay visible);
    control characters in text are shown, not sent (core.safetext)."""
    if value is None or value == "":
        return Text("—", style="dim")
    if isinstance(value, Text):
        return _safe_text(value)
    if isinstance(value, Table) or hasattr(value, "__rich_console__") or hasattr(value, "__rich__"):
        return value
    if isinstance(value, bool):
        return Text(_("yes") if value else _("no"))
    if isinstance(value, date):
        return Text(value.isoformat())
    if isinstance(value, (int, float, Decimal)):
        return Text(str(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return Text(visible(", ".join(str(item) for item in value)))
    return Text(visible(str(value)))


def _safe_text(text: Text) -> Text:
    if UNSAFE.search(text.plain) is None:
        return text
    return Text(visible(text.plain), style=text.style, justify=text.justify)


class _Pairs(Widget):
    """Draws the pairs as a two-column grid (labels take the width they need)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"detail-view--label"}

    DEFAULT_CSS = """
    _Pairs { height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[Pair] = []

    def render(self) -> RenderableType:
        if not self.pairs:
            return Text(_("Nothing to show"), style="dim italic")
        label_style = self.get_component_rich_style("detail-view--label", partial=True)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(justify="right", no_wrap=True, max_width=28, overflow="ellipsis")
        grid.add_column(ratio=1, overflow="fold")
        for label, value in self.pairs:
            grid.add_row(Text(one_line(str(label)), style=label_style), _value_renderable(value))
        return grid


class DetailView(VerticalScroll):
    """One record as label/value pairs, scrollable with the keyboard.

    Give either ``pairs`` (``(label, value)``; values may be Rich
    renderables) or a ``record`` with the ``fields`` that describe it (the
    fields' labels, choice labels, yes/no, hidden passwords).

    Args:
        pairs: ``(label, value)`` pairs, top to bottom.
        record: A record (dict) to show with ``fields``.
        fields: :class:`~core.shell.widgets.record_form.Field` specs for ``record``;
            without them every key of the record is shown.
        title: An optional section title.
    """

    DEFAULT_CSS = load_css(__file__, "detail_view.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", show=False, id="detail_view.scroll_up"),
        Binding("down", "scroll_down", show=False, id="detail_view.scroll_down"),
        Binding("pageup", "page_up", show=False, id="detail_view.page_up"),
        Binding("pagedown", "page_down", show=False, id="detail_view.page_down"),
        Binding("home", "scroll_home", show=False, id="detail_view.home"),
        Binding("end", "scroll_end", show=False, id="detail_view.end"),
    ]

    def __init__(
        self,
        pairs: Iterable[Pair] | None = None,
        *,
        record: Mapping[str, Any] | None = None,
        fields: Sequence[Field] | None = None,
        title: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._title = Static("", classes="detail-view--title", markup=False)
        self._pairs = _Pairs()
        self._set(pairs, record, fields, title)

    @staticmethod
    def pairs_for(record: Mapping[str, Any], fields: Sequence[Field] | None = None) -> list[Pair]:
        """The ``(label, value)`` pairs :class:`DetailView` shows for a record."""
        if fields is None:
            return [(str(key), value) for key, value in record.items()]
        return [(field.label, field.display(record.get(field.key)) or None) for field in fields]

    @property
    def pairs(self) -> list[Pair]:
        """The pairs shown."""
        return list(self._pairs.pairs)

    def _set(
        self,
        pairs: Iterable[Pair] | None,
        record: Mapping[str, Any] | None,
        fields: Sequence[Field] | None,
        title: str | None,
    ) -> None:
        if record is not None:
            self._pairs.pairs = self.pairs_for(record, fields)
        else:
            self._pairs.pairs = list(pairs or [])
        self._title.update(one_line(title or ""))
        self._title.display = bool(title)

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._pairs

    def update(
        self,
        pairs: Iterable[Pair] | None = None,
        *,
        record: Mapping[str, Any] | None = None,
        fields: Sequence[Field] | None = None,
        title: str | None = None,
    ) -> None:
        """Show other pairs (or another record); ``title=None`` hides the title."""
        self._set(pairs, record, fields, title)
        self._pairs.refresh(layout=True)
        self.scroll_home(animate=False)
