"""``backdesk demo`` for IT: assets handed out to the demo company's people,
tickets in every state, maintenance tasks, a change request and checks.

Deterministic for a given seed; dates are relative to today so the demo
always shows something due, something overdue and a warranty running out.
"""

from __future__ import annotations

import datetime as dt
import random

from plugins.it import service as svc


def create_demo(ctx, seed: int) -> None:
    rnd = random.Random(seed)
    people = ctx.backdesk.table("core.people").find({"status": "active"}, order_by=["id"])
    if not people:
        return
    today = svc.today()

    def day(offset: int) -> str:
        return (today + dt.timedelta(days=offset)).isoformat()

    models = [("Lenovo ThinkPad T14", "computer"), ("Dell OptiPlex 7010", "computer"),
              ("Fujitsu Esprimo D7010", "computer")]
    assets = []
    for i, person in enumerate(people[:18]):
        model, kind = models[i % len(models)]
        bought = today - dt.timedelta(days=rnd.randint(200, 1400))
        warranty = bought + dt.timedelta(days=3 * 365)
        tag = f"PC-{1001 + i}"
        svc.add_asset(ctx, {"tag": tag, "type": kind, "model": model, "serial": f"SN{rnd.randint(10**7, 10**8 - 1)}",
                            "status": "spare", "purchase_date": bought.isoformat(),
                            "warranty_end": warranty.isoformat(), "next_audit": day(rnd.randint(5, 200)),
                            "person": person["id"]}, system=True)
        assets.append(tag)
    for i, person in enumerate(people[:8]):
        svc.add_asset(ctx, {"tag": f"TEL-{201 + i}", "type": "phone", "model": "Yealink T54W",
                            "serial": f"YL{rnd.randint(10**6, 10**7 - 1)}", "purchase_date": day(-500),
                            "warranty_end": day(rnd.choice([20, 45, 230])), "person": person["id"]}, system=True)
    svc.add_asset(ctx, {"tag": "PRN-01", "type": "printer", "model": "Brother MFC-L8900", "serial": "E78123K9",
                        "location": "Empfang / Reception", "purchase_date": day(-900), "warranty_end": day(30)},
                  system=True)
    svc.check_out(ctx, "PRN-01", location="Empfang / Reception", system=True)
    svc.add_asset(ctx, {"tag": "PRN-02", "type": "printer", "model": "HP LaserJet M428", "status": "in_repair",
                        "location": "Buchhaltung / Accounting", "warranty_end": day(-40)}, system=True)
    svc.add_asset(ctx, {"tag": "LIC-M365", "type": "licence", "model": "Microsoft 365 Business", "seats": 25,
                        "warranty_end": day(120)}, system=True)
    for person in people[:12]:
        svc.check_out(ctx, "LIC-M365", person=person["id"], system=True)
    svc.add_asset(ctx, {"tag": "TONER-TN3480", "type": "consumable", "model": "Toner TN-3480", "quantity": 1,
                        "min_quantity": 3}, system=True)
    svc.add_asset(ctx, {"tag": "HEADSET", "type": "accessory", "model": "Jabra Evolve2 40", "quantity": 6,
                        "min_quantity": 2}, system=True)

    team = [a for a, _ in svc.team(ctx)]
    stories = [
        ("Drucker am Empfang zieht kein Papier ein / printer jams", "hardware", "high", ["PRN-01"]),
        ("VPN disconnects every 10 minutes", "network", "normal", []),
        ("Outlook asks for the password again and again", "software", "normal", []),
        ("New phone extension for the meeting room", "phone", "low", []),
        ("Laptop fan is loud and hot", "hardware", "normal", [assets[0]]),
        ("Access to the accounting share", "access", "urgent", []),
        ("Monitor flickers", "hardware", "low", [assets[3]]),
    ]
    for i, (title, cat, prio, tags) in enumerate(stories):
        requester = people[(i * 3) % len(people)]["id"]
        doc = svc.open_ticket(ctx, requester=requester, title=title, category=cat, priority=prio, assets=tags,
                              kind="request" if cat in ("access", "phone") else "incident", system=True)
        if team and i % 3 != 2:
            svc.assign(ctx, doc["id"], team[i % len(team)], system=True)
        if i == 1:
            svc.add_comment(ctx, doc["id"], "Which VPN client version do you use?", minutes=5, system=True)
            svc.set_status(ctx, doc["id"], "waiting", system=True)
        if i == 4:
            svc.add_comment(ctx, doc["id"], "Cleaned the fan; runs quiet again.", minutes=30, system=True)
            svc.set_status(ctx, doc["id"], "resolved", system=True)
        if i == 2:
            svc.add_comment(ctx, doc["id"], "Probably the cached credentials", internal=True, system=True)

    for title, every, due in (("Check the nightly backup restore", 7, -2), ("Install OS patches", 30, 5),
                              ("Printer service PRN-01", 180, 40), ("Audit licences", 90, -10)):
        t = ctx.table("tasks").insert({"title": title, "interval_days": every, "next_due": day(due),
                                       "asset_id": None, "last_done": day(due - every)})
        del t
    ctx.table("changes").insert({
        "title": "Move file server to new NAS", "proposal": "Migrate shares over a weekend",
        "reason": "Old server out of warranty", "risk": "medium", "planned_date": day(21), "status": "proposed",
        "proposed_by": team[0] if team else "demo", "proposed_at": svc.stamp(), "decided_by": None,
        "decided_at": None, "decision_note": "", "outcome": ""})
    for name, kind, target, expect in (("Intranet", "http", "http://127.0.0.1:9/", 200),
                                       ("DNS", "dns", "localhost", None),
                                       ("Root disk", "disk", "/", "5%")):
        ctx.table("checks").insert({"name": name, "kind": kind, "target": target, "expect": expect,
                                    "state": "unknown", "since": None, "last_run": None, "message": "",
                                    "ticket_id": None})
