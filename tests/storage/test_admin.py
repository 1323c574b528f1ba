"""backup, restore, check and export: the functions behind the CLI."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from storage_helpers import fingerprint

from core.storage import StorageError, backup, check, export_table, open_store, restore

pytestmark = pytest.mark.tinydb_only("check/backup/restore/export of a TinyDB data folder "
                                     "(the PostgreSQL ones: test_pg.py)")


@pytest.fixture
def filled(data_dir):
    s = open_store(data_dir)
    t = s.table("hr", "cases")
    t.insert({"title": "Printer, jammed", "tags": ["a", "b"], "open": True})
    t.insert({"title": "Toner", "address": {"city": "Köln"}, "amount": "12.50"})
    s.compact()
    t.insert({"title": "After compaction", "n": 3})
    s.close()
    return data_dir


def test_check_sound_store(filled):
    assert check(filled) == []


def test_check_lists_each_problem_on_one_line(filled):
    (filled / "hr" / "cases.json").write_bytes(b"garbage")
    os.chmod(filled / "store.json", 0o644)
    problems = check(filled)
    assert len(problems) == 2
    assert all("\n" not in p for p in problems)
    assert any("cases.json" in p for p in problems)
    assert any("store.json: mode 0644" in p and "chmod 600" in p for p in problems)


def test_check_non_store(tmp_path):
    assert "missing" in check(tmp_path)[0]
    assert "not a directory" in check(tmp_path / "nope")[0]


def test_backup_and_restore(filled, tmp_path):
    dest = tmp_path / "backup"
    backup(filled, dest)
    assert check(dest) == []
    assert not (dest / ".lock").exists()
    with pytest.raises(StorageError, match="not empty"):
        backup(filled, dest)
    with pytest.raises(StorageError, match="inside the data directory"):
        backup(filled, filled / "backups" / "x")

    s = open_store(filled)
    t = s.table("hr", "cases")
    t.insert({"title": "made after the backup"})
    t.delete(1)
    before = t.all()

    aside = restore(dest, filled)
    assert aside and os.path.isdir(aside) and aside.startswith(str(filled / "backups"))
    assert t.count() == 3 and t.get(1)["title"] == "Printer, jammed"  # the open store reloads
    s.close()
    s = open_store(filled)
    assert [d["title"] for d in s.table("hr", "cases").all()] == ["Printer, jammed", "Toner", "After compaction"]
    assert s.table("hr", "cases").insert({"x": 1}) == 4
    s.close()
    replaced = open_store(aside)  # the data restore replaced is kept
    assert replaced.table("hr", "cases").all() == before
    replaced.close()


def test_restore_refuses_bad_sources(filled, tmp_path):
    before = fingerprint(filled)
    with pytest.raises(StorageError, match="not a Backdesk backup"):
        restore(tmp_path, filled)
    dest = tmp_path / "b"
    backup(filled, dest)
    (dest / "hr" / "cases.json").write_bytes(b"{}")
    with pytest.raises(StorageError, match="not sound"):
        restore(dest, filled)
    assert fingerprint(filled) == before


def test_restore_into_new_directory(filled, tmp_path):
    dest = tmp_path / "b"
    backup(filled, dest)
    assert restore(dest, tmp_path / "fresh") is None
    s = open_store(tmp_path / "fresh")
    assert s.table("hr", "cases").count() == 3
    s.close()


def test_store_backup_method(filled, tmp_path):
    s = open_store(filled)
    with s.transaction():
        s.table("hr", "cases").insert({"x": 1})
        s.backup(tmp_path / "inside")  # committed data only
    s.backup(tmp_path / "after")
    s.close()
    for name, count in (("inside", 3), ("after", 4)):
        c = open_store(tmp_path / name)
        assert c.table("hr", "cases").count() == count
        c.close()


def test_export_json_and_csv(filled):
    s = open_store(filled)
    out = io.StringIO()
    assert export_table(s, "hr.cases", "json", out) == 3
    docs = json.loads(out.getvalue())
    assert docs[1] == {"id": 2, "title": "Toner", "address": {"city": "Köln"}, "amount": "12.50"}

    out = io.StringIO()
    export_table(s, "hr.cases", "csv", out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["id", "title", "tags", "open", "address", "amount", "n"]
    assert rows[1] == ["1", "Printer, jammed", '["a", "b"]', "true", "", "", ""]
    assert rows[2] == ["2", "Toner", "", "", '{"city": "Köln"}', "12.50", ""]
    assert rows[3][-1] == "3"
    with pytest.raises(StorageError, match="no such table"):
        export_table(s, "hr.nope", "csv", io.StringIO())
    with pytest.raises(StorageError, match="json or csv"):
        export_table(s, "hr.cases", "xml", io.StringIO())
    assert s.tables() == ["hr.cases"]  # exporting created nothing
    s.close()


def test_backup_and_restore_carry_the_plugins_files(filled, tmp_path):
    """The documents' files, CVs and audit archives live beside the store:
    a backup holds them and a restore brings them back; the store's own
    files, temporary files, backups/ and symlinks are not copied twice or
    followed."""
    data = str(filled)
    blob = os.path.join(data, "documents", "files", "ab", "abcdef")
    os.makedirs(os.path.dirname(blob), mode=0o700)
    with open(blob, "wb") as fh:
        fh.write(b"%PDF-1.4 the contract")
    os.makedirs(os.path.join(data, "audit-archive"), mode=0o700)
    with open(os.path.join(data, "audit-archive", "audit-1-9.jsonl.gz"), "wb") as fh:
        fh.write(b"\x1f\x8b archived entries")
    with open(os.path.join(data, "documents", "files", "x.123.tmp"), "wb") as fh:
        fh.write(b"half written")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not ours")
    os.symlink(outside, os.path.join(data, "documents", "link"))
    dest = tmp_path / "bak"
    backup(data, dest)
    copied = dest / "documents" / "files" / "ab" / "abcdef"
    assert copied.read_bytes() == b"%PDF-1.4 the contract"
    assert (copied.stat().st_mode & 0o777) == 0o600
    assert (dest / "audit-archive" / "audit-1-9.jsonl.gz").read_bytes() == b"\x1f\x8b archived entries"
    assert not (dest / "documents" / "files" / "x.123.tmp").exists()
    assert not (dest / "documents" / "link").exists() and not (dest / "backups").exists()
    assert check(dest) == []
    # the live folder loses the file; the restore brings it back
    os.unlink(blob)
    aside = restore(dest, data)
    assert open(blob, "rb").read() == b"%PDF-1.4 the contract"
    assert os.path.exists(os.path.join(data, "audit-archive", "audit-1-9.jsonl.gz"))
    assert aside and os.path.isdir(aside)
    assert check(data) == []


# -- backups that cannot be mistaken for whole (#16) ----------------------------------


def _with_documents(data_dir, n=5):
    for i in range(n):
        path = os.path.join(str(data_dir), "documents", "files", f"{i:02d}", f"doc{i}")
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(f"%PDF-1.4 document {i}".encode())


def test_a_backup_is_sealed_last_with_what_it_holds(filled, tmp_path):
    _with_documents(filled)
    dest = tmp_path / "bak"
    backup(filled, dest, by="alice")
    marker = json.loads((dest / "backup.json").read_text())
    assert marker["format"] == "backdesk-backup" and marker["by"] == "alice"
    assert marker["source"] == str(filled)
    assert not (dest / "backup.partial").exists()
    listed = marker["files"]
    assert "documents/files/03/doc3" in listed and "store.json" in listed and "hr/cases.json" in listed
    assert marker["count"] == len(listed) == sum(1 for p in dest.rglob("*") if p.is_file()) - 1
    import hashlib
    assert listed["documents/files/03/doc3"]["sha256"] == hashlib.sha256(b"%PDF-1.4 document 3").hexdigest()
    assert (dest / "backup.json").stat().st_mode & 0o777 == 0o600
    assert check(dest) == []


def test_an_interrupted_backup_is_refused_by_check_and_restore(filled, tmp_path):
    """A backup killed after the store was copied but before the documents
    were: store.json is there, the marker is not (the old code restored it
    and check called it sound)."""
    _with_documents(filled)
    dest = tmp_path / "bak"
    backup(filled, dest)
    # what a kill before the marker leaves: backup.partial, no backup.json, a document missing
    os.unlink(dest / "backup.json")
    (dest / "backup.partial").write_text("a backup was being written here\n")
    os.unlink(dest / "documents" / "files" / "04" / "doc4")
    before = fingerprint(filled)
    problems = check(dest)
    assert problems and "incomplete backup" in problems[0] and "\n" not in problems[0]
    with pytest.raises(StorageError, match="the backup is not sound.*incomplete backup"):
        restore(dest, filled)
    assert fingerprint(filled) == before
    # without even backup.partial (a store folder copied by hand): not a backup
    os.unlink(dest / "backup.partial")
    with pytest.raises(StorageError, match="not a Backdesk backup .no backup.json"):
        restore(dest, filled)
    assert fingerprint(filled) == before


@pytest.mark.parametrize("damage", ["changed", "removed", "added", "marker"])
def test_an_altered_backup_is_refused(filled, tmp_path, damage):
    _with_documents(filled)
    dest = tmp_path / "bak"
    backup(filled, dest)
    doc = dest / "documents" / "files" / "02" / "doc2"
    if damage == "changed":
        doc.write_bytes(b"%PDF-1.4 document X")  # same size, other bytes
        expected = "doc2: changed since the backup was made"
    elif damage == "removed":
        doc.unlink()
        expected = "doc2: missing from the backup"
    elif damage == "added":
        (dest / "documents" / "files" / "02" / "planted").write_bytes(b"#!/bin/sh")
        expected = "planted: added after the backup was made"
    else:
        (dest / "backup.json").write_text('{"format": "backdesk-backup", "files"')
        expected = "backup.json: not a backup's completion marker"
    before = fingerprint(filled)
    assert expected in " ".join(check(dest))
    with pytest.raises(StorageError, match="nothing was restored") as err:
        restore(dest, filled)
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert fingerprint(filled) == before


def test_the_data_a_restore_replaced_is_sealed_and_can_be_restored_back(filled, tmp_path):
    dest = tmp_path / "bak"
    backup(filled, dest)
    s = open_store(filled)
    s.table("hr", "cases").insert({"title": "made after the backup"})
    s.close()
    aside = restore(dest, filled, by="bob")
    assert json.loads(open(os.path.join(aside, "backup.json")).read())["by"] == "bob"
    assert check(aside) == []
    restore(aside, filled)
    s = open_store(filled)
    assert s.table("hr", "cases").find({"title": "made after the backup"})
    s.close()
