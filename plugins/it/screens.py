"""IT's screens: helpdesk queues, a ticket, assets, an asset, maintenance and
changes, and the live service-check board.

Screens call ``plugins.it.service`` for everything; the check board runs the
probes in a thread worker and learns about the results, like every other
change, through the store's change notifications.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.errors import BackdeskError
from core.api.hookspecs import SearchHit
from core.i18n import format_date, format_datetime
from core.shell.screens.base import BackdeskScreen
from core.shell.widgets import Column, ConfirmDialog, DetailView, Field, FormScreen, RecordTable, ordered_pages
from plugins.it import models as m
from plugins.it import service as svc
from plugins.it.models import _
from plugins.it.sla import format_span

CSS_PATH = Path(__file__).parent / "it.tcss"


def _fail(screen, error: BackdeskError) -> None:
    screen.notify(str(error), severity="error", timeout=6)


def _choices(titles: dict) -> list[tuple[str, str]]:
    return [(k, _(v)) for k, v in titles.items()]


def _date_text(value) -> str:
    return format_date(value) if value else ""


def _short_date(value) -> str:
    return format_date(value, "short") if value else ""


def _day_width() -> int:
    """Cells the locale's short date takes ("31.12.26" 8, "31/12/2026" 10)."""
    return len(format_date("2026-12-31", "short"))


# =====================================================================================
# Forms (shared by the screens and the palette)
# =====================================================================================
def ticket_form(ctx, on_done=None, asset_tag: str = "") -> FormScreen:
    person = None
    try:
        me = ctx.services.people.person_of(ctx.operator)
        person = me["id"] if me else None
    except BackdeskError:
        pass
    fields = [
        _person_field(ctx, "requester", _("For (person)"), required=True),
        Field("title", _("Title"), required=True),
        Field("kind", _("Kind"), kind="choice", choices=_choices(m.KIND_TITLES), default="incident"),
        Field("category", _("Category"), kind="choice", choices=_choices(m.CATEGORY_TITLES), default="hardware"),
        Field("priority", _("Priority"), kind="choice", choices=_choices(m.PRIORITY_TITLES), default="normal"),
        Field("assets", _("Asset tags"), kind="picks", source=lambda text: svc.ticket_asset_choices(ctx, text),
              help=_("Found by part of the tag or the model")),
        Field("description", _("Description"), kind="multiline"),
    ]

    def submit(values):
        doc = svc.open_ticket(ctx, requester=values["requester"], title=values["title"], kind=values["kind"],
                              category=values["category"], priority=values["priority"],
                              assets=values.get("assets") or [], description=values["description"])
        if on_done:
            on_done(doc)
        return doc

    requester = ctx.services.people.choice(person) if person else None
    return FormScreen(_("New ticket"), fields, {"requester": requester, "assets": [asset_tag] if asset_tag else []},
                      on_submit=submit, submit_label=_("Open ticket"))


def _person_field(ctx, key: str, label: str, **kwargs) -> Field:
    """A person of the directory, found by typing part of the name."""
    return Field(key, label, kind="pick", source=ctx.services.people.choices, **kwargs)


def assign_form(ctx, ticket: dict) -> FormScreen:
    members = svc.team(ctx)
    mine = ctx.operator.account
    default = ticket.get("assignee") or (mine if mine in dict(members) else (members[0][0] if members else None))
    fields = [Field("assignee", _("Assign to"), kind="choice", required=True,
                    choices=[(a, f"{n} ({a})") for a, n in members], default=default)]
    return FormScreen(_("Assign ticket #{id}").format(id=ticket["id"]), fields,
                      on_submit=lambda v: svc.assign(ctx, ticket["id"], v["assignee"]),
                      submit_label=_("Assign"))


# =====================================================================================
# Helpdesk
# =====================================================================================
TICKET_COLUMNS = lambda: [  # noqa: E731 - titles translated when the screen is built
    # At 80 columns beside the menu the assignee, then the requester give
    # way (the detail line under the rows names them, and the title whole);
    # the priority and the status are never cut ("dringend", "wartend").
    Column("id", "#", width=4, align="right"),
    Column("priority_text", _("Prio")),
    Column("title", _("Title"), priority=-1),
    Column("due_text", _("Due"), width=11),
    Column("status_text", _("Status")),
    Column("requester", _("For"), width=16, priority=-2),
    Column("assignee_text", _("Assignee"), width=10, priority=-3),
]


