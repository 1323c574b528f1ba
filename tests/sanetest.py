"""SANE's ``test`` backend as the tests' scanner: a real SANE device
(sane-backends' frontend tester) that scans without hardware.

:func:`sane_scanner` writes a private SANE configuration — ``dll.conf``
loading only the ``test`` backend, its ``test.conf`` with one device — and
points ``SANE_CONFIG_DIR`` at it for the test (and the CLI processes it
starts), so the machine's own scanners and /etc/sane.d play no part. It is
verified before use: ``scanimage -L`` must list ``test:0``. With
``jammed=True`` the device ends every page with SANE_STATUS_JAMMED. Its
feeder ("Automatic Document Feeder") is empty after 10 pages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.peers import private_dir, require_peer

SYSTEM_TEST_CONF = Path("/etc/sane.d/test.conf")

TEST_CONF = """\
# the test session's SANE test backend (tests/sanetest.py)
number_of_devices 1
mode Gray
depth 8
resolution 75.0
test-picture "{picture}"
read-status-code "{status}"
"""

FEEDER = "Automatic Document Feeder"


class SaneTest:
    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.device = "test:0"

    def write(self, *, jammed: bool = False, picture: str = "Grid") -> "SaneTest":
        (self.dir / "dll.conf").write_text("test\n")
        status = "SANE_STATUS_JAMMED" if jammed else "Default"
        (self.dir / "test.conf").write_text(TEST_CONF.format(picture=picture, status=status))
        return self

    def problems(self) -> list[str]:
        env = {**os.environ, "SANE_CONFIG_DIR": str(self.dir), "LC_ALL": "C"}
        proc = subprocess.run(["scanimage", "-L"], env=env, capture_output=True, text=True, timeout=120)
        return [] if f"`{self.device}'" in proc.stdout else [f"scanimage -L does not list {self.device}: "
                                                             f"{(proc.stdout + proc.stderr).strip()[:200]}"]


@pytest.fixture
def sane_scanner(monkeypatch):
    """The SANE test device, SANE_CONFIG_DIR pointing at its private configuration."""
    require_peer("SANE", shutil.which("scanimage") is not None, "apt-get install sane-utils libsane1")
    folder = private_dir("sane")
    scanner = SaneTest(folder).write()
    problems = scanner.problems()
    if problems:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail("SANE's test backend is not usable: " + "; ".join(problems))
    monkeypatch.setenv("SANE_CONFIG_DIR", str(folder))
    yield scanner
    shutil.rmtree(folder, ignore_errors=True)
