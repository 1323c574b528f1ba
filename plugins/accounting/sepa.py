"""Payment runs and the SEPA credit transfer file (pain.001) the bank accepts.

A payment run takes every approved bill due by a date and puts it *in
payment*: the bill is sent to the bank, not paid. Nothing is posted then;
the bill becomes *paid* (payables against the bank) when a bank statement
shows the debit (``bank.import_statement`` matches the line by the
transfer's end-to-end id). A run the bank refused is cancelled and its
bills are open again.

The file is ISO 20022 pain.001 written by ``sepaxml``: version 001.001.09,
or 001.001.03 for a bank that wants the older one (``pain`` of the bank
account), batch booking as the bank account says, the requested execution
date, one transaction per bill with the bill's number as its remittance
information and ``BD-R<run>-B<bill>`` as its end-to-end id. IBANs and BICs
are checked with ``schwifty`` (length and format per country, check digits)
before anything is stored.

No Textual here; the CLI and the screens call these functions, and the
permissions are checked here (``accounting.payments.run``).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from pathlib import Path

from core.services.audit import now_utc
from core.errors import UnknownRecord, ValidationError
from core.i18n import N_, today
from core.outputs import write_output
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import service as svc
from plugins.accounting.models import _

#: pain.001 versions a bank account may ask for (sepaxml's schema names)
PAIN_VERSIONS = ("001.001.09", "001.001.03")
DEFAULT_PAIN = "001.001.09"
#: a bank account in the ``bank_accounts`` setting
BANK_ACCOUNT_KEYS = ("name", "iban", "bic", "account", "pain", "batch_booking")
RUN_STATUSES = {"sent": N_("sent to bank"), "done": N_("done"), "cancelled": N_("cancelled")}


# ============================================================================ IBAN, BIC, bank accounts
def check_iban(value, field: str = "iban", *, who: str = "") -> str:
    """``value`` as a compact IBAN checked by schwifty: the check digits
    (:func:`models.iban`), and the country's length and account-number
    format. One line otherwise, naming ``who`` (a vendor) when given.

    Entering a vendor checks the check digits only (:func:`models.iban`):
    schwifty's import costs the shell's first start with the demo 0.15 s
    (it reads importlib.metadata); money leaves only through here."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    prefix = f"{who}: " if who else ""
    try:
        s = m.iban(value, field)
        IBAN(s)
    except ValidationError as error:
        raise ValidationError(prefix + error.message, field=field) from None
    except SchwiftyException as error:
        raise ValidationError(prefix + _("the IBAN {value} is not valid ({reason})").format(
            value=s, reason=iban_problem(error)), field=field) from None
    return s


def iban_problem(error) -> str:
    """What a schwifty error says, in the site's language."""
    return {"InvalidChecksumDigits": _("wrong check digits"), "InvalidLength": _("wrong length for its country"),
            "InvalidCountryCode": _("unknown country"), "InvalidStructure": _("wrong format for its country"),
            "InvalidBBANChecksum": _("wrong account check digit")}.get(type(error).__name__, _("not an IBAN"))


def check_bic(value, field: str = "bic", *, who: str = "") -> str:
    """``value`` as a BIC checked by schwifty, or "" for none."""
    from schwifty import BIC
    from schwifty.exceptions import SchwiftyException

    s = "".join(str(value or "").split()).upper()
    if not s:
        return ""
    try:
        return str(BIC(s))
    except SchwiftyException:
        prefix = f"{who}: " if who else ""
        raise ValidationError(prefix + _("{value!r} is not a BIC").format(value=s[:20]), field=field) from None


