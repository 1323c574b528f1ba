"""Document types and matching rules from the screens (80x24; per-field
errors; the service checks ``documents.rules``), and the content store
without orphans: a failed filing removes the file it wrote, and
``docs check --orphans [--delete]`` lists and removes what a crash left —
never a referenced file, never a young one."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from core.shell.app import make_app
from core.errors import PermissionDenied, ValidationError
from core.shell.widgets import ConfirmDialog, FormScreen, RecordTable
from plugins.documents import files as blobs
from plugins.documents import service
from plugins.documents.screens import RulesScreen
from tests.pilot import wait_for


def field_errors(form) -> dict[str, str]:
    out = {}
    for key in ("name", "match", "retention_years", "order", "fields", "tags", "correspondent", "type"):
        try:
            control = form.form.control(key)
        except KeyError:
            continue
        cell = control.parent
        msg = " ".join(str(w.render()) for w in cell.query(".record-form--error"))
        if msg.strip():
            out[key] = msg
    return out


# ----------------------------------------------------------------- types in the service
def test_types_edit_and_delete_keep_documents_and_rules_consistent(site, ctx):
    inv = service.add_type(ctx, "Invoice", retention_years=10, fields="number, due")
    assert inv["fields"] == ["number", "due"]
    rule = service.add_rule(ctx, {"name": "Telekom", "match": "telekom", "type": "Invoice"})
    doc = service.add_document(ctx, site.file("t.txt", "Telekom bill"), {"date": "2024-03-01",
                                                                        "fields": {"number": "R-1"}})
    assert doc["type"] == "Invoice" and doc["retention_until"] == "2034-12-31"
    with pytest.raises(ValidationError) as info:
        service.add_type(ctx, "invoice")
    assert info.value.field == "name"
    with pytest.raises(ValidationError) as info:
        service.update_type(ctx, inv["id"], {"retention_years": 101})
    assert info.value.field == "retention_years"
    with pytest.raises(ValidationError) as info:  # a field a document fills in
        service.update_type(ctx, inv["id"], {"fields": "due"})
    assert info.value.field == "fields" and f"document {doc['id']}" in info.value.message
    # rename, shorter retention, drop the unused field: documents and rules follow
    service.update_type(ctx, inv["id"], {"name": "Bill", "retention_years": 6, "fields": ["number"]})
    doc = service.get_document(ctx, doc["id"])
    assert (doc["type"], doc["retention_until"], doc["fields"]) == ("Bill", "2030-12-31", {"number": "R-1"})
    assert service.get_rule(ctx, rule["id"])["type"] == "Bill"
    assert [h["what"] for h in service.history(ctx, doc["id"])] == ["filed", "edited"]
    service.update_document(ctx, doc["id"], {"title": "Still editable"})  # the type is known under its new name
    with pytest.raises(ValidationError, match="1 document has the type 'Bill'"):
        service.delete_type(ctx, inv["id"])
    spare = service.add_type(ctx, "Spare")
    service.update_rule(ctx, rule["id"], {"type": "Spare"})
    with pytest.raises(ValidationError, match="1 matching rule assigns the type 'Spare'"):
        service.delete_type(ctx, spare["id"])
    service.update_rule(ctx, rule["id"], {"type": "", "correspondent": "Telekom"})
    service.delete_type(ctx, spare["id"])
    assert [t["name"] for t in service.list_types(ctx)] == ["Bill"]
    with pytest.raises(ValidationError) as info:
        service.update_rule(ctx, rule["id"], {"order": 10_000})
    assert info.value.field == "order"


def test_rules_and_types_need_the_rules_permission(site, ctx):
    t = service.add_type(ctx, "Letter")
    r = service.add_rule(ctx, {"name": "Mail", "match": "post", "tags": "post"})
    bd = site.open("sam")  # documents.read only
    try:
        staff = bd.context("documents")
        assert [x["name"] for x in service.list_rules(staff)] == ["Mail"]
        for call in (lambda: service.add_type(staff, "Memo"),
                     lambda: service.update_type(staff, t["id"], {"name": "Memo"}),
                     lambda: service.delete_type(staff, t["id"]),
                     lambda: service.add_rule(staff, {"name": "x", "match": "x", "tags": "x"}),
                     lambda: service.update_rule(staff, r["id"], {"name": "x"}),
                     lambda: service.delete_rule(staff, r["id"])):
            with pytest.raises(PermissionDenied):
                call()
    finally:
        bd.close()
    assert [x["name"] for x in service.list_types(ctx)] == ["Letter"]
    assert service.get_rule(ctx, r["id"])["name"] == "Mail"


# ----------------------------------------------------------------- the screen
async def test_rules_and_types_screen_by_keyboard(site, bd, ctx):
    service.add_type(ctx, "Invoice", retention_years=10)
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("documents.rules")
        await wait_for(pilot, lambda: isinstance(app.screen, RulesScreen))
        screen = app.screen
        types = screen.query_one("#types-table", RecordTable)
        rules = screen.query_one("#rules-table", RecordTable)
        await wait_for(pilot, lambda: types.row_count == 1)
        assert types.has_focus
        # a new type: errors at their fields, nothing stored until they are fixed
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        form.form.control("retention_years").value = "200"
        await pilot.press("ctrl+s")
        await pilot.pause()
        errors = field_errors(form)
        assert "Required" in errors["name"] and "from 0 to 100" in errors["retention_years"]
        form.form.control("name").value = "invoice"
        form.form.control("retention_years").value = "6"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "exists already" in field_errors(form)["name"]  # the service's error, at its field
        form.form.control("name").value = "Contract"
        form.form.control("fields").value = "party, ends"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and types.row_count == 2)
        assert service.list_types(ctx)[0] == {"id": 2, "name": "Contract", "retention_years": 6,
                                              "fields": ["party", "ends"]}
        # a rule: a regular expression that does not compile is shown at "Look for"
        await pilot.press("tab")
        await wait_for(pilot, lambda: rules.has_focus)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        form.form.control("name").value = "Contracts"
        form.form.control("match").value = "vertrag("
        form.form.control("algorithm").value = "regex"
        form.form.control("type").value = "Contract"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "not a valid regular expression" in field_errors(form)["match"]
        form.form.control("match").value = r"vertrag|contract\b"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and rules.row_count == 1)
        assert rules.cursor_record["assigns"] == "Contract"
        # Enter edits the rule
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert app.screen.form.control("match").value == r"vertrag|contract\b"
        app.screen.form.control("tags").value = "legal/contracts"
        app.screen.form.control("order").value = "5"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen)
        stored = service.list_rules(ctx)[0]
        assert (stored["tags"], stored["order"], stored["type"]) == (["legal/contracts"], 5, "Contract")
        # a type a rule uses is not deleted; the rule is, after the question
        await pilot.press("t")
        await wait_for(pilot, lambda: types.has_focus)
        assert types.move_cursor_to_id(2)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen)
        assert len(service.list_types(ctx)) == 2
        await pilot.press("r", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert rules.row_count == 1
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: rules.row_count == 0)
        await pilot.press("t", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: types.row_count == 1)
    assert service.list_rules(ctx) == [] and [t["name"] for t in service.list_types(ctx)] == ["Invoice"]


async def test_rules_screen_without_the_permission_changes_nothing(site, ctx):
    service.add_type(ctx, "Invoice")
    bd = site.open("sam")
    try:
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert "documents.rules" not in [e.id for e in app.nav_entries]
            screen = RulesScreen(bd.context("documents"))  # forced open: the service still refuses
            app.push_screen(screen)
            await wait_for(pilot, lambda: app.screen is screen and screen.query_one("#types-table").row_count == 1)
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
            app.screen.form.control("name").value = "Memo"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, FormScreen)
            line = str(app.screen.query_one(".record-form--form-error").render())
            assert "documents.rules" in line
    finally:
        bd.close()
    assert [t["name"] for t in service.list_types(ctx)] == ["Invoice"]


# ----------------------------------------------------------------- no orphans
def _stored(site) -> list:
    return list(blobs.scan_store(site.data_dir))


def _fail_commits(bd):
    def boom(changes):
        raise RuntimeError("disk full (forced)")
    return bd.store.before_commit(boom)


@pytest.mark.tinydb_only("the data folder's files; on PostgreSQL: test_documents_file_store.py")
def test_a_failed_filing_removes_the_file_it_wrote(site, bd, ctx):
    kept = service.add_document(ctx, site.file("kept.txt", "kept"), {"title": "Kept"})
    assert len(_stored(site)) == 1
    stop = _fail_commits(bd)
    try:
        with pytest.raises(RuntimeError, match="forced"):
            service.add_document(ctx, site.file("new.txt", "brand new bytes"), {"title": "New"})
        with pytest.raises(RuntimeError, match="forced"):
            service.add_version(ctx, kept["id"], site.file("v2.txt", "second version"))
        # the same bytes as a filed document: that file stays
        with pytest.raises(RuntimeError, match="forced"):
            service.add_document(ctx, site.file("again.txt", "kept"), {"title": "Again"})
    finally:
        stop()
    assert [f.sha256 for f in _stored(site)] == [service.versions(ctx, kept["id"])[0]["sha256"]]
    assert ctx.table("documents").count() == 1 and ctx.table("versions").count() == 1
    assert service.find_orphans(ctx) == [] and service.check_files(ctx) == []


def test_a_failed_intake_filing_leaves_the_inbox_file_and_no_orphan(site, bd, ctx):
    (site.inbox / "scan.txt").write_text("scanned letter")
    service.scan_inbox(ctx)
    item = service.intake_queue(ctx)[0]
    stop = _fail_commits(bd)
    try:
        with pytest.raises(RuntimeError, match="forced"):
            service.file_intake(ctx, item["id"], {"title": "Scan"})
    finally:
        stop()
    assert (site.inbox / "scan.txt").exists() and _stored(site) == []
    doc = service.file_intake(ctx, item["id"], {"title": "Scan"})  # works once the store does
    assert service.check_files(ctx) == [] and doc["asn"] == 1


def test_filing_stores_its_file_again_if_a_cleanup_took_it_meanwhile(site, bd, ctx, monkeypatch):
    sha, _size, _known = blobs.store_bytes(site.data_dir, b"left over by a crash")  # an orphan
    extract = blobs.extract_text

    def cleanup_races(path, filename):  # another process removes the orphan right now
        blobs.remove_blob(site.data_dir, sha)
        return extract(path, filename)

    monkeypatch.setattr(blobs, "extract_text", cleanup_races)
    doc = service.add_document(ctx, site.file("same.txt", b"left over by a crash"), {"title": "Same"})
    monkeypatch.undo()
    assert service.current_version(ctx, doc)["sha256"] == sha
    assert service.check_files(ctx) == []
    assert service.file_of(ctx, service.current_version(ctx, doc)).read_bytes() == b"left over by a crash"


def _age(path, minutes: float) -> None:
    moment = time.time() - minutes * 60
    os.utime(path, (moment, moment))


@pytest.mark.tinydb_only("the data folder's files; on PostgreSQL: test_documents_file_store.py")
def test_orphans_are_listed_and_only_old_unreferenced_ones_deleted(site, bd, ctx):
    doc = service.add_document(ctx, site.file("filed.txt", "filed"), {"title": "Filed"})
    filed = service.file_of(ctx, service.current_version(ctx, doc))
    old_sha, _s, _k = blobs.store_bytes(site.data_dir, b"old orphan")
    young_sha, _s, _k = blobs.store_bytes(site.data_dir, b"young orphan")
    partial = blobs.files_dir(site.data_dir) / (blobs.PARTIAL_PREFIX + "abc123")
    partial.write_bytes(b"half a fil")
    foreign = blobs.files_dir(site.data_dir) / "README"
    foreign.write_text("not ours")
    for path in (filed, blobs.blob_path(site.data_dir, old_sha), partial):
        _age(path, 60)
    found = {(o["sha256"], o["young"]) for o in service.find_orphans(ctx)}
    assert found == {(old_sha, False), (young_sha, True), (None, False)}
    result = service.delete_orphans(ctx)
    assert {o["sha256"] for o in result["deleted"]} == {old_sha, None}
    assert [o["sha256"] for o in result["kept"]] == [young_sha]
    assert filed.exists() and foreign.exists() and not partial.exists()
    assert not blobs.blob_path(site.data_dir, old_sha).exists()
    assert blobs.blob_path(site.data_dir, young_sha).exists()
    # reusing stored bytes makes the file young again: a filing in progress keeps it
    _age(blobs.blob_path(site.data_dir, young_sha), 60)
    blobs.store_bytes(site.data_dir, b"young orphan")
    assert service.delete_orphans(ctx)["deleted"] == []
    assert service.check_files(ctx) == []
    bd2 = site.open("sam")
    try:
        with pytest.raises(PermissionDenied):
            service.delete_orphans(bd2.context("documents"))
    finally:
        bd2.close()


def run(site, *args, rc=0):
    proc = subprocess.run([sys.executable, "-m", "core", *site.cli_args(), "docs", *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


@pytest.mark.tinydb_only("the data folder's files; on PostgreSQL: test_documents_file_store.py")
def test_docs_check_orphans_cli(site, bd, ctx):
    doc = service.add_document(ctx, site.file("filed.txt", "filed"), {"title": "Filed"})
    old_sha, _s, _k = blobs.store_bytes(site.data_dir, b"old orphan")
    young_sha, _s, _k = blobs.store_bytes(site.data_dir, b"young orphan")
    _age(blobs.blob_path(site.data_dir, old_sha), 60)
    out = run(site, "check", "--orphans").stdout
    assert "every document version's file is in the store" in out
    assert f"orphan {old_sha[:16]}  10 bytes" in out and f"orphan {young_sha[:16]}" in out
    assert "(younger than 10 minutes)" in out and "2 orphaned files (22 bytes)" in out
    assert "--delete works with --orphans" in run(site, "check", "--delete", rc=2).stderr
    out = run(site, "check", "--orphans", "--delete").stdout
    assert f"deleted {old_sha[:16]}" in out and f"kept {young_sha[:16]}" in out
    assert "1 orphaned file deleted (10 bytes), 1 kept" in out
    assert not blobs.blob_path(site.data_dir, old_sha).exists()
    # a referenced file gone missing: exit 1, named
    service.file_of(ctx, service.current_version(ctx, doc)).unlink()
    out = run(site, "check", rc=1).stdout
    assert f"document {doc['id']} version 1: the file" in out and "is missing from the store" in out
