"""RecordTable: rendering 100k rows, keys, sorting, filtering, data changes."""

from __future__ import annotations

from typing import Any

import pytest

from core.shell.widgets import Column, RecordTable

COLUMNS = [
    Column("id", "#", width=6, align="right"),
    Column("name", "Name"),
    Column("city", "City"),
    Column("amount", "Amount", align="right"),
]
CITIES = ["Berlin", "Paris", "Oslo"]


def make_rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "name": f"Person {i:06d}",
            "city": CITIES[i % 3],
            "amount": f"{(i * 37) % 1000}.50",
        }
        for i in range(count)
    ]


ROWS_100K = make_rows(100_000)


class CountingSource:
    """A data source that is not a list and counts what is read."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.reads = 0

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        self.reads += 1
        return self.rows[index]


def lines(table: RecordTable) -> list[str]:
    """The table's text as drawn, line by line."""
    height = table.scrollable_content_region.height
    return [table.render_line(y).text for y in range(height)]


def moved(app) -> list[Any]:
    return [record for kind, record in app.seen if kind == "moved"]


async def test_first_paint_shows_the_first_rows_of_100k(host):
    table = RecordTable(COLUMNS, ROWS_100K)
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = lines(table)
        assert text[0].split() == ["#", "Name", "City", "Amount"]
        assert text[1].split() == ["0", "Person", "000000", "Berlin", "0.50"]
        assert text[2].split() == ["1", "Person", "000001", "Paris", "37.50"]
        # Header + 22 rows fill the 23 lines above the footer.
        assert "Person 000021" in text[22]
        assert table.row_count == 100_000
        assert table.cursor_record is ROWS_100K[0]
        assert moved(app) == [ROWS_100K[0]]


async def test_only_the_rows_in_view_are_read():
    source = CountingSource(ROWS_100K)
    table = RecordTable(COLUMNS, source)
    from textual.app import App

    class OneTable(App[None]):
        def compose(self):
            yield table

    async with OneTable().run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        # Width sampling and the 23 visible rows, never the 100k.
        assert source.reads < 1_000
        assert table.render_line(1).text.split()[0] == "0"


async def test_arrow_keys_move_the_cursor_and_post_cursor_moved(host):
    table = RecordTable(COLUMNS, ROWS_100K)
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "down", "down")
        assert table.cursor_row == 3
        assert table.cursor_record["id"] == 3
        await pilot.press("up")
        assert table.cursor_record["id"] == 2
        await pilot.pause()
        assert moved(app)[-1]["id"] == 2
        await pilot.press("pagedown")
        assert table.cursor_row == 2 + 22
        await pilot.press("end")
        assert table.cursor_record["id"] == 99_999
        await pilot.pause()
        # The last row is drawn on the last line above the footer.
        assert "Person 099999" in lines(table)[-1]
        await pilot.press("home")
        assert table.cursor_row == 0
        assert "Person 000000" in lines(table)[1]


async def test_cursor_line_is_highlighted(host):
    table = RecordTable(COLUMNS, make_rows(10))
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down")
        cursor_style = table.get_component_rich_style("record-table--cursor")
        row_1 = list(table.render_line(2))
        row_0 = list(table.render_line(1))
        assert row_1[0].style.bgcolor == cursor_style.bgcolor
        assert row_0[0].style.bgcolor != cursor_style.bgcolor


async def test_enter_posts_record_selected_with_the_cursor_record(host):
    table = RecordTable(COLUMNS, ROWS_100K)
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert ("selected", ROWS_100K[2]) in app.seen


async def test_s_sorts_by_the_current_column_and_S_reverses(host):
    table = RecordTable(COLUMNS, ROWS_100K)
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("S")  # column 0: id, descending
        assert table.sort_key == "id" and table.sort_reverse
        assert table.record_at(0)["id"] == 99_999
        assert table.record_at(99_999)["id"] == 0
        # The cursor stayed on its record (id 0), now the last row.
        assert table.cursor_record["id"] == 0
        await pilot.press("home")
        await pilot.pause()
        assert lines(table)[0].split()[:2] == ["#", "▼"]
        assert lines(table)[1].split()[0] == "99999"
        await pilot.press("s")
        assert not table.sort_reverse
        assert table.record_at(0)["id"] == 0
        await pilot.pause()
        assert "▲" in lines(table)[0]


async def test_sorting_amounts_is_numeric_with_empty_values_last(host):
    rows = [
        {"id": 1, "amount": "100.00"},
        {"id": 2, "amount": "20.00"},
        {"id": 3, "amount": None},
        {"id": 4, "amount": "3.50"},
        {"id": 5, "amount": ""},
    ]
    table = RecordTable([Column("id", "#"), Column("amount", "Amount")], rows)
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right", "s")
        assert [table.record_at(r)["id"] for r in range(5)] == [4, 2, 1, 3, 5]
        await pilot.press("S")
        assert [table.record_at(r)["id"] for r in range(5)] == [1, 2, 4, 3, 5]


