"""Click-to-dial from the directory, a message and the call history, and the
``phone`` commands that drive the real Asterisk (dial, queues, watch)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from core.shell.app import make_app

from telephony_helpers import DEADLINE, wait_until
from telephony_helpers import ROOT
from tests.pilot import wait_for


def outgoing(svc) -> list[dict]:
    return [c for c in svc.calls.find(order_by="id") if c.get("direction") == "out"]


async def test_call_from_the_directory_a_message_and_the_history(board):
    ami, svc = board.ami, board.svc
    # someone called and left a message; and a call in the history
    channel, call = board.answered_call("100", "0301234567", "Klaus Brandt")
    svc.take_message("131", "Please call back", call_id=call["id"])
    ami.hang_up_all()
    ami.wait_ext("100", "Idle")
    app = make_app(board.bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        # the directory: Anna's details offer "g call"
        await pilot.press("f3")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DirectoryScreen", what="directory")
        await pilot.press(*"Anna Becker", "enter", "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DetailModal", what="Anna's details")
        assert "g call" in str(app.screen.query_one(".detail-modal--keys").render())
        await pilot.press("g")
        await wait_for(pilot, lambda: len(outgoing(svc)) == 1, what="a call from the directory")
        ami.wait_ext("131", "InUse")  # Bob's phone answered, then Anna's
        assert outgoing(svc)[0]["to_person_id"] == board.person("131")["id"]
        ami.hang_up_all()
        ami.wait_ext("100", "Idle")
        # a message: call the caller back on the number he left
        app.open_nav("telephony.messages")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "MessagesScreen", what="messages")
        await pilot.press("g")
        await wait_for(pilot, lambda: len(outgoing(svc)) == 2, what="a call back from the message")
        assert outgoing(svc)[1]["dialled"] == "0301234567"
        wait_until(lambda: [c for c in ami.channels() if "@world-" in c.get("Channel", "")], what="dialled out")
        ami.hang_up_all()
        ami.wait_ext("100", "Idle")
        # the call history: the same caller again, from his call
        app.open_nav("telephony.history")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HistoryScreen", what="history")
        await pilot.press("4")  # all calls; the newest first: our two calls out, then Klaus's
        await pilot.press("end", "g")
        await wait_for(pilot, lambda: len(outgoing(svc)) == 3, what="a call back from the history")
        assert outgoing(svc)[2]["dialled"] == "0301234567"
        await wait_for(pilot, lambda: svc.calls.get(outgoing(svc)[2]["id"])["status"] == "active",
                    what="answered outside")


def test_phone_commands_on_the_real_pbx(board):
    ami, svc = board.ami, board.svc
    # the command line runs as the OS account: give it Bob's directory entry (his phone, 100)
    from core.services.access import current_account

    cfg = board.site.config_dir / "backdesk.yaml"
    me = current_account()
    cfg.write_text(cfg.read_text().replace(f"{me}: {{name: Test Runner, roles: [reception]}}",
                                           f"{me}: {{name: Test Runner, roles: [reception], "
                                           "email: bob@muster-partner.example}"))
    r = board.site.cli("phone", "dial", "Anna Becker")
    assert r.returncode == 0, r.stderr
    dialled = svc.calls.get(int(r.stdout.strip()))
    assert dialled["direction"] == "out" and dialled["to_person_id"] == board.person("131")["id"]
    ami.wait_ext("131", "InUse")
    ami.hang_up_all()
    # pause and unpause a queue member; the listing says so
    r = board.site.cli("phone", "queues", "--pause", "102", "--reason", "meeting")
    assert r.returncode == 0, r.stderr
    assert "Emily Clarke: paused (meeting)" in r.stdout
    r = board.site.cli("phone", "queues", "--unpause", "102")
    assert "Emily Clarke: paused" not in r.stdout and "Emily Clarke: idle" in r.stdout
    # a call while only `phone watch` listens is in the history
    def managers() -> int:  # AMI logins Asterisk has: this test's client, the switchboard, the watch
        shown = ami.action("Command", Command="manager show connected")["Output"]
        return int(re.match(r"(\d+) users? connected", shown).group(1))

    board.svc.stop_backend()
    wait_until(lambda: managers() == 1, what="the switchboard logged off")
    # PYTHONFAULTHANDLER: a watch that does not end prints its threads' stacks on SIGABRT
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONFAULTHANDLER="1")
    watch = subprocess.Popen([sys.executable, "-m", "core", "--config-dir", str(board.site.config_dir),
                              "--data-dir", str(board.site.data_dir), "phone", "watch"],
                             env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             # started as a non-interactive shell starts a background job: SIGINT
                             # ignored (Python then raises no KeyboardInterrupt; the CI's PostgreSQL pass)
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))

    def watched(status: str) -> bool:
        return any(c.get("caller_number") == "0309990000" and c["status"] == status for c in svc.calls.all())

    try:
        wait_until(lambda: managers() == 2 or watch.poll() is not None, what="phone watch logged in")
        channel = ami.call_in("100", "0309990000", "Nur Watch")
        ami.wait_ext("100", "InUse")
        wait_until(lambda: watched("active") or watch.poll() is not None, what="the watch recorded the call")
        ami.hang_up(channel)
        wait_until(lambda: watched("ended") or watch.poll() is not None, what="the watch recorded its end")
    finally:
        watch.send_signal(signal.SIGINT)  # Ctrl+C: how a watch without --seconds ends
        try:
            out, err = watch.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            watch.send_signal(signal.SIGABRT)  # not left logged in to the session's Asterisk
            out, err = watch.communicate()
            raise AssertionError(f"phone watch did not end on Ctrl+C; where it was:\n{err}") from None
    assert watch.returncode == 0, err
    assert "Asterisk connected" in err or "connecting" in err
    done = [c for c in svc.calls.all() if c.get("caller_number") == "0309990000"]
    assert done and done[0]["status"] == "ended" and done[0]["outcome"] == "connected"
