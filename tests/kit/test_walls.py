"""The plugin API's walls (docs/plugins.md, "What a plugin can and cannot do").

A third-party plugin (tests/kit/wallprobe, installed by entry point with
pip) tries, through ``ctx``, what a plugin should not do: read HR's salaries
without the permission, write another plugin's or core's tables, change the
actor the audit trail records, publish another plugin's events, lift the
operator's permissions outside event delivery, read the storage DSN and the
operators' PIN hashes. Each is refused with one line saying why; what a
plugin may do (its own tables, a permitted and audited read of another
table, its own events) still works.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import core.services.access
from core.errors import BackdeskError, PermissionDenied, ValidationError
from core.cli.testing import publish
from kit_helpers import pip_install

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    return pip_install(HERE / "wallprobe", tmp_path_factory.mktemp("wallprobe-site-packages"))


@pytest.fixture
def site(backdesk_site, installed):
    backdesk_site.add_to_path(installed)
    backdesk_site.plugins(["hr"])  # wallprobe loads by its entry point, unlisted
    backdesk_site.role("hr_team", ["hr.*", "core.directory.*"])
    backdesk_site.operator("hanna", roles=["hr_team"], name="Hanna HR")
    backdesk_site.operator("bob", permissions=["wallprobe.*"], name="Bob Probe")
    yield backdesk_site
    backdesk_site.close()
    for name in [m for m in sys.modules if m == "wallprobe" or m.startswith("wallprobe.")]:
        del sys.modules[name]


@pytest.fixture
def office(site):
    """Anna with a salary in HR's records (written by Hanna of HR)."""
    bd = site.open("hanna")
    from plugins.hr import service as hr

    sales = bd.services.people.add_department("Sales")
    anna = bd.services.people.add_person(name="Anna Schmidt", department_id=sales)
    hr.save_record(bd.context("hr"), anna, {"pay_amount": "4000", "start_date": "2026-01-01"})
    site.close()
    return anna


def reads_of(bd, table):
    return [e for e in bd.table("core.audit").find({"op": "read", "table": table})]


def test_the_probe_is_a_third_party_plugin_loaded_by_entry_point(site):
    bd = site.open("bob")
    rec = next(r for r in bd.host.active if r.name == "wallprobe")
    assert rec.source == "entry point" and "wallprobe.notes" in bd.table_specs


def test_another_plugins_table_is_not_opened_through_the_store(site, office):
    ctx = site.open("bob").context("wallprobe")
    for attempt in (lambda: ctx.store.existing_table("hr.records"),
                    lambda: ctx.store.table("hr", "records"),
                    lambda: ctx.table("hr.records"),
                    lambda: ctx.store.existing_table("core.audit"),
                    lambda: ctx.store.table("core", "people")):
        with pytest.raises(BackdeskError, match="it is another plugin's table; read it with ctx.read_table"):
            attempt()
    with pytest.raises(AttributeError, match="ctx.store has no 'before_commit'"):
        ctx.store.before_commit(lambda changes: None)  # would see every table's changes
    # its own table, by its short or its full name
    ctx.table("notes").insert({"text": "mine"})
    assert [d["text"] for d in ctx.store.existing_table("wallprobe.notes").all()] == ["mine"]
    assert ctx.table("wallprobe.notes").count() == 1 and ctx.table_name("notes") == "wallprobe.notes"


def test_reading_another_plugins_table_checks_the_operator_and_audits(site, office):
    bd = site.open("bob")
    ctx = bd.context("wallprobe")
    with pytest.raises(PermissionDenied, match=r"Bob Probe \(bob\) may not read hr.records .*needs permission "
                                               r"'hr.records.read'"):
        ctx.read_table("hr.records").all()
    assert reads_of(bd, "hr.records") == []
    site.close()
    bd = site.open("hanna")
    rows = bd.context("wallprobe").read_table("hr.records").all()
    assert [r["person_id"] for r in rows] == [office]
    (entry,) = reads_of(bd, "hr.records")
    assert entry["actor"] == "hanna" and entry["plugin"] == "wallprobe"
    assert "plugin wallprobe read hr.records" in entry["what"]


