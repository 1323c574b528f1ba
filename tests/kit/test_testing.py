"""core.cli.testing: the fixtures plugin authors get by installing Backdesk."""

from __future__ import annotations

import os
from pathlib import Path

from core.cli.testing import BackdeskSite, notifications, publish, text_of, wait_for

GREETER = Path(__file__).resolve().parent.parent / "shell" / "sample_plugins" / "greeter.py"


def test_site_keeps_the_developers_config_out(backdesk_site):
    assert not any(var.startswith("BACKDESK_") for var in os.environ)
    assert str(backdesk_site.root) not in os.environ["HOME"]
    assert (backdesk_site.config_dir / "plugins.yaml").read_text() == "plugins: []\n"
    bd = backdesk_site.open()
    assert bd.operator.account == "alice"
    assert str(bd.config.data_dir) == str(backdesk_site.data_dir)
    # the shipped plugins.yaml (telephony, documents, ...) is not used
    assert [r.name for r in bd.host.records.values() if r.source == "built-in"] == []


def test_operators_with_roles_and_plugins_by_path(backdesk_site):
    backdesk_site.role("reception", ["greeter.*"])
    backdesk_site.operator("bob", roles=["reception"])
    backdesk_site.operator("carl", permissions=["core.directory.read"])
    backdesk_site.plugins([GREETER])
    backdesk_site.settings("greeter", greeting="Moin")
    bob = backdesk_site.open("bob")
    assert bob.operator.can("greeter.greet") and not bob.operator.can("core.audit.read")
    assert bob.context("greeter").settings == {"greeting": "Moin"}
    assert backdesk_site.open("carl").operator.can("core.directory.read")


def test_plugin_entries_by_name_module_and_path(tmp_path):
    site = BackdeskSite(tmp_path)
    site.plugins(["it", "acme.visitors", tmp_path / "rooms.py", tmp_path / "desks",
                  {"name": "x", "enabled": False}])
    import yaml

    assert yaml.safe_load((site.config_dir / "plugins.yaml").read_text())["plugins"] == [
        {"name": "it"}, {"name": "visitors", "module": "acme.visitors"},
        {"name": "rooms", "path": str(tmp_path / "rooms.py")},
        {"name": "desks", "path": str(tmp_path / "desks")}, {"name": "x", "enabled": False}]


def test_publish_and_notifications(backdesk):
    bd = backdesk
    event_id = publish(bd, "core.person_added", {"person_id": 1})
    assert bd.table("core.events").get(event_id)["name"] == "core.person_added"
    bd.services.notifications.notify("alice", "Hello")
    assert [n["text"] for n in notifications(bd, "alice")] == ["Hello"]
    assert notifications(bd, "bob") == []


async def test_pilot_fixture(backdesk_site, backdesk_pilot):
    pilot = backdesk_pilot
    assert pilot.app.size == (80, 24)
    assert pilot.app.current_mode == "home"
    await wait_for(pilot, lambda: "Alice Admin" in text_of(pilot, "#welcome"))


async def test_run_app_drives_a_plugin(backdesk_site):
    backdesk_site.plugins([GREETER])
    async with backdesk_site.run_app() as pilot:
        await wait_for(pilot, lambda: text_of(pilot, "#card-greeter-count") == "0 greetings so far")
        await pilot.press("f5")
        await wait_for(pilot, lambda: pilot.app.current_mode == "greeter")
        await pilot.press("g")
        await wait_for(pilot, lambda: text_of(pilot, "#greeting-count") == "Hello: 1 greetings")


def test_cli_runner(backdesk_site, backdesk_cli):
    backdesk_site.plugins([GREETER])
    code, out, err = backdesk_cli("greeter", "count")
    assert (code, out, err) == (0, "0 greetings\n", "")
    code, out, err = backdesk_cli("export", "nope.table")
    assert code == 2 and "no table named 'nope.table'" in err
