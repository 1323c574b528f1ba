"""Reading a candidate's CV (text through the documents plugin's extraction,
audited, a copy saved only with consent to overwrite) and the audit of reads
on the HR screens: once when the operator opens a screen or a record, never
on a refresh after someone's change; refused attempts still audited."""

from __future__ import annotations

import stat

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.shell.app import make_app
from core.errors import PermissionDenied, ValidationError
from core.shell.widgets import ConfirmDialog, DetailView, FormScreen, RecordTable
from plugins.hr import cases, discipline, hiring
from plugins.hr import screens as hr_screens
from plugins.hr import service as svc
from tests.office import simple_pdf
from tests.pilot import open_table, wait_for



def reads(bd, **where) -> list[dict]:
    return bd.table("core.audit").find(dict({"op": "read", "plugin": "hr"}, **where), order_by=["id"])


def candidate_with_cv(ctx, ids, tmp_path, name="cv.txt", content: bytes | str = "Nils Nagel\nClerk since 2019"):
    path = tmp_path / "incoming" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    op = hiring.add_opening(ctx, "Clerk", department=ids["sales"])
    return hiring.add_candidate(ctx, "Nils Nagel", opening=op["id"], cv=str(path))


# ----------------------------------------------------------------------- the CV
def test_read_cv_extracts_text_like_documents_and_is_audited(office, tmp_path, monkeypatch):
    bd, ctx, ids = office
    pdf = candidate_with_cv(ctx, ids, tmp_path, "nagel.pdf", simple_pdf("Nils Nagel Bookkeeping 2019"))
    cv = hiring.read_cv(ctx, pdf["id"])
    assert "Bookkeeping 2019" in cv["text"] and cv["filename"] == "nagel.pdf"
    assert [(r["doc_id"], r["what"]) for r in reads(bd)] == [(pdf["id"], f"read the CV of candidate #{pdf['id']}")]
    # one extraction for the office (core.textfiles), the one documents indexes with
    import core.textfiles
    import plugins.documents.files as doc_files

    assert doc_files.extract_text is core.textfiles.extract_text
    monkeypatch.setattr(core.textfiles, "extract_text", lambda path, filename: f"via core: {filename}")
    assert hiring.read_cv(ctx, pdf["id"])["text"] == "via core: nagel.pdf"


def test_cv_without_text_and_candidate_without_cv(office, tmp_path):
    bd, ctx, ids = office
    docx = candidate_with_cv(ctx, ids, tmp_path, "nagel.docx", b"PK\x03\x04 not really a docx")
    assert hiring.read_cv(ctx, docx["id"])["text"] == ""
    op = hiring.openings(ctx, "open")[0]
    bare = hiring.add_candidate(ctx, "Olga Ohne", opening=op["id"])
    before = len(reads(bd))
    with pytest.raises(ValidationError, match="has no CV attached"):
        hiring.read_cv(ctx, bare["id"])
    assert len(reads(bd)) == before  # nothing was read


def test_reading_a_cv_needs_the_permission_and_a_refusal_is_audited(site, fill_office, tmp_path):
    hr_bd = site.open("eva")
    ids = fill_office(hr_bd)
    cand = candidate_with_cv(hr_bd.context("hr"), ids, tmp_path)
    bd = site.open("carla")
    ctx = bd.context("hr")
    with pytest.raises(PermissionDenied):
        hiring.read_cv(ctx, cand["id"])
    with pytest.raises(PermissionDenied):
        hiring.save_cv_copy(ctx, cand["id"], str(tmp_path))
    refused = reads(bd, actor="carla")
    assert [r["doc_id"] for r in refused] == [cand["id"], cand["id"]]
    assert all(r["what"].startswith("refused (hr.hiring.read)") for r in refused)
    assert list(tmp_path.glob("cv.txt")) == []


