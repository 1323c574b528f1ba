"""The books for the tax adviser: DATEV's EXTF "Buchungsstapel".

A CSV in DATEV-Format (header version 700, format category 21
"Buchungsstapel", format version 13): a header line of 31 fields, the row
of the 125 column names, then one row per booking — amount without sign
and with a decimal comma, S or H, the account and the contra account as
numbers of the SKR03 or SKR04 chart, the BU key, the document date as
TTMM, the document number and the booking text. Semicolons, text in
double quotes, Windows-1252, CRLF: what DATEV Unternehmen online and the
adviser's Kanzlei-Rechnungswesen import.

Each ledger entry of the period becomes one or more bookings:

- a bill (and an invoice or credit note) is booked gross on the vendor's
  creditor (the customer's debtor) against each expense (revenue) account
  with the BU key of its VAT code — 9/8 input VAT 19/7 %, 3/2 output VAT
  19/7 %, 94 § 13b and 19 intra-EU acquisition at 19 % — so DATEV derives
  the VAT itself; the entry's own VAT postings are not exported again;
- every other entry pairs its debits with its credits (a payment, a bank
  line, payroll, a manual entry); payables and receivables of a bill or an
  invoice are the vendor's creditor (``creditors_from`` + vendor id) and
  the customer's debtor (``debtors_from`` + customer id).

Ledger accounts are mapped to DATEV accounts by the ``datev`` setting's
``accounts`` (a ledger account, or a parent of it, to a number) over the
built-in mapping of the default chart for SKR03 or SKR04; an account with
no number refuses the export, naming it. Permission:
``accounting.ledger.export``; each export is recorded in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from core.services.audit import now_utc
from core.errors import ValidationError
from core.outputs import write_output
from core.storage import Range
from plugins.accounting import invoicing as inv
from plugins.accounting import ledger as L
from plugins.accounting import service as svc
from plugins.accounting import sepa
from plugins.accounting import vat
from plugins.accounting import vatreturn as vr
from plugins.accounting.models import _

HEADER_VERSION = 700
CATEGORY = 21
FORMAT_NAME = "Buchungsstapel"
FORMAT_VERSION = 13
ENCODING = "cp1252"

#: the 125 columns of a Buchungsstapel (format version 13), in DATEV's order
COLUMNS = (
    ["Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Kurs", "Basis-Umsatz",
     "WKZ Basis-Umsatz", "Konto", "Gegenkonto (ohne BU-Schlüssel)", "BU-Schlüssel", "Belegdatum", "Belegfeld 1",
     "Belegfeld 2", "Skonto", "Buchungstext", "Postensperre", "Diverse Adressnummer", "Geschäftspartnerbank",
     "Sachverhalt", "Zinssperre", "Beleglink"]
    + [f"Beleginfo - {kind} {n}" for n in range(1, 9) for kind in ("Art", "Inhalt")]
    + ["KOST1 - Kostenstelle", "KOST2 - Kostenstelle", "Kost-Menge", "EU-Land u. UStID (Bestimmung)",
       "EU-Steuersatz (Bestimmung)", "Abw. Versteuerungsart", "Sachverhalt L+L", "Funktionsergänzung L+L",
       "BU 49 Hauptfunktionstyp", "BU 49 Hauptfunktionsnummer", "BU 49 Funktionsergänzung"]
    + [name for n in range(1, 21) for name in (f"Zusatzinformation - Art {n}", f"Zusatzinformation- Inhalt {n}")]
    + ["Stück", "Gewicht", "Zahlweise", "Forderungsart", "Veranlagungsjahr", "Zugeordnete Fälligkeit",
       "Skontotyp", "Auftragsnummer", "Buchungstyp", "USt-Schlüssel (Anzahlungen)", "EU-Land (Anzahlungen)",
       "Sachverhalt L+L (Anzahlungen)", "EU-Steuersatz (Anzahlungen)", "Erlöskonto (Anzahlungen)", "Herkunft-Kz",
       "Buchungs GUID", "KOST-Datum", "SEPA-Mandatsreferenz", "Skontosperre", "Gesellschaftername",
       "Beteiligtennummer", "Identifikationsnummer", "Zeichnernummer", "Postensperre bis",
       "Bezeichnung SoBil-Sachverhalt", "Kennzeichen SoBil-Buchung", "Festschreibung", "Leistungsdatum",
       "Datum Zuord. Steuerperiode", "Fälligkeit", "Generalumkehr (GU)", "Steuersatz", "Land",
       "Abrechnungsreferenz", "BVV-Position", "EU-Land u. UStID (Ursprung)", "EU-Steuersatz (Ursprung)",
       "Abw. Skontokonto"])
#: the columns filled (0-based) and which of them are text (quoted)
AMOUNT, SIDE, CURRENCY, ACCOUNT, CONTRA, BU_KEY, DATE, DOCUMENT, TEXT = 0, 1, 2, 6, 7, 8, 9, 10, 13
TEXT_COLUMNS = frozenset({SIDE, CURRENCY, BU_KEY, DOCUMENT, TEXT})

#: DATEV's BU keys by (sales or purchase, VAT code) and the rate DATEV derives the VAT at
BU = {("sales", "19"): "3", ("sales", "7"): "2", ("purchase", "19"): "9", ("purchase", "7"): "8",
      ("purchase", "rc"): "94", ("purchase", "eu"): "19"}
RATES = {"3": Decimal("0.19"), "2": Decimal("0.07"), "9": Decimal("0.19"), "8": Decimal("0.07"),
         "94": Decimal("0.19"), "19": Decimal("0.19")}

#: the default chart's accounts (ledger.DEFAULT_CHART and vat.ACCOUNTS) in SKR03 and SKR04
CHARTS = {
    "SKR03": {
        "assets:bank:checking": 1200, "assets:cash": 1000, "assets:receivables": 1400, "assets:inventory": 3980,
        "assets:tax:input vat": 1576, "assets:tax:input vat:reverse charge": 1577,
        "assets:tax:input vat:intra-eu": 1574, "liabilities:payables": 1600,
        "liabilities:payroll:net pay": 1740, "liabilities:payroll:withholdings": 1741,
        "liabilities:tax:output vat": 1776, "liabilities:tax:output vat:19": 1776,
        "liabilities:tax:output vat:7": 1771, "liabilities:tax:output vat:reverse charge": 1787,
        "liabilities:tax:output vat:intra-eu": 1774, "equity:capital": 800, "equity:opening balances": 9000,
        "equity:retained earnings": 860, "income:sales": 8200, "income:sales:vat 19": 8200,
        "income:sales:vat 7": 8200, "income:sales:vat 0": 8200, "income:sales:reverse charge": 8337,
        "income:sales:intra-eu": 8125, "income:sales:not taxable": 8338, "income:other": 2700,
        "income:dunning fees": 2650, "expenses:salaries": 4120, "expenses:rent": 4210,
        "expenses:office supplies": 4930, "expenses:it": 4806, "expenses:telephone": 4920,
        "expenses:travel": 4660, "expenses:bank fees": 4970, "expenses:purchases": 3200,
        "expenses:uncategorized": 4900,
    },
    "SKR04": {
        "assets:bank:checking": 1800, "assets:cash": 1600, "assets:receivables": 1200, "assets:inventory": 1140,
        "assets:tax:input vat": 1406, "assets:tax:input vat:reverse charge": 1407,
        "assets:tax:input vat:intra-eu": 1404, "liabilities:payables": 3300,
        "liabilities:payroll:net pay": 3720, "liabilities:payroll:withholdings": 3730,
        "liabilities:tax:output vat": 3806, "liabilities:tax:output vat:19": 3806,
        "liabilities:tax:output vat:7": 3801, "liabilities:tax:output vat:reverse charge": 3837,
        "liabilities:tax:output vat:intra-eu": 3804, "equity:capital": 2900, "equity:opening balances": 9000,
        "equity:retained earnings": 2970, "income:sales": 4200, "income:sales:vat 19": 4200,
        "income:sales:vat 7": 4200, "income:sales:vat 0": 4200, "income:sales:reverse charge": 4337,
        "income:sales:intra-eu": 4125, "income:sales:not taxable": 4338, "income:other": 4830,
        "income:dunning fees": 7100, "expenses:salaries": 6020, "expenses:rent": 6310,
        "expenses:office supplies": 6815, "expenses:it": 6495, "expenses:telephone": 6805,
        "expenses:travel": 6650, "expenses:bank fees": 6855, "expenses:purchases": 5200,
        "expenses:uncategorized": 6300,
    },
}
#: where DATEV books the VAT a BU key derives (for reading an export back: ``expand``)
TAX_ACCOUNTS = {
    "SKR03": {"3": (1776,), "2": (1771,), "9": (1576,), "8": (1571,), "94": (1577, 1787), "19": (1574, 1774)},
    "SKR04": {"3": (3806,), "2": (3801,), "9": (1406,), "8": (1401,), "94": (1407, 3837), "19": (1404, 3804)},
}


def settings(ctx) -> dict:
    s = dict(ctx.settings.get("datev") or {})
    chart = str(s.get("chart", "SKR03")).upper()
    return {"advisor": s.get("advisor"), "client": s.get("client"), "chart": chart,
            "fiscal_year_start": str(s.get("fiscal_year_start", "01-01")), "accounts": s.get("accounts") or {},
            "creditors_from": s.get("creditors_from", 70000), "debtors_from": s.get("debtors_from", 10000)}


def creditor_account(cfg: dict, vendor_id: int) -> int:
    """A vendor's personal account (Kreditor): ``creditors_from`` + its id,
    within DATEV's creditor range (70000–99999 with four-digit accounts)."""
    number = cfg["creditors_from"] + int(vendor_id)
    if number > 99999:
        raise ValidationError(_("vendor {id} has no DATEV creditor number: {number} is past 99999 (lower the "
                                "datev setting's creditors_from)").format(id=vendor_id, number=number),
                              field="creditors_from")
    return number


