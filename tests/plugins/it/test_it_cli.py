"""``backdesk it …`` in a subprocess: what an operator types and sees."""

from __future__ import annotations

import json


def _person(site):
    bd = site.open()
    with bd.store.transaction():
        dept = bd.services.people.add_department("Reception")
        pid = bd.services.people.add_person(name="Anna Arndt", email="anna@test.example", department_id=dept)
    bd.close()
    site.opened.remove(bd)
    return pid


def test_ticket_open_list_and_bad_input(site):
    pid = _person(site)
    r = site.cli("it", "ticket", "open", "--for", "Anna Arndt", "--title", "Printer jammed", "--priority", "high")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Opened ticket #1: Printer jammed")
    r = site.cli("it", "tickets", "--format", "json")
    (row,) = json.loads(r.stdout)
    assert (row["id"], row["requester_id"], row["priority"], row["status"]) == (1, pid, "high", "new")
    r = site.cli("it", "tickets")
    assert "Printer jammed" in r.stdout and "Anna Arndt" in r.stdout
    assert site.cli("it", "tickets", "--overdue", "--format", "json").stdout.strip() == "[]"
    bad = [
        (["ticket", "open", "--for", "999", "--title", "x"], "backdesk: no person with id 999"),
        (["ticket", "open", "--for", "Zed", "--title", "x"], "backdesk: no person called 'Zed' in the directory"),
        (["ticket", "open", "--for", str(pid), "--title", "x", "--due", "2001-01-01"],
         "backdesk: due: 1/1/2001 is in the past"),
        (["ticket", "open", "--for", str(pid), "--title", "x", "--asset", "NOPE"],
         "backdesk: no asset with tag 'NOPE'"),
        (["ticket", "status", "1", "closed"],
         "backdesk: status: ticket #1 cannot go from new to closed (from new: open, waiting, resolved)"),
        (["ticket", "assign", "1", "sam"], "backdesk: assignee: 'sam' is not in the IT team"),
        (["ticket", "show", "abc"], "backdesk: ticket: 'abc' is not a whole number"),
    ]
    for args, message in bad:
        r = site.cli("it", *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.strip().startswith(message), r.stderr
        assert "Traceback" not in r.stderr
    assert len(json.loads(site.cli("it", "tickets", "--queue", "all", "--format", "json").stdout)) == 1
    r = site.cli("it", "ticket", "assign", "1", "carla")
    assert r.returncode == 0 and "assigned to carla (open)" in r.stdout
    r = site.cli("it", "ticket", "comment", "1", "--canned", "on_it", "--minutes", "10")
    assert r.returncode == 0, r.stderr
    r = site.cli("it", "ticket", "show", "1")
    assert "We are on it" in r.stdout and "resolution: due" in r.stdout


def test_assets_import_csv_all_or_nothing(site, tmp_path):
    _person(site)
    bad = tmp_path / "bad.csv"
    bad.write_text("tag,type,person\nPC-1,computer,Anna Arndt\nPC-2,fridge,\n")
    r = site.cli("it", "assets", "import", str(bad))
    assert r.returncode == 2
    assert r.stderr.strip() == ("backdesk: file: nothing imported: line 3: type: 'fridge' is not one of "
                                "computer, printer, phone, licence, accessory, consumable")
    assert "(none)" in site.cli("it", "assets").stdout
    good = tmp_path / "good.csv"
    good.write_text("tag,type,model,person\nPC-1,computer,T14,Anna Arndt\nPC-2,printer,HP,\n")
    r = site.cli("it", "assets", "import", str(good))
    assert r.returncode == 0 and "2 added, 0 updated" in r.stdout
    listing = site.cli("it", "assets").stdout
    assert "PC-1" in listing and "Anna Arndt" in listing
    r = site.cli("it", "assets", "add", "PC-1", "--type", "computer")
    assert r.returncode == 2 and "already in use" in r.stderr
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    r = site.cli("it", "assets", "import", str(binary))
    assert r.returncode == 2 and "not UTF-8" in r.stderr


def test_maintenance_and_changes(site):
    r = site.cli("it", "maintenance", "add", "Backup check", "--every", "7", "--next-due", "2001-01-01")
    assert r.returncode == 2 and "next_due: 1/1/2001 is in the past" in r.stderr
    r = site.cli("it", "maintenance", "add", "Backup check", "--every", "7", "--next-due", "2099-01-01")
    assert r.returncode == 0
    r = site.cli("it", "maintenance", "done", "1", "--note", "restore tested")
    assert r.returncode == 0 and "next due" in r.stdout
    r = site.cli("it", "changes", "propose", "New NAS", "--risk", "medium", "--planned", "2099-02-01")
    assert r.returncode == 0
    r = site.cli("it", "changes", "done", "1", "--outcome", "done")
    assert r.returncode == 2 and "only an approved change" in r.stderr
    r = site.cli("it", "changes", "approve", "1")  # the console operator is admin: the approver role
    assert r.returncode == 0 and "approved" in r.stdout
    r = site.cli("it", "changes", "done", "1", "--outcome", "migrated")
    assert r.returncode == 0 and "done" in r.stdout


def test_dates_are_typed_as_the_screens_take_them_and_listed_so(site):
    """--next-due, --planned, --warranty-end and --due take the site's date
    (en_US 1/2/2099, a two-digit year too) or ISO; the tables write them the
    same way, JSON keeps ISO; a date that is none is one line naming the option."""
    pid = _person(site)
    r = site.cli("it", "maintenance", "add", "Backup check", "--every", "7", "--next-due", "1/2/2099")
    assert r.returncode == 0, r.stderr
    assert site.cli("it", "changes", "propose", "New NAS", "--planned", "2/3/99").returncode == 0
    r = site.cli("it", "assets", "add", "PC-1", "--type", "computer", "--warranty-end", "2099-03-04")
    assert r.returncode == 0, r.stderr
    r = site.cli("it", "ticket", "open", "--for", str(pid), "--title", "x", "--due", "4/5/2099")
    assert r.returncode == 0, r.stderr
    tasks = json.loads(site.cli("it", "maintenance", "--format", "json").stdout)
    assert [t["next_due"] for t in tasks] == ["2099-01-02"]
    assert [c["planned_date"] for c in json.loads(site.cli("it", "changes", "--format", "json").stdout)] == [
        "2099-02-03"]
    assert [a["warranty_end"] for a in json.loads(site.cli("it", "assets", "--format", "json").stdout)] == [
        "2099-03-04"]
    bd = site.open()
    assert [t["due"] for t in bd.table("it.tickets").find({})] == ["2099-04-05"]
    bd.close()
    site.opened.remove(bd)
    assert "1/2/99" in site.cli("it", "maintenance").stdout  # the locale's short date, as on the screens
    assert "2/3/99" in site.cli("it", "changes").stdout and "3/4/99" in site.cli("it", "assets").stdout
    r = site.cli("it", "maintenance", "add", "Patch", "--every", "7", "--next-due", "31.01.2099")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.strip() == "backdesk: --next-due: '31.01.2099' is not a date (like 12/31/2026)"
    assert len(json.loads(site.cli("it", "maintenance", "--format", "json").stdout)) == 1
