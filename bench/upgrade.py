"""The first start after an upgrade, as the terminal shows it (#23, tenth session).

    cp -a /srv/year1 /srv/year1-copy      # a year --prepare left, written by the release before
    python bench/upgrade.py /srv/year1-copy --backend tinydb --sessions 2
    python bench/upgrade.py /srv/year1-copy --backend tinydb --code /path/to/other/checkout

Starts ``--sessions`` ``backdesk`` shells at once (0.5 s apart) on the copy
(its TinyDB folder in place, or its PostgreSQL cluster), each on a
terminal of its own (a pty), and prints every line each terminal shows
before its first screen, with the second it came at, then the second the
first screen came. The copy is upgraded by the run: copy it again for the
next one. ``--code``: the checkout whose backdesk runs (default: this one).
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests" / "storage")]

SCREEN = re.compile(rb"\x1b\[\?1049h")  # the alternate screen: the shell's first frame begins


def session(argv: list[str], code: Path, started: float) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["PYTHONPATH"] = str(code)
        os.environ["COLUMNS"], os.environ["LINES"] = "120", "40"
        os.execv(argv[0], argv)
    return pid, fd


def watch(sessions: list[tuple[int, int]], started: float, timeout: float) -> list[list[tuple[float, str]]]:
    seen: list[list[tuple[float, str]]] = [[] for _ in sessions]
    buffers = [b""] * len(sessions)
    open_fds = {fd: i for i, (_, fd) in enumerate(sessions)}
    while open_fds and time.monotonic() - started < timeout:
        ready, _, _ = select.select(list(open_fds), [], [], 0.5)
        for fd in ready:
            i = open_fds[fd]
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            at = time.monotonic() - started
            if not chunk:
                seen[i].append((at, "(ended)"))
                del open_fds[fd]
                continue
            buffers[i] += chunk
            screen = SCREEN.search(buffers[i])
            text = buffers[i][:screen.start()] if screen else buffers[i]
            *lines, rest = text.split(b"\n")
            for line in lines:
                seen[i].append((at, line.decode(errors="replace").rstrip("\r")))
            buffers[i] = rest if not screen else b""
            if screen:
                seen[i].append((at, "(first screen)"))
                del open_fds[fd]
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("year", type=Path, help="a copy of a prepared year (bench/year.py --prepare)")
    parser.add_argument("--backend", choices=["tinydb", "postgresql"], default="tinydb")
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    import year

    server = None
    work = Path(tempfile.mkdtemp(prefix="bench-upgrade-"))
    try:
        dsn = None
        if args.backend == "postgresql":
            from pg_server import PgServer

            server = PgServer(durable=True, keep=str(args.year / "pg")).start()
            dsn = server.dsn(schema="year")
        config = year.write_config(work, args.year, args.year / "tinydb" / "data", dsn)
        argv = [str(Path(sys.executable).parent / "backdesk"), "--config-dir", str(config)]
        started = time.monotonic()
        sessions = []
        for n in range(args.sessions):
            sessions.append(session(argv, args.code, started))
            if n + 1 < args.sessions:
                time.sleep(0.5)
        seen = watch(sessions, started, args.timeout)
        for n, lines in enumerate(seen, 1):
            print(f"session {n} ({args.backend}, {args.code}):")
            for at, line in lines:
                print(f"  {at:6.2f} s  {line}")
        for pid, fd in sessions:
            try:
                os.kill(pid, signal.SIGHUP)  # leaves as after a hangup
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            os.close(fd)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
