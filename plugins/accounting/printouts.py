"""Accounting's papers on paper: an invoice or credit note, a reminder
(dunning letter), a report and the VAT return, printed through core's print
service (:mod:`core.services.printing`, ``ctx.services.printing.print_file``).

Each print reads what it prints through the function the screens and the
CLI use, so the same permission holds: ``accounting.invoices.read`` for
invoices and reminders, ``accounting.ledger.read`` for the reports and the
VAT return (the payables ageing also ``accounting.bills.read``). The
invoice is its Factur-X PDF (:func:`invoice_pdf.invoice_pdf`), the
reminder the letter with its GiroCode (:func:`invoice_pdf.reminder_pdf`);
a report or the VAT return is its text on an A4 page (fpdf2, Courier), as
the CLI shows it. None of these is confidential: the print is a job row,
not an audit entry (payslips are: :mod:`payslip_print`).
"""

from __future__ import annotations

from typing import Any

from core.errors import ValidationError
from core.i18n import today
from plugins.accounting import invoice_pdf
from plugins.accounting import invoicing as inv
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting import receivables as rcv
from plugins.accounting import reports as rep
from plugins.accounting import service as svc
from plugins.accounting import vatreturn as vr
from plugins.accounting.models import _

#: what ``print_report`` prints: the ledger's reports and the payables ageing
REPORTS = (*rep.REPORTS, "ageing")


def _latin1(text: str) -> str:
    return text.replace("€", "EUR").replace("–", "-").replace("—", "-").replace("−", "-").replace(
        "\u202f", " ").replace("\xa0", " ").encode("latin-1", "replace").decode("latin-1")


def text_pdf(ctx, title: str, lines: list[str]) -> bytes:
    """Lines of text on A4 pages (Courier 9 pt), the company's name and the
    title at the top, the day printed under them."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(title))
    pdf.set_author(_latin1(ctx.config.site.name))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 6, _latin1(ctx.config.site.name), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    pdf.cell(0, 5, _latin1(_("Printed on {date}").format(date=today().isoformat())), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Courier", size=9)
    for line in lines:
        pdf.cell(0, 4.5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _send(ctx, data: bytes, title: str, source: tuple, link: str, options: dict) -> dict:
    return ctx.services.printing.print_file(
        data, title=title, source=source, link=link, printer=options.get("printer"),
        copies=options.get("copies", 1), duplex=bool(options.get("duplex")), pages=options.get("pages"),
        tray=options.get("tray") or None)


# ---------------------------------------------------------------- invoices and reminders
def print_invoice(ctx, key: Any, **options: Any) -> dict:
    """Print an issued invoice or credit note (by number or id) as its
    Factur-X PDF; returns the print job. A draft is refused: it has no
    number yet."""
    doc = inv.invoice(ctx, key)  # accounting.invoices.read
    if not doc.get("number"):
        raise ValidationError(_("draft {id} is not issued yet: issue it first, then print it").format(id=doc["id"]),
                              field="invoice")
    what = _("Credit note") if doc["kind"] == "credit_note" else _("Invoice")
    customer = (doc.get("buyer") or {}).get("name", "")
    return _send(ctx, invoice_pdf.invoice_pdf(ctx, doc), f"{what} {doc['number']} {customer}",
                 ("accounting", "invoices", doc["id"]), "accounting.invoices", options)


def reminder_title(item: dict) -> str:
    return f"{rcv.title(item['level'])} {item['number']} {item.get('customer', '')}".strip()


def print_reminder(ctx, key: Any, level: int | None = None, **options: Any) -> dict:
    """Print the reminder letter sent for an invoice (its last, or the one
    at ``level``); returns the print job."""
    item = rcv.reminder(ctx, key, level)  # accounting.invoices.read
    return _send(ctx, invoice_pdf.reminder_pdf(ctx, item), reminder_title(item),
                 ("accounting", "invoices", item["id"]), "accounting.invoices", options)


def print_letters(ctx, items: list[dict], **options: Any) -> list[dict]:
    """Print the letters of a dunning run (:func:`receivables.run_dunning`'s rows)."""
    ctx.require("accounting.invoices.read")
    return [_send(ctx, invoice_pdf.reminder_pdf(ctx, item), reminder_title(item),
                  ("accounting", "invoices", item["id"]), "accounting.invoices", options) for item in items]


# ---------------------------------------------------------------- reports and the VAT return
def report_title(name: str, start=None, end=None) -> str:
    titles = {"trial-balance": _("Trial balance"), "profit-loss": _("Profit and loss"),
              "balance-sheet": _("Balance sheet"), "ageing": _("Payables ageing")}
    if name == "balance-sheet" or name == "ageing":
        span = _("at {date}").format(date=end or today().isoformat())
    else:
        span = f"{start or '…'} – {end or '…'}"
    return f"{titles.get(name, name)} {span}"


def report_lines(ctx, name: str, start=None, end=None) -> list[str]:
    """The report as the CLI shows it (the ageing as buckets)."""
    if name == "ageing":
        buckets = svc.ageing(ctx, end)  # accounting.bills.read
        out = []
        for b in L.AGEING_BUCKETS:
            amounts = ", ".join(f"{m.money_text(v, c):>16}" for c, v in sorted(buckets[b].items())) \
                or f"{m.money_text(0):>16}"
            out.append(f"{m.label(m.AGEING_TITLES, b):<12} {amounts}")
        return out
    if name not in rep.REPORTS:
        raise ValidationError(_("{name!r} is not a report ({known})").format(name=str(name)[:30],
                                                                             known=", ".join(REPORTS)),
                              field="report")
    return rep.format_report(rep.report(ctx, name, start, end)).splitlines()[1:]


def print_report(ctx, name: str, start=None, end=None, **options: Any) -> dict:
    """Print a report (trial balance, profit and loss, balance sheet or the
    payables ageing) over [start, end]; returns the print job."""
    ctx.require("accounting.ledger.read")
    title = report_title(name, start, end)
    lines = report_lines(ctx, name, start, end)
    return _send(ctx, text_pdf(ctx, title, lines), title, ("accounting", "reports", None), "accounting.reports",
                 options)


def print_vat_return(ctx, period: str, **options: Any) -> dict:
    """Print the VAT return (UStVA Kennzahlen) of a month or quarter."""
    result = vr.vat_return(ctx, period)  # accounting.ledger.read
    lines = vr.vat_return_text(ctx, result).splitlines()
    title = lines[0]
    return _send(ctx, text_pdf(ctx, title, lines[2:]), title, ("accounting", "vat_return", None),
                 "accounting.vat_return", options)
