"""Tables take the width they are given: at 120×40, and with the sidebar
hidden, every screen's tables reach the right edge (their text columns
grow) instead of leaving a third of the screen empty; a table too wide for
its room narrows its content-sized columns before it scrolls."""

from __future__ import annotations

import pytest

from core.cli.testing import wait_for
from core.shell.widgets import RecordTable


def _tables(app) -> list[RecordTable]:
    return [t for t in app.screen.query(RecordTable) if t.display and t.visible and t.region.width]


def _short(table: RecordTable) -> int:
    """Cells left empty right of the table's last column (0: full width)."""
    return table.scrollable_content_region.width - table._table_width


@pytest.mark.tinydb_only("layout does not depend on the storage backend")
async def test_every_screens_tables_take_the_full_width(backdesk_site):
    site = backdesk_site
    site.plugins(["telephony", "documents", "it", "accounting", "hr"])
    assert site.cli("demo").code == 0
    async with site.run_app(size=(120, 40)) as pilot:
        app = pilot.app
        checked = []
        for entry in app.nav_entries:
            app.open_nav(entry.id)
            await wait_for(pilot, lambda: app.current_mode == entry.id and app.screen.is_mounted)
            await pilot.pause()
            for table in _tables(app):
                await wait_for(pilot, lambda: table.size.width > 0)
                if any(column.align == "left" for column in table.columns):
                    assert _short(table) <= 0, f"{entry.id} #{table.id}: {_short(table)} cells left empty"
                checked.append(f"{entry.id}#{table.id}")
        assert len(checked) >= 15, checked
        # the sidebar hidden: the Bills table grows into its room
        app.open_nav("accounting.bills")
        await wait_for(pilot, lambda: app.current_mode == "accounting.bills")
        bills = app.screen.query_one("#acc-bills", RecordTable)
        before = bills._table_width
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: bills._table_width > before)
        assert _short(bills) <= 0
        # the vendor's full name is shown, not cut at ten characters
        assert any(bills.record_at(i)["vendor"] == "NetCom Telekommunikation AG" for i in range(bills.row_count))
        vendor = bills.columns[0]
        assert bills._widths[0] >= len("NetCom Telekommunikation AG") and vendor.key == "vendor"


async def test_a_too_wide_table_narrows_its_content_sized_columns(backdesk_site):
    """At 120 columns the Directory shows its e-mail column (cut with "…")
    rather than hiding it off the right edge."""
    site = backdesk_site
    bd = site.open()
    dept = bd.services.people.add_department("Finanzbuchhaltung und Controlling")
    for n in range(3):
        bd.services.people.add_person({"department_id": dept, "name": f"Person {n}", "title": "Leiterin Finanzbuchhaltung und Controlling " * 2,
                                "email": f"person.{n}.with.a.long.address@muster-und-partner-gmbh.example"})
    async with site.run_app(size=(120, 40), backdesk=bd) as pilot:
        app = pilot.app
        app.open_nav("directory")
        await wait_for(pilot, lambda: app.current_mode == "directory" and app.screen.query("#directory-table"))
        table = app.screen.query_one("#directory-table", RecordTable)
        await wait_for(pilot, lambda: table.row_count >= 3 and table.size.width > 0)
        assert table._table_width <= table.scrollable_content_region.width
        assert [c.key for c in table.columns][-1] == "email"


@pytest.mark.tinydb_only("layout does not depend on the storage backend")
async def test_every_column_title_is_whole_at_80x24_in_german(backdesk_site):
    """German titles are longer than the English widths were chosen for:
    no header is cut ("Durchw.", not "Durc…", on the Switchboard), and no
    table's detail line offers a record's id ("#: 3") to the office."""
    from rich.cells import cell_len

    from core.i18n import configure

    site = backdesk_site
    site.plugins(["telephony", "documents", "it", "accounting", "hr"])
    assert site.cli("demo").code == 0
    bd = site.open()
    configure("de_DE", "Europe/Berlin", "EUR")  # after the site's own (en_US)
    try:
        async with site.run_app(size=(80, 24), backdesk=bd) as pilot:
            app = pilot.app
            checked = []
            for entry in app.nav_entries:
                app.open_nav(entry.id)
                await wait_for(pilot, lambda: app.current_mode == entry.id and app.screen.is_mounted)
                await pilot.pause()
                for table in _tables(app):
                    await wait_for(pilot, lambda: table.size.width > 0)
                    where = f"{entry.id} #{table.id}"
                    header = table.render_line(0).text
                    assert "…" not in header, f"{where}: {header!r}"
                    for column, width in zip(table.columns, table._widths):
                        if width:  # 0: hidden, its value on the detail line
                            assert width >= cell_len(column.title), f"{where}: {column.title!r} in {width} cells"
                    assert "#:" not in table.detail_text, f"{where}: {table.detail_text!r}"
                    checked.append(where)
                    if entry.id == "telephony" and table.id == "sb-table":
                        assert header.split()[:2] == ["Durchw.", "Name"], header
            assert "telephony #sb-table" in checked and "accounting.bills #acc-bills" in checked, checked
    finally:
        configure("en_US", "Europe/Berlin", "EUR")


@pytest.mark.tinydb_only("layout does not depend on the storage backend")
@pytest.mark.parametrize("locale", ["de_DE", "en_GB"])
async def test_the_switchboard_bills_and_journal_fit_80x24_without_scrolling_sideways(backdesk_site, locale):
    """Beside the menu at 80×24 every column of the Switchboard's people, the
    Bills (the amount open, last) and the Journal (its State, last) is on
    screen: a date column is as wide as the locale's dates ("18.10.26",
    "18/10/2026"), a department or description sized by its text is
    narrowed ("…", whole on the detail line) instead of pushing columns off
    the right edge."""
    from core.i18n import configure

    site = backdesk_site
    site.plugins(["telephony", "documents", "it", "accounting", "hr"])
    assert site.cli("demo").code == 0
    bd = site.open()
    configure(locale, "Europe/Berlin", "EUR")
    try:
        async with site.run_app(size=(80, 24), backdesk=bd) as pilot:
            app = pilot.app
            for nav, table_id, last in (("telephony", "sb-table", "state"), ("accounting.bills", "acc-bills", "open"),
                                        ("accounting.ledger", "acc-journal", "state")):
                app.open_nav(nav)
                await wait_for(pilot, lambda: app.current_mode == nav and app.screen.query(f"#{table_id}"))
                table = app.screen.query_one(f"#{table_id}", RecordTable)
                await wait_for(pilot, lambda: table.size.width > 0 and table.row_count > 0)
                await pilot.pause()
                assert table._table_width <= table.scrollable_content_region.width, (
                    nav, table._table_width, table.scrollable_content_region.width,
                    [(c.title, w) for c, w in zip(table.columns, table._widths)])
                assert table.columns[-1].key == last and table._widths[-1] > 0
                if table_id == "acc-bills":  # the German date takes 8 cells, the English 10
                    due = table.columns[2]
                    assert due.key == "due" and table._widths[2] == (8 if locale == "de_DE" else 10)
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
