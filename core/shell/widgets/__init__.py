"""Shared widgets every plugin reuses instead of writing its own.

```python
from core.shell.widgets import RecordTable, Column, RecordForm, Field, FormScreen
from core.shell.widgets import DetailView, ConfirmDialog, ProgressScreen, KeyBar
from core.shell.widgets import Picker, Choice      # find a record by typing part of its name
from core.shell.widgets import ExportForm          # save a file in the operator's exports folder
from core.shell.widgets import FilePicker          # choose a file from a folder tree
```

Names are imported on first use (PEP 562), so ``core.shell.widgets.progress``
(the ``Progress`` protocol and the CLI's ``ClickProgress``) can be imported
without importing Textual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Column": "core.shell.widgets.record_table",
    "RecordSource": "core.shell.widgets.record_table",
    "RecordTable": "core.shell.widgets.record_table",
    "PagedRecords": "core.shell.widgets.record_table",
    "table_pages": "core.shell.widgets.record_table",
    "ordered_pages": "core.shell.widgets.record_table",
    "FilterInput": "core.shell.widgets.filter_input",
    "Field": "core.shell.widgets.record_form",
    "RecordForm": "core.shell.widgets.record_form",
    "FormScreen": "core.shell.widgets.record_form",
    "Picker": "core.shell.widgets.picker",
    "Choice": "core.services.choices",
    "DetailView": "core.shell.widgets.detail_view",
    "ExportForm": "core.shell.widgets.export_form",
    "FilePicker": "core.shell.widgets.file_picker",
    "ConfirmDialog": "core.shell.widgets.confirm_dialog",
    "Progress": "core.shell.widgets.progress",
    "ClickProgress": "core.shell.widgets.progress",
    "NullProgress": "core.shell.widgets.progress",
    "ProgressScreen": "core.shell.widgets.progress_screen",
    "KeyBar": "core.shell.widgets.keybar",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.shell.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from core.services.choices import Choice  # types only
    from core.shell.widgets.confirm_dialog import ConfirmDialog  # types only
    from core.shell.widgets.detail_view import DetailView  # types only
    from core.shell.widgets.export_form import ExportForm  # types only
    from core.shell.widgets.file_picker import FilePicker  # types only
    from core.shell.widgets.filter_input import FilterInput  # types only
    from core.shell.widgets.picker import Picker  # types only
    from core.shell.widgets.progress import ClickProgress, NullProgress, Progress  # types only
    from core.shell.widgets.progress_screen import ProgressScreen  # types only
    from core.shell.widgets.record_form import Field, FormScreen, RecordForm  # types only
    from core.shell.widgets.record_table import (Column, PagedRecords, RecordSource, RecordTable,  # types only
                                                 ordered_pages, table_pages)
