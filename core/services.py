"""The core services every plugin shares, wired onto ``backdesk.services``.

``services.people`` (the people directory), ``services.audit``,
``services.events``, ``services.notifications`` and ``services.search``.
"""

from __future__ import annotations


def wire(backdesk) -> None:
    """Create the core services for ``backdesk`` (called once at start)."""
