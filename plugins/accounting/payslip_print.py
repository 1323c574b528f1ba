"""A payslip on paper: its PDF (fpdf2) and its print through core's print
service (:mod:`core.services.printing`).

Reading a payslip needs ``accounting.payroll.read`` and is audited
(:func:`plugins.accounting.payroll.payslip`); printing it is a confidential
print, so the audit trail also records who printed it, where and how many
copies. The built-in PDF fonts know Latin-1 only: other characters are
replaced. Imported when used (fpdf2).
"""

from __future__ import annotations

from typing import Any

from core.errors import ValidationError
from core.i18n import format_money, month_text
from plugins.accounting import models as m
from plugins.accounting import payroll
from plugins.accounting.models import _


def _month(period) -> str:
    """A payslip's month the locale's way ("11.2026"); as stored if it is none."""
    try:
        return month_text(period) if period else ""
    except ValueError:
        return str(period)


def _latin1(text: str) -> str:
    return text.replace("€", "EUR").replace("–", "-").replace("—", "-").replace("−", "-").encode(
        "latin-1", "replace").decode("latin-1")


def _money(value, cur) -> str:
    try:
        return format_money(value, cur)
    except Exception:  # an unknown currency code: show it plainly
        return f"{value} {cur}"


def payslip_lines(ctx, slip: dict) -> list[str]:
    """The payslip as lines of text (what the PDF shows)."""
    c = slip["currency"]
    lines = [ctx.config.site.name, "", _("Payslip {period}").format(period=_month(slip.get("period"))),
             slip.get("name", ""), "",
             _("{kind} at {rate}").format(kind=m.label(m.PAY_KINDS, slip["kind"]), rate=_money(slip["rate"], c))]
    if payroll.is_prorated(slip):
        lines.append(payroll.salary_days_text(slip))
    lines += [f"{_('Base'):<32}{_money(slip['base'], c):>20}",
              f"{_('Overtime') + ' (' + str(slip['overtime_hours']) + ' h)':<32}{_money(slip['overtime_pay'], c):>20}",
              f"{_('Holidays') + ' (' + str(slip['holiday_hours']) + ' h)':<32}{_money(slip['holiday_pay'], c):>20}",
              f"{_('Gross'):<32}{_money(slip['gross'], c):>20}"]
    lines += [f"- {d['name']:<30}{_money(d['amount'], c):>20}" for d in slip["deductions"]]
    lines.append(f"{_('Net'):<32}{_money(slip['net'], c):>20}")
    return lines


def payslip_pdf(ctx, slip: dict) -> bytes:
    """One payslip as a one-page A4 PDF."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(_("Payslip {period}").format(period=_month(slip.get("period")))))
    pdf.set_author(_latin1(ctx.config.site.name))
    pdf.add_page()
    pdf.set_font("Courier", size=10)
    for line in payslip_lines(ctx, slip):
        pdf.cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def print_payslip(ctx, slip_id: Any, *, printer: str | None = None, copies: Any = 1, duplex: bool = False,
                  pages: Any = None, tray: str | None = None) -> dict:
    """Print one payslip (read audited, print audited); returns the print job."""
    slip = payroll.payslip(ctx, slip_id)  # checks accounting.payroll.read, records the read
    title = _("Payslip {period} {name}").format(period=_month(slip.get("period")), name=slip.get("name", ""))
    return ctx.services.printing.print_file(
        payslip_pdf(ctx, slip), title=title, source=("accounting", "payslips", slip["id"]), printer=printer,
        copies=copies, duplex=duplex, pages=pages, tray=tray, confidential=True, link="accounting.payroll")


def print_payslips(ctx, period: str, *, person_id: Any = None, **options: Any) -> list[dict]:
    """Print the payslips of a month (or one person's); returns the print jobs."""
    runs = [r for r in payroll.payroll_runs(ctx) if r["period"] == period]
    if not runs:
        raise ValidationError(_("no payroll run for {period}").format(period=str(period)[:20]), field="period")
    slips = payroll.payslips(ctx, run_id=runs[0]["id"], person_id=person_id)
    if not slips:
        raise ValidationError(_("no payslip for person {id} in {period}").format(id=person_id, period=period),
                              field="person")
    return [print_payslip(ctx, s["id"], **options) for s in slips]
