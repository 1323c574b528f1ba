"""The Customers and Open items screens: who the office invoices, and what
they owe — each open invoice with its days past due and dunning level, the
ageing buckets above (current, 1–30, 31–60, 61–90, over 90 days). Keys act
on the selected row: record a payment, remind (raise its dunning level),
send the invoice or its last reminder.

Everything goes through ``invoicing``/``receivables``/``invoice_send``,
which check the operator's permissions.
"""

from __future__ import annotations

from decimal import Decimal

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from core.i18n import N_, today
from core.shell.widgets import Column, ConfirmDialog, RecordTable
from plugins.accounting import invoice_send
from plugins.accounting import invoicing as inv
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import receivables as rcv
from plugins.accounting import service as svc
from plugins.accounting.invoice_screens import customer_form, payment_form
from plugins.accounting.models import _
from plugins.accounting.screens import _Base, _day, _day_width, _money, _money_col
from plugins.accounting.send_screens import send_form

#: the ageing buckets as the bar names them
BUCKETS = {"current": N_("not due"), "1-30": N_("1–30 days"), "31-60": N_("31–60"), "61-90": N_("61–90"),
           "over 90": N_("over 90")}


class CustomersScreen(_Base):
    """Customers: add, change; what each owes and how they get invoices."""

    WATCH_TABLES = frozenset({"accounting.customers", "accounting.invoices"})
    BINDINGS = [
        Binding("n", "new", _("New customer"), id="accounting.customers_new"),
        Binding("e", "edit", _("Edit"), id="accounting.customers_edit"),
    ]

    def compose_content(self) -> ComposeResult:
        # Beside the menu at 80 columns the name (sized by itself) is
        # narrowed first, then the VAT ID gives way (on the detail line).
        yield RecordTable([Column("number", "#", width=4, align="right"), Column("name", _("Customer")),
                           Column("city", _("City"), width=12), _money_col("open", _("Open"), 11, m.places(self.ctx)),
                           Column("invoices", _("Inv."), width=4, align="right"),
                           Column("vat_id", _("VAT ID"), width=14, priority=-1)], [], classes="acc-table",
                          id="acc-customer-list",
                          empty_text=_("No customers: n adds one"))
        yield Static("", id="acc-customer", classes="acc-detail", markup=False)

    def _load(self) -> None:
        rows = inv.customers(self.ctx)
        owed: dict[int, Decimal] = {}
        counts: dict[int, int] = {}
        for doc in inv.invoices(self.ctx, kind="invoice"):
            if doc["status"] == "draft":
                continue
            counts[doc["customer_id"]] = counts.get(doc["customer_id"], 0) + 1
            owed[doc["customer_id"]] = owed.get(doc["customer_id"], Decimal(0)) + inv.open_amount(doc)
        self._table().set_records([{**c, "open": owed.get(c["id"], Decimal(0)), "invoices": counts.get(c["id"], 0)}
                                   for c in rows])
        self._show(self._table().cursor_record)

    def _show(self, c) -> None:
        detail = self.query_one("#acc-customer", Static)
        if not c:
            detail.update("")
            return
        lines = [" · ".join([c["name"]] + inv.address_lines(c))]
        ids = [x for x in (c.get("vat_id") and _("VAT ID {id}").format(id=c["vat_id"]),
                           c.get("buyer_reference") and _("Buyer reference {ref}").format(ref=c["buyer_reference"]))
               if x]
        if ids:
            lines.append(" · ".join(ids))
        send = [x for x in (c.get("email"), c.get("fax") and _("fax {number}").format(number=c["fax"])) if x]
        lines.append(_("Invoices go to: {where}").format(where=", ".join(send) or _("nobody yet (no email, no fax)"))
                     + (" · " + _("with XRechnung ({syntax})").format(syntax=c["xrechnung"].upper())
                        if c.get("xrechnung") else ""))
        lines.append(_("Terms {days} days · open {amount}").format(
            days=c["terms_days"], amount=_money(c["open"], svc.currency(self.ctx))))
        detail.update("\n".join(lines))

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        self._show(event.record)

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        self.action_edit()  # Enter opens the customer

    def action_new(self) -> None:
        self.app.push_screen(customer_form(self.ctx))

    def action_edit(self) -> None:
        rec = self._current(_("customer"))
        if rec:
            self.app.push_screen(customer_form(self.ctx, self.ctx.table("customers").get(rec["id"])))


