"""Archiving the audit trail: `backdesk audit archive`, verify --archives, list --include-archived.

Entries are made "now", so the tests cut the trail at the ``at`` of one of
its entries (a full time, which ``--before`` accepts as well as a date).
Tampering goes around the service (see test_audit.py): the files are edited
as someone with access to the data folder (or, on a PostgreSQL site, the
database) would, the archive records through a raw store. On PostgreSQL the
archive files are in the database: :func:`archive_files` gives them with the
same few methods a path has (name, read_bytes, write_bytes, unlink).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.services.audit import ARCHIVE_AREA, ARCHIVE_DIR, ARCHIVE_HOLD, GENESIS, ArchiveBusy, AuditTrail, entry_hash, \
    read_archive
from core.errors import BackdeskError, PermissionDenied
from tests.conftest import ON_POSTGRESQL, open_raw_store, pg_schema_for, storage_section

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def long_trail(site):
    """About 80 entries from 40 transactions (each its own ``at``), as alice."""
    bd = site.open("alice")
    people = bd.services.people
    dept = people.add_department("IT")
    for n in range(20):
        pid = people.add_person(name=f"Person {n}", department_id=dept, extension=str(300 + n))
        people.update_person(pid, title=f"Title {n}")
    bd.close()
    site.opened.remove(bd)
    return site


def live_entries(bd) -> list[dict]:
    return bd.services.audit.table.all()


def cut_at(bd, seq: int) -> str:
    """The ``--before`` that archives exactly the entries before seq ``seq``'s transaction."""
    return bd.services.audit.table.find({"seq": seq})[0]["at"]


class StoredArchive:
    """An archive file kept in a PostgreSQL site's file store, reached as
    someone with access to the database would: writing replaces its chunks
    in place (its row keeps the hash it was stored under)."""

    def __init__(self, dsn: str, schema: str, sha256: str, name: str) -> None:
        self.dsn, self.schema, self.sha256, self.name = dsn, schema, sha256, name

    def _sql(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cur = conn.execute(sql.replace("S.", f'"{self.schema}".'), params)
            return cur.fetchall() if cur.description is not None else []

    def read_bytes(self) -> bytes:
        rows = self._sql("SELECT data FROM S._file_chunks WHERE area = %s AND sha256 = %s ORDER BY n",
                         (ARCHIVE_AREA, self.sha256))
        return b"".join(bytes(r[0]) for r in rows)

    def write_bytes(self, data: bytes) -> None:
        self._sql("DELETE FROM S._file_chunks WHERE area = %s AND sha256 = %s", (ARCHIVE_AREA, self.sha256))
        self._sql("INSERT INTO S._file_chunks (area, sha256, n, data) VALUES (%s, %s, 0, %s)",
                  (ARCHIVE_AREA, self.sha256, data))
        self._sql("UPDATE S._files SET size = %s, chunks = 1 WHERE area = %s AND sha256 = %s",
                  (len(data), ARCHIVE_AREA, self.sha256))

    def unlink(self) -> None:
        self._sql("DELETE FROM S._files WHERE area = %s AND sha256 = %s", (ARCHIVE_AREA, self.sha256))

    def __eq__(self, other) -> bool:
        return isinstance(other, StoredArchive) and other.sha256 == self.sha256

    def __repr__(self) -> str:
        return f"<StoredArchive {self.name}>"


def archive_files(site) -> list:
    """The site's archive files, by name: paths in the data folder, or on
    PostgreSQL :class:`StoredArchive` objects."""
    section = storage_section(site.config_dir)
    if section is None:
        return sorted((site.data_dir / ARCHIVE_DIR).glob("audit-*.jsonl.gz"))
    schema = pg_schema_for(site.config_dir)
    probe = StoredArchive(section["dsn"], schema, "", "")
    if not probe._sql("SELECT to_regclass(%s)", (f'"{schema}"."_files"',))[0][0]:
        return []
    rows = probe._sql("SELECT sha256, path FROM S._files WHERE area = %s ORDER BY path", (ARCHIVE_AREA,))
    return [StoredArchive(section["dsn"], schema, sha, name) for sha, name in rows]


def every_entry(site) -> list[dict]:
    """Archived and live entries, in seq order (read around the service)."""
    out = []
    for path in archive_files(site):
        entries, damage = read_archive(path.read_bytes())
        assert not damage
        out += entries
    store = open_raw_store(site.config_dir, site.data_dir)
    try:
        out += store.table("core", "audit").all()
    finally:
        store.close()
    return out


def assert_one_chain(entries: list[dict]) -> None:
    """seq 1..N, each once, every entry intact and chained to the one before."""
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    prev = GENESIS
    for e in entries:
        assert e["prev_hash"] == prev and entry_hash(e) == e["hash"], e["seq"]
        prev = e["hash"]


def rewrite(path: Path, edit) -> None:
    """Decompress an archive, let ``edit`` change its list of lines, compress it again."""
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    lines = edit(lines)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))


