"""Accounting's domain operations: the ledger, vendors, bills, payments,
payment runs and purchase orders. No Textual here; the CLI and the screens
both call these functions, and every permission is checked here.

Every multi-step change runs in one ``with ctx.transaction():`` so nothing
is stored half-way, and sequence numbers (entry numbers, order numbers) are
derived inside it, so two operators in two processes never get the same.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fnmatch import fnmatchcase

from core.services.audit import now_utc
from core.services.choices import Choice, rank
from core.errors import PermissionDenied, UnknownRecord, ValidationError
from core.i18n import get_currency, today
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import totals
from plugins.accounting import vat
from plugins.accounting.models import _

DEFAULT_ACCOUNTS = {
    "bank": "assets:bank:checking",
    "payables": "liabilities:payables",
    "input_vat": "assets:tax:input vat",
    "expense": "expenses:purchases",
    "salaries": "expenses:salaries",
    "net_pay": "liabilities:payroll:net pay",
    "withholdings": "liabilities:payroll:withholdings",
    "uncategorized": "expenses:uncategorized",
}


# ============================================================================ helpers
def currency(ctx) -> str:
    return (ctx.settings.get("currency") or get_currency() or "EUR").upper()


def account(ctx, key: str) -> str:
    return {**DEFAULT_ACCOUNTS, **(ctx.settings.get("accounts") or {})}[key]


def rnd(ctx, value) -> Decimal:
    return L.round_money(value, int(ctx.settings.get("places", 2)), ctx.settings.get("rounding", "ROUND_HALF_UP"))


def mtext(ctx, value) -> str:
    return L.money_text(rnd(ctx, value), int(ctx.settings.get("places", 2)))


def check_places(ctx, value: Decimal, field: str, what: str = "") -> Decimal:
    """``value`` when it has no more decimals than the books keep (the
    ``places`` setting: 2 for EUR); otherwise refused — never rounded
    silently (0.005 + 0.005 - 0.01 would balance, and every total after it
    would be off by what rounding dropped)."""
    if value != rnd(ctx, value):
        places = int(ctx.settings.get("places", 2))
        raise ValidationError(_("{what}{value} has more than {places} decimals (amounts are kept to {places} "
                                "places; round it yourself)").format(
            what=what, value=f"{value:f}", places=places), field=field)
    return value


def money(ctx, value, field: str, **kwargs) -> Decimal:
    """An amount someone typed: a number (:func:`models.amount`) with no
    more decimals than the books keep (:func:`check_places`)."""
    return check_places(ctx, m.amount(value, field, **kwargs), field)


def unknown_accounts(ctx, names) -> list[str]:
    """The account names (of ``names``) not in the chart, in the order given."""
    ensure_chart(ctx)
    known = {a["name"] for a in ctx.table("accounts").all()}
    out: list[str] = []
    for name in names:
        if name not in known and name not in out:
            out.append(name)
    return out


def create_accounts(ctx, names) -> list[str]:
    """Add the accounts of ``names`` the chart lacks (inside the caller's
    transaction, with the permission to post checked by the caller); the
    names added."""
    missing = unknown_accounts(ctx, names)
    for name in missing:
        _ensure_account(ctx, name, create=True)
    return missing


def _get(table, doc_id, what: str) -> dict:
    try:
        doc = table.get(int(doc_id))
    except (TypeError, ValueError):
        doc = None
    if doc is None:
        raise UnknownRecord(_("no {what} with id {id}").format(what=what, id=doc_id))
    return doc


def _next(table, field: str) -> int:
    """The next sequence number; call inside the transaction that inserts it."""
    last = table.find({}, order_by=["-" + field], limit=1)
    return (last[0].get(field) or 0) + 1 if last else 1


def approvers(ctx, permission: str = "accounting.bills.approve") -> list[str]:
    """Operator accounts whose roles grant ``permission``."""
    cfg = ctx.config
    out = []
    for login, op in cfg.operators.items():
        patterns = [p for r in getattr(op, "roles", ()) if r in cfg.roles for p in cfg.roles[r].permissions]
        if any(fnmatchcase(permission, p) for p in patterns):
            out.append(login)
    return sorted(out)


# ============================================================================ ledger
def ensure_chart(ctx) -> None:
    """Seed the default chart of accounts once (the first time it is needed)."""
    accounts = ctx.table("accounts")
    if accounts.count() == 0:
        with ctx.transaction():
            if accounts.count() == 0:
                for name, title in L.DEFAULT_CHART:
                    accounts.insert({"name": name, "type": L.account_type(name), "title": title})


def accounts(ctx) -> list[dict]:
    ctx.require("accounting.ledger.read")
    ensure_chart(ctx)
    return ctx.table("accounts").find({}, order_by=["name"])


def account_choices(ctx, text: str) -> list[Choice]:
    """Accounts for a picker: ``text`` ranked against their names
    ("expenses:office" finds "expenses:office supplies", "off sup" too),
    then their titles; the detail is the title and the account's type."""
    found = rank(text, accounts(ctx), lambda a: a["name"], lambda a: a.get("title") or "")
    return [Choice(a["name"], a["name"], " · ".join(p for p in (a.get("title"), a.get("type")) if p))
            for a in found]


