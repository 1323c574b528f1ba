"""Payslips on paper through a real CUPS (tests/cupsd.py): the printed PDF
reads back as the payslip; reading and printing it are both audited; the
Payslips screen's print dialog and the CLI use the same core call."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied
from tests.cupsd import cups_server  # noqa: F401  (the fixture)
from tests.peers import wait_until

from plugins.accounting import payroll as pay
from plugins.accounting import payslip_print


def finished(ctx, job: dict) -> dict:
    printing = ctx.services.printing
    assert wait_until(lambda: printing.follow_job(job["id"])["state"] not in ("waiting", "printing"), 120)
    return printing.follow_job(job["id"])


@pytest.fixture
def january(office):
    bd, ctx, ids = office
    pay.set_rate(ctx, ids["anna"], "salaried", "3000")
    pay.set_rate(ctx, ids["ben"], "salaried", "2500")
    run = pay.run_payroll(ctx, "2026-01")
    return bd, ctx, ids, run


def test_a_printed_payslip_reads_back_and_its_print_is_audited(cups_server, january):
    bd, ctx, ids, run = january
    slip = [s for s in pay.payslips(ctx, run_id=run["id"]) if s["person_id"] == ids["anna"]][0]
    job = finished(ctx, payslip_print.print_payslip(ctx, slip["id"], printer="office-pdf"))
    assert job["state"] == "done" and job["confidential"]
    (page,) = cups_server.printed_pages("office-pdf")
    assert "Test GmbH" in page and "Payslip 01/2026" in page and "Anna Arndt" in page
    assert "Gross" in page and "3,000.00" in page and "Net" in page and slip["net"].replace(".", "") in \
        page.replace(",", "").replace(".", "")
    prints = bd.services.audit.entries(op="print")
    assert [(e["plugin"], e["table"], e["doc_id"]) for e in prints] == [("accounting", "payslips", slip["id"])]
    assert "office-pdf" in prints[0]["what"]


def test_who_may_not_read_salaries_cannot_print_a_payslip(cups_server, site, january):
    bd, ctx, ids, run = january
    clara = site.open("clara")
    slip_id = run["payslips"][0]
    with pytest.raises(PermissionDenied):
        payslip_print.print_payslip(clara.context("accounting"), slip_id, printer="office-pdf")
    assert bd.services.printing.jobs(everyone=True) == []
    assert not bd.services.audit.entries(op="print")


def test_cli_prints_a_month_s_payslips(cups_server, site, january):
    bd, ctx, ids, run = january
    proc = site.cli("accounting", "payroll", "print", "--period", "2026-01", "--person", str(ids["ben"]),
                    "--printer", "office-pdf", "--copies", "2", "--wait")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Payslip 01/2026 Ben Brandt" in proc.stdout and proc.stdout.strip().endswith("printed")
    pages = cups_server.printed_pages("office-pdf")
    assert len(pages) == 2 and all("Ben Brandt" in p for p in pages)
    bad = site.cli("accounting", "payroll", "print", "--period", "2025-12", "--printer", "office-pdf")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "no payroll run" in bad.stderr


async def test_print_a_payslip_from_the_payslips_screen(cups_server, january):
    from core.shell.app import make_app
    from core.cli.testing import wait_for
    from core.shell.widgets import FormScreen, RecordTable

    bd, ctx, ids, run = january
    bd.services.printing.set_default("lobby-pdf")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.payroll")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayrollScreen")
        await pilot.press("p")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayslipScreen")
        slips = app.screen.query_one("#acc-payslips", RecordTable)
        await wait_for(pilot, lambda: slips.row_count == 2)
        name = slips.cursor_record["name"]
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert app.screen.form.control("printer").value == "lobby-pdf"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PayslipScreen")
    job = finished(ctx, bd.services.printing.jobs()[0])
    assert job["state"] == "done" and job["printer"] == "lobby-pdf"
    assert name in cups_server.printed_pages("lobby-pdf")[0]
