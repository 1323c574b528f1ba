"""A PostgreSQL site's backup restores end to end: `backdesk backup` on a
PostgreSQL site, `backdesk restore` of it into a fresh, empty database, the
same tables and files (documents' versions, CVs, the audit archive), and
`backdesk check` clean; a schema that holds tables is refused with one line
and nothing is written. Runs on both passes: it starts the session's
PostgreSQL server itself."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.storage.migrate_cli import dump, pg_listing, shown, summary
from core.storage.pg import open_pg_store, pg_contents
from tests.conftest import pg_session_server, use_postgresql
from tests.office import simple_pdf
from tests.shell.conftest import Site


def run(site, *args):
    return subprocess.run([sys.executable, "-m", "core", *site.cli_args(), *args],
                          capture_output=True, text=True, timeout=600)


class PgSite(Site):
    """A shell test site on the PostgreSQL schema ``dsn`` names."""

    def __init__(self, root, dsn: str) -> None:
        root.mkdir()
        super().__init__(root)
        self.dsn = dsn
        use_postgresql(self.config_dir, dsn)
        self.plugins([{"name": "documents"}, {"name": "hr"}])


def contents(dsn: str) -> tuple[dict, dict]:
    """(table summaries, file listings by area) of the store at ``dsn``."""
    store = open_pg_store(dsn)
    try:
        return summary(dump(store)), pg_listing(store)
    finally:
        store.close()


@pytest.fixture
def sites(tmp_path):
    server = pg_session_server()
    return (PgSite(tmp_path / "office", server.dsn(schema=server.new_schema())),
            PgSite(tmp_path / "restored", server.dsn(schema=server.new_schema())))


def test_a_postgresql_backup_restores_into_an_empty_database_whole(sites, tmp_path):
    office, restored = sites
    assert run(office, "demo").returncode == 0  # documents with versions, people, HR
    from core.plugins.runtime import open_backdesk
    from plugins.hr import hiring

    bd = open_backdesk(office.config_dir, office.data_dir, account="alice")
    try:
        ctx = bd.context("hr")
        cv = tmp_path / "cv.pdf"
        cv.write_bytes(simple_pdf("Nils Nagel Bookkeeping 2019"))
        opening = hiring.add_opening(ctx, "Clerk")
        hiring.add_candidate(ctx, "Nils Nagel", opening=opening["id"], cv=str(cv))
        cut = bd.services.audit.table.find(None, order_by="-seq", limit=1)[0]["at"]
    finally:
        bd.close()
    proc = run(office, "audit", "archive", "--before", cut, "--batch", "100")
    assert proc.returncode == 0, proc.stderr
    tables, files = contents(office.dsn)
    assert set(files) == {"documents/files", "hr/files", "core/audit_archive"}
    assert len(files["documents/files"]) >= 10 and len(files["hr/files"]) == 1
    assert len(files["core/audit_archive"]) >= 2

    backup = tmp_path / "backup"
    proc = run(office, "backup", str(backup))
    assert proc.returncode == 0, proc.stderr
    assert "`backdesk restore` loads it into an empty schema" in proc.stdout

    proc = run(restored, "restore", str(backup))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert f"restoring {backup} -> " in out and "MISMATCH" not in out
    for area, listed in files.items():
        assert f"files {area}" in out and f"{len(listed):>7} files" in out
    assert f"verified: {len(tables)} tables" in out and "match the backup" in out
    assert out.splitlines()[-1] == f"Restored {backup} into {shown(restored.dsn)}"

    # the same tables (the trail: one entry more, the restore's) and the same files, byte for byte
    tables_r, files_r = contents(restored.dsn)
    assert files_r == files
    trail = {"core.audit", "core.audit_head"}
    assert {k: v for k, v in tables_r.items() if k not in trail} == \
        {k: v for k, v in tables.items() if k not in trail}
    assert tables_r["core.audit"][2] == tables["core.audit"][2] + 1
    proc = run(restored, "audit", "list", "--format", "json", "--limit", "1")
    (entry,) = json.loads(proc.stdout)
    assert entry["op"] == "restore" and entry["after"]["backup"] == str(backup)
    assert entry["what"].endswith("into an empty store")
    proc = run(restored, "check", "--archives")
    assert proc.returncode == 0 and "sound" in proc.stdout, proc.stderr
    proc = run(restored, "audit", "verify", "--archives")
    assert proc.returncode == 0, proc.stderr
    proc = run(restored, "docs", "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # a schema that holds tables is refused with one line; nothing is written
    before = contents(restored.dsn)
    proc = run(restored, "restore", str(backup))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert f"already holds {len(tables_r)} tables" in proc.stderr and "nothing was restored" in proc.stderr
    assert contents(restored.dsn) == before
    # so is a backup that is not whole, before anything is looked at
    (backup / "backup.json").unlink()
    empty = PgSite(tmp_path / "third", pg_session_server().dsn(schema=pg_session_server().new_schema()))
    proc = run(empty, "restore", str(backup))
    assert proc.returncode == 2 and "not a Backdesk backup" in proc.stderr
    assert pg_contents(empty.dsn) == (0, 0)
