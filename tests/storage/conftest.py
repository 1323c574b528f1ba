"""Fixtures for the storage tests (helpers live in storage_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """Where the test's store lives (not created: open_store creates it)."""
    return tmp_path / "data"