def debtor_account(cfg: dict, customer_id: int) -> int:
    """A customer's personal account (Debitor): ``debtors_from`` + its id,
    within DATEV's debtor range (10000–69999 with four-digit accounts)."""
    number = cfg["debtors_from"] + int(customer_id)
    if number > 69999:
        raise ValidationError(_("customer {id} has no DATEV debtor number: {number} is past 69999 (lower the "
                                "datev setting's debtors_from)").format(id=customer_id, number=number),
                              field="debtors_from")
    return number


def period(value) -> tuple[str, str, str]:
    """``2026-Q4``, ``2026-11`` or ``2026`` → (name, first day, last day)."""
    s = str(value or "").strip().upper()
    if re.fullmatch(r"\d{4}", s):
        return s, f"{s}-01-01", f"{s}-12-31"
    return vr.period_range(s)


# ============================================================================ accounts
class Mapper:
    """Ledger account → DATEV account number: the setting's ``accounts``
    over the chart's defaults, the longest matching parent winning."""

    def __init__(self, cfg: dict) -> None:
        self.table = {**CHARTS[cfg["chart"]], **cfg["accounts"]}
        self.missing: list[str] = []

    def __call__(self, account: str) -> int:
        name = account
        while name:
            if name in self.table:
                return int(self.table[name])
            name = name.rpartition(":")[0]
        if account not in self.missing:
            self.missing.append(account)
        return 0


