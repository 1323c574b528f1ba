"""Bank statements: imported once, line by line, and reconciled.

Every line of an imported statement (CAMT.053, MT940; ``bank_formats``
reads them) is kept once in ``statement_lines`` under its identity
(:func:`bank_formats.line_keys`): importing the same statement again, or
the next one that repeats a day, adds nothing and posts nothing. Each new
line is matched, in this order:

1. a debit whose end-to-end id is one a payment run gave a bill
   (``BD-R<run>-B<bill>``): the bill is paid — payables against the bank;
2. a debit naming an open bill's number, from the vendor's IBAN (or none
   given), no more than is open: that bill is paid (in part if less);
3. a credit naming an open invoice's number, no more than is open: the
   payment is received (``receivables.record_payment``);
4. a rule of the ``bank_rules`` setting (text in the name or remittance →
   an account: rent, fees): posted bank against that account;
5. otherwise the line waits for the operator: *suggested* when one open
   bill or invoice has exactly its amount (from the same IBAN for a bill),
   *unmatched* else. Nothing is posted for it until it is matched by hand
   (:func:`match_line`).

A statement for an account that is not one of the office's
(``sepa.bank_accounts``) is refused, as is one whose balances do not add
up; nothing is stored then. Permission: ``accounting.payments.reconcile``.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

from core.services.audit import now_utc
from core.i18n import N_
from core.errors import ValidationError
from core.safetext import one_line, scrub
from core.storage import AnyOf, Range
from plugins.accounting import bank_formats as F
from plugins.accounting import invoicing as inv
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import receivables
from plugins.accounting import sepa
from plugins.accounting import service as svc
from plugins.accounting.models import _

LINE_STATUSES = {"matched": N_("matched"), "suggested": N_("suggested"), "unmatched": N_("unmatched")}
_E2E = re.compile(r"^BD-R(\d+)-B(\d+)$")


def check_rules(value) -> list:
    """The ``bank_rules`` setting: a list of ``{text: …, account: …}``."""
    if not isinstance(value, list):
        raise ValueError("a list of rules: {text: 'Miete', account: 'expenses:rent'}")
    for i, rule in enumerate(value, start=1):
        if not isinstance(rule, dict) or set(rule) != {"text", "account"} or not str(rule["text"]).strip():
            raise ValueError(f"{i}: a rule is {{text: …, account: …}}")
        try:
            L.check_account_name(rule["account"])
        except L.LedgerError as error:
            raise ValueError(f"{i}: {error}") from None
    return value


# ============================================================================ import
def import_statement(ctx, data: bytes, *, name: str = "") -> dict:
    """Import a CAMT.052, CAMT.053, CAMT.054 or MT940 file: its new lines stored, matched and
    posted in one transaction. Returns ``{"statements", "new", "known",
    "matched", "suggested", "unmatched"}``."""
    ctx.require("accounting.payments.reconcile")
    statements = F.read_statement(data)
    accounts = {a["iban"]: a for a in sepa.bank_accounts(ctx)}
    for st in statements:
        if st.iban not in accounts:
            raise ValidationError(_("the statement is for the account {iban}, which is not one of the office's "
                                    "({known})").format(iban=st.iban, known=", ".join(accounts) or "-"),
                                  field="file")
    return _store(ctx, [(st, accounts[st.iban]) for st in statements], data, name)


def import_csv_lines(ctx, rows: list[tuple[F.Line, str]], *, ledger_account: str, data: bytes,
                     name: str = "") -> dict:
    """The rows of a bank CSV (``reports.import_bank_csv`` reads them), each
    a line and its counter account (the mapping's rule or the uncategorized
    account), kept and matched as a statement's lines: a row that pays no
    bill or invoice is posted against its counter account, as the CSV
    import always did. Known rows are skipped."""
    acc = next((a for a in sepa.bank_accounts(ctx) if a["account"] == ledger_account),
               {"name": ledger_account, "iban": "", "account": ledger_account})
    lines = [ln for ln, _counter in rows]
    F.line_keys(acc["iban"] or ledger_account, lines)
    st = F.Statement("csv", acc["iban"], svc.currency(ctx), name[-80:] or "csv", lines=lines)
    return _store(ctx, [(st, acc)], data, name, fallback={ln.key: counter for ln, counter in rows})


def _store(ctx, statements: list, data: bytes, name: str, *, fallback: dict | None = None) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    summary = {"statements": 0, "new": 0, "known": 0, "matched": 0, "suggested": 0, "unmatched": 0}
    svc.ensure_chart(ctx)
    with ctx.transaction():
        lines_t, stmts_t = ctx.table("statement_lines"), ctx.table("statements")
        for st, acc in statements:
            keys = [ln.key for ln in st.lines]
            known = {d["key"] for d in lines_t.find({"key": AnyOf(keys)})} if keys else set()
            new = [ln for ln in st.lines if ln.key not in known]
            summary["known"] += len(st.lines) - len(new)
            if not new:
                continue
            stmt_id = stmts_t.insert({"kind": st.kind, "iban": st.iban, "bank": acc["name"],
                                      "account": acc["account"], "statement_id": st.statement_id[:80],
                                      "opening": _t(ctx, st.opening), "closing": _t(ctx, st.closing),
                                      "opening_date": st.opening_date, "closing_date": st.closing_date,
                                      "currency": st.currency, "lines": len(st.lines), "new": len(new),
                                      "file": name[:200], "sha256": digest, "at": now_utc(),
                                      "by": ctx.operator.account})
            summary["statements"] += 1
            for ln in new:
                doc_id = lines_t.insert({"key": ln.key, "statement": stmt_id, "iban": st.iban,
                                         "account": acc["account"], "booking_date": ln.booking_date,
                                         "value_date": ln.value_date, "amount": svc.mtext(ctx, ln.amount),
                                         "currency": ln.currency or st.currency,
                                         "name": _outside(ln.name, 140),
                                         "counter_iban": ln.iban.replace(" ", "").upper(),
                                         "remittance": _outside(ln.remittance, 500),
                                         "end_to_end_id": ln.end_to_end_id[:35], "bank_ref": ln.bank_ref[:35],
                                         "info": _outside(ln.info, 500),
                                         "status": "unmatched", "match": None, "entry": None,
                                         "at": now_utc()})
                status = _match_new(ctx, lines_t.get(doc_id), (fallback or {}).get(ln.key))
                summary["new"] += 1
                summary[status] += 1
    return summary


def _outside(text: str, limit: int) -> str:
    """Text from the bank's file made storable and one line (core.safetext)."""
    return " ".join(one_line(scrub(text or "")).split())[:limit]


