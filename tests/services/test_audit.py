"""The audit trail: what is recorded, and tampering found by `backdesk audit verify`.

Tampering goes around the audit service: a separate store opened on the
same data folder (no Backdesk, no audit callback) edits, removes or moves
entries through the raw Table API, as someone with file access and the
storage library would.
"""

from __future__ import annotations

import pytest

from core.services.audit import GENESIS, entry_hash
from core.errors import PermissionDenied
from tests.conftest import open_raw_store


@pytest.fixture
def trail(site):
    """Six people added and one changed, as alice; returns the site."""
    bd = site.open("alice")
    people = bd.services.people
    dept = people.add_department("IT")
    ids = [people.add_person(name=f"Person {n}", department_id=dept, extension=str(200 + n)) for n in range(5)]
    people.update_person(ids[0], title="Chef")
    bd.close()
    site.opened.remove(bd)
    return site


def raw_audit(site):
    store = open_raw_store(site.config_dir, site.data_dir)
    return store, store.table("core", "audit")


def test_every_change_is_recorded_with_who_what_before_after(office, site):
    entries = office.services.audit.entries(table="core.people", newest_first=False)
    assert [e["op"] for e in entries] == ["insert", "insert", "insert"]
    first = entries[0]
    assert first["actor"] == "alice" and first["plugin"] == "core"
    assert first["doc_id"] == office.ids["anna"] and first["before"] is None
    assert first["after"]["name"] == "Anna Becker"
    assert first["at"].endswith("+00:00")

    eva = site.open("eva")
    eva.services.people.update_person(office.ids["anna"], title="Leiterin")
    office.store.refresh()
    last = office.services.audit.entries(table="core.people", limit=1)[0]
    assert (last["actor"], last["op"], last["table"]) == ("eva", "update", "core.people")
    assert last["before"]["title"] == "Personalreferentin" and last["after"]["title"] == "Leiterin"
    # the chain: each entry names the hash of the one before
    chain = office.services.audit.entries(newest_first=False)
    assert chain[0]["prev_hash"] == GENESIS
    for before, after in zip(chain, chain[1:]):
        assert after["seq"] == before["seq"] + 1
        assert after["prev_hash"] == before["hash"]
        assert after["hash"] == entry_hash(after)
    assert office.services.audit.verify() == []


def test_a_rolled_back_change_leaves_no_entry(office):
    count = office.table("core.audit").count()
    with pytest.raises(RuntimeError):
        with office.store.transaction():
            office.services.people.update_person(office.ids["anna"], title="Gone")
            raise RuntimeError("changed my mind")
    assert office.table("core.audit").count() == count


def test_sensitive_reads_are_recorded_and_need_the_permission(site):
    site.plugins(["hrmini"])
    eva = site.open("eva")
    cases = eva.context("hrmini").table("cases")
    case = cases.insert({"subject": "Warning", "person_id": 1})
    hrmini = eva.host.records["hrmini"].module
    assert hrmini.open_case(eva.context("hrmini"), case)["subject"] == "Warning"
    read = eva.services.audit.table.find({"op": "read"})
    assert len(read) == 1
    assert (read[0]["actor"], read[0]["plugin"], read[0]["table"], read[0]["doc_id"]) == \
        ("eva", "hrmini", "hrmini.cases", case)
    assert read[0]["what"] == "HR case opened"

    bob = site.open("bob")
    with pytest.raises(PermissionDenied, match="hrmini.cases.read"):
        hrmini.open_case(bob.context("hrmini"), case)
    assert eva.services.audit.table.count({"op": "read"}) == 1


def test_verify_passes_on_an_untouched_trail(trail):
    proc = trail.cli("audit", "verify")
    assert proc.returncode == 0, proc.stderr
    assert "intact" in proc.stdout


def test_edited_entry_is_named(trail):
    store, audit = raw_audit(trail)
    victim = audit.find({"op": "update"})[0]
    audit.update(victim["id"], {"after": dict(victim["after"], title="Praktikant")})
    store.close()
    proc = trail.cli("audit", "verify")
    assert proc.returncode == 1
    assert f"entry {victim['id']} (seq {victim['seq']}) was edited" in proc.stderr


def test_edited_entry_with_recomputed_hash_is_named(trail):
    store, audit = raw_audit(trail)
    victim = audit.find({"doc_id": 3, "table": "core.people"})[0]
    forged = dict(victim, actor="mallory")
    forged.pop("id")
    forged["hash"] = entry_hash(forged)
    audit.replace(victim["id"], forged)
    store.close()
    proc = trail.cli("audit", "verify")
    assert proc.returncode == 1
    assert f"entry {victim['id']} (seq {victim['seq']}) was edited" in proc.stderr
    assert "does not chain to it" in proc.stderr


def test_removed_entry_is_named(trail):
    store, audit = raw_audit(trail)
    victim = audit.all()[3]
    audit.delete(victim["id"])
    store.close()
    proc = trail.cli("audit", "verify")
    assert proc.returncode == 1
    assert f"entry seq {victim['seq']} was removed" in proc.stderr


