"""Customers and the invoices the office sends: drafts, issuing with the
content § 14 Abs. 4 UStG asks for, credit notes.

No Textual here; the CLI and the screens both call these functions, and
every permission is checked here.

Numbers: an invoice gets its number when it is issued, in the transaction
that posts it; the number is one more than the highest issued so far (the
store-wide write lock makes the read and the insert one step across
processes), so the series has no gap and no number twice, and a refused
issue leaves no trace. Credit notes take their numbers from the same
series.

Posting on issue: the gross to ``assets:receivables``, each VAT code's net
to its own income account and its VAT to its own output VAT account
(``vat.ACCOUNTS``); a credit note posts the mirror image.

Amounts are stored as decimal strings (positive on credit notes too: the
``kind`` says which way they count).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat

from core.services.audit import now_utc
from core.services.choices import Choice, rank
from core.errors import UnknownRecord, ValidationError
from core.i18n import N_, date_text, today
from core.storage import AnyOf, Range
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import service as svc
from plugins.accounting import vat
from plugins.accounting.models import _
from plugins.accounting.setting_rules import COMPANY_KEYS

#: the member states whose VAT IDs python-stdnum checks ("EL" is Greece's prefix, "XI" Northern Ireland's)
EU_PREFIXES = frozenset(eu_vat.MEMBER_STATES) | {"el", "xi"}
EU_COUNTRIES = frozenset(c.upper() for c in eu_vat.MEMBER_STATES if c not in ("el",)) | {"GR"}

INVOICE_STATUSES = {"draft": N_("draft"), "open": N_("open"), "partly_paid": N_("partly paid"),
                    "paid": N_("paid"), "credited": N_("credited"),
                    "issued": N_("issued")}
KINDS = {"invoice": N_("invoice"), "credit_note": N_("credit note")}

MAX_LINES = 500


# ============================================================================ helpers
def account(ctx, role: str) -> str:
    """The account of a VAT/invoicing role (``vat.ACCOUNTS``), as the
    ``accounts`` setting may rename it."""
    return {**vat.ACCOUNTS, **(ctx.settings.get("accounts") or {})}[role]


def vat_id(value, field: str = "vat_id", *, country: str | None = None) -> str:
    """A VAT ID in its compact form ("DE136695976"), "" for none.

    An EU VAT ID (its first two letters a member state's) must pass
    python-stdnum's format and check-digit test; a customer outside the EU
    may have another tax number, kept as typed."""
    raw = str(value or "").strip()
    if not raw:
        return ""
    m.text(raw, field, limit=40)
    prefix = raw[:2].lower()
    if prefix in EU_PREFIXES:
        try:
            return eu_vat.validate(raw)
        except stdnum_errors.InvalidChecksum:
            raise ValidationError(_("the VAT ID {value} has a wrong check digit").format(value=raw[:40]),
                                  field=field) from None
        except stdnum_errors.ValidationError:
            raise ValidationError(_("{value!r} is not a VAT ID (like DE136695976)").format(value=raw[:40]),
                                  field=field) from None
    if country is None or country in EU_COUNTRIES:
        raise ValidationError(_("{value!r} is not a VAT ID: it starts with the country code (like DE136695976)").format(
            value=raw[:40]), field=field)
    return " ".join(raw.split())


def country(value, field: str = "country") -> str:
    s = str(value or "DE").strip().upper()
    if len(s) != 2 or not s.isalpha() or not s.isascii():
        raise ValidationError(_("{value!r} is not a country code (like DE)").format(value=str(value)[:10]),
                              field=field)
    return s


def _days(value, field: str, default: int) -> int:
    try:
        days = int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        raise ValidationError(_("{value!r} is not a number of days").format(value=str(value)[:20]),
                              field=field) from None
    if not 0 <= days <= 365:
        raise ValidationError(_("between 0 and 365 days"), field=field)
    return days


def _get(table, key, what: str) -> dict:
    try:
        doc = table.get(int(key))
    except (TypeError, ValueError):
        doc = None
    if doc is None:
        raise UnknownRecord(_("no {what} with id {id}").format(what=what, id=str(key)[:40]))
    return doc


# ============================================================================ the seller
def company(ctx) -> dict:
    """The seller as the invoices name it: the ``company`` setting, the
    site's name where it gives none."""
    cfg = dict(ctx.settings.get("company") or {})
    if not cfg.get("name"):
        cfg["name"] = getattr(getattr(ctx.config, "site", None), "name", "") or ""
    return {k: str(cfg.get(k) or "") for k in COMPANY_KEYS} | {"country": str(cfg.get("country") or "DE").upper()}


def _seller_for_issue(ctx) -> dict:
    seller = company(ctx)
    if not seller["name"] or not (seller["street"] and seller["postcode"] and seller["city"]):
        raise ValidationError(_("the company's name and address are missing (settings: accounting company: "
                                "name, street, postcode, city)"), field="company")
    if not (seller["tax_number"] or seller["vat_id"]):
        raise ValidationError(_("an invoice names the company's tax number or VAT ID: set company tax_number or "
                                "vat_id in the accounting settings"), field="company")
    return seller


# ============================================================================ customers
#: what the customer's ``xrechnung`` field may say: no XML beside the PDF, or XRechnung in CII / UBL
XRECHNUNG = ("", "cii", "ubl")
_EMAIL = re.compile(r"[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+")
_FAX = re.compile(r"\+?[0-9 ()./-]{3,30}")


def check_email(value, field: str = "email") -> str:
    value = str(value or "").strip()
    if not _EMAIL.fullmatch(value) or len(value) > 254:
        raise ValidationError(_("not a valid email address: {value!r}").format(value=value[:60]), field=field)
    return value


def check_fax(value, field: str = "fax") -> str:
    """A dialable fax number (digits, an optional +; spaces, dashes, dots,
    slashes and brackets are dropped): 3 to 20 digits."""
    raw = str(value or "").strip()
    digits = re.sub(r"[ ()./-]", "", raw)
    if not _FAX.fullmatch(raw) or not re.fullmatch(r"\+?\d{3,20}", digits):
        raise ValidationError(_("not a valid fax number: {value!r}").format(value=raw[:40]), field=field)
    return digits


def check_xrechnung_choice(value) -> str:
    value = str(value or "").strip().lower()
    if value in ("none", "no", "-"):
        value = ""
    if value not in XRECHNUNG:
        raise ValidationError(_("must be cii, ubl or empty"), field="xrechnung")
    return value


CUSTOMER_FIELDS = ("name", "street", "postcode", "city", "country", "vat_id", "email", "fax", "terms_days",
                   "buyer_reference", "xrechnung")


def _customer_doc(values: dict) -> dict:
    ctry = country(values.get("country"))
    return {"name": m.text(values.get("name"), "name"),
            "street": m.text(values.get("street"), "street", required=False),
            "postcode": m.text(values.get("postcode"), "postcode", required=False, limit=20),
            "city": m.text(values.get("city"), "city", required=False, limit=80),
            "country": ctry,
            "vat_id": vat_id(values.get("vat_id"), country=ctry),
            "email": check_email(values["email"]) if (values.get("email") or "").strip() else "",
            "fax": check_fax(values["fax"]) if (values.get("fax") or "").strip() else "",
            "xrechnung": check_xrechnung_choice(values.get("xrechnung")),
            "terms_days": _days(values.get("terms_days"), "terms_days", 14),
            "buyer_reference": m.text(values.get("buyer_reference"), "buyer_reference", required=False, limit=100)}


def add_customer(ctx, values: dict) -> dict:
    """Add a customer; the name must be new, a VAT ID must pass its check."""
    ctx.require("accounting.invoices.write")
    doc = _customer_doc(values)
    with ctx.transaction():
        t = ctx.table("customers")
        if any(c["name"].casefold() == doc["name"].casefold() for c in t.all()):
            raise ValidationError(_("a customer called {name} exists already").format(name=doc["name"]),
                                  field="name")
        number = svc._next(t, "number")
        doc_id = t.insert({**doc, "number": number, "created_at": now_utc(), "created_by": ctx.operator.account})
    return t.get(doc_id)


def update_customer(ctx, customer_id, values: dict) -> dict:
    ctx.require("accounting.invoices.write")
    with ctx.transaction():
        t = ctx.table("customers")
        old = _get(t, customer_id, _("customer"))
        doc = _customer_doc({**old, **values})
        if any(c["name"].casefold() == doc["name"].casefold() and c["id"] != old["id"] for c in t.all()):
            raise ValidationError(_("a customer called {name} exists already").format(name=doc["name"]),
                                  field="name")
        return t.update(old["id"], doc)


def customers(ctx, text: str = "") -> list[dict]:
    ctx.require("accounting.invoices.read")
    rows = ctx.table("customers").find({}, order_by=["name"])
    needle = str(text or "").casefold().strip()
    return [c for c in rows if needle in c["name"].casefold()] if needle else rows


def customer_choices(ctx, text: str) -> list[Choice]:
    """Customers for a picker: ``text`` ranked against their names, then
    their city and VAT ID; the detail is the city, the VAT ID and the buyer
    reference (Leitweg-ID)."""
    found = rank(text, customers(ctx), lambda c: c["name"],
                 lambda c: " ".join(x for x in (c.get("city"), c.get("vat_id")) if x))
    return [Choice(c["id"], c["name"], " · ".join(x for x in (
        " ".join(x for x in (c.get("postcode"), c.get("city")) if x), c.get("vat_id"),
        c.get("buyer_reference")) if x)) for c in found]


def customer(ctx, key) -> dict:
    """A customer by id or by (unique, case-blind) name."""
    ctx.require("accounting.invoices.read")
    t = ctx.table("customers")
    if isinstance(key, int) or str(key).strip().isdigit():
        return _get(t, key, _("customer"))
    hits = [c for c in t.all() if c["name"].casefold() == str(key).strip().casefold()]
    if not hits:
        raise UnknownRecord(_("no customer called {name!r}").format(name=str(key)[:40]))
    return hits[0]


def address_lines(party: dict) -> list[str]:
    """A customer's or the company's postal address, line by line."""
    city = " ".join(x for x in (party.get("postcode"), party.get("city")) if x)
    out = [x for x in (party.get("street"), city) if x]
    if party.get("country") and party.get("country") != "DE":
        out.append(party["country"])
    return out


# ============================================================================ lines and totals
def compute_lines(ctx, lines) -> tuple[list[dict], list[dict], dict]:
    """Checked lines, the VAT breakdown per code and the totals.

    A line: description, quantity (default 1), unit_price (net), vat_code
    (default "19"), unit (a UN/ECE rec. 20 code, default C62 "one").
    Each line's net is rounded to the books' places; the VAT of a code is
    its rate on the sum of its lines' nets (EN 16931 BR-CO-17), so the
    breakdown is what an e-invoice states."""
    if not isinstance(lines, (list, tuple)) or not lines:
        raise ValidationError(_("an invoice needs at least one line"), field="lines")
    if len(lines) > MAX_LINES:
        raise ValidationError(_("at most {n} lines").format(n=MAX_LINES), field="lines")
    out = []
    for i, line in enumerate(lines, start=1):
        where = f"lines.{i}"
        if not isinstance(line, dict):
            raise ValidationError(_("line {n} is not a line").format(n=i), field="lines")
        qty = m.amount(line.get("quantity", 1) if line.get("quantity") not in (None, "") else 1,
                       where + ".quantity", positive=True, allow_zero=False)
        price = svc.money(ctx, line.get("unit_price"), where + ".unit_price", positive=True)
        vc = vat.code(line.get("vat_code"), where + ".vat_code")
        unit = str(line.get("unit") or "C62").strip().upper()
        if not unit.isalnum() or len(unit) > 3:
            raise ValidationError(_("{value!r} is not a unit code (like C62, HUR, DAY)").format(value=unit[:10]),
                                  field=where + ".unit")
        net = svc.rnd(ctx, qty * price)
        out.append({"description": m.text(line.get("description"), where + ".description"),
                    "quantity": f"{qty:f}", "unit": unit, "unit_price": f"{price:f}", "vat_code": vc.code,
                    "net": svc.mtext(ctx, net)})
    breakdown: dict[str, Decimal] = {}
    for line in out:
        breakdown[line["vat_code"]] = breakdown.get(line["vat_code"], Decimal(0)) + L.to_decimal(line["net"])
    rows, net_total, tax_total = [], Decimal(0), Decimal(0)
    for key in vat.CODES:  # in the codes' order
        if key not in breakdown:
            continue
        vc = vat.CODES[key]
        net = breakdown[key]
        tax = svc.rnd(ctx, net * vc.rate) if vc.rate else Decimal(0)
        rows.append({"vat_code": key, "category": vc.category, "rate": f"{(vc.rate or 0) * 100:f}".rstrip("0").rstrip(".")
                     if vc.rate else "0", "net": svc.mtext(ctx, net), "tax": svc.mtext(ctx, tax)})
        net_total += net
        tax_total += tax
    totals = {"net": svc.mtext(ctx, net_total), "tax": svc.mtext(ctx, tax_total),
              "total": svc.mtext(ctx, net_total + tax_total)}
    return out, rows, totals


# ============================================================================ invoices
def parse_line(raw: str, n: int) -> dict:
    """``description; quantity; unit price[; VAT code[; unit]]`` → a line."""
    parts = [p.strip() for p in str(raw).split(";")]
    if len(parts) < 3 or len(parts) > 5:
        raise ValidationError(_("line {n}: write description; quantity; unit price[; VAT code[; unit]]").format(n=n),
                              field="lines")
    line = {"description": parts[0], "quantity": parts[1], "unit_price": parts[2]}
    if len(parts) > 3 and parts[3]:
        line["vat_code"] = parts[3]
    if len(parts) > 4 and parts[4]:
        line["unit"] = parts[4]
    return line


def lines_preview(ctx, text: str) -> str:
    """Lines typed on the invoice form as they will be invoiced: each with
    its net and VAT code, then the VAT per code and the total — or the
    first line's problem, in words."""
    try:
        lines, breakdown, totals = compute_lines(ctx, parse_lines(text or ""))
    except ValidationError as error:
        return error.message
    places = m.places(ctx)
    out = []
    for i, line in enumerate(lines, start=1):
        out.append(_("{n}. {description}: {quantity} × {price} = {net} · {code}").format(
            n=i, description=line["description"], quantity=f"{L.to_decimal(line['quantity']).normalize():f}",
            price=m.number_text(line["unit_price"], places), net=m.number_text(line["net"], places),
            code=_(vat.CODES[line["vat_code"]].title)))
    for row in breakdown:
        out.append(_("{code}: net {net}, VAT {tax}").format(code=_(vat.CODES[row["vat_code"]].title),
                                                           net=m.number_text(row["net"], places),
                                                           tax=m.number_text(row["tax"], places)))
    out.append(_("Total {total}").format(total=m.number_text(totals["total"], places)))
    return "\n".join(out)


def parse_lines(text_or_list) -> list[dict]:
    """Lines typed one a line (a form) or given one per option (the CLI)."""
    raw = text_or_list.splitlines() if isinstance(text_or_list, str) else list(text_or_list)
    return [parse_line(x, i) for i, x in enumerate(raw, start=1) if str(x).strip()]


def _dates(issue_date, delivery_date, delivery_end) -> tuple[str, str, str | None]:
    issued = m.date(issue_date or today().isoformat(), "date")
    if delivery_date in (None, ""):
        raise ValidationError(_("an invoice states when the goods were delivered or the service done "
                                "(§ 14 Abs. 4 Nr. 6 UStG): give a delivery date"), field="delivery_date")
    delivered = m.date(delivery_date, "delivery_date")
    end = m.date(delivery_end, "delivery_end", required=False)
    if end and end < delivered:
        raise ValidationError(_("the delivery period ends before it starts"), field="delivery_end")
    return issued, delivered, end


def _check_customer_for(vcs, cust: dict) -> None:
    for vc in vcs:
        if vc.needs_customer_vat_id and not cust.get("vat_id"):
            raise ValidationError(_("{customer} has no VAT ID: an intra-EU supply names the customer's VAT ID").format(
                customer=cust["name"]), field="vat_code")
        if vc.code == "eu" and cust.get("country") == "DE":
            raise ValidationError(_("{customer} is in Germany: an intra-EU supply goes to another member state").format(
                customer=cust["name"]), field="vat_code")


def create_invoice(ctx, customer_key, lines, *, delivery_date=None, delivery_end=None, date=None, due=None,
                   note: str = "", cur=None, issue: bool = False) -> dict:
    """A draft invoice for a customer (``issue=True``: issued at once, in the
    same transaction). The delivery date is required (§ 14 Abs. 4 Nr. 6 UStG)."""
    ctx.require("accounting.invoices.write")
    if issue:
        ctx.require("accounting.invoices.issue")
    issued, delivered, end = _dates(date, delivery_date, delivery_end)
    lines, breakdown, totals = compute_lines(ctx, lines)
    note = m.text(note, "note", required=False, limit=1000)
    cur = str(cur or svc.currency(ctx)).upper()
    with ctx.transaction():
        cust = customer(ctx, customer_key)
        _check_customer_for({vat.CODES[line["vat_code"]] for line in lines}, cust)
        due = m.date(due, "due", required=False) or \
            (dt.date.fromisoformat(issued) + dt.timedelta(days=cust.get("terms_days", 14))).isoformat()
        if due < issued:
            raise ValidationError(_("the due date is before the invoice date"), field="due")
        t = ctx.table("invoices")
        doc_id = t.insert({"kind": "invoice", "number": None, "seq": None, "customer_id": cust["id"],
                           "date": issued, "delivery_date": delivered, "delivery_end": end, "due": due,
                           "lines": lines, "breakdown": breakdown, **totals, "currency": cur, "note": note,
                           "paid": svc.mtext(ctx, 0), "credited": svc.mtext(ctx, 0), "status": "draft",
                           "corrects": None, "entry": None, "created_at": now_utc(),
                           "created_by": ctx.operator.account})
        if issue:
            return _issue(ctx, t.get(doc_id))
    return t.get(doc_id)


def _draft(t, invoice_id) -> dict:
    inv = _get(t, invoice_id, _("invoice"))
    if inv["status"] != "draft":
        raise ValidationError(_("invoice {number} is issued: it stays, a credit note corrects it").format(
            number=inv["number"]))
    return inv


def update_draft(ctx, invoice_id, *, lines=None, delivery_date=None, delivery_end=None, date=None, due=None,
                 note=None) -> dict:
    """Change a draft (issued invoices are changed only by a credit note)."""
    ctx.require("accounting.invoices.write")
    with ctx.transaction():
        t = ctx.table("invoices")
        inv = _draft(t, invoice_id)
        issued, delivered, end = _dates(date or inv["date"], delivery_date or inv["delivery_date"],
                                        delivery_end if delivery_end is not None else inv.get("delivery_end"))
        changes = {"date": issued, "delivery_date": delivered, "delivery_end": end}
        if lines is not None:
            new_lines, breakdown, totals = compute_lines(ctx, lines)
            _check_customer_for({vat.CODES[x["vat_code"]] for x in new_lines},
                                ctx.table("customers").get(inv["customer_id"]) or {})
            changes.update({"lines": new_lines, "breakdown": breakdown, **totals})
        if due is not None:
            changes["due"] = m.date(due, "due")
        if note is not None:
            changes["note"] = m.text(note, "note", required=False, limit=1000)
        return t.update(inv["id"], changes)


def _next_number(ctx) -> tuple[int, str]:
    """The next number of the series; call inside the transaction that stores it."""
    t = ctx.table("invoices")
    last = t.find({"seq": Range(ge=1)}, order_by=["-seq"], limit=1)
    seq = last[0]["seq"] + 1 if last else 1
    prefix = str(ctx.settings.get("invoice_prefix", "RE-"))
    return seq, f"{prefix}{seq:05d}"


def _postings(ctx, inv: dict, sign: int) -> list[dict]:
    """The entry of an invoice (sign 1) or a credit note (sign -1)."""
    cur = inv["currency"]
    total = L.to_decimal(inv["total"])
    postings = [{"account": account(ctx, "receivables"), "amount": svc.mtext(ctx, sign * total), "currency": cur}]
    for row in inv["breakdown"]:
        income, tax_acc = vat.sales_accounts(vat.CODES[row["vat_code"]], lambda r: account(ctx, r))
        postings.append({"account": income, "amount": svc.mtext(ctx, -sign * L.to_decimal(row["net"])),
                         "currency": cur})
        if tax_acc and L.to_decimal(row["tax"]):
            postings.append({"account": tax_acc, "amount": svc.mtext(ctx, -sign * L.to_decimal(row["tax"])),
                             "currency": cur})
    return postings


def _issue(ctx, inv: dict) -> dict:
    """Number, snapshot and post a draft (inside the caller's transaction)."""
    if inv["status"] != "draft":
        raise ValidationError(_("invoice {number} is issued already").format(number=inv["number"]))
    seller = _seller_for_issue(ctx)
    cust = ctx.table("customers").get(inv["customer_id"])
    if cust is None:
        raise UnknownRecord(_("no customer with id {id}").format(id=inv["customer_id"]))
    if not cust.get("street") or not cust.get("city"):
        raise ValidationError(_("{customer} has no address: an invoice names the customer's address").format(
            customer=cust["name"]), field="customer")
    _check_customer_for({vat.CODES[x["vat_code"]] for x in inv["lines"]}, cust)
    if any(vat.CODES[x["vat_code"]].category in ("K", "AE") for x in inv["lines"]) and not seller["vat_id"]:
        raise ValidationError(_("a reverse-charge or intra-EU invoice names the company's VAT ID: set company "
                                "vat_id in the accounting settings"), field="vat_code")
    seq, number = _next_number(ctx)
    kind_word = _("Credit note") if inv["kind"] == "credit_note" else _("Invoice")
    entry = svc._post(ctx, inv["date"], f"{cust['name']}: {kind_word} {number}",
                      _postings(ctx, inv, -1 if inv["kind"] == "credit_note" else 1),
                      source=inv["kind"], ref={"invoice_id": inv["id"]})
    buyer = {k: cust.get(k, "") for k in CUSTOMER_FIELDS if k != "terms_days"}
    status = "open" if inv["kind"] == "invoice" else "issued"
    return ctx.table("invoices").update(inv["id"], {
        "seq": seq, "number": number, "seller": seller, "buyer": buyer, "status": status,
        "entry": entry["number"], "issued_at": now_utc(), "issued_by": ctx.operator.account})


def issue_invoice(ctx, invoice_id) -> dict:
    """Issue a draft: it gets the next number of the series and is posted
    (receivables against income and output VAT per VAT code)."""
    ctx.require("accounting.invoices.issue")
    with ctx.transaction():
        inv = _get(ctx.table("invoices"), invoice_id, _("invoice"))
        result = _issue(ctx, inv)
    ctx.publish("invoice_issued", {"invoice_id": result["id"], "number": result["number"],
                                   "total": result["total"], "currency": result["currency"]})
    return result


def delete_draft(ctx, invoice_id) -> None:
    ctx.require("accounting.invoices.write")
    with ctx.transaction():
        t = ctx.table("invoices")
        t.delete(_draft(t, invoice_id)["id"])


def open_amount(inv: dict) -> Decimal:
    """What the customer still owes on an issued invoice, dunning fees and
    interest on late payment included (negative: owed to them)."""
    if inv["kind"] != "invoice" or inv["status"] == "draft":
        return Decimal(0)
    return L.to_decimal(inv["total"]) + L.to_decimal(inv.get("fees") or "0") - L.to_decimal(inv["credited"]) \
        - L.to_decimal(inv["paid"])


def status_after(inv: dict) -> str:
    """The status of an issued invoice from what was paid and credited."""
    total, credited, paid = (L.to_decimal(inv[k]) for k in ("total", "credited", "paid"))
    if credited >= total:
        return "credited"
    if open_amount(inv) <= 0:
        return "paid"
    return "partly_paid" if paid > 0 else "open"


def credit_note(ctx, invoice_key, lines=None, *, reason: str, date=None) -> dict:
    """Issue a credit note against an issued invoice: the whole invoice
    (no ``lines``) or the lines given, never more than the invoice still
    has uncredited (per VAT code and in total). It takes the next number,
    posts the mirror image and lowers what the customer owes."""
    ctx.require("accounting.invoices.issue")
    reason = m.text(reason, "reason", limit=500)
    issued = m.date(date or today().isoformat(), "date")
    with ctx.transaction():
        t = ctx.table("invoices")
        inv = invoice(ctx, invoice_key)
        if inv["kind"] != "invoice" or inv["status"] == "draft":
            raise ValidationError(_("{what} is not an issued invoice").format(
                what=inv.get("number") or _("draft {id}").format(id=inv["id"])), field="invoice")
        if issued < inv["date"]:
            raise ValidationError(_("the credit note is dated before invoice {number}").format(
                number=inv["number"]), field="date")
        # what the earlier credit notes took, per VAT code
        taken: dict[str, Decimal] = {}
        for cn in t.find({"corrects": inv["id"], "kind": "credit_note"}):
            for row in cn["breakdown"]:
                taken[row["vat_code"]] = taken.get(row["vat_code"], Decimal(0)) + L.to_decimal(row["net"])
        have = {row["vat_code"]: L.to_decimal(row["net"]) for row in inv["breakdown"]}
        if lines is None and not taken:  # the whole invoice, line by line
            lines = [{k: x[k] for k in ("description", "quantity", "unit", "unit_price", "vat_code")}
                     for x in inv["lines"]]
        elif lines is None:  # what is left of it, a line per VAT code
            lines = [{"description": _("Rest of invoice {number}").format(number=inv["number"]),
                      "unit_price": f"{have[code] - taken.get(code, Decimal(0)):f}", "vat_code": code}
                     for code in have if have[code] > taken.get(code, Decimal(0))]
            if not lines:
                raise ValidationError(_("invoice {number} is credited in full already").format(number=inv["number"]),
                                      field="invoice")
        new_lines, breakdown, totals = compute_lines(ctx, lines)
        for row in breakdown:
            left = have.get(row["vat_code"], Decimal(0)) - taken.get(row["vat_code"], Decimal(0))
            if L.to_decimal(row["net"]) > left:
                raise ValidationError(_("the credit note ({amount} net at {code}) is larger than what invoice "
                                        "{number} has left to credit ({left})").format(
                    amount=m.number_text(row["net"], m.places(ctx)), code=row["vat_code"], number=inv["number"],
                    left=m.number_text(left, m.places(ctx))), field="lines")
        credited = L.to_decimal(inv["credited"]) + L.to_decimal(totals["total"])
        if credited > L.to_decimal(inv["total"]):
            raise ValidationError(_("the credit note is larger than invoice {number}").format(number=inv["number"]),
                                  field="lines")
        doc_id = t.insert({"kind": "credit_note", "number": None, "seq": None, "customer_id": inv["customer_id"],
                           "date": issued, "delivery_date": inv["delivery_date"],
                           "delivery_end": inv.get("delivery_end"), "due": issued, "lines": new_lines,
                           "breakdown": breakdown, **totals, "currency": inv["currency"], "note": reason,
                           "paid": svc.mtext(ctx, 0), "credited": svc.mtext(ctx, 0), "status": "draft",
                           "corrects": inv["id"], "corrects_number": inv["number"], "corrects_date": inv["date"],
                           "entry": None, "created_at": now_utc(), "created_by": ctx.operator.account})
        note = _issue(ctx, t.get(doc_id))
        after = {**inv, "credited": svc.mtext(ctx, credited)}
        t.update(inv["id"], {"credited": after["credited"], "status": status_after(after)})
    return note


def invoices(ctx, *, status=None, customer_id=None, kind=None) -> list[dict]:
    """Invoices and credit notes, newest number first (drafts first of all)."""
    ctx.require("accounting.invoices.read")
    where: dict = {}
    if status:
        where["status"] = AnyOf([status] if isinstance(status, str) else list(status))
    if customer_id is not None:
        where["customer_id"] = int(customer_id)
    if kind:
        where["kind"] = kind
    return ctx.table("invoices").find(where, order_by=["-seq", "-id"])


def invoice(ctx, key) -> dict:
    """An invoice or credit note by its number ("RE-00012") or its id."""
    ctx.require("accounting.invoices.read")
    t = ctx.table("invoices")
    s = str(key).strip()
    hits = t.find({"number": s}, limit=1) if s else []
    if hits:
        return hits[0]
    if s.isdigit():
        return _get(t, s, _("invoice"))
    raise UnknownRecord(_("no invoice numbered {number!r}").format(number=s[:40]))


def invoice_rows(ctx, rows: list[dict]) -> list[dict]:
    """Rows for tables: the customer's name, the status in words, what is open."""
    names = {c["id"]: c["name"] for c in ctx.table("customers").all()}
    out = []
    for r in rows:
        out.append({**r, "customer": (r.get("buyer") or {}).get("name") or names.get(r["customer_id"], "?"),
                    "number_text": r["number"] or _("(draft {id})").format(id=r["id"]),
                    "kind_text": m.label(KINDS, r["kind"]),
                    "status_text": m.label(INVOICE_STATUSES, r["status"]),
                    "open": open_amount(r), "total_dec": L.to_decimal(r["total"])})
    return out


def invoice_text(ctx, inv: dict) -> str:
    """An invoice or credit note as plain text with what § 14 Abs. 4 UStG
    asks for: both parties' names and addresses, the company's tax number
    or VAT ID, the date, the number, quantity and kind of what was
    supplied, when, the net per rate, the rate and the VAT, and the note a
    tax-free or reverse-charge supply needs. For the terminal and the CLI;
    stored text is shown as stored, without markup."""
    places = m.places(ctx)
    seller = inv.get("seller") or company(ctx)
    buyer = inv.get("buyer") or ctx.table("customers").get(inv["customer_id"]) or {}
    title = _("Credit note") if inv["kind"] == "credit_note" else _("Invoice")
    out = [f"{title} {inv['number'] or _('(draft {id})').format(id=inv['id'])}", ""]
    out.append(" · ".join([seller.get("name", "")] + address_lines(seller)))
    ids = []
    if seller.get("vat_id"):
        ids.append(_("VAT ID {id}").format(id=seller["vat_id"]))
    if seller.get("tax_number"):
        ids.append(_("Tax number {n}").format(n=seller["tax_number"]))
    if ids:
        out.append(" · ".join(ids))
    out.append("")
    out.append(_("To: {name}").format(name=buyer.get("name", "")))
    out.extend("    " + x for x in address_lines(buyer))
    if buyer.get("vat_id"):
        out.append("    " + _("VAT ID {id}").format(id=buyer["vat_id"]))
    out.append("")
    out.append(_("Date: {date}").format(date=date_text(inv["date"])))
    if inv.get("delivery_end"):
        out.append(_("Delivery: {start} to {end}").format(start=date_text(inv["delivery_date"]),
                                                            end=date_text(inv["delivery_end"])))
    else:
        out.append(_("Delivery: {date}").format(date=date_text(inv["delivery_date"])))
    if inv["kind"] == "credit_note":
        out.append(_("Corrects invoice {number} of {date}").format(number=inv.get("corrects_number"),
                                                                   date=date_text(inv["corrects_date"])
                                                                   if inv.get("corrects_date") else ""))
    else:
        out.append(_("Due: {date}").format(date=date_text(inv["due"])))
    out.append("")
    for i, line in enumerate(inv["lines"], start=1):
        out.append(f"{i:>3} {line['description'][:34]:<34} {m.number_text(line['quantity'], 0, keep_digits=True):>6} "
                   f"× {m.number_text(line['unit_price'], places, keep_digits=True):>10} "
                   f"{m.number_text(line['net'], places):>11} {line['vat_code']:>3}")
    out.append("")
    for row in inv["breakdown"]:
        vc = vat.CODES[row["vat_code"]]
        out.append(_("{code}: net {net}, VAT {rate} % {tax}").format(
            code=_(vc.title), net=m.number_text(row["net"], places), rate=row["rate"],
            tax=m.number_text(row["tax"], places)))
    out.append(_("Net {net} · VAT {tax} · Total {total}").format(  # the total with its currency, as on screens
        net=m.number_text(inv["net"], places), tax=m.number_text(inv["tax"], places),
        total=m.money_text(inv["total"], inv["currency"])))
    notes = [_(vat.CODES[row["vat_code"]].invoice_note) for row in inv["breakdown"]
             if vat.CODES[row["vat_code"]].invoice_note]
    if inv.get("note"):
        notes.append(inv["note"])
    if notes:
        out.append("")
        out.extend(notes)
    if inv["kind"] == "invoice" and inv["status"] not in ("draft",):
        out.append("")
        out.append(_("Paid {paid} · credited {credited} · open {open}").format(
            paid=m.number_text(inv["paid"], places), credited=m.number_text(inv["credited"], places),
            open=m.number_text(open_amount(inv), places)))
    return "\n".join(out)
