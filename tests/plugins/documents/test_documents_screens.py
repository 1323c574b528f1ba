"""The documents screens driven with the Pilot at 80x24."""

from __future__ import annotations

from core.shell.app import make_app
from core.shell.widgets import FormScreen, RecordTable
from plugins.documents import service
from plugins.documents.screens import DocumentScreen, IntakeScreen, OutboxScreen, RegisterScreen
from tests.pilot import wait_for


def _seed(site, ctx):
    service.add_type(ctx, "Invoice", retention_years=10)
    service.add_document(ctx, site.file("memo.txt", "The copier in reception is broken."), {"title": "Memo copier"})
    service.add_document(ctx, site.file("inv.txt", "Invoice 77 for toner"), {"title": "Toner invoice",
                                                                              "type": "Invoice"})


def _text(screen, selector) -> str:
    return str(screen.query_one(selector).render())


async def test_register_search_highlight_and_detail(site, bd, ctx):
    _seed(site, ctx)
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RegisterScreen)
        table = screen.query_one(RecordTable)
        assert [r["title"] for r in table.records] == ["Toner invoice", "Memo copier"]
        await pilot.press("f", *"broken", "enter")
        await pilot.pause()
        assert [r["title"] for r in table.records] == ["Memo copier"]
        snippet = screen.query_one("#docs-snippet").render()
        marked = [snippet.plain[s.start:s.end] for s in snippet.spans if getattr(s.style, "reverse", False)]
        assert marked == ["broken"]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DocumentScreen)
        pairs = dict((str(k), v) for k, v in app.screen.query_one("#doc-detail").pairs)
        assert str(pairs["Title"]) == "Memo copier" and "memo.txt" in pairs["Current file"]
        history = app.screen.query_one("#doc-history", RecordTable)
        assert [r["what"] for r in history.records] == ["filed"]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RegisterScreen)


async def test_add_chooses_the_file_in_a_folder_tree_and_shows_errors_at_the_field(site, bd, ctx):
    """a opens a folder tree on the intake folder first (no typed path): the
    file chosen there fills the form; a refusal shows at the field; a file of
    the intake folder is filed through its intake item and leaves the inbox;
    2 switches to the operator's exports folder."""
    from core.shell.widgets import FilePicker

    (site.inbox / "letter.txt").write_text("Dear Sir")
    (ctx.exports_dir() / "report.csv").write_text("a,b\n")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6", "a")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePicker), what="the file picker")
        picker = app.screen
        await wait_for(pilot, lambda: len(picker.tree.root.children) == 1, what="the inbox listed")
        assert picker.tree.root.children[0].label.plain == "letter.txt"
        assert "▸1 Intake folder" in _text(picker, ".file-picker--roots")
        await pilot.press("2")
        await wait_for(pilot, lambda: [n.label.plain for n in picker.tree.root.children] == ["report.csv"],
                        what="the exports folder listed")
        await pilot.press("1")
        await wait_for(pilot, lambda: [n.label.plain for n in picker.tree.root.children] == ["letter.txt"],
                        what="the inbox again")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        form = app.screen.form
        assert form.control("file").value == str(site.inbox / "letter.txt")
        form.control("file").value = str(site.files / "missing.txt")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)  # stays open with the message
        assert "no such file" in str(app.screen.query_one(".record-form--error, .-error").render()) \
            or "no such file" in " ".join(str(w.render()) for w in app.screen.query("Static"))
        form.control("file").value = str(site.inbox / "letter.txt")
        form.control("title").value = "Letter"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, RegisterScreen), what="back in the register")
        assert [r["title"] for r in app.screen.query_one(RecordTable).records] == ["Letter"]
    assert ctx.table("documents").count() == 1
    assert [r["status"] for r in ctx.table("intake").all()] == ["filed"]
    assert not (site.inbox / "letter.txt").exists()


async def test_email_and_fax_keys_queue_jobs_shown_in_the_outbox(site, bd, ctx):
    _seed(site, ctx)
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6", "e")
        await pilot.pause()
        app.screen.form.control("to").value = "a@b"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)  # bad address: stays open
        app.screen.form.control("to").value = "boss@test.example"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        app.screen.form.control("number").value = "030 1234567"
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.open_nav("documents.outbox")
        await pilot.pause()
        assert isinstance(app.screen, OutboxScreen)
        rows = app.screen.query_one(RecordTable).records
        assert [(r["kind"], r["status"], r["to_text"]) for r in rows] == [
            ("fax", "queued", "0301234567"), ("email", "queued", "boss@test.example")]


async def test_intake_queue_files_with_suggestions(site, bd, ctx):
    service.add_type(ctx, "Invoice", retention_years=10)
    service.add_rule(ctx, {"name": "inv", "match": "invoice", "type": "Invoice"})
    (site.inbox / "scan.txt").write_text("Invoice 5 from ACME")
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("documents.intake")
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)
        await pilot.press("r")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        assert [(r["filename"], r["suggested"]["type"]) for r in table.records] == [("scan.txt", "Invoice")]
        await pilot.press("f")
        await pilot.pause()
        assert app.screen.form.values["type"] == "Invoice"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)
        assert list(app.screen.query_one(RecordTable).records) == []
    assert not (site.inbox / "scan.txt").exists()
    assert ctx.table("documents").all()[0]["type"] == "Invoice"


async def test_export_writes_into_the_operators_exports_folder(site, bd, ctx, tmp_path, monkeypatch):
    _seed(site, ctx)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    folder = bd.config.data_dir / "exports" / bd.operator.account
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DocumentScreen)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert app.screen.form.control("folder").value == str(folder)  # suggested, not the working folder
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DocumentScreen)
        # a second export of the same file says so and writes nothing
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert "exists already" in " ".join(str(w.render()) for w in app.screen.query("Static"))
        # a relative folder is inside the exports folder
        app.screen.form.control("folder").value = "toner"
        (folder / "toner").mkdir()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DocumentScreen)
    assert (folder / "inv.txt").read_text() == "Invoice 77 for toner"
    assert (folder / "toner" / "inv.txt").exists() and list(cwd.iterdir()) == []


async def test_responsible_and_into_document_are_chosen_by_typing(site, bd, ctx):
    """The document form's Responsible and the copy's Into document are
    pickers (no directory id or document id typed): a name finds the
    person, a word of the title the document; editing shows the name."""
    from core.cli.testing import pick

    _seed(site, ctx)
    people = bd.services.people
    dept = people.add_department("Office")
    anna = people.add_person(name="Anna Becker", department_id=dept, extension="131")
    memo, toner = (service.list_documents(ctx)[i]["id"] for i in (1, 0))
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, RegisterScreen), what="the register")
        await pilot.press("down", "enter")  # Memo copier
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen), what="the document")
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the edit form")
        assert await pick(pilot, app.screen.form, "responsible_id", "beck", "Anna Becker") == anna
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen), what="saved")
        assert ctx.table("documents").get(memo)["responsible_id"] == anna
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the edit form again")
        assert app.screen.form.control("responsible_id").text == "Anna Becker"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen), what="back")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the copy form")
        assert await pick(pilot, app.screen.form, "into", "toner", "Toner invoice") == toner
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen), what="copied")
    assert ctx.table("documents").get(toner)["current_version"] == 2