def test_save_a_copy_refuses_to_overwrite_without_consent(office, tmp_path):
    bd, ctx, ids = office
    cand = candidate_with_cv(ctx, ids, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    written = hiring.save_cv_copy(ctx, cand["id"], str(out))  # a folder: the CV's own name
    assert written == (out / "cv.txt").resolve()
    assert written.read_text() == "Nils Nagel\nClerk since 2019"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    written.write_text("mine")
    with pytest.raises(hiring.CopyExists) as info:
        hiring.save_cv_copy(ctx, cand["id"], str(written))
    assert info.value.field == "dest" and written.read_text() == "mine"
    assert hiring.save_cv_copy(ctx, cand["id"], str(written), overwrite=True) == written
    assert written.read_text() == "Nils Nagel\nClerk since 2019"
    assert [p.name for p in out.iterdir()] == ["cv.txt"]  # no temporary file left
    for dest, message in [("", "name the file or folder"), ("relative/cv.txt", "full path"),
                          (str(tmp_path / "nowhere" / "cv.txt"), "no folder"),
                          (str(site_data(bd) / "cv.txt"), "inside the data directory")]:
        with pytest.raises(ValidationError, match=message):
            hiring.save_cv_copy(ctx, cand["id"], dest)
    saves = [r["what"] for r in reads(bd) if r["what"].startswith("save a copy")]
    assert saves == [f"save a copy of the CV of candidate #{cand['id']} to {written}"] * 2


def site_data(bd):
    from pathlib import Path

    return Path(bd.config.data_dir)


async def test_view_the_cv_from_the_hiring_screen_and_save_a_copy(office, tmp_path):
    bd, ctx, ids = office
    lines = "\n".join(f"line {n}: experience" for n in range(1, 80))
    cand = candidate_with_cv(ctx, ids, tmp_path, "long.txt", "Nils Nagel\n" + lines + "\nTHE END")
    target = tmp_path / "copy.txt"
    target.write_text("keep me")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_table(pilot, "hr.hiring", "#hr-candidates", rows=1)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, hr_screens.CVScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.cv is not None)
        body = str(screen.query_one("#hr-cv-text", Static).render())
        assert "line 42: experience" in body and "THE END" in body
        assert "long.txt" in str(screen.query_one("#hr-cv-head", Static).render())
        scroll = screen.query_one("#hr-cv", VerticalScroll)
        assert scroll.has_focus and scroll.scroll_y == 0
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: scroll.scroll_y > 0)
        # save a copy over an existing file: asked first; "no" keeps the file
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        form.form.control("dest").value = str(target)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is form)
        assert target.read_text() == "keep me"
        errors = " ".join(str(w.render()) for w in form.query(".record-form--error"))
        assert "exists already" in errors
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen)
        assert target.read_text().startswith("Nils Nagel") and "THE END" in target.read_text()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, hr_screens.HiringScreen))
    whats = [r["what"] for r in reads(bd, doc_id=cand["id"])]
    assert whats == [f"read the CV of candidate #{cand['id']}",
                     f"save a copy of the CV of candidate #{cand['id']} to {target.resolve()}"]


async def test_candidate_screen_opens_the_cv_and_one_without_says_so(office, tmp_path):
    bd, ctx, ids = office
    cand = candidate_with_cv(ctx, ids, tmp_path)
    bare = hiring.add_candidate(ctx, "Olga Ohne", opening=cand["opening_id"])
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_table(pilot, "hr.hiring", "#hr-candidates", rows=2)
        assert table.cursor_record["id"] == bare["id"]  # newest first
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, hr_screens.HiringScreen)  # no CV: a notice, no screen
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, hr_screens.CandidateScreen))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, hr_screens.CVScreen) and app.screen.cv is not None)
        assert "Clerk since 2019" in str(app.screen.query_one("#hr-cv-text", Static).render())


