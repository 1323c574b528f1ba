"""Reading mailboxes over IMAP (imapclient) and taking mails apart (stdlib email).

Only the server and the message: this module logs in, lists what waits in a
folder, fetches one mail, moves it, and splits a mail into its parts. What
happens to a mail — filed as documents, a ticket — and the record that it
was done are in :mod:`plugins.documents.mailin`.

A mailbox is configured under the plugin's ``mailboxes`` setting
(:func:`parse_mailboxes` checks it, naming the key of each problem); its
password comes from a file (``password_file``) or the environment
(``password_env``), never from the YAML itself.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from core.config import SettingError
from core.safetext import scrub

SECURITY = ("tls", "starttls", "none")
KEYS = ("purpose", "host", "port", "security", "user", "password_file", "password_env", "folder",
        "processed_folder", "tags", "file_mail", "cafile", "address")
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ENV = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")
#: longest header text kept (subject, sender)
MAX_HEADER = 200
#: longest body text kept
MAX_BODY = 20_000


class MailboxError(Exception):
    """The server could not be used; ``str()`` is one line."""


@dataclass(frozen=True)
class Mailbox:
    """One configured mailbox (``mailboxes.<name>`` in plugins.yaml)."""

    name: str
    purpose: str
    host: str
    port: int
    security: str = "tls"
    user: str = ""
    password_file: Path | None = None
    password_env: str = ""
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    tags: tuple[str, ...] = ()
    file_mail: bool = False
    cafile: Path | None = None
    #: the mailbox's own address (mails from it are never answered)
    address: str = ""

    def password(self) -> str:
        if self.password_file is not None:
            try:
                return self.password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise MailboxError(f"mailbox {self.name}: cannot read the password file "
                                   f"{self.password_file}: {exc.strerror}") from None
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise MailboxError(f"mailbox {self.name}: the environment variable {self.password_env} is not set")
            return value
        return ""


def parse_mailboxes(value: Any, base: Path | None = None) -> dict[str, Mailbox]:
    """The ``mailboxes`` setting as :class:`Mailbox` objects; raises one
    :class:`core.config.SettingError` with every problem, each naming its
    key (``office.port``)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SettingError("expected a mapping of mailbox names to their settings")
    out: dict[str, Mailbox] = {}
    problems: list[tuple[str, str]] = []
    for name, raw in value.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append((str(name), "a mailbox name is lowercase letters, digits, - and _ (at most 40)"))
            continue
        if not isinstance(raw, dict):
            problems.append((name, "expected a mapping (purpose, host, user, …)"))
            continue
        before = len(problems)
        for k in raw:
            if k == "password":
                problems.append((f"{name}.password", "no passwords in the YAML: use password_file or password_env"))
            elif k not in KEYS:
                problems.append((f"{name}.{k}", f"unknown key {k!r} (known: {', '.join(KEYS)})"))
        box = _mailbox(name, raw, base, problems)
        if len(problems) == before:
            out[name] = box
    if problems:
        raise SettingError(problems=problems)
    return out


def _text(raw: dict, name: str, key: str, default: str = "", *, required: bool = False, limit: int = 200) -> str:
    value = raw.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str) or len(value) > limit or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise SettingError(f"expected text without control characters (at most {limit} characters)",
                           key=f"{name}.{key}")
    if required and not value.strip():
        raise SettingError("required", key=f"{name}.{key}")
    return value.strip()


def _mailbox(name: str, raw: dict, base: Path | None, problems: list[tuple[str, str]]) -> Mailbox | None:
    def take(key, parse, default=None):
        try:
            return parse()
        except SettingError as exc:
            problems.append((exc.key or f"{name}.{key}", str(exc)))
            return default

    def text(key, default="", required=False):
        return take(key, lambda: _text(raw, name, key, default, required=required), default)

    def purpose_():
        value = _text(raw, name, "purpose", required=True)
        if not _PURPOSE.fullmatch(value):
            raise SettingError("a purpose such as documents or helpdesk", key=f"{name}.purpose")
        return value

    def security_():
        value = _text(raw, name, "security", "tls")
        if value not in SECURITY:
            raise SettingError(f"{value!r} is not one of: {', '.join(SECURITY)}", key=f"{name}.security")
        return value

    purpose = take("purpose", purpose_, "")
    host = text("host", required=True)
    security = take("security", security_, "tls")

    def port_():
        value = raw.get("port", 993 if security == "tls" else 143)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise SettingError("expected a port number from 1 to 65535", key=f"{name}.port")
        return value

    port = take("port", port_, 0)

    def password_env_():
        value = _text(raw, name, "password_env")
        if value and raw.get("password_file") is not None:
            raise SettingError("give either password_file or password_env, not both", key=f"{name}.password_env")
        if value and not _ENV.fullmatch(value):
            raise SettingError("an environment variable's name (A-Z, 0-9, _)", key=f"{name}.password_env")
        return value

    password_env = take("password_env", password_env_, "")
    password_file = take("password_file", lambda: _path(raw, name, "password_file", base)) \
        if raw.get("password_file") is not None else None
    cafile = take("cafile", lambda: _path(raw, name, "cafile", base)) if raw.get("cafile") is not None else None
    folder = text("folder", "INBOX", required=True)

    def processed_():
        value = _text(raw, name, "processed_folder", "Processed", required=True)
        if value == folder:
            raise SettingError("must differ from folder (processed mails are moved there)",
                               key=f"{name}.processed_folder")
        return value

    processed = take("processed_folder", processed_, "")

    def tags_():
        value = raw.get("tags") or []
        if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t) <= 60 for t in value):
            raise SettingError("expected a list of tags", key=f"{name}.tags")
        return tuple(value)

    tags = take("tags", tags_, ())

    def file_mail_():
        value = raw.get("file_mail", False)
        if not isinstance(value, bool):
            raise SettingError("expected true or false", key=f"{name}.file_mail")
        return value

    file_mail = take("file_mail", file_mail_, False)

    def address_():
        value = _text(raw, name, "address")
        if value and not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
            raise SettingError("expected an email address", key=f"{name}.address")
        return value.lower()

    address = take("address", address_, "")
    user = text("user")
    return Mailbox(name=name, purpose=purpose, host=host, port=port, security=security, user=user,
                   password_file=password_file, password_env=password_env, folder=folder,
                   processed_folder=processed, tags=tags, file_mail=file_mail, cafile=cafile, address=address)


