"""backup, restore, check and export as an operator runs them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(site, *args):
    return subprocess.run([sys.executable, "-m", "core", *site.cli_args(), *args],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.tinydb_only("restores a data folder; a PostgreSQL site restores into an empty schema "
                         "(tests/shell/test_pg_restore.py)")
def test_export_backup_check_restore_roundtrip(site, tmp_path):
    site.plugins([{"name": "greeter", "sample": True}])
    assert run(site, "demo").returncode == 0

    proc = run(site, "export", "core.people", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 40 and rows[0]["id"] == "1"

    proc = run(site, "export", "greeter.greetings", "--format", "json")
    assert [d["by"] for d in json.loads(proc.stdout)] == ["demo0", "demo1", "demo2"]

    dest = tmp_path / "backup1"
    proc = run(site, "backup", str(dest))
    assert proc.returncode == 0, proc.stderr
    assert f"Backup written to {dest}" in proc.stdout

    # change the live data after the backup, then restore
    script = ("from core.plugins.runtime import open_backdesk\n"
              f"bd = open_backdesk({str(site.config_dir)!r}, {str(site.data_dir)!r}, account='alice')\n"
              "bd.context('greeter').table('greetings').insert({'by': 'after-backup'})\nbd.close()\n")
    assert subprocess.run([sys.executable, "-c", script]).returncode == 0
    proc = run(site, "export", "greeter.greetings", "--format", "json")
    assert len(json.loads(proc.stdout)) == 4

    proc = run(site, "restore", str(dest))
    assert proc.returncode == 0, proc.stderr
    proc = run(site, "export", "greeter.greetings", "--format", "json")
    assert [d["by"] for d in json.loads(proc.stdout)] == ["demo0", "demo1", "demo2"]
    assert run(site, "check").returncode == 0


def test_bad_export_names_and_formats(site):
    site.plugins([{"name": "greeter", "sample": True}])
    proc = run(site, "export", "greeter.nothing")
    assert proc.returncode == 2
    assert "no table named 'greeter.nothing'" in proc.stderr and "Traceback" not in proc.stderr
    proc = run(site, "export", "nodot")
    assert proc.returncode == 2 and "PLUGIN.TABLE" in proc.stderr
    proc = run(site, "export", "core.people", "--format", "xml")
    assert proc.returncode == 2


@pytest.mark.tinydb_only("damages a TinyDB journal file in the data folder")
def test_check_names_a_damaged_file_and_leaves_it_alone(site):
    site.plugins([{"name": "greeter", "sample": True}])
    assert run(site, "demo").returncode == 0
    # the demo ends with a compaction: a few changes after it give the journal lines
    from core.storage.engine import open_store

    store = open_store(site.data_dir)
    for n in range(3):
        with store.transaction():
            store.table("greeter", "greetings").insert({"by": f"after the demo {n}"})
    store.close()
    journals = sorted(site.data_dir.glob("**/*journal*"))
    assert journals, list(site.data_dir.rglob("*"))
    journal = [p for p in journals if p.is_file() and p.stat().st_size > 0][0]
    data = bytearray(journal.read_bytes())
    # flip a byte in the middle of the first line: damage followed by good lines
    data[20] = ord("#") if data[20] != ord("#") else ord("$")
    journal.write_bytes(bytes(data))
    before = journal.read_bytes()
    proc = run(site, "check")
    assert proc.returncode == 1
    assert journal.name in proc.stderr
    assert journal.read_bytes() == before


def test_backup_refuses_a_non_empty_destination(site, tmp_path):
    site.plugins([])
    assert run(site, "demo").returncode == 0
    dest = tmp_path / "occupied"
    dest.mkdir()
    (dest / "something").write_text("keep me")
    proc = run(site, "backup", str(dest))
    assert proc.returncode == 2
    assert (dest / "something").read_text() == "keep me"


@pytest.mark.tinydb_only("restores a data folder (a PostgreSQL site restores into an empty schema: "
                         "tests/shell/test_pg_restore.py)")
def test_a_restore_is_recorded_in_the_audit_trail(site, tmp_path):
    """backup -> changes -> restore erased the changes and their audit
    entries, and nothing said a restore happened: now the restore is an
    entry of the trail (who, when, which backup, the replaced trail's head),
    and the replaced data is kept, sealed, beside."""
    from core.services.access import current_account

    site.plugins([{"name": "greeter", "sample": True}])
    assert run(site, "demo").returncode == 0
    dest = tmp_path / "backup1"
    assert run(site, "backup", str(dest)).returncode == 0
    bd = site.open("alice")
    bd.context("greeter").table("greetings").insert({"by": "after-backup"})
    replaced = bd.services.audit.head.get(1)
    bd.close()

    proc = run(site, "restore", str(dest))
    assert proc.returncode == 0, proc.stderr
    aside = proc.stdout.strip().rsplit(" ", 1)[-1]
    proc = run(site, "audit", "list", "--format", "json", "--limit", "1")
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads(proc.stdout)
    assert entry["op"] == "restore" and entry["actor"] == current_account()
    assert entry["after"]["backup"] == str(dest) and entry["after"]["by"] == current_account()
    assert entry["before"]["seq"] == replaced["seq"] and entry["before"]["hash"] == replaced["hash"]
    assert entry["before"]["data"] == aside
    assert f"up to seq {replaced['seq']}" in entry["what"]
    proc = run(site, "audit", "verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the replaced data is a backup of its own
    assert (tmp_path / "data" / "backups").is_dir() and (Path(aside) / "backup.json").is_file()


@pytest.mark.tinydb_only("kills `backdesk backup` of a TinyDB data folder")
def test_backups_killed_at_random_points_are_refused_or_restore_whole(site, tmp_path):
    """bench/backup_kill.py: 20 rounds of `backdesk backup` killed (SIGKILL)
    when its destination holds a random number of files; each backup left
    restores whole or is refused (before: a backup killed after the store
    was copied restored with documents missing)."""
    assert run(site, "demo").returncode == 0
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "backup_kill.py"), *site.cli_args(),
                           "--rounds", "20", "--files", "200", "--seed", "3", "--work", str(tmp_path / "k"),
                           "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rounds = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rounds) == 20 and all(r["ok"] for r in rounds)
    cut = [r for r in rounds if r["killed"] and r["store_copied"]]
    assert cut and all(r["verdict"] == "refused" and "incomplete backup" in r["why"] for r in cut)
    assert any(r["finished"] and r["verdict"] == "restored" and r["whole"] for r in rounds)


@pytest.mark.tinydb_only("restores a data folder (a PostgreSQL site restores into an empty schema: "
                         "tests/shell/test_pg_restore.py)")
def test_a_restore_killed_before_its_entry_is_recorded_by_the_next_session(site, tmp_path):
    """The restore leaves its note in the data folder under the lock; the
    first session that opens records it (once) — a `backdesk restore`
    killed right after the files were put back is not a silent one."""
    from core.storage import restore

    assert run(site, "demo").returncode == 0
    dest = tmp_path / "b"
    assert run(site, "backup", str(dest)).returncode == 0
    # what the command does before it opens the store, and no more
    aside = restore(dest, site.data_dir, by="carol", note={"backup": str(dest), "marker": None,
                                                          "replaced": {"seq": 99, "hash": "ab" * 32}})
    assert (site.data_dir / "restore.pending.json").is_file()
    first, second = site.open("alice"), site.open("alice")  # two sessions: one entry
    try:
        entries = first.table("core.audit").find({"op": "restore"})
        assert len(entries) == 1 and entries[0]["actor"] == "carol"
        assert entries[0]["before"] == {"seq": 99, "hash": "ab" * 32, "data": aside}
    finally:
        first.close()
        second.close()
    assert not (site.data_dir / "restore.pending.json").exists()
    assert run(site, "audit", "verify").returncode == 0
    assert run(site, "check").returncode == 0
