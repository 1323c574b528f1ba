"""A refused permission, through the UI, the CLI and a direct service call."""

from __future__ import annotations

import pytest
from services_helpers import screen_text
from tests.pilot import wait_for

from core.services.access import Access, known_permissions, resolve_operator, unknown_patterns
from core.shell.app import make_app
from core.config import load_config
from core.errors import PermissionDenied


def test_refused_in_a_direct_service_call(office, site):
    bob = site.open("bob")
    with pytest.raises(PermissionDenied) as info:
        bob.services.people.add_person(name="Sneaky", department_id=office.ids["it"])
    assert str(info.value) == ("Bob Berger (bob) may not change the directory: "
                               "needs permission 'core.directory.edit'")
    # another plugin calling the service gets the same answer: the check is in the service
    site.plugins(["hrmini"])
    bob2 = site.open("bob")
    hrmini = bob2.host.records["hrmini"].module
    with pytest.raises(PermissionDenied, match="hrmini.hire"):
        hrmini.hire(bob2.context("hrmini"), "Sneaky", office.ids["it"])
    assert office.services.people.find("sneaky") == []


def test_refused_through_the_cli(office, site, tmp_path):
    site.configure(console_role="reception")
    csv = tmp_path / "people.csv"
    csv.write_text("name,department\nSneaky,IT\n")
    proc = site.cli("people", "import", str(csv))
    assert proc.returncode == 2
    assert proc.stderr.startswith("backdesk: Console Operator (")
    assert "may not change the directory: needs permission 'core.directory.edit'" in proc.stderr
    assert "Traceback" not in proc.stderr
    # reading is allowed for reception
    proc = site.cli("people", "list", "becker")
    assert proc.returncode == 0 and "Anna Becker" in proc.stdout
    office.store.refresh()
    assert office.services.people.find("sneaky") == []


async def test_refused_through_the_ui(office, site):
    bob = site.open("bob")
    app = make_app(bob, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        nav = [e.id for e in app.nav_entries]
        assert "directory" in nav and "audit" not in nav  # hidden, not only disabled
        app.open_nav("audit")
        await pilot.pause()
        assert app.current_mode == "home"
        await pilot.press("f3")
        await wait_for(pilot, lambda: app.current_mode == "directory")
        table = app.screen.query_one("#directory-table")
        await pilot.press("down")
        await wait_for(pilot, lambda: app.focused is table)
        keys = {b.binding.action for b in app.active_bindings.values()}
        assert "new_person" not in keys and "edit_person" not in keys
        await pilot.press("n")
        await pilot.press("e")
        await pilot.pause()
        assert len(app.screen_stack) == 1  # no form opened
        # the details offer no edit key either
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.screen_stack) == 2)
        assert "e edit" not in screen_text(app)
        await pilot.press("e")
        await pilot.pause()
        assert len(app.screen_stack) == 2
    assert office.table("core.people").count() == 3


async def test_admin_sees_the_edit_keys(office):
    app = make_app(office, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "audit" in [e.id for e in app.nav_entries]
        await pilot.press("f3")
        await wait_for(pilot, lambda: app.current_mode == "directory")
        await pilot.press("down")
        keys = {b.binding.action for b in app.active_bindings.values()}
        assert {"new_person", "edit_person"} <= keys


def test_unknown_accounts_refused_or_read_only_with_a_clear_message(site):
    config = load_config(site.config_dir, site.data_dir)
    with pytest.raises(PermissionDenied, match="'mallory' is not a Backdesk operator"):
        resolve_operator(config, "mallory")
    site.open("alice").close()  # the tables exist
    site.configure(unknown="read-only")
    guest = site.open("mallory")
    assert guest.operator.read_only
    assert guest.services.people.find("") == []  # may read
    with pytest.raises(PermissionDenied) as info:
        guest.services.people.add_department("Guests")
    assert "read-only session" in str(info.value)
    assert "not listed under 'operators:'" in str(info.value)


def test_known_permissions_include_plugins(site):
    site.plugins(["hrmini", "itmini"])
    bd = site.open("eva")
    names = {p.name: p.owner for p in known_permissions(bd.host)}
    assert names["core.directory.edit"] == "core"
    assert names["hrmini.cases.read"] == "hrmini"
    granted = {p.name for p in bd.services.access.granted()}
    assert "hrmini.cases.read" in granted and "core.audit.read" not in granted
    assert isinstance(bd.services.access, Access)
    # role patterns that match no known permission are probably typos (itmini defines none)
    assert unknown_patterns(bd.config, bd.host) == ["it: itmini.*"]