async def test_clicking_a_header_sorts_then_reverses(host):
    table = RecordTable(COLUMNS, make_rows(50))
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        # Column "Name" starts after "#" (6 + 2 padding cells).
        await pilot.click(RecordTable, offset=(10, 0))
        assert table.sort_key == "name" and not table.sort_reverse
        assert table.cursor_column == 1
        await pilot.click(RecordTable, offset=(10, 0))
        assert table.sort_reverse
        assert table.record_at(0)["name"] == "Person 000049"


async def test_left_right_move_the_column_cursor(host):
    table = RecordTable(COLUMNS, make_rows(5))
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right", "right", "right", "right")
        assert table.cursor_column == 3
        await pilot.press("left")
        assert table.cursor_column == 2
        await pilot.press("s")
        assert table.sort_key == "city"


async def test_filter_text_narrows_rows_case_insensitively(host):
    table = RecordTable(COLUMNS, ROWS_100K)
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down")  # on id 1, in Paris
        table.filter_text = "PARIS"
        assert table.row_count == len([r for r in ROWS_100K if r["city"] == "Paris"])
        assert all(table.record_at(r)["city"] == "Paris" for r in range(0, table.row_count, 997))
        # The cursor record is still shown, so the cursor stays on it.
        assert table.cursor_record["id"] == 1
        table.filter_text = "person 00004"
        assert {table.record_at(r)["id"] for r in range(table.row_count)} == set(range(40, 50))
        # Its record filtered away, the cursor goes to the first row.
        assert table.cursor_row == 0 and table.cursor_record["id"] == 40
        await pilot.pause()
        text = lines(table)
        assert "10 of 100000" in text[-1]
        table.filter_text = ""
        assert table.row_count == 100_000
        assert table.cursor_record["id"] == 40


async def test_filter_matches_within_one_column_not_across(host):
    table = RecordTable(COLUMNS, make_rows(30))
    app = host(table)
    async with app.run_test(size=(80, 24)):
        table.filter_text = "berlin 0"
        assert table.row_count == 0


async def test_filter_uses_the_formatted_text(host):
    rows = [{"id": 1, "state": "o"}, {"id": 2, "state": "c"}]
    labels = {"o": "Open", "c": "Closed"}
    table = RecordTable([Column("id", "#"), Column("state", "State", format=labels.get)], rows)
    app = host(table)
    async with app.run_test(size=(80, 24)):
        table.filter_text = "clos"
        assert table.row_count == 1 and table.cursor_record["id"] == 2


async def test_slash_opens_the_filter_line_and_typing_filters(host):
    table = RecordTable(COLUMNS, ROWS_100K)
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash")
        assert table.editing_filter
        # "s" types into the filter instead of sorting.
        await pilot.press("o", "s", "l", "o")
        await pilot.pause()
        assert table.filter_text == "oslo"
        assert table.sort_key is None
        assert table.row_count == len([r for r in ROWS_100K if r["city"] == "Oslo"])
        assert lines(table)[-1].startswith(" / oslo")
        await pilot.press("backspace", "backspace", "backspace", "backspace", "p", "a", "r")
        await pilot.pause()
        assert table.filter_text == "par"
        assert table.cursor_record["city"] == "Paris"
        # Arrows still move while typing; enter ends typing, keeps the filter.
        await pilot.press("down", "enter")
        assert not table.editing_filter
        assert table.filter_text == "par"
        assert table.cursor_row == 1
        await pilot.press("enter")
        await pilot.pause()
        assert ("selected", table.cursor_record) in app.seen
        # Escape clears the filter.
        await pilot.press("escape")
        assert table.filter_text == ""
        assert table.row_count == 100_000


async def test_empty_state_message(host):
    table = RecordTable(COLUMNS, [])
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = lines(table)
        assert "No records" in text[2]
        assert table.cursor_record is None and table.row_count == 0
        await pilot.press("enter", "down", "s")
        await pilot.pause()
        assert not [kind for kind, _ in app.seen if kind == "selected"]


async def test_no_match_message(host):
    table = RecordTable(COLUMNS, make_rows(10))
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        table.filter_text = "zzz"
        await pilot.pause()
        assert "No records match “zzz”" in lines(table)[2]
        assert moved(app)[-1] is None


async def test_custom_empty_text(host):
    table = RecordTable(COLUMNS, [], empty_text="No tickets yet")
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "No tickets yet" in lines(table)[2]


