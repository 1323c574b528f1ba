"""Committed state that a cut journal cannot take away silently (issue #16).

A journal cut at a line boundary (a disk or copy fault) looks like a shorter,
perfectly valid journal. ``store.head`` (the last committed seq, kept outside
the journal) and the snapshots' seqs are what the cut cannot remove: the
store refuses to load and ``check`` names the journal, so no id and no seq of
a lost change is handed out again. An interrupted last write (never
committed) is still discarded by the next writer, with one line.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import pytest
from storage_helpers import fingerprint

from core.storage import CorruptData, StorageError, check, open_store
from core.storage.files import HEAD, MANIFEST, journal_name

pytestmark = pytest.mark.tinydb_only("cuts and damages the TinyDB backend's journal and snapshot files")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _fill(data_dir, n: int = 6, *, compact_after: int | None = None) -> None:
    s = open_store(data_dir)
    t = s.table("hr", "cases")
    for i in range(n):
        t.insert({"i": i, "text": "words " * 4})
        if compact_after is not None and i == compact_after:
            s.compact()
    s.close()


def _cut_lines(path, n: int) -> bytes:
    """Remove the last ``n`` complete lines of a journal (a clean cut: every
    line left is valid); returns what was removed."""
    data = path.read_bytes()
    lines = data.split(b"\n")[:-1]
    kept = b"".join(line + b"\n" for line in lines[:-n])
    path.write_bytes(kept)
    return data[len(kept):]


def test_a_journal_cut_at_a_line_boundary_is_refused_and_named(data_dir):
    _fill(data_dir)
    journal = data_dir / journal_name(1)
    _cut_lines(journal, 2)  # the last two committed inserts are gone
    before = fingerprint(data_dir)
    with pytest.raises(CorruptData) as info:
        open_store(data_dir)
    msg = str(info.value)
    assert str(journal) in msg and "\n" not in msg
    assert "committed changes are missing" in msg and "not an interrupted write" in msg
    assert "backdesk restore" in msg
    problems = check(data_dir)
    assert len(problems) == 1 and str(journal) in problems[0] and "seq 6-7 were cut off" in problems[0]
    assert fingerprint(data_dir) == before  # nothing was touched


def test_a_running_writer_refuses_rather_than_reusing_ids(data_dir):
    _fill(data_dir)
    s = open_store(data_dir)
    t = s.table("hr", "cases")
    assert t.count() == 6
    journal = data_dir / journal_name(1)
    # another process' copy fault cuts the journal while this one is open,
    # and this process had not yet read the last lines
    s._jpos = 0
    s._seq = 0
    s._states.clear()
    s._manifest_id = ()
    _cut_lines(journal, 1)
    with pytest.raises(CorruptData, match="committed changes are missing"):
        t.insert({"would": "reuse id 6"})
    s.close()
    assert "would" not in journal.read_text()


def test_the_interrupted_last_write_is_still_discarded_with_one_line(data_dir, caplog):
    _fill(data_dir)
    journal = data_dir / journal_name(1)
    good = journal.read_bytes()
    journal.write_bytes(good + b'0badc0de {"seq":8,"ops":[{"op":"ins')  # a writer killed mid-write
    assert check(data_dir) == []
    s = open_store(data_dir)
    with caplog.at_level(logging.WARNING, logger="backdesk.storage"):
        assert s.table("hr", "cases").insert({"after": "crash"}) == 7
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "never committed" in lines[0] and str(journal) in lines[0]
    s.close()
    assert journal.read_bytes().startswith(good)


def test_a_damaged_committed_last_line_is_not_taken_for_an_interrupted_write(data_dir):
    _fill(data_dir)
    journal = data_dir / journal_name(1)
    data = bytearray(journal.read_bytes())
    data[-5] ^= 0x20  # the last, committed line no longer matches its checksum
    journal.write_bytes(bytes(data))
    before = fingerprint(data_dir)
    with pytest.raises(CorruptData, match="committed changes are missing"):
        open_store(data_dir)
    assert check(data_dir) and fingerprint(data_dir) == before  # not cut off as a torn tail


def test_a_replaced_journal_of_the_same_length_is_found(data_dir):
    _fill(data_dir, 3)
    journal = data_dir / journal_name(1)
    lines = journal.read_bytes().split(b"\n")[:-1]
    # the last line swapped for a different valid transaction with the same seq
    s = open_store(data_dir)
    s.close()
    other = data_dir.parent / "other"
    o = open_store(other)
    t = o.table("hr", "cases")
    for i in range(3):
        t.insert({"i": i, "text": "WORDS " * 4})
    o.close()
    foreign = (other / journal_name(1)).read_bytes().split(b"\n")[:-1]
    journal.write_bytes(b"".join(line + b"\n" for line in lines[:-1] + foreign[-1:]))
    with pytest.raises(CorruptData, match="not the one that was committed"):
        open_store(data_dir)


def test_store_head_survives_compaction_and_lags_safely(data_dir):
    _fill(data_dir, 6, compact_after=2)
    assert (data_dir / HEAD).stat().st_mode & 0o777 == 0o600
    assert check(data_dir) == []
    # a head that lags (the pwrite lost in a power cut) is no problem
    s = open_store(data_dir)
    t = s.table("hr", "cases")
    lagging = (data_dir / HEAD).read_bytes()
    t.insert({"one": "more"})
    s.close()
    (data_dir / HEAD).write_bytes(lagging)
    assert check(data_dir) == []
    s = open_store(data_dir)
    assert s.table("hr", "cases").insert({"and": "another"}) == 8
    s.close()
    # a store written before store.head existed opens, and gets one
    (data_dir / HEAD).unlink()
    s = open_store(data_dir)
    s.table("hr", "cases").insert({"x": 1})
    s.close()
    assert (data_dir / HEAD).exists() and check(data_dir) == []


def test_a_cut_journal_is_refused_on_the_command_line(backdesk_site):
    site = backdesk_site
    bd = site.open("alice")
    people = bd.services.people
    for n in range(4):
        people.add_department(f"Dept {n}")
    bd.close()
    site._opened.remove(bd)
    journal = site.data_dir / journal_name(1)
    _cut_lines(journal, 2)
    code, out, err = site.cli("check")
    assert code != 0 and str(journal) in err and "committed changes are missing" in err
    (site.root / "new.csv").write_text("name,department\nNew Person,Dept 0\n")
    code, out, err = site.cli("people", "import", str(site.root / "new.csv"))
    assert code == 2
    assert err.count("\n") == 1 and str(journal) in err and "Traceback" not in err


# -- a snapshot left ahead of the manifest by a killed compaction ------------

KILL_IN_COMPACTION = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    from core.storage import files, open_store
    s = open_store(sys.argv[1])
    t = s.table("core", "audit")
    t.insert({{"entry": 0}})
    s.compact()                 # store.json now names core/audit.json (seq 2)
    for i in range(1, 5):
        t.insert({{"entry": i}})
    def killed(*args, **kwargs):
        os._exit(9)  # SIGKILL-like: no cleanup, no atexit
    files.write_manifest = killed   # the snapshots are written, the manifest never
    s.compact()
""")


