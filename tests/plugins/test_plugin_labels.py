"""Stored codes are shown to people as words in the site's language.

Records, CSV and JSON keep the codes ("paid", "urgent", "medium"); screens,
dashboard cards and the CLI's tables show the plugins' labels (``N_()`` maps
in each plugin's models module), and counts use ngettext. A German site is
run in a fresh process, as ``locale: de_DE`` in backdesk.yaml does it; the
same script on an English site shows what it always showed.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.i18n import configure

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ("accounting", "telephony", "it", "documents", "hr")

SCRIPT = r'''
import asyncio, json, sys
from core.plugins.runtime import open_backdesk
bd = open_backdesk(sys.argv[1], sys.argv[2], account="alice")
from core.shell.app import make_app
from core.cli.testing import text_of, wait_for

out = {}


async def widget(pilot, app, screen, selector):
    """The widget once ``screen`` (a class name) is up and has composed it."""
    await wait_for(pilot, lambda: type(app.screen).__name__ == screen and app.screen.query_one(selector))
    return app.screen.query_one(selector)


async def main():
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            await look(app, pilot)
        except BaseException:  # reported as it is, not as the app's shutdown after it
            import traceback
            out["error"] = traceback.format_exc()
        print("RESULT=" + json.dumps(out), flush=True)


async def look(app, pilot):
    await wait_for(pilot, lambda: app.screen.board.all_rendered)
    out["card"] = text_of(app, "#card-accounting-accounting-due")

    app.open_nav("accounting.bills")
    table = await widget(pilot, app, "BillsScreen", "#acc-bills")
    await pilot.press("o")  # all bills, the paid one too
    await wait_for(pilot, lambda: table.row_count == 3)
    out["bills"] = {table.record_at(i)["number"]: table.record_at(i)["status_text"] for i in range(3)}
    out["bills_code"] = {table.record_at(i)["number"]: table.record_at(i)["status"] for i in range(3)}
    out["bills_shown"] = app.export_screenshot().replace("&#160;", " ")
    table.filter_text = sys.argv[3]  # what the operator sees as the paid bill's status
    await pilot.pause()
    out["bills_filtered"] = [table.record_at(i)["number"] for i in range(table.row_count)]

    app.open_nav("accounting.payments")
    await widget(pilot, app, "PaymentRunScreen", "#acc-run-sum")
    await wait_for(pilot, lambda: text_of(app, "#acc-run-sum"))
    out["run"] = text_of(app, "#acc-run-sum")

    app.open_nav("telephony")
    await widget(pilot, app, "SwitchboardScreen", "#sb-calls")
    await wait_for(pilot, lambda: "Klaus" in text_of(app, "#sb-calls"))
    out["call"] = text_of(app, "#sb-calls")

    app.open_nav("it.maintenance")
    changes = await widget(pilot, app, "MaintenanceScreen", "#it-changes")
    await wait_for(pilot, lambda: changes.row_count == 1)
    out["change"] = [changes.record_at(0)["risk_text"], changes.record_at(0)["status_text"]]

    app.open_nav("documents.outbox")
    outbox = await widget(pilot, app, "OutboxScreen", "#outbox-table")
    await wait_for(pilot, lambda: outbox.row_count == 1)
    out["outbox"] = [str(c.text(outbox.record_at(0))) for c in outbox.columns if c.key in ("kind", "shown_status")]
    out["outbox_code"] = outbox.record_at(0)["status"]


asyncio.run(main())
bd.close()
'''


@pytest.fixture
def office(backdesk_site, tmp_path):
    """An office with every plugin: three bills (paid, approved and a draft due
    this week), a call on the line, an urgent message, a change request of
    medium risk and an email in the outbox. Made on the English site; the
    data are the same codes whatever the language."""
    site = backdesk_site
    site.plugins([
        "accounting",
        {"name": "telephony", "settings": {"business_hours": "00:00-24:00", "business_days": [1, 2, 3, 4, 5, 6, 7]}},
        "it",
        {"name": "documents", "settings": {"worker_interval": 0, "smtp_from": "office@test.example",
                                           "inbox": str(tmp_path / "inbox")}},
        "hr",
    ])
    bd = site.open("alice")
    people = bd.services.people
    with bd.store.transaction():
        dept = people.add_department("Office")
        anna = people.add_person(name="Anna Arndt", department_id=dept, email="anna@test.example", extension="131")

    from plugins.accounting import service as acc

    ctx = bd.context("accounting")
    today = dt.date.today()
    vendor = acc.add_vendor(ctx, {"name": "Schmidt"})
    lines = [{"description": "Paper", "quantity": "1", "unit_price": "100"}]
    paid = acc.create_bill(ctx, vendor["id"], "A-1", today.isoformat(), (today + dt.timedelta(days=3)).isoformat(), lines)
    acc.approve_bill(ctx, paid["id"])
    acc.pay_bill(ctx, paid["id"])
    approved = acc.create_bill(ctx, vendor["id"], "A-2", today.isoformat(),
                               (today + dt.timedelta(days=3)).isoformat(), lines)
    acc.approve_bill(ctx, approved["id"])
    acc.create_bill(ctx, vendor["id"], "A-3", today.isoformat(), (today + dt.timedelta(days=5)).isoformat(), lines)

    from plugins.telephony.service import service_for

    tel = service_for(bd.context("telephony"))
    tel.log_call("+49 30 4471230", name="Klaus Brandt")
    tel.take_message(anna, "Bitte zurückrufen", caller="Klaus Brandt", urgency="urgent")

    from plugins.it import service as it

    it.propose_change(bd.context("it"), title="New NAS", risk="medium")

    from plugins.documents import service as docs

    dctx = bd.context("documents")
    path = tmp_path / "offer.txt"
    path.write_text("Angebot Kopierer")
    doc = docs.add_document(dctx, path, {"title": "Angebot"})
    docs.queue_email(dctx, doc["id"], "ap@vendor.example")
    site.close()
    return site


def _german(site) -> None:
    cfg = site.config_dir / "backdesk.yaml"
    cfg.write_text(cfg.read_text().replace("locale: en_US", "locale: de_DE"))


def _run(site, paid_word: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(site.config_dir), str(site.data_dir), paid_word],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT=")]
    assert lines, proc.stderr
    out = json.loads(lines[0][len("RESULT="):])
    assert "error" not in out, out["error"]
    assert proc.returncode == 0, proc.stderr
    return out


def test_a_german_site_shows_statuses_and_counts_in_german(office):
    _german(office)
    out = _run(office, "Bezahlt")
    # the Bills screen: the words, while the records keep their codes
    assert out["bills"] == {"A-1": "Bezahlt", "A-2": "Freigegeben", "A-3": "Entwurf"}
    assert out["bills_code"] == {"A-1": "paid", "A-2": "approved", "A-3": "draft"}
    assert "Bezahlt" in out["bills_shown"] and "paid" not in out["bills_shown"]
    assert out["bills_filtered"] == ["A-1"]  # a filter finds what the operator sees
    # the card: two open bills due this week (plural) and their statuses
    assert out["card"].startswith("2 Rechnungen, ")
    assert "Entwurf: 1 · Freigegeben: 1" in out["card"]
    # the payment run: one approved bill (singular)
    assert out["run"].startswith("1 Rechnung, gesamt ")
    assert "(en)" not in out["card"] + out["run"]
    # the call on the line, the change request, the outbox
    assert "in der Leitung" in out["call"] and "active" not in out["call"]
    assert out["change"] == ["mittel", "vorgeschlagen"]
    assert out["outbox"] == ["E-Mail", "eingereiht"] and out["outbox_code"] == "queued"


def test_an_english_site_is_unchanged(office):
    out = _run(office, "paid")
    assert out["bills"] == {"A-1": "paid", "A-2": "approved", "A-3": "draft"}
    assert out["bills_filtered"] == ["A-1"]
    assert out["card"].startswith("2 bills, ") and "draft: 1 · approved: 1" in out["card"]
    assert out["run"].startswith("1 bill, total ")
    assert "on the line" in out["call"]
    assert out["change"] == ["medium", "proposed"]
    assert out["outbox"] == ["email", "queued"]


def test_cli_tables_show_words_and_exports_keep_codes(office):
    _german(office)
    r = office.cli("accounting", "bills")
    assert r.code == 0, r.stderr
    assert "Bezahlt" in r.stdout and "Freigegeben" in r.stdout and "paid" not in r.stdout
    r = office.cli("accounting", "bills", "--format", "csv")
    assert ",paid," in r.stdout and "Bezahlt" not in r.stdout
    r = office.cli("phone", "messages")
    assert r.code == 0, r.stderr
    assert "dringend" in r.stdout and "offen" in r.stdout and "urgent" not in r.stdout
    (msg,) = json.loads(office.cli("phone", "messages", "--format", "json").stdout)
    assert (msg["urgency"], msg["status"]) == ("urgent", "open")
    r = office.cli("phone", "calls")
    assert "in der Leitung" in r.stdout
    assert json.loads(office.cli("phone", "calls", "--format", "json").stdout)[0]["status"] == "active"
    r = office.cli("it", "changes")
    assert "mittel" in r.stdout and "vorgeschlagen" in r.stdout and "medium" not in r.stdout
    (change,) = json.loads(office.cli("it", "changes", "--format", "json").stdout)
    assert (change["risk"], change["status"]) == ("medium", "proposed")
    r = office.cli("docs", "outbox")
    assert "eingereiht" in r.stdout and "queued" not in r.stdout


# ----------------------------------------------------------------------------- the maps themselves
def test_every_stored_code_has_a_label():
    from plugins.accounting import ledger as L
    from plugins.accounting import models as acc
    from plugins.documents import models as docs
    from plugins.hr import models as hr
    from plugins.it import models as it
    from plugins.telephony import models as tel

    assert set(it.CHANGE_STATUSES) == set(it.CHANGE_STATUS_TITLES) and set(it.RISKS) == set(it.RISK_TITLES)
    assert set(it.STATUSES) == set(it.STATUS_TITLES) and set(it.PRIORITIES) == set(it.PRIORITY_TITLES)
    assert set(it.ASSET_STATUSES) == set(it.ASSET_STATUS_TITLES) and set(it.CHECK_KINDS) == set(it.CHECK_KIND_TITLES)
    assert set(tel.STATUSES) == set(tel.STATUS_TITLES) and set(tel.OUTCOMES) == set(tel.OUTCOME_TITLES)
    assert set(tel.PRESENCE) == set(tel.PRESENCE_TITLES) and set(tel.URGENCIES) == set(tel.URGENCY_TITLES)
    assert set(tel.TRANSFER_MODES) == set(tel.TRANSFER_MODE_TITLES)
    assert set(docs.DIRECTIONS) == set(docs.DIRECTION_TITLES)
    assert set(docs.OUTBOX_STATUSES) <= set(docs.OUTBOX_STATUS_TITLES)
    assert set(hr.OWNER_ROLES) == set(hr.OWNER_ROLE_TITLES) and set(hr.STAGES) == set(hr.STAGE_TITLES)
    assert set(acc.AGEING_TITLES) <= set(L.AGEING_BUCKETS)
    for report in (L.trial_balance([]), L.profit_loss([]), L.balance_sheet([])):
        assert report.title in acc.REPORT_TITLES
        assert {name for name, _rows in report.sections} <= set(acc.REPORT_SECTION_TITLES)


def test_labels_follow_the_site_language():
    from plugins.accounting import models as acc
    from plugins.documents import models as docs
    from plugins.hr import models as hr
    from plugins.it import models as it
    from plugins.telephony import models as tel

    assert acc.label(acc.BILL_STATUSES, "partly_paid") == "partly paid"
    assert acc.label(acc.BILL_STATUSES, "someday") == "someday" and acc.label(acc.BILL_STATUSES, None) == ""
    configure("de_DE", "Europe/Berlin", "EUR")
    try:
        assert [acc.label(acc.BILL_STATUSES, s) for s in acc.BILL_STATUSES] == [
            "Entwurf", "Freigegeben", "Teilbezahlt", "an die Bank übergeben", "Bezahlt"]
        assert acc.label(acc.REPORT_SECTION_TITLES, "liabilities") == "Verbindlichkeiten"
        assert (tel.urgency_title("urgent"), tel.status_title("parked")) == ("dringend", "geparkt")
        assert tel.transfer_title({"mode": "attended", "state": "cancelled"}) == "Verbinden mit Rückfrage (abgebrochen)"
        assert [it.label(it.RISK_TITLES, r) for r in it.RISKS] == ["niedrig", "mittel", "hoch"]
        assert docs.label(docs.HISTORY_TITLES, "fax_failed") == "Fax fehlgeschlagen"
        assert hr.label(hr.OWNER_ROLE_TITLES, "reception") == "Empfang"
    finally:
        configure("en_US", "Europe/Berlin", "EUR")


@pytest.mark.parametrize("plugin", PLUGINS)
def test_counts_use_plural_forms(plugin):
    """No "bill(s)" in what the plugins translate: ngettext gives each language its forms."""
    from babel.messages.pofile import read_po

    with (ROOT / "plugins" / plugin / "locale" / f"{plugin}.pot").open("rb") as fh:
        template = read_po(fh)
    assert [m.id for m in template if m.id and "(s)" in (m.id if isinstance(m.id, str) else m.id[0])] == []


def test_plural_forms_in_german():
    from plugins.accounting.models import _

    configure("de_DE", "Europe/Berlin", "EUR")
    try:
        assert _.ngettext("{n} bill, {total}", "{n} bills, {total}", 1).format(n=1, total="x") == "1 Rechnung, x"
        assert _.ngettext("{n} bill, {total}", "{n} bills, {total}", 3).format(n=3, total="x") == "3 Rechnungen, x"
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
