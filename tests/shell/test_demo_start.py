"""The demo as a new user meets it: `backdesk --demo`, then a command, then
`backdesk --demo --kiosk`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Input

from core.cli import demo_data_dir, open_shell
from core.config import load_config
from core.services.kiosk import DEMO_PIN, PinGuard, with_demo_pins
from core.shell.screens.lock import LoginApp
from core.cli.testing import text_of, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _language_kept():
    """The demo is German: put the language of this process back for the tests after."""
    from core.i18n import configure, get_currency, get_locale, get_timezone

    saved = (get_locale(), get_timezone(), get_currency())
    yield
    configure(*saved)


def backdesk(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


@pytest.mark.tinydb_only("the demo's own folder is a TinyDB folder (the shipped config)")
def test_the_demo_opens_with_one_line_and_commands_say_how_to_reach_it(capfd, monkeypatch):
    async def look_and_leave(pilot):
        await wait_for(pilot, lambda: pilot.app.query("#card-telephony-callbacks, CardBoard"))
        pilot.app.exit()

    open_shell(demo=True, auto_pilot=look_and_leave)
    # what is printed before the shell draws (Textual writes to stderr too):
    # one line, not the 40-odd table counts, and what to do next
    err = capfd.readouterr().err.split("\x1b")[0]
    assert len(err.strip().splitlines()) == 1, err
    assert f"the demo company was created in {demo_data_dir()}" in err and "backdesk --demo phone calls" in err

    # a command without --demo is refused (the account is no operator of the
    # shipped config's data) and the line says how to reach the demo
    r = backdesk("phone", "calls")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "is not a Backdesk operator" in r.stderr
    assert "the demo company is reached with --demo: backdesk --demo phone calls" in r.stderr
    r = backdesk("--demo", "phone", "calls")
    assert r.returncode == 0, r.stderr
    # a second start prints nothing before the shell, and opens the store once:
    # the look whether the demo is filled already is the shell's store
    import core.plugins.runtime

    opened = []
    real_open = core.plugins.runtime.open_configured_store

    def open_counted(config):
        opened.append(config.data_dir)
        return real_open(config)

    monkeypatch.setattr(core.plugins.runtime, "open_configured_store", open_counted)
    open_shell(demo=True, auto_pilot=look_and_leave)
    assert capfd.readouterr().err.split("\x1b")[0] == ""
    assert len(opened) == 1, opened


async def test_the_demo_kiosk_has_pins_it_names_and_an_empty_pin_field_looks_empty():
    from core.i18n import configure

    config = load_config(ROOT / "config", None)
    configure(config.site.locale, config.site.timezone)  # the demo is German (de_DE)
    config, hint = with_demo_pins(config)
    assert hint == f"Demo: Bediener alice, bob, carla, dieter, eva, PIN {DEMO_PIN}"
    app = LoginApp(config, PinGuard(max_attempts=3), hint=hint)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query("#lock-pin"))
        assert text_of(app, "#lock-hint") == hint
        pin = app.screen.query_one("#lock-pin", Input)
        assert "•" not in pin.placeholder and "*" not in pin.placeholder
        await pilot.press(*"dieter", "enter")
        await wait_for(pilot, lambda: pin.has_focus)
        await pilot.press(*DEMO_PIN, "enter")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_value == "dieter"


def test_demo_pins_are_only_for_the_demos_own_folder(tmp_path):
    from core.cli import State

    office = State(ROOT / "config", tmp_path / "office", demo=True)
    assert not office.demo_admin()  # `--demo --kiosk --data-dir OFFICE` gives no known PINs
    assert State(ROOT / "config", demo_data_dir(), demo=True).demo_admin()
