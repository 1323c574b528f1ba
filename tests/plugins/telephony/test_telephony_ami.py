"""The AMI connection: login, refusals and faults.

Login and refusals against the real Asterisk; the faults a real Asterisk
cannot be made to produce (a wrong greeting, an action never answered, a
connection dropped while an action waits) against ami_server.py.
"""

from __future__ import annotations

import hashlib

import pytest

from core.errors import BackdeskError
from plugins.telephony.ami import challenge_key, encode
from plugins.telephony.service import service_for

from ami_server import AMIServer
from telephony_helpers import DEADLINE, wait_until
from telephony_helpers import Site, Switchboard


def test_wire_format_helpers():
    assert encode({"Action": "Ping", "ActionID": "1"}) == b"Action: Ping\r\nActionID: 1\r\n\r\n"
    with pytest.raises(BackdeskError):
        encode({"Action": "Redirect", "Exten": "100\r\nAction: Hangup"})  # no header injection
    assert challenge_key("123", "pw") == hashlib.md5(b"123pw").hexdigest()


def test_md5_login_to_asterisk_and_the_state_it_loads(tmp_path, own_asterisk):
    # an Asterisk of the test's own: the AMI logins it counts are all this test's
    board = Switchboard(tmp_path, own_asterisk)
    try:
        backend = board.svc.backend
        assert backend.state()[0] == "connected"
        assert backend.version.count(".") >= 1  # "Asterisk Call Manager/13.0.0" → "13.0.0"
        shown = board.ami.action("Command", Command="manager show connected")
        assert shown["Output"] == "2 users connected."  # this test's client and the switchboard
        users = board.ami.action("Command", Command="manager show user backdesk")
        assert users["Response"] == "Success"
        live = board.svc.live
        assert live.extension_state("131") == "idle"  # from ExtensionStateList
        assert live.night is False
        assert [q.name for q in live.queue_list()] == ["switchboard"]
    finally:
        board.close()


def test_wrong_secret_is_reported(tmp_path, pbx):
    site = Site(tmp_path, pbx.settings(ami_secret="wrong"))
    bd = site.open("bob")
    svc = service_for(bd.context("telephony"))
    try:
        svc.start_backend()
        wait_until(lambda: "login refused" in svc.backend.state()[1], what="login refused")
        assert svc.backend.state()[0] == "reconnecting"
        assert "Authentication failed" in svc.backend.state()[1]
        with pytest.raises(BackdeskError, match="reconnecting"):
            svc.backend.action("Ping")
    finally:
        svc.stop_backend()
        bd.close()


def test_a_refused_action_records_nothing(board):
    alice = board.site.open("alice")
    try:
        dept = alice.services.people.departments()[0]["id"]
        alice.services.people.add_person(name="Test Phone", department_id=dept, extension="999")
    finally:
        alice.close()
    board.svc.ctx.services.people._index.invalidate()
    channel, call = board.answered_call()
    # Asterisk would answer "Transfer succeeded" and drop the caller: the dialplan is asked first
    with pytest.raises(BackdeskError, match="the PBX's dialplan has no extension 999 .context internal."):
        board.svc.transfer(call["id"], "999")
    after = board.svc.calls.get(call["id"])
    assert after["status"] == "active" and after["transfers"] == [] and after["outcome"] is None
    assert board.ami.bridge_peer(channel).startswith("Local/100@")  # still with the operator


# -- faults (the double) ----------------------------------------------------------------


@pytest.fixture
def double():
    server = AMIServer(secret="s3cret").start()
    yield server
    server.stop()


def double_site(tmp_path, server, **extra):
    return Site(tmp_path, {"pbx": "asterisk", "ami_port": server.port, "ami_username": "backdesk",
                           "ami_secret": "s3cret", "ami_backoff_max": 0.3, "ami_timeout": 1.0, **extra})


def test_a_server_that_is_not_an_ami(tmp_path, double):
    double.banner = "SSH-2.0-OpenSSH_9.2"
    bd = double_site(tmp_path, double).open("bob")
    svc = service_for(bd.context("telephony"))
    try:
        svc.start_backend()
        wait_until(lambda: "not an AMI server" in svc.backend.state()[1], what="refused greeting")
        assert svc.backend.state()[0] == "reconnecting"
    finally:
        svc.stop_backend()
        bd.close()


def test_an_action_never_answered_and_a_connection_dropped_while_waiting(tmp_path, double):
    bd = double_site(tmp_path, double).open("bob")
    svc = service_for(bd.context("telephony"))
    try:
        svc.start_backend()
        assert svc.backend.wait_synced(DEADLINE)
        double.silent.add("setvar")
        with pytest.raises(BackdeskError, match="did not answer Setvar"):
            svc.set_hours_mode("night")
        assert svc.hours_mode() == "auto"  # nothing recorded
        double.silent.clear()
        double.drop_on.add("setvar")
        with pytest.raises(BackdeskError, match="connection dropped|did not answer"):
            svc.set_hours_mode("night")
        assert svc.hours_mode() == "auto"
        double.drop_on.clear()
        wait_until(lambda: svc.backend.state()[0] == "connected" and double.logins >= 2, what="reconnected")
        assert svc.backend.wait_synced(DEADLINE)
        svc.set_hours_mode("night")
        assert svc.hours_mode() == "night"
        assert double.named("setvar")[-1]["Value"] == "INUSE"
    finally:
        svc.stop_backend()
        bd.close()


def test_switchboard_against_the_double_records_nothing_without_events(tmp_path, double):
    """An AMI that sends no events: the switchboard stays empty (no invented calls)."""
    bd = double_site(tmp_path, double).open("bob")
    svc = service_for(bd.context("telephony"))
    try:
        svc.start_backend()
        assert svc.backend.wait_synced(DEADLINE)
        assert svc.switchboard_calls() == [] and svc.calls.all() == []
    finally:
        svc.stop_backend()
        bd.close()
