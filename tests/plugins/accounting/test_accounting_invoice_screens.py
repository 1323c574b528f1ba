"""The Invoices screen through the Pilot: a customer with a wrong VAT ID is
refused at its field, an invoice written and issued, a credit note too large
refused and the rest credited — what the operator sees and what is stored."""

from __future__ import annotations

import pytest

from core.shell.app import make_app
from core.cli.testing import pick
from core.shell.widgets import ConfirmDialog, FormScreen, RecordTable
from plugins.accounting import invoicing as inv
from invoice_helpers import INVOICE_SETTINGS, customers
from test_accounting_receivables import pdf_text
from test_accounting_screens import shown, text, wait_for


@pytest.fixture
def books(site):
    site.plugins(INVOICE_SETTINGS)
    bd = site.open()
    ctx = bd.context("accounting")
    return bd, ctx, customers(ctx)


def notified(app, part: str) -> bool:
    return any(part in n.message for n in app._notifications)


def errors(app) -> str:
    return text(app, ".record-form--form-error") + " ".join(
        str(w.render()) for w in app.screen.query(".record-form--error"))


async def test_write_issue_and_credit_an_invoice(books):
    bd, ctx, ids = books
    inv.create_invoice(ctx, "Dupont SARL", [{"description": "Maschine", "unit_price": "5000", "vat_code": "eu"}],
                       date="2026-03-11", delivery_date="2026-03-05")  # a draft
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.invoices")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "InvoicesScreen")
        table = app.screen.query_one("#acc-invoices", RecordTable)
        # a customer whose VAT ID has a wrong check digit: refused at the field, nothing stored
        await pilot.press("N")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.form.control("name").value = "Schulz KG"
        app.screen.form.control("vat_id").value = "DE136695977"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "wrong check digit" in errors(app))
        assert len(inv.customers(ctx)) == 3
        app.screen.form.control("vat_id").value = "DE136695976"
        app.screen.form.control("city").value = "Köln"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        assert inv.customer(ctx, "Schulz KG")["vat_id"] == "DE136695976"
        # an invoice without a delivery date is refused; with one it is issued at once
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        await pick(pilot, form, "customer", "Meier", "Meier Bau GmbH")
        form.control("date").value = "2026-03-10"
        form.control("lines").text = "Beratung; 10; 120; 19; HUR\nFachbuch; 2; 24.99; 7"
        form.control("issue").value = True
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen) and len(inv.invoices(ctx)) == 1
        form.control("delivery_date").value = "2026-03-02"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.row_count == 2)
        rec = inv.invoice_rows(ctx, inv.invoices(ctx, status="open"))[0]
        assert (rec["number"], rec["status"], rec["total"]) == ("RE-00001", "open", "1481.48")
        await wait_for(pilot, lambda: "RE-00001" in shown(app) and "1,481.48" in shown(app))
        table.move_cursor_to_id(rec["id"])
        await wait_for(pilot, lambda: table.cursor_record["number"] == "RE-00001")
        assert "19 % VAT: net 1,200.00, VAT 19 % 228.00" in text(app, "#acc-invoice")
        # the dates as the site's people write them (en_US), not ISO
        assert "Delivery: 3/2/2026" in text(app, "#acc-invoice") and "Due: 3/24/2026" in text(app, "#acc-invoice")
        # the draft for Dupont, issued with i after a confirmation
        table.move_cursor_to_id(inv.invoices(ctx, status="draft")[0]["id"])
        await wait_for(pilot, lambda: table.cursor_record["status"] == "draft")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: inv.invoices(ctx)[0]["number"] == "RE-00002")
        # a credit note larger than what is left: refused at the form; empty lines credit the rest
        await wait_for(pilot, lambda: table.cursor_record and table.cursor_record["number"] == "RE-00002")
        table.move_cursor_to_id(rec["id"])
        await wait_for(pilot, lambda: table.cursor_record["number"] == "RE-00001")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.form.control("reason").value = "Zu viel berechnet"
        app.screen.form.control("lines").text = "Beratung; 11; 120"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "larger than what invoice RE-00001 has left" in errors(app))
        app.screen.form.control("lines").text = ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.row_count == 3)
        assert inv.invoice(ctx, "RE-00001")["status"] == "credited"
        assert inv.invoice(ctx, "RE-00003")["kind"] == "credit_note"
        await wait_for(pilot, lambda: "credited" in shown(app) and "RE-00003" in shown(app))
        # the customers beside the invoices
        await pilot.press("u")
        await wait_for(pilot, lambda: "Schulz KG" in shown(app) and "DE136695976" in shown(app))