def check_bank_accounts(value) -> list:
    """The ``bank_accounts`` setting: a list of the office's accounts, each
    ``name``, ``iban``, optional ``bic``, ``account`` (the ledger account,
    the ``bank`` account by default), ``pain`` (001.001.09 or 001.001.03)
    and ``batch_booking`` (true by default)."""
    if not isinstance(value, list):
        raise ValueError("a list of bank accounts (name, iban, bic, account, pain, batch_booking)")
    names = set()
    for i, acc in enumerate(value, start=1):
        if not isinstance(acc, dict):
            raise ValueError(f"{i}: a bank account is a mapping (name, iban, …)")
        unknown = sorted(set(acc) - set(BANK_ACCOUNT_KEYS))
        if unknown:
            raise ValueError(f"{i}: unknown key {unknown[0]!r} (known: {', '.join(BANK_ACCOUNT_KEYS)})")
        if not str(acc.get("name") or "").strip():
            raise ValueError(f"{i}: a bank account needs a name")
        if acc["name"] in names:
            raise ValueError(f"{i}: two bank accounts are called {acc['name']!r}")
        names.add(acc["name"])
        try:  # the check digits here (at every start); schwifty's full check when the account is used
            m.iban(acc.get("iban"))
            m.bic(acc.get("bic"))
        except ValidationError as error:
            raise ValueError(f"{acc['name']}: {error.message}") from None
        if str(acc.get("pain") or DEFAULT_PAIN) not in PAIN_VERSIONS:
            raise ValueError(f"{acc['name']}: pain is {' or '.join(PAIN_VERSIONS)}")
        if acc.get("account"):
            try:
                L.check_account_name(acc["account"])
            except L.LedgerError as error:
                raise ValueError(f"{acc['name']}: {error}") from None
    return value


def bank_accounts(ctx) -> list[dict]:
    """The office's bank accounts: the ``bank_accounts`` setting, or one made
    of the company's IBAN and BIC (``company`` setting) on the ``bank``
    ledger account. Each: name, iban, bic, account, pain, batch_booking."""
    out = []
    for acc in ctx.settings.get("bank_accounts") or []:
        out.append({"name": acc["name"], "iban": check_iban(acc["iban"]), "bic": check_bic(acc.get("bic")),
                    "account": acc.get("account") or svc.account(ctx, "bank"),
                    "pain": str(acc.get("pain") or DEFAULT_PAIN), "batch_booking": acc.get("batch_booking", True)})
    if not out:
        company = ctx.settings.get("company") or {}
        if company.get("iban"):
            out.append({"name": company.get("bank") or _("bank account"), "iban": check_iban(company["iban"]),
                        "bic": check_bic(company.get("bic")), "account": svc.account(ctx, "bank"),
                        "pain": DEFAULT_PAIN, "batch_booking": True})
    return out


def bank_account(ctx, name: str | None = None) -> dict:
    """The bank account called ``name`` (or the first); one line when there is none."""
    accounts = bank_accounts(ctx)
    if not accounts:
        raise ValidationError(_("no bank account to pay from: set the company's iban (or bank_accounts) in the "
                                "accounting settings"), field="bank")
    if name in (None, ""):
        return accounts[0]
    for acc in accounts:
        if acc["name"].casefold() == str(name).strip().casefold():
            return acc
    raise ValidationError(_("no bank account called {name!r} (there are: {names})").format(
        name=str(name)[:40], names=", ".join(a["name"] for a in accounts)), field="bank")


def payer_name(ctx) -> str:
    company = ctx.settings.get("company") or {}
    return company.get("name") or ctx.config.site.name


# ============================================================================ runs
def end_to_end_id(run_number: int, bill_id: int) -> str:
    """The transfer's end-to-end id: the bank reports it back on the statement."""
    return f"BD-R{run_number}-B{bill_id}"


def payment_run_preview(ctx, due_by) -> list[dict]:
    """The approved bills a run would send to the bank (due on or before ``due_by``)."""
    return svc.bill_rows(ctx, svc.bills(ctx, status=["approved", "partly_paid"], due_by=due_by))


