"""The errors core.storage raises.

All of them are :class:`core.errors.BackdeskError`, so the CLI prints one line
and exits 2.  Messages name the table or file and, where the operator can do
something about it, what to do.
"""

from __future__ import annotations

from core.errors import BackdeskError


class StorageError(BackdeskError):
    """Something the store cannot do (bad document, closed store, disk error)."""


class NotFound(StorageError, KeyError):
    """A document id that does not exist in the table.

    Also a ``KeyError``, so ``table[doc_id]`` behaves like a mapping.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return StorageError.__str__(self)


class CorruptData(StorageError):
    """A data file that cannot be read as written.

    The message names the file and what to do; the file is left untouched.
    """

    def __init__(self, path: object, problem: str, *, advice: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        if advice is None:
            advice = (
                "the file was left untouched; run `backdesk check` to list every "
                "problem, then restore the data directory from a backup with "
                "`backdesk restore SRC`"
            )
        super().__init__(f"{self.path}: {problem}; {advice}")


class Conflict(StorageError):
    """Code and data disagree (e.g. data at a newer schema version than the code)."""
