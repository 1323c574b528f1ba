"""Domain rules of the switchboard: calls, transfers, messages, extensions, phone list."""

from __future__ import annotations

import io

import pytest

from core.errors import BackdeskError, PermissionDenied, UnknownRecord, ValidationError
from plugins.telephony.service import TargetUnreachable, service_for


def person(bd, ext):
    return bd.services.people.by_extension(ext)


def test_log_call_resolves_caller_and_remembers_external_callers(tel, bob):
    internal = tel.get_call(tel.log_call("131"))
    assert internal["caller_person_id"] == person(bob, "131")["id"]
    first = tel.get_call(tel.log_call("+49 (30) 44-71230", name="Klaus Brandt", company="Brandt GmbH"))
    assert first["caller_number"] == "+49304471230" and first["contact_id"]
    again = tel.get_call(tel.log_call("0049 30 4471230"))  # 00 → +
    assert again["contact_id"] == first["contact_id"]
    assert tel.caller_text(again) == "Klaus Brandt (Brandt GmbH)"
    by_name = tel.get_call(tel.log_call("Brandt"))
    assert by_name["contact_id"] == first["contact_id"]


@pytest.mark.parametrize("bad, message", [
    ("", "who is calling"), ("   ", "who is calling"), ("998", "unknown extension 998"),
    ("12ab34!", "neither a known caller nor a phone number"), ("+49 30 12x", "neither"),
    ("1" * 25, "2 to 20 digits"), ("x" * 500, "at most"), ("Zzyzx Nobody", "neither a known caller"),
])
def test_malformed_callers_are_refused_and_nothing_is_stored(tel, bad, message):
    with pytest.raises(ValidationError, match=message):
        tel.log_call(bad)
    assert tel.calls.count() == 0 and tel.contacts.count() == 0


def test_transfer_rules_and_chain(tel, bob):
    call_id = tel.log_call("+49301234567", to="131")
    with pytest.raises(UnknownRecord):
        tel.transfer(9999, "131")
    with pytest.raises(ValidationError, match="unknown extension 555"):
        tel.transfer(call_id, "555")
    with pytest.raises(ValidationError, match="yourself"):
        tel.transfer(call_id, "100")  # Bob Berger is the operator
    with pytest.raises(ValidationError, match="unknown transfer mode"):
        tel.transfer(call_id, "131", mode="sideways")
    with pytest.raises(ValidationError, match="at most 500"):
        tel.transfer(call_id, "131", note="n" * 501)
    assert tel.get_call(call_id)["transfers"] == []
    done = tel.transfer(call_id, "131", note="about invoice 4711")
    assert done["status"] == "ended" and done["outcome"] == "connected"
    with pytest.raises(ValidationError, match="has this call already"):
        tel.transfer(call_id, "131")
    onward = tel.transfer(call_id, "150", note="sales question")  # B → C
    chain = [link.get("person_id") or link.get("account") for link in onward["chain"]]
    assert chain[1:] == ["bob", person(bob, "131")["id"], person(bob, "150")["id"]]
    events = [e for e in bob.table("core.events").find({"name": "telephony.call_transferred"})]
    assert len(events) == 2
    assert events[0]["data"]["note"] in ("about invoice 4711", "sales question")
    # the note travels to the target, who is an operator (anna)
    inbox = bob.services.notifications.table.find({"account": "anna"})
    assert any("about invoice 4711" in n["text"] for n in inbox)


def test_transfer_to_someone_who_left_or_is_away_offers_a_message(tel, bob):
    call_id = tel.log_call("121")
    with pytest.raises(TargetUnreachable, match="has left the company; take a message") as left:
        tel.transfer(call_id, "Tobias Krause")
    assert left.value.message_for is not None  # the manager
    with pytest.raises(ValidationError, match="the caller"):
        tel.transfer(call_id, "121")
    tel.set_presence("131", "away")
    with pytest.raises(TargetUnreachable, match="Anna Becker is away") as away:
        tel.transfer(call_id, "131")
    assert away.value.message_for == person(bob, "131")["id"]
    vm = tel.transfer(call_id, "131", mode="voicemail")
    assert vm["outcome"] == "voicemail"


def test_attended_transfer_complete_and_cancel(tel, bob):
    call_id = tel.log_call("0301234567")
    consulting = tel.transfer(call_id, "150", mode="attended", note="Angebot")
    assert consulting["status"] == "consulting" and consulting["consult_person_id"]
    with pytest.raises(ValidationError, match="attended transfer"):
        tel.transfer(call_id, "131")
    back = tel.cancel_transfer(call_id, reason="busy")
    assert back["status"] == "active" and back["transfers"][-1]["state"] == "cancelled"
    assert tel.presence_of(person(bob, "150")["id"]) == "busy"
    tel.set_presence("150", "idle")
    tel.transfer(call_id, "150", mode="attended")
    done = tel.complete_transfer(call_id)
    assert done["outcome"] == "connected" and done["to_person_id"] == person(bob, "150")["id"]
    with pytest.raises(ValidationError, match="needs a call that is consulting"):
        tel.complete_transfer(call_id)