class OpenItemsScreen(_Base):
    """What customers owe today: the ageing above, each open invoice below."""

    WATCH_TABLES = frozenset({"accounting.invoices", "accounting.receipts"})
    BINDINGS = [
        Binding("p", "payment", _("Payment received"), id="accounting.open_payment"),
        Binding("r", "remind", _("Remind"), id="accounting.open_remind"),
        Binding("m", "send", _("Send"), id="accounting.open_send"),
    ]

    def compose_content(self) -> ComposeResult:
        yield Static("", id="acc-ageing", classes="acc-bar", markup=False)
        yield RecordTable([Column("number", _("Invoice"), width=9), Column("customer", _("Customer"), width=13),
                           Column("due", _("Due"), width=_day_width(), format=_day),
                           Column("days_overdue", _("Days"), width=4, align="right"),
                           # the reminder level gives way first beside the menu (on the detail line)
                           Column("level", _("Rem."), width=4, align="right", priority=-1),
                           _money_col("open", _("Open"), 11, m.places(self.ctx))], [], classes="acc-table",
                          id="acc-open-items", empty_text=_("Nothing is open"))
        yield Static("", id="acc-open-item", classes="acc-detail", markup=False)

    def _load(self) -> None:
        items = rcv.open_items(self.ctx)
        self._table().set_records(items)
        places = m.places(self.ctx)
        parts = []
        for bucket, amounts in rcv.ageing(self.ctx).items():
            total = sum(amounts.values(), Decimal(0))
            parts.append(f"{_(BUCKETS.get(bucket, bucket))} {m.number_text(total, places)}")
        self.query_one("#acc-ageing", Static).update(
            _("Open on {date}").format(date=_day(today().isoformat())) + ": " + " · ".join(parts))
        self._show(self._table().cursor_record)

    def _show(self, item) -> None:
        detail = self.query_one("#acc-open-item", Static)
        if not item:
            detail.update("")
            return
        places = m.places(self.ctx)
        lines = [_("{number} of {date} to {customer}: total {total}, paid {paid}, credited {credited}").format(
            number=item["number"], date=_day(item["date"]), customer=item["customer"],
            total=m.number_text(item["total"], places), paid=m.number_text(item["paid"], places),
            credited=m.number_text(item["credited"], places))]
        if item.get("dunning"):
            step = item["dunning"][-1]
            lines.append(_("Reminder {level} on {date}, fees and interest so far {fees}").format(
                level=step["level"], date=_day(step["date"]), fees=m.number_text(L.to_decimal(item.get("fees") or 0),
                                                                                  places)))
        lines.extend(invoice_send.sent_lines(self.ctx, item)[-2:])
        detail.update("\n".join(lines))

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        self._show(event.record)

    def action_payment(self) -> None:
        item = self._current(_("invoice"))
        if item:
            self.app.push_screen(payment_form(self.ctx, item))

    def action_send(self) -> None:
        item = self._current(_("invoice"))
        if item:
            def done(result):
                if result:
                    self.notify(invoice_send.sent_lines(self.ctx, result)[-1])

            self.app.push_screen(send_form(self.ctx, item), done)

    def action_remind(self) -> None:
        """Raise the selected invoice's dunning level, when it is due, after
        a confirmation naming the fee and interest."""
        item = self._current(_("invoice"))
        if not item:
            return
        due = [x for x in self._safe(rcv.dunning_due, self.ctx) or [] if x["id"] == item["id"]]
        if not due:
            self.notify(_("No reminder is due for {number} today").format(number=item["number"]))
            return
        step = due[0]

        def answer(yes):
            if yes and self._safe(rcv.run_dunning, self.ctx, invoice_id=item["id"]):
                self.notify(_("Reminder {level} for {number}: m sends it").format(level=step["next_level"],
                                                                                 number=item["number"]))

        self.app.push_screen(ConfirmDialog(_("Remind {customer} of {number} (reminder {level}, fee {fee}, "
                                             "interest {interest})?").format(
            customer=escape(item["customer"]), number=item["number"], level=step["next_level"],
            fee=m.number_text(step["fee"], m.places(self.ctx)),
            interest=m.number_text(step["interest"], m.places(self.ctx)))), answer)
