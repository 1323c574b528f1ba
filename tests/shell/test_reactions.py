"""Event handlers act as the follow-up of an allowed change (docs/events.md)."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied


def test_reaction_runs_without_the_operators_permission_and_is_audited(site):
    site.plugins([{"name": "greeter", "sample": True}])
    admin = site.open("alice")
    try:
        people = admin.services.people
        dept = people.add_department("Empfang / Reception")
        pid = people.add_person(name="Anna Becker", department_id=dept)
    finally:
        admin.close()

    bob = site.open("bob")  # reception: greeter.*, core.directory.read only
    try:
        with pytest.raises(PermissionDenied):
            bob.services.people.update_person(pid, title="Hacked")
        ctx = bob.context("greeter")
        with ctx.transaction():
            ctx.publish("greeted", {"person_id": pid})
        assert bob.services.people.get(pid)["title"] == "Greeted"
        # outside the handler bob is still refused
        with pytest.raises(PermissionDenied):
            bob.services.people.update_person(pid, title="Hacked")
    finally:
        bob.close()
    admin = site.open("alice")
    try:
        entries = [e for e in admin.services.audit.entries()
                   if e.get("table") in ("people", "core.people") and e.get("op") == "update"]
        assert entries and entries[-1]["actor"] == "bob"
    finally:
        admin.close()
