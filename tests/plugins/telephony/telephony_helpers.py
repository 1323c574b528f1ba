"""Shared helpers of the telephony tests (a unique module name: no clash with other conftests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import storage_yaml
from tests.peers import require_peer

ROOT = Path(__file__).resolve().parents[3]

CONFIG = """\
site:
  name: Muster & Partner GmbH
  locale: en_US
  timezone: Europe/Berlin
  currency: EUR
roles:
  admin: {title: Administrator, permissions: ["*"]}
  reception: {title: Reception, permissions: ["telephony.*", "core.directory.read"]}
  hr: {title: HR, permissions: ["core.directory.*"]}
  staff: {title: Staff, permissions: ["core.directory.read", "telephony.calls.read"]}
operators:
  alice: {name: Alice Admin, roles: [admin], email: alice@muster-partner.example}
  bob: {name: Bob Berger, roles: [reception], email: bob@muster-partner.example}
  eva: {name: Eva Engel, roles: [hr], email: eva@muster-partner.example}
  anna: {name: Anna Becker, roles: [staff], email: anna.becker@muster-partner.example}
"""


class Site:
    """A config folder and a data folder with the demo company's directory."""

    def __init__(self, root: Path, settings: dict | None = None) -> None:
        self.config_dir = root / "config"
        self.data_dir = root / "data"
        self.config_dir.mkdir()
        self.cli_role = None
        self._write_config("reception")
        self.set_settings(settings or {})
        bd = self.open("alice")
        try:
            bd.services.people.create_demo(1)
        finally:
            bd.close()

    ROLES = {"alice": "admin", "bob": "reception", "eva": "hr", "anna": "staff"}

    def _write_config(self, role: str) -> None:
        """The OS account running the tests is an operator too (the CLI runs as
        it), with the role of the account a CLI call stands for."""
        from core.services.access import current_account

        me = current_account()
        extra = f"  {me}: {{name: Test Runner, roles: [{role}]}}\n" if me not in self.ROLES else ""
        (self.config_dir / "backdesk.yaml").write_text(CONFIG + extra + storage_yaml(self.config_dir))
        self.cli_role = role

    def set_settings(self, settings: dict) -> None:
        lines = ["plugins:", "  - name: telephony"]
        if settings:
            lines.append("    settings:")
            for key, value in settings.items():
                lines.append(f"      {key}: {value!r}" if isinstance(value, str) else f"      {key}: {value}")
        (self.config_dir / "plugins.yaml").write_text("\n".join(lines) + "\n")

    def open(self, account: str = "bob"):
        from core.plugins.runtime import open_backdesk

        return open_backdesk(self.config_dir, self.data_dir, account=account, load_entry_points=False)

    def cli(self, *args: str, account: str = "bob", input: str | None = None) -> subprocess.CompletedProcess:
        if self.cli_role != self.ROLES[account]:
            self._write_config(self.ROLES[account])
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.run([sys.executable, "-m", "core", "--config-dir", str(self.config_dir),
                               "--data-dir", str(self.data_dir), *args],
                              capture_output=True, text=True, env=env, cwd=str(ROOT), input=input,
                              timeout=5 * DEADLINE)  # tests run several at once




#: the switchboard is staffed around the clock (public holidays too): no night service in the way
ALWAYS_OPEN = {"business_hours": "00:00-24:00", "business_days": [1, 2, 3, 4, 5, 6, 7], "night_on_holidays": False}


def require_asterisk() -> None:
    from asterisk_pbx import installed

    found, why = installed()
    require_peer("Asterisk", found, why)


#: how long a test waits for the PBX, the backend or a CLI process: the
#: deadline only ends a test that already failed, so it is generous (a
#: loaded 2-CPU machine running two suites at once is slow, not wrong)
DEADLINE = 60.0


def wait_until(predicate, timeout: float = DEADLINE, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached in {timeout} s")


class Switchboard:
    """A site on the real PBX with Bob's Backdesk listening to it."""

    def __init__(self, root, pbx, **settings) -> None:
        from plugins.telephony.service import service_for

        self.pbx = pbx
        self.ami = pbx.ami
        self.site = Site(root, pbx.settings(**{**ALWAYS_OPEN, **settings}))
        self.bd = self.site.open("bob")
        self.svc = service_for(self.bd.context("telephony"))
        self.svc.start_backend()
        assert self.svc.backend.wait_synced(DEADLINE), self.svc.backend.state()
        wait_until(lambda: self.svc.backend.night_state() is not None, what="night service pushed")

    def close(self) -> None:
        self.svc.stop_backend()
        self.bd.close()

    def person(self, ext: str) -> dict:
        return self.bd.services.people.by_extension(ext)

    def call_of(self, channel: str, timeout: float = DEADLINE, newer_than: int = 0) -> dict:
        """The call record of the caller on ``channel`` (waits for it). After
        a restart Asterisk numbers its channels from 0 again: ``newer_than``
        skips the records of before."""
        def find():
            found = [c for c in self.svc.calls.find({"pbx.channel": channel}, order_by="-id") if c["id"] > newer_than]
            return found[0] if found else None

        return wait_until(find, timeout, f"a call record for {channel}")

    def last_id(self) -> int:
        calls = self.svc.calls.find(order_by="-id", limit=1)
        return calls[0]["id"] if calls else 0

    def wait_call(self, call_id: int, timeout: float = DEADLINE, **expected) -> dict:
        def check():
            call = self.svc.calls.get(call_id)
            return call if all(call.get(k) == v for k, v in expected.items()) else None

        try:
            return wait_until(check, timeout, f"call {call_id} with {expected}")
        except AssertionError:
            raise AssertionError(f"call {call_id} is {self.svc.calls.get(call_id)}, expected {expected}") from None

    def answered_call(self, did: str = "100", number: str = "0301234567", name: str = "Klaus Brandt"):
        """An outside caller dials ``did``; the phone there answers. (channel, call)"""
        before = self.last_id()
        channel = self.ami.call_in(did, number, name)
        call = self.call_of(channel, newer_than=before)
        return channel, self.wait_call(call["id"], status="active")


