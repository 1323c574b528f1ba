"""Shared widgets every plugin reuses instead of writing its own.

    from core.widgets import RecordTable, Column, RecordForm, Field, FormScreen
    from core.widgets import DetailView, ConfirmDialog, ProgressScreen, KeyBar
    from core.widgets import Picker, Choice      # find a record by typing part of its name
    from core.widgets import ExportForm          # save a file in the operator's exports folder
    from core.widgets import FilePicker          # choose a file from a folder tree

Names are imported on first use (PEP 562), so ``core.widgets.progress``
(the ``Progress`` protocol and the CLI's ``ClickProgress``) can be imported
without importing Textual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Column": "core.widgets.record_table",
    "RecordSource": "core.widgets.record_table",
    "RecordTable": "core.widgets.record_table",
    "PagedRecords": "core.widgets.record_table",
    "table_pages": "core.widgets.record_table",
    "ordered_pages": "core.widgets.record_table",
    "FilterInput": "core.widgets.filter_input",
    "Field": "core.widgets.record_form",
    "RecordForm": "core.widgets.record_form",
    "FormScreen": "core.widgets.record_form",
    "Picker": "core.widgets.picker",
    "Choice": "core.choices",
    "DetailView": "core.widgets.detail_view",
    "ExportForm": "core.widgets.export_form",
    "FilePicker": "core.widgets.file_picker",
    "ConfirmDialog": "core.widgets.confirm_dialog",
    "Progress": "core.widgets.progress",
    "ClickProgress": "core.widgets.progress",
    "NullProgress": "core.widgets.progress",
    "ProgressScreen": "core.widgets.progress_screen",
    "KeyBar": "core.widgets.keybar",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from core.choices import Choice
    from core.widgets.confirm_dialog import ConfirmDialog
    from core.widgets.detail_view import DetailView
    from core.widgets.export_form import ExportForm
    from core.widgets.file_picker import FilePicker
    from core.widgets.filter_input import FilterInput
    from core.widgets.picker import Picker
    from core.widgets.progress import ClickProgress, NullProgress, Progress
    from core.widgets.progress_screen import ProgressScreen
    from core.widgets.record_form import Field, FormScreen, RecordForm
    from core.widgets.record_table import (Column, PagedRecords, RecordSource, RecordTable, ordered_pages,
                                           table_pages)