def add_account(ctx, name: str, title: str = "") -> dict:
    ctx.require("accounting.ledger.post")
    try:
        name = L.check_account_name(name)
    except L.LedgerError as error:
        raise ValidationError(str(error), field="name") from None
    ensure_chart(ctx)
    with ctx.transaction():
        t = ctx.table("accounts")
        if t.find({"name": name}):
            raise ValidationError(_("the account {name} exists already").format(name=name), field="name")
        doc_id = t.insert({"name": name, "type": L.account_type(name), "title": m.text(title, "title", required=False)})
    return t.get(doc_id)


def _ensure_account(ctx, name: str, *, create: bool) -> None:
    t = ctx.table("accounts")
    if t.find({"name": name}, limit=1):
        return
    if not create:
        raise ValidationError(_("no account {name} (add it to the chart first: accounting accounts add)").format(
            name=name), field="postings")
    t.insert({"name": name, "type": L.account_type(name), "title": ""})


def closed_periods(ctx) -> list[str]:
    return sorted(p["period"] for p in ctx.table("periods").all())


def _check_open(ctx, date: str) -> None:
    if ctx.table("periods").find({"period": date[:7]}, limit=1):
        raise ValidationError(_("the period {period} is closed: no postings dated {date}").format(
            period=date[:7], date=date), field="date")


def normalize_postings(ctx, postings) -> list[dict]:
    out = []
    if not isinstance(postings, (list, tuple)):
        raise ValidationError(_("postings must be a list"), field="postings")
    for i, p in enumerate(postings, start=1):
        try:
            acc = L.check_account_name(p.get("account"))
        except L.LedgerError as error:
            raise ValidationError(_("posting {n}: {error}").format(n=i, error=error), field="postings") from None
        try:
            amount = L.to_decimal(p.get("amount"))
        except L.LedgerError as error:
            raise ValidationError(_("posting {n}: {error}").format(n=i, error=error), field="postings") from None
        cur = str(p.get("currency") or currency(ctx)).upper()
        if not cur.isalpha() or len(cur) > 10:
            raise ValidationError(_("posting {n}: {cur!r} is not a currency code").format(n=i, cur=cur),
                                  field="postings")
        check_places(ctx, amount, "postings", _("posting {n}: ").format(n=i))
        out.append({"account": acc, "amount": mtext(ctx, amount), "currency": cur})
    return out


def _post(ctx, date, description, postings, *, source="manual", ref=None, create_accounts=True,
          reverses=None) -> dict:
    """Post a balanced entry (no permission check: callers check theirs).
    Must run inside the caller's transaction."""
    date = m.date(date, "date")
    description = m.text(description, "description")
    postings = normalize_postings(ctx, postings)
    try:
        L.check_balanced(postings)
    except L.LedgerError as error:
        raise ValidationError(str(error), field="postings") from None
    _check_open(ctx, date)
    ensure_chart(ctx)
    for p in postings:
        _ensure_account(ctx, p["account"], create=create_accounts)
    entries = ctx.table("entries")
    number = _next(entries, "number")
    doc_id = entries.insert({"number": number, "date": date, "description": description, "postings": postings,
                             "source": source, "ref": ref or {}, "reverses": reverses,
                             "posted_at": now_utc(), "posted_by": ctx.operator.account})
    entry = entries.get(doc_id)
    totals.add_entry(ctx, entry)  # the month's totals the reports read, in this same transaction
    return entry


