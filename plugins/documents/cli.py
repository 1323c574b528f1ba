"""``backdesk docs …``: the documents plugin's subcommands.

Every command calls :mod:`plugins.documents.service`; a bad input raises
``BackdeskError`` / ``ValidationError`` and the CLI prints one line, exit 2.
"""

from __future__ import annotations

import click

from core.cli.params import DATE, DAY
from core.errors import ValidationError
from core.safetext import json_safe


def _hl(text: str, terms: list[str]) -> str:
    from plugins.documents.service import highlight_spans

    out, pos = [], 0
    for start, end in highlight_spans(text, terms):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(click.style(text[start:end], bold=True, fg="yellow"))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _doc_line(doc: dict, terms: list[str] | None = None) -> str:
    tags = ",".join(doc.get("tags") or [])
    title = _hl(doc["title"], terms) if terms else doc["title"]
    return f"{doc['id']:>5}  ASN {doc['asn']:<5} {doc['date']}  {title}  [{doc.get('type') or '-'}] " \
           f"{doc.get('correspondent') or ''} {('#' + tags) if tags else ''}".rstrip()


def register(cli: click.Group, get_context) -> None:
    from core.services.printing import kiosk_name, state_title
    from plugins.documents import paper, scanning, service
    from plugins.documents.models import (INTAKE_STATUS_TITLES, OUTBOX_KIND_TITLES, OUTBOX_STATUS_TITLES, label,
                                          shown_status)

    @cli.group("docs")
    def docs():
        """Documents: file, search, copy, email and fax."""

    @docs.command("add")
    @click.argument("file")
    @click.option("--title", help="Title (default: the file name).")
    @click.option("--type", "type_", help="Document type (see `docs types`).")
    @click.option("--tag", "tags", multiple=True, help="A tag; levels with / (finance/invoices). Repeatable.")
    @click.option("--correspondent", help="Who sent or receives it.")
    @click.option("--direction", type=click.Choice(["incoming", "outgoing", "internal"]), default="incoming",
                  show_default=True)
    @click.option("--date", type=DAY, help=f"The document's date, {DATE} (default: today).")
    @click.option("--location", help="Where the paper is: cabinet / shelf / binder.")
    @click.option("--responsible", help="Responsible person's directory id.")
    @click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="A custom field of the type.")
    @click.option("--filename", help="Store under this file name (plain name, no path).")
    def add(file, title, type_, tags, correspondent, direction, date, location, responsible, fields, filename):
        """File FILE as a new document."""
        ctx = get_context()
        custom = {}
        for item in fields:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ValidationError(f"expected NAME=VALUE, got {item[:40]!r}", field="field")
            custom[key.strip()] = value
        meta = {"title": title, "type": type_ or "", "tags": list(tags), "correspondent": correspondent or "",
                "direction": direction, "date": date, "location": location or "",
                "responsible_id": responsible, "fields": custom or None}
        doc = service.add_document(ctx, file, meta, filename=filename)
        click.echo(f"filed document {doc['id']} as ASN {doc['asn']}: {doc['title']}")
        if doc["duplicates"]:
            click.echo("the same file is already filed as document(s) "
                       + ", ".join(str(d) for d in doc["duplicates"]) + " (stored once)")

    @docs.command("version")
    @click.argument("doc_id")
    @click.argument("file")
    @click.option("--note", default="", help="What changed.")
    def version(doc_id, file, note):
        """Add FILE as a new version of document DOC_ID (old versions stay)."""
        doc = service.add_version(get_context(), doc_id, file, note=note)
        click.echo(f"document {doc['id']} is now at version {doc['current_version']}")

    @docs.command("copy")
    @click.argument("doc_id")
    @click.option("--into", help="Copy as a new version of this document instead.")
    @click.option("--title", help="Title of the new document.")
    def copy(doc_id, into, title):
        """Copy a document: a new document linked to its original, or a new version."""
        doc = service.copy_document(get_context(), doc_id, into=into, title=title)
        if into:
            click.echo(f"document {doc['id']} is now at version {doc['current_version']}")
        else:
            click.echo(f"copied to document {doc['id']} (ASN {doc['asn']})")

    @docs.command("show")
    @click.argument("doc_id")
    @click.option("--json", "as_json", is_flag=True)
    def show(doc_id, as_json):
        """Show a document, its versions and its history."""
        ctx = get_context()
        doc = service.get_document(ctx, doc_id)
        vers = [{k: v for k, v in ver.items() if k != "text"} for ver in service.versions(ctx, doc["id"])]
        hist = service.history(ctx, doc["id"])
        if as_json:
            click.echo(json_safe({"document": doc, "versions": vers, "history": hist}, indent=2))
            return
        for key in ("asn", "title", "correspondent", "type", "direction", "date", "tags", "location",
                    "responsible_id", "fields", "retention_until", "original_id", "filed_at", "filed_by"):
            click.echo(f"{key:>16}: {doc.get(key) if doc.get(key) not in (None, [], {}) else ''}")
        click.echo("versions:")
        for v in vers:
            mark = "*" if v["number"] == doc["current_version"] else " "
            click.echo(f" {mark}{v['number']:>3}  {v['added_at']}  {v['filename']}  {v['size']} bytes  "
                       f"{v['sha256'][:12]}  {v.get('note') or ''}")
        click.echo("history:")
        for h in hist:
            click.echo(f"  {h['at']}  {h['actor']:<10} {h['what']}")

    @docs.command("list")
    @click.option("--type", "type_")
    @click.option("--tag")
    @click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
    def list_(type_, tag, limit):
        """List documents, newest first."""
        for doc in service.list_documents(get_context(), type=type_, tag=tag, limit=limit):
            click.echo(_doc_line(doc))

    @docs.command("search")
    @click.argument("query", required=False, default="")
    @click.option("--save", "save_as", metavar="NAME", help="Also save the search under NAME.")
    @click.option("--saved", metavar="NAME", help="Run the saved search NAME.")
    @click.option("--list-saved", is_flag=True, help="List your saved searches.")
    @click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
    def search(query, save_as, saved, list_saved, limit):
        """Full-text search: words, "phrases", tag:, type:, from:, dir:."""
        ctx = get_context()
        if list_saved:
            for s in service.saved_searches(ctx):
                click.echo(f"{s['id']:>4}  {s['name']}: {s['query']}")
            return
        if saved:
            query = service.saved_search(ctx, saved)["query"]
        if not query.strip():
            raise ValidationError("give a QUERY or --saved NAME", field="query")
        hits = service.search(ctx, query, limit=limit)
        for hit in hits:
            click.echo(_doc_line(hit, hit["terms"]))
            if hit["snippet"]:
                click.echo("        " + _hl(hit["snippet"], hit["terms"]))
        click.echo(f"{len(hits)} document(s)")
        if save_as:
            service.save_search(ctx, save_as, query)
            click.echo(f"saved as {save_as!r}")

    @docs.command("send")
    @click.argument("doc_id")
    @click.option("--to", "to", multiple=True, required=True,
                  help="An email address, a person's directory id or name. Repeatable.")
    @click.option("--subject", default="")
    @click.option("--message", default="", help="The mail's text.")
    @click.option("--now", is_flag=True, help="Try to send at once instead of leaving it to the worker.")
    def send(doc_id, to, subject, message, now):
        """Email a document (its current version) as an attachment."""
        ctx = get_context()
        row = service.queue_email(ctx, doc_id, list(to), subject=subject, body=message)
        click.echo(f"queued email {row['id']} ({row['message_id']})")
        if now:
            done = service.send_one(ctx, row["id"], force=True)
            click.echo(f"email {row['id']}: {done['status']}" + (f" — {done['last_error']}" if done["last_error"] else ""))

    @docs.command("fax")
    @click.argument("doc_id")
    @click.option("--to", "to", required=True, help="The fax number.")
    @click.option("--cover", default="", help="A cover note (sent as a first page).")
    @click.option("--now", is_flag=True, help="Submit at once instead of leaving it to the worker.")
    def fax(doc_id, to, cover, now):
        """Fax a document through the configured transport."""
        ctx = get_context()
        row = service.queue_fax(ctx, doc_id, to, cover_note=cover)
        click.echo(f"queued fax {row['id']} to {row['to']} via {row['transport']}")
        if now:
            done = service.send_one(ctx, row["id"], force=True)
            extra = f" (job {done['job_id']})" if done.get("job_id") else ""
            click.echo(f"fax {row['id']}: {done['status']}{extra}" +
                       (f" — {done['last_error']}" if done["last_error"] else ""))

    @docs.command("print")
    @click.argument("doc_id")
    @click.option("--printer", help="A printer of `docs printers` (default: your default printer).")
    @click.option("--copies", default="1", show_default=True, help="How many copies, 1 to 99.")
    @click.option("--duplex", is_flag=True, help="Print on both sides (long edge).")
    @click.option("--pages", help="Only these pages: 1-3 or 1,3,5-7.")
    @click.option("--tray", help="A paper tray the printer offers (see `docs printers`), e.g. tray-2.")
    @click.option("--wait", is_flag=True, help="Follow the job until it is printed, held or failed.")
    def print_(doc_id, printer, copies, duplex, pages, tray, wait):
        """Print a document (its current version) through CUPS."""
        ctx = get_context()
        job = paper.print_document(ctx, doc_id, printer=printer, copies=copies, duplex=duplex, pages=pages,
                                   tray=tray)
        click.echo(f"print job {job['id']} on {job['printer']}: {job['copies']} copies"
                   + (", both sides" if job["duplex"] else "") + (f", pages {job['pages']}" if job["pages"] else "")
                   + f" — {state_title(job['state'])}")
        if wait:
            _wait_and_report(ctx, job)

    def _wait_and_report(ctx, job):
        import time

        printing = ctx.services.printing
        while job["state"] in ("waiting", "printing"):
            time.sleep(0.2)
            job = printing.follow_job(job["id"]) or job
        click.echo(f"print job {job['id']}: {state_title(job['state'])}"
                   + (f" — {job['reason']}" if job.get("reason") else ""))
        if job["state"] in ("failed", "cancelled"):
            raise SystemExit(1)

    @docs.command("printers")
    @click.option("--default", "default", help="Make PRINTER your default printer ('' to remove it).")
    @click.option("--kiosk", is_flag=True, help="With --default: this kiosk console's printer, for everyone at it.")
    def printers_(default, kiosk):
        """The printers of the print server; * marks the one you print to by default."""
        ctx = get_context()
        if default is not None:
            ctx.require(paper.PRINT)
            chosen = ctx.services.printing.set_default(default or None, kiosk=kiosk)
            where = f"kiosk {kiosk_name()}" if kiosk else ctx.operator.account
            click.echo(f"default printer of {where}: {chosen or '-'}")
        for p in paper.printers(ctx):
            mark = "*" if p["chosen"] else " "
            extra = ", ".join(x for x in (p["description"], p["location"], "duplex" if p["duplex"] else "",
                                          ("trays " + " ".join(p["trays"])) if p["trays"] else "", p["message"])
                              if x)
            click.echo(f"{mark} {p['name']:<20} {p['state']:<8} {extra}".rstrip())

    @docs.command("print-jobs")
    @click.option("--all", "everyone", is_flag=True, help="Every operator's jobs (core.printing.manage).")
    def print_jobs(everyone):
        """Your print jobs, newest first, with their state (asked of CUPS now)."""
        ctx = get_context()
        printing = ctx.services.printing
        printing.follow_jobs()
        for job in printing.jobs(everyone=everyone):
            line = (f"{job['id']:>5}  {state_title(job['state']):<10} {job['printer']:<16} {job['copies']}x  "
                    f"{job['title']}")
            if everyone:
                line += f"  ({job['account']})"
            if job.get("reason"):
                line += f"  — {job['reason']}"
            click.echo(line)

    @docs.command("scanners")
    def scanners_():
        """The scanners SANE finds, and the scan profiles."""
        ctx = get_context()
        for sc in scanning.scanners(ctx):
            click.echo(f"{sc['device']:<24} {sc['vendor']} {sc['model']} ({sc['kind']})")
        for name, prof in scanning.profiles(ctx).items():
            pages = prof["pages"] or "until empty"
            click.echo(f"profile {name}: {prof['resolution']} dpi {prof['mode']}, "
                       f"{prof['source'] or 'default source'}, pages {pages}")

    def _progress():
        last = {"page": 0}

        def show(page, percent):
            if page != last["page"]:
                last["page"] = page
                click.echo(f"page {page} …", err=True)
        return show

    @docs.command("scan")
    @click.option("--profile", help="A scan profile (see `docs scanners`).")
    @click.option("--device", help="A SANE device (default: the setting `scanner`, else the first found).")
    @click.option("--file", "file_", is_flag=True, help="File it at once (else it waits in the intake).")
    @click.option("--title", help="Title when filed.")
    @click.option("--type", "type_", help="Document type when filed (default: the profile's, the rules').")
    @click.option("--tag", "tags", multiple=True, help="A tag when filed. Repeatable.")
    def scan(profile, device, file_, title, type_, tags):
        """Scan paper into the register: into the intake, filed by the matching rules with --file."""
        ctx = get_context()
        meta = {"title": title, "type": type_, "tags": list(tags)}
        done = scanning.scan_to_register(ctx, profile=profile, device=device, file=file_, meta=meta,
                                         progress=_progress())
        line = f"scanned {done['pages']} pages into the intake ({done['filename']})"
        if done["parts"] > 1:
            line += f", split at separator sheets into {done['parts']} documents"
        click.echo(line)
        for doc in done["documents"]:
            click.echo(f"filed as document {doc['id']} (ASN {doc['asn']}): {doc['title']}")

    @docs.command("photocopy")
    @click.option("--profile", help="A scan profile (see `docs scanners`).")
    @click.option("--device", help="A SANE device.")
    @click.option("--printer", help="A printer of `docs printers` (default: your default printer).")
    @click.option("--copies", default="1", show_default=True, help="How many copies, 1 to 99.")
    @click.option("--duplex", is_flag=True, help="Print on both sides.")
    @click.option("--file", "file_", is_flag=True, help="Also file the scan in the register.")
    @click.option("--wait", is_flag=True, help="Follow the print job until it is printed, held or failed.")
    def photocopy(profile, device, printer, copies, duplex, file_, wait):
        """Copy paper: scan and print in one step (nothing filed unless --file)."""
        ctx = get_context()
        done = scanning.photocopy(ctx, profile=profile, device=device, printer=printer, copies=copies,
                                  duplex=duplex, file=file_, progress=_progress())
        job = done["job"]
        click.echo(f"copied {done['pages']} pages: print job {job['id']} on {job['printer']}, {job['copies']} copies"
                   + (f"; filed as document {done['document']['id']}" if done["document"] else ""))
        if wait:
            _wait_and_report(ctx, job)

    @docs.command("outbox")
    @click.option("--retry", is_flag=True, help="Send what is waiting now, failed jobs included.")
    @click.option("--process", is_flag=True, help="Send what is due (what the app's worker does).")
    @click.option("--requeue", "requeue_id", help="Send a failed or unknown job again.")
    @click.option("--status", type=click.Choice(["queued", "sending", "submitted", "sent", "failed", "unknown"]))
    def outbox(retry, process, requeue_id, status):
        """The outbox: email and fax jobs with their status."""
        ctx = get_context()
        if requeue_id:
            row = service.requeue(ctx, requeue_id)
            click.echo(f"job {row['id']} queued again")
        if retry or process:
            counts = service.process_outbox(ctx, force=retry)
            click.echo(", ".join(f"{v} {label(OUTBOX_STATUS_TITLES, k)}" for k, v in counts.items()))
        for row in service.outbox(ctx, status=status):
            to = row["to"] or ", ".join(r.get("address") or f"person {r.get('person_id')}" for r in row["recipients"])
            kind, state = label(OUTBOX_KIND_TITLES, row["kind"]), label(OUTBOX_STATUS_TITLES, shown_status(row))
            line = (f"{row['id']:>5}  {kind:<5} {state:<9} doc {row['document_id'] or '-':<5} "
                    f"tries {row['attempts']}  {to}")
            if row.get("job_id") and row["kind"] == "fax":
                line += f"  job {row['job_id']}"
            if row.get("last_error"):
                line += f"  — {row['last_error']}"
            click.echo(line)

    @docs.command("ocr")
    @click.argument("doc_id", required=False)
    @click.option("--run", "run", is_flag=True, help="Recognise the text of the queued scans now.")
    @click.option("--status", type=click.Choice(["queued", "running", "done", "failed", "interrupted"]))
    @click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
    def ocr_(doc_id, run, status, limit):
        """Text recognition of scans: DOC_ID queues it (again) for a document."""
        from plugins.documents import ocr_jobs

        ctx = get_context()
        if doc_id:
            job = ocr_jobs.request_ocr(ctx, doc_id)
            click.echo(f"document {job['document_id']}: version {job['version']} queued for text recognition "
                       f"(job {job['id']})")
        if run:
            def progress(job):
                if job.get("pages"):
                    click.echo(f"document {job['document_id']}: page {job['pages_done']} of {job['pages']}")

            counts = ocr_jobs.run_ocr(ctx, on_progress=progress)
            click.echo(f"{counts['done']} done, {counts['failed']} failed"
                       + (f", {counts['interrupted']} interrupted earlier" if counts["interrupted"] else ""))
        if doc_id and not run:
            return
        for job in ocr_jobs.jobs(ctx, status=status, limit=limit):
            click.echo(f"{job['id']:>5}  doc {job['document_id']:<5} v{job['version']:<3} {job['status']:<11} "
                       f"{ocr_jobs.describe(job)}")

    @docs.group("mail")
    def mail_():
        """Mail intake: the mailboxes of the `mailboxes` setting over IMAP."""

    def _round_line(counts: dict) -> str:
        return (f"{counts['handled']} handled, {counts['ignored']} ignored, {counts['refused']} refused"
                + (f", {counts['moved']} moved from an earlier round" if counts["moved"] else ""))

    @mail_.command("fetch")
    @click.option("--mailbox", "names", multiple=True, help="Only this mailbox. Repeatable.")
    def mail_fetch(names):
        """Read the mailboxes once: file, hand over, move (exit 1 when a mailbox failed)."""
        import sys

        from plugins.documents import mailin

        ctx = get_context()

        def step(what, info):
            if what == "handled":
                row = info["record"]
                done = ", ".join(f"document {d}" for d in row["document_ids"]) or \
                    ", ".join(f"{k} {v}" for k, v in row["result"].items()) or row["status"]
                click.echo(f"{row['mailbox']}: mail {row['uid']} from {row['sender'] or '?'}: {done}")

        counts = mailin.fetch_mail(ctx, list(names) or None, on_step=step)
        click.echo(_round_line(counts))
        for line in counts["errors"]:
            click.echo(f"backdesk: {line}", err=True)
        if counts["errors"]:
            sys.exit(1)

    @mail_.command("log")
    @click.option("--mailbox")
    @click.option("--status", type=click.Choice(["handled", "ignored", "refused"]))
    @click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
    def mail_log(mailbox, status, limit):
        """The intake log: each mail read, what became of it, or why it was refused."""
        from core.i18n import format_datetime
        from plugins.documents import mailin
        from plugins.documents.models import MAIL_STATUS_TITLES, label

        for row in mailin.mail_log(get_context(), mailbox=mailbox, status=status, limit=limit):
            click.echo(f"{row['id']:>5}  {format_datetime(row['received_at'])}  {row['mailbox']:<10} "
                       f"{label(MAIL_STATUS_TITLES, row['status']):<8} {row.get('sender') or '?'}  "
                       f"{row.get('subject') or ''}  {mailin.outcome(row)}".rstrip())

    @mail_.command("watch")
    @click.option("--every", type=click.FloatRange(min=1), default=60.0, show_default=True, metavar="SECONDS",
                  help="Read the mailboxes this often.")
    def mail_watch(every):
        """Read the mailboxes in a loop until SIGTERM or Ctrl+C: one line per round with news."""
        import signal
        import threading

        from plugins.documents import mailin

        stop = threading.Event()

        def stopping(signum, frame):
            stop.set()

        def round_done(counts):
            if any(counts[k] for k in ("handled", "ignored", "refused", "moved")):
                click.echo(_round_line(counts))
            for line in counts["errors"]:
                click.echo(f"backdesk: {line}", err=True)

        previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            ctx = get_context()
            ctx.require(service.FILE)
            click.echo(f"reading {len(mailin.mailboxes(ctx))} mailboxes every {every:g} s "
                       "(SIGTERM or Ctrl+C stops)", err=True)
            mailin.watch_mail(ctx, stop, interval=every, on_round=round_done,
                              on_error=lambda exc: click.echo(f"backdesk: {exc}", err=True))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        click.echo("stopped", err=True)

    @docs.command("intake")
    @click.option("--scan", is_flag=True, help="Look for new files in the inbox first.")
    @click.option("--file", "file_id", help="File this intake item.")
    @click.option("--title")
    @click.option("--type", "type_")
    @click.option("--tag", "tags", multiple=True)
    @click.option("--correspondent")
    def intake(scan, file_id, title, type_, tags, correspondent):
        """The intake queue: files waiting in the inbox."""
        ctx = get_context()
        if scan:
            counts = service.scan_inbox(ctx)
            split = f", {counts['split']} batch scans split at separator sheets" if counts["split"] else ""
            click.echo(f"{counts['new']} new, {counts['gone']} gone from {service.inbox_dir(ctx)}{split}")
        if file_id:
            meta = {k: v for k, v in {"title": title, "type": type_, "tags": list(tags) or None,
                                      "correspondent": correspondent}.items() if v}
            doc = service.file_intake(ctx, file_id, meta)
            click.echo(f"filed document {doc['id']} as ASN {doc['asn']}: {doc['title']}")
        for row in service.intake_queue(ctx):
            s = row.get("suggested") or {}
            hint = " ".join(x for x in (s.get("type"), s.get("correspondent"), ",".join(s.get("tags") or [])) if x)
            state = label(INTAKE_STATUS_TITLES, row["status"])
            click.echo(f"{row['id']:>5}  {state:<8} {row['filename']}  {hint}  {row.get('error') or ''}".rstrip())

    @docs.command("types")
    @click.option("--add", "name", help="Add a document type.")
    @click.option("--retention-years", type=click.IntRange(0, 100))
    @click.option("--field", "fields", multiple=True, help="A custom field of the type. Repeatable.")
    def types(name, retention_years, fields):
        """Document types with their retention rule and custom fields."""
        ctx = get_context()
        if name:
            service.add_type(ctx, name, retention_years=retention_years, fields=fields)
        for t in service.list_types(ctx):
            years = f"{t['retention_years']} years" if t.get("retention_years") else "no retention rule"
            click.echo(f"{t['id']:>4}  {t['name']:<20} {years}  {', '.join(t.get('fields') or [])}")

    @docs.command("rules")
    @click.option("--add", "name", help="Add a matching rule with this name.")
    @click.option("--match", help="What to look for in the file's name and text.")
    @click.option("--algorithm", type=click.Choice(["any", "all", "exact", "regex"]), default="any",
                  show_default=True)
    @click.option("--correspondent")
    @click.option("--type", "type_")
    @click.option("--tag", "tags", multiple=True)
    @click.option("--delete", "delete_id", help="Delete the rule with this id.")
    def rules(name, match, algorithm, correspondent, type_, tags, delete_id):
        """Matching rules that pre-fill correspondent, type and tags."""
        ctx = get_context()
        if delete_id:
            service.delete_rule(ctx, delete_id)
        if name:
            service.add_rule(ctx, {"name": name, "match": match, "algorithm": algorithm,
                                   "correspondent": correspondent, "type": type_, "tags": list(tags)})
        for r in service.list_rules(ctx):
            assigns = " ".join(x for x in (r.get("type"), r.get("correspondent"), ",".join(r.get("tags") or [])) if x)
            click.echo(f"{r['id']:>4}  {r['name']:<20} {r['algorithm']:<5} {r['match']!r} → {assigns}")

    @docs.command("search-words")
    def search_words():
        """Keep the words of their current file on every document that lacks them.

        The documents filed before a release whose search reads the words
        on the documents (and those changed around the service) lack them:
        the app's worker fills them in, 500 a round, while the search reads
        the versions meanwhile. After `backdesk storage upgrade`, this does
        it all at once, under the account of who runs it."""
        from plugins.documents.models import _

        ctx = get_context()
        total = ctx.table("documents").count({"file_words_missing": True})
        done = 0
        while True:
            filled = service.fill_file_words(ctx)
            if not filled:
                break
            done += filled
            click.echo(_("{done} of {total} documents").format(done=f"{done:,}", total=f"{total:,}"))
        click.echo(_("every document keeps the words of its current file for the search"))

    @docs.command("check")
    @click.option("--orphans", is_flag=True, help="Also list files in the store that no document version uses.")
    @click.option("--delete", is_flag=True,
                  help="With --orphans: delete them (never a referenced file, nor one younger than 10 minutes).")
    def check(orphans, delete):
        """Check the file store: every version's file is there (exit 1 if not)."""
        from core.i18n import format_datetime
        from plugins.documents.models import _

        if delete and not orphans:
            raise ValidationError(_("--delete works with --orphans"), field="delete")
        ctx = get_context()
        problems = service.check_files(ctx)
        for line in problems:
            click.echo(line)
        if not problems:
            click.echo(_("every document version's file is in the store"))
        if orphans:
            minutes = int(service.ORPHAN_MIN_AGE.total_seconds() // 60)

            def describe(o):
                name = o["sha256"][:16] if o["sha256"] else o["path"].name
                return f"{name}  {o['size']} bytes  {format_datetime(o['modified'], 'short')}"

            if delete:
                result = service.delete_orphans(ctx)
                for o in result["deleted"]:
                    click.echo(_("deleted {file}").format(file=describe(o)))
                for o in result["kept"]:
                    click.echo(_("kept {file} (younger than {n} minutes)").format(file=describe(o), n=minutes))
                n = len(result["deleted"])
                click.echo(_.ngettext("{n} orphaned file deleted ({size} bytes), {kept} kept",
                                      "{n} orphaned files deleted ({size} bytes), {kept} kept", n).format(
                    n=n, size=sum(o["size"] for o in result["deleted"]), kept=len(result["kept"])))
            else:
                found = service.find_orphans(ctx)
                for o in found:
                    young = "  " + _("(younger than {n} minutes)").format(n=minutes) if o["young"] else ""
                    click.echo(_("orphan {file}").format(file=describe(o)) + young)
                click.echo(_.ngettext("{n} orphaned file ({size} bytes)", "{n} orphaned files ({size} bytes)",
                                      len(found)).format(n=len(found), size=sum(o["size"] for o in found)))
        if problems:
            raise SystemExit(1)

    @docs.command("export")
    @click.argument("doc_id")
    @click.argument("folder")
    def export(doc_id, folder):
        """Write the document's current file into FOLDER."""
        click.echo(str(service.export_document(get_context(), doc_id, folder)))
