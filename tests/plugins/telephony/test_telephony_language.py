"""The switchboard speaks the site's language: counts with their plural
forms, the PBX status line and the PBX's errors.

A German site is run in a fresh process, as ``locale: de_DE`` in
backdesk.yaml does it (screen labels are translated when their modules
load); the same scripts on an English site show the English words. The
Asterisk backend talks to the real Asterisk of these tests (asterisk_pbx.py);
the double (ami_server.py) only plays a server that closes every connection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ami_server import AMIServer
from telephony_helpers import ROOT, Site

ALWAYS_OPEN = {"business_hours": "00:00-24:00", "business_days": [1, 2, 3, 4, 5, 6, 7], "night_on_holidays": False}

# The switchboard, its dashboard cards and the call history with one call
# and one open callback, then with a second of each.
SCREENS = r'''
import asyncio, json, sys
from core.plugins.runtime import open_backdesk
bd = open_backdesk(sys.argv[1], sys.argv[2], account="bob", load_entry_points=False)
from core.shell.app import make_app
from core.cli.testing import text_of, wait_for
from plugins.telephony.service import service_for

out = {}
tel = service_for(bd.context("telephony"))


async def shown(pilot, app, screen, selector):
    await wait_for(pilot, lambda: type(app.screen).__name__ == screen and app.screen.query_one(selector)
                   and text_of(app, selector))
    return text_of(app, selector)


async def look(app, pilot, n):
    await wait_for(pilot, lambda: app.screen.board.all_rendered)
    await wait_for(pilot, lambda: f"{n}" in text_of(app, "#card-telephony-callbacks"))
    out[f"cards{n}"] = [text_of(app, "#card-telephony-calls"), text_of(app, "#card-telephony-callbacks")]
    app.open_nav("telephony")
    await shown(pilot, app, "SwitchboardScreen", "#sb-status")
    await wait_for(pilot, lambda: f" {n} " in text_of(app, "#sb-status"))
    out[f"status{n}"] = text_of(app, "#sb-status")
    app.open_nav("telephony.history")
    await shown(pilot, app, "HistoryScreen", "#hist-summary")
    await wait_for(pilot, lambda: f": {n} " in text_of(app, "#hist-summary"))
    out[f"history{n}"] = text_of(app, "#hist-summary")
    app.open_nav("home")


async def main():
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        try:
            tel.log_call("+49 30 4471230", name="Klaus Brandt")
            tel.take_message("131", "Bitte zurückrufen", caller="Klaus Brandt")
            await look(app, pilot, 1)
            tel.end_call(tel.current_call()["id"], outcome="connected")
            tel.log_call("+49 89 1234567", name="Petra Pohl")
            tel.take_message("131", "Angebot", caller="Petra Pohl")
            await look(app, pilot, 2)
        except BaseException:
            import traceback
            out["error"] = traceback.format_exc()
        print("RESULT=" + json.dumps(out), flush=True)


asyncio.run(main())
bd.close()
'''

# The Asterisk backend in a process of its own: its status line, a refused
# action and a failed login, as the operator reads them.
PBX = r'''
import json, sys, time
from core.plugins.runtime import open_backdesk
bd = open_backdesk(sys.argv[1], sys.argv[2], account="bob", load_entry_points=False)
from core.errors import BackdeskError
from plugins.telephony.service import service_for

out = {}
tel = service_for(bd.context("telephony"))
try:
    tel.start_backend()
    end = time.monotonic() + 60  # a deadline for a failing run only: a loaded machine is slow
    while tel.backend.state()[0] not in ("connected", "reconnecting") and time.monotonic() < end:
        time.sleep(0.02)
    out["state"] = list(tel.backend.state())
    if out["state"][0] == "connected":
        assert tel.backend.wait_synced(60)
        while not tel.switchboard_calls() and time.monotonic() < end:  # the caller the test made
            time.sleep(0.02)
        call = tel.switchboard_calls()[0]
        try:
            tel.transfer(call["id"], "999")
        except BackdeskError as exc:
            out["refused"] = str(exc)
    else:
        try:
            tel.backend.action("Ping")
        except BackdeskError as exc:
            out["action"] = str(exc)
    tel.stop_backend()
    out["stopped"] = list(tel.backend.state())
except BaseException:
    import traceback
    out["error"] = traceback.format_exc()
print("RESULT=" + json.dumps(out), flush=True)
bd.close()
'''


def _german(site: Site) -> None:
    cfg = site.config_dir / "backdesk.yaml"
    cfg.write_text(cfg.read_text().replace("locale: en_US", "locale: de_DE"))


def _run(site: Site, script: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", script, str(site.config_dir), str(site.data_dir)],
                          capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT=")]
    assert lines, proc.stderr
    out = json.loads(lines[0][len("RESULT="):])
    assert "error" not in out, out["error"]
    assert proc.returncode == 0, proc.stderr
    return out


def _with_phone_999(site: Site) -> Site:
    alice = site.open("alice")
    try:
        dept = alice.services.people.departments()[0]["id"]
        alice.services.people.add_person(name="Test Phone", department_id=dept, extension="999")
    finally:
        alice.close()
    return site


def _asterisk(tmp_path, pbx, **settings) -> Site:
    """A site on the tests' real Asterisk, with a person at 999 (an extension its dialplan lacks)."""
    return _with_phone_999(Site(tmp_path, pbx.settings(ami_timeout=2.0, **{**ALWAYS_OPEN, **settings})))