def post_entry(ctx, date, description, postings) -> dict:
    """Post a manual journal entry; refused unless it balances and its period is open."""
    ctx.require("accounting.ledger.post")
    with ctx.transaction():
        return _post(ctx, date, description, postings, source="manual", create_accounts=False)


def reverse_entry(ctx, number, date=None, reason: str = "") -> dict:
    """Undo a posted entry by posting its mirror image; the original stays as it was."""
    ctx.require("accounting.ledger.post")
    with ctx.transaction():
        entries = ctx.table("entries")
        try:
            found = entries.find({"number": int(number)}, limit=1)
        except (TypeError, ValueError):
            found = []
        if not found:
            raise UnknownRecord(_("no journal entry number {n}").format(n=number))
        original = found[0]
        if entries.find({"reverses": original["number"]}, limit=1):
            raise ValidationError(_("entry {n} has been reversed already").format(n=original["number"]))
        if original.get("reverses"):
            raise ValidationError(_("entry {n} is itself a reversal").format(n=original["number"]))
        text = _("Reversal of {n}").format(n=original["number"])
        if reason:
            text += ": " + m.text(reason, "reason")
        return _post(ctx, date or today().isoformat(), text, L.reversal_postings(original["postings"]),
                     source="reversal", reverses=original["number"])


def close_period(ctx, period: str) -> dict:
    """Close a month (YYYY-MM): no posting dated in it is accepted afterwards."""
    ctx.require("accounting.periods.close")
    m.period(period)
    with ctx.transaction():
        t = ctx.table("periods")
        if t.find({"period": period}):
            raise ValidationError(_("the period {p} is closed already").format(p=period), field="period")
        doc_id = t.insert({"period": period, "closed_at": now_utc(), "closed_by": ctx.operator.account})
    return t.get(doc_id)


def journal(ctx, start=None, end=None) -> list[dict]:
    ctx.require("accounting.ledger.read")
    where = {}
    if start or end:
        from core.storage import Range

        rng = {}
        if start:
            rng["ge"] = m.date(start, "from")
        if end:
            rng["le"] = m.date(end, "to")
        where["date"] = Range(**rng)
    return ctx.table("entries").find(where, order_by=["date", "number"])


def ledger_entries(ctx):
    """The journal's table, for a screen that reads it a page at a time
    (the Journal: core.shell.widgets.table_pages); needs the ledger's read permission."""
    ctx.require("accounting.ledger.read")
    return ctx.table("entries")


def page_rows(ctx, entries: list[dict]) -> list[dict]:
    """:func:`journal_rows` for one page of the journal: which of its entries
    are reversed is asked of the store (the reversals may be on other pages)."""
    from core.storage import AnyOf

    numbers = [e["number"] for e in entries]
    reversals = ctx.table("entries").find({"reverses": AnyOf(numbers)}) if numbers else []
    return journal_rows(ctx, entries, reversed_numbers={e["reverses"] for e in reversals})


def journal_rows(ctx, entries: list[dict], *, reversed_numbers: set | None = None) -> list[dict]:
    if reversed_numbers is None:
        reversed_numbers = {e["reverses"] for e in entries if e.get("reverses")}
    rows = []
    for e in entries:
        amounts = [L.to_decimal(p["amount"]) for p in e["postings"]]
        debit = sum((a for a in amounts if a > 0), Decimal(0))
        cur = e["postings"][0]["currency"]
        rows.append({**e, "amount": debit, "amount_text": m.money_text(debit, cur),
                     "accounts": ", ".join(p["account"] for p in e["postings"]),
                     "state": _("reversed") if e["number"] in reversed_numbers else
                     (_("reversal") if e.get("reverses") else "")})
    return rows


# ============================================================================ vendors
VENDOR_FIELDS = ("name", "iban", "bic", "email", "address", "terms_days")


