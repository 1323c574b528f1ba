"""The Customers and Open items screens through the Pilot at 80x24 (#19):
what each customer owes and how they get invoices; the open items with
their ageing buckets, a payment recorded and a reminder raised from the
keyboard — what the operator sees and what is stored."""

from __future__ import annotations

import datetime as dt

import pytest

from core.shell.app import make_app
from core.i18n import today
from core.cli.testing import text_of, wait_for
from core.shell.widgets import ConfirmDialog, FormScreen, RecordTable
from plugins.accounting import invoicing as inv
from invoice_helpers import INVOICE_SETTINGS, customers
from test_accounting_screens import shown


@pytest.fixture
def books(site):
    site.plugins(INVOICE_SETTINGS)
    bd = site.open()
    ctx = bd.context("accounting")
    return bd, ctx, customers(ctx)


async def _open(app, pilot, nav: str, screen: str) -> RecordTable:
    app.open_nav(nav)
    await wait_for(pilot, lambda: type(app.screen).__name__ == screen and app.screen.query(".acc-table"))
    return app.screen.query_one(".acc-table", RecordTable)


async def test_customers_screen_shows_what_each_owes_and_adds_one(books):
    bd, ctx, ids = books
    inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "unit_price": "1000"}],
                       date="2026-01-05", delivery_date="2026-01-02", issue=True)
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await _open(app, pilot, "accounting.customers", "CustomersScreen")
        await wait_for(pilot, lambda: table.row_count == 3)
        assert [r["name"] for r in table.records] == ["Dupont SARL", "Meier Bau GmbH", "Nobody"]
        await pilot.press("down")
        await wait_for(pilot, lambda: "Meier Bau GmbH · Lindenweg 5 · 10115 Berlin" in text_of(app, "#acc-customer"))
        detail = text_of(app, "#acc-customer")
        assert "Invoices go to: buchhaltung@meier.example" in detail and "open €1,190.00" in detail
        assert "1,190.00" in shown(app)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        form.control("name").value = "Stadt Musterstadt"
        form.control("fax").value = "030 1234"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.row_count == 4)
        stadt = inv.customer(ctx, "Stadt Musterstadt")
        assert stadt["fax"] == "0301234" and stadt["xrechnung"] == ""


async def test_open_items_with_ageing_a_payment_and_a_reminder(books):
    bd, ctx, ids = books
    old = inv.create_invoice(ctx, ids["meier"], [{"description": "Beratung", "unit_price": "1000"}],
                             date="2026-01-05", delivery_date="2026-01-02", issue=True)  # long overdue
    now = today()
    fresh = inv.create_invoice(ctx, ids["dupont"], [{"description": "Maschine", "unit_price": "500", "vat_code": "eu"}],
                               date=now.isoformat(), delivery_date=now.isoformat(), issue=True)  # not due yet
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await _open(app, pilot, "accounting.open_items", "OpenItemsScreen")
        await wait_for(pilot, lambda: table.row_count == 2)
        bar = text_of(app, "#acc-ageing")
        assert "not due 500.00" in bar and "over 90 1,190.00" in bar and "1–30 days 0.00" in bar
        assert [r["number"] for r in table.records] == [old["number"], fresh["number"]]
        first = table.records[0]
        assert first["days_overdue"] == (now - dt.date.fromisoformat(old["due"])).days
        screen = shown(app)
        assert old["number"] in screen and "1,190.00" in screen

        # a part payment from the keyboard
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.form.control("amount").value = "190"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: "over 90 1,000.00" in text_of(app, "#acc-ageing"))
        assert inv.invoice(ctx, old["number"])["status"] == "partly_paid"

        # remind: raised one level after a question; not again the same day
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert f"Remind Meier Bau GmbH of {old['number']} (reminder 1, fee 0.00" in shown(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: inv.invoice(ctx, old["number"]).get("dunning_level") == 1)
        await wait_for(pilot, lambda: "Reminder 1 on" in text_of(app, "#acc-open-item"))
        assert inv.invoice(ctx, fresh["number"]).get("dunning_level") is None  # only the one selected
        await pilot.press("r")
        await wait_for(pilot, lambda: any(f"No reminder is due for {old['number']} today" in n.message
                                          for n in app._notifications))
