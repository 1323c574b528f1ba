"""Permission walls on the command line: export, the audit trail's copies,
the commands that act on the whole store, and the modes of what is written.

The CLI runs as the OS account running the tests (``site.cli_account``);
each test gives that account the role it is about.
"""

from __future__ import annotations

import json
import stat

import pytest

from tests.conftest import ON_POSTGRESQL

ALL = ["telephony", "documents", "it", "accounting", "hr"]
RECEPTION = ["telephony.*", "documents.*", "core.directory.read", "it.tickets.create"]
IT = ["it.*", "core.directory.read", "core.audit.read"]
CONFIDENTIAL = ["hr.records", "hr.cases", "hr.warnings", "hr.dismissals", "accounting.payslips",
                "accounting.rates", "core.audit"]


@pytest.fixture
def demo_site(backdesk_site):
    site = backdesk_site
    site.plugins(ALL)
    result = site.cli("demo")
    assert result.code == 0, result.stderr
    return site


def as_role(site, permissions):
    site.operator(site.cli_account, permissions=permissions, name="Console")


def as_unknown(site, policy="read-only"):
    site.operators.pop(site.cli_account, None)
    site.configure(unknown_accounts=policy)


def refused(result, *words):
    assert result.code == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_export_needs_the_tables_read_permission(demo_site, tmp_path):
    site = demo_site
    as_role(site, RECEPTION)
    for table in CONFIDENTIAL:
        out = tmp_path / f"{table}.csv"
        result = site.cli("export", table, "--format", "csv", "-o", out)
        refused(result, "may not read the table", table, "needs permission")
        assert result.stdout == "" and not out.exists()
    # what reception may read, it exports
    result = site.cli("export", "telephony.messages")
    assert result.code == 0 and json.loads(result.stdout)

    as_unknown(site, "read-only")  # read_only_permissions: core.directory.read only
    for table in CONFIDENTIAL:
        refused(site.cli("export", table), "read-only session")
    assert json.loads(site.cli("export", "core.people").stdout)
    as_unknown(site, "refuse")
    refused(site.cli("export", "core.people"), "is not a Backdesk operator")


def test_confidential_exports_are_audited_and_audit_copies_are_redacted(demo_site):
    site = demo_site
    bd = site.open("alice")
    records = bd.table("hr.records").all()
    warnings = bd.table("hr.warnings").all()
    assert records and warnings
    secret_reason = warnings[0]["reason"]
    bd.close()

    as_role(site, ["*"])
    result = site.cli("export", "hr.records", "--format", "csv")
    assert result.code == 0 and result.stdout.count("\n") == len(records) + 1
    bd = site.open("alice")
    read = bd.services.audit.entries(table="hr.records", op="read")[0]
    assert read["actor"] == site.cli_account and "export" in read["what"]
    bd.close()

    # IT may read the audit trail, not HR: who changed which record, not what it says
    as_role(site, IT)
    result = site.cli("export", "core.audit")
    assert result.code == 0, result.stderr
    entries = json.loads(result.stdout)
    hr_entries = [e for e in entries if e["table"] == "hr.warnings" and e["op"] == "insert"]
    assert hr_entries and all(e["after"] == {"redacted": "hr.discipline.read"} for e in hr_entries)
    assert secret_reason not in result.stdout
    it_entries = [e for e in entries if e["table"] == "it.tickets" and e["op"] == "insert"]
    assert it_entries and all("title" in e["after"] for e in it_entries)


@pytest.mark.parametrize("who", ["operator", "unknown"])
def test_backup_restore_migrate_and_demo_force_need_admin_permissions(demo_site, tmp_path, who):
    site = demo_site
    good = tmp_path / "good-backup"
    as_role(site, ["*"])
    assert site.cli("backup", good).code == 0
    if who == "operator":
        as_role(site, RECEPTION + ["core.audit.read"])
        why = "needs permission 'core.admin."
    else:
        as_unknown(site, "read-only")
        why = "read-only session"
    dest = tmp_path / "stolen"
    refused(site.cli("backup", dest), why, "core.admin.backup")
    assert not dest.exists()
    refused(site.cli("restore", good), why, "core.admin.restore")
    target = tmp_path / "migrated"
    refused(site.cli("storage", "migrate", "--to", "tinydb", target), why, "core.admin.migrate")
    assert not target.exists()
    refused(site.cli("demo", "--force"), why, "core.admin.demo")
    # nothing was replaced or moved aside
    assert not list(site.data_dir.parent.glob("*before-demo*"))
    as_role(site, ["*"])
    assert site.cli("check").code == 0
    assert json.loads(site.cli("export", "hr.records").stdout)

    # --demo on an office's data folder does not make an unknown account its admin
    as_unknown(site, "refuse")
    refused(site.cli("--demo", "export", "hr.records"), "is not a Backdesk operator")
    refused(site.cli("--demo", "backup", dest), "is not a Backdesk operator")


