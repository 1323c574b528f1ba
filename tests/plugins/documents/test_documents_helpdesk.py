"""Helpdesk by mail, end to end with real peers: a mail in Dovecot's
helpdesk mailbox opens an IT ticket, the requester gets a confirmation and
the agent's reply over the real SMTP server (aiosmtpd), the requester's
answer threads onto the same ticket, an auto-reply opens nothing."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from plugins.documents import mailin, service
from plugins.it import service as it
from tests.dovecot import USERS


def mail(*, sender="Erika Muster <erika@test.example>", subject="Drucker im 2. OG druckt nicht",
         body="Seit heute morgen kommt nichts mehr aus dem Drucker.", headers=None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "helpdesk@test.example"
    msg["Subject"] = subject
    msg["Date"] = "Fri, 04 Dec 2026 09:30:00 +0100"
    msg["Message-ID"] = f"<{abs(hash((sender, subject, body)))}@mail.test.example>"
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    return msg.as_bytes()


@pytest.fixture
def helpdesk(site, dovecot, smtp, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKDESK_TEST_HELPDESK_PASSWORD", USERS["helpdesk"])
    box = {"purpose": "helpdesk", "host": "127.0.0.1", "port": dovecot.port, "security": "none",
           "user": "helpdesk", "password_env": "BACKDESK_TEST_HELPDESK_PASSWORD",
           "address": "helpdesk@test.example"}
    site.more_plugins = ["  - name: it"]
    site.write_plugins(mailboxes={"helpdesk": box}, smtp_from="helpdesk@test.example", **smtp.settings())
    bd = site.open()
    dept = bd.services.people.add_department("Einkauf")
    bd.services.people.add_person(name="Erika Muster", email="erika@test.example", department_id=dept)
    yield bd
    bd.close()


def _sent(smtp) -> list:
    with smtp.lock:
        return [message_from_bytes(m["data"], policy=policy.default) for m in smtp.messages]


def test_a_mail_opens_a_ticket_and_the_conversation_goes_on_by_mail(helpdesk, dovecot, smtp):
    bd = helpdesk
    docs, itx = bd.context("documents"), bd.context("it")
    dovecot.deliver("helpdesk", mail())
    counts = mailin.fetch_mail(docs)
    assert counts["handled"] == 1 and counts["errors"] == []
    [ticket] = it.queue(itx, "all")
    assert ticket["title"] == "Drucker im 2. OG druckt nicht" and ticket["source"] == "mail"
    assert bd.services.people.get(ticket["requester_id"])["name"] == "Erika Muster"
    assert "kommt nichts mehr" in ticket["description"]
    assert mailin.mail_log(docs)[0]["result"] == {"ticket_id": ticket["id"]}
    assert dovecot.messages("helpdesk") == [] and len(dovecot.messages("helpdesk", "Processed")) == 1

    # the confirmation and the agent's reply leave through the outbox, over SMTP
    it.add_comment(itx, ticket["id"], "Ich schaue mir den Drucker um 11 Uhr an.")
    it.add_comment(itx, ticket["id"], "Toner bestellt?", internal=True)  # an internal note stays inside
    assert service.process_outbox(docs)["sent"] == 2
    confirmation, reply = _sent(smtp)
    assert [a for m in (confirmation, reply) for a in m["To"].addresses[0].addr_spec.split()] == [
        "erika@test.example", "erika@test.example"]
    assert confirmation["Subject"] == f"[#{ticket['id']}] Drucker im 2. OG druckt nicht"
    assert f"ticket #{ticket['id']}" in confirmation.get_content()
    assert reply["Subject"] == f"Re: [#{ticket['id']}] Drucker im 2. OG druckt nicht"
    assert "um 11 Uhr" in reply.get_content() and "Toner" not in reply.get_content()
    assert reply["In-Reply-To"] == confirmation["Message-ID"]
    assert reply["Auto-Submitted"] == "auto-replied"

    # the requester answers the reply (threaded by In-Reply-To, subject changed): a comment, not a ticket
    it.set_status(itx, ticket["id"], "waiting")
    dovecot.deliver("helpdesk", mail(subject="Antwort", body="Danke, 11 Uhr passt.\n\n> Ich schaue mir ...",
                                     headers={"In-Reply-To": reply["Message-ID"]}))
    # and once more with only [#N] in the subject
    dovecot.deliver("helpdesk", mail(subject=f"Re: [#{ticket['id']}] Drucker", body="Er geht wieder!"))
    assert mailin.fetch_mail(docs)["handled"] == 2
    assert len(it.queue(itx, "all")) == 1
    comments = [c for c in it.comments(itx, ticket["id"]) if c["by"].startswith("mail:")]
    assert [(c["by"], c["text"]) for c in comments] == [
        ("mail:erika@test.example", "Danke, 11 Uhr passt."), ("mail:erika@test.example", "Er geht wieder!")]
    assert it.get_ticket(itx, ticket["id"])["status"] == "open"  # the requester's answer: the clock runs again
    assert service.process_outbox(docs)["sent"] == 0  # the requester's own words are not mailed back


@pytest.mark.parametrize("sender, headers, why", [
    ("Erika Muster <erika@test.example>", {"Auto-Submitted": "auto-replied"}, "auto-reply"),
    ("Erika Muster <erika@test.example>", {"Precedence": "bulk"}, "auto-reply"),
    ("Mail Delivery System <MAILER-DAEMON@test.example>", {}, "a mailer or our own address"),
    ("Helpdesk <helpdesk@test.example>", {}, "a mailer or our own address"),
    ("Fremd <stranger@example.org>", {}, "the sender is not in the directory"),
])
def test_auto_replies_loops_and_strangers_open_nothing(helpdesk, dovecot, smtp, sender, headers, why):
    docs, itx = helpdesk.context("documents"), helpdesk.context("it")
    dovecot.deliver("helpdesk", mail(sender=sender, subject="Abwesenheitsnotiz", headers=headers))
    counts = mailin.fetch_mail(docs)
    assert (counts["handled"], counts["ignored"]) == (0, 1)
    assert it.queue(itx, "all") == []
    assert mailin.mail_log(docs)[0]["result"] == {"ignored": why}
    assert service.process_outbox(docs)["sent"] == 0 and smtp.messages == []
    assert dovecot.messages("helpdesk") == []  # handled: moved, not fetched again


def _close(itx, ticket_id) -> None:
    for status in ("open", "resolved", "closed"):
        it.set_status(itx, ticket_id, status)


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(helpdesk, dovecot, smtp):
    docs, itx = helpdesk.context("documents"), helpdesk.context("it")
    dovecot.deliver("helpdesk", mail())
    mailin.fetch_mail(docs)
    [first] = it.queue(itx, "all")
    _close(itx, first["id"])
    assert service.process_outbox(docs)["sent"] == 1  # the confirmation
    dovecot.deliver("helpdesk", mail(subject=f"Re: [#{first['id']}] Drucker im 2. OG druckt nicht",
                                     body="Jetzt druckt er wieder nicht.\n\n> Wir haben Ihre Anfrage"))
    assert mailin.fetch_mail(docs)["handled"] == 1
    follow = [t for t in it.queue(itx, "all") if t["id"] != first["id"]]
    assert len(follow) == 1
    follow = it.get_ticket(itx, follow[0]["id"])
    assert follow["follow_up_of"] == first["id"] and follow["status"] == "new"
    assert follow["description"].startswith(f"Follow-up to the closed ticket #{first['id']}: Drucker im 2. OG")
    assert "wieder nicht" in follow["description"] and "Wir haben Ihre" not in follow["description"]
    assert it.get_ticket(itx, first["id"])["status"] == "closed"  # the closed ticket stays closed
    assert mailin.mail_log(docs)[0]["result"] == {"ticket_id": follow["id"], "follow_up_of": first["id"]}
    assert service.process_outbox(docs)["sent"] == 1
    confirmation = _sent(smtp)[-1]
    assert confirmation["Subject"] == f"[#{follow['id']}] Re: [#{first['id']}] Drucker im 2. OG druckt nicht"
    assert confirmation["To"].addresses[0].addr_spec == "erika@test.example"


def test_a_stranger_gets_a_ticket_when_the_office_names_whom_it_is_for(site, helpdesk, dovecot, smtp):
    bd = helpdesk
    dept = bd.services.people.add_department("Empfang")
    bd.services.people.add_person(name="Empfang Extern", email="empfang@test.example", department_id=dept)
    bd.close()
    site.more_plugins = ["  - name: it", "    settings:", '      mail_requester: "Empfang Extern"']
    site.write_plugins()
    bd = site.open()
    try:
        docs, itx = bd.context("documents"), bd.context("it")
        dovecot.deliver("helpdesk", mail(sender="Kunde <kunde@example.org>", subject="Zugang zum Portal"))
        assert mailin.fetch_mail(docs)["handled"] == 1
        [ticket] = it.queue(itx, "all")
        assert bd.services.people.get(ticket["requester_id"])["name"] == "Empfang Extern"
        ticket = it.get_ticket(itx, ticket["id"])
        assert ticket["reply_to"] == "kunde@example.org"
        assert ticket["description"].startswith("From kunde@example.org (not in the directory)")
        it.add_comment(itx, ticket["id"], "Ihr Zugang ist freigeschaltet.")
        assert service.process_outbox(docs)["sent"] == 2
        assert [m["To"].addresses[0].addr_spec for m in _sent(smtp)] == ["kunde@example.org"] * 2
        # the stranger's answer on the waiting ticket opens it again: they are its requester by mail
        it.set_status(itx, ticket["id"], "waiting")
        dovecot.deliver("helpdesk", mail(sender="Kunde <kunde@example.org>", subject="Antwort",
                                         body="Geht nicht.", headers={"In-Reply-To": _sent(smtp)[-1]["Message-ID"]}))
        assert mailin.fetch_mail(docs)["handled"] == 1
        assert it.get_ticket(itx, ticket["id"])["status"] == "open"
    finally:
        bd.close()


async def test_the_mail_log_on_the_intake_screen_at_80x24(helpdesk, dovecot, smtp):
    from core.shell.app import make_app
    from core.cli.testing import wait_for
    from core.shell.widgets import RecordTable
    from plugins.documents.mail_screens import MailLogScreen
    from plugins.documents.screens import IntakeScreen

    dovecot.deliver("helpdesk", mail())
    dovecot.deliver("helpdesk", mail(sender="Fremd <stranger@example.org>", subject="Angebot"))
    app = make_app(helpdesk, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("documents.intake")
        await wait_for(pilot, lambda: isinstance(app.screen, IntakeScreen))
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MailLogScreen))
        screen = app.screen
        assert "helpdesk (helpdesk)" in str(screen.query_one("#mail-boxes").render())
        assert screen.query_one(RecordTable).records == []
        await pilot.press("g")  # read the mailboxes now
        await wait_for(pilot, lambda: "1 handled, 1 ignored, 0 refused" in
                       " ".join(str(n.message) for n in app._notifications))
        await wait_for(pilot, lambda: app.screen is screen and len(screen.query_one(RecordTable).records) == 2)
        table = screen.query_one(RecordTable)
        assert [(r["sender"], r["status"]) for r in table.records] == [
            ("stranger@example.org", "ignored"), ("erika@test.example", "handled")]
        assert "ignored: the sender is not in the directory" in str(screen.query_one("#mail-detail").render())
        await pilot.press("down")
        await pilot.pause()
        [ticket] = it.queue(helpdesk.context("it"), "all")
        assert f"ticket #{ticket['id']} opened" in str(screen.query_one("#mail-detail").render())
