"""Core services on a PostgreSQL-backed Backdesk: audit chain, events, notifications.

A few of the tests/services tests run again here against a site whose
backdesk.yaml says ``storage: {backend: postgresql, dsn: ...}`` (a fresh
schema of the session's server); they are imported, so pytest collects them
in this module with the ``site`` fixture below.  The rest of tests/services
(and the plugins' tests) run on the default backend only.  Plus the test
that matters most on a shared database: several processes writing at once
keep the audit trail one unbroken chain.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "services"))  # their helpers import by bare name

from tests.conftest import storage_yaml  # noqa: E402
from tests.services.conftest import Site, office  # noqa: E402,F401
from tests.services.test_audit import (  # noqa: E402,F401
    test_a_rolled_back_change_leaves_no_entry, test_audit_list_filters,
    test_auditors_do_not_see_confidential_content, test_every_change_is_recorded_with_who_what_before_after,
    test_sensitive_reads_are_recorded_and_need_the_permission, test_verify_passes_on_an_untouched_trail, trail)
from tests.services.test_events import (  # noqa: E402,F401
    chain,
    test_an_event_of_a_rolled_back_transaction_is_never_delivered,
    test_chain_across_two_plugins_with_a_failing_handler_and_retry, test_cli_lists_failures_and_retries)
from tests.services.test_notifications import (  # noqa: E402,F401
    test_inbox_unread_mark_read, test_notification_crosses_two_processes)


class PgSite(Site):
    """A test site whose store is a schema of the session's PostgreSQL server."""

    def __init__(self, root: Path, dsn: str) -> None:
        self.dsn = dsn
        super().__init__(root)

    def configure(self, console_role: str = "admin", unknown: str = "refuse") -> None:
        super().configure(console_role, unknown)
        path = self.config_dir / "backdesk.yaml"
        # this site's own schema instead of the block the PostgreSQL pass adds
        text = path.read_text(encoding="utf-8").replace(storage_yaml(self.config_dir), "")
        path.write_text(text + f'storage:\n  backend: postgresql\n  dsn: "{self.dsn}"\n', encoding="utf-8")


@pytest.fixture
def site(tmp_path, pg_dsn):
    s = PgSite(tmp_path, pg_dsn)
    yield s
    s.close()


def test_the_site_really_is_on_postgresql(site):
    from core.storage.pg import PgStore

    bd = site.open("alice")
    assert isinstance(bd.store, PgStore)
    bd.services.people.add_department("IT")
    assert not (site.data_dir / "store.json").exists()
    proc = site.cli("check")
    assert proc.returncode == 0 and "sound" in proc.stdout, proc.stderr


WRITER = """
import sys
from core.plugins.runtime import open_backdesk
bd = open_backdesk(sys.argv[1], sys.argv[2], account=sys.argv[3])
for i in range(int(sys.argv[4])):
    bd.services.people.add_department(f"{sys.argv[5]} {i}")
    if i % 5 == 0:
        bd.services.audit.record_read("core", "core.people", None, "read while others write")
bd.close()
"""


def test_audit_chain_stays_one_chain_with_concurrent_writers(site):
    site.open("alice").close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    accounts = ["alice", "eva", "alice", "eva", "alice", "eva"]
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(site.config_dir), str(site.data_dir), a, "15",
                               f"writer {n}"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for n, a in enumerate(accounts)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    carla = site.open("carla")
    assert carla.services.audit.verify() == []
    entries = carla.services.audit.entries(newest_first=False)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert len(entries) == 6 * 15 + 6 * 3  # one per department, one per recorded read
    proc = site.cli("audit", "verify")
    assert proc.returncode == 0 and "intact" in proc.stdout, proc.stderr
