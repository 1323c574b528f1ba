"""Fixtures for the HR plugin: a small office in tmp_path with the real plugin.

Operators: alice (admin), eva (hr), carla (it: no HR rights), dieter
(accounting: may read pay for payroll), ina (Ina Intern, staff, linked to her
own directory entry). The OS account running the tests is HR and admin, so
CLI subprocesses and the Pilot run as HR unless a test says otherwise.
"""

from __future__ import annotations

import pytest

from tests.office import SITE_YAML, OfficeSite, add_people, site_fixture

CONFIG = SITE_YAML + """\
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


class Site(OfficeSite):
    operators = ("alice", "eva", "carla", "dieter", "ina")

    def __init__(self, root) -> None:
        super().__init__(root)
        self.console_roles = "[hr, admin]"
        self.write_config()
        self.plugins(["hr"])

    def write_config(self, roles: str | None = None) -> None:
        """backdesk.yaml with the console operator in ``roles`` (HR and admin by default)."""
        self.write_backdesk_yaml(CONFIG.format(console=self.console_operator(roles or self.console_roles)))

    def plugins(self, names: list[str], settings: dict | None = None) -> None:
        import yaml

        doc = {"plugins": [dict({"name": n}, **({"settings": settings[n]} if settings and n in settings else {}))
                           for n in names]}
        (self.config_dir / "plugins.yaml").write_text(yaml.safe_dump(doc))


site = site_fixture(Site)


def make_office(bd) -> dict:
    """Departments and people: ids 1 Anna (head), 2 Ben, 3 Ina."""
    sales, ids = add_people(bd, "Sales", ("Anna Arndt", "Ben Brandt", "Ina Intern"), start_date="2020-01-01")
    return {"sales": sales, **ids}


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
