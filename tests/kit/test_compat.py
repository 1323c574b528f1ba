"""Compatibility and the kill switch, as an operator meets them."""

from __future__ import annotations

import sys
import textwrap

import pytest
from textual.widgets import DataTable

from core.api.hookspecs import HOOK_API_VERSION
from core.cli.testing import card_keys, text_of, wait_for
from kit_helpers import EXAMPLES, pip_install

REFUSED = (f"needs hook API version 99; this Backdesk provides version {HOOK_API_VERSION}")


@pytest.fixture
def future_site(backdesk_site, tmp_path):
    plugin = tmp_path / "from_the_future.py"
    plugin.write_text(textwrap.dedent('''
        from core.api.hookspecs import PluginInfo, hookimpl

        @hookimpl
        def backdesk_plugin_info():
            return PluginInfo(name="from_the_future", title="From the future", version="3.0",
                              api_version=99)
    '''))
    backdesk_site.plugins([plugin])
    return backdesk_site


def test_incompatible_plugin_is_refused_in_backdesk_plugins(future_site):
    code, out, err = future_site.cli("plugins")
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("from_the_future"))
    assert "failed" in line and REFUSED in line


async def test_incompatible_plugin_is_refused_in_the_plugins_screen(future_site):
    async with future_site.run_app(size=(120, 30)) as pilot:
        app = pilot.app
        await wait_for(pilot, lambda: any("from_the_future" in n.message for n in app._notifications))
        app.open_nav("plugins")
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count > 0)
        table = app.screen.query_one(DataTable)
        row = [str(cell) for cell in table.get_row("from_the_future")]
        assert row[0] == "from_the_future" and row[3] == "failed" and REFUSED in row[4]
        await pilot.press("enter")
        await wait_for(pilot, lambda: REFUSED in text_of(pilot, "#plugin-error"))


@pytest.fixture
def visitors_site(backdesk_site, tmp_path):
    backdesk_site.add_to_path(pip_install(EXAMPLES / "visitors", tmp_path / "site-packages"))
    yield backdesk_site
    backdesk_site.close()
    for name in [m for m in sys.modules if m == "visitors" or m.startswith("visitors.")]:
        del sys.modules[name]


def test_kill_switch_in_the_cli(visitors_site):
    off = {"BACKDESK_DISABLE_PLUGINS": "visitors"}
    code, out, err = visitors_site.cli("plugins", env=off)
    line = next(line for line in out.splitlines() if line.startswith("visitors"))
    assert "disabled" in line and "disabled by BACKDESK_DISABLE_PLUGINS" in line
    code, out, err = visitors_site.cli("visitors", "list", env=off)
    assert code == 2 and "No such command 'visitors'" in err
    assert visitors_site.cli("visitors", "list")[:2] == (0, "Nobody signed in.\n")


async def test_kill_switch_starts_the_app_without_the_plugin(visitors_site, monkeypatch):
    monkeypatch.setenv("BACKDESK_DISABLE_PLUGINS", "visitors")
    async with visitors_site.run_app(size=(120, 30)) as pilot:
        app = pilot.app
        assert "visitors" not in [entry.id for entry in app.nav_entries]
        assert "visitors-in_building" not in card_keys(pilot) and card_keys(pilot)
        app.open_nav("plugins")
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count > 0)
        row = [str(cell) for cell in app.screen.query_one(DataTable).get_row("visitors")]
        assert row[:4] == ["visitors", "", "entry point", "disabled"]
        assert row[4] == "disabled by BACKDESK_DISABLE_PLUGINS"