def _vendor_doc(values: dict) -> dict:
    """The vendor's document; every field in error is named at once (the
    form shows each under its field)."""
    problems: dict[str, str] = {}

    def checked(key: str, check):
        try:
            return check()
        except ValidationError as error:
            problems[error.field or key] = error.message
            return None

    doc = {"name": checked("name", lambda: m.text(values.get("name"), "name")),
           "iban": checked("iban", lambda: m.iban(values["iban"]) if values.get("iban") else ""),
           "bic": checked("bic", lambda: m.bic(values.get("bic"))),
           "email": checked("email", lambda: m.text(values.get("email"), "email", required=False)),
           "address": checked("address", lambda: m.text(values.get("address"), "address", required=False,
                                                         limit=400))}
    terms = values.get("terms_days")
    try:
        terms = int(terms) if terms not in (None, "") else 30
    except (TypeError, ValueError):
        problems["terms_days"] = _("{value!r} is not a number of days").format(value=str(terms)[:20])
    else:
        if not 0 <= terms <= 365:
            problems["terms_days"] = _("between 0 and 365 days")
    if problems:
        raise ValidationError(fields=problems)
    doc["terms_days"] = terms
    return doc


def add_vendor(ctx, values: dict) -> dict:
    ctx.require("accounting.bills.write")
    doc = _vendor_doc(values)
    with ctx.transaction():
        t = ctx.table("vendors")
        if any(v["name"].casefold() == doc["name"].casefold() for v in t.all()):
            raise ValidationError(_("a vendor called {name} exists already").format(name=doc["name"]), field="name")
        doc_id = t.insert({**doc, "created_at": now_utc()})
    return t.get(doc_id)


def update_vendor(ctx, vendor_id, values: dict) -> dict:
    ctx.require("accounting.bills.write")
    with ctx.transaction():
        t = ctx.table("vendors")
        old = _get(t, vendor_id, _("vendor"))
        doc = _vendor_doc({**old, **values})
        return t.update(old["id"], doc)


def vendors(ctx, text: str = "") -> list[dict]:
    ctx.require("accounting.bills.read")
    rows = ctx.table("vendors").find({}, order_by=["name"])
    needle = text.casefold().strip()
    return [v for v in rows if needle in v["name"].casefold()] if needle else rows


def vendor_choices(ctx, text: str) -> list[Choice]:
    """Vendors for a picker: ``text`` ranked against their names, then their
    e-mail; the detail is the e-mail, the IBAN's end and the payment terms."""
    found = rank(text, vendors(ctx), lambda v: v["name"], lambda v: v.get("email") or "")
    return [Choice(v["id"], v["name"], _vendor_detail(v)) for v in found]


def _vendor_detail(v: dict) -> str:
    parts = [v.get("email") or ""]
    if v.get("iban"):
        parts.append("IBAN …" + v["iban"].replace(" ", "")[-4:])
    if v.get("terms_days") is not None:
        parts.append(_("{days} days").format(days=v["terms_days"]))
    return " · ".join(p for p in parts if p)


def vendor(ctx, key) -> dict:
    """A vendor by id or by (unique) name."""
    ctx.require("accounting.bills.read")
    t = ctx.table("vendors")
    if isinstance(key, int) or str(key).strip().isdigit():
        return _get(t, key, _("vendor"))
    hits = [v for v in t.all() if v["name"].casefold() == str(key).strip().casefold()]
    if not hits:
        raise UnknownRecord(_("no vendor called {name!r}").format(name=str(key)[:40]))
    return hits[0]


# ============================================================================ bills
def _bill_lines(ctx, lines) -> tuple[list[dict], Decimal, Decimal]:
    if not isinstance(lines, (list, tuple)) or not lines:
        raise ValidationError(_("a bill needs at least one line"), field="lines")
    if len(lines) > 500:
        raise ValidationError(_("at most 500 lines"), field="lines")
    out, net_total, tax_total = [], Decimal(0), Decimal(0)
    default_rate = ctx.settings.get("tax_rate", Decimal("0.19"))
    for i, line in enumerate(lines, start=1):
        where = f"lines.{i}"
        qty = m.amount(line.get("quantity", 1), where + ".quantity", positive=True, allow_zero=False)
        price = m.amount(line.get("unit_price"), where + ".unit_price", positive=True)
        code = vat.code(line["vat_code"], where + ".vat_code") if line.get("vat_code") not in (None, "") else None
        if code is not None:  # a VAT code: its rate; none on the bill for rc/eu/nt (see approve_bill)
            rate = code.rate or Decimal(0)
        else:
            rate = m.amount(line.get("tax_rate", default_rate) if line.get("tax_rate") not in (None, "")
                            else default_rate, where + ".tax_rate", positive=True)
        if rate > 1:
            raise ValidationError(_("a tax rate is a fraction like 0.19"), field=where + ".tax_rate")
        acc = line.get("account") or account(ctx, "expense")
        try:
            acc = L.check_account_name(acc)
        except L.LedgerError as error:
            raise ValidationError(str(error), field=where + ".account") from None
        net = rnd(ctx, qty * price)
        tax = rnd(ctx, net * rate)
        net_total += net
        tax_total += tax
        out.append({"description": m.text(line.get("description"), where + ".description"),
                    "quantity": f"{qty:f}", "unit_price": f"{price:f}", "tax_rate": f"{rate:f}",
                    "account": acc, "net": mtext(ctx, net), "tax": mtext(ctx, tax),
                    **({"vat_code": code.code} if code is not None else {})})
    return out, net_total, tax_total


