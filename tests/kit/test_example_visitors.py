"""examples/visitors, pip-installed from its folder and driven through its entry point.

Nothing here reaches into examples/: the plugin is installed with pip into a
temporary folder and found the way Backdesk finds any third-party plugin.
"""

from __future__ import annotations

import json
import sys

import pytest

from core.errors import ValidationError
from core.cli.testing import notifications, palette_offers, publish, select_card, text_of, wait_for
from kit_helpers import EXAMPLES, pip_install


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    return pip_install(EXAMPLES / "visitors", tmp_path_factory.mktemp("visitors-site-packages"))


@pytest.fixture
def site(backdesk_site, installed):
    backdesk_site.add_to_path(installed)
    backdesk_site.role("reception", ["visitors.*", "core.directory.read"])
    backdesk_site.operator("bob", roles=["reception"], name="Bob Berger")
    backdesk_site.operator("anna", roles=["reader"], name="Anna Schmidt", email="anna@example.com")
    yield backdesk_site
    backdesk_site.close()
    for name in [m for m in sys.modules if m == "visitors" or m.startswith("visitors.")]:
        del sys.modules[name]


def add_people(site):
    """Anna (an operator, by her email) and Ben (no operator) in the directory."""
    bd = site.open("alice")
    people = bd.services.people
    sales = people.add_department("Sales")
    anna = people.add_person(name="Anna Schmidt", department_id=sales, email="anna@example.com")
    ben = people.add_person(name="Ben Braun", department_id=sales)
    return anna, ben


def test_installed_from_its_folder_and_listed_as_entry_point(site, installed):
    import visitors

    assert visitors.__file__.startswith(str(installed))  # the installed copy, not the source
    code, out, err = site.cli("plugins", "--format", "json")
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["visitors"] == {"name": "visitors", "version": "1.0.0", "source": "entry point",
                                "status": "ok", "error": "", "target": "visitors",
                                "reacts_to": ["visitors.visitor_arrived"]}
    code, out, err = site.cli("plugins")
    assert any(line.split()[:4] == ["visitors", "1.0.0", "entry", "point"] for line in out.splitlines())


def test_sign_in_tells_the_host_once_and_sign_out(site):
    anna, ben = add_people(site)
    bd = site.open("bob")
    from visitors import service

    ctx = bd.context("visitors")
    visit = service.sign_in(ctx, "  Jane   Roe ", "anna", company="ACME")
    assert [n["text"] for n in notifications(bd, "anna")] == ["Jane Roe (ACME) is at reception for you"]
    # the event handler is idempotent: a second delivery of the same visit tells nobody again
    publish(bd, "visitors.visitor_arrived", {"visit_id": visit, "host_id": anna})
    assert len(notifications(bd, "anna")) == 1
    service.sign_in(ctx, "Max Muster", ben)  # Ben is no operator: no notification, no error
    assert service.card_text(ctx) == "2 in the building\nJane Roe → Anna Schmidt\nMax Muster → Ben Braun"
    service.sign_out(ctx, visit)
    with pytest.raises(ValidationError, match="has already left"):
        service.sign_out(ctx, visit)
    with pytest.raises(ValidationError) as info:
        service.sign_in(ctx, "Eve", "Zed")
    assert info.value.field == "host"
    with pytest.raises(ValidationError) as info:
        service.sign_in(ctx, " ", "anna")
    assert info.value.field == "visitor"
    assert [v["visitor"] for v in service.visits(ctx)] == ["Max Muster"]


def test_reader_may_look_but_not_sign_in(site):
    add_people(site)
    from core.errors import PermissionDenied
    from visitors import service

    ctx = site.open("anna").context("visitors")
    assert service.visits(ctx) == []
    with pytest.raises(PermissionDenied):
        service.sign_in(ctx, "Jane Roe", "anna")


@pytest.mark.tinydb_only("looks for the migration's copy in the data folder's backups/ "
                         "(PostgreSQL keeps it as a _bak_ relation, tests/storage/test_api.py)")
def test_migration_from_version_1(site):
    from core.storage import open_store

    store = open_store(site.data_dir)  # what version 0.9 of the plugin wrote
    table = store.table("visitors", "visits", version=1)
    table.insert({"visitor": "Early Bird", "company": "", "host_id": 1,
                  "arrived": "2026-03-02T08:00:00+00:00", "left": "2026-03-02T09:00:00+00:00"})
    table.insert({"visitor": "Still Here", "company": "", "host_id": 1,
                  "arrived": "2026-03-02T10:00:00+00:00", "left": None})
    store.close()
    bd = site.open("alice")
    rows = bd.context("visitors").table("visits").all()
    assert [(r["visitor"], r["status"], r["badge"]) for r in rows] == [
        ("Early Bird", "out", None), ("Still Here", "in", None)]
    backups = [p.name for p in (site.data_dir / "backups").iterdir()]
    assert any("before-visitors.visits" in name for name in backups), backups


def test_cli_sign_in_list_sign_out(site):
    add_people(site)
    site.close()
    code, out, err = site.cli("visitors", "sign-in", "Jane Roe", "--host", "Anna", "--company", "ACME")
    assert (code, out, err) == (0, "Signed in Jane Roe (visit 1)\n", "")
    code, out, err = site.cli("visitors", "list")
    assert code == 0 and out.startswith("   1  Jane Roe (ACME) → Anna Schmidt  in ")
    code, out, err = site.cli("visitors", "sign-in", "Eve", "--host", "Zed")
    assert code == 2 and err == "backdesk: host: nobody in the directory is called 'Zed'\n"
    assert site.cli("visitors", "sign-out", "1")[1] == "Signed out Jane Roe\n"
    code, out, err = site.cli("visitors", "list")
    assert out == "Nobody signed in.\n"
    bd = site.open("alice")
    assert [n["text"] for n in notifications(bd, "anna")] == ["Jane Roe (ACME) is at reception for you"]


async def test_screen_card_and_palette_command(site):
    add_people(site)
    async with site.run_app("bob") as pilot:
        app = pilot.app
        card = "#card-visitors-in_building"
        await wait_for(pilot, lambda: text_of(pilot, card) == "Nobody signed in")
        # Ctrl+P → "Sign a visitor in" → the form
        await pilot.press("ctrl+p")
        await pilot.press(*"Sign a visitor in")
        await wait_for(pilot, lambda: palette_offers(pilot, "Sign a visitor in"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "FormScreen")
        form = app.screen.form
        await pilot.press(*"Jane Roe")
        form.control("company").value = "ACME"
        form.control("host").value = "Anna"
        form.submit()
        await wait_for(pilot, lambda: text_of(pilot, card) == "1 in the building\nJane Roe → Anna Schmidt")
        assert [n["text"] for n in notifications(app.backdesk, "anna")] == [
            "Jane Roe (ACME) is at reception for you"]
        # Enter on the card opens the screen; o signs the visitor out (after a yes)
        select_card(pilot, card)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_mode == "visitors")
        await wait_for(pilot, lambda: text_of(pilot, "#visitors-summary") == "1 in the building")
        await pilot.press("o")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: text_of(pilot, "#visitors-summary") == "Nobody signed in")
