"""Accounting: the ledger, vendors and bills, purchasing, payroll and reports,
checked against hledger.

Hook implementations only; the work is done in ``service`` (ledger, bills,
purchasing), ``payroll``, ``reports``, ``screens`` (Textual) and ``cli``.
"""

from __future__ import annotations

from decimal import Decimal

from core.api.hookspecs import PluginInfo, Setting, TableSpec, hookimpl, lazy, lazy_screen

VERSION = "1.0.0"


def _check_fraction_map(value):
    from plugins.accounting.ledger import LedgerError, to_decimal

    for name, rate in value.items():
        try:
            d = to_decimal(str(rate))
        except LedgerError:
            raise ValueError(f"{name}: {rate!r} is not a fraction like \"0.20\"") from None
        if not 0 <= d < 1:
            raise ValueError(f"{name}: a deduction is a fraction of the gross between 0 and 1")
    return value


def _check_accounts(value):
    from plugins.accounting.ledger import LedgerError, check_account_name
    from plugins.accounting.service import DEFAULT_ACCOUNTS
    from plugins.accounting.vat import ACCOUNTS

    roles = {**DEFAULT_ACCOUNTS, **ACCOUNTS}
    for key, name in value.items():
        if key not in roles:
            raise ValueError(f"unknown account role {key!r} (known: {', '.join(roles)})")
        try:
            check_account_name(name)
        except LedgerError as error:
            raise ValueError(f"{key}: {error}") from None
    return value


def _check_company(value):
    from plugins.accounting.setting_rules import check_company

    return check_company(value)


def _check_bank_accounts(value):
    from plugins.accounting.sepa import check_bank_accounts

    return check_bank_accounts(value)


def _check_bank_rules(value):
    from plugins.accounting.bank import check_rules

    return check_rules(value)


def _check_datev(value):
    from plugins.accounting.setting_rules import check_datev

    return check_datev(value)


def _check_dunning(value):
    from plugins.accounting.receivables import check_levels

    return check_levels(value)


@hookimpl
def backdesk_plugin_info():
    from plugins.accounting.models import PERMISSIONS

    return PluginInfo(name="accounting", title="Accounting", version=VERSION,
                      description="Ledger, vendors and bills, purchasing, payroll and reports",
                      permissions=PERMISSIONS)


@hookimpl
def backdesk_settings():
    return {
        "currency": Setting(str, None, help="Currency of the books (default: the site's)"),
        "places": Setting(int, 2, choices=[0, 2, 3, 4], help="Decimal places amounts are rounded to"),
        "rounding": Setting(str, "ROUND_HALF_UP", choices=["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_DOWN",
                                                           "ROUND_UP"], help="How amounts are rounded"),
        "tax_rate": Setting(Decimal, Decimal("0.19"), help="Default tax rate on bill lines (a fraction)"),
        "accounts": Setting(dict, {}, check=_check_accounts,
                            help="Accounts used for bank, payables, input_vat, salaries, net_pay, …"),
        "company": Setting(dict, {}, check=_check_company,
                           help="The seller on invoices: name, street, postcode, city, country, tax_number, vat_id, "
                                "iban, bic, bank, email, phone, contact (person or department, for XRechnung)"),
        "dunning": Setting(list, [{"days": 7, "fee": "0.00"}, {"days": 21, "fee": "5.00"},
                                  {"days": 35, "fee": "10.00"}], check=_check_dunning,
                           help="Dunning levels: days past due, the fee and interest (percent a year) of each (up to three)"),
        "bank_accounts": Setting(list, [], check=_check_bank_accounts,
                                 help="The office's bank accounts: name, iban, bic, account (ledger), pain "
                                      "(001.001.09 or 001.001.03), batch_booking"),
        "bank_rules": Setting(list, [], check=_check_bank_rules,
                              help="Statement lines no bill or invoice explains: [{text: 'Miete', account: "
                                   "'expenses:rent'}]"),
        "datev": Setting(dict, {}, check=_check_datev,
                         help="DATEV export: advisor, client, chart (SKR03/SKR04), fiscal_year_start (MM-DD), "
                              "accounts ({ledger account: number})"),
        "invoice_prefix": Setting(str, "RE-", help="Invoice numbers are this and five digits (RE-00001)"),
        "daily_limit": Setting(Decimal, Decimal("10"), help="Hours a day above which a day is flagged"),
        "weekly_limit": Setting(Decimal, Decimal("40"), help="Hours a week; more is flagged and paid as overtime"),
        "monthly_hours": Setting(Decimal, Decimal("160"), help="Hours a salary pays for (hourly equivalent)"),
        "overtime_multiplier": Setting(Decimal, Decimal("1.25"), help="Pay factor for overtime hours"),
        "holiday_multiplier": Setting(Decimal, Decimal("2"), help="Pay factor for hours on holidays"),
        "deductions": Setting(dict, {"income tax": "0.20", "social security": "0.095"}, check=_check_fraction_map,
                              help="Payroll deductions: name → fraction of the gross"),
    }