def status_form(ctx, ticket: dict, status: str) -> FormScreen:
    """Resolving or closing asks for the reply the requester gets (optional)
    and a second key (ctrl+s): one stray key does not resolve a ticket."""
    title = _("Resolve #{id}: {title}") if status == "resolved" else _("Close #{id}: {title}")
    return FormScreen(title.format(id=ticket["id"], title=ticket["title"]),
                      [Field("note", _("Reply"), kind="multiline", help=_("What the requester reads (optional)"))],
                      on_submit=lambda v: svc.set_status(ctx, ticket["id"], status, note=v["note"]),
                      submit_label=_("Resolve") if status == "resolved" else _("Close"))


class HelpdeskScreen(BackdeskScreen):
    """The ticket queues: active, mine, unassigned, overdue, waiting, all."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"it.tickets"})
    BINDINGS = [
        Binding("n", "new", _("New"), id="it.ticket_new"),
        Binding("a", "assign", _("Assign"), id="it.ticket_assign"),
        Binding("r", "resolve", _("Resolve"), id="it.ticket_resolve"),
        Binding("w", "waiting", _("Wait"), id="it.ticket_waiting", show=False),
        Binding("1", "queue('active')", _("Active"), id="it.queue_active", show=False),
        Binding("2", "queue('mine')", _("Mine"), id="it.queue_mine", show=False),
        Binding("3", "queue('unassigned')", _("Unassigned"), id="it.queue_unassigned", show=False),
        Binding("4", "queue('overdue')", _("Overdue"), id="it.queue_overdue", show=False),
        Binding("5", "queue('waiting')", _("Waiting"), id="it.queue_waiting", show=False),
        Binding("6", "queue('all')", _("All"), id="it.queue_all", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.queue_name = "active"

    def compose_content(self) -> ComposeResult:
        yield Static("", id="it-queues", classes="it-bar")
        yield RecordTable(TICKET_COLUMNS(), [], id="it-tickets", empty_text=_("No tickets in this queue"))

    def on_mount(self) -> None:
        super().on_mount()
        self._load()
        self.query_one(RecordTable).focus()

    def _load(self) -> None:
        counts, tickets = svc.queue_view(self.ctx, self.queue_name)
        parts = []
        for i, q in enumerate(("active", "mine", "unassigned", "overdue", "waiting", "all"), start=1):
            label = _(svc.QUEUE_TITLES[q])
            n = f" {counts[q]}" if q in counts else ""
            text = f"{i} {label}{n}"
            parts.append(f"[reverse]{escape(text)}[/]" if q == self.queue_name else escape(text))
        self.query_one("#it-queues", Static).update("  ".join(parts))
        if tickets is None:  # "all", a year's tickets: a page at a time, in the queue's order
            table, parts = svc.queue_parts(self.ctx, "all")
            # the parts are every ticket: their count is the table's
            rows = ordered_pages(table, parts, search=("title", "assignee"), total=table.count,
                                 prepare=lambda docs: svc.ticket_rows(self.ctx, docs))
        else:
            rows = svc.ticket_rows(self.ctx, tickets)
        self.query_one(RecordTable).set_records(rows)

    def refresh_data(self, names) -> None:
        self._load()

    def action_queue(self, name: str) -> None:
        self.queue_name = name
        self._load()

    def _current(self) -> dict | None:
        rec = self.query_one(RecordTable).cursor_record
        if rec is None:
            self.notify(_("No ticket selected"), severity="warning")
        return rec

    def action_new(self) -> None:
        self.app.push_screen(ticket_form(self.ctx))

    def action_assign(self) -> None:
        rec = self._current()
        if rec:
            self.app.push_screen(assign_form(self.ctx, rec))

    def _move(self, status: str) -> None:
        rec = self._current()
        if rec:
            try:
                svc.set_status(self.ctx, rec["id"], status)
                self.notify(_("Ticket #{id} is {status}").format(id=rec["id"], status=_(m.STATUS_TITLES[status])))
            except BackdeskError as error:
                _fail(self, error)

    def action_resolve(self) -> None:
        rec = self._current()
        if rec:
            self.app.push_screen(status_form(self.ctx, rec, "resolved"), self._resolved)

    def _resolved(self, doc) -> None:
        if doc:
            self.notify(_("Ticket #{id} is {status}").format(id=doc["id"], status=_(m.STATUS_TITLES[doc["status"]])))

    def action_waiting(self) -> None:
        self._move("waiting")

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        self.app.push_screen(TicketScreen(self.ctx, event.record["id"]))


class TicketScreen(BackdeskScreen):
    """One ticket: fields, SLA clocks, the comment thread, its assets' history."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"it.tickets", "it.comments", "it.asset_history"})
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="it.back"),
        Binding("a", "assign", _("Assign"), id="it.detail_assign"),
        Binding("c", "comment(False)", _("Reply"), id="it.comment"),
        Binding("i", "comment(True)", _("Note"), id="it.note"),
        Binding("r", "status('resolved')", _("Resolve"), id="it.detail_resolve"),
        Binding("w", "status('waiting')", _("Wait"), id="it.detail_waiting"),
        Binding("o", "status('open')", _("Open/reopen"), id="it.detail_open", show=False),
        Binding("x", "status('closed')", _("Close"), id="it.detail_close", show=False),
        Binding("p", "priority", _("Priority"), id="it.detail_priority", show=False),
    ]

    def __init__(self, ctx, ticket_id: int) -> None:
        super().__init__()
        self.ctx = ctx
        self.ticket_id = ticket_id

    def compose_content(self) -> ComposeResult:
        with VerticalScroll(id="it-ticket"):
            yield DetailView(id="it-ticket-fields")
            yield Static("", id="it-ticket-text", classes="it-section", markup=True)

    def on_mount(self) -> None:
        super().on_mount()
        self._load()
        self.query_one("#it-ticket").focus()

    def refresh_data(self, names) -> None:
        self._load()

    def _load(self) -> None:
        ctx = self.ctx
        doc = svc.get_ticket(ctx, self.ticket_id)
        self.doc = doc
        st = svc.sla_state(ctx, doc)
        pairs = [
            (_("Status"), _(m.STATUS_TITLES[doc["status"]])),
            (_("Priority"), _(m.PRIORITY_TITLES[doc["priority"]])),
            (_("Kind"), f"{_(m.KIND_TITLES[doc['kind']])} / {_(m.CATEGORY_TITLES[doc['category']])}"),
            (_("For"), svc.person_name(ctx, doc["requester_id"])),
            (_("Assignee"), doc.get("assignee") or "-"),
            (_("Opened"), format_datetime(doc["opened_at"])),
        ]
        for key, label in (("response", _("Response")), ("resolution", _("Resolution"))):
            due, met = st[key + "_due"], st[key + "_met"]
            if met is not None:
                value = _("met") if met else _("missed")
            elif due is None:
                value = _("paused, {left} left").format(left=format_span(st[key + "_left"]))
            else:
                value = format_datetime(due) + " · " + (
                    _("OVERDUE") if st[key + "_overdue"] else _("{left} left").format(left=format_span(st[key + "_left"])))
            pairs.append((label, value))
        pairs.append((_("Time spent"), f"{doc.get('minutes') or 0} min"))
        if doc.get("due"):
            pairs.append((_("Needed by"), _date_text(doc["due"])))
        self.query_one(DetailView).update(pairs, title=f"#{doc['id']} {doc['title']}")
        lines = []
        if doc.get("description"):
            lines += [escape(doc["description"]), ""]
        lines.append(f"[b]{escape(_('Comments'))}[/b]")
        for c in svc.comments(ctx, doc["id"]):
            note = f" [i]({escape(_('internal'))})[/i]" if c["internal"] else ""
            spent = f" · {c['minutes']} min" if c.get("minutes") else ""
            lines.append(f"[dim]{escape(c['by'])} · {escape(format_datetime(c['at']))}{spent}[/dim]{note}")
            if c["text"]:
                lines.append("  " + escape(c["text"]).replace("\n", "\n  "))
        for aid in doc.get("asset_ids") or []:
            asset = ctx.table("assets").get(aid)
            if asset is None:
                continue
            lines += ["", f"[b]{escape(_('Asset'))} {escape(asset['tag'])}[/b] {escape(asset.get('model') or '')}"]
            lines += [f"  {line}" for line in history_lines(ctx, aid)]
        self.query_one("#it-ticket-text", Static).update("\n".join(lines))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_assign(self) -> None:
        self.app.push_screen(assign_form(self.ctx, self.doc))

    def action_status(self, status: str) -> None:
        if status in ("resolved", "closed") and self.doc is not None:
            self.app.push_screen(status_form(self.ctx, self.doc, status))
            return
        try:
            svc.set_status(self.ctx, self.ticket_id, status)
            self.notify(_("Ticket #{id} is {status}").format(id=self.ticket_id, status=_(m.STATUS_TITLES[status])))
        except BackdeskError as error:
            _fail(self, error)

    def action_comment(self, internal: bool) -> None:
        canned = dict(self.ctx.settings["canned_replies"])
        fields = [Field("text", _("Internal note") if internal else _("Reply"), kind="multiline"),
                  Field("minutes", _("Minutes spent"), kind="int", default=0)]
        if canned and not internal:
            fields.insert(0, Field("canned", _("Canned reply"), kind="choice",
                                   choices=[("", _("(none)"))] + [(k, k) for k in canned], default=""))
        self.app.push_screen(FormScreen(
            _("Note on #{id}").format(id=self.ticket_id) if internal else _("Reply to #{id}").format(id=self.ticket_id),
            fields, on_submit=lambda v: svc.add_comment(self.ctx, self.ticket_id, v["text"], internal=internal,
                                                        minutes=v.get("minutes") or 0,
                                                        canned=v.get("canned") or None)))

    def action_priority(self) -> None:
        fields = [Field("priority", _("Priority"), kind="choice", choices=_choices(m.PRIORITY_TITLES),
                        default=self.doc["priority"])]
        self.app.push_screen(FormScreen(_("Priority of #{id}").format(id=self.ticket_id), fields,
                                        on_submit=lambda v: svc.set_priority(self.ctx, self.ticket_id, v["priority"])))