async def test_record_a_payment_received(books):
    bd, ctx, ids = books
    doc = inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "unit_price": "1000"}],
                             date="2026-03-10", delivery_date="2026-03-09", issue=True)
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.invoices")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "InvoicesScreen")
        table = app.screen.query_one("#acc-invoices", RecordTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.form.control("amount").value = "1190.01"
        app.screen.form.control("date").value = "2026-03-20"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "more than the 1,190.00 still open" in errors(app))
        app.screen.form.control("amount").value = "190"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.cursor_record["status"] == "partly_paid")
        await wait_for(pilot, lambda: "open €1,000.00" in text(app, "#acc-invoice"))
        assert inv.invoice(ctx, doc["number"])["paid"] == "190.00"


async def test_dunning_and_the_reminder_letter_from_the_screen(books, tmp_path):
    bd, ctx, ids = books
    inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "unit_price": "1000"}],
                       date="2026-01-05", delivery_date="2026-01-02", issue=True)  # long overdue
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.invoices")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "InvoicesScreen")
        table = app.screen.query_one("#acc-invoices", RecordTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.press("r")  # nothing sent yet: said, no file
        await wait_for(pilot, lambda: notified(app, "no reminder was sent for RE-00001"))
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Remind 1 overdue invoice (RE-00001)" in shown(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: inv.invoice(ctx, "RE-00001").get("dunning_level") == 1)
        await wait_for(pilot, lambda: "reminder 1" in text(app, "#acc-invoice"))
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        # the letter goes to the operator's exports folder (never the working folder)
        assert app.screen.form.control("name").value == "RE-00001-reminder1.pdf"
        app.screen.form.control("name").value = "letter.pdf"
        target = bd.config.data_dir / "exports" / bd.operator.account / "letter.pdf"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: notified(app, f"Saved to {target}"))
        assert "Payment reminder" in pdf_text(target.read_bytes())
        await pilot.press("D")  # level 2 is not due on the same day
        await wait_for(pilot, lambda: notified(app, "Nothing to remind today"))


async def test_the_invoice_form_picks_the_customer_and_shows_the_vat_of_each_line(books):
    bd, ctx, ids = books
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.invoices")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "InvoicesScreen")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        assert "VAT codes: 19 19 % VAT" in text(app, "#acc-invoice-preview")
        assert await pick(pilot, form, "customer", "bau", "Meier Bau GmbH") == ids["meier"]
        form.control("date").value = "2026-03-10"
        form.control("delivery_date").value = "2026-03-02"
        form.control("lines").text = "Beratung; 10; 120; 19; HUR\nFachbuch; 2; 24.99; 7\nDach; 1; 800; rc"
        await wait_for(pilot, lambda: "Total 2,281.48" in text(app, "#acc-invoice-preview"))
        preview = text(app, "#acc-invoice-preview")
        for part in ("1. Beratung: 10 × 120.00 = 1,200.00 · 19 % VAT", "2. Fachbuch: 2 × 24.99 = 49.98 · 7 % VAT",
                     "3. Dach: 1 × 800.00 = 800.00 · reverse charge (§ 13b UStG)",
                     "7 % VAT: net 49.98, VAT 3.50"):
            assert part in preview, part
        form.control("lines").text = "Beratung; 10; 120; 16"  # a code that does not exist: said at once
        await wait_for(pilot, lambda: "'16' is not a VAT code" in text(app, "#acc-invoice-preview"))
        form.control("lines").text = "Beratung; 10; 120; 19; HUR"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        doc = inv.invoices(ctx)[0]
        assert (doc["customer_id"], doc["status"], doc["lines"][0]["vat_code"]) == (ids["meier"], "draft", "19")
