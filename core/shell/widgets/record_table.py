"""RecordTable: a searchable, sortable table that draws only the rows on screen.

Textual's ``DataTable`` copies every row into widget state and measures it,
which takes seconds at 100k rows. ``RecordTable`` keeps a reference to the
caller's data source and an array of row indexes (sort order, then filter);
``render_line`` formats just the rows in view.

    table = RecordTable(
        [Column("id", "#", width=6, align="right"),
         Column("title", _("Title")),
         Column("due", _("Due"), width=10)],
        tickets.all(),
    )

Keys: up/down/pgup/pgdn/home/end move the cursor, left/right the column,
``s``/``S`` sort by the current column ascending/descending, ``/`` types a
filter (enter keeps it, escape clears it), enter posts ``RecordSelected``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    ClassVar,
    Iterable,
    Literal,
    Mapping,
    Protocol,
    Sequence,
    runtime_checkable,
)

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from core.safetext import UNSAFE_ONE_LINE, one_line
from core.storage.query import Contains, Range
from core.shell.widgets._css import load_css
from core.shell.widgets._i18n import _

__all__ = ["Column", "PagedRecords", "RecordSource", "RecordTable", "ordered_pages", "table_pages"]

Align = Literal["left", "right", "center"]


@runtime_checkable
class RecordSource(Protocol):
    """What a table reads rows from: a list of dicts, or anything indexable.

    The table never copies the source; it reads ``source[i]`` for the rows it
    shows, sorts and filters.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int, /) -> Mapping[str, Any]: ...


class PagedRecords:
    """A record source read a page at a time, as the table shows the rows.

    For a history that only grows (the journal, calls, tickets): the table
    asks for ``len()`` and for the rows in view, never for all of them.

    - ``fetch(offset, limit, after)``: the rows from ``offset`` on, in the
      source's order; ``after`` is the row before ``offset`` when the table
      has it (so the caller can ask for a keyset page: "after this one"),
      else None;
    - ``count()``: how many rows there are;
    - ``matching(text)``: the rows whose text contains ``text`` (lower
      case) as another ``PagedRecords`` — the table's filter; None: the
      source cannot filter, and ``/`` filters nothing;
    - ``warm()``: what the first ``matching`` needs read, started in a
      thread when ``/`` opens the filter bar, while the user types (it must
      be safe to call from two threads at once; ``matching`` does not rely
      on it having run).

    A paged table is not sorted by the table (``s`` does nothing); its
    order is the source's. :meth:`reread` forgets what was read (the table
    calls it on ``refresh_records``).

    Args:
        page: How many rows one ``fetch`` asks for (100).
    """

    #: pages kept (a page of 100 rows each)
    KEEP = 20

    def __init__(self, fetch: Callable[[int, int, Mapping[str, Any] | None], Sequence[Mapping[str, Any]]],
                 count: Callable[[], int], *,
                 matching: Callable[[str], "PagedRecords | None"] | None = None, page: int = 100,
                 warm: Callable[[], Any] | None = None) -> None:
        self._fetch, self._count_rows, self._matching = fetch, count, matching
        self.warm = warm
        self.page = page
        self._len: int | None = None
        self._pages: dict[int, Sequence[Mapping[str, Any]]] = {}

    def __len__(self) -> int:
        if self._len is None:
            self._len = self._count_rows()
        return self._len

    def __getitem__(self, index: int, /) -> Mapping[str, Any]:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        number, at = divmod(index, self.page)
        rows = self._pages.get(number)
        if rows is None:
            before = self._pages.get(number - 1)
            rows = self._fetch(number * self.page, self.page, before[-1] if before else None)
            if len(self._pages) >= self.KEEP:
                self._pages.pop(next(iter(self._pages)))
            self._pages[number] = rows
        if at >= len(rows):  # fewer rows than counted (deleted since): the last one read
            if not rows:
                raise IndexError(index)
            return rows[-1]
        return rows[at]

    def matching(self, text: str) -> "PagedRecords | None":
        return self._matching(text) if self._matching is not None else None

    def reread(self) -> None:
        """Forget the count and the pages read (the rows changed)."""
        self._len = None
        self._pages = {}

    def index_of(self, record_id: Any) -> int | None:
        """Where the row with this ``id`` is among the pages read, or None."""
        for number, rows in self._pages.items():
            for at, row in enumerate(rows):
                if row.get("id") == record_id:
                    return number * self.page + at
        return None


def table_pages(table: Any, where: Mapping[Any, Any] | None = None, *, newest_first: bool = True,
                search: Sequence[str] = (), prepare: Callable[[list[dict]], Sequence[Mapping[str, Any]]] | None = None,
                page: int = 100, fields: Sequence[str] | None = None) -> PagedRecords:
    """A :class:`PagedRecords` over a store table (``core.storage.Table``), in
    id order (newest first by default): each page is a keyset query, "ids
    below the last one shown", with a limit (PostgreSQL: an index range and
    LIMIT; TinyDB: the segments holding them, core/storage/engine.py); a
    jump (End) asks for an offset. The filter finds ``search``'s fields
    containing the text (``Contains``). ``prepare(rows)`` turns a page of
    documents into the rows shown (names for ids, texts).

    Args:
        table: The store table (``service.parcels_table(ctx)``: ``ctx.table(...)``).
        where: Only the documents matching this query (``{"status": "open"}``).
        newest_first: Highest id first (True), else oldest first.
        search: The fields ``/`` searches (their text contains the typed text);
            read ahead when ``/`` opens (``Table.prepare_search``).
        prepare: ``prepare(rows) -> rows``: a page of documents as the rows
            shown (names for ids, texts).
        page: How many rows one page holds (100).
        fields: Only these keys of each document are read (and ``id``; the
            store's projection, ``Table.find(fields=...)``): those the
            columns and ``prepare`` use.
    """
    order = "-id" if newest_first else "id"
    projected = {} if fields is None else {"fields": fields}

    def fetch(offset: int, limit: int, after: Mapping[str, Any] | None, where=where) -> Sequence[Mapping[str, Any]]:
        if after is not None:
            bound = Range(lt=after["_doc_id"]) if newest_first else Range(gt=after["_doc_id"])
            docs = table.find({**(where or {}), "id": bound}, order_by=order, limit=limit, **projected)
        else:
            docs = table.find(where or None, order_by=order, limit=limit, offset=offset, **projected)
        rows = prepare(docs) if prepare is not None else docs
        return [{**row, "_doc_id": doc["id"]} for row, doc in zip(rows, docs)]

    def matching(text: str) -> PagedRecords | None:
        if not search:
            return None
        narrowed = {**(where or {}), tuple(search): Contains(text)}
        return PagedRecords(lambda o, n, a: fetch(o, n, a, narrowed), lambda: table.count(narrowed), page=page)

    # what the first letter searches, read while the user types it (TinyDB:
    # the segments' texts of those fields; nothing on PostgreSQL)
    warm = (lambda: table.prepare_search(search)) if search and hasattr(table, "prepare_search") else None
    return PagedRecords(fetch, lambda: table.count(where or None), matching=matching, page=page, warm=warm)


