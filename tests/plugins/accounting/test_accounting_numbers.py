"""Amounts in the site's number format where people read them, the plain
stored form where machines do.

A German office (``locale: de_DE``) reads 1.535,41 on the dashboard card,
in the screens' tables and in the CLI's tables; the CSV and JSON exports,
the hledger journal and the bank file keep 1535.41. The German site runs in
a fresh process, as ``locale: de_DE`` in backdesk.yaml does it (labels
bound when a module is imported take the locale set at start).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from plugins.accounting import payroll as pay
from plugins.accounting import service as svc
from tests.office import ROOT
from tests.plugins.accounting.conftest import iban

SCRIPT = r'''
import asyncio, json, sys
from core.plugins.runtime import open_backdesk
bd = open_backdesk(sys.argv[1], sys.argv[2], account="alice")
from core.shell.app import make_app
from core.cli.testing import text_of, wait_for

out = {}


def lines(app):
    return [strip.text.rstrip() for strip in app.screen._compositor.render_strips()]


async def screen(pilot, app, nav, name, selector):
    app.open_nav(nav)
    await wait_for(pilot, lambda: type(app.screen).__name__ == name and app.screen.query_one(selector).row_count)
    await pilot.pause()
    return lines(app)


async def main():
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            await wait_for(pilot, lambda: app.screen.board.all_rendered)
            out["card"] = text_of(app, "#card-accounting-accounting-due")
            out["dashboard"] = lines(app)
            out["bills"] = await screen(pilot, app, "accounting.bills", "BillsScreen", "#acc-bills")
            out["run"] = await screen(pilot, app, "accounting.payments", "PaymentRunScreen", "#acc-run")
            out["orders"] = await screen(pilot, app, "accounting.orders", "OrdersScreen", "#acc-orders")
            out["journal"] = await screen(pilot, app, "accounting.ledger", "LedgerScreen", "#acc-journal")
            app.open_nav("accounting.payroll")  # no hours recorded: its table is empty
            await wait_for(pilot, lambda: type(app.screen).__name__ == "PayrollScreen")
            await pilot.press("p")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "PayslipScreen"
                           and text_of(app, "#acc-payslip"))
            out["payslips"] = lines(app)
            app.open_nav("accounting.reports")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ReportsScreen"
                           and "payables" in "".join(lines(app)))
            out["report"] = lines(app)
        except BaseException:
            import traceback
            out["error"] = traceback.format_exc()
        print("RESULT=" + json.dumps(out), flush=True)


asyncio.run(main())
bd.close()
'''


def _office(site):
    """A bill of 1535.41 approved and one of 119.00 in draft (both due this
    week), an order of 2999.00, the opening balance of 50,000 and a payslip
    of 3000.00 gross."""
    bd = site.open()
    with bd.store.transaction():
        dept = bd.services.people.add_department("Office")
        anna = bd.services.people.add_person(name="Anna Arndt", department_id=dept)
    ctx = bd.context("accounting")
    today = dt.date.today()
    schmidt = svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000")})
    svc.post_entry(ctx, today.isoformat(), "Opening balances", [
        {"account": "assets:bank:checking", "amount": "50000.00"},
        {"account": "equity:opening balances", "amount": "-50000.00"}])
    rent = svc.create_bill(ctx, schmidt["id"], "RE-4711", today.isoformat(), (today + dt.timedelta(days=2)).isoformat(),
                           [{"description": "Desk", "quantity": "1", "unit_price": "1290.26"}])
    svc.approve_bill(ctx, rent["id"])
    svc.create_bill(ctx, schmidt["id"], "T-1", today.isoformat(), (today + dt.timedelta(days=3)).isoformat(),
                    [{"description": "Paper", "quantity": "1", "unit_price": "100"}])
    svc.create_order(ctx, schmidt["id"], [{"item": "Toner", "quantity": "10", "price": "49.90"},
                                          {"item": "Paper", "quantity": "1000", "price": "2.5"}])
    pay.set_rate(ctx, anna, "salaried", "3000")
    pay.run_payroll(ctx, (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m"))
    site.close()
    cfg = site.config_dir / "backdesk.yaml"
    cfg.write_text(cfg.read_text().replace("locale: en_US", "locale: de_DE"))
    return schmidt


def _run_shell(site) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(site.config_dir), str(site.data_dir)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    found = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT=")]
    assert found, proc.stderr
    out = json.loads(found[0][len("RESULT="):])
    assert "error" not in out, out["error"]
    return out


def _line(lines, text):
    hits = [ln for ln in lines if text in ln]
    assert hits, f"{text!r} not shown in:\n" + "\n".join(lines)
    return hits[0]


def test_a_german_office_reads_german_numbers_on_card_screens_and_cli(site, tmp_path):
    schmidt = _office(site)
    out = _run_shell(site)
    # the card: the total and each bill; the lines fit the card at 80×24 (its right border is there)
    assert out["card"].startswith("2 Rechnungen, 1.654,41\u00a0€")
    today = dt.date.today()
    for days, amount in ((2, "1.535,41"), (3, "119,00")):
        due = (today + dt.timedelta(days=days)).strftime("%d.%m.")  # the German day, not "12-09"
        row = _line(out["dashboard"], f"{due} Schmidt {amount:>8}")
        assert row.endswith("│"), row
    # the tables: German amounts with their currency as every screen writes them (1.535,41 €),
    # right-aligned under their title
    for key, title, amount in (("bills", "Status                Offen", "1.535,41\u00a0€"),
                               ("run", "Fällig            Betrag", "1.535,41\u00a0€"),
                               ("orders", "Status           Summe", "2.999,00\u00a0€"),
                               ("journal", "Buchungstext              Betrag", "50.000,00\u00a0€")):
        header, row = _line(out[key], title), _line(out[key], amount)
        assert row.index(amount) + len(amount) == header.index(title) + len(title), (key, header, row)
    assert "1 Rechnung, gesamt 1.535,41\u00a0€" in "\n".join(out["run"])
    assert "10 ×     49,90" in "\n".join(out["orders"]) and "1.000 ×      2,50" in "\n".join(out["orders"])
    assert "-2.115,00\u00a0€" in _line(out["journal"], "liabilities:payroll:net pay")  # the entry under the cursor
    assert "3.000,00\u00a0€" in _line(out["payslips"], "Anna Arndt")
    assert "-1.535,41\u00a0€" in _line(out["report"], "liabilities:payables")
    assert "50.000,00\u00a0€" in _line(out["report"], "assets:bank:checking")
    for key in ("bills", "run", "orders", "journal", "payslips", "report"):
        assert " EUR" not in "\n".join(out[key]), key  # one money format on every screen
    for key in ("bills", "run", "orders", "journal", "payslips", "report"):
        assert "1,535.41" not in "\n".join(out[key]) and "50,000.00" not in "\n".join(out[key]), key

    # the CLI's tables: the same money format as the screens, right-aligned under their title
    r = site.cli("accounting", "bills")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert _line(lines, "RE-4711").endswith("    1.535,41\u00a0€")
    assert _line(lines, "T-1").endswith("      119,00\u00a0€")
    assert len(_line(lines, "RE-4711")) == len(_line(lines, "T-1")) == len(_line(lines, "open"))
    r = site.cli("accounting", "report", "trial-balance")
    assert _line(r.stdout.splitlines(), "liabilities:payables").endswith("     -1.535,41\u00a0€")
    assert _line(r.stdout.splitlines(), "assets:bank:checking").endswith("     50.000,00\u00a0€")
    r = site.cli("accounting", "report", "ageing")
    assert _line(r.stdout.splitlines(), "1.535,41").endswith("1.535,41\u00a0€")
    assert " EUR" not in "\n".join(site.cli("accounting", *args).stdout
                                   for args in (("bills",), ("report", "trial-balance"), ("report", "ageing"),
                                                ("report", "profit-loss"), ("open-items",), ("invoices",)))

    # what machines read is as it was
    r = site.cli("accounting", "bills", "--format", "csv")
    assert _line(r.stdout.splitlines(), "RE-4711").endswith(",approved,1535.41,1535.41,EUR")
    r = site.cli("accounting", "report", "trial-balance", "--format", "csv")
    assert "accounts,liabilities:payables,EUR,-1535.41" in r.stdout.splitlines()
    r = site.cli("accounting", "export", "--format", "csv")
    assert any(ln.endswith(",liabilities:payables,-1535.41,EUR,bill,") for ln in r.stdout.splitlines())
    r = site.cli("accounting", "export", "--format", "hledger")
    assert "-1535.41 EUR" in r.stdout and "1.535,41" not in r.stdout
    bank = tmp_path / "bank.xml"
    r = site.cli("accounting", "payment-run", "--due-by", (dt.date.today() + dt.timedelta(days=7)).isoformat(),
                 "-o", str(bank))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("payment run 1: 1 transfer(s), 1.535,41\u00a0€, pain.001.001.09 written to ")
    assert '<InstdAmt Ccy="EUR">1535.41</InstdAmt>' in bank.read_text()  # the bank's file: a plain number
    month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    r = site.cli("accounting", "payroll", "payslips", "--period", month)
    assert r.stdout.splitlines() == ["Anna Arndt               gross   3.000,00\u00a0€ net   2.115,00\u00a0€"]


def test_an_english_office_reads_english_numbers_in_the_cli(site, office):
    bd, ctx, ids = office
    v = svc.add_vendor(ctx, {"name": "Schmidt"})
    b = svc.create_bill(ctx, v["id"], "RE-4711", "2026-01-05", "2026-01-20",
                        [{"description": "Desk", "quantity": "1", "unit_price": "1290.26"}])
    svc.approve_bill(ctx, b["id"])
    r = site.cli("accounting", "bills")
    assert _line(r.stdout.splitlines(), "RE-4711").endswith("    €1,535.41")
    r = site.cli("accounting", "pay", str(b["id"]), "--amount", "1000", "--date", "2026-01-10")
    assert (r.returncode, r.stdout.strip()) == (0, "bill RE-4711: paid €1,000.00 of €1,535.41")
    r = site.cli("accounting", "pay", str(b["id"]), "--amount", "1600", "--date", "2026-01-10")
    assert (r.returncode, r.stderr.strip()) == (
        2, "backdesk: amount: 1,600.00 is more than the 535.41 still open on bill RE-4711")