def archived_site(long_trail, batch: int = 25):
    """Archive seq 1-61 in files of ``batch``; returns (bd, result)."""
    bd = long_trail.open("alice")
    result = bd.services.audit.archive(cut_at(bd, 62), batch=batch)
    return bd, result


# -- archiving -----------------------------------------------------------------------


def test_archive_moves_a_prefix_and_the_trail_stays_verifiable(long_trail):
    site = long_trail
    bd = site.open("alice")
    audit = bd.services.audit
    before = live_entries(bd)
    everything_before = audit.entries(newest_first=False)
    cut = cut_at(bd, 62)  # seq 62 starts a transaction: 1-61 are before it
    proc = site.cli("audit", "archive", "--before", cut, "--dry-run", "--batch", "25")
    assert proc.returncode == 0, proc.stderr
    assert "Would archive seq 1-25 (25 entries" in proc.stdout
    assert "Would archive seq 51-61 (11 entries" in proc.stdout
    assert "61 entries in 3 file(s) would be archived; nothing was changed" in proc.stdout
    assert archive_files(site) == [] and audit.table.count() == len(before)

    proc = site.cli("audit", "archive", "--before", cut, "--batch", "25")
    assert proc.returncode == 0, proc.stderr
    assert "Archived seq 1-25 (25 entries" in proc.stdout and "61 entries archived" in proc.stdout
    names = [p.name for p in archive_files(site)]
    assert names == ["audit-000000001-000000025.jsonl.gz", "audit-000000026-000000050.jsonl.gz",
                     "audit-000000051-000000061.jsonl.gz"]
    folder = site.data_dir / ARCHIVE_DIR
    if ON_POSTGRESQL:  # in the database: nothing in the host's data folder
        assert not folder.exists()
    else:
        assert folder.stat().st_mode & 0o777 == 0o700
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in folder.iterdir())
        assert not list(folder.glob("*.partial"))

    # the files hold the entries exactly as they were, in seq order
    archived = []
    for path in archive_files(site):
        entries, damage = read_archive(path.read_bytes())
        assert damage == []
        archived += entries
    assert archived == before[:61]

    # the live trail: what was after the cut, then one "archive" entry per file
    bd.store.refresh()
    live = live_entries(bd)
    assert [e["seq"] for e in live] == list(range(62, len(before) + 4))
    assert live[0]["prev_hash"] == before[60]["hash"]
    records = [e for e in live if e["op"] == "archive"]
    assert [r["after"]["file"] for r in records] == names
    assert records[0]["actor"] == site_account() and records[0]["table"] == "core.audit_archives"
    anchors = audit.anchors()
    assert [(a["first_seq"], a["last_seq"], a["count"]) for a in anchors] == [(1, 25, 25), (26, 50, 25), (51, 61, 11)]
    assert anchors[-1]["last_hash"] == before[60]["hash"] and anchors[0]["first_prev_hash"] == GENESIS
    assert anchors[0]["before"] == cut and len(anchors[0]["sha256"]) == 64

    assert audit.verify() == [] and audit.verify(archives=True) == []
    proc = site.cli("audit", "verify")
    assert proc.returncode == 0 and "intact" in proc.stdout and "after 61 archived ones" in proc.stdout
    proc = site.cli("audit", "verify", "--archives")
    assert proc.returncode == 0, proc.stderr
    assert "and 61 archived ones in 3 file(s)" in proc.stdout and "checked" in proc.stdout

    # nothing left to do before the same cut; writing goes on from the chain's head
    proc = site.cli("audit", "archive", "--before", cut)
    assert proc.returncode == 0 and "Nothing to archive" in proc.stdout
    bd.services.people.add_department("Sales")
    assert audit.verify(archives=True) == []
    assert_one_chain(every_entry(site))
    # listing with the archived entries gives what listing gave before archiving
    listed = audit.entries(newest_first=False, include_archived=True)
    assert [e["seq"] for e in listed] == [e["seq"] for e in every_entry(site)]
    assert [{k: v for k, v in e.items() if k != "archive"} for e in listed[:61]] == everything_before[:61]
    assert listed[0]["archive"] == names[0] and "archive" not in listed[-1]