def ordered_pages(table: Any, parts: Sequence[tuple[Mapping[Any, Any] | None, Any]], *,
                  search: Sequence[str] = (),
                  prepare: Callable[[list[dict]], Sequence[Mapping[str, Any]]] | None = None,
                  page: int = 100, fields: Sequence[str] | None = None,
                  total: Callable[[], int] | None = None) -> PagedRecords:
    """A :class:`PagedRecords` over a store table in an order one query
    cannot give (a rank of values, empty values last): ``parts`` is a list
    of ``(where, order_by)`` whose rows, one part after the other, are the
    rows in that order (the parts must not overlap).  A page asks the parts
    it spans for an offset and a limit; a part is counted when a page needs
    to know where it ends.  The filter finds ``search``'s fields containing
    the text in each part (``Contains``), in the same order.

    Args:
        table: The store table (``ctx.table(...)``).
        parts: ``[(where, order_by), ...]``: queries whose rows, one part
            after the other, are the rows in the wanted order (the parts do
            not overlap).
        search: The fields ``/`` searches in each part (their text contains
            the typed text).
        prepare: ``prepare(rows) -> rows``: a page of documents as the rows
            shown (names for ids, texts).
        page: How many rows one page holds (100).
        fields: Only these keys of each document are read (and ``id``), as
            :func:`table_pages`.
        total: ``total() -> int``: how many rows the parts hold together,
            when one question answers it (parts that are the whole table:
            ``table.count``); else each part is counted.
    """
    projected = {} if fields is None else {"fields": fields}

    def records(parts: Sequence[tuple[Mapping[Any, Any] | None, Any]],
                matching: Callable[[str], PagedRecords | None] | None,
                total: Callable[[], int] | None = None) -> PagedRecords:
        sizes: dict[int, int] = {}

        def size(i: int) -> int:
            if i not in sizes:
                sizes[i] = table.count(parts[i][0] or None)
            return sizes[i]

        def count() -> int:
            sizes.clear()
            if total is not None:  # the parts are counted when a page needs them
                return total()
            return sum(size(i) for i in range(len(parts)))

        def fetch(offset: int, limit: int, after: Mapping[str, Any] | None) -> Sequence[Mapping[str, Any]]:
            docs: list[dict] = []
            for i, (where, order_by) in enumerate(parts):
                if limit <= 0:
                    break
                if offset:  # where the page starts: the parts before it counted
                    n = size(i)
                    if offset >= n:
                        offset -= n
                        continue
                got = table.find(where or None, order_by=order_by, limit=limit, offset=offset, **projected)
                if len(got) < limit and not offset:
                    sizes[i] = len(got)  # the whole part: counted by reading it
                docs += got
                limit -= len(got)
                offset = 0
            return prepare(docs) if prepare is not None else docs

        return PagedRecords(fetch, count, matching=matching, page=page)

    def matching(text: str) -> PagedRecords | None:
        if not search:
            return None
        return records([({**(where or {}), tuple(search): Contains(text)}, order_by) for where, order_by in parts],
                       None)

    return records(parts, matching, total)


def _plain_value_text(value: Any) -> str:
    """Default cell text for a raw value."""
    if value is None:
        return ""
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_plain_value_text(item) for item in value)
    return str(value)


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_NUMBER_START = "0123456789+-."


def _default_sort_key(value: Any) -> tuple:
    """Order numbers (and numeric strings such as stored money) numerically,
    then text case-insensitively; types never get compared with each other."""
    if value.__class__ is str:
        if value[:1] in _NUMBER_START and _NUMBER.fullmatch(value):
            return (0, float(value))
        return (1, value.casefold())
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return _default_sort_key(str(value))
    try:
        return (0, float(value))  # Decimal, Fraction
    except (TypeError, ValueError):
        return (1, str(value).casefold())


@dataclass(frozen=True)
class Column:
    """One column of a :class:`RecordTable`.

    Args:
        key: The record key the column shows; a dotted path
            (``"address.city"``) reads nested dicts.
        title: The header text.
        width: Width in cells, at least the title's (a translated title is
            never cut); ``None`` sizes it from the title and the first rows
            (at most 40 cells).
        align: ``"left"``, ``"right"`` or ``"center"``.
        format: ``format(value) -> str | rich.text.Text`` for the cell; the
            default shows ``None`` as blank and booleans as yes/no. Filtering
            searches the formatted text.
        sort_key: ``sort_key(value)`` for sorting; the default sorts numbers
            and numeric strings by value and text case-insensitively. Empty
            values (``None``, ``""``) always sort last.
        priority: Which columns give way when the table is wider than its
            room (80×24 beside the menu): lower first. Columns sized by
            their content are narrowed first (the lowest priority, then the
            widest); then a column with a negative priority is hidden
            (the lowest first, ties from the right). The default 0 never
            hides. A hidden column's value, and a cut one's, shows whole on
            the table's detail line under the rows, for the cursor's row.
        min_width: For a column sized by its content: it is narrowed below
            this only when hiding the columns with a negative priority was
            not enough (the text an operator reads keeps its room, the
            columns around it give way first).
    """

    key: str
    title: str
    width: int | None = None
    align: Align = "left"
    format: Callable[[Any], str | Text] | None = None
    sort_key: Callable[[Any], Any] | None = None
    priority: int = 0
    min_width: int | None = None

    def value(self, record: Mapping[str, Any]) -> Any:
        """The raw value of this column in ``record``."""
        key = self.key
        try:
            return record[key]
        except (KeyError, TypeError, IndexError):
            pass
        if "." not in key:
            return None
        value: Any = record
        for part in key.split("."):
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value

    def text(self, record: Mapping[str, Any]) -> str | Text:
        """The formatted cell for ``record``."""
        value = self.value(record)
        if self.format is not None:
            return self.format(value)
        return _plain_value_text(value)


