"""Helpers for the storage tests: real writer processes, file fingerprints."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

WORKER = str(Path(__file__).with_name("worker.py"))


def spawn(cmd: str, data_dir, *args, compact_bytes: int | None = None) -> subprocess.Popen:
    """Start ``worker.py cmd data_dir args...``; its stdout is a pipe of text lines."""
    env = dict(os.environ)
    if compact_bytes is not None:
        env["COMPACT_BYTES"] = str(compact_bytes)
    # stderr goes to a file, not a second pipe: with one pipe, communicate()
    # reads through proc.stdout's buffer, so lines already buffered by a
    # readline() are not lost.
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, WORKER, cmd, str(data_dir), *map(str, args)],
        stdout=subprocess.PIPE, stderr=errors, text=True, env=env,
    )
    proc.errors_file = errors  # type: ignore[attr-defined]
    return proc


def stderr_of(proc: subprocess.Popen) -> str:
    f = proc.errors_file  # type: ignore[attr-defined]
    f.seek(0)
    return f.read().decode(errors="replace")


def finish(proc: subprocess.Popen, timeout: float = 120) -> list[str]:
    # communicate() without a timeout reads through proc.stdout's buffer; with
    # one it reads the pipe itself, and lines a readline() had buffered were
    # lost (test_backup_while_another_process_writes failed so on a busy
    # machine). The timeout is a watchdog that kills the worker instead.
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        out, _ = proc.communicate()
    finally:
        watchdog.cancel()
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{stderr_of(proc)}"
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



class Target:
    """Where a test's store lives: a data dir (TinyDB backend) or a DSN (PostgreSQL)."""

    def __init__(self, backend: str, where: str) -> None:
        self.backend = backend
        self.where = where

    @property
    def pg(self) -> bool:
        return self.backend == "postgresql"

    def open(self, **options):
        if self.pg:
            from core.storage.pg import open_pg_store

            options.pop("compact_bytes", None)
            return open_pg_store(self.where, **options)
        from core.storage import open_store

        return open_store(self.where, **options)

    def arg(self) -> str:
        """How worker.py is told where the store is."""
        return f"pg:{self.where}" if self.pg else self.where

    def __repr__(self) -> str:
        return f"<Target {self.backend} {self.where}>"