def _t(ctx, value) -> str | None:
    return None if value is None else svc.mtext(ctx, value)


def _match_new(ctx, line: dict, fallback: str | None = None) -> str:
    """Match one new line (rules 1–5 of the module's docstring; a CSV row
    that pays nothing goes to its ``fallback`` account); its status."""
    amount = L.to_decimal(line["amount"])
    if amount < 0:
        bill, run_id = _bill_for(ctx, line, -amount)
        if bill is not None:
            return _pay_bill(ctx, line, bill, -amount, run_id)
    elif amount > 0 and ctx.can("accounting.invoices.issue"):
        invoice = _invoice_for(ctx, line, amount)
        if invoice is not None:
            return _receive(ctx, line, invoice, amount)
    rule = _rule_for(ctx, line)
    if rule is not None:
        return _post_to(ctx, line, rule["account"], "rule")
    if fallback:
        return _post_to(ctx, line, fallback, "rule")
    suggestion = _suggest(ctx, line, amount)
    if suggestion:
        ctx.table("statement_lines").update(line["id"], {"status": "suggested", "suggestion": suggestion})
        return "suggested"
    return "unmatched"


def _open_bills(ctx) -> list[dict]:
    return ctx.table("bills").find({"status": AnyOf(["approved", "partly_paid", "in_payment"])},
                                   order_by=["due", "id"])


def _bill_for(ctx, line: dict, amount: Decimal) -> tuple[dict | None, int | None]:
    hit = _E2E.match(line["end_to_end_id"] or "")
    if hit:
        run = ctx.table("payment_runs").find({"number": int(hit.group(1))}, limit=1)
        bill = ctx.table("bills").get(int(hit.group(2)))
        if run and bill and bill.get("run_id") == run[0]["id"] and bill["status"] == "in_payment" \
                and amount <= svc.open_amount(bill):
            return bill, run[0]["id"]
    text = f"{line['remittance']} {line['info']}".casefold()
    vendors = {v["id"]: v for v in ctx.table("vendors").all()}
    for bill in _open_bills(ctx):
        iban = (vendors.get(bill["vendor_id"]) or {}).get("iban", "")
        if _names(bill["number"], text) and (not line["counter_iban"] or line["counter_iban"] == iban) \
                and amount <= svc.open_amount(bill):
            return bill, bill.get("run_id")
    return None, None


