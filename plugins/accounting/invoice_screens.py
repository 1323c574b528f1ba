"""The Invoices screen (invoices and credit notes, the customers beside
them) and the VAT return screen.

Everything goes through ``invoicing``; refused input comes back as a
BackdeskError shown at the form's field or as a notification.
"""

from __future__ import annotations

from decimal import Decimal

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Static, TextArea

from core.errors import BackdeskError
from core.i18n import date_text, today
from core.shell.widgets import Column, ConfirmDialog, ExportForm, Field, FormScreen, RecordTable
from core.shell.widgets.export_form import shown_path
from plugins.accounting import invoice_pdf, invoice_send
from plugins.accounting import invoicing as inv
from plugins.accounting import models as m
from plugins.accounting import printouts
from plugins.accounting import receivables as rcv
from plugins.accounting import vat
from plugins.accounting import vatreturn as vr
from plugins.accounting.models import _
from plugins.accounting.screens import _Base, _day, _day_width, _label_width, _money, _money_col
from plugins.accounting.send_screens import send_form


def customer_form(ctx, customer: dict | None = None) -> FormScreen:
    """Add a customer, or change ``customer``."""
    fields = [Field("name", _("Name"), required=True), Field("street", _("Street")),
              Field("postcode", _("Postcode")), Field("city", _("City")),
              Field("country", _("Country"), default="DE", help=_("Two letters")),
              Field("vat_id", _("VAT ID"), help=_("With the country code, like DE136695976")),
              Field("email", _("Email")), Field("fax", _("Fax")),
              Field("xrechnung", _("XRechnung"), kind="choice", default="",
                    choices=[("", _("no, PDF only")), ("cii", "CII"), ("ubl", "UBL")],
                    help=_("XML beside the PDF, for public buyers")),
              Field("terms_days", _("Terms (days)"), kind="int", default=14),
              Field("buyer_reference", _("Buyer reference"), help=_("Their order reference or Leitweg-ID"))]
    if customer is None:
        return FormScreen(_("New customer"), fields, on_submit=lambda v: inv.add_customer(ctx, v),
                          submit_label=_("Add"))
    values = {f.key: customer.get(f.key) for f in fields}
    return FormScreen(_("Customer {name}").format(name=customer["name"]), fields, values,
                      on_submit=lambda v: inv.update_customer(ctx, customer["id"], v))


def invoice_form(ctx) -> FormScreen:
    """A new invoice; "Issue now" numbers and posts it at once."""
    codes = ", ".join(vat.CODES)
    fields = [Field("customer", _("Customer"), kind="pick", required=True,
                    source=lambda text: inv.customer_choices(ctx, text)),
              Field("date", _("Date"), kind="date", required=True, default=today()),
              Field("delivery_date", _("Delivered"), kind="date", required=True,
                    help=_("When the goods were delivered or the service done")),
              Field("delivery_end", _("Until"), kind="date", help=_("Last day, for a period")),
              Field("lines", _("Lines"), kind="multiline", required=True,
                    help=_("One per line: description; quantity; unit price[; VAT code[; unit]] — codes: {codes}").format(
                        codes=codes)),
              Field("note", _("Note")),
              Field("issue", _("Issue now"), kind="bool", default=False)]

    def submit(values):
        return inv.create_invoice(ctx, values["customer"], inv.parse_lines(values["lines"] or ""),
                                  date=values["date"], delivery_date=values.get("delivery_date"),
                                  delivery_end=values.get("delivery_end"), note=values.get("note") or "",
                                  issue=bool(values.get("issue")))

    return InvoiceFormScreen(ctx, _("New invoice"), fields, on_submit=submit, submit_label=_("Save"))


def _date(value) -> str:
    """A stored date in the invoice's pane: "02.03.2026", "02/03/2026", "3/2/2026"."""
    return date_text(value) if value else ""


