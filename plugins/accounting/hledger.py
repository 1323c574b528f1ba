"""hledger journal format: writing the ledger out, reading plain journals in,
and hours in timeclock format.

Reading handles plain transactions and postings (the common subset):
``DATE [=DATE2] [*|!] [(CODE)] DESCRIPTION [; comment]`` followed by
indented postings ``ACCOUNT  AMOUNT [; comment]``, one posting per
transaction may leave its amount out; ``account``/``commodity`` directives
and comments are skipped. Anything else is refused with its line number.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from plugins.accounting.ledger import LedgerError, check_account_name, money_text, to_decimal

_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:=\S+)?(?:\s+(.*))?$")
_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP"}
_COMMODITY = r"(?:[A-Za-z]{1,10}|[€$£]|\"[^\"]+\")"
_NUMBER = r"[+-]?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\s*\.\d+"
_AMOUNT_AFTER = re.compile(rf"^(?P<sign>[+-])?(?P<num>{_NUMBER})\s*(?P<cur>{_COMMODITY})?$")
_AMOUNT_BEFORE = re.compile(rf"^(?P<sign>[+-])?(?P<cur>{_COMMODITY})\s*(?P<num>{_NUMBER})$")


class JournalError(LedgerError):
    """A journal line that cannot be read; the message starts with ``line N:``."""


def _account_text(name: str) -> str:
    return name


def write_journal(entries, default_currency: str = "EUR") -> str:
    """The entries as an hledger journal (every amount written out, commodity after)."""
    out = []
    for e in entries:
        desc = " ".join(str(e.get("description") or "").split()).replace(";", ",")
        code = f" ({e['number']})" if e.get("number") else ""
        out.append(f"{e['date']} *{code} {desc}".rstrip())
        width = max(len(p["account"]) for p in e["postings"]) + 4
        for p in e["postings"]:
            amount = to_decimal(p["amount"])
            out.append(f"    {p['account']:<{width}}{amount:f} {p.get('currency') or default_currency}")
        out.append("")
    return "\n".join(out)


def parse_amount(text: str, line: int) -> tuple[Decimal, str | None]:
    raw = text.strip()
    m = _AMOUNT_AFTER.match(raw) or _AMOUNT_BEFORE.match(raw)
    if not m:
        raise JournalError(f"line {line}: {raw[:40]!r} is not an amount (like 12.50 EUR)")
    num = m.group("num").replace(" ", "").replace(",", "")
    sign = -1 if (m.group("sign") == "-") else 1
    cur = m.group("cur")
    if cur:
        cur = _SYMBOLS.get(cur, cur.strip('"'))
    try:
        value = to_decimal(num) * sign
    except LedgerError as error:
        raise JournalError(f"line {line}: {error}") from None
    return value, cur


def parse_journal(text: str, default_currency: str = "EUR") -> list[dict]:
    """Plain transactions from an hledger journal; JournalError names the line."""
    entries: list[dict] = []
    current: dict | None = None
    blank_amount_line = None

    def finish():
        nonlocal current, blank_amount_line
        if current is None:
            return
        posts = current["postings"]
        if len(posts) < 2:
            raise JournalError(f"line {current['line']}: the transaction has fewer than two postings")
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for p in posts:
            if p["amount"] is not None:
                sums[p["currency"]] += p["amount"]
        missing = [p for p in posts if p["amount"] is None]
        if len(missing) > 1:
            raise JournalError(f"line {current['line']}: more than one posting without an amount")
        if missing:
            off = {c: s for c, s in sums.items() if s != 0}
            if len(off) > 1:
                raise JournalError(f"line {missing[0]['line']}: cannot infer an amount for several currencies")
            cur, s = next(iter(off.items())) if off else (next(iter(sums)) if sums else default_currency, Decimal(0))
            missing[0]["amount"], missing[0]["currency"] = -s, cur
        else:
            off = {c: s for c, s in sums.items() if s != 0}
            if off:
                parts = ", ".join(f"{s:+f} {c}" for c, s in off.items())
                raise JournalError(f"line {current['line']}: the transaction does not balance (off by {parts})")
        places = 2
        entries.append({
            "date": current["date"], "description": current["description"], "line": current["line"],
            "postings": [{"account": p["account"], "currency": p["currency"], "line": p["line"],
                          "amount": money_text(p["amount"], max(places, -p["amount"].as_tuple().exponent))}
                         for p in posts]})
        current = None

    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if len(line) > 2000:
            raise JournalError(f"line {no}: the line is too long")
        if not line.strip():
            finish()
            continue
        if line[0] in ";#*%|":
            continue
        if line[0] in " \t":
            body = line.split(";", 1)[0].strip()
            if not body:
                continue
            if current is None:
                raise JournalError(f"line {no}: a posting outside a transaction")
            parts = re.split(r"\t|\s{2,}", body, maxsplit=1)
            account = parts[0].strip()
            if account.startswith(("(", "[")):
                raise JournalError(f"line {no}: virtual postings are not supported")
            try:
                account = check_account_name(account)
            except LedgerError as error:
                raise JournalError(f"line {no}: {error}") from None
            amount, cur = None, None
            if len(parts) > 1 and parts[1].strip():
                amt_text = parts[1].split("=", 1)[0]  # a balance assertion is hledger's business
                if "@" in amt_text:
                    raise JournalError(f"line {no}: prices (@) are not supported")
                amount, cur = parse_amount(amt_text, no)
                cur = cur or default_currency
            current["postings"].append({"account": account, "amount": amount, "currency": cur, "line": no})
            continue
        finish()
        word = line.split()[0]
        if word in ("account", "commodity", "decimal-mark", "payee", "tag"):
            continue
        m = _DATE.match(line)
        if not m:
            raise JournalError(f"line {no}: expected a transaction date like 2026-01-31, found {line[:30]!r}")
        y, mo, d, rest = m.groups()
        import datetime as dt

        try:
            date = dt.date(int(y), int(mo), int(d)).isoformat()
        except ValueError:
            raise JournalError(f"line {no}: {y}-{mo}-{d} is not a date") from None
        rest = (rest or "").split(";", 1)[0].strip()
        rest = re.sub(r"^[*!]\s*", "", rest)
        rest = re.sub(r"^\([^)]*\)\s*", "", rest)
        current = {"date": date, "description": rest[:200], "line": no, "postings": []}
    finish()
    return entries


def write_timeclock(rows) -> str:
    """Hours in hledger's timeclock format: ``rows`` have ``account``, ``date``,
    ``start`` and ``end`` (HH:MM, local time)."""
    out = []
    for r in rows:
        out.append(f"i {r['date']} {r['start']}:00 {r['account']}")
        out.append(f"o {r['date']} {r['end']}:00")
    return "\n".join(out) + ("\n" if out else "")
