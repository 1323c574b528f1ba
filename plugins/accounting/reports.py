"""Reports over the stored journal, the hledger export and import, and the
bank CSV import with a column mapping."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from core import csvsafe
from core.errors import ValidationError
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import bank as bank_lines
from plugins.accounting import bank_formats as F
from plugins.accounting import service as svc
from plugins.accounting import totals
from plugins.accounting.models import _

REPORTS = ("trial-balance", "profit-loss", "balance-sheet")


def report(ctx, name: str, start=None, end=None) -> L.Report:
    """One of :data:`REPORTS` over [start, end] (the balance sheet: at ``end``)."""
    ctx.require("accounting.ledger.read")
    start = m.date(start, "from", required=False)
    end = m.date(end, "to", required=False)
    if start and end and start > end:
        raise ValidationError(_("--from is after --to"), field="from")
    # summed from the month totals kept beside the journal (plugins/accounting/totals.py),
    # not from the entries: the same balances, a year's months instead of its entries
    if name == "trial-balance":
        return L.trial_balance_of(totals.balances(ctx, start, end))
    if name == "profit-loss":
        return L.profit_loss_of(totals.balances(ctx, start, end))
    if name == "balance-sheet":
        return L.balance_sheet_of(totals.balances(ctx, None, end))
    raise ValidationError(_("{name!r} is not a report ({known})").format(name=name, known=", ".join(REPORTS)),
                          field="report")


def report_csv(rep: L.Report) -> str:
    """A report as CSV for spreadsheets: amounts plain (``-1535.41``), text
    that would be a formula with a leading apostrophe (core.csvsafe)."""
    buf = io.StringIO()
    w = csvsafe.DictWriter(buf, ["section", "account", "currency", "amount"], lineterminator="\n",
                           numeric=("amount",))
    w.writeheader()
    w.writerows(rep.rows())
    return buf.getvalue()


def cash_by_month(ctx, start=None, end=None):
    ctx.require("accounting.ledger.read")
    start = m.date(start, "from", required=False)
    end = m.date(end, "to", required=False)
    return totals.cash_by_month(ctx, svc.account(ctx, "bank"), start, end)


def ageing_csv(ctx, as_of=None) -> str:
    buckets = svc.ageing(ctx, as_of)
    buf = io.StringIO()
    w = csvsafe.writer(buf, lineterminator="\n", numeric=(2,))
    w.writerow(["bucket", "currency", "amount"])
    for b in L.AGEING_BUCKETS:
        for cur, v in sorted(buckets[b].items()):
            w.writerow([b, cur, f"{v:f}"])
    return buf.getvalue()


# ----------------------------------------------------------------------------- export / import
def export_hledger(ctx, start=None, end=None) -> str:
    from plugins.accounting.hledger import write_journal

    return write_journal(svc.journal(ctx, start, end), svc.currency(ctx))


def export_csv(ctx, start=None, end=None) -> str:
    """The journal, one row per posting, for spreadsheets: amounts plain,
    text that would be a formula (a description from a bank statement)
    with a leading apostrophe (core.csvsafe)."""
    buf = io.StringIO()
    w = csvsafe.writer(buf, lineterminator="\n", numeric=(4,))
    w.writerow(["number", "date", "description", "account", "amount", "currency", "source", "reverses"])
    for e in svc.journal(ctx, start, end):
        for p in e["postings"]:
            w.writerow([e["number"], e["date"], e["description"], p["account"], p["amount"], p["currency"],
                        e.get("source", ""), e.get("reverses") or ""])
    return buf.getvalue()


def _accounts_for_import(ctx, used: list[tuple[int, str]], create_accounts: bool,
                         created: list[str] | None) -> None:
    """The accounts an import posts to (``(line, account)``) must be in the
    chart, as for ``accounting post``: unknown ones are refused, named with
    the line each first appears on — or, with ``create_accounts`` (the
    operator saw the list and said so), added and listed in ``created``.
    Inside the import's transaction."""
    first_line: dict[str, int] = {}
    for line, name in used:
        first_line.setdefault(name, line)
    unknown = svc.unknown_accounts(ctx, list(first_line))
    if not unknown:
        return
    if not create_accounts:
        named = ", ".join(_("{account} (line {line})").format(account=a, line=first_line[a]) for a in unknown)
        raise ValidationError(_.ngettext(
            "an account not in the chart: {accounts}; add it (accounting accounts add) or import with "
            "--create-accounts", "{n} accounts not in the chart: {accounts}; add them (accounting accounts "
            "add) or import with --create-accounts", len(unknown)).format(n=len(unknown), accounts=named),
            field="file")
    added = svc.create_accounts(ctx, unknown)
    if created is not None:
        created.extend(added)


