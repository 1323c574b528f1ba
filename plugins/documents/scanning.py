"""Paper in: scanning through SANE (``scanimage``), and copying (scan, then
print through :mod:`core.services.printing`).

A scan runs ``scanimage`` with the profile's resolution, mode and source
(``--batch`` for several pages: a feeder runs until it is empty, or
``pages`` pages), page by page as PNG into a private temporary folder, then
makes one PDF of the pages (Pillow, which fpdf2 brings). Into the register:
the PDF is put into the inbox folder under a ``scan-…`` name (written
beside it as a dot-file, then renamed: the inbox never shows half a scan),
the inbox is read so it becomes an intake item with what the matching rules
suggest, and with ``file`` it is filed at once (the profile's type and tags
first, then the rules'); a PDF without text gets its OCR job as every scan
does (:mod:`.ocr_jobs`). A copy prints the PDF and files nothing unless
asked.

Progress: ``progress(page, percent)`` is called as ``scanimage --progress``
reports it (from the thread that scans; a screen posts it to itself).

Profiles are the ``scan_profiles`` setting: a name with ``resolution``
(dpi, 50–1200), ``mode`` (Color, Gray, Lineart), ``source`` (the scanner's
name for it, e.g. "Flatbed", "ADF", "Automatic Document Feeder"; empty: the
scanner's default), ``pages`` (0: until the feeder is empty; else at most
that many), and optionally ``type`` and ``tags`` for filing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from core.errors import BackdeskError, ValidationError
from core.i18n import N_
from core.outputs import private_dir
from plugins.documents import service
from plugins.documents.models import _

MODES = ("Color", "Gray", "Lineart")
INSTALL = "apt-get install sane-utils"
_PROGRESS = re.compile(r"Progress: ([0-9.]+)%")
_PAGE = re.compile(r"Scanning page (\d+)")
_STATUS = re.compile(r"scanner status = (\d+)")
#: SANE_Status codes (sane.h) a scanner ends a page with, in the office's words
STATUS_TEXTS = {2: N_("cancelled"), 3: N_("the scanner is busy"), 6: N_("paper jammed"),
                7: N_("the document feeder is empty"), 8: N_("the scanner cover is open"),
                9: N_("input/output error"), 10: N_("out of memory"), 11: N_("access denied")}
#: sane_strstatus()'s texts (scanimage: sane_start: …) for the same codes
SANE_TEXTS = {"Operation was cancelled": 2, "Device busy": 3, "Document feeder jammed": 6,
              "Document feeder out of documents": 7, "Scanner cover is open": 8, "Error during device I/O": 9,
              "Out of memory": 10, "Access to resource has been denied": 11}

Progress = Callable[[int, float], None]


# ---------------------------------------------------------------- profiles (the setting)
def clean_profiles(value: Any) -> dict:
    """The ``scan_profiles`` setting checked per field (raises ValueError
    naming the profile and field)."""
    if not isinstance(value, dict):
        raise ValueError("a mapping of profile names to their settings")
    out = {}
    for name, prof in value.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,30}", name):
            raise ValueError(f"profile name {str(name)[:30]!r}: letters, digits, - and _ (at most 30)")
        if not isinstance(prof, dict):
            raise ValueError(f"{name}: resolution, mode, source, pages, type, tags")
        unknown = set(prof) - {"resolution", "mode", "source", "pages", "type", "tags"}
        if unknown:
            raise ValueError(f"{name}.{sorted(unknown)[0]}: unknown (resolution, mode, source, pages, type, tags)")
        res = prof.get("resolution", 300)
        if isinstance(res, bool) or not isinstance(res, int) or not 50 <= res <= 1200:
            raise ValueError(f"{name}.resolution: a whole number of dpi from 50 to 1200")
        mode = prof.get("mode", "Gray")
        if mode not in MODES:
            raise ValueError(f"{name}.mode: one of {', '.join(MODES)}")
        source = prof.get("source", "") or ""
        if not isinstance(source, str) or len(source) > 60 or any(ord(c) < 32 for c in source):
            raise ValueError(f"{name}.source: the scanner's name for it, e.g. Flatbed or ADF")
        pages = prof.get("pages", 1)
        if isinstance(pages, bool) or not isinstance(pages, int) or not 0 <= pages <= 500:
            raise ValueError(f"{name}.pages: 0 (until the feeder is empty) to 500")
        if pages == 0 and not source:
            raise ValueError(f"{name}.pages: 0 (until the feeder is empty) needs the feeder as source")
        tags = prof.get("tags", [])
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError(f"{name}.tags: a list of tags")
        doc_type = prof.get("type", "") or ""
        if not isinstance(doc_type, str):
            raise ValueError(f"{name}.type: a document type's name")
        out[name] = {"resolution": res, "mode": mode, "source": source, "pages": pages, "type": doc_type,
                     "tags": tags}
    if not out:
        raise ValueError("at least one profile")
    return out


def profiles(ctx) -> dict:
    return ctx.settings["scan_profiles"]


def get_profile(ctx, name: str | None) -> tuple[str, dict]:
    found = profiles(ctx)
    if not name:
        name = ctx.settings.get("scan_profile") or next(iter(found))
    if name not in found:
        raise ValidationError(_("no scan profile {name!r} (profiles: {names})").format(
            name=str(name)[:30], names=", ".join(found)), field="profile")
    return name, found[name]


# ---------------------------------------------------------------- scanners
def _scanimage() -> str:
    path = shutil.which("scanimage")
    if path is None:
        raise BackdeskError(_("scanning needs SANE's scanimage: {install}").format(install=INSTALL))
    return path


def scanners(ctx) -> list[dict]:
    """The scanners SANE finds: device, vendor, model, kind."""
    ctx.require(service.FILE)
    try:
        proc = subprocess.run([_scanimage(), "-f", "%d\t%v\t%m\t%t%n"], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "LC_ALL": "C"})
    except subprocess.TimeoutExpired:
        raise BackdeskError(_("SANE did not list the scanners within two minutes")) from None
    out = []
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0]:
            out.append({"device": parts[0], "vendor": parts[1], "model": parts[2], "kind": parts[3]})
    return out


def _device(ctx, device: str | None) -> str:
    device = (device or ctx.settings.get("scanner") or "").strip()
    if device:
        return device
    found = scanners(ctx)
    if not found:
        raise BackdeskError(_("no scanner found (scanimage -L lists none; is it on and connected?)"))
    return found[0]["device"]


# ---------------------------------------------------------------- scanning
def scan_pages(ctx, folder: Path, *, profile: str | None = None, device: str | None = None,
               progress: Progress | None = None) -> tuple[Path, int]:
    """Scan with a profile into ``folder``; returns (the PDF, its page count).
    Raises BackdeskError with scanimage's own line when nothing was scanned."""
    _name, prof = get_profile(ctx, profile)
    device = _device(ctx, device)
    argv = [_scanimage(), "-d", device, "--format=png", "--progress", f"--resolution={prof['resolution']}",
            f"--mode={prof['mode']}"]
    if prof["source"]:
        argv.append(f"--source={prof['source']}")
    pattern = folder / "page-%04d.png"
    argv.append(f"--batch={pattern}")
    argv.append(f"--batch-count={prof['pages']}" if prof["pages"] else "--batch-count=-1")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "LC_ALL": "C"}, cwd=folder)
    lines: list[str] = []
    page = 1
    assert proc.stderr is not None
    buffer = ""
    while True:  # --progress ends its lines with \r: read by characters
        chunk = proc.stderr.read(1)
        if not chunk:
            break
        if chunk not in "\r\n":
            buffer += chunk
            continue
        line, buffer = buffer.strip(), ""
        if not line:
            continue
        if (m := _STATUS.search(line)) is not None and int(m.group(1)) in STATUS_TEXTS:
            lines.append(_(STATUS_TEXTS[int(m.group(1))]))
        for text, code in SANE_TEXTS.items():
            if line.endswith(text):
                lines.append(_(STATUS_TEXTS[code]))
        if (m := _PAGE.search(line)) is not None:
            page = int(m.group(1))
        elif (m := _PROGRESS.search(line)) is not None:
            if progress is not None:
                progress(page, float(m.group(1)))
        else:
            lines.append(line)
    code = proc.wait()
    pages = sorted(folder.glob("page-*.png"))
    if not pages:
        # the scanner's own status first ("paper jammed"); else scanimage's first complaint (later ones
        # are about stopping: "trying to stop scanner", "aborting")
        statuses = [ln for ln in lines if ln in {_(t) for t in STATUS_TEXTS.values()}]
        complaints = [ln for ln in lines if "scanimage:" in ln]
        why = (statuses or complaints or lines or [""])[0]
        raise BackdeskError(_("the scanner {device} gave no page: {error}").format(
            device=device, error=why.replace("scanimage: ", "")[:160] or f"exit {code}"))
    return _to_pdf(pages, folder / "scan.pdf", prof["resolution"]), len(pages)


