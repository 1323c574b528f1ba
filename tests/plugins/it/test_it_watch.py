"""``backdesk it checks watch``: the real command in processes of its own,
against real local TCP and HTTP servers that the tests stop and start.

One line per state change on stdout, a clean exit 0 on SIGTERM and SIGINT,
the work shared with operators' boards and other watchers, and one ticket
per outage however many processes record it.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from plugins.it import service as svc

ROOT = Path(__file__).resolve().parents[3]
#: the settings of conftest.Site (plugins() replaces them all)
SETTINGS = {"open_ticket_after": 5, "check_timeout": 2.0}

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (?P<name>\S+): (?P<state>\S+) \((?P<message>.*)\)$")


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Web:
    """A real HTTP server on a fixed port that the test stops and starts."""

    def __init__(self) -> None:
        self.httpd: http.server.ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    def start(self) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)  # reuses the address
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


class Listener:
    """A real TCP listener on a fixed port that the test closes and opens."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.port = 0
        self.start()

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen()
        self.port = sock.getsockname()[1]
        self.sock = sock

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


@pytest.fixture
def web():
    server = Web()
    yield server
    server.stop()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.stop()


class Watcher:
    """``backdesk it checks watch`` running in its own process; its stdout
    and stderr read as they come."""

    def __init__(self, site, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core", "--config-dir", str(site.config_dir), "--data-dir", str(site.data_dir),
             "it", "checks", "watch", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=dict(os.environ))
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True)]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def ready(self, timeout: float = 60) -> "Watcher":
        """Wait for the line on stderr that says it is watching (the signal
        handlers are in place then)."""
        wait_until(lambda: any(line.startswith("watching ") or line.startswith("überwache ") for line in self.err)
                   or self.proc.poll() is not None, timeout)
        assert self.proc.poll() is None, "\n".join(self.err)
        return self

    def changes(self, name: str | None = None) -> list[tuple[str, str, str]]:
        found = []
        for line in list(self.out):
            m = LINE.match(line)
            assert m, f"not a state-change line: {line!r}"
            if name is None or m["name"] == name:
                found.append((m["name"], m["state"], m["message"]))
        return found

    def states(self, name: str) -> list[str]:
        return [state for _n, state, _m in self.changes(name)]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        for t in self._readers:
            t.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def wait_until(predicate, timeout: float = 60.0, message: str = "condition not reached"):  # ends failing runs only
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{message} within {timeout}s")


@pytest.fixture
def watchers():
    started: list[Watcher] = []
    yield started
    for w in started:
        w.kill()


def _check_states(site) -> dict[str, str]:
    bd = site.open()
    try:
        return {c["name"]: c["state"] for c in bd.table("it.checks").all()}
    finally:
        bd.close()
        site.opened.remove(bd)


# ----------------------------------------------------------------------------- one watcher
def test_watch_prints_each_state_change_and_stops_cleanly_on_sigterm(site, web, listener, watchers):
    # the services answer or refuse at once; a long timeout keeps a slow
    # (loaded) machine from reading as an outage
    site.plugins({**SETTINGS, "check_interval": 60, "check_timeout": 10.0})
    assert site.cli("it", "checks", "add", "web", "http", f"http://127.0.0.1:{web.port}/").returncode == 0
    assert site.cli("it", "checks", "add", "port", "tcp", f"127.0.0.1:{listener.port}").returncode == 0
    w = Watcher(site, "--every", "0.5").ready()
    watchers.append(w)
    assert w.err[0] == "watching 2 checks every 0.5 s (SIGTERM or Ctrl+C stops)"
    wait_until(lambda: len(w.out) == 2)
    assert sorted(w.changes()) == [("port", "ok", "port open"), ("web", "ok", "HTTP 200")]

    listener.stop()
    wait_until(lambda: w.states("port") == ["ok", "failing"])
    assert w.changes("port")[-1] == ("port", "failing", "connection refused")
    web.stop()
    wait_until(lambda: w.states("web") == ["ok", "failing"])
    listener.start()
    web.start()
    wait_until(lambda: w.states("port") == ["ok", "failing", "ok"] and w.states("web") == ["ok", "failing", "ok"])
    time.sleep(1.5)  # three more rounds: nothing changed, nothing printed
    assert len(w.out) == 6

    assert w.stop(signal.SIGTERM) == 0
    assert w.err == ["watching 2 checks every 0.5 s (SIGTERM or Ctrl+C stops)", "stopped"]
    assert len(w.out) == 6
    # what it printed is what the store logged
    bd = site.open()
    log = bd.table("it.check_log").find(order_by=["id"])
    assert [e["state"] for e in log] == ["ok", "ok", "failing", "failing", "ok", "ok"]


def test_watch_stops_cleanly_on_sigint(site, listener, watchers):
    site.plugins({**SETTINGS, "check_interval": 1})
    site.cli("it", "checks", "add", "port", "tcp", f"127.0.0.1:{listener.port}")
    w = Watcher(site).ready()  # the check_interval setting: every second
    watchers.append(w)
    assert w.err[0] == "watching 1 check every 1 s (SIGTERM or Ctrl+C stops)"
    wait_until(lambda: w.out)
    assert w.stop(signal.SIGINT) == 0
    assert w.err[-1] == "stopped" and not any("Traceback" in line for line in w.err)
    assert w.changes() == [("port", "ok", "port open")]