def _path(raw: dict, name: str, key: str, base: Path | None) -> Path:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise SettingError("expected a path", key=f"{name}.{key}")
    path = Path(value).expanduser()
    if not path.is_absolute():
        if base is None:
            raise SettingError("expected an absolute path", key=f"{name}.{key}")
        path = base / path
    return path


# ---------------------------------------------------------------- the server
class Connection:
    """A logged-in IMAP session on one mailbox's folder (a context manager)."""

    def __init__(self, box: Mailbox, timeout: float = 30.0) -> None:
        self.box = box
        self.timeout = timeout
        self.client = None
        self.uidvalidity: int | None = None

    def __enter__(self) -> "Connection":
        from imapclient import IMAPClient  # heavy: only when mail is fetched
        from imapclient.exceptions import IMAPClientError, LoginError

        box = self.box
        where = f"{box.host}:{box.port}"
        context = None
        if box.security != "none":
            context = ssl.create_default_context(cafile=str(box.cafile) if box.cafile else None)
        try:
            self.client = IMAPClient(box.host, port=box.port, ssl=box.security == "tls", ssl_context=context,
                                     timeout=self.timeout)
            if box.security == "starttls":
                self.client.starttls(context)
            self.client.login(box.user, box.password())
            info = self.client.select_folder(box.folder)
        except LoginError:
            self.close()
            raise MailboxError(f"mailbox {box.name}: login refused by {where} for {box.user!r}") from None
        except MailboxError:
            self.close()
            raise
        except (IMAPClientError, ssl.SSLError) as exc:
            self.close()
            raise MailboxError(f"mailbox {box.name}: {where}: {one_line(exc)}") from None
        except (OSError, socket.timeout) as exc:
            self.close()
            raise MailboxError(f"mailbox {box.name}: cannot reach {where}: {getattr(exc, 'strerror', None) or exc}"
                               ) from None
        self.uidvalidity = int(info[b"UIDVALIDITY"])
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.logout()
            except Exception:  # the server went away: nothing to log out of
                pass
            self.client = None

    def _call(self, what: str, fn, *args):
        from imapclient.exceptions import IMAPClientError

        try:
            return fn(*args)
        except (IMAPClientError, OSError, ssl.SSLError) as exc:
            raise MailboxError(f"mailbox {self.box.name}: {what}: {one_line(exc)}") from None

    def waiting(self) -> dict[int, int]:
        """UID → size of every mail in the folder, in UID order."""
        uids = self._call("search", self.client.search, ["ALL"])
        if not uids:
            return {}
        sizes = self._call("fetch sizes", self.client.fetch, uids, ["RFC822.SIZE"])
        return {uid: int(sizes[uid][b"RFC822.SIZE"]) for uid in sorted(sizes)}

    def fetch(self, uid: int) -> bytes:
        """The whole mail (not marked as read)."""
        data = self._call("fetch", self.client.fetch, [uid], ["BODY.PEEK[]"])
        if uid not in data:
            raise MailboxError(f"mailbox {self.box.name}: mail {uid} is gone")
        return data[uid][b"BODY[]"]

    def headers(self, uid: int) -> bytes:
        """Only the mail's header (for the log line of a mail too large to fetch)."""
        data = self._call("fetch", self.client.fetch, [uid], ["BODY.PEEK[HEADER]"])
        return data.get(uid, {}).get(b"BODY[HEADER]", b"")

    def move(self, uid: int) -> None:
        """Into the processed folder (made when missing)."""
        target = self.box.processed_folder
        if not self._call("folder check", self.client.folder_exists, target):
            try:
                self.client.create_folder(target)
            except Exception:  # another process made it meanwhile
                if not self._call("folder check", self.client.folder_exists, target):
                    raise MailboxError(f"mailbox {self.box.name}: cannot create the folder {target!r}") from None
        if self.client.has_capability("MOVE"):
            self._call("move", self.client.move, [uid], target)
        else:
            self._call("copy", self.client.copy, [uid], target)
            self._call("delete", self.client.delete_messages, [uid])
            if self.client.has_capability("UIDPLUS"):
                self._call("expunge", self.client.uid_expunge, [uid])
            else:
                self._call("expunge", self.client.expunge)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, Exception) and exc.args and isinstance(exc.args[0], bytes):
        text = exc.args[0].decode("utf-8", "replace")
    return " ".join(scrub(text).split())[:250] or type(exc).__name__


