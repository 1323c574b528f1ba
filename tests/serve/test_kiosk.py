"""Kiosk consoles: PIN hashes, the guard, no way out, idle lock, login."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from textual.widgets import Input, Static

from core.shell.app import make_app
from core.services.kiosk import PinGuard, check_login, hash_pin, verify_pin
from core.shell.screens.lock import LockScreen, LoginApp
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
    from core.plugins.runtime import open_backdesk

    return open_backdesk(kiosk_site[0], kiosk_site[1], account=account, kiosk=True)


async def wait_for(predicate, timeout: float = 60.0) -> None:
    """Poll ``predicate`` until it holds; the deadline only ends a test that
    is already failing, so it is generous (a loaded CI machine is slow)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        await asyncio.sleep(0.02)


class Clock:
    """Seconds that pass only when the test says so: the idle lock and the
    PIN guard's waits then depend on what happened, not on how fast a
    (loaded) machine runs the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def count_idle_checks(app) -> list[bool]:
    """Each run of the app's idle check appends whether the app is locked
    after it: a test waits for a run instead of for a time."""
    runs: list[bool] = []
    check = app._check_idle

    def counted() -> None:
        check()
        runs.append(app.locked)

    app._check_idle = counted  # before mount: the interval takes this one
    return runs


async def next_idle_checks(runs: list[bool], n: int = 2) -> None:
    """Wait until the idle check has run ``n`` more times."""
    seen = len(runs)
    await wait_for(lambda: len(runs) >= seen + n)


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
    clock = Clock()  # the idle lock's and the PIN guard's seconds
    guard = PinGuard(max_attempts=3, first_delay=1.0, clock=clock)
    app = make_app(bd, poll_interval=0, guard=guard, idle_lock_seconds=3.0, idle_clock=clock)
    idle_checks = count_idle_checks(app)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            clock.advance(0.5)
            await pilot.press("f4")  # activity keeps it open
            await wait_for(lambda: app._last_input == clock())  # the key was seen
            clock.advance(2.0)
            await pilot.press("f2")
            await wait_for(lambda: app._last_input == clock())
            clock.advance(2.5)  # 4.5 s after the first key, 2.5 s after the last
            await next_idle_checks(idle_checks)
            assert not app.locked and not isinstance(app.screen, LockScreen)
            clock.advance(0.5)  # 3 s without a key
            await next_idle_checks(idle_checks)
            assert app.locked
            # mounted, not only pushed: its inputs exist
            await wait_for(lambda: isinstance(app.screen, LockScreen) and bool(app.screen.query("#lock-account")))
            screen = app.screen
            assert screen.query_one("#lock-account", Input).value == "alice"
            # escape and quit keys do not get past the lock
            await pilot.press("escape", "ctrl+q", "ctrl+c")
            assert app.screen is screen

            pin = screen.query_one("#lock-pin", Input)
            message = screen.query_one("#lock-message", Static)
            await pilot.press(*"1111", "enter")
            # refused, and the field stays closed for as long as the guard's
            # clock does not move
            await wait_for(lambda: str(message.render()).startswith("Wrong operator or PIN"))
            assert pin.disabled and guard.delays == [1.0]
            await next_idle_checks(idle_checks)  # time passes on the machine, not on the guard's clock
            assert pin.disabled
            clock.advance(1.0)
            await wait_for(lambda: not pin.disabled)
            await pilot.press(*"2222", "enter")
            await wait_for(lambda: guard.delays == [1.0, 2.0])  # the delay grows
            assert pin.disabled
            clock.advance(1.0)
            await next_idle_checks(idle_checks)
            assert pin.disabled  # 1 s of 2
            clock.advance(1.0)
            await wait_for(lambda: not pin.disabled)
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
    clock = Clock()
    app = LoginApp(config, PinGuard(max_attempts=3, first_delay=1.0, clock=clock))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q", "ctrl+c")
        assert app.is_running
        await pilot.press(*"alice", "enter")
        pin = app.screen.query_one("#lock-pin", Input)
        await wait_for(lambda: pin.has_focus)  # the PIN goes into the PIN field
        await pilot.press(*"0000", "enter")
        await wait_for(lambda: pin.disabled)  # refused: the guard's wait
        assert app.is_running
        clock.advance(1.0)
        await wait_for(lambda: not pin.disabled)
        await pilot.press(*PIN, "enter")
        await wait_for(lambda: not app.is_running)
    assert app.return_value == "alice"