def _names(number: str, text: str) -> bool:
    """``number`` stands in ``text`` as a word of its own (RE-1 is not in RE-12)."""
    return bool(number) and re.search(rf"(?<![\w-]){re.escape(number.casefold())}(?![\w-]|-\d)", text) is not None


def _invoice_for(ctx, line: dict, amount: Decimal) -> dict | None:
    text = f"{line['remittance']} {line['info']}".casefold()
    for doc in ctx.table("invoices").find({"kind": "invoice", "status": AnyOf(["open", "partly_paid"])},
                                          order_by=["due", "id"]):
        if doc.get("number") and _names(doc["number"], text) and amount <= inv.open_amount(doc) \
                and line["booking_date"] >= doc["date"]:
            return doc
    return None


def _rule_for(ctx, line: dict) -> dict | None:
    text = f"{line['name']} {line['remittance']} {line['info']}".casefold()
    return next((r for r in ctx.settings.get("bank_rules") or [] if str(r["text"]).casefold() in text), None)


def _suggest(ctx, line: dict, amount: Decimal) -> dict | None:
    if amount < 0:
        vendors = {v["id"]: v for v in ctx.table("vendors").all()}
        hits = [b for b in _open_bills(ctx) if svc.open_amount(b) == -amount
                and (vendors.get(b["vendor_id"]) or {}).get("iban") == line["counter_iban"]]
        if len(hits) == 1:
            return {"kind": "bill", "id": hits[0]["id"], "number": hits[0]["number"]}
    elif amount > 0:
        hits = [d for d in ctx.table("invoices").find({"kind": "invoice", "status": AnyOf(["open", "partly_paid"])})
                if inv.open_amount(d) == amount]
        if len(hits) == 1:
            return {"kind": "invoice", "id": hits[0]["id"], "number": hits[0]["number"]}
    return None


def _pay_bill(ctx, line: dict, bill: dict, amount: Decimal, run_id) -> str:
    paid = svc._pay(ctx, bill, amount, line["booking_date"], run_id, statement_line=line["key"],
                    bank_account=line["account"])
    payment = ctx.table("payments").find({"statement_line": line["key"]}, limit=1)
    ctx.table("statement_lines").update(line["id"], {
        "status": "matched", "match": {"kind": "bill", "id": bill["id"], "number": bill["number"], "run_id": run_id},
        "entry": payment[0]["entry"] if payment else None})
    if run_id:
        _finish_run(ctx, run_id)
    return "matched" if paid else "matched"


def _finish_run(ctx, run_id) -> None:
    """A run whose bills the bank has all paid is done."""
    run = ctx.table("payment_runs").get(int(run_id))
    if not run or run.get("status") != "sent":
        return
    bills = ctx.table("bills")
    if all((bills.get(i["bill_id"]) or {}).get("run_id") != run["id"] for i in run["items"]):
        ctx.table("payment_runs").update(run["id"], {"status": "done", "done_at": now_utc()})


def _receive(ctx, line: dict, invoice: dict, amount: Decimal) -> str:
    updated = receivables.record_payment(ctx, invoice["id"], svc.mtext(ctx, amount), line["booking_date"])
    receipt = ctx.table("receipts").find({"invoice_id": invoice["id"]}, order_by=["-id"], limit=1)
    ctx.table("statement_lines").update(line["id"], {
        "status": "matched", "match": {"kind": "invoice", "id": invoice["id"], "number": updated["number"]},
        "entry": receipt[0]["entry"] if receipt else None})
    return "matched"


def _post_to(ctx, line: dict, account: str, kind: str) -> str:
    amount = L.to_decimal(line["amount"])
    desc = " ".join(x for x in (line["name"], line["remittance"]) if x)[:200] or \
        _("bank statement line {date}").format(date=line["booking_date"])
    entry = svc._post(ctx, line["booking_date"], desc,
                      [{"account": line["account"], "amount": svc.mtext(ctx, amount), "currency": line["currency"]},
                       {"account": account, "amount": svc.mtext(ctx, -amount), "currency": line["currency"]}],
                      source="bank", ref={"statement_line": line["key"]})
    ctx.table("statement_lines").update(line["id"], {"status": "matched", "match": {"kind": kind, "account": account},
                                                     "entry": entry["number"]})
    return "matched"


