"""Accounting's screens: the journal, vendors and bills, the payment run,
purchase orders, timesheets and payroll with payslips, and the reports.

Screens call ``service``/``payroll``/``reports`` for everything; refused
input comes back as a BackdeskError and is shown at the field (forms) or
as a notification.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from babel.dates import format_skeleton
from rich.markup import escape
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Static

from core.errors import BackdeskError, ValidationError
from core.api.hookspecs import SearchHit
from core.i18n import date_text, day_text, day_width, format_date, get_locale, parse_date, today
from core.shell.screens.base import BackdeskScreen
from core.shell.screens.printing import print_dialog
from core.shell.widgets import Column, ConfirmDialog, ExportForm, Field, FormScreen, RecordTable, table_pages
from core.shell.widgets.export_form import shown_path
from plugins.accounting import bill_documents, datev
from plugins.accounting import datev_partners
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import payroll as pay
from plugins.accounting import payslip_print
from plugins.accounting import printouts
from plugins.accounting import reports as rep
from plugins.accounting import sepa
from plugins.accounting import service as svc
from plugins.accounting import vatreturn as vr
from plugins.accounting.models import _

CSS_PATH = Path(__file__).parent / "accounting.tcss"


#: a stored ISO date in a table, the locale's short date (17.10.26, 17/10/2026), and the
#: cells it takes: a date column as wide as its dates (the CLI's tables write the same)
_day, _day_width = day_text, day_width


def _label_width(titles: dict) -> int:
    """Cells the longest of ``titles``' labels takes in the site's language
    ("Teilgeliefert" 13, "partly received" 15): a state column as wide as
    its words, neither cut nor wider than it needs beside the menu."""
    return max(len(m.label(titles, code)) for code in titles)


def _month_field() -> Field:
    """A month, typed the locale's way ("11.2026") or as 2026-11."""
    return Field("period", _("Month"), required=True, validate=lambda v: m.month(v) and None,
                 help=_("e.g. {example}").format(example=m.month_text(today().isoformat())))


def _fail(screen, error: BackdeskError) -> None:
    screen.notify(str(error), severity="error", timeout=6)


_money = m.money_text


def _money_col(key, title, width=13, places=2, currency=None, priority=0):
    """An amount column: right-aligned, with its currency in the site's
    locale ("1.535,41 €"), as every amount on the screens reads
    (``models.money_text``); ``currency`` defaults to the site's;
    ``priority`` as in ``Column``."""
    return Column(key, title, width=width, align="right", format=lambda v: m.money_text(v, currency),
                  priority=priority)


