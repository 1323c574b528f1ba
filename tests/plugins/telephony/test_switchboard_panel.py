"""The live Switchboard at 80×24, driven by the Pilot as an operator would.

With the real Asterisk: every call at once (on the line, waiting in the
queue in the PBX's order, parked), waiting times that run, the queue's
members, an Asterisk restart shown on the panel. With the manual backend:
three calls logged, the second put through to the person asked for with a
note, and night service explained when ``a`` is pressed.
"""

from __future__ import annotations

import asyncio
import re

from core.shell.app import make_app
from core.cli.testing import text_of
from plugins.telephony.service import service_for

from telephony_helpers import Site, Switchboard, wait_until
from tests.pilot import wait_for


def lines(app) -> list[str]:
    return text_of(app, "#sb-calls").splitlines()


async def test_every_call_waiting_time_parked_calls_and_the_queue_at_once(board):
    ami, svc = board.ami, board.svc
    for ext in ("100", "102"):
        svc.pause_member("switchboard", f"Local/{ext}@internal/n", True, "lunch")
    parked_channel, parked = board.answered_call("100", "0305550000", "Paula Parker")
    svc.park(parked["id"])
    on_line, _call = board.answered_call("100", "0301234567", "Klaus Brandt")  # on Bob's phone
    first = ami.call_in("800", "0301111111", "Erste Anruferin")
    wait_until(lambda: svc.live.queue_of(board.call_of(first)["pbx"]["uniqueid"]), what="first in the queue")
    await asyncio.sleep(1.1)
    ami.call_in("800", "0302222222", "Zweiter Anrufer")
    wait_until(lambda: len([c for c in svc.switchboard_calls() if c["status"] == "queued"]) == 2, what="queued")

    app = make_app(board.bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(lines(app)) == 4, what="four calls on the board")
        rows = lines(app)
        assert "Klaus Brandt" in rows[0] and "on the line" in rows[0]
        assert "Erste Anruferin" in rows[1] and "queue #1" in rows[1]
        assert "Zweiter Anrufer" in rows[2] and "queue #2" in rows[2]
        assert "Paula Parker" in rows[3] and "P701" in rows[3]
        assert "parked: 701" in text_of(app, "#sb-status")
        assert "Asterisk connected" in text_of(app, "#sb-status")
        queue = text_of(app, "#sb-queue")
        # the longest wait as a clock (not "under 10 s": 0:11 once under load)
        assert re.search(r"switchboard: 2 waiting, longest \d+:\d\d", queue), queue
        assert "Bob ‖ Emily ‖" in queue  # both paused (the reason: in the queue panel)
        # the waiting time runs
        wait = re.search(r"queue #1\s+(\d+:\d\d)", lines(app)[1]).group(1)
        await wait_for(pilot, lambda: re.search(r"queue #1\s+(\d+:\d\d)", lines(app)[1]).group(1) != wait,
                       what=f"the waiting time past {wait}")  # not within 1.3 s: a loaded machine is slow
        # the queue panel: pause/unpause a member with the keyboard
        await pilot.press("q")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "QueuePanel", what="queue panel")
        assert "#1  Erste Anruferin" in text_of(app, "#queue-waiting")
        members = app.screen.query_one("#queue-members")
        assert [members.record_at(i)["state"] for i in range(2)] == ["paused: lunch", "paused: lunch"]
        # Bob (100) is on the phone; Emily (102) comes back and takes the first caller
        await pilot.press("down", "space")
        await wait_for(pilot, lambda: ami.bridge_peer(first).startswith("Local/102@"), what="first caller with Emily")
        await pilot.press("escape")
        await wait_for(pilot, lambda: "queue #1" in "\n".join(lines(app)) and "Zweiter" in
                    next(line for line in lines(app) if "queue #1" in line), what="second moves up")
        # the real event sequence moved the board: Emily has the first caller
        await wait_for(pilot, lambda: any("Erste Anruferin" in line and "↔ Emily Clarke" in line
                                       for line in lines(app)), what="connected to Emily")
        svc.end_call(board.call_of(on_line)["id"], outcome="connected")  # Bob is free again
        await wait_for(pilot, lambda: "Klaus Brandt" not in text_of(app, "#sb-calls"), what="Klaus gone")
        await pilot.press(str(len(lines(app))))  # the parked call, last: a takes it back to Bob's phone
        await pilot.press("a")
        await wait_for(pilot, lambda: ami.bridge_peer(parked_channel).startswith("Local/100@"), what="retrieved")
        await wait_for(pilot, lambda: "P701" not in text_of(app, "#sb-calls"), what="P701 gone")


