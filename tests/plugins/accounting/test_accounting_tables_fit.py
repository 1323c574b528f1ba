"""Accounting's tables at 80×24 beside the menu, German and English: each
fits its room (no scrolling sideways) with the columns a bookkeeper follows
on screen; the columns that gave way show whole on the detail line for the
cursor's row; at 120×40 every column is back."""

from __future__ import annotations

import pytest

from core.cli.testing import wait_for
from core.i18n import configure
from core.shell.widgets import RecordTable
from tests.pilot import columns_shown
from tests.pilot import shown as screen_text  # "shown" names the columns here

#: nav entry, table, the columns always on screen at 80×24 (German and English), the ones that may
#: give way when the table needs the room
TABLES = [
    ("accounting.orders", "acc-orders", ["number", "vendor", "status_text", "total"], ["date"]),
    ("accounting.payroll", "acc-time", ["date", "name", "hours", "status_text", "flag"], ["span"]),
    ("accounting.invoices", "acc-invoices", ["number_text", "customer", "status_text", "open"],
     ["total", "date", "kind_text"]),
    ("accounting.customers", "acc-customer-list", ["number", "name", "city", "open", "invoices"], ["vat_id"]),
    ("accounting.open_items", "acc-open-items", ["number", "customer", "due", "days_overdue", "open"], ["level"]),
]


# (the test demo has no open items: that table is measured by its titles)


@pytest.mark.tinydb_only("layout does not depend on the storage backend")
@pytest.mark.parametrize("locale", ["de_DE", "en_GB"])
async def test_accounting_tables_fit_80x24_and_show_what_gave_way_on_the_detail_line(backdesk_site, locale):
    site = backdesk_site
    site.plugins(["telephony", "documents", "it", "accounting", "hr"])
    assert site.cli("demo").code == 0
    bd = site.open()
    configure(locale, "Europe/Berlin", "EUR")
    try:
        async with site.run_app(size=(80, 24), backdesk=bd) as pilot:
            app = pilot.app
            for nav, table_id, shown, hidden in TABLES:
                app.open_nav(nav)
                await wait_for(pilot, lambda: app.current_mode == nav and app.screen.query(f"#{table_id}"))
                table = app.screen.query_one(f"#{table_id}", RecordTable)
                await wait_for(pilot, lambda: table.size.width > 0 and (table.row_count or nav == "accounting.open_items"))
                await pilot.pause()
                where = (locale, nav, [(c.key, w) for c, w in zip(table.columns, table._widths)])
                assert table._table_width <= table.scrollable_content_region.width, where
                assert set(shown) <= set(columns_shown(table)), where
                assert {c.key for c in table.hidden_columns} <= set(hidden), where
                # what gave way reads whole under the rows, for the cursor's row
                record = table.cursor_record or {}
                for column in table.hidden_columns if record else ():
                    value = str(column.text(record)).strip()
                    if value:
                        assert f"{column.title}: {value}" in table.detail_text, (where, table.detail_text)
                # the detail line may show after the rows (under load one pause was not enough once)
                await wait_for(pilot, lambda: table.detail_text[:40] in screen_text(pilot.app),
                               message=f"the detail line {table.detail_text[:40]!r} on the screen {where}")
            # the order's date in the locale's words
            app.open_nav("accounting.orders")
            await wait_for(pilot, lambda: app.current_mode == "accounting.orders")
            orders = app.screen.query_one("#acc-orders", RecordTable)
            date = orders.columns[-1].text(orders.cursor_record)
            assert date.count("." if locale == "de_DE" else "/") == 2 and len(date) == (8 if locale == "de_DE" else 10)
            if orders.hidden_columns:  # under the rows, or in its row
                assert orders.detail_text.startswith(("Datum: " if locale == "de_DE" else "Date: ") + date)
            else:
                assert orders.render_line(1 + orders.cursor_row).text.rstrip().endswith(date)
        async with site.run_app(size=(120, 40), backdesk=bd) as pilot:
            app = pilot.app
            for nav, table_id, shown, hidden in TABLES:
                app.open_nav(nav)
                await wait_for(pilot, lambda: app.current_mode == nav and app.screen.query(f"#{table_id}"))
                table = app.screen.query_one(f"#{table_id}", RecordTable)
                await wait_for(pilot, lambda: table.size.width > 0)
                await pilot.pause()
                assert table.hidden_columns == (), (locale, nav)
                assert table._table_width <= table.scrollable_content_region.width, (locale, nav)
    finally:
        configure("en_US", "Europe/Berlin", "EUR")


@pytest.mark.tinydb_only("layout does not depend on the storage backend")
@pytest.mark.parametrize("locale", ["de_DE", "en_GB"])
async def test_the_journals_detail_line_shows_the_cursor_rows_whole_description(backdesk_site, locale):
    """At 80×24 the Journal's description is narrowed ("…"); under the rows
    the cursor's entry reads whole, and it follows the cursor."""
    site = backdesk_site
    site.plugins(["telephony", "documents", "it", "accounting", "hr"])
    assert site.cli("demo").code == 0
    bd = site.open()
    configure(locale, "Europe/Berlin", "EUR")
    try:
        async with site.run_app(size=(80, 24), backdesk=bd) as pilot:
            app = pilot.app
            app.open_nav("accounting.ledger")
            await wait_for(pilot, lambda: app.current_mode == "accounting.ledger" and app.screen.query("#acc-journal"))
            table = app.screen.query_one("#acc-journal", RecordTable)
            await wait_for(pilot, lambda: table.size.width > 0 and table.row_count > 0)
            width = table._widths[2]
            assert table.columns[2].key == "description" and width < 20
            cut = [i for i in range(min(table.row_count, 15)) if len(table.record_at(i)["description"]) > width]
            whole = [i for i in range(min(table.row_count, 15)) if len(table.record_at(i)["description"]) <= width]
            assert len(cut) >= 2, [table.record_at(i)["description"] for i in range(table.row_count)]
            title = "Buchungstext" if locale == "de_DE" else "Description"
            table.focus()
            for row in cut[:2]:
                table.move_cursor(row)
                await pilot.pause()
                description = table.record_at(row)["description"]
                assert f"{title}: {description}" in screen_text(pilot.app)
                assert description not in table.render_line(1 + row - table.scroll_offset.y).text  # cut in its row
            if whole:  # a description whole in its row is not repeated
                table.move_cursor(whole[0])
                await pilot.pause()
                assert f"{title}: " not in screen_text(pilot.app)
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