def site_account() -> str:
    from core.services.access import current_account

    return current_account()


def test_list_reads_archived_entries_with_the_same_filters(long_trail):
    site = long_trail
    eva = site.open("eva")
    eva.services.people.add_department("Einkauf")  # an entry by eva, after the cut
    bd = site.open("alice")
    cut = cut_at(bd, 42)  # archives seq 1-41: 1-15, 16-30, 31-41
    old = bd.services.audit.entries(newest_first=True, limit=None)
    bd.services.audit.archive(cut, batch=15)
    audit = bd.services.audit
    # everything there was, newest first, and the entries recording the archiving before it
    now = audit.entries(include_archived=True, limit=None)
    assert [{k: v for k, v in e.items() if k != "archive"} for e in now[-len(old):]] == old
    assert [e["op"] for e in now[:-len(old)]] == ["archive"] * 3
    # newest first, limited: the live entries, then the newest archived ones
    page = audit.entries(include_archived=True, limit=len(live_entries(bd)) + 3)
    assert [e["seq"] for e in page[-3:]] == [41, 40, 39] and page[-1]["archive"].startswith("audit-000000031-")
    # oldest first, limited: only the first file is needed
    assert [e["seq"] for e in audit.entries(include_archived=True, newest_first=False, limit=4)] == [1, 2, 3, 4]
    # the filters hold in the archive files as in the store
    tables = audit.entries(include_archived=True, table="core.departments", limit=None)
    assert [e["after"]["name"] for e in tables] == ["Einkauf", "IT"] and "archive" in tables[1]
    assert audit.entries(table="core.departments", limit=None)[0]["after"]["name"] == "Einkauf"
    assert [e["actor"] for e in audit.entries(include_archived=True, operator="eva", limit=None)] == ["eva"]
    assert audit.entries(include_archived=True, since="2000-01-01", until="2000-12-31") == []
    day = cut[:10]
    assert len(audit.entries(include_archived=True, since=day, until=day, limit=None)) == \
        len(audit.entries(include_archived=True, limit=None))
    proc = site.cli("audit", "list", "--include-archived", "--table", "core.departments")
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()[1:]] == [str(e["seq"]) for e in tables]
    proc = site.cli("audit", "list", "--table", "core.departments")
    assert len(proc.stdout.splitlines()) == 2
    # an auditor (carla) may read them; the archive command is not hers
    carla = site.open("carla")
    assert len(carla.services.audit.entries(include_archived=True, limit=None)) == \
        len(audit.entries(include_archived=True, limit=None))
    with pytest.raises(PermissionDenied, match="core.audit.archive"):
        carla.services.audit.archive(cut)


