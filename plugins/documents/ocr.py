"""Text recognition (OCR) of scans with ``ocrmypdf`` and Tesseract.

Only the program: this module runs ``ocrmypdf`` on one file and reports its
pages as they are done. The jobs — which version of which document, its
state, the searchable PDF kept as a new version — are in
:mod:`plugins.documents.ocr_jobs`.

ocrmypdf takes a PDF or a single image (PNG, JPEG, a multi-page TIFF such as
a received fax) and writes a PDF/A with the recognised text as an invisible
layer over the page images. It runs in its own session with the parent-death
signal set: a Backdesk process killed half-way takes its ocrmypdf along, and
the half-written output stays in the job's work folder, which the next run
removes.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Callable

#: the kinds of file that get a text layer (by MIME type)
SCAN_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/tiff")
#: languages as Tesseract names them, joined by "+"
LANGUAGES = re.compile(r"[a-z]{3}(_[a-z]+)?(\+[a-z]{3}(_[a-z]+)?)*")

# ocrmypdf's exit codes (ocrmypdf.ExitCode)
_INPUT_FILE = 2
_MISSING_DEPENDENCY = 3
_ALREADY_DONE = 6
_ENCRYPTED = 8

_PAGE_DONE = re.compile(r"^\s*(\d+) Grafting")
_FRAME = re.compile(r"^Converting frame: (\d+)")


class OcrError(Exception):
    """Recognition failed; ``str()`` is one line for the job's state."""


def is_scan_type(mime: str) -> bool:
    return mime in SCAN_TYPES


def available() -> str | None:
    """None when ocrmypdf can run here, else why not (one line)."""
    if shutil.which("ocrmypdf") is None:
        return "ocrmypdf is not installed (Debian: apt-get install ocrmypdf tesseract-ocr-deu)"
    return None


def _die_with_parent(ctypes) -> None:  # pragma: no cover - runs in the child
    os.setsid()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def page_count(path: Path, mime: str) -> int | None:
    """Pages of a PDF (None when unknown until ocrmypdf has read it)."""
    if mime != "application/pdf":
        return None
    try:
        from pypdf import PdfReader  # heavy: only for a PDF

        return len(PdfReader(str(path)).pages)
    except Exception:
        return None


def recognise(source: Path, target: Path, *, mime: str, languages: str = "deu+eng",
              on_progress: Callable[[int, int | None], None] | None = None, jobs: int = 1,
              image_dpi: int | None = None) -> None:
    """Write a searchable PDF of ``source`` (a PDF or an image) to ``target``.

    ``on_progress(pages_done, pages)`` is called when the page count is known
    and after each page (``pages`` may be None for an image until it is
    read). Raises :class:`OcrError` with one line."""
    if not LANGUAGES.fullmatch(languages):
        raise OcrError(f"languages {languages[:40]!r}: Tesseract names joined by +, e.g. deu+eng")
    exe = shutil.which("ocrmypdf")
    if exe is None:
        raise OcrError(available() or "ocrmypdf is missing")
    argv = [exe, "-v1", "-j", str(max(1, jobs)), "-l", languages, "--output-type", "pdf"]
    if image_dpi:
        argv += ["--image-dpi", str(image_dpi)]
    argv += ["--", str(source), str(target)]
    pages = page_count(source, mime)
    done: set[int] = set()
    frames = 0
    if on_progress is not None and pages:
        on_progress(0, pages)
    tail: list[str] = []
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    # here, in the parent (the child only calls it): the shell's start imports
    # this module, and ctypes costs it ~1.6 ms (-X importtime, Textual loaded)
    import ctypes

    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, errors="replace", env=env, preexec_fn=lambda: _die_with_parent(ctypes))
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            line = line.rstrip("\n")
            if line.strip() and "Opened a file" not in line:
                tail = (tail + [line])[-20:]
            frame = _FRAME.match(line)
            if frame and pages is None:
                frames = max(frames, int(frame.group(1)) + 1)
                continue
            page = _PAGE_DONE.match(line)
            if page:
                if pages is None and frames:
                    pages = frames
                done.add(int(page.group(1)))
                if on_progress is not None:
                    on_progress(len(done), pages)
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if rc == 0:
        if on_progress is not None and (pages is None or len(done) != pages):
            on_progress(pages or len(done), pages or len(done))
        return
    text = " ".join(tail)
    if rc == _INPUT_FILE and "DpiError" in text and not image_dpi:
        # an image without its scan resolution: assume an office scanner's 300 dpi
        return recognise(source, target, mime=mime, languages=languages, on_progress=on_progress, jobs=jobs,
                         image_dpi=300)
    if rc == _ENCRYPTED:
        raise OcrError("the PDF is password-protected: no text can be recognised")
    if rc == _ALREADY_DONE:
        raise OcrError("the PDF has a text layer already")
    if rc == _MISSING_DEPENDENCY:
        raise OcrError(f"ocrmypdf lacks a program or language ({languages}): {_last(tail)}")
    if rc == _INPUT_FILE:
        raise OcrError(f"not a readable scan: {_last(tail)}")
    raise OcrError(f"ocrmypdf failed (exit {rc}): {_last(tail)}")


def _last(lines: list[str]) -> str:
    wanted = [ln.strip() for ln in lines if not ln.startswith("Running:") and not _PAGE_DONE.match(ln)]
    return (wanted[-1] if wanted else "no output")[:200]
