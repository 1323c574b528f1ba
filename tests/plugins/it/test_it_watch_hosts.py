"""The IT checks watcher runs once per office: two hosts (two config and
data folders, one PostgreSQL schema) each start ``backdesk it checks
watch``; one runs the checks, the other stands by. Killing the running one
(SIGKILL: no goodbye) makes the other take over, and each outage still
opens exactly one ticket. Runs on both passes: it starts the session's
PostgreSQL server itself."""

from __future__ import annotations

import json
import signal

import pytest

from tests.office import two_hosts
from tests.plugins.it.conftest import Site
from tests.plugins.it.test_it_watch import SETTINGS, Watcher, wait_until, watchers, web  # noqa: F401 (the fixtures)


@pytest.fixture
def hosts(tmp_path):
    with two_hosts(Site, tmp_path) as sites:
        yield sites


def _status(site) -> dict[str, dict]:
    r = site.cli("status", "--format", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    return {h["name"]: h for h in json.loads(r.stdout)["holds"]}


def test_killing_the_watcher_on_a_makes_b_take_over_one_ticket_per_outage(hosts, web, watchers):
    a, b = hosts
    for site in (a, b):
        site.plugins({**SETTINGS, "open_ticket_after": 0, "check_interval": 1, "check_timeout": 10.0})
    bd = a.open()
    with bd.store.transaction():
        dept = bd.services.people.add_department("IT")
        bd.services.people.add_person(name="Anna Arndt", email="anna@test.example", department_id=dept)
    assert a.cli("it", "checks", "add", "web", "http", f"http://127.0.0.1:{web.port}/").returncode == 0
    tickets = bd.table("it.tickets")

    first = Watcher(a, "--every", "0.3").ready()
    watchers.append(first)
    wait_until(lambda: first.states("web") == ["ok"])
    second = Watcher(b, "--every", "0.3").ready()
    watchers.append(second)
    wait_until(lambda: any(line.startswith("standing by") for line in second.err))
    held = _status(b)["it.checks"]
    assert held["held"] and held["who"].split()[0].endswith(f":{first.proc.pid}")
    # outage 1 while A runs the checks: B hears of it (it follows the log)
    web.stop()
    wait_until(lambda: tickets.count() == 1, message="the ticket of outage 1")
    wait_until(lambda: second.states("web") == ["failing"])  # (what came before it started is history)
    # A dies without a word; B takes over while the outage lasts
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(30)
    wait_until(lambda: any(line.startswith("taking over") for line in second.err), message="B taking over")
    held = _status(a)["it.checks"]
    assert held["held"] and held["who"].split()[0].endswith(f":{second.proc.pid}")
    web.start()
    wait_until(lambda: second.states("web") == ["failing", "ok"], message="B seeing the recovery")
    assert tickets.count() == 1
    # outage 2, recorded by B alone
    web.stop()
    wait_until(lambda: tickets.count() == 2, message="the ticket of outage 2")
    web.start()
    wait_until(lambda: second.states("web") == ["failing", "ok", "failing", "ok"])
    assert second.stop() == 0
    log = [e["state"] for e in bd.table("it.check_log").find(order_by=["id"])]
    assert log == ["ok", "failing", "ok", "failing", "ok"]
    assert tickets.count() == 2
    assert not _status(a)["it.checks"]["held"]  # nobody runs the checks now