class InvoiceFormScreen(FormScreen):
    """The invoice form with what its lines come to under it: each line's
    net and VAT code, the VAT per code and the total, as they are typed."""

    def __init__(self, ctx, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ctx = ctx

    def on_mount(self) -> None:
        super().on_mount()
        lines = self.form.control("lines")
        lines.parent.mount(Static("", id="acc-invoice-preview", classes="record-form--help", markup=False))
        self._preview()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._preview()

    def _preview(self) -> None:
        text = self.form.control("lines").text
        self.query_one("#acc-invoice-preview", Static).update(
            inv.lines_preview(self.ctx, text) if text.strip() else
            _("VAT codes: {codes}").format(codes=", ".join(f"{c} {_(v.title)}" for c, v in vat.CODES.items())))


def credit_form(ctx, invoice: dict) -> FormScreen:
    fields = [Field("reason", _("Reason"), required=True),
              Field("date", _("Date"), kind="date", required=True, default=today()),
              Field("lines", _("Lines"), kind="multiline",
                    help=_("Empty: all that is left of the invoice; else description; quantity; unit price[; VAT code]"))]

    def submit(values):
        lines = inv.parse_lines(values["lines"]) if (values.get("lines") or "").strip() else None
        return inv.credit_note(ctx, invoice["id"], lines, reason=values["reason"], date=values["date"])

    return FormScreen(_("Credit note for {number}").format(number=invoice["number"]), fields, on_submit=submit,
                      submit_label=_("Issue"))


class InvoicesScreen(_Base):
    """Invoices and credit notes: write, issue, correct; u switches to the customers."""

    WATCH_TABLES = frozenset({"accounting.invoices", "accounting.customers"})
    BINDINGS = [
        Binding("n", "new", _("New invoice"), id="accounting.invoice_new"),
        Binding("i", "issue", _("Issue"), id="accounting.invoice_issue"),
        Binding("k", "credit", _("Credit note"), id="accounting.invoice_credit"),
        Binding("p", "payment", _("Payment received"), id="accounting.invoice_payment"),
        Binding("m", "send", _("Send"), id="accounting.invoice_send"),
        Binding("u", "toggle", _("Customers"), id="accounting.customers_toggle"),
        Binding("N", "new_customer", _("New customer"), id="accounting.customer_new", show=False),
        Binding("e", "edit_customer", _("Edit customer"), id="accounting.customer_edit", show=False),
        Binding("o", "open_only", _("Open only"), id="accounting.invoices_open", show=False),
        Binding("D", "dunning", _("Dunning"), id="accounting.invoices_dunning", show=False),
        Binding("r", "reminder", _("Reminder PDF"), id="accounting.invoice_reminder", show=False),
        Binding("P", "print", _("Print"), id="accounting.invoice_print"),
        Binding("R", "print_reminder", _("Print reminder"), id="accounting.invoice_print_reminder", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.open_only = False

    def compose_content(self) -> ComposeResult:
        yield Static("", id="acc-invoices-bar", classes="acc-bar")
        # Beside the menu at 80 columns the kind, then the total, then the
        # date give way (on the detail line): number, customer, state and
        # the amount still open are what the office follows up.
        yield RecordTable([Column("number_text", _("Number"), width=10), Column("customer", _("Customer"), width=12),
                           Column("status_text", _("Status"), width=_label_width(inv.INVOICE_STATUSES)),
                           _money_col("total", _("Total"), 11, m.places(self.ctx), priority=-2),
                           Column("date", _("Date"), width=_day_width(), format=_day, priority=-1),
                           _money_col("open", _("Open"), 11, m.places(self.ctx)),
                           Column("kind_text", _("Kind"), width=10, priority=-3)], [], classes="acc-table", id="acc-invoices",
                          empty_text=_("No invoices: n writes one"))
        yield RecordTable([Column("id", "#", width=4, align="right"), Column("name", _("Customer"), width=22),
                           Column("city", _("City"), width=14), Column("vat_id", _("VAT ID"), width=14)], [],
                          id="acc-customers", classes="acc-hidden", empty_text=_("No customers: N adds one"))
        yield Static("", id="acc-invoice", classes="acc-detail", markup=False)

    def _table(self) -> RecordTable:
        return self.query_one("#acc-invoices", RecordTable)

    def _load(self) -> None:
        status = ["draft", "open", "partly_paid"] if self.open_only else None
        self._table().set_records(inv.invoice_rows(self.ctx, inv.invoices(self.ctx, status=status)))
        self.query_one("#acc-customers", RecordTable).set_records(inv.customers(self.ctx))
        self.query_one("#acc-invoices-bar", Static).update(
            (_("Open invoices") if self.open_only else _("All invoices")) + "  ·  " +
            escape(_("o open/all · u customers · N new · e edit · D dunning · r reminder PDF · R print it")))
        self._show(self._table().cursor_record)

    def _show(self, rec) -> None:
        detail = self.query_one("#acc-invoice", Static)
        if not rec:
            detail.update("")
            return
        places = m.places(self.ctx)
        # dates as the site's people write them (02.03.2026), as the forms show them
        lines = [f"{rec['number_text']} · {rec['customer']} · " +
                 _("Delivery: {date}").format(date=_date(rec["delivery_date"])) +
                 (f" – {_date(rec['delivery_end'])}" if rec.get("delivery_end") else "")]
        for row in rec["breakdown"]:
            lines.append(_("{code}: net {net}, VAT {rate} % {tax}").format(
                code=_(vat.CODES[row["vat_code"]].title), net=m.number_text(row["net"], places), rate=row["rate"],
                tax=m.number_text(row["tax"], places)))
        lines.append(_("Net {net} · VAT {tax} · Total {total} {cur}").format(
            net=m.number_text(rec["net"], places), tax=m.number_text(rec["tax"], places),
            total=m.number_text(rec["total"], places), cur=rec["currency"]))
        if rec["kind"] == "credit_note":
            lines.append(_("Corrects invoice {number} of {date}").format(number=rec.get("corrects_number"),
                                                                         date=_date(rec.get("corrects_date"))))
        elif rec["status"] != "draft":
            lines.append(_("Due: {date}").format(date=_date(rec["due"])) + " · " + _("open {amount}").format(
                amount=_money(rec["open"], rec["currency"])) +
                (" · " + _("reminder {level}").format(level=rec["dunning_level"]) if rec.get("dunning_level") else ""))
        lines.extend(invoice_send.sent_lines(self.ctx, rec)[-2:])
        detail.update("\n".join(lines))

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        if event.table.id == "acc-invoices":
            self._show(event.record)

    def action_toggle(self) -> None:
        invoices, customers = self._table(), self.query_one("#acc-customers", RecordTable)
        showing = "acc-hidden" in customers.classes
        customers.set_class(not showing, "acc-hidden")
        invoices.set_class(showing, "acc-hidden")
        (customers if showing else invoices).focus()

    def action_open_only(self) -> None:
        self.open_only = not self.open_only
        self._load()

    def action_new(self) -> None:
        self.app.push_screen(invoice_form(self.ctx))

    def action_new_customer(self) -> None:
        self.app.push_screen(customer_form(self.ctx))

    def action_edit_customer(self) -> None:
        table = self.query_one("#acc-customers", RecordTable)
        rec = table.cursor_record if "acc-hidden" not in table.classes else None
        if rec is None:
            current = self._table().cursor_record
            rec = self.ctx.table("customers").get(current["customer_id"]) if current else None
        if rec is None:
            self.notify(_("No {what} selected").format(what=_("customer")), severity="warning")
            return
        self.app.push_screen(customer_form(self.ctx, rec))

    def action_issue(self) -> None:
        rec = self._current(_("invoice"))
        if not rec:
            return
        if rec["status"] != "draft":
            self.notify(_("invoice {number} is issued already").format(number=rec["number"]), severity="warning")
            return

        def answer(yes):
            if yes:
                doc = self._safe(inv.issue_invoice, self.ctx, rec["id"])
                if doc:
                    self.notify(_("Issued invoice {number}").format(number=doc["number"]))

        self.app.push_screen(ConfirmDialog(_("Issue the draft for {customer} ({total})? It gets the next number "
                                             "and is posted.").format(customer=rec["customer"],
                                                                       total=_money(rec["total"], rec["currency"]))),
                             answer)

    def action_credit(self) -> None:
        rec = self._current(_("invoice"))
        if not rec:
            return
        if rec["kind"] != "invoice" or rec["status"] == "draft":
            self.notify(_("{what} is not an issued invoice").format(what=rec["number_text"]), severity="warning")
            return
        self.app.push_screen(credit_form(self.ctx, rec))

    def action_payment(self) -> None:
        rec = self._current(_("invoice"))
        if rec:
            self.app.push_screen(payment_form(self.ctx, rec))

    def action_send(self) -> None:
        """Send the selected invoice or one of its reminders (email or fax)."""
        rec = self._current(_("invoice"))
        if not rec:
            return
        if rec["status"] == "draft":
            self.notify(_("draft {id} is not issued: issue it before sending it").format(id=rec["id"]),
                        severity="warning")
            return

        def done(result):
            if result:
                self.notify(invoice_send.sent_lines(self.ctx, result)[-1])

        self.app.push_screen(send_form(self.ctx, rec), done)

    def action_dunning(self) -> None:
        """Raise what is overdue today by one dunning level, after a confirmation."""
        due = self._safe(rcv.dunning_due, self.ctx)
        if due is None:
            return
        if not due:
            self.notify(_("Nothing to remind today"))
            return
        places = m.places(self.ctx)
        fees = sum((x["fee"] + x["interest"] for x in due), Decimal(0))

        def answer(yes):
            if yes:
                sent = self._safe(rcv.run_dunning, self.ctx)
                if sent:
                    self.notify(_.ngettext("{count} reminder sent: r saves the letter of the selected invoice as PDF",
                                           "{count} reminders sent: r saves the letter of the selected invoice "
                                           "as PDF", len(sent)).format(count=len(sent)))

        self.app.push_screen(ConfirmDialog(_.ngettext(
            "Remind {count} overdue invoice ({numbers}), fees and interest {fees}?",
            "Remind {count} overdue invoices ({numbers}), fees and interest {fees}?", len(due)).format(
                                                 count=len(due), numbers=", ".join(
                                                 x["number"] for x in due[:4]) + (" …" if len(due) > 4 else ""),
                                                 fees=m.number_text(fees, places))), answer)

    def action_print(self) -> None:
        """P: the selected invoice or credit note on paper (its Factur-X PDF)."""
        rec = self._current(_("invoice"))
        if not rec:
            return
        if not rec["number"]:
            self.notify(_("draft {id} is not issued yet: issue it first, then print it").format(id=rec["id"]),
                        severity="warning")
            return
        self._print(_("Print {what} {number}").format(what=rec["kind_text"], number=rec["number"]),
                    lambda options: printouts.print_invoice(self.ctx, rec["id"], **options))

    def action_print_reminder(self) -> None:
        """R: the last reminder letter of the selected invoice on paper."""
        rec = self._current(_("invoice"))
        if not rec:
            return
        item = self._safe(rcv.reminder, self.ctx, rec["id"])
        if item is not None:
            self._print(_("Print reminder {level} of {number}").format(level=item["level"], number=item["number"]),
                        lambda options: printouts.print_reminder(self.ctx, rec["id"], item["level"], **options))

    def action_reminder(self) -> None:
        """Save the last reminder of the selected invoice as a PDF letter."""
        rec = self._current(_("invoice"))
        if not rec:
            return
        item = self._safe(rcv.reminder, self.ctx, rec["id"])
        if item is None:
            return

        def done(path):
            if path:
                self.notify(_("Saved to {path}").format(path=shown_path(path)), timeout=8)

        self.app.push_screen(ExportForm(
            _("Save reminder {level} of {number}").format(level=item["level"], number=item["number"]),
            self.ctx.exports_dir(), f"{item['number']}-reminder{item['level']}.pdf",
            lambda: invoice_pdf.reminder_pdf(self.ctx, item)), done)


def payment_form(ctx, invoice: dict) -> FormScreen:
    fields = [Field("amount", _("Amount"), kind="decimal", required=True),
              Field("date", _("Date"), kind="date", required=True, default=today())]
    return FormScreen(_("Payment received for {number}").format(number=invoice["number"]), fields,
                      {"amount": invoice["open"]},
                      on_submit=lambda v: rcv.record_payment(ctx, invoice["id"], v["amount"], v["date"]),
                      submit_label=_("Record"))


class VatReturnScreen(_Base):
    """The VAT return (UStVA Kennzahlen) of a month or a quarter, from the ledger."""

    WATCH_TABLES = frozenset({"accounting.entries", "accounting.bills"})
    BINDINGS = [
        Binding("f", "period", _("Period"), id="accounting.vat_period"),
        Binding("e", "export", _("Save CSV"), id="accounting.vat_export"),
        Binding("p", "print", _("Print"), id="accounting.vat_print"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.period = vr.quarter_of(today())

    def compose_content(self) -> ComposeResult:
        with Horizontal(classes="acc-bar"):
            yield Label(_("Period "))
            yield Input(self.period, id="acc-vat-period")
        with VerticalScroll(id="acc-report-scroll"):
            yield Static("", id="acc-vat", markup=False)

    def _table(self):  # what _Base focuses on mount
        return self.query_one("#acc-report-scroll")

    def _load(self) -> None:
        result = self._safe(vr.vat_return, self.ctx, self.period)
        if result is not None:
            self.result = result
            self.query_one("#acc-vat", Static).update(vr.vat_return_text(self.ctx, result))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.period = vr.period_range(event.value)[0]
        except BackdeskError as error:
            self.notify(str(error), severity="error", timeout=6)
            return
        self._load()
        self.query_one("#acc-report-scroll").focus()

    def action_period(self) -> None:
        self.query_one("#acc-vat-period", Input).focus()

    def action_export(self) -> None:
        result = self.result

        def done(path):
            if path:
                self.notify(_("Saved to {path}").format(path=shown_path(path)), timeout=8)

        self.app.push_screen(ExportForm(_("Save the VAT return {period}").format(period=self.period),
                                        self.ctx.exports_dir(), f"vat-return-{self.period}.csv",
                                        lambda: vr.vat_return_csv(result)), done)

    def action_print(self) -> None:
        """p: the return of the period shown on paper."""
        period = self.period
        self._print(_("Print the VAT return {period}").format(period=period),
                    lambda options: printouts.print_vat_return(self.ctx, period, **options))
