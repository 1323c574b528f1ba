"""A shell whose terminal went away ends, even when Textual cannot leave."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: a shell stand-in whose exit never finishes, as Textual's did when its output
#: queue blocked on a terminal that was gone
STUCK_SHELL = textwrap.dedent("""
    import asyncio
    from core.cli.launch import _exit_on_hangup

    class StuckShell:
        _loop = None
        def exit(self, result=None, return_code=0):
            pass  # leaving never completes

    app = StuckShell()

    async def main():
        app._loop = asyncio.get_running_loop()
        print("ready", flush=True)
        await asyncio.sleep(3600)

    _exit_on_hangup(app, grace=1.0)
    asyncio.run(main())
""")


def test_a_hangup_ends_the_process_even_when_the_shell_cannot_leave():
    proc = subprocess.Popen([sys.executable, "-c", STUCK_SHELL], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGHUP)
        # the bound only ends a failing test: without the watchdog the process sleeps an hour
        assert proc.wait(timeout=120) == 128 + signal.SIGHUP
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
