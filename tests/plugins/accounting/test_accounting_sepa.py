"""Payment runs as SEPA credit transfers: the pain.001 a run writes is valid
against the official ISO 20022 schemas (001.001.09, and 001.001.03 with the
German banks' schema too), says what the bank must do (batch booking,
execution date, each bill's number as the remittance information, an
end-to-end id per bill), lands in the exports folder, never the working
directory; a vendor's IBAN that is not valid refuses the run in one line."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied, ValidationError
from plugins.accounting import sepa
from plugins.accounting import service as svc
from tests.plugins.accounting.conftest import SETTINGS, iban
from sepa_schemas import check, validate

HAUSBANK = {"name": "Hausbank", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}


def books(ctx):
    """Two vendors with three approved bills due in January, one part-paid."""
    mueller = svc.add_vendor(ctx, {"name": "Bürobedarf Müller & Söhne", "iban": iban("DE", "370400440532013000"),
                                   "bic": "COBADEFFXXX"})
    netcom = svc.add_vendor(ctx, {"name": "NetCom AG", "iban": iban("DE", "500105175407324396")})
    out = []
    for vendor, number, price in ((mueller, "RE-2026-001", "100"), (mueller, "RE-2026-002", "50.50"),
                                  (netcom, "T/778", "200")):
        b = svc.create_bill(ctx, vendor["id"], number, "2026-01-05", "2026-01-20",
                            [{"description": "Goods", "unit_price": price}])
        svc.approve_bill(ctx, b["id"])
        out.append(b)
    svc.pay_bill(ctx, out[2]["id"], "38.00", "2026-01-10")
    return mueller, netcom, out


def test_pain_001_001_09_is_valid_and_says_what_the_bank_must_do(office):
    bd, ctx, ids = office
    mueller, netcom, bills = books(ctx)
    run = sepa.payment_run(ctx, "2026-01-31", "2026-01-29")
    xml = sepa.pain001(ctx, run)
    txs = validate(xml, "pain.001.001.09.xsd")
    assert txs == [
        {"name": "Buerobedarf Mueller + Soehne", "iban": mueller["iban"], "bic": "COBADEFFXXX", "amount": "119.00",
         "remittance": "RE-2026-001", "end_to_end_id": f"BD-R1-B{bills[0]['id']}", "date": "2026-01-29",
         "batch": "true"},
        {"name": "Buerobedarf Mueller + Soehne", "iban": mueller["iban"], "bic": "COBADEFFXXX", "amount": "60.10",
         "remittance": "RE-2026-002", "end_to_end_id": f"BD-R1-B{bills[1]['id']}", "date": "2026-01-29",
         "batch": "true"},
        {"name": "NetCom AG", "iban": netcom["iban"], "bic": None, "amount": "200.00",
         "remittance": "T/778", "end_to_end_id": f"BD-R1-B{bills[2]['id']}", "date": "2026-01-29",
         "batch": "true"}]
    root = check(xml, "pain.001.001.09.xsd")
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
    # the group header: the run's message id (kept on the run: the bank refuses a file sent twice),
    # the number of transactions and their sum; the payer is the office's bank account
    assert root.findtext(".//p:GrpHdr/p:MsgId", namespaces=ns) == run["msg_id"]
    assert run["msg_id"].startswith("BACKDESK-R1-") and len(run["msg_id"]) <= 35
    assert root.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "3"
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "379.10" == run["total"]
    assert root.findtext(".//p:PmtInf/p:DbtrAcct/p:Id/p:IBAN", namespaces=ns) == HAUSBANK["iban"]
    assert root.findtext(".//p:PmtInf/p:Dbtr/p:Nm", namespaces=ns) == "Test GmbH"
    # the same run written again is the same message
    assert validate(sepa.pain001(ctx, run), "pain.001.001.09.xsd") == txs


def test_pain_001_001_03_for_a_bank_that_wants_it_and_no_batch_booking(site):
    site.plugins({**SETTINGS, "bank_accounts": [{**HAUSBANK, "name": "Sparkasse", "pain": "001.001.03",
                                                 "batch_booking": False}]})
    ctx = site.open().context("accounting")
    mueller, netcom, bills = books(ctx)
    run = sepa.payment_run(ctx, "2026-01-31", "2026-01-29")
    assert (run["bank"], run["pain"]) == ("Sparkasse", "001.001.03")
    xml = sepa.pain001(ctx, run)
    txs = validate(xml, "pain.001.001.03.iso.xsd")
    check(xml, "pain.001.001.03.dk.xsd")  # as the German banks' own schema (DK, DFÜ-Abkommen) takes it
    assert [(t["amount"], t["remittance"], t["batch"], t["date"]) for t in txs] == [
        ("119.00", "RE-2026-001", "false", "2026-01-29"), ("60.10", "RE-2026-002", "false", "2026-01-29"),
        ("200.00", "T/778", "false", "2026-01-29")]
    # the other version's schema refuses it: the version really is the one asked for
    with pytest.raises(AssertionError):
        check(xml, "pain.001.001.09.xsd")


def test_a_vendor_iban_that_is_not_valid_refuses_the_run_naming_the_vendor(site, office, tmp_path):
    bd, ctx, ids = office
    mueller, netcom, bills = books(ctx)
    # an IBAN whose check digits hold but that is one digit short for Germany: entering the vendor checks the
    # check digits only (schwifty is not imported on the shell's first start); the run checks it with schwifty
    svc.update_vendor(ctx, netcom["id"], {"iban": iban("DE", "50010517540732439")})
    entries, runs = ctx.table("entries").count(), ctx.table("payment_runs").count()
    with pytest.raises(ValidationError) as error:
        sepa.payment_run(ctx, "2026-01-31", "2026-01-29")
    assert error.value.message == (f"NetCom AG: the IBAN {iban('DE', '50010517540732439')} is not valid "
                                   "(wrong length for its country)")
    # nothing stored: no run, every bill still approved (or part-paid), nothing posted
    assert ctx.table("payment_runs").count() == runs and ctx.table("entries").count() == entries
    assert {b["status"] for b in ctx.table("bills").all()} == {"approved", "partly_paid"}
    # the same from the CLI: one line, exit 2, no file anywhere
    r = site.cli("accounting", "payment-run", "--due-by", "2026-01-31", "--date", "2026-01-29")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.strip() == f"backdesk: iban: {error.value.message}"
    exports = sepa.exports_dir(ctx)
    assert list(exports.iterdir()) == []


def test_cli_writes_the_file_into_the_exports_folder_never_the_working_directory(site, office, tmp_path):
    bd, ctx, ids = office
    books(ctx)
    r = site.cli("accounting", "payment-run", "--due-by", "2026-01-31", "--date", "2026-01-29")
    assert r.returncode == 0, r.stderr
    target = sepa.exports_dir(ctx) / "pain.001.001.09-run-1.xml"
    assert r.stdout.splitlines() == [
        f"payment run 1: 3 transfer(s), €379.10, pain.001.001.09 written to {target}"]
    assert len(validate(target.read_bytes(), "pain.001.001.09.xsd")) == 3
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    # the operator's own exports folder, listed by backdesk files
    assert target.parent.name == ctx.operator.account
    assert "pain.001.001.09-run-1.xml" in site.cli("files").stdout
    # the bills are sent to the bank, not paid
    r = site.cli("accounting", "bills")
    assert r.stdout.count("sent to bank") == 3
    # written again where the operator says; the export is in the audit trail
    again = tmp_path / "again.xml"
    r = site.cli("accounting", "payment-run-file", "1", "-o", str(again))
    assert (r.returncode, r.stdout.strip()) == (0, f"written to {again}")
    assert again.read_bytes() == target.read_bytes()
    reads = [e["what"] for e in ctx.services.audit.entries(plugin="accounting") if e["op"] == "read"]
    assert sorted(reads) == sorted([f"pain.001.001.09 of payment run 1 written to {target}",
                                    f"pain.001.001.09 of payment run 1 written to {again}"])
    # the bank refused it: cancelled, the bills are open for the next run
    r = site.cli("accounting", "payment-run-cancel", "1")
    assert r.stdout.strip() == "payment run 1 cancelled: 3 bill(s) open again"
    r = site.cli("accounting", "payment-run-file", "9")
    assert (r.returncode, r.stderr.strip()) == (2, "backdesk: no payment run 9")


def test_payment_runs_need_their_permission_and_a_bank_account(site, office):
    bd, ctx, ids = office
    books(ctx)
    clerk = site.open("clara").context("accounting")  # records bills; may not send money
    with pytest.raises(PermissionDenied):
        sepa.payment_run(clerk, "2026-01-31")
    with pytest.raises(PermissionDenied):
        sepa.cancel_run(clerk, 1)
    site.plugins({k: v for k, v in SETTINGS.items() if k != "bank_accounts"})
    lone = site.open().context("accounting")
    with pytest.raises(ValidationError, match="no bank account to pay from"):
        sepa.payment_run(lone, "2026-01-31")
    assert lone.table("payment_runs").count() == 0


def test_bank_accounts_setting_is_checked(site):
    bad = {**SETTINGS, "bank_accounts": [{**HAUSBANK, "iban": "DE89370400440532013001"}]}
    site.plugins(bad)
    with pytest.raises(Exception) as error:
        site.open()
    assert "Hausbank: the IBAN DE89370400440532013001 has wrong check digits" in str(error.value)


def test_sepa_text_is_what_every_bank_takes():
    assert sepa.sepa_text("Größe & Co. KG — Zürich", 70) == "Groesse + Co. KG Zuerich"
    assert sepa.sepa_text("Café Noël", 70) == "Cafe Noel"
    assert sepa.sepa_text("x" * 80, 70) == "x" * 70
    assert sepa.sepa_text("", 70) == "-"
