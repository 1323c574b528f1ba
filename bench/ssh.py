"""SSH benchmark: bytes per keystroke through a 1,000-row list, time to dashboard.

Prints a table (not a timed test). The SSH server (``core.cli.serve.ssh``) runs
in this process on a free port; the client is asyncssh's, with a PTY of
80x24 and TERM=xterm-256color. Two apps are served *the same way* (same
server, PTY, ``TEXTUAL_ANIMATIONS=none``):

* Backdesk with 1,000 people: F3 opens the Directory, then Down is pressed
  ``--keys`` times while the cursor moves through the RecordTable;
* the baseline, in the same run: a bare Textual app with a 1,000-row
  DataTable (same columns) and the same keystrokes.

Bytes per keystroke = every byte the server sent to the client from the
key until the screen is quiet again (100 ms without output).
Time to first screen = from opening the TCP connection until the
dashboard's "Welcome" (baseline: the first row) has arrived.

    python bench/ssh.py [--keys N] [--connects N]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1b\][^\x07]*\x07")
DOWN, F3 = b"\x1b[B", b"\x1bOR"
QUIET = 0.1

BASELINE_APP = '''
from textual.app import App
from textual.widgets import DataTable, Footer, Header

class Bare(App):
    def compose(self):
        yield Header()
        yield DataTable(cursor_type="row")
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("Name", "Ext.", "Department", "Job title", "Email", "Status")
        for i in range(1000):
            table.add_row(f"Person {i:04d} Example", str(1000 + i), f"Department {i % 20}",
                          "Sachbearbeiter", f"p{i}@example.com", "active")
        table.focus()

Bare().run()
'''


def plain(data: bytes) -> str:
    return ANSI.sub(b"", data).decode("utf-8", "replace")


def make_site(root: Path, people: int) -> tuple[Path, Path, object]:
    import asyncssh

    from core.plugins.runtime import open_backdesk

    key = asyncssh.generate_private_key("ssh-ed25519")
    config_dir, data_dir = root / "config", root / "data"
    config_dir.mkdir()
    (config_dir / "backdesk.yaml").write_text(f"""\
site: {{name: Bench GmbH}}
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
operators:
  alice: {{name: Alice Admin, roles: [admin]}}
ssh:
  authorized_keys:
    alice: ["{key.export_public_key().decode().strip()}"]
""")
    (config_dir / "plugins.yaml").write_text("plugins: []\n")
    csv = io.StringIO()
    csv.write("name,department,title,extension,email,status\n")
    for i in range(people):
        csv.write(f"Person {i:04d} Example,Department {i % 20},Sachbearbeiter,{1000 + i},"
                  f"p{i}@example.com,active\n")
    csv.seek(0)
    bd = open_backdesk(config_dir, data_dir, account="alice")
    try:
        for d in range(20):
            bd.services.people.add_department(f"Department {d}")
        bd.services.people.import_csv(csv)
    finally:
        bd.close()
    return config_dir, data_dir, key


class Client:
    def __init__(self, process) -> None:
        self.process = process
        self.buf = bytearray()
        self.changed = time.monotonic()
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            data = await self.process.stdout.read(65536)
            if not data:
                return
            self.buf += data
            self.changed = time.monotonic()

    async def wait_for(self, text: str, since: int = 0, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in plain(bytes(self.buf[since:])):
            if time.monotonic() > deadline:
                raise SystemExit(f"{text!r} never arrived")
            await asyncio.sleep(0.005)

    async def quiet(self) -> None:
        await asyncio.sleep(0.02)
        while time.monotonic() - self.changed < QUIET:
            await asyncio.sleep(0.01)

    async def key(self, data: bytes) -> int:
        start = len(self.buf)
        self.process.stdin.write(data)
        await self.quiet()
        return len(self.buf) - start


async def session(port: int, key, ready: str, before_keys, keys: int):
    import asyncssh

    t0 = time.perf_counter()
    async with asyncssh.connect("127.0.0.1", port, username="alice", client_keys=[key],
                                known_hosts=None) as conn:
        process = await conn.create_process(term_type="xterm-256color", term_size=(80, 24), encoding=None)
        client = Client(process)
        await client.wait_for(ready)
        first = time.perf_counter() - t0
        await client.quiet()
        per_key = []
        if keys:
            await before_keys(client)
            per_key = [await client.key(DOWN) for _ in range(keys)]
        process.stdin.write(b"\x11")  # Ctrl+Q
        try:
            await asyncio.wait_for(process.wait_closed(), 10)
        except asyncio.TimeoutError:
            pass
        client.task.cancel()
        return first, per_key


async def open_directory(client: Client) -> None:
    mark = len(client.buf)
    client.process.stdin.write(F3)
    await client.wait_for("of 1000", since=mark)
    await client.quiet()
    await client.key(DOWN)  # from the search box into the table (not counted)


async def nothing(client: Client) -> None:
    await client.quiet()


def stats(values: list[float]) -> tuple[float, float, float]:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
    return statistics.median(values), p90, statistics.mean(values)


async def main(args) -> None:
    from core.config import load_config
    from core.cli.serve import ssh as serve_ssh

    root = Path(tempfile.mkdtemp(prefix="bench-ssh-"))
    try:
        config_dir, data_dir, key = make_site(root, 1000)
        config = load_config(config_dir, data_dir)
        server, hub = await serve_ssh.start_server(config, port=0)
        port = server.sockets[0].getsockname()[1]
        baseline = root / "bare.py"
        baseline.write_text(BASELINE_APP)
        backdesk_argv = hub.child_argv

        rows = []
        for name, argv, ready, before in (
                ("Backdesk Directory (RecordTable)", backdesk_argv, "Welcome", open_directory),
                ("bare Textual DataTable (baseline)", lambda: [sys.executable, str(baseline)],
                 "Person 0000", nothing)):
            hub.child_argv = argv
            firsts = []
            for _ in range(args.connects):
                first, _ = await session(port, key, ready, before, 0)
                firsts.append(first)
            first, per_key = await session(port, key, ready, before, args.keys)
            firsts.append(first)
            rows.append((name, stats(per_key), sum(per_key), min(firsts), statistics.median(firsts)))
        server.close()
        hub.closing = True

        print(f"\n{args.keys} x Down over SSH (80x24, xterm-256color, TEXTUAL_ANIMATIONS=none); "
              f"connect samples: {args.connects + 1}\n")
        print("| app | bytes/key p50 | p90 | mean | total | first screen min | median |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, (p50, p90, mean), total, fmin, fmed in rows:
            print(f"| {name} | {p50:,.0f} | {p90:,.0f} | {mean:,.0f} | {total:,} | "
                  f"{fmin * 1000:,.0f} ms | {fmed * 1000:,.0f} ms |")
        ratio = rows[0][1][0] / rows[1][1][0] if rows[1][1][0] else float("nan")
        print(f"\nBackdesk / baseline bytes per key (p50): {ratio:.2f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200, help="Down presses per app (default 200)")
    parser.add_argument("--connects", type=int, default=4, help="extra connects to time (default 4)")
    import logging

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parser.parse_args()))