def history_lines(ctx, asset_id: int) -> list[str]:
    names: dict = {}
    out = []
    for h in svc.asset_history(ctx, asset_id)[-12:]:
        who = svc.person_name(ctx, h.get("person_id"), names) if h.get("person_id") else (h.get("location") or "")
        qty = f" ×{h['quantity']}" if h.get("quantity") else ""
        action = m.label(m.ASSET_ACTION_TITLES, h["action"])
        out.append(escape(f"{format_datetime(h['at'])} {action}{qty} {who} ({h['by']})".replace("  ", " ")))
    return out or [escape(_("no history"))]


# =====================================================================================
# Assets
# =====================================================================================
class AssetsScreen(BackdeskScreen):
    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"it.assets"})
    BINDINGS = [
        Binding("n", "new", _("New"), id="it.asset_new"),
        Binding("o", "check_out", _("Check out"), id="it.asset_check_out"),
        Binding("i", "check_in", _("Check in"), id="it.asset_check_in"),
        Binding("w", "view('warranty')", _("Warranty"), id="it.asset_warranty"),
        Binding("l", "view('low')", _("Low stock"), id="it.asset_low", show=False),
        Binding("v", "view('all')", _("All"), id="it.asset_all", show=False),
        Binding("m", "import_file", _("Import"), id="it.asset_import", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.view_name = "all"

    def compose_content(self) -> ComposeResult:
        yield Static("", id="it-asset-bar", classes="it-bar")
        yield RecordTable([
            # Beside the menu at 80x24: tag, holder and model (narrowed) and
            # the status in words; the warranty, then the type, move to the
            # detail line.
            Column("tag", _("Tag"), width=8),
            Column("holder", _("Holder")),
            Column("model", _("Model")),
            Column("status_text", _("Status"), width=12),
            Column("type_text", _("Type"), width=10, priority=-1),
            Column("warranty_end", _("Warranty"), width=_day_width(), format=_short_date, priority=-2),
        ], [], id="it-assets", empty_text=_("No assets"))

    def on_mount(self) -> None:
        super().on_mount()
        self._load()
        self.query_one(RecordTable).focus()

    def refresh_data(self, names) -> None:
        self._load()

    def _load(self) -> None:
        ctx = self.ctx
        if self.view_name == "warranty":
            rows = svc.warranty_expiring(ctx)
            days = int(ctx.settings["warranty_warn_days"])
            title = _.ngettext("Warranty ends within {n} day", "Warranty ends within {n} days", days).format(n=days)
        elif self.view_name == "low":
            rows = svc.low_stock(ctx)
            title = _("Below minimum stock")
        else:
            rows = ctx.table("assets").find(order_by=["tag"])
            title = _("All assets")
        hint = _("v all · w warranty · l low stock · m import")
        self.query_one("#it-asset-bar", Static).update(f"[b]{escape(title)}[/b] ({len(rows)})  [dim]{escape(hint)}[/]")
        self.query_one(RecordTable).set_records(svc.asset_rows(ctx, rows))

    def action_view(self, name: str) -> None:
        self.view_name = name
        self._load()

    def _current(self):
        rec = self.query_one(RecordTable).cursor_record
        if rec is None:
            self.notify(_("No asset selected"), severity="warning")
        return rec

    def action_new(self) -> None:
        fields = [
            Field("tag", _("Tag"), required=True),
            Field("type", _("Type"), kind="choice", choices=_choices(m.ASSET_TYPE_TITLES), default="computer"),
            Field("model", _("Model")),
            Field("serial", _("Serial")),
            Field("status", _("Status"), kind="choice", choices=_choices(m.ASSET_STATUS_TITLES), default="spare"),
            Field("purchase_date", _("Purchased"), kind="date"),
            Field("warranty_end", _("Warranty end"), kind="date"),
            Field("next_audit", _("Next audit"), kind="date"),
            Field("seats", _("Seats (licence)"), kind="int"),
            Field("quantity", _("Quantity (stock)"), kind="int"),
            Field("min_quantity", _("Minimum quantity"), kind="int"),
            _person_field(self.ctx, "person", _("Checked out to"), help=_("optional")),
        ]
        self.app.push_screen(FormScreen(_("New asset"), fields, on_submit=lambda v: svc.add_asset(self.ctx, v)))

    def action_check_out(self) -> None:
        rec = self._current()
        if rec:
            fields = [_person_field(self.ctx, "person", _("To person")),
                      Field("location", _("Or location")),
                      Field("quantity", _("Quantity"), kind="int", default=1)]
            self.app.push_screen(FormScreen(
                _("Check out {tag}").format(tag=rec["tag"]), fields,
                on_submit=lambda v: svc.check_out(self.ctx, rec["tag"], person=v["person"] or None,
                                                  location=v["location"], quantity=v.get("quantity") or 1)))

    def action_check_in(self) -> None:
        rec = self._current()
        if not rec:
            return
        if rec["type"] == "licence" or rec["type"] in m.STOCK_TYPES:
            fields = [_person_field(self.ctx, "person", _("Seat of (licence)")),
                      Field("quantity", _("Quantity"), kind="int", default=1)]
            self.app.push_screen(FormScreen(
                _("Check in {tag}").format(tag=rec["tag"]), fields,
                on_submit=lambda v: svc.check_in(self.ctx, rec["tag"], person=v["person"] or None,
                                                 quantity=v.get("quantity") or 1)))
            return
        try:
            svc.check_in(self.ctx, rec["tag"])
            self.notify(_("{tag} checked in").format(tag=rec["tag"]))
        except BackdeskError as error:
            _fail(self, error)

    def action_import_file(self) -> None:
        def run(values):
            path = Path(values["path"]).expanduser()
            if not path.is_file():
                raise svc.ValidationError(_("no such file"), field="path")
            if path.suffix.lower() == ".xml":
                what, doc = svc.import_fusion(self.ctx, path.read_bytes())
                self.notify(_("Inventory: {tag} {what}").format(tag=doc["tag"],
                                                                 what=m.label(m.IMPORT_RESULT_TITLES, what)))
            else:
                with open(path, encoding="utf-8-sig", newline="") as fh:
                    result = svc.import_csv(self.ctx, fh)
                self.notify(_("{a} added, {u} updated").format(a=len(result["created"]), u=len(result["updated"])))
            return True

        self.app.push_screen(FormScreen(_("Import assets (CSV or FusionInventory XML)"),
                                        [Field("path", _("File"), required=True)], on_submit=run,
                                        submit_label=_("Import")))

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        self.app.push_screen(AssetScreen(self.ctx, event.record["id"]))


class AssetScreen(BackdeskScreen):
    """One asset: its fields, check-out history and tickets."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"it.assets", "it.asset_history", "it.tickets"})
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="it.asset_back"),
        Binding("t", "ticket", _("New ticket"), id="it.asset_ticket"),
    ]

    def __init__(self, ctx, asset_id: int) -> None:
        super().__init__()
        self.ctx = ctx
        self.asset_id = asset_id

    def compose_content(self) -> ComposeResult:
        with VerticalScroll(id="it-asset"):
            yield DetailView(id="it-asset-fields")
            yield Static("", id="it-asset-text", classes="it-section")

    def on_mount(self) -> None:
        super().on_mount()
        self._load()
        self.query_one("#it-asset").focus()

    def refresh_data(self, names) -> None:
        self._load()

    def _load(self) -> None:
        ctx = self.ctx
        doc = svc.find_asset(ctx, self.asset_id)
        self.doc = doc
        row = svc.asset_rows(ctx, [doc])[0]
        pairs = [(_("Type"), row["type_text"]), (_("Model"), doc.get("model") or None),
                 (_("Serial"), doc.get("serial") or None), (_("Name"), doc.get("name") or None),
                 (_("Status"), row["status_text"]), (_("Holder"), row["holder"] or None),
                 (_("Purchased"), _date_text(doc.get("purchase_date")) or None),
                 (_("Warranty end"), _date_text(doc.get("warranty_end")) or None),
                 (_("Next audit"), _date_text(doc.get("next_audit")) or None)]
        if doc.get("os"):
            pairs += [(_("OS"), doc["os"]), (_("CPU"), doc.get("cpu") or None),
                      (_("Memory"), f"{doc.get('memory_mb') or 0} MB")]
        if doc["type"] == "licence":
            pairs.append((_("Seats held by"), ", ".join(svc.person_name(ctx, p) for p in doc.get("assignees") or []) or "-"))
        self.query_one(DetailView).update(pairs, title=doc["tag"])
        lines = [f"[b]{escape(_('History'))}[/b]"] + history_lines(ctx, doc["id"])
        lines += ["", f"[b]{escape(_('Tickets'))}[/b]"]
        tickets = svc.tickets_of_asset(ctx, doc["id"]) if ctx.can(svc.P_READ) else []
        for t in tickets[:20]:
            lines.append(escape(f"#{t['id']} {_(m.STATUS_TITLES[t['status']])}: {t['title']}"))
        if not tickets:
            lines.append(escape(_("no tickets")))
        self.query_one("#it-asset-text", Static).update("\n".join(lines))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_ticket(self) -> None:
        self.app.push_screen(ticket_form(self.ctx, asset_tag=self.doc["tag"]))


# =====================================================================================
# Maintenance and changes
# =====================================================================================
class MaintenanceScreen(BackdeskScreen):
    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"it.tasks", "it.changes"})
    BINDINGS = [
        Binding("d", "done", _("Done"), id="it.task_done"),
        Binding("n", "new_task", _("New task"), id="it.task_new"),
        Binding("c", "propose", _("Propose change"), id="it.change_new"),
        Binding("y", "decide(True)", _("Approve"), id="it.change_approve", show=False),
        Binding("j", "decide(False)", _("Reject"), id="it.change_reject", show=False),
        Binding("f", "finish", _("Outcome"), id="it.change_outcome", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def compose_content(self) -> ComposeResult:
        yield Static(escape(_("Maintenance (d done · n new)")), classes="it-bar")
        # at 80x24 the task (22 cells at least), when it is due and how
        # often; when it was last done moves to the detail line
        yield RecordTable([Column("id", "#", width=4, align="right"), Column("title", _("Task"), width=22),
                           Column("next_due_text", _("Due"), width=2 + _day_width()),
                           Column("interval_days", _("Every"), width=6, align="right"),
                           Column("last_done", _("Last done"), width=_day_width(), format=_short_date, priority=-1)],
                          [], id="it-tasks",
                          empty_text=_("No maintenance tasks"))
        yield Static(escape(_("Changes (c propose · y approve · j reject · f outcome)")), classes="it-bar")
        yield RecordTable([Column("id", "#", width=4, align="right"), Column("title", _("Change")),
                           Column("risk_text", _("Risk"), width=7), Column("status_text", _("Status"), width=13),
                           Column("planned_date", _("Planned"), width=_day_width(), format=_short_date)],
                          [], id="it-changes",
                          empty_text=_("No change requests"))

    def on_mount(self) -> None:
        super().on_mount()
        self._load()
        self.query_one("#it-tasks").focus()

    def refresh_data(self, names) -> None:
        self._load()

    def _load(self) -> None:
        rows = [{**t, "next_due_text": ("! " if t["overdue"] else "") + format_date(t["next_due"], "short")}
                for t in svc.tasks(self.ctx)]
        self.query_one("#it-tasks", RecordTable).set_records(rows)
        self.query_one("#it-changes", RecordTable).set_records(svc.change_rows(self.ctx, svc.changes(self.ctx)))

    def _pick(self, table_id: str):
        rec = self.query_one(table_id, RecordTable).cursor_record
        if rec is None:
            self.notify(_("Nothing selected"), severity="warning")
        return rec

    def action_done(self) -> None:
        rec = self._pick("#it-tasks")
        if rec:
            self.app.push_screen(FormScreen(_("{title}: done").format(title=rec["title"]),
                                            [Field("note", _("Note"))],
                                            on_submit=lambda v: svc.task_done(self.ctx, rec["id"], v["note"])))

    def action_new_task(self) -> None:
        fields = [Field("title", _("Task"), required=True), Field("interval_days", _("Every (days)"), kind="int", required=True),
                  Field("next_due", _("Next due"), kind="date", required=True),
                  Field("asset", _("Asset"), kind="pick", source=lambda text: svc.asset_choices(self.ctx, text))]
        self.app.push_screen(FormScreen(_("New maintenance task"), fields, on_submit=lambda v: svc.add_task(
            self.ctx, v["title"], v["interval_days"], v["next_due"], asset=v["asset"] or None)))

    def action_propose(self) -> None:
        fields = [Field("title", _("Change"), required=True), Field("proposal", _("Proposal"), kind="multiline"),
                  Field("reason", _("Reason")), Field("risk", _("Risk"), kind="choice",
                                                      choices=_choices(m.RISK_TITLES), default="low"),
                  Field("planned_date", _("Planned"), kind="date")]
        self.app.push_screen(FormScreen(_("Propose a change"), fields,
                                        on_submit=lambda v: svc.propose_change(self.ctx, **v)))

    def action_decide(self, approve: bool) -> None:
        rec = self._pick("#it-changes")
        if rec:
            title = _("Approve change #{id}: {title}") if approve else _("Reject change #{id}: {title}")
            self.app.push_screen(FormScreen(title.format(id=rec["id"], title=rec["title"]), [Field("note", _("Note"))],
                                            on_submit=lambda v: svc.decide_change(self.ctx, rec["id"], approve,
                                                                                  v["note"]),
                                            submit_label=_("Approve") if approve else _("Reject")))

    def action_finish(self) -> None:
        rec = self._pick("#it-changes")
        if rec:
            fields = [Field("outcome", _("Outcome"), required=True),
                      Field("success", _("Succeeded"), kind="bool", default=True)]
            self.app.push_screen(FormScreen(_("Outcome of change #{id}").format(id=rec["id"]), fields,
                                            on_submit=lambda v: svc.finish_change(self.ctx, rec["id"], v["outcome"],
                                                                                  v["success"])))


# =====================================================================================
# Service checks
# =====================================================================================
class ChecksScreen(BackdeskScreen):
    """The live status board; probes run in a thread worker on an interval."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"it.checks"})
    BINDINGS = [
        Binding("r", "run_now", _("Run now"), id="it.checks_run"),
        Binding("n", "new", _("Add check"), id="it.checks_add"),
        Binding("x", "remove", _("Remove"), id="it.checks_remove", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def compose_content(self) -> ComposeResult:
        yield Static("", id="it-checks-bar", classes="it-bar")
        # at 80x24 state, check, result (narrowed) and since; the target
        # moves to the detail line
        yield RecordTable([Column("state_text", _("State"), width=9), Column("name", _("Check"), width=12),
                           Column("message", _("Result")), Column("since_text", _("Since"), width=9),
                           Column("target", _("Target"), priority=-1)], [], id="it-checks", empty_text=_("No checks yet (n adds one)"))

    def on_mount(self) -> None:
        super().on_mount()
        self._load()
        self.query_one(RecordTable).focus()
        self.set_interval(max(5, int(self.ctx.settings["check_interval"])), self._tick, name="it-checks")
        self._tick()

    def refresh_data(self, names) -> None:
        self._load()

    def _load(self) -> None:
        rows = []
        for c in svc.check_rows(self.ctx, svc.list_checks(self.ctx)):
            rows.append({**c, "since_text": svc._short_moment(c["since"]) if c.get("since") else ""})
        failing = sum(1 for r in rows if r.get("state") == "failing")
        self.query_one("#it-checks-bar", Static).update(escape(
            _.ngettext("{n} check, {f} failing · every {s}s", "{n} checks, {f} failing · every {s}s", len(rows)).format(
                n=len(rows), f=failing, s=self.ctx.settings["check_interval"])))
        self.query_one(RecordTable).set_records(rows)

    def _tick(self, only_due: bool = True) -> None:
        self._run(only_due)

    @work(thread=True, exclusive=True, group="it-checks", exit_on_error=False)
    def _run(self, only_due: bool) -> None:
        # never touches widgets: the store's change notification refreshes the board
        svc.run_checks(self.ctx, only_due=only_due)

    def action_run_now(self) -> None:
        self._run(False)
        self.notify(_("Running the checks…"))

    def action_new(self) -> None:
        fields = [Field("name", _("Name"), required=True),
                  Field("kind", _("Kind"), kind="choice", choices=_choices(m.CHECK_KIND_TITLES), default="tcp"),
                  Field("target", _("Target"), required=True,
                        help=_("tcp host:port · http URL · dns name · disk /path")),
                  Field("expect", _("Expect"), help=_("http: status (200) · disk: free (10% or 2G)"))]
        self.app.push_screen(FormScreen(_("Add a check"), fields, on_submit=lambda v: svc.add_check(
            self.ctx, v["name"], v["kind"], v["target"], v["expect"] or None)))

    def action_remove(self) -> None:
        rec = self.query_one(RecordTable).cursor_record
        if not rec:
            return

        def answer(yes) -> None:
            if yes:
                try:
                    svc.remove_check(self.ctx, rec["id"])
                except BackdeskError as error:
                    _fail(self, error)

        self.app.push_screen(ConfirmDialog(_("Remove the check {name}?").format(name=rec["name"]), danger=True,
                                           yes_label=_("Remove")), answer)


# =====================================================================================
# Wiring: navigation, palette and cards are in plugins/it/__init__.py (the shell
# starts without this module); re-exported here for callers of the old names.
# =====================================================================================
from plugins.it import cards, commands, nav_entries  # noqa: E402,F401


def search_hits(ctx, query: str) -> list[SearchHit]:
    hits = []
    for kind, title, detail, rid in svc.search(ctx, query):
        if kind == "ticket":
            def open_ticket(app, rid=rid):
                app.open_nav("it.tickets")
                app.push_screen(TicketScreen(ctx, rid))

            hits.append(SearchHit(title, detail, target="it.tickets", open=open_ticket))
        else:
            def open_asset(app, rid=rid):
                app.open_nav("it.assets")
                app.push_screen(AssetScreen(ctx, rid))

            hits.append(SearchHit(title, detail, target="it.assets", open=open_asset))
    return hits


__all__ = ["HelpdeskScreen", "TicketScreen", "AssetsScreen", "AssetScreen", "MaintenanceScreen",
           "ChecksScreen"]
