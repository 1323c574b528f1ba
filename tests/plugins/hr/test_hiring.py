"""Hiring: openings, candidates with a CV, stages, interviews (.ics), the hire
in one transaction, and bad input that stores nothing."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from core.errors import UnknownRecord, ValidationError
from plugins.hr import files, hiring
from plugins.hr.ics import fold


def _counts(bd) -> dict:
    return {name: bd.table(name).count() for name in
            ("core.people", "hr.records", "hr.checklists", "hr.candidates", "core.events")}


@pytest.fixture
def candidate(office):
    bd, ctx, ids = office
    op = hiring.add_opening(ctx, "Accountant", department="Sales")
    cand = hiring.add_candidate(ctx, "Nora Neumann", opening=op["id"], email="nora@example.org", note="referral")
    return bd, ctx, ids, cand


def test_hire_creates_person_record_checklist_and_event(candidate):
    bd, ctx, ids, cand = candidate
    out = hiring.hire(ctx, cand["id"], start="2026-03-01", pay_amount="4200", pay_period="month")
    pid = out["person_id"]
    person = bd.services.people.get(pid)
    assert person["name"] == "Nora Neumann" and person["status"] == "active"
    assert person["start_date"] == "2026-03-01" and person["title"] == "Accountant"
    assert person["email"] == "nora@example.org" and person["department_id"] == ids["sales"]
    rec = ctx.table("records").find({"person_id": pid})[0]
    # money as a string with its currency; probation from the setting (6 months)
    assert rec["pay_amount"] == "4200.00" and rec["currency"] == "EUR" and rec["pay_period"] == "month"
    assert rec["probation_end"] == "2026-08-31" and "name" not in rec and "email" not in rec
    assert ctx.table("candidates")[cand["id"]]["stage"] == "hired"
    (cl,) = ctx.table("checklists").find({"person_id": pid})
    assert cl["kind"] == "onboarding" and [i["owner_role"] for i in cl["items"]] == ["hr", "it", "accounting",
                                                                                    "reception", "hr"]
    (ev,) = bd.table("core.events").find({"name": "hr.employee_hired"})
    assert ev["data"]["person_id"] == pid and ev["data"]["start_date"] == "2026-03-01"
    assert ev["data"]["job_title"] == "Accountant" and ev["data"]["department_id"] == ids["sales"]
    assert ev["data"]["candidate_id"] == cand["id"] and ev["data"]["salary"] == "4200.00"
    # hiring twice is refused
    with pytest.raises(ValidationError, match="already hired"):
        hiring.hire(ctx, cand["id"], start="2026-03-01")


@pytest.mark.parametrize("kwargs, message", [
    ({"start": None}, "a date is required"),
    ({"start": ""}, "a date is required"),
    ({"start": "2026-03-01", "end": "2026-02-01"}, "lies before the start date"),
    ({"start": "01.03.2026"}, "is not a date as YYYY-MM-DD"),
    ({"start": "2026-03-01", "pay_amount": "-5"}, "zero or more"),
    ({"start": "2026-03-01", "pay_amount": "1e400"}, "not an amount"),
    ({"start": "2026-03-01", "contract_type": "fixed_term"}, "needs an end date"),
    ({"start": "2026-03-01", "department": "Nowhere"}, "no department called"),
])
def test_bad_hire_stores_nothing(candidate, kwargs, message):
    bd, ctx, ids, cand = candidate
    before = _counts(bd)
    with pytest.raises((ValidationError, UnknownRecord), match=message):
        hiring.hire(ctx, cand["id"], **kwargs)
    assert _counts(bd) == before
    assert ctx.table("candidates")[cand["id"]]["stage"] == "applied"


def test_hire_rolls_back_when_the_directory_refuses(candidate):
    bd, ctx, ids, cand = candidate
    # the candidate's email is already Anna's: the directory refuses, nothing is left behind
    ctx.table("candidates").update(cand["id"], {"email": "anna@test.example"})
    before = _counts(bd)
    with pytest.raises(ValidationError, match="already belongs to Anna Arndt"):
        hiring.hire(ctx, cand["id"], start="2026-03-01")
    assert _counts(bd) == before


def test_unknown_candidate(office):
    bd, ctx, ids = office
    with pytest.raises(UnknownRecord, match="no candidate #99"):
        hiring.hire(ctx, 99, start="2026-03-01")
    with pytest.raises(ValidationError, match="not a candidate number"):
        hiring.hire(ctx, "abc", start="2026-03-01")


def test_stages_notes_and_interviews(candidate):
    bd, ctx, ids, cand = candidate
    hiring.move_stage(ctx, cand["id"], "screening", "phone call went well")
    iv = hiring.schedule_interview(ctx, cand["id"], "2026-03-10 14:30", minutes=45, location="Room 2",
                                   interviewers="eva, anna")
    assert iv["start"] == "2026-03-10T13:30:00Z"  # Berlin is UTC+1 in March
    doc = ctx.table("candidates")[cand["id"]]
    assert doc["stage"] == "interview"
    assert [h["stage"] for h in doc["history"]] == ["applied", "screening", "interview"]
    assert doc["history"][1]["note"] == "phone call went well" and doc["history"][1]["by"] == "eva"
    hiring.record_feedback(ctx, iv["id"], "Strong on month-end closing", rating=4, recommend=True)
    assert ctx.table("interviews")[iv["id"]]["rating"] == 4
    with pytest.raises(ValidationError, match="1 to 5"):
        hiring.record_feedback(ctx, iv["id"], "x", rating=9)
    with pytest.raises(ValidationError, match="YYYY-MM-DD HH:MM"):
        hiring.schedule_interview(ctx, cand["id"], "tomorrow")
    with pytest.raises(ValidationError, match="Hire"):
        hiring.move_stage(ctx, cand["id"], "hired")
    with pytest.raises(ValidationError, match="is not one of"):
        hiring.move_stage(ctx, cand["id"], "promoted")


def test_exported_interviews_go_to_the_operators_exports_folder(candidate):
    from plugins.hr.screens import export_ics

    bd, ctx, ids, cand = candidate
    hiring.schedule_interview(ctx, cand["id"], "2026-03-10 09:00")
    path = export_ics(ctx, cand["id"])
    assert path == bd.config.data_dir / "exports" / bd.operator.account / f"interviews-candidate-{cand['id']}.ics"
    assert path.read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR") and oct(path.stat().st_mode & 0o777) == "0o600"


def test_interviews_ics_is_rfc5545(candidate):
    bd, ctx, ids, cand = candidate
    ctx.table("candidates").update(cand["id"], {"name": "Nora Neumann-Müller; née Groß, a very long name indeed"})
    hiring.schedule_interview(ctx, cand["id"], "2026-03-10 09:00", location="Raum Süd, 2. OG")
    hiring.schedule_interview(ctx, cand["id"], "2026-03-12 09:00")
    text = hiring.interviews_ics(ctx, cand["id"])
    raw = text.encode("utf-8")
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")  # never cut inside a character
    unfolded = text.replace("\r\n ", "").split("\r\n")
    assert unfolded[0] == "BEGIN:VCALENDAR" and unfolded[-2] == "END:VCALENDAR"
    assert "VERSION:2.0" in unfolded and any(u.startswith("PRODID:") for u in unfolded)
    assert unfolded.count("BEGIN:VEVENT") == 2
    uids = [u for u in unfolded if u.startswith("UID:")]
    assert len(set(uids)) == 2
    assert all(u.endswith("Z") for u in unfolded if u.startswith(("DTSTAMP:", "DTSTART:", "DTEND:")))
    assert "DTSTART:20260310T080000Z" in unfolded and "DTEND:20260310T090000Z" in unfolded
    assert "LOCATION:Raum Süd\\, 2. OG" in unfolded
    summary = next(u for u in unfolded if u.startswith("SUMMARY:"))
    assert "Neumann-Müller\\; née Groß\\, a very long name indeed (Accountant)" in summary


def test_fold_keeps_characters_whole():
    line = "SUMMARY:" + "ü" * 80
    folded = fold(line).encode("utf-8")
    parts = folded.split(b"\r\n")
    assert all(len(p) <= 75 for p in parts)
    assert folded.decode("utf-8").replace("\r\n ", "").rstrip("\r\n") == line


@pytest.mark.tinydb_only("the data folder's files; on PostgreSQL: test_cv_two_hosts.py")
def test_cv_is_stored_content_addressed(candidate, tmp_path):
    bd, ctx, ids, cand = candidate
    cv = tmp_path / "nora-cv.pdf"
    cv.write_bytes(b"%PDF-1.4 Nora's CV")
    doc = hiring.attach_cv(ctx, cand["id"], str(cv))
    sha = doc["cv"]["sha256"]
    stored = files.blob_path(bd.config.data_dir, sha)
    assert stored.read_bytes() == b"%PDF-1.4 Nora's CV"
    assert stored.parent.parent == files.files_dir(bd.config.data_dir).resolve()
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    # the same content again: one file
    op = ctx.table("openings").all()[0]
    other = hiring.add_candidate(ctx, "Olaf Otto", opening=op["id"], cv=str(cv))
    assert other["cv"]["sha256"] == sha
    assert sum(len(f) for _, _, f in os.walk(files.files_dir(bd.config.data_dir))) == 1
    assert hiring.cv_bytes(ctx, cand["id"]) == ("nora-cv.pdf", b"%PDF-1.4 Nora's CV")


def test_cv_bad_input(candidate, tmp_path):
    bd, ctx, ids, cand = candidate
    (tmp_path / "cv.exe").write_bytes(b"MZ")
    (tmp_path / "empty.pdf").write_bytes(b"")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"x" * ((20 << 20) + 1))
    for path, message in ((tmp_path / "missing.pdf", "no file"), (tmp_path, "not a regular file"),
                          (tmp_path / "cv.exe", "a CV must be one of"), (tmp_path / "empty.pdf", "is empty"),
                          (big, "larger than 20 MB"), ("", "name the CV file")):
        with pytest.raises(ValidationError, match=message):
            hiring.attach_cv(ctx, cand["id"], str(path))
    assert ctx.table("candidates")[cand["id"]]["cv"] is None
    for bad in ("../../etc/passwd", "g" * 64, "0" * 63, "../" + "0" * 61, None):
        with pytest.raises(ValidationError):
            files.blob_path(bd.config.data_dir, bad)


def test_closed_opening_takes_no_candidates(office):
    bd, ctx, ids = office
    op = hiring.add_opening(ctx, "Clerk", department=ids["sales"])
    hiring.set_opening_status(ctx, op["id"], "closed")
    with pytest.raises(ValidationError, match="is closed"):
        hiring.add_candidate(ctx, "Paul", opening=op["id"])
    with pytest.raises(ValidationError, match="not an email address"):
        hiring.add_candidate(ctx, "Paul", opening=op["id"], email="paul at home")
    with pytest.raises(ValidationError, match="at most 200 characters"):
        hiring.add_candidate(ctx, "P" * 5000, opening=op["id"])
    assert ctx.table("candidates").count() == 0


def test_probation_end_is_clipped_to_a_short_contract(candidate):
    bd, ctx, ids, cand = candidate
    out = hiring.hire(ctx, cand["id"], start=dt.date(2026, 3, 1), end="2026-05-31", contract_type="fixed_term")
    assert out["record"]["probation_end"] == "2026-05-31" and out["record"]["end_date"] == "2026-05-31"
