"""Two hosts, one office: two config and data folders, one PostgreSQL.

Each "host" is a site with its own config folder and data folder (nothing
shared on disk); both name the same PostgreSQL schema. Whatever a document
needs — its versions' bytes — must come from PostgreSQL. These tests run on
both passes: they start the session's PostgreSQL server themselves.
"""

from __future__ import annotations

import email
import hashlib
import json
import os
import subprocess
import sys

import pytest

from plugins.documents import service
from tests.conftest import office_dsn, use_postgresql
from tests.office import simple_pdf
from tests.plugins.documents.conftest import Site


def _host(tmp_path, name: str, dsn: str) -> Site:
    root = tmp_path / name
    root.mkdir()
    site = Site(root)
    use_postgresql(site.config_dir, dsn)
    return site


@pytest.fixture
def office(tmp_path):
    """Hosts A and B of one office (one schema of the session's server)."""
    dsn = office_dsn()
    return _host(tmp_path, "host-a", dsn), _host(tmp_path, "host-b", dsn)


def _local_files(site: Site) -> list[str]:
    """Document files kept in a host's data folder (the cache aside)."""
    root = site.data_dir / "documents"
    return [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_document_filed_on_a_is_opened_versioned_and_emailed_on_b(office, smtp):
    a, b = office
    for host in (a, b):
        host.write_plugins(max_file_mb=4, **smtp.settings())
    # more than two chunks of 1 MiB, with a PDF's head so it reads as one
    payload = simple_pdf("Lieferschein 4711") + os.urandom(2_500_000)
    bd_a = a.open("bob")
    bd_b = b.open("bob")
    try:
        ctx_a, ctx_b = bd_a.context("documents"), bd_b.context("documents")
        doc = service.add_document(ctx_a, a.file("lieferschein.pdf", payload), {"title": "Lieferschein 4711"})
        # B opens it: the same bytes, from PostgreSQL (B's data folder never saw them)
        seen = service.get_document(ctx_b, doc["id"])
        ver1 = service.current_version(ctx_b, seen)
        assert service.file_of(ctx_b, ver1).read_bytes() == payload
        exported = service.export_document(ctx_b, doc["id"], ctx_b.exports_dir())
        assert exported.read_bytes() == payload and exported.parent == ctx_b.exports_dir()
        # B files a second version; A reads it
        v2 = simple_pdf("Lieferschein 4711, korrigiert")
        service.add_version(ctx_b, doc["id"], b.file("korrigiert.pdf", v2), note="corrected")
        on_a = service.get_document(ctx_a, doc["id"])
        assert on_a["current_version"] == 2
        assert service.file_of(ctx_a, service.current_version(ctx_a, on_a)).read_bytes() == v2
        # B emails the first version's successor through the SMTP server
        row = service.queue_email(ctx_b, doc["id"], "einkauf@lieferant.example", subject="Lieferschein",
                                  body="Anbei.")
        assert service.process_outbox(ctx_b)["sent"] == 1
        msg = email.message_from_bytes(smtp.messages[0]["data"])
        assert msg["Message-ID"] == row["message_id"]
        attached = [p for p in msg.walk() if p.get_filename()]
        assert attached[0].get_filename() == "korrigiert.pdf" and attached[0].get_payload(decode=True) == v2
        # the same bytes filed on B are stored once
        again = service.add_document(ctx_b, b.file("kopie.pdf", payload), {"title": "Kopie"})
        assert again["duplicates"] == [doc["id"]]
        stored = {f.sha256: f.size for f in service.file_store(ctx_a).scan()}
        assert stored == {hashlib.sha256(payload).hexdigest(): len(payload), hashlib.sha256(v2).hexdigest(): len(v2)}
        # sound on both hosts; no office file in either data folder
        assert service.check_files(ctx_a) == [] and service.check_files(ctx_b) == []
        assert _local_files(a) == [] and _local_files(b) == []
    finally:
        bd_a.close()
        bd_b.close()


def test_a_backup_on_b_holds_the_files_filed_on_a(office, tmp_path):
    a, b = office
    bd_a = a.open("bob")
    try:
        ctx_a = bd_a.context("documents")
        payload = b"Vertrag, unterschrieben\n" * 1000
        doc = service.add_document(ctx_a, a.file("vertrag.txt", payload), {"title": "Vertrag"})
        sha = service.current_version(ctx_a, doc)["sha256"]
    finally:
        bd_a.close()
    dest = tmp_path / "backup"
    proc = subprocess.run([sys.executable, "-m", "core", *b.cli_args(), "backup", str(dest)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kept = dest / "documents" / "files" / sha[:2] / sha[2:]
    assert kept.read_bytes() == payload
    marker = json.loads((dest / "backup.json").read_text())
    assert marker["files"][f"documents/files/{sha[:2]}/{sha[2:]}"]["sha256"] == hashlib.sha256(payload).hexdigest()
    assert not any("cache" in name.split("/")[0] for name in marker["files"])


def test_a_file_kept_in_a_hosts_folder_before_is_moved_into_postgresql(office):
    """A site that kept the files in its data folder before (upgraded in
    place) loses nothing: a file asked for is stored from the folder."""
    a, b = office
    bd_a = a.open("bob")
    try:
        ctx_a = bd_a.context("documents")
        doc = service.add_document(ctx_a, a.file("alt.txt", "filed before the upgrade"), {"title": "Alt"})
        ver = service.current_version(ctx_a, doc)
        sha = ver["sha256"]
        # as it was before: the bytes in A's folder, not in PostgreSQL
        old = a.data_dir / "documents" / "files" / sha[:2] / sha[2:]
        old.parent.mkdir(parents=True)
        old.write_bytes(b"filed before the upgrade")
        assert service.file_store(ctx_a).remove(sha)
        assert service.file_of(ctx_a, ver).read_bytes() == b"filed before the upgrade"
    finally:
        bd_a.close()
    bd_b = b.open("bob")
    try:
        ctx_b = bd_b.context("documents")
        assert service.file_of(ctx_b, ver).read_bytes() == b"filed before the upgrade"
        assert service.check_files(ctx_b) == []
    finally:
        bd_b.close()


def test_one_app_of_the_office_sends_the_outbox_and_another_takes_over(office, smtp):
    """Sending is done once per office: the app that has the hold
    documents.outbox sends, the other stands by until it closes."""
    from plugins.documents import worker

    a, b = office
    for host in (a, b):
        host.write_plugins(**smtp.settings())
    bd_a, bd_b = a.open("bob"), b.open("bob")
    try:
        ctx_a, ctx_b = bd_a.context("documents"), bd_b.context("documents")
        doc = service.add_document(ctx_a, a.file("memo.txt", "memo"), {"title": "Memo"})
        worker.run_once(ctx_a)  # A's worker: the outbox is A's to send now
        row = service.queue_email(ctx_b, doc["id"], "chef@test.example")
        worker.run_once(ctx_b)  # B's stands by
        assert smtp.messages == [] and ctx_b.table("outbox")[row["id"]]["status"] == "queued"
        (held,) = [h for h in bd_b.store.holds(local_dir=b.data_dir) if h["name"] == "documents.outbox"]
        assert held["held"]
        worker.release(ctx_a)  # A's app closes
        worker.run_once(ctx_b)
        assert len(smtp.messages) == 1 and ctx_b.table("outbox")[row["id"]]["status"] == "sent"
        worker.run_once(ctx_a)  # A is back: B keeps the outbox
        assert not worker.holds(ctx_a, "outbox") and worker.holds(ctx_b, "outbox")
    finally:
        worker.release(ctx_a)
        worker.release(ctx_b)
        bd_a.close()
        bd_b.close()


def test_changes_and_notifications_cross_hosts(office):
    """What live screens and the inbox badge listen to (LISTEN/NOTIFY on the
    office's schema) reaches the other host: B's store hears A's commit,
    and a notification A sends is in B's inbox for that operator."""
    a, b = office
    bd_a, bd_b = a.open("alice"), b.open("bob")
    try:
        bd_b.store.refresh()  # what came before
        heard: list[set[str]] = []
        bd_b.store.on_change(heard.append)
        service.add_document(bd_a.context("documents"), a.file("memo.txt", "memo"), {"title": "Memo"})
        bd_a.services.notifications.send("bob", "Bitte Memo ablegen")
        assert "documents.documents" in bd_b.store.refresh() and heard
        assert bd_b.services.notifications.unread_count("bob") == 1
        assert [n["text"] for n in bd_b.services.notifications.inbox("bob")] == ["Bitte Memo ablegen"]
    finally:
        bd_a.close()
        bd_b.close()
