"""The audit archive of a PostgreSQL site: archived on one host, read and
checked on another, archived once per office. Two config and data folders,
one PostgreSQL schema (runs on both passes: it starts the session's
PostgreSQL server itself)."""

from __future__ import annotations

import json

import pytest

from core.services.audit import ARCHIVE_AREA, ARCHIVE_DIR, ARCHIVE_HOLD, read_archive
from core.storage.pg import open_pg_store
from tests.conftest import office_dsn, pg_session_server, use_postgresql
from tests.services.conftest import Site


class Host(Site):
    """A site whose backdesk.yaml points at ``dsn`` (kept when reconfigured)."""

    def __init__(self, root, dsn: str) -> None:
        self.dsn = dsn
        super().__init__(root)

    def configure(self, console_role: str = "admin", unknown: str = "refuse") -> None:
        super().configure(console_role, unknown)
        use_postgresql(self.config_dir, self.dsn)


class TinyHost(Site):
    """A default-backend site over ``data_dir`` (a copy taken out of PostgreSQL)."""

    def __init__(self, root, data_dir) -> None:
        super().__init__(root)
        self.data_dir = data_dir

    def configure(self, console_role: str = "admin", unknown: str = "refuse") -> None:
        super().configure(console_role, unknown)
        cfg = self.config_dir / "backdesk.yaml"
        cfg.write_text(cfg.read_text().split("storage:\n")[0])


@pytest.fixture
def hosts(tmp_path):
    dsn = office_dsn()
    sites = [Host(tmp_path / "host-a", dsn), Host(tmp_path / "host-b", dsn)]
    yield sites
    for s in sites:
        s.close()


def stored_archives(dsn: str) -> dict[str, str]:
    """name -> sha256 of the archive files in the database."""
    store = open_pg_store(dsn)
    try:
        return {name: sha for sha, name in store.files(ARCHIVE_AREA, local_dir="/nonexistent").names().items()}
    finally:
        store.close()


def test_archived_on_a_verified_listed_and_checked_on_b(hosts, tmp_path):
    a, b = hosts
    bd_a = a.open("alice")
    people = bd_a.services.people
    dept = people.add_department("IT")
    for n in range(12):
        people.add_person(name=f"Person {n}", department_id=dept, extension=str(300 + n))
    last = bd_a.services.audit.table.find(None, order_by="-seq", limit=1)[0]
    before = bd_a.services.audit.entries(newest_first=False, limit=None)

    proc = a.cli("audit", "archive", "--before", last["at"], "--batch", "5")
    assert proc.returncode == 0, proc.stderr
    assert "Archived seq 1-5 (5 entries" in proc.stdout and "(PostgreSQL schema" in proc.stdout
    archived = sum(1 for e in before if e["at"] < last["at"])
    names = sorted(stored_archives(a.dsn))
    assert len(names) == (archived + 4) // 5 and names[0] == "audit-000000001-000000005.jsonl.gz"
    for site in (a, b):  # in the database, not in a host's folder
        assert not (site.data_dir / ARCHIVE_DIR).exists()

    # host B reads, verifies and checks what A archived
    proc = b.cli("audit", "verify", "--archives")
    assert proc.returncode == 0, proc.stderr
    assert f"and {archived} archived ones in {len(names)} file(s) in PostgreSQL schema" in proc.stdout
    proc = b.cli("check", "--archives")
    assert proc.returncode == 0 and "Config and data are sound." in proc.stdout, proc.stderr
    bd_b = b.open("alice")
    listed = bd_b.services.audit.entries(newest_first=False, include_archived=True, limit=None)
    assert [{k: v for k, v in e.items() if k != "archive"} for e in listed[:archived]] == before[:archived]
    assert listed[0]["archive"] == names[0]
    proc = b.cli("audit", "list", "--include-archived", "--limit", "0", "--format", "json")
    assert proc.returncode == 0 and [e["seq"] for e in json.loads(proc.stdout)][-1] == 1

    # damage in the database is found from either host, by file and entry
    store = open_pg_store(a.dsn)
    try:
        files = store.files(ARCHIVE_AREA, local_dir=tmp_path / "raw")
        sha = stored_archives(a.dsn)[names[1]]
        data = files.read_bytes(sha)
        conn = store._connect()
        try:
            conn.execute(f'UPDATE "{store.schema}"._file_chunks SET data = %s WHERE area = %s AND sha256 = %s',
                         (data[:-20], ARCHIVE_AREA, sha))
        finally:
            conn.close()
        proc = b.cli("check", "--archives")
        assert proc.returncode == 1
        assert f"file {ARCHIVE_AREA}/{sha[:16]}: 1 of 1 chunks, {len(data) - 20} of {len(data)} bytes" \
            in proc.stderr
        proc = a.cli("audit", "verify", "--archives")
        assert proc.returncode == 1 and f"archive {names[1]} was changed after it was written" in proc.stderr
        conn = store._connect()
        try:
            conn.execute(f'UPDATE "{store.schema}"._file_chunks SET data = %s WHERE area = %s AND sha256 = %s',
                         (data, ARCHIVE_AREA, sha))
        finally:
            conn.close()
    finally:
        store.close()
    assert b.cli("check", "--archives").returncode == 0