# ---------------------------------------------------------------- the message
@dataclass
class Attachment:
    filename: str
    mime: str
    data: bytes


@dataclass
class IncomingMail:
    """What a mail says, made harmless: header texts scrubbed and cut, the
    body as plain text, attachments as bytes."""

    message_id: str
    sender: str
    sender_name: str
    subject: str
    date: str | None
    body: str
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    attachments: list[Attachment] = field(default_factory=list)
    auto_submitted: bool = False
    to: tuple[str, ...] = ()


def _header(msg: EmailMessage, name: str, limit: int = MAX_HEADER) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a header the parser cannot decode
        value = None
    if value is None:
        return ""
    return " ".join(scrub(str(value)).split())[:limit]


_MSGID = re.compile(r"<[^<>\s]{1,250}>")


def parse(raw: bytes) -> IncomingMail:
    """Take a mail apart (never raises on a malformed one: what cannot be
    read is left out; :func:`defects` says what was wrong)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    name, address = "", ""
    try:
        pairs = getaddresses([str(msg.get("From", ""))])
        if pairs:
            name, address = pairs[0]
    except Exception:
        pass
    address = scrub(address).strip().lower()[:MAX_HEADER]
    name = " ".join(scrub(name).split())[:MAX_HEADER]
    date = None
    try:
        when = parsedate_to_datetime(str(msg.get("Date", "")))
        if 1900 <= when.year <= 2199:
            date = when.date().isoformat()
    except Exception:
        date = None
    auto = _header(msg, "Auto-Submitted").lower()
    precedence = _header(msg, "Precedence").lower()
    is_auto = (bool(auto) and auto != "no") or precedence in ("bulk", "junk", "list", "auto_reply") \
        or bool(_header(msg, "X-Autoreply")) or bool(_header(msg, "X-Autorespond"))
    to = []
    try:
        to = [scrub(a).strip().lower() for _n, a in getaddresses([str(v) for v in msg.get_all("To", []) +
                                                                   msg.get_all("Cc", [])]) if a]
    except Exception:
        pass
    mail = IncomingMail(
        message_id=(_MSGID.findall(_header(msg, "Message-ID", 1000)) or [""])[0],
        sender=address, sender_name=name, subject=_header(msg, "Subject"), date=date,
        body=_body(msg), in_reply_to=(_MSGID.findall(_header(msg, "In-Reply-To", 1000)) or [""])[0],
        references=tuple(_MSGID.findall(_header(msg, "References", 4000)))[-20:],
        auto_submitted=is_auto, to=tuple(to[:50]))
    for i, part in enumerate(msg.iter_attachments() if msg.is_multipart() else [], 1):
        try:
            data = part.get_content()
        except Exception:
            data = part.get_payload(decode=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if isinstance(data, EmailMessage):
            data = data.as_bytes()
        if not isinstance(data, bytes):
            continue
        mail.attachments.append(Attachment(filename=safe_filename(part.get_filename(), i, part.get_content_type()),
                                           mime=part.get_content_type(), data=data))
    return mail


def defects(raw: bytes) -> list[str]:
    """The MIME structure's problems (boundaries never closed, …)."""
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    found = []
    for part in msg.walk():
        for d in part.defects:
            found.append(type(d).__name__)
    return found


def _body(msg: EmailMessage) -> str:
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
    except Exception:
        text = ""
    if part is not None and part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]*>", " ", text)
    return scrub(text)[:MAX_BODY]


_UNSAFE = re.compile(r"[^\w.() +,-]+", re.UNICODE)


def safe_filename(name: str | None, index: int, mime: str) -> str:
    """A plain file name from a mail part's (no path, no controls, at most 100)."""
    import mimetypes

    name = (name or "").replace("\\", "/").rpartition("/")[2]
    name = _UNSAFE.sub("_", scrub(name)).strip(" ._")[:100]
    if not name:
        ext = mimetypes.guess_extension(mime) or ".bin"
        name = f"attachment-{index}{ext}"
    return name