def _one_line(text: str) -> str:
    """A cell as one line, control characters shown instead of acting."""
    return one_line(text)


def _safe_cell(cell: str | Text) -> str | Text:
    """A formatted cell made safe for the terminal (see core.safetext)."""
    if not isinstance(cell, Text):
        return one_line(str(cell))
    plain = cell.plain
    if UNSAFE_ONE_LINE.search(plain) is None:
        return cell
    return Text(one_line(plain), style=cell.style, justify=cell.justify)


def _fit(text: str, width: int, align: Align) -> str:
    """Pad or truncate ``text`` (with an ellipsis) to exactly ``width`` cells."""
    length = cell_len(text)
    if length > width:
        if width <= 1:
            return set_cell_size(text, width)
        return set_cell_size(text, width - 1) + "…"
    pad = width - length
    if not pad:
        return text
    if align == "right":
        return " " * pad + text
    if align == "center":
        left = pad // 2
        return " " * left + text + " " * (pad - left)
    return text + " " * pad


# Cells are padded by one space on each side.
_PAD = 1
_MAX_AUTO_WIDTH = 40
_MAX_GROWN_WIDTH = 60
_MIN_SHRUNK_WIDTH = 12
_HIDDEN = 0  # the width of a column that gave way (Column.priority)
_WIDTH_SAMPLE = 100