def test_an_account_the_config_does_not_know_fills_an_empty_store_with_the_demo(backdesk_site):
    """`backdesk demo` on an empty store (folder or PostgreSQL schema) works
    for any account (it becomes the demo's admin while it fills the store);
    on a store with records it is refused before the account is looked at."""
    site = backdesk_site
    site.plugins(ALL)
    as_unknown(site, "refuse")
    result = site.cli("demo")
    assert result.code == 0, result.stderr
    assert "Demo company created" in result.stdout
    bd = site.open("alice")
    assert bd.table("hr.records").count() > 0 and bd.services.people.by_extension("131")
    bd.close()
    refused(site.cli("demo"), "is not empty")
    # the store stays the demo's own: the unknown account is refused on it
    refused(site.cli("export", "core.people"), "is not a Backdesk operator")


@pytest.mark.tinydb_only("the modes of the data folder's files")
def test_what_backdesk_writes_is_private_and_check_passes_after_demo(demo_site, tmp_path):
    site = demo_site
    result = site.cli("check")
    assert result.code == 0, result.stderr  # documents folder 0755 and inbox files 0644 failed it
    for path in [site.data_dir, *site.data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))

    outputs = {
        "export": ["export", "hr.records", "-o", tmp_path / "records.json"],
        "people export": ["people", "export", "-o", tmp_path / "people.csv"],
        "phone list export": ["phone", "list", "export", "-o", tmp_path / "phones.csv"],
        "accounting export": ["accounting", "export", "-o", tmp_path / "journal.hledger"],
        "hr ics": ["hr", "ics", "-o", tmp_path / "interviews.ics"],
    }
    for what, args in outputs.items():
        result = site.cli(*args)
        assert result.code == 0, (what, result.stderr)
        mode = stat.S_IMODE(args[-1].stat().st_mode)
        assert mode == 0o600, (what, oct(mode))
    folder = tmp_path / "docs-out"
    folder.mkdir()
    assert site.cli("docs", "export", "1", folder).code == 0
    assert [oct(stat.S_IMODE(p.stat().st_mode)) for p in folder.iterdir()] == [oct(0o600)]
    # an existing world-readable file is replaced by a private one
    loose = tmp_path / "loose.csv"
    loose.write_text("old")
    loose.chmod(0o644)
    assert site.cli("export", "core.people", "--format", "csv", "-o", loose).code == 0
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600 and loose.read_text().startswith("id,")


def test_bad_output_paths_are_one_line_and_leave_nothing(demo_site, tmp_path):
    site = demo_site
    refused(site.cli("export", "core.people", "-o", ""), "output")
    refused(site.cli("export", "core.people", "-o", "/dev/full"), "/dev/full", "No space left")
    refused(site.cli("export", "core.people", "-o", tmp_path / "no" / "such" / "dir.json"), "cannot write")
    refused(site.cli("people", "export", "-o", "/dev/full"), "/dev/full")
    refused(site.cli("accounting", "export", "-o", "/dev/full"), "/dev/full")
    assert list(tmp_path.iterdir()) == []
    if not ON_POSTGRESQL:
        assert not [p for p in site.data_dir.rglob("*.tmp")]


def test_global_search_shows_only_what_the_operator_may_read(demo_site):
    site = demo_site
    site.operator("stefan", permissions=["core.directory.read", "telephony.calls.read", "it.tickets.read"])
    queries = {"invoice from last": "telephony", "Marek": "hr", "Lautstärke": "hr", "Lindner": "accounting"}
    admin = site.open("alice")
    for query, owner in queries.items():
        assert owner in {r.owner for r in admin.services.search.search(query)}, query
    staff = site.open("stefan")
    for query, owner in queries.items():
        assert owner not in {r.owner for r in staff.services.search.search(query)}, query
    # and the HR case search the admin ran is in the audit trail; the staff's searches read nothing confidential
    reads = admin.services.audit.entries(table="hr.cases", op="read")
    assert [e["actor"] for e in reads] == ["alice"]
