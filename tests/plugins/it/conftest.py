"""Fixtures for the IT plugin: a small office in tmp_path with the real plugin.

Operators: alice (admin), carla and dirk (the IT team), sam (staff: may open
and read tickets). The OS account running the tests is in the IT team too
(and admin), so CLI subprocesses and the Pilot run as a team member.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.services.access import current_account

from tests.conftest import storage_yaml

ROOT = Path(__file__).resolve().parents[3]

CONFIG = """\
site:
  name: Test GmbH
  locale: en_US
  timezone: Europe/Berlin
  currency: EUR
calendar:
  country: DE
  days_off: [2026-12-24]
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
  it: {{title: IT, permissions: ["it.*", "core.directory.read"]}}
  staff: {{title: Staff, permissions: ["core.directory.read", "it.tickets.create", "it.tickets.read"]}}
operators:
  alice: {{name: Alice Admin, roles: [admin], email: alice@test.example}}
  carla: {{name: Carla Conrad, roles: [it], email: carla@test.example}}
  dirk: {{name: Dirk Dahl, roles: [it]}}
  sam: {{name: Sam Staff, roles: [staff], email: sam@test.example}}
{console}"""

#: a calendar that makes hand-checked SLA cases easy: 08:00-17:00 Mon-Fri
#: 25 Dec is a public holiday, 24 Dec a company day off (calendar: above)
SETTINGS = {"open_ticket_after": 5, "check_timeout": 2.0}


class Site:
    def __init__(self, root: Path) -> None:
        self.config_dir = root / "config"
        self.data_dir = root / "data"
        self.config_dir.mkdir(parents=True)
        me = current_account()
        console = "" if me in ("alice", "carla", "dirk", "sam") else \
            f"  {me}: {{name: Console Tester, roles: [admin, it]}}\n"
        (self.config_dir / "backdesk.yaml").write_text(CONFIG.format(console=console) + storage_yaml(self.config_dir))
        self.opened: list = []
        self.plugins(SETTINGS)

    def plugins(self, settings: dict) -> None:
        import yaml

        doc = {"plugins": [{"name": "it", "settings": settings}]}
        (self.config_dir / "plugins.yaml").write_text(yaml.safe_dump(doc))

    def open(self, account: str | None = None):
        from core.plugins.runtime import open_backdesk

        bd = open_backdesk(self.config_dir, self.data_dir, account=account or current_account())
        self.opened.append(bd)
        return bd

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        return subprocess.run([sys.executable, "-m", "core", "--config-dir", str(self.config_dir),
                               "--data-dir", str(self.data_dir), *args],
                              capture_output=True, text=True, cwd=ROOT, env=env, input=input, timeout=300)

    def close(self) -> None:
        for bd in self.opened:
            bd.close()


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.close()


@pytest.fixture
def office(site):
    """A started Backdesk with a few people; returns (bd, ctx, people ids by first name)."""
    bd = site.open()
    people = bd.services.people
    with bd.store.transaction():
        dept = people.add_department("IT")
        ids = {}
        for name in ("Anna Arndt", "Ben Brandt", "Clara Conrad", "Dora Dietz"):
            ids[name.split()[0].lower()] = people.add_person(name=name, department_id=dept,
                                                              email=f"{name.split()[0].lower()}@test.example")
    return bd, bd.context("it"), ids
