"""Scanning through SANE's test device (tests/sanetest.py) into the register,
and copying (scan, then print to the test CUPS, tests/cupsd.py)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from core.errors import BackdeskError, PermissionDenied, ValidationError
from tests.cupsd import cups_server  # noqa: F401  (the fixture)
from tests.peers import wait_until
from tests.sanetest import FEEDER, sane_scanner  # noqa: F401  (the fixture)

from plugins.documents import scanning, service

PROFILES = {"feeder3": {"resolution": 75, "mode": "Gray", "source": FEEDER, "pages": 3, "tags": ["post"]},
            "two": {"resolution": 75, "mode": "Gray", "source": FEEDER, "pages": 2},
            "empty-feeder": {"resolution": 75, "mode": "Gray", "source": FEEDER, "pages": 0},
            "flatbed": {"resolution": 75, "mode": "Color", "source": "Flatbed", "pages": 1}}


@pytest.fixture
def scan_site(site, sane_scanner):
    site.write_plugins(scan_profiles=PROFILES, scanner="test:0", ocr=True)
    return site


def pdf_pages(ctx, doc) -> int:
    import pypdf

    path = service.file_of(ctx, service.current_version(ctx, doc))
    return len(pypdf.PdfReader(str(path)).pages)


def test_a_three_page_batch_is_filed_through_the_rules_with_its_ocr_queued(scan_site):
    bd = scan_site.open()
    try:
        ctx = bd.context("documents")
        service.add_rule(ctx, {"name": "Scans", "match": "scan", "algorithm": "any",
                               "correspondent": "Posteingang"})
        seen = []
        done = scanning.scan_to_register(ctx, profile="feeder3", file=True,
                                         progress=lambda page, pct: seen.append((page, pct)))
        assert done["pages"] == 3
        doc = done["document"]
        assert doc["correspondent"] == "Posteingang" and "post" in doc["tags"]  # the rule's and the profile's
        assert pdf_pages(ctx, doc) == 3
        assert {page for page, _pct in seen} == {1, 2, 3} and (3, 100.0) in seen
        assert [h["what"] for h in service.history(ctx, doc["id"])][-1] == "scanned"
        assert ctx.table("ocr").find({"document_id": doc["id"]})  # recognised later, as every scan
        intake = ctx.table("intake").get(done["intake"]["id"])
        assert intake["status"] == "filed" and not list(service.inbox_dir(ctx).iterdir())
    finally:
        bd.close()


def test_a_scan_not_filed_waits_in_the_intake_and_a_feeder_runs_until_empty(scan_site):
    bd = scan_site.open()
    try:
        ctx = bd.context("documents")
        done = scanning.scan_to_register(ctx, profile="empty-feeder")
        assert done["pages"] == 10 and done["document"] is None  # the test feeder holds 10 sheets
        waiting = service.intake_queue(ctx)
        assert [r["filename"] for r in waiting] == [done["filename"]]
        doc = service.file_intake(ctx, waiting[0]["id"], {"title": "Stapel"})
        assert pdf_pages(ctx, doc) == 10
    finally:
        bd.close()


def test_a_jammed_scanner_is_one_line_and_nothing_arrives(scan_site, sane_scanner):
    sane_scanner.write(jammed=True)
    bd = scan_site.open()
    try:
        ctx = bd.context("documents")
        with pytest.raises(BackdeskError, match="gave no page: paper jammed"):
            scanning.scan_to_register(ctx, profile="two", file=True)
        assert service.intake_queue(ctx, include_done=True) == []
        assert ctx.table("documents").count() == 0
        with pytest.raises(ValidationError, match="no scan profile 'nope'"):
            scanning.scan_to_register(ctx, profile="nope")
        sam = scan_site.open("sam")
        try:
            with pytest.raises(PermissionDenied):
                scanning.scan_to_register(sam.context("documents"), profile="two")
        finally:
            sam.close()
    finally:
        bd.close()


def test_copy_two_pages_twice_to_the_printer_files_nothing(scan_site, cups_server):
    bd = scan_site.open()
    try:
        ctx = bd.context("documents")
        done = scanning.photocopy(ctx, profile="two", printer="office-pdf", copies=2)
        assert done["pages"] == 2 and done["document"] is None
        printing = ctx.services.printing
        assert wait_until(lambda: printing.follow_job(done["job"]["id"])["state"] == "done", 120)
        assert len(cups_server.printed_pages("office-pdf")) == 4  # 2 pages, 2 copies, collated
        assert ctx.table("documents").count() == 0 and service.intake_queue(ctx, include_done=True) == []
        with pytest.raises(ValidationError, match="copies"):
            scanning.photocopy(ctx, profile="two", printer="office-pdf", copies=0)
        with pytest.raises(ValidationError, match="no printer named"):
            scanning.photocopy(ctx, profile="two", printer="nowhere")
        kept = scanning.photocopy(ctx, profile="two", printer="office-pdf", file=True)
        assert pdf_pages(ctx, kept["document"]) == 2
    finally:
        bd.close()


def run(site, *args, rc=0):
    proc = subprocess.run([sys.executable, "-m", "core", *site.cli_args(), "docs", *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def test_cli_lists_scanners_scans_and_copies(scan_site, cups_server):
    assert "test:0" in run(scan_site, "scanners").stdout
    out = run(scan_site, "scan", "--profile", "feeder3", "--file", "--title", "Post vom Montag").stdout
    assert "scanned 3 pages" in out and "filed as document 1" in out
    out = run(scan_site, "photocopy", "--profile", "two", "--printer", "office-pdf", "--copies", "2",
              "--wait").stdout
    assert "copied 2 pages" in out and out.strip().endswith("printed")
    assert len(cups_server.printed_pages("office-pdf")) == 4
    err = run(scan_site, "scan", "--profile", "nope", rc=2).stderr.strip()
    assert len(err.splitlines()) == 1 and "no scan profile" in err


async def test_scan_from_the_intake_screen_with_progress_at_80x24(scan_site):
    from textual.widgets import Select

    from core.shell.app import make_app
    from core.cli.testing import wait_for
    from core.shell.widgets import FormScreen
    from plugins.documents.screens import IntakeScreen

    bd = scan_site.open()
    try:
        ctx = bd.context("documents")
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_nav("documents.intake")
            await wait_for(pilot, lambda: isinstance(app.screen, IntakeScreen))
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
            profile = app.screen.form.control("profile")
            assert isinstance(profile, Select) and profile.value == "feeder3"
            await pilot.press("ctrl+s")
            # the scan runs under a ProgressScreen (pages scanned), which closes with the result
            await wait_for(pilot, lambda: "Scanned 3 pages" in " ".join(str(n.message) for n in app._notifications))
            await wait_for(pilot, lambda: isinstance(app.screen, IntakeScreen))
            await wait_for(pilot, lambda: len(app.screen.query_one("#intake-table").records) == 1)
            row = app.screen.query_one("#intake-table").records[0]
            assert row["filename"].startswith("scan-") and row["status"] == "waiting"
        assert ctx.table("documents").count() == 0  # not filed: it waits in the intake
    finally:
        bd.close()


def test_a_missing_print_server_or_scanner_program_is_one_line_naming_what_to_install(scan_site):
    import os

    env = {**os.environ, "CUPS_SERVER": "127.0.0.1:1"}  # nothing listens there
    proc = subprocess.run([sys.executable, "-m", "core", *scan_site.cli_args(), "docs", "printers"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "backdesk: the print server 127.0.0.1:1 does not answer: is CUPS running? (apt-get install cups)"]
    env = {**os.environ, "PATH": "/nonexistent"}  # no scanimage
    proc = subprocess.run([sys.executable, "-m", "core", *scan_site.cli_args(), "docs", "scan"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "backdesk: scanning needs SANE's scanimage: apt-get install sane-utils"]


def test_scan_profiles_are_checked_per_field(scan_site):
    for profiles, problem in [({"x": {"resolution": 20}}, "x.resolution"), ({"x": {"mode": "Sepia"}}, "x.mode"),
                              ({"x": {"pages": 0}}, "x.pages"), ({"x": {"colour": 1}}, "x.colour"),
                              ({"bad name": {}}, "profile name")]:
        scan_site.write_plugins(scan_profiles=profiles)
        proc = subprocess.run([sys.executable, "-m", "core", *scan_site.cli_args(), "docs", "scanners"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode != 0 and problem in proc.stderr and "scan_profiles" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


async def test_copy_from_the_intake_screen_prints_and_files_nothing(scan_site, cups_server):
    from textual.widgets import Select

    from core.shell.app import make_app
    from core.cli.testing import wait_for
    from core.shell.widgets import FormScreen
    from plugins.documents.screens import IntakeScreen

    bd = scan_site.open()
    try:
        ctx = bd.context("documents")
        ctx.services.printing.set_default("office-pdf")
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_nav("documents.intake")
            await wait_for(pilot, lambda: isinstance(app.screen, IntakeScreen))
            await pilot.press("k")
            await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
            form = app.screen.form
            assert isinstance(form.control("printer"), Select) and form.control("printer").value == "office-pdf"
            form.control("profile").value = "two"
            form.control("copies").value = "2"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "Copied 2 pages" in " ".join(str(n.message) for n in app._notifications))
        job = ctx.services.printing.jobs()[0]
        assert wait_until(lambda: ctx.services.printing.follow_job(job["id"])["state"] == "done", 120)
        assert len(cups_server.printed_pages("office-pdf")) == 4
        assert ctx.table("documents").count() == 0 and service.intake_queue(ctx, include_done=True) == []
    finally:
        bd.close()
