"""History that cannot be rewritten unnoticed (#16): the audit trail's key,
its anchors, and `backdesk check` verifying the chain — on both backends.

The attacker here writes the store below the services (as whoever holds the
data folder's files or the database can): the trail rewritten from its
first entry with every SHA-256 recomputed, the head moved along. The plain
chain cannot see that; the key and the anchors must."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.services.audit import AUDIT, GENESIS, HEAD, entry_hash


def run(site, *args):
    return subprocess.run([sys.executable, "-m", "core", *site.cli_args(), *args],
                          capture_output=True, text=True, timeout=300)


def fill(site, n=3):
    bd = site.open("alice")
    try:
        people = bd.services.people
        depts = bd.table("core.departments").all()
        dept = depts[0]["id"] if depts else people.add_department("Office")
        start = bd.table("core.people").count()
        for i in range(start, start + n):
            people.add_person(name=f"Anna Schmidt {i}", department_id=dept)
    finally:
        bd.close()


def rewrite_from_the_start(site, *, mac=None):
    """Change what entry 1 recorded, then recompute every hash after it and
    the head (``mac``: what the attacker leaves in the head)."""
    bd = site.open("alice")
    try:
        trail, head_table = bd.table(AUDIT), bd.table(HEAD)
        entries = sorted(trail.all(), key=lambda e: e["id"])
        assert len(entries) >= 3
        with bd.store.transaction():
            prev = GENESIS
            for i, entry in enumerate(entries):
                if i == 0:
                    entry["actor"] = "nobody"
                entry["prev_hash"] = prev
                entry["hash"] = prev = entry_hash(entry)
                trail.replace(entry["id"], entry)
            head = head_table.get(1)
            head_table.update(1, {"hash": prev, "mac": mac(head) if mac else None})
    finally:
        bd.close()


def test_check_verifies_the_audit_chain(site):
    fill(site)
    assert run(site, "check").returncode == 0
    bd = site.open("alice")
    try:
        trail = bd.table(AUDIT)
        first = min(trail.all(), key=lambda e: e["id"])
        with bd.store.transaction():
            trail.update(first["id"], {"actor": "nobody"})
    finally:
        bd.close()
    proc = run(site, "check")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"audit trail: entry {first['id']} (seq {first['seq']}) was edited" in proc.stderr


def test_an_anchor_finds_a_trail_rewritten_from_the_start(site, tmp_path):
    fill(site)
    anchors = tmp_path / "elsewhere" / "anchors.log"
    anchors.parent.mkdir()
    proc = run(site, "audit", "anchor", "-o", str(anchors))
    assert proc.returncode == 0, proc.stderr
    assert (anchors.stat().st_mode & 0o777) == 0o600
    anchor = json.loads(anchors.read_text())
    assert anchor["format"] == "backdesk-audit-anchor" and anchor["seq"] >= 3
    fill(site, 1)  # more entries after the anchor: still matches
    # a second anchor through syslog-like lines: prefixes are ignored
    line = run(site, "audit", "anchor").stdout.strip()
    with anchors.open("a") as fh:
        fh.write(f"Dec  6 18:00:00 host backdesk: {line}\n")
    proc = run(site, "audit", "verify", "--anchor", str(anchors))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "The 2 anchor(s)" in proc.stdout

    rewrite_from_the_start(site)
    proc = run(site, "audit", "verify")
    assert proc.returncode == 0  # the plain chain cannot see it: that is what the anchor is for
    proc = run(site, "audit", "verify", "--anchor", str(anchors))
    assert proc.returncode == 1
    assert f"TAMPERED: entry seq {anchor['seq']} is not the one the anchor of {anchor['at']}" in proc.stderr
    assert "the trail was rewritten up to there" in proc.stderr

    proc = run(site, "audit", "verify", "--anchor", str(tmp_path / "elsewhere"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    (tmp_path / "empty.log").write_text("nothing here\n")
    proc = run(site, "audit", "verify", "--anchor", str(tmp_path / "empty.log"))
    assert proc.returncode == 2 and "holds no audit anchor" in proc.stderr


def test_a_keyed_trail_rewritten_without_the_key_fails_verify_and_check(site):
    fill(site)
    proc = run(site, "audit", "key")
    assert proc.returncode == 0, proc.stderr
    key = site.config_dir / "audit.key"
    assert (key.stat().st_mode & 0o777) == 0o600 and len(key.read_text().strip()) == 64
    assert run(site, "audit", "key").returncode == 2  # never replaced
    fill(site, 1)
    proc = run(site, "audit", "verify")
    assert proc.returncode == 0 and "keyed hash" in proc.stdout, proc.stdout + proc.stderr
    assert run(site, "check").returncode == 0
    bd = site.open("alice")
    old_mac = bd.table(HEAD).get(1)["mac"]
    keyed = bd.table(AUDIT).find({"op": "key"})
    bd.close()
    assert old_mac and keyed and keyed[0]["actor"]

    rewrite_from_the_start(site, mac=lambda head: old_mac)  # the attacker keeps the old keyed hash
    proc = run(site, "audit", "verify")
    assert proc.returncode == 1
    assert "does not match its keyed hash: the trail was rewritten by someone without the audit key" in proc.stderr
    proc = run(site, "check")
    assert proc.returncode == 1 and "audit trail: the head of the trail" in proc.stderr

    rewrite_from_the_start(site)  # ... or drops it
    proc = run(site, "audit", "verify")
    assert proc.returncode == 1 and "carries no keyed hash" in proc.stderr

    # the key gone: the trail cannot be checked, and says so
    os.rename(key, site.config_dir / "elsewhere.key")
    rewrite_from_the_start(site, mac=lambda head: old_mac)
    proc = run(site, "audit", "verify")
    assert proc.returncode == 1 and "written with an audit key, but there is none" in proc.stderr


def test_the_key_stays_outside_the_data_folder(site):
    fill(site, 1)
    env = dict(os.environ, BACKDESK_AUDIT_KEY=str(site.data_dir / "audit.key"))
    proc = subprocess.run([sys.executable, "-m", "core", *site.cli_args(), "audit", "key"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2 and "outside the data folder" in proc.stderr
    assert not (site.data_dir / "audit.key").exists()
    proc = subprocess.run([sys.executable, "-m", "core", *site.cli_args(), "audit", "key"],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, BACKDESK_AUDIT_KEY=str(site.config_dir / "k")))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.tinydb_only("restores a data folder (a PostgreSQL site restores into an empty schema: "
                         "tests/shell/test_pg_restore.py)")
def test_an_anchor_taken_before_a_restore_names_the_restore(site, tmp_path):
    fill(site)
    assert run(site, "backup", str(tmp_path / "b")).returncode == 0
    fill(site, 2)
    anchors = tmp_path / "anchors.log"
    assert run(site, "audit", "anchor", "-o", str(anchors)).returncode == 0
    assert run(site, "restore", str(tmp_path / "b")).returncode == 0
    assert run(site, "audit", "verify").returncode == 0
    proc = run(site, "audit", "verify", "--anchor", str(anchors))
    assert proc.returncode == 1
    assert "a restore at" in proc.stderr and "replaced-by-restore" in proc.stderr
