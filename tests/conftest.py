"""Shared test fixtures: every test runs on its own config and data folders.

The developer's own config and data are never read: BACKDESK_CONFIG_DIR,
BACKDESK_DATA_DIR, HOME and XDG_* point into the test's tmp_path.
"""

from __future__ import annotations

import compileall
import hashlib
import inspect
import json
import os
import sys
from pathlib import Path

import pytest

from tests import peers


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for var in ("BACKDESK_CONFIG_DIR", "BACKDESK_DATA_DIR", "BACKDESK_DISABLE_PLUGINS", "BACKDESK_NO_CACHE"):
        monkeypatch.delenv(var, raising=False)
    yield


# -- Hypothesis: no wall-clock health checks ----------------------------------
# "too_slow" times input generation by the wall clock: on a loaded machine
# (CI runs two passes at once beside other work) drawing a few small values
# measured 37 s once and failed a test whose strategies are tiny. The
# examples and what each test checks stay the same. A test that passes its
# own ``suppress_health_check`` list replaces this one: name too_slow there
# too. Deadlines (also wall clock) are off for the same reason.
from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

hypothesis_settings.register_profile("backdesk", suppress_health_check=[HealthCheck.too_slow], deadline=None)
hypothesis_settings.load_profile("backdesk")


# Real peers (HylaFAX, PostgreSQL, SMTP, …): tests/peers.py.  require_peer
# skips when a peer is missing, but fails in CI (CI=true).
from tests.peers import require_peer  # noqa: E402,F401


# -- which storage backend the test sites use ------------------------------------
#
# ``BACKDESK_TEST_STORAGE=postgresql pytest -m "not tinydb_only"`` runs the
# suite on PostgreSQL: one real server for the session (tests/storage/
# pg_server.py, started on first use) and every test site's backdesk.yaml
# gets ``storage: {backend: postgresql, dsn: ...}`` naming a schema of its
# own (see :func:`storage_yaml`).  Subprocesses (CLI runs, SSH sessions,
# writer processes) read the same backdesk.yaml, so they follow.  Unset (or
# ``tinydb``) is the default backend, as in the README's test command.
# Read once at import: fixtures remove every BACKDESK_* variable per test.

TEST_STORAGE = (os.environ.get("BACKDESK_TEST_STORAGE", "").strip().lower() or "tinydb")
if TEST_STORAGE not in ("tinydb", "postgresql"):
    raise pytest.UsageError(f"BACKDESK_TEST_STORAGE={TEST_STORAGE!r}: use tinydb or postgresql")
ON_POSTGRESQL = TEST_STORAGE == "postgresql"

def office_dsn() -> str:
    """The DSN of a new, empty schema of the session's PostgreSQL server: the
    one store the "hosts" of a two-host test share."""
    server = pg_session_server()
    return server.dsn(schema=server.new_schema())


def use_postgresql(config_dir, dsn: str) -> None:
    """Point a test site's backdesk.yaml at ``dsn``: its storage block (the
    pass's own, if any) gives way to the office's PostgreSQL store."""
    cfg = Path(config_dir) / "backdesk.yaml"
    text = cfg.read_text().split("storage:\n")[0]
    cfg.write_text(text + f"storage:\n  backend: postgresql\n  dsn: {json.dumps(dsn)}\n")


def pg_session_server():
    """The session's PostgreSQL server (started on first use, stopped at the
    end of the session); skipped here, failed in CI, when it cannot run —
    and always failed on the PostgreSQL pass, which asked for it."""
    # The server is kept in tests.storage.pg_server (one module object),
    # not here: this file is imported both as pytest's conftest and as
    # tests.conftest.
    from tests.storage import pg_server

    if pg_server.SESSION_SERVER is None:
        from tests.storage.pg_server import PgServer, find_bindir

        try:
            import psycopg  # noqa: F401
            have_psycopg = True
        except ImportError:
            have_psycopg = False
        for found, why in ((have_psycopg, "pip install 'backdesk[postgresql]' (psycopg 3)"),
                           (find_bindir() is not None,
                            "apt-get install postgresql (initdb/pg_ctl in /usr/lib/postgresql/*/bin)")):
            if not found and ON_POSTGRESQL:
                pytest.fail(f"BACKDESK_TEST_STORAGE=postgresql needs PostgreSQL: {why}")
            require_peer("PostgreSQL", found, why)
        server = PgServer().start()
        pg_server.SESSION_SERVER = server

        def stop() -> None:
            server.stop()
            pg_server.SESSION_SERVER = None

        peers.at_session_end(stop)  # also at exit when the session ends abnormally
    return pg_server.SESSION_SERVER