def test_message_for_a_person_notifies_them_and_ends_the_call(tel, bob):
    call_id = tel.log_call("+49301234567", name="Klaus Brandt")
    tel.transfer(call_id, "131", mode="attended")
    with pytest.raises(ValidationError, match="text: must not be empty"):
        tel.take_message("131", "   ", call_id=call_id)
    with pytest.raises(ValidationError, match="has left"):
        tel.take_message("Tobias Krause", "hello", caller="x")
    with pytest.raises(ValidationError, match="at most 2000"):
        tel.take_message("131", "x" * 2001, call_id=call_id)
    assert tel.messages.count() == 0 and tel.get_call(call_id)["status"] == "consulting"
    message_id = tel.take_message("131", "Please call back about the offer", call_id=call_id, urgency="urgent")
    call = tel.get_call(call_id)
    assert call["outcome"] == "message" and call["message_id"] == message_id
    assert call["transfers"][-1]["state"] == "cancelled"
    note = bob.services.notifications.table.find({"account": "anna"})[-1]
    assert note["text"].startswith("URGENT: While you were out: Klaus Brandt called (+49301234567)")
    assert [e["data"] for e in bob.table("core.events").find({"name": "telephony.message_taken"})] == [
        {"message_id": message_id, "for_person_id": person(bob, "131")["id"], "callback": True}]
    assert [m["id"] for m in tel.list_messages(open_only=True)] == [message_id]
    tel.complete_callback(message_id)
    assert tel.list_messages(open_only=True) == []
    with pytest.raises(ValidationError, match="no open callback"):
        tel.complete_callback(message_id)


def test_the_person_may_close_their_own_callback_but_not_others(site, tel):
    mine = tel.take_message("131", "for anna", caller="Brandt", number="030 1234")
    other = tel.take_message("150", "for thomas", caller="Brandt")
    anna_bd = site.open("anna")
    try:
        anna = service_for(anna_bd.context("telephony"))
        assert [m["id"] for m in anna.list_messages()] == [mine]
        with pytest.raises(PermissionDenied):
            anna.complete_callback(other)
        assert anna.complete_callback(mine)["status"] == "done"
        tel.complete_callback(other)
        with pytest.raises(PermissionDenied):  # the undo is hers only for her own
            anna.reopen_callback(other)
        assert anna.reopen_callback(mine)["status"] == "open"
        with pytest.raises(ValidationError, match="no callback marked done"):
            anna.reopen_callback(mine)
        with pytest.raises(PermissionDenied):
            anna.log_call("131")
    finally:
        anna_bd.close()


def test_park_retrieve_pickup_and_figures(tel, bob):
    a = tel.log_call("121")
    b = tel.log_call("122")
    assert tel.park(a) == "70" and tel.park(b) == "71"
    assert tel.retrieve("P71")["id"] == b
    assert tel.park(b) == "71"
    assert tel.retrieve()["id"] == a
    with pytest.raises(ValidationError, match="nothing is parked in slot 79"):
        tel.retrieve("P79")
    picked = tel.get_call(tel.pickup("131"))
    assert picked["status"] == "active" and picked["wanted_person_id"] == person(bob, "131")["id"]
    tel.end_call(a, outcome="missed")
    tel.transfer(picked["id"], "150")
    f = tel.figures()
    assert f["calls"] == 3 and f["missed"] == 1 and f["transfers"] == 1
    assert round(f["missed_rate"], 2) == 0.33 and sum(f["per_hour"]) == 3
    assert [c["id"] for c in tel.list_calls(today=True, unanswered=True)] == [a]
    assert [c["id"] for c in tel.list_calls(transferred=True)] == [picked["id"]]
    assert {c["id"] for c in tel.list_calls(person_id=person(bob, "150")["id"])} == {picked["id"]}


def test_night_service_routes_calls_to_the_message_queue(tel, bob):
    tel.set_hours_mode("night")
    call = tel.get_call(tel.log_call("0301234567", to="131"))
    assert call["status"] == "ended" and call["outcome"] == "message" and call["night"]
    message = tel.messages.get(call["message_id"])
    assert message["for_person_id"] == person(bob, "131")["id"] and message["status"] == "open"
    tel.set_hours_mode("day")
    assert tel.get_call(tel.log_call("0301234567"))["status"] == "active"
    with pytest.raises(ValidationError, match="unknown mode"):
        tel.set_hours_mode("evening")


