"""The Asterisk backend against a local server speaking the AMI wire format."""

from __future__ import annotations

import time

import pytest

from core.errors import BackdeskError
from plugins.telephony.ami import encode, challenge_key
from plugins.telephony.service import service_for

from ami_server import AMIServer
from telephony_helpers import Site


def wait_until(predicate, timeout: float = 5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def ami():
    server = AMIServer(secret="s3cret").start()
    yield server
    server.stop()


def asterisk_site(tmp_path, ami, secret="s3cret"):
    return Site(tmp_path, {"pbx": "asterisk", "ami_port": ami.port, "ami_username": "backdesk",
                           "ami_secret": secret, "ami_backoff_max": 0.3, "ami_timeout": 3.0,
                           "business_hours": "00:00-24:00", "business_days": [1, 2, 3, 4, 5, 6, 7],
                           "night_on_holidays": False})


@pytest.fixture
def live(tmp_path, ami):
    site = asterisk_site(tmp_path, ami)
    bd = site.open("bob")
    svc = service_for(bd.context("telephony"))
    svc.start_backend()
    wait_until(lambda: svc.backend.state()[0] == "connected")
    yield site, bd, svc
    svc.stop_backend()
    bd.close()


def test_wire_format_helpers():
    assert encode({"Action": "Ping", "ActionID": "1"}) == b"Action: Ping\r\nActionID: 1\r\n\r\n"
    with pytest.raises(BackdeskError):
        encode({"Action": "Redirect", "Exten": "100\r\nAction: Hangup"})  # no header injection
    import hashlib

    assert challenge_key("123", "pw") == hashlib.md5(b"123pw").hexdigest()


def test_login_with_md5_challenge_and_calls_from_events(live, ami):
    site, bd, svc = live
    assert ami.logins == 1
    assert "connected" in svc.backend.state()[1]
    ami.push_event({"Event": "Newchannel", "Channel": "PJSIP/trunk-00000001", "CallerIDNum": "+49 30 4471230",
                    "CallerIDName": "Brandt", "Exten": "100", "Uniqueid": "1700000000.1"})
    call = wait_until(lambda: svc.calls.find({"pbx.uniqueid": "1700000000.1"}))[0]
    assert call["status"] == "ringing"
    assert call["caller_number"] == "+49304471230"
    assert call["pbx"]["channel"] == "PJSIP/trunk-00000001"
    ami.push_event({"Event": "DialBegin", "Uniqueid": "1700000000.1", "DestExten": "131"})
    anna = bd.services.people.by_extension("131")
    wait_until(lambda: svc.calls.get(call["id"])["wanted_person_id"] == anna["id"])

    # blind transfer → BlindTransfer on the caller's channel
    svc.transfer(call["id"], "131", mode="blind", note="invoice")
    sent = ami.named("BlindTransfer")[-1]
    assert sent["Channel"] == "PJSIP/trunk-00000001"
    assert sent["Exten"] == "131" and sent["Context"] == "from-internal"
    assert sent["ActionID"]
    assert svc.calls.get(call["id"])["outcome"] == "connected"


def test_presence_from_extension_status_and_device_state(live, ami):
    site, bd, svc = live
    anna = bd.services.people.by_extension("131")
    ami.push_event({"Event": "ExtensionStatus", "Exten": "131", "Context": "ext-local", "Status": "1"})
    wait_until(lambda: svc.presence_of(anna["id"]) == "in_use")
    ami.push_event({"Event": "DeviceStateChange", "Device": "PJSIP/131", "State": "RINGING"})
    wait_until(lambda: svc.presence_of(anna["id"]) == "ringing")
    ami.push_event({"Event": "DeviceStateChange", "Device": "PJSIP/131", "State": "NOT_INUSE"})
    wait_until(lambda: svc.presence_of(anna["id"]) == "idle")
    # do-not-disturb goes to the PBX as FreePBX keeps it
    svc.toggle_dnd("131")
    assert ami.named("DBPut")[-1]["Key"] == "131"
    assert svc.presence_of(anna["id"]) == "dnd"


def test_attended_transfer_park_and_hangup(live, ami):
    site, bd, svc = live
    ami.push_event({"Event": "Newchannel", "Channel": "PJSIP/trunk-2", "CallerIDNum": "121", "Exten": "100",
                    "Uniqueid": "1700000000.2"})
    call = wait_until(lambda: svc.calls.find({"pbx.uniqueid": "1700000000.2"}))[0]
    assert call["caller_person_id"] == bd.services.people.by_extension("121")["id"]
    slot = svc.park(call["id"])
    assert slot == "701" and ami.named("Park")[-1]["Channel"] == "PJSIP/trunk-2"
    svc.retrieve(call["id"])
    assert ami.named("Redirect")[-1]["Channel"] == "PJSIP/trunk-2"
    svc.transfer(call["id"], "150", mode="attended")
    assert ami.named("Atxfer")[-1]["Exten"] == "150"
    svc.cancel_transfer(call["id"])
    assert ami.named("CancelAtxfer")
    ami.push_event({"Event": "Hangup", "Uniqueid": "1700000000.2", "Cause": "16"})
    wait_until(lambda: svc.calls.get(call["id"])["status"] == "ended")
    assert svc.calls.get(call["id"])["outcome"] == "missed"


def test_refused_action_records_nothing(live, ami):
    site, bd, svc = live
    alice = site.open("alice")
    try:
        dept = alice.services.people.departments()[0]["id"]
        alice.services.people.add_person(name="Test Phone", department_id=dept, extension="999")
    finally:
        alice.close()
    ami.push_event({"Event": "Newchannel", "Channel": "PJSIP/trunk-3", "CallerIDNum": "0301234567",
                    "Exten": "100", "Uniqueid": "1700000000.3"})
    call = wait_until(lambda: svc.calls.find({"pbx.uniqueid": "1700000000.3"}))[0]
    with pytest.raises(BackdeskError, match="refused BlindTransfer: Extension does not exist"):
        svc.transfer(call["id"], "999")
    after = svc.calls.get(call["id"])
    assert after["status"] == "ringing" and after["transfers"] == [] and after["outcome"] is None


def test_wrong_secret_is_reported(tmp_path, ami):
    site = asterisk_site(tmp_path, ami, secret="wrong")
    bd = site.open("bob")
    svc = service_for(bd.context("telephony"))
    try:
        svc.start_backend()
        wait_until(lambda: "login refused" in svc.backend.state()[1])
        assert svc.backend.state()[0] == "reconnecting"
        assert ami.logins == 0
        with pytest.raises(BackdeskError, match="reconnecting"):
            svc.backend.action("Ping")
    finally:
        svc.stop_backend()
        bd.close()


def test_dropped_connection_reconnects_with_backoff(live, ami):
    site, bd, svc = live
    ami.refuse = True
    ami.drop()
    wait_until(lambda: svc.backend.state()[0] == "reconnecting")
    assert "PBX disconnected — reconnecting" in svc.backend.state()[1]
    with pytest.raises(BackdeskError):
        svc.backend.action("Ping")  # waits ami_timeout, then says why
    ami.refuse = False
    wait_until(lambda: svc.backend.state()[0] == "connected", timeout=10)
    assert ami.logins == 2
    assert svc.backend.action("Ping")["Ping"] == "Pong"