def test_the_actor_cannot_be_changed_by_a_plugin(site):
    bd = site.open("bob")
    ctx = bd.context("wallprobe")
    with pytest.raises(PermissionDenied, match="cannot set ctx.store.actor"):
        ctx.store.actor = "eva"
    ctx.table("notes").insert({"text": "by bob"})
    # what a plugin may say about its change: the audit trail's line
    with ctx.transaction(what="kept a note for the front desk"):
        ctx.table("notes").insert({"text": "for the desk"})
    first, second = bd.table("core.audit").find({"table": "wallprobe.notes"}, order_by="seq")
    assert (first["actor"], first["what"]) == ("bob", None) and ctx.store.actor == "bob"
    assert (second["actor"], second["what"]) == ("bob", "kept a note for the front desk")
    # the trail's text is checked like any stored text: nothing is written
    with pytest.raises(ValidationError, match="what: contains ESC"):
        with ctx.transaction(what="\x1b[2Jwiped"):
            ctx.table("notes").insert({"text": "never"})
    assert ctx.table("notes").count() == 2


def test_a_plugin_publishes_only_its_own_events_with_itself_as_source(site):
    bd = site.open("bob")
    ctx = bd.context("wallprobe")
    for attempt in (lambda: ctx.services.events.publish("hr.employee_dismissed", {"person_id": 1}),
                    lambda: ctx.publish("hr.employee_dismissed", {"person_id": 1})):
        with pytest.raises(PermissionDenied, match="may only publish wallprobe.\\* events, not 'hr.employee_dismissed'"):
            attempt()
    assert bd.table("core.events").find({"name": "hr.employee_dismissed"}) == []
    import wallprobe

    wallprobe.SEEN.clear()
    ctx.services.events.publish("note_kept", {"n": 1})
    ctx.publish("wallprobe.note_kept", {"n": 2})
    assert wallprobe.SEEN == [("kept", "wallprobe")] * 2  # its reaction (backdesk_reactions) sees the source
    assert [(e["name"], e["source"]) for e in bd.table("core.events").find({"name": "wallprobe.note_kept"})] == [
        ("wallprobe.note_kept", "wallprobe")] * 2


def test_a_reaction_is_entered_by_core_only(site, office):
    bd = site.open("bob")
    ctx = bd.context("wallprobe")
    with pytest.raises(PermissionDenied, match="may not enter a reaction to hr.employee_hired"):
        with core.services.access.reaction("hr.employee_hired"):
            ctx.read_table("hr.records").all()
    assert not ctx.can("hr.records.read") and core.services.access.current_reaction() is None
    # while core delivers an event, the handler may read (and the read is audited)
    import wallprobe

    wallprobe.SEEN.clear()
    site.close()
    bd = site.open("alice")
    publish(bd, "core.person_added", {"person_id": office})
    assert wallprobe.SEEN == [("core.person_added", 1)]
    (entry,) = reads_of(bd, "hr.records")
    assert entry["plugin"] == "wallprobe" and entry["actor"] == "alice"


def test_the_config_shows_the_public_settings_only(site):
    site.operator("kiosk1", roles=["admin"], name="Front desk")
    site.operators["kiosk1"]["pin_hash"] = "pbkdf2_sha256$1$c2FsdA==$aGFzaA=="
    site._write_config()
    ctx = site.open("bob").context("wallprobe")
    assert ctx.config.site.name == "Test GmbH" and Path(ctx.config.data_dir) == site.data_dir
    assert ctx.config.operators["kiosk1"].name == "Front desk"
    assert not hasattr(ctx.config.operators["kiosk1"], "pin_hash")
    for secret in ("storage", "plugins", "ssh", "kiosk"):
        with pytest.raises(AttributeError, match=f"ctx.config has no '{secret}'"):
            getattr(ctx.config, secret)
    assert ctx.config.settings == {}


def test_a_refusal_says_in_words_what_was_refused(site):
    site.operator("rita", roles=[])
    ctx = site.open("rita").context("wallprobe")
    with pytest.raises(PermissionDenied) as refused:
        ctx.require("wallprobe.notes.read")  # described in PluginInfo.permissions
    assert str(refused.value) == "Rita (rita) may not read the probe's notes: needs permission 'wallprobe.notes.read'"
    with pytest.raises(PermissionDenied, match="Rita \\(rita\\) may not count the notes: needs permission"):
        ctx.require("wallprobe.notes.read", "count the notes")
