"""The shell driven through the Pilot: dashboard, navigation, palette, isolation."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Static

from core.shell.app import make_app
from core.cli.testing import palette_offers


def text_of(app, selector: str) -> str:
    if selector.startswith("#card-"):
        return app.screen.card_text(selector[len("#card-"):])
    return str(app.screen.query_one(selector, Static).render())


async def wait_for(pilot, predicate, timeout: float = 60.0) -> None:  # a deadline for failing runs only
    """Let the app run until predicate() holds (bounded)."""
    # asyncio.sleep, not pilot.pause: pause() waits for the current screen,
    # which never finishes when that screen is the one a plugin broke
    for _ in range(int(timeout / 0.05)):
        await asyncio.sleep(0.05)
        if predicate():
            return
    raise AssertionError("condition not reached in time")


@pytest.fixture
def greeter_site(site):
    site.plugins([{"name": "greeter", "sample": True, "settings": {"greeting": "Servus"}},
                  {"name": "broken_screen", "sample": True},
                  {"name": "broken_import", "sample": True}])
    return site


async def test_dashboard_shows_cards_operator_and_failed_plugins(greeter_site):
    bd = greeter_site.open()
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: "greetings so far" in text_of(app, "#card-greeter-count"))
            assert text_of(app, "#card-greeter-count") == "0 greetings so far"
            assert app.sub_title == "Alice Admin · admin"
            assert app.title == "Test GmbH"
            await wait_for(pilot, lambda: "card data unavailable" in text_of(app, "#card-broken_screen-bad"))
            messages = [n.message for n in app._notifications]
            assert any("broken_import" in m for m in messages)
    finally:
        bd.close()


async def test_navigation_by_key_and_sidebar_and_refresh_on_change(greeter_site):
    bd = greeter_site.open()
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await pilot.pause()
            assert app.current_mode == "greeter"
            assert text_of(app, "#greeting-count") == "Servus: 0 greetings"
            await pilot.press("g")  # the screen's own action writes through storage
            await wait_for(pilot, lambda: text_of(app, "#greeting-count") == "Servus: 1 greetings")
            assert bd.context("greeter").table("greetings").count() == 1
            await pilot.press("f2")
            await pilot.pause()
            assert app.current_mode == "home"
            # the dashboard caught up with the change made on the other screen
            await wait_for(pilot, lambda: text_of(app, "#card-greeter-count") == "1 greetings so far")
            # sidebar: focus it and pick "Plugins"
            app.screen.query_one("#sidebar").focus()
            sidebar = app.screen.query_one("#sidebar")
            sidebar.highlighted = sidebar.get_option_index("plugins")
            await pilot.press("enter")
            await pilot.pause()
            assert app.current_mode == "plugins"
    finally:
        bd.close()


async def test_palette_runs_a_plugin_command(greeter_site):
    bd = greeter_site.open()
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Greet from the palette")
            await wait_for(pilot, lambda: palette_offers(pilot, "Greet from the palette"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: bd.context("greeter").table("greetings").count() == 1)
            await wait_for(pilot, lambda: any("Greeted from the palette" in n.message
                                              for n in app._notifications))
    finally:
        bd.close()


async def test_exception_in_plugin_screen_brings_operator_home(greeter_site):
    bd = greeter_site.open()
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f6")
            await pilot.pause()
            assert app.current_mode == "broken"
            # the key reaches the screen as a real key press; pilot.press() would
            # wait for the broken screen, which stopped processing messages
            app.simulate_key("x")
            await wait_for(pilot, lambda: app.current_mode == "home")
            await wait_for(pilot, lambda: any("the plugin divided by zero" in n.message
                                              for n in app._notifications))
            assert app.is_running
            rec = bd.host.records["broken_screen"]
            assert any("ZeroDivisionError" in line for _, line, _ in rec.hook_errors)
            # the shell still works: another plugin's screen opens, and the broken one reopens fresh
            await pilot.press("f5")
            await pilot.pause()
            assert app.current_mode == "greeter"
            await pilot.press("f6")
            await pilot.pause()
            assert text_of(app, "#broken-text") == "This screen breaks when you press x"
    finally:
        bd.close()


async def test_change_from_another_process_reaches_open_screen(greeter_site):
    """Another operator's write (a separate process) shows up without a restart."""
    import subprocess
    import sys

    bd = greeter_site.open()
    app = make_app(bd, poll_interval=0.2)
    script = (
        "from core.plugins.runtime import open_backdesk\n"
        f"bd = open_backdesk({str(greeter_site.config_dir)!r}, {str(greeter_site.data_dir)!r}, account='bob')\n"
        "bd.context('greeter').table('greetings').insert({'by': 'bob'})\n"
        "bd.close()\n"
    )
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await pilot.pause()
            proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
            assert await proc.wait() == 0
            await wait_for(pilot, lambda: text_of(app, "#greeting-count") == "Servus: 1 greetings")
    finally:
        bd.close()


