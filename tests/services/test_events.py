"""Events between plugins: a chain across two plugins, a failing handler, retry.

Plugins (tests/services/plugins, in this order): hrmini publishes
hrmini.employee_hired; flaky's handler fails while its marker file exists;
itmini opens an onboarding ticket and publishes itmini.ticket_opened, which
hrmini notes down.
"""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied, ValidationError


@pytest.fixture
def chain(site, tmp_path):
    marker = tmp_path / "payroll-down"
    marker.write_text("down")
    site.plugins(["hrmini", "flaky", "itmini"], settings={"flaky": {"marker": str(marker)}})
    bd = site.open("alice")
    bd.marker = marker
    bd.dept = bd.services.people.add_department("IT")
    return bd


def hire(bd, name="Neue Kollegin"):
    hrmini = bd.host.records["hrmini"].module
    return hrmini.hire(bd.context("hrmini"), name, bd.dept)


def test_chain_across_two_plugins_with_a_failing_handler_and_retry(chain):
    bd = chain
    person = hire(bd)
    # the publisher's change stands although a handler failed
    assert bd.services.people.get(person)["name"] == "Neue Kollegin"
    assert bd.context("hrmini").table("hires").count() == 1
    # itmini (after the failing flaky) reacted, and hrmini reacted to itmini's event
    tickets = bd.context("itmini").table("tickets").all()
    assert [(t["title"], t["person_id"]) for t in tickets] == [(f"Onboarding: person {person}", person)]
    notes = bd.context("hrmini").table("notes").all()
    assert [n["text"] for n in notes] == [f"IT ticket {tickets[0]['id']} opened"]
    # the failing handler's own write was rolled back, its failure stored and visible
    assert bd.context("flaky").table("payroll").count() == 0
    failed = bd.services.events.list(failed=True)
    assert [e["name"] for e in failed] == ["hrmini.employee_hired"]
    deliveries = {d["plugin"]: d for d in failed[0]["deliveries"]}
    assert deliveries["flaky"]["status"] == "failed"
    assert deliveries["flaky"]["error"] == "ConnectionError: the payroll system is unreachable"
    assert deliveries["itmini"]["status"] == "ok" and deliveries["hrmini"]["status"] == "ok"
    assert any("the payroll system is unreachable" in line
               for _hook, line, _tb in bd.host.records["flaky"].hook_errors)
    ticket_event = bd.services.events.list(name="itmini.ticket_opened")[0]
    assert ticket_event["status"] == "done"

    # still broken: retry fails again, counts the attempt, touches nobody else
    assert bd.services.events.retry() == [(failed[0]["id"], "flaky", "failed")]
    row = bd.services.events.get(failed[0]["id"])
    assert {d["plugin"]: d["attempts"] for d in row["deliveries"]}["flaky"] == 2

    # fixed: only flaky runs again; itmini opens no second ticket
    bd.marker.unlink()
    assert bd.services.events.retry() == [(failed[0]["id"], "flaky", "ok")]
    assert bd.context("flaky").table("payroll").count() == 1
    assert bd.context("itmini").table("tickets").count() == 1
    assert bd.services.events.list(failed=True) == []
    assert bd.services.events.get(failed[0]["id"])["status"] == "done"
    assert bd.services.events.retry() == []
    assert bd.services.audit.verify() == []


def test_cli_lists_failures_and_retries(chain, site):
    hire(chain)
    proc = site.cli("events", "list", "--failed")
    assert proc.returncode == 0, proc.stderr
    assert "hrmini.employee_hired" in proc.stdout
    assert "hrmini, itmini, flaky (FAILED)" in proc.stdout
    assert "-> flaky: ConnectionError: the payroll system is unreachable (1 try)" in proc.stdout
    assert "itmini.ticket_opened" not in proc.stdout
    proc = site.cli("events", "retry")
    assert proc.returncode == 1
    assert "flaky: failed" in proc.stdout and "still failing" in proc.stderr
    chain.marker.unlink()
    proc = site.cli("events", "retry")
    assert proc.returncode == 0, proc.stderr
    assert "-> flaky: ok" in proc.stdout
    proc = site.cli("events", "list", "--failed")
    assert proc.stdout.splitlines()[1:] == []
    proc = site.cli("events", "list")
    assert "hrmini.employee_hired" in proc.stdout and "itmini.ticket_opened" in proc.stdout
    assert "FAILED" not in proc.stdout
    chain.store.refresh()
    assert chain.context("flaky").table("payroll").count() == 1