def payment_run(ctx, due_by, date=None, *, bank: str | None = None) -> dict:
    """Send every approved bill due by ``due_by`` to the bank in one run:
    each bill is *in payment* (not paid) until the statement shows the
    debit. ``date`` is the requested execution date (today by default).
    Vendors without an IBAN, and bills not in euro, are left out and named
    in the result; a vendor's IBAN that is not valid refuses the whole run
    (one line naming the vendor; nothing stored)."""
    ctx.require("accounting.payments.run")
    due_by = m.date(due_by, "due_by")
    date = m.date(date or today().isoformat(), "date")
    acc = bank_account(ctx, bank)
    with ctx.transaction():
        runs = ctx.table("payment_runs")
        number = svc._next(runs, "number")
        created = now_utc()
        msg_id = f"BACKDESK-R{number}-{created[:19].replace('-', '').replace(':', '').replace('T', '')}"
        run_id = runs.insert({"number": number, "due_by": due_by, "date": date, "items": [], "skipped": [],
                              "bank": acc["name"], "bank_iban": acc["iban"], "pain": acc["pain"],
                              "msg_id": msg_id, "status": "sent", "at": created, "by": ctx.operator.account})
        vendors = {v["id"]: v for v in ctx.table("vendors").all()}
        items, skipped = [], []
        for b in svc.bills(ctx, status=["approved", "partly_paid"], due_by=due_by):
            v = vendors.get(b["vendor_id"], {})
            if not v.get("iban"):
                skipped.append({"bill_id": b["id"], "reason": _("{vendor} has no IBAN").format(vendor=v.get("name"))})
                continue
            if b["currency"] != "EUR":
                skipped.append({"bill_id": b["id"], "reason": _("bill {number} is in {cur}: SEPA transfers are in "
                                                                "euro").format(number=b["number"], cur=b["currency"])})
                continue
            iban = check_iban(v["iban"], who=v["name"])
            bic = check_bic(v.get("bic"), who=v["name"])
            amount = svc.open_amount(b)
            items.append({"bill_id": b["id"], "vendor_id": v["id"], "vendor": v["name"], "iban": iban, "bic": bic,
                          "amount": svc.mtext(ctx, amount), "currency": b["currency"], "reference": b["number"],
                          "end_to_end_id": end_to_end_id(number, b["id"])})
            ctx.table("bills").update(b["id"], {"status": "in_payment", "run_id": run_id,
                                                "status_before_run": b["status"]})
        if not items:
            raise ValidationError(_("no approved bills with a vendor IBAN are due by {date}").format(date=due_by))
        total = sum((L.to_decimal(i["amount"]) for i in items), Decimal(0))
        return runs.update(run_id, {"items": items, "skipped": skipped, "total": svc.mtext(ctx, total)})


def payment_runs(ctx) -> list[dict]:
    ctx.require("accounting.bills.read")
    return ctx.table("payment_runs").find({}, order_by=["-number"])


def run_by_number(ctx, number) -> dict:
    ctx.require("accounting.bills.read")
    try:
        n = int(str(number).strip())
    except ValueError:
        raise ValidationError(_("{value!r} is not a payment run number").format(value=str(number)[:20]),
                              field="run") from None
    found = ctx.table("payment_runs").find({"number": n}, limit=1)
    if not found:
        raise UnknownRecord(_("no payment run {number}").format(number=n))
    return found[0]


def cancel_run(ctx, number) -> dict:
    """The bank refused (or was never given) a run: its bills still in
    payment are open again. Bills the bank has paid stay paid."""
    ctx.require("accounting.payments.run")
    with ctx.transaction():
        run = run_by_number(ctx, number)
        if run.get("status") == "cancelled":
            raise ValidationError(_("payment run {number} is cancelled already").format(number=run["number"]))
        bills = ctx.table("bills")
        reopened = 0
        for it in run["items"]:
            b = bills.get(it["bill_id"])
            if b and b["status"] == "in_payment" and b.get("run_id") == run["id"]:
                bills.update(b["id"], {"status": b.get("status_before_run") or "approved", "run_id": None})
                reopened += 1
        return ctx.table("payment_runs").update(run["id"], {"status": "cancelled", "cancelled_at": now_utc(),
                                                            "cancelled_by": ctx.operator.account,
                                                            "reopened": reopened})


