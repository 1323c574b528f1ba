"""Bank statements as the bank sends them: a CAMT.053 written by the test
(valid against the official schema) is imported, each line kept once and
matched — the payment run's transfers by their end-to-end ids, a bill paid
in part by its number, a customer's invoice, the fees by a rule — with no
manual step; the same file again adds "0 new lines"; the ledger then agrees
with the statement and with the real hledger. Bad files: one line, nothing
stored."""

from __future__ import annotations

import csv
import io
import subprocess
from decimal import Decimal

import pytest

from core.errors import PermissionDenied, ValidationError
from plugins.accounting import bank
from plugins.accounting import reports
from plugins.accounting import sepa
from plugins.accounting import service as svc
from tests.plugins.accounting.conftest import SETTINGS, iban
from sepa_schemas import check

from camt import OFFICE_IBAN, camt052, camt053, camt054, tx


def month(ctx):
    """Three vendors' approved bills; the first two sent to the bank in run 1."""
    svc.post_entry(ctx, "2026-01-02", "Opening balance", [{"account": "assets:bank:checking", "amount": "10000.00"},
                                                          {"account": "equity:opening balances",
                                                           "amount": "-10000.00"}])
    vendors = [svc.add_vendor(ctx, {"name": name, "iban": iban("DE", bban)})
               for name, bban in (("Bürobedarf Müller", "370400440532013000"), ("NetCom AG", "500105175407324396"),
                                  ("Immobilien Weber", "200411330123456789"))]
    bills = []
    for v, number, due, price in ((vendors[0], "RE-4711", "2026-01-20", "100"),
                                  (vendors[1], "T-778", "2026-01-25", "200"),
                                  (vendors[2], "M-2026-01", "2026-02-28", "1000")):
        b = svc.create_bill(ctx, v["id"], number, "2026-01-05", due, [{"description": "x", "unit_price": price}])
        svc.approve_bill(ctx, b["id"])
        bills.append(b)
    run = sepa.payment_run(ctx, "2026-01-31", "2026-01-28")
    return vendors, bills, run


def statement(vendors, bills, run) -> bytes:
    items = {i["bill_id"]: i for i in run["items"]}
    return camt053([
        # the payment run, batch-booked: one debit of 357.00 with both transfers
        {"sign": "-", "date": "2026-01-28", "txs": [
            tx("119.00", e2e=items[bills[0]["id"]]["end_to_end_id"], name="Buerobedarf Mueller",
               iban_=vendors[0]["iban"], text="RE-4711"),
            tx("238.00", e2e=items[bills[1]["id"]]["end_to_end_id"], name="NetCom AG", iban_=vendors[1]["iban"],
               text="T-778")]},
        # a part of the rent, sent by hand in online banking, naming the bill
        {"sign": "-", "date": "2026-01-29", "txs": [
            tx("500.00", name="Immobilien Weber", iban_=vendors[2]["iban"], text="Miete M-2026-01 Teilzahlung")]},
        # the account fee: a rule
        {"sign": "-", "date": "2026-01-30", "txs": [tx("12.90", text="Kontofuehrung Januar")]},
        # a payment nobody can place: waits for the operator
        {"sign": "+", "date": "2026-01-30", "txs": [tx("77.00", name="Unbekannt GmbH", text="Gutschrift")]},
    ], opening="10000.00")


RULES = {**SETTINGS, "bank_rules": [{"text": "Kontofuehrung", "account": "expenses:bank fees"}]}


@pytest.fixture
def books(site):
    site.plugins(RULES)
    bd = site.open()
    return bd, bd.context("accounting")


