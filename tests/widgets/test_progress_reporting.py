"""Progress: ProgressScreen runs work in a thread; ClickProgress for the CLI."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import ProgressBar, Static

from core.errors import ValidationError
from core.cli.testing import wait_for as until
from core.shell.widgets.progress import ClickProgress, NullProgress, Progress, format_elapsed

REPO = Path(__file__).resolve().parents[2]


class ProgressHost(App[None]):
    def __init__(self, screen) -> None:
        super().__init__()
        self.progress_screen = screen
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.progress_screen, self.results.append)


async def test_progress_screen_runs_the_work_and_returns_its_result():
    from core.shell.widgets import ProgressScreen

    seen: dict[str, Any] = {}
    release = threading.Event()

    def work(progress: Progress) -> str:
        seen["thread"] = threading.current_thread()
        progress.start(1000, "Importing people")
        for _ in range(500):
            progress.advance()
        progress.advance(0)
        release.wait(10)  # the test looks at the screen half-way
        progress.advance(500)
        progress.finish()
        return "imported 1000"

    screen = ProgressScreen(work, title="Import")
    app = ProgressHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        # Half-way: the label, the count and the bar are shown.
        bar = screen.query_one(ProgressBar)
        label = screen.query_one(".progress-screen--label", Static)
        status = screen.query_one(".progress-screen--status", Static)
        await until(pilot, lambda: bar.progress >= 500 and str(status.render()).startswith("500 of 1000"))
        assert str(label.render()) == "Importing people"
        assert bar.total == 1000 and bar.progress == 500
        # and the time it has taken so far (how much depends on the machine)
        assert re.match(r"500 of 1000 · \d+:\d\d\b", str(status.render())), str(status.render())
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.results == ["imported 1000"]
        assert seen["thread"] is not threading.main_thread()


async def test_progress_screen_shows_the_error_and_closes_with_none():
    from core.shell.widgets.progress_screen import ProgressScreen

    def work(progress: Progress) -> None:
        progress.start(None, "Backing up")
        progress.advance(3)
        raise ValidationError("The backup folder is full")

    screen = ProgressScreen(work)
    app = ProgressHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen.error is not None)
        await pilot.pause()
        assert app.screen is screen
        error = screen.query_one(".progress-screen--error", Static)
        assert "The backup folder is full" in str(error.render())
        assert error.display
        assert isinstance(screen.error, ValidationError)
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


def test_click_progress_draws_a_line_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = ClickProgress(stream, interval=0)
    progress.start(4, "Payroll")
    progress.advance()
    progress.advance(3)
    progress.finish()
    text = stream.getvalue()
    assert "\rPayroll [#####---------------] 1/4  25%" in text
    assert "4/4 100%" in text
    assert text.endswith("\n")
    assert progress.done == 4


def test_click_progress_writes_start_and_end_lines_to_a_file():
    stream = io.StringIO()
    progress = ClickProgress(stream)
    progress.start(None, "Export")
    progress.advance(10)
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Export…"
    assert lines[1].startswith("Export 10 0:0")
    assert len(lines) == 2


def test_protocol_and_helpers():
    assert isinstance(ClickProgress(io.StringIO()), Progress)
    assert isinstance(NullProgress(), Progress)
    NullProgress().start(3, "x")
    assert format_elapsed(75.2) == "1:15"
    assert format_elapsed(3725) == "1:02:05"


def test_progress_module_imports_without_textual():
    code = (
        "import sys\n"
        "from core.shell.widgets.progress import ClickProgress, Progress\n"
        "import core.shell.widgets\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'textual'], 'textual imported'\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr
