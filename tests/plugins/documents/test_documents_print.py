"""Printing register documents through a real CUPS (tests/cupsd.py): what comes
out of the printer is read back; failures reach whoever printed; prints of
confidential documents are audited; the CLI as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.errors import PermissionDenied, ValidationError
from tests.cupsd import cups_server  # noqa: F401  (the fixture)
from tests.peers import wait_until

from plugins.documents import paper, service


def pages_pdf(*texts: str) -> bytes:
    """A PDF with one page per text (fpdf2)."""
    from fpdf import FPDF

    pdf = FPDF()
    for text in texts:
        pdf.add_page()
        pdf.set_font("Helvetica", size=18)
        pdf.cell(0, 10, text)
    return bytes(pdf.output())


def finished(ctx, job: dict) -> dict:
    """The job once CUPS has printed, held or failed it."""
    printing = ctx.services.printing
    assert wait_until(lambda: printing.follow_job(job["id"])["state"] not in ("waiting", "printing"), 120)
    return printing.follow_job(job["id"])


@pytest.fixture
def letter(site, ctx):
    path = site.file("brief.pdf", pages_pdf("Seite eins", "Seite zwei", "Seite drei"))
    return service.add_document(ctx, path, {"title": "Brief an Müller", "type": ""})


def test_print_pages_copies_and_both_sides_come_out_of_the_printer(cups_server, ctx, letter):
    job = paper.print_document(ctx, letter["id"], printer="office-pdf", copies=2, duplex=True, pages="2-3")
    assert job["state"] in ("waiting", "printing", "done") and job["copies"] == 2 and job["pages"] == "2-3"
    done = finished(ctx, job)
    assert done["state"] == "done", done
    assert cups_server.printed_pages("office-pdf") == ["Seite zwei", "Seite drei"] * 2
    assert b"@PJL SET DUPLEX=ON" in cups_server.printed("office-pdf")
    assert f'JOB NAME = "ASN {letter["asn"]} Brief an M' in cups_server.printed("office-pdf").decode("latin-1")
    assert [h["what"] for h in service.history(ctx, letter["id"])][-1] == "printed"
    assert paper.last_print(ctx, letter["id"])["state"] == "done"
    # not confidential: nothing in the audit trail about the print
    assert not ctx.services.audit.entries(op="print")


def test_a_confidential_document_s_every_print_is_audited(cups_server, site, ctx):
    service.add_type(ctx, "Payslip")
    path = site.file("lohn.pdf", pages_pdf("Lohnabrechnung Maerz"))
    slip = service.add_document(ctx, path, {"title": "Lohnabrechnung März", "type": "Payslip"})
    tagged = service.add_document(ctx, site.file("akte.pdf", pages_pdf("Akte")),
                                  {"title": "Akte", "tags": ["vertraulich"]})
    finished(ctx, paper.print_document(ctx, slip["id"], printer="office-pdf"))
    assert cups_server.printed_pages("office-pdf") == ["Lohnabrechnung Maerz"]
    finished(ctx, paper.print_document(ctx, tagged["id"], printer="office-pdf", copies=3))
    entries = ctx.services.audit.entries(op="print", newest_first=False)
    assert [(e["plugin"], e["table"], e["doc_id"], e["actor"]) for e in entries] == [
        ("documents", "documents", slip["id"], "alice"), ("documents", "documents", tagged["id"], "alice")]
    assert "office-pdf" in entries[0]["what"] and "3" in entries[1]["what"]


def test_a_job_the_printer_cannot_print_fails_and_its_operator_is_notified(cups_server, site, letter):
    bob = site.open("bob")
    try:
        ctx = bob.context("documents")
        job = paper.print_document(ctx, letter["id"], printer="broken")
        done = finished(ctx, job)
        assert done["state"] == "failed" and done["reason"]
        inbox = bob.services.notifications.inbox()
        assert len(inbox) == 1 and "failed" in inbox[0]["text"] and "broken" in inbox[0]["text"]
        # followed again (another process, a later round): notified once only
        assert ctx.services.printing.follow_jobs() == 0
        assert len(bob.services.notifications.inbox()) == 1
    finally:
        bob.close()


def test_a_job_at_a_stopped_printer_is_held_and_said_so(cups_server, ctx, bd, letter):
    job = paper.print_document(ctx, letter["id"], printer="paused")
    held = finished(ctx, job)
    assert held["state"] == "held" and held["reason"] == "Paused"
    assert "waits at paused" in bd.services.notifications.inbox()[0]["text"]


def test_bad_print_requests_are_refused_before_anything_is_sent(cups_server, site, ctx, letter):
    for kwargs, field in [({"printer": "nowhere"}, "printer"), ({"printer": "office-pdf", "copies": 0}, "copies"),
                          ({"printer": "office-pdf", "copies": 100}, "copies"),
                          ({"printer": "office-pdf", "pages": "3-1"}, "pages"),
                          ({"printer": "office-pdf", "pages": "a-b"}, "pages")]:
        with pytest.raises(ValidationError) as err:
            paper.print_document(ctx, letter["id"], **kwargs)
        assert err.value.field == field
    odd = service.add_document(ctx, site.file("data.bin", b"\x00\x01binary"), {"title": "Binär"})
    with pytest.raises(ValidationError, match="cannot be printed"):
        paper.print_document(ctx, odd["id"], printer="office-pdf")
    assert ctx.services.printing.jobs() == []
    sam = site.open("sam")  # documents.read only
    try:
        with pytest.raises(PermissionDenied):
            paper.print_document(sam.context("documents"), letter["id"], printer="office-pdf")
    finally:
        sam.close()


def test_default_printer_per_operator_and_per_kiosk(cups_server, site, ctx, letter):
    with pytest.raises(ValidationError, match="no default printer"):
        paper.print_document(ctx, letter["id"])
    ctx.services.printing.set_default("office-pdf")
    assert [p["name"] for p in paper.printers(ctx) if p["chosen"]] == ["office-pdf"]
    assert finished(ctx, paper.print_document(ctx, letter["id"]))["printer"] == "office-pdf"
    ctx.services.printing.set_default("lobby-pdf", kiosk=True)
    from core.plugins.runtime import open_backdesk

    kiosk = open_backdesk(site.config_dir, site.data_dir, account="alice", kiosk=True, load_entry_points=False)
    try:
        kctx = kiosk.context("documents")
        job = finished(kctx, paper.print_document(kctx, letter["id"]))
        assert job["printer"] == "lobby-pdf" and cups_server.printed_pages("lobby-pdf")[0] == "Seite eins"
    finally:
        kiosk.close()
    with pytest.raises(ValidationError, match="no printer named"):
        ctx.services.printing.set_default("nowhere")


# ------------------------------------------------------------------ the CLI
def run(site, *args, rc=0):
    proc = subprocess.run([sys.executable, "-m", "core", *site.cli_args(), "docs", *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def test_cli_prints_lists_printers_and_jobs(cups_server, site, letter):
    out = run(site, "printers").stdout
    assert "office-pdf" in out and "paused" in out and "stopped" in out and "duplex" in out
    assert "default printer of" in run(site, "printers", "--default", "office-pdf").stdout
    assert "* office-pdf" in run(site, "printers").stdout
    out = run(site, "print", str(letter["id"]), "--copies", "2", "--pages", "1", "--wait").stdout
    assert "on office-pdf: 2 copies, pages 1" in out and out.strip().endswith("printed")
    assert cups_server.printed_pages("office-pdf") == ["Seite eins", "Seite eins"]
    out = run(site, "print", str(letter["id"]), "--printer", "broken", "--wait", rc=1).stdout
    assert "failed" in out.splitlines()[-1]
    jobs = run(site, "print-jobs").stdout.splitlines()
    assert "failed" in jobs[0] and "broken" in jobs[0] and "printed" in jobs[1]
    for args in (["--pages", "3-1"], ["--copies", "zero"], ["--printer", "nowhere"]):
        err = run(site, "print", str(letter["id"]), *args, rc=2).stderr.strip()
        assert len(err.splitlines()) == 1, err
    assert "no document with id 999" in run(site, "print", "999", rc=2).stderr


# ------------------------------------------------------------------ the Documents screen
async def test_print_dialog_keyboard_only_at_80x24(cups_server, site, bd, ctx, letter):
    from textual.widgets import Checkbox, Input, Select

    from core.shell.app import make_app
    from core.shell.widgets import FormScreen
    from plugins.documents.screens import RegisterScreen

    ctx.services.printing.set_default("office-pdf")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        assert isinstance(app.screen, RegisterScreen)
        await pilot.press("p")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, FormScreen)
        form = dialog.form
        printer = form.control("printer")
        assert isinstance(printer, Select) and printer.value == "office-pdf"  # the operator's default
        assert app.focused is printer
        # the printer picker (sorted by name): Enter opens the list, Up to lobby-pdf, Enter takes it
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("up", "enter")
        await pilot.pause()
        assert printer.value == "lobby-pdf"
        await pilot.press("tab")
        copies = form.control("copies")
        assert isinstance(copies, Input) and app.focused is copies
        await pilot.press("backspace", "0")  # "0": refused at the field, the dialog stays
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert "1 to 99" in " ".join(str(w.render()) for w in app.screen.query("Static"))
        await pilot.press("backspace", "2", "tab", "space")  # 2 copies, both sides
        duplex = form.control("duplex")
        assert isinstance(duplex, Checkbox) and duplex.value is True
        await pilot.press("tab", *"1")  # page 1 only
        # a paper tray is offered because tray-pdf has trays; "automatic" unless chosen
        assert isinstance(form.control("tray"), Select) and form.control("tray").value == ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, RegisterScreen)
        job = ctx.services.printing.jobs()[0]
        assert (job["printer"], job["copies"], job["duplex"], job["pages"]) == ("lobby-pdf", 2, True, "1")
        assert finished(ctx, job)["state"] == "done"
        assert cups_server.printed_pages("lobby-pdf") == ["Seite eins", "", "Seite eins", ""]
        await pilot.pause()
        app.screen.load()
        snippet = str(app.screen.query_one("#docs-snippet").render())
        assert "Print: printed on lobby-pdf" in snippet


def test_a_paper_tray_the_printer_offers_is_used_and_one_it_lacks_refused(cups_server, ctx, letter):
    trays = {p["name"]: p["trays"] for p in paper.printers(ctx)}
    assert trays["tray-pdf"] == ["tray-1", "tray-2", "manual"] and trays["office-pdf"] == []
    job = finished(ctx, paper.print_document(ctx, letter["id"], printer="tray-pdf", tray="tray-2", pages="1"))
    assert job["state"] == "done" and job["tray"] == "tray-2"
    assert b"@PJL SET MEDIASOURCE=TRAY2" in cups_server.printed("tray-pdf")
    with pytest.raises(ValidationError, match="no tray 'tray-2'") as err:
        paper.print_document(ctx, letter["id"], printer="office-pdf", tray="tray-2")
    assert err.value.field == "tray"


def test_confidential_types_must_be_type_names(site):
    site.write_plugins(confidential_types=["Payslip", 7])
    proc = subprocess.run([sys.executable, "-m", "core", *site.cli_args(), "docs", "list"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "confidential_types: a list of document type names" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_the_worker_round_goes_on_when_the_print_server_is_away(cups_server, monkeypatch, ctx, letter):
    from plugins.documents import worker

    job = paper.print_document(ctx, letter["id"], printer="paused")
    assert finished(ctx, job)["state"] == "held"  # still followed: the printer may go on
    monkeypatch.setenv("CUPS_SERVER", "127.0.0.1:1")  # nothing listens there
    worker.run_once(ctx)  # no exception: the inbox, outbox and OCR of the round are not held up
    assert ctx.services.printing.job(job["id"])["state"] == "held"
