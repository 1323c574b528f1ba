"""Printing through CUPS, for every plugin: ``services.printing``.

A plugin prints a file (a register document, a payslip, an invoice PDF) with
one call::

    job = ctx.services.printing.print_file(path_or_bytes, title="Payslip 2026-03",
                                           source=("accounting", "payslips", 7),
                                           confidential=True, copies=1, duplex=False,
                                           pages="1-2", printer=None)

The caller checks its own permission first (reading the payslip, printing a
document); this service checks what concerns the printer: it exists in CUPS,
it takes jobs, it prints on both sides when asked, it has the paper tray
asked for (``tray``: an IPP media-source name the printer lists, sent as
``media-col``); copies 1 to 99; pages as ``1-3,5``. A confidential print is recorded in the audit trail (op
``print``: who, what, on which printer, how many copies), in the same
transaction as the job's row.

Which printer, when none is named: a kiosk console's own printer (set at
that console, ``--kiosk``: one per host name), then the operator's own
default, then the print server's default destination.

Print jobs are followed until done or failed (:meth:`Printing.follow_jobs`:
the documents worker calls it every round in the app, ``backdesk docs print
--wait`` and ``backdesk docs print-jobs`` too). A job that failed — the
printer stopped or aborted it, or it was cancelled — is recorded once, in a
transaction that first reads the job again, and its operator gets one
notification, whichever process noticed. A job waiting at a stopped printer
is ``held`` until the printer goes on.

CUPS is reached through pycups (the libcups binding), which talks IPP: it
gives the job's state as a number. ``lpstat``'s text, measured against the
same server, lists a completed job and one the printer stopped alike, and
costs a process per question (25 ms against 1 ms). The server is the one
libcups finds (``CUPS_SERVER``, ``~/.cups/client.conf``, the local socket).
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any

from core.services.audit import now_utc
from core.errors import BackdeskError, UnknownRecord, ValidationError
from core.api.hookspecs import TableSpec
from core.i18n import N_, _
from core.storage import AnyOf

JOBS = "core.print_jobs"
DEFAULTS = "core.print_defaults"
MANAGE = "core.printing.manage"
MAX_COPIES = 99

#: our job states; "waiting", "printing" and "held" are followed further
OPEN_STATES = ("waiting", "printing", "held")
STATE_TITLES = {"waiting": N_("waiting"), "printing": N_("printing"), "held": N_("held"),
                "done": N_("printed"), "failed": N_("failed"), "cancelled": N_("cancelled")}
#: IPP job-state (RFC 8011 5.3.7) -> ours; a job the printer stopped is failed for the office
_IPP_STATES = {3: "waiting", 4: "held", 5: "printing", 6: "failed", 7: "cancelled", 8: "failed", 9: "done"}
_PAGES = re.compile(r"^\d{1,4}(-\d{1,4})?(,\d{1,4}(-\d{1,4})?)*$")
INSTALL = N_("printing needs CUPS and pycups: apt-get install cups libcups2-dev, "
             "then pip install 'backdesk[print]'")


def state_title(state: str) -> str:
    return _(STATE_TITLES.get(state, state))


def kiosk_name() -> str:
    """The console a kiosk default belongs to: BACKDESK_KIOSK, else the host name."""
    return (os.environ.get("BACKDESK_KIOSK") or socket.gethostname() or "kiosk").strip()[:80]


def clean_pages(pages: Any) -> str | None:
    """``"1-3,5"`` checked (ranges rising, from page 1); None or "" for all pages."""
    if pages is None:
        return None
    text = str(pages).replace(" ", "")
    if not text:
        return None
    if not _PAGES.match(text):
        raise ValidationError(_("pages as 1-3 or 1,3,5-7, not {value!r}").format(value=str(pages)[:30]),
                              field="pages")
    for part in text.split(","):
        first, _sep, last = part.partition("-")
        if int(first) < 1 or (last and int(last) < int(first)):
            raise ValidationError(_("pages as 1-3 or 1,3,5-7, not {value!r}").format(value=str(pages)[:30]),
                                  field="pages")
    return text


def clean_copies(copies: Any) -> int:
    if isinstance(copies, str) and copies.strip().isdigit():
        copies = int(copies.strip())
    if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
        raise ValidationError(_("copies: a whole number from 1 to {n}").format(n=MAX_COPIES), field="copies")
    return copies


class Printing:
    """``services.printing``: printers, defaults, print jobs."""

    TABLES = (TableSpec("print_jobs", version=1, read=MANAGE),
              TableSpec("print_defaults", version=1, read=MANAGE))

    def __init__(self, backdesk) -> None:
        self.backdesk = backdesk
        self.store = backdesk.store
        self.jobs_table = backdesk.table(JOBS)
        self.defaults_table = backdesk.table(DEFAULTS)

    @property
    def operator(self):
        return self.backdesk.operator

    # -- the print server ----------------------------------------------------------
    def _connect(self):
        try:
            import cups
        except ImportError:
            raise BackdeskError(_(INSTALL)) from None
        server = os.environ.get("CUPS_SERVER")
        if server:
            cups.setServer(server)  # libcups keeps it per thread: set it in each
        try:
            return cups.Connection()
        except RuntimeError:
            raise BackdeskError(_("the print server {server} does not answer: is CUPS running? ({install})").format(
                server=server or cups.getServer(), install="apt-get install cups")) from None

    def server(self) -> str:
        return os.environ.get("CUPS_SERVER") or "default"

    def printers(self) -> list[dict]:
        """The print server's printers: name, description, location, state
        (idle, printing, stopped), accepting, message, duplex, trays (the
        paper trays it offers: IPP media-source names, "tray-1", "manual"), default."""
        conn = self._connect()
        try:
            found = conn.getPrinters()
            default = conn.getDefault()
        except Exception as exc:  # cups.IPPError, RuntimeError
            raise BackdeskError(_("the print server refused the list of printers: {error}").format(
                error=str(exc)[:120])) from None
        out = []
        for name, attrs in sorted(found.items()):
            try:
                more = conn.getPrinterAttributes(name, requested_attributes=["sides-supported",
                                                                             "media-source-supported"])
            except Exception:
                more = {}
            sides = more.get("sides-supported") or []
            trays = more.get("media-source-supported") or []
            if isinstance(trays, str):
                trays = [trays]
            state = {3: "idle", 4: "printing", 5: "stopped"}.get(attrs.get("printer-state"), "idle")
            out.append({"name": name, "description": attrs.get("printer-info") or "",
                        "location": attrs.get("printer-location") or "", "state": state,
                        "accepting": bool(attrs.get("printer-is-accepting-jobs", True)),
                        "message": attrs.get("printer-state-message") or "",
                        "duplex": any(str(s).startswith("two-sided") for s in sides),
                        "trays": [str(t) for t in trays if t not in ("auto", "none")],
                        "default": name == default})
        return out

    def _printer(self, name: str, printers: list[dict]) -> dict:
        for p in printers:
            if p["name"] == name:
                return p
        raise ValidationError(_("no printer named {name!r} (printers: {names})").format(
            name=name[:60], names=", ".join(p["name"] for p in printers) or "-"), field="printer")

    # -- defaults ------------------------------------------------------------------
    def _default_row(self, scope: str, key: str) -> dict | None:
        rows = self.defaults_table.find({"scope": scope, "key": key})
        return rows[0] if rows else None

    def default_printer(self, printers: list[dict] | None = None) -> str | None:
        """The printer used when none is named (see the module's docstring)."""
        order = []
        if self.backdesk.kiosk:
            order.append(("kiosk", kiosk_name()))
        order.append(("operator", self.operator.account))
        for scope, key in order:
            row = self._default_row(scope, key)
            if row:
                return row["printer"]
        if printers is None:
            printers = self.printers()
        for p in printers:
            if p["default"]:
                return p["name"]
        return None

    def set_default(self, printer: str | None, *, kiosk: bool = False) -> str | None:
        """Make ``printer`` the operator's default (or, with ``kiosk``, this
        console's, which needs core.printing.manage); None removes it."""
        if kiosk:
            self.operator.require(MANAGE, _("set a kiosk's printer"))
            scope, key = "kiosk", kiosk_name()
        else:
            scope, key = "operator", self.operator.account
        if printer:
            printer = self._printer(str(printer).strip(), self.printers())["name"]
        with self.store.transaction():
            row = self._default_row(scope, key)
            if row and printer:
                self.defaults_table.update(row["id"], {"printer": printer})
            elif row:
                self.defaults_table.delete(row["id"])
            elif printer:
                self.defaults_table.insert({"scope": scope, "key": key, "printer": printer})
        return printer

    # -- printing ------------------------------------------------------------------
    def check_request(self, *, printer: str | None = None, copies: Any = 1, duplex: bool = False,
                      pages: Any = None, tray: str | None = None) -> dict:
        """The printer a request would go to, after the checks print_file makes
        (ValidationError naming the field otherwise); nothing is sent."""
        clean_copies(copies)
        clean_pages(pages)
        printers = self.printers()
        name = str(printer).strip() if printer else self.default_printer(printers)
        if not name:
            raise ValidationError(_("no printer chosen and no default printer set"), field="printer")
        chosen = self._printer(name, printers)
        if not chosen["accepting"]:
            raise ValidationError(_("the printer {name} takes no jobs now").format(name=name), field="printer")
        if duplex and not chosen["duplex"]:
            raise ValidationError(_("the printer {name} cannot print on both sides").format(name=name),
                                  field="duplex")
        if tray and tray not in chosen["trays"]:
            raise ValidationError(_("the printer {name} has no tray {tray!r} (trays: {trays})").format(
                name=name, tray=str(tray)[:30], trays=", ".join(chosen["trays"]) or "-"), field="tray")
        return chosen

    def print_file(self, data: bytes | str | Path, *, title: str, source: tuple[str, str, int | None],
                   printer: str | None = None, copies: Any = 1, duplex: bool = False, pages: Any = None,
                   tray: str | None = None, confidential: bool = False, link: str | None = None) -> dict:
        """Send a file (a path, or the bytes of a PDF) to a printer; returns the
        job's row. ``source``: (plugin, table, record id) of what is printed,
        also what a confidential print's audit entry names."""
        copies = clean_copies(copies)
        pages = clean_pages(pages)
        title = " ".join(str(title or "").split())[:120] or "Backdesk"
        tray = str(tray).strip() if tray else None
        chosen = self.check_request(printer=printer, copies=copies, duplex=duplex, tray=tray)
        name = chosen["name"]
        options = {"copies": str(copies)}
        if duplex:
            options["sides"] = "two-sided-long-edge"
        elif chosen["duplex"]:
            options["sides"] = "one-sided"
        if pages:
            options["page-ranges"] = pages
        if tray:
            options["media-col"] = "{media-source=%s}" % tray
        if copies > 1:
            options["collate"] = "true"
        conn = self._connect()
        tmp = None
        try:
            if isinstance(data, (bytes, bytearray)):
                fd, tmp = tempfile.mkstemp(prefix="backdesk-print-", suffix=".pdf")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                path = tmp
            else:
                path = str(data)
            try:
                cups_job = conn.printFile(name, path, title, options)
            except Exception as exc:  # cups.IPPError
                raise BackdeskError(_("the printer {name} refused the job: {error}").format(
                    name=name, error=str(exc)[:160])) from None
        finally:
            if tmp:
                os.unlink(tmp)
        plugin, table, record = source
        row = {"account": self.operator.account, "printer": name, "server": self.server(),
               "cups_job": int(cups_job), "title": title, "plugin": plugin, "table": table,
               "record_id": record, "link": link, "copies": copies, "duplex": bool(duplex), "pages": pages,
               "tray": tray,
               "confidential": bool(confidential), "state": "waiting", "reason": "", "at": now_utc(),
               "updated": now_utc()}
        with self.store.transaction():
            job_id = self.jobs_table.insert(row)
            if confidential:
                self.backdesk.services.audit.record_print(
                    plugin, table, record, _("printed {title!r} on {printer}, {copies} copies").format(
                        title=title, printer=name, copies=copies))
        row["id"] = job_id
        return self.follow_job(job_id) or row

    # -- following -----------------------------------------------------------------
    def job(self, job_id: Any) -> dict:
        try:
            found = self.jobs_table.get(int(job_id))
        except (TypeError, ValueError):
            found = None
        if found is None or (found["account"] != self.operator.account and not self.operator.can(MANAGE)):
            raise UnknownRecord(_("no print job {id}").format(id=str(job_id)[:20]))
        return found

    def jobs(self, *, everyone: bool = False, source: tuple[str, str, int | None] | None = None,
             limit: int | None = 50) -> list[dict]:
        """Print jobs, newest first: the operator's own, or with ``everyone``
        (core.printing.manage) all of them; ``source`` narrows to one record."""
        where: dict[str, Any] = {}
        if everyone:
            self.operator.require(MANAGE, _("see every operator's print jobs"))
        else:
            where["account"] = self.operator.account
        if source is not None:
            where.update({"plugin": source[0], "table": source[1], "record_id": source[2]})
        return self.jobs_table.find(where or None, order_by="-id", limit=limit)

    def _cups_state(self, conn, row: dict) -> tuple[str, str]:
        try:
            attrs = conn.getJobAttributes(int(row["cups_job"]))
        except Exception as exc:  # the server forgot the job (restarted without history)
            return "failed", str(exc)[:160]
        state = _IPP_STATES.get(attrs.get("job-state"), "waiting")
        reason = attrs.get("job-printer-state-message") or ""
        reasons = [r for r in (attrs.get("job-state-reasons") or []) if r != "none"]
        if isinstance(attrs.get("job-state-reasons"), str):
            reasons = [attrs["job-state-reasons"]]
        if state == "waiting":
            try:
                printer = conn.getPrinterAttributes(row["printer"], requested_attributes=[
                    "printer-state", "printer-state-message"])
            except Exception:
                printer = {}
            if printer.get("printer-state") == 5:  # stopped: the job waits for someone
                state = "held"
                reason = printer.get("printer-state-message") or _("the printer is stopped")
        if not reason and state in ("failed", "held", "cancelled"):
            reason = ", ".join(reasons)
        return state, reason[:200]

    def follow_job(self, job_id: int, conn=None) -> dict | None:
        """Ask the print server about one job and record what changed (a
        failure notified once). Returns the row, or None when it is gone."""
        row = self.jobs_table.get(job_id)
        if row is None or row["state"] not in OPEN_STATES:
            return row
        conn = conn or self._connect()
        state, reason = self._cups_state(conn, row)
        if state == row["state"] and reason == row.get("reason"):
            return row
        with self.store.transaction():
            now = self.jobs_table.get(job_id)
            if now is None or now["state"] not in OPEN_STATES:
                return now  # another process recorded the end first
            self.jobs_table.update(job_id, {"state": state, "reason": reason, "updated": now_utc()})
            if state in ("failed", "cancelled") or (state == "held" and now["state"] != "held"):
                text = (_("Print job {title!r} on {printer} failed: {reason}") if state != "held" else
                        _("Print job {title!r} waits at {printer}: {reason}")).format(
                    title=now["title"], printer=now["printer"], reason=reason or state_title(state))
                self.backdesk.services.notifications.notify(now["account"], text, kind="core.print_failed",
                                                            link=now.get("link"))
        return self.jobs_table.get(job_id)

    def follow_jobs(self) -> int:
        """Follow every open job of this print server; how many changed."""
        open_rows = self.jobs_table.find({"state": AnyOf(OPEN_STATES), "server": self.server()})
        if not open_rows:
            return 0
        conn = self._connect()
        changed = 0
        for row in open_rows:
            after = self.follow_job(row["id"], conn)
            if after is not None and after["state"] != row["state"]:
                changed += 1
        return changed
