"""Ten SSH sessions at once, each writing: nothing is lost.

The clients are asyncssh's (ten OpenSSH clients in tmux would test the same
server path at ten times the cost); each requests a PTY, waits for its
dashboard and sends a note through the Notifications screen like a person.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from tests.serve.sshsite import DEADLINE, alive, focused_label, plain

F4, DOWN, ENTER, TAB, CTRL_S = b"\x1bOS", b"\x1b[B", b"\r", b"\t", b"\x13"


class Client:
    def __init__(self, process) -> None:
        self.process = process
        self.buf = bytearray()
        self.mark = 0
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            data = await self.process.stdout.read(65536)
            if not data:
                return
            self.buf += data

    async def _wait(self, found, what: str) -> None:
        """Wait until ``found(output since the last key)`` holds."""
        start = self.mark
        deadline = time.monotonic() + DEADLINE
        while not found(bytes(self.buf[start:])):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} never arrived; the end of the output:\n"
                                     f"{plain(bytes(self.buf))[-800:]}")
            await asyncio.sleep(0.05)

    async def wait_for(self, text: str) -> None:
        """Wait for ``text`` in what arrived since the last key."""
        await self._wait(lambda out: text in plain(out), repr(text))

    async def wait_for_focus(self, label: str) -> None:
        """Wait until the form shows the field labelled ``label`` focused —
        the cue a person waits for before typing into it."""
        shown = focused_label(label)
        await self._wait(lambda out: shown.search(out.decode("utf-8", "replace")) is not None,
                         f"focus on {label!r}")

    def keys(self, data: bytes) -> None:
        self.mark = len(self.buf)
        self.process.stdin.write(data)


async def one_session(site, n: int) -> None:
    import asyncssh

    who = "alice" if n % 2 else "bob"
    key = asyncssh.read_private_key(str(site.keys[who]))
    async with asyncssh.connect("127.0.0.1", site.port, username=who, client_keys=[key],
                                known_hosts=None) as conn:
        process = await conn.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
        client = Client(process)
        await client.wait_for("Welcome")
        client.keys(F4)
        await client.wait_for("unread of")
        client.keys(b"n")
        await client.wait_for("Send a note")
        await client.wait_for_focus("To *")
        client.keys(ENTER)
        await client.wait_for("Alice Admin (alice)")  # the choices opened
        client.keys(DOWN + ENTER)  # both to the open list, in order
        await client._wait(lambda out: re.search(r"Alice Admin \(alice\)\s*▼", plain(out)) is not None,
                           "the choice closed on Alice")
        client.keys(TAB)
        await client.wait_for_focus("Message *")
        client.keys(f"note {n} from {who}".encode())
        await client.wait_for(f"note {n} from {who}")
        client.keys(CTRL_S)
        await client.wait_for("Sent.")
        process.stdin.write(b"\x11")  # Ctrl+Q: leave
        await asyncio.wait_for(process.wait_closed(), DEADLINE)
        client.reader.cancel()


async def test_ten_sessions_at_once_lose_nothing(ssh_site):
    ssh_site.start()
    await asyncio.gather(*(one_session(ssh_site, n) for n in range(10)))
    log = ssh_site.log()
    assert log.count("started (pid") == 10
    assert log.count("(quit, exit 0") == 10, log
    assert not any(alive(pid) for pid in ssh_site.session_pids())

    from core.plugins.runtime import open_backdesk

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
