"""ProgressScreen: run long work in a thread behind a modal progress bar."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, ClassVar, Generic, TypeVar

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, ProgressBar, Static
from textual.worker import Worker, WorkerState

from core.shell.widgets._css import load_css
from core.shell.widgets._i18n import _
from core.shell.widgets.progress import Progress, format_elapsed

__all__ = ["ProgressScreen"]

ResultType = TypeVar("ResultType")

# The worker reports to the screen at most this often (seconds): a loop of
# 100k advance() calls must not become 100k trips to the event loop.
_REPORT_INTERVAL = 0.05


class _ScreenProgress:
    """The :class:`Progress` handed to the work: counts in the worker thread,
    shows on the screen through ``app.call_from_thread``."""

    def __init__(self, screen: ProgressScreen[Any]) -> None:
        self._screen = screen
        self._lock = threading.Lock()
        self._total: int | None = None
        self._label = ""
        self._done = 0
        self._reported_at = 0.0

    def snapshot(self) -> tuple[int | None, int, str]:
        """(total, done, label) now; the screen's clock reads it so the end
        of a burst of steps shows even when no further step comes."""
        with self._lock:
            return self._total, self._done, self._label

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._reported_at < _REPORT_INTERVAL:
                return
            self._reported_at = now
            state = (self._total, self._done, self._label)
        screen = self._screen
        screen.app.call_from_thread(screen._show_progress, *state)

    def start(self, total: int | None, label: str = "") -> None:
        with self._lock:
            self._total = total
            self._label = label
            self._done = 0
        self._report(force=True)

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self._done += n
        self._report()

    def finish(self) -> None:
        with self._lock:
            if self._total is not None:
                self._done = max(self._done, self._total)
        self._report(force=True)


class ProgressScreen(ModalScreen[ResultType], Generic[ResultType]):
    """Run ``work(progress)`` in a thread and show how far it got.

    The screen shows the label, done/total and the elapsed time, and is
    dismissed with ``work``'s return value. If ``work`` raises, the message
    is shown (in ``$error``) until the user closes the screen, which is then
    dismissed with ``None``; the exception is kept in ``error``.

        def backup(progress): ...
        self.app.push_screen(ProgressScreen(backup, title=_("Backup")), on_done)

    The work runs in a thread: it must not touch widgets (it only calls the
    ``Progress`` it is given) and it cannot be interrupted.

    Args:
        work: ``work(progress) -> result``, run in a worker thread.
        title: Shown at the top (default "Working…").
    """

    DEFAULT_CSS = load_css(__file__, "progress_screen.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Close"), id="progress_screen.close"),
    ]

    def __init__(
        self,
        work: Callable[[Progress], ResultType],
        *,
        title: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._work = work
        self._title = title or _("Working…")
        self._started = 0.0
        self._total: int | None = None
        self._done = 0
        self._finished = False
        self.error: BaseException | None = None
        self._worker: Worker[ResultType] | None = None
        self._progress = _ScreenProgress(self)

    def compose(self) -> ComposeResult:
        with Vertical(classes="progress-screen--box"):
            yield Static(self._title, classes="progress-screen--title", markup=False)
            yield Static("", classes="progress-screen--label", markup=False)
            yield ProgressBar(total=None, show_eta=False, show_percentage=True)
            yield Static("", classes="progress-screen--status", markup=False)
            yield Static("", classes="progress-screen--error", markup=False)
            yield Button(_("Close"), classes="progress-screen--close", compact=True)

    def on_mount(self) -> None:
        self._started = time.monotonic()
        self._show_status()
        self.set_interval(0.25, self._tick)
        self._worker = self._run()

    @work(thread=True, exit_on_error=False, group="progress-screen")
    def _run(self) -> ResultType:
        return self._work(self._progress)

    def _tick(self) -> None:
        if self._finished:
            return
        total, done, label = self._progress.snapshot()
        if (total, done) != (self._total, self._done):
            self._show_progress(total, done, label)
        else:
            self._show_status()

    def _show_progress(self, total: int | None, done: int, label: str) -> None:
        """Runs on the event loop (called through ``call_from_thread``)."""
        self._total = total
        self._done = done
        self.query_one(".progress-screen--label", Static).update(label)
        self.query_one(ProgressBar).update(total=total, progress=done)
        self._show_status()

    def _show_status(self) -> None:
        if self._finished:
            return
        elapsed = format_elapsed(time.monotonic() - self._started)
        if self._total is not None:
            count = _("{done} of {total}").format(done=self._done, total=self._total)
        else:
            count = _("{done} done").format(done=self._done)
        self.query_one(".progress-screen--status", Static).update(f"{count} · {elapsed}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker:
            return
        if event.state == WorkerState.SUCCESS:
            self._finished = True
            self.dismiss(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self._finished = True
            self._show_error(event.worker.error)
        elif event.state == WorkerState.CANCELLED:
            self._finished = True
            self.dismiss(None)

    def _show_error(self, error: BaseException | None) -> None:
        self.error = error
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        self.add_class("-failed")
        self.query_one(".progress-screen--error", Static).update(
            _("Failed: {message}").format(message=message)
        )
        self.query_one(".progress-screen--close", Button).focus()

    @on(Button.Pressed, ".progress-screen--close")
    def _close_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()

    def action_close(self) -> None:
        if self.error is None:
            raise SkipAction()  # the work is still running
        self.dismiss(None)
