"""Fixtures for the shell tests: a tiny site with sample plugins."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import storage_yaml
from tests.office import SITE_YAML

SAMPLES = Path(__file__).parent / "sample_plugins"

CONFIG = SITE_YAML + """\
roles:
  admin: {title: Administrator, permissions: ["*"]}
  reception: {title: Reception, permissions: ["greeter.*", "core.directory.read"]}
operators:
  alice: {name: Alice Admin, roles: [admin]}
  bob: {name: Bob Reception, roles: [reception]}
"""


class Site:
    """A config folder and a data folder in tmp_path."""

    def __init__(self, root: Path) -> None:
        self.config_dir = root / "config"
        self.data_dir = root / "data"
        self.config_dir.mkdir()
        from core.services.access import current_account

        me = current_account()
        extra = f"  {me}: {{name: Test Runner, roles: [admin]}}\n" if me not in ("alice", "bob") else ""
        (self.config_dir / "backdesk.yaml").write_text(CONFIG + extra + storage_yaml(self.config_dir))
        self.plugins([])

    def plugins(self, entries: list[dict]) -> None:
        """Write plugins.yaml: entries like {"name": "greeter", "sample": True}."""
        lines = ["plugins:"]
        for e in entries:
            lines.append(f"  - name: {e['name']}")
            if e.get("sample"):
                lines.append(f"    path: {SAMPLES / (e['name'] + '.py')}")
            if "enabled" in e:
                lines.append(f"    enabled: {'true' if e['enabled'] else 'false'}")
            if "settings" in e:
                lines.append("    settings:")
                for k, v in e["settings"].items():
                    lines.append(f"      {k}: {v}")
        (self.config_dir / "plugins.yaml").write_text("\n".join(lines) + "\n")

    def open(self, account: str = "alice", **kwargs):
        from core.plugins.runtime import open_backdesk

        return open_backdesk(self.config_dir, self.data_dir, account=account, **kwargs)

    def cli_args(self) -> list[str]:
        return ["--config-dir", str(self.config_dir), "--data-dir", str(self.data_dir)]


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path)
