"""Hostile values for every option and argument of every command
(tests/shell/cli_sweep.py): each refused on one line with exit 2, never an
internal error, a traceback or an escape sequence on the terminal."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SWEEP = Path(__file__).with_name("cli_sweep.py")
ROOT = Path(__file__).resolve().parents[2]
SHARDS = 3


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
    # the ~1000 runs in SHARDS sweeps at once, each on its own copy of the
    # site (a command of one must not meet another's writes): this one test
    # took 100-150 s alone and was the suite's last to end
    sweeps = []
    for i in range(SHARDS):
        config_dir, data_dir = tmp_path / f"site{i}" / "config", tmp_path / f"site{i}" / "data"
        shutil.copytree(site.config_dir, config_dir)
        shutil.copytree(site.data_dir, data_dir)
        env = {**os.environ, "SWEEP_WORK": str(tmp_path / f"work{i}"), "SWEEP_SHARD": f"{i}/{SHARDS}",
               "PYTHONPATH": str(ROOT)}
        out, err = tmp_path / f"sweep{i}.out", tmp_path / f"sweep{i}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen([sys.executable, str(SWEEP), str(config_dir), str(data_dir)],
                                    stdout=stdout, stderr=stderr, env=env, preexec_fn=_limit_memory)
        sweeps.append((proc, out, err))
    failures, runs = [], []
    for proc, out, err in sweeps:
        assert proc.wait(timeout=900) == 0, err.read_text(errors="replace")[-3000:]
        failures += json.loads(out.read_text())
        runs.append(int(err.read_text().split()[-2]))  # its last line: "N runs"
    assert min(runs) > 100 and sum(runs) > 900, runs  # every shard swept its share
    report = "\n".join(f"{f['command']} {f['param']}={f['value']!r}: {f['why']}: {f['stderr']}" for f in failures)
    assert failures == [], report
