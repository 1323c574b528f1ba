"""Global search: the Search screen (Ctrl+F) and the command-palette provider.

Both ask :class:`core.services.search.GlobalSearch` — the people directory and every
plugin's ``backdesk_search`` hook — in a worker thread, and jump to the hit
chosen (``hit.open(app)`` or the hit's target screen).
"""

from __future__ import annotations

import asyncio
from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from core.i18n import _, ngettext
from core.shell.screens.base import BackdeskScreen
from core.services.search import Result, open_hit

#: seconds to wait after the last key before searching
DEBOUNCE = 0.15


def _label(result: Result) -> Text:
    text = Text()
    text.append(result.title, style="bold")
    owner = _("directory") if result.owner == "core" else result.owner
    text.append(f"  [{owner}]", style="dim")
    if result.detail:
        text.append("\n  " + result.detail, style="dim")
    return text


class SearchScreen(BackdeskScreen):
    """Type, then enter (or down) to the hits, enter to jump."""

    DEFAULT_CSS = """
    SearchScreen #search-input { margin: 0 0; }
    SearchScreen #search-status { height: 1; padding: 0 1; color: $text-muted; }
    SearchScreen #search-results { height: 1fr; border: none; }
    """
    BINDINGS = [
        Binding("escape", "focus_input", _("Search"), show=False, id="search.focus_input"),
    ]
    nav_id = "search"

    def __init__(self, backdesk) -> None:
        super().__init__()
        self.backdesk = backdesk
        self.results: list[Result] = []
        self._timer = None
        self._generation = 0

    def compose_content(self) -> ComposeResult:
        yield Input(placeholder=_("Search people and every plugin's records…"), id="search-input")
        yield Static(_("Type to search."), id="search-status")
        yield OptionList(id="search-results")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#search-input", Input).focus()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.query_one("#search-input", Input).focus()

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self.run_search)

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.run_search(then_focus=True)

    def on_key(self, event) -> None:
        if event.key == "down" and isinstance(self.focused, Input):
            event.stop()
            self.query_one("#search-results", OptionList).focus()

    def run_search(self, then_focus: bool = False) -> None:
        self._timer = None
        self._generation += 1
        query = self.query_one("#search-input", Input).value
        self._search(query, self._generation, then_focus)

    @work(thread=True, exclusive=True, group="global-search", exit_on_error=False)
    def _search(self, query: str, generation: int, then_focus: bool) -> None:
        results = self.backdesk.services.search.search(query)
        self.app.call_from_thread(self._show, query, results, generation, then_focus)

    def _show(self, query: str, results: list[Result], generation: int, then_focus: bool) -> None:
        if generation != self._generation or not self.is_attached:
            return  # a newer search is under way
        self.results = results
        options = self.query_one("#search-results", OptionList)
        options.clear_options()
        options.add_options([Option(_label(r), id=str(n)) for n, r in enumerate(results)])
        status = self.query_one("#search-status", Static)
        if not query.strip():
            status.update(_("Type to search."))
        elif results:
            status.update(ngettext("{n} hit for {query!r}", "{n} hits for {query!r}", len(results)).format(
                n=len(results), query=query))
        else:
            status.update(_("Nothing found for {query!r}").format(query=query))
        if results:
            options.highlighted = 0
            if then_focus:
                options.focus()

    @on(OptionList.OptionSelected, "#search-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        if 0 <= index < len(self.results):
            open_hit(self.app, self.results[index].hit)

    def action_focus_input(self) -> None:
        self.query_one("#search-input", Input).focus()


class SearchCommands(Provider):
    """Command-palette provider: the same global search, from Ctrl+P."""

    async def search(self, query: str) -> Hits:
        backdesk = getattr(self.app, "backdesk", None)
        if backdesk is None or len(query.strip()) < 2:
            return
        service = getattr(backdesk.services, "search", None)
        if service is None:
            return
        results = await asyncio.to_thread(service.search, query, limit=15)
        matcher = self.matcher(query)
        for result in results:
            title = result.title
            highlighted = matcher.highlight(title) if matcher.match(title) else Text(title)
            score = max(0.01, min(1.0, float(result.score)))
            owner = _("directory") if result.owner == "core" else result.owner
            yield Hit(score, highlighted, partial(open_hit, self.app, result.hit),
                      text=title, help=f"{owner} · {result.detail}" if result.detail else owner)