async def test_help_lists_bindings_of_current_screen(greeter_site):
    bd = greeter_site.open()
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await pilot.pause()
            await pilot.press("f1")
            await pilot.pause()
            from textual.widgets import DataTable

            table = app.screen.query_one(DataTable)
            rows = [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
            assert ("g", "Greet") in rows
            assert ("Ctrl+Q", "Quit") in rows and ("Ctrl+F", "Search") in rows
            # the screen's own keys come first; no Textual internals (cursor_up, super+c)
            assert rows.index(("g", "Greet")) < rows.index(("Ctrl+Q", "Quit"))
            assert not any("_" in desc or "super" in key.lower() or "^" in key for key, desc in rows)
            await pilot.press("escape")
            await pilot.pause()
            assert app.current_mode == "greeter"
    finally:
        bd.close()


async def test_plugins_screen_shows_traceback_of_failed_plugin(greeter_site):
    bd = greeter_site.open()
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            app.open_nav("plugins")
            await pilot.pause()
            from textual.widgets import DataTable

            table = app.screen.query_one(DataTable)
            names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
            assert names == ["greeter", "broken_screen", "broken_import"]
            table.move_cursor(row=2)
            await pilot.press("enter")
            await pilot.pause()
            detail = str(app.screen.query_one("#plugin-error", Static).render())
            assert "the vendor SDK is missing" in detail
            assert "Traceback" in detail
    finally:
        bd.close()


async def test_dashboard_cards_by_keyboard_and_mouse(greeter_site):
    """Tab reaches the cards; arrows move between them; Enter (or a second
    click) opens the card's screen. What the board paints is the cards'."""
    from core.shell.widgets.cardboard import CardBoard

    bd = greeter_site.open()
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.screen.board.all_rendered)
            board = app.screen.query_one(CardBoard)
            painted = board.painted_text()
            assert "╭─ Greetings ─" in painted and "│ 0 greetings so far" in painted
            assert "card data unavailable" in painted  # a failed card stays on its card
            keys = [card.key for card in board.cards]
            assert keys[-2:] == ["greeter-count", "broken_screen-bad"]
            await pilot.press("tab")  # from the sidebar to the cards
            assert app.focused is board and board.cursor == 0
            await pilot.press("end", "up")
            assert board.cards[board.cursor].key == "greeter-count"
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.current_mode == "greeter")
            await pilot.press("f2")
            await pilot.pause()
            board = app.screen.query_one(CardBoard)
            assert app.focused is board and board.cards[board.cursor].key == "greeter-count"  # as left
            await pilot.press("home")
            # the mouse: one click selects a card, a second opens it
            region = board.card("greeter-count").region
            offset = (region.x + 3 + board.styles.padding.left, region.y + 1 - int(board.scroll_y))
            await pilot.click(CardBoard, offset=offset)
            assert board.cards[board.cursor].key == "greeter-count" and app.current_mode == "home"
            await pilot.click(CardBoard, offset=offset)
            await wait_for(pilot, lambda: app.current_mode == "greeter")
    finally:
        bd.close()


async def test_sidebar_and_key_bar_by_mouse(greeter_site):
    from core.shell.widgets.keybar import KeyBar

    bd = greeter_site.open()
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            sidebar = app.screen.query_one("#sidebar")
            row = sidebar.get_option_index("plugins")
            await pilot.click("#sidebar", offset=(2, row))
            await wait_for(pilot, lambda: app.current_mode == "plugins")
            # the key bar draws the keys that work here and presses the one clicked
            bar = app.screen.query_one(KeyBar)
            shown = [(key, desc) for key, _display, desc, _enabled in bar.keys()]
            assert ("f1", "Help") in shown and shown[-1][0] == "ctrl+p"
            await pilot.pause()
            x = next(start for start, _end, key in bar._spans if key == "f1")
            await pilot.click(KeyBar, offset=(x + 1, 0))
            await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
    finally:
        bd.close()


async def test_dashboard_two_columns_when_wide_one_when_narrow(greeter_site):
    from core.shell.widgets.cardboard import CardBoard

    bd = greeter_site.open()
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, lambda: app.screen.board.all_rendered)
            board = app.screen.query_one(CardBoard)
            assert board.columns == 2
            first_line = board.painted_text().splitlines()[0]
            assert first_line.count("╭─") == 2  # two cards side by side
            width = board.scrollable_content_region.width
            assert all(len(line) <= width for line in board.painted_text().splitlines())
            # down moves a row (two cards) in two columns, right moves one
            board.focus()
            await pilot.press("down")
            assert board.cursor == 2
            await pilot.press("right")
            assert board.cursor == 3
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            assert board.columns == 1
            assert board.painted_text().splitlines()[0].count("╭─") == 1
    finally:
        bd.close()


async def test_change_between_dashboard_render_and_app_mount_is_not_lost(greeter_site, monkeypatch):
    """The cards render while the app composes, before its on_mount: a write
    landing in between (here: right after the cards rendered) still shows."""
    from core.shell.screens.home import HomeScreen

    bd = greeter_site.open()
    compose = HomeScreen.compose_content

    def compose_then_write(screen):
        yield from compose(screen)
        bd.context("greeter").table("greetings").insert({"by": "bob"})

    monkeypatch.setattr(HomeScreen, "compose_content", compose_then_write)
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: text_of(app, "#card-greeter-count") == "1 greetings so far")
    finally:
        bd.close()
