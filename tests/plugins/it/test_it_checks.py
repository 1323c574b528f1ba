"""Service checks against real local servers: a TCP listener, HTTP 200 and
500, a closed port, DNS and disk; state changes, and one ticket per outage."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading

import pytest

from core.errors import ValidationError
from plugins.it import service as svc


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        code = 500 if self.path.startswith("/broken") else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def servers():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    yield {"http": httpd.server_address[1], "tcp": listener.getsockname()[1], "closed": closed_port}
    httpd.shutdown()
    httpd.server_close()
    listener.close()


def _add_all(ctx, ports):
    svc.add_check(ctx, "web", "http", f"http://127.0.0.1:{ports['http']}/")
    svc.add_check(ctx, "web-broken", "http", f"http://127.0.0.1:{ports['http']}/broken")
    svc.add_check(ctx, "listener", "tcp", f"127.0.0.1:{ports['tcp']}")
    svc.add_check(ctx, "closed", "tcp", f"127.0.0.1:{ports['closed']}")
    svc.add_check(ctx, "dns", "dns", "localhost")
    svc.add_check(ctx, "disk", "disk", "/", "1K")


def test_checks_find_what_the_real_servers_do(office, servers):
    bd, ctx, ids = office
    _add_all(ctx, servers)
    board = {c["name"]: c for c in svc.run_checks(ctx)}
    assert {n: c["state"] for n, c in board.items()} == {
        "web": "ok", "web-broken": "failing", "listener": "ok", "closed": "failing", "dns": "ok", "disk": "ok"}
    assert board["web-broken"]["message"] == "HTTP 500, expected 200"
    assert board["closed"]["message"] == "connection refused"
    assert "127.0.0.1" in board["dns"]["message"] or "::1" in board["dns"]["message"]
    log = ctx.table("check_log").all()
    assert len(log) == 6  # unknown -> a state: one change each, with its time
    svc.run_checks(ctx)
    assert ctx.table("check_log").count() == 6  # no change, nothing logged


def test_failing_long_enough_opens_one_ticket(site, office, servers, monkeypatch):
    bd, ctx, ids = office
    svc.add_check(ctx, "closed", "tcp", f"127.0.0.1:{servers['closed']}")
    t0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    now = {"t": t0}
    monkeypatch.setattr(svc, "clock", lambda: now["t"])
    svc.run_checks(ctx)
    now["t"] = t0 + dt.timedelta(minutes=4)  # open_ticket_after is 5 minutes
    svc.run_checks(ctx)
    assert ctx.table("tickets").count() == 0
    # a second operator's process records the same outage at the same moment
    other = site.open("carla").context("it")
    for minutes in (5, 6, 7):
        now["t"] = t0 + dt.timedelta(minutes=minutes)
        svc.run_checks(ctx)
        svc.run_checks(other, system=True)
    tickets = ctx.table("tickets").all()
    assert len(tickets) == 1 and tickets[0]["source"] == "check"
    assert "closed" in tickets[0]["title"] and tickets[0]["priority"] == "high"
    # recovered, then failing again: a new outage, a new ticket
    monkeypatch.setattr("plugins.it.probes.run_probes", lambda rows, timeout: {r["id"]: (True, "ok") for r in rows})
    svc.run_checks(ctx)
    monkeypatch.undo()
    monkeypatch.setattr(svc, "clock", lambda: now["t"])
    now["t"] = t0 + dt.timedelta(minutes=20)
    svc.run_checks(ctx)
    now["t"] = t0 + dt.timedelta(minutes=30)
    svc.run_checks(ctx)
    assert ctx.table("tickets").count() == 2
    states = [e["state"] for e in ctx.table("check_log").find(order_by=["id"])]
    assert states == ["failing", "ok", "failing"]


@pytest.mark.parametrize("kind,target,expect,message", [
    ("tcp", "example.org", None, "is not host:port"),
    ("tcp", "127.0.0.1:99999", None, "the port must be 1-65535"),
    ("tcp", "bad host!:80", None, "not a host name"),
    ("http", "ftp://example.org/", None, "not an http:// or https:// URL"),
    ("http", "http://127.0.0.1:70000/", None, "the port must be 1-65535"),
    ("http", "http://example.org/", "OK", "not a whole number"),
    ("dns", "exa mple.org", None, "not a host name"),
    ("disk", "relative/path", None, "not an absolute path"),
    ("disk", "/", "lots", "not a size like 10% or 2G"),
    ("ping", "x", None, "'ping' is not one of"),
])
def test_malformed_targets_are_refused(office, kind, target, expect, message):
    bd, ctx, ids = office
    with pytest.raises(ValidationError, match=message):
        svc.add_check(ctx, "c", kind, target, expect)
    assert ctx.table("checks").count() == 0


def test_cli_checks_run_prints_the_board(site, servers):
    site.plugins({"open_ticket_after": 0})
    r = site.cli("it", "checks", "add", "web", "http", f"http://127.0.0.1:{servers['http']}/")
    assert r.returncode == 0, r.stderr
    site.cli("it", "checks", "add", "closed", "tcp", f"127.0.0.1:{servers['closed']}")
    r = site.cli("it", "checks", "add", "bad", "tcp", "nonsense")
    assert r.returncode == 2 and r.stderr.strip() == "backdesk: target: 'nonsense' is not host:port"
    r = site.cli("it", "checks", "run")
    assert r.returncode == 1  # one check fails
    lines = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    assert "ok" in lines["web"].split() and "failing" in lines["closed"].split()
    # no person in the directory: the outage is on the board but opens no ticket
    assert site.cli("it", "tickets", "--format", "json").stdout.strip() == "[]"
