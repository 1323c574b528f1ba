"""Fixtures for the accounting plugin: a small office in tmp_path with the real plugin.

Operators: alice (admin), dieter (accounting: everything in accounting),
clara (clerk: records bills, may not approve, pay or read salaries),
sam (staff: nothing in accounting), paula (payroll: hours, rates and runs,
not the directory). The OS account running the tests is
admin, so CLI subprocesses and the Pilot may do everything.
"""

from __future__ import annotations

import os
import shutil
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
  region: BY
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
  accounting: {{title: Accounting, permissions: ["accounting.*", "core.directory.read"]}}
  clerk: {{title: Clerk, permissions: ["accounting.bills.read", "accounting.bills.write", "accounting.ledger.read",
                                       "core.directory.read"]}}
  staff: {{title: Staff, permissions: ["core.directory.read"]}}
  payroll: {{title: Payroll, permissions: ["accounting.payroll.*"]}}
operators:
  alice: {{name: Alice Admin, roles: [admin], email: alice@test.example}}
  dieter: {{name: Dieter Dorn, roles: [accounting], email: dieter@test.example}}
  clara: {{name: Clara Clerk, roles: [clerk]}}
  paula: {{name: Paula Payroll, roles: [payroll]}}
  sam: {{name: Sam Staff, roles: [staff]}}
{console}"""

#: 1 and 6 January 2026 are public holidays in Bavaria (calendar: region BY above)
#: the office pays from one bank account (payment runs, statements: test_accounting_sepa/_bank)
SETTINGS = {"deductions": {"income tax": "0.20", "social security": "0.095"},
            "bank_accounts": [{"name": "Hausbank", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}]}


class Site:
    def __init__(self, root: Path) -> None:
        self.config_dir = root / "config"
        self.data_dir = root / "data"
        self.root = root
        self.config_dir.mkdir(parents=True)
        me = current_account()
        console = "" if me in ("alice", "dieter", "clara", "paula", "sam") else \
            f"  {me}: {{name: Console Tester, roles: [admin]}}\n"
        (self.config_dir / "backdesk.yaml").write_text(CONFIG.format(console=console) + storage_yaml(self.config_dir))
        self.opened: list = []
        self.plugins(SETTINGS)

    def plugins(self, settings: dict) -> None:
        import yaml

        doc = {"plugins": [{"name": "accounting", "settings": settings}]}
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


@pytest.fixture
def office(site):
    """A started Backdesk with a few people; returns (bd, ctx, people ids by first name)."""
    bd = site.open()
    people = bd.services.people
    with bd.store.transaction():
        dept = people.add_department("Buchhaltung / Accounting")
        ids = {}
        for name in ("Anna Arndt", "Ben Brandt", "Clara Conrad", "Dora Dietz"):
            ids[name.split()[0].lower()] = people.add_person(name=name, department_id=dept,
                                                              email=f"{name.split()[0].lower()}@test.example")
    return bd, bd.context("accounting"), ids


@pytest.fixture
def hledger():
    from tests.conftest import require_peer

    path = shutil.which("hledger")
    require_peer("hledger", path is not None, "the reports are checked against the real hledger binary")
    return path


def iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"

