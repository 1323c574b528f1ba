"""Ten SSH sessions at once, each writing: nothing is lost.

The clients are asyncssh's (ten OpenSSH clients in tmux would test the same
server path at ten times the cost); each requests a PTY, waits for its
dashboard and sends a note through the Notifications screen like a person.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.serve.sshsite import alive, plain

F4, DOWN, ENTER, TAB, CTRL_S = b"\x1bOS", b"\x1b[B", b"\r", b"\t", b"\x13"


class Client:
    def __init__(self, process) -> None:
        self.process = process
        self.buf = bytearray()
        self.changed = time.monotonic()
        self.mark = 0
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            data = await self.process.stdout.read(65536)
            if not data:
                return
            self.buf += data
            self.changed = time.monotonic()

    async def wait_for(self, text: str, timeout: float = 30.0) -> None:
        """Wait for ``text`` in what arrived since the last key."""
        start = self.mark
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in plain(bytes(self.buf[start:])):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{text!r} never arrived; the end of the output:\n{plain(bytes(self.buf))[-800:]}")

    async def settle(self, quiet: float = 0.25, timeout: float = 10.0) -> None:
        """Wait until the screen has stopped changing."""
        deadline = time.monotonic() + timeout
        await asyncio.sleep(0.05)
        while time.monotonic() < deadline and time.monotonic() - self.changed < quiet:
            await asyncio.sleep(0.05)

    async def keys(self, data: bytes, settle: bool = True) -> None:
        self.mark = len(self.buf)
        self.process.stdin.write(data)
        if settle:
            await self.settle()


async def one_session(site, n: int) -> None:
    import asyncssh

    who = "alice" if n % 2 else "bob"
    key = asyncssh.read_private_key(str(site.keys[who]))
    async with asyncssh.connect("127.0.0.1", site.port, username=who, client_keys=[key],
                                known_hosts=None) as conn:
        process = await conn.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
        client = Client(process)
        await client.wait_for("Welcome")
        await client.settle()
        await client.keys(F4, settle=False)
        await client.wait_for("unread of")
        await client.keys(b"n", settle=False)
        await client.wait_for("Send a note")
        await client.settle()
        await client.keys(ENTER, settle=False)
        await client.wait_for("Alice Admin (alice)")  # the choices opened
        await client.settle()
        await client.keys(DOWN)
        await client.keys(ENTER, settle=False)
        await client.wait_for("Alice Admin (alice)")  # chosen
        await client.settle()
        await client.keys(TAB)
        await client.keys(f"note {n} from {who}".encode(), settle=False)
        await client.wait_for(f"note {n} from {who}")
        await client.settle()
        await client.keys(CTRL_S, settle=False)
        await client.wait_for("Sent.")
        process.stdin.write(b"\x11")  # Ctrl+Q: leave
        await asyncio.wait_for(process.wait_closed(), 20)
        client.reader.cancel()


async def test_ten_sessions_at_once_lose_nothing(ssh_site):
    ssh_site.start()
    started = time.monotonic()
    await asyncio.gather(*(one_session(ssh_site, n) for n in range(10)))
    took = time.monotonic() - started
    log = ssh_site.log()
    assert log.count("started (pid") == 10
    assert log.count("(quit, exit 0") == 10, log
    assert not any(alive(pid) for pid in ssh_site.session_pids())

    from core.runtime import open_backdesk

    bd = open_backdesk(ssh_site.config_dir, ssh_site.data_dir, account="alice")
    try:
        notes = bd.store.table("core", "notifications").all()
        problems = bd.store.check()
    finally:
        bd.close()
    assert problems == []
    assert sorted(n["text"] for n in notes) == sorted(
        f"note {n} from {'alice' if n % 2 else 'bob'}" for n in range(10))
    assert {n["account"] for n in notes} == {"alice"}
    assert took < 80
