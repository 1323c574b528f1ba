"""Email and fax through real servers: aiosmtpd (STARTTLS + login) and HylaFAX."""

from __future__ import annotations

import email
import subprocess
from datetime import timedelta

import pytest

from core.errors import ValidationError
from plugins.documents import service
from tests.office import simple_pdf
from tests.peers import free_port
from tests.plugins.documents.conftest import SMTPServer


def _open(site, **settings):
    site.write_plugins(**settings)
    bd = site.open()
    return bd, bd.context("documents")


def test_email_arrives_with_the_attachment_byte_identical(site, smtp):
    bd, ctx = _open(site, **smtp.settings())
    try:
        payload = simple_pdf("Invoice 4711") + bytes(range(256))
        doc = service.add_document(ctx, site.file("rechnung.pdf", payload), {"title": "Rechnung 4711"})
        dept = bd.services.people.add_department("Buchhaltung / Accounting")
        person = bd.services.people.add_person(name="Clara Chef", email="clara@test.example", department_id=dept)
        row = service.queue_email(ctx, doc["id"], ["ap@vendor.example", str(person)], subject="Your invoice",
                                  body="Attached.")
        counts = service.process_outbox(ctx)
        assert counts["sent"] == 1
        assert len(smtp.messages) == 1
        got = smtp.messages[0]
        assert got["tls"] and sorted(got["to"]) == ["ap@vendor.example", "clara@test.example"]
        msg = email.message_from_bytes(got["data"])
        assert msg["Message-ID"] == row["message_id"] and msg["Subject"] == "Your invoice"
        parts = [p for p in msg.walk() if p.get_filename()]
        assert parts[0].get_filename() == "rechnung.pdf"
        assert parts[0].get_payload(decode=True) == payload
        done = ctx.table("outbox")[row["id"]]
        assert done["status"] == "sent" and done["attempts"] == 1 and done["sent_at"]
        assert service.process_outbox(ctx)["sent"] == 0  # never twice
        assert len(smtp.messages) == 1
    finally:
        bd.close()


def test_server_down_then_back_sends_exactly_once(site, tls_files):
    port = free_port()
    server = SMTPServer(tls_files, port=port)
    bd, ctx = _open(site, **server.settings(), retry_base_seconds=60)
    try:
        doc = service.add_document(ctx, site.file("memo.txt", "memo"), {"title": "Memo"})
        row = service.queue_email(ctx, doc["id"], "boss@test.example")
        assert service.process_outbox(ctx)["failed"] == 1
        failed = ctx.table("outbox")[row["id"]]
        assert failed["status"] == "failed" and failed["attempts"] == 1
        assert "cannot reach 127.0.0.1" in failed["last_error"]
        # not due yet: the backoff holds it back
        assert service.process_outbox(ctx)["failed"] == 0
        assert ctx.table("outbox")[row["id"]]["attempts"] == 1
        later = service.now_utc() + timedelta(seconds=61)
        assert service.process_outbox(ctx, now=later)["failed"] == 1
        second = ctx.table("outbox")[row["id"]]
        assert second["attempts"] == 2
        assert service._parse_iso(second["next_attempt_at"]) - service.now_utc() > timedelta(seconds=100)
        server.start()
        try:
            assert service.process_outbox(ctx, force=True)["sent"] == 1
            assert service.process_outbox(ctx, force=True)["sent"] == 0
            assert len(server.messages) == 1
            assert email.message_from_bytes(server.messages[0]["data"])["Message-ID"] == row["message_id"]
        finally:
            server.stop()
        sent = ctx.table("outbox")[row["id"]]
        assert sent["status"] == "sent" and sent["attempts"] == 3
    finally:
        bd.close()


def test_a_crash_while_sending_is_never_resent_automatically(site, smtp):
    bd, ctx = _open(site, **smtp.settings())
    try:
        doc = service.add_document(ctx, site.file("a.txt", "a"), {"title": "A"})
        row = service.queue_email(ctx, doc["id"], "x@test.example")
        old = service._iso(service.now_utc() - timedelta(hours=1))
        ctx.table("outbox").update(row["id"], {"status": "sending", "sending_since": old, "attempts": 1})
        assert service.process_outbox(ctx, force=True)["unknown"] == 1
        assert ctx.table("outbox")[row["id"]]["status"] == "unknown"
        assert smtp.messages == []
        service.requeue(ctx, row["id"])  # the operator checked: it did not arrive
        service.process_outbox(ctx)
        assert len(smtp.messages) == 1
        with pytest.raises(ValidationError, match="only failed or unknown"):
            service.requeue(ctx, row["id"])
    finally:
        bd.close()


@pytest.mark.parametrize("to, message", [
    (["not-an-address"], "no one in the directory matches"),
    (["a@b"], "not a valid email address"),
    ([], "at least one recipient"),
    (["#999"], "no person with id 999"),
])
def test_bad_recipients(site, ctx, to, message):
    doc = service.add_document(ctx, site.file("a.txt", "a"), {"title": "A"})
    with pytest.raises(ValidationError, match=message):
        service.queue_email(ctx, doc["id"], to)
    assert ctx.table("outbox").count() == 0


