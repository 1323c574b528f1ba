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


# What an operator needs most stays on screen at 80x24 (the rest gives way
# to the detail line); "=" marks a column that is never cut (times, dates).
MUST_SHOW = {
    "directory #directory-table": ("name", "extension", "department", "status"),
    "telephony.messages #msg-table": ("=when", "flags", "text"),
    "telephony.history #hist-table": ("=time", "caller", "=outcome", "=duration"),
    "documents #docs-table": ("asn", "=date", "title", "correspondent"),
    "documents.outbox #outbox-table": ("kind", "=shown_status", "attempts", "to_text"),
    "documents.rules #rules-table": ("name", "match", "assigns"),
    "audit #audit-table": ("seq", "=when", "actor", "op", "what"),
    "it.assets #it-assets": ("=tag", "holder", "model", "=status_text"),
    "it.maintenance #it-tasks": ("title", "=next_due_text", "=interval_days"),
    "it.maintenance #it-changes": ("title", "=risk_text", "=status_text", "=planned_date"),
    "it.checks #it-checks": ("=state_text", "name", "message", "=since_text"),
}


def _columns(table: RecordTable) -> list[tuple[str, int]]:
    return [(column.title, width) for column, width in zip(table.columns, table._widths)]


@pytest.mark.tinydb_only("layout does not depend on the storage backend")
@pytest.mark.parametrize("locale", ["de_DE", "en_GB"])
async def test_every_screens_tables_fit_80x24_without_scrolling_sideways(backdesk_site, locale):
    """Beside the menu at 80×24 no table of any screen is wider than its
    room: columns an operator needs less give way (narrowed "…" or hidden,
    whole on the detail line for the cursor's row) instead of pushing the
    last columns off the right edge. A date column is as wide as the
    locale's dates ("18.10.26", "18/10/2026"); no title is cut."""
    from rich.cells import cell_len

    from core.i18n import configure

    site = backdesk_site
    site.plugins(["telephony", "documents", "it", "accounting", "hr"])
    assert site.cli("demo").code == 0
    bd = site.open()
    configure(locale, "Europe/Berlin", "EUR")
    try:
        async with site.run_app(size=(80, 24), backdesk=bd) as pilot:
            app = pilot.app
            checked, too_wide = [], {}
            for entry in app.nav_entries:
                app.open_nav(entry.id)
                await wait_for(pilot, lambda: app.current_mode == entry.id and app.screen.is_mounted)
                await pilot.pause()
                for table in _tables(app):
                    await wait_for(pilot, lambda: table.size.width > 0)
                    await pilot.pause()
                    where = f"{entry.id} #{table.id}"
                    header = table.render_line(0).text
                    assert "…" not in header, f"{where}: {header!r}"
                    for column, width in zip(table.columns, table._widths):
                        if width:  # 0: hidden, its value on the detail line
                            assert width >= cell_len(column.title), f"{where}: {column.title!r} in {width} cells"
                    assert "#:" not in table.detail_text, f"{where}: {table.detail_text!r}"
                    widths = dict(zip((c.key for c in table.columns), table._widths))
                    record = table.cursor_record
                    for key in MUST_SHOW.get(where, ()):
                        assert widths[key.lstrip("=")], f"{where}: {key} hidden {_columns(table)}"
                        if key.startswith("=") and record is not None:
                            column = next(c for c in table.columns if c.key == key[1:])
                            text = str(column.text(record))
                            assert cell_len(text) <= widths[key[1:]], f"{where}: {text!r} cut"
                    for column in table.hidden_columns:  # whole on the detail line, the cursor's row
                        text = str(column.text(record)).strip() if record is not None else ""
                        if text not in ("", "-", "—"):
                            assert f"{column.title}: {text}" in table.detail_text, (where, table.detail_text)
                    room = table.scrollable_content_region.width
                    if table._table_width > room:
                        too_wide.setdefault(entry.id, []).append(f"{where}: {table._table_width}/{room} {_columns(table)}")
                    checked.append(where)
            assert not too_wide, too_wide
            for nav in ("telephony #sb-table", "accounting.bills #acc-bills", "accounting.ledger #acc-journal",
                        *MUST_SHOW):
                assert nav in checked, checked
            app.open_nav("accounting.bills")
            await wait_for(pilot, lambda: app.current_mode == "accounting.bills")
            bills = app.screen.query_one("#acc-bills", RecordTable)
            await wait_for(pilot, lambda: bills.row_count > 0)
            # the amount open, last, on screen; the German date takes 8 cells, the English 10
            assert bills.columns[-1].key == "open" and bills._widths[-1] > 0
            assert bills.columns[2].key == "due" and bills._widths[2] == (8 if locale == "de_DE" else 10)
            # Messages: the text is what is read there; it takes the room the caller and whom it is
            # for give (both whole on the detail lines under the rows)
            app.open_nav("telephony.messages")
            await wait_for(pilot, lambda: app.current_mode == "telephony.messages")
            messages = app.screen.query_one("#msg-table", RecordTable)
            await wait_for(pilot, lambda: messages.row_count > 0)
            widths = dict(zip((c.key for c in messages.columns), messages._widths))
            assert widths["text"] >= 30 and widths["text"] == max(widths.values()), widths
            assert widths["from"] == widths["for"] == 0, widths
            record = messages.cursor_record
            assert messages.detail_text.startswith(
                f"{messages.columns[1].title}: {record['from']} · {messages.columns[2].title}: {record['for']}")
            app.open_nav("telephony")
            await wait_for(pilot, lambda: app.current_mode == "telephony" and app.screen.query("#sb-table"))
            switchboard = app.screen.query_one("#sb-table", RecordTable)
            if locale == "de_DE":
                assert switchboard.render_line(0).text.split()[:2] == ["Durchw.", "Name"]
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
