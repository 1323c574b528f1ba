"""The garbage collector's full passes wait for the user to pause.

A full pass walks every object the process made since it started (25–70 ms
at a year's call history); CPython started one every few screens' worth of
work, inside whatever key was being answered. The shell leaves them to a
second without a key or the mouse (core.gcpause: full_collections_when_idle,
collect_if_due), and to every FULL_AFTER-th young pass, pause or not.
"""

from __future__ import annotations

import gc

import pytest

from core import gcpause
from core.shell import app as shell_app
from core.shell.app import make_app


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def full_passes():
    """The full (generation 2) passes the collector makes while a test runs;
    the thresholds as they were afterwards."""
    seen: list[int] = []

    def watch(phase, info):
        if phase == "stop" and info["generation"] == 2:
            seen.append(1)

    thresholds = gc.get_threshold()
    gc.callbacks.append(watch)
    yield seen
    gc.callbacks.remove(watch)
    gc.set_threshold(*thresholds)


def test_a_full_pass_runs_when_young_ones_ran_and_the_collector_is_not_held(full_passes):
    gcpause.full_collections_when_idle()
    assert gc.get_threshold()[2] == gcpause.FULL_AFTER
    gc.collect()
    full_passes.clear()
    assert not gcpause.collect_if_due() and full_passes == []  # no young pass since the last full one
    gc.collect(1)
    gc.collect(1)
    with gcpause.gc_held():  # a burst of allocations (start-up, a store opening): not now
        assert not gcpause.collect_if_due() and full_passes == []
    assert gcpause.collect_if_due() and full_passes == [1]


async def test_the_shell_collects_when_the_user_pauses_not_between_keys(site, full_passes):
    clock = Clock()
    bd = site.open()
    app = make_app(bd, poll_interval=0, idle_clock=clock)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert gc.get_threshold()[2] == gcpause.FULL_AFTER
            await pilot.press("f1")
            await pilot.press("escape")
            assert app._last_input == clock()
            gc.collect(1)
            gc.collect(1)
            full_passes.clear()
            clock.now += shell_app.IDLE_GC_AFTER / 2  # between two keys
            app._collect_when_idle()
            assert full_passes == []
            clock.now += shell_app.IDLE_GC_AFTER  # a pause
            app._collect_when_idle()
            assert full_passes == [1]
            # a screen opened (also without a key) is activity too
            gc.collect(1)
            gc.collect(1)
            full_passes.clear()
            clock.now += shell_app.IDLE_GC_AFTER
            app.open_nav("home")
            app._collect_when_idle()
            assert full_passes == []
            # the shell's timer is what asks
            assert any(t.name == "idle-gc" for t in app._timers)
    finally:
        bd.close()