def _killed_compaction(data_dir) -> None:
    open_store(data_dir).close()
    proc = subprocess.run([sys.executable, "-c", KILL_IN_COMPACTION.format(root=ROOT), str(data_dir)])
    assert proc.returncode == 9


def test_a_snapshot_ahead_of_the_manifest_alone_is_harmless(data_dir):
    _killed_compaction(data_dir)
    snap = data_dir / "core" / "audit.json"
    assert b'"seq":6' in snap.read_bytes().split(b"\n")[0]  # ahead of store.json (seq 2)
    assert check(data_dir) == []
    s = open_store(data_dir)
    t = s.table("core", "audit")
    assert t.count() == 5
    t.insert({"entry": 5})
    s.close()
    s = open_store(data_dir)
    assert s.table("core", "audit").count() == 6
    s.close()


@pytest.mark.parametrize("head", ["kept", "lost too"])
def test_a_snapshot_ahead_of_a_cut_journal_is_named(data_dir, head):
    """The killed compaction's snapshot holds seq 6; then the journal loses its
    last line. New writes would get seq 6 again, and replay would skip them for
    that table (the snapshot "holds" seq 6): the later audit entries would
    vanish at the next start. So the store refuses, and check names the file."""
    _killed_compaction(data_dir)
    _cut_lines(data_dir / journal_name(2), 1)
    if head == "lost too":
        (data_dir / HEAD).unlink()  # e.g. a store written before store.head existed
    snap = data_dir / "core" / "audit.json"
    with pytest.raises(CorruptData) as info:
        open_store(data_dir)
    problems = check(data_dir)
    assert any(str(snap) in p and "ends at seq 5" in p and "committed lines are missing" in p
               for p in problems), problems
    if head == "lost too":
        assert str(snap) in str(info.value)


def test_read_only_open_writes_nothing(data_dir):
    _fill(data_dir)
    before = fingerprint(data_dir)
    s = open_store(data_dir, read_only=True)
    assert s.read_only and s.table("hr", "cases").count() == 6
    with pytest.raises(StorageError, match="cannot be written"):
        s.table("hr", "cases").insert({"x": 1})
    s.close()
    assert fingerprint(data_dir) == before
    assert not os.path.exists(data_dir.parent / "nothing" / MANIFEST)
    with pytest.raises(StorageError, match="no Backdesk store here"):
        open_store(data_dir.parent / "nothing", read_only=True)
