"""Holding off CPython's cyclic garbage collector for bursts of long-lived
or acyclic allocations (start-up, opening a store, archiving the audit trail).

Holds nest and are thread-safe; the collector runs again once the last hold
is released, and catches up then. A collector switched off by someone else
stays off.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

_gc_lock = threading.Lock()
_gc_holds = 0


def hold_gc() -> Callable[[], None]:
    """Hold off CPython's cyclic garbage collector while Backdesk starts.

    Starting allocates a few hundred thousand objects that all stay alive
    (config, plugins, the store's documents, the first screen's widgets);
    meanwhile the collector runs a hundred young collections and, once they
    add up, a full one over the whole heap (about 30 ms on a small VM), all
    for no garbage. Returns a release function (idempotent); the collector
    runs again once the last hold is released, and catches up then. Holds
    nest; a collector switched off by someone else stays off.
    """
    global _gc_holds
    with _gc_lock:
        if _gc_holds == 0:
            if not gc.isenabled():
                return lambda: None
            gc.disable()
        _gc_holds += 1
    released = False

    def release() -> None:
        global _gc_holds
        nonlocal released
        with _gc_lock:
            if released:
                return
            released = True
            _gc_holds -= 1
            if _gc_holds == 0:
                gc.enable()

    return release


@contextmanager
def gc_held() -> Iterator[None]:
    """``with gc_held():`` — :func:`hold_gc` for a block."""
    release = hold_gc()
    try:
        yield
    finally:
        release()


#: young (generation 1) collections after which a full one runs anyway,
#: pause or not (CPython's own threshold is 10)
FULL_AFTER = 50


def full_collections_when_idle() -> None:
    """Leave CPython's full collections to :func:`collect_if_due`, run when
    the user pauses (the shell's idle timer), and to every
    :data:`FULL_AFTER`-th young one. A full collection walks every object
    the process made since it started (~45,000 at a year's call history:
    25–35 ms of CPU; ~110,000 and 65–70 ms when the start was not frozen);
    CPython's own threshold started one every few screens' worth of work,
    inside a key press (the History's letters at a year: 40 ms, then 150–
    200 ms at the letter it fell on)."""
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_AFTER)


def collect_if_due(min_pending: int = 2) -> bool:
    """Run a full collection now when at least ``min_pending`` young ones
    ran since the last (something may have become garbage since), unless
    the collector is held (:func:`hold_gc`) or switched off. Whether it ran."""
    with _gc_lock:
        if _gc_holds or not gc.isenabled():
            return False
    if gc.get_count()[2] < min_pending:
        return False
    gc.collect()
    return True