def test_removed_last_entry_is_named(trail):
    store, audit = raw_audit(trail)
    victim = audit.all()[-1]
    audit.delete(victim["id"])
    store.close()
    proc = trail.cli("audit", "verify")
    assert proc.returncode == 1
    assert f"entry seq {victim['seq']} was removed from the end" in proc.stderr


def test_reordered_entries_are_named(trail):
    store, audit = raw_audit(trail)
    entries = audit.all()
    a, b = entries[2], entries[3]
    with store.transaction():
        audit.replace(a["id"], {k: v for k, v in b.items() if k != "id"})
        audit.replace(b["id"], {k: v for k, v in a.items() if k != "id"})
    store.close()
    proc = trail.cli("audit", "verify")
    assert proc.returncode == 1
    assert f"entry {a['id']} (seq {b['seq']}) is out of order" in proc.stderr
    assert f"entry {b['id']} (seq {a['seq']}) is out of order" in proc.stderr
    assert "edited" not in proc.stderr  # both entries are intact, only misplaced


def test_moved_to_the_end_is_reordering(trail):
    store, audit = raw_audit(trail)
    victim = audit.all()[1]
    with store.transaction():
        audit.delete(victim["id"])
        new_id = audit.insert({k: v for k, v in victim.items() if k != "id"})
    store.close()
    proc = trail.cli("audit", "verify")
    assert proc.returncode == 1
    assert f"entry {new_id} (seq {victim['seq']}) is out of order" in proc.stderr


def test_writers_keep_the_chain_after_tampering_is_found(trail):
    # Tampering is reported, never "repaired": new entries still chain on the head.
    store, audit = raw_audit(trail)
    victim = audit.all()[2]
    audit.update(victim["id"], {"actor": "mallory"})
    store.close()
    bd = trail.open("alice")
    bd.services.people.add_department("Sales")
    problems = bd.services.audit.verify()
    assert [(p.kind, p.entry_id) for p in problems] == [("edited", victim["id"])]


def test_audit_needs_its_permission_in_the_service_and_the_cli(trail):
    bob = trail.open("bob")
    with pytest.raises(PermissionDenied, match="core.audit.read"):
        bob.services.audit.verify()
    with pytest.raises(PermissionDenied):
        bob.services.audit.entries()
    trail.configure(console_role="reception")
    proc = trail.cli("audit", "verify")
    assert proc.returncode == 2
    assert "needs permission 'core.audit.read'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_audit_list_filters(trail):
    eva = trail.open("eva")
    eva.services.people.add_department("Einkauf")
    proc = trail.cli("audit", "list", "--operator", "eva")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:5] == ["SEQ", "WHEN", "ACTOR", "PLUGIN", "OP"]
    assert len(lines) == 2 and "Einkauf" in lines[1] and " eva " in lines[1]
    # the time in the site's zone (Europe/Berlin) and locale, not the stored UTC
    from core.i18n import format_date, format_time

    at = trail.open("carla").services.audit.entries(operator="eva", limit=1)[0]["at"]
    assert f"{format_date(at, 'short')}, {format_time(at, 'medium')}" in lines[1]
    assert at[11:19] not in lines[1]
    proc = trail.cli("audit", "list", "--since", "2000-01-01", "--until", "2000-12-31")
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 1
    proc = trail.cli("audit", "list", "--since", "yesterday")
    assert proc.returncode == 2 and "since: 'yesterday' is not a date" in proc.stderr
    # a day as the screens take it (the site's locale) as well as ISO
    from core.i18n import date_text

    proc = trail.cli("audit", "list", "--since", date_text("2000-01-01"), "--until", date_text("2000-12-31"))
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 1, proc.stderr
    proc = trail.cli("audit", "list", "--operator", "eva", "--since", date_text(at[:10]))
    assert proc.returncode == 0 and "Einkauf" in proc.stdout, proc.stderr
    carla = trail.open("carla")  # it: may read the trail
    all_core = carla.services.audit.entries(plugin="core")
    assert len(all_core) == carla.services.audit.table.count()


def test_auditors_do_not_see_confidential_content(site):
    # carla (it) may read the audit trail, not HR cases: she sees that a case
    # changed, and who changed it, but not what it says
    site.plugins(["hrmini"])
    eva = site.open("eva")
    case = eva.context("hrmini").table("cases").insert({"subject": "Abmahnung wegen Verspätung"})
    carla = site.open("carla")
    entry = carla.services.audit.entries(table="hrmini.cases")[0]
    assert (entry["actor"], entry["op"], entry["doc_id"]) == ("eva", "insert", case)
    assert entry["after"] == {"redacted": "hrmini.cases.read"}
    assert "Verspätung" not in str(entry)
    alice = site.open("alice")
    assert alice.services.audit.entries(table="hrmini.cases")[0]["after"]["subject"] == \
        "Abmahnung wegen Verspätung"
    assert carla.services.audit.verify() == []  # the chain is checked on the real content
