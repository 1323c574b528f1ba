"""What the test offices share: the lines every plugin's small office site
(``tests/plugins/*/conftest.py``, ``tests/services/conftest.py``) would
otherwise repeat, and the papers they file.

A conftest's ``Site`` is an :class:`OfficeSite` (``site_fixture(Site)`` makes
its ``site`` fixture); :func:`add_people` fills a directory; :func:`two_hosts`
makes two hosts of one office; :func:`simple_pdf` is a paper to file. Each
conftest keeps what is its own: its backdesk.yaml (roles, operators), its
plugins.yaml, its people.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pytest

from core.services.access import current_account
from tests.conftest import office_dsn, storage_yaml, use_postgresql

#: the repository (the CLI subprocesses run from here)
ROOT = Path(__file__).resolve().parents[1]

#: backdesk.yaml's site block of every test office (its roles and operators follow)
SITE_YAML = """\
site:
  name: Test GmbH
  locale: en_US
  timezone: Europe/Berlin
  currency: EUR
"""


class OfficeSite:
    """A test office in a folder: ``config/`` (backdesk.yaml, plugins.yaml) and
    ``data/``. A subclass writes its own backdesk.yaml (:meth:`write_backdesk_yaml`)
    and plugins.yaml; :meth:`open` and :meth:`cli` are the same everywhere."""

    #: the operators the subclass's backdesk.yaml names (the OS account running
    #: the tests is added as a console operator unless it is one of them)
    operators: tuple[str, ...] = ()

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_dir = root / "config"
        self.data_dir = root / "data"
        self.config_dir.mkdir(parents=True)
        self.opened: list = []

    def console_operator(self, roles: str, name: str = "Console Tester") -> str:
        """backdesk.yaml's line for the OS account running the tests (the CLI
        runs as it), "" when it is one of :attr:`operators` already."""
        me = current_account()
        return "" if me in self.operators else f"  {me}: {{name: {name}, roles: {roles}}}\n"

    def write_backdesk_yaml(self, text: str) -> None:
        """backdesk.yaml: ``text`` and the pass's storage block."""
        (self.config_dir / "backdesk.yaml").write_text(text + storage_yaml(self.config_dir))

    def open(self, account: str | None = None, **kwargs):
        """A started Backdesk as ``account`` (the OS account by default), closed by :meth:`close`."""
        from core.plugins.runtime import open_backdesk  # the runtime: only for a test that opens one

        bd = open_backdesk(self.config_dir, self.data_dir, account=account or current_account(), **kwargs)
        self.opened.append(bd)
        return bd

    def cli_args(self) -> list[str]:
        return ["--config-dir", str(self.config_dir), "--data-dir", str(self.data_dir)]

    def cli(self, *args: str, input: str | None = None, timeout: float = 300,
            env: dict | None = None) -> subprocess.CompletedProcess:
        """Run ``backdesk ARGS`` as a real subprocess (as the OS account), from the repository."""
        return subprocess.run([sys.executable, "-m", "core", *self.cli_args(), *args],
                              capture_output=True, text=True, cwd=ROOT, env=env or dict(os.environ),
                              input=input, timeout=timeout)

    def close(self) -> None:
        for bd in self.opened:
            bd.close()


def site_fixture(site_class: Callable[[Path], OfficeSite]):
    """The ``site`` fixture of a conftest: ``site = site_fixture(Site)``."""

    @pytest.fixture
    def site(tmp_path):
        s = site_class(tmp_path)
        yield s
        s.close()

    return site


def add_people(bd, department: str, names: Iterable[str], **fields) -> tuple[int, dict[str, int]]:
    """A department and people in it, each with ``<first name>@test.example``
    (and ``fields``), in one transaction: (the department's id, the people's
    ids by lower-case first name)."""
    people = bd.services.people
    with bd.store.transaction():
        dept = people.add_department(department)
        ids = {}
        for name in names:
            first = name.split()[0].lower()
            ids[first] = people.add_person(name=name, department_id=dept, email=f"{first}@test.example", **fields)
    return dept, ids


@contextlib.contextmanager
def two_hosts(site_class: Callable[[Path], OfficeSite], tmp_path: Path) -> Iterator[list]:
    """Hosts A and B of one office: two sites (config and data folders
    ``host-a``, ``host-b``) on one schema of the session's PostgreSQL
    server; closed afterwards."""
    dsn = office_dsn()
    sites = []
    for name in ("host-a", "host-b"):
        site = site_class(tmp_path / name)
        use_postgresql(site.config_dir, dsn)
        sites.append(site)
    try:
        yield sites
    finally:
        for site in sites:
            site.close()


def simple_pdf(text: str) -> bytes:
    """A one-page PDF whose text pypdf extracts (built by hand: no writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
