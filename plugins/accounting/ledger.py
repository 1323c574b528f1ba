"""The pure ledger: money, balancing, balances and reports.

Nothing here touches storage or Textual: functions take plain entries
(dicts with ``date`` and ``postings``) and return plain results, so the
service layer, the CLI, the screens and the tests share one arithmetic.

An entry: ``{"date": "2026-01-31", "description": str, "postings":
[{"account": "expenses:rent", "amount": "1200.00", "currency": "EUR"}, ...]}``.
Amounts are decimal strings (debit positive, credit negative), as stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
import decimal

#: account types, from the first segment of the account name (hledger's convention)
TYPES = ("asset", "liability", "equity", "income", "expense")
_TYPE_OF_ROOT = {"assets": "asset", "asset": "asset", "liabilities": "liability", "liability": "liability",
                 "equity": "equity", "income": "income", "revenue": "income", "revenues": "income",
                 "expenses": "expense", "expense": "expense"}
_ACCOUNT = re.compile(r"^[^\s;:][^;\t]*$")
MAX_AMOUNT = Decimal("1e13")

#: the chart of accounts seeded for a new company: (name, title)
DEFAULT_CHART = [
    ("assets:bank:checking", "Bank account"),
    ("assets:cash", "Petty cash"),
    ("assets:receivables", "Accounts receivable"),
    ("assets:inventory", "Inventory"),
    ("assets:tax:input vat", "Input VAT"),
    ("liabilities:payables", "Accounts payable"),
    ("liabilities:payroll:net pay", "Net pay owed"),
    ("liabilities:payroll:withholdings", "Payroll withholdings"),
    ("liabilities:tax:output vat", "Output VAT"),
    ("equity:capital", "Share capital"),
    ("equity:opening balances", "Opening balances"),
    ("equity:retained earnings", "Retained earnings"),
    ("income:sales", "Sales"),
    ("income:other", "Other income"),
    ("expenses:salaries", "Salaries and wages"),
    ("expenses:rent", "Rent"),
    ("expenses:office supplies", "Office supplies"),
    ("expenses:it", "IT and software"),
    ("expenses:telephone", "Telephone and internet"),
    ("expenses:travel", "Travel"),
    ("expenses:bank fees", "Bank fees"),
    ("expenses:purchases", "Purchases"),
]


class LedgerError(ValueError):
    """A rule of the ledger broken (unbalanced, malformed amount, …)."""


def account_type(name: str) -> str | None:
    """``"asset"``, ``"liability"``, … from the account's first segment, or None."""
    return _TYPE_OF_ROOT.get(name.split(":", 1)[0].strip().lower())


def check_account_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200 or not _ACCOUNT.match(name) or "  " in name or "::" in name \
            or name.endswith(":"):
        raise LedgerError(f"{name!r} is not an account name (like expenses:rent)")
    if account_type(name) is None:
        raise LedgerError(f"account {name!r} must start with assets, liabilities, equity, income or expenses")
    return name


def to_decimal(value) -> Decimal:
    """A Decimal from a Decimal, int or a plain decimal string; never from a float."""
    if isinstance(value, bool) or isinstance(value, float):
        raise LedgerError(f"{value!r} is not an amount (write it as text, like \"12.50\")")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    else:
        text = str(value).strip().replace("_", "")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            raise LedgerError(f"{str(value)[:40]!r} is not an amount (like 1234.50)")
        d = Decimal(text)
    if not d.is_finite() or abs(d) >= MAX_AMOUNT:
        raise LedgerError(f"{str(value)[:40]!r} is too large an amount")
    return d


def round_money(value, places: int = 2, rounding: str = ROUND_HALF_UP) -> Decimal:
    """``value`` rounded to ``places`` decimals, half-up unless configured."""
    exp = Decimal(1).scaleb(-places)
    return to_decimal(value).quantize(exp, rounding=getattr(decimal, rounding, rounding))


def money_text(value: Decimal, places: int = 2) -> str:
    """The stored form: a plain decimal string with ``places`` decimals."""
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"


def check_balanced(postings: list[dict]) -> None:
    """Raise LedgerError unless the postings (two or more) sum to zero per currency."""
    if len(postings) < 2:
        raise LedgerError("an entry needs two or more postings")
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for p in postings:
        sums[p["currency"]] += to_decimal(p["amount"])
    off = {c: s for c, s in sums.items() if s != 0}
    if off:
        parts = ", ".join(f"{s:+f} {c}" for c, s in sorted(off.items()))
        raise LedgerError(f"the entry does not balance (off by {parts})")


def reversal_postings(postings: list[dict]) -> list[dict]:
    """The postings of the entry that undoes ``postings``."""
    return [{**p, "amount": money_text(-to_decimal(p["amount"]), _places(p["amount"]))} for p in postings]


def _places(text) -> int:
    s = str(text)
    return len(s.split(".", 1)[1]) if "." in s else 0


# ----------------------------------------------------------------------------- balances
def _in_range(date: str, start: str | None, end: str | None) -> bool:
    """``start`` inclusive, ``end`` inclusive (dates as ISO strings)."""
    return (start is None or date >= start) and (end is None or date <= end)


