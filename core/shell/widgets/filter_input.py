"""FilterInput: a search box that filters a RecordTable as you type."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches, WrongType
from textual.widgets import Input

from core.shell.widgets._i18n import _
from core.shell.widgets.record_table import RecordTable

__all__ = ["FilterInput"]


class FilterInput(Input):
    """An always-visible alternative to the table's own ``/`` filter line.

    Typing sets ``table.filter_text``; down or enter go to the table; escape
    clears the text.

    Args:
        table: The table to filter: the widget, a selector (``"#tickets"``),
            or ``None`` for the first ``RecordTable`` on the screen.
        debounce: Seconds to wait after the last key before filtering
            (0 filters on every key; RecordTable is fast enough for that).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "focus_table", show=False, id="filter_input.focus_table"),
        Binding("escape", "clear_filter", show=False, id="filter_input.clear"),
    ]

    def __init__(
        self,
        table: RecordTable | str | None = None,
        *,
        debounce: float = 0.0,
        placeholder: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(placeholder=placeholder or _("Filter…"), **kwargs)
        self._table = table
        self._debounce = debounce
        self._timer: Any = None

    @property
    def table(self) -> RecordTable:
        """The table this input filters."""
        if isinstance(self._table, RecordTable):
            return self._table
        if isinstance(self._table, str):
            return self.screen.query_one(self._table, RecordTable)
        return self.screen.query_one(RecordTable)

    def on_focus(self) -> None:
        try:
            table = self.table
        except (NoMatches, WrongType):  # no table on the screen (yet): nothing to prepare
            return
        table.prepare_filter()

    def _apply(self) -> None:
        self._timer = None
        self.table.filter_text = self.value

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is not self:
            return
        if self._debounce <= 0:
            self._apply()
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self._debounce, self._apply)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is self:
            event.stop()
            self.action_focus_table()

    def action_focus_table(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        if not self.value:
            raise SkipAction()
        self.value = ""
