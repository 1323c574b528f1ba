"""``backdesk audit|events|people|notify``: the core services on the command line.

Each command opens Backdesk through the CLI's shared state and calls the
same service functions the screens call, so permissions and validation hold
alike. Bad input and refused permissions raise BackdeskError: one line on
stderr, exit 2. ``audit verify`` exits 1 when it finds tampering and
``events retry`` exits 1 when a delivery still fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.cli.launch import State
from core.cli.params import DAY_OR_TIME
from core.errors import BackdeskError
from core.i18n import format_date, format_time
from core.inputs import read_text_file
from core.outputs import check_output_path, output_file
from core.safetext import json_safe, one_line
from core.services.audit import ARCHIVE_BATCH, ArchiveBusy
from core.services.audit_keys import create_key, read_anchors
from core.services.events import MANAGE as MANAGE_EVENTS


def local_time(at: str | None) -> str:
    """A stored UTC moment as a table shows it: the site's time zone and
    locale's short date, with seconds ("06.12.26, 11:00:05"); JSON keeps the
    stored ISO 8601 with its offset."""
    if not at:
        return ""
    return f"{format_date(at, 'short')}, {format_time(at, 'medium')}"


def _backdesk():
    state = click.get_current_context().find_object(State)
    if state is None:  # pragma: no cover - only when used outside the backdesk group
        raise BackdeskError("no Backdesk state: run these commands through 'backdesk'")
    return state.backdesk()


def _table(rows: list[dict], columns: list[str], *, widths: dict[str, int] | None = None) -> None:
    def cell(row, c):
        value = row.get(c, "")
        text = "" if value is None else one_line(str(value))
        limit = (widths or {}).get(c)
        if limit and len(text) > limit:
            text = text[: limit - 1] + "…"
        return text

    size = {c: max([len(c)] + [len(cell(r, c)) for r in rows]) for c in columns}
    click.echo("  ".join(c.upper().ljust(size[c]) for c in columns).rstrip())
    for r in rows:
        click.echo("  ".join(cell(r, c).ljust(size[c]) for c in columns).rstrip())


_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                       show_default=True)


def _ends_without_newline(fd: int) -> bool:
    """Whether the regular file open at ``fd`` has text whose last line is unfinished."""
    import os

    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def register(cli: click.Group) -> None:
    """Add the core services' commands to the ``backdesk`` group."""

    # ------------------------------------------------------------------ audit
    @cli.group("audit")
    def audit():
        """The audit trail: list entries, verify the hash chain, archive old entries."""

    @audit.command("verify")
    @click.option("--archives", is_flag=True,
                  help="Also read every archive file: its checksum, its chain and the links between them.")
    @click.option("--anchor", "anchor_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  metavar="FILE", help="Also check the anchors in FILE (lines of 'backdesk audit anchor').")
    def audit_verify(archives, anchor_file):
        """Check the hash chain; name every edited, removed or reordered entry (exit 1).

        With the site's audit key, the head's keyed hash is checked too;
        with --anchor FILE, every anchor in it: a trail rewritten up to an
        anchor, cut back or rolled back before it fails."""

        anchors_taken = []
        if anchor_file is not None:
            anchors_taken = read_anchors(read_text_file(anchor_file), str(anchor_file))
        bd = _backdesk()
        service = bd.services.audit
        problems = service.verify(archives=archives)
        if anchors_taken:
            problems += service.check_anchors(anchors_taken, str(anchor_file))
        count = service.table.count()
        anchors = service.anchors()
        archived = sum(a.get("count") or 0 for a in anchors)
        if problems:
            for p in problems:
                click.echo(f"TAMPERED: {p}", err=True)
            click.echo(f"The audit trail has {len(problems)} problem(s) in {count} entries"
                       + (f" and {archived} archived ones." if anchors else "."), err=True)
            sys.exit(1)
        if anchors_taken:
            click.echo(f"The {len(anchors_taken)} anchor(s) in {anchor_file} match the trail.")
        if service.key() is not None:
            click.echo(f"The head matches its keyed hash ({service.key_path}).")
        if not anchors:
            click.echo(f"The audit trail is intact: {count} entries.")
        elif archives:
            click.echo(f"The audit trail is intact: {count} entries, and {archived} archived ones in "
                       f"{len(anchors)} file(s) in {service.archive_files.where}, checked.")
        else:
            click.echo(f"The audit trail is intact: {count} entries after {archived} archived ones "
                       f"(in {len(anchors)} file(s); '--archives' checks them too).")

    @audit.command("anchor")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Add the line to this file (kept 0600) instead of printing it.")
    def audit_anchor(output):
        """Print the trail's head (seq, hash, count) as one line to keep elsewhere.

        Keep anchors where whoever can write the data folder cannot: another
        host, syslog ('backdesk audit anchor | logger -t backdesk'), paper.
        'backdesk audit verify --anchor FILE' then finds a trail rewritten,
        cut back or rolled back up to an anchor."""
        import os
        import stat


        output = check_output_path(output)
        line = _backdesk().services.audit.anchor()
        if output is None:
            click.echo(line)
            return
        # appended (a log of anchors), one write; a new file is private (0600)
        try:
            fd = os.open(output, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise BackdeskError(f"{output}: not a regular file; anchors are added to a file")
                os.write(fd, ("\n" + line + "\n").encode() if _ends_without_newline(fd) else
                         (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise BackdeskError(f"{output}: cannot add the anchor ({exc.strerror or exc})") from None
        click.echo(f"Anchor added to {output}", err=True)

    @audit.command("key")
    def audit_key():
        """Create the site's audit key: the trail's head is keyed from now on.

        The key goes to $BACKDESK_AUDIT_KEY or audit.key beside backdesk.yaml
        (0600, never inside the data folder). Whoever rewrites the trail
        without it is found by 'audit verify' and 'check'. Needs
        core.audit.key."""

        bd = _backdesk()
        service = bd.services.audit
        service.operator.require("core.audit.key", "create the audit key")
        path = service.key_path
        create_key(path, Path(bd.config.data_dir))
        service.record_keyed()
        click.echo(f"Audit key written to {path}; the trail is keyed from seq "
                   f"{service.head.get(1)['seq']} on. Keep a copy of the key with the backups' "
                   "(without it the trail cannot be checked).")

    @audit.command("list")
    @click.option("--operator", help="Only this account's entries.")
    @click.option("--plugin", help="Only this plugin's (or 'core') tables.")
    @click.option("--table", "table_name", help="Only this table (PLUGIN.TABLE).")
    @click.option("--since", type=DAY_OR_TIME,
                  help="From this date (31.12.2026 as on the screens, or 2026-12-31) or time (2026-12-31T08:00, UTC).")
    @click.option("--until", type=DAY_OR_TIME, help="Up to this date (inclusive) or time.")
    @click.option("--include-archived", is_flag=True, help="Read the archive files too.")
    @click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True,
                  help="At most this many (0: all).")
    @_FORMAT
    def audit_list(operator, plugin, table_name, since, until, include_archived, limit, fmt):
        """Audit entries, newest first."""
        bd = _backdesk()
        rows = bd.services.audit.entries(operator=operator, plugin=plugin, table=table_name, since=since,
                                         until=until, limit=limit or None, include_archived=include_archived)
        if fmt == "json":
            click.echo(json_safe(rows, indent=2))
            return
        for r in rows:
            r["when"] = local_time(r.get("at"))
            r["record"] = f"{r.get('table')} {r.get('doc_id')}"
            r["summary"] = _summary(r)
        _table(rows, ["seq", "when", "actor", "plugin", "op", "record", "summary"], widths={"summary": 50})

    @audit.command("archive")
    @click.option("--before", required=True, metavar="DATE", type=DAY_OR_TIME,
                  help="Archive the entries before this date (31.12.2026 as on the screens, or 2026-12-31) "
                       "or time (2026-12-31T08:00, UTC).")
    @click.option("--dry-run", is_flag=True, help="Only say what would be archived.")
    @click.option("--batch", type=click.IntRange(min=1), default=None, metavar="N",
                  help="At most N entries per archive file (and per transaction; default 20000).")
    def audit_archive(before, dry_run, batch):
        """Move the oldest entries into gzip'd archive files.

        The entries from the start of the trail up to the first one at or
        after DATE go to audit-FIRST-LAST.jsonl.gz files: in
        <data>/audit-archive/, or on a PostgreSQL site in the database,
        where every host reads them. The live trail then continues from
        them ('audit verify --archives' checks both, 'audit list
        --include-archived' reads both). Needs the permission
        core.audit.archive. One run at a time in the whole office: while
        another run (on any host) archives, this one says whose it is,
        does nothing and exits with 3."""
        import time

        bd = _backdesk()
        started = time.monotonic()
        shelf = bd.services.audit.archive_files

        def progress(kind, what):
            if kind == "removed":
                click.echo(f"Removed {what}, left by an interrupted run (its entries were still in the trail).")
                return
            span = f"{what['first_at'][:19].replace('T', ' ')} to {what['last_at'][:19].replace('T', ' ')}"
            if dry_run:
                click.echo(f"Would archive seq {what['first_seq']}-{what['last_seq']} ({what['count']} entries, "
                           f"{span}) to {shelf.shown(what['file'])}")
            else:
                click.echo(f"Archived seq {what['first_seq']}-{what['last_seq']} ({what['count']} entries, {span}) "
                           f"to {shelf.shown(what['file'])} ({what['bytes']} bytes, sha256 {what['sha256'][:16]}…)")

        try:
            result = bd.services.audit.archive(before, dry_run=dry_run, batch=batch or ARCHIVE_BATCH,
                                               progress=progress)
        except ArchiveBusy as exc:
            click.echo(f"backdesk: {exc}", err=True)
            sys.exit(3)
        if not result.files:
            click.echo(f"Nothing to archive: the trail has no entries before {result.before}.")
            return
        if dry_run:
            click.echo(f"{result.archived} entries in {len(result.files)} file(s) would be archived; "
                       "nothing was changed (--dry-run).")
            return
        compacted = " The store was compacted." if result.compacted else ""
        click.echo(f"{result.archived} entries archived in {time.monotonic() - started:.1f} s; "
                   f"the live trail holds {result.live}.{compacted}")

    # ------------------------------------------------------------------ events
    @cli.group("events")
    def events():
        """Domain events between plugins: list them, retry failed deliveries."""

    @events.command("list")
    @click.option("--failed", is_flag=True, help="Only events with a failed delivery.")
    @click.option("--name", help="Only events with this name (hr.employee_hired).")
    @click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True,
                  help="At most this many (0: all).")
    @_FORMAT
    def events_list(failed, name, limit, fmt):
        """Events, newest first, with how each plugin took them."""
        bd = _backdesk()
        rows = bd.services.events.list(failed=failed, name=name, limit=limit or None)
        if fmt == "json":
            click.echo(json_safe(rows, indent=2))
            return
        failures = []
        for r in rows:
            r["when"] = local_time(r.get("at"))
            ok = [d["plugin"] for d in r["deliveries"] if d["status"] == "ok"]
            bad = [d for d in r["deliveries"] if d["status"] != "ok"]
            r["handled by"] = ", ".join(ok + [f"{d['plugin']} (FAILED)" for d in bad]) or "-"
            failures.extend((r["id"], d) for d in bad)
        _table(rows, ["id", "when", "name", "actor", "status", "handled by"], widths={"handled by": 40})
        if failures:
            click.echo("\nFailed deliveries (retry with 'backdesk events retry [ID]'):")
            for eid, d in failures:
                tries = d.get("attempts", 1)
                click.echo(f"  event {eid} -> {d['plugin']}: {d['error']} "
                           f"({tries} {'try' if tries == 1 else 'tries'})")

    @events.command("retry")
    @click.argument("event_id", type=int, required=False)
    @click.option("--plugin", help="Only this plugin's failed deliveries.")
    def events_retry(event_id, plugin):
        """Run failed deliveries again (all, or of EVENT_ID); exit 1 if one still fails."""
        bd = _backdesk()
        results = bd.services.events.retry(event_id, plugin=plugin)
        if not results:
            click.echo("Nothing to retry: no failed deliveries.")
            return
        still = 0
        for eid, name, status in results:
            click.echo(f"event {eid} -> {name}: {status}")
            still += status != "ok"
        if still:
            click.echo(f"{still} deliver{'y' if still == 1 else 'ies'} still failing; "
                       "see 'backdesk events list --failed'.", err=True)
            sys.exit(1)

    @events.command("due")
    def events_due():
        """Publish the events scheduled for today or earlier (a dismissal's last
        day); the shell does so by itself, this is for a daily cron line."""
        bd = _backdesk()
        bd.operator.require(MANAGE_EVENTS, "publish scheduled events")
        ids = bd.services.events.deliver_due()
        click.echo(f"{len(ids)} scheduled event{'' if len(ids) == 1 else 's'} published"
                   + (f": {', '.join(map(str, ids))}" if ids else ""))

    # ------------------------------------------------------------------ people
    @cli.group("people")
    def people():
        """The people directory: list, import and export as CSV."""

    @people.command("list")
    @click.argument("search", required=False, default="")
    @click.option("--status", type=click.Choice(["active", "on_leave", "left"]), help="Only this status.")
    @_FORMAT
    def people_list(search, status, fmt):
        """People whose name, department, extension or email contain SEARCH."""
        bd = _backdesk()
        rows = bd.services.people.find(search, status=status)
        if fmt == "json":
            click.echo(json_safe(rows, indent=2))
            return
        _table(rows, ["id", "name", "department", "extension", "email", "status"],
               widths={"department": 24, "name": 28})

    @people.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def people_import(file: Path):
        """Add or update people from a CSV FILE (all rows or none)."""
        import io


        bd = _backdesk()
        result = bd.services.people.import_csv(io.StringIO(read_text_file(file), newline=""))
        click.echo(f"Imported {file}: {len(result['created'])} added, {len(result['updated'])} updated.")

    @people.command("export")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write to this file instead of standard output.")
    def people_export(output: Path | None):
        """Write the directory as CSV (the format 'people import' reads)."""

        output = check_output_path(output)
        bd = _backdesk()
        with output_file(output) as fh:
            n = bd.services.people.export_csv(fh)
        if output is not None:
            click.echo(f"Wrote {n} people to {output}", err=True)

    @people.command("departments")
    def people_departments():
        """Departments and how many people work in each."""
        bd = _backdesk()
        _table(bd.services.people.departments(), ["id", "name", "people"])

    # ------------------------------------------------------------------ notify
    @cli.command("notify")
    @click.argument("account")
    @click.argument("text")
    @click.option("--link", help="A screen to open with it (a navigation id, e.g. directory).")
    def notify(account, text, link):
        """Put TEXT into ACCOUNT's inbox (they see it within seconds)."""
        bd = _backdesk()
        nid = bd.services.notifications.send(account, text, link=link)
        click.echo(f"Notification {nid} sent to {account}.")


def _summary(entry: dict) -> str:
    if entry.get("op") in ("read", "archive"):
        return entry.get("what") or entry.get("op")
    before, after = entry.get("before") or {}, entry.get("after") or {}
    if entry.get("op") == "update":
        keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        return ", ".join(f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in keys[:3])
    doc = after or before
    for key in ("name", "title", "text", "subject"):
        if doc.get(key):
            return str(doc[key])
    return ""
