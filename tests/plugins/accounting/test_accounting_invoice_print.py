"""Invoices, reminder letters, reports and the VAT return on paper, through
core's one print call (services.printing) to the test CUPS (tests/cupsd.py):
what comes out of the printer reads back as what was printed, the job row
says what it printed, the CLI and the screens (Pilot, 80x24) print the same,
and a refused request sends nothing and raises no reminder."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied, ValidationError
from tests.cupsd import cups_server  # noqa: F401  (the fixture)
from tests.peers import wait_until

from invoice_helpers import INVOICE_SETTINGS, customers
from plugins.accounting import invoice_pdf
from plugins.accounting import invoicing as inv
from plugins.accounting import printouts
from plugins.accounting import receivables as rcv

LEVELS = [{"days": 7, "fee": "0.00"}, {"days": 21, "fee": "5.00"}, {"days": 35, "fee": "12.50"}]


def finished(ctx, job: dict) -> dict:
    printing = ctx.services.printing
    assert wait_until(lambda: printing.follow_job(job["id"])["state"] not in ("waiting", "printing"), 120)
    return printing.follow_job(job["id"])


@pytest.fixture
def books(site):
    site.plugins({**INVOICE_SETTINGS, "dunning": LEVELS})
    bd = site.open()
    ctx = bd.context("accounting")
    ids = customers(ctx)
    doc = inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung Straßenbau", "quantity": "3",
                                                  "unit_price": "100"}],
                             date="2026-03-10", delivery_date="2026-03-02", issue=True)
    return bd, ctx, ids, inv.invoice(ctx, doc["number"])


def test_an_invoice_pdf_prints_and_reads_back(cups_server, books):
    bd, ctx, ids, issued = books
    printing = bd.services.printing
    job = printing.print_file(invoice_pdf.invoice_pdf(ctx, issued), title=f"Invoice {issued['number']}",
                              source=("accounting", "invoices", issued["id"]), printer="office-pdf", copies=2)
    assert finished(ctx, job)["state"] == "done"
    pages = cups_server.printed_pages("office-pdf")
    assert len(pages) == 2
    for part in ("Invoice RE-00001", "Beratung Straßenbau", "Total €357.00"):
        assert all(part in page for page in pages), part
    assert not bd.services.audit.entries(op="print")  # an invoice is not confidential


def test_print_invoice_records_the_job_and_refuses_drafts_and_strangers(cups_server, site, books):
    bd, ctx, ids, issued = books
    job = finished(ctx, printouts.print_invoice(ctx, "RE-00001", printer="office-pdf", copies=2, duplex=True))
    assert job["state"] == "done"
    assert (job["plugin"], job["table"], job["record_id"], job["copies"], job["duplex"]) == \
        ("accounting", "invoices", issued["id"], 2, True)
    assert job["title"] == "Invoice RE-00001 Meier Bau GmbH" and job["link"] == "accounting.invoices"
    pages = [p for p in cups_server.printed_pages("office-pdf") if p.strip()]  # blank backs of both sides
    assert len(pages) == 2 and all("Invoice RE-00001" in p and "Total €357.00" in p for p in pages)
    assert not bd.services.audit.entries(op="print")
    draft = inv.create_invoice(ctx, ids["dupont"], [{"description": "Maschine", "unit_price": "50"}],
                               delivery_date="2026-03-02")
    with pytest.raises(ValidationError, match="not issued yet"):
        printouts.print_invoice(ctx, draft["id"], printer="office-pdf")
    sam = site.open("sam").context("accounting")  # staff: reads no invoices
    with pytest.raises(PermissionDenied):
        printouts.print_invoice(sam, "RE-00001", printer="office-pdf")
    with pytest.raises(ValidationError, match="no printer named"):
        printouts.print_invoice(ctx, "RE-00001", printer="nowhere")
    assert len(bd.services.printing.jobs(everyone=True)) == 1


def test_a_credit_note_and_a_reminder_letter_on_paper(cups_server, books):
    bd, ctx, ids, issued = books
    note = inv.credit_note(ctx, "RE-00001", [{"description": "Nachlass", "unit_price": "50"}], reason="Nachlass",
                           date="2026-03-12")
    job = finished(ctx, printouts.print_invoice(ctx, note["number"], printer="office-pdf"))
    assert job["title"].startswith(f"Credit note {note['number']}")
    (page,) = cups_server.printed_pages("office-pdf")
    assert note["number"] in page and "RE-00001" in page
    with pytest.raises(ValidationError, match="no reminder was sent"):
        printouts.print_reminder(ctx, "RE-00001", printer="lobby-pdf")
    [letter] = rcv.run_dunning(ctx, "2026-04-14")
    job = finished(ctx, printouts.print_reminder(ctx, "RE-00001", printer="lobby-pdf", copies=2))
    assert job["state"] == "done" and job["title"] == "Payment reminder RE-00001 Meier Bau GmbH"
    pages = cups_server.printed_pages("lobby-pdf")
    assert len(pages) == 2
    for part in ("Payment reminder", "Our invoice RE-00001 of 2026-03-10", "Now open", "GiroCode"):
        assert all(part in p for p in pages), part


def test_reports_and_the_vat_return_on_paper(cups_server, site, books):
    bd, ctx, ids, issued = books
    job = finished(ctx, printouts.print_report(ctx, "trial-balance", "2026-03-01", "2026-03-31",
                                               printer="office-pdf"))
    assert job["state"] == "done" and job["title"] == "Trial balance 2026-03-01 – 2026-03-31"
    (page,) = cups_server.printed_pages("office-pdf")
    for part in ("Test GmbH", "Trial balance 2026-03-01 - 2026-03-31", "assets:receivables", "357.00",
                 "income", "300.00"):
        assert part in page, part
    job = finished(ctx, printouts.print_vat_return(ctx, "2026-03", printer="office-pdf"))
    (page,) = cups_server.printed_pages("office-pdf")
    assert "VAT return 2026-03" in page and "300.00" in page and "57.00" in page
    with pytest.raises(ValidationError, match="not a report"):
        printouts.print_report(ctx, "cash", printer="office-pdf")
    sam = site.open("sam").context("accounting")
    with pytest.raises(PermissionDenied):
        printouts.print_report(sam, "profit-loss", printer="office-pdf")
    assert len(bd.services.printing.jobs(everyone=True)) == 2


def test_cli_prints_invoices_reminders_reports_and_the_dunning_letters(cups_server, site, books):
    bd, ctx, ids, issued = books
    proc = site.cli("accounting", "invoices", "print", "RE-00001", "--printer", "office-pdf", "--copies", "2",
                    "--wait")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Invoice RE-00001 Meier Bau GmbH" in proc.stdout and proc.stdout.strip().endswith("printed")
    assert len(cups_server.printed_pages("office-pdf")) == 2
    # a refused printer: one line, exit 2, no reminder raised, nothing printed
    bad = site.cli("accounting", "dunning", "--as-of", "2026-04-14", "--print", "--printer", "nowhere")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "no printer named" in bad.stderr
    assert inv.invoice(ctx, "RE-00001").get("dunning_level", 0) == 0
    proc = site.cli("accounting", "dunning", "--as-of", "2026-04-14", "--print", "--printer", "lobby-pdf", "--wait")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RE-00001" in proc.stdout and "Payment reminder RE-00001" in proc.stdout
    assert "Payment reminder" in cups_server.printed_pages("lobby-pdf")[0]
    assert inv.invoice(ctx, "RE-00001")["dunning_level"] == 1
    proc = site.cli("accounting", "invoices", "print", "RE-00001", "--reminder", "--printer", "office-pdf", "--wait")
    assert proc.returncode == 0 and "Payment reminder RE-00001" in proc.stdout
    proc = site.cli("accounting", "report", "profit-loss", "--from", "2026-03-01", "--to", "2026-03-31",
                    "--print", "--printer", "office-pdf", "--wait")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Profit and loss" in cups_server.printed_pages("office-pdf")[0]
    proc = site.cli("accounting", "vat-return", "--period", "2026-Q1", "--printer", "office-pdf", "--wait")
    assert proc.returncode == 0 and "VAT return 2026-Q1" in cups_server.printed_pages("office-pdf")[0]
    jobs = bd.services.printing.jobs(everyone=True)
    assert [j["title"].split(" ")[0] for j in reversed(jobs)] == ["Invoice", "Payment", "Payment", "Profit",
                                                                 "VAT"]
    for args, text in ((("invoices", "print", "RE-09999", "--printer", "office-pdf"), "no invoice numbered"),
                       (("invoices", "print", "RE-00001", "--copies", "0", "--printer", "office-pdf"), "copies"),
                       (("invoices", "print", "RE-00001", "--level", "2", "--printer", "office-pdf"), "--reminder"),
                       (("report", "trial-balance", "--to", "2026-13-01", "--print", "--printer", "office-pdf"),
                        "not a date")):
        bad = site.cli("accounting", *args)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and text in bad.stderr, bad.stderr
    assert len(bd.services.printing.jobs(everyone=True)) == 5


async def test_print_an_invoice_and_its_reminder_from_the_invoices_screen(cups_server, books):
    from core.shell.app import make_app
    from core.cli.testing import wait_for
    from core.shell.widgets import FormScreen, RecordTable
    from plugins.accounting.invoice_screens import InvoicesScreen

    bd, ctx, ids, issued = books
    rcv.run_dunning(ctx, "2026-04-14")
    bd.services.printing.set_default("lobby-pdf")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.invoices")
        await wait_for(pilot, lambda: isinstance(app.screen, InvoicesScreen) and app.screen.query("#acc-invoices"))
        table = app.screen.query_one("#acc-invoices", RecordTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        assert form.control("printer").value == "lobby-pdf"  # the operator's default
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("down", "enter")  # lobby-pdf -> office-pdf (sorted by name)
        await pilot.pause()
        assert form.control("printer").value == "office-pdf"
        await pilot.press("tab", "backspace", "2", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, InvoicesScreen))
        job = finished(ctx, bd.services.printing.jobs()[0])
        assert (job["printer"], job["copies"], job["state"]) == ("office-pdf", 2, "done")
        pages = cups_server.printed_pages("office-pdf")
        assert len(pages) == 2 and all("Invoice RE-00001" in p for p in pages)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert app.screen._title == "Print reminder 1 of RE-00001"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, InvoicesScreen))
        job = finished(ctx, bd.services.printing.jobs()[0])
        assert job["printer"] == "lobby-pdf" and job["title"].startswith("Payment reminder RE-00001")
        assert "Payment reminder" in cups_server.printed_pages("lobby-pdf")[0]


async def test_print_a_report_and_the_vat_return_from_their_screens(cups_server, books):
    from core.shell.app import make_app
    from core.cli.testing import wait_for
    from core.shell.widgets import FormScreen

    bd, ctx, ids, issued = books
    bd.services.printing.set_default("office-pdf")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.reports")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ReportsScreen")
        await pilot.press("2", "p")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ReportsScreen")
        job = finished(ctx, bd.services.printing.jobs()[0])
        assert job["state"] == "done" and job["title"].startswith("Profit and loss")
        assert "income" in cups_server.printed_pages("office-pdf")[0]
        await pilot.press("4", "p")  # the cash bars are not printed: said, no dialog
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ReportsScreen"
        app.open_nav("accounting.vat_return")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VatReturnScreen")
        app.screen.period = "2026-Q1"
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VatReturnScreen")
        job = finished(ctx, bd.services.printing.jobs()[0])
        assert job["title"] == "VAT return 2026-Q1 (2026-01-01 to 2026-03-31)"
        assert "VAT return 2026-Q1" in cups_server.printed_pages("office-pdf")[0]
    assert len(bd.services.printing.jobs(everyone=True)) == 2