def test_watch_leaves_checks_that_someone_probed_within_the_interval(site, listener, watchers):
    """Beside an operator's board or a `checks run`: a check probed less than
    an interval ago is not probed again."""
    site.plugins({**SETTINGS, "check_interval": 60})
    site.cli("it", "checks", "add", "port", "tcp", f"127.0.0.1:{listener.port}")
    assert site.cli("it", "checks", "run").returncode == 0
    bd = site.open()
    (before,) = bd.table("it.checks").all()
    w = Watcher(site).ready()
    watchers.append(w)
    time.sleep(2)
    (after,) = bd.table("it.checks").all()
    assert after["probed_at"] == before["probed_at"]  # not probed again
    assert w.out == []  # and nothing changed
    assert w.stop() == 0


def test_watch_refuses_a_bad_interval_in_one_line(site):
    r = site.cli("it", "checks", "watch", "--every", "0")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "--every" in r.stderr


def test_watch_in_german(site, listener, watchers):
    cfg = site.config_dir / "backdesk.yaml"
    cfg.write_text(cfg.read_text().replace("locale: en_US", "locale: de_DE"))
    site.plugins({**SETTINGS, "check_interval": 60})
    site.cli("it", "checks", "add", "port", "tcp", f"127.0.0.1:{listener.port}")
    w = Watcher(site, "--every", "0.5").ready()
    watchers.append(w)
    assert w.err[0] == "überwache 1 Prüfung alle 0,5 s (SIGTERM oder Strg+C beendet)"
    wait_until(lambda: w.out)
    listener.stop()
    wait_until(lambda: len(w.out) == 2)
    assert w.changes() == [("port", "ok", "port open"), ("port", "gestört", "connection refused")]
    assert w.stop() == 0
    assert w.err[-1] == "beendet"


# ----------------------------------------------------------------------------- two watchers and a board
def test_two_watchers_and_a_board_open_one_ticket_per_outage(site, office, web, watchers):
    """Two watcher processes and an operator's board (its worker in this
    process) record the same outages; each outage opens one ticket."""
    bd, ctx, ids = office
    site.plugins({**SETTINGS, "open_ticket_after": 0, "check_interval": 1, "check_timeout": 10.0})
    first = Watcher(site, "--every", "0.3").ready()
    watchers.append(first)
    second = Watcher(site, "--every", "0.3").ready()
    watchers.append(second)
    # added while they watch: both pick it up
    assert site.cli("it", "checks", "add", "web", "http", f"http://127.0.0.1:{web.port}/").returncode == 0
    board = site.open("carla").context("it")  # carla has the Service checks board open
    stop_board = threading.Event()
    board_errors: list[BaseException] = []

    def board_worker():  # what ChecksScreen's worker does on each tick
        while not stop_board.is_set():
            try:
                svc.run_checks(board, only_due=True)
            except BaseException as exc:  # reported below
                board_errors.append(exc)
                return
            stop_board.wait(0.2)

    worker = threading.Thread(target=board_worker, daemon=True)
    worker.start()
    tickets = ctx.table("tickets")
    try:
        both = (first, second)
        wait_until(lambda: all(w.states("web") == ["ok"] for w in both))
        for outage in (1, 2):
            web.stop()
            wait_until(lambda: tickets.count() == outage, message=f"ticket of outage {outage}")
            wait_until(lambda: all(w.states("web")[-1] == "failing" for w in both))
            time.sleep(2)  # several rounds of three recorders while it stays down
            assert tickets.count() == outage
            web.start()
            wait_until(lambda: all(w.states("web")[-1] == "ok" for w in both))
    finally:
        stop_board.set()
        worker.join(10)
    assert board_errors == []
    assert first.stop() == 0 and second.stop() == 0

    # every watcher printed every change, once, in order
    assert first.states("web") == second.states("web") == ["ok", "failing", "ok", "failing", "ok"]
    log = ctx.table("check_log").find(order_by=["id"])
    assert [e["state"] for e in log] == ["ok", "failing", "ok", "failing", "ok"]
    # one ticket per outage, keyed on the check and the start of the outage
    found = ctx.table("tickets").find(order_by=["id"])
    (check,) = ctx.table("checks").all()
    outages = [e["at"] for e in log if e["state"] == "failing"]
    assert [t["source_key"] for t in found] == [f"check:{check['id']}:{at}" for at in outages]
    assert all(t["source"] == "check" and t["title"] == "Service check failing: web" for t in found)
    assert check["state"] == "ok" and check["ticket_id"] is None


# ----------------------------------------------------------------------------- the rule behind it
def test_a_result_probed_before_the_stored_one_is_dropped(office, listener):
    """A process that probed a moment before another but records after it
    must not undo the newer result (a false outage, a second ticket)."""
    bd, ctx, ids = office
    site_check = svc.add_check(ctx, "port", "tcp", f"127.0.0.1:{listener.port}")
    t0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    svc.record_results(ctx, {site_check["id"]: (False, "connection refused")}, at=t0)
    svc.record_results(ctx, {site_check["id"]: (True, "port open")}, at=t0 + dt.timedelta(seconds=2))
    # the slow one: probed at 1 s (still down then), recorded now
    svc.record_results(ctx, {site_check["id"]: (False, "connection refused")}, at=t0 + dt.timedelta(seconds=1))
    doc = ctx.table("checks").get(site_check["id"])
    assert doc["state"] == "ok" and doc["message"] == "port open"
    assert [e["state"] for e in ctx.table("check_log").find(order_by=["id"])] == ["failing", "ok"]


def test_what_is_due(office):
    bd, ctx, ids = office
    now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    assert svc.is_due({}, 60, now)
    ran = {"probed_at": (now - dt.timedelta(seconds=50)).isoformat()}
    assert not svc.is_due(ran, 60, now) and svc.is_due(ran, 30, now)
    # only last_run (recorded before probed_at was kept) counts as well
    assert not svc.is_due({"last_run": svc.stamp(now - dt.timedelta(seconds=10))}, 60, now)