def create_bill(ctx, vendor_id, number: str, date, due=None, lines=(), *, order_id=None, cur=None) -> dict:
    """Record a vendor's bill (draft); approvers are told it awaits approval."""
    ctx.require("accounting.bills.write")
    number = m.text(number, "number", limit=60)
    date = m.date(date, "date")
    lines, net, tax = _bill_lines(ctx, list(lines))
    cur = str(cur or currency(ctx)).upper()
    with ctx.transaction():
        vendors_t, bills = ctx.table("vendors"), ctx.table("bills")
        v = _get(vendors_t, vendor_id, _("vendor"))
        due = m.date(due, "due", required=False) or \
            (dt.date.fromisoformat(date) + dt.timedelta(days=v.get("terms_days", 30))).isoformat()
        if due < date:
            raise ValidationError(_("the due date is before the bill date"), field="due")
        if any(b["number"].casefold() == number.casefold() for b in bills.find({"vendor_id": v["id"]})):
            raise ValidationError(_("{vendor} already has a bill numbered {number}").format(
                vendor=v["name"], number=number), field="number")
        total = net + tax
        doc_id = bills.insert({"vendor_id": v["id"], "number": number, "date": date, "due": due, "lines": lines,
                               "currency": cur, "net": mtext(ctx, net), "tax": mtext(ctx, tax),
                               "total": mtext(ctx, total), "paid": mtext(ctx, 0), "status": "draft",
                               "order_id": None, "match_flags": [], "created_at": now_utc(),
                               "created_by": ctx.operator.account})
        if order_id not in (None, ""):
            _match(ctx, doc_id, order_id)
        ctx.publish("bill_awaiting_approval", {"bill_id": doc_id, "vendor_id": v["id"],
                                               "amount": mtext(ctx, total), "currency": cur})
        for login in approvers(ctx):
            if login != ctx.operator.account:
                ctx.services.notifications.notify(
                    login, _("Bill {number} from {vendor} ({amount} {cur}) awaits your approval").format(
                        number=number, vendor=v["name"], amount=m.number_text(total, m.places(ctx)), cur=cur),
                    kind="approval", link="accounting.bills")
    return bills.get(doc_id)


def bills(ctx, *, status=None, due_by=None, vendor_id=None) -> list[dict]:
    ctx.require("accounting.bills.read")
    where: dict = {}
    if status:
        from core.storage import AnyOf

        where["status"] = AnyOf([status] if isinstance(status, str) else list(status))
    if due_by:
        from core.storage import Range

        where["due"] = Range(le=m.date(due_by, "due_by"))
    if vendor_id is not None:
        where["vendor_id"] = int(vendor_id)
    return ctx.table("bills").find(where, order_by=["due", "id"])


def open_amount(bill: dict) -> Decimal:
    return L.to_decimal(bill["total"]) - L.to_decimal(bill["paid"])


def bill_rows(ctx, rows: list[dict]) -> list[dict]:
    names = {v["id"]: v["name"] for v in ctx.table("vendors").all()}
    return [{**b, "vendor": names.get(b["vendor_id"], "?"),
             "status_text": m.label(m.BILL_STATUSES, b["status"]),
             "open": open_amount(b), "total_dec": L.to_decimal(b["total"]),
             "flag": "!" if b.get("match_flags") else ""} for b in rows]


