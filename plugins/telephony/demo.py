"""A realistic, repeatable demo day at the switchboard of Muster & Partner."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone

from core.i18n import get_timezone, today
from plugins.telephony.models import seconds_between

CONTACTS = (
    ("Klaus Brandt", "Brandt Bürotechnik", "+49 30 4471230"),
    ("Sandra Lehmann", "Stadtwerke Musterstadt", "+49 341 998120"),
    ("Peter Wagner", "Wagner & Söhne Logistik", "+49 40 3322110"),
    ("Emma Thompson", "Northwind Traders Ltd", "+44 20 7946 0018"),
    ("Dr. Ingrid Roth", "Kanzlei Roth", "+49 89 2123400"),
    ("Mehmet Demir", "Demir Facility Service", "+49 221 556677"),
)
TEXTS = (
    "Asks about the invoice from last month.", "Wants to move Thursday's meeting.",
    "Delivery is late, please call back today.", "Question about the contract renewal.",
    "Needs the signed offer back.", "Returning your call.",
)


def create_demo(ctx, seed: int) -> None:
    """Contacts, today's calls (connected, transferred, missed, messages) and
    a few presence states; times are spread over today's office hours."""
    rng = random.Random(seed)
    people = [p for p in ctx.services.people.find("", status=("active",)) if p.get("extension")]
    if not people:
        return
    contacts = ctx.table("contacts")
    calls = ctx.table("calls")
    messages = ctx.table("messages")
    presence = ctx.table("presence")
    contact_ids = [contacts.insert({"name": n, "company": c, "number": num.replace(" ", ""),
                                    "last_call_at": None}) for n, c, num in CONTACTS]
    tz = get_timezone()
    day = today()
    now = datetime.now(tz)
    # today's office day so far; early in the morning, the hours just gone
    start = max(datetime.combine(day, time(0, 5), tzinfo=tz),
                min(datetime.combine(day, time(8, 0), tzinfo=tz), now - timedelta(hours=4)))
    operator = "bob"
    # Shortly after midnight the day has no room for calls: squeeze them into
    # what there is (36 gaps of at most 22 minutes fit in 13.2 hours), or, in
    # the first minutes of the day, start just before them.
    room = now - timedelta(minutes=5) - start
    if room < timedelta(minutes=1):
        start, room = now - timedelta(minutes=6), timedelta(minutes=1)
    squeeze = 1.0 if room >= timedelta(hours=3) else room / timedelta(hours=13.2)
    moment = start
    for i in range(36):
        moment += timedelta(minutes=rng.randint(4, 22) * squeeze)
        if moment > now - timedelta(minutes=5):
            break
        answered = moment + timedelta(seconds=rng.randint(3, 20))
        ended = answered + timedelta(seconds=rng.randint(20, 240))
        iso = lambda m: m.astimezone(timezone.utc).isoformat(timespec="seconds")  # noqa: E731
        internal = rng.random() < 0.55
        target = rng.choice(people)
        doc = {"caller_number": None, "caller_person_id": None, "contact_id": None, "caller_name": None,
               "wanted_person_id": target["id"], "to_person_id": None, "consult_person_id": None,
               "operator": operator, "status": "ended", "outcome": "connected",
               "started_at": iso(moment), "answered_at": iso(answered), "ended_at": iso(ended),
               "duration": seconds_between(iso(answered), iso(ended)), "chain": [], "transfers": [],
               "park_slot": None, "note": "", "message_id": None, "night": False, "pbx": {}}
        if internal:
            caller = rng.choice([p for p in people if p["id"] != target["id"]])
            doc.update(caller_number=caller["extension"], caller_person_id=caller["id"])
            link = {"kind": "caller", "number": caller["extension"], "person_id": caller["id"]}
        else:
            cid = rng.choice(contact_ids)
            doc.update(caller_number=contacts.get(cid)["number"], contact_id=cid)
            link = {"kind": "caller", "number": doc["caller_number"], "contact_id": cid}
        doc["chain"] = [link, {"kind": "operator", "account": operator}]
        roll = rng.random()
        if roll < 0.12:
            doc.update(outcome="missed", answered_at=None, duration=0, chain=[link])
        elif roll < 0.25:
            doc["outcome"] = "message"
            calls_id = calls.insert(doc)
            mid = messages.insert({
                "for_person_id": target["id"], "call_id": calls_id, "caller_person_id": doc["caller_person_id"],
                "contact_id": doc["contact_id"], "caller_name": None, "caller_number": doc["caller_number"],
                "company": None, "urgency": "urgent" if rng.random() < 0.3 else "normal",
                "text": rng.choice(TEXTS), "callback": True,
                "status": "open" if rng.random() < 0.6 else "done", "taken_by": operator,
                "taken_at": iso(ended), "done_at": None, "done_by": None})
            calls.update(calls_id, {"message_id": mid,
                                    "chain": doc["chain"] + [{"kind": "message", "person_id": target["id"]}]})
            continue
        else:
            mode = "attended" if rng.random() < 0.3 else "blind"
            doc["to_person_id"] = target["id"]
            doc["transfers"] = [{"from_person_id": None, "to_person_id": target["id"], "mode": mode,
                                 "note": "", "at": iso(answered), "by": operator, "state": "completed"}]
            doc["chain"] = doc["chain"] + [{"kind": "person", "person_id": target["id"], "mode": mode}]
        calls.insert(doc)
    for person, state in zip(rng.sample(people, min(4, len(people))), ("in_use", "away", "dnd", "busy")):
        presence.insert({"person_id": person["id"], "set_state": state if state in ("away", "dnd") else None,
                         "pbx_state": state if state not in ("away", "dnd") else None, "note": "",
                         "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
