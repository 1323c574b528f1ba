"""The background worker of the app: polls the inbox, sends what the outbox
holds when it is due, asks the fax transports for news, recognises the text
of one scan per round (:mod:`plugins.documents.ocr_jobs`), reads the
mailboxes every ``mail_interval`` seconds (:mod:`plugins.documents.mailin`),
follows the print jobs not yet done (:mod:`core.services.printing`), and
keeps the words of their file on the documents that lack them for the
search (:func:`plugins.documents.service.fill_file_words`).

One daemon thread per running app, started when the shell asks for the
plugin's screens (the CLI never starts it: ``backdesk docs outbox --retry``
``backdesk docs intake --scan``, ``backdesk docs ocr --run`` and
``backdesk docs mail fetch`` do the same work on demand). It never
touches widgets: its writes reach the screens through the store's change
notifications. Several apps running at once are safe: a job is claimed in a
transaction before it is sent (see :mod:`plugins.documents.service`); and
the sending and the mailboxes are work done once per office: only the app
that has the hold ``documents.outbox`` (``documents.mail``) does it, of all
apps on all hosts — the others take over when it closes or dies
(``ctx.store.hold``, ``backdesk status``).
"""

from __future__ import annotations

import logging
import threading
import time

from core.errors import BackdeskError, PermissionDenied

log = logging.getLogger(__name__)
_started: set[int] = set()
#: when each Backdesk's worker last read the mailboxes (time.monotonic())
_last_mail: dict[int, float] = {}
#: each Backdesk's holds, by name
_holds: dict[tuple[int, str], object] = {}


def holds(ctx, name: str) -> bool:
    """Whether this app does the once-per-office work ``name`` now (it takes
    it when nobody does)."""
    key = (id(ctx.backdesk), name)
    hold = _holds.get(key)
    if hold is None:
        hold = _holds[key] = ctx.store.hold(name)
    return hold.held()


def release(ctx) -> None:
    """Give this Backdesk's holds up (the app closes)."""
    for key in [k for k in _holds if k[0] == id(ctx.backdesk)]:
        _holds.pop(key).release()


def run_once(ctx) -> None:
    from plugins.documents import mailin, ocr_jobs, service

    if ctx.can(service.FILE):
        try:
            service.scan_inbox(ctx)
        except PermissionDenied:
            pass
    if ctx.can(service.SEND) and holds(ctx, "outbox"):
        service.process_outbox(ctx)
    try:
        ctx.services.printing.follow_jobs()  # a failed print job notifies who printed it
    except BackdeskError as error:  # the print server is away: the jobs wait, the round goes on
        log.warning("print jobs not followed: %s", error)
    if ctx.can(service.FILE) and ctx.settings.get("ocr", True):
        ocr_jobs.run_ocr(ctx, limit=1)
    if ctx.can(service.FILE):  # the documents filed before the search kept their words, a batch a round
        service.fill_file_words(ctx)
    every = float(ctx.settings.get("mail_interval") or 0)
    if every and ctx.can(service.FILE) and ctx.settings.get("mailboxes") and holds(ctx, "mail"):
        key = id(ctx.backdesk)
        if time.monotonic() - _last_mail.get(key, -every) >= every:
            _last_mail[key] = time.monotonic()
            counts = mailin.fetch_mail(ctx)
            for line in counts["errors"]:
                log.warning("%s", line)


def start(ctx, interval: float) -> threading.Thread | None:
    """Start the worker for this Backdesk (once); ``interval`` 0 disables it."""
    if not interval or id(ctx.backdesk) in _started:
        return None
    _started.add(id(ctx.backdesk))
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            if ctx.backdesk.store is None:  # the app closed its store
                release(ctx)
                return
            try:
                run_once(ctx)
            except Exception:  # logged; the next round tries again
                if ctx.backdesk.store is None:
                    return
                log.exception("documents worker round failed")

    thread = threading.Thread(target=loop, name="documents-worker", daemon=True)
    thread.start()
    return thread