def approve_bill(ctx, bill_id) -> dict:
    """Approve a draft bill: it is posted (expenses and input VAT against payables)."""
    ctx.require("accounting.bills.approve")
    with ctx.transaction():
        t = ctx.table("bills")
        b = _get(t, bill_id, _("bill"))
        if b["status"] != "draft":
            raise ValidationError(_("bill {number} is {status}, not a draft").format(
                number=b["number"], status=m.label(m.BILL_STATUSES, b["status"])))
        v = ctx.table("vendors").get(b["vendor_id"]) or {"name": "?"}
        by_account: dict[str, Decimal] = {}
        for line in b["lines"]:
            by_account[line["account"]] = by_account.get(line["account"], Decimal(0)) + L.to_decimal(line["net"])
        postings = [{"account": a, "amount": mtext(ctx, v_), "currency": b["currency"]} for a, v_ in by_account.items()]
        if L.to_decimal(b["tax"]):
            postings.append({"account": account(ctx, "input_vat"), "amount": b["tax"], "currency": b["currency"]})
        postings.append({"account": account(ctx, "payables"), "amount": mtext(ctx, -L.to_decimal(b["total"])),
                         "currency": b["currency"]})
        postings += acquisition_postings(ctx, b)
        entry = _post(ctx, b["date"], f"{v['name']}: bill {b['number']}", postings, source="bill",
                      ref={"bill_id": b["id"]})
        return t.update(b["id"], {"status": "approved", "approved_by": ctx.operator.account,
                                  "approved_at": now_utc(), "entry": entry["number"]})


def acquisition_postings(ctx, b: dict) -> list[dict]:
    """The VAT a bill's reverse-charge (§ 13b) and intra-EU acquisition
    lines make the office owe, and its deduction as input VAT: both at
    ``vat.ACQUISITION_RATE`` on the sum of each code's nets."""
    roles = {**vat.ACCOUNTS, **(ctx.settings.get("accounts") or {})}
    out = []
    for key in ("rc", "eu"):
        net = sum((L.to_decimal(x["net"]) for x in b["lines"] if x.get("vat_code") == key), Decimal(0))
        tax = rnd(ctx, net * vat.ACQUISITION_RATE)
        if tax:
            out += [{"account": roles["input_vat_" + key], "amount": mtext(ctx, tax), "currency": b["currency"]},
                    {"account": roles["output_vat_" + key], "amount": mtext(ctx, -tax), "currency": b["currency"]}]
    return out


def _pay(ctx, b: dict, amount: Decimal, date: str, run_id=None, *, statement_line=None,
         bank_account: str | None = None) -> dict:
    """Post a payment of ``b`` against the bank (``bank_account``, the
    ``bank`` account by default; inside the caller's transaction). A bill
    in a payment run is paid only by the bank statement's line
    (``statement_line``), never by hand."""
    if b["status"] == "in_payment" and statement_line is None:
        raise ValidationError(_("bill {number} is sent to the bank in payment run {run}: it is paid when the bank "
                                "statement shows it (or cancel the run)").format(
            number=b["number"], run=_run_number(ctx, b.get("run_id"))))
    if b["status"] not in ("approved", "partly_paid", "in_payment"):
        if b["status"] == "paid":
            raise ValidationError(_("bill {number} is paid already").format(number=b["number"]))
        raise ValidationError(_("bill {number} is not approved: it cannot be paid").format(number=b["number"]))
    open_ = open_amount(b)
    if amount <= 0:
        raise ValidationError(_("must be more than zero"), field="amount")
    if amount > open_:
        raise ValidationError(_("{amount} is more than the {open} still open on bill {number}").format(
            amount=m.number_text(amount, m.places(ctx)), open=m.number_text(open_, m.places(ctx)),
            number=b["number"]), field="amount")
    v = ctx.table("vendors").get(b["vendor_id"]) or {"name": "?"}
    entry = _post(ctx, date, f"{v['name']}: payment of bill {b['number']}",
                  [{"account": account(ctx, "payables"), "amount": mtext(ctx, amount), "currency": b["currency"]},
                   {"account": bank_account or account(ctx, "bank"), "amount": mtext(ctx, -amount),
                    "currency": b["currency"]}],
                  source="payment", ref={"bill_id": b["id"], "run_id": run_id,
                                         **({"statement_line": statement_line} if statement_line else {})})
    ctx.table("payments").insert({"bill_id": b["id"], "vendor_id": b["vendor_id"], "amount": mtext(ctx, amount),
                                  "currency": b["currency"], "date": date, "entry": entry["number"],
                                  "run_id": run_id, "statement_line": statement_line, "at": now_utc(),
                                  "by": ctx.operator.account})
    paid = L.to_decimal(b["paid"]) + amount
    status = "paid" if paid >= L.to_decimal(b["total"]) else "partly_paid"
    return ctx.table("bills").update(b["id"], {"paid": mtext(ctx, paid), "status": status,
                                               **({"run_id": None} if b["status"] == "in_payment" else {})})


