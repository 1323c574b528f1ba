"""Click-to-dial from the directory, a message and the call history, and the
``phone`` commands that drive the real Asterisk (dial, queues, watch)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from core.app import make_app

from telephony_helpers import wait_until
from telephony_helpers import ROOT


async def until(pilot, predicate, timeout: float = 10.0, what: str = "condition"):
    for _ in range(int(timeout / 0.05)):
        await pilot.pause(0.05)
        if predicate():
            return
    raise AssertionError(f"{what} not reached in {timeout} s")


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
        await until(pilot, lambda: type(app.screen).__name__ == "DirectoryScreen", what="directory")
        await pilot.press(*"Anna Becker", "enter", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "DetailModal", what="Anna's details")
        assert "g call" in str(app.screen.query_one(".detail-modal--keys").render())
        await pilot.press("g")
        await until(pilot, lambda: len(outgoing(svc)) == 1, what="a call from the directory")
        ami.wait_ext("131", "InUse")  # Bob's phone answered, then Anna's
        assert outgoing(svc)[0]["to_person_id"] == board.person("131")["id"]
        ami.hang_up_all()
        ami.wait_ext("100", "Idle")
        # a message: call the caller back on the number he left
        app.open_nav("telephony.messages")
        await until(pilot, lambda: type(app.screen).__name__ == "MessagesScreen", what="messages")
        await pilot.press("g")
        await until(pilot, lambda: len(outgoing(svc)) == 2, what="a call back from the message")
        assert outgoing(svc)[1]["dialled"] == "0301234567"
        wait_until(lambda: [c for c in ami.channels() if "@world-" in c.get("Channel", "")], what="dialled out")
        ami.hang_up_all()
        ami.wait_ext("100", "Idle")
        # the call history: the same caller again, from his call
        app.open_nav("telephony.history")
        await until(pilot, lambda: type(app.screen).__name__ == "HistoryScreen", what="history")
        await pilot.press("4")  # all calls; the newest first: our two calls out, then Klaus's
        await pilot.press("end", "g")
        await until(pilot, lambda: len(outgoing(svc)) == 3, what="a call back from the history")
        assert outgoing(svc)[2]["dialled"] == "0301234567"
        await until(pilot, lambda: svc.calls.get(outgoing(svc)[2]["id"])["status"] == "active",
                    what="answered outside")


def test_phone_commands_on_the_real_pbx(board):
    ami, svc = board.ami, board.svc
    # the command line runs as the OS account: give it Bob's directory entry (his phone, 100)
    from core.access import current_account

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
    board.svc.stop_backend()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    watch = subprocess.Popen([sys.executable, "-m", "core", "--config-dir", str(board.site.config_dir),
                              "--data-dir", str(board.site.data_dir), "phone", "watch", "--seconds", "8"],
                             env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.5)  # connected and loaded
        channel = ami.call_in("100", "0309990000", "Nur Watch")
        ami.wait_ext("100", "InUse")
        time.sleep(0.5)
        ami.hang_up(channel)
    finally:
        out, err = watch.communicate(timeout=30)
    assert watch.returncode == 0, err
    assert "Asterisk connected" in err or "connecting" in err
    done = [c for c in svc.calls.all() if c.get("caller_number") == "0309990000"]
    assert done and done[0]["status"] == "ended" and done[0]["outcome"] == "connected"
