"""Progress reporting for long work (imports, backups, payroll runs).

Work functions take a :class:`Progress` and do not care where it shows:

    def import_people(rows, progress: Progress) -> int:
        progress.start(len(rows), _("Importing people"))
        for row in rows:
            ...
            progress.advance()
        progress.finish()
        return len(rows)

The shell runs them under ``ProgressScreen`` (a modal with a progress bar,
work in a thread); the CLI passes ``ClickProgress()`` (a line on stderr);
tests and batch jobs pass ``NullProgress()``.

This module does not import Textual (the CLI imports it);
``ProgressScreen`` is in ``core.shell.widgets.progress_screen`` (or
``core.shell.widgets``), which builds on this module.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO, runtime_checkable

__all__ = ["ClickProgress", "NullProgress", "Progress", "format_elapsed"]


@runtime_checkable
class Progress(Protocol):
    """Where long work reports how far it got. Call from any thread."""

    def start(self, total: int | None, label: str = "") -> None:
        """Begin (or begin a new stage): ``total`` steps, ``None`` if unknown."""

    def advance(self, n: int = 1) -> None:
        """``n`` more steps are done."""

    def finish(self) -> None:
        """The work (or the stage) is complete."""


class NullProgress:
    """A :class:`Progress` that shows nothing."""

    def start(self, total: int | None, label: str = "") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


def format_elapsed(seconds: float) -> str:
    """``75.2`` -> ``"1:15"``; ``3725`` -> ``"1:02:05"``."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def _translate(text: str) -> str:
    try:
        from core.shell.widgets._i18n import _  # Babel: not on a command's start
    except ImportError:  # pragma: no cover
        return text
    return _(text)


class ClickProgress:
    """A :class:`Progress` for the CLI: one line on stderr.

    On a terminal the line is redrawn in place (at most ``1/interval`` times
    a second); when stderr is a file or a pipe only the start and the end are
    written, so logs stay readable.

    Args:
        stream: Where to write (default ``sys.stderr``).
        interval: Seconds between redraws on a terminal.
    """

    def __init__(self, stream: TextIO | None = None, *, interval: float = 0.1) -> None:
        self._stream = stream
        self._interval = interval
        self._total: int | None = None
        self._label = ""
        self._done = 0
        self._started = 0.0
        self._drawn_at = 0.0
        self._width = 0
        self._active = False

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    @property
    def done(self) -> int:
        """Steps done so far."""
        return self._done

    def _is_terminal(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def _line(self) -> str:
        elapsed = format_elapsed(time.monotonic() - self._started)
        label = f"{self._label} " if self._label else ""
        if self._total:
            percent = min(100, self._done * 100 // self._total)
            bar_width = 20
            filled = min(bar_width, self._done * bar_width // self._total)
            bar = "#" * filled + "-" * (bar_width - filled)
            return f"{label}[{bar}] {self._done}/{self._total} {percent:3d}% {elapsed}"
        return f"{label}{self._done} {elapsed}"

    def _draw(self) -> None:
        line = self._line()
        pad = " " * max(0, self._width - len(line))
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self._width = len(line)
        self._drawn_at = time.monotonic()

    def start(self, total: int | None, label: str = "") -> None:
        if self._active:
            self.finish()
        self._total = total
        self._label = label
        self._done = 0
        self._started = time.monotonic()
        self._width = 0
        self._active = True
        if self._is_terminal():
            self._draw()
        else:
            self.stream.write(f"{label or _translate('Working')}…\n")
            self.stream.flush()

    def advance(self, n: int = 1) -> None:
        self._done += n
        if self._active and self._is_terminal():
            if time.monotonic() - self._drawn_at >= self._interval:
                self._draw()

    def finish(self) -> None:
        if not self._active:
            return
        self._active = False
        if self._is_terminal():
            self._draw()
            self.stream.write("\n")
        else:
            self.stream.write(self._line() + "\n")
        self.stream.flush()

