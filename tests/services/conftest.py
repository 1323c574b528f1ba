"""Fixtures for the core services: a small office in tmp_path.

Operators: alice (admin), bob (reception: reads the directory, sends notes),
eva (hr: keeps the directory, reads hrmini's confidential cases), carla (it:
reads the audit trail). The OS account running the tests ("the console")
gets the role a test asks for (admin by default), so CLI subprocesses run as
a known operator.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.office import ROOT, SITE_YAML, OfficeSite, site_fixture

HERE = Path(__file__).parent
PLUGINS = HERE / "plugins"

CONFIG = SITE_YAML + """\
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
  reception: {{title: Reception, permissions: ["core.directory.read", "core.notifications.send"]}}
  hr: {{title: HR, permissions: ["core.directory.*", "hrmini.*"]}}
  it: {{title: IT, permissions: ["core.directory.read", "core.audit.read", "itmini.*"]}}
  nobody: {{title: Nobody, permissions: []}}
operators:
  alice: {{name: Alice Admin, roles: [admin], email: alice@test.example}}
  bob: {{name: Bob Berger, roles: [reception], email: bob@test.example}}
  eva: {{name: Eva Engel, roles: [hr]}}
  carla: {{name: Carla Conrad, roles: [it]}}
{console}unknown_accounts: {unknown}
"""


class Site(OfficeSite):
    """A config folder and a data folder; ``open()`` gives a started Backdesk."""

    operators = ("alice", "bob", "eva", "carla")

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.configure()
        self.plugins([])

    def configure(self, console_role: str = "admin", unknown: str = "refuse") -> None:
        console = self.console_operator(f"[{console_role}]", name="Console Operator")
        self.write_backdesk_yaml(CONFIG.format(console=console, unknown=unknown))

    def plugins(self, names: list[str], settings: dict[str, dict] | None = None) -> None:
        """plugins.yaml loading the test plugins ``names`` from tests/services/plugins."""
        lines = ["plugins:"]
        for name in names:
            lines.append(f"  - name: {name}")
            lines.append(f"    path: {PLUGINS / (name + '.py')}")
            for key, value in ((settings or {}).get(name) or {}).items():
                if "settings:" not in lines[-1]:
                    lines.append("    settings:")
                lines.append(f"      {key}: {value}")
        if not names:
            lines = ["plugins: []"]
        (self.config_dir / "plugins.yaml").write_text("\n".join(lines) + "\n")

    def open(self, account: str = "alice", **kwargs):
        return super().open(account, **kwargs)

    def cli(self, *args: str, timeout: float = 300):
        """Run ``backdesk ARGS`` as a real subprocess (as the console account),
        the repository first on PYTHONPATH (the test plugins import tests.*)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        return super().cli(*args, timeout=timeout, env=env)


site = site_fixture(Site)


@pytest.fixture
def office(site):
    """A site with a few departments and people, opened as alice (admin)."""
    bd = site.open("alice")
    people = bd.services.people
    ids = {}
    ids["it"] = people.add_department("IT")
    ids["hr"] = people.add_department("Personal / HR")
    ids["reception"] = people.add_department("Empfang / Reception")
    ids["anna"] = people.add_person(name="Anna Becker", department_id=ids["hr"], title="Personalreferentin",
                                    extension="141", email="anna.becker@test.example",
                                    start_date="2019-04-01")
    ids["jan"] = people.add_person(name="Jan Köhler", department_id=ids["it"], title="IT-Support",
                                   extension="123", email="jan.koehler@test.example", manager_id=None)
    ids["emily"] = people.add_person(name="Emily Clarke", department_id=ids["reception"],
                                     title="Receptionist", extension="101", manager_id=ids["anna"])
    bd.ids = ids
    return bd