def test_retry_needs_its_permission(chain, site):
    hire(chain)
    bob = site.open("bob")
    with pytest.raises(PermissionDenied, match="core.events.manage"):
        bob.services.events.retry()
    site.configure(console_role="reception")
    proc = site.cli("events", "retry")
    assert proc.returncode == 2 and "core.events.manage" in proc.stderr


def test_an_event_of_a_rolled_back_transaction_is_never_delivered(chain):
    bd = chain
    with pytest.raises(RuntimeError):
        with bd.store.transaction():
            bd.context("itmini").publish("ping", {"n": 1})
            raise RuntimeError("no")
    assert bd.services.events.events.count({"name": "itmini.ping"}) == 0
    assert bd.context("itmini").table("tickets").count() == 0


def test_long_chains_are_queued_not_nested(chain):
    import sys

    depth = sys.getrecursionlimit()  # a nested delivery would blow the stack long before this
    bd = chain
    bd.context("itmini").publish("ping", {"n": depth // 4})
    assert bd.context("itmini").table("tickets").count() == depth // 4
    assert bd.services.events.list(failed=True) == []


def test_event_names_are_checked(chain):
    with pytest.raises(ValidationError):
        chain.services.events.publish("no dots here", {})
    with pytest.raises(Exception, match="may only publish itmini"):
        chain.context("itmini").publish("hrmini.employee_hired", {})


def test_an_event_its_publisher_never_delivered_is_delivered_by_retry(chain, site):
    # the publishing process died between commit and delivery: the row says "pending"
    from tests.conftest import open_raw_store

    person = chain.services.people.add_person(name="Nachzüglerin", department_id=chain.dept)
    chain.marker.unlink()
    raw = open_raw_store(site.config_dir, site.data_dir)
    raw.table("core", "events").insert({"name": "hrmini.employee_hired", "data": {"person_id": person},
                                        "at": "2026-01-05T09:00:00+00:00", "actor": "alice",
                                        "source": "hrmini", "status": "pending"})
    raw.close()
    results = chain.services.events.retry()
    assert sorted(name for _eid, name, _status in results) == ["flaky", "hrmini", "itmini"]
    assert all(status == "ok" for _eid, _name, status in results)
    assert chain.context("itmini").table("tickets").count() == 1
    assert chain.services.events.retry() == []


async def test_an_event_for_a_day_to_come_waits_and_the_shell_publishes_it_on_the_day(chain, site):
    """publish(on=day): scheduled until that day; the shell looks when it
    starts (and every quarter of an hour) and delivers what has come due;
    `backdesk events due` needs core.events.manage; a bad day is refused."""
    import datetime as dt

    from core.shell.app import make_app
    from core.i18n import today

    bd = chain
    bd.marker.unlink()
    person = bd.services.people.add_person(name="Spätstarter", department_id=bd.dept)
    tomorrow = today() + dt.timedelta(days=1)
    event_id = bd.context("hrmini").publish("employee_hired", {"person_id": person}, on=tomorrow)
    assert bd.services.events.get(event_id)["status"] == "scheduled"
    assert bd.context("itmini").table("tickets").count() == 0
    with pytest.raises(ValidationError, match="'soon' is not a day"):
        bd.context("hrmini").publish("employee_hired", {"person_id": person}, on="soon")
    site.configure(console_role="reception")
    proc = site.cli("events", "due")
    assert proc.returncode == 2 and "core.events.manage" in proc.stderr
    # a day later (as if the clock had moved on): the shell's look publishes it
    bd.services.events.events.update(event_id, {"due": today().isoformat()})
    app = make_app(bd, poll_interval=60)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(1200):  # a deadline for failing runs only
            await pilot.pause(0.05)
            if bd.services.events.get(event_id)["status"] == "done":
                break
    assert bd.services.events.get(event_id)["status"] == "done"
    assert [t["person_id"] for t in bd.context("itmini").table("tickets").all()] == [person]
