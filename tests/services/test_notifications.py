"""Notifications: the inbox API, and delivery across two real processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.pilot import wait_for

from core.shell.app import make_app
from core.errors import PermissionDenied, UnknownRecord, ValidationError

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def test_inbox_unread_mark_read(site):
    alice = site.open("alice")
    bob = site.open("bob")
    n1 = alice.services.notifications.notify("bob", "Anruf von Frau Müller: bitte zurückrufen",
                                             kind="telephony.message", link="directory")
    n2 = alice.services.notifications.notify("bob", "Ticket 7 is yours", kind="it.assigned")
    alice.services.notifications.notify("eva", "Not for Bob")
    inbox = bob.services.notifications
    assert [d["id"] for d in inbox.inbox()] == [n2, n1]
    assert inbox.unread_count() == 2
    first = inbox.inbox()[1]
    assert (first["sender"], first["kind"], first["link"], first["read"]) == \
        ("alice", "telephony.message", "directory", False)
    inbox.mark_read(n1)
    assert inbox.unread_count() == 1
    assert inbox.mark_all_read() == 1
    assert inbox.unread_count() == 0
    # somebody else's notification and inbox stay theirs
    eva_note = alice.services.notifications.inbox("eva")[0]["id"]  # alice is admin
    with pytest.raises(PermissionDenied):
        inbox.mark_read(eva_note)
    with pytest.raises(PermissionDenied):
        inbox.inbox("eva")
    with pytest.raises(UnknownRecord):
        inbox.mark_read(999)


def test_sending_is_checked(site):
    alice = site.open("alice")
    with pytest.raises(ValidationError) as info:
        alice.services.notifications.notify("mallory", "hi")
    assert info.value.field == "account" and "not an operator" in info.value.message
    with pytest.raises(ValidationError) as info:
        alice.services.notifications.notify("bob", "   ")
    assert info.value.field == "text"
    eva = site.open("eva")  # hr may not send free-text notes
    with pytest.raises(PermissionDenied, match="core.notifications.send"):
        eva.services.notifications.send("bob", "hello")
    bob = site.open("bob")  # reception may
    assert bob.services.notifications.send("eva", "Your visitor is here")


def test_notification_crosses_two_processes(site):
    # how fast is a benchmark's question, not a test's: here, that it arrives
    site.open("alice").close()  # create the store and the tables first
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    watcher = subprocess.Popen(
        [sys.executable, str(HERE / "services_worker.py"), str(site.config_dir), str(site.data_dir),
         "bob", "watch-inbox"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert watcher.stdout.readline().strip() == "ready", watcher.stderr.read()
        alice = site.open("alice")
        alice.services.notifications.notify("bob", "Paket für dich am Empfang", kind="reception.parcel")
        line = watcher.stdout.readline().strip()
        assert line == "seen Paket für dich am Empfang", watcher.stderr.read()
        assert watcher.wait(timeout=120) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()


async def test_running_app_shows_a_notification_from_another_process(site):
    site.configure(console_role="admin")
    bob = site.open("bob")
    app = make_app(bob, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.sub_title == "Bob Berger · reception"
        # another operator, in another process: `backdesk notify bob ...`
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "core", *site.cli_args(), "notify", "bob", "Rückruf: Herr Schulz, Tel. 0711 123",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=str(ROOT))
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        await wait_for(pilot, lambda: app.sub_title == "Bob Berger · reception · 1 unread")
        header = app.screen.query_one("HeaderTitle")
        assert "1 unread" in str(header.render())
        await wait_for(pilot, lambda: any("Rückruf: Herr Schulz" in str(n.message) for n in app._notifications))
        # the inbox screen shows it; Enter reads it and the count goes
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.current_mode == "notifications")
        table = app.screen.query_one("#inbox-table")
        await wait_for(pilot, lambda: table.row_count == 1)
        assert table.record_at(0)["text"] == "Rückruf: Herr Schulz, Tel. 0711 123"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.sub_title == "Bob Berger · reception")
        assert bob.services.notifications.unread_count() == 0
        # d deletes it after a yes; the default answer keeps it
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DetailModal")  # what enter opened
        await pilot.press("escape")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "NotificationsScreen")
        inbox = app.screen
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen is not inbox)
        assert str(app.screen.query_one(".confirm-dialog--question").render()) == \
            "Delete the notification “Rückruf: Herr Schulz, Tel. 0711 123”?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is inbox)
        assert bob.services.notifications.table.count() == 1
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen is not inbox)
        await pilot.press("y")
        await wait_for(pilot, lambda: table.row_count == 0)
        assert bob.services.notifications.table.count() == 0
