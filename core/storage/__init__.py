"""core.storage — the one way every plugin (built-in or third-party) stores data.

See docs/architecture.md ("core.storage") for the contract.  Plugins import
from here only; they never import tinydb.
"""

from .admin import backup, check, export_table, restore
from .base import Change, Store, Table
from .engine import JournalStore, JournalTable, open_store
from .errors import Conflict, CorruptData, NotFound, StorageError
from .query import AnyOf, Contains, Not, Range

__all__ = [
    "open_store", "Store", "Table", "Change",
    "AnyOf", "Range", "Contains", "Not",
    "StorageError", "NotFound", "CorruptData", "Conflict",
    "JournalStore", "JournalTable",
    "backup", "restore", "check", "export_table",
]
