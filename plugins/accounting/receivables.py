"""Open items of the invoices the office sent: payments received, the
receivables' ageing and dunning.

No Textual here; the CLI and the screens call these functions, and every
permission is checked here. A payment received posts the bank against
``assets:receivables``; a dunning fee posts ``assets:receivables`` against
``income:dunning fees`` (a fee for late payment is damages, not a supply:
no VAT), interest on late payment ``assets:receivables`` against
``income:late payment interest`` (no VAT either); both add to what the
customer owes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core.services.audit import now_utc
from core.errors import ValidationError
from core.i18n import today
from core.storage import AnyOf
from plugins.accounting import invoicing as inv
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import service as svc
from plugins.accounting.models import _

#: the ``dunning`` setting's default: days past due → the level's fee (and
#: interest, percent a year, e.g. "9.27" for § 288 Abs. 2 BGB's base rate + 9)
DEFAULT_LEVELS = [{"days": 7, "fee": "0.00"}, {"days": 21, "fee": "5.00"}, {"days": 35, "fee": "10.00"}]


def check_levels(value) -> list:
    """The ``dunning`` setting's rule: up to three levels, days rising, fees
    amounts, interest a percentage a year between 0 and 100."""
    if not isinstance(value, list) or not 1 <= len(value) <= 3:
        raise ValueError("a list of one to three levels, each {days: N, fee: \"5.00\"[, interest: \"9.27\"]}")
    last = 0
    for i, level in enumerate(value, start=1):
        if not isinstance(level, dict) or set(level) - {"days", "fee", "interest"} or "days" not in level:
            raise ValueError(f"level {i}: write {{days: N, fee: \"5.00\"[, interest: \"9.27\"]}}")
        days = level["days"]
        if not isinstance(days, int) or isinstance(days, bool) or days <= last:
            raise ValueError(f"level {i}: days must be a whole number above the level before's ({last})")
        last = days
        try:
            fee = L.to_decimal(str(level.get("fee", "0")))
        except L.LedgerError:
            raise ValueError(f"level {i}: fee {level.get('fee')!r} is not an amount like \"5.00\"") from None
        if fee < 0:
            raise ValueError(f"level {i}: a fee is not negative")
        try:
            rate = L.to_decimal(str(level.get("interest", "0")))
        except L.LedgerError:
            raise ValueError(f"level {i}: interest {level.get('interest')!r} is not a percentage like \"9.27\"") \
                from None
        if not 0 <= rate <= 100:
            raise ValueError(f"level {i}: interest is a percentage a year between 0 and 100")
    return value


def levels(ctx) -> list[dict]:
    return [{"days": int(x["days"]), "fee": L.to_decimal(str(x.get("fee", "0"))),
             "interest": L.to_decimal(str(x.get("interest", "0")))}
            for x in (ctx.settings.get("dunning") or DEFAULT_LEVELS)]


def late_interest(doc: dict, rate: Decimal, as_of: str) -> tuple[Decimal, str, int]:
    """Interest on late payment for ``doc`` up to ``as_of`` at ``rate``
    percent a year: on what is open of the invoice itself (not on fees or
    interest charged before), for the days since it was due or since the
    last interest charged; actual days / 365. Returns (amount unrounded,
    the first day, days)."""
    since = doc["due"]
    for step in doc.get("dunning") or []:
        if step.get("interest_to"):
            since = max(since, step["interest_to"])
    days = (dt.date.fromisoformat(as_of) - dt.date.fromisoformat(since)).days
    principal = L.to_decimal(doc["total"]) - L.to_decimal(doc["credited"]) - L.to_decimal(doc["paid"])
    if rate <= 0 or days <= 0 or principal <= 0:
        return Decimal(0), since, 0
    return principal * rate / 100 * days / 365, since, days


# ============================================================================ payments received
def record_payment(ctx, invoice_key, amount=None, date=None) -> dict:
    """A payment received for an issued invoice, in full (no amount) or in
    part; never more than is open. Posted bank against receivables."""
    ctx.require("accounting.invoices.issue")
    date = m.date(date or today().isoformat(), "date")
    with ctx.transaction():
        doc = inv.invoice(ctx, invoice_key)
        if doc["kind"] != "invoice" or doc["status"] == "draft":
            raise ValidationError(_("{what} is not an issued invoice").format(
                what=doc.get("number") or _("draft {id}").format(id=doc["id"])), field="invoice")
        open_ = inv.open_amount(doc)
        if open_ <= 0:
            raise ValidationError(_("invoice {number} has nothing open").format(number=doc["number"]),
                                  field="invoice")
        if amount is None or (isinstance(amount, str) and not amount.strip()):
            value = open_
        else:
            value = svc.money(ctx, amount, "amount", positive=True, allow_zero=False)
        if value > open_:
            raise ValidationError(_("{amount} is more than the {open} still open on invoice {number}").format(
                amount=m.number_text(value, m.places(ctx)), open=m.number_text(open_, m.places(ctx)),
                number=doc["number"]), field="amount")
        if date < doc["date"]:
            raise ValidationError(_("the payment is dated before invoice {number}").format(number=doc["number"]),
                                  field="date")
        buyer = (doc.get("buyer") or {}).get("name", "?")
        entry = svc._post(ctx, date, f"{buyer}: payment of invoice {doc['number']}",
                          [{"account": svc.account(ctx, "bank"), "amount": svc.mtext(ctx, value),
                            "currency": doc["currency"]},
                           {"account": inv.account(ctx, "receivables"), "amount": svc.mtext(ctx, -value),
                            "currency": doc["currency"]}],
                          source="receipt", ref={"invoice_id": doc["id"]})
        ctx.table("receipts").insert({"invoice_id": doc["id"], "customer_id": doc["customer_id"],
                                      "amount": svc.mtext(ctx, value), "currency": doc["currency"], "date": date,
                                      "entry": entry["number"], "at": now_utc(), "by": ctx.operator.account})
        after = {**doc, "paid": svc.mtext(ctx, L.to_decimal(doc["paid"]) + value)}
        return ctx.table("invoices").update(doc["id"], {"paid": after["paid"], "status": inv.status_after(after)})


def receipts(ctx, invoice_id=None) -> list[dict]:
    ctx.require("accounting.invoices.read")
    where = {} if invoice_id is None else {"invoice_id": int(invoice_id)}
    return ctx.table("receipts").find(where, order_by=["date", "id"])


# ============================================================================ open items
def open_items(ctx, as_of=None) -> list[dict]:
    """The issued invoices with something open on ``as_of``, oldest due
    first: what is open, days past due, the ageing bucket, the dunning level."""
    ctx.require("accounting.invoices.read")
    as_of = m.date(as_of or today().isoformat(), "as_of")
    rows = []
    for doc in inv.invoice_rows(ctx, ctx.table("invoices").find(
            {"kind": "invoice", "status": AnyOf(["open", "partly_paid"])}, order_by=["due", "seq"])):
        if doc["date"] > as_of or doc["open"] <= 0:
            continue
        days = (dt.date.fromisoformat(as_of) - dt.date.fromisoformat(doc["due"])).days
        rows.append({**doc, "days_overdue": max(days, 0), "bucket": L.ageing_bucket(doc["due"], as_of),
                     "level": int(doc.get("dunning_level") or 0)})
    return rows


def ageing(ctx, as_of=None) -> dict:
    """Open receivables per ageing bucket (current, 1–30, 31–60, 61–90, over 90 days past due)."""
    as_of = m.date(as_of or today().isoformat(), "as_of")
    return L.ageing([(r["due"], r["currency"], r["open"]) for r in open_items(ctx, as_of)], as_of)


# ============================================================================ dunning
def dunning_due(ctx, as_of=None) -> list[dict]:
    """The open items whose next dunning level is due on ``as_of``: each
    with ``next_level`` (1-based), its ``fee`` and ``interest``. One level
    at a time: a run never skips a reminder, and the customer gets the days
    between two levels after each (level 2 at 21 days after level 1 at 7
    waits 14 days from the first reminder)."""
    lv = levels(ctx)
    as_of = m.date(as_of or today().isoformat(), "as_of")
    out = []
    for item in open_items(ctx, as_of):
        nxt = item["level"] + 1
        if nxt > len(lv) or item["days_overdue"] < lv[nxt - 1]["days"]:
            continue
        sent = item.get("dunning") or []
        if sent and nxt > 1 and (dt.date.fromisoformat(as_of) - dt.date.fromisoformat(sent[-1]["date"])).days \
                < lv[nxt - 1]["days"] - lv[nxt - 2]["days"]:
            continue
        rate = lv[nxt - 1]["interest"]
        interest, since, days = late_interest(item, rate, as_of)
        out.append({**item, "next_level": nxt, "fee": lv[nxt - 1]["fee"], "interest": svc.rnd(ctx, interest),
                    "rate": rate, "interest_from": since, "interest_days": days})
    return out


def run_dunning(ctx, as_of=None, *, invoice_id=None) -> list[dict]:
    """Raise every item (or only invoice ``invoice_id``) whose next level is due by one level, in one
    transaction: the level and date are kept on the invoice, its fee and
    interest are posted and added to what is open. Returns the letters to
    send (see :func:`reminder`)."""
    ctx.require("accounting.invoices.issue")
    as_of = m.date(as_of or today().isoformat(), "as_of")
    letters = []
    with ctx.transaction():
        t = ctx.table("invoices")
        for item in dunning_due(ctx, as_of):
            if invoice_id is not None and item["id"] != int(invoice_id):
                continue
            doc = t[item["id"]]
            fee = svc.rnd(ctx, item["fee"])
            entry = None
            if fee:
                entry = svc._post(ctx, as_of, f"{item['customer']}: dunning fee, invoice {doc['number']}",
                                  [{"account": inv.account(ctx, "receivables"), "amount": svc.mtext(ctx, fee),
                                    "currency": doc["currency"]},
                                   {"account": inv.account(ctx, "dunning_fees"), "amount": svc.mtext(ctx, -fee),
                                    "currency": doc["currency"]}],
                                  source="dunning", ref={"invoice_id": doc["id"]})["number"]
            interest = item["interest"]
            interest_entry = None
            if interest:
                interest_entry = svc._post(
                    ctx, as_of, f"{item['customer']}: interest on late payment, invoice {doc['number']}",
                    [{"account": inv.account(ctx, "receivables"), "amount": svc.mtext(ctx, interest),
                      "currency": doc["currency"]},
                     {"account": inv.account(ctx, "late_interest"), "amount": svc.mtext(ctx, -interest),
                      "currency": doc["currency"]}],
                    source="dunning", ref={"invoice_id": doc["id"]})["number"]
            step = {"level": item["next_level"], "date": as_of, "fee": svc.mtext(ctx, fee), "entry": entry,
                    "by": ctx.operator.account, "days_overdue": item["days_overdue"],
                    "principal": svc.mtext(ctx, principal(doc))}
            if interest:
                step.update({"interest": svc.mtext(ctx, interest), "rate": f"{item['rate']:f}",
                             "interest_from": item["interest_from"], "interest_to": as_of,
                             "interest_days": item["interest_days"], "interest_entry": interest_entry})
            history = list(doc.get("dunning") or []) + [step]
            fees = svc.mtext(ctx, L.to_decimal(doc.get("fees") or "0") + fee + interest)
            updated = t.update(doc["id"], {"dunning_level": item["next_level"], "dunning": history, "fees": fees})
            letters.append(_letter(ctx, updated, step))
    return letters


def _letter(ctx, doc: dict, step: dict) -> dict:
    """What a reminder says, as on the day it was sent: its fee and
    interest, those of the reminders before, and what was open then."""
    row = inv.invoice_rows(ctx, [doc])[0]
    history = doc.get("dunning") or []
    before = history[:history.index(step)] if step in history else history
    earlier = sum((L.to_decimal(s["fee"]) + L.to_decimal(s.get("interest") or "0") for s in before), Decimal(0))
    fee, interest = L.to_decimal(step["fee"]), L.to_decimal(step.get("interest") or "0")
    if step.get("principal"):
        row["open"] = L.to_decimal(step["principal"]) + earlier + fee + interest
    return {**row, "level": step["level"], "reminded_on": step["date"], "fee": fee, "interest": interest,
            "earlier_fees": earlier,
            "rate": step.get("rate"),
            "interest_from": step.get("interest_from"), "interest_days": step.get("interest_days"),
            "principal": L.to_decimal(step.get("principal") or principal(doc)),
            "days_overdue": step.get("days_overdue") or max(
                (dt.date.fromisoformat(step["date"]) - dt.date.fromisoformat(doc["due"])).days, 0)}


def reminder(ctx, invoice_key, level: int | None = None) -> dict:
    """The reminder sent for an invoice at ``level`` (default: the last),
    as :func:`letter_text` and the reminder PDF read it."""
    ctx.require("accounting.invoices.read")
    doc = inv.invoice(ctx, invoice_key)
    sent = [s for s in doc.get("dunning") or [] if level in (None, s["level"])]
    if not sent and level:
        raise ValidationError(_("no reminder at level {level} was sent for {number}").format(
            number=doc["number"] or doc["id"], level=level), field="level")
    if not sent:
        raise ValidationError(_("no reminder was sent for {number}").format(number=doc["number"] or doc["id"]),
                              field="invoice")
    return _letter(ctx, doc, sent[-1])


def principal(item: dict) -> Decimal:
    """What is open of the invoice itself (without fees and interest)."""
    return L.to_decimal(item["total"]) - L.to_decimal(item["credited"]) - L.to_decimal(item["paid"])


def title(level: int) -> str:
    """A reminder's title at ``level``."""
    return {1: _("Payment reminder"), 2: _("Second reminder")}.get(level, _("Final reminder"))


