"""HR records and their validation: employee contracts, openings, candidates,
interviews, checklists, cases, warnings and dismissals.

Plain Python (no storage, no Textual): the rules a record must follow and the
parsers that turn typed text into stored values. Errors are
:class:`core.errors.ValidationError` naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from core.dates import check_year
from core.errors import ValidationError
from core.i18n import N_, translator_for
from core.safetext import check_text

_ = translator_for("hr", Path(__file__).parent / "locale")

# -- permissions ------------------------------------------------------------------
P_RECORDS_READ = "hr.records.read"
P_RECORDS_EDIT = "hr.records.edit"
P_PAYROLL_READ = "hr.payroll.read"
P_HIRING_READ = "hr.hiring.read"
P_HIRING_EDIT = "hr.hiring.edit"
P_HIRE = "hr.hire"
P_ONBOARDING_READ = "hr.onboarding.read"
P_ONBOARDING_EDIT = "hr.onboarding.edit"
P_CASES_READ = "hr.cases.read"
P_CASES_EDIT = "hr.cases.edit"
P_DISCIPLINE_READ = "hr.discipline.read"
P_DISCIPLINE_EDIT = "hr.discipline.edit"
P_DISMISS = "hr.dismiss"
P_LEAVE_REQUEST = "hr.leave.request"
P_LEAVE_APPROVE = "hr.leave.approve"
P_LEAVE_READ = "hr.leave.read"
P_LEAVE_MANAGE = "hr.leave.manage"
P_SICK_READ = "hr.sick_notes.read"
P_SICK_EDIT = "hr.sick_notes.edit"
P_TIME_CLOCK = "hr.time.clock"
P_TIME_READ = "hr.time.read"
P_TIME_EDIT = "hr.time.edit"

PERMISSIONS = {
    P_RECORDS_READ: "Read employee records (contract, pay, emergency contact, notes)",
    P_RECORDS_EDIT: "Change employee records",
    P_PAYROLL_READ: "Read the pay of employees (for payroll)",
    P_HIRING_READ: "See openings, candidates, interviews and feedback",
    P_HIRING_EDIT: "Add openings and candidates, move stages, schedule interviews",
    P_HIRE: "Hire a candidate (creates the person in the directory)",
    P_ONBOARDING_READ: "See onboarding and offboarding checklists",
    P_ONBOARDING_EDIT: "Tick checklist items, record exit interviews",
    P_CASES_READ: "Read complaints and grievances (confidential, audited)",
    P_CASES_EDIT: "Record and work on complaints and grievances",
    P_DISCIPLINE_READ: "Read warnings and dismissals",
    P_DISCIPLINE_EDIT: "Issue warnings and record acknowledgements",
    P_DISMISS: "Dismiss an employee or record a leaver",
    P_LEAVE_REQUEST: "Request and cancel one's own leave, see one's balance and the team's absences "
                     "(managers approve their reports' leave with it)",
    P_LEAVE_APPROVE: "Approve or reject anyone's leave",
    P_LEAVE_READ: "See everyone's leave, balances and the absence calendar",
    P_LEAVE_MANAGE: "Set entitlements, carry leave over, request or cancel leave for others",
    P_SICK_READ: "Read sick notes (confidential, audited)",
    P_SICK_EDIT: "Record and withdraw sick notes",
    P_TIME_CLOCK: "Clock oneself in and out, take breaks, see one's own hours",
    P_TIME_READ: "See everyone's working time and the monthly report",
    P_TIME_EDIT: "Correct the clock entries of others",
}

TABLES = ("records", "openings", "candidates", "interviews", "checklists", "cases", "warnings",
          "dismissals", "leave", "entitlements", "sick_notes", "time")
#: the permission that reads each table whole (export)
TABLE_READ = {"records": P_RECORDS_READ, "openings": P_HIRING_READ, "candidates": P_HIRING_READ,
              "interviews": P_HIRING_READ, "checklists": P_ONBOARDING_READ, "cases": P_CASES_READ,
              "warnings": P_DISCIPLINE_READ, "dismissals": P_DISCIPLINE_READ, "leave": P_LEAVE_READ,
              "entitlements": P_LEAVE_READ, "sick_notes": P_SICK_READ, "time": P_TIME_READ}
#: reading these whole is written to the audit trail
CONFIDENTIAL_TABLES = frozenset({"records", "candidates", "interviews", "cases", "warnings", "dismissals",
                                 "sick_notes"})

# -- vocabularies -------------------------------------------------------------------
CONTRACT_TYPES = {"permanent": N_("permanent"), "fixed_term": N_("fixed term"),
                  "part_time": N_("part time"), "apprentice": N_("apprentice"),
                  "freelance": N_("freelance")}
PAY_PERIODS = {"year": N_("per year"), "month": N_("per month"), "hour": N_("per hour")}
STAGES = ("applied", "screening", "interview", "offer", "hired", "rejected")
STAGE_TITLES = {"applied": N_("applied"), "screening": N_("screening"), "interview": N_("interview"),
                "offer": N_("offer"), "hired": N_("hired"), "rejected": N_("rejected")}
OPENING_STATUSES = {"open": N_("open"), "closed": N_("closed")}
CASE_TYPES = {"complaint": N_("complaint"), "grievance": N_("grievance"),
              "harassment": N_("harassment"), "discrimination": N_("discrimination"),
              "safety": N_("safety"), "other": N_("other")}
CASE_STATUSES = {"open": N_("open"), "investigating": N_("investigating"), "resolved": N_("resolved"),
                 "invalid": N_("invalid"), "closed": N_("closed")}
#: status -> statuses a case may move to
CASE_TRANSITIONS = {
    "open": ("investigating", "resolved", "invalid"),
    "investigating": ("resolved", "invalid", "open"),
    "resolved": ("closed", "investigating"),
    "invalid": ("closed", "investigating"),
    "closed": ("investigating",),
}
LEVELS = ("verbal", "written", "final")
LEVEL_TITLES = {"verbal": N_("verbal"), "written": N_("written"), "final": N_("final")}
DISMISSAL_KINDS = {"conduct": N_("conduct"), "capability": N_("capability"),
                   "redundancy": N_("redundancy"), "end_of_contract": N_("end of contract"),
                   "resignation": N_("resignation"), "retirement": N_("retirement")}
CHECKLIST_KINDS = {"onboarding": N_("onboarding"), "offboarding": N_("offboarding")}
OWNER_ROLES = ("hr", "it", "accounting", "reception")
#: who ticks a checklist item (``owner_role``)
OWNER_ROLE_TITLES = {"hr": N_("HR"), "it": N_("IT"), "accounting": N_("Accounting"), "reception": N_("Reception")}


#: the label of a stored code in one of the ``*_TITLES`` maps (core.i18n.Translator.label)
label = _.label


#: events that tick checklist items, and the checklist they belong to
TICKING_EVENTS = {
    "it.onboarding_ticket_opened": "onboarding",
    "accounting.payroll_record_created": "onboarding",
    "telephony.extension_assigned": "onboarding",
    "it.offboarding_ticket_opened": "offboarding",
    "accounting.final_pay_flagged": "offboarding",
    "telephony.extension_released": "offboarding",
}

DEFAULT_ONBOARDING = [
    {"title": "Contract signed and filed", "owner_role": "hr"},
    {"title": "IT account and equipment", "owner_role": "it", "event": "it.onboarding_ticket_opened"},
    {"title": "Payroll record", "owner_role": "accounting", "event": "accounting.payroll_record_created"},
    {"title": "Phone extension", "owner_role": "reception", "event": "telephony.extension_assigned"},
    {"title": "Welcome day and introductions", "owner_role": "hr"},
]
DEFAULT_OFFBOARDING = [
    {"title": "Assets returned, access revoked", "owner_role": "it", "event": "it.offboarding_ticket_opened"},
    {"title": "Final pay", "owner_role": "accounting", "event": "accounting.final_pay_flagged"},
    {"title": "Extension released", "owner_role": "reception", "event": "telephony.extension_released"},
    {"title": "Exit interview", "owner_role": "hr", "key": "exit_interview"},
    {"title": "Reference letter", "owner_role": "hr"},
]

MAX_TEXT = 200
MAX_LONG = 20_000
_MONEY = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PHONE = re.compile(r"^[+0-9 ()/-]{3,30}$")
_EMAIL = re.compile(r"^[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(\.[\w-]+)+$")


def check_template(value: Any) -> list:
    """Validate a checklist template from plugins.yaml (ValueError otherwise)."""
    if not isinstance(value, list) or not value:
        raise ValueError("a checklist template is a non-empty list of items")
    for i, item in enumerate(value, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str) or not item["title"].strip():
            raise ValueError(f"item {i}: needs a title")
        unknown = set(item) - {"title", "owner_role", "event", "key"}
        if unknown:
            raise ValueError(f"item {i}: unknown key {sorted(unknown)[0]!r} (title, owner_role, event, key)")
        if item.get("owner_role", "hr") not in OWNER_ROLES:
            raise ValueError(f"item {i}: owner_role must be one of {', '.join(OWNER_ROLES)}")
        if item.get("event") is not None and item["event"] not in TICKING_EVENTS:
            raise ValueError(f"item {i}: unknown event {item['event']!r} (known: {', '.join(TICKING_EVENTS)})")
    return value


def check_expiry(value: Any) -> dict:
    if not isinstance(value, dict) or set(value) != set(LEVELS):
        raise ValueError("warning_expiry_months needs verbal, written and final")
    for key, months in value.items():
        if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120:
            raise ValueError(f"warning_expiry_months.{key}: a whole number of months from 1 to 120")
    return value


# -- small parsers ----------------------------------------------------------------
def text(value: Any, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    if value is None:
        value = ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(_("expected text"), field=field)
    value = str(value).strip()
    if required and not value:
        raise ValidationError(_("this is required"), field=field)
    if len(value) > limit:
        raise ValidationError(_("at most {n} characters").format(n=limit), field=field)
    return check_text(value, field)


def date_value(value: Any, field: str, *, required: bool = False) -> str | None:
    """An ISO date string (YYYY-MM-DD) from a date or text; None when empty."""
    if value is None or value == "":
        if required:
            raise ValidationError(_("a date is required (YYYY-MM-DD)"), field=field)
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return check_year(value, field).isoformat()
    if not isinstance(value, str) or len(value.strip()) != 10:
        raise ValidationError(_("{value!r} is not a date as YYYY-MM-DD").format(value=str(value)[:40]),
                              field=field)
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(_("{value!r} is not a date as YYYY-MM-DD").format(value=value), field=field) from None
    return check_year(day, field).isoformat()


def datetime_utc(value: Any, field: str, tz) -> str:
    """'YYYY-MM-DD HH:MM' in the site's time zone (or a datetime) → ISO UTC."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        raw = text(value, field, required=True, limit=40).replace("T", " ")
        try:
            moment = dt.datetime.strptime(raw, "%Y-%m-%d %H:%M")
        except ValueError:
            raise ValidationError(_("{value!r} is not a time as YYYY-MM-DD HH:MM").format(value=raw),
                                  field=field) from None
    check_year(moment, field)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def money(value: Any, field: str) -> str | None:
    """A non-negative amount with at most two decimals, as a string; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationError(_("expected an amount like 4200.00"), field=field)
    if isinstance(value, (int, Decimal)):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationError(_("expected an amount like 4200.00"), field=field)
    raw = value.strip().replace(",", ".") if value.count(",") == 1 and "." not in value else value.strip()
    raw = raw.replace("_", "")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(_("{value!r} is not an amount like 4200.00").format(value=value[:40]),
                              field=field) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError(_("the amount must be zero or more"), field=field)
    if amount >= Decimal("1e12") or amount.as_tuple().exponent < -2:
        raise ValidationError(_("{value!r} is not an amount like 4200.00").format(value=value[:40]), field=field)
    text_ = format(amount.quantize(Decimal("0.01")), "f")
    if not _MONEY.match(text_):
        raise ValidationError(_("{value!r} is not an amount like 4200.00").format(value=value[:40]), field=field)
    return text_


def currency(value: Any, field: str = "currency") -> str:
    value = text(value, field, required=True, limit=3).upper()
    if not _CURRENCY.match(value):
        raise ValidationError(_("{value!r} is not a currency code like EUR").format(value=value), field=field)
    return value


def choice(value: Any, choices, field: str) -> str:
    if value not in choices:
        raise ValidationError(_("{value!r} is not one of: {choices}").format(
            value=str(value)[:40], choices=", ".join(choices)), field=field)
    return value


def email(value: Any, field: str = "email") -> str | None:
    value = text(value, field)
    if not value:
        return None
    if not _EMAIL.match(value):
        raise ValidationError(_("{value!r} is not an email address").format(value=value), field=field)
    return value.lower()


def phone(value: Any, field: str = "phone") -> str:
    value = text(value, field, limit=30)
    if value and not _PHONE.match(value):
        raise ValidationError(_("{value!r} is not a phone number").format(value=value), field=field)
    return value


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    import calendar

    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def record_id(value: Any, field: str, what: str) -> int:
    """A numeric id from an int or a text like '12' or '#12'."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().lstrip("#").isdigit():
        value = int(value.strip().lstrip("#"))
    if not isinstance(value, int) or value <= 0 or value > 2**53:
        raise ValidationError(_("{value!r} is not a {what} number").format(value=str(value)[:40], what=what),
                              field=field)
    return value
