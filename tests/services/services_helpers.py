"""Helpers for the core-services tests (imported by the test modules)."""

from __future__ import annotations

import asyncio


async def wait_for(pilot, predicate, timeout: float = 60.0) -> float:
    """Let the app run until ``predicate()`` holds; returns the seconds it took.
    The deadline only ends a test that already failed: it is generous."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < timeout:
        await pilot.pause(0.05)
        if predicate():
            return loop.time() - start
    raise AssertionError("condition not reached in time")


def screen_text(app) -> str:
    """Everything the current screen shows, as plain text (for asserts)."""
    from textual.widgets import Static

    from core.shell.widgets import DetailView

    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, Static):
            parts.append(str(widget.render()))
        elif isinstance(widget, DetailView):
            parts.extend(f"{label}: {value}" for label, value in widget.pairs)
    return "\n".join(parts)
