"""Holds (core.storage.holds): work done once per office. One process has a
hold, the others stand by; when the holder releases it or is killed, the
next to ask takes it. On both backends (flock; PostgreSQL advisory lock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.storage import StorageError

ROOT = Path(__file__).resolve().parents[2]


def _takes(hold) -> bool:
    """Ask as one standing by does, until the hold is free (a released
    PostgreSQL session ends a moment after its connection is closed)."""
    end = time.monotonic() + 60  # ends a failing run only
    while not hold.held():
        assert time.monotonic() < end, "the hold was not freed"
        time.sleep(0.05)
    return True


def test_one_holder_the_other_stands_by_until_it_releases(target, tmp_path):
    a, b = target.open(), target.open()
    try:
        hold_a = a.hold("it.checks", who="host-a:1 carla", local_dir=tmp_path)
        hold_b = b.hold("it.checks", who="host-b:2 dirk", local_dir=tmp_path)
        assert b.holds(local_dir=tmp_path) == []  # never taken yet
        assert hold_a.held() and hold_a.held()  # asking again keeps it
        assert not hold_b.held()
        assert hold_b.holder()["who"] == "host-a:1 carla"
        (row,) = b.holds(local_dir=tmp_path)
        assert row["name"] == "it.checks" and row["held"] and row["who"] == "host-a:1 carla" and row["since"]
        hold_a.release()
        assert _takes(hold_b) and not hold_a.held()
        assert a.holds(local_dir=tmp_path)[0]["who"] == "host-b:2 dirk"
        hold_b.release()
        end = time.monotonic() + 60  # (the session ends a moment after its connection is closed)
        while a.holds(local_dir=tmp_path)[0]["held"]:
            assert time.monotonic() < end, "still held after release"
            time.sleep(0.05)
        other = b.hold("documents.outbox", who="host-b:2 dirk", local_dir=tmp_path)
        assert other.held()  # holds of other names are independent
        other.release()
        with pytest.raises(StorageError, match="hold"):
            a.hold("../etc", who="x", local_dir=tmp_path)
    finally:
        a.close()
        b.close()


HOLDER = textwrap.dedent("""\
    import sys, time
    sys.path.insert(0, {root!r})
    from storage_helpers import Target
    store = Target({backend!r}, {where!r}).open()
    hold = store.hold("it.checks", who="host-a:killed", local_dir={local!r})
    assert hold.held()
    print("held", flush=True)
    time.sleep(600)
""")


def test_a_killed_holder_is_taken_over(target, tmp_path):
    """SIGKILL: no goodbye; the kernel (flock) or PostgreSQL (the session
    ends with its connection) frees the hold for the one standing by."""
    script = HOLDER.format(root=str(Path(__file__).parent), backend=target.backend, where=target.where,
                           local=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    store = target.open()
    try:
        assert proc.stdout.readline().strip() == "held"
        hold = store.hold("it.checks", who="host-b:standby", local_dir=tmp_path)
        assert not hold.held() and hold.holder()["who"] == "host-a:killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        _takes(hold)  # standing by: ask again, as a watcher does every second
        assert hold.holder()["who"] == "host-b:standby"
        hold.release()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        store.close()
