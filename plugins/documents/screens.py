"""The documents plugin's screens: register, document detail, intake, outbox,
rules and types.

Screens call :mod:`plugins.documents.service` and nothing else; slow work
(SMTP, HylaFAX) runs in thread workers that never touch widgets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from core.errors import BackdeskError
from core.api.hookspecs import SearchHit
from core.i18n import format_date, format_datetime
from core.services.printing import state_title
from core.shell.screens.base import BackdeskScreen
from core.shell.screens.directory import DetailModal
from core.shell.screens.printing import print_dialog, printer_choices
from core.services.choices import Choice
from core.shell.widgets import (Column, ConfirmDialog, Field, FilePicker, FormScreen, PagedRecords,
                                ProgressScreen, RecordTable)
from core.shell.widgets.detail_view import DetailView
from core.shell.widgets.export_form import shown_path
from plugins.documents import einvoices, ocr_jobs, paper, scanning, service
from plugins.documents.models import (
    ALGORITHM_TITLES, ALGORITHMS, DIRECTION_TITLES, DIRECTIONS, HISTORY_TITLES, INTAKE_STATUS_TITLES,
    OUTBOX_KIND_TITLES, OUTBOX_STATUS_TITLES, _, label, shown_status,
)

CSS_PATH = Path(__file__).parent / "documents.tcss"
HIGHLIGHT = "reverse"


def highlighted(text: str, terms: list[str]) -> Text:
    out = Text(text)
    for start, end in service.highlight_spans(text, terms):
        out.stylize(HIGHLIGHT, start, end)
    return out


def _direction_labels() -> dict[str, str]:
    return {code: label(DIRECTION_TITLES, code) for code in DIRECTIONS}


def _error(screen, error: BackdeskError) -> None:
    screen.notify(str(error), severity="error", timeout=6)


def _page_progress(progress, total: int | None):
    """scanimage's (page, percent) as a ProgressScreen's pages done (of
    ``total``; None: a feeder read until it is empty)."""
    state = {"started": False, "done": 0}

    def report(page: int, percent: float) -> None:
        if not state["started"]:
            state["started"] = True
            progress.start(total, _("pages scanned"))
        if percent >= 100 and state["done"] < page:
            state["done"] = page
            progress.advance()
    return report


# ---------------------------------------------------------------- forms
def document_fields(ctx, *, with_file: bool) -> list[Field]:
    types = [("", _("(none)"))] + [(t["name"], t["name"]) for t in service.list_types(ctx)]
    fields = []
    if with_file:
        fields.append(Field("file", _("File"), required=True, help=_("Chosen in the folder tree; a path may be typed")))
    fields += [
        Field("title", _("Title"), required=not with_file,
              help=_("Default: the file name") if with_file else None),
        Field("type", _("Type"), kind="choice", choices=types, default=""),
        Field("correspondent", _("From/To")),
        Field("tags", _("Tags"), help=_("Comma-separated; levels with / (finance/invoices)")),
        Field("direction", _("Direction"), kind="choice", choices=list(_direction_labels().items()),
              default="incoming"),
        Field("date", _("Date"), kind="date"),
        Field("location", _("Location"), help=_("Cabinet / shelf / binder")),
        Field("responsible_id", _("Responsible"), kind="pick", source=ctx.services.people.choices),
    ]
    return fields


def file_roots(ctx) -> list[tuple[str, Path]]:
    """The folders an operator files from, in the file picker's order: the
    intake folder, their own exports folder, their home folder."""
    return [(_("Intake folder"), service.inbox_dir(ctx)), (_("My exports"), ctx.exports_dir()),
            (_("Home folder"), Path.home())]


def _meta(values: dict) -> dict:
    meta = {k: v for k, v in values.items() if k != "file"}
    if meta.get("date") is not None:
        meta["date"] = meta["date"].isoformat()
    return meta


def email_fields() -> list[Field]:
    return [
        Field("to", _("To"), required=True, help=_("Addresses, names or directory ids, comma-separated")),
        Field("subject", _("Subject"), help=_("Default: the document's title")),
        Field("body", _("Message"), kind="multiline"),
    ]


def fax_fields() -> list[Field]:
    return [
        Field("number", _("Fax number"), required=True, help=_("Digits, may start with +")),
        Field("cover_note", _("Cover note"), kind="multiline"),
    ]


class DocumentActions:
    """Add, copy, email and fax: shared by the register and the detail."""

    ctx: Any

    def _selected_id(self) -> int | None:  # pragma: no cover - overridden
        return None

    def action_add(self) -> None:
        """Choose the file in a folder tree (the intake folder first), then
        say what it is."""
        def submit(values):
            doc = service.file_chosen(self.ctx, values["file"], _meta(values))
            note = _("Filed as ASN {asn}").format(asn=doc["asn"])
            if doc["duplicates"]:
                note += " — " + _("the same file is already filed as {ids}").format(
                    ids=", ".join(str(d) for d in doc["duplicates"]))
            self.notify(note)
            return doc

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.app.push_screen(FormScreen(_("File a document"), document_fields(self.ctx, with_file=True),
                                                {"file": str(path)}, on_submit=submit, submit_label=_("File")))

        self.app.push_screen(FilePicker(_("File a document: choose the file"), file_roots(self.ctx)), chosen)

    def action_bill(self) -> None:
        """Hand the document to accounting: its e-invoice becomes a draft
        bill linked to it; what accounting says is shown at once."""
        doc_id = self._selected_id()
        if doc_id is None:
            return
        notes = self.ctx.services.notifications
        last = notes.last_id()
        try:
            einvoices.hand_to_accounting(self.ctx, doc_id)
        except BackdeskError as error:
            _error(self, error)
            return
        said = [n for n in notes.newer_than(last) if n["kind"].startswith("accounting.einvoice")]
        for note in said:
            notes.mark_read(note["id"])  # shown here: not again as a toast
            self.notify(note["text"], severity="error" if note["kind"].endswith("refused") else "information",
                        timeout=8)
        if not said:
            self.notify(_("Handed to accounting"))

    def action_print(self) -> None:
        doc_id = self._selected_id()
        if doc_id is None:
            return

        def submit(values):
            job = paper.print_document(self.ctx, doc_id, printer=values["printer"], copies=values["copies"],
                                       duplex=bool(values.get("duplex")), pages=values.get("pages"),
                                       tray=values.get("tray") or None)
            self.notify(_("Print job {id} sent to {printer}: {state}").format(
                id=job["id"], printer=job["printer"], state=state_title(job["state"])))
            return job

        try:
            dialog = print_dialog(self.ctx.services.printing, _("Print document {id}").format(id=doc_id), submit)
        except BackdeskError as error:
            _error(self, error)
            return
        self.app.push_screen(dialog)

    def action_copy(self) -> None:
        doc_id = self._selected_id()
        if doc_id is None:
            return

        def submit(values):
            doc = service.copy_document(self.ctx, doc_id, into=values.get("into"))
            if values.get("into"):
                self.notify(_("Copied as version {n} of document {id}").format(n=doc["current_version"], id=doc["id"]))
            else:
                self.notify(_("Copied to ASN {asn}").format(asn=doc["asn"]))
            return doc

        self.app.push_screen(FormScreen(_("Copy document {id}").format(id=doc_id), [
            Field("into", _("Into document"), kind="pick", source=lambda text: service.document_choices(self.ctx, text),
                  help=_("Empty: a new document linked to this one; a document: a new version of it")),
        ], on_submit=submit, submit_label=_("Copy")))

    def action_email(self) -> None:
        doc_id = self._selected_id()
        if doc_id is None:
            return

        def submit(values):
            row = service.queue_email(self.ctx, doc_id, values["to"], subject=values.get("subject") or "",
                                      body=values.get("body") or "")
            self.notify(_("Email queued; the outbox sends it"))
            self._kick_outbox()
            return row

        self.app.push_screen(FormScreen(_("Email document {id}").format(id=doc_id), email_fields(),
                                        on_submit=submit, submit_label=_("Send")))

    def action_fax(self) -> None:
        doc_id = self._selected_id()
        if doc_id is None:
            return

        def submit(values):
            row = service.queue_fax(self.ctx, doc_id, values["number"], cover_note=values.get("cover_note") or "")
            self.notify(_("Fax queued via {transport}").format(transport=row["transport"]))
            self._kick_outbox()
            return row

        self.app.push_screen(FormScreen(_("Fax document {id}").format(id=doc_id), fax_fields(),
                                        on_submit=submit, submit_label=_("Fax")))

    def _kick_outbox(self) -> None:
        """Send at once in a thread (the worker would get to it later)."""
        ctx = self.ctx
        if not ctx.settings["worker_interval"]:
            return

        def work():
            try:
                service.process_outbox(ctx)
            except BackdeskError:
                pass

        self.run_worker(work, thread=True, exclusive=True, group="documents-outbox", exit_on_error=False)


# ---------------------------------------------------------------- register
class RegisterScreen(DocumentActions, BackdeskScreen):
    """Every document, newest first; full-text search on top."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"documents.documents", "documents.versions", "core.print_jobs"})
    BINDINGS = [
        Binding("a", "add", _("Add"), id="documents.add"),
        Binding("c", "copy", _("Copy"), id="documents.copy"),
        Binding("p", "print", _("Print"), id="documents.print"),
        Binding("e", "email", _("Email"), id="documents.email"),
        Binding("x", "fax", _("Fax"), id="documents.fax"),
        Binding("b", "bill", _("To a bill"), id="documents.bill", show=False),
        Binding("f", "focus_search", _("Search"), id="documents.search"),
        Binding("ctrl+s", "save_search", _("Save search"), id="documents.save_search"),
        Binding("l", "saved_searches", _("Saved"), id="documents.saved_searches"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.query_text = ""
        self.terms: list[str] = []
        self.results: service.SearchResults | None = None

    def compose_content(self) -> ComposeResult:
        yield Input(placeholder=_("Search: words, \"phrase\", tag:, type:, from: — Enter"), id="docs-query")
        yield RecordTable([
            # Beside the menu at 80x24: ASN, date, title (24 cells at least)
            # and correspondent (narrowed); the type moves to the detail line.
            Column("asn", _("ASN"), width=4, align="right"),
            Column("date", _("Date"), format=lambda v: format_date(v, "short") if v else ""),
            Column("title", _("Title"), width=24, format=lambda v: highlighted(v or "", self.terms)),
            Column("type", _("Type"), width=9, priority=-1),
            Column("correspondent", _("From/To")),
        ], [], id="docs-table", empty_text=_("No documents"))
        yield Static("", id="docs-snippet", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.load()
        self.query_one(RecordTable).focus()

    def load(self) -> None:
        """The search's results a page at a time (the store finds them; the
        table reads the rows it shows); ``/`` narrows them by ASN, title,
        type or correspondent."""
        query = self.query_text
        try:
            self.results = service.SearchResults(self.ctx, query)
        except BackdeskError as error:
            _error(self, error)
            return

        def pages(results: service.SearchResults, narrowing: bool) -> PagedRecords:
            # the snippet only of the row the cursor is on (_show_snippet), not of a page of 100
            return PagedRecords(lambda offset, limit, after: results.page(offset, limit, after=after, snippets=False),
                                results.count,
                                matching=(lambda text: pages(service.SearchResults(self.ctx, query, shown=text),
                                                             False)) if narrowing else None)

        table = self.query_one(RecordTable)
        table.set_records(pages(self.results, True))
        self._show_snippet(table.cursor_record)

    def refresh_data(self, names) -> None:
        self.load()

    def _selected_id(self) -> int | None:
        record = self.query_one(RecordTable).cursor_record
        if record is None:
            self.notify(_("No document selected"), severity="warning")
            return None
        return record["id"]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_text = event.value
        try:
            self.terms = service.parse_query(event.value)[0]
        except BackdeskError as error:
            _error(self, error)
            return
        self.load()
        self.query_one(RecordTable).focus()
        if self.results is not None:
            self.notify(_("{n} documents").format(n=self.results.count()), timeout=2)

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        self._show_snippet(event.record)

    def _show_snippet(self, record) -> None:
        box = self.query_one("#docs-snippet", Static)
        if not record:
            self._shown_line = None
            box.update("")
            return
        tags = ", ".join(record.get("tags") or [])
        line = Text(f"#{record['id']} {record.get('correspondent') or ''}  " + (f"[{tags}]  " if tags else ""),
                    style="dim")
        job = paper.last_print(self.ctx, record["id"])
        if job is not None:
            line.append(_("Print: {state} on {printer}").format(state=state_title(job["state"]),
                                                                 printer=job["printer"]) + "  ",
                        style="bold red" if job["state"] in ("failed", "cancelled", "held") else "")
        found = self.results.snippet_of(record) if self.results is not None else ""
        if found:
            line.append_text(highlighted(found, self.terms))
        # the same line again (the table's cursor message after a search showed it):
        # not updated, which would lay the screen out once more (~30 ms at a year's size)
        if line != getattr(self, "_shown_line", None):
            self._shown_line = line
            box.update(line)

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        event.stop()
        self.app.push_screen(DocumentScreen(self.ctx, event.record["id"], self.terms))

    def action_focus_search(self) -> None:
        self.query_one("#docs-query", Input).focus()

    def action_save_search(self) -> None:
        if not self.query_text.strip():
            self.notify(_("Search for something first (f)"), severity="warning")
            return
        query = self.query_text

        def submit(values):
            found = service.save_search(self.ctx, values["name"], query)
            self.notify(_("Saved search {name!r}").format(name=found["name"]))
            return found

        self.app.push_screen(FormScreen(_("Save search: {query}").format(query=query[:40]),
                                        [Field("name", _("Name"), required=True)], on_submit=submit))

    def action_saved_searches(self) -> None:
        saved = service.saved_searches(self.ctx)
        if not saved:
            self.notify(_("No saved searches yet (ctrl+s saves one)"), severity="warning")
            return

        def chosen(query: str | None) -> None:
            if query is None:
                return
            box = self.query_one("#docs-query", Input)
            box.value = query
            self.query_text = query
            self.terms = service.parse_query(query)[0]
            self.load()
            self.query_one(RecordTable).focus()

        self.app.push_screen(PickScreen(_("Saved searches"), [(s["query"], f"{s['name']}: {s['query']}")
                                                               for s in saved]), chosen)


class PickScreen(ModalScreen):
    """Pick one of a few options (enter), escape cancels."""

    CSS_PATH = CSS_PATH
    BINDINGS = [Binding("escape", "cancel", _("Cancel"), id="documents.pick_cancel")]

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self._title = title
        self._options = options

    def compose(self) -> ComposeResult:
        with Vertical(classes="docs-pick"):
            yield Static(self._title, classes="docs-pick-title", markup=False)
            yield OptionList(*[Option(label, id=str(i)) for i, (_v, label) in enumerate(self._options)])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self._options[int(event.option.id)][0])

    def action_cancel(self) -> None:
        self.dismiss(None)


# ---------------------------------------------------------------- detail
class DocumentScreen(DocumentActions, BackdeskScreen):
    """One document: its fields, versions and history."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"documents.documents", "documents.versions", "documents.history",
                              "documents.ocr"})
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="documents.back"),
        Binding("r", "recognise", _("OCR"), id="documents.recognise"),
        Binding("E", "edit", _("Edit"), id="documents.edit"),
        Binding("v", "new_version", _("Version"), id="documents.new_version"),
        Binding("c", "copy", _("Copy"), id="documents.detail_copy"),
        Binding("p", "print", _("Print"), id="documents.detail_print"),
        Binding("e", "email", _("Email"), id="documents.detail_email"),
        Binding("x", "fax", _("Fax"), id="documents.detail_fax"),
        Binding("b", "bill", _("To a bill"), id="documents.detail_bill", show=False),
        Binding("o", "export", _("Export"), id="documents.export", show=False),
    ]

    def __init__(self, ctx, doc_id: int, terms: list[str] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.doc_id = doc_id
        self.terms = terms or []

    def compose_content(self) -> ComposeResult:
        yield DetailView(id="doc-detail")
        with Horizontal(id="doc-lists"):
            yield RecordTable([
                Column("number", _("V"), width=2, align="right"),
                Column("filename", _("File"), width=15),
                Column("size", _("Bytes"), width=6, align="right"),
            ], [], id="doc-versions", empty_text=_("No versions"))
            yield RecordTable([
                Column("at", _("When"), format=lambda v: format_datetime(v, "short") if v else ""),
                Column("actor", _("Who"), width=6),
                Column("what", _("What"), format=lambda v: label(HISTORY_TITLES, v)),
            ], [], id="doc-history", empty_text=_("No history"))

    def on_mount(self) -> None:
        super().on_mount()
        self.load()
        self.query_one("#doc-detail").focus()

    def _selected_id(self) -> int | None:
        return self.doc_id

    def load(self) -> None:
        try:
            doc = service.get_document(self.ctx, self.doc_id)
        except BackdeskError as error:
            _error(self, error)
            return
        vers = service.versions(self.ctx, self.doc_id)
        current = next((v for v in vers if v["number"] == doc["current_version"]), None)
        people = self.ctx.services.people
        responsible = people.name_of(doc["responsible_id"], f"#{doc['responsible_id']}") \
            if doc.get("responsible_id") and self.ctx.can("core.directory.read") else doc.get("responsible_id")
        pairs = [
            (_("ASN"), str(doc["asn"])),
            (_("Title"), highlighted(doc["title"], self.terms)),
            (_("Type"), doc.get("type")),
            (_("From/To"), doc.get("correspondent")),
            (_("Direction"), _direction_labels().get(doc.get("direction"), doc.get("direction"))),
            (_("Date"), format_date(doc["date"]) if doc.get("date") else None),
            (_("Tags"), ", ".join(doc.get("tags") or [])),
            (_("Location"), doc.get("location")),
            (_("Responsible"), responsible),
            (_("Keep until"), format_date(doc["retention_until"]) if doc.get("retention_until") else None),
        ]
        for key, value in (doc.get("fields") or {}).items():
            pairs.append((key, value))
        if doc.get("original_id"):
            pairs.append((_("Copy of"), f"#{doc['original_id']}"))
        if current is not None:
            pairs.append((_("Current file"), f"v{current['number']} {current['filename']} "
                                             f"({current['sha256'][:12]})"))
        job = ocr_jobs.latest_job(self.ctx, self.doc_id)
        if job is not None:
            pairs.append((_("Text"), ocr_jobs.describe(job)))
        if current is not None:
            if self.terms and current.get("text"):
                pairs.append((_("Match"), highlighted(service.snippet(current["text"], self.terms), self.terms)))
        self.query_one("#doc-detail", DetailView).update(pairs, title=_("Document {id}").format(id=doc["id"]))
        self.query_one("#doc-versions", RecordTable).set_records(list(reversed(vers)))
        self.query_one("#doc-history", RecordTable).set_records(list(reversed(service.history(self.ctx, self.doc_id))))

    def refresh_data(self, names) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_edit(self) -> None:
        doc = service.get_document(self.ctx, self.doc_id)
        values = {k: doc.get(k) for k in ("title", "type", "correspondent", "direction", "location",
                                          "responsible_id")}
        values["tags"] = ", ".join(doc.get("tags") or [])
        if doc.get("responsible_id"):  # the picker shows the name
            values["responsible_id"] = Choice(doc["responsible_id"],
                                              self.ctx.person_name(doc["responsible_id"], f"#{doc['responsible_id']}"))
        from datetime import date

        values["date"] = date.fromisoformat(doc["date"])

        def submit(values):
            return service.update_document(self.ctx, self.doc_id, _meta(values))

        self.app.push_screen(FormScreen(_("Edit document {id}").format(id=self.doc_id),
                                        document_fields(self.ctx, with_file=False), values, on_submit=submit))

    def action_new_version(self) -> None:
        def submit(values):
            doc = service.add_version(self.ctx, self.doc_id, values["file"], note=values.get("note") or "")
            self.notify(_("Now at version {n}").format(n=doc["current_version"]))
            return doc

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.app.push_screen(FormScreen(_("New version of document {id}").format(id=self.doc_id), [
                    Field("file", _("File"), required=True), Field("note", _("Note")),
                ], {"file": str(path)}, on_submit=submit, submit_label=_("Add")))

        self.app.push_screen(FilePicker(_("New version of document {id}: choose the file").format(id=self.doc_id),
                                        file_roots(self.ctx)), chosen)

    def action_recognise(self) -> None:
        """Queue the scan's text recognition (again); the worker runs it."""
        try:
            job = ocr_jobs.request_ocr(self.ctx, self.doc_id)
        except BackdeskError as error:
            _error(self, error)
            return
        self.notify(ocr_jobs.describe(job))

    def action_export(self) -> None:
        """Write the document's file into a folder: the operator's exports
        folder unless another is named (a relative one is inside it)."""
        exports = self.ctx.exports_dir()

        def submit(values):
            folder = Path(values["folder"]).expanduser()
            path = service.export_document(self.ctx, self.doc_id, folder if folder.is_absolute() else exports / folder)
            self.notify(_("Written to {path}").format(path=shown_path(path)), timeout=8)
            return path

        self.app.push_screen(FormScreen(_("Export document {id}").format(id=self.doc_id), [
            Field("folder", _("Folder"), required=True, help=_("Your exports folder, or another folder on the server"))],
            {"folder": shown_path(exports)}, on_submit=submit, submit_label=_("Export")))


# ---------------------------------------------------------------- intake
class IntakeScreen(BackdeskScreen):
    """Files waiting in the inbox, with what the rules suggest."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"documents.intake"})
    BINDINGS = [
        Binding("f", "file", _("File"), id="documents.file_intake"),
        Binding("r", "scan", _("Scan inbox"), id="documents.scan"),
        Binding("n", "scan_paper", _("Scan paper"), id="documents.scan_paper"),
        Binding("k", "photocopy", _("Copy paper"), id="documents.photocopy"),
        Binding("m", "mail_log", _("Mail log"), id="documents.mail_log"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def compose_content(self) -> ComposeResult:
        yield Static("", id="intake-inbox", markup=False)
        yield RecordTable([
            Column("id", "#", width=4, align="right"),
            Column("filename", _("File")),
            Column("status", _("Status"), width=8, format=lambda v: label(INTAKE_STATUS_TITLES, v)),
            Column("suggested.type", _("Type"), width=10),
            Column("suggested.correspondent", _("From"), width=14),
        ], [], id="intake-table", empty_text=_("The inbox is empty"))
        yield Static("", id="intake-excerpt", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#intake-inbox", Static).update(
            _("Inbox: {path}").format(path=service.inbox_dir(self.ctx)))
        self.load()
        self.query_one(RecordTable).focus()

    def load(self) -> None:
        table = self.query_one(RecordTable)
        table.set_records(service.intake_queue(self.ctx))
        self._excerpt(table.cursor_record)

    def refresh_data(self, names) -> None:
        self.load()

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        self._excerpt(event.record)

    def _excerpt(self, row) -> None:
        box = self.query_one("#intake-excerpt", Static)
        if not row:
            box.update("")
        elif row.get("error"):
            box.update(Text(row["error"], style="bold"))
        else:
            tags = ", ".join((row.get("suggested") or {}).get("tags") or [])
            batch = _("From the batch scan {name}").format(name=row["split_from"]) + "\n" \
                if row.get("split_from") else ""
            box.update(batch + (f"[{tags}] " if tags else "") + (row.get("excerpt") or ""))

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        event.stop()
        self.action_file()

    def action_scan(self) -> None:
        try:
            counts = service.scan_inbox(self.ctx)
        except BackdeskError as error:
            _error(self, error)
            return
        note = _("{new} new files").format(new=counts["new"])
        if counts["split"]:
            note += " — " + _.ngettext("{n} batch scan split at separator sheets",
                                        "{n} batch scans split at separator sheets",
                                        counts["split"]).format(n=counts["split"])
        self.notify(note)
        self.load()

    def action_mail_log(self) -> None:
        """The mail intake log (what the mailboxes delivered and became of it)."""
        # imported here, not at the top: the mail modules (email, imap) add
        # ~17 ms to this module's import (python -X importtime), which every
        # start pays, for a screen most operators never open
        from plugins.documents.mail_screens import MailLogScreen

        self.app.push_screen(MailLogScreen(self.ctx))

    def action_scan_paper(self) -> None:
        """Scan with a profile: into the intake, or filed at once."""
        names = list(scanning.profiles(self.ctx))
        fields = [Field("profile", _("Profile"), kind="choice", choices=[(n, n) for n in names],
                        default=self.ctx.settings.get("scan_profile") or names[0], required=True),
                  Field("file", _("File at once"), kind="bool", default=False)]

        def scanned(done) -> None:
            if done:
                note = _.ngettext("Scanned {n} page", "Scanned {n} pages", done["pages"]).format(n=done["pages"])
                if done["parts"] > 1:
                    note += " — " + _("split into {n} documents").format(n=done["parts"])
                if done["documents"]:
                    note += " — " + _("filed as ASN {asn}").format(
                        asn=", ".join(str(d["asn"]) for d in done["documents"]))
                self.notify(note)
                self.load()

        def submit(values):
            def work(progress):
                return scanning.scan_to_register(self.ctx, profile=values["profile"], file=bool(values["file"]),
                                                 progress=_page_progress(progress, total))

            total = scanning.profiles(self.ctx)[values["profile"]]["pages"] or None
            self.app.call_later(lambda: self.app.push_screen(
                ProgressScreen(work, title=_("Scanning ({profile})").format(profile=values["profile"])), scanned))
            return values

        self.app.push_screen(FormScreen(_("Scan paper"), fields, on_submit=submit, submit_label=_("Scan")))

    def action_photocopy(self) -> None:
        """Copy paper: scan and print in one step, nothing filed."""
        names = list(scanning.profiles(self.ctx))
        try:
            printers = self.ctx.services.printing.printers()
            default = self.ctx.services.printing.default_printer(printers)
        except BackdeskError as error:
            _error(self, error)
            return
        fields = [Field("profile", _("Profile"), kind="choice", choices=[(n, n) for n in names],
                        default=self.ctx.settings.get("scan_profile") or names[0], required=True),
                  Field("printer", _("Printer"), kind="choice", choices=printer_choices(printers),
                        default=default or (printers[0]["name"] if printers else None), required=True),
                  Field("copies", _("Copies"), kind="int", default=1, required=True),
                  Field("duplex", _("Both sides"), kind="bool", default=False)]

        def copied(done) -> None:
            if done:
                self.notify(_("Copied {n} pages: print job {id} on {printer}").format(
                    n=done["pages"], id=done["job"]["id"], printer=done["job"]["printer"]))

        def submit(values):
            # refused before the scanner moves: the printer, the copies, both sides
            self.ctx.services.printing.check_request(printer=values["printer"], copies=values["copies"],
                                                     duplex=bool(values["duplex"]))

            def work(progress):
                return scanning.photocopy(self.ctx, profile=values["profile"], printer=values["printer"],
                                          copies=values["copies"], duplex=bool(values["duplex"]),
                                          progress=_page_progress(progress, total))

            total = scanning.profiles(self.ctx)[values["profile"]]["pages"] or None
            self.app.call_later(lambda: self.app.push_screen(ProgressScreen(work, title=_("Copying")), copied))
            return values

        self.app.push_screen(FormScreen(_("Copy paper"), fields, on_submit=submit, submit_label=_("Copy")))

    def action_file(self) -> None:
        row = self.query_one(RecordTable).cursor_record
        if row is None:
            self.notify(_("Nothing to file"), severity="warning")
            return
        if row["status"] != "waiting":
            self.notify(row.get("error") or _("This file cannot be filed"), severity="error")
            return
        s = row.get("suggested") or {}
        values = {"title": Path(row["filename"]).stem, "type": s.get("type") or "",
                  "correspondent": s.get("correspondent") or "", "tags": ", ".join(s.get("tags") or []),
                  "direction": "incoming"}

        def submit(values):
            doc = service.file_intake(self.ctx, row["id"], _meta(values))
            self.notify(_("Filed as ASN {asn}").format(asn=doc["asn"]))
            return doc

        self.app.push_screen(FormScreen(_("File {name}").format(name=row["filename"]),
                                        document_fields(self.ctx, with_file=False), values,
                                        on_submit=submit, submit_label=_("File")))


# ---------------------------------------------------------------- outbox
class OutboxScreen(BackdeskScreen):
    """Email and fax jobs with their status; failures are retried."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"documents.outbox"})
    BINDINGS = [
        Binding("r", "retry", _("Retry now"), id="documents.retry"),
        Binding("q", "requeue", _("Requeue"), id="documents.requeue"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def compose_content(self) -> ComposeResult:
        yield RecordTable([
            Column("id", "#", width=4, align="right"),
            Column("kind", _("Kind"), width=6, format=lambda v: label(OUTBOX_KIND_TITLES, v)),
            Column("shown_status", _("Status"), width=15, format=lambda v: label(OUTBOX_STATUS_TITLES, v)),
            Column("attempts", _("Tries"), width=5, align="right"),
            Column("to_text", _("To")),
            # Enter opens the document: its number gives way first at 80x24
            Column("document_id", _("Doc"), width=5, align="right", priority=-1),
        ], [], id="outbox-table", empty_text=_("The outbox is empty"))
        yield Static("", id="outbox-detail", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.load()
        self.query_one(RecordTable).focus()

    def load(self) -> None:
        rows = []
        for row in service.outbox(self.ctx):
            row["to_text"] = row["to"] or ", ".join(
                r.get("address") or self._person(r.get("person_id")) for r in row["recipients"])
            row["shown_status"] = shown_status(row)
            rows.append(row)
        table = self.query_one(RecordTable)
        table.set_records(rows)
        self._detail(table.cursor_record)

    def _person(self, person_id) -> str:
        if self.ctx.can("core.directory.read"):
            return self.ctx.services.people.name_of(person_id, f"#{person_id}")
        return f"#{person_id}"

    def refresh_data(self, names) -> None:
        self.load()

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        self._detail(event.record)

    def _detail(self, row) -> None:
        box = self.query_one("#outbox-detail", Static)
        if not row:
            box.update("")
            return
        parts = [row.get("subject") or ""]
        if row.get("job_id") and row["kind"] == "fax":
            parts.append(_("job {id}").format(id=row["job_id"]))
        if shown_status(row) == "retrying":
            parts.append(_("next try {when}").format(when=format_datetime(row["next_attempt_at"], "short")))
        elif row["status"] == "failed":
            parts.append(_("given up after {n} tries: q requeues").format(n=row.get("attempts") or 0))
        if row.get("last_error"):
            parts.append(row["last_error"])
        box.update(" · ".join(p for p in parts if p))

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        """Enter opens the document the job sends (a reply without one: its text)."""
        event.stop()
        row = event.record
        if row.get("document_id") is not None:
            try:
                service.get_document(self.ctx, row["document_id"])
            except BackdeskError as error:
                _error(self, error)
                return
            self.app.push_screen(DocumentScreen(self.ctx, row["document_id"]))
            return
        pairs = [(_("To"), row.get("to_text") or ""), (_("Subject"), row.get("subject") or ""),
                 (_("Status"), label(OUTBOX_STATUS_TITLES, shown_status(row))),
                 (_("Text"), row.get("body") or "")]
        self.app.push_screen(DetailModal(_("Outbox job {id}").format(id=row["id"]), pairs))

    def action_retry(self) -> None:
        ctx = self.ctx

        def work():
            try:
                counts = service.process_outbox(ctx, force=True)
                message, severity = _("Outbox: {sent} sent, {failed} failed").format(**counts), "information"
            except BackdeskError as error:
                message, severity = str(error), "error"
            self.app.call_from_thread(self.notify, message, severity=severity)

        self.notify(_("Sending…"), timeout=2)
        self.run_worker(work, thread=True, exclusive=True, group="documents-outbox", exit_on_error=False)

    def action_requeue(self) -> None:
        row = self.query_one(RecordTable).cursor_record
        if row is None:
            return
        try:
            service.requeue(self.ctx, row["id"])
        except BackdeskError as error:
            _error(self, error)
            return
        self.notify(_("Job {id} queued again").format(id=row["id"]))
        self.load()


# ---------------------------------------------------------------- rules and types
def _years(value) -> str:
    if value is None:
        return ""
    return _.ngettext("{n} year", "{n} years", value).format(n=value)


def _between(low: int, high: int):
    def check(value):
        if not low <= value <= high:
            return _("from {low} to {high}").format(low=low, high=high)
        return None
    return check


def type_fields() -> list[Field]:
    return [
        Field("name", _("Name"), required=True),
        Field("retention_years", _("Keep (years)"), kind="int", validate=_between(0, 100),
              help=_("Years after the document's year, to the end of that year; empty: no rule")),
        Field("fields", _("Custom fields"), help=_("Comma-separated field names (invoice number, …)")),
    ]


def rule_fields(ctx) -> list[Field]:
    types = [("", _("(none)"))] + [(t["name"], t["name"]) for t in service.list_types(ctx)]
    return [
        Field("name", _("Name"), required=True),
        Field("match", _("Look for"), required=True,
              help=_("Words in the file's name or text; a pattern for a regular expression")),
        Field("algorithm", _("Matching"), kind="choice", default="any",
              choices=[(a, label(ALGORITHM_TITLES, a)) for a in ALGORITHMS]),
        Field("type", _("Type"), kind="choice", choices=types, default=""),
        Field("correspondent", _("From/To")),
        Field("tags", _("Tags"), help=_("Comma-separated; levels with / (finance/invoices)")),
        Field("order", _("Order"), kind="int", default=100, validate=_between(0, 9999),
              help=_("Lower runs first: the first matching rule sets the type and the correspondent")),
    ]


class RulesScreen(BackdeskScreen):
    """Document types and matching rules: add, edit and delete by keyboard.

    Two tables; the keys act on the one with the focus (``t`` types, ``r``
    rules, or Tab). Every
    change goes through the service, which checks ``documents.rules``.
    """

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"documents.types", "documents.rules"})
    BINDINGS = [
        Binding("a", "add", _("Add"), id="documents.setup_add"),
        Binding("e", "edit", _("Edit"), id="documents.setup_edit"),
        Binding("d", "delete", _("Delete"), id="documents.setup_delete"),
        Binding("t", "focus_table('types')", _("Types"), id="documents.setup_types", show=False),
        Binding("r", "focus_table('rules')", _("Rules"), id="documents.setup_rules", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def compose_content(self) -> ComposeResult:
        yield Static("", id="setup-bar", markup=False)
        yield Static(_("Document types"), classes="setup-title", markup=False)
        yield RecordTable([
            Column("name", _("Name"), width=20),
            Column("retention_years", _("Keep"), width=9, format=_years),
            Column("fields", _("Custom fields"), format=lambda v: ", ".join(v or [])),
        ], [], id="types-table", empty_text=_("No document types"))
        yield Static(_("Matching rules"), classes="setup-title", markup=False)
        yield RecordTable([
            Column("order", _("Ord."), width=4, align="right"),
            Column("name", _("Name"), width=12),
            # at 80x24 what a rule looks for and assigns stay, how it
            # matches moves to the detail line
            Column("algorithm", _("Matching"), format=lambda v: label(ALGORITHM_TITLES, v), priority=-1),
            Column("match", _("Look for")),
            Column("assigns", _("Assigns")),
        ], [], id="rules-table", empty_text=_("No matching rules"))

    def on_mount(self) -> None:
        super().on_mount()
        self.load()
        self.query_one("#types-table", RecordTable).focus()

    def load(self) -> None:
        try:
            types = service.list_types(self.ctx)
            rules = service.list_rules(self.ctx)
        except BackdeskError as error:
            self.query_one("#setup-bar", Static).update(str(error))
            return
        for r in rules:
            r["assigns"] = " ".join(x for x in (r.get("type"), r.get("correspondent"),
                                                ", ".join(r.get("tags") or [])) if x)
        self.query_one("#types-table", RecordTable).set_records(types)
        self.query_one("#rules-table", RecordTable).set_records(rules)

    def refresh_data(self, names) -> None:
        self.load()

    # -- which table the keys act on ---------------------------------------------------
    def _kind(self) -> str:
        focused = self.focused
        return "rules" if focused is not None and focused.id == "rules-table" else "types"

    def on_descendant_focus(self, event) -> None:
        bar = self.query_one("#setup-bar", Static)
        if self._kind() == "rules":
            bar.update(_("Matching rules: a add · e/Enter edit · d delete · t types"))
        else:
            bar.update(_("Document types: a add · e/Enter edit · d delete · r rules"))

    def action_focus_table(self, kind: str) -> None:
        self.query_one(f"#{kind}-table", RecordTable).focus()

    def _current(self) -> dict | None:
        record = self.query_one(f"#{self._kind()}-table", RecordTable).cursor_record
        if record is None:
            self.notify(_("Nothing selected"), severity="warning")
        return record

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        event.stop()
        self.action_edit()

    # -- add, edit, delete -------------------------------------------------------------
    def _push(self, form: FormScreen, done_message: str) -> None:
        def done(result) -> None:
            if result is not None:
                self.notify(done_message.format(name=result["name"]))
                self.load()

        self.app.push_screen(form, done)

    def action_add(self) -> None:
        ctx = self.ctx
        if self._kind() == "rules":
            try:
                fields = rule_fields(ctx)
            except BackdeskError as error:
                _error(self, error)
                return
            self._push(FormScreen(_("New matching rule"), fields, on_submit=lambda v: service.add_rule(ctx, v),
                                  submit_label=_("Add")), _("Rule {name!r} added"))
        else:
            self._push(FormScreen(_("New document type"), type_fields(), submit_label=_("Add"),
                                  on_submit=lambda v: service.add_type(
                                      ctx, v["name"], retention_years=v.get("retention_years"),
                                      fields=v.get("fields") or "")),
                       _("Type {name!r} added"))

    def action_edit(self) -> None:
        record = self._current()
        if record is None:
            return
        ctx, rid = self.ctx, record["id"]
        if self._kind() == "rules":
            values = {k: record.get(k) for k in ("name", "match", "algorithm", "type", "correspondent", "order")}
            values["tags"] = ", ".join(record.get("tags") or [])
            try:
                fields = rule_fields(ctx)
            except BackdeskError as error:
                _error(self, error)
                return
            self._push(FormScreen(_("Matching rule {name}").format(name=record["name"]), fields, values,
                                  on_submit=lambda v: service.update_rule(ctx, rid, v)), _("Rule {name!r} saved"))
        else:
            values = {"name": record["name"], "retention_years": record.get("retention_years"),
                      "fields": ", ".join(record.get("fields") or [])}
            self._push(FormScreen(_("Document type {name}").format(name=record["name"]), type_fields(), values,
                                  on_submit=lambda v: service.update_type(ctx, rid, {
                                      "name": v["name"], "retention_years": v.get("retention_years"),
                                      "fields": v.get("fields") or ""})),
                       _("Type {name!r} saved"))

    def action_delete(self) -> None:
        record = self._current()
        if record is None:
            return
        kind, rid = self._kind(), record["id"]
        question = (_("Delete the matching rule {name!r}?") if kind == "rules"
                    else _("Delete the document type {name!r}?")).format(name=record["name"])

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                (service.delete_rule if kind == "rules" else service.delete_type)(self.ctx, rid)
            except BackdeskError as error:
                _error(self, error)
                return
            self.notify(_("Deleted {name!r}").format(name=record["name"]))
            self.load()

        self.app.push_screen(ConfirmDialog(question, danger=True, yes_label=_("Delete")), answered)


# ---------------------------------------------------------------- cards, search
# The cards are in plugins/documents/__init__.py (the shell starts without this
# module); re-exported here for callers of the old names.
from plugins.documents import card_intake, card_outbox, card_week  # noqa: E402,F401


def search_hits(ctx, query: str) -> list[SearchHit]:
    if not ctx.can(service.READ) or not query.strip():
        return []
    try:
        hits = service.search(ctx, query, limit=20)
    except BackdeskError:
        return []
    out = []
    for hit in hits:
        def open_(app, doc_id=hit["id"], terms=hit["terms"]):
            app.open_nav("documents")
            app.call_later(app.push_screen, DocumentScreen(ctx, doc_id, terms))

        out.append(SearchHit(f"ASN {hit['asn']}: {hit['title']}", hit.get("snippet") or hit.get("type") or "",
                             target="documents", open=open_))
    return out
