"""The Payment run and Purchasing screens driven as an operator drives them:
at 80×24, with the keyboard only (the palette to get there, keys on the
screens, typing into the forms). What is stored, and the bank file written,
is checked afterwards."""

from __future__ import annotations

from decimal import Decimal

from core.shell.app import make_app
from core.i18n import format_date, today
from core.cli.testing import palette_offers, text_of, wait_for
from core.shell.widgets import ConfirmDialog, FormScreen, RecordTable
from plugins.accounting import service as svc
from tests.plugins.accounting.conftest import iban
from sepa_schemas import validate


def lines_of(app) -> list[str]:
    """The terminal's lines as the operator sees them."""
    return [strip.text.rstrip() for strip in app.screen._compositor.render_strips()]


async def type_text(pilot, text: str) -> None:
    """Type ``text`` key by key (a new line is Enter)."""
    await pilot.press(*["enter" if c == "\n" else c for c in text])


async def clear_input(pilot) -> None:
    """Empty the focused one-line field: to its end, then delete everything left of the cursor."""
    await pilot.press("end", "ctrl+u")


async def open_by_palette(pilot, title: str, screen: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await type_text(pilot, f"Open: {title}")
    await wait_for(pilot, lambda: palette_offers(pilot, title), message=f"the palette offers {title}")
    await pilot.press("enter")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == screen, message=f"{screen} not opened")


def bill(ctx, vendor, number, due, price, *, approve=True):
    b = svc.create_bill(ctx, vendor["id"], number, "2026-01-05", due,
                        [{"description": "Goods", "quantity": "1", "unit_price": price}])
    if approve:
        svc.approve_bill(ctx, b["id"])
    return b


async def test_payment_run_sends_approved_bills_to_the_bank_and_writes_the_sepa_file(office, tmp_path, monkeypatch):
    bd, ctx, ids = office
    schmidt = svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000"),
                                   "bic": "COBADEFFXXX"})
    netcom = svc.add_vendor(ctx, {"name": "NetCom", "iban": iban("DE", "200411330123456789")})
    kiosk = svc.add_vendor(ctx, {"name": "Kiosk"})  # no IBAN: left out of the run
    rent = bill(ctx, schmidt, "RE-1", "2026-01-20", "1290.26")       # 1535.41 with 19 % tax
    phone = bill(ctx, netcom, "T-778", "2026-01-25", "100")          # 119.00, 19.00 of it paid already
    svc.pay_bill(ctx, phone["id"], "19.00", "2026-01-10")
    later = bill(ctx, netcom, "T-779", "2026-02-25", "100")          # due after the date chosen
    draft = bill(ctx, schmidt, "RE-2", "2026-01-15", "50", approve=False)  # not approved
    cash = bill(ctx, kiosk, "K-1", "2026-01-12", "10")               # approved, but no IBAN
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)

    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_by_palette(pilot, "Payment run", "PaymentRunScreen")
        table = app.screen.query_one("#acc-run", RecordTable)
        # the due-by date: d, the field emptied, the date typed the locale's way (en_US), read
        # back written out beside it, enter; a day that is none is said on one line
        await pilot.press("d")
        await clear_input(pilot)
        await type_text(pilot, "2/31/2026")
        assert text_of(app, "#acc-due-by-long") == " Enter a date like 12/31/2026"
        await clear_input(pilot)
        await type_text(pilot, "1/31/26")
        assert text_of(app, "#acc-due-by-long") == " = Sat, Jan 31, 2026"
        await type_text(pilot, "\n")
        await wait_for(pilot, lambda: app.screen.due_by == "2026-01-31" and table.row_count == 3)
        assert [table.record_at(i)["number"] for i in range(3)] == ["K-1", "RE-1", "T-778"]
        assert text_of(app, "#acc-run-sum") == "3 bills, total €1,647.31"
        # what the operator sees: every column, the amounts right-aligned under their title
        shown = lines_of(app)
        header = next(line for line in shown if "Vendor" in line and "Amount" in line)
        row = next(line for line in shown if "RE-1" in line)
        assert row.endswith("€1,535.41") and row.index("€1,535.41") + len("€1,535.41") == header.index("Amount") + 6
        # r runs it after a yes
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: ctx.table("payment_runs").count() == 1)
        await wait_for(pilot, lambda: table.row_count == 1)  # the bill without an IBAN is still due
        assert table.record_at(0)["number"] == "K-1"
        await wait_for(pilot, lambda: f"Last run 1 on {format_date(today(), 'short')}: 2 payments" in text_of(app, "#acc-run-sum"))
        # e writes the pain.001 of the last run into the operator's exports
        # folder (never the process's working folder), which the form names
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        assert form.control("path").value == "pain.001.001.09-run-1.xml"
        folder = bd.config.data_dir / "exports" / bd.operator.account
        assert f"Saved in {folder}/" in str(form.query_one(".record-form--help").render())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        target = folder / "pain.001.001.09-run-1.xml"
        await wait_for(pilot, lambda: any(f"Bank file written to {target}" in n.message for n in app._notifications))

    assert list(cwd.iterdir()) == []
    assert oct(target.stat().st_mode & 0o777) == "0o600" and oct(folder.stat().st_mode & 0o777) == "0o700"
    day = today().isoformat()
    doc = validate(target.read_bytes(), "pain.001.001.09.xsd")
    assert [(t["name"], t["iban"], t["amount"], t["remittance"], t["date"]) for t in doc] == [
        ("Schmidt", schmidt["iban"], "1535.41", "RE-1", day), ("NetCom", netcom["iban"], "100.00", "T-778", day)]
    # sent to the bank, not paid: nothing is paid until the bank statement shows the debit
    stored = {b["number"]: b for b in ctx.table("bills").all()}
    assert {n: (b["status"], b["paid"]) for n, b in stored.items()} == {
        "RE-1": ("in_payment", "0.00"), "T-778": ("in_payment", "19.00"), "T-779": ("approved", "0.00"),
        "RE-2": ("draft", "0.00"), "K-1": ("approved", "0.00")}
    (run,) = ctx.table("payment_runs").all()
    assert (run["due_by"], run["date"], [i["reference"] for i in run["items"]]) == ("2026-01-31", day, ["RE-1", "T-778"])
    assert run["skipped"] == [{"bill_id": cash["id"], "reason": "Kiosk has no IBAN"}]
    assert ctx.table("payments").find({"run_id": run["id"]}) == []
    assert [(i["bill_id"], i["amount"]) for i in run["items"]] == [(rent["id"], "1535.41"), (phone["id"], "100.00")]
    assert later["id"] and draft["id"]


