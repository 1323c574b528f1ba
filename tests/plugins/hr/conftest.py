"""Fixtures for the HR plugin: a small office in tmp_path with the real plugin.

Operators: alice (admin), eva (hr), carla (it: no HR rights), dieter
(accounting: may read pay for payroll), ina (Ina Intern, staff, linked to her
own directory entry). The OS account running the tests is HR and admin, so
CLI subprocesses and the Pilot run as HR unless a test says otherwise.
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
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
  hr: {{title: HR, permissions: ["hr.*", "core.directory.*"]}}
  it: {{title: IT, permissions: ["it.*", "core.directory.read", "core.audit.read"]}}
  accounting: {{title: Accounting, permissions: ["hr.payroll.read", "core.directory.read"]}}
  staff: {{title: Staff, permissions: ["core.directory.read"]}}
operators:
  alice: {{name: Alice Admin, roles: [admin]}}
  eva: {{name: Eva Engel, roles: [hr]}}
  carla: {{name: Carla Conrad, roles: [it]}}
  dieter: {{name: Dieter Dorn, roles: [accounting]}}
  ina: {{name: Ina Intern, roles: [staff], person_id: 3}}
{console}"""


class Site:
    def __init__(self, root: Path) -> None:
        self.config_dir = root / "config"
        self.data_dir = root / "data"
        self.config_dir.mkdir(parents=True)
        self.opened: list = []
        self.console_roles = "[hr, admin]"
        self.write_config()
        self.plugins(["hr"])

    def write_config(self, roles: str | None = None) -> None:
        me = current_account()
        console = "" if me in ("alice", "eva", "carla", "dieter", "ina") else \
            f"  {me}: {{name: Console Tester, roles: {roles or self.console_roles}}}\n"
        (self.config_dir / "backdesk.yaml").write_text(CONFIG.format(console=console) + storage_yaml(self.config_dir))

    def plugins(self, names: list[str], settings: dict | None = None) -> None:
        import yaml

        doc = {"plugins": [dict({"name": n}, **({"settings": settings[n]} if settings and n in settings else {}))
                           for n in names]}
        (self.config_dir / "plugins.yaml").write_text(yaml.safe_dump(doc))

    def open(self, account: str | None = None):
        from core.plugins.runtime import open_backdesk

        bd = open_backdesk(self.config_dir, self.data_dir, account=account or current_account())
        self.opened.append(bd)
        return bd

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "core", "--config-dir", str(self.config_dir),
                               "--data-dir", str(self.data_dir), *args],
                              capture_output=True, text=True, cwd=ROOT, env=dict(os.environ), timeout=300)

    def close(self) -> None:
        for bd in self.opened:
            bd.close()


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.close()


def make_office(bd) -> dict:
    """Departments and people: ids 1 Anna (head), 2 Ben, 3 Ina."""
    people = bd.services.people
    with bd.store.transaction():
        sales = people.add_department("Sales")
        ids = {"sales": sales}
        for name in ("Anna Arndt", "Ben Brandt", "Ina Intern"):
            ids[name.split()[0].lower()] = people.add_person(
                name=name, department_id=sales, email=f"{name.split()[0].lower()}@test.example",
                start_date="2020-01-01")
    return ids


@pytest.fixture
def office(site):
    """(bd, ctx, ids) with HR as the operator and a small directory."""
    bd = site.open("eva")
    ids = make_office(bd)
    return bd, bd.context("hr"), ids


@pytest.fixture
def fill_office():
    """The function that adds the small directory to a Backdesk."""
    return make_office