def test_an_operator_without_the_permission_is_refused(long_trail):
    site = long_trail
    bob = site.open("bob")
    with pytest.raises(PermissionDenied, match="needs permission 'core.audit.archive'"):
        bob.services.audit.archive("2100-01-01", dry_run=True)
    site.configure(console_role="it")  # may read and verify the trail, not archive it
    for args in (["--before", "2100-01-01"], ["--before", "2100-01-01", "--dry-run"]):
        proc = site.cli("audit", "archive", *args)
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "needs permission 'core.audit.archive'" in proc.stderr and "Traceback" not in proc.stderr
    assert archive_files(site) == []
    assert site.cli("audit", "verify").returncode == 0
    site.configure(console_role="admin")  # admins hold it ("*")
    proc = site.cli("audit", "archive", "--before", "2000-01-01")
    assert proc.returncode == 0 and "Nothing to archive" in proc.stdout
    proc = site.cli("audit", "archive", "--before", "last year")
    assert proc.returncode == 2 and "before: 'last year' is not a date" in proc.stderr


def test_archiving_refuses_a_tampered_trail_and_a_second_archiver(long_trail):
    site = long_trail
    store = open_raw_store(site.config_dir, site.data_dir)
    audit = store.table("core", "audit")
    victim = audit.all()[5]
    audit.update(victim["id"], {"actor": "mallory"})
    store.close()
    bd = site.open("alice")
    with pytest.raises(BackdeskError, match=r"the audit trail has 1 problem\(s\).*was edited.*nothing was archived"):
        bd.services.audit.archive("2100-01-01")
    assert archive_files(site) == [] and bd.services.audit.anchors() == []

    # another run (any host) holds the archive: this one names it and does nothing
    other = site.open("alice")
    hold = other.store.hold(ARCHIVE_HOLD, who="host-b:4242 bob", local_dir=site.data_dir)
    assert hold.held()
    try:
        with pytest.raises(ArchiveBusy, match="being archived by host-b:4242 bob since 20"):
            other.services.audit.archive("2100-01-01")
        proc = site.cli("audit", "archive", "--before", "2100-01-01")
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
        assert "the audit trail is being archived by host-b:4242 bob since" in proc.stderr
        assert "nothing was done" in proc.stderr and proc.stdout == ""
        proc = site.cli("audit", "archive", "--before", "2100-01-01", "--dry-run")  # reads only: not held
        assert proc.returncode == 2 and "problem(s)" in proc.stderr
    finally:
        hold.release()


# -- tampering with the archives -----------------------------------------------------------


def test_an_edited_line_in_an_archive_is_named(long_trail):
    bd, result = archived_site(long_trail)
    path = archive_files(long_trail)[1]

    def edit(lines):
        entry = json.loads(lines[3])
        entry["actor"] = "mallory"
        lines[3] = json.dumps(entry)
        return lines

    rewrite(path, edit)
    assert bd.services.audit.verify() == []  # the live trail alone is intact
    proc = long_trail.cli("audit", "verify", "--archives")
    assert proc.returncode == 1
    assert f"archive {path.name} was changed after it was written" in proc.stderr
    assert f"archive {path.name}: entry 29 (seq 29) was edited: its content does not match its hash" in proc.stderr
    kinds = {(p.kind, p.archive, p.seq) for p in bd.services.audit.verify(archives=True)}
    assert ("edited", path.name, 29) in kinds