class _Base(BackdeskScreen):
    CSS_PATH = CSS_PATH

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def _table(self) -> RecordTable:
        return self.query_one(".acc-table", RecordTable)

    def _current(self, what: str) -> dict | None:
        rec = self._table().cursor_record
        if rec is None:
            self.notify(_("No {what} selected").format(what=what), severity="warning")
        return rec

    def _safe(self, fn, *args, done: str | None = None, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except BackdeskError as error:
            _fail(self, error)
            return None
        if done:
            self.notify(done)
        return result

    def on_mount(self) -> None:
        super().on_mount()
        self._load()
        self._table().focus()

    def _print(self, title: str, send) -> None:
        """Open the print dialog (core.shell.screens.printing); ``send(options)``
        prints through the plugin's service and returns the job."""
        def submit(values):
            job = send({"printer": values["printer"], "copies": values["copies"],
                        "duplex": bool(values.get("duplex")), "pages": values.get("pages"),
                        "tray": values.get("tray") or None})
            self.notify(_("Print job {id} sent to {printer}").format(id=job["id"], printer=job["printer"]))
            return job

        try:
            dialog = print_dialog(self.ctx.services.printing, title, submit)
        except BackdeskError as error:
            _fail(self, error)
            return
        self.app.push_screen(dialog)

    def refresh_data(self, names) -> None:
        self._load()

    def _load(self) -> None:  # pragma: no cover - overridden
        pass


# ============================================================================ journal
def _account_field(ctx, key: str, label: str) -> Field:
    """An account of the chart, found by typing part of its name."""
    return Field(key, label, kind="pick", source=lambda text: svc.account_choices(ctx, text))


def _vendor_field(ctx) -> Field:
    return Field("vendor", _("Vendor"), kind="pick", required=True, source=lambda text: svc.vendor_choices(ctx, text))


def entry_form(ctx) -> FormScreen:
    fields = [Field("date", _("Date"), kind="date", required=True, default=today()),
              Field("description", _("Description"), required=True),
              _account_field(ctx, "debit", _("Debit account")),
              _account_field(ctx, "credit", _("Credit account")),
              Field("amount", _("Amount"), kind="decimal"),
              Field("postings", _("More postings"), kind="multiline",
                    help=_("Split entries, one per line: account amount (debit +, credit −)"))]

    def submit(values):
        rows = []
        simple = [values.get(k) for k in ("debit", "credit", "amount")]
        if any(v not in (None, "") for v in simple):
            for key, value in zip(("debit", "credit", "amount"), simple):
                if value in (None, ""):
                    raise ValidationError(_("Required"), field=key)
            rows += [{"account": values["debit"], "amount": str(values["amount"])},
                     {"account": values["credit"], "amount": str(-values["amount"])}]
        for i, line in enumerate((values.get("postings") or "").splitlines(), start=1):
            if not line.strip():
                continue
            acc, _sep, amount = line.strip().rpartition(" ")
            if not acc.strip():
                raise ValidationError(_("line {n}: write account and amount").format(n=i), field="postings")
            rows.append({"account": acc.strip(), "amount": amount})
        if not rows:
            raise ValidationError(_("Required"), field="debit")
        return svc.post_entry(ctx, values["date"], values["description"], rows)

    return FormScreen(_("New journal entry"), fields, on_submit=submit, submit_label=_("Post"))


class LedgerScreen(_Base):
    """The journal: every posted entry, newest first; corrections by reversal."""

    WATCH_TABLES = frozenset({"accounting.entries", "accounting.periods"})
    BINDINGS = [
        Binding("n", "new", _("New entry"), id="accounting.entry_new"),
        Binding("v", "reverse", _("Reverse"), id="accounting.entry_reverse"),
        Binding("c", "close_period", _("Close period"), id="accounting.period_close"),
    ]

    def compose_content(self) -> ComposeResult:
        yield Static("", id="acc-journal-bar", classes="acc-bar")
        # "#" as wide as the newest entry's number: the five fit 80 columns
        yield RecordTable([Column("number", "#", align="right"),
                           Column("date", _("Date"), width=_day_width(), format=_day),
                           # sized by what it says: narrowed first at 80 columns
                           Column("description", _("Description")),
                           Column("amount_text", _("Amount"), width=13, align="right"),
                           Column("state", _("State"), width=9)], [], classes="acc-table", id="acc-journal",
                          empty_text=_("No entries yet: n posts one"))
        yield Static("", id="acc-entry", classes="acc-detail")

    def _load(self) -> None:
        # Newest first, a page at a time: a year's journal is never read for
        # the rows on screen; the filter (/) asks the store for the date or
        # description containing what is typed (the date first: a month
        # typed, "-03-", is decided by it; TinyDB reads both ahead on "/").
        rows = table_pages(svc.ledger_entries(self.ctx), search=("date", "description"),
                           prepare=lambda entries: svc.page_rows(self.ctx, entries))
        self._table().set_records(rows)
        closed = svc.closed_periods(self.ctx)
        self.query_one("#acc-journal-bar", Static).update(
            _("{n} entries · closed: {closed}").format(n=len(rows), closed=", ".join(closed[-3:]) or "-"))
        self._show(self._table().cursor_record)

    def _show(self, rec) -> None:
        lines = [f"{escape(p['account']):<34} {m.money_text(p['amount'], p['currency']):>15}"
                 for p in rec["postings"]] if rec else []
        # the screen is laid out again only when the detail's height changes
        # (another entry's two postings: the same two lines, repainted)
        detail = self.query_one("#acc-entry", Static)
        detail.update("\n".join(lines), layout=len(lines) != getattr(self, "_shown_lines", None))
        self._shown_lines = len(lines)

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        self._show(event.record)

    def action_new(self) -> None:
        self.app.push_screen(entry_form(self.ctx))

    def action_reverse(self) -> None:
        rec = self._current(_("entry"))
        if not rec:
            return

        def answer(yes):
            if yes:
                e = self._safe(svc.reverse_entry, self.ctx, rec["number"])
                if e:
                    self.notify(_("Posted reversal {n}").format(n=e["number"]))

        self.app.push_screen(ConfirmDialog(_("Reverse entry {n} ({d})?").format(n=rec["number"], d=rec["description"]),
                                           danger=True), answer)

    def action_close_period(self) -> None:
        last = (today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
        self.app.push_screen(FormScreen(_("Close a period"), [_month_field()],
                                        {"period": m.month_text(last)},
                                        on_submit=lambda v: svc.close_period(self.ctx, m.month(v["period"])),
                                        submit_label=_("Close"),
                                        confirm=lambda v: _("Close {period}? Nothing can be posted in it afterwards.")
                                        .format(period=m.month_text(m.month(v["period"])))))


# ============================================================================ vendors and bills
def vendor_form(ctx) -> FormScreen:
    fields = [Field("name", _("Name"), required=True), Field("iban", _("IBAN")), Field("bic", _("BIC")),
              Field("email", _("Email")), Field("terms_days", _("Terms (days)"), kind="int", default=30),
              Field("address", _("Address"), help=_("Street, postcode and city, as on their letterhead"))]
    return FormScreen(_("New vendor"), fields, on_submit=lambda v: svc.add_vendor(ctx, v), submit_label=_("Add"))


def _line_account(ctx, typed: str, line: int) -> str:
    """The chart's account a bill line names by part of it ("office" →
    "expenses:office supplies"), as the journal's account picker finds it:
    the exact name, else the one account that matches; several or none are
    said on one line naming the form's line."""
    found = svc.account_choices(ctx, typed)
    exact = [c.value for c in found if c.value.casefold() == typed.casefold()]
    if exact:
        return exact[0]
    if len(found) == 1:
        return found[0].value
    if not found:
        raise ValidationError(_("line {n}: no account like {typed!r} in the chart").format(n=line, typed=typed),
                              field="lines")
    names = ", ".join(c.value for c in found[:3])
    raise ValidationError(_("line {n}: {typed!r} matches {names}; write more of it").format(
        n=line, typed=typed, names=names + (" …" if len(found) > 3 else "")), field="lines")


def bill_form(ctx) -> FormScreen:
    fields = [_vendor_field(ctx),
              Field("number", _("Bill number"), required=True),
              Field("date", _("Date"), kind="date", required=True, default=today()),
              Field("due", _("Due"), kind="date", help=_("Empty: the vendor's terms")),
              Field("lines", _("Lines"), kind="multiline", required=True,
                    help=_("One per line: description; quantity; unit price[; account[; VAT code]]")),
              Field("tax_rate", _("Tax rate"), kind="decimal", default=Decimal(str(ctx.settings.get("tax_rate", "0.19")))),
              Field("order", _("Purchase order"), help=_("PO number to match, if any"))]

    def submit(values):
        v = svc.vendor(ctx, values["vendor"])
        lines = []
        for i, raw in enumerate(values["lines"].splitlines(), start=1):
            if not raw.strip():
                continue
            parts = [p.strip() for p in raw.split(";")]
            if len(parts) < 3:
                raise ValidationError(_("line {n}: write description; quantity; unit price").format(n=i), field="lines")
            lines.append({"description": parts[0], "quantity": parts[1], "unit_price": parts[2],
                          "account": _line_account(ctx, parts[3], i) if len(parts) > 3 and parts[3] else None,
                          "tax_rate": values.get("tax_rate"),
                          "vat_code": parts[4] if len(parts) > 4 and parts[4] else None})
        order_id = None
        if values.get("order"):
            hit = [o for o in svc.orders(ctx) if o["number"].casefold() == values["order"].strip().casefold()]
            if not hit:
                raise ValidationError(_("no purchase order {po}").format(po=values["order"]), field="order")
            order_id = hit[0]["id"]
        return svc.create_bill(ctx, v["id"], values["number"], values["date"], values.get("due"), lines,
                               order_id=order_id)

    return FormScreen(_("New bill"), fields, on_submit=submit, submit_label=_("Record"))


class BillsScreen(_Base):
    """Vendors and bills: record, approve, pay; v switches to the vendors."""

    WATCH_TABLES = frozenset({"accounting.bills", "accounting.vendors"})
    BINDINGS = [
        Binding("n", "new", _("New bill"), id="accounting.bill_new"),
        Binding("a", "approve", _("Approve"), id="accounting.bill_approve"),
        Binding("p", "pay", _("Pay"), id="accounting.bill_pay"),
        Binding("v", "toggle", _("Vendors"), id="accounting.vendors_toggle"),
        Binding("N", "new_vendor", _("New vendor"), id="accounting.vendor_new", show=False),
        Binding("o", "open_only", _("Open only"), id="accounting.bills_open", show=False),
        Binding("d", "document", _("Document"), id="accounting.bill_document", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.open_only = True

    def compose_content(self) -> ComposeResult:
        yield Static("", id="acc-bills-bar", classes="acc-bar")
        # the five fit the 60 cells beside the menu at 80 columns; the
        # detail line names the vendor whole, "! " before the status marks a
        # bill that does not match its order (the bill's view says why)
        yield RecordTable([Column("vendor", _("Vendor"), width=9), Column("number", _("Bill"), width=8),
                           Column("due", _("Due"), width=_day_width(), format=_day),
                           Column("status_text", _("Status"), width=11),
                           _money_col("open", _("Open"), 11, m.places(self.ctx))],
                          [], classes="acc-table",
                          id="acc-bills",
                          empty_text=_("No bills: n records one"))
        yield RecordTable([Column("id", "#", width=4, align="right"), Column("name", _("Vendor"), width=22),
                           Column("iban", _("IBAN"), width=24), Column("terms_days", _("Days"), width=4)], [],
                          id="acc-vendors", classes="acc-hidden", empty_text=_("No vendors: N adds one"))
        yield Static("", id="acc-bill", classes="acc-detail")

    def _table(self) -> RecordTable:
        return self.query_one("#acc-bills", RecordTable)

    def _load(self) -> None:
        status = ["draft", "approved", "partly_paid", "in_payment"] if self.open_only else None
        self._table().set_records([{**r, "status_text": ("! " if r["flag"] else "") + r["status_text"]}
                                   for r in svc.bill_rows(self.ctx, svc.bills(self.ctx, status=status))])
        self.query_one("#acc-vendors", RecordTable).set_records(svc.vendors(self.ctx))
        self.query_one("#acc-bills-bar", Static).update(
            (_("Open bills") if self.open_only else _("All bills")) + "  ·  " +
            _("o open/all · v vendors · N new vendor"))
        self._show(self._table().cursor_record)

    def _show(self, b) -> None:
        if not b:
            self.query_one("#acc-bill", Static).update("")
            return
        lines = [_("{vendor} {number}: {total} (net {net}, tax {tax}), paid {paid}").format(
            vendor=escape(b["vendor"]), number=escape(b["number"]), total=_money(b["total"], b["currency"]),
            net=_money(b["net"], b["currency"]), tax=_money(b["tax"], b["currency"]),
            paid=_money(b["paid"], b["currency"]))]
        for line in b["lines"][:3]:
            lines.append(f"  {escape(line['description'][:30])}  {m.number_text(line['quantity'], 0, keep_digits=True)}"
                         f" × {m.number_text(line['unit_price'], m.places(self.ctx), keep_digits=True)}")
        for flag in b.get("match_flags") or []:
            lines.append(f"[b]! {escape(flag)}[/]")
        document = bill_documents.document_line(self.ctx, b)
        if document:
            lines.append(escape(document))
        self.query_one("#acc-bill", Static).update("\n".join(lines))

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        if event.table.id == "acc-bills":
            self._show(event.record)

    def action_document(self) -> None:
        """Open the document the selected bill was read from."""
        bill = self._current(_("bill"))
        if bill:
            problem = bill_documents.open_document(self.app, self.ctx, bill)
            if problem:
                self.notify(problem, severity="warning")

    def action_toggle(self) -> None:
        bills, vendors = self._table(), self.query_one("#acc-vendors", RecordTable)
        showing = "acc-hidden" in vendors.classes
        vendors.set_class(not showing, "acc-hidden")
        bills.set_class(showing, "acc-hidden")
        (vendors if showing else bills).focus()

    def action_open_only(self) -> None:
        self.open_only = not self.open_only
        self._load()

    def action_new(self) -> None:
        self.app.push_screen(bill_form(self.ctx))

    def action_new_vendor(self) -> None:
        self.app.push_screen(vendor_form(self.ctx))

    def action_approve(self) -> None:
        b = self._current(_("bill"))
        if not b:
            return

        def answer(yes):
            if yes and self._safe(svc.approve_bill, self.ctx, b["id"]):
                self.notify(_("Bill {n} approved and posted").format(n=b["number"]))

        self.app.push_screen(ConfirmDialog(_("Approve bill {n} of {vendor} and post {total}?").format(
            n=b["number"], vendor=b["vendor"], total=_money(b["total"], b["currency"])), danger=True,
            yes_label=_("Approve")), answer)

    def action_pay(self) -> None:
        b = self._current(_("bill"))
        if not b:
            return
        fields = [Field("amount", _("Amount"), kind="decimal", required=True),
                  Field("date", _("Date"), kind="date", required=True, default=today())]
        self.app.push_screen(FormScreen(_("Pay bill {n}").format(n=b["number"]), fields, {"amount": b["open"]},
                                        on_submit=lambda v: svc.pay_bill(self.ctx, b["id"], v["amount"], v["date"]),
                                        submit_label=_("Pay")))


# ============================================================================ payment run
class PaymentRunScreen(_Base):
    """Every approved bill due by a date, paid in one go, with the bank file."""

    WATCH_TABLES = frozenset({"accounting.bills", "accounting.payment_runs"})
    BINDINGS = [
        Binding("d", "due_by", _("Due by"), id="accounting.run_due_by"),
        Binding("r", "run", _("Run payments"), id="accounting.run_payments"),
        Binding("e", "export", _("Bank file"), id="accounting.run_export"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.due_by = (today() + dt.timedelta(days=7)).isoformat()

    def compose_content(self) -> ComposeResult:
        with Horizontal(classes="acc-bar"):
            yield Label(_("Due by "))
            yield Input(date_text(self.due_by), id="acc-due-by", placeholder=date_text(self.due_by))
            yield Label(self._due_by_line(date_text(self.due_by)), id="acc-due-by-long", markup=False)
        # the five fit the 59 cells beside the menu at 80 columns
        yield RecordTable([Column("vendor", _("Vendor"), width=16), Column("number", _("Bill"), width=8),
                           Column("due", _("Due"), width=_day_width(), format=_day),
                           _money_col("open", _("Amount"), 14, m.places(self.ctx), svc.currency(self.ctx))],
                          [], classes="acc-table", id="acc-run",
                          empty_text=_("Nothing approved is due by this date"))
        yield Static("", id="acc-run-sum", classes="acc-detail")

    def _load(self) -> None:
        rows = self._safe(sepa.payment_run_preview, self.ctx, self.due_by) or []
        self._table().set_records(rows)
        totals: dict = {}
        for r in rows:
            totals[r["currency"]] = totals.get(r["currency"], Decimal(0)) + r["open"]
        last = sepa.payment_runs(self.ctx)
        text = _.ngettext("{n} bill, total {total}", "{n} bills, total {total}", len(rows)).format(
            n=len(rows), total=", ".join(_money(v, c) for c, v in totals.items()) or _money(0, svc.currency(self.ctx)))
        if last:
            k = len(last[0]["items"])
            text += "\n" + _.ngettext("Last run {n} on {date}: {k} payment", "Last run {n} on {date}: {k} payments",
                                      k).format(n=last[0]["number"], date=_day(last[0]["date"]), k=k)
        self.query_one("#acc-run-sum", Static).update(text)

    @staticmethod
    def _due_by_line(text: str) -> str:
        """Beside the field: the day as read, written out, or why it is none."""
        try:  # "Do., 24. Dez. 2026": fits beside the field at 80 columns
            return " = " + format_skeleton("yMMMEd", parse_date(text), locale=get_locale())
        except BackdeskError as error:
            return " " + error.message

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "acc-due-by":
            self.query_one("#acc-due-by-long", Label).update(self._due_by_line(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.due_by = m.date(parse_date(event.value).isoformat(), "due_by")
        except BackdeskError as error:
            _fail(self, error)
            return
        self._load()
        self._table().focus()

    def action_due_by(self) -> None:
        self.query_one("#acc-due-by", Input).focus()

    def action_run(self) -> None:
        def answer(yes):
            if yes:
                run = self._safe(sepa.payment_run, self.ctx, self.due_by)
                if run:
                    k = len(run["items"])
                    self.notify(_.ngettext("Payment run {n}: {k} payment", "Payment run {n}: {k} payments",
                                           k).format(n=run["number"], k=k))

        rows = self._safe(sepa.payment_run_preview, self.ctx, self.due_by)
        if not rows:
            if rows is not None:
                self.notify(_("Nothing approved is due by this date"), severity="warning")
            return
        n, totals = len(rows), {}
        for r in rows:
            totals[r["currency"]] = totals.get(r["currency"], Decimal(0)) + r["open"]
        self.app.push_screen(ConfirmDialog(_.ngettext("Pay {n} bill due by {date}, {total}?",
                                                      "Pay {n} bills due by {date}, {total}?", n).format(
            n=n, date=_day(self.due_by),
            total=", ".join(_money(v, c) for c, v in totals.items()) or _money(0, svc.currency(self.ctx))),
            danger=True, yes_label=_("Pay")), answer)

    def action_export(self) -> None:
        runs = sepa.payment_runs(self.ctx)
        if not runs:
            self.notify(_("No payment run yet"), severity="warning")
            return
        run = runs[0]

        exports = self.ctx.exports_dir()

        def submit(values):
            target = Path(values["path"]).expanduser()
            try:  # a bare name goes into the operator's exports folder, never the working folder
                return str(sepa.write_pain001(self.ctx, run, target if target.is_absolute() else exports / target))
            except BackdeskError as error:
                raise ValidationError(error.message, field="path") from None

        def done(path):
            if path:
                self.notify(_("Bank file written to {path}").format(path=shown_path(path)),
                            timeout=8)

        self.app.push_screen(FormScreen(_("Bank file of run {n}").format(n=run["number"]),
                                        [Field("path", _("File"), required=True,
                                               help=_("Saved in {folder}").format(folder=shown_path(exports) + "/"))],
                                        {"path": sepa.pain_file_name(run)}, on_submit=submit,
                                        submit_label=_("Write")), done)


# ============================================================================ purchase orders
class OrdersScreen(_Base):
    """Purchase orders: order, receive, match to a bill."""

    WATCH_TABLES = frozenset({"accounting.orders", "accounting.vendors"})
    BINDINGS = [
        Binding("n", "new", _("New order"), id="accounting.order_new"),
        Binding("o", "place", _("Order"), id="accounting.order_place"),
        Binding("r", "receive", _("Receive"), id="accounting.order_receive"),
    ]

    def compose_content(self) -> ComposeResult:
        # Beside the menu at 80 columns the vendor, then the state (each
        # sized by its text) are narrowed, then the date gives way (on the
        # detail line and in the order under the table): number, vendor,
        # state and total stay; room left over goes to the vendor.
        yield RecordTable([Column("number", _("Order"), width=8), Column("vendor", _("Vendor")),
                           Column("status_text", _("Status"), priority=1),
                           _money_col("total", _("Total"), 12, m.places(self.ctx)),
                           Column("date", _("Date"), width=_day_width(), format=_day, priority=-1)], [],
                          classes="acc-table", id="acc-orders", empty_text=_("No purchase orders: n writes one"))
        yield Static("", id="acc-order", classes="acc-detail")

    def _load(self) -> None:
        self._table().set_records(svc.order_rows(self.ctx, svc.orders(self.ctx)))
        self._show(self._table().cursor_record)

    def _show(self, o) -> None:
        if not o:
            self.query_one("#acc-order", Static).update("")
            return
        places = m.places(self.ctx)

        def qty(value):
            return m.number_text(value, 0, keep_digits=True)

        lines = [f"{i}. {escape(x['item'][:18].ljust(18))} {qty(x['quantity']):>6} × "
                 f"{m.number_text(x['price'], places, keep_digits=True):>9}  "
                 + _("received {n}").format(n=qty(x["received"]))
                 for i, x in enumerate(o["lines"], start=1)]
        self.query_one("#acc-order", Static).update("\n".join(lines[:6]))

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        self._show(event.record)

    def action_new(self) -> None:
        fields = [_vendor_field(self.ctx),
                  Field("lines", _("Lines"), kind="multiline", required=True,
                        help=_("One per line: item; quantity; price"))]

        def submit(values):
            v = svc.vendor(self.ctx, values["vendor"])
            lines = []
            for i, raw in enumerate(values["lines"].splitlines(), start=1):
                if raw.strip():
                    parts = [p.strip() for p in raw.split(";")]
                    if len(parts) != 3:
                        raise ValidationError(_("line {n}: write item; quantity; price").format(n=i), field="lines")
                    lines.append({"item": parts[0], "quantity": parts[1], "price": parts[2]})
            return svc.create_order(self.ctx, v["id"], lines)

        self.app.push_screen(FormScreen(_("New purchase order"), fields, on_submit=submit, submit_label=_("Save")))

    def action_place(self) -> None:
        o = self._current(_("order"))
        if o and self._safe(svc.place_order, self.ctx, o["id"]):
            self.notify(_("{n} ordered").format(n=o["number"]))

    def action_receive(self) -> None:
        o = self._current(_("order"))
        if not o:
            return
        default = "\n".join(f"{i}={L.to_decimal(x['quantity']) - L.to_decimal(x['received']):f}"
                            for i, x in enumerate(o["lines"], start=1))

        def submit(values):
            qty = {}
            for raw in values["received"].splitlines():
                if raw.strip():
                    key, sep, q = raw.partition("=")
                    if not sep:
                        raise ValidationError(_("write line=quantity"), field="received")
                    qty[key.strip()] = q.strip()
            return svc.receive(self.ctx, o["id"], qty)

        self.app.push_screen(FormScreen(_("Receive {n}").format(n=o["number"]),
                                        [Field("received", _("Received"), kind="multiline", required=True,
                                               help=_("line=quantity, one per line"))],
                                        {"received": default}, on_submit=submit, submit_label=_("Receive")))


# ============================================================================ payroll
class PayrollScreen(_Base):
    """Timesheets with their checks, rates and payroll runs."""

    WATCH_TABLES = frozenset({"accounting.timesheets", "accounting.rates", "accounting.payroll_runs"})
    BINDINGS = [
        Binding("n", "add_time", _("Hours"), id="accounting.time_add"),
        Binding("c", "check", _("Check"), id="accounting.time_check"),
        Binding("a", "approve", _("Approve"), id="accounting.time_approve"),
        Binding("r", "run", _("Run payroll"), id="accounting.payroll_run"),
        Binding("p", "payslips", _("Payslips"), id="accounting.payslips"),
        Binding("m", "month", _("Month"), id="accounting.payroll_month"),
        Binding("t", "rate", _("Set rate"), id="accounting.rate_set", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        #: the month whose hours are listed (YYYY-MM): the latest with hours
        #: until m picks another; a year's 15,000 days are never read for it
        self.month: str | None = None

    def compose_content(self) -> ComposeResult:
        yield Static("", id="acc-payroll-bar", classes="acc-bar")
        # Beside the menu at 80 columns the time of day gives way (on the
        # detail line): the hours, their state and the flag are what payroll needs.
        yield RecordTable([Column("date", _("Date"), width=_day_width(), format=_day), Column("name", _("Person"), width=16),
                           Column("span", _("Time"), width=11, priority=-1),
                           Column("hours", _("Hours"), width=5, align="right", format=lambda v: m.number_text(v, 2)),
                           Column("status_text", _("Status"), width=_label_width(m.TIMESHEET_STATUSES)),
                           Column("flag", "!", width=1)], [],
                          classes="acc-table", id="acc-time", empty_text=_("No hours recorded: n adds some"))
        yield Static("", id="acc-flags", classes="acc-detail")

    def _load(self) -> None:
        if self.month is None:
            self.month = pay.latest_month(self.ctx) or today().isoformat()[:7]
        first, last = m.period(self.month)
        hours = pay.timesheets(self.ctx, None, first, last)
        names = {pid: self.ctx.person_name(pid, "?") for pid in {r["person_id"] for r in hours}}  # one read a person
        rows = [{**r, "name": names[r["person_id"]],
                 "span": f"{r['start']}–{r['end']}" if r.get("start") else "",
                 "status_text": m.label(m.TIMESHEET_STATUSES, r.get("status")),
                 "flag": "!" if r.get("flags") else ""} for r in hours]
        rows.sort(key=lambda r: (r["date"], r["name"]), reverse=True)
        self._table().set_records(rows)
        waiting = [r for r in self.ctx.table("rates").all() if r["status"] == "awaiting_rate"]
        finals = pay.final_pay_flags(self.ctx)
        self.query_one("#acc-payroll-bar", Static).update(
            _("Hours of {month} (m changes) · {w} awaiting a rate (t) · {f} final pay flagged").format(
                month=m.month_text(self.month), w=len(waiting), f=len(finals)))

    def action_month(self) -> None:
        """m: the hours of another month."""
        def done(month):
            if month:
                self.month = month
                self._load()

        self.app.push_screen(FormScreen(_("Hours of a month"), [_month_field()],
                                        {"period": m.month_text(self.month or today().isoformat())},
                                        on_submit=lambda v: m.month(v["period"]), submit_label=_("Show")), done)

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        rec = event.record
        self.query_one("#acc-flags", Static).update(
            "\n".join(f"! {escape(f)}" for f in (rec or {}).get("flags") or []))

    def _person_field(self, *, everyone: bool = False) -> Field:
        """The people payroll knows, found by part of the name (a payroll
        clerk need not read the directory)."""
        return Field("person", _("Person"), kind="pick", required=True,
                     source=lambda text: pay.person_choices(self.ctx, text, everyone=everyone))

    def _cursor_person(self):
        return pay.person_choice(self.ctx, (self._table().cursor_record or {}).get("person_id"))

    def _person_period(self, title, extra=(), on_submit=None):
        rec = self._table().cursor_record or {}
        month = (rec.get("date") or today().isoformat())[:7]
        fields = [self._person_field(), _month_field(), *extra]
        return FormScreen(title, fields, {"person": self._cursor_person(), "period": m.month_text(month)},
                          on_submit=on_submit)

    def action_add_time(self) -> None:
        fields = [self._person_field(),
                  Field("date", _("Date"), kind="date", required=True, default=today()),
                  Field("start", _("Start (HH:MM)")), Field("end", _("End (HH:MM)")),
                  Field("hours", _("or hours"), help=_("Instead of start and end")), Field("note", _("Note"))]

        def done(row):
            if row and row["date"][:7] != self.month:  # the list shows the month of the hours recorded
                self.month = row["date"][:7]
                self._load()

        self.app.push_screen(FormScreen(_("Record hours"), fields, {"person": self._cursor_person()},
                                        on_submit=lambda v: pay.add_time(self.ctx, v["person"], v["date"], v.get("start"),
                                                                         v.get("end"), v.get("hours"), v.get("note") or ""),
                                        submit_label=_("Record")), done)

    def action_check(self) -> None:
        def submit(values):
            return pay.check_period(self.ctx, values["person"], m.month(values["period"]))

        def done(flags):
            if flags is None:
                return
            text = "\n".join(f"! {escape(f['reason'])}" for f in flags) or _("No problems found")
            self.query_one("#acc-flags", Static).update(text)
            self.notify(_.ngettext("{n} problem found", "{n} problems found", len(flags)).format(n=len(flags)),
                        severity="warning" if flags else "information")

        self.app.push_screen(self._person_period(_("Check hours"), on_submit=submit), done)

    def action_approve(self) -> None:
        def submit(values):
            return pay.approve_timesheets(self.ctx, values["person"], m.month(values["period"]),
                                          accept_flags=bool(values.get("accept")))

        def done(result):
            if result:
                n, k = result["approved"], len(result["flags"])
                self.notify(_.ngettext("{n} day approved", "{n} days approved", n).format(n=n) + ", "
                            + _.ngettext("{k} flag kept", "{k} flags kept", k).format(k=k))

        self.app.push_screen(self._person_period(_("Approve hours"), [Field("accept", _("Accept flags"), kind="bool")],
                                                 on_submit=submit), done)

    def action_rate(self) -> None:
        fields = [self._person_field(everyone=True),
                  Field("kind", _("Kind"), kind="choice",
                        choices=[(k, m.label(m.PAY_KINDS, k)) for k in m.PAY_KINDS], default="salaried"),
                  Field("rate", _("Rate"), kind="decimal", required=True, help=_("Per month or per hour"))]
        self.app.push_screen(FormScreen(_("Set pay rate"), fields,
                                        on_submit=lambda v: pay.set_rate(self.ctx, v["person"], v["kind"], v["rate"]),
                                        submit_label=_("Save")))

    def action_run(self) -> None:
        last = (today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")

        def done(run):
            if run:
                n = len(run["payslips"])
                self.notify(_.ngettext("Payroll {p}: {n} payslip", "Payroll {p}: {n} payslips", n).format(
                    p=m.month_text(run["period"]), n=n))
                for w in run["warnings"][:3]:
                    self.notify(w, severity="warning")

        def question(values):
            p = pay.payroll_preview(self.ctx, m.month(values["period"]))
            text = _.ngettext("Post {n} payslip for {period}, gross {total}?", "Post {n} payslips for {period}, gross {total}?",
                              p["payslips"]).format(n=p["payslips"], period=m.month_text(p["period"]),
                                                    total=", ".join(_money(v, c) for c, v in p["gross"].items()))
            return "\n".join([text, *p["warnings"][:5]])

        self.app.push_screen(FormScreen(_("Run payroll"), [_month_field()],
                                        {"period": m.month_text(last)},
                                        on_submit=lambda v: pay.run_payroll(self.ctx, m.month(v["period"])),
                                        submit_label=_("Run"), confirm=question), done)

    def action_payslips(self) -> None:
        if not self.ctx.can("accounting.payroll.read"):
            _fail(self, ValidationError(_("payslips need the permission accounting.payroll.read")))
            return
        self.app.push_screen(PayslipScreen(self.ctx))


class PayslipScreen(_Base):
    """Payslips (confidential: opening them is recorded in the audit trail)."""

    WATCH_TABLES = frozenset({"accounting.payslips"})
    BINDINGS = [Binding("escape", "back", _("Back"), id="accounting.payslips_back"),
                Binding("p", "print", _("Print"), id="accounting.payslip_print")]

    def compose_content(self) -> ComposeResult:
        yield RecordTable([Column("period", _("Period"), width=7), Column("name", _("Person"), width=18),
                           _money_col("gross_dec", _("Gross"), 12, m.places(self.ctx)),
                           _money_col("net_dec", _("Net"), 12, m.places(self.ctx)),
                           Column("final_text", "", width=5)], [], classes="acc-table", id="acc-payslips",
                          empty_text=_("No payslips yet"))
        yield Static("", id="acc-payslip", classes="acc-detail")

    def _load(self) -> None:
        rows = self._safe(pay.payslips, self.ctx) or []
        self._table().set_records([{**s, "gross_dec": L.to_decimal(s["gross"]), "net_dec": L.to_decimal(s["net"]),
                                    "final_text": _("final") if s.get("final") else ""} for s in rows])

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        s = event.record
        if not s:
            return
        c = s["currency"]
        lines = [_("{kind} at {rate}: base {base}; {ot} h overtime {otp}; {hol} h holiday {holp}").format(
            kind=m.label(m.PAY_KINDS, s["kind"]), rate=_money(s["rate"], c), base=_money(s["base"], c),
            ot=m.number_text(s["overtime_hours"], 2), otp=_money(s["overtime_pay"], c),
            hol=m.number_text(s["holiday_hours"], 2), holp=_money(s["holiday_pay"], c))]
        if pay.is_prorated(s):
            lines.append(pay.salary_days_text(s) + f" {_money(s['base'], c)}")
        lines.append(_("Gross {g}").format(g=_money(s["gross"], c)))
        lines += [f"  − {escape(d['name'])} {_money(d['amount'], c)}" for d in s["deductions"]]
        lines.append(_("Net {n}").format(n=_money(s["net"], c)))
        self.query_one("#acc-payslip", Static).update("\n".join(lines))

    def action_print(self) -> None:
        slip = self._table().cursor_record
        if slip:
            self._print(_("Print payslip {period} {name}").format(period=slip.get("period", ""),
                                                                   name=slip.get("name", "")),
                        lambda options: payslip_print.print_payslip(self.ctx, slip["id"], **options))

    def action_back(self) -> None:
        self.app.pop_screen()


# ============================================================================ reports
REPORT_KEYS = {"1": "trial-balance", "2": "profit-loss", "3": "balance-sheet", "4": "cash", "5": "ageing"}


class ReportsScreen(_Base):
    """Trial balance, P&L, balance sheet, cash by month (bars), payables ageing."""

    WATCH_TABLES = frozenset({"accounting.entries", "accounting.bills"})
    BINDINGS = [
        Binding("1", "show('trial-balance')", _("Trial bal."), id="accounting.report_trial"),
        Binding("2", "show('profit-loss')", _("P&L"), id="accounting.report_pl"),
        Binding("3", "show('balance-sheet')", _("Balance"), id="accounting.report_bs"),
        Binding("4", "show('cash')", _("Cash"), id="accounting.report_cash"),
        Binding("5", "show('ageing')", _("Ageing"), id="accounting.report_ageing"),
        Binding("f", "dates", _("Dates"), id="accounting.report_dates"),
        Binding("e", "export", _("CSV"), id="accounting.report_export", show=False),
        Binding("x", "datev", _("DATEV"), id="accounting.report_datev", show=False),
        Binding("p", "print", _("Print"), id="accounting.report_print"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.kind = "trial-balance"
        self.start: str | None = None
        self.end: str | None = None

    def compose_content(self) -> ComposeResult:
        yield Static("", id="acc-report-bar", classes="acc-bar")
        with VerticalScroll(id="acc-report-scroll"):
            yield Static("", id="acc-report")

    def _table(self):
        return self.query_one("#acc-report-scroll")

    def _load(self) -> None:
        titles = {"trial-balance": _("Trial balance"), "profit-loss": _("P&L"),
                  "balance-sheet": _("Balance sheet"), "cash": _("Cash"), "ageing": _("Ageing")}
        bar = "  ".join((f"[reverse]{k} {t}[/]" if v == self.kind else f"{k} {t}")
                        for k, v, t in ((k, v, titles[v]) for k, v in REPORT_KEYS.items()))
        span = f"{self.start or '…'} – {self.end or '…'}"
        self.query_one("#acc-report-bar", Static).update(bar + "\n" + _("Dates: {span} (f changes)").format(span=span))
        try:
            self.query_one("#acc-report", Static).update(self._render_report())
        except BackdeskError as error:
            self.query_one("#acc-report", Static).update(escape(str(error)))

    def _render_report(self):
        if self.kind == "cash":
            data = rep.cash_by_month(self.ctx, self.start, self.end)
            if not data:
                return _("No bank movements")
            biggest = max(max(i, o) for _m, _c, i, o in data)
            t = Table(box=None, show_header=True, pad_edge=False)
            t.add_column(_("Month"))
            t.add_column(_("In / out"))
            t.add_column(_("Amount"), justify="right")
            for month, cur, inflow, outflow in data:
                t.add_row(month, "[green]" + L.bar(inflow, biggest, 24) + "[/]", "+" + _money(inflow, cur))
                t.add_row("", "[red]" + L.bar(outflow, biggest, 24) + "[/]", "−" + _money(outflow, cur))
            return t
        if self.kind == "ageing":
            buckets = svc.ageing(self.ctx, self.end)
            biggest = max([v for b in buckets.values() for v in b.values()] or [Decimal(0)])
            t = Table(box=None, pad_edge=False)
            t.add_column(_("Days overdue"))
            t.add_column(_("Open"), justify="right")
            t.add_column("")
            for b in L.AGEING_BUCKETS:
                total = sum(buckets[b].values(), Decimal(0))
                t.add_row(m.label(m.AGEING_TITLES, b),
                          ", ".join(_money(v, c) for c, v in buckets[b].items())
                          or _money(0, svc.currency(self.ctx)),
                          L.bar(total, biggest, 20))
            return t
        r = rep.report(self.ctx, self.kind, self.start, self.end)
        t = Table(box=None, pad_edge=False, show_header=False)
        t.add_column(_("Account"), max_width=38, overflow="ellipsis", no_wrap=True)
        t.add_column(_("Amount"), justify="right")
        for section, rows in r.sections:
            t.add_row(f"[b]{escape(m.label(m.REPORT_SECTION_TITLES, section))}[/]", "")
            for acc, cur, v in rows:
                t.add_row("  " + escape(acc), _money(v, cur))
            for cur, total in r.totals.get(section, {}).items():
                t.add_row(f"  [b]{escape(m.label(m.REPORT_SECTION_TITLES, 'total'))}[/]",
                          f"[b]{_money(total, cur)}[/]")
        for cur, v in r.net.items():
            t.add_row(f"[b]{escape(m.label(m.REPORT_SECTION_TITLES, 'net'))}[/]",
                      f"[b]{_money(v, cur)}[/]")
        return t

    def on_mount(self) -> None:
        BackdeskScreen.on_mount(self)
        self._load()
        self.query_one("#acc-report-scroll").focus()

    def action_show(self, kind: str) -> None:
        self.kind = kind
        self._load()

    def action_dates(self) -> None:
        fields = [Field("start", _("From"), kind="date"), Field("end", _("To"), kind="date")]

        def submit(values):
            s, e = values.get("start"), values.get("end")
            if s and e and s > e:
                raise ValidationError(_("From is after To"), field="start")
            return (s.isoformat() if s else None, e.isoformat() if e else None)

        def done(result):
            if result:
                self.start, self.end = result
                self._load()

        self.app.push_screen(FormScreen(_("Report dates"), fields, {"start": self.start, "end": self.end},
                                        on_submit=submit, submit_label=_("Show")), done)

    def action_export(self) -> None:
        if self.kind in ("cash", "ageing"):
            text_fn = (lambda: rep.ageing_csv(self.ctx, self.end)) if self.kind == "ageing" else \
                (lambda: "month,currency,in,out\n" + "".join(f"{m_},{c},{i:f},{o:f}\n" for m_, c, i, o in
                                                            rep.cash_by_month(self.ctx, self.start, self.end)))
        else:
            text_fn = lambda: rep.report_csv(rep.report(self.ctx, self.kind, self.start, self.end))  # noqa: E731

        self.app.push_screen(ExportForm(_("Save report as CSV"), self.ctx.exports_dir(), f"{self.kind}.csv",
                                        text_fn, submit_label=_("Write")),
                             lambda p: p and self.notify(_("Written to {path}").format(
                                 path=shown_path(p)), timeout=8))

    def action_print(self) -> None:
        """p: the report shown on paper (the cash bars are not printed)."""
        if self.kind == "cash":
            self.notify(_("The cash report is not printed: e saves it as CSV"), severity="warning")
            return
        self._print(_("Print: {title}").format(title=printouts.report_title(self.kind, self.start, self.end)),
                    lambda options: printouts.print_report(self.ctx, self.kind, self.start, self.end, **options))

    def action_datev(self) -> None:
        """x: the DATEV Buchungsstapel of a period for the tax adviser, and
        with it the Debitoren/Kreditoren (master data) unless unticked."""
        def submit(values):
            target = Path(values["path"]).expanduser() if values.get("path") else None
            if target is not None and not target.is_absolute():  # a bare name: the exports folder, never the cwd
                target = self.ctx.exports_dir() / target
            if values.get("partners"):
                datev_partners.partners(self.ctx)  # refused (permission, numbers) before anything is written
            path, n = datev.export(self.ctx, values["period"], target)
            text = _.ngettext("DATEV: {n} booking written to {path}", "DATEV: {n} bookings written to {path}",
                              n).format(n=n, path=path)
            if values.get("partners"):
                folder = Path(path).parent
                path, n = datev_partners.export(self.ctx, folder / datev_partners.FILE_NAME)
                text += "; " + _.ngettext("{n} account to {path}", "{n} accounts to {path}", n).format(
                    n=n, path=path.name)
            return text

        self.app.push_screen(FormScreen(_("DATEV export for the tax adviser"),
                                        [Field("period", _("Period"), required=True,
                                               help=_("A month (2026-11), a quarter (2026-Q4) or a year")),
                                         Field("path", _("File"), help=_("Empty: the exports folder")),
                                         Field("partners", _("Debitoren/Kreditoren too"), kind="bool",
                                               default=True,
                                               help=_("The customers' and vendors' master data, beside it"))],
                                        {"period": vr.quarter_of(today())}, on_submit=submit,
                                        submit_label=_("Export")),
                             lambda text: text and self.notify(text, timeout=8))


# ============================================================================ wiring
# Navigation, palette and cards are in plugins/accounting/__init__.py (the shell
# starts without this module); re-exported here for callers of the old names.
from plugins.accounting import cards, commands, nav_entries  # noqa: E402,F401


def search_hits(ctx, query: str) -> list[SearchHit]:
    if not ctx.can("accounting.bills.read"):
        return []
    q = query.casefold().strip()
    if not q:
        return []
    hits = [SearchHit(v["name"], _("Vendor") + (f" · {v['iban']}" if v.get("iban") else ""), target="accounting.bills")
            for v in ctx.table("vendors").all() if q in v["name"].casefold()][:10]
    names = {v["id"]: v["name"] for v in ctx.table("vendors").all()}
    for b in ctx.table("bills").all():
        if q in b["number"].casefold():
            hits.append(SearchHit(_("Bill {n}").format(n=b["number"]),
                                  f"{names.get(b['vendor_id'], '?')} · "
                                  f"{m.money_text(b['total'], b['currency'])} · "
                                  f"{m.label(m.BILL_STATUSES, b['status'])}",
                                  target="accounting.bills", score=0.9))
    return hits[:20]
