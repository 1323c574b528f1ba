"""The first start after a new release, as an office's administrator sees it
(both backends): the documents register written by the release before
(schema version 1) is upgraded by the first ``backdesk`` process, which says
on the terminal what it does and how long it took; a second process that
starts meanwhile says that it waits, then starts; a process killed in the
middle of the upgrade leaves the register as it was; ``backdesk storage
upgrade`` does it ahead of the operators. Real ``backdesk`` subprocesses.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import subprocess
import sys
import time

from core.services.access import current_account
from core.storage.files import LOCK
from tests.conftest import ON_POSTGRESQL, open_raw_store

from conftest import Site
from test_documents_search_words import TEXTS

DOCS = 23
WAITING = "waiting for another Backdesk process that is writing the store"


def a_v1_register(site, tmp_path) -> list[dict]:
    """The register as the release before wrote it (schema version 1), as
    test_documents_search_words' migration test builds it, beside every
    other table at this release's version (an upgrade's start writes
    nothing else); -> its documents."""
    (tmp_path / "scratch").mkdir()
    scratch = Site(tmp_path / "scratch")
    bd = scratch.open()
    specs = {full: spec.version for full, spec in bd.table_specs.items() if full != "documents.documents"}
    bd.close()
    raw = open_raw_store(site.config_dir, site.data_dir)
    try:
        for full, version in specs.items():
            raw.table(*full.split("."), version=version)
        docs, versions = raw.table("documents", "documents"), raw.table("documents", "versions")
        for i in range(DOCS):
            doc_id = docs.insert({"title": f"{['Brief', 'Vorgang', 'Rechnung März'][i % 3]} {i}",
                                  "correspondent": "Müller GmbH", "type": "", "tags": [], "location": "",
                                  "fields": {}, "asn": 100 + i, "current_version": 1 + i % 2,
                                  "direction": "incoming", "date": f"2026-01-{1 + i:02d}",
                                  "filed_at": f"2026-01-{1 + i:02d}T09:00:00+00:00", "filed_by": "alice"})
            for n in range(1, 2 + i % 2):
                versions.insert({"document_id": doc_id, "number": n, "filename": f"d{i}-{n}.txt",
                                 "text": TEXTS[(i + n) % len(TEXTS)], "sha256": "0" * 64, "size": 1})
        return docs.all()
    finally:
        raw.close()


def stored(site) -> tuple[int, list[dict]]:
    """The register's schema version and documents, as stored."""
    raw = open_raw_store(site.config_dir, site.data_dir)
    try:
        table = raw.existing_table("documents.documents")
        return table.version, table.all()
    finally:
        raw.close()


def backdesk(site, *args, stderr=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core", *site.cli_args(), *args],
                            stdout=subprocess.PIPE, stderr=stderr, text=True)


def read_line(stream, deadline: float = 120) -> str:
    """The next line the process writes (a dead process or a hang fails the test)."""
    ready, _, _ = select.select([stream], [], [], deadline)
    assert ready, "no line from the process"
    return stream.readline()


UPGRADING = f"backdesk: documents.documents: upgrading {DOCS} records from schema version 1 to 2; first " + \
    ("a copy of the table …" if ON_POSTGRESQL else "a backup of the whole store …")
COPIED = (r"backdesk: documents\.documents: the copy is the table \w+\._bak_\w+_v1; upgrading the records …"
          if ON_POSTGRESQL else
          r"backdesk: documents\.documents: the backup is in \S+-before-documents\.documents-v2; "
          r"upgrading the records …")
UPGRADED = r"backdesk: documents\.documents: upgraded to schema version 2 in \d+\.\d s"


def test_the_first_command_after_the_upgrade_says_what_it_does(site, tmp_path):
    """``backdesk docs list`` on the register the release before left: three
    lines on the terminal (what, the backup, how long), then its output;
    the next command says nothing of it; ``backdesk storage upgrade`` says
    nothing is left to do."""
    before = a_v1_register(site, tmp_path)
    proc = backdesk(site, "docs", "list", "--limit", "3")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    lines = err.splitlines()
    assert lines[0] == UPGRADING and re.fullmatch(COPIED, lines[1]) and re.fullmatch(UPGRADED, lines[2]), err
    assert len(lines) == 3 and "Rechnung März 2" in out, (out, err)
    version, after = stored(site)
    assert version == 2 and len(after) == DOCS
    assert all(a["title"] == b["title"] and a["file_words_missing"] for a, b in zip(after, before))

    proc = backdesk(site, "docs", "list", "--limit", "3")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and err == "", err
    proc = backdesk(site, "storage", "upgrade")
    out, err = proc.communicate(timeout=300)
    assert (proc.returncode, err) == (0, ""), err
    assert re.fullmatch(r"Nothing to upgrade: every table \(\d+\) is at this release's schema version\.\n", out)