class RecordTable(ScrollView, can_focus=True, inherit_bindings=False):
    """A table of records that stays fast with 100k rows.

    Args:
        columns: The columns, left to right.
        records: A list of dicts or any object with ``__len__`` and
            ``__getitem__`` (never copied).
        zebra: Stripe every other row.
        empty_text: Shown when there are no records (default "No records").
        show_detail: Under the rows, a line with the cursor row's values
            that are cut or hidden (``Column.priority``), whole; shown only
            while the table cuts or hides something.
        detail_lines: How many lines the detail line may take: a longer
            one wraps between its values (and inside a long one) instead
            of being cut, the lines kept while the table cuts or hides
            something (Messages: the caller and whom it is for, whole).
    """

    DEFAULT_CSS = load_css(__file__, "record_table.tcss")

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "record-table--header",
        "record-table--header-cursor",
        "record-table--cursor",
        "record-table--even-row",
        "record-table--empty",
        "record-table--filter",
        "record-table--filter-prompt",
        "record-table--detail",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", _("Open"), id="record_table.select"),
        Binding("slash", "start_filter", _("Filter"), id="record_table.filter"),
        Binding("s", "sort", _("Sort"), id="record_table.sort"),
        Binding(
            "S",
            "sort(True)",
            _("Sort descending"),
            show=False,
            id="record_table.sort_descending",
        ),
        Binding(
            "escape",
            "clear_filter",
            _("Clear filter"),
            show=False,
            id="record_table.clear_filter",
        ),
        Binding("up", "cursor_up", show=False, id="record_table.cursor_up"),
        Binding("down", "cursor_down", show=False, id="record_table.cursor_down"),
        Binding("pageup", "page_up", show=False, id="record_table.page_up"),
        Binding("pagedown", "page_down", show=False, id="record_table.page_down"),
        Binding("home,ctrl+home", "first", show=False, id="record_table.first"),
        Binding("end,ctrl+end", "last", show=False, id="record_table.last"),
        Binding("left", "column_left", show=False, id="record_table.column_left"),
        Binding("right", "column_right", show=False, id="record_table.column_right"),
    ]

    class RecordSelected(Message):
        """Enter (or a double click) on a record."""

        def __init__(self, table: RecordTable, record: Mapping[str, Any]) -> None:
            super().__init__()
            self.table = table
            self.record = record

        @property
        def control(self) -> RecordTable:
            return self.table

    class CursorMoved(Message):
        """The cursor is on a different record (``None`` when the table is empty).

        A burst of moves (key repeat) is coalesced into the last one.
        """

        def __init__(self, table: RecordTable, record: Mapping[str, Any] | None) -> None:
            super().__init__()
            self.table = table
            self.record = record

        @property
        def control(self) -> RecordTable:
            return self.table

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, RecordTable.CursorMoved) and message.table is self.table

    def __init__(
        self,
        columns: Iterable[Column],
        records: RecordSource | None = None,
        *,
        zebra: bool = True,
        empty_text: str | None = None,
        show_detail: bool = True,
        detail_lines: int = 1,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._columns: tuple[Column, ...] = tuple(columns)
        if not self._columns:
            raise ValueError("RecordTable needs at least one column")
        self.zebra = zebra
        self.show_detail = show_detail
        self.detail_lines = max(1, detail_lines)
        self._detail_columns: list[int] | None = None
        self._empty_text = empty_text
        self._source: RecordSource = records if records is not None else []
        # A paged source: the unfiltered one (self._source is what the filter matched)
        self._paged: PagedRecords | None = self._source if isinstance(self._source, PagedRecords) else None
        self._count = len(self._source)
        # Source indexes in sort order, then the filtered subset of them.
        self._order: Sequence[int] = range(self._count)
        self._view: Sequence[int] = self._order
        self._sort_key: str | None = None
        self._sort_reverse = False
        self._filter_text = ""
        self._needle = ""
        self._search: list[str | None] | None = None
        self._editing_filter = False
        self._filter_scheduled = False
        self._cursor_row = 0
        self._cursor_column = 0
        self._posted_index: int | None = -1
        self._posted_record: Mapping[str, Any] | None = None
        self._cursor_record_seen: Mapping[str, Any] | None = None
        self._cells: LRUCache[int, tuple[str | Text, ...]] = LRUCache(1024)
        self._widths: list[int] = []
        self._compute_widths()
        self._cursor_record_seen = self.cursor_record

    # -- public API ---------------------------------------------------------

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns, left to right."""
        return self._columns

    @property
    def records(self) -> RecordSource:
        """The data source as given to the table."""
        return self._source

    @property
    def row_count(self) -> int:
        """Rows shown (after the filter)."""
        return len(self._view)

    @property
    def total_count(self) -> int:
        """Rows in the data source (a paged source: before its filter)."""
        return len(self._paged) if self._paged is not None else self._count

    @property
    def cursor_row(self) -> int:
        """Row of the cursor among the shown rows (0 when empty)."""
        return self._cursor_row

    @cursor_row.setter
    def cursor_row(self, row: int) -> None:
        self.move_cursor(row)

    @property
    def cursor_column(self) -> int:
        """Index of the current column (the one ``s`` sorts by)."""
        return self._cursor_column

    @cursor_column.setter
    def cursor_column(self, column: int) -> None:
        column = max(0, min(column, len(self._columns) - 1))
        if column != self._cursor_column:
            self._cursor_column = column
            if self.is_mounted:
                self._scroll_column_into_view()
                self._refresh_header()

    @property
    def cursor_record(self) -> Mapping[str, Any] | None:
        """The record under the cursor, or ``None`` when no row is shown."""
        if not self._view:
            return None
        return self._source[self._view[self._cursor_row]]

    @property
    def sort_key(self) -> str | None:
        """Key of the column the rows are sorted by (``None``: source order)."""
        return self._sort_key

    @property
    def sort_reverse(self) -> bool:
        """True when sorted descending."""
        return self._sort_reverse

    @property
    def filter_text(self) -> str:
        """Rows shown are those where a column's text contains this, ignoring case."""
        return self._filter_text

    @filter_text.setter
    def filter_text(self, text: str) -> None:
        self._filter_text = text
        self._apply_filter()

    @property
    def editing_filter(self) -> bool:
        """True while keys type into the filter line (after ``/``)."""
        return self._editing_filter

    def record_at(self, row: int) -> Mapping[str, Any]:
        """The record shown at ``row`` (IndexError when out of range)."""
        return self._source[self._view[row]]

    def set_records(self, records: RecordSource, *, keep_cursor: bool = True) -> None:
        """Show a new data source, keeping the sort, the filter and (when the
        record's ``id`` is still there) the cursor."""
        keep_id, keep_row = self._cursor_identity() if keep_cursor else (None, 0)
        self._source = records
        self._paged = records if isinstance(records, PagedRecords) else None
        self._reload(keep_id, keep_row)

    def refresh_records(self) -> None:
        """Re-read the data source after it changed (rows added, removed or
        edited); the cursor stays on the same record ``id`` when possible."""
        keep_id, keep_row = self._cursor_identity()
        self._reload(keep_id, keep_row)

    def move_cursor(self, row: int) -> None:
        """Put the cursor on ``row`` (clamped) and scroll it into view."""
        old = self._cursor_row
        self._cursor_row = max(0, min(row, len(self._view) - 1))
        if self.is_mounted:
            if old != self._cursor_row:
                self.refresh_line(old + 1)
                self.refresh_line(self._cursor_row + 1)
            self._scroll_cursor_into_view()
        self._cursor_changed()

    def move_cursor_to_id(self, record_id: Any) -> bool:
        """Put the cursor on the record with this ``id``; False if not shown."""
        row = self._row_of_id(record_id)
        if row is None:
            return False
        self.move_cursor(row)
        return True

    def sort_by(self, key: str | None, reverse: bool = False) -> None:
        """Sort by the column ``key`` (``None``: the source's own order).

        The cursor stays on the same record.
        """
        if key is not None:
            self._column_index(key)  # KeyError for an unknown column
        keep = self._cursor_index()
        self._sort_key = key
        self._sort_reverse = reverse
        self._order = self._sorted_order()
        self._view = self._filtered(self._order)
        self._after_view_change(keep)

    # -- building the view --------------------------------------------------

    def _column_index(self, key: str) -> int:
        for index, column in enumerate(self._columns):
            if column.key == key:
                return index
        raise KeyError(key)

    def _cursor_index(self) -> int | None:
        """Source index of the cursor record."""
        if not self._view:
            return None
        return self._view[self._cursor_row]

    def _cursor_identity(self) -> tuple[Any, int]:
        # The record remembered when the cursor last moved: the source may
        # have changed in place since.
        record = self._cursor_record_seen
        record_id = record.get("id") if isinstance(record, Mapping) else None
        return record_id, self._cursor_row

    def _row_of_id(self, record_id: Any) -> int | None:
        if record_id is None:
            return None
        source = self._source
        if isinstance(source, PagedRecords):  # only among the rows read (never all of them)
            return source.index_of(record_id)
        for row, index in enumerate(self._view):
            record = source[index]
            if isinstance(record, Mapping) and record.get("id") == record_id:
                return row
        return None

    def _reload(self, keep_id: Any, keep_row: int) -> None:
        if self._paged is not None:
            self._paged.reread()
            self._source = self._paged
            self._needle = ""
        self._count = len(self._source)
        self._cells.clear()
        self._search = None
        self._order = self._sorted_order()
        self._view = self._filtered(self._order)
        self._compute_widths()
        row = self._row_of_id(keep_id)
        self._cursor_row = max(0, min(keep_row if row is None else row, len(self._view) - 1))
        self._after_view_change(None, keep_row=True)

    def _sorted_order(self) -> Sequence[int]:
        count = self._count
        if self._sort_key is None or self._paged is not None:  # a paged source keeps its order
            return range(count)
        column = self._columns[self._column_index(self._sort_key)]
        source = self._source
        values = [column.value(source[i]) for i in range(count)]
        sort_key = column.sort_key or _default_sort_key
        # Empty values go last whichever the direction.
        present = [i for i, value in enumerate(values) if value is not None and value != ""]
        if len(present) == count:
            missing: list[int] = []
        else:
            seen = set(present)
            missing = [i for i in range(count) if i not in seen]
        keys: list[Any] = [None] * count
        # Many rows share a value (a city, a state): compute its key once.
        known: dict[Any, Any] = {}
        for i in present:
            value = values[i]
            try:
                keys[i] = known[value]
            except KeyError:
                keys[i] = known[value] = sort_key(value)
            except TypeError:  # unhashable (a list)
                keys[i] = sort_key(value)
        present.sort(key=keys.__getitem__, reverse=self._sort_reverse)
        return present + missing

    def _search_texts(self) -> Callable[[Mapping[str, Any]], str]:
        """A function giving a record's lowercase search string: the columns'
        formatted texts, one per line so a match never spans two columns."""
        columns = self._columns
        if all(column.format is None and "." not in column.key for column in columns):
            keys = [column.key for column in columns]

            def search_text(record: Mapping[str, Any]) -> str:
                parts = []
                for key in keys:
                    value = record.get(key)
                    parts.append(value if value.__class__ is str else _plain_value_text(value))
                return "\n".join(parts).casefold()

            return search_text

        def search_text_formatted(record: Mapping[str, Any]) -> str:
            parts = []
            for column in columns:
                cell = column.text(record)
                parts.append(cell.plain if isinstance(cell, Text) else str(cell))
            return "\n".join(parts).casefold()

        return search_text_formatted

    def _warm_search(self, candidates: Sequence[int] | None = None) -> list[str | None]:
        """Build the search strings the filter needs (all rows by default)."""
        if self._paged is not None:  # the source filters
            if candidates is None:
                self.prepare_filter()
            return []
        source = self._source
        search_text = self._search_texts()
        if self._search is None:
            if candidates is None or len(candidates) == self._count:
                self._search = [search_text(source[i]) for i in range(self._count)]
                return self._search
            self._search = [None] * self._count
        search = self._search
        for index in range(self._count) if candidates is None else candidates:
            if search[index] is None:
                search[index] = search_text(source[index])
        return search

    def _filtered(self, candidates: Sequence[int]) -> Sequence[int]:
        needle = self._filter_text.casefold()
        if self._paged is not None:
            return self._paged_filter(needle)
        self._needle = needle
        if not needle:
            return candidates
        # Built lazily: the first filter (or ``/``) pays for the rows it needs.
        search = self._warm_search(candidates)
        return [index for index in candidates if needle in search[index]]  # type: ignore[operator]

    def _paged_filter(self, needle: str) -> Sequence[int]:
        """The filter of a paged source: the source's rows matching it."""
        paged = self._paged
        assert paged is not None
        if needle != self._needle or (needle and self._source is paged):
            matched = paged.matching(needle) if needle else None
            self._source = matched if matched is not None else paged
            self._count = len(self._source)
            self._cells.clear()
        self._needle = needle
        return range(self._count)

    def _apply_filter(self) -> None:
        keep = self._cursor_index()
        previous = self._needle
        needle = self._filter_text.casefold()
        if needle == previous:
            self._refresh_filter_bar()
            return
        # Typing one more letter only narrows what is already shown.
        narrowing = bool(previous) and previous in needle
        self._view = self._filtered(self._view if narrowing else self._order)
        self._after_view_change(keep)

    def _after_view_change(self, keep: int | None, keep_row: bool = False) -> None:
        """Place the cursor after the rows changed and repaint."""
        if not keep_row:
            row = 0
            if keep is not None and self._view:
                view = self._view
                if isinstance(view, range):
                    row = keep if keep < len(view) else 0
                else:
                    try:
                        row = view.index(keep)  # type: ignore[union-attr]
                    except ValueError:
                        row = 0
            self._cursor_row = row
        self._cursor_row = max(0, min(self._cursor_row, len(self._view) - 1))
        if self.is_mounted:
            self._update_virtual_size()
            self._scroll_cursor_into_view(force_clamp=True)
            self.refresh()
        self._cursor_changed()

    def _compute_widths(self) -> None:
        source = self._source
        count = self._count
        # The first rows plus rows spread over the rest: long values show up
        # without reading 100k rows.
        picks = set(range(min(count, _WIDTH_SAMPLE)))
        if count > _WIDTH_SAMPLE and self._paged is None:  # a paged source: its first rows only
            step = count / _WIDTH_SAMPLE
            picks.update(int(n * step) for n in range(_WIDTH_SAMPLE))
            picks.add(count - 1)
        sample = [source[i] for i in sorted(picks)]
        widths = []
        for column in self._columns:
            if column.width is not None:
                # A translated title longer than the width keeps its words
                # ("Durchw." where the English "Ext." had five cells).
                widths.append(max(1, column.width, cell_len(column.title)))
                continue
            width = cell_len(column.title) + 2  # room for the sort arrow
            for record in sample:
                cell = column.text(record)
                text = cell.plain if isinstance(cell, Text) else _one_line(cell)
                width = max(width, cell_len(text))
            widths.append(max(3, min(width, _MAX_AUTO_WIDTH)))
        self._natural_widths = widths
        self._wanted_widths: list[int] | None = None
        self._widths = self._fit_widths()
        self._detail_columns = None

    def _wanted(self) -> list[int]:
        """How wide each column's text is in the first rows (at most
        ``_MAX_GROWN_WIDTH``): what a column given more room can use."""
        if self._wanted_widths is None:
            sample = [self._source[i] for i in range(min(self._count, _WIDTH_SAMPLE))]
            wanted = []
            for column, width in zip(self._columns, self._natural_widths):
                for record in sample:
                    cell = column.text(record)
                    text = cell.plain if isinstance(cell, Text) else _one_line(cell)
                    width = max(width, cell_len(text))
                wanted.append(min(width, _MAX_GROWN_WIDTH))
            self._wanted_widths = wanted
        return self._wanted_widths

    def _fit_widths(self) -> list[int]:
        """The columns' widths for the widget's width: a table narrower than
        its room grows its left-aligned (text) columns, first those whose text
        is cut, then the widest, so it takes the whole width (120 columns, or
        the sidebar hidden, show more of the names and descriptions). A table
        wider than its room first narrows the columns sized by their content
        (``width=None``), the lowest ``priority`` and then the widest first,
        down to their title or ``_MIN_SHRUNK_WIDTH``, with their text cut
        ("…"), not below their ``min_width``; then hides the columns with a
        negative ``priority`` (width 0), the lowest first, until it fits;
        then narrows below ``min_width``; what is still too wide scrolls
        sideways. Cut and hidden values show on the detail line."""
        widths = list(self._natural_widths)
        room = self.scrollable_content_region.width if self.is_mounted else 0
        if room <= 0:
            return widths
        spare = room - sum(width + 2 * _PAD for width in widths)
        if spare < 0:
            floor = {i: max(_MIN_SHRUNK_WIDTH, cell_len(column.title) + 2)
                     for i, column in enumerate(self._columns) if column.width is None}
            keep = {i: max(floor[i], self._columns[i].min_width or 0) for i in floor}

            def narrow(spare: int, floors: dict[int, int]) -> int:
                while spare < 0:  # the lowest priority, then the widest, one cell at a time
                    shrinkable = [i for i in floors if widths[i] > floors[i]]
                    if not shrinkable:
                        break
                    lowest = min(self._columns[i].priority for i in shrinkable)
                    widest = max((i for i in shrinkable if self._columns[i].priority == lowest),
                                 key=lambda i: widths[i])
                    widths[widest] -= 1
                    spare += 1
                return spare

            spare = narrow(spare, keep)
            hideable = sorted((i for i, column in enumerate(self._columns) if column.priority < 0),
                              key=lambda i: (self._columns[i].priority, -i))
            for i in hideable:
                if spare >= 0:
                    break
                spare += widths[i] + 2 * _PAD
                widths[i] = _HIDDEN
            if spare < 0:  # nothing left to hide: below min_width too
                spare = narrow(spare, {i: width for i, width in floor.items() if widths[i] != _HIDDEN})
            if spare <= 0:
                return widths
            # Hiding freed more than was lacking: give it back below.
            shown = [i for i in range(len(widths)) if widths[i] != _HIDDEN]
            for i in shown:
                if self._columns[i].width is None:
                    widths[i] = self._natural_widths[i]
            spare = room - sum(widths[i] + 2 * _PAD for i in shown)
            while spare < 0:
                shrinkable = [i for i in floor if widths[i] > floor[i] and widths[i] != _HIDDEN]
                if not shrinkable:
                    break
                widest = max(shrinkable, key=lambda i: (-self._columns[i].priority, widths[i]))
                widths[widest] -= 1
                spare += 1
            if spare <= 0:
                return widths
        growable = [i for i, column in enumerate(self._columns) if column.align == "left" and widths[i] != _HIDDEN]
        if spare == 0 or not growable:
            return widths
        wanted = self._wanted()
        # First the columns whose text is cut, each by what it lacks, fairly.
        while spare > 0:
            short = [i for i in growable if widths[i] < wanted[i]]
            if not short:
                break
            share = max(1, spare // len(short))
            for i in short:
                step = min(share, wanted[i] - widths[i], spare)
                widths[i] += step
                spare -= step
                if not spare:
                    break
        # The rest to the widest text column (a name, a description).
        if spare > 0:
            widest = max(growable, key=lambda i: (widths[i], -i))
            widths[widest] += spare
        return widths

    def _refit(self) -> None:
        widths = self._fit_widths()
        if widths != self._widths:
            self._widths = widths
            self._detail_columns = None
            self._update_virtual_size()
            self.refresh()

    @property
    def _table_width(self) -> int:
        return sum(width + 2 * _PAD for width in self._widths if width != _HIDDEN)

    @property
    def hidden_columns(self) -> tuple[Column, ...]:
        """The columns that gave way to the table's width (``Column.priority``)."""
        return tuple(column for column, width in zip(self._columns, self._widths) if width == _HIDDEN)

    def _cut_columns(self) -> list[int]:
        """Indexes of the columns the detail line repeats: those hidden, then
        those whose text is cut in the rows the table measured."""
        if self._detail_columns is None:
            if not self.is_mounted or not self._widths:
                return []
            wanted = self._wanted()
            # the hidden ones first: nothing else shows them
            self._detail_columns = [i for i, width in enumerate(self._widths) if width == _HIDDEN] + [
                i for i, width in enumerate(self._widths) if width != _HIDDEN and wanted[i] > width]
        return self._detail_columns

    @property
    def _detail_shown(self) -> bool:
        return self.show_detail and bool(self._view) and bool(self._cut_columns())

    @property
    def _detail_height(self) -> int:
        return self.detail_lines if self._detail_shown else 0

    @property
    def detail_text(self) -> str:
        """The detail line: the cursor row's values that are hidden, then
        those cut in this row, whole, as "Title: value" (``""`` when
        nothing is)."""
        return " · ".join(self._detail_parts())

    def detail_wrapped(self, width: int) -> list[str]:
        """The detail line as it is drawn in ``width`` cells: one line, or
        up to ``detail_lines`` lines broken between two values (inside a
        value longer than a line, between two words); what does not fit
        the last line is cut there ("…")."""
        parts = self._detail_parts()
        if self.detail_lines == 1 or not parts:
            return [" · ".join(parts)]
        lines: list[str] = [""]
        glues: list[str] = [""]  # what joins each line to the one before: " · " between values
        for part in parts:
            glue = " · " if lines[-1] else ""
            if cell_len(lines[-1] + glue + part) <= width:
                lines[-1] += glue + part
            elif lines[-1] and cell_len(part) <= width:
                lines.append(part)
                glues.append(" · ")
            else:  # longer than a line: word by word
                for k, word in enumerate(part.split(" ")):
                    glue = (" · " if k == 0 else " ") if lines[-1] else ""
                    if not lines[-1] or cell_len(lines[-1] + glue + word) <= width:
                        lines[-1] += glue + word
                    else:
                        lines.append(word)
                        glues.append(" · " if k == 0 else " ")
        last = self.detail_lines - 1
        if len(lines) > self.detail_lines:
            lines[last:] = [lines[last] + "".join(g + t for g, t in zip(glues[last + 1:], lines[last + 1:]))]
        return lines

    def _detail_parts(self) -> list[str]:
        record = self.cursor_record
        if record is None:
            return []
        parts = []
        for i in self._cut_columns():
            column = self._columns[i]
            cell = column.text(record)
            text = _one_line(cell.plain if isinstance(cell, Text) else str(cell)).strip()
            if self._widths[i] != _HIDDEN and cell_len(text) <= self._widths[i]:
                continue  # whole in this row
            if text and text not in ("-", "—"):
                parts.append(f"{column.title}: {text}" if column.title.strip() else text)
        return parts

    @property
    def _filter_bar_shown(self) -> bool:
        return self._editing_filter or bool(self._filter_text)

    @property
    def _page_height(self) -> int:
        height = self.scrollable_content_region.height - 1 - self._filter_bar_shown - self._detail_height
        return max(1, height)

    def _update_virtual_size(self) -> None:
        height = max(len(self._view), 2) + 1 + self._filter_bar_shown + self._detail_height
        self.virtual_size = Size(self._table_width, height)

    # -- scrolling ------------------------------------------------------------

    def _scroll_cursor_into_view(self, force_clamp: bool = False) -> None:
        page = self._page_height
        top = round(self.scroll_y)
        row = self._cursor_row
        target = top
        if row < top:
            target = row
        elif row >= top + page:
            target = row - page + 1
        target = max(0, min(target, len(self._view) - page))
        if target != top or force_clamp:
            self.scroll_to(y=target, animate=False, force=True)

    def _scroll_column_into_view(self) -> None:
        start = sum(width + 2 * _PAD for width in self._widths[: self._cursor_column] if width != _HIDDEN)
        end = start + self._widths[self._cursor_column] + 2 * _PAD
        width = self.scrollable_content_region.width
        left = round(self.scroll_x)
        if start < left:
            self.scroll_to(x=start, animate=False, force=True)
        elif end > left + width:
            self.scroll_to(x=min(start, end - width), animate=False, force=True)

    # -- messages -------------------------------------------------------------

    def _cursor_changed(self, mounted: bool | None = None) -> None:
        """Remember the cursor record; tell the app when it is another one."""
        record = self.cursor_record
        self._cursor_record_seen = record
        if not (self.is_mounted if mounted is None else mounted):
            return
        index = self._cursor_index()
        if index == self._posted_index and record is self._posted_record:
            return
        self._posted_index = index
        self._posted_record = record
        if self._detail_shown:
            line = self.scrollable_content_region.height - self._filter_bar_shown - self._detail_height
            self.refresh(Region(0, line, self.size.width, self._detail_height))
        self.post_message(self.CursorMoved(self, record))

    # -- rendering ------------------------------------------------------------

    def _cells_for(self, index: int) -> tuple[str | Text, ...]:
        cells = self._cells.get(index)
        if cells is None:
            record = self._source[index]
            cells = tuple(_safe_cell(column.text(record)) for column in self._columns)
            self._cells[index] = cells
        return cells

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        height = self.scrollable_content_region.height
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        if y == 0:
            strip, fill = self._header_strip(base)
        elif self._filter_bar_shown and y == height - 1:
            return self._filter_bar_strip(base, width)
        elif self._detail_shown and 0 <= y - (height - self._filter_bar_shown - self._detail_height) \
                < self._detail_height:
            return self._detail_strip(base, width, y - (height - self._filter_bar_shown - self._detail_height))
        elif not self._view:
            if y != 2:
                return Strip.blank(width, base)
            style = base + self.get_component_rich_style("record-table--empty", partial=True)
            if self.total_count and self._filter_text:
                message = _("No records match “{text}”").format(text=self._filter_text)
            else:
                message = self._empty_text or _("No records")
            return Strip([Segment(_fit(message, width, "center"), style)], width)
        else:
            row = scroll_y + y - 1
            if row >= len(self._view):
                return Strip.blank(width, base)
            strip, fill = self._row_strip(row, base)
        return strip.crop_extend(scroll_x, scroll_x + width, fill)

    def _row_strip(self, row: int, base: Style) -> tuple[Strip, Style]:
        style = base
        if self.zebra and row % 2:
            style += self.get_component_rich_style("record-table--even-row")
        if row == self._cursor_row:
            style += self.get_component_rich_style("record-table--cursor")
        cells = self._cells_for(self._view[row])
        segments: list[Segment] = []
        plain: list[str] = []
        pad = " " * _PAD
        for cell, width, column in zip(cells, self._widths, self._columns):
            if width == _HIDDEN:
                continue
            if isinstance(cell, Text):
                if plain:
                    segments.append(Segment("".join(plain), style))
                    plain = []
                text = cell.copy()
                text.truncate(width, overflow="ellipsis", pad=True)
                if column.align != "left":
                    text.align(column.align, width)
                segments.append(Segment(pad, style))
                segments.extend(
                    Segment(segment.text, style + segment.style if segment.style else style)
                    for segment in text.render(self.app.console)
                    if segment.text != "\n"
                )
                segments.append(Segment(pad, style))
            else:
                plain.append(pad + _fit(cell, width, column.align) + pad)
        if plain:
            segments.append(Segment("".join(plain), style))
        return Strip(segments, self._table_width), style

    def _header_strip(self, base: Style) -> tuple[Strip, Style]:
        style = base + self.get_component_rich_style("record-table--header")
        # Without a background of its own (unfocused), the column cursor
        # only changes the text style of the header.
        name = "record-table--header-cursor"
        partial = not self.get_component_styles(name).has_rule("background")
        current = style + self.get_component_rich_style(name, partial=partial)
        segments = []
        for index, (column, width) in enumerate(zip(self._columns, self._widths)):
            if width == _HIDDEN:
                continue
            title = column.title
            if column.key == self._sort_key:
                arrow = "▼" if self._sort_reverse else "▲"
                title = _fit(title, max(1, width - 2), "left").rstrip() + " " + arrow
            text = " " * _PAD + _fit(title, width, column.align) + " " * _PAD
            cell_style = current if index == self._cursor_column else style
            segments.append(Segment(text, cell_style))
        return Strip(segments, self._table_width), style

    def _detail_strip(self, base: Style, width: int, line: int = 0) -> Strip:
        style = base + self.get_component_rich_style("record-table--detail")
        lines = self.detail_wrapped(width - _PAD)
        text = " " * _PAD + (lines[line] if line < len(lines) else "")
        return Strip([Segment(_fit(text, width, "left"), style)], width)

    def _filter_bar_strip(self, base: Style, width: int) -> Strip:
        style = base + self.get_component_rich_style("record-table--filter")
        prompt_style = style + self.get_component_rich_style("record-table--filter-prompt", partial=True)
        prompt = " / "
        text = self._filter_text
        cursor = "▏" if self._editing_filter else ""
        count = " " + _("{shown} of {total}").format(shown=len(self._view), total=self.total_count) + " "
        room = max(0, width - cell_len(prompt) - cell_len(count))
        body = text + cursor
        if cell_len(body) > room:
            # Show the end of a long filter, where typing happens.
            body = "…" + body[-max(0, room - 1) :] if room > 1 else body[-room:] if room else ""
        body = _fit(body, room, "left")
        return Strip(
            [Segment(prompt, prompt_style), Segment(body, style), Segment(count, prompt_style)],
            cell_len(prompt) + room + cell_len(count),
        ).crop_extend(0, width, style)

    def _refresh_header(self) -> None:
        # The header is always the widget's first line, whatever the scroll.
        self.refresh(Region(0, 0, self.size.width, 1))

    def _refresh_filter_bar(self) -> None:
        if self.is_mounted:
            self.refresh()

    # -- events ---------------------------------------------------------------

    def on_mount(self) -> None:
        self._update_virtual_size()
        self._cursor_changed(mounted=True)

    def on_resize(self) -> None:
        self._refit()
        self._scroll_cursor_into_view()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        # The scrollbar that comes with the rows takes two cells of the room
        # without a resize: fit the columns again, or the last one is pushed
        # off the right edge (the Audit trail at 80x24).
        self._refit()

    def _on_focus(self, event: events.Focus) -> None:
        super()._on_focus(event)
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        super()._on_blur(event)
        if self._editing_filter:
            self._stop_editing()
        self.refresh()

    def on_key(self, event: events.Key) -> None:
        if not self._editing_filter:
            return
        key = event.key
        text = self._filter_text
        if key == "escape":
            self._stop_editing()
            self.filter_text = ""
        elif key == "enter":
            self._stop_editing()
        elif key == "backspace":
            self._type_filter(text[:-1])
        elif key in ("ctrl+u", "ctrl+backspace"):
            self._type_filter("")
        elif event.is_printable and event.character:
            self._type_filter(text + event.character)
        else:
            return  # up/down/pgup/pgdn/tab keep working while typing
        event.stop()
        event.prevent_default()

    def on_paste(self, event: events.Paste) -> None:
        if self._editing_filter:
            event.stop()
            first_line = event.text.splitlines()[0] if event.text else ""
            self._type_filter(self._filter_text + first_line)

    def _type_filter(self, text: str) -> None:
        """Show a typed filter at once; filter once per burst of keys."""
        was_shown = self._filter_bar_shown
        self._filter_text = text
        if was_shown != self._filter_bar_shown:
            self._update_virtual_size()
        self._refresh_filter_bar()
        if not self._filter_scheduled:
            self._filter_scheduled = True
            self.call_later(self._run_scheduled_filter)

    def _run_scheduled_filter(self) -> None:
        self._filter_scheduled = False
        self._apply_filter()

    def _stop_editing(self) -> None:
        self._editing_filter = False
        self._update_virtual_size()
        self._refresh_filter_bar()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        x, y = offset
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            column = self._column_at(x + scroll_x)
            if column is None:
                return
            self.cursor_column = column
            key = self._columns[column].key
            reverse = self._sort_key == key and not self._sort_reverse
            self.sort_by(key, reverse)
            return
        height = self.scrollable_content_region.height
        if self._filter_bar_shown and y == height - 1:
            self.action_start_filter()
            return
        row = scroll_y + y - 1
        if 0 <= row < len(self._view):
            self.move_cursor(row)
            if event.chain >= 2:
                self.action_select_cursor()

    def _column_at(self, x: int) -> int | None:
        left = 0
        for index, width in enumerate(self._widths):
            if width == _HIDDEN:
                continue
            left += width + 2 * _PAD
            if x < left:
                return index
        return None

    # -- actions --------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self._cursor_row - self._page_height)

    def action_page_down(self) -> None:
        self.move_cursor(self._cursor_row + self._page_height)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._view) - 1)

    def action_column_left(self) -> None:
        self._step_column(-1)

    def action_column_right(self) -> None:
        self._step_column(1)

    def _step_column(self, step: int) -> None:
        """Move to the next shown column (a hidden one is skipped)."""
        column = self._cursor_column + step
        while 0 <= column < len(self._columns) and self._widths and self._widths[column] == _HIDDEN:
            column += step
        if 0 <= column < len(self._columns):
            self.cursor_column = column

    def action_select_cursor(self) -> None:
        record = self.cursor_record
        if record is not None:
            self.post_message(self.RecordSelected(self, record))

    def action_sort(self, reverse: bool = False) -> None:
        if self._paged is not None:  # in the source's order
            self.app.bell()
            return
        self.sort_by(self._columns[self._cursor_column].key, reverse)

    def prepare_filter(self) -> None:
        """Start reading what a paged source's filter needs (its ``warm``),
        in a thread, while the user types the first letter."""
        if self._paged is not None and self._paged.warm is not None and self.is_attached:
            self.run_worker(self._paged.warm, thread=True, group="record-table-warm", exit_on_error=False)

    def action_start_filter(self) -> None:
        if not self._editing_filter:
            self._editing_filter = True
            self._update_virtual_size()
            self._scroll_cursor_into_view()
            self._refresh_filter_bar()
            if self._search is None:
                # Build the search strings while the user starts typing.
                self.call_after_refresh(self._warm_search)

    def action_clear_filter(self) -> None:
        if not self._filter_text:
            raise SkipAction()  # let escape close the screen
        self.filter_text = ""