def import_hledger(ctx, text: str, *, create_accounts: bool = False, created: list[str] | None = None) -> int:
    """Post every transaction of an hledger journal, all or nothing; returns
    the count. Accounts not in the chart are refused (named with their
    lines) unless ``create_accounts``: then they are added, and listed in
    ``created``."""
    from plugins.accounting.hledger import JournalError, parse_journal

    ctx.require("accounting.ledger.post")
    try:
        entries = parse_journal(text, svc.currency(ctx))
    except JournalError as error:
        raise ValidationError(str(error), field="file") from None
    with ctx.transaction():
        _accounts_for_import(ctx, [(p.get("line", e["line"]), p["account"]) for e in entries
                                   for p in e["postings"] if isinstance(p.get("account"), str)],
                             create_accounts, created)
        for e in entries:
            try:
                svc._post(ctx, e["date"], e["description"] or _("(imported)"), e["postings"], source="import",
                          create_accounts=False)
            except ValidationError as error:
                raise ValidationError(_("line {line}: {error}").format(line=e["line"], error=error.message),
                                      field="file") from None
    return len(entries)


DEFAULT_MAPPING = {"date": "date", "amount": "amount", "description": "description",
                   "date_format": "%Y-%m-%d", "decimal": ".", "delimiter": ",", "encoding": None, "rules": {}}


def import_bank_csv(ctx, text: str, mapping: dict | None = None, *, bank_account=None,
                    create_accounts: bool = False, created: list[str] | None = None, name: str = "") -> int:
    """Post each new row of a bank statement CSV against the bank account;
    the number of new rows.

    ``mapping``: ``date``/``amount``/``description`` column names,
    ``date_format`` (strptime), ``decimal`` ("." or ","), ``delimiter``,
    ``encoding`` (read by the CLI: ``bank_formats.decode``), and ``rules``
    ``{text in the description: counter account}``. Each row is kept once
    (``bank.import_csv_lines``): a row imported before is skipped, a row
    that pays a bill or an invoice (its number in the description) pays
    it; the others go to their rule's account or the "uncategorized" one.
    A bad date or amount is named by its line; nothing is posted then.
    """
    ctx.require("accounting.ledger.post")
    mp = {**DEFAULT_MAPPING, **(mapping or {})}
    bank = bank_account or svc.account(ctx, "bank")
    reader = csvsafe.StrictDictReader(io.StringIO(text), delimiter=mp["delimiter"])
    missing = [mp[k] for k in ("date", "amount", "description") if mp[k] not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(_.ngettext("line 1: missing column {cols}", "line 1: missing columns {cols}",
                                         len(missing)).format(cols=", ".join(missing)), field="file")
    rows = []
    for row in reader:
        line = reader.line
        try:
            date = dt.datetime.strptime((row[mp["date"]] or "").strip(), mp["date_format"]).date().isoformat()
        except ValueError:
            raise ValidationError(_("line {line}: {value!r} is not a date ({fmt})").format(
                line=line, value=(row[mp["date"]] or "")[:30], fmt=mp["date_format"]), field="file") from None
        raw = (row[mp["amount"]] or "").strip().replace(" ", "")
        if mp["decimal"] == ",":
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
        try:
            amount = L.to_decimal(raw)
        except L.LedgerError:
            raise ValidationError(_("line {line}: {value!r} is not an amount").format(
                line=line, value=(row[mp["amount"]] or "")[:30]), field="file") from None
        if amount == 0:
            continue
        desc = " ".join((row[mp["description"]] or "").split())[:200] or _("bank statement line {n}").format(n=line)
        counter = next((acc for needle, acc in mp["rules"].items() if needle.casefold() in desc.casefold()),
                       svc.account(ctx, "uncategorized"))
        rows.append((line, date, desc, amount, counter))
    cur = svc.currency(ctx)
    with ctx.transaction():
        # the bank and "uncategorized" accounts are the settings' (added as
        # for a bill); the rules' counter accounts come with the file's mapping
        svc.create_accounts(ctx, [bank, svc.account(ctx, "uncategorized")])
        _accounts_for_import(ctx, [(row[0], row[4]) for row in rows], create_accounts, created)
        lines = [(F.Line(booking_date=date, amount=amount, currency=cur, remittance=desc), counter)
                 for _line, date, desc, amount, counter in rows]
        try:
            summary = bank_lines.import_csv_lines(ctx, lines, ledger_account=bank, data=text.encode(), name=name)
        except ValidationError as error:
            raise ValidationError(error.message, field="file") from None
    return summary["new"]


def format_report(rep: L.Report, width: int = 60) -> str:
    """A plain-text table of a report (for the CLI and its printout): amounts
    right-aligned with their currency as the screens write them ("1.535,41 €",
    "€1,535.41": ``models.money_text``)."""
    total, net = m.label(m.REPORT_SECTION_TITLES, "total"), m.label(m.REPORT_SECTION_TITLES, "net")
    lines = [m.label(m.REPORT_TITLES, rep.title)]
    for section, rows in rep.sections:
        lines.append("")
        lines.append(m.label(m.REPORT_SECTION_TITLES, section).upper())
        for acc, cur, v in rows:
            lines.append(f"  {acc:<{width - 22}} {m.money_text(v, cur):>18}")
        for cur, t in sorted(rep.totals.get(section, {}).items()):
            lines.append(f"  {total:<{width - 22}} {m.money_text(t, cur):>18}")
    for cur, v in sorted(rep.net.items()):
        lines.append("")
        lines.append(f"{net:<{width - 20}} {m.money_text(v, cur):>18}")
    return "\n".join(lines)


__all__ = ["report", "report_csv", "export_hledger", "export_csv", "import_hledger", "import_bank_csv",
           "cash_by_month", "ageing_csv", "format_report", "Decimal"]