def test_hire_assigns_a_free_extension_and_dismissal_releases_it(site):
    eva = site.open("eva")
    try:
        people = eva.services.people
        dept = people.department_by_name("IT")["id"]
        new_id = people.add_person(name="Nora Neu", department_id=dept)
        # what HR publishes when a candidate is hired (the HR plugin is not loaded here)
        with eva.store.transaction():
            eva.services.events.publish("hr.employee_hired", {"person_id": new_id, "start_date": "2026-01-01",
                                                              "job_title": "Admin", "department_id": dept,
                                                              "candidate_id": 1})
        ext = people.get(new_id)["extension"]
        taken = {p["extension"] for p in people.find("", status=("active", "on_leave")) if p["id"] != new_id}
        assert ext and 100 <= int(ext) <= 199 and ext not in taken
        assert ext == "103"  # the first free one: 103's holder has left
        assigned = eva.table("core.events").find({"name": "telephony.extension_assigned"})
        assert [e["data"] for e in assigned] == [{"person_id": new_id, "extension": "103"}]
        # a second delivery (a retry) changes nothing
        service_for(eva.context("telephony")).assign_extension(new_id)
        assert len(eva.table("core.events").find({"name": "telephony.extension_assigned"})) == 1
        with eva.store.transaction():
            eva.services.events.publish("hr.employee_dismissed", {"person_id": new_id, "date": "2026-02-01",
                                                                  "reason": "", "kind": "resignation"})
        assert people.get(new_id)["extension"] is None
        released = eva.table("core.events").find({"name": "telephony.extension_released"})
        assert [e["data"] for e in released] == [{"person_id": new_id, "extension": "103"}]
        service_for(eva.context("telephony")).release_extension(new_id)
        assert len(eva.table("core.events").find({"name": "telephony.extension_released"})) == 1
    finally:
        eva.close()


@pytest.fixture
def admin(site):
    bd = site.open("alice")
    yield bd
    bd.close()


def test_phone_list_csv_and_vcard_round_trip(admin):
    bob, tel = admin, service_for(admin.context("telephony"))
    tel.log_call("+49301234567", name="Klaus Brandt", company="Brandt, Söhne & Co")
    out = io.StringIO()
    n = tel.export_csv(out)
    assert n == sum(1 for p in bob.services.people.find("", status=("active", "on_leave")) if p["extension"]) + 1
    # the number is text to a spreadsheet: an apostrophe in front (core.csvsafe)
    assert 'Klaus Brandt,,,,"Brandt, Söhne & Co",\'+49301234567' in out.getvalue()
    vcf = io.StringIO()
    tel.export_vcard(vcf)
    assert "ORG:Brandt\\, Söhne & Co" in vcf.getvalue()
    # importing what was exported changes nothing
    assert tel.import_csv(io.StringIO(out.getvalue()))["updated"] == 0
    assert tel.import_vcard(io.StringIO(vcf.getvalue()))["updated"] == 0
    # a new extension for Anna and a new contact, from a vCard
    card = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna Becker\r\nEMAIL:anna.becker@muster-partner.example\r\n"
            "X-BACKDESK-EXTENSION:137\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:Sandra\r\n  Lehmann\r\n"
            "ORG:Stadtwerke\r\nTEL;TYPE=work:+49 341 998120\r\nEND:VCARD\r\n")
    result = tel.import_vcard(io.StringIO(card))
    assert result == {"updated": 1, "created": 1, "unchanged": 0}
    assert bob.services.people.by_extension("137")["name"] == "Anna Becker"
    assert tel.contacts.find({"number": "+49341998120"})[0]["name"] == "Sandra Lehmann"


@pytest.mark.parametrize("text, message", [
    ("name,extension\nAnna Becker,13x\n", r"line 2 \(extension\)"),
    ("name,extension\nAnna Becker,137\nNiemand Hier,138\n", r"line 3 \(name\): nobody named"),
    ("name,number\nX,not-a-number\n", r"line 2 \(number\)"),
    ("vorname,telefon\nA,1\n", "the first line must name the columns"),
])
def test_bad_phone_lists_change_nothing(admin, text, message):
    bob, tel = admin, service_for(admin.context("telephony"))
    before = bob.services.people.by_extension("131")
    with pytest.raises(ValidationError, match=message):
        tel.import_csv(io.StringIO(text))
    assert bob.services.people.by_extension("131") == before
    assert bob.services.people.by_extension("137") is None and tel.contacts.count() == 0


def test_reception_cannot_import_without_directory_edit(tel):
    with pytest.raises(PermissionDenied, match="core.directory.edit"):
        tel.import_csv(io.StringIO("name,extension\nAnna Becker,137\n"))
