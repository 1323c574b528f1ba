"""Shared helpers of the telephony tests (a unique module name: no clash with other conftests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import storage_yaml

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
        from core.access import current_account

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
        from core.runtime import open_backdesk

        return open_backdesk(self.config_dir, self.data_dir, account=account, load_entry_points=False)

    def cli(self, *args: str, account: str = "bob", input: str | None = None) -> subprocess.CompletedProcess:
        if self.cli_role != self.ROLES[account]:
            self._write_config(self.ROLES[account])
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.run([sys.executable, "-m", "core", "--config-dir", str(self.config_dir),
                               "--data-dir", str(self.data_dir), *args],
                              capture_output=True, text=True, env=env, cwd=str(ROOT), input=input, timeout=60)