# ============================================================================ bookings
def bookings(ctx, first: str, last: str) -> list[dict]:
    """The period's bookings: ``{amount, side, account, contra, bu, date,
    document, text}`` (amount positive; side S: the account is debited)."""
    cfg = settings(ctx)
    to = Mapper(cfg)
    vendors_of = {b["id"]: b["vendor_id"] for b in ctx.table("bills").all()}
    invoices = {d["id"]: d for d in ctx.table("invoices").all()}
    payables, receivables = svc.account(ctx, "payables"), inv.account(ctx, "receivables")
    out: list[dict] = []
    for e in ctx.table("entries").find({"date": Range(ge=first, le=last)}, order_by=["date", "number"]):
        ref = e.get("ref") or {}
        creditor = creditor_account(cfg, vendors_of[ref["bill_id"]]) if ref.get("bill_id") in vendors_of else None
        doc = invoices.get(ref.get("invoice_id"))
        debtor = debtor_account(cfg, doc["customer_id"]) if doc else None

        def number(account: str) -> int:
            if account == payables and creditor:
                return creditor
            if account == receivables and debtor:
                return debtor
            return to(account)

        base = {"date": e["date"], "text": e["description"], "document": _document(ctx, e, doc)}
        folded = None
        if e.get("source") == "bill" and ref.get("bill_id"):
            folded = _bill_bookings(ctx, e, ctx.table("bills").get(ref["bill_id"]), number)
        elif e.get("source") in ("invoice", "credit_note") and doc:
            folded = _invoice_bookings(ctx, e, doc, number)
        for b in folded if folded is not None else _paired(e["postings"], number):
            out.append({**base, **b})
    if to.missing:
        raise ValidationError(_("no DATEV account for {accounts}: give each a number in the datev setting's "
                                "accounts").format(accounts=", ".join(to.missing)), field="accounts")
    return out


