"""Text-recognition jobs: a scan filed as a document gets a searchable PDF.

Filing a scan (an image, a received fax TIFF, a PDF without a text layer)
queues a job in ``documents.ocr`` in the filing's own transaction
(:func:`plugins.documents.service.queue_ocr_if_scan`). The app's worker, or
``backdesk docs ocr --run``, runs the queue:

1. **claim** — in a transaction, ``queued`` → ``running`` with the runner
   (host, process id and its start time) and a heartbeat; only one process
   can claim a job;
2. **recognise** — :func:`plugins.documents.ocr.recognise` writes the PDF
   into the job's work folder ``<data>/documents/ocr-work/<job>``, outside
   any transaction; each page done is recorded (``pages_done`` of ``pages``,
   the heartbeat), which the screens show as it comes;
3. **keep** — the PDF is stored in the content store, then one transaction
   adds it as a new version (the scan stays as the version before it), makes
   it current, and marks the job ``done``.

A process killed during 2 or 3 leaves the document as it was (the scan, no
new version) and its job ``running`` with a runner that no longer exists:
the next run marks it ``interrupted`` (at once on the same host; after
:data:`STALE` without a heartbeat from another host) and removes its work
folder. ``backdesk docs ocr DOC`` (or r on the document's screen) runs it
again. A stored PDF whose version was never committed is an orphan for
``docs check --orphans``.
"""

from __future__ import annotations

import os
import shutil
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from core.errors import UnknownRecord, ValidationError
from core.outputs import private_dir
from plugins.documents import files as blobs
from plugins.documents import ocr, service
from plugins.documents.models import _

#: a running job whose runner cannot be seen (another host) and has not
#: reported a page for this long is taken as interrupted
STALE = timedelta(minutes=30)
ACTIVE = ("queued", "running")


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (tells a reused pid apart)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid()) or ''}"


def runner_alive(runner: str | None) -> bool | None:
    """Whether the process named by ``runner`` still runs: True/False on this
    host, None for another host's (it cannot be seen from here)."""
    if not runner:
        return False
    host, _sep, rest = runner.partition(":")
    if host != socket.gethostname():
        return None
    pid_text, _sep, ticks = rest.partition(":")
    if not pid_text.isdigit():
        return False
    return _start_ticks(int(pid_text)) == (ticks or None)


def work_dir(ctx, job_id: int) -> Path:
    return service.data_dir(ctx) / "documents" / "ocr-work" / str(int(job_id))


# ---------------------------------------------------------------- reading
def jobs(ctx, *, document_id: Any = None, status: str | None = None, limit: int | None = None) -> list[dict]:
    """OCR jobs, newest first."""
    ctx.require(service.READ)
    where: dict[str, Any] = {}
    if document_id is not None:
        where["document_id"] = service._int_id(document_id)
    if status:
        where["status"] = status
    return ctx.table("ocr").find(where or None, order_by=["-id"], limit=limit)


def latest_job(ctx, doc_id: Any) -> dict | None:
    """The document's newest OCR job (None: it never had one)."""
    found = jobs(ctx, document_id=doc_id, limit=1)
    return found[0] if found else None


def describe(job: dict | None) -> str:
    """The job's state in a person's words: "page 2 of 5", "done (version 2)"."""
    if job is None:
        return ""
    status = job["status"]
    if status == "queued":
        return _("waiting for text recognition")
    if status == "running":
        if job.get("pages"):
            return _("recognising text: page {done} of {pages}").format(done=job.get("pages_done") or 0,
                                                                        pages=job["pages"])
        return _("recognising text")
    if status == "done":
        return _("text recognised (version {n})").format(n=job.get("result_version"))
    if status == "interrupted":
        return _("interrupted: run it again (r)")
    return _("failed: {error}").format(error=job.get("error") or "?")


# ---------------------------------------------------------------- queueing
def request_ocr(ctx, doc_id: Any) -> dict:
    """Queue text recognition of the document's scan (again): the version of
    its last failed or interrupted job, else its current version."""
    ctx.require(service.FILE)
    doc_id = service._int_id(doc_id)
    with ctx.transaction():
        doc = service.get_document(ctx, doc_id)
        last = ctx.table("ocr").find({"document_id": doc_id}, order_by=["-id"], limit=1)
        if last and last[0]["status"] in ACTIVE:
            raise ValidationError(_("document {id} is {state}").format(id=doc_id, state=describe(last[0])),
                                  field="id")
        if last and last[0]["status"] in ("failed", "interrupted"):
            number = last[0]["version"]
        else:
            number = doc["current_version"]
        found = ctx.table("versions").find({"document_id": doc_id, "number": number}, limit=1)
        if not found:
            raise UnknownRecord(_("document {id} has no version {n}").format(id=doc_id, n=number))
        ver = found[0]
        if not ocr.is_scan_type(ver.get("mime") or blobs.guess_mime(ver["filename"])):
            raise ValidationError(_("{name} is no scan: text is recognised in PDFs and images").format(
                name=ver["filename"][:80]), field="id")
        if (ver.get("text") or "").strip():
            raise ValidationError(_("version {n} of document {id} has its text already").format(
                n=number, id=doc_id), field="id")
        return service.add_ocr_job(ctx, doc_id, number)