def _to_pdf(pages: list[Path], dest: Path, resolution: int) -> Path:
    from PIL import Image

    images = [Image.open(p) for p in pages]
    try:
        first, rest = images[0], images[1:]
        first.save(dest, "PDF", save_all=True, append_images=rest, resolution=float(resolution))
    finally:
        for im in images:
            im.close()
    return dest


def scan_to_register(ctx, *, profile: str | None = None, device: str | None = None, file: bool = False,
                     meta: dict | None = None, progress: Progress | None = None) -> dict:
    """Scan into the inbox (an intake item with the rules' suggestions; one per
    part when separator sheets split the batch); with ``file``, file them at
    once. -> {"pages", "intake", "document", "documents", "parts", "filename"}."""
    ctx.require(service.FILE)
    name, prof = get_profile(ctx, profile)
    inbox = service.inbox_dir(ctx)
    if not inbox.exists():
        service.private_dir(inbox)
    with tempfile.TemporaryDirectory(prefix="backdesk-scan-") as tmp:
        pdf, pages = scan_pages(ctx, Path(tmp), profile=name, device=device, progress=progress)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        final = inbox / f"scan-{stamp}-{name}-{os.getpid()}.pdf"
        partial = inbox / f".{final.name}.part"
        shutil.copyfile(pdf, partial)
        os.replace(partial, final)
    service.scan_inbox(ctx)
    found = ctx.table("intake").find({"filename": final.name, "status": "waiting"}, limit=1)
    if not found:  # separator sheets split it into parts
        found = ctx.table("intake").find({"split_from": final.name, "status": "waiting"}, order_by="id")
    if not found:
        refused = ctx.table("intake").find({"filename": final.name}, order_by="-id", limit=1)
        why = refused[0].get("error") if refused else ""
        raise BackdeskError(_("the scan {name} was not taken into the intake: {why}").format(
            name=final.name, why=why or "?"))
    intake = found[0]
    documents = []
    if file:
        filing = {"title": _("Scan {date}").format(date=stamp[:8]) if not (meta or {}).get("title") else None}
        if prof.get("type"):
            filing["type"] = prof["type"]
        if prof.get("tags"):
            filing["tags"] = list(prof["tags"])
        filing.update({k: v for k, v in (meta or {}).items() if v not in (None, "", [])})
        for number, item in enumerate(found, start=1):
            this = {k: v for k, v in filing.items() if v is not None}
            if len(found) > 1 and this.get("title"):
                this["title"] = f"{this['title']} ({number}/{len(found)})"
            doc = service.file_intake(ctx, item["id"], this)
            with ctx.transaction():
                service._history(ctx, doc["id"], "scanned", pages=pages, profile=name)
            documents.append(doc)
    return {"pages": pages, "intake": intake, "document": documents[0] if documents else None,
            "documents": documents, "parts": len(found), "filename": final.name}