def test_storage_upgrade_runs_it_ahead_of_the_operators(site, tmp_path):
    a_v1_register(site, tmp_path)
    proc = backdesk(site, "storage", "upgrade")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert err.splitlines()[0] == UPGRADING and re.fullmatch(UPGRADED, err.splitlines()[-1]), err
    assert re.fullmatch(r"Upgraded documents\.documents; every table \(\d+\) is at this release's "
                        r"schema version\.\n", out), out
    assert stored(site)[0] == 2


def test_a_second_process_says_it_waits_then_starts(site, tmp_path):
    """Another process holds the store's write lock (as the first session
    does while it upgrades): the command starting meanwhile says it waits
    — nothing is upgraded while it does — and goes on when the lock is
    free: it upgrades the register and lists the documents."""
    before = a_v1_register(site, tmp_path)
    raw = open_raw_store(site.config_dir, site.data_dir)
    try:
        with raw.transaction():  # the write lock, as an upgrading process holds it
            proc = backdesk(site, "docs", "list", "--limit", "3")
            line = read_line(proc.stderr)
            assert line.startswith("backdesk: ") and WAITING in line, line
            assert line.rstrip("\n").endswith(" …") and proc.poll() is None
            assert raw.existing_table("documents.documents").version == 1
        out, err = proc.communicate(timeout=300)
    finally:
        raw.close()
    assert proc.returncode == 0, out + err
    assert err.splitlines()[0] == UPGRADING and re.fullmatch(UPGRADED, err.splitlines()[-1]), err
    assert "Rechnung März 2" in out
    version, after = stored(site)
    assert version == 2 and [d["title"] for d in after] == [d["title"] for d in before]


def write_lock_busy(site) -> bool:
    """Whether a process holds the store's write lock now."""
    if ON_POSTGRESQL:
        raw = open_raw_store(site.config_dir, site.data_dir)
        try:
            return not raw._q(f"SELECT pg_try_advisory_xact_lock({raw._lock_key})").fetchone()[0]
        finally:
            raw.close()
    fd = os.open(os.path.join(site.data_dir, LOCK), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_a_process_killed_while_it_upgrades_leaves_the_register_as_it_was(site, tmp_path):
    """The upgrading process is held inside its upgrade (its terminal does
    not take its line: a full pipe) and killed there: the register is at
    schema version 1 with every document as it was, the store is sound,
    and the next command upgrades it."""
    before = a_v1_register(site, tmp_path)
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: one page
        os.set_blocking(w, False)
        try:  # fill it: the process's first line blocks it
            while True:
                os.write(w, b"x" * 512)
        except BlockingIOError:
            os.set_blocking(w, True)  # the process's writes wait (its file description is this one)
        proc = backdesk(site, "storage", "upgrade", stderr=w)
        deadline = time.monotonic() + 120
        while not write_lock_busy(site):  # its upgrade has begun (its first line waits in the pipe)
            assert proc.poll() is None and time.monotonic() < deadline, "the upgrade did not begin"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close()
    finally:
        os.close(r)
        os.close(w)
    version, after = stored(site)
    assert version == 1 and after == before
    proc = backdesk(site, "check")
    out, err = proc.communicate(timeout=300)
    assert (proc.returncode, out.strip()) == (0, "Config and data are sound."), out + err
    proc = backdesk(site, "storage", "upgrade")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and out.startswith("Upgraded documents.documents"), out + err
    assert stored(site)[0] == 2


def test_search_words_fills_them_all_under_the_account_that_runs_it(site, tmp_path):
    """After the upgrade, ``backdesk docs search-words`` keeps the words of
    their file on every document at once (what the app's worker does 500 a
    round, under the account of whichever session runs it): the audit trail
    names the account that ran the command (the CLI acts as the system's)."""
    a_v1_register(site, tmp_path)
    proc = backdesk(site, "storage", "upgrade")
    assert proc.communicate(timeout=300) and proc.returncode == 0
    proc = backdesk(site, "docs", "search-words")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and err == "", out + err
    assert out.splitlines() == [f"{DOCS} of {DOCS} documents",
                                "every document keeps the words of its current file for the search"]
    version, after = stored(site)
    assert not any(d["file_words_missing"] for d in after) and all(d["file_words"] for d in after)
    bd = site.open()
    try:
        entries = bd.services.audit.entries(table="documents.documents")
    finally:
        bd.close()
    assert len(entries) == DOCS and {e["actor"] for e in entries} == {current_account()}
    assert {e["what"] for e in entries} == {"the words of their current file kept on the documents for the search"}
