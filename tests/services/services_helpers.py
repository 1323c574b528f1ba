"""Helpers for the core-services tests (imported by the test modules)."""

from __future__ import annotations


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
