"""Helpers for the kit tests: install a plugin package the way a team would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "examples"


def pip_install(project: Path, target: Path) -> Path:
    """``pip install --no-deps --no-build-isolation --target TARGET PROJECT``:
    a real install from the folder (metadata, entry points), no index needed."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--target", str(target), str(project)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PIP_NO_CACHE_DIR": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return target
