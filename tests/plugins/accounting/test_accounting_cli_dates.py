"""The CLI's tables write dates as the screens do, through the site's
locale (German 20.01.26, English 20/01/2026), CSV keeps ISO; --period takes
a month as the screens do ("01.2026", "01/2026") or ISO, and a month that is
none is one line, exit 2, nothing written."""

from __future__ import annotations

import pytest

from plugins.accounting import bank
from plugins.accounting import invoicing as inv
from plugins.accounting import payroll as pay
from plugins.accounting import sepa
from plugins.accounting import service as svc
from camt import tx, camt053
from tests.plugins.accounting.conftest import iban
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


@pytest.mark.parametrize("locale, typed, short, example", [
    ("de_DE", lambda d, mo: f"{d:02d}.{mo:02d}.2026", lambda d, mo: f"{d}.{mo}.26", "31.12.2026"),
    ("en_GB", lambda d, mo: f"{d:02d}/{mo:02d}/2026", lambda d, mo: f"{d}/{mo}/26", "31/12/2026"),
    ("en_US", lambda d, mo: f"{mo}/{d}/2026", lambda d, mo: f"{mo:02d}/{d:02d}/26", "12/31/2026"),
])
def test_date_options_take_the_locales_dates_as_the_tables_print_them(site, locale, typed, short, example):
    """--due-by, --date, --as-of, --from/--to take a day as the CLI's tables
    print it and the screens take it (20.01.2026 / 20.01.26 in German,
    20/01/2026 en_GB, 1/20/2026 en_US) or ISO; a day that is none is one
    line naming the option, exit 2, nothing written."""
    site.plugins(INVOICE_SETTINGS)
    bd = site.open()
    ctx = bd.context("accounting")
    v = svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000")})
    bill = svc.create_bill(ctx, v["id"], "RE-4711", "2026-01-05", "2026-01-20",
                           [{"description": "x", "unit_price": "100"}])
    svc.approve_bill(ctx, bill["id"])
    meier = customers(ctx)["meier"]  # 14 days' terms: due 22 January
    inv.create_invoice(ctx, meier, [{"description": "Beratung", "unit_price": "1000"}], date="2026-01-08",
                       delivery_date="2026-01-07", issue=True)
    site.close()
    cfg = site.config_dir / "backdesk.yaml"
    cfg.write_text(cfg.read_text().replace("locale: en_US", f"locale: {locale}"))

    for due_by in (typed(20, 1), short(20, 1), "2026-01-20"):
        r = site.cli("accounting", "bills", "--due-by", due_by)
        assert r.returncode == 0 and "RE-4711" in r.stdout, (due_by, r.stdout, r.stderr)
    r = site.cli("accounting", "bills", "--due-by", typed(19, 1))
    assert (r.returncode, r.stdout.strip()) == (0, "(none)"), r.stderr
    r = site.cli("accounting", "open-items", "--as-of", typed(1, 2))
    assert r.returncode == 0 and "Meier" in r.stdout, r.stderr
    r = site.cli("accounting", "post", "--date", short(9, 1), "-d", "Porto",
                 "expenses:telephone=4.50", "assets:bank:checking=-4.50")
    assert r.returncode == 0, r.stderr
    r = site.cli("accounting", "export", "--format", "csv", "--from", typed(9, 1), "--to", typed(9, 1))
    assert [line.split(",")[1] for line in r.stdout.splitlines()[1:]] == ["2026-01-09", "2026-01-09"], r.stdout

    bad = [("bills", "--due-by", "32.01.2026"), ("payment-run", "--due-by", typed(20, 1), "--date", "Montag"),
           ("post", "--date", "2026-02-30", "-d", "x", "expenses:telephone=1", "assets:bank:checking=-1"),
           ("report", "profit-loss", "--from", "0001-01-01"), ("open-items", "--as-of", "20.13.2026")]
    word = "ist kein Datum (etwa" if locale == "de_DE" else "is not a date (like"
    for args in bad:
        r = site.cli("accounting", *args)
        option, value = args[-2], args[-1]
        if args[0] == "post":
            option, value = "--date", "2026-02-30"
        assert (r.returncode, r.stdout) == (2, ""), (args, r.stdout)
        if value == "0001-01-01":
            outside = "liegt außerhalb der Jahre" if locale == "de_DE" else "is outside the years"
            assert r.stderr.strip() == f"backdesk: --from: 0001-01-01 {outside} 1900–2199", r.stderr
        else:
            assert r.stderr.strip() == f"backdesk: {option}: {value!r} {word} {example})", r.stderr
    bd = site.open()
    ctx = bd.context("accounting")
    # nothing written by a refused line: no payment run, no file, no entry "x"
    assert sepa.payment_runs(ctx) == []
    assert not sepa.exports_dir(ctx).is_dir() or list(sepa.exports_dir(ctx).iterdir()) == []
    assert [e["description"] for e in svc.journal(ctx) if e["date"] == "2026-01-09"] == ["Porto"]
    assert not [e for e in svc.journal(ctx) if e["description"] == "x"]