async def test_refresh_records_keeps_the_cursor_on_the_same_id(host):
    rows = make_rows(100)
    table = RecordTable(COLUMNS, rows)
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "down", "down")
        assert table.cursor_record["id"] == 3
        rows.insert(0, {"id": 1000, "name": "New", "city": "Rome", "amount": "1.00"})
        del rows[5]
        table.refresh_records()
        assert table.row_count == 100
        assert table.cursor_record["id"] == 3
        assert table.cursor_row == 4
        # The cursor's record deleted: the cursor keeps its row.
        del rows[4]
        table.refresh_records()
        assert table.cursor_row == 4
        assert table.cursor_record["id"] == 5


async def test_set_records_keeps_sort_filter_and_cursor(host):
    table = RecordTable(COLUMNS, make_rows(100))
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        table.sort_by("id", reverse=True)
        table.filter_text = "paris"
        table.move_cursor_to_id(52)
        table.set_records([dict(row, amount="0") for row in make_rows(200)])
        assert table.sort_key == "id" and table.sort_reverse
        assert table.record_at(0)["id"] == 199
        assert all(table.record_at(r)["city"] == "Paris" for r in range(table.row_count))
        assert table.cursor_record["id"] == 52
        await pilot.pause()
        assert moved(app)[-1]["id"] == 52


async def test_cursor_moved_bursts_are_coalesced():
    table = RecordTable(COLUMNS, make_rows(10))
    first = RecordTable.CursorMoved(table, {"id": 1})
    second = RecordTable.CursorMoved(table, {"id": 2})
    other = RecordTable.CursorMoved(RecordTable(COLUMNS, []), {"id": 3})
    assert second.can_replace(first)
    assert not other.can_replace(first)


async def test_horizontal_scroll_follows_the_column_cursor(host):
    columns = [Column(f"c{i}", f"Column {i}", width=14) for i in range(8)]
    rows = [{f"c{i}": f"r{r}c{i}" for i in range(8)} for r in range(5)]
    table = RecordTable(columns, rows)
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(7):
            await pilot.press("right")
        await pilot.pause()
        assert table.scroll_x > 0
        assert "Column 7" in lines(table)[0]
        assert "r0c7" in lines(table)[1]


def test_bindings_have_ids_and_the_important_ones_show():
    bindings = {binding.id: binding for binding in RecordTable.BINDINGS}
    for binding_id in (
        "record_table.select",
        "record_table.sort",
        "record_table.sort_descending",
        "record_table.filter",
        "record_table.cursor_down",
    ):
        assert binding_id in bindings
    assert bindings["record_table.sort"].show
    assert bindings["record_table.filter"].show
    assert bindings["record_table.select"].show


async def test_keymap_rebinds_sort(host):
    table = RecordTable(COLUMNS, make_rows(10))
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        app.set_keymap({"record_table.sort": "o"})
        await pilot.press("S", "o")
        assert table.sort_key == "id" and not table.sort_reverse


def test_column_reads_dotted_paths_and_formats():
    column = Column("address.city", "City")
    assert column.value({"address": {"city": "Graz"}}) == "Graz"
    assert column.text({"address": None}) == ""
    assert Column("ok", "OK").text({"ok": True}) == "yes"
    assert Column("n", "N", format=lambda v: f"{v:,}").text({"n": 1234}) == "1,234"


def test_needs_columns():
    with pytest.raises(ValueError):
        RecordTable([], [])


async def test_header_repaints_the_column_cursor_when_scrolled(host):
    table = RecordTable(COLUMNS, make_rows(1000))
    app = host(table)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("pagedown", "pagedown")
        await pilot.pause()
        header_cursor = table.get_component_rich_style("record-table--header-cursor")
        await pilot.press("right")
        await pilot.pause()
        header = list(table.render_line(0))
        styled = [segment.text.strip() for segment in header if segment.style.bgcolor == header_cursor.bgcolor]
        assert styled == ["Name"]


async def test_filter_input_filters_its_table():
    from textual.app import App

    from core.shell.widgets import FilterInput

    table = RecordTable(COLUMNS, make_rows(300), id="people")

    class Screen(App[None]):
        def compose(self):
            yield FilterInput("#people")
            yield table

    app = Screen()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(FilterInput).focus()
        await pilot.press(*"oslo")
        await pilot.pause()
        assert table.filter_text == "oslo" and table.row_count == 100
        await pilot.press("down")
        assert app.focused is table
        app.query_one(FilterInput).focus()
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == 300


