"""Assets: check-out history, licences and stock, CSV and FusionInventory imports."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest

from core.errors import UnknownRecord, ValidationError
from plugins.it import service as svc
from tests.conftest import require_peer


def test_check_out_and_in_history_and_tickets(office):
    bd, ctx, ids = office
    svc.add_asset(ctx, {"tag": "PC-1", "type": "computer", "model": "T14", "serial": "S1"})
    svc.check_out(ctx, "PC-1", person=ids["anna"])
    with pytest.raises(ValidationError, match="checked out to Anna Arndt"):
        svc.check_out(ctx, "PC-1", person=ids["ben"])
    svc.check_in(ctx, "PC-1")
    svc.check_out(ctx, "PC-1", person="Ben Brandt")
    doc = svc.find_asset(ctx, "PC-1")
    assert doc["person_id"] == ids["ben"] and doc["status"] == "in_use"
    actions = [(h["action"], h.get("person_id")) for h in svc.asset_history(ctx, doc["id"])]
    assert actions == [("added", None), ("check_out", ids["anna"]), ("check_in", ids["anna"]),
                       ("check_out", ids["ben"])]
    t = svc.open_ticket(ctx, requester=ids["ben"], title="Fan loud", assets=["PC-1"])
    assert [x["id"] for x in svc.tickets_of_asset(ctx, doc["id"])] == [t["id"]]


def test_licence_seats_and_low_stock(office):
    bd, ctx, ids = office
    svc.add_asset(ctx, {"tag": "LIC-1", "type": "licence", "model": "Office", "seats": 2})
    svc.check_out(ctx, "LIC-1", person=ids["anna"])
    svc.check_out(ctx, "LIC-1", person=ids["ben"])
    with pytest.raises(ValidationError, match="all 2 seats of LIC-1 are taken"):
        svc.check_out(ctx, "LIC-1", person=ids["clara"])
    svc.check_in(ctx, "LIC-1", person=ids["anna"])
    assert svc.find_asset(ctx, "LIC-1")["assignees"] == [ids["ben"]]
    svc.add_asset(ctx, {"tag": "TONER", "type": "consumable", "quantity": "4", "min_quantity": "3"})
    svc.check_out(ctx, "TONER", location="Reception", quantity=2)
    assert [d["tag"] for d in svc.low_stock(ctx)] == ["TONER"]
    with pytest.raises(ValidationError, match="only 2 of TONER in stock"):
        svc.check_out(ctx, "TONER", location="Reception", quantity=5)
    svc.check_in(ctx, "TONER", quantity=5)
    assert svc.low_stock(ctx) == []


def test_warranty_expiring_list(office):
    bd, ctx, ids = office
    import datetime as dt

    today = svc.today()
    svc.add_asset(ctx, {"tag": "A", "type": "printer", "warranty_end": (today + dt.timedelta(days=10)).isoformat()})
    svc.add_asset(ctx, {"tag": "B", "type": "printer", "warranty_end": (today + dt.timedelta(days=400)).isoformat()})
    svc.add_asset(ctx, {"tag": "C", "type": "printer", "warranty_end": (today - dt.timedelta(days=1)).isoformat()})
    assert [d["tag"] for d in svc.warranty_expiring(ctx)] == ["A"]


def test_duplicate_tag_and_bad_fields(office):
    bd, ctx, ids = office
    svc.add_asset(ctx, {"tag": "PC-1", "type": "computer"})
    with pytest.raises(ValidationError, match="already in use"):
        svc.add_asset(ctx, {"tag": "PC-1", "type": "printer"})
    with pytest.raises(ValidationError, match="type: 'toaster' is not one of"):
        svc.add_asset(ctx, {"tag": "PC-2", "type": "toaster"})
    with pytest.raises(ValidationError, match="warranty_end: ends before the purchase date"):
        svc.add_asset(ctx, {"tag": "PC-2", "type": "computer", "purchase_date": "2025-01-01",
                            "warranty_end": "2024-01-01"})
    with pytest.raises(UnknownRecord):
        svc.add_asset(ctx, {"tag": "PC-3", "type": "computer", "person": "Nobody"})
    assert [d["tag"] for d in ctx.table("assets").all()] == ["PC-1"]


CSV_GOOD = """tag,type,model,serial,person,warranty_end,seats
PC-10,computer,ThinkPad T14,SN10,Anna Arndt,2027-05-01,
PC-11,computer,OptiPlex,SN11,,2027-06-01,
LIC-9,licence,Office 365,,,,10
"""


def test_csv_import_is_all_or_nothing_with_line_numbers(office):
    bd, ctx, ids = office
    bad = CSV_GOOD + "PC-10,computer,dup,,,,\nPC-12,printer,,,,31.12.2027,\nPC-13,toaster,,,,,\nPC-14,phone,,,Nobody Known,,\n"
    with pytest.raises(ValidationError) as err:
        svc.import_csv(ctx, io.StringIO(bad))
    msg = str(err.value)
    assert "nothing imported" in msg and "line 5: tag: the tag 'PC-10' is also on line 2" in msg
    assert "line 6: warranty_end" in msg and "(and 1 more)" in msg
    assert ctx.table("assets").count() == 0 and ctx.table("asset_history").count() == 0
    result = svc.import_csv(ctx, io.StringIO(CSV_GOOD))
    assert result == {"created": ["PC-10", "PC-11", "LIC-9"], "updated": []}
    assert svc.find_asset(ctx, "PC-10")["person_id"] == ids["anna"]
    # again, with a changed model: keyed on the tag, updated in place
    result = svc.import_csv(ctx, io.StringIO("tag,model\nPC-11,OptiPlex 7010\n"))
    assert result == {"created": [], "updated": ["PC-11"]}
    assert svc.find_asset(ctx, "PC-11")["model"] == "OptiPlex 7010"
    with pytest.raises(ValidationError, match="header needs a 'tag' column"):
        svc.import_csv(ctx, io.StringIO("name,model\nx,y\n"))
    with pytest.raises(ValidationError, match="unknown column"):
        svc.import_csv(ctx, io.StringIO("tag,colour\nx,y\n"))


def test_fusioninventory_import_of_a_real_inventory(office, tmp_path):
    found = shutil.which("fusioninventory-inventory") is not None
    require_peer("fusioninventory-agent", found, "apt-get install fusioninventory-agent")
    bd, ctx, ids = office
    out = subprocess.run(["fusioninventory-inventory", "--tag", "PC-FI-1",
                          "--no-category=software,process,environment,printer,usb,user,local_user,local_group"],
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()[-500:]
    xml = out.stdout
    inv = svc.parse_fusion_xml(xml)
    what, doc = svc.import_fusion(ctx, xml)
    assert what == "created" and doc["tag"] == "PC-FI-1" and doc["type"] == "computer"
    assert doc["name"] == inv["name"] and doc["name"]
    assert doc["os"] and doc["cpu"] and doc["memory_mb"] > 0
    import platform

    assert doc["name"].split(".")[0] == platform.node().split(".")[0]
    what, again = svc.import_fusion(ctx, xml)
    assert what == "updated" and again["id"] == doc["id"]
    assert ctx.table("assets").count() == 1
    assert [h["action"] for h in svc.asset_history(ctx, doc["id"])] == ["added", "inventory", "inventory"]


def test_hostile_or_wrong_xml_is_refused(office):
    bd, ctx, ids = office
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><REQUEST>&a;</REQUEST>'
    with pytest.raises(ValidationError, match="DOCTYPE"):
        svc.import_fusion(ctx, bomb)
    with pytest.raises(ValidationError, match="not an XML inventory"):
        svc.import_fusion(ctx, b"<REQUEST><CONTENT>")
    with pytest.raises(ValidationError, match="not a FusionInventory inventory"):
        svc.import_fusion(ctx, b"<html></html>")
    assert ctx.table("assets").count() == 0
