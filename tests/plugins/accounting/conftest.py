"""Fixtures for the accounting plugin: a small office in tmp_path with the real plugin.

Operators: alice (admin), dieter (accounting: everything in accounting),
clara (clerk: records bills, may not approve, pay or read salaries),
sam (staff: nothing in accounting), paula (payroll: hours, rates and runs,
not the directory). The OS account running the tests is
admin, so CLI subprocesses and the Pilot may do everything.
"""

from __future__ import annotations

import shutil

import pytest

from tests.office import SITE_YAML, OfficeSite, add_people, site_fixture

CONFIG = SITE_YAML + """\
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


class Site(OfficeSite):
    operators = ("alice", "dieter", "clara", "paula", "sam")

    def __init__(self, root) -> None:
        super().__init__(root)
        self.write_backdesk_yaml(CONFIG.format(console=self.console_operator("[admin]")))
        self.plugins(SETTINGS)

    def plugins(self, settings: dict) -> None:
        import yaml

        doc = {"plugins": [{"name": "accounting", "settings": settings}]}
        (self.config_dir / "plugins.yaml").write_text(yaml.safe_dump(doc))


site = site_fixture(Site)


@pytest.fixture
def office(site):
    """A started Backdesk with a few people; returns (bd, ctx, people ids by first name)."""
    bd = site.open()
    _, ids = add_people(bd, "Buchhaltung / Accounting", ("Anna Arndt", "Ben Brandt", "Clara Conrad", "Dora Dietz"))
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

