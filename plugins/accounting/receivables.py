"""Open items of the invoices the office sent: payments received, the
receivables' ageing and dunning.

No Textual here; the CLI and the screens call these functions, and every
permission is checked here. A payment received posts the bank against
``assets:receivables``; a dunning fee posts ``assets:receivables`` against
``income:dunning fees`` (a fee for late payment is damages, not a supply:
no VAT) and adds to what the customer owes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core.audit import now_utc
from core.errors import ValidationError
from core.i18n import today
from core.storage import AnyOf
from plugins.accounting import invoicing as inv
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import service as svc
from plugins.accounting.models import _

#: the ``dunning`` setting's default: days past due → the level's fee
DEFAULT_LEVELS = [{"days": 7, "fee": "0.00"}, {"days": 21, "fee": "5.00"}, {"days": 35, "fee": "10.00"}]


def check_levels(value) -> list:
    """The ``dunning`` setting's rule: up to three levels, days rising, fees amounts."""
    if not isinstance(value, list) or not 1 <= len(value) <= 3:
        raise ValueError("a list of one to three levels, each {days: N, fee: \"5.00\"}")
    last = 0
    for i, level in enumerate(value, start=1):
        if not isinstance(level, dict) or set(level) - {"days", "fee"} or "days" not in level:
            raise ValueError(f"level {i}: write {{days: N, fee: \"5.00\"}}")
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
    return value


def levels(ctx) -> list[dict]:
    return [{"days": int(x["days"]), "fee": L.to_decimal(str(x.get("fee", "0")))}
            for x in (ctx.settings.get("dunning") or DEFAULT_LEVELS)]


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
    with ``next_level`` (1-based) and its ``fee``. One level at a time:
    a run never skips a reminder."""
    lv = levels(ctx)
    out = []
    for item in open_items(ctx, as_of):
        nxt = item["level"] + 1
        if nxt <= len(lv) and item["days_overdue"] >= lv[nxt - 1]["days"]:
            out.append({**item, "next_level": nxt, "fee": lv[nxt - 1]["fee"]})
    return out


def run_dunning(ctx, as_of=None) -> list[dict]:
    """Raise every item whose next level is due by one level, in one
    transaction: the level and date are kept on the invoice, a fee is
    posted and added to what is open. Returns the letters to send."""
    ctx.require("accounting.invoices.issue")
    as_of = m.date(as_of or today().isoformat(), "as_of")
    letters = []
    with ctx.transaction():
        t = ctx.table("invoices")
        for item in dunning_due(ctx, as_of):
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
            history = list(doc.get("dunning") or []) + [{"level": item["next_level"], "date": as_of,
                                                        "fee": svc.mtext(ctx, fee), "entry": entry,
                                                        "by": ctx.operator.account}]
            fees = svc.mtext(ctx, L.to_decimal(doc.get("fees") or "0") + fee)
            updated = t.update(doc["id"], {"dunning_level": item["next_level"], "dunning": history, "fees": fees})
            letters.append({**inv.invoice_rows(ctx, [updated])[0], "level": item["next_level"],
                            "fee": fee, "days_overdue": item["days_overdue"]})
    return letters


def letter_text(ctx, item: dict, as_of=None) -> str:
    """A reminder as plain text: the level, the invoice, what is open and the fee."""
    places = m.places(ctx)
    seller = item.get("seller") or inv.company(ctx)
    titles = {1: _("Payment reminder"), 2: _("Second reminder"), 3: _("Final reminder")}
    out = [" · ".join([seller.get("name", "")] + inv.address_lines(seller)), "",
           item["customer"], *inv.address_lines(item.get("buyer") or {}), "",
           f"{titles.get(item['level'], titles[3])} — {as_of or today().isoformat()}", "",
           _("Our invoice {number} of {date}, due on {due}, is {days} days overdue.").format(
               number=item["number"], date=item["date"], due=item["due"], days=item["days_overdue"]),
           _("Invoice total {total}, paid {paid}, credited {credited}.").format(
               total=m.number_text(item["total"], places), paid=m.number_text(item["paid"], places),
               credited=m.number_text(item["credited"], places))]
    if item.get("fee"):
        out.append(_("Dunning fee {fee}.").format(fee=m.number_text(item["fee"], places)))
    out.append(_("Please pay the {open} {cur} now open.").format(open=m.number_text(item["open"], places),
                                                                  cur=item["currency"]))
    if seller.get("iban"):
        out.append(_("IBAN {iban} · reference {number}").format(iban=seller["iban"], number=item["number"]))
    return "\n".join(out)