def balances(entries, start: str | None = None, end: str | None = None) -> dict[tuple[str, str], Decimal]:
    """``{(account, currency): balance}`` of the postings dated in [start, end]."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for e in entries:
        if not _in_range(e["date"], start, end):
            continue
        for p in e["postings"]:
            out[(p["account"], p["currency"])] += to_decimal(p["amount"])
    return {k: v for k, v in out.items() if v != 0}


@dataclass
class Report:
    """A report: titled sections of ``(account, currency, amount)`` rows with totals."""

    title: str
    sections: list[tuple[str, list[tuple[str, str, Decimal]]]] = field(default_factory=list)
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)   # section -> currency -> sum
    net: dict[str, Decimal] = field(default_factory=dict)

    def rows(self) -> list[dict]:
        """Flat rows for CSV and tables: section, account, currency, amount (strings)."""
        out = []
        for name, rows in self.sections:
            for account, cur, amount in rows:
                out.append({"section": name, "account": account, "currency": cur, "amount": f"{amount:f}"})
            for cur, total in sorted(self.totals.get(name, {}).items()):
                out.append({"section": name, "account": "total", "currency": cur, "amount": f"{total:f}"})
        for cur, total in sorted(self.net.items()):
            out.append({"section": "net", "account": "net", "currency": cur, "amount": f"{total:f}"})
        return out


def _section(bal, types, flip: bool) -> tuple[list, dict]:
    rows = sorted((acc, cur, -v if flip else v) for (acc, cur), v in bal.items() if account_type(acc) in types)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for _a, cur, v in rows:
        totals[cur] += v
    return rows, dict(totals)


def trial_balance(entries, start=None, end=None) -> Report:
    """Every account's balance (debits positive) — sums to zero per currency."""
    return trial_balance_of(balances(entries, start, end))


def trial_balance_of(bal) -> Report:
    """:func:`trial_balance` of the balances ``{(account, currency): amount}`` of its dates."""
    rows, totals = _section(bal, set(TYPES), False)
    return Report("Trial balance", [("accounts", rows)], {"accounts": totals})


def profit_loss(entries, start=None, end=None) -> Report:
    """Income (shown positive) and expenses; net = income − expenses."""
    return profit_loss_of(balances(entries, start, end))


def profit_loss_of(bal) -> Report:
    """:func:`profit_loss` of the balances of its dates."""
    inc, inc_t = _section(bal, {"income"}, True)
    exp, exp_t = _section(bal, {"expense"}, False)
    net = {c: inc_t.get(c, Decimal(0)) - exp_t.get(c, Decimal(0)) for c in set(inc_t) | set(exp_t)}
    return Report("Profit and loss", [("income", inc), ("expenses", exp)], {"income": inc_t, "expenses": exp_t}, net)


def balance_sheet(entries, end=None) -> Report:
    """Assets, liabilities and equity (liabilities and equity shown positive) at ``end``;
    equity includes the profit not yet closed to retained earnings."""
    return balance_sheet_of(balances(entries, None, end))


def balance_sheet_of(bal) -> Report:
    """:func:`balance_sheet` of the balances up to its date."""
    assets, a_t = _section(bal, {"asset"}, False)
    liab, l_t = _section(bal, {"liability"}, True)
    eq, e_t = _section(bal, {"equity"}, True)
    pl = profit_loss_of(bal).net
    for cur, v in pl.items():
        if v:
            eq.append(("equity:current earnings", cur, v))
            e_t[cur] = e_t.get(cur, Decimal(0)) + v
    net = {c: a_t.get(c, Decimal(0)) - l_t.get(c, Decimal(0)) for c in set(a_t) | set(l_t)}
    return Report("Balance sheet", [("assets", assets), ("liabilities", liab), ("equity", eq)],
                  {"assets": a_t, "liabilities": l_t, "equity": e_t}, net)


def cash_by_month(entries, cash_prefix: str = "assets:bank", start=None, end=None) -> list[tuple[str, str, Decimal, Decimal]]:
    """``[(month, currency, inflow, outflow)]`` of accounts under ``cash_prefix``."""
    out: dict[tuple[str, str], list[Decimal]] = {}
    for e in entries:
        if not _in_range(e["date"], start, end):
            continue
        for p in e["postings"]:
            acc = p["account"]
            if acc == cash_prefix or acc.startswith(cash_prefix + ":"):
                v = to_decimal(p["amount"])
                slot = out.setdefault((e["date"][:7], p["currency"]), [Decimal(0), Decimal(0)])
                slot[0 if v > 0 else 1] += abs(v)
    return [(m, c, i, o) for (m, c), (i, o) in sorted(out.items())]


AGEING_BUCKETS = ("current", "1-30", "31-60", "61-90", "over 90")


def ageing_bucket(due: str, as_of: str) -> str:
    days = (dt.date.fromisoformat(as_of) - dt.date.fromisoformat(due)).days
    if days <= 0:
        return "current"
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "over 90"


def ageing(open_items, as_of: str) -> dict[str, dict[str, Decimal]]:
    """Open amounts per bucket: ``open_items`` are ``(due, currency, open_amount)``;
    returns ``{bucket: {currency: amount}}`` with every bucket present."""
    out = {b: {} for b in AGEING_BUCKETS}
    for due, cur, amount in open_items:
        b = out[ageing_bucket(due, as_of)]
        b[cur] = b.get(cur, Decimal(0)) + to_decimal(amount)
    return out


def bar(value: Decimal, biggest: Decimal, width: int) -> str:
    """A bar of block characters (eighths) for a chart readable in 16 colours."""
    if biggest <= 0 or value <= 0:
        return ""
    eighths = int((value / biggest * width * 8).to_integral_value(rounding=ROUND_HALF_UP))
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])


def parse_amount(text: str) -> Decimal:
    """Parse a user-typed or imported amount; LedgerError names what is wrong."""
    try:
        return to_decimal(text)
    except InvalidOperation:
        raise LedgerError(f"{text!r} is not an amount") from None
