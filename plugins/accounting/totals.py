"""Each account's debits and credits per month, kept beside the journal.

A report reads these (months × accounts: a few hundred documents a year)
instead of the year's entries: at the year's size (40,000 entries) summing
the entries took 0.5–1.0 s a report and 1.5 s to open the Reports, and
+60 MB to hold them (docs/performance.md, ninth session).

They are written in the transaction that posts the entry
(``service._post`` → :func:`add_entry`), and their state document says how
many entries they hold. The journal only grows (an entry is never changed
or removed: a mistake is reversed by another entry), so totals holding as
many entries as the journal has are the journal's. Totals that do not (a
store from before this table, an entry written by other code, a restore
of the entries alone) are rebuilt from the entries by the next report, in
one transaction: never read stale.

A report over dates that cut a month reads that month's entries of the
range (``Range`` on the date) and the kept totals for the whole months.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from decimal import Decimal

from core.storage import Range
from plugins.accounting import ledger as L

TABLE = "month_totals"

#: (month, account, currency) -> [debits, credits] (credits negative)
Sums = dict[tuple[str, str, str], list[Decimal]]


def _add(sums: Sums, entries) -> Sums:
    for e in entries:
        month = e["date"][:7]
        for p in e["postings"]:
            v = L.to_decimal(p["amount"])
            slot = sums.setdefault((month, p["account"], p["currency"]), [Decimal(0), Decimal(0)])
            slot[0 if v > 0 else 1] += v
    return sums


def _state(docs: list[dict]) -> dict | None:
    return next((d for d in docs if d.get("kind") == "state"), None)


def add_entry(ctx, entry: dict) -> None:
    """Add an entry just inserted to its month's totals; inside the
    transaction that posts it. Totals not kept yet, or not holding every
    entry before this one, are left for the next report to rebuild."""
    t = ctx.table(TABLE)
    state = next(iter(t.find({"kind": "state"}, limit=1)), None)
    if state is None or state["entries"] != ctx.table("entries").count() - 1:
        return
    for (month, account, cur), (debit, credit) in _add({}, [entry]).items():
        found = t.find({"kind": "month", "month": month, "account": account, "currency": cur}, limit=1)
        if found:
            doc = found[0]
            t.update(doc["id"], {"debit": f"{L.to_decimal(doc['debit']) + debit:f}",
                                 "credit": f"{L.to_decimal(doc['credit']) + credit:f}"})
        else:
            t.insert({"kind": "month", "month": month, "account": account, "currency": cur,
                      "debit": f"{debit:f}", "credit": f"{credit:f}"})
    t.update(state["id"], {"entries": state["entries"] + 1})


def rebuild(ctx) -> list[dict]:
    """The totals summed again from every entry (in one transaction); the
    new documents."""
    with ctx.transaction():
        t = ctx.table(TABLE)
        entries = ctx.table("entries")
        for d in t.find({}, fields=["kind"]):
            t.delete(d["id"])
        sums = _add({}, entries.find({}, fields=["date", "postings"]))
        for (month, account, cur), (debit, credit) in sorted(sums.items()):
            t.insert({"kind": "month", "month": month, "account": account, "currency": cur,
                      "debit": f"{debit:f}", "credit": f"{credit:f}"})
        t.insert({"kind": "state", "entries": entries.count()})
        return t.find({})


def kept(ctx) -> list[dict]:
    """The month totals holding every entry of the journal (rebuilt first
    when they do not)."""
    t = ctx.table(TABLE)
    docs = t.find({})  # with their state: one read, one snapshot
    state = _state(docs)
    if state is not None and state["entries"] == ctx.table("entries").count():
        return docs
    with ctx.transaction():  # under the store's write lock: no entry posted meanwhile
        docs = t.find({})
        state = _state(docs)
        if state is not None and state["entries"] == ctx.table("entries").count():
            return docs
        return rebuild(ctx)


def _month_days(month: str) -> tuple[str, str]:
    y, mo = int(month[:4]), int(month[5:7])
    return f"{month}-01", f"{month}-{calendar.monthrange(y, mo)[1]:02d}"


def month_sums(ctx, start: str | None = None, end: str | None = None) -> Sums:
    """``{(month, account, currency): [debits, credits]}`` of the postings
    dated in [start, end] (ISO dates, both included; None: open): the kept
    totals of whole months, the entries of a month the dates cut."""
    out: Sums = {}
    cut: list[tuple[str, str]] = []
    for d in kept(ctx):
        if d.get("kind") != "month":
            continue
        first, last = _month_days(d["month"])
        if (start is not None and last < start) or (end is not None and first > end):
            continue
        if (start is not None and first < start) or (end is not None and last > end):
            span = (max(first, start or first), min(last, end or last))
            if span not in cut:
                cut.append(span)
            continue
        out[(d["month"], d["account"], d["currency"])] = [L.to_decimal(d["debit"]), L.to_decimal(d["credit"])]
    for lo, hi in cut:
        _add(out, ctx.table("entries").find({"date": Range(ge=lo, le=hi)}, fields=["date", "postings"]))
    return out


def balances(ctx, start: str | None = None, end: str | None = None) -> dict[tuple[str, str], Decimal]:
    """``{(account, currency): balance}`` of the postings dated in [start, end],
    as :func:`ledger.balances` sums them from the entries."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (_month, account, cur), (debit, credit) in month_sums(ctx, start, end).items():
        out[(account, cur)] += debit + credit
    return {k: v for k, v in out.items() if v != 0}


def cash_by_month(ctx, cash_prefix: str, start=None, end=None) -> list[tuple[str, str, Decimal, Decimal]]:
    """``[(month, currency, inflow, outflow)]`` of the accounts under
    ``cash_prefix``, as :func:`ledger.cash_by_month` sums them."""
    out: dict[tuple[str, str], list[Decimal]] = {}
    for (month, account, cur), (debit, credit) in month_sums(ctx, start, end).items():
        if account == cash_prefix or account.startswith(cash_prefix + ":"):
            slot = out.setdefault((month, cur), [Decimal(0), Decimal(0)])
            slot[0] += debit
            slot[1] += abs(credit)
    return [(mo, c, i, o) for (mo, c), (i, o) in sorted(out.items())]
