"""Filing, versions, copies, rules, search, intake: through the service."""

from __future__ import annotations

import os
import stat

import pytest

from core.errors import PermissionDenied, UnknownRecord, ValidationError
from plugins.documents import service
from plugins.documents.files import blob_path
from tests.office import simple_pdf


@pytest.mark.tinydb_only("the data folder's files; on PostgreSQL: test_documents_file_store.py")
def test_add_stores_content_addressed_and_numbers_documents(site, ctx):
    service.add_type(ctx, "Invoice", retention_years=10, fields=["Amount"])
    path = site.file("rechnung.txt", "Invoice 4711 from Papier Müller KG")
    doc = service.add_document(ctx, path, {"title": "Paper invoice", "type": "invoice", "tags": "finance/invoices",
                                           "date": "2026-03-01", "fields": {"Amount": "12.50 EUR"}})
    assert doc["asn"] == 1 and doc["type"] == "Invoice" and doc["tags"] == ["finance/invoices"]
    assert doc["retention_until"] == "2036-12-31"
    ver = service.current_version(ctx, doc)
    blob = blob_path(site.data_dir, ver["sha256"])
    assert blob.read_bytes() == path.read_bytes()
    assert blob.parent.name == ver["sha256"][:2] and blob.name == ver["sha256"][2:]
    assert stat.S_IMODE(blob.stat().st_mode) == 0o600
    assert stat.S_IMODE(blob.parent.stat().st_mode) == 0o700
    second = service.add_document(ctx, site.file("other.txt", "another"), {"title": "Other"})
    assert second["asn"] == 2


@pytest.mark.tinydb_only("the data folder's files; on PostgreSQL: test_documents_file_store.py")
def test_same_file_twice_is_linked_not_stored_twice(site, ctx):
    path = site.file("a.txt", "the same bytes")
    first = service.add_document(ctx, path)
    again = service.add_document(ctx, site.file("b.txt", "the same bytes"))
    assert again["duplicates"] == [first["id"]]
    shas = {service.current_version(ctx, d)["sha256"] for d in (first, again)}
    assert len(shas) == 1
    stored = [f for f in (site.data_dir / "documents" / "files").rglob("*") if f.is_file()]
    assert len(stored) == 1


def test_versions_keep_the_old_ones_and_copies_link_to_the_original(site, ctx):
    doc = service.add_document(ctx, site.file("contract.txt", "draft"), {"title": "Contract"})
    service.add_version(ctx, doc["id"], site.file("contract-signed.txt", "signed"), note="signed")
    vers = service.versions(ctx, doc["id"])
    assert [v["number"] for v in vers] == [1, 2] and vers[1]["note"] == "signed"
    assert service.get_document(ctx, doc["id"])["current_version"] == 2
    copy = service.copy_document(ctx, doc["id"])
    assert copy["original_id"] == doc["id"] and copy["asn"] == 2 and copy["title"] == "Copy of Contract"
    assert service.current_version(ctx, copy)["sha256"] == vers[1]["sha256"]
    other = service.add_document(ctx, site.file("x.txt", "x"), {"title": "X"})
    into = service.copy_document(ctx, doc["id"], into=other["id"])
    assert into["current_version"] == 2
    whats = [h["what"] for h in service.history(ctx, doc["id"])]
    assert whats == ["filed", "version_added", "copied", "copied"]


@pytest.mark.parametrize("meta, field", [
    ({"title": 123}, "title"),
    ({"title": "x" * 500}, "title"),
    ({"date": "31.02.2026"}, "date"),
    ({"direction": "sideways"}, "direction"),
    ({"type": "Nope"}, "type"),
    ({"tags": ["ok", "../../etc"]}, "tags"),
    ({"responsible_id": 999}, "responsible_id"),
    ({"colour": "red"}, "colour"),
])
def test_bad_metadata_is_refused_and_nothing_is_stored(site, ctx, meta, field):
    path = site.file("a.txt", "content")
    with pytest.raises(ValidationError) as err:
        service.add_document(ctx, path, {"title": "T", **meta})
    assert err.value.field == field
    assert ctx.table("documents").count() == 0 and ctx.table("versions").count() == 0
    assert not (site.data_dir / "documents" / "files").exists()


def test_paths_are_confined_and_sized(site, ctx):
    with pytest.raises(ValidationError, match="no such file"):
        service.add_document(ctx, site.files / "missing.pdf")
    with pytest.raises(ValidationError, match="not a regular file"):
        service.add_document(ctx, site.files)
    escape = site.files / ".." / "data" / "store.json"
    with pytest.raises(ValidationError, match="inside the data directory"):
        service.add_document(ctx, escape)
    big = site.file("big.bin", b"\0" * 1_000_001)  # max_file_mb: 1
    with pytest.raises(ValidationError, match="more than the limit of 1 MB"):
        service.add_document(ctx, big)
    with pytest.raises(ValidationError, match="plain file name"):
        service.add_document(ctx, site.file("ok.txt", "x"), filename="../../evil.txt")
    unreadable = site.file("secret.txt", "x")
    os.chmod(unreadable, 0)
    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(ValidationError, match="cannot read"):
            service.add_document(ctx, unreadable)
    assert ctx.table("documents").count() == 0


def test_unknown_ids_and_permissions(site, bd, ctx):
    with pytest.raises(UnknownRecord, match="no document with id 42"):
        service.get_document(ctx, 42)
    with pytest.raises(ValidationError, match="not a document id"):
        service.get_document(ctx, "abc")
    bd.close()
    sam = site.open("sam")
    try:
        with pytest.raises(PermissionDenied):
            service.add_document(sam.context("documents"), site.file("a.txt", "x"))
    finally:
        sam.close()


