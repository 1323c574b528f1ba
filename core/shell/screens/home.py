"""The home dashboard: the plugins' cards."""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from core.i18n import _
from core.shell.screens.base import BackdeskScreen
from core.shell.widgets.cardboard import BoardCard, CardBoard


#: seconds the first paint may spend rendering cards before it leaves the
#: rest to a worker thread
INLINE_BUDGET = 0.05


class HomeScreen(BackdeskScreen):
    """Cards from every plugin (``backdesk_dashboard_cards``) on one board."""

    DEFAULT_CSS = """
    HomeScreen #welcome { padding: 0 1; color: $text-muted; }
    """

    nav_id = "home"
    watches_all = True

    def compose_content(self) -> ComposeResult:
        op = self.bd_app.backdesk.operator
        yield Static(_("Welcome, {name}").format(name=op.name), id="welcome")
        cards = [BoardCard(f"{plugin}-{card.id}".replace(".", "-"), card.title, card.target, (plugin, card))
                 for plugin, card in self.bd_app.cards]
        if not cards:
            yield Static(_("No cards yet: no plugin offers one."))
            return
        # Cards are rendered here while a small time budget lasts, so the
        # first paint shows them filled; a slow card (and every later
        # refresh) renders in a worker thread instead.
        deadline = time.perf_counter() + INLINE_BUDGET
        done = []
        for card in cards:
            if time.perf_counter() >= deadline:
                break
            done.append((card, *self._render_one(card)))
        board = CardBoard(cards, id="cards")
        board.set_cards(done)
        yield board

    @property
    def board(self) -> CardBoard | None:
        boards = self.query(CardBoard)
        return boards.first() if boards else None

    def card_text(self, key: str) -> str:
        """What the card ``plugin-id`` shows, as plain text."""
        board = self.board
        return board.card(key).text if board is not None else ""

    def on_mount(self) -> None:
        super().on_mount()
        board = self.board
        if board is not None:
            late = [card for card in board.cards if not card.rendered]
            if late:
                self._render_cards(late)

    def on_card_board_opened(self, event: CardBoard.Opened) -> None:
        if event.card.target:
            self.bd_app.open_nav(event.card.target)

    def refresh_data(self, names: frozenset[str]) -> None:
        self.render_cards(names)

    def render_cards(self, names: frozenset[str] | None) -> None:
        board = self.board
        if board is None:
            return
        cards = [c for c in board.cards
                 if names is None or not c.source[1].tables or set(c.source[1].tables) & names]
        if cards:
            self._render_cards(cards)

    def _render_one(self, card: BoardCard):
        """(content, failed) for one card; a card's failure stays on the card."""
        plugin, spec = card.source
        try:
            return spec.render(), False
        except Exception as exc:
            rec = self.bd_app.backdesk.host.records.get(plugin)
            if rec is not None:
                self.bd_app.backdesk.host.record_failure(rec, "card " + spec.id, exc)
            return f"[b]{_('Error')}[/b]: {type(exc).__name__}: {exc}", True

    @work(thread=True, exit_on_error=False, group="cards")
    def _render_cards(self, cards: list[BoardCard]) -> None:
        # One worker renders the cards in turn and hands the results to the
        # UI thread in one go: a worker per card costs more than the cards.
        results = [(card, *self._render_one(card)) for card in cards]
        self.app.call_from_thread(self._show_cards, results)

    def _show_cards(self, results) -> None:
        board = self.board
        if board is not None:
            board.set_cards(results)