# ---------------------------------------------------------------- running
def recover(ctx, *, now: datetime | None = None) -> int:
    """Mark jobs whose process is gone ``interrupted`` and remove the work
    folders of jobs not running; -> how many were interrupted."""
    ctx.require(service.FILE)
    now = now or service.now_utc()
    table = ctx.table("ocr")
    count = 0
    with ctx.transaction():
        for job in table.find({"status": "running"}):
            alive = runner_alive(job.get("runner"))
            beat = job.get("heartbeat")
            stale = beat is None or now - service._parse_iso(beat) > STALE
            if alive is False or (alive is None and stale):
                table.update(job["id"], {"status": "interrupted", "finished_at": service._iso(now), "error": _(
                    "the process running it stopped before it finished; the scan is unchanged")})
                service._history(ctx, job["document_id"], "ocr_interrupted", job_id=job["id"])
                count += 1
        running = {j["id"] for j in table.find({"status": "running"})}
    root = service.data_dir(ctx) / "documents" / "ocr-work"
    if root.is_dir():
        for entry in root.iterdir():
            if entry.name.isdigit() and int(entry.name) not in running:
                shutil.rmtree(entry, ignore_errors=True)
    return count


def _claim(ctx, job_id: int | None = None) -> dict | None:
    with ctx.transaction():
        table = ctx.table("ocr")
        where: dict[str, Any] = {"status": "queued"}
        if job_id is not None:
            where["id"] = job_id
        found = table.find(where, order_by="id", limit=1)
        if not found:
            return None
        moment = service._iso(service.now_utc())
        return table.update(found[0]["id"], {"status": "running", "runner": runner_id(), "started_at": moment,
                                             "heartbeat": moment, "pages_done": 0, "pages": None, "error": None})


def run_ocr(ctx, *, limit: int | None = None,
            on_progress: Callable[[dict], None] | None = None) -> dict:
    """Run queued OCR jobs (at most ``limit``), oldest first; -> counts of
    ``done``, ``failed`` and ``interrupted`` (found from earlier runs)."""
    ctx.require(service.FILE)
    counts = {"done": 0, "failed": 0, "interrupted": recover(ctx)}
    while limit is None or counts["done"] + counts["failed"] < limit:
        job = _claim(ctx)
        if job is None:
            break
        finished = run_job(ctx, job, on_progress=on_progress)
        counts[finished["status"]] = counts.get(finished["status"], 0) + 1
    return counts


def _record_progress(ctx, job_id: int, done: int, pages: int | None) -> dict:
    with ctx.transaction():
        return ctx.table("ocr").update(job_id, {"pages_done": done, "pages": pages,
                                                "heartbeat": service._iso(service.now_utc())})


def _finish(ctx, job: dict, changes: dict) -> dict:
    with ctx.transaction():
        changes = {"finished_at": service._iso(service.now_utc()), **changes}
        done = ctx.table("ocr").update(job["id"], changes)
        if changes["status"] == "failed":
            service._history(ctx, job["document_id"], "ocr_failed", job_id=job["id"], error=changes["error"])
        return done


def run_job(ctx, job: dict, *, on_progress: Callable[[dict], None] | None = None) -> dict:
    """Recognise the text of a claimed (``running``) job; -> the job as it ended."""
    folder = work_dir(ctx, job["id"])
    shutil.rmtree(folder, ignore_errors=True)
    private_dir(folder)
    try:
        found = ctx.table("versions").find({"document_id": job["document_id"], "number": job["version"]}, limit=1)
        if not found or ctx.table("documents").get(job["document_id"]) is None:
            return _finish(ctx, job, {"status": "failed", "error": _("the document or its version is gone")})
        ver = found[0]
        try:
            source = service.file_of(ctx, ver)
        except Exception as exc:
            return _finish(ctx, job, {"status": "failed", "error": str(exc)[:300]})
        target = folder / "searchable.pdf"

        def progress(done: int, pages: int | None) -> None:
            row = _record_progress(ctx, job["id"], done, pages)
            if on_progress is not None:
                on_progress(row)

        try:
            ocr.recognise(source, target, mime=ver.get("mime") or blobs.guess_mime(ver["filename"]),
                          languages=ctx.settings.get("ocr_languages") or "deu+eng", on_progress=progress)
        except ocr.OcrError as exc:
            return _finish(ctx, job, {"status": "failed", "error": str(exc)[:300]})
        return _keep(ctx, job, ver, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _keep(ctx, job: dict, ver: dict, target: Path) -> dict:
    """Store the searchable PDF and add it as the document's new version."""
    sha, size, known = blobs.put(service.file_store(ctx), target, max(service.max_bytes(ctx), 1) * 4)
    name = f"{Path(ver['filename']).stem or 'scan'}.pdf"
    try:
        text = blobs.extract_text(service.file_store(ctx).local_path(sha), name)
        with ctx.transaction():
            service._ensure_stored(ctx, target, sha)
            fresh = ctx.table("ocr").get(job["id"])
            if fresh is None or fresh.get("runner") != job["runner"] or fresh["status"] not in ("running",
                                                                                             "interrupted"):
                raise ValidationError(_("OCR job {id} was taken over meanwhile").format(id=job["id"]), field="id")
            doc = ctx.table("documents").get(job["document_id"])
            number = max(v["number"] for v in ctx.table("versions").find({"document_id": doc["id"]})) + 1
            service._add_version_row(ctx, doc["id"], number, sha, size, name, text,
                                     note=_("searchable PDF of version {n} (text recognised)").format(
                                         n=ver["number"]))
            ctx.table("documents").update(doc["id"], {"current_version": number,
                                                      **service._file_words(name, text, number)})
            service._history(ctx, doc["id"], "ocr_done", job_id=job["id"], version=number)
            done = ctx.table("ocr").update(job["id"], {
                "status": "done", "result_version": number, "error": None,
                "finished_at": service._iso(service.now_utc())})
            ctx.publish("text_recognised", {"document_id": doc["id"], "version": number})
            return done
    except BaseException:
        if not known:
            service._discard_unreferenced(ctx, sha)
        raise