async def test_a_waiting_call_answered_and_put_through_to_the_person_asked_for(board):
    ami, svc = board.ami, board.svc
    ami.set_phone("131", "never")
    channel = ami.call_in("131", "0307777777", "Direkt Wahl")
    ami.wait_ext("131", "Ringing")
    app = make_app(board.bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: "Direkt Wahl" in text_of(app, "#sb-calls"), what="the ringing call")
        assert "ringing" in text_of(app, "#sb-calls") and "→ Anna Becker" in text_of(app, "#sb-calls")
        await pilot.press("1", "a")  # to my phone
        await wait_for(pilot, lambda: ami.bridge_peer(channel).startswith("Local/100@"), what="with Bob")
        ami.set_phone("131", "")
        await pilot.press("t")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PersonPicker", what="picker")
        assert "asked for" in str(app.screen.query_one("#pick-list").get_option_at_index(0).prompt)
        await pilot.press("tab", *"Rückruf wegen Angebot", "enter")
        await wait_for(pilot, lambda: ami.bridge_peer(channel).startswith("Local/131@"), what="with Anna")
    call = board.call_of(channel)
    assert call["status"] == "ended" and call["to_person_id"] == board.person("131")["id"]
    assert call["transfers"][-1]["note"] == "Rückruf wegen Angebot"


async def test_an_asterisk_restart_is_shown_on_the_panel(tmp_path, own_asterisk):
    pbx = own_asterisk
    (tmp_path / "site").mkdir()
    sb = Switchboard(tmp_path / "site", pbx)
    try:
        channel, call = sb.answered_call()
        app = make_app(sb.bd, poll_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await wait_for(pilot, lambda: "Klaus Brandt" in text_of(app, "#sb-calls"), what="the call")
            pbx.ami.close()
            pbx.halt(kill=True)
            await wait_for(pilot, lambda: "PBX disconnected — reconnecting" in text_of(app, "#sb-status"),
                        what="reconnecting shown")
            assert app.screen.query_one("#sb-status").has_class("-alert")
            await asyncio.to_thread(pbx.resume)
            await wait_for(pilot, lambda: "Asterisk connected" in text_of(app, "#sb-status"),
                        what="connected shown")
            assert not app.screen.query_one("#sb-status").has_class("-alert")
            await wait_for(pilot, lambda: "Klaus Brandt" not in text_of(app, "#sb-calls"), what="lost call gone")
            pbx.ami = sb.ami = pbx.client()
            sb.ami.call_in("100", "0304444444", "Neustart")
            await wait_for(pilot, lambda: "Neustart" in text_of(app, "#sb-calls"), what="new call shown")
        assert sb.svc.calls.get(call["id"])["status"] == "ended"
    finally:
        sb.close()


async def test_three_calls_the_second_to_the_person_asked_for_with_a_note(site):
    bd = site.open("bob")
    svc = service_for(bd.context("telephony"))
    svc.log_call("0301234561", to="131", name="Klaus Brandt", company="Brandt GmbH")
    second = svc.log_call("0301234562", to="Thomas Richter", name="Erika Mustermann")
    svc.log_call("121")
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await wait_for(pilot, lambda: len(lines(app)) == 3, what="all three calls")
            assert [bool(re.search(r"on the line\s+0:\d\d", line)) for line in lines(app)] == [True] * 3
            await pilot.press("2")
            assert "Erika Mustermann" in text_of(app, "#sb-call")
            await pilot.press("t")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "PersonPicker", what="picker")
            first = str(app.screen.query_one("#pick-list").get_option_at_index(0).prompt)
            assert "Thomas Richter" in first and "asked for" in first
            await pilot.press("tab")
            assert app.screen.focused.id == "pick-note"
            await pilot.press(*"Wants the new price list", "enter")
            await wait_for(pilot, lambda: len(lines(app)) == 2, what="two calls left")
            assert "Erika" not in text_of(app, "#sb-calls")
        call = svc.get_call(second)
        assert call["to_person_id"] == bd.services.people.find("Thomas Richter")[0]["id"]
        assert call["transfers"][-1]["note"] == "Wants the new price list"
    finally:
        bd.close()


async def test_at_night_a_says_where_the_call_goes_and_why(tmp_path):
    site = Site(tmp_path, {"business_hours": "00:00-00:01", "business_days": [1]})  # night almost always
    bd = site.open("bob")
    svc = service_for(bd.context("telephony"))
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await pilot.pause()
            assert "Night: a logged call becomes a callback message" in text_of(app, "#sb-call")
            await pilot.press("a")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "CallerPrompt", what="prompt")
            night = text_of(app, "#caller-night")
            assert "outside business hours 00:00-00:01, Mon" in night
            assert "an open callback message for the person asked for" in night
            await pilot.press(*"0309998877", "tab", *"131", "enter")
            await pilot.press(*"Nacht Anrufer", "enter", "enter")
            await wait_for(pilot, lambda: svc.calls.count() == 1, what="the call logged")
        call = svc.calls.all()[0]
        assert call["outcome"] == "message" and call["wanted_person_id"] == bd.services.people.by_extension("131")["id"]
        assert svc.messages.get(call["message_id"])["text"] == "Called outside business hours."
    finally:
        bd.close()
