"""Start-up: process start to the first painted dashboard, against a bare Textual app.

    python bench/startup.py [--runs 7]

Each run starts a new Python process in its own pseudo-terminal (Textual's
real driver, 100x30), and the child writes how long it took from the
parent's spawn to the moment the screen is painted:

- **backdesk**: the function the ``backdesk --demo --data-dir DIR`` command
  runs (``core.cli.open_shell``: config, operator, store, every enabled
  plugin, the app) on the demo company, ready when the frame after every
  dashboard card shows its content has been refreshed;
- **bare**: a Textual app with a Header, a Static and a Footer, ready when
  its first frame has been refreshed.

Both children signal from ``App.call_after_refresh``; both run from
bytecode (the script compiles core/ and plugins/ first).

Runs alternate between the two; the medians and their ratio are printed,
for the wall-clock time (the figure the target is about) and for the CPU
time the child used (steadier on a VM shared with other work).
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import termios
import struct
import fcntl
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD_BACKDESK = r'''
import os, sys, time
T0 = float(os.environ["BENCH_T0"])
from core.cli import open_shell

async def auto_pilot(pilot):
    import asyncio
    app = pilot.app
    for _ in range(4000):
        board = getattr(app.screen, "board", None)
        if board is not None and board.all_rendered:
            break
        await asyncio.sleep(0.002)
    painted = asyncio.Event()
    app.call_after_refresh(painted.set)  # the frame with the filled cards is out
    await painted.wait()
    with open(os.environ["BENCH_OUT"], "w") as fh:
        fh.write(f"{time.time() - T0} {time.process_time()}")
    app.exit()

open_shell(data_dir=os.environ["BENCH_DATA"], demo=True, auto_pilot=auto_pilot)
'''

CHILD_BARE = r'''
import os, time
T0 = float(os.environ["BENCH_T0"])
from textual.app import App
from textual.widgets import Footer, Header, Static

class Bare(App):
    def compose(self):
        yield Header()
        yield Static("Hello")
        yield Footer()

app = Bare()

async def auto_pilot(pilot):
    import asyncio
    painted = asyncio.Event()
    app.call_after_refresh(painted.set)  # the first frame is out
    await painted.wait()
    with open(os.environ["BENCH_OUT"], "w") as fh:
        fh.write(f"{time.time() - T0} {time.process_time()}")
    app.exit()

app.run(auto_pilot=auto_pilot)
'''


def run_in_pty(code: str, env: dict) -> tuple[float, float]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    out = tempfile.NamedTemporaryFile(delete=False)
    out.close()
    env = {**env, "BENCH_OUT": out.name, "TERM": "xterm-256color", "BENCH_T0": repr(time.time())}
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=ROOT, start_new_session=True)
    os.close(slave)

    def drain() -> None:
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc.wait(timeout=120)
    os.close(master)
    text = Path(out.name).read_text()
    os.unlink(out.name)
    if not text:
        raise SystemExit(f"child failed (exit {proc.returncode})")
    wall, cpu = text.split()
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # the demo's own folder ($XDG_DATA_HOME/backdesk-demo): only there does
        # --demo make an account the config does not know the demo's admin
        data = Path(tmp) / "backdesk-demo"
        env = {**os.environ, "BENCH_DATA": str(data), "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": tmp}
        env.pop("BACKDESK_DATA_DIR", None)
        # an installed Backdesk runs from bytecode like the Textual it is
        # measured against (site-packages has .pyc files); a machine with
        # PYTHONDONTWRITEBYTECODE=1 would otherwise compile ~100 modules per start
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "core"), str(ROOT / "plugins")],
                       check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "core", "--data-dir", str(data), "demo"],
                       env=env, cwd=ROOT, check=True, capture_output=True)
        plugins = json.loads(subprocess.run(
            [sys.executable, "-m", "core", "--demo", "--data-dir", str(data), "plugins", "--format", "json"],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout)
        # one warm-up each so both start from the same file-system cache
        run_in_pty(CHILD_BARE, env)
        run_in_pty(CHILD_BACKDESK, env)
        bare, full = [], []
        for _ in range(args.runs):
            bare.append(run_in_pty(CHILD_BARE, env))
            full.append(run_in_pty(CHILD_BACKDESK, env))
    enabled = [p["name"] for p in plugins if p["status"] == "ok"]
    print(f"start-up to first painted screen, median of {args.runs} runs (100x30 pty)")
    print(f"plugins enabled: {', '.join(enabled) or 'none (core only)'}")
    print(f"{'app':<36}{'wall s':>8}{'min':>8}{'max':>8}{'cpu s':>8}")
    for name, runs in (("bare Textual (Header/Static/Footer)", bare), ("backdesk dashboard (demo)", full)):
        walls = [w for w, _ in runs]
        print(f"{name:<36}{statistics.median(walls):>8.3f}{min(walls):>8.3f}{max(walls):>8.3f}"
              f"{statistics.median(c for _, c in runs):>8.3f}")
    ratio = statistics.median(w for w, _ in full) / statistics.median(w for w, _ in bare)
    cpu_ratio = statistics.median(c for _, c in full) / statistics.median(c for _, c in bare)
    print(f"ratio backdesk / bare: {ratio:.2f}x wall (target <= 1.5x), {cpu_ratio:.2f}x cpu")


if __name__ == "__main__":
    main()
