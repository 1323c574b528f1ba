"""Fax transports: how a fax job leaves the office.

A transport is an object with

``name``
    its name in the ``fax_transport`` setting;
``submit(number, files, cover_note, job_id) -> str``
    hand the job over; ``files`` are ``(path, filename, mime)`` tuples;
    returns the transport's own job id (raises :class:`FaxError`);
``status(ids) -> dict[str, str]``
    the state of jobs handed over earlier: ``"queued"``, ``"sending"``,
    ``"sent"`` or ``"failed"`` (ids the transport no longer knows are left out);
``delivered_on_submit``
    True when a successful submit already means "sent" (the email gateway).

Transports come from the ``backdesk_fax_transports`` hook; this plugin
offers its own two through it like any other plugin would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from plugins.documents import mail


class FaxError(Exception):
    """The transport could not take the job; ``str()`` is one line."""


class EmailGatewayTransport:
    """Email-to-fax: the document goes as an attachment to
    ``<number>@<fax_gateway_domain>`` over the plugin's SMTP settings."""

    name = "email_gateway"
    delivered_on_submit = True

    def __init__(self, ctx, settings: dict) -> None:
        self.settings = settings

    def submit(self, number: str, files, cover_note: str, job_id: str) -> str:
        domain = self.settings.get("fax_gateway_domain") or "fax.example"
        sender = self.settings.get("smtp_from") or "backdesk@localhost"
        to = f"{number.lstrip('+')}@{domain}"
        path, filename, mime = files[0]
        msg = mail.build_message(sender=sender, recipients=[to], subject=f"Fax {number}",
                                 body=cover_note, message_id=job_id, attachment=path,
                                 filename=filename, mime=mime)
        try:
            mail.send_message(self.settings, msg, [to])
        except mail.MailError as exc:
            raise FaxError(str(exc)) from None
        return job_id

    def status(self, ids) -> dict[str, str]:
        return {}


_REQUEST_ID = re.compile(r"request id is (\d+)")
_STATES = {"D": "sent", "F": "failed", "R": "sending"}


class HylafaxTransport:
    """HylaFAX through its own client tools: ``sendfax`` submits over the
    client protocol (hfaxd, port 4559), ``faxstat -s -d`` reports the queue."""

    name = "hylafax"
    delivered_on_submit = False

    def __init__(self, ctx, settings: dict) -> None:
        self.host = settings.get("hylafax_host") or "127.0.0.1"
        self.port = int(settings.get("hylafax_port") or 4559)
        self.user = settings.get("hylafax_user") or ""
        self.timeout = float(settings.get("smtp_timeout") or 10) * 3

    @property
    def _server(self) -> str:
        server = f"{self.host}:{self.port}"
        return f"{self.user}@{server}" if self.user else server

    def _run(self, args: list[str]) -> str:
        exe = shutil.which(args[0])
        if exe is None:
            raise FaxError(f"{args[0]} not found: install hylafax-client")
        try:
            proc = subprocess.run([exe, *args[1:]], capture_output=True, text=True,
                                  timeout=self.timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise FaxError(f"{args[0]}: no answer from {self._server} within {self.timeout:.0f} s") from None
        out = (proc.stdout or "") + (proc.stderr or "")
        if proc.returncode != 0:
            last = " ".join(out.split())[-250:] or f"exit status {proc.returncode}"
            raise FaxError(f"{args[0]} failed: {last}")
        return out

    def submit(self, number: str, files, cover_note: str, job_id: str) -> str:
        with tempfile.TemporaryDirectory(prefix="backdesk-fax-") as tmp:
            paths = []
            if cover_note.strip():
                cover = Path(tmp) / "cover.txt"
                cover.write_text(cover_note, encoding="utf-8")
                paths.append(str(cover))
            for path, filename, _mime in files:
                # sendfax picks the converter by the file's name
                named = Path(tmp) / re.sub(r"[^\w.-]", "_", filename)
                shutil.copyfile(path, named)
                paths.append(str(named))
            out = self._run(["sendfax", "-h", self._server, "-n", "-d", number, *paths])
        found = _REQUEST_ID.search(out)
        if not found:
            raise FaxError(f"sendfax gave no request id: {' '.join(out.split())[:200]}")
        return found.group(1)

    def status(self, ids) -> dict[str, str]:
        wanted = {str(i) for i in ids}
        out = self._run(["faxstat", "-s", "-d", "-h", self._server])
        return parse_faxstat(out, wanted)


def parse_faxstat(out: str, wanted: set[str]) -> dict[str, str]:
    """``faxstat -s -d`` lines after the ``JID`` header: JID, Pri, S(tate), …"""
    states: dict[str, str] = {}
    seen_header = False
    for line in out.splitlines():
        cols = line.split()
        if not cols:
            continue
        if cols[0] == "JID":
            seen_header = True
            continue
        if seen_header and cols[0] in wanted and len(cols) >= 3:
            states[cols[0]] = _STATES.get(cols[2], "queued")
    return states


def builtin_transports() -> dict:
    return {"email_gateway": EmailGatewayTransport, "hylafax": HylafaxTransport}
