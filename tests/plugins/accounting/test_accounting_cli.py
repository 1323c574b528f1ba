"""``backdesk accounting …`` as a user runs it: output, exit codes, one-line errors."""

from __future__ import annotations

from plugins.accounting import service as svc
from tests.plugins.accounting.conftest import iban

JOURNAL = "2026-01-02 Opening\n    assets:bank:checking  1000.00 EUR\n    equity:opening balances\n\n" \
          "2026-01-05 Rent\n    expenses:rent  400 EUR\n    assets:bank:checking\n"


def test_import_report_export_and_errors(site, hledger, tmp_path):
    bad = tmp_path / "bad.journal"
    bad.write_text(JOURNAL + "\n2026-01-07 Broken\n    expenses:rent  12,x EUR\n    assets:bank:checking\n")
    r = site.cli("accounting", "import", str(bad))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == f"backdesk: {bad}: line 10: '12,x EUR' is not an amount (like 12.50 EUR)"
    assert len(r.stderr.strip().splitlines()) == 1
    good = tmp_path / "good.journal"
    good.write_text(JOURNAL)
    r = site.cli("accounting", "import", str(good))
    assert (r.returncode, r.stdout.strip()) == (0, "imported 2 transaction(s)")
    r = site.cli("accounting", "report", "trial-balance", "--format", "csv")
    assert r.stdout.splitlines() == ["section,account,currency,amount",
                                     "accounts,assets:bank:checking,EUR,600.00",
                                     "accounts,equity:opening balances,EUR,-1000.00",
                                     "accounts,expenses:rent,EUR,400.00", "accounts,total,EUR,0.00"]
    r = site.cli("accounting", "report", "profit-loss", "--from", "2026-01-03", "--to", "2026-01-31")
    assert r.returncode == 0 and "expenses:rent" in r.stdout and "-€400.00" in r.stdout
    r = site.cli("accounting", "report", "profit-loss", "--from", "2026-13-01")
    assert r.returncode == 2 and "'2026-13-01' is not a date" in r.stderr
    r = site.cli("accounting", "export", "--format", "csv")
    assert r.stdout.splitlines()[1] == "1,2026-01-02,Opening,assets:bank:checking,1000.00,EUR,import,"
    out = tmp_path / "out.journal"
    assert site.cli("accounting", "export", "--format", "hledger", "-o", str(out)).returncode == 0
    import subprocess

    assert "600.00 EUR" in subprocess.run(["hledger", "-f", str(out), "balance", "assets"], capture_output=True,
                                          text=True, check=True).stdout
    r = site.cli("accounting", "import", str(tmp_path / "missing.journal"))
    assert r.returncode == 2 and "no such file" in r.stderr


def test_bills_payment_run_and_payroll_from_the_cli(site, office, tmp_path):
    bd, ctx, ids = office
    v = svc.add_vendor(ctx, {"name": "Schmidt", "iban": iban("DE", "370400440532013000")})
    b1 = svc.create_bill(ctx, v["id"], "A-1", "2026-01-01", "2026-01-15", [{"description": "x", "unit_price": "100"}])
    svc.create_bill(ctx, v["id"], "A-2", "2026-01-01", "2026-03-15", [{"description": "y", "unit_price": "10"}])
    r = site.cli("accounting", "bills", "--due-by", "2026-01-31")
    assert r.returncode == 0 and "A-1" in r.stdout and "A-2" not in r.stdout
    r = site.cli("accounting", "pay", str(b1["id"]))
    assert r.returncode == 2 and r.stderr.strip() == "backdesk: bill A-1 is not approved: it cannot be paid"
    assert site.cli("accounting", "approve", str(b1["id"])).returncode == 0
    xml_file = tmp_path / "bank.xml"
    r = site.cli("accounting", "payment-run", "--due-by", "2026-01-31", "--date", "2026-01-20", "-o", str(xml_file))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"payment run 1: 1 transfer(s), €119.00, pain.001.001.09 written to {xml_file}"
    assert f"<IBAN>{v['iban']}</IBAN>" in xml_file.read_text()
    r = site.cli("accounting", "payroll", "run", "--period", "2026-01")
    assert r.returncode == 2 and "nobody has a pay rate" in r.stderr
    from plugins.accounting import payroll as pay

    pay.set_rate(ctx, ids["anna"], "salaried", "3000")
    r = site.cli("accounting", "payroll", "run", "--period", "2026-01")
    assert r.returncode == 0 and "1 payslip(s)" in r.stdout and "gross €3,000.00, net €2,115.00" in r.stdout
    r = site.cli("accounting", "payroll", "run", "--period", "Jan")
    assert r.returncode == 2 and r.stderr.strip() == "backdesk: period: 'Jan' is not a month (like 12/2026)"
