"""The home dashboard: the plugins' cards."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Static

from core.hookspecs import Card
from core.i18n import _
from core.screens.base import BackdeskScreen


class DashboardCard(Static, can_focus=True):
    """One card; Enter opens the screen the card points at."""

    DEFAULT_CSS = """
    DashboardCard {
        height: auto;
        min-height: 3;
        border: round $primary-darken-1;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0 1;
    }
    DashboardCard:focus { border: round $accent; }
    DashboardCard.-failed { border: round $error; }
    """

    BINDINGS = [Binding("enter", "open", _("Open"), id="card.open")]

    def __init__(self, card: Card, plugin: str) -> None:
        super().__init__("…", id=f"card-{plugin}-{card.id}".replace(".", "-"))
        self.card = card
        self.plugin = plugin
        self.border_title = card.title

    def action_open(self) -> None:
        if self.card.target:
            self.app.open_nav(self.card.target)


class HomeScreen(BackdeskScreen):
    """Cards from every plugin (``backdesk_dashboard_cards``)."""

    DEFAULT_CSS = """
    HomeScreen #cards {
        grid-size: 2;
        grid-gutter: 0 1;
        height: auto;
        padding: 0 1;
    }
    HomeScreen #welcome { padding: 0 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("down,j", "app.focus_next", _("Next card"), show=False, id="home.next"),
        Binding("up,k", "app.focus_previous", _("Previous card"), show=False, id="home.previous"),
    ]
    nav_id = "home"
    watches_all = True

    def compose_content(self) -> ComposeResult:
        op = self.bd_app.backdesk.operator
        yield Static(_("Welcome, {name}").format(name=op.name), id="welcome")
        with VerticalScroll():
            with Grid(id="cards"):
                for plugin, card in self.bd_app.cards:
                    yield DashboardCard(card, plugin)
                if not self.bd_app.cards:
                    yield Static(_("No cards yet: no plugin offers one."))

    def on_mount(self) -> None:
        super().on_mount()
        self._fit_columns()
        self.render_cards(None)

    def on_resize(self) -> None:
        self._fit_columns()

    def _fit_columns(self) -> None:
        # two columns of cards need about 36 cells each beside the sidebar
        width = self.query_one("#content").size.width or self.app.size.width
        self.query_one(Grid).styles.grid_size_columns = 2 if width >= 72 else 1

    def refresh_data(self, names: frozenset[str]) -> None:
        self.render_cards(names)

    def render_cards(self, names: frozenset[str] | None) -> None:
        for widget in self.query(DashboardCard):
            if names is None or not widget.card.tables or set(widget.card.tables) & names:
                self._render_card(widget)

    @work(thread=True, exit_on_error=False, group="cards")
    def _render_card(self, widget: DashboardCard) -> None:
        # Runs in a thread: compute, then hand the result to the UI thread.
        try:
            content = widget.card.render()
            failed = False
        except Exception as exc:  # a card's failure stays on the card
            rec = self.bd_app.backdesk.host.records.get(widget.plugin)
            if rec is not None:
                self.bd_app.backdesk.host.record_failure(rec, "card " + widget.card.id, exc)
            content = f"[b]{_('Error')}[/b]: {type(exc).__name__}: {exc}"
            failed = True
        self.app.call_from_thread(self._show_card, widget, content, failed)

    def _show_card(self, widget: DashboardCard, content, failed: bool) -> None:
        if widget.is_attached:
            widget.update(content)
            widget.set_class(failed, "-failed")