def opening(item: dict) -> str:
    """The reminder's first paragraph: the invoice, how long overdue."""
    overdue = _("Our invoice {number} of {date}, due on {due}, is {days} days overdue.").format(
        number=item["number"], date=item["date"], due=item["due"], days=item["days_overdue"])
    if item["level"] <= 1:
        return _("Perhaps it escaped your attention:") + " " + overdue
    if item["level"] == 2:
        return overdue + " " + _("We have not yet received your payment despite our reminder.")
    return overdue + " " + _("Despite our reminders we have not received your payment.")


def closing(item: dict, places: int = 2) -> str:
    """The reminder's last paragraph: what to pay, and what happens next."""
    pay = _("Please pay the {open} {cur} now open.").format(open=m.number_text(item["open"], places),
                                                            cur=item["currency"])
    if item["level"] <= 1:
        return pay + " " + _("If you have paid in the meantime, please disregard this letter.")
    if item["level"] == 2:
        return pay + " " + _("If you cannot pay, please call us.")
    return pay + " " + _("Unless we receive it within ten days, we will hand the claim over without further notice.")


def letter_text(ctx, item: dict, as_of=None) -> str:
    """A reminder as plain text: the level, the invoice, what is open, the
    fee and the interest."""
    places = m.places(ctx)
    as_of = as_of or item.get("reminded_on")
    seller = item.get("seller") or inv.company(ctx)
    out = [" · ".join([seller.get("name", "")] + inv.address_lines(seller)), "",
           item["customer"], *inv.address_lines(item.get("buyer") or {}), "",
           f"{title(item['level'])} — {as_of or today().isoformat()}", "",
           opening(item),
           _("Invoice total {total}, paid {paid}, credited {credited}.").format(
               total=m.number_text(item["total"], places), paid=m.number_text(item["paid"], places),
               credited=m.number_text(item["credited"], places))]
    if item.get("earlier_fees"):
        out.append(_("Fees and interest of earlier reminders {amount}.").format(
            amount=m.number_text(item["earlier_fees"], places)))
    if item.get("fee"):
        out.append(_("Dunning fee {fee}.").format(fee=m.number_text(item["fee"], places)))
    if item.get("interest"):
        out.append(_("Interest on late payment {interest} ({rate} % a year on {principal} for {days} days from "
                     "{since}).").format(interest=m.number_text(item["interest"], places), rate=item["rate"],
                                         principal=m.number_text(item["principal"], places),
                                         days=item["interest_days"], since=item["interest_from"]))
    out.append(closing(item, places))
    if seller.get("iban"):
        out.append(_("IBAN {iban} · reference {number}").format(iban=seller["iban"], number=item["number"]))
    return "\n".join(out)
