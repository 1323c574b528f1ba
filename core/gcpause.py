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
