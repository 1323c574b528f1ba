"""Waiting for and reading the shell in tests that drive it with Textual's Pilot.

``from tests.pilot import shown, wait_for`` (one copy for the whole suite).

Two ways to wait; both end only a test that already failed, so their deadlines
are generous (a loaded machine is slow), and neither waits for a time:

:func:`wait_for` (here)
    ``pilot.pause()`` before every look, the first one included. A pause lets the
    app handle every message already posted (a key's effect, a screen's own
    loading, its refresh) before the predicate is asked, so the screen the test
    asserts on next has caught up. The back office's screen tests want this.

``core.cli.testing.wait_for`` (what plugin authors get)
    ``asyncio.sleep`` between looks, the first look at once, and a predicate that
    raises is asked again. Use it where the screen may never settle (a plugin
    broke it: a pause waits for the current screen forever) or where the wait is
    not about the app's messages. It is not a drop-in for the one here: it can
    return while the screen still has messages in flight (the predicate already
    holds before the key's effect, or holds between two messages), and the test
    then asserts on, or ends with, a screen that has not caught up (accounting's
    Bills test fails at teardown with it).
"""

from __future__ import annotations

from core.shell.widgets import RecordTable

LOOK_EVERY = 0.05  # seconds of pilot.pause between two looks


async def wait_for(pilot, predicate, timeout: float = 60.0, what: str = "condition") -> None:
    """Let the app run until ``predicate()`` is true, a ``pilot.pause`` before
    every look; AssertionError ("<what> not reached") after ``timeout`` seconds
    of pauses (counted in looks: a loaded machine only makes the deadline longer)."""
    for _ in range(max(1, int(timeout / LOOK_EVERY))):
        await pilot.pause(LOOK_EVERY)
        if predicate():
            return
    raise AssertionError(f"{what} not reached within {timeout} s of pauses")


def shown(app) -> str:
    """The screen's text as the terminal shows it (the SVG screenshot's text,
    non-breaking spaces as spaces)."""
    return app.export_screenshot().replace("&#160;", " ")


def columns_shown(table) -> list[str]:
    """The keys of a ``RecordTable``'s columns that have room on the screen
    (a column that gave way has width 0 and reads on the detail line)."""
    return [c.key for c, w in zip(table.columns, table._widths) if w]


async def open_screen(pilot, nav: str) -> None:
    """Open the navigation entry ``nav`` (``"hr.cases"``), as F-keys and the
    menu do, and wait until its screen is the current one."""
    pilot.app.open_nav(nav)
    await wait_for(pilot, lambda: pilot.app.current_mode == nav, what=f"the {nav} screen")


async def open_table(pilot, nav: str, selector: str, rows: int) -> RecordTable:
    """:func:`open_screen`, then its table ``selector`` once it shows ``rows`` rows."""
    await open_screen(pilot, nav)
    table = pilot.app.screen.query_one(selector, RecordTable)
    await wait_for(pilot, lambda: table.row_count == rows, what=f"{rows} rows in {selector}")
    return table
