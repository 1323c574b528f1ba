"""Mail intake from a real Dovecot (tests/dovecot.py): attachments filed
through the matching rules, mails moved, never twice, nothing lost when
Backdesk is killed half-way, bad mails refused on one line."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from plugins.documents import files as blobs
from plugins.documents import mailin, service
from tests.dovecot import USERS
from tests.office import simple_pdf

HERE = Path(__file__).parent


def mail(*, sender="Stadtwerke Musterstadt <rechnung@stadtwerke-musterstadt.de>", subject="Ihre Rechnung",
         body="Guten Tag,\nanbei die Rechnung.", attachments=(), message_id=None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "office@test.example"
    msg["Subject"] = subject
    msg["Date"] = "Fri, 04 Dec 2026 09:30:00 +0100"
    msg["Message-ID"] = message_id or f"<{abs(hash((subject, sender, len(attachments))))}@test.example>"
    msg.set_content(body)
    for name, data, mime in attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def two_pdfs() -> bytes:
    return mail(attachments=[("Rechnung-4711.pdf", simple_pdf("Rechnung 4711 Wasser"), "application/pdf"),
                             ("Zaehlerstand.pdf", simple_pdf("Zaehlerstand Maerz"), "application/pdf")])


@pytest.fixture
def office(site, dovecot, tmp_path):
    """The site with an ``office`` mailbox (purpose documents) on Dovecot."""
    secret = tmp_path / "office.password"
    secret.write_text(USERS["office"] + "\n")
    box = dict(dovecot.settings("office"), purpose="documents", password_file=str(secret), tags=["mail"],
               security="none")
    box.pop("password")
    box.pop("tls")
    site.write_plugins(mailboxes={"office": box})
    return site


def _docs(ctx):
    return sorted(service.list_documents(ctx), key=lambda d: d["id"])


def test_two_pdf_attachments_are_filed_with_the_senders_correspondent(office, dovecot):
    bd = office.open()
    try:
        ctx = bd.context("documents")
        service.add_rule(ctx, {"name": "Stadtwerke", "match": "stadtwerke-musterstadt.de", "algorithm": "any",
                               "correspondent": "Stadtwerke Musterstadt", "tags": ["utilities"]})
        dovecot.deliver("office", two_pdfs())
        dovecot.deliver("office", mail(sender="Erika Muster <erika@example.org>", subject="Vertrag",
                                       attachments=[("Vertrag.pdf", simple_pdf("Vertrag Miete"),
                                                     "application/pdf")]))
        counts = mailin.fetch_mail(ctx)
        assert counts == {"handled": 2, "ignored": 0, "refused": 0, "moved": 0, "errors": []}
        docs = _docs(ctx)
        assert [(d["title"], d["correspondent"], d["tags"], d["source"], d["date"]) for d in docs] == [
            ("Rechnung-4711", "Stadtwerke Musterstadt", ["mail", "utilities"], "mail", "2026-12-04"),
            ("Zaehlerstand", "Stadtwerke Musterstadt", ["mail", "utilities"], "mail", "2026-12-04"),
            ("Vertrag", "Erika Muster", ["mail"], "mail", "2026-12-04"),  # no rule: the sender's name
        ]
        assert [d["id"] for d in service.search(ctx, "Zaehlerstand Maerz")] == [docs[1]["id"]]
        # moved out of the inbox, into the processed folder
        assert dovecot.messages("office") == []
        assert len(dovecot.messages("office", "Processed")) == 2
        logged = mailin.mail_log(ctx)
        assert [(r["status"], r["moved"], len(r["document_ids"])) for r in logged] == [
            ("handled", True, 1), ("handled", True, 2)]
        assert all(r["uidvalidity"] and r["uid"] for r in logged)
        # never twice: the next round finds nothing, also with the mail put back
        assert mailin.fetch_mail(ctx)["handled"] == 0
        with dovecot.client("office") as client:
            client.select_folder("Processed")
            client.move(client.search(["ALL"]), "INBOX")
        again = mailin.fetch_mail(ctx)
        assert (again["handled"], again["moved"]) == (0, 2)  # the same bytes: recognised, only moved
        assert len(_docs(ctx)) == 3
    finally:
        bd.close()


@pytest.mark.parametrize("step", ["stored", "handled"])
def test_killed_half_way_each_attachment_is_filed_exactly_once(office, dovecot, step):
    """SIGKILL after the attachments are in the content store (nothing
    committed), or after the commit before the mail is moved: the next round
    files each attachment exactly once and moves the mail."""
    dovecot.deliver("office", two_pdfs())
    proc = subprocess.run([sys.executable, str(HERE / "mail_worker.py"), str(office.config_dir),
                           str(office.data_dir), step], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9 and f"reached {step}" in proc.stdout, proc.stderr
    bd = office.open()
    try:
        ctx = bd.context("documents")
        assert len(dovecot.messages("office")) == 1  # still in the inbox
        assert len(_docs(ctx)) == (2 if step == "handled" else 0)
        counts = mailin.fetch_mail(ctx)
        assert (counts["handled"], counts["moved"]) == ((0, 1) if step == "handled" else (1, 0))
        docs = _docs(ctx)
        assert sorted(d["title"] for d in docs) == ["Rechnung-4711", "Zaehlerstand"]
        assert dovecot.messages("office") == [] and len(dovecot.messages("office", "Processed")) == 1
        assert mailin.fetch_mail(ctx)["handled"] == 0
        assert len(_docs(ctx)) == 2
        assert service.check_files(ctx) == []
    finally:
        bd.close()


def test_bad_mails_are_refused_on_one_line_and_left_in_place(office, dovecot):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.encrypt("geheim")
    locked = io.BytesIO()
    writer.write(locked)
    broken = (b"From: x@example.org\r\nSubject: broken\r\nMessage-ID: <broken@example.org>\r\n"
              b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
              b"--XYZ\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XYZ\r\n"
              b"Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x")
    bad = {
        "big": mail(subject="big", attachments=[("huge.pdf", b"%PDF-1.4\n" + b"0" * 1_500_000,
                                                 "application/pdf")]),
        "broken": broken,
        "locked": mail(subject="locked", attachments=[("locked.pdf", locked.getvalue(), "application/pdf")]),
        "fake": mail(subject="fake", attachments=[("photo.png", b"GIF89a not a png", "image/png")]),
    }
    for raw in bad.values():
        dovecot.deliver("office", raw)
    bd = office.open()
    try:
        ctx = bd.context("documents")
        counts = mailin.fetch_mail(ctx)
        assert (counts["handled"], counts["refused"]) == (0, 4)
        assert _docs(ctx) == []
        errors = {r["subject"]: r["error"] for r in mailin.mail_log(ctx, status="refused")}
        assert "too large for attachments of at most 1 MB" in errors["big"]
        assert "malformed MIME structure" in errors["broken"]
        assert "password-protected PDF" in errors["locked"]
        assert "is not the image it claims to be" in errors["fake"]
        assert all("\n" not in e for e in errors.values())
        assert len(dovecot.messages("office")) == 4  # left in place
        assert list(blobs.scan_store(office.data_dir)) == []  # nothing half-filed in the content store
        again = mailin.fetch_mail(ctx)  # never fetched again
        assert (again["handled"], again["refused"]) == (0, 0)
        assert len(mailin.mail_log(ctx)) == 4
    finally:
        bd.close()


def _cli(site, *args):
    return subprocess.run([sys.executable, "-m", "core", *site.cli_args(), "docs", *args],
                          capture_output=True, text=True, timeout=300)


def test_cli_fetch_and_log_show_hostile_text_harmlessly(office, dovecot):
    dovecot.deliver("office", mail(sender="Evil <evil@example.org>", subject="Rechnung \x1b[31mROT\x1b[0m",
                                   attachments=[("a.pdf", simple_pdf("Alpha"), "application/pdf")]))
    proc = _cli(office, "mail", "fetch")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^office: mail \d+ from evil@example.org: document 1$", proc.stdout, re.M), proc.stdout
    assert "1 handled, 0 ignored, 0 refused" in proc.stdout
    proc = _cli(office, "mail", "log")
    assert proc.returncode == 0
    assert "\x1b" not in proc.stdout and "Rechnung ␛[31mROT␛[0m" in proc.stdout
    # what became of it in the words of the Mail log screen
    assert "handled" in proc.stdout and "filed as document 1" in proc.stdout


def test_a_wrong_password_or_an_unknown_mailbox_is_one_line(office, dovecot, tmp_path):
    (tmp_path / "office.password").write_text("wrong\n")
    proc = _cli(office, "mail", "fetch")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"backdesk: mailbox office: login refused by 127.0.0.1:{dovecot.port} for 'office'"]
    proc = _cli(office, "mail", "fetch", "--mailbox", "nope")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "no mailbox named 'nope' (configured: office)" in proc.stderr


@pytest.mark.parametrize("box, key, words", [
    ({"purpose": "documents", "host": "h", "port": "imap"}, "office.port", "expected a port number"),
    ({"purpose": "documents", "host": "h", "password": "x"}, "office.password", "no passwords in the YAML"),
    ({"purpose": "documents"}, "office.host", "required"),
    ({"purpose": "documents", "host": "h", "security": "ssl3"}, "office.security", "'ssl3' is not one of"),
    ({"purpose": "documents", "host": "h", "password_file": "relative.txt"}, "office.password_file",
     "expected an absolute path"),
])
def test_mailbox_settings_are_checked_with_file_line_and_key(site, box, key, words):
    site.write_plugins(mailboxes={"office": box})
    proc = _cli(site, "mail", "log")
    assert proc.returncode == 2
    text = proc.stderr
    assert f"plugins.yaml:" in text and f"plugins.documents.settings.mailboxes.{key}: {words}" in text, text


def test_every_mailbox_problem_is_reported_at_once(site):
    site.write_plugins(mailboxes={"office": {"purpose": "documents", "host": "h", "port": 0},
                                  "help": {"purpose": "helpdesk", "security": "none"}})
    proc = _cli(site, "mail", "log")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert [line.split(": ")[2] for line in lines] == [
        "plugins.documents.settings.mailboxes.office.port", "plugins.documents.settings.mailboxes.help.host"]


def test_mail_watch_runs_as_a_service_until_sigterm(office, dovecot):
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "core", *office.cli_args(), "docs", "mail", "watch", "--every",
                             "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "reading 1 mailboxes every 1 s" in proc.stderr.readline()
        dovecot.deliver("office", two_pdfs())
        assert proc.stdout.readline().startswith("1 handled, 0 ignored, 0 refused")  # waits for the round
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and err.strip().endswith("stopped")
    assert dovecot.messages("office") == [] and len(dovecot.messages("office", "Processed")) == 1
