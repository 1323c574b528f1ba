"""RecordTable over a paged store source (core.shell.widgets.table_pages), on both backends.

The table reads the rows it shows a page at a time (keyset pages: ids
below the last shown, with a limit), never the whole table: it shows the
same rows in the same order as a list of the whole table, follows rows
another process adds, and its filter asks the store.
"""

from __future__ import annotations

import pytest
from textual.app import App

from core.storage import Contains, Not
from core.shell.widgets import Column, RecordTable, table_pages

COLUMNS = [Column("id", "#", width=6, align="right"), Column("name", "Name"), Column("city", "City")]
CITIES = ["Berlin", "Paris", "Oslo"]


def fill(table, start: int, n: int) -> None:
    for i in range(start, start + n):
        table.insert({"name": f"Person {i:04d}", "city": CITIES[i % 3]})


def shown(table: RecordTable) -> list[dict]:
    return [{k: v for k, v in table.record_at(r).items() if k != "_doc_id"} for r in range(table.row_count)]


class OneTable(App[None]):
    def __init__(self, table: RecordTable) -> None:
        super().__init__()
        self.table = table

    def compose(self):
        yield self.table

    def on_mount(self) -> None:
        self.table.focus()


async def test_pages_show_the_tables_rows_in_order_with_another_process_writing(target):
    store, other = target.open(), target.open()
    try:
        people = store.table("core", "people")
        with store.transaction():
            fill(people, 0, 250)
        reads = []
        real_find = people.find

        class Counting:  # the real table, its finds counted
            def find(self, *a, **kw):
                reads.append(kw.get("limit"))
                return real_find(*a, **kw)

            def count(self, *a):
                return people.count(*a)

        table = RecordTable(COLUMNS, table_pages(Counting(), search=("name", "city"), page=40))
        async with OneTable(table).run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert table.row_count == 250
            assert table.render_line(1).text.split()[:3] == ["250", "Person", "0249"]
            assert reads and all(n == 40 for n in reads)  # a page, never the whole table
            assert shown(table) == people.find(order_by="-id")  # every row, in order
            fill(other.table("core", "people"), 250, 5)  # another process adds rows
            table.refresh_records()
            await pilot.pause()
            assert table.row_count == 255 and table.render_line(1).text.split()[2] == "0254"
            assert shown(table) == people.find(order_by="-id")
            await pilot.press("slash", *"oslo")
            await pilot.pause()
            want = people.find({("name", "city"): Contains("oslo")}, order_by="-id")
            assert table.row_count == len(want) == 85 and shown(table) == want
            # the filter bar counts against the whole source, not the matches
            bar = [table.render_line(y).text for y in range(table.scrollable_content_region.height)]
            assert any("85 of 255" in line for line in bar), bar
            await pilot.press(*"x" * 3)
            await pilot.pause()
            assert table.row_count == 0 and table.total_count == 255
            assert any("No records match" in table.render_line(y).text for y in range(5))
            for _ in range(3):
                await pilot.press("backspace")
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            assert table.row_count == 255
    finally:
        store.close()
        other.close()


@pytest.mark.tinydb_only("which TinyDB snapshot segments a session reads")
async def test_a_session_shows_the_newest_pages_without_loading_the_table(data_dir):
    """TinyDB: the pages come from the newest segments; the table is never read whole."""
    from core.storage import open_store

    with open_store(data_dir, segment_docs=50) as writer:
        with writer.transaction():
            fill(writer.table("core", "people"), 0, 500)
        writer.compact()
    store = open_store(data_dir, lazy_tables=True, segment_docs=50)
    try:
        table = RecordTable(COLUMNS, table_pages(store.table("core", "people"), search=("name",), page=40))
        async with OneTable(table).run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for _ in range(4):
                await pilot.press("pagedown")
            await pilot.pause()
            assert table.row_count == 500 and table.cursor_record["name"] == f"Person {499 - table.cursor_row:04d}"
            await pilot.press("end")
            await pilot.pause()
            assert table.cursor_record["name"] == "Person 0000"
            assert store._states["core.people"]._docs is None
    finally:
        store.close()


async def test_pages_read_only_the_fields_shown(target):
    """``fields=``: a page holds the keys the columns show (and the id), in
    the same order as whole documents; the filter's pages too."""
    from core.shell.widgets import ordered_pages

    store = target.open()
    try:
        people = store.table("core", "people")
        with store.transaction():
            for i in range(120):
                people.insert({"name": f"Person {i:04d}", "city": CITIES[i % 3], "salary": 1000 + i})
        columns = [Column("name", "Name"), Column("city", "City")]
        for rows, want in (
                (table_pages(people, search=("name", "city"), page=40, fields=("name", "city")),
                 lambda w: people.find(w, order_by="-id")),
                (ordered_pages(people, [({"city": "Oslo"}, "name"), ({"city": Not("Oslo")}, "-name")],
                               search=("name", "city"), page=40, fields=["name", "city"]),
                 lambda w: people.find({**(w or {}), "city": "Oslo"}, order_by="name")
                 + people.find({**(w or {}), "city": Not("Oslo")}, order_by="-name"))):
            table = RecordTable(columns, rows)
            async with OneTable(table).run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                await pilot.press("end")
                await pilot.pause()
                expected = [{"id": d["id"], "name": d["name"], "city": d["city"]} for d in want(None)]
                got = [{k: v for k, v in r.items() if k != "_doc_id"} for r in shown(table)]
                assert table.row_count == 120 and got == expected
                assert all("salary" not in table.record_at(r) for r in range(120))
                await pilot.press("slash", *"paris")
                await pilot.pause()
                narrowed = [{"id": d["id"], "name": d["name"], "city": d["city"]}
                            for d in want({("name", "city"): Contains("paris")})]
                got = [{k: v for k, v in r.items() if k != "_doc_id"} for r in shown(table)]
                assert table.row_count == 40 and got == narrowed
    finally:
        store.close()