def test_rules_assign_fields_with_each_algorithm(site, ctx):
    service.add_type(ctx, "Invoice", retention_years=10)
    service.add_rule(ctx, {"name": "inv", "match": "invoice rechnung", "algorithm": "any", "type": "Invoice"})
    service.add_rule(ctx, {"name": "tel", "match": "Deutsche Telekom", "algorithm": "exact",
                           "correspondent": "Deutsche Telekom AG"})
    service.add_rule(ctx, {"name": "both", "match": "power bill", "algorithm": "all", "tags": ["utilities"]})
    service.add_rule(ctx, {"name": "po", "match": r"\bPO-\d{5}\b", "algorithm": "regex", "tags": ["purchasing"]})
    doc = service.add_document(ctx, site.file("scan.txt", "Rechnung der Deutsche Telekom, order PO-12345"))
    assert doc["type"] == "Invoice" and doc["correspondent"] == "Deutsche Telekom AG"
    assert doc["tags"] == ["purchasing"]
    doc = service.add_document(ctx, site.file("s2.txt", "the bill for power, telekom"))
    assert doc["tags"] == ["utilities"] and doc["correspondent"] == "" and doc["type"] == ""


@pytest.mark.parametrize("rule, message", [
    ({"algorithm": "regex", "match": "(unclosed"}, "not a valid regular expression"),
    ({"algorithm": "regex", "match": "a" * 300}, "too long"),
    ({"algorithm": "magic", "match": "x"}, "must be one of"),
    ({"match": ""}, "is required"),
    ({"match": "x", "tags": [], "correspondent": ""}, "must assign"),
])
def test_bad_rules_are_refused(ctx, rule, message):
    data = {"name": "r", "correspondent": "ACME", **rule}
    with pytest.raises(ValidationError, match=message):
        service.add_rule(ctx, data)
    assert ctx.table("rules").count() == 0


def test_full_text_search_in_text_and_pdf_with_saved_searches(site, ctx):
    service.add_document(ctx, site.file("memo.txt", "Meeting notes: the copier in reception is broken."),
                         {"title": "Memo", "tags": "office/equipment"})
    service.add_document(ctx, site.file("offer.pdf", simple_pdf("Quotation for a new copier model X200")),
                         {"title": "Offer", "correspondent": "Kopier GmbH"})
    service.add_document(ctx, site.file("other.txt", "Nothing to see"), {"title": "Other"})
    hits = service.search(ctx, "copier")
    assert [h["title"] for h in hits] == ["Offer", "Memo"]
    pdf = service.search(ctx, "x200 quotation")
    assert [h["title"] for h in pdf] == ["Offer"]
    assert "X200" in pdf[0]["snippet"]
    assert service.highlight_spans(pdf[0]["snippet"], pdf[0]["terms"])
    assert [h["title"] for h in service.search(ctx, "copier tag:office")] == ["Memo"]
    assert [h["title"] for h in service.search(ctx, 'from:kopier')] == ["Offer"]
    assert service.search(ctx, '"copier model"')[0]["title"] == "Offer"
    service.save_search(ctx, "Copiers", "copier")
    assert service.saved_search(ctx, "copiers")["query"] == "copier"
    with pytest.raises(ValidationError, match="too long"):
        service.search(ctx, "x" * 1000)


def test_intake_files_stay_in_the_inbox_until_filed(site, ctx):
    service.add_type(ctx, "Invoice", retention_years=10)
    service.add_rule(ctx, {"name": "inv", "match": "invoice", "type": "Invoice", "tags": ["finance"]})
    (site.inbox / "scan1.txt").write_text("Invoice 77 from ACME")
    (site.inbox / "huge.bin").write_bytes(b"\0" * 1_000_001)
    assert service.scan_inbox(ctx)["new"] == 2
    assert service.scan_inbox(ctx)["new"] == 0  # nothing twice
    queue = {r["filename"]: r for r in service.intake_queue(ctx)}
    assert queue["scan1.txt"]["suggested"] == {"correspondent": "", "type": "Invoice", "tags": ["finance"]}
    assert queue["huge.bin"]["status"] == "refused" and "limit" in queue["huge.bin"]["error"]
    with pytest.raises(ValidationError, match="refused, not waiting"):
        service.file_intake(ctx, queue["huge.bin"]["id"])
    with pytest.raises(ValidationError, match="not a date"):
        service.file_intake(ctx, queue["scan1.txt"]["id"], {"date": "tomorrow"})
    assert (site.inbox / "scan1.txt").exists()  # a failed filing leaves it where it was
    doc = service.file_intake(ctx, queue["scan1.txt"]["id"], {"title": "ACME invoice 77"})
    assert doc["type"] == "Invoice" and doc["source"] == "inbox"
    assert not (site.inbox / "scan1.txt").exists()
    assert [r["filename"] for r in service.intake_queue(ctx)] == ["huge.bin"]
    with pytest.raises(ValidationError, match="filed, not waiting"):
        service.file_intake(ctx, queue["scan1.txt"]["id"])


def test_filing_publishes_the_event(site, bd, ctx):
    doc = service.add_document(ctx, site.file("a.txt", "x"), {"title": "A", "correspondent": "ACME"})
    events = bd.services.events.list(name="documents.document_filed")
    assert [e["data"] for e in events] == [{"document_id": doc["id"], "type": "", "correspondent": "ACME"}]
