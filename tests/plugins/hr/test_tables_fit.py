"""HR's tables at 80×24 beside the menu, German and English: each fits its
room (no scrolling sideways) with the columns an HR manager follows on
screen; the columns that gave way show whole on the detail line for the
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
    ("hr.hiring", "hr-candidates", ["name", "stage_text", "next_interview", "opening"], ["has_cv"]),
    ("hr.checklists", "hr-checklists", ["name", "kind_text", "progress", "waiting_for"], []),
    ("hr.cases", "hr-cases", ["id", "status_text", "subject", "against_text"], ["type_text", "raised_text", "opened_on"]),
]


async def _table(pilot, table_id: str) -> RecordTable:
    await wait_for(pilot, lambda: pilot.app.screen.query(f"#{table_id}"))
    table = pilot.app.screen.query_one(f"#{table_id}", RecordTable)
    await wait_for(pilot, lambda: table.size.width > 0 and table.row_count > 0)
    await pilot.pause()
    return table


def _fits_and_tells(pilot, table: RecordTable, shown: list[str], hidden: list[str], where) -> None:
    where = (where, [(c.key, w) for c, w in zip(table.columns, table._widths)])
    assert table._table_width <= table.scrollable_content_region.width, where
    assert set(shown) <= set(columns_shown(table)), where
    assert {c.key for c in table.hidden_columns} <= set(hidden), where
    record = table.cursor_record
    for column in table.hidden_columns:  # whole under the rows, for the cursor's row
        value = str(column.text(record)).strip()
        if value:
            assert f"{column.title}: {value}" in table.detail_text, (where, table.detail_text)


@pytest.mark.tinydb_only("layout does not depend on the storage backend")
@pytest.mark.parametrize("locale", ["de_DE", "en_GB"])
async def test_hr_tables_fit_80x24_and_show_what_gave_way_on_the_detail_line(backdesk_site, locale):
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
                await wait_for(pilot, lambda: app.current_mode == nav)
                table = await _table(pilot, table_id)
                _fits_and_tells(pilot, table, shown, hidden, (locale, nav))
                # the detail line may show after the rows (under load one pause was not enough once)
                await wait_for(pilot, lambda: table.detail_text[:40] in screen_text(pilot.app),
                               message=f"the detail line {table.detail_text[:40]!r} on the screen")
                if nav == "hr.checklists":
                    # the kind whole ("Einarbeitung", was "Einarbeitu…"); Enter opens the items, which fit too
                    assert table.columns[1].text(table.cursor_record) in table.render_line(1).text
                    table.focus()
                    await pilot.press("enter")
                    items = await _table(pilot, "hr-items")
                    _fits_and_tells(pilot, items, ["mark", "title", "owner_role", "done_text"], [], (locale, "items"))
                    await pilot.press("escape")
                if nav == "hr.cases":
                    # whom a case concerns reads whole: "Charlotte Baker"
                    against = table.columns[4].text(table.cursor_record)
                    assert against and against in table.render_line(1 + table.cursor_row).text
        async with site.run_app(size=(120, 40), backdesk=bd) as pilot:
            app = pilot.app
            for nav, table_id, shown, hidden in TABLES:
                app.open_nav(nav)
                await wait_for(pilot, lambda: app.current_mode == nav)
                table = await _table(pilot, table_id)
                assert table.hidden_columns == (), (locale, nav)
                assert table._table_width <= table.scrollable_content_region.width, (locale, nav)
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
