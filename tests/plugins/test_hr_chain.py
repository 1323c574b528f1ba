"""The whole chain across the real plugins, in one test:

hire → onboarding (IT ticket, payroll record, extension; HR's checklist ticked
by their events) → warnings → dismissal → offboarding (the leaver's assets
listed, final pay flagged, extension released; HR's checklist ticked).

Nothing is mocked: telephony, IT, accounting and HR are loaded from
plugins/ and meet only through core's events and services.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.services.access import current_account
from tests.conftest import require_peer, storage_yaml

ROOT = Path(__file__).resolve().parents[2]
PEERS = ("telephony", "it", "accounting")

CONFIG = """\
site: {{name: Chain GmbH, locale: en_US, timezone: Europe/Berlin, currency: EUR}}
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
  hr: {{title: HR, permissions: ["hr.*", "core.directory.*"]}}
operators:
  eva: {{name: Eva Engel, roles: [hr]}}
  alice: {{name: Alice Admin, roles: [admin]}}
{console}"""


@pytest.fixture
def chain(tmp_path):
    for name in PEERS:
        require_peer(f"plugin {name}", (ROOT / "plugins" / name / "__init__.py").exists(),
                     "the HR chain test drives the real plugins")
    import yaml

    from core.plugins.runtime import open_backdesk

    config = tmp_path / "config"
    config.mkdir()
    me = current_account()
    console = "" if me in ("eva", "alice") else f"  {me}: {{name: Tester, roles: [admin]}}\n"
    (config / "backdesk.yaml").write_text(CONFIG.format(console=console) + storage_yaml(config))
    (config / "plugins.yaml").write_text(yaml.safe_dump(
        {"plugins": [{"name": n} for n in ("telephony", "it", "accounting", "hr")]}))
    opened = []

    def open_as(account):
        bd = open_backdesk(config, tmp_path / "data", account=account)
        opened.append(bd)
        return bd

    yield open_as
    for bd in opened:
        bd.close()


def _items(bd, checklist_id):
    return {i["title"]: i for i in bd.table("hr.checklists")[checklist_id]["items"]}


def test_hire_to_offboarding_across_plugins(chain):
    from plugins.hr import discipline, hiring

    admin = chain("alice")
    assert sorted(r.name for r in admin.host.active) == ["accounting", "hr", "it", "telephony"]
    people = admin.services.people
    dept = people.add_department("Sales")
    people.add_person(name="Anna Arndt", department_id=dept, extension="201")
    # IT will hand the new employee a laptop: an asset in stock
    from plugins.it import service as it_svc

    it_ctx = admin.context("it")
    it_svc.add_asset(it_ctx, {"tag": "PC-42", "type": "computer", "model": "T14"})

    bd = chain("eva")  # HR does the HR part
    hr = bd.context("hr")
    opening = hiring.add_opening(hr, "Sales assistant", department="Sales")
    cand = hiring.add_candidate(hr, "Nils Nagel", opening=opening["id"], email="nils@chain.example")
    hiring.schedule_interview(hr, cand["id"], "2026-02-10 10:00")

    # ---- hire → onboarding
    out = hiring.hire(hr, cand["id"], start="2026-03-01", pay_amount="3200", pay_period="month")
    pid = out["person_id"]
    deliveries = bd.table("core.event_deliveries").all()
    assert deliveries and all(d["status"] == "ok" for d in deliveries), [d for d in deliveries if d["status"] != "ok"]
    # IT opened an onboarding ticket
    (ticket,) = bd.table("it.tickets").find({"source": "onboarding"})
    assert ticket["requester_id"] == pid
    # accounting made a payroll record awaiting a rate
    (rate,) = bd.table("accounting.rates").find({"person_id": pid})
    assert rate["status"] == "awaiting_rate"
    # telephony assigned an extension in the directory
    ext = people.get(pid)["extension"]
    assert ext and ext != "201"
    # and HR's onboarding checklist shows all three
    items = _items(bd, out["checklist_id"])
    assert items["IT account and equipment"]["done"] and items["IT account and equipment"]["ref"]["ticket_id"] == ticket["id"]
    assert items["Payroll record"]["done"] and items["Payroll record"]["done_by"] == "accounting"
    assert items["Phone extension"]["done"] and items["Phone extension"]["ref"] == {"extension": ext}
    assert not items["Contract signed and filed"]["done"]

    # IT hands out the laptop
    it_svc.check_out(it_ctx, "PC-42", person=pid)

    # ---- warnings → dismissal
    discipline.issue_warning(hr, pid, level="written", reason="late five times", date="2026-04-01")
    with pytest.raises(Exception, match="needs an active final warning"):
        discipline.dismiss(hr, pid, date="2026-05-31", reason="lateness")
    discipline.issue_warning(hr, pid, level="final", reason="late again", date="2026-05-04")
    d = discipline.dismiss(hr, pid, date="2026-05-31", reason="lateness after a final warning")
    assert people.get(pid)["status"] == "left" and people.get(pid)["end_date"] == "2026-05-31"

    # ---- offboarding
    deliveries = bd.table("core.event_deliveries").all()
    assert all(dl["status"] == "ok" for dl in deliveries), [dl for dl in deliveries if dl["status"] != "ok"]
    (off_ticket,) = bd.table("it.tickets").find({"source": "offboarding"})
    assert "PC-42" in off_ticket["description"]
    (opened,) = bd.table("core.events").find({"name": "it.offboarding_ticket_opened"})
    assert opened["data"]["assets"] == ["PC-42"]
    (rate,) = bd.table("accounting.rates").find({"person_id": pid})
    assert rate["final_pay"]["date"] == "2026-05-31"
    released = bd.table("core.events").find({"name": "telephony.extension_released"})
    assert [e["data"] for e in released] == [{"person_id": pid, "extension": ext}]
    items = _items(bd, d["checklist_id"])
    assert items["Assets returned, access revoked"]["done"]
    assert items["Assets returned, access revoked"]["ref"]["assets"] == ["PC-42"]
    assert items["Final pay"]["done"] and items["Extension released"]["done"]
    assert not items["Exit interview"]["done"]
    # the onboarding checklist of someone who left is closed, not left hanging
    assert bd.table("hr.checklists")[out["checklist_id"]]["status"] == "cancelled"
