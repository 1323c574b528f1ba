"""Hostile values for every option and argument of every command
(tests/shell/cli_sweep.py): each refused on one line with exit 2, never an
internal error, a traceback or an escape sequence on the terminal."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

SWEEP = Path(__file__).with_name("cli_sweep.py")
ROOT = Path(__file__).resolve().parents[2]


def _limit_memory():  # a bad input must not take the machine down with it
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.mark.tinydb_only("the sweep is about the command line's handling of input, the same on both backends")
def test_every_command_refuses_hostile_values_on_one_line(backdesk_site, tmp_path):
    site = backdesk_site
    site.plugins(["telephony", "documents", "it", "accounting", "hr"])
    assert site.cli("demo").code == 0
    from core.storage import open_store

    store = open_store(site.data_dir)  # snapshots: each of the ~1000 runs opens the store fast
    store.compact()
    store.close()
    env = {**os.environ, "SWEEP_WORK": str(tmp_path / "work"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(SWEEP), str(site.config_dir), str(site.data_dir)],
                          capture_output=True, text=True, env=env, timeout=900, preexec_fn=_limit_memory)
    assert proc.returncode == 0, proc.stderr[-3000:]
    failures = json.loads(proc.stdout)
    report = "\n".join(f"{f['command']} {f['param']}={f['value']!r}: {f['why']}: {f['stderr']}" for f in failures)
    assert failures == [], report
