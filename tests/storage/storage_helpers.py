"""Helpers for the storage tests: real writer processes, file fingerprints."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = str(Path(__file__).with_name("worker.py"))


def spawn(cmd: str, data_dir, *args, compact_bytes: int | None = None) -> subprocess.Popen:
    """Start ``worker.py cmd data_dir args...``; its stdout is a pipe of text lines."""
    env = dict(os.environ)
    if compact_bytes is not None:
        env["COMPACT_BYTES"] = str(compact_bytes)
    return subprocess.Popen(
        [sys.executable, WORKER, cmd, str(data_dir), *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> list[str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{err}"
    return out.splitlines()


def fingerprint(root) -> dict[str, str]:
    """sha256 of every file under ``root`` (to prove nothing was touched)."""
    result = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                result[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return result


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"