def test_a_truncated_archive_is_named(long_trail):
    bd, result = archived_site(long_trail)
    path = archive_files(long_trail)[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    proc = long_trail.cli("audit", "verify", "--archives")
    assert proc.returncode == 1
    assert f"archive {path.name}: the file is cut off (after entry seq" in proc.stderr
    assert f"archive {path.name}: entry seq" in proc.stderr and "is missing from its end" in proc.stderr
    # a line cut out of the middle (the file recompressed): the entry is named
    path = archive_files(long_trail)[1]
    rewrite(path, lambda lines: lines[:4] + lines[5:])
    proc = long_trail.cli("audit", "verify", "--archives")
    assert f"archive {path.name}: entry seq 30 was removed (it stood before entry 31, seq 31)" in proc.stderr
    # listing refuses to show a damaged archive's part and says what to do
    with pytest.raises(BackdeskError, match=r"audit-000000001-000000025.jsonl.gz( \(PostgreSQL.*\))? is damaged.*verify --archives"):
        bd.services.audit.entries(include_archived=True, limit=None)


def test_swapped_and_missing_archives_are_named(long_trail):
    bd, result = archived_site(long_trail)
    first, second, third = archive_files(long_trail)
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)
    second.write_bytes(a)
    proc = long_trail.cli("audit", "verify", "--archives")
    assert proc.returncode == 1
    for path, held in ((first, "26-50"), (second, "1-25")):
        assert f"archive {path.name} was changed after it was written" in proc.stderr
        assert f"archive {path.name} holds entries seq {held}, but its record says" in proc.stderr
    first.write_bytes(a)
    second.write_bytes(b)
    assert long_trail.cli("audit", "verify", "--archives").returncode == 0
    third.unlink()
    proc = long_trail.cli("audit", "verify", "--archives")
    assert proc.returncode == 1
    assert f"archive {third.name} is missing or unreadable" in proc.stderr
    assert "it holds entries seq 51-61" in proc.stderr


def test_a_forged_archive_with_its_record_rewritten_is_caught_by_the_trail(long_trail):
    # Replace a file AND update its record's sha256: the "archive" entry in the
    # chain still holds the real one.
    bd, result = archived_site(long_trail)
    path = archive_files(long_trail)[2]

    def forge(lines):
        entries = [json.loads(line) for line in lines]
        entries[0]["actor"] = "mallory"  # and re-chain the whole file
        prev = entries[0]["prev_hash"]
        for e in entries:
            e["prev_hash"] = prev
            e["hash"] = prev = entry_hash(e)
        return [json.dumps(e) for e in entries]

    rewrite(path, forge)
    import hashlib

    store = open_raw_store(long_trail.config_dir, long_trail.data_dir)
    anchors = store.table("core", "audit_archives")
    record = [a for a in anchors.all() if a["file"] == path.name][0]
    last = json.loads(gzip.decompress(path.read_bytes()).decode().splitlines()[-1])
    anchors.update(record["id"], {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                  "bytes": len(path.read_bytes()), "last_hash": last["hash"]})
    store.close()
    problems = [str(p) for p in bd.services.audit.verify()]
    assert f"the archive record of {path.name} was changed: it does not match entry" in " ".join(problems)
    # the live trail no longer chains to the forged last hash either
    assert any("does not chain to the archived entry seq 61" in p for p in problems)


def test_a_removed_archive_record_is_named(long_trail):
    bd, result = archived_site(long_trail)
    store = open_raw_store(long_trail.config_dir, long_trail.data_dir)
    anchors = store.table("core", "audit_archives")
    anchors.delete(anchors.all()[1]["id"])
    store.close()
    proc = long_trail.cli("audit", "verify")
    assert proc.returncode == 1
    assert "the record of archived entries seq 26-50 was removed" in proc.stderr
    proc = long_trail.cli("audit", "verify", "--archives")
    assert "archive audit-000000026-000000050.jsonl.gz is not named by any archive record" in proc.stderr


# -- crashes and concurrency ---------------------------------------------------------------