# ============================================================================ pain.001
def pain001(ctx, run: dict) -> bytes:
    """The run's pain.001 (UTF-8 XML), checked by sepaxml against the schema
    of its version before it is handed out."""
    from sepaxml import SepaTransfer

    acc = bank_account(ctx, run.get("bank"))
    config = {"name": sepa_text(payer_name(ctx), 70), "IBAN": acc["iban"], "currency": "EUR",
              "batch": bool(acc["batch_booking"])}
    if acc["bic"]:
        config["BIC"] = acc["bic"]
    transfer = SepaTransfer(config, schema="pain." + run.get("pain", acc["pain"]), clean=True)
    execution = dt.date.fromisoformat(run["date"])
    for it in run["items"]:
        payment = {"name": sepa_text(it["vendor"], 70), "IBAN": it["iban"],
                   "amount": int(L.to_decimal(it["amount"]) * 100), "execution_date": execution,
                   "description": sepa_text(it["reference"], 140), "endtoend_id": it["end_to_end_id"]}
        if it.get("bic"):
            payment["BIC"] = it["bic"]
        transfer.add_payment(payment)
    try:
        return _stable(transfer.export(validate=False), run, transfer.schema)
    except Exception as error:  # sepaxml raises its own ValidationError (or Exception) on a bad value
        raise ValidationError(_("the transfer file of payment run {number} could not be written: {error}").format(
            number=run["number"], error=str(error).splitlines()[0][:200])) from None


def _stable(xml: bytes, run: dict, schema: str) -> bytes:
    """The run's own ids and time instead of sepaxml's random ones, so the
    file written again is the same message (a bank refuses a message id it
    has executed already), then checked against the version's schema."""
    from lxml import etree
    from sepaxml.validation import try_valid_xml

    root = etree.fromstring(xml)
    ns = {"p": root.nsmap[None]}
    root.find(".//p:GrpHdr/p:MsgId", ns).text = run["msg_id"]
    root.find(".//p:GrpHdr/p:CreDtTm", ns).text = run["at"][:19]
    for i, node in enumerate(root.iterfind(".//p:PmtInf/p:PmtInfId", ns), start=1):
        node.text = f"{run['msg_id']}-{i}"
    out = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    try_valid_xml(out, schema)
    return out


#: the Latin character set of SEPA (EPC's "SEPA Requirements for an Extended Character Set", basic set)
_SEPA_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "&": "+"})


def sepa_text(value: str, limit: int) -> str:
    """``value`` in the SEPA character set every bank takes: umlauts and ß
    written out (Müller → Mueller), accents dropped, & as +, anything else
    a space; no longer than ``limit``."""
    s = unicodedata.normalize("NFKD", str(value or "").translate(_GERMAN))
    s = "".join(c if c in _SEPA_CHARS else ("" if unicodedata.combining(c) else " ") for c in s)
    return " ".join(s.split())[:limit].strip() or "-"


def exports_dir(ctx) -> Path:
    """Where files for people go when no path is given: the operator's
    exports folder, ``<data_dir>/exports/<account>/`` (0700; ``backdesk
    files`` lists it), never the working directory."""
    return ctx.exports_dir()


def pain_file_name(run: dict) -> str:
    return f"pain.{run.get('pain', DEFAULT_PAIN)}-run-{run['number']}.xml"


def write_pain001(ctx, run: dict, path: str | Path | None = None) -> Path:
    """Write the run's pain.001 to ``path`` (or the exports folder); the
    export is recorded in the audit trail. The path written."""
    ctx.require("accounting.payments.run")
    data = pain001(ctx, run)
    target = Path(path).expanduser() if path not in (None, "") else exports_dir(ctx) / pain_file_name(run)
    write_output(target, data)
    ctx.services.audit.record_read("accounting", "accounting.payment_runs", run["id"],
                                   f"pain.{run.get('pain')} of payment run {run['number']} written to {target}")
    return target


def run_rows(ctx, runs: list[dict]) -> list[dict]:
    return [{**r, "status_text": m.label(RUN_STATUSES, r.get("status") or "sent"), "count": len(r["items"]),
             "total_dec": L.to_decimal(r.get("total") or "0")} for r in runs]