def _run_number(ctx, run_id) -> str:
    run = ctx.table("payment_runs").get(int(run_id)) if run_id else None
    return str(run["number"]) if run else "?"


def pay_bill(ctx, bill_id, amount=None, date=None) -> dict:
    """Pay a bill in full (no amount) or in part; posted against the bank."""
    ctx.require("accounting.bills.pay")
    date = m.date(date or today().isoformat(), "date")
    with ctx.transaction():
        b = _get(ctx.table("bills"), bill_id, _("bill"))
        if amount is None:
            value = open_amount(b)
        elif isinstance(amount, str) and not amount.strip():
            raise ValidationError(_("the amount is empty: give one, or leave it out to pay what is open"),
                                  field="amount")
        else:
            value = money(ctx, amount, "amount", positive=True, allow_zero=False)
        return _pay(ctx, b, value, date)


def ageing(ctx, as_of=None) -> dict:
    """Open payables per ageing bucket (current, 1–30, 31–60, 61–90, over 90 days)."""
    as_of = m.date(as_of or today().isoformat(), "as_of")
    items = [(b["due"], b["currency"], open_amount(b)) for b in bills(ctx, status=["approved", "partly_paid",
                                                                                   "in_payment"])
             if b["date"] <= as_of]
    return L.ageing(items, as_of)


def due_this_week(ctx) -> list[dict]:
    end = (today() + dt.timedelta(days=7)).isoformat()
    return bill_rows(ctx, bills(ctx, status=["draft", "approved", "partly_paid", "in_payment"], due_by=end))


# ============================================================================ purchase orders
def create_order(ctx, vendor_id, lines, date=None, cur=None) -> dict:
    ctx.require("accounting.bills.write")
    if not isinstance(lines, (list, tuple)) or not lines:
        raise ValidationError(_("an order needs at least one line"), field="lines")
    out = []
    for i, line in enumerate(lines, start=1):
        out.append({"item": m.text(line.get("item"), f"lines.{i}.item"),
                    "quantity": f"{m.amount(line.get('quantity'), f'lines.{i}.quantity', positive=True, allow_zero=False):f}",
                    "price": f"{m.amount(line.get('price'), f'lines.{i}.price', positive=True):f}",
                    "received": "0"})
    date = m.date(date or today().isoformat(), "date")
    with ctx.transaction():
        v = _get(ctx.table("vendors"), vendor_id, _("vendor"))
        t = ctx.table("orders")
        number = _next(t, "seq")
        doc_id = t.insert({"seq": number, "number": f"PO-{number:05d}", "vendor_id": v["id"], "date": date,
                           "lines": out, "currency": str(cur or currency(ctx)).upper(), "status": "draft",
                           "bill_id": None, "created_at": now_utc(), "by": ctx.operator.account})
    return t.get(doc_id)


def orders(ctx) -> list[dict]:
    ctx.require("accounting.bills.read")
    return ctx.table("orders").find({}, order_by=["-seq"])


def order_rows(ctx, rows) -> list[dict]:
    names = {v["id"]: v["name"] for v in ctx.table("vendors").all()}
    out = []
    for o in rows:
        total = sum((L.to_decimal(x["quantity"]) * L.to_decimal(x["price"]) for x in o["lines"]), Decimal(0))
        out.append({**o, "vendor": names.get(o["vendor_id"], "?"),
                    "status_text": m.label(m.ORDER_STATUSES, o["status"]),
                    "total": rnd(ctx, total),
                    "items": ", ".join(x["item"] for x in o["lines"])})
    return out


def place_order(ctx, order_id) -> dict:
    ctx.require("accounting.bills.write")
    with ctx.transaction():
        t = ctx.table("orders")
        o = _get(t, order_id, _("purchase order"))
        if o["status"] != "draft":
            raise ValidationError(_("{number} is {status}, not a draft").format(
                number=o["number"], status=m.label(m.ORDER_STATUSES, o["status"])))
        return t.update(o["id"], {"status": "ordered", "ordered_at": now_utc()})