CRASH = """
import os, sys
from core.services.audit import AuditTrail
from core.plugins.runtime import open_backdesk
bd = open_backdesk(sys.argv[1], sys.argv[2], account="alice")
where = sys.argv[4]
if where == "before-commit":      # the file is written and renamed, the transaction never runs
    AuditTrail._commit_archive = lambda self, chunk, plan: os._exit(9)
elif where == "before-rename":    # killed while the file is still a .partial
    os.replace = lambda *a: os._exit(9)
bd.services.audit.archive(sys.argv[3], batch=25)
"""


def run_crash(site, cut: str, where: str) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", CRASH, str(site.config_dir), str(site.data_dir), cut, where],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr


def test_a_crash_between_the_file_and_the_transaction_loses_and_doubles_nothing(long_trail):
    site = long_trail
    bd = site.open("alice")
    original = live_entries(bd)
    if not ON_POSTGRESQL:  # (on PostgreSQL a file is stored in one transaction: nothing half-way)
        run_crash(site, cut_at(bd, 42), "before-rename")
        (partial,) = (site.data_dir / ARCHIVE_DIR).glob(".*.partial")
        assert partial.name.startswith(".audit-000000001-000000025.jsonl.gz.")
        assert archive_files(site) == []
        assert bd.services.audit.verify(archives=True) == []

    run_crash(site, cut_at(bd, 42), "before-commit")
    # the first file is on disk, complete; no record names it; every entry is still live
    assert not list((site.data_dir / ARCHIVE_DIR).glob(".*.partial"))
    (left,) = archive_files(site)
    assert left.name == "audit-000000001-000000025.jsonl.gz"
    assert not ON_POSTGRESQL or not (site.data_dir / ARCHIVE_DIR).exists()
    assert read_archive(left.read_bytes())[0] == original[:25]
    bd.store.refresh()
    assert live_entries(bd) == original and bd.services.audit.anchors() == []
    # a leftover whose entries are all live is harmless: verify passes
    assert bd.services.audit.verify(archives=True) == []
    assert site.cli("audit", "verify", "--archives").returncode == 0

    # rerun, with a later cut: the leftover goes, each entry ends up in exactly one place
    proc = site.cli("audit", "archive", "--before", cut_at(bd, 52), "--batch", "25")
    assert proc.returncode == 0, proc.stderr
    assert "Removed audit-000000001-000000025.jsonl.gz, left by an interrupted run" in proc.stdout
    assert [p.name for p in archive_files(site)] == ["audit-000000001-000000025.jsonl.gz",
                                                      "audit-000000026-000000050.jsonl.gz",
                                                      "audit-000000051-000000051.jsonl.gz"]
    assert not list((site.data_dir / ARCHIVE_DIR).glob(".*.partial"))
    everything = every_entry(site)
    assert_one_chain(everything)
    assert everything[:len(original)] == original
    assert site.cli("audit", "verify", "--archives").returncode == 0


def test_a_failing_transaction_removes_nothing_and_a_rerun_completes(long_trail):
    site = long_trail
    bd = site.open("alice")
    original = live_entries(bd)

    def refuse(changes):
        if any(c.table == "core.audit" and c.op == "delete" for c in changes):
            raise RuntimeError("disk full, say")

    unsubscribe = bd.store.before_commit(refuse)
    with pytest.raises(RuntimeError, match="disk full"):
        bd.services.audit.archive(cut_at(bd, 42), batch=25)
    assert live_entries(bd) == original and bd.services.audit.anchors() == []
    assert len(archive_files(site)) == 1 and bd.services.audit.verify(archives=True) == []
    unsubscribe()
    result = bd.services.audit.archive(cut_at(bd, 42), batch=25)
    assert result.removed == ["audit-000000001-000000025.jsonl.gz"]
    assert [f["count"] for f in result.files] == [25, 16]
    assert_one_chain(every_entry(site))
    assert every_entry(site)[:len(original)] == original
    assert bd.services.audit.verify(archives=True) == []