# Test modules keep their assertion-rewritten bytecode (pytest caches it only
# when bytecode may be written): with PYTHONDONTWRITEBYTECODE set, as on this
# project's CI machines, each of the four test processes rewrote and compiled
# every test module again (collection 8.9 s -> 2.3 s CPU, `pytest --collect-only -n 0`).
sys.dont_write_bytecode = False


def pytest_sessionstart(session):
    peers.stop_on_sigterm()
    _compile_the_sources()


def _compile_the_sources() -> None:
    """Write the bytecode of ``core/`` and ``plugins/`` once.

    The tests start ``backdesk`` as a subprocess some thousand times; with
    ``PYTHONDONTWRITEBYTECODE`` set (as on this project's CI machines) an
    editable install never gets its ``__pycache__`` and each of those starts
    compiled every module it imports again (0.37 against 0.18 s for a short
    CLI command, measured with /usr/bin/time).  ``compileall`` writes the
    files whatever that variable says, and skips what is up to date."""
    root = Path(__file__).resolve().parent.parent
    for name in ("core", "plugins"):
        compileall.compile_dir(root / name, quiet=1)


def pytest_sessionfinish(session, exitstatus):
    """Stop every peer the session started (tests/peers.py)."""
    peers.stop_all()


def pg_schema_for(config_dir) -> str:
    """The schema a site keeps its store in: one per config folder, the same
    every time that site's config is (re)written."""
    digest = hashlib.sha1(str(Path(config_dir).resolve()).encode()).hexdigest()
    return "t_" + digest[:20]


def storage_section(config_dir) -> dict | None:
    """``backdesk.yaml``'s ``storage:`` mapping for a test site in
    ``config_dir`` on this pass; None on the TinyDB pass (the default)."""
    if not ON_POSTGRESQL:
        return None
    server = pg_session_server()
    return {"backend": "postgresql", "dsn": server.dsn(schema=pg_schema_for(config_dir))}


def storage_yaml(config_dir) -> str:
    """The ``storage:`` block to append to a test site's backdesk.yaml: ""
    on the TinyDB pass, ``storage: {backend: postgresql, dsn: ...}`` on the
    PostgreSQL pass.  Every helper that writes a site's config ends with it."""
    section = storage_section(config_dir)
    if section is None:
        return ""
    return f"storage:\n  backend: postgresql\n  dsn: {json.dumps(section['dsn'])}\n"


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass, tests marked ``tinydb_only`` are skipped (CI
    deselects them with ``-m "not tinydb_only"``), and the TinyDB variants of
    tests/storage's both-backends tests (``target``) are deselected: the
    default pass runs them."""
    if not ON_POSTGRESQL:
        return
    keep, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("target") == "tinydb":
            dropped.append(item)
            continue
        marker = item.get_closest_marker("tinydb_only")
        if marker is not None:
            why = marker.args[0] if marker.args else "about the TinyDB backend's files"
            item.add_marker(pytest.mark.skip(reason=f"tinydb_only: {why}"))
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


# -- snapshots without a blinking cursor ------------------------------------------
# A focused Input or TextArea blinks its cursor on a 0.5 s wall-clock timer,
# so a screenshot caught either phase depending on how fast the machine ran
# the keys (the SVGs differed by the cursor cell only). Before the
# screenshot every Input and TextArea on the screen stack stops blinking,
# which leaves a focused one's cursor drawn: what a person sees on focus.


def still_cursors(app) -> None:
    """Stop the cursor blink of every Input and TextArea on ``app``'s screens."""
    from textual.widgets import Input, TextArea

    for screen in app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            if isinstance(widget, (Input, TextArea)):
                widget.cursor_blink = False


@pytest.fixture
def snap_compare(snap_compare):
    """pytest-textual-snapshot's ``snap_compare`` (same arguments): the keys
    are pressed, then the cursors are stilled, then the screenshot taken."""

    def compare(app, press=(), terminal_size=(80, 24), run_before=None):
        async def drive(pilot):
            if run_before is not None:
                result = run_before(pilot)
                if inspect.isawaitable(result):
                    await result
            await pilot.pause()
            await pilot.press(*press)
            still_cursors(pilot.app)
            await pilot.pause()

        return snap_compare(app, terminal_size=terminal_size, run_before=drive)

    return compare


@pytest.fixture
def backdesk_site(backdesk_site):
    """core.cli.testing's site, on this pass's backend."""
    section = storage_section(backdesk_site.config_dir)
    if section is not None:
        backdesk_site.configure(storage=section)
    return backdesk_site


def open_raw_store(config_dir, data_dir):
    """The bare store a test site keeps its data in (no services, no audit):
    what someone with direct access to the files or the database would
    open — the TinyDB store in ``data_dir`` or the site's PostgreSQL schema."""
    section = storage_section(config_dir)
    if section is None:
        from core.storage import open_store

        return open_store(data_dir)
    from core.storage.pg import open_pg_store

    return open_pg_store(section["dsn"])
