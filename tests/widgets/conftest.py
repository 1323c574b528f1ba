"""Fixtures for the shared-widget tests: the demo app and a host app."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Footer

_DEMO_PATH = Path(__file__).with_name("demo_app.py")
_DEMO_MODULE = "backdesk_tests_widgets_demo_app"


def load_demo() -> ModuleType:
    """tests/widgets/demo_app.py, imported by path (tests/ is not a package)."""
    module = sys.modules.get(_DEMO_MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(_DEMO_MODULE, _DEMO_PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_DEMO_MODULE] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture
def demo() -> ModuleType:
    return load_demo()


class HostApp(App[None]):
    """Hosts one widget and records the messages the tests look for."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget
        self.seen: list[Any] = []

    def compose(self) -> ComposeResult:
        yield self.widget
        yield Footer()

    def on_mount(self) -> None:
        self.widget.focus()

    def on_record_table_record_selected(self, event: Any) -> None:
        self.seen.append(("selected", event.record))

    def on_record_table_cursor_moved(self, event: Any) -> None:
        self.seen.append(("moved", event.record))

    def on_record_form_submitted(self, event: Any) -> None:
        self.seen.append(("submitted", event.values))

    def on_record_form_cancelled(self, event: Any) -> None:
        self.seen.append(("cancelled", None))


@pytest.fixture
def host() -> type[HostApp]:
    return HostApp