def test_a_statement_pays_two_bills_and_part_of_a_third_with_no_manual_step(site, books, hledger, tmp_path):
    bd, ctx = books
    vendors, bills, run = month(ctx)
    data = statement(vendors, bills, run)
    check(data, "camt.053.001.02.xsd")  # what the test wrote is what a bank may send
    path = tmp_path / "camt.xml"
    path.write_bytes(data)
    r = site.cli("accounting", "bank", "import", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["5 new lines: 4 matched, 0 suggested, 1 unmatched"]
    stored = {b["number"]: (b["status"], b["paid"]) for b in ctx.table("bills").all()}
    assert stored == {"RE-4711": ("paid", "119.00"), "T-778": ("paid", "238.00"),
                      "M-2026-01": ("partly_paid", "500.00")}
    assert sepa.run_by_number(ctx, 1)["status"] == "done"
    payments = ctx.table("payments").all()
    assert sorted((p["amount"], p["date"], p["run_id"]) for p in payments) == [
        ("119.00", "2026-01-28", run["id"]), ("238.00", "2026-01-28", run["id"]), ("500.00", "2026-01-29", None)]
    # the same file again: nothing new, nothing posted twice
    entries = ctx.table("entries").count()
    r = site.cli("accounting", "bank", "import", str(path))
    assert (r.returncode, r.stdout.strip()) == (0, "0 new lines")
    assert ctx.table("entries").count() == entries and ctx.table("statement_lines").count() == 5
    # the statement against the ledger: posted lines plus the one waiting make the closing balance
    (st,) = bank.statements(ctx)
    check_ = bank.balance_check(ctx, st)
    assert (check_["closing"], check_["ledger"], check_["waiting"], check_["agrees"]) == (
        Decimal("9207.10"), Decimal("9130.10"), Decimal("77.00"), True)
    # the operator places it: a customer's payment for other income
    (waiting,) = bank.lines(ctx, status="unmatched")
    r = site.cli("accounting", "bank", "match", str(waiting["id"]), "--account", "income:other")
    assert r.returncode == 0, r.stderr
    assert bank.balance_check(ctx, st)["posted_agrees"]
    # hledger agrees: the bank account is the statement's closing balance, the trial balance is ours
    journal = tmp_path / "books.journal"
    journal.write_text(reports.export_hledger(ctx))
    out = subprocess.run(["hledger", "-f", str(journal), "balance", "--flat", "-O", "csv"], capture_output=True,
                         text=True, check=True).stdout
    theirs = {r[0]: Decimal(r[1].split()[0]) for r in csv.reader(io.StringIO(out))
              if len(r) > 1 and ":" in r[0]}
    assert theirs["assets:bank:checking"] == Decimal("9207.10")
    tb = reports.report(ctx, "trial-balance")
    assert theirs == {a: v for a, _c, v in tb.sections[0][1]}
    assert theirs["liabilities:payables"] == Decimal("-690.00")  # what is still owed on the rent
    assert theirs["expenses:bank fees"] == Decimal("12.90")


def test_a_notification_by_day_and_the_statement_at_night_post_each_line_once(site, books, tmp_path):
    bd, ctx = books
    vendors, bills, run = month(ctx)
    items = {i["bill_id"]: i for i in run["items"]}
    # during the day the bank notifies the run's debit (CAMT.054), and a credit it has not booked yet
    note = camt054([
        {"sign": "-", "date": "2026-01-28", "txs": [
            tx("119.00", e2e=items[bills[0]["id"]]["end_to_end_id"], name="Buerobedarf Mueller",
               iban_=vendors[0]["iban"], text="RE-4711"),
            tx("238.00", e2e=items[bills[1]["id"]]["end_to_end_id"], name="NetCom AG", iban_=vendors[1]["iban"],
               text="T-778")]},
        {"sign": "+", "status": "PDNG", "ref": "REF0099", "txs": [tx("77.00", name="Unbekannt GmbH")]}])
    check(note, "camt.054.001.02.xsd")  # what the test wrote is what a bank may send
    path = tmp_path / "camt054.xml"
    path.write_bytes(note)
    r = site.cli("accounting", "bank", "import", str(path))
    assert (r.returncode, r.stdout.strip()) == (0, "2 new lines: 2 matched, 0 suggested, 0 unmatched"), r.stderr
    assert {b["number"]: b["status"] for b in ctx.table("bills").all()} == {
        "RE-4711": "paid", "T-778": "paid", "M-2026-01": "approved"}
    assert sepa.run_by_number(ctx, 1)["status"] == "done"
    (notification,) = bank.statements(ctx)
    assert (notification["kind"], notification["closing"]) == ("camt.054", None)
    assert not bank.balance_check(ctx, notification)["agrees"]  # a notification has no balance to agree with
    r = site.cli("accounting", "bank", "statements")
    assert r.returncode == 0 and r.stdout.strip().endswith("no closing balance to check"), r.stdout
    entries = ctx.table("entries").count()
    # at night the day's statement repeats the debit: its two lines are known, the rest is new
    path = tmp_path / "camt053.xml"
    path.write_bytes(statement(vendors, bills, run))
    r = site.cli("accounting", "bank", "import", str(path))
    assert (r.returncode, r.stdout.strip()) == (0, "3 new lines: 2 matched, 0 suggested, 1 unmatched"), r.stderr
    assert ctx.table("statement_lines").count() == 5 and ctx.table("payments").count() == 3
    assert ctx.table("entries").count() == entries + 2  # the part of the rent and the fee; the run not again
    st = [s for s in bank.statements(ctx) if s["kind"] == "camt.053"][0]
    assert bank.balance_check(ctx, st)["agrees"]
    r = site.cli("accounting", "bank", "statements")  # newest first: the statement, then the notification
    assert [line.split()[-1] for line in r.stdout.splitlines()] == ["matched", "check"], r.stdout
    r = site.cli("accounting", "bank", "import", str(tmp_path / "camt054.xml"))
    assert (r.returncode, r.stdout.strip()) == (0, "0 new lines")
    # refused in one line, nothing stored: another account's notification, one its schema refuses
    lines_before = ctx.table("statement_lines").count()
    for data, text in ((camt054([{"sign": "+", "txs": [tx("5.00")]}], account=iban("DE", "500105175407324396")),
                        "not one of the office's"),
                       (note.replace(b"<Ntfctn><Id>", b"<Ntfctn><Bal/><Id>"), "not valid against camt.054.001.02")):
        path.write_bytes(data)
        r = site.cli("accounting", "bank", "import", str(path))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and text in r.stderr, r.stderr
    assert ctx.table("statement_lines").count() == lines_before


def test_an_intraday_report_and_the_statement_at_night_post_each_line_once(site, books, tmp_path):
    bd, ctx = books
    vendors, bills, run = month(ctx)
    items = {i["bill_id"]: i for i in run["items"]}
    # at one o'clock the bank's intraday report (CAMT.052) has the run's debit
    report = camt052([{"sign": "-", "date": "2026-01-28", "txs": [
        tx("119.00", e2e=items[bills[0]["id"]]["end_to_end_id"], name="Buerobedarf Mueller",
           iban_=vendors[0]["iban"], text="RE-4711"),
        tx("238.00", e2e=items[bills[1]["id"]]["end_to_end_id"], name="NetCom AG", iban_=vendors[1]["iban"],
           text="T-778")]}], opening="10000.00")
    check(report, "camt.052.001.02.xsd")  # what the test wrote is what a bank may send
    path = tmp_path / "camt052.xml"
    path.write_bytes(report)
    r = site.cli("accounting", "bank", "import", str(path))
    assert (r.returncode, r.stdout.strip()) == (0, "2 new lines: 2 matched, 0 suggested, 0 unmatched"), r.stderr
    assert sepa.run_by_number(ctx, 1)["status"] == "done"
    (rpt,) = bank.statements(ctx)
    assert (rpt["kind"], rpt["opening"], rpt["closing"]) == ("camt.052", "10000.00", None)
    path.write_bytes(statement(vendors, bills, run))
    r = site.cli("accounting", "bank", "import", str(path))
    assert (r.returncode, r.stdout.strip()) == (0, "3 new lines: 2 matched, 0 suggested, 1 unmatched"), r.stderr
    assert ctx.table("payments").count() == 3 and ctx.table("statement_lines").count() == 5
    r = site.cli("accounting", "bank", "statements")
    assert [line.split()[-1] for line in r.stdout.splitlines()] == ["matched", "check"], r.stdout


def test_bad_statements_are_refused_in_one_line_and_nothing_is_stored(site, books, tmp_path):
    bd, ctx = books
    vendors, bills, run = month(ctx)
    good = statement(vendors, bills, run).decode()
    other = iban("DE", "500105175407324396")
    cases = {
        "broken balance": (good.replace("<Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">9207.10",
                                        "<Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">9207.01"),
                           "statement 2026-01-31-1: the balances do not add up (opening 10000.00 + lines -792.90 is "
                           "9207.10, the closing balance says 9207.01)"),
        "another account": (good.replace(f"<Acct><Id><IBAN>{OFFICE_IBAN}", f"<Acct><Id><IBAN>{other}"),
                            f"the statement is for the account {other}, which is not one of the office's "
                            f"({OFFICE_IBAN})"),
        "bad IBAN checksum": (good.replace(f"<Acct><Id><IBAN>{OFFICE_IBAN}", "<Acct><Id><IBAN>DE89370400440532013001"),
                              "the IBAN DE89370400440532013001 has wrong check digits"),
        "not the schema": (good.replace("<Sts>BOOK</Sts>", "", 1),
                           "not valid against camt.053.001.02: line 1: Element 'BookgDt': This element is not "
                           "expected. Expected is one of ( RvslInd, Sts )."),
        "not XML": (good[:300], None),
    }
    for what, (text, message) in cases.items():
        path = tmp_path / f"{what}.xml"
        path.write_text(text)
        r = site.cli("accounting", "bank", "import", str(path))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (what, r.stderr)
        assert "Traceback" not in r.stderr
        if message:
            assert r.stderr.strip() == f"backdesk: {path}: {message}", what
        else:
            assert r.stderr.startswith(f"backdesk: {path}: not an XML file"), r.stderr
    assert ctx.table("statements").count() == 0 and ctx.table("statement_lines").count() == 0
    assert {b["status"] for b in ctx.table("bills").all()} == {"in_payment", "approved"}


MT940 = """:20:STARTUMS
:25:{iban}
:28C:00001/001
:60F:C260101EUR10000,00
:61:2601290129DR500,00NTRFNONREF//BANKREF1
:86:177?00SEPA-UEBERWEISUNG?20Miete M-2026-01 Teilzahlung?32Immobilien Weber
:62F:C260129EUR9500,00
-"""


def test_mt940_is_read_and_a_truncated_record_refused(site, books, tmp_path):
    bd, ctx = books
    vendors, bills, run = month(ctx)
    path = tmp_path / "stmt.sta"
    path.write_text(MT940.format(iban=OFFICE_IBAN), encoding="latin-1")
    r = site.cli("accounting", "bank", "import", str(path))
    assert (r.returncode, r.stdout.strip()) == (0, "1 new line: 1 matched, 0 suggested, 0 unmatched"), r.stderr
    assert {b["number"]: b["status"] for b in ctx.table("bills").all()}["M-2026-01"] == "partly_paid"
    truncated = tmp_path / "cut.sta"
    truncated.write_text(MT940.format(iban=OFFICE_IBAN).split(":62F:")[0])
    r = site.cli("accounting", "bank", "import", str(truncated))
    assert (r.returncode, r.stderr.strip()) == (2, f"backdesk: {truncated}: MT940 record 1 is truncated: it has "
                                                   f"no :62F: line")
    assert ctx.table("statements").count() == 1


def test_suggestions_and_matching_by_hand(site, books, tmp_path):
    bd, ctx = books
    vendors, bills, run = month(ctx)
    sepa.cancel_run(ctx, 1)
    # NetCom's bill paid without its number: the amount and the IBAN suggest it
    data = camt053([{"sign": "-", "txs": [tx("238.00", name="NetCom AG", iban_=vendors[1]["iban"],
                                             text="Januar")]}], opening="10000.00")
    summary = bank.import_statement(ctx, data)
    assert (summary["new"], summary["suggested"]) == (1, 1)
    (line,) = bank.lines(ctx, status="suggested")
    assert line["suggestion"] == {"kind": "bill", "id": bills[1]["id"], "number": "T-778"}
    rows = bank.line_rows(ctx, [line])
    assert (rows[0]["status_text"], rows[0]["what"]) == ("suggested", "T-778")
    clerk = site.open("clara").context("accounting")
    with pytest.raises(PermissionDenied):
        bank.match_line(clerk, line["id"], accept=True)
    with pytest.raises(PermissionDenied):
        bank.import_statement(clerk, data)
    r = site.cli("accounting", "bank", "match", str(line["id"]), "--accept")
    assert (r.returncode, r.stdout.strip()) == (0, f"line {line['id']}: matched to T-778"), r.stderr
    assert svc.bills(ctx, status="paid")[0]["number"] == "T-778"
    with pytest.raises(ValidationError, match="matched already"):
        bank.match_line(ctx, line["id"], account="expenses:rent")
    r = site.cli("accounting", "bank", "lines")
    assert "T-778" in r.stdout and "matched" in r.stdout


BANK_CSV = ("Buchungstag;Verwendungszweck;Betrag\n"
            "28.01.2026;Überweisung RE-4711 Bürobedarf Müller;-119,00\n"
            "29.01.2026;Miete Januar für Büro (1.000 € Rest folgt);-1.190,00\n"
            "30.01.2026;Gebühr Kontoführung;-12,90\n")
MAPPING = ("date: Buchungstag\ndescription: Verwendungszweck\namount: Betrag\ndate_format: '%d.%m.%Y'\n"
           "decimal: ','\ndelimiter: ';'\nrules: {miete: expenses:rent}\n")


def test_a_windows_1252_bank_csv_is_read_kept_once_and_pays_the_bill_it_names(site, books, tmp_path):
    bd, ctx = books
    vendors, bills, run = month(ctx)
    sepa.cancel_run(ctx, 1)
    path, mapping = tmp_path / "umsaetze.csv", tmp_path / "sparkasse.yaml"
    path.write_bytes(BANK_CSV.encode("cp1252"))  # as a German bank's export is
    mapping.write_text(MAPPING)
    r = site.cli("accounting", "import", str(path), "--bank", "--mapping", str(mapping))
    assert (r.returncode, r.stdout.strip()) == (0, "imported 3 transaction(s)"), r.stderr
    texts = sorted(ln["remittance"] for ln in bank.lines(ctx))
    assert texts == ["Gebühr Kontoführung", "Miete Januar für Büro (1.000 € Rest folgt)",
                     "Überweisung RE-4711 Bürobedarf Müller"]
    # the row naming RE-4711 paid that bill (not expenses:uncategorized); the rent row went by the mapping's rule
    assert {b["number"]: b["status"] for b in ctx.table("bills").all()}["RE-4711"] == "paid"
    tb = {a: v for a, _c, v in reports.report(ctx, "trial-balance").sections[0][1]}
    assert tb["expenses:rent"] == Decimal("1190.00") and tb["expenses:uncategorized"] == Decimal("12.90")
    assert tb["liabilities:payables"] == Decimal("-1428.00")  # 238.00 + 1190.00 still owed
    # the same file again: nothing new
    entries = ctx.table("entries").count()
    r = site.cli("accounting", "import", str(path), "--bank", "--mapping", str(mapping))
    assert (r.returncode, r.stdout.strip()) == (0, "imported 0 transaction(s)")
    assert ctx.table("entries").count() == entries
    # an encoding the mapping declares wrongly: one line, nothing stored
    mapping.write_text(MAPPING + "encoding: utf-8\n")
    other = tmp_path / "other.csv"
    other.write_bytes(BANK_CSV.replace("28.01.", "27.01.").encode("cp1252"))
    r = site.cli("accounting", "import", str(other), "--bank", "--mapping", str(mapping))
    assert r.returncode == 2 and r.stderr.strip() == f"backdesk: {other}: the file is not utf-8 (byte 47)", r.stderr
    mapping.write_text(MAPPING + "encoding: cp1252\n")
    r = site.cli("accounting", "import", str(other), "--bank", "--mapping", str(mapping))
    assert (r.returncode, r.stdout.strip()) == (0, "imported 1 transaction(s)"), r.stderr


async def test_the_reconciliation_screen_imports_shows_what_waits_and_matches_it(books, tmp_path):
    from core.shell.app import make_app
    from core.cli.testing import text_of, wait_for
    from core.shell.widgets import FormScreen, RecordTable
    from test_accounting_operator import clear_input, lines_of, open_by_palette, type_text

    bd, ctx = books
    vendors, bills, run = month(ctx)
    path = tmp_path / "camt.xml"
    path.write_bytes(statement(vendors, bills, run))
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_by_palette(pilot, "Reconciliation", "ReconciliationScreen")
        assert text_of(app, "#acc-bank-sum") == "No statement imported yet (i)"
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await type_text(pilot, str(path))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: any(n.message == "5 new lines: 4 matched, 0 suggested, 1 unmatched"
                                          for n in app._notifications))
        table = app.screen.query_one("#acc-bank", RecordTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        row = next(line for line in lines_of(app) if "Unbekannt" in line)
        assert "1/30/26" in row and "77.00" in row
        assert any(line.endswith("▕ Status: unmatched") for line in lines_of(app))  # on the detail line
        assert text_of(app, "#acc-bank-sum") == ("Statement 2026-01-31-1 (1/30/26): closing 9,207.10, agrees "
                                                 "once 77.00 waiting is matched")
        # o shows every line and what it was matched to
        await pilot.press("o")
        await wait_for(pilot, lambda: table.row_count == 5)
        assert any("T-778" in line for line in lines_of(app))
        assert {(table.record_at(i)["what"], table.record_at(i)["status_text"]) for i in range(5)} >= {
            ("T-778", "matched")}
        await pilot.press("o")
        await wait_for(pilot, lambda: table.row_count == 1)
        # m matches the waiting line to an account
        table.focus()
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.form.control("account").focus()
        await type_text(pilot, "income:other")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: table.row_count == 0)
        await wait_for(pilot, lambda: text_of(app, "#acc-bank-sum").endswith("closing 9,207.10, agrees with the "
                                                                             "ledger"))
    assert [ln["status"] for ln in bank.lines(ctx)] == ["matched"] * 5


@pytest.mark.parametrize("locale", ["de_DE", "en_GB"])
async def test_the_reconciliation_fits_80x24_with_the_date_the_locales_way(books, tmp_path, locale):
    """Beside the menu at 80×24 every statement line's date, amount, who
    and what it is matched to are on screen, no scrolling sideways; the
    state gives way when the table needs the room (on the detail line)."""
    from core.shell.app import make_app
    from core.cli.testing import wait_for
    from core.i18n import configure
    from core.shell.widgets import RecordTable
    from test_accounting_operator import lines_of

    bd, ctx = books
    vendors, bills, run = month(ctx)
    bank.import_statement(ctx, statement(vendors, bills, run))
    configure(locale, "Europe/Berlin", "EUR")  # after the site's own (en_US)
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_nav("accounting.reconcile")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ReconciliationScreen")
            await pilot.press("o")  # every line, and what it was matched to
            table = app.screen.query_one("#acc-bank", RecordTable)
            await wait_for(pilot, lambda: table.row_count == 5)
            await pilot.pause()
            widths = [(c.key, w) for c, w in zip(table.columns, table._widths)]
            assert table._table_width <= table.scrollable_content_region.width, widths
            assert [c.key for c, w in zip(table.columns, table._widths) if w][:3] == ["booking_date", "amount_dec",
                                                                                      "party"], widths
            assert table._widths[-1] >= 12, widths  # "Matched to" stays
            rows = "\n".join(lines_of(app))
            assert ("28.01.26" if locale == "de_DE" else "28/01/2026") in rows and "T-778" in rows and "RE-4711" in rows
            if table.hidden_columns:
                assert [c.key for c in table.hidden_columns] == ["status_text"]
                assert f"Status: {table.cursor_record['status_text']}" in rows, rows
    finally:
        configure("en_US", "Europe/Berlin", "EUR")


def test_a_bank_mapping_saved_in_backdesk_reads_the_next_csv(site, books, tmp_path):
    from plugins.accounting import bank_mappings

    bd, ctx = books
    vendors, bills, run = month(ctx)
    sepa.cancel_run(ctx, 1)
    path, mapping = tmp_path / "umsaetze.csv", tmp_path / "sparkasse.yaml"
    path.write_bytes(BANK_CSV.encode("cp1252"))
    mapping.write_text(MAPPING + "encoding: cp1252\n")
    # the first import keeps the mapping under the bank's name
    r = site.cli("accounting", "import", str(path), "--bank", "--mapping", str(mapping), "--save-mapping", "Sparkasse")
    assert r.returncode == 0 and r.stdout.splitlines() == [
        "imported 3 transaction(s)", "saved the mapping as 'Sparkasse': next time --mapping 'Sparkasse'"], r.stderr
    (saved,) = bank_mappings.mappings(ctx)
    assert saved["mapping"] == {"date": "Buchungstag", "description": "Verwendungszweck", "amount": "Betrag",
                                "date_format": "%d.%m.%Y", "decimal": ",", "delimiter": ";", "encoding": "cp1252",
                                "rules": {"miete": "expenses:rent"}}
    mapping.unlink()  # no YAML file any more: March's CSV is read by the saved name (in any case)
    march = tmp_path / "maerz.csv"
    march.write_bytes(BANK_CSV.replace("01.2026", "03.2026").replace("Januar", "März").encode("cp1252"))
    r = site.cli("accounting", "import", str(march), "--bank", "--mapping", "sparkasse")
    assert (r.returncode, r.stdout.strip()) == (0, "imported 3 transaction(s)"), r.stderr
    tb = {a: v for a, _c, v in reports.report(ctx, "trial-balance").sections[0][1]}
    assert tb["expenses:rent"] == Decimal("2380.00")  # both months' rent by the saved mapping's rule
    r = site.cli("accounting", "bank", "mappings")
    assert r.returncode == 0 and r.stdout.split()[0] == "Sparkasse" and "';'" in r.stdout and "cp1252" in r.stdout
    # refused in one line, nothing saved: each bad value named by its key; an unknown name lists the saved ones
    bad = tmp_path / "bad.yaml"
    for text, why in ((MAPPING.replace("decimal: ','", "decimal: 'x'"), "decimal: the decimal mark is . or ,"),
                      (MAPPING + "encoding: klingon\n", "encoding: unknown encoding 'klingon'"),
                      (MAPPING + "colour: red\n", "mapping: unknown key 'colour'"),
                      (MAPPING.replace("%d.%m.%Y", "%Q"), "date_format: '%Q' is not a date format")):
        bad.write_text(text)
        r = site.cli("accounting", "bank", "mappings", "save", "Volksbank", str(bad))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and why in r.stderr, r.stderr
    entries = ctx.table("entries").count()
    r = site.cli("accounting", "import", str(march), "--bank", "--mapping", "Volksbank")
    assert r.returncode == 2 and "no saved bank mapping 'Volksbank' (saved: Sparkasse)" in r.stderr, r.stderr
    assert ctx.table("entries").count() == entries
    assert [x["name"] for x in bank_mappings.mappings(ctx)] == ["Sparkasse"]
    # saving under the same name (any case) replaces it; a clerk without accounting.ledger.post may not save
    bank_mappings.save_mapping(ctx, "SPARKASSE", {**saved["mapping"], "delimiter": ","})
    assert [(x["name"], x["mapping"]["delimiter"]) for x in bank_mappings.mappings(ctx)] == [("SPARKASSE", ",")]
    with pytest.raises(PermissionDenied):
        bank_mappings.save_mapping(site.open("clara").context("accounting"), "Volksbank", {})
    r = site.cli("accounting", "bank", "mappings", "delete", "sparkasse")
    assert r.returncode == 0 and bank_mappings.mappings(ctx) == []


async def test_the_reconciliation_screen_reads_a_bank_csv_by_its_saved_mapping(books, tmp_path):
    import yaml

    from core.shell.app import make_app
    from core.cli.testing import wait_for
    from core.shell.widgets import FormScreen, RecordTable
    from plugins.accounting import bank_mappings
    from test_accounting_operator import open_by_palette, type_text

    bd, ctx = books
    bank_mappings.save_mapping(ctx, "Sparkasse", yaml.safe_load(MAPPING))
    path = tmp_path / "umsaetze.csv"
    path.write_bytes(BANK_CSV.encode("cp1252"))
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_by_palette(pilot, "Reconciliation", "ReconciliationScreen")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await type_text(pilot, str(path))
        await pilot.press("tab")
        assert app.focused is app.screen.form.control("mapping")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("down", "enter")  # none -> Sparkasse
        await pilot.pause()
        assert app.screen.form.control("mapping").value == "Sparkasse"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        await wait_for(pilot, lambda: any(n.message == "3 new bank CSV rows" for n in app._notifications))
        await pilot.press("o")
        table = app.screen.query_one("#acc-bank", RecordTable)
        await wait_for(pilot, lambda: table.row_count == 3)
    assert len(bank.lines(ctx)) == 3