@hookimpl
def backdesk_tables():
    from plugins.accounting.models import CONFIDENTIAL_TABLES, TABLE_READ, TABLES

    return [TableSpec(name, version=v, read=TABLE_READ[name], confidential=name in CONFIDENTIAL_TABLES)
            for name, v in TABLES.items()]


@hookimpl
def backdesk_screens(ctx):
    return nav_entries(ctx)


@hookimpl
def backdesk_commands(ctx):
    return commands(ctx)


@hookimpl
def backdesk_dashboard_cards(ctx):
    return cards(ctx)


@hookimpl
def backdesk_cli(cli, get_context):
    from plugins.accounting.cli import register

    register(cli, get_context)


@hookimpl
def backdesk_event(ctx, event):
    from plugins.accounting import payroll

    if event.name == "hr.employee_hired":
        payroll.on_employee_hired(ctx, event.data)
    elif event.name == "hr.employee_dismissed":
        payroll.on_employee_dismissed(ctx, event.data)
    elif event.name == "documents.handed_to_accounting":
        from plugins.accounting import einvoice_in

        einvoice_in.bill_from_document(ctx, event.data)


@hookimpl
def backdesk_search(ctx, query):
    from plugins.accounting import screens

    return screens.search_hits(ctx, query)


@hookimpl
def backdesk_demo(ctx, seed):
    from plugins.accounting.demo import create_demo

    create_demo(ctx, seed)


# ============================================================================ wiring
# Navigation, palette and cards live here, not in ``screens``, so the shell
# starts without importing the screens: each is imported when first opened.
def _screen(name: str):
    """A NavEntry factory for ``screens.<name>``, imported on first use."""
    return lazy("plugins.accounting.screens", name)


def _form(name: str, ctx):
    """A command that pushes ``screens.<name>(ctx)``, imported when it runs."""
    return lazy_screen("plugins.accounting.screens", name, ctx)


def nav_entries(ctx):
    from core.api.hookspecs import NavEntry
    from plugins.accounting.models import _

    return [
        NavEntry("accounting.ledger", _("Journal"), _screen("LedgerScreen"), permission="accounting.ledger.read",
                 order=40),
        NavEntry("accounting.bills", _("Bills"), _screen("BillsScreen"), permission="accounting.bills.read",
                 order=41),
        NavEntry("accounting.payments", _("Payment run"), _screen("PaymentRunScreen"),
                 permission="accounting.payments.run", order=42),
        NavEntry("accounting.reconcile", _("Reconciliation"), lazy("plugins.accounting.bank_screens",
                                                                     "ReconciliationScreen"),
                 permission="accounting.payments.reconcile", order=42),
        NavEntry("accounting.orders", _("Purchasing"), _screen("OrdersScreen"), permission="accounting.bills.read",
                 order=43),
        NavEntry("accounting.payroll", _("Payroll"), _screen("PayrollScreen"),
                 permission="accounting.payroll.write", order=44),
        NavEntry("accounting.reports", _("Reports"), _screen("ReportsScreen"), permission="accounting.ledger.read",
                 order=45),
        NavEntry("accounting.invoices", _("Invoices"), lazy("plugins.accounting.invoice_screens", "InvoicesScreen"),
                 permission="accounting.invoices.read", order=46),
        NavEntry("accounting.customers", _("Customers"), lazy("plugins.accounting.receivable_screens",
                                                              "CustomersScreen"),
                 permission="accounting.invoices.read", order=46),
        NavEntry("accounting.open_items", _("Open items"), lazy("plugins.accounting.receivable_screens",
                                                                "OpenItemsScreen"),
                 permission="accounting.invoices.read", order=46),
        NavEntry("accounting.vat_return", _("VAT return"), lazy("plugins.accounting.invoice_screens",
                                                                "VatReturnScreen"),
                 permission="accounting.ledger.read", order=47),
    ]


