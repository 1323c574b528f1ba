"""The VAT return (Umsatzsteuer-Voranmeldung) of a month or a quarter, read
from the ledger.

Every figure is the balance of one account (or one account tree) over the
period, so it can be checked with hledger on the exported journal: one
``hledger balance`` query per Kennzahl (``ROWS`` names the accounts). Net
amounts of sales are shown positive; the VAT owed (Kennzahl 83) is all
output VAT less all input VAT of the period. Credit notes count in the
period they are dated in, lowering the figures.

The bases of purchases that make the office owe the VAT (Kennzahlen 46 and
89: a foreign supplier's service under § 13b, an intra-EU acquisition) are
summed from the approved bills of the period, since those bills' nets go to
the expense accounts the operator chose; the VAT on them (47, 93) and its
deduction (67, 61) are accounts of their own.

The form wants the bases in whole euros; this report keeps the cents so it
adds up with the ledger (the office rounds down when it types them in).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal

from core import csvsafe
from core.errors import ValidationError
from core.i18n import N_, parse_month
from core.storage import AnyOf, Range
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import service as svc
from plugins.accounting import totals
from plugins.accounting import vat
from plugins.accounting.invoicing import account
from plugins.accounting.models import _

OUTPUT_VAT_TREE = "liabilities:tax:output vat"
INPUT_VAT_TREE = "assets:tax:input vat"


@dataclass(frozen=True)
class Row:
    """One Kennzahl: where its figure comes from (an account role, an account
    tree by name, or the bills), and whether it is a base or a tax."""

    kz: str
    title: str
    kind: str  # "net" (a base) or "tax"
    role: str | None = None  # an account (vat.ACCOUNTS role or "input_vat")
    sign: int = -1  # credit balances (income, liabilities) shown positive


ROWS = [
    Row("81", N_("taxable sales at 19 %"), "net", "sales_19"),
    Row("81", N_("VAT on them"), "tax", "output_vat_19"),
    Row("86", N_("taxable sales at 7 %"), "net", "sales_7"),
    Row("86", N_("VAT on them"), "tax", "output_vat_7"),
    Row("87", N_("sales at 0 % (§ 12 Abs. 3)"), "net", "sales_0"),
    Row("41", N_("intra-EU supplies (with VAT ID)"), "net", "sales_eu"),
    Row("45", N_("sales not taxable in Germany"), "net", "sales_nt"),
    Row("60", N_("customer owes the VAT (§ 13b)"), "net", "sales_rc"),
    Row("89", N_("intra-EU acquisitions at 19 %"), "net", None),
    Row("93", N_("VAT on intra-EU acquisitions"), "tax", "output_vat_eu"),
    Row("46", N_("services from abroad (§ 13b)"), "net", None),
    Row("47", N_("VAT on them, owed by us"), "tax", "output_vat_rc"),
    Row("66", N_("input VAT from invoices"), "tax", "input_vat", 1),
    Row("61", N_("input VAT, intra-EU acquisitions"), "tax", "input_vat_eu", 1),
    Row("67", N_("input VAT, § 13b services"), "tax", "input_vat_rc", 1),
]


def period_range(value) -> tuple[str, str, str]:
    """A month (``2026-11``, or the locale's "11.2026") or a quarter
    (``2026-Q4``) → (name, first day, last day); the name is ISO."""
    s = str(value or "").strip().upper()
    q = re.fullmatch(r"(\d{4})-Q([1-4])", s)
    if q:
        year, quarter = int(q.group(1)), int(q.group(2))
        first, _last = m.period(f"{year}-{quarter * 3 - 2:02d}")
        _first, last = m.period(f"{year}-{quarter * 3:02d}")
        return s, first, last
    try:
        month = parse_month(s)
    except ValidationError:
        raise ValidationError(_("{value!r} is not a period (a month like 2026-11 or a quarter like 2026-Q4)").format(
            value=str(value)[:20]), field="period") from None
    first, last = m.period(month, "period")
    return month, first, last


def accounts_of(ctx) -> dict[str, str]:
    """Each row's account: ``{kz/kind: account}`` for the rows read from one account."""
    out = {}
    for row in ROWS:
        if row.role:
            out[f"{row.kz}/{row.kind}"] = svc.account(ctx, "input_vat") if row.role == "input_vat" \
                else account(ctx, row.role)
    return out


def _acquisition_bases(ctx, first: str, last: str) -> dict[str, Decimal]:
    """Nets of the approved bills' rc and eu lines dated in the period."""
    out = {"rc": Decimal(0), "eu": Decimal(0)}
    for b in ctx.table("bills").find({"date": Range(ge=first, le=last),
                                      "status": AnyOf(["approved", "partly_paid", "in_payment", "paid"])}):
        for line in b["lines"]:
            if line.get("vat_code") in out:
                out[line["vat_code"]] += L.to_decimal(line["net"])
    return out


def vat_return(ctx, period) -> dict:
    """The return of ``period``: ``rows`` (kz, title, kind, amount, account),
    ``output_vat``, ``input_vat`` and ``payable`` (Kennzahl 83), by currency
    of the books (one currency: the books' own)."""
    ctx.require("accounting.ledger.read")
    name, first, last = period_range(period)
    cur = svc.currency(ctx)
    bal = totals.balances(ctx, first, last)  # the months' kept totals, not a quarter's entries (totals.py)

    def balance(acc: str) -> Decimal:
        return bal.get((acc, cur), Decimal(0))

    def tree(prefix: str) -> Decimal:
        return sum((v for (acc, c), v in bal.items() if c == cur and (acc == prefix or acc.startswith(prefix + ":"))),
                   Decimal(0))

    accounts = accounts_of(ctx)
    bases = _acquisition_bases(ctx, first, last)
    rows = []
    for row in ROWS:
        acc = accounts.get(f"{row.kz}/{row.kind}")
        if acc:
            value = row.sign * balance(acc)
        else:
            value = bases["eu" if row.kz == "89" else "rc"]
        rows.append({"kz": row.kz, "title": _(row.title), "kind": row.kind, "amount": value, "account": acc or ""})
    output_vat = -tree(OUTPUT_VAT_TREE)
    input_vat = tree(INPUT_VAT_TREE)
    return {"period": name, "from": first, "to": last, "currency": cur, "rows": rows,
            "output_vat": output_vat, "input_vat": input_vat, "payable": output_vat - input_vat}


def vat_return_csv(result: dict) -> str:
    """The return as CSV: Kennzahl, what, base or tax, amount (plain), account."""
    buf = io.StringIO()
    w = csvsafe.writer(buf, lineterminator="\n", numeric=(3,))
    w.writerow(["kz", "what", "kind", "amount", "account"])
    for r in result["rows"]:
        w.writerow([r["kz"], r["title"], r["kind"], f"{r['amount']:.2f}", r["account"]])
    w.writerow(["83", _("VAT payable (output VAT less input VAT)"), "tax", f"{result['payable']:.2f}", ""])
    return buf.getvalue()


def vat_return_text(ctx, result: dict) -> str:
    """The return as a person reads it (the site's number format)."""
    places = m.places(ctx)
    out = [_("VAT return {period} ({start} to {end})").format(period=result["period"], start=result["from"],
                                                              end=result["to"]), ""]
    for r in result["rows"]:
        if r["amount"] == 0 and r["kz"] not in ("81", "66"):
            continue
        label = _("base") if r["kind"] == "net" else _("VAT")
        out.append(f"{r['kz']:>3}  {r['title'][:32]:<32} {label:<4} {m.number_text(r['amount'], places):>12}")
    out.append("")
    out.append(_("Output VAT {out} · input VAT {inp}").format(out=m.number_text(result["output_vat"], places),
                                                              inp=m.number_text(result["input_vat"], places)))
    payable = _("VAT payable (refund if < 0)")
    out.append(f" 83  {payable[:37]:<37} {m.number_text(result['payable'], places):>12} {result['currency']}")
    return "\n".join(out)


def quarter_of(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
