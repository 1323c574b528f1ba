"""The error types domain code raises.

Domain code raises one of these; the UI shows the message at the field
(``field``), the CLI prints ``message`` on one line and exits 2.
"""

from __future__ import annotations


class BackdeskError(Exception):
    """A problem the user can fix; ``str(err)`` is one readable line."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        if self.field:
            return f"{self.field}: {self.message}"
        return self.message


class ValidationError(BackdeskError):
    """Input that breaks a rule; ``field`` names the offending field."""


class PermissionDenied(BackdeskError):
    """The operator lacks a permission the action needs."""


class UnknownRecord(BackdeskError):
    """An id that does not exist (a person, a ticket, a call, ...)."""


class ConfigError(BackdeskError):
    """A config file that cannot be used; the message names file:line:key."""
