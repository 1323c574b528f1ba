"""A small office for the leave, absence and working-time tests.

Sales in Berlin (site region BE): Anna Arndt (1, head of sales), Ben Brandt
(2, works in Munich: region BY, reports to Anna), Ina Intern (3, Berlin,
reports to Anna). Operators: anna, ben, ina (staff, each linked to their
person), eva (HR), dieter (accounting), alice (admin). The OS account
running the tests is admin + HR, so CLI subprocesses run as HR.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.services.access import current_account

from tests.conftest import storage_yaml

ROOT = Path(__file__).resolve().parents[3]

CONFIG = """\
site:
  name: Test GmbH
  locale: {locale}
  timezone: Europe/Berlin
  currency: EUR
calendar:
  country: DE
  region: BE
  days_off: [2026-12-24]
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
  hr: {{title: HR, permissions: ["hr.*", "core.directory.*", "telephony.*"]}}
  accounting: {{title: Accounting, permissions: ["accounting.*", "hr.time.read", "hr.payroll.read",
                                               "core.directory.read"]}}
  reception: {{title: Reception, permissions: ["telephony.*", "core.directory.read"]}}
  staff: {{title: Staff, permissions: ["core.directory.read", "hr.leave.request", "hr.time.clock"]}}
operators:
  alice: {{name: Alice Admin, roles: [admin]}}
  eva: {{name: Eva Engel, roles: [hr]}}
  dieter: {{name: Dieter Dorn, roles: [accounting]}}
  rita: {{name: Rita Rezeption, roles: [reception]}}
  anna: {{name: Anna Arndt, roles: [staff], person_id: 1{anna_pin}}}
  ben: {{name: Ben Brandt, roles: [staff], person_id: 2}}
  ina: {{name: Ina Intern, roles: [staff], person_id: 3}}
{console}"""


class Site:
    def __init__(self, root: Path, *, plugins=("hr",), settings: dict | None = None, locale: str = "en_US",
                 anna_pin: str | None = None) -> None:
        self.config_dir = root / "config"
        self.data_dir = root / "data"
        self.config_dir.mkdir(parents=True)
        self.opened: list = []
        self.locale = locale
        self.anna_pin = anna_pin
        self.write_config()
        self.plugins(plugins, settings)

    def write_config(self) -> None:
        me = current_account()
        console = "" if me in ("alice", "eva", "dieter", "rita", "anna", "ben", "ina") else \
            f"  {me}: {{name: Console Tester, roles: [admin, hr]}}\n"
        pin = f", pin_hash: \"{self.anna_pin}\"" if self.anna_pin else ""
        (self.config_dir / "backdesk.yaml").write_text(
            CONFIG.format(console=console, locale=self.locale, anna_pin=pin) + storage_yaml(self.config_dir))

    def plugins(self, names, settings: dict | None = None) -> None:
        import yaml

        doc = {"plugins": [dict({"name": n}, **({"settings": settings[n]} if settings and n in settings else {}))
                           for n in names]}
        (self.config_dir / "plugins.yaml").write_text(yaml.safe_dump(doc))

    def open(self, account: str | None = None):
        from core.plugins.runtime import open_backdesk

        bd = open_backdesk(self.config_dir, self.data_dir, account=account or current_account())
        self.opened.append(bd)
        return bd

    def cli(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        environ = dict(os.environ, COLUMNS="100", **(env or {}))
        return subprocess.run([sys.executable, "-m", "core", "--config-dir", str(self.config_dir),
                               "--data-dir", str(self.data_dir), *args],
                              capture_output=True, text=True, cwd=ROOT, env=environ, timeout=300)

    def close(self) -> None:
        for bd in self.opened:
            bd.close()


def make_office(bd) -> dict:
    """Sales with Anna (1, BE), Ben (2, BY, reports to Anna), Ina (3, BE, reports to Anna)."""
    people = bd.services.people
    with bd.store.transaction():
        sales = people.add_department("Sales")
        anna = people.add_person(name="Anna Arndt", department_id=sales, email="anna@test.example",
                                 extension="101", start_date="2020-01-01", region="BE")
        ben = people.add_person(name="Ben Brandt", department_id=sales, email="ben@test.example",
                                extension="102", start_date="2020-01-01", region="BY", manager_id=anna)
        ina = people.add_person(name="Ina Intern", department_id=sales, email="ina@test.example",
                                extension="103", start_date="2020-01-01", manager_id=anna)
    assert (anna, ben, ina) == (1, 2, 3)
    return {"sales": sales, "anna": anna, "ben": ben, "ina": ina}