WRITER = """
import sys
from core.plugins.runtime import open_backdesk
bd = open_backdesk(sys.argv[1], sys.argv[2], account="eva")
print("ready", flush=True)
for i in range(int(sys.argv[3])):
    bd.services.people.add_department(f"Writer {i}")
bd.close()
print("done", flush=True)
"""


def test_a_concurrent_writer_loses_nothing_and_the_chain_holds(long_trail):
    site = long_trail
    bd = site.open("alice")
    people = bd.services.people
    for n in range(60):  # more to archive: 40 more transactions
        people.add_department(f"Before {n}")
    original = live_entries(bd)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(site.config_dir), str(site.data_dir), "80"],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        result = bd.services.audit.archive(cut_at(bd, original[-1]["seq"]), batch=7)
        out, err = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0 and "done" in out, err
    last_transaction = [e for e in original if e["at"] == original[-1]["at"]]
    assert result.archived == len(original) - len(last_transaction) > 100
    bd.store.refresh()
    everything = every_entry(site)
    assert_one_chain(everything)
    assert everything[:len(original)] == original
    written = [e for e in everything if e["table"] == "core.departments" and e["actor"] == "eva"]
    assert [e["after"]["name"] for e in written] == [f"Writer {i}" for i in range(80)]
    assert bd.services.audit.verify(archives=True) == []
    assert site.cli("audit", "verify", "--archives").returncode == 0


# -- the store gets smaller -----------------------------------------------------------------


@pytest.mark.tinydb_only("about the TinyDB store's snapshot files")
def test_the_store_is_compacted_after_archiving(long_trail):
    site = long_trail
    bd = site.open("alice")
    for n in range(100):
        bd.services.people.add_department(f"Department {n}")
    bd.store.compact()
    snapshot = site.data_dir / "core" / "audit.json"
    size = snapshot.stat().st_size
    result = bd.services.audit.archive(cut_at(bd, live_entries(bd)[-1]["seq"]))
    assert result.compacted
    assert snapshot.stat().st_size < size / 10
    journals = list(site.data_dir.glob("journal-*.log"))
    assert len(journals) == 1 and journals[0].stat().st_size == 0
    # a new process loads only the live part
    other = site.open("carla")
    assert other.services.audit.table.count() == result.live == 2  # the last change, the archiving
    assert other.services.audit.verify(archives=True) == []


def test_archive_files_are_the_same_bytes_for_the_same_entries(long_trail):
    # gzip without a time stamp: a rerun after a crash writes the same file
    site = long_trail
    bd = site.open("alice")
    entries = live_entries(bd)[:10]
    from core.services.audit import encode_archive

    assert encode_archive(entries) == encode_archive([dict(e) for e in entries])
    assert read_archive(encode_archive(entries)) == (entries, [])
    assert AuditTrail.TABLES[-1].name == "audit_archives"


async def test_the_audit_screen_shows_archived_entries_on_a(long_trail):
    from tests.pilot import open_screen, wait_for

    from core.shell.app import make_app

    bd, result = archived_site(long_trail)
    live = bd.services.audit.table.count()
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_screen(pilot, "audit")
        table = app.screen.query_one("#audit-table")
        await wait_for(pilot, lambda: table.row_count == live)
        assert table.record_at(0)["op"] == "archive" and table.record_at(live - 1)["seq"] == 62
        assert "archived entries seq 51-61 (11) to audit-000000051-000000061" in table.record_at(0)["what"]
        table.focus()
        await pilot.press("a")
        await wait_for(pilot, lambda: table.row_count == live + 61)
        assert table.record_at(live + 60)["seq"] == 1
        assert table.record_at(live + 60)["archive"] == "audit-000000001-000000025.jsonl.gz"
        await pilot.press("v")  # with the archives shown, they are checked too
        await wait_for(pilot, lambda: any(f"intact: {live + 61} entries" in str(n.message)
                                          for n in app._notifications))
        await pilot.press("a")
        await wait_for(pilot, lambda: table.row_count == live)