def photocopy(ctx, *, profile: str | None = None, device: str | None = None, printer: str | None = None,
              copies: Any = 1, duplex: bool = False, file: bool = False,
              progress: Progress | None = None) -> dict:
    """Scan and print in one step; nothing is filed unless ``file``.
    -> {"pages", "job", "document"}."""
    ctx.require(service.PRINT)
    if file:
        ctx.require(service.FILE)
    name, _prof = get_profile(ctx, profile)
    # printer, copies and both sides are refused before the scanner moves
    printer = ctx.services.printing.check_request(printer=printer, copies=copies, duplex=duplex)["name"]
    with tempfile.TemporaryDirectory(prefix="backdesk-copy-") as tmp:
        pdf, pages = scan_pages(ctx, Path(tmp), profile=name, device=device, progress=progress)
        job = ctx.services.printing.print_file(pdf, title=_("Copy ({n} pages)").format(n=pages),
                                               source=("documents", "copies", None), printer=printer,
                                               copies=copies, duplex=duplex, link="documents")
        doc = None
        if file:
            doc = service.add_document(ctx, pdf, {"title": _("Copy {date}").format(
                date=datetime.now().strftime("%Y-%m-%d %H:%M"))}, filename=f"copy-{job['id']}.pdf")
    return {"pages": pages, "job": job, "document": doc}
