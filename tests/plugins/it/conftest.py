"""Fixtures for the IT plugin: a small office in tmp_path with the real plugin.

Operators: alice (admin), carla and dirk (the IT team), sam (staff: may open
and read tickets). The OS account running the tests is in the IT team too
(and admin), so CLI subprocesses and the Pilot run as a team member.
"""

from __future__ import annotations

import pytest

from tests.office import SITE_YAML, OfficeSite, add_people, site_fixture

CONFIG = SITE_YAML + """\
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


class Site(OfficeSite):
    operators = ("alice", "carla", "dirk", "sam")

    def __init__(self, root) -> None:
        super().__init__(root)
        self.write_backdesk_yaml(CONFIG.format(console=self.console_operator("[admin, it]")))
        self.plugins(SETTINGS)

    def plugins(self, settings: dict) -> None:
        import yaml

        doc = {"plugins": [{"name": "it", "settings": settings}]}
        (self.config_dir / "plugins.yaml").write_text(yaml.safe_dump(doc))


site = site_fixture(Site)


@pytest.fixture
def office(site):
    """A started Backdesk with a few people; returns (bd, ctx, people ids by first name)."""
    bd = site.open()
    _, ids = add_people(bd, "IT", ("Anna Arndt", "Ben Brandt", "Clara Conrad", "Dora Dietz"))
    return bd, bd.context("it"), ids
