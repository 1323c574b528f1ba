"""The DATEV export for the tax adviser: an EXTF Buchungsstapel (header
version 700, category 21, format version 13) in Windows-1252, checked
against DATEV's published format rules — the header's fields, the 125
columns, amounts with a decimal comma and no sign, S/H, TTMM dates, what
Belegfeld 1 and the booking text may hold — and against the ledger: the
bookings, read back as DATEV books them (the VAT of each BU key derived from
the gross), give every account the ledger's movement in the period. And the
Debitoren/Kreditoren beside it (category 16, format version 5, 254 columns):
one row per stored customer and vendor, on the personal accounts the
Buchungsstapel books on, with their names, addresses, VAT IDs and IBANs."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest

from core.errors import PermissionDenied, ValidationError
from plugins.accounting import datev
from plugins.accounting import datev_partners
from plugins.accounting import invoicing as inv
from plugins.accounting import receivables
from plugins.accounting import service as svc
from plugins.accounting import setting_rules
from tests.plugins.accounting.conftest import iban
from invoice_helpers import INVOICE_SETTINGS, customers

DATEV = {"advisor": 29098, "client": 55003, "chart": "SKR03"}


@pytest.fixture
def books(site):
    site.plugins({**INVOICE_SETTINGS, "datev": DATEV})
    bd = site.open()
    ctx = bd.context("accounting")
    svc.post_entry(ctx, "2026-09-30", "Before the quarter", [{"account": "assets:cash", "amount": "50.00"},
                                                              {"account": "income:other", "amount": "-50.00"}])
    svc.post_entry(ctx, "2026-10-01", "Einlage", [{"account": "assets:bank:checking", "amount": "10000.00"},
                                                  {"account": "equity:capital", "amount": "-10000.00"}])
    mueller = svc.add_vendor(ctx, {"name": "Bürobedarf Müller", "iban": iban("DE", "370400440532013000")})
    cloud = svc.add_vendor(ctx, {"name": "Cloud Ltd", "iban": "IE29AIBK93115212345678"})
    paper = svc.create_bill(ctx, mueller["id"], "RE-4711", "2026-10-05", "2026-10-19",
                            [{"description": "Papier", "quantity": "10", "unit_price": "25.00",
                              "account": "expenses:office supplies"}])
    hosting = svc.create_bill(ctx, cloud["id"], "INV 2026/77", "2026-11-03", "2026-11-17",
                              [{"description": "Hosting", "unit_price": "500.00", "account": "expenses:it",
                                "vat_code": "rc"}])
    for b in (paper, hosting):
        svc.approve_bill(ctx, b["id"])
    svc.pay_bill(ctx, paper["id"], date="2026-10-15")
    ids = customers(ctx)
    invoice = inv.create_invoice(ctx, ids["meier"], [
        {"description": "Beratung", "quantity": "8", "unit_price": "120.00", "vat_code": "19"},
        {"description": "Fachbuch", "quantity": "2", "unit_price": "40.00", "vat_code": "7"}],
        delivery_date="2026-11-09", date="2026-11-10", issue=True)
    receivables.record_payment(ctx, invoice["number"], "500.00", "2026-11-20")
    svc.post_entry(ctx, "2026-12-30", "Kontoführung Dezember", [
        {"account": "expenses:bank fees", "amount": "12.90"}, {"account": "assets:bank:checking", "amount": "-12.90"}])
    return bd, ctx, {"mueller": mueller, "cloud": cloud, "invoice": invoice, "customers": ids}


def read(path) -> list[list[str]]:
    data = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # Windows-1252, as DATEV reads it: ü is one byte
    text = data.decode("cp1252")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_the_buchungsstapel_follows_datevs_format_and_agrees_with_the_ledger(site, books, tmp_path):
    bd, ctx, made = books
    target = tmp_path / "EXTF_Q4.csv"
    r = site.cli("accounting", "datev", "export", "--period", "2026-Q4", "-o", str(target))
    assert (r.returncode, r.stdout.strip()) == (0, f"DATEV Buchungsstapel 2026-Q4: 8 bookings, written to {target}"), \
        r.stderr
    rows = read(target)
    header, columns, data = rows[0], rows[1], rows[2:]
    # the header line (DATEV-Format, Header version 700): 31 fields
    assert len(header) == 31
    assert header[:5] == ["EXTF", "700", "21", "Buchungsstapel", "13"]
    assert re.fullmatch(r"\d{17}", header[5])          # created, YYYYMMDDHHMMSSFFF
    assert header[7] == "BD" and 0 < len(header[8]) <= 25  # origin, exported by
    assert header[10:16] == ["29098", "55003", "20260101", "4", "20261001", "20261231"]
    assert header[16] == "Backdesk 2026-Q4" and header[18:22] == ["1", "0", "0", "EUR"]
    assert header[26] == "03"                           # SKR03
    # the column row: the 125 columns of format version 13
    assert columns == datev.COLUMNS and len(columns) == 125
    assert columns[:14] == ["Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Kurs",
                            "Basis-Umsatz", "WKZ Basis-Umsatz", "Konto", "Gegenkonto (ohne BU-Schlüssel)",
                            "BU-Schlüssel", "Belegdatum", "Belegfeld 1", "Belegfeld 2", "Skonto", "Buchungstext"]
    # the format rules of each booking
    assert len(data) == 8
    for row in data:
        assert len(row) == 125
        assert re.fullmatch(r"\d{1,10},\d{2}", row[0]), row   # no sign, decimal comma, no thousands
        assert row[1] in ("S", "H") and row[2] == "EUR"
        assert re.fullmatch(r"\d{1,9}", row[6]) and re.fullmatch(r"\d{1,9}", row[7])
        assert re.fullmatch(r"(0[1-9]|[12]\d|3[01])(1[0-2])", row[9]), row  # TTMM in the quarter
        assert re.fullmatch(r"[A-Za-z0-9$&%*+\-/]{1,36}", row[10]), row
        assert len(row[13]) <= 60
        assert all(cell == "" for i, cell in enumerate(row) if i not in (0, 1, 2, 6, 7, 8, 9, 10, 13))
    creditor = 70000 + made["mueller"]["id"]
    cloud = 70000 + made["cloud"]["id"]
    debtor = 10000 + made["customers"]["meier"]
    number = made["invoice"]["number"]
    assert [(r[0], r[1], r[6], r[7], r[8], r[9], r[10]) for r in data] == [
        ("10000,00", "S", "1200", "800", "", "0110", "BD2"),          # the owner's money: bank to capital
        ("297,50", "H", str(creditor), "4930", "9", "0510", "RE-4711"),  # the bill gross, 19 % input VAT (BU 9)
        ("297,50", "S", str(creditor), "1200", "", "1510", "RE-4711"),   # paid from the bank
        ("500,00", "H", str(cloud), "4806", "94", "0311", "INV2026/77"),  # § 13b: net, DATEV owes and deducts
        ("1142,40", "S", str(debtor), "8200", "3", "1011", number),       # the invoice: 960 + 19 %
        ("85,60", "S", str(debtor), "8200", "2", "1011", number),         # and 80 + 7 %
        ("500,00", "S", "1200", str(debtor), "", "2011", number),         # part of it received
        ("12,90", "S", "4970", "1200", "", "3012", "BD8"),              # the bank's fee
    ]
    assert data[1][13] == "Bürobedarf Müller: bill RE-4711"
    # read back as DATEV books it, every account moves as in the ledger (the September entry left out)
    bookings = [{"amount": Decimal(r[0].replace(",", ".")), "side": r[1], "account": int(r[6]),
                 "contra": int(r[7]), "bu": r[8]} for r in data]
    theirs = datev.expand(bookings, "SKR03")
    ours = datev.ledger_by_datev(ctx, "2026-10-01", "2026-12-31")
    assert theirs == ours
    assert ours[1576] == Decimal("47.50") and ours[1776] == Decimal("-182.40") and ours[1771] == Decimal("-5.60")
    assert ours[1577] == Decimal("95.00") and ours[1787] == Decimal("-95.00")  # § 13b: owed and deducted
    assert ours[1200] == Decimal("10000.00") - Decimal("297.50") + Decimal("500.00") - Decimal("12.90")
    assert sum(theirs.values()) == 0
    assert 1000 not in ours  # the cash of 30 September is not in the quarter


def test_bad_requests_are_one_line_and_write_nothing(site, books, tmp_path):
    bd, ctx, made = books
    target = tmp_path / "x.csv"
    r = site.cli("accounting", "datev", "export", "--period", "2026-Q5", "-o", str(target))
    assert r.returncode == 2 and r.stderr.strip() == ("backdesk: period: '2026-Q5' is not a period (a month like "
                                                      "2026-11 or a quarter like 2026-Q4)")
    svc.add_account(ctx, "expenses:special projects")
    svc.post_entry(ctx, "2026-12-01", "Sonderprojekt", [{"account": "expenses:special projects", "amount": "1.00"},
                                                        {"account": "assets:bank:checking", "amount": "-1.00"}])
    r = site.cli("accounting", "datev", "export", "--period", "2026-Q4", "-o", str(target))
    assert r.returncode == 2 and r.stderr.strip() == (
        "backdesk: accounts: no DATEV account for expenses:special projects: give each a number in the datev "
        "setting's accounts")
    assert not target.exists()
    # mapped in the setting (a parent maps its children), it goes through
    site.plugins({**INVOICE_SETTINGS, "datev": {**DATEV, "accounts": {"expenses:special projects": 4900}}})
    r = site.cli("accounting", "datev", "export", "--period", "2026-12", "-o", str(target))
    assert r.returncode == 0, r.stderr
    assert [row[6:8] for row in read(target)[2:]] == [["4900", "1200"], ["4970", "1200"]]
    # without the adviser's numbers, no file
    site.plugins({**INVOICE_SETTINGS, "datev": {"chart": "SKR04"}})
    r = site.cli("accounting", "datev", "export", "--period", "2026-12", "-o", str(tmp_path / "y.csv"))
    assert r.returncode == 2 and "advisor (Beraternummer)" in r.stderr and not (tmp_path / "y.csv").exists()


def test_skr04_and_the_permission(site, books, tmp_path):
    bd, ctx, made = books
    site.plugins({**INVOICE_SETTINGS, "datev": {**DATEV, "chart": "SKR04"}})
    ctx = site.open().context("accounting")
    text, rows, header = datev.buchungsstapel(ctx, "2026-Q4")
    assert header["chart"] == "04"
    assert [(r["account"], r["contra"]) for r in rows][:2] == [(1800, 2900), (70000 + made["mueller"]["id"], 6815)]
    assert datev.expand(rows, "SKR04") == datev.ledger_by_datev(ctx, "2026-10-01", "2026-12-31")
    clerk = site.open("clara").context("accounting")
    with pytest.raises(PermissionDenied):
        datev.buchungsstapel(clerk, "2026-Q4")
    with pytest.raises(ValidationError, match="spans two fiscal years"):
        site.plugins({**INVOICE_SETTINGS, "datev": {**DATEV, "fiscal_year_start": "07-01"}})
        datev.buchungsstapel(site.open().context("accounting"), "2026")


def test_the_master_data_names_every_customer_and_vendor_on_the_buchungsstapels_accounts(site, books, tmp_path):
    from core.i18n import today

    bd, ctx, made = books
    svc.add_vendor(ctx, {"name": "Druckerei Groß & Söhne", "address": "Hauptstraße 5, 10115 Berlin",
                         "iban": "DE02120300000000202051", "bic": "BYLADEM1001", "email": "info@gross.example",
                         "terms_days": 10})
    target = tmp_path / "EXTF_DebKred.csv"
    r = site.cli("accounting", "datev", "master-data", "-o", str(target))
    assert (r.returncode, r.stdout.strip()) == (0, f"DATEV Debitoren/Kreditoren: 6 accounts, written to {target}"), \
        r.stderr
    rows = read(target)  # Windows-1252 (Müller's ü is one byte), CRLF, a CSV reader opens it
    header, columns, data = rows[0], rows[1], rows[2:]
    assert len(header) == 31
    assert header[:5] == ["EXTF", "700", "16", "Debitoren/Kreditoren", "5"]
    assert re.fullmatch(r"\d{17}", header[5]) and header[7] == "BD"
    assert header[10:14] == ["29098", "55003", f"{today().year}0101", "4"]  # personal accounts: 4 + 1 digits
    assert header[14:16] == ["", ""] and header[26] == "03"
    assert columns == datev_partners.COLUMNS and len(columns) == 254
    assert columns[:10] == ["Konto", "Name (Adressattyp Unternehmen)", "Unternehmensgegenstand",
                            "Name (Adressattyp natürl. Person)", "Vorname (Adressattyp natürl. Person)",
                            "Name (Adressattyp keine Angabe)", "Adressattyp", "Kurzbezeichnung", "EU-Land", "EU-UStID"]
    assert all(len(row) == 254 for row in data)
    by_account = {int(row[0]): dict(zip(columns, row)) for row in data}
    customers = ctx.table("customers").all()
    vendors = ctx.table("vendors").all()
    assert len(data) == len(by_account) == len(customers) + len(vendors) == 6
    for c in customers:  # debtors: 10000 + id
        row = by_account[10000 + c["id"]]
        assert (row["Name (Adressattyp Unternehmen)"], row["Adressattyp"], row["Ort"], row["Postleitzahl"],
                row["Straße"], row["Land"], row["E-Mail"]) == (c["name"], "2", c["city"], c["postcode"], c["street"],
                                                              c["country"], c["email"])
        assert row["EU-Land"] + row["EU-UStID"] == c["vat_id"]
        assert row["Fälligkeit in Tagen (Debitor)"] == str(c["terms_days"]) and row["IBAN-Nr. 1"] == ""
        assert row["Nummer Fremdsystem"] == f"BD-K{c['id']}"
    assert by_account[10000 + made["customers"]["dupont"]]["EU-Land"] == "FR"
    for v in vendors:  # creditors: 70000 + id
        row = by_account[70000 + v["id"]]
        assert (row["Name (Adressattyp Unternehmen)"], row["IBAN-Nr. 1"], row["Länderkennzeichen 1"],
                row["SWIFT-Code 1"], row["Kennz. Hauptbankverb. 1"], row["Kreditoren-Ziel 1 Tg."]) == \
            (v["name"], v["iban"], v["iban"][:2], v["bic"], "1", str(v["terms_days"]))
    gross = by_account[70000 + vendors[-1]["id"]]
    assert (gross["Straße"], gross["Postleitzahl"], gross["Ort"], gross["Adressart"]) == \
        ("Hauptstraße 5", "10115", "Berlin", "STR")
    assert by_account[70000 + made["mueller"]["id"]]["Name (Adressattyp Unternehmen)"] == "Bürobedarf Müller"
    # every personal account the Buchungsstapel books on is in the master data, and nothing else is
    _text, bookings, _header = datev.buchungsstapel(ctx, "2026-Q4")
    personal = {n for b in bookings for n in (b["account"], b["contra"]) if n >= 10000}
    assert personal == {70000 + made["mueller"]["id"], 70000 + made["cloud"]["id"],
                        10000 + made["customers"]["meier"]}
    assert personal <= set(by_account)
    assert all(10000 <= n <= 69999 for n in by_account if n < 70000) and all(n <= 99999 for n in by_account)
    # the exports folder when no file is named, and an audit entry
    r = site.cli("accounting", "datev", "master-data")
    from plugins.accounting import sepa
    assert r.returncode == 0 and (sepa.exports_dir(ctx) / "EXTF_Debitoren_Kreditoren.csv").is_file()
    assert any("DATEV Debitoren/Kreditoren (6 accounts)" in e["what"] for e in bd.services.audit.entries(op="read"))


def test_the_master_data_refuses_in_one_line_and_writes_nothing(site, books, tmp_path):
    bd, ctx, made = books
    target = tmp_path / "x.csv"
    for role_account in ("clara", "sam"):  # no accounting.ledger.export
        with pytest.raises(PermissionDenied):
            datev_partners.debitoren_kreditoren(site.open(role_account).context("accounting"))
    site.plugins({**INVOICE_SETTINGS, "datev": {**DATEV, "debtors_from": 69999}})
    r = site.cli("accounting", "datev", "master-data", "-o", str(target))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "past 69999" in r.stderr
    assert not target.exists()
    r = site.cli("accounting", "datev", "export", "--period", "2026-Q4", "-o", str(target))
    assert r.returncode == 2 and "past 69999" in r.stderr and not target.exists()  # the same numbers in both files
    site.plugins({**INVOICE_SETTINGS, "datev": {"chart": "SKR04"}})
    r = site.cli("accounting", "datev", "master-data", "-o", str(target))
    assert r.returncode == 2 and "advisor (Beraternummer)" in r.stderr and not target.exists()


async def test_the_reports_screen_writes_the_export_into_the_exports_folder(books):
    from core.shell.app import make_app
    from core.i18n import today
    from core.cli.testing import wait_for
    from core.shell.widgets import FormScreen
    from plugins.accounting import sepa
    from plugins.accounting import vatreturn as vr
    from test_accounting_operator import clear_input, open_by_palette, type_text

    bd, ctx, made = books
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_by_palette(pilot, "Reports", "ReportsScreen")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert app.screen.form.control("period").value == vr.quarter_of(today())
        await clear_input(pilot)
        await type_text(pilot, "2026-Q4")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        target = sepa.exports_dir(ctx) / "EXTF_Buchungsstapel_2026-Q4.csv"
        assert target.parent == bd.config.data_dir / "exports" / bd.operator.account  # what backdesk files lists
        await wait_for(pilot, lambda: any(n.message == f"DATEV: 8 bookings written to {target}; 5 accounts to "
                                          "EXTF_Debitoren_Kreditoren.csv" for n in app._notifications))
    assert len(read(target)) == 10
    assert len(read(target.parent / "EXTF_Debitoren_Kreditoren.csv")) == 2 + 5


def test_the_datev_and_company_settings_are_checked_at_start(site):
    """The two settings' rules (plugins.accounting.setting_rules, apart from
    the DATEV and invoicing code so that a start imports neither): a bad
    value stops the start with one line naming it, exit 2."""
    assert set(datev.CHARTS) == set(setting_rules.DATEV_CHARTS)
    for settings, message in (
            ({"datev": {**DATEV, "chart": "SKR05"}}, "chart: SKR03 or SKR04"),
            ({"datev": {**DATEV, "advisor": 12}}, "advisor: a number from 1001 to 9999999"),
            ({"datev": {**DATEV, "beraternummer": 29098}}, "unknown key 'beraternummer'"),
            ({"company": {"name": "Test GmbH", "vat_id": "DE136695977"}},
             "vat_id: 'DE136695977' is not a valid VAT ID"),
            ({"company": {"name": "Test GmbH", "ust_id": "DE136695976"}}, "unknown key 'ust_id'")):
        site.plugins({**INVOICE_SETTINGS, **settings})
        r = site.cli("accounting", "accounts")
        assert r.returncode == 2, r.stderr
        line, = r.stderr.strip().splitlines()
        assert line.startswith("backdesk: ") and message in line, line
    site.plugins({**INVOICE_SETTINGS, "datev": DATEV})
    r = site.cli("accounting", "accounts")
    assert r.returncode == 0, r.stderr