def _paired(postings: list[dict], number) -> list[dict]:
    """Debits against credits: one booking per debit when there is one
    credit (and the other way), else the largest left of each side paired
    until nothing is left."""
    debits = [[L.to_decimal(p["amount"]), p["account"]] for p in postings if L.to_decimal(p["amount"]) > 0]
    credits = [[-L.to_decimal(p["amount"]), p["account"]] for p in postings if L.to_decimal(p["amount"]) < 0]
    out = []
    while debits and credits:
        debits.sort(key=lambda x: -x[0])
        credits.sort(key=lambda x: -x[0])
        d, c = debits[0], credits[0]
        amount = min(d[0], c[0])
        out.append({"amount": amount, "side": "S", "account": number(d[1]), "contra": number(c[1]), "bu": ""})
        d[0] -= amount
        c[0] -= amount
        debits = [x for x in debits if x[0] > 0]
        credits = [x for x in credits if x[0] > 0]
    return out


def _bill_bookings(ctx, entry: dict, bill: dict | None, number) -> list[dict] | None:
    """A bill gross on the creditor against each expense account, with the
    BU key of each VAT rate; None (pair the postings) when the bill's lines
    do not add up to the entry."""
    if not bill:
        return None
    groups: dict[tuple[str, str], Decimal] = {}
    for line in bill["lines"]:
        code = line.get("vat_code") or {"0.19": "19", "0.07": "7"}.get(str(L.to_decimal(line["tax_rate"])), "")
        bu = BU.get(("purchase", code), "")
        gross = L.to_decimal(line["net"]) + (L.to_decimal(line["tax"]) if bu in ("9", "8") else 0)
        if bu not in ("9", "8", "94", "19") and L.to_decimal(line["tax"]):
            return None  # a rate DATEV has no key for here: book the postings as they are
        key = (line["account"], bu)
        groups[key] = groups.get(key, Decimal(0)) + gross
    payable = -sum((L.to_decimal(p["amount"]) for p in entry["postings"]
                    if p["account"] == svc.account(ctx, "payables")), Decimal(0))
    if sum(v for (acc, bu), v in groups.items()) != payable:
        return None
    creditor = number(svc.account(ctx, "payables"))
    return [{"amount": amount, "side": "H", "account": creditor, "contra": number(acc), "bu": bu}
            for (acc, bu), amount in groups.items() if amount]


