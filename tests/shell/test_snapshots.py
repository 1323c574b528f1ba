"""How the main screens look at 80x24 (pytest-textual-snapshot).

Update after an intended change with ``pytest tests/shell/test_snapshots.py --snapshot-update``
and look at the report before committing.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from core.shell.app import make_app


@pytest.fixture
def demo_app(site):
    site.plugins([{"name": "greeter", "sample": True}, {"name": "broken_import", "sample": True}])
    bd = site.open()
    from core.cli.demo import create_demo

    create_demo(bd, seed=1)
    app = make_app(bd, poll_interval=0)
    yield app
    bd.close()


async def _cards_painted(pilot, timeout: float = 60.0):
    # every card painted, however long a loaded machine takes (the deadline
    # only ends a test that fails anyway)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await asyncio.sleep(0.02)
        board = getattr(pilot.app.screen, "board", None)
        if board is not None and board.all_rendered:
            break
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the dashboard's cards were not all painted within {timeout} s")
    # let toasts expire from the picture: they are not part of the layout
    pilot.app.clear_notifications()
    await pilot.pause()


def test_dashboard(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=_cards_painted)


@pytest.fixture
def plugins_app(site):
    """Sample plugins copied to a fixed folder: the screen shows their path,
    which must not depend on where the checkout lives."""
    import shutil
    from pathlib import Path

    SAMPLES = Path(__file__).parent / "sample_plugins"
    fixed = Path("/tmp/backdesk-snapshot-plugins")
    fixed.mkdir(exist_ok=True)
    for name in ("greeter.py", "future_api.py"):
        # another test session may be reading these right now: replace a
        # file only when it differs, and then in one step
        data = (SAMPLES / name).read_bytes()
        target = fixed / name
        if not target.exists() or target.read_bytes() != data:
            part = fixed / f".{name}.{os.getpid()}"
            part.write_bytes(data)
            os.replace(part, target)
    (site.config_dir / "plugins.yaml").write_text(
        f"plugins:\n  - name: greeter\n    path: {fixed / 'greeter.py'}\n"
        f"  - name: future_api\n    path: {fixed / 'future_api.py'}\n")
    bd = site.open()
    app = make_app(bd, poll_interval=0)
    yield app
    bd.close()


async def _until(predicate, what: str, timeout: float = 60.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.02)


def _focused(app, selector: str) -> bool:
    return app.focused is not None and app.focused in list(app.screen.query(selector))


def test_plugins_screen(snap_compare, plugins_app):
    async def before(pilot):
        app = pilot.app
        await _cards_painted(pilot)
        app.open_nav("plugins")
        await _until(lambda: _focused(app, "#plugin-table"), "the plugins table has the focus")
        await pilot.press("down", "enter")  # the refused plugin: its reason, no traceback
        detail = app.screen.query_one("#plugin-error")
        await _until(lambda: "future_api" in str(detail.render()), "the refused plugin's details")
        await pilot.pause()

    assert snap_compare(plugins_app, terminal_size=(80, 24), run_before=before)


def test_help_screen(snap_compare, demo_app):
    async def before(pilot):
        await _cards_painted(pilot)
        await pilot.press("f1")
        await _until(lambda: type(pilot.app.screen).__name__ == "HelpScreen" and _focused(pilot.app, "DataTable"),
                     "the help shows its table")

    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=before)
