"""Fixtures for the storage tests (helpers live in storage_helpers.py).

``target`` runs a test on both backends: the default (TinyDB journal) one in
the test's data dir and the PostgreSQL one in a fresh schema of a real
server started once per session (pg_server.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storage_helpers import Target


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """Where the test's store lives (not created: open_store creates it)."""
    return tmp_path / "data"


@pytest.fixture(scope="session")
def pg_server():
    """The session's real PostgreSQL server (skipped here, failed in CI, when missing)."""
    from tests.conftest import pg_session_server

    return pg_session_server()


@pytest.fixture
def pg_dsn(pg_server) -> str:
    """A DSN whose search_path names a fresh schema: an empty store of its own."""
    return pg_server.dsn(schema=pg_server.new_schema())


@pytest.fixture(params=["tinydb", "postgresql"])
def target(request, data_dir) -> Target:
    """Where this test's store lives, on each backend in turn (the PostgreSQL
    pass deselects the TinyDB variants: the default pass runs them)."""
    if request.param == "tinydb":
        return Target("tinydb", str(data_dir))
    return Target("postgresql", request.getfixturevalue("pg_dsn"))
