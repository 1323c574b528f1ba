"""Records of the accounting plugin and the checks on their fields."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from core.dates import check_year, check_year_text
from core.errors import ValidationError
from core import i18n
from core.i18n import N_, translator_for
from core.safetext import check_text
from plugins.accounting.ledger import LedgerError, to_decimal

_ = translator_for("accounting", Path(__file__).parent / "locale")

#: table name -> schema version
TABLES = {"accounts": 1, "entries": 1, "periods": 1, "vendors": 1, "bills": 1, "payments": 1,
          "payment_runs": 1, "orders": 1, "rates": 1, "timesheets": 1, "payroll_runs": 1, "payslips": 1,
          "customers": 1, "invoices": 1, "receipts": 1, "statements": 1, "statement_lines": 1,
          "bank_mappings": 1, "month_totals": 1}
#: the permission that reads each table whole (export); pay is confidential:
#: reading rates, payroll runs and payslips whole is audited
TABLE_READ = {"accounts": "accounting.ledger.read", "entries": "accounting.ledger.read",
              "month_totals": "accounting.ledger.read",
              "periods": "accounting.ledger.read", "vendors": "accounting.bills.read",
              "bills": "accounting.bills.read", "payments": "accounting.bills.read",
              "payment_runs": "accounting.bills.read", "orders": "accounting.bills.read",
              "rates": "accounting.payroll.read", "timesheets": "accounting.payroll.read",
              "payroll_runs": "accounting.payroll.read", "payslips": "accounting.payroll.read",
              "customers": "accounting.invoices.read", "invoices": "accounting.invoices.read",
              "receipts": "accounting.invoices.read", "statements": "accounting.ledger.read",
              "statement_lines": "accounting.ledger.read", "bank_mappings": "accounting.ledger.read"}
CONFIDENTIAL_TABLES = frozenset({"rates", "payroll_runs", "payslips"})

PERMISSIONS = {
    "accounting.ledger.read": "Read the journal, the accounts and the reports",
    "accounting.ledger.post": ("Post and reverse journal entries, import journals and bank files, keep the banks' "
                               "CSV mappings"),
    "accounting.periods.close": "Close accounting periods",
    "accounting.bills.read": "Read vendors, bills and purchase orders",
    "accounting.bills.write": "Record vendors, bills and purchase orders",
    "accounting.bills.approve": "Approve bills for payment",
    "accounting.bills.pay": "Record payments of bills by hand",
    "accounting.payments.run": "Make payment runs and write their SEPA transfer files (pain.001)",
    "accounting.payments.reconcile": "Import bank statements and match their lines to bills and invoices",
    "accounting.ledger.export": "Export the books for the tax adviser (DATEV Buchungsstapel, Debitoren/Kreditoren)",
    "accounting.payroll.read": "Read pay rates and payslips (confidential)",
    "accounting.payroll.write": "Set pay rates, record and approve timesheets",
    "accounting.payroll.run": "Run payroll",
    "accounting.invoices.read": "Read customers, invoices and open items",
    "accounting.invoices.write": "Record customers and draft invoices",
    "accounting.invoices.issue": "Issue invoices and credit notes, record payments received",
}

# -- what a person sees for a stored code -----------------------------------------
# Records, CSV and JSON keep the codes (the keys); screens, cards and the CLI's
# tables show ``label(MAP, code)``: the N_() text, translated when it is shown.
BILL_STATUSES = {"draft": N_("draft"), "approved": N_("approved"), "partly_paid": N_("partly paid"),
                 "in_payment": N_("sent to bank"), "paid": N_("paid")}
ORDER_STATUSES = {"draft": N_("draft"), "ordered": N_("ordered"), "partly_received": N_("partly received"),
                  "received": N_("received"), "billed": N_("billed")}
PAY_KINDS = {"salaried": N_("salaried"), "hourly": N_("hourly")}
TIMESHEET_STATUSES = {"open": N_("open"), "approved": N_("approved")}
#: payables ageing buckets (``ledger.AGEING_BUCKETS``); "1-30" … need no words
AGEING_TITLES = {"current": N_("current"), "over 90": N_("over 90")}
#: the sections of a report (``ledger.Report.sections``) and its total lines
REPORT_SECTION_TITLES = {"accounts": N_("accounts"), "income": N_("income"), "expenses": N_("expenses"),
                         "assets": N_("assets"), "liabilities": N_("liabilities"), "equity": N_("equity"),
                         "total": N_("total"), "net": N_("net")}
#: ``ledger.Report.title`` (English, as the ledger module writes it)
REPORT_TITLES = {"Trial balance": N_("Trial balance"), "Profit and loss": N_("Profit and loss"),
                 "Balance sheet": N_("Balance sheet")}


#: the label of a stored code in one of the ``*_TITLES`` maps (core.i18n.Translator.label)
label = _.label


def number_text(value, places: int = 2, *, keep_digits: bool = False) -> str:
    """An amount (or a quantity) as a person reads it: the site's grouping and
    decimal sign, ``places`` decimals ("1.535,41" in German, "1,535.41" in
    English). ``keep_digits`` shows more decimals when the value has them
    (a unit price of "89.333", a quantity of "2.5" with ``places=0``). None
    and "" are "".

    Only for what people read (screens, cards, the CLI's tables and
    messages); the records, CSV, JSON, the hledger journal and the bank file
    keep the plain stored form (``ledger.money_text``).
    """
    from core.i18n import format_decimal

    if value is None or value == "":
        return ""
    d = value if isinstance(value, Decimal) else to_decimal(value)
    if keep_digits:
        places = max(places, -int(d.as_tuple().exponent))
    return format_decimal(d, places)


def money_text(value, currency: str | None = None) -> str:
    """An amount with its currency as every screen shows it: the site's
    locale ("1.535,41 €" in German, "€1,535.41" in English; core's
    ``format_money``), the currency's decimals. None and "" are "". An
    unknown currency code is shown after the number ("12,00 XQQ").

    Only for what people read (like :func:`number_text`)."""
    from core.i18n import format_money

    if value is None or value == "":
        return ""
    d = value if isinstance(value, Decimal) else to_decimal(value)
    try:
        return format_money(d, currency)
    except Exception:  # babel knows no such currency
        return f"{number_text(d)} {currency or ''}".strip()


def places(ctx) -> int:
    """The ``places`` setting: the decimals amounts are kept and shown with."""
    return int(ctx.settings.get("places", 2))


MAX_TEXT = 200


def text(value, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = check_text(" ".join(str(value or "").split()), field)
    if required and not value:
        raise ValidationError(_("required"), field=field)
    if len(value) > limit:
        raise ValidationError(_("at most {n} characters").format(n=limit), field=field)
    return value


def amount(value, field: str, *, positive: bool = False, allow_zero: bool = True) -> Decimal:
    try:
        if isinstance(value, str):
            value = value.strip().replace(",", "") if value.count(".") == 1 or "," not in value \
                else value.strip().replace(".", "").replace(",", ".")
        d = to_decimal(value)
    except LedgerError:
        raise ValidationError(_("{value!r} is not an amount (like 1234.50)").format(
            value=str(value)[:40]), field=field) from None
    if positive and (d < 0 or (d == 0 and not allow_zero)):
        raise ValidationError(_("must be more than zero") if not allow_zero else _("must not be negative"),
                              field=field)
    return d


def date(value, field: str, *, required: bool = True) -> str | None:
    if value in (None, ""):
        if required:
            raise ValidationError(_("required"), field=field)
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return check_year(value, field).isoformat()
    s = str(value).strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
            raise ValueError
        day = dt.date.fromisoformat(s)
    except ValueError:
        raise ValidationError(_("{value!r} is not a date (YYYY-MM-DD)").format(value=s[:40]), field=field) from None
    return check_year(day, field).isoformat()


def month_text(period_text: str) -> str:
    """A month ``YYYY-MM`` as the site's people write it: "11.2026" (German),
    "11/2026" (English) (core.i18n.month_text)."""
    return i18n.month_text(period_text)


def month(value, field: str = "period") -> str:
    """A month typed as ``YYYY-MM`` or the locale's way ("11.2026", "11/2026",
    "11.26") → ``YYYY-MM`` (core.i18n.parse_month, as the screens and the
    CLI's --period take it); one line naming an example otherwise."""
    try:
        text = i18n.parse_month(str(value or ""))
    except ValidationError as error:
        raise ValidationError(error.message, field=field) from None
    period(text, field)
    return text


def period(value, field: str = "period") -> tuple[str, str]:
    """``YYYY-MM`` → (first day, last day) as ISO strings."""
    s = str(value or "").strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})", s)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValidationError(_("{value!r} is not a period (YYYY-MM)").format(value=s[:20]), field=field)
    check_year_text(s, field)  # 0000-01 and 9999-12 are typos (and outside Python's dates)
    y, mo = int(m.group(1)), int(m.group(2))
    first = dt.date(y, mo, 1)
    last = (dt.date(y + (mo == 12), mo % 12 + 1, 1) - dt.timedelta(days=1))
    return first.isoformat(), last.isoformat()


def iban(value, field: str = "iban") -> str:
    """A normalised IBAN (no spaces, upper case); ValidationError unless the
    mod-97 check digits hold."""
    s = re.sub(r"\s+", "", str(value or "")).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        raise ValidationError(_("{value!r} is not an IBAN (like DE89 3704 0044 0532 0130 00)").format(
            value=str(value)[:40]), field=field)
    digits = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    if int(digits) % 97 != 1:
        raise ValidationError(_("the IBAN {value} has wrong check digits").format(value=s), field=field)
    return s


def bic(value, field: str = "bic") -> str:
    s = re.sub(r"\s+", "", str(value or "")).upper()
    if s and not re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?", s):
        raise ValidationError(_("{value!r} is not a BIC").format(value=str(value)[:20]), field=field)
    return s


def hhmm(value, field: str) -> str:
    s = str(value or "").strip()
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", s)
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59 or (int(m.group(1)) == 24 and m.group(2) != "00"):
        raise ValidationError(_("{value!r} is not a time (HH:MM)").format(value=s[:10]), field=field)
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def minutes(hm: str) -> int:
    h, m = hm.split(":")
    return int(h) * 60 + int(m)
