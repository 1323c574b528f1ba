"""``backdesk hr …`` through real processes: one line and exit 2 for bad
input and missing rights (audited); two operators hiring the same candidate
at once hire them once."""

from __future__ import annotations

import subprocess
import sys

from plugins.hr import cases, hiring


def _prepare(site, fill_office):
    bd = site.open("eva")
    ids = fill_office(bd)
    ctx = bd.context("hr")
    op = hiring.add_opening(ctx, "Clerk", department=ids["sales"])
    cand = hiring.add_candidate(ctx, "Nils Nagel", opening=op["id"])
    case = cases.open_case(ctx, type="complaint", subject="Broken chair ignored", raised_by=ids["anna"])
    bd.close()
    site.opened.remove(bd)
    return ids, cand["id"], case["id"]


def _one_line_error(result, text):
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
    assert len(lines) == 1 and text in lines[0], lines


def test_hire_warn_dismiss_cases(site, fill_office):
    ids, cand, case = _prepare(site, fill_office)
    _one_line_error(site.cli("hr", "hire", str(cand)), "a hire needs a start date")
    _one_line_error(site.cli("hr", "hire", str(cand), "--start", "2026-03-01", "--end", "2026-02-01"),
                    "the end date 2026-02-01 lies before the start date 2026-03-01")
    _one_line_error(site.cli("hr", "hire", "77", "--start", "2026-03-01"), "no candidate #77")
    r = site.cli("hr", "hire", str(cand), "--start", "2026-03-01", "--salary", "3900.50")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Hired: person #4 starts 3/1/2026")
    _one_line_error(site.cli("hr", "warn", "Nobody", "--level", "written", "--reason", "late"),
                    "no person called 'Nobody'")
    r = site.cli("hr", "warn", "Nils Nagel", "--level", "final", "--reason", "late", "--date", "2026-03-20")
    assert r.returncode == 0 and "active until 3/20/2027" in r.stdout, r.stderr
    _one_line_error(site.cli("hr", "dismiss", "4", "--reason", "late"), "a dismissal needs a date")
    r = site.cli("hr", "dismiss", "4", "--date", "2026-04-30", "--reason", "late again")
    assert r.returncode == 0 and "leaves on 4/30/2026" in r.stdout, r.stderr
    _one_line_error(site.cli("hr", "dismiss", "4", "--date", "2026-05-30", "--reason", "again"),
                    "Nils Nagel has already left (on 2026-04-30)")
    r = site.cli("hr", "cases", "--status", "open")
    assert r.returncode == 0 and f"#{case}" in r.stdout and "Broken chair ignored" in r.stdout
    opened = r.stdout.split()[1]  # the day it was opened as the screen writes it (en_US: 12/7/26), not ISO
    assert opened.count("/") == 2 and "-" not in opened, r.stdout
    r = site.cli("hr", "cases", "--status", "closed")
    assert r.stdout.strip() == "No cases."
    r = site.cli("hr", "case", str(case))
    assert "raised by: Anna Arndt" in r.stdout


def test_cli_without_hr_role_is_refused_and_audited(site, fill_office):
    ids, cand, case = _prepare(site, fill_office)
    site.write_config(roles="[it]")
    for args in (("hr", "cases"), ("hr", "case", str(case)), ("hr", "record", str(ids["ben"]))):
        r = site.cli(*args)
        _one_line_error(r, "may not")
    bd = site.open("alice")
    refused = [a for a in bd.table("core.audit").find({"op": "read", "plugin": "hr"})
               if a["what"].startswith("refused")]
    assert [(a["table"], a["doc_id"]) for a in refused] == [("hr.cases", None), ("hr.cases", case),
                                                              ("hr.records", ids["ben"])]


def test_two_processes_hire_the_same_candidate_once(site, fill_office):
    ids, cand, case = _prepare(site, fill_office)
    cmd = [sys.executable, "-m", "core", "--config-dir", str(site.config_dir), "--data-dir", str(site.data_dir),
           "hr", "hire", str(cand), "--start", "2026-03-01"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(60), p.stdout.read(), p.stderr.read()) for p in procs]
    assert sorted(r[0] for r in results) == [0, 2, 2], results
    assert all("already hired" in r[2] for r in results if r[0] == 2)
    bd = site.open("eva")
    assert bd.table("core.people").count({"name": "Nils Nagel"}) == 1
    assert bd.table("hr.records").count() == 1 and bd.table("hr.checklists").count() == 1
    assert bd.table("core.events").count({"name": "hr.employee_hired"}) == 1