@pytest.mark.parametrize("number", ["abc", "12", "+49 30 12345 6789 0123 4567", "030+1234", "; rm -rf /"])
def test_bad_fax_numbers(site, ctx, number):
    doc = service.add_document(ctx, site.file("a.txt", "a"), {"title": "A"})
    with pytest.raises(ValidationError, match="not a valid fax number"):
        service.queue_fax(ctx, doc["id"], number)
    assert ctx.table("outbox").count() == 0


def test_fax_through_the_email_gateway(site, smtp):
    bd, ctx = _open(site, **smtp.settings(), fax_transport="email_gateway", fax_gateway_domain="fax.test.example")
    try:
        doc = service.add_document(ctx, site.file("order.txt", "order 12"), {"title": "Order"})
        row = service.queue_fax(ctx, doc["id"], "+49 (30) 123-4567", cover_note="Two pages")
        assert row["to"] == "+49301234567"
        service.process_outbox(ctx)
        assert smtp.messages[0]["to"] == ["49301234567@fax.test.example"]
        msg = email.message_from_bytes(smtp.messages[0]["data"])
        attached = [p for p in msg.walk() if p.get_filename()][0]
        assert attached.get_payload(decode=True) == b"order 12"
        assert ctx.table("outbox")[row["id"]]["status"] == "sent"
    finally:
        bd.close()


def test_fax_job_appears_in_the_hylafax_queue(site, hylafax):
    bd, ctx = _open(site, fax_transport="hylafax", hylafax_host=hylafax.host, hylafax_port=hylafax.port)
    job_id = None
    try:
        doc = service.add_document(ctx, site.file("fax.txt", "Please call back.\n"), {"title": "Callback"})
        row = service.queue_fax(ctx, doc["id"], "0301234567", cover_note="For Mr. Weber")
        service.process_outbox(ctx)
        done = ctx.table("outbox")[row["id"]]
        assert done["status"] == "submitted", done["last_error"]
        job_id = done["job_id"]
        assert job_id.isdigit()
        listing = hylafax.faxstat()
        line = [ln for ln in listing.splitlines() if ln.split()[:1] == [job_id]]
        assert line and "0301234567" in line[0]
        service.poll_fax_status(ctx)  # no modem: still queued, nothing changes to sent
        assert ctx.table("outbox")[row["id"]]["status"] == "submitted"
        assert ctx.table("outbox")[row["id"]]["transport_state"] == "queued"
    finally:
        if job_id:
            hylafax.remove_job(job_id)
        bd.close()


def test_hylafax_down_is_a_failure_not_a_crash(site):
    bd, ctx = _open(site, fax_transport="hylafax", hylafax_port=free_port(), smtp_timeout=2.0)
    try:
        doc = service.add_document(ctx, site.file("fax.txt", "x"), {"title": "X"})
        row = service.queue_fax(ctx, doc["id"], "0301234567")
        service.process_outbox(ctx)
        failed = ctx.table("outbox")[row["id"]]
        assert failed["status"] == "failed" and failed["last_error"]
    finally:
        bd.close()


async def test_a_fax_retrying_is_not_failed_and_the_sender_hears_when_it_finally_fails(site):
    """HylaFAX away: the first failed try reads "retrying" with its next try;
    the last (max_attempts) reads "failed" and Bob, who queued it, finds a
    notification linked to the Outbox; Enter on the job opens the document."""
    from core.shell.app import make_app
    from core.cli.testing import wait_for
    from core.shell.widgets import RecordTable
    from plugins.documents.screens import DocumentScreen, OutboxScreen

    site.write_plugins(fax_transport="hylafax", hylafax_port=free_port(), smtp_timeout=2.0, max_attempts=2)
    bd = site.open("bob")
    try:
        ctx = bd.context("documents")
        doc = service.add_document(ctx, site.file("order.txt", "Order 12"), {"title": "Order 12"})
        row = service.queue_fax(ctx, doc["id"], "030 1234567")
        service.process_outbox(ctx)
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_nav("documents.outbox")
            await wait_for(pilot, lambda: isinstance(app.screen, OutboxScreen) and app.screen.query(RecordTable))
            table = app.screen.query_one(RecordTable)
            await wait_for(pilot, lambda: table.row_count == 1)
            assert table.cursor_record["shown_status"] == "retrying"
            detail = app.screen.query_one("#outbox-detail")
            await wait_for(pilot, lambda: "next try" in str(detail.render()))
            assert bd.services.notifications.inbox() == []  # nobody is told about a retry

            service.process_outbox(ctx, force=True)  # the second and last try
            await wait_for(pilot, lambda: table.cursor_record and table.cursor_record["shown_status"] == "failed")
            await wait_for(pilot, lambda: "given up after 2 tries: q requeues" in str(detail.render()))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen))
            assert app.screen.doc_id == doc["id"]
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, OutboxScreen))
        notes = bd.services.notifications.inbox()
        assert len(notes) == 1 and notes[0]["link"] == "documents.outbox" and notes[0]["kind"] == "warning"
        assert notes[0]["text"].startswith("The fax of “Order 12” to 0301234567 failed after 2 tries: ")
        assert notes[0]["data"] == {"outbox_id": row["id"]}
        counts = service.counts_for_cards(ctx)
        assert (counts["failed"], counts["retrying"]) == (1, 0)
        service.process_outbox(ctx)  # given up stays given up: no try, no second notification
        assert ctx.table("outbox")[row["id"]]["attempts"] == 2 and len(bd.services.notifications.inbox()) == 1
    finally:
        bd.close()
