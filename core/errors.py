"""The error types domain code raises.

Domain code raises one of these; the UI shows the message at the field
(``field``), the CLI prints ``message`` on one line and exits 2.
"""

from __future__ import annotations

from typing import Mapping


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
    """Input that breaks a rule; ``field`` names the offending field.

    Several fields at once: ``ValidationError(fields={"iban": "...",
    "name": "..."})`` (``message``/``field`` are then the first of them).
    ``fields`` maps every offending field to its message; a form shows each
    at its field, the CLI prints them on one line.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        problems = dict(fields or {})
        if message is None:
            if not problems:
                raise ValueError("ValidationError needs a message or fields")
            field, message = next(iter(problems.items()))
        elif field is not None:
            problems = {field: message, **{k: v for k, v in problems.items() if k != field}}
        super().__init__(message, field=field)
        self.fields: dict[str, str] = problems

    def __str__(self) -> str:
        if len(self.fields) > 1:
            return "; ".join(f"{key}: {text}" for key, text in self.fields.items())
        return super().__str__()


class PermissionDenied(BackdeskError):
    """The operator lacks a permission the action needs."""


class UnknownRecord(BackdeskError):
    """An id that does not exist (a person, a ticket, a call, ...)."""


class ConfigError(BackdeskError):
    """A config file that cannot be used; the message names file:line:key."""
