"""ExportForm: a file the operator makes goes to their exports folder."""

from __future__ import annotations

from typing import Any

from textual.app import App

from core.errors import PermissionDenied
from core.outputs import exports_dir, list_exports
from core.cli.testing import wait_for
from core.shell.widgets import ExportForm


class Host(App[None]):
    def __init__(self, screen) -> None:
        super().__init__()
        self.form_screen = screen
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.form_screen, self.results.append)


def help_text(screen) -> str:
    return str(screen.form.query_one(".record-form--help").render())


def error_text(screen) -> str:
    return " ".join(str(w.render()) for w in screen.form.query(".record-form--error, .record-form--form-error"))


async def test_the_file_goes_to_the_exports_folder_under_a_name_not_taken(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = exports_dir(tmp_path / "data", "anna")
    (folder / "report.csv").write_text("old\n")
    screen = ExportForm("Save report", folder, "report.csv", lambda: "a,b\n1,2\n")
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.form.control("name").value == "report-2.csv"  # the old one stays
        assert help_text(screen) == f"Saved in {folder}/"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.results == [folder / "report-2.csv"])
    assert (folder / "report-2.csv").read_text() == "a,b\n1,2\n" and (folder / "report.csv").read_text() == "old\n"
    assert oct((folder / "report-2.csv").stat().st_mode & 0o777) == "0o600"
    assert folder == tmp_path / "data" / "exports" / "anna" and oct(folder.stat().st_mode & 0o777) == "0o700"
    assert [row[0] for row in list_exports(tmp_path / "data", "anna")][0] == "report-2.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # nothing in the working folder


async def test_a_path_or_a_refusal_is_shown_and_nothing_is_written(tmp_path):
    folder = exports_dir(tmp_path / "data", "anna")
    calls = []

    def produce() -> str:
        calls.append(1)
        raise PermissionDenied("Anna (anna) may not read payslips")

    screen = ExportForm("Save", folder, "x.csv", produce)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen is screen)
        screen.form.control("name").value = "../../etc/x.csv"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "plain file name" in error_text(screen))
        assert calls == [] and app.screen is screen
        screen.form.control("name").value = "x.csv"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "may not read payslips" in error_text(screen))
        assert app.results == [] and app.screen is screen
    assert list(folder.iterdir()) == []


def test_an_account_name_is_a_plain_folder(tmp_path):
    assert exports_dir(tmp_path, "../root").name == "_root"
    assert exports_dir(tmp_path, "anna.b@x").name == "anna.b@x"
    assert exports_dir(tmp_path, "..").name == "_"
