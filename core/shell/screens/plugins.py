"""The Plugins screen: what is loaded, what failed and why."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from core.i18n import _
from core.shell.screens.base import BackdeskScreen


def status_text(rec) -> str:
    if rec.status == "ok" and rec.hook_errors:
        return _("ok") + f" ({len(rec.hook_errors)} " + _("errors") + ")"
    return _(rec.status)


class PluginsScreen(BackdeskScreen):
    """Every plugin with version, source and status; the traceback of a failed one."""

    DEFAULT_CSS = """
    PluginsScreen DataTable { height: 1fr; }
    PluginsScreen #plugin-detail {
        height: 1fr; border-top: solid $panel-lighten-2; padding: 0 1;
    }
    """
    BINDINGS = [Binding("enter", "details", _("Details"), id="plugins.details")]
    nav_id = "plugins"

    def compose_content(self) -> ComposeResult:
        table = DataTable(id="plugin-table", cursor_type="row", zebra_stripes=True)
        yield table
        with VerticalScroll(id="plugin-detail"):
            yield Static(_("Select a plugin and press Enter for details."), id="plugin-error")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        table.add_columns(_("Name"), _("Version"), _("Source"), _("Status"), _("Error"))
        for rec in self.bd_app.backdesk.host.records.values():
            error = rec.error or (rec.hook_errors[-1][1] if rec.hook_errors else "")
            table.add_row(rec.name, rec.version, _(rec.source), status_text(rec), error, key=rec.name)
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.row_key.value)

    def action_details(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self._show(key)
            self.query_one("#plugin-detail").focus()

    def _show(self, name: str | None) -> None:
        from rich.text import Text

        rec = self.bd_app.backdesk.host.records.get(name or "")
        if rec is None:
            return
        text = Text()
        text.append(f"{rec.title} ({rec.name}) {rec.version}\n", style="bold")
        text.append(f"{_('Source')}: {_(rec.source)} — {rec.target}\n")
        text.append(f"{_('Status')}: {status_text(rec)}\n")
        if rec.error:
            text.append(f"{_('Error')}: {rec.error}\n", style="bold")
        if rec.traceback:
            text.append(rec.traceback)
        for hook, line, tb in rec.hook_errors:
            text.append(f"\n{hook}: {line}\n", style="bold")
            text.append(tb)
        self.query_one("#plugin-error", Static).update(text)