def receive(ctx, order_id, quantities: dict) -> dict:
    """Record goods received: ``{line number (1-based) or item: quantity}``."""
    ctx.require("accounting.bills.write")
    with ctx.transaction():
        t = ctx.table("orders")
        o = _get(t, order_id, _("purchase order"))
        if o["status"] not in ("ordered", "partly_received"):
            raise ValidationError(_("{number} is {status}: nothing to receive").format(
                number=o["number"], status=m.label(m.ORDER_STATUSES, o["status"])))
        lines = [dict(x) for x in o["lines"]]
        for key, qty in quantities.items():
            idx = None
            if str(key).isdigit() and 1 <= int(key) <= len(lines):
                idx = int(key) - 1
            else:
                idx = next((i for i, x in enumerate(lines) if x["item"].casefold() == str(key).casefold()), None)
            if idx is None:
                raise ValidationError(_("{key!r} is not a line of {number}").format(key=str(key)[:40], number=o["number"]),
                                      field="lines")
            q = m.amount(qty, "quantity", positive=True)
            got = L.to_decimal(lines[idx]["received"]) + q
            if got > L.to_decimal(lines[idx]["quantity"]):
                raise ValidationError(_("{item}: receiving {got} of {ordered} ordered").format(
                    item=lines[idx]["item"], got=got, ordered=lines[idx]["quantity"]), field="quantity")
            lines[idx]["received"] = f"{got:f}"
        done = all(L.to_decimal(x["received"]) >= L.to_decimal(x["quantity"]) for x in lines)
        return t.update(o["id"], {"lines": lines, "status": "received" if done else "partly_received"})


def compare(order: dict, bill: dict) -> list[str]:
    """Differences between a bill and its order: quantities against what was
    received, prices against what was ordered, items on one side only."""
    flags = []
    ordered = {x["item"].casefold(): x for x in order["lines"]}
    billed: dict[str, Decimal] = {}
    for line in bill["lines"]:
        key = line["description"].casefold()
        o = ordered.get(key)
        if o is None:
            flags.append(_("{item}: not on order {po}").format(item=line["description"], po=order["number"]))
            continue
        billed[key] = billed.get(key, Decimal(0)) + L.to_decimal(line["quantity"])
        if L.to_decimal(line["unit_price"]) != L.to_decimal(o["price"]):
            flags.append(_("{item}: billed at {billed}, ordered at {ordered}").format(
                item=o["item"], billed=line["unit_price"], ordered=o["price"]))
    for key, qty in billed.items():
        rec = L.to_decimal(ordered[key]["received"])
        if qty != rec:
            flags.append(_("{item}: {billed} billed, {received} received").format(
                item=ordered[key]["item"], billed=f"{qty:f}", received=f"{rec:f}"))
    for key, o in ordered.items():
        if key not in billed and L.to_decimal(o["received"]) > 0:
            flags.append(_("{item}: received but not billed").format(item=o["item"]))
    return flags


def _match(ctx, bill_id, order_id) -> dict:
    bills_t, orders_t = ctx.table("bills"), ctx.table("orders")
    b = _get(bills_t, bill_id, _("bill"))
    o = _get(orders_t, order_id, _("purchase order"))
    if o["vendor_id"] != b["vendor_id"]:
        raise ValidationError(_("{po} is from another vendor").format(po=o["number"]), field="order_id")
    if o["status"] in ("draft",):
        raise ValidationError(_("{po} has not been ordered").format(po=o["number"]), field="order_id")
    if o.get("bill_id") not in (None, b["id"]):
        raise ValidationError(_("{po} is matched to another bill already").format(po=o["number"]), field="order_id")
    flags = compare(o, b)
    orders_t.update(o["id"], {"status": "billed", "bill_id": b["id"]})
    return bills_t.update(b["id"], {"order_id": o["id"], "order_number": o["number"], "match_flags": flags})


def match_bill(ctx, bill_id, order_id) -> dict:
    """Match a bill to its purchase order; differences are stored on the bill."""
    ctx.require("accounting.bills.write")
    with ctx.transaction():
        return _match(ctx, bill_id, order_id)