# ----------------------------------------------------------- reads, not refreshes
async def test_list_and_record_reads_are_audited_on_opening_not_on_refresh(site, office):
    bd, ctx, ids = office
    svc.save_record(ctx, ids["ben"], {"job_title": "Clerk", "start_date": "2020-01-01"})
    other = site.open("alice")  # another operator changes things while eva looks
    other_ctx = other.context("hr")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_table(pilot, "hr.employees", "#hr-employees", rows=1)
        assert [r["what"] for r in reads(bd)] == ["list employee records"]
        # refreshes after changes (this process's and another's): no new read
        svc.save_record(ctx, ids["ben"], {"job_title": "Senior clerk"})
        await wait_for(pilot, lambda: table.cursor_record["job_title"] == "Senior clerk")
        svc.save_record(other_ctx, ids["anna"], {"job_title": "Head", "start_date": "2019-01-01"})
        bd.store.refresh()
        await wait_for(pilot, lambda: table.row_count == 2)
        assert [r["what"] for r in reads(bd)] == ["list employee records"]
        # opening a record is a read; its refreshes are not
        assert table.move_cursor_to_id(ctx.table("records").find({"person_id": ids["ben"]})[0]["id"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, hr_screens.EmployeeScreen) and app.screen.doc)
        detail = app.screen
        opened = detail.doc_id
        assert opened == ids["ben"]
        assert [(r["table"], r["doc_id"]) for r in reads(bd)][-1] == ("hr.records", opened)
        count = len(reads(bd))
        svc.save_record(other_ctx, opened, {"notes": "moved desk"})
        bd.store.refresh()
        await wait_for(pilot, lambda: dict(detail.query_one(DetailView).pairs).get("Notes") == "moved desk")
        discipline.issue_warning(ctx, opened, level="verbal", reason="late")
        await wait_for(pilot, lambda: "late" in str(detail.query_one("#hr-text", Static).render()))
        assert len(reads(bd)) == count
        # back on the list: refreshed, not read again; opening it anew is a read
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, hr_screens.EmployeesScreen))
        await pilot.pause()
        assert len(reads(bd)) == count
        app.push_screen(hr_screens.EmployeesScreen(ctx))
        await wait_for(pilot, lambda: len(reads(bd)) == count + 1)
        assert reads(bd)[-1]["what"] == "list employee records"
    other.close()


async def test_cases_and_discipline_read_once_refused_attempts_still_audited(site, office):
    bd, ctx, ids = office
    case = cases.open_case(ctx, type="complaint", subject="Draught", raised_by=ids["anna"])
    discipline.issue_warning(ctx, ids["ben"], level="verbal", reason="late")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_table(pilot, "hr.cases", "#hr-cases", rows=1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, hr_screens.CaseScreen) and app.screen.doc)
        cases.add_note(ctx, case["id"], "window fixed")
        await wait_for(pilot, lambda: "window fixed" in str(app.screen.query_one("#hr-text", Static).render()))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, hr_screens.CasesScreen))
        cases.open_case(ctx, type="grievance", subject="Parking", raised_by=ids["ben"])
        await wait_for(pilot, lambda: table.row_count == 2)
        assert [(r["table"], r["doc_id"]) for r in reads(bd)] == [("hr.cases", None), ("hr.cases", case["id"])]
        await pilot.press("a")  # another list asked for: a read
        await wait_for(pilot, lambda: len(reads(bd)) == 3)
        warnings = await open_table(pilot, "hr.discipline", "#hr-warnings", rows=1)
        discipline.issue_warning(ctx, ids["anna"], level="verbal", reason="noise")
        await wait_for(pilot, lambda: warnings.row_count == 2)
        assert [r["what"] for r in reads(bd)][3:] == ["list warnings"]

    # an operator without the right: the attempt is audited once, refreshes add nothing
    carla = site.open("carla")
    carla_ctx = carla.context("hr")
    app = make_app(carla, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = hr_screens.CasesScreen(carla_ctx)
        app.push_screen(screen)
        await wait_for(pilot, lambda: app.screen is screen and "may not" in str(
            screen.query_one("#hr-bar", Static).render()))
        cases.open_case(ctx, type="complaint", subject="Coffee", raised_by=ids["anna"])
        carla.store.refresh()
        await pilot.pause(0.3)
        assert screen.query_one(RecordTable).row_count == 0
    refused = reads(carla, actor="carla")
    assert len(refused) == 1 and refused[0]["what"].startswith("refused (hr.cases.read)")
    carla.close()


def test_services_still_audit_by_default(office):
    bd, ctx, ids = office
    svc.save_record(ctx, ids["ben"], {"job_title": "Clerk", "start_date": "2020-01-01"})
    svc.record_rows(ctx)
    svc.record_rows(ctx, audit=False)
    svc.get_record(ctx, ids["ben"], audit=False)
    svc.get_record(ctx, ids["ben"])
    assert [r["what"] for r in reads(bd)] == ["list employee records", f"read the employee record of #{ids['ben']}"]