# ============================================================================ by hand
def match_line(ctx, line_id, *, bill=None, invoice=None, account: str | None = None, accept: bool = False) -> dict:
    """Match a waiting line by hand: to a bill (id), an invoice (number),
    an account (posted against the bank), or its suggestion (``accept``)."""
    ctx.require("accounting.payments.reconcile")
    with ctx.transaction():
        t = ctx.table("statement_lines")
        line = svc._get(t, line_id, _("statement line"))
        if line["status"] == "matched":
            raise ValidationError(_("line {id} is matched already").format(id=line["id"]))
        amount = L.to_decimal(line["amount"])
        if accept:
            s = line.get("suggestion")
            if not s:
                raise ValidationError(_("line {id} has no suggestion").format(id=line["id"]))
            bill, invoice = (s["id"], None) if s["kind"] == "bill" else (None, s["number"])
        if bill not in (None, ""):
            if amount >= 0:
                raise ValidationError(_("line {id} is money received: it cannot pay a bill").format(id=line["id"]))
            b = svc._get(ctx.table("bills"), bill, _("bill"))
            if b["status"] not in ("approved", "partly_paid", "in_payment"):
                raise ValidationError(_("bill {number} is {status}: nothing to pay").format(
                    number=b["number"], status=m.label(m.BILL_STATUSES, b["status"])))
            if -amount > svc.open_amount(b):
                raise ValidationError(_("the line's {amount} is more than the {open} open on bill {number}").format(
                    amount=m.number_text(-amount, m.places(ctx)), open=m.number_text(svc.open_amount(b),
                                                                                     m.places(ctx)),
                    number=b["number"]))
            _pay_bill(ctx, line, b, -amount, b.get("run_id"))
        elif invoice not in (None, ""):
            if amount <= 0:
                raise ValidationError(_("line {id} is money paid out: it cannot pay an invoice").format(id=line["id"]))
            _receive(ctx, line, inv.invoice(ctx, invoice), amount)
        elif account:
            try:
                acc = L.check_account_name(account)
            except L.LedgerError as error:
                raise ValidationError(str(error), field="account") from None
            if svc.unknown_accounts(ctx, [acc]):
                raise ValidationError(_("{account} is not in the chart of accounts").format(account=acc),
                                      field="account")
            _post_to(ctx, line, acc, "account")
        else:
            raise ValidationError(_("say what the line pays: a bill, an invoice or an account"))
        return t.get(line["id"])


# ============================================================================ reading
def lines(ctx, status=None, statement=None) -> list[dict]:
    ctx.require("accounting.ledger.read")
    where: dict = {}
    if status:
        where["status"] = AnyOf([status] if isinstance(status, str) else list(status))
    if statement is not None:
        where["statement"] = int(statement)
    return ctx.table("statement_lines").find(where, order_by=["booking_date", "id"])


def line_rows(ctx, rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        match = r.get("match") or r.get("suggestion") or {}
        what = match.get("number") or match.get("account") or ""
        out.append({**r, "status_text": m.label(LINE_STATUSES, r["status"]), "amount_dec": L.to_decimal(r["amount"]),
                    "what": what, "party": r["name"] or r["remittance"]})
    return out


def statements(ctx) -> list[dict]:
    ctx.require("accounting.ledger.read")
    return ctx.table("statements").find({}, order_by=["-id"])


def balance_check(ctx, statement: dict) -> dict:
    """A statement's closing balance against the ledger: the bank account's
    balance up to the closing date plus the statement's lines not posted
    yet (waiting to be matched). ``agrees`` when they are equal."""
    ctx.require("accounting.ledger.read")
    end = statement["closing_date"] or max((ln["booking_date"] for ln in lines(ctx, statement=statement["id"])),
                                           default="9999-12-31")
    ledger = Decimal(0)
    for e in ctx.table("entries").find({"date": Range(le=end)}):
        for p in e["postings"]:
            if p["account"] == statement["account"] and p.get("currency", statement["currency"]) == \
                    statement["currency"]:
                ledger += L.to_decimal(p["amount"])
    waiting = sum((L.to_decimal(ln["amount"]) for ln in lines(ctx, status=["suggested", "unmatched"])
                   if ln["account"] == statement["account"] and ln["booking_date"] <= end), Decimal(0))
    closing = L.to_decimal(statement["closing"]) if statement.get("closing") is not None else None
    return {"ledger": ledger, "waiting": waiting, "closing": closing, "date": end,
            "agrees": closing is not None and ledger + waiting == closing,
            "posted_agrees": closing is not None and ledger == closing}