def _double(tmp_path, server) -> Site:
    return _with_phone_999(Site(tmp_path, {"pbx": "asterisk", "ami_port": server.port, "ami_username": "backdesk",
                                           "ami_secret": "s3cret", "ami_backoff_max": 0.3, "ami_timeout": 2.0,
                                           **ALWAYS_OPEN}))


# ----------------------------------------------------------------------------- counts and the manual PBX
def test_a_german_switchboard_counts_in_german(tmp_path):
    site = Site(tmp_path, ALWAYS_OPEN)
    _german(site)
    out = _run(site, SCREENS)
    calls, callbacks = out["cards1"]
    assert calls.startswith("1 Anruf heute") and "Anrufe" not in calls
    assert callbacks.startswith("1 offener Rückruf") and "Rückrufe" not in callbacks
    assert out["status1"] == "Geschäftszeit (automatisch) · TK-Anlage: manuell (Tischtelefon) · 1 offener Rückruf"
    assert out["history1"] == "Heute: 1 Anruf"
    calls, callbacks = out["cards2"]
    assert calls.startswith("2 Anrufe heute") and callbacks.startswith("2 offene Rückrufe")
    assert out["status2"].endswith("TK-Anlage: manuell (Tischtelefon) · 2 offene Rückrufe")
    assert out["history2"] == "Heute: 2 Anrufe"
    assert "PBX" not in json.dumps(out) and "callback" not in json.dumps(out)


def test_an_english_switchboard_counts_in_english(tmp_path):
    site = Site(tmp_path, ALWAYS_OPEN)
    out = _run(site, SCREENS)
    calls, callbacks = out["cards1"]
    assert calls.startswith("1 call today") and callbacks.startswith("1 open callback\n")
    assert out["status1"] == "Business hours (auto) · PBX: manual (desk phone) · 1 open callback"
    assert out["history1"] == "Today: 1 call"
    calls, callbacks = out["cards2"]
    assert calls.startswith("2 calls today") and callbacks.startswith("2 open callbacks")
    assert out["status2"].endswith("PBX: manual (desk phone) · 2 open callbacks")
    assert out["history2"] == "Today: 2 calls"


# ----------------------------------------------------------------------------- the Asterisk backend
def test_german_pbx_status_and_errors(tmp_path, pbx):
    site = _asterisk(tmp_path, pbx)
    _german(site)
    pbx.ami.call_in("100", "0301234567", "Klaus Brandt")
    pbx.ami.wait_ext("100", "InUse")
    out = _run(site, PBX)
    assert out["state"] == ["connected", f"TK-Anlage: Asterisk verbunden (127.0.0.1:{pbx.port})"]
    assert out["refused"] == "der Wählplan der TK-Anlage kennt die Durchwahl 999 nicht (Kontext internal)"
    assert out["stopped"] == ["disconnected", "TK-Anlage getrennt"]


def test_german_pbx_login_refused_and_reconnecting(tmp_path, pbx):
    site = _asterisk(tmp_path, pbx, ami_secret="wrong")
    _german(site)
    out = _run(site, PBX)
    code, text = out["state"]
    assert code == "reconnecting"
    assert text.startswith("TK-Anlage getrennt — neuer Verbindungsaufbau (Versuch ")
    assert text.endswith(": AMI-Anmeldung abgelehnt: Authentication failed")
    # an action while the PBX is away says why, in the same words
    assert out["action"].startswith("TK-Anlage getrennt — neuer Verbindungsaufbau")


def test_german_pbx_that_is_not_there(tmp_path):
    from asterisk_pbx import free_port

    site = _with_phone_999(Site(tmp_path, {"pbx": "asterisk", "ami_port": free_port(), "ami_timeout": 2.0,
                                           **ALWAYS_OPEN}))  # nothing listens there
    _german(site)
    out = _run(site, PBX)
    assert out["state"][0] == "reconnecting"
    assert out["state"][1].endswith("(Versuch 1): Verbindung abgelehnt")


def test_english_pbx_status_and_errors(tmp_path, pbx):
    site = _asterisk(tmp_path, pbx)
    pbx.ami.call_in("100", "0301234567", "Klaus Brandt")
    pbx.ami.wait_ext("100", "InUse")
    out = _run(site, PBX)
    assert out["state"] == ["connected", f"PBX: Asterisk connected (127.0.0.1:{pbx.port})"]
    assert out["refused"] == "the PBX's dialplan has no extension 999 (context internal)"
    assert out["stopped"] == ["disconnected", "PBX disconnected"]


def test_english_pbx_that_closes_every_connection(tmp_path):
    server = AMIServer(secret="s3cret").start()
    try:
        server.refuse = True  # a fault Asterisk does not make on purpose
        out = _run(_double(tmp_path, server), PBX)
    finally:
        server.stop()
    assert out["state"][0] == "reconnecting"
    assert out["state"][1].endswith("(attempt 1): the PBX closed the connection")
    assert out["action"].startswith("PBX disconnected — reconnecting (attempt ")


def test_german_cli_pbx_error(tmp_path, pbx):
    """A PBX error reaches the command line in the site's language too."""
    site = _asterisk(tmp_path, pbx)
    _german(site)
    r = site.cli("phone", "pickup", "131")  # the CLI's operator has no extension of their own
    assert r.returncode == 2
    assert r.stderr.strip() == ("backdesk: Ihr Vermittlungskonto hat keine Durchwahl, "
                                "zu der der Anruf herangeholt werden kann")