def _invoice_bookings(ctx, entry: dict, doc: dict, number) -> list[dict] | None:
    """An invoice (a credit note) gross on the debtor against each revenue
    account, with the BU key of its VAT code."""
    sign = -1 if doc["kind"] == "credit_note" else 1
    debtor = number(inv.account(ctx, "receivables"))
    out = []
    for row in doc["breakdown"]:
        income, _tax = vat.sales_accounts(vat.CODES[row["vat_code"]], lambda r: inv.account(ctx, r))
        bu = BU.get(("sales", row["vat_code"]), "")
        gross = L.to_decimal(row["net"]) + (L.to_decimal(row["tax"]) if bu else 0)
        if not bu and L.to_decimal(row["tax"]):
            return None
        if gross:
            out.append({"amount": gross, "side": "S" if sign > 0 else "H", "account": debtor,
                        "contra": number(income), "bu": bu})
    if sum((b["amount"] for b in out), Decimal(0)) != L.to_decimal(doc["total"]):
        return None
    return out


def _document(ctx, entry: dict, doc: dict | None) -> str:
    """Belegfeld 1: the bill's or the invoice's number, else the entry's."""
    ref = entry.get("ref") or {}
    if doc and doc.get("number"):
        return doc["number"]
    if ref.get("bill_id"):
        bill = ctx.table("bills").get(ref["bill_id"])
        if bill:
            return bill["number"]
    return f"BD{entry['number']}"


# ============================================================================ the file
def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}".replace(".", ",")


def _belegfeld(value: str) -> str:
    """Belegfeld 1: up to 36 of the characters DATEV takes there (letters,
    digits, $ & % * + - /)."""
    return re.sub(r"[^A-Za-z0-9$&%*+\-/]", "", value)[:36]


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def buchungsstapel(ctx, period_text: str) -> tuple[str, list[dict], dict]:
    """The period's Buchungsstapel as text (encode it in Windows-1252), its
    bookings and the header's values."""
    ctx.require("accounting.ledger.export")
    cfg = settings(ctx)
    if not cfg["advisor"] or not cfg["client"]:
        raise ValidationError(_("set the datev setting's advisor (Beraternummer) and client (Mandantennummer) "
                                "first"), field="datev")
    name, first, last = period(period_text)
    fy = _fiscal_year_start(cfg, first)
    if last >= (dt.date.fromisoformat(fy).replace(year=int(fy[:4]) + 1)).isoformat():
        raise ValidationError(_("{period} spans two fiscal years: a Buchungsstapel covers one (the document "
                                "date has no year)").format(period=name), field="period")
    rows = bookings(ctx, first, last)
    created = dt.datetime.fromisoformat(now_utc())
    header = {"created": created.strftime("%Y%m%d%H%M%S") + f"{created.microsecond // 1000:03d}",
              "advisor": cfg["advisor"], "client": cfg["client"], "fiscal_year_start": fy.replace("-", ""),
              "from": first.replace("-", ""), "to": last.replace("-", ""), "label": f"Backdesk {name}"[:30],
              "chart": cfg["chart"][3:], "user": ctx.operator.account[:25]}
    fields = [_quote("EXTF"), str(HEADER_VERSION), str(CATEGORY), _quote(FORMAT_NAME), str(FORMAT_VERSION),
              header["created"], "", _quote("BD"), _quote(header["user"]), '""', str(cfg["advisor"]),
              str(cfg["client"]), header["fiscal_year_start"], "4", header["from"], header["to"],
              _quote(header["label"]), '""', "1", "0", "0", _quote(svc.currency(ctx)), "", '""', "", "",
              _quote(header["chart"]), "", "", '""', '""']
    lines = [";".join(fields), ";".join(COLUMNS)]  # the column names unquoted, as in DATEV's sample files
    for b in rows:
        cells = [""] * len(COLUMNS)
        cells[AMOUNT] = _amount(b["amount"])
        cells[SIDE] = b["side"]
        cells[CURRENCY] = svc.currency(ctx)
        cells[ACCOUNT] = str(b["account"])
        cells[CONTRA] = str(b["contra"])
        cells[BU_KEY] = b["bu"]
        cells[DATE] = b["date"][8:10] + b["date"][5:7]
        cells[DOCUMENT] = _belegfeld(b["document"])
        cells[TEXT] = " ".join(b["text"].split())[:60]
        lines.append(";".join(_quote(v) if i in TEXT_COLUMNS else v for i, v in enumerate(cells)))
    return "\r\n".join(lines) + "\r\n", rows, header