def commands(ctx):
    from core.api.hookspecs import Command
    from plugins.accounting.models import _

    return [
        Command("accounting.new_bill", _("Accounting: record a bill"), _form("bill_form", ctx),
                permission="accounting.bills.write"),
        Command("accounting.new_invoice", _("Accounting: write an invoice"),
                lazy_screen("plugins.accounting.invoice_screens", "invoice_form", ctx),
                permission="accounting.invoices.write"),
        Command("accounting.new_entry", _("Accounting: post a journal entry"), _form("entry_form", ctx),
                permission="accounting.ledger.post"),
        Command("accounting.payment_run", _("Accounting: payment run"),
                lambda app: app.open_nav("accounting.payments"), permission="accounting.payments.run"),
        Command("accounting.reports", _("Accounting: reports"), lambda app: app.open_nav("accounting.reports"),
                permission="accounting.ledger.read"),
    ]


def cards(ctx):
    from rich.markup import escape

    from core.api.hookspecs import Card
    from core.i18n import day_month_text, today
    from plugins.accounting import models as m
    from plugins.accounting import service as svc
    from plugins.accounting.models import _

    def render():
        rows = svc.due_this_week(ctx)
        today_text = today().isoformat()
        if not rows:
            return _("No bills due this week")
        totals: dict = {}
        for r in rows:
            totals[r["currency"]] = totals.get(r["currency"], Decimal(0)) + r["open"]
        total = ", ".join(m.money_text(v, c) for c, v in totals.items())
        lines = [_.ngettext("{n} bill, {total}", "{n} bills, {total}", len(rows)).format(n=len(rows), total=total)]
        # how many still need approving (draft) and how many are approved or partly paid
        counts = {code: sum(1 for r in rows if r["status"] == code) for code in m.BILL_STATUSES}
        states = [f"{m.label(m.BILL_STATUSES, code)}: {n}" for code, n in counts.items() if n]
        # overdue in words and with "!" before the date, not only in a colour (16 colours)
        late = {id(r) for r in rows if r["due"] < today_text}
        if late:
            states.append(_("overdue: {n}").format(n=len(late)))
        lines.append(" · ".join(states))
        # "day vendor amount", the day the locale's way without its year ("09.12.", "09/12"),
        # the amounts right-aligned under each other and no wider than need be: 31 cells for
        # 1.234,56 and a vendor cut to what is left of 22 cells after "!" and the day (the
        # card's inner width when the dashboard shows two columns; 80 columns show one)
        mark = (lambda r: "!" if id(r) in late else " ") if late else (lambda r: "")
        days = [day_month_text(r["due"]) for r in rows[:4]]
        day_w = max(len(d) for d in days)
        vendor_w = 21 - day_w - (1 if late else 0)
        shown = [(mark(r) + d.ljust(day_w), r["vendor"][:vendor_w], m.number_text(r["open"], m.places(ctx)))
                 for r, d in zip(rows, days)]
        name_w = max(len(v) for _d, v, _a in shown)
        amount_w = max(len(a) for _d, _v, a in shown)
        for due, vendor, amount in shown:
            lines.append(f"{due} {escape(vendor.ljust(name_w))} {amount:>{amount_w}}")
        return "\n".join(lines)

    return [Card("accounting.due", _("Bills due this week"), render, tables=("accounting.bills",),
                 target="accounting.bills", permission="accounting.bills.read", order=40)]
