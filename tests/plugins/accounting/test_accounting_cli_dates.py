"""The CLI's tables write dates as the screens do, through the site's
locale (German 20.01.26, English 20/01/2026), CSV keeps ISO; --period takes
a month as the screens do ("01.2026", "01/2026") or ISO, and a month that is
none is one line, exit 2, nothing written."""

from __future__ import annotations

import pytest

from plugins.accounting import bank
from plugins.accounting import invoicing as inv
from plugins.accounting import payroll as pay
from plugins.accounting import service as svc
from camt import tx, camt053
from conftest import iban
from invoice_helpers import INVOICE_SETTINGS, customers


def _line(text: str, part: str) -> str:
    hits = [ln for ln in text.splitlines() if part in ln]
    assert hits, f"{part!r} not in:\n{text}"
    return hits[0]


@pytest.mark.parametrize("locale, d", [("de_DE", lambda day, month: f"{day:02d}.{month:02d}.26"),
                                       ("en_GB", lambda day, month: f"{day:02d}/{month:02d}/2026")])
def test_cli_tables_write_the_locales_dates_and_period_takes_its_months(site, locale, d):
    site.plugins(INVOICE_SETTINGS)
    bd = site.open()
    with bd.store.transaction():
        dept = bd.services.people.add_department("Office")
        anna = bd.services.people.add_person(name="Anna Arndt", department_id=dept)
    ctx = bd.context("accounting")
    v = svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000")})
    svc.create_bill(ctx, v["id"], "RE-4711", "2026-01-05", "2026-01-20", [{"description": "x", "unit_price": "100"}])
    meier = customers(ctx)["meier"]  # 14 days' terms: due 22 January
    inv.create_invoice(ctx, meier, [{"description": "Beratung", "unit_price": "1000"}], date="2026-01-08",
                       delivery_date="2026-01-07", issue=True)
    bank.import_statement(ctx, camt053([{"sign": "+", "date": "2026-01-28",
                                         "txs": [tx("77.00", name="Unbekannt GmbH", text="Gutschrift")]}],
                                       opening="0.00"))
    pay.set_rate(ctx, anna, "salaried", "3000")
    site.close()
    cfg = site.config_dir / "backdesk.yaml"
    cfg.write_text(cfg.read_text().replace("locale: en_US", f"locale: {locale}"))
    sep = "." if locale == "de_DE" else "/"

    r = site.cli("accounting", "bills")
    assert r.returncode == 0 and d(20, 1) in _line(r.stdout, "RE-4711"), r.stdout + r.stderr
    r = site.cli("accounting", "invoices")
    assert d(8, 1) in _line(r.stdout, "Meier"), r.stdout
    r = site.cli("accounting", "open-items", "--as-of", "2026-02-01")
    assert d(22, 1) in _line(r.stdout, "Meier"), r.stdout
    r = site.cli("accounting", "bank", "lines")
    assert d(28, 1) in _line(r.stdout, "Unbekannt"), r.stdout
    for args in (("bills",), ("invoices",), ("open-items",), ("bank", "lines")):
        assert "2026-01-" not in site.cli("accounting", *args).stdout, args
    # what machines read keeps ISO
    assert "2026-01-20" in _line(site.cli("accounting", "bills", "--format", "csv").stdout, "RE-4711")
    assert "2026-01-28" in _line(site.cli("accounting", "bank", "lines", "--format", "csv").stdout, "Unbekannt")

    # a month as the screens take it, or ISO
    r = site.cli("accounting", "payroll", "run", "--period", f"01{sep}2026")
    assert r.returncode == 0 and r.stdout.startswith(f"payroll 01{sep}2026: 1 payslip(s)"), r.stdout + r.stderr
    for typed in (f"1{sep}26", "2026-01"):
        r = site.cli("accounting", "payroll", "payslips", "--period", typed)
        assert r.returncode == 0 and r.stdout.startswith("Anna Arndt"), (typed, r.stdout, r.stderr)
    r = site.cli("accounting", "vat-return", "--period", f"01{sep}2026")
    assert r.returncode == 0, r.stderr
    r = site.cli("accounting", "close", f"12{sep}2025")
    assert (r.returncode, r.stdout.strip()) == (0, f"closed 12{sep}2025"), r.stderr
    example = f"12{sep}2026"
    word = "ist kein Monat (etwa" if locale == "de_DE" else "is not a month (like"
    for args in (("payroll", "run", "--period", "13.2026"), ("payroll", "payslips", "--period", "Jan"),
                 ("close", "13/2026")):
        r = site.cli("accounting", *args)
        assert (r.returncode, r.stdout) == (2, ""), (args, r.stdout)
        assert r.stderr.strip() == f"backdesk: period: {args[-1]!r} {word} {example})", r.stderr
    bd = site.open()
    assert len(pay.payroll_runs(bd.context("accounting"))) == 1  # nothing run twice, nothing half-way
    assert [p["period"] for p in bd.context("accounting").table("periods").find({})] == ["2025-12"]