PRIORITY_COLUMNS = [
    Column("id", "#", width=3, align="right"),
    Column("prio", "Prio"),
    Column("title", "Title", priority=-1),
    Column("due", "Due", width=10),
    Column("who", "For", width=16, priority=-2),
    Column("owner", "Owner", width=12, priority=-3),
]
PRIORITY_ROWS = [
    {"id": 1, "prio": "dringend", "title": "Access to the accounting share for the new colleague",
     "due": "12.12.26", "who": "Sophie Turner", "owner": "carla"},
    {"id": 2, "prio": "niedrig", "title": "Monitor flickers", "due": "13.12.26", "who": "Ben Brandt",
     "owner": "-"},
]


async def test_low_priority_columns_give_way_and_the_detail_line_shows_them_whole(host):
    """At 50 cells the owner, then the requester give way; the priority is
    never cut; the title is cut, and the line under the rows shows the
    cursor row's hidden values, then those cut in that row, whole (a "-"
    is left out). Wide
    enough, every column shows and there is no detail line."""
    table = RecordTable(PRIORITY_COLUMNS, PRIORITY_ROWS)
    app = host(table)
    async with app.run_test(size=(50, 12)) as pilot:
        await pilot.pause()
        text = lines(table)
        assert text[0].split() == ["#", "Prio", "Title", "Due"]
        assert [c.key for c in table.hidden_columns] == ["who", "owner"]
        assert "dringend" in text[1] and "Access to the" in text[1] and "…" in text[1]
        assert table.detail_text == ("For: Sophie Turner · Owner: carla · "
                                     "Title: Access to the accounting share for the new colleague")
        assert text[-1].startswith(" For: Sophie Turner · Owner: carla · Title: Acc")
        await pilot.press("down")
        await pilot.pause()
        # the title is whole in this row: only what is hidden ("-" left out)
        assert lines(table)[-1].strip() == "For: Ben Brandt"
        # right-arrow walks the shown columns only: past "Due" there is none
        for _ in range(5):
            await pilot.press("right")
        assert table.columns[table.cursor_column].key == "due"
    table = RecordTable(PRIORITY_COLUMNS, PRIORITY_ROWS)
    app = host(table)
    async with app.run_test(size=(140, 12)) as pilot:
        await pilot.pause()
        text = lines(table)
        assert text[0].split() == ["#", "Prio", "Title", "Due", "For", "Owner"]
        assert table.hidden_columns == () and table.detail_text == ""
        assert "Access to the accounting share for the new colleague" in text[1]
        assert text[-1].strip() == ""


MIN_WIDTH_COLUMNS = [
    Column("when", "When", width=8),
    Column("from", "From", priority=-1),
    Column("who", "For", width=12, priority=-2),
    Column("text", "Text", priority=1, min_width=30),
]
MIN_WIDTH_ROWS = [
    {"when": "08:37", "from": "Paula Parker-Schmidt (Schmidt & Partner)", "who": "Anna Becker",
     "text": "Asks whether the invoice from last month can be paid in two parts"},
    {"when": "09:12", "from": "Ben", "who": "Carla", "text": "Call back"},
]


async def test_a_column_keeps_its_min_width_while_others_give_way_and_the_detail_wraps(host):
    """The text keeps 30 cells and more: the columns with a negative
    priority are hidden before it is narrowed below its min_width (without
    it, 16 cells each for the caller and the text); the detail line takes
    two lines, broken between two values, the rest cut on the last."""
    table = RecordTable(MIN_WIDTH_COLUMNS, MIN_WIDTH_ROWS, detail_lines=2)
    app = host(table)
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        widths = dict(zip((c.key for c in table.columns), table._widths))
        assert table._table_width <= table.scrollable_content_region.width
        assert widths["who"] == 0 and widths["text"] >= 30 and widths["from"] >= 12, widths
        text = lines(table)
        assert text[-2].rstrip() == " For: Anna Becker"
        assert text[-1].startswith(" From: Paula Parker-Schmidt (Schmidt & Partner) · Text: A")
        assert text[-1].endswith("…")
        assert table.detail_text == ("For: Anna Becker · From: Paula Parker-Schmidt (Schmidt & Partner) · "
                                     "Text: Asks whether the invoice from last month can be paid in two parts")
        await pilot.press("down")
        await pilot.pause()
        # both lines stay (the rows do not jump); only what is hidden here
        assert [line.strip() for line in lines(table)[-2:]] == ["For: Carla", ""]
    table = RecordTable(MIN_WIDTH_COLUMNS, MIN_WIDTH_ROWS, detail_lines=2)
    app = host(table)
    async with app.run_test(size=(140, 12)) as pilot:
        await pilot.pause()
        assert all(table._widths) and table.detail_text == ""  # every column shows, no detail lines
        assert "Asks whether the invoice from last month can be paid in two parts" in lines(table)[1]