def _fiscal_year_start(cfg: dict, day: str) -> str:
    mm, dd = cfg["fiscal_year_start"].split("-")
    start = f"{day[:4]}-{mm}-{dd}"
    return start if start <= day else f"{int(day[:4]) - 1}-{mm}-{dd}"


def file_name(period_text: str) -> str:
    return f"EXTF_Buchungsstapel_{period(period_text)[0]}.csv"


def export(ctx, period_text: str, path: str | Path | None = None) -> tuple[Path, int]:
    """Write the period's Buchungsstapel (Windows-1252) to ``path`` or the
    exports folder; recorded in the audit trail. (path, bookings)."""
    text, rows, _header = buchungsstapel(ctx, period_text)
    data = text.encode(ENCODING, errors="replace")
    target = Path(path).expanduser() if path not in (None, "") else sepa.exports_dir(ctx) / file_name(period_text)
    write_output(target, data)
    ctx.services.audit.record_read("accounting", "accounting.entries", None,
                                   f"DATEV Buchungsstapel {period(period_text)[0]} ({len(rows)} bookings) "
                                   f"written to {target}")
    return target, len(rows)


def expand(rows: list[dict], chart: str) -> dict[int, Decimal]:
    """What DATEV books from ``bookings``: each DATEV account's balance
    (debit +), the VAT of a BU key derived from the gross as DATEV does.
    For the tests and for a check by hand against the ledger."""
    out: dict[int, Decimal] = {}

    def add(acc: int, value: Decimal) -> None:
        out[acc] = out.get(acc, Decimal(0)) + value

    for b in rows:
        amount = b["amount"] if b["side"] == "S" else -b["amount"]
        add(b["account"], amount)
        bu = b["bu"]
        if bu in ("3", "2", "9", "8"):
            rate = RATES[bu]
            net = (amount / (1 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            add(b["contra"], -net)
            add(TAX_ACCOUNTS[chart][bu][0], -(amount - net))
        else:
            add(b["contra"], -amount)
            if bu in ("94", "19"):
                tax = (abs(amount) * RATES[bu]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                vst, ust = TAX_ACCOUNTS[chart][bu]
                add(vst, tax)
                add(ust, -tax)
    return {k: v for k, v in out.items() if v}


def ledger_by_datev(ctx, first: str, last: str) -> dict[int, Decimal]:
    """The ledger's movements in the period per DATEV account (creditors and
    debtors as in the export): what ``expand`` of the export must equal."""
    cfg = settings(ctx)
    to = Mapper(cfg)
    vendors_of = {b["id"]: b["vendor_id"] for b in ctx.table("bills").all()}
    customers_of = {d["id"]: d["customer_id"] for d in ctx.table("invoices").all()}
    payables, receivables = svc.account(ctx, "payables"), inv.account(ctx, "receivables")
    out: dict[int, Decimal] = {}
    for e in ctx.table("entries").find({"date": Range(ge=first, le=last)}):
        ref = e.get("ref") or {}
        for p in e["postings"]:
            if p["account"] == payables and ref.get("bill_id") in vendors_of:
                acc = creditor_account(cfg, vendors_of[ref["bill_id"]])
            elif p["account"] == receivables and ref.get("invoice_id") in customers_of:
                acc = debtor_account(cfg, customers_of[ref["invoice_id"]])
            else:
                acc = to(p["account"])
            out[acc] = out.get(acc, Decimal(0)) + L.to_decimal(p["amount"])
    return {k: v for k, v in out.items() if v}


__all__ = ["COLUMNS", "buchungsstapel", "bookings", "export", "expand", "ledger_by_datev", "file_name"]
