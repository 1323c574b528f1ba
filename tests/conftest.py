"""Shared test fixtures: every test runs on its own config and data folders.

The developer's own config and data are never read: BACKDESK_CONFIG_DIR,
BACKDESK_DATA_DIR, HOME and XDG_* point into the test's tmp_path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for var in ("BACKDESK_CONFIG_DIR", "BACKDESK_DATA_DIR", "BACKDESK_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    yield


def require_peer(name: str, found: bool, why: str) -> None:
    """Skip when a real peer is missing, but fail in CI (CI=true): a skipped
    test is not a passing one."""
    if found:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} is required in CI: {why}")
    pytest.skip(f"{name} not available: {why}")