def test_one_archiving_run_per_office(hosts):
    a, b = hosts
    bd_a = a.open("alice")
    bd_a.services.people.add_department("IT")
    bd_a.services.people.add_department("Sales")
    cut = bd_a.services.audit.table.find(None, order_by="-seq", limit=1)[0]["at"]
    # a run on host A holds the archive (the hold a run takes, taken here by A's process)
    hold = bd_a.store.hold(ARCHIVE_HOLD, who="host-a:4711 alice", local_dir=a.data_dir)
    assert hold.held()
    try:
        proc = b.cli("audit", "archive", "--before", cut)
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.strip() == proc.stderr.strip().splitlines()[0]
        assert "backdesk: the audit trail is being archived by host-a:4711 alice since 20" in proc.stderr
        assert "nothing was done" in proc.stderr
        assert stored_archives(a.dsn) == {} and bd_a.services.audit.anchors() == []
        proc = b.cli("status")
        assert proc.returncode == 0 and ARCHIVE_HOLD in proc.stdout and "host-a:4711 alice" in proc.stdout
    finally:
        hold.release()
    # A's run has finished: B archives
    proc = b.cli("audit", "archive", "--before", cut)
    assert proc.returncode == 0, proc.stderr
    assert list(stored_archives(a.dsn)) == ["audit-000000001-000000001.jsonl.gz"]
    assert a.cli("audit", "verify", "--archives").returncode == 0


def test_an_archive_left_in_a_hosts_folder_from_before_is_moved_in(hosts):
    # Before, a PostgreSQL site wrote its archives into the data folder of
    # the host that ran the command. Such a file is taken into the database
    # when that host first reads it; then every host reads it.
    a, b = hosts
    bd_a = a.open("alice")
    bd_a.services.people.add_department("IT")
    bd_a.services.people.add_department("Sales")
    cut = bd_a.services.audit.table.find(None, order_by="-seq", limit=1)[0]["at"]
    assert a.cli("audit", "archive", "--before", cut).returncode == 0
    (name, sha), = stored_archives(a.dsn).items()
    store = open_pg_store(a.dsn)
    try:
        files = store.files(ARCHIVE_AREA, local_dir=a.data_dir)
        data = files.read_bytes(sha)
        files.remove(sha)  # as it was: only in host A's folder
    finally:
        store.close()
    (a.data_dir / ARCHIVE_DIR).mkdir(parents=True)
    (a.data_dir / ARCHIVE_DIR / name).write_bytes(data)

    proc = b.cli("audit", "verify", "--archives")
    assert proc.returncode == 1 and f"archive {name} is missing or unreadable (not in PostgreSQL" in proc.stderr
    assert a.cli("audit", "verify", "--archives").returncode == 0  # A has it: moved in
    assert stored_archives(a.dsn) == {name: sha}
    proc = b.cli("audit", "verify", "--archives")
    assert proc.returncode == 0, proc.stderr
    assert read_archive(data)[0][0]["seq"] == 1


def test_backup_and_migrate_carry_the_archive(hosts, tmp_path):
    a, b = hosts
    bd_a = a.open("alice")
    for n in range(6):
        bd_a.services.people.add_department(f"Department {n}")
    cut = bd_a.services.audit.table.find(None, order_by="-seq", limit=1)[0]["at"]
    assert a.cli("audit", "archive", "--before", cut, "--batch", "2").returncode == 0
    stored = stored_archives(a.dsn)
    assert len(stored) == 3
    store = open_pg_store(a.dsn)
    try:
        files = store.files(ARCHIVE_AREA, local_dir=tmp_path / "raw")
        data = {name: files.read_bytes(sha) for name, sha in stored.items()}
    finally:
        store.close()

    # a backup taken on B holds them under their names, as a TinyDB data folder keeps them
    backup = tmp_path / "backup"
    proc = b.cli("backup", str(backup))
    assert proc.returncode == 0, proc.stderr
    assert {p.name: p.read_bytes() for p in (backup / ARCHIVE_DIR).iterdir()} == data
    marker = json.loads((backup / "backup.json").read_text())
    assert all(f"{ARCHIVE_DIR}/{name}" in json.dumps(marker) for name in data)

    # out of PostgreSQL into a data folder: the default backend reads and checks them there
    out = tmp_path / "out"
    proc = b.cli("storage", "migrate", "--to", "tinydb", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"files {ARCHIVE_AREA}" in proc.stdout and "3 files" in proc.stdout
    assert {p.name: p.read_bytes() for p in (out / ARCHIVE_DIR).iterdir()} == data
    tiny = TinyHost(tmp_path / "tiny", out)
    try:
        proc = tiny.cli("audit", "verify", "--archives")
        assert proc.returncode == 0 and "in 3 file(s)" in proc.stdout, proc.stderr

        # and back into another PostgreSQL schema: the same files, by name and hash
        server = pg_session_server()
        dsn = server.dsn(schema=server.new_schema())
        proc = tiny.cli("storage", "migrate", "--to", "postgresql", dsn)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert stored_archives(dsn) == stored
        c = Host(tmp_path / "host-c", dsn)
        try:
            proc = c.cli("audit", "verify", "--archives")
            assert proc.returncode == 0 and "in 3 file(s) in PostgreSQL" in proc.stdout, proc.stderr
        finally:
            c.close()
    finally:
        tiny.close()
