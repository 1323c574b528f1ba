"""The home dashboard: the plugins' cards."""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Static

from core.hookspecs import Card
from core.i18n import _
from core.screens.base import BackdeskScreen


#: seconds the first paint may spend rendering cards before it leaves the
#: rest to a worker thread
INLINE_BUDGET = 0.05


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
        self.rendered = False
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
                # Cards are rendered here while a small time budget lasts, so
                # the first paint shows them filled; a slow card (and every
                # later refresh) renders in a worker thread instead.
                deadline = time.perf_counter() + INLINE_BUDGET
                for plugin, card in self.bd_app.cards:
                    widget = DashboardCard(card, plugin)
                    if time.perf_counter() < deadline:
                        content, failed = self._render_one(widget)
                        widget.update(content)
                        widget.set_class(failed, "-failed")
                        widget.rendered = True
                    yield widget
                if not self.bd_app.cards:
                    yield Static(_("No cards yet: no plugin offers one."))

    def on_mount(self) -> None:
        super().on_mount()
        self._fit_columns()
        late = [w for w in self.query(DashboardCard) if not w.rendered]
        if late:
            self._render_cards(late)

    def on_resize(self) -> None:
        self._fit_columns()

    def _fit_columns(self) -> None:
        # two columns of cards need about 36 cells each beside the sidebar
        width = self.query_one("#content").size.width or self.app.size.width
        self.query_one(Grid).styles.grid_size_columns = 2 if width >= 72 else 1

    def refresh_data(self, names: frozenset[str]) -> None:
        self.render_cards(names)

    def render_cards(self, names: frozenset[str] | None) -> None:
        widgets = [w for w in self.query(DashboardCard)
                   if names is None or not w.card.tables or set(w.card.tables) & names]
        if widgets:
            self._render_cards(widgets)

    def _render_one(self, widget: DashboardCard):
        """(content, failed) for one card; a card's failure stays on the card."""
        try:
            return widget.card.render(), False
        except Exception as exc:
            rec = self.bd_app.backdesk.host.records.get(widget.plugin)
            if rec is not None:
                self.bd_app.backdesk.host.record_failure(rec, "card " + widget.card.id, exc)
            return f"[b]{_('Error')}[/b]: {type(exc).__name__}: {exc}", True

    @work(thread=True, exit_on_error=False, group="cards")
    def _render_cards(self, widgets: list[DashboardCard]) -> None:
        # One worker renders the cards in turn and hands the results to the
        # UI thread in one go: a worker per card costs more than the cards.
        results = [(widget, *self._render_one(widget)) for widget in widgets]
        self.app.call_from_thread(self._show_cards, results)

    def _show_cards(self, results) -> None:
        with self.app.batch_update():
            for widget, content, failed in results:
                if widget.is_attached:
                    widget.update(content)
                    widget.set_class(failed, "-failed")