async def test_purchase_order_received_and_matched_to_a_bill(office):
    bd, ctx, ids = office
    schmidt = svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000")})

    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_by_palette(pilot, "Purchasing", "OrdersScreen")
        orders = app.screen.query_one("#acc-orders", RecordTable)
        # n: a new order, the vendor then the lines typed
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await type_text(pilot, "Schmidt")
        await pilot.press("tab")
        await type_text(pilot, "Toner; 10; 49.90\nPaper; 20; 24.50")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: orders.row_count == 1)
        po = orders.cursor_record
        assert (po["number"], po["vendor"], po["status"], po["total"]) == ("PO-00001", "Schmidt", "draft",
                                                                          Decimal("989.00"))
        # o: ordered
        await pilot.press("o")
        await wait_for(pilot, lambda: orders.cursor_record["status"] == "ordered")
        # r: receive; the form offers what is still open, the operator got 18 of the 20 packs of paper
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert app.screen.form.control("received").text == "1=10\n2=20"
        await pilot.press("down", "end", "backspace", "backspace")
        await type_text(pilot, "18")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: orders.cursor_record["status"] == "partly_received")
        assert orders.cursor_record["status_text"] == "partly received"
        detail = text_of(app, "#acc-order")
        assert "received 10" in detail and "received 18" in detail
        # at 80 columns the order's total is in view, right-aligned under its title
        shown = lines_of(app)
        header = next(line for line in shown if "Order" in line and "Total" in line)
        row = next(line for line in shown if "PO-00001" in line)
        assert row.index("989.00") + len("989.00") == header.index("Total") + len("Total")

        # the bill arrives: recorded on the Bills screen with the order's number
        await open_by_palette(pilot, "Bills", "BillsScreen")
        bills = app.screen.query_one("#acc-bills", RecordTable)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await type_text(pilot, "Schmidt")
        await pilot.press("tab")
        await type_text(pilot, "RE-4711")
        await pilot.press("tab", "tab", "tab")  # the date (today) and the due date (the vendor's terms) as offered
        await type_text(pilot, "Toner; 10; 49.90\nPaper; 20; 24.50")
        await pilot.press("tab", "tab")  # the tax rate as offered
        await type_text(pilot, "PO-00001")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: bills.row_count == 1)
        rec = bills.cursor_record
        assert (rec["number"], rec["order_number"], rec["flag"]) == ("RE-4711", "PO-00001", "!")
        await wait_for(pilot, lambda: "! Paper: 20 billed, 18 received" in text_of(app, "#acc-bill"))

        # back on Purchasing: the order is billed
        await open_by_palette(pilot, "Purchasing", "OrdersScreen")
        orders = app.screen.query_one("#acc-orders", RecordTable)
        await wait_for(pilot, lambda: orders.row_count == 1 and orders.cursor_record["status"] == "billed")

    (order,) = ctx.table("orders").all()
    (stored,) = ctx.table("bills").all()
    assert (order["status"], order["bill_id"]) == ("billed", stored["id"])
    assert [(x["item"], x["quantity"], x["received"]) for x in order["lines"]] == [("Toner", "10", "10"),
                                                                                  ("Paper", "20", "18")]
    assert (stored["vendor_id"], stored["order_id"], stored["status"]) == (schmidt["id"], order["id"], "draft")
    assert (stored["net"], stored["tax"], stored["total"]) == ("989.00", "187.91", "1176.91")
    assert stored["match_flags"] == ["Paper: 20 billed, 18 received"]
