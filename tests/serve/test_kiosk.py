"""Kiosk consoles: PIN hashes, the guard, no way out, idle lock, login."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from textual.widgets import Input, Static

from core.app import make_app
from core.kiosk import PinGuard, check_login, hash_pin, verify_pin
from core.screens.lock import LockScreen, LoginApp
from tests.conftest import storage_yaml

PIN = "4321"


@pytest.fixture(scope="module")
def pin_hash():
    return hash_pin(PIN)


@pytest.fixture
def kiosk_site(tmp_path, pin_hash):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "backdesk.yaml").write_text(f"""\
site: {{name: Kiosk GmbH}}
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
operators:
  alice: {{name: Alice Admin, roles: [admin], pin_hash: "{pin_hash}"}}
  bob: {{name: Bob Berger, roles: [admin], pin_hash: "{hash_pin('9999')}"}}
  carl: {{name: Carl without PIN, roles: [admin]}}
kiosk: {{enabled: true, idle_lock_minutes: 5, max_pin_attempts: 3, plugins: [], commands: []}}
""" + storage_yaml(config_dir))
    (config_dir / "plugins.yaml").write_text("plugins: []\n")
    return config_dir, tmp_path / "data"


def open_kiosk(kiosk_site, account="alice"):
    from core.runtime import open_backdesk

    return open_backdesk(kiosk_site[0], kiosk_site[1], account=account, kiosk=True)


async def wait_for(predicate, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


def test_pin_hash_format_and_verify(pin_hash):
    scheme, n, r, p, salt, key = pin_hash.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert verify_pin(PIN, pin_hash)
    assert not verify_pin("4322", pin_hash)
    assert not verify_pin(PIN, None) and not verify_pin(PIN, "md5$x") and not verify_pin(PIN, "")
    assert hash_pin(PIN) != pin_hash  # salted
    with pytest.raises(ValueError):
        hash_pin("12")


def test_pin_hash_cli():
    out = subprocess.run([sys.executable, "-m", "core", "kiosk", "pin-hash", "--stdin"], input="2468\n",
                         capture_output=True, text=True, check=True).stdout.strip()
    assert verify_pin("2468", out)


def test_guard_delays_grow_then_lock_out():
    now = [100.0]
    guard = PinGuard(max_attempts=4, lockout=300, clock=lambda: now[0])
    assert [guard.failed() for _ in range(4)] == [1.0, 2.0, 4.0, 300.0]
    assert guard.locked_out and guard.wait() == 300
    now[0] += 301
    guard.after_lockout()
    assert guard.failures == 0 and guard.wait() == 0


def test_check_login_refuses_wrong_pin_unknown_account_and_waits(kiosk_site, pin_hash):
    from core.config import load_config

    config = load_config(*kiosk_site)
    now = [0.0]
    guard = PinGuard(max_attempts=3, clock=lambda: now[0])
    assert check_login(config, "alice", "0000", guard) == (False, "Wrong operator or PIN. Try again in 1 s.")
    # while the delay runs even the right PIN is not tried
    assert check_login(config, "alice", PIN, guard) == (False, "Wait 1 s before the next try.")
    now[0] += 1
    ok, message = check_login(config, "mallory", PIN, guard)
    assert not ok and message == "Wrong operator or PIN. Try again in 2 s."
    now[0] += 2
    assert check_login(config, "carl", "", guard)[0] is False  # no PIN set: never opens
    assert guard.locked_out
    now[0] += 300
    assert check_login(config, "alice", PIN, guard) == (True, "")
    assert guard.failures == 0


async def test_quit_keys_do_nothing_and_palette_offers_no_exit(kiosk_site):
    bd = open_kiosk(kiosk_site)
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            for key in ("ctrl+q", "ctrl+c", "ctrl+z", "escape", "ctrl+q"):
                await pilot.press(key)
                await pilot.pause()
            assert app.is_running and app.return_code is None
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert titles and not any(t.lower() in ("quit the application", "quit") or "suspend" in t.lower()
                                      for t in titles), titles
            assert not any("Quit" in t for t in titles)
            # only the configured plugins and commands: none of either here
            assert app.commands == [] and {app.nav_owner[e.id] for e in app.nav_entries} == {"core"}
            # the footer offers Lock, not Quit
            keys = {b.binding.action: b.binding.description for b in app.active_bindings.values()}
            assert "lock" in keys
    finally:
        bd.close()


async def test_idle_lock_engages_wrong_pin_refused_right_pin_unlocks(kiosk_site):
    bd = open_kiosk(kiosk_site)
    # a delay long enough to see the refusal on a loaded machine before the
    # field opens again (0.2 s was shorter than one pilot pause in CI)
    guard = PinGuard(max_attempts=3, first_delay=1.0)
    app = make_app(bd, poll_interval=0, guard=guard, idle_lock_seconds=3.0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f4")  # activity keeps it open
            await asyncio.sleep(0.8)
            await pilot.press("f2")
            await asyncio.sleep(0.8)
            assert not app.locked
            # mounted, not only pushed: its inputs exist
            await wait_for(lambda: isinstance(app.screen, LockScreen) and bool(app.screen.query("#lock-account")))
            assert app.locked
            screen = app.screen
            assert screen.query_one("#lock-account", Input).value == "alice"
            # escape and quit keys do not get past the lock
            await pilot.press("escape", "ctrl+q", "ctrl+c")
            assert app.screen is screen

            await pilot.press(*"1111", "enter")
            await pilot.pause()
            message = str(screen.query_one("#lock-message", Static).render())
            assert message.startswith("Wrong operator or PIN")
            assert screen.query_one("#lock-pin", Input).disabled
            await wait_for(lambda: not screen.query_one("#lock-pin", Input).disabled)
            await pilot.press(*"2222", "enter")
            await pilot.pause()
            assert guard.delays == [1.0, 2.0]  # the delay grows
            await wait_for(lambda: not screen.query_one("#lock-pin", Input).disabled)
            await pilot.press(*PIN, "enter")
            await wait_for(lambda: not app.locked and not isinstance(app.screen, LockScreen))
            assert guard.failures == 0 and app.is_running
    finally:
        bd.close()


async def test_another_operator_unlocking_takes_the_console_over(kiosk_site):
    bd = open_kiosk(kiosk_site)
    app = make_app(bd, poll_interval=0, idle_lock_seconds=60)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+l")
            # mounted, not only pushed: its inputs exist
            await wait_for(lambda: isinstance(app.screen, LockScreen) and bool(app.screen.query("#lock-account")))
            app.screen.query_one("#lock-account", Input).value = "bob"
            await pilot.press(*"9999", "enter")
            await wait_for(lambda: not app.is_running)
        assert app.return_value == "bob"  # the kiosk loop opens Bob's session
    finally:
        bd.close()


async def test_login_app_needs_the_right_pin(kiosk_site):
    from core.config import load_config

    config = load_config(*kiosk_site)
    app = LoginApp(config, PinGuard(max_attempts=3, first_delay=0.05))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q", "ctrl+c")
        assert app.is_running
        await pilot.press(*"alice", "enter", *"0000", "enter")
        await pilot.pause()
        assert app.is_running
        await asyncio.sleep(0.1)
        await pilot.pause()
        await pilot.press(*PIN, "enter")
        await wait_for(lambda: not app.is_running)
    assert app.return_value == "alice"
