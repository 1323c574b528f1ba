"""Helpers for the kit tests: install a plugin package the way a team would."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "examples"


def pip_install(project: Path, target: Path) -> Path:
    """``pip install --no-deps --no-build-isolation --target TARGET PROJECT``:
    a real install from the folder (metadata, entry points), no index needed.

    A copy is built, so setuptools' build/ and *.egg-info never land in the
    source folder (examples/ stays clean)."""
    copy = Path(tempfile.mkdtemp(prefix="build-", dir=target.parent)) / project.name
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    project = copy
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--target", str(target), str(project)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PIP_NO_CACHE_DIR": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return target
