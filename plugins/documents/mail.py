"""Sending mail over SMTP (STARTTLS and login from the plugin's settings).

Only the standard library: ``smtplib`` and ``email``. The caller (the
outbox in :mod:`plugins.documents.service`) decides when to send and
records the outcome; this module only talks to the server.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path


class MailError(Exception):
    """Sending failed; ``str()`` is one line for the outbox."""


def new_message_id(sender: str) -> str:
    domain = sender.rpartition("@")[2] or "backdesk.local"
    return make_msgid(domain=domain)


def build_message(*, sender: str, recipients: list[str], subject: str, body: str, message_id: str,
                  attachment: Path | None = None, filename: str | None = None,
                  mime: str = "application/octet-stream", in_reply_to: str = "",
                  references: list[str] | tuple[str, ...] = (),
                  more: list[tuple[Path, str, str]] | tuple = ()) -> EmailMessage:
    """The message; ``attachment`` the document's file, ``more`` further
    ones as (path, file name, MIME type)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    # a reply of a machine: auto-responders leave it alone (RFC 3834)
    msg["Auto-Submitted"] = "auto-replied" if in_reply_to else "auto-generated"
    msg.set_content(body or "")
    files = ([(attachment, filename or attachment.name, mime)] if attachment is not None else []) + list(more)
    for path, name, kind in files:
        maintype, _, subtype = kind.partition("/")
        msg.add_attachment(path.read_bytes(), maintype=maintype or "application",
                           subtype=subtype or "octet-stream", filename=name or path.name)
    return msg


def send_message(settings: dict, msg: EmailMessage, recipients: list[str]) -> None:
    """Deliver ``msg`` to the SMTP server in ``settings``; raises MailError."""
    host = settings.get("smtp_host") or "localhost"
    port = int(settings.get("smtp_port") or 25)
    timeout = float(settings.get("smtp_timeout") or 10)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if settings.get("smtp_starttls"):
                context = ssl.create_default_context(
                    cafile=str(settings["smtp_cafile"]) if settings.get("smtp_cafile") else None)
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.get("smtp_user"):
                smtp.login(settings["smtp_user"], settings.get("smtp_password") or "")
            smtp.send_message(msg, from_addr=settings.get("smtp_from") or msg["From"], to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"login refused by {host}:{port} ({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"recipients refused: {', '.join(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise MailError(f"{host}:{port} said {exc.smtp_code} {text}"[:300]) from None
    except (smtplib.SMTPException, ssl.SSLError) as exc:
        raise MailError(f"{host}:{port}: {type(exc).__name__}: {exc}"[:300]) from None
    except (OSError, socket.timeout) as exc:
        raise MailError(f"cannot reach {host}:{port}: {exc.strerror or exc}"[:300]) from None
