"""``backdesk it …``: tickets, assets, maintenance, changes and service checks.

Each command calls the same service functions as the screens; a
BackdeskError (bad input, unknown id, missing permission) is printed on one
line by the ``backdesk`` command, which exits 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core import csvsafe
from core.cli.params import DATE, DAY
from core.errors import ValidationError
from core.i18n import date_text, day_text
from core.safetext import json_safe


#: columns holding an ISO day, which a table writes the locale's way
DAY_COLUMNS = frozenset({"warranty_end", "purchase_date", "next_due", "last_done", "planned_date"})


def _out(rows: list[dict], columns: list[str], fmt: str, widths: dict | None = None,
         labels: dict | None = None) -> None:
    """``rows`` as JSON, CSV (both with the stored codes) or a table for
    people; ``labels``: column -> a map of ``models.*_TITLES``, whose words
    (in the site's language) the table shows instead of the codes."""
    if fmt == "json":
        click.echo(json_safe(rows, indent=2, default=str))
        return
    if fmt == "csv":  # for spreadsheets: no cell becomes a formula (core.csvsafe)
        w = csvsafe.writer(sys.stdout)
        w.writerow(columns)
        for r in rows:
            w.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
        return
    if labels:
        from plugins.it.models import label

        rows = [{**r, **{c: label(titles, r.get(c)) for c, titles in labels.items()}} for r in rows]
    days = [c for c in columns if c in DAY_COLUMNS]
    if days:  # the locale's short date, as on the screens (JSON and CSV keep ISO)
        rows = [{**r, **{c: day_text(r.get(c)) for c in days}} for r in rows]
    widths = widths or {}
    size = {c: min(widths.get(c, 30), max([len(c)] + [len(str(r.get(c) if r.get(c) is not None else ""))
                                                    for r in rows])) for c in columns}

    def cut(v, n):
        v = "" if v is None else str(v).replace("\n", " ")
        return v if len(v) <= n else v[: n - 1] + "…"

    click.echo("  ".join(c.ljust(size[c]) for c in columns).rstrip())
    for r in rows:
        click.echo("  ".join(cut(r.get(c), size[c]).ljust(size[c]) for c in columns).rstrip())
    if not rows:
        click.echo("(none)")


def _err(text: str) -> None:
    click.echo(text, err=True)
    sys.stderr.flush()


_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
                       show_default=True, help="Output format.")


def register(cli: click.Group, get_context) -> None:
    from plugins.it import models as m
    from plugins.it import service as svc

    asset_labels = {"type": m.ASSET_TYPE_TITLES, "status": m.ASSET_STATUS_TITLES}
    check_labels = {"state": m.CHECK_STATE_TITLES}  # the kinds (tcp, http, dns, disk) read the same

    @cli.group("it")
    def it():
        """IT: helpdesk tickets, assets, maintenance, changes, service checks."""

    # -------------------------------------------------------------- tickets
    @it.group("ticket")
    def ticket():
        """Open, show and work on one ticket."""

    @ticket.command("open")
    @click.option("--for", "person", required=True, help="The person (directory id or name).")
    @click.option("--title", required=True)
    @click.option("--priority", default="normal", show_default=True,
                  type=click.Choice(["urgent", "high", "normal", "low"]))
    @click.option("--category", default="hardware", show_default=True,
                  type=click.Choice(["hardware", "software", "network", "phone", "access"]))
    @click.option("--kind", default="incident", show_default=True, type=click.Choice(["incident", "request"]))
    @click.option("--description", default="")
    @click.option("--asset", "assets", multiple=True, help="Asset tag (repeatable).")
    @click.option("--due", default=None, type=DAY, help=f"A date the requester needs it by, {DATE}.")
    def ticket_open(person, title, priority, category, kind, description, assets, due):
        """Open a ticket for PERSON."""
        ctx = get_context()
        doc = svc.open_ticket(ctx, requester=person, title=title, priority=priority, category=category,
                              kind=kind, description=description, assets=assets, due=due)
        click.echo(f"Opened ticket #{doc['id']}: {doc['title']} (due {doc.get('resolution_due') or '-'})")

    @ticket.command("show")
    @click.argument("ticket_id")
    def ticket_show(ticket_id):
        """Show a ticket with its SLA clocks and comments."""
        from core.i18n import format_datetime
        from plugins.it.sla import format_span

        ctx = get_context()
        doc = svc.get_ticket(ctx, ticket_id)
        st = svc.sla_state(ctx, doc)
        click.echo(f"#{doc['id']} {doc['title']}")
        click.echo(f"  status {doc['status']}, priority {doc['priority']}, {doc['kind']}/{doc['category']}, "
                   f"assignee {doc.get('assignee') or '-'}")
        click.echo(f"  for {svc.person_name(ctx, doc['requester_id'])}, opened {format_datetime(doc['opened_at'])}")
        for key in ("response", "resolution"):
            due = st[key + "_due"]
            met = st[key + "_met"]
            state = ("met" if met else "missed") if met is not None else (
                "paused" if due is None else ("OVERDUE" if st[key + "_overdue"] else "due"))
            click.echo(f"  {key}: {state} {format_datetime(due) if due else ''} "
                       f"({format_span(st[key + '_left'])} left)")
        if doc.get("description"):
            click.echo("")
            click.echo(doc["description"])
        for c in svc.comments(ctx, doc["id"]):
            tag = " [internal]" if c["internal"] else ""
            click.echo(f"-- {c['by']} {format_datetime(c['at'])}{tag} {c['minutes'] or 0} min")
            if c["text"]:
                click.echo(c["text"])

    @ticket.command("assign")
    @click.argument("ticket_id")
    @click.argument("account")
    def ticket_assign(ticket_id, account):
        """Assign a ticket to a member of the IT team (ACCOUNT; '-' unassigns)."""
        ctx = get_context()
        doc = svc.assign(ctx, ticket_id, None if account == "-" else account)
        click.echo(f"Ticket #{doc['id']} assigned to {doc.get('assignee') or 'nobody'} ({doc['status']}).")

    @ticket.command("status")
    @click.argument("ticket_id")
    @click.argument("status", type=click.Choice(["open", "waiting", "resolved", "closed"]))
    @click.option("--note", default="", help="A reply recorded with the change.")
    def ticket_status(ticket_id, status, note):
        """Move a ticket (open, waiting, resolved, closed; open again reopens)."""
        ctx = get_context()
        doc = svc.set_status(ctx, ticket_id, status, note=note)
        click.echo(f"Ticket #{doc['id']} is {doc['status']}.")

    @ticket.command("priority")
    @click.argument("ticket_id")
    @click.argument("priority", type=click.Choice(["urgent", "high", "normal", "low"]))
    def ticket_priority(ticket_id, priority):
        """Change the priority; the due times are recomputed."""
        ctx = get_context()
        doc = svc.set_priority(ctx, ticket_id, priority)
        click.echo(f"Ticket #{doc['id']} is {doc['priority']}, due {doc.get('resolution_due') or '-'}.")

    @ticket.command("comment")
    @click.argument("ticket_id")
    @click.argument("text", default="")
    @click.option("--internal", is_flag=True, help="An internal note (IT team only).")
    @click.option("--minutes", default="0", help="Time spent.")
    @click.option("--canned", default=None, help="Start with a canned reply by name.")
    def ticket_comment(ticket_id, text, internal, minutes, canned):
        """Reply to a ticket or add an internal note, with the time spent."""
        ctx = get_context()
        c = svc.add_comment(ctx, ticket_id, text, internal=internal, minutes=minutes, canned=canned)
        click.echo(f"Comment {c['id']} added to ticket #{c['ticket_id']}.")

    @it.command("tickets")
    @click.option("--queue", "queue_name", type=click.Choice(list(svc.QUEUES)), default="active", show_default=True)
    @click.option("--overdue", is_flag=True, help="Same as --queue overdue.")
    @click.option("--mine", is_flag=True, help="Same as --queue mine.")
    @_FORMAT
    def tickets(queue_name, overdue, mine, fmt):
        """List the tickets of a queue."""
        ctx = get_context()
        name = "overdue" if overdue else "mine" if mine else queue_name
        rows = svc.ticket_rows(ctx, svc.queue(ctx, name))
        if fmt != "table":
            keep = ("id", "title", "status", "priority", "kind", "category", "requester_id", "requester",
                    "assignee", "opened_at", "response_due", "resolution_due", "resolved_at", "minutes",
                    "asset_ids", "overdue")
            rows = [{k: r.get(k) for k in keep} for r in rows]
            _out(rows, list(keep), fmt)
            return
        _out(rows, ["id", "priority", "status", "title", "requester", "assignee_text", "due_text"], fmt,
             widths={"title": 34, "requester": 20},
             labels={"priority": m.PRIORITY_TITLES, "status": m.STATUS_TITLES})

    # -------------------------------------------------------------- assets
    @it.group("assets", invoke_without_command=True)
    @_FORMAT
    @click.pass_context
    def assets(click_ctx, fmt):
        """List assets; subcommands import, add, check out and in."""
        if click_ctx.invoked_subcommand is not None:
            return
        ctx = get_context()
        svc._require(ctx, svc.P_ASSETS_READ, False)
        rows = svc.asset_rows(ctx, ctx.table("assets").find(order_by=["tag"]))
        _out(rows, ["tag", "type", "model", "serial", "status", "holder", "warranty_end"], fmt,
             widths={"model": 24, "holder": 22}, labels=asset_labels)

    @assets.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--tag", default=None, help="XML inventory: the asset tag of the computer.")
    def assets_import(file: Path, tag):
        """Import a CSV (keyed on the tag, all rows or none) or a FusionInventory XML inventory."""
        ctx = get_context()
        head = file.open("rb").read(512).lstrip()
        if file.suffix.lower() == ".xml" or head.startswith(b"<"):
            what, doc = svc.import_fusion(ctx, file.read_bytes(), tag=tag)
            click.echo(f"Inventory of {doc.get('name')}: asset {doc['tag']} {what}.")
            return
        import io

        from core.inputs import read_text_file

        result = svc.import_csv(ctx, io.StringIO(read_text_file(file, max_bytes=svc.MAX_IMPORT_BYTES), newline=""))
        click.echo(f"Imported {file.name}: {len(result['created'])} added, {len(result['updated'])} updated.")

    @assets.command("add")
    @click.argument("tag")
    @click.option("--type", "type_", required=True,
                  type=click.Choice(["computer", "printer", "phone", "licence", "accessory", "consumable"]))
    @click.option("--model", default="")
    @click.option("--serial", default="")
    @click.option("--warranty-end", default=None, type=DAY, help=f"The warranty's last day, {DATE}.")
    @click.option("--purchase-date", default=None, type=DAY, help="When it was bought.")
    @click.option("--seats", default=None)
    @click.option("--quantity", default=None)
    @click.option("--min-quantity", default=None)
    def assets_add(tag, type_, model, serial, warranty_end, purchase_date, seats, quantity, min_quantity):
        """Add an asset."""
        ctx = get_context()
        doc = svc.add_asset(ctx, {"tag": tag, "type": type_, "model": model, "serial": serial,
                                  "warranty_end": warranty_end, "purchase_date": purchase_date, "seats": seats,
                                  "quantity": quantity, "min_quantity": min_quantity})
        click.echo(f"Added asset {doc['tag']}.")

    @assets.command("checkout")
    @click.argument("tag")
    @click.option("--to", "person", default=None, help="The person (id or name).")
    @click.option("--location", default="")
    @click.option("--quantity", default="1")
    def assets_checkout(tag, person, location, quantity):
        """Check an asset out to a person or a location."""
        ctx = get_context()
        doc = svc.check_out(ctx, tag, person=person, location=location, quantity=quantity)
        click.echo(f"{doc['tag']} checked out.")

    @assets.command("checkin")
    @click.argument("tag")
    @click.option("--from", "person", default=None, help="Licence: whose seat is freed.")
    @click.option("--quantity", default="1")
    def assets_checkin(tag, person, quantity):
        """Check an asset back in."""
        ctx = get_context()
        doc = svc.check_in(ctx, tag, person=person, quantity=quantity)
        click.echo(f"{doc['tag']} checked in.")

    @assets.command("warranty")
    @click.option("--days", default=None, type=click.IntRange(0, 3650))
    @_FORMAT
    def assets_warranty(days, fmt):
        """Assets whose warranty ends soon."""
        ctx = get_context()
        _out(svc.asset_rows(ctx, svc.warranty_expiring(ctx, days)),
             ["tag", "type", "model", "warranty_end", "holder"], fmt, labels=asset_labels)

    @assets.command("low-stock")
    @_FORMAT
    def assets_low(fmt):
        """Accessories and consumables below their minimum quantity."""
        ctx = get_context()
        _out(svc.low_stock(ctx), ["tag", "type", "model", "quantity", "min_quantity"], fmt, labels=asset_labels)

    # -------------------------------------------------------------- maintenance
    @it.group("maintenance", invoke_without_command=True)
    @_FORMAT
    @click.pass_context
    def maintenance(click_ctx, fmt):
        """Recurring maintenance tasks."""
        if click_ctx.invoked_subcommand is not None:
            return
        ctx = get_context()
        _out(svc.tasks(ctx), ["id", "title", "interval_days", "next_due", "last_done", "overdue"], fmt)

    @maintenance.command("add")
    @click.argument("title")
    @click.option("--every", "interval", required=True, help="Interval in days.")
    @click.option("--next-due", required=True, type=DAY, help=f"When it is due first, {DATE}.")
    @click.option("--asset", default=None)
    def maintenance_add(title, interval, next_due, asset):
        """Add a recurring task."""
        ctx = get_context()
        doc = svc.add_task(ctx, title, interval, next_due, asset=asset)
        click.echo(f"Task #{doc['id']} added, next due {date_text(doc['next_due'])}.")

    @maintenance.command("done")
    @click.argument("task_id")
    @click.option("--note", default="")
    def maintenance_done(task_id, note):
        """Log a task done today."""
        ctx = get_context()
        doc = svc.task_done(ctx, task_id, note)
        click.echo(f"Task #{doc['id']} done; next due {date_text(doc['next_due'])}.")

    # -------------------------------------------------------------- changes
    @it.group("changes", invoke_without_command=True)
    @_FORMAT
    @click.pass_context
    def changes(click_ctx, fmt):
        """Change requests."""
        if click_ctx.invoked_subcommand is not None:
            return
        ctx = get_context()
        _out(svc.changes(ctx), ["id", "title", "risk", "status", "planned_date", "proposed_by", "decided_by"], fmt,
             labels={"risk": m.RISK_TITLES, "status": m.CHANGE_STATUS_TITLES})

    @changes.command("propose")
    @click.argument("title")
    @click.option("--proposal", default="")
    @click.option("--reason", default="")
    @click.option("--risk", type=click.Choice(["low", "medium", "high"]), default="low")
    @click.option("--planned", default=None, type=DAY, help=f"When it is to be done, {DATE}.")
    def changes_propose(title, proposal, reason, risk, planned):
        """Propose a change."""
        ctx = get_context()
        doc = svc.propose_change(ctx, title=title, proposal=proposal, reason=reason, risk=risk, planned_date=planned)
        click.echo(f"Change #{doc['id']} proposed.")

    @changes.command("approve")
    @click.argument("change_id")
    @click.option("--reject", is_flag=True)
    @click.option("--note", default="")
    def changes_approve(change_id, reject, note):
        """Approve (or --reject) a proposed change."""
        ctx = get_context()
        doc = svc.decide_change(ctx, change_id, not reject, note)
        click.echo(f"Change #{doc['id']} {doc['status']}.")

    @changes.command("done")
    @click.argument("change_id")
    @click.option("--outcome", required=True)
    @click.option("--failed", is_flag=True)
    def changes_done(change_id, outcome, failed):
        """Record the outcome of an approved change."""
        ctx = get_context()
        doc = svc.finish_change(ctx, change_id, outcome, not failed)
        click.echo(f"Change #{doc['id']} {doc['status']}.")

    # -------------------------------------------------------------- checks
    @it.group("checks", invoke_without_command=True)
    @_FORMAT
    @click.pass_context
    def checks(click_ctx, fmt):
        """Service checks: list, add, remove, run."""
        if click_ctx.invoked_subcommand is not None:
            return
        ctx = get_context()
        _out(svc.list_checks(ctx), ["name", "kind", "target", "state", "since", "message"], fmt, labels=check_labels)

    @checks.command("add")
    @click.argument("name")
    @click.argument("kind", type=click.Choice(["tcp", "http", "dns", "disk"]))
    @click.argument("target")
    @click.option("--expect", default=None, help="http: the status (200); disk: minimum free (10% or 2G).")
    def checks_add(name, kind, target, expect):
        """Add a check: tcp HOST:PORT, http URL, dns HOSTNAME, disk PATH."""
        ctx = get_context()
        doc = svc.add_check(ctx, name, kind, target, expect)
        click.echo(f"Check {doc['name']} added.")

    @checks.command("remove")
    @click.argument("name")
    def checks_remove(name):
        """Remove a check."""
        ctx = get_context()
        svc.remove_check(ctx, name)
        click.echo(f"Check {name} removed.")

    @checks.command("watch")
    @click.option("--every", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
                  help="Run each check this often (default: the check_interval setting).")
    def checks_watch(every):
        """Run the due checks in a loop until SIGTERM or Ctrl+C: one line per state change.

        Shares the work with open status boards and other watchers: a check
        probed by any of them within the interval is not probed again. A
        failing check opens one ticket per outage, whoever records it.
        """
        import signal
        import threading

        from core.i18n import format_number

        stop = threading.Event()

        def stopping(signum, frame):
            stop.set()

        previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            ctx = get_context()
            svc._require(ctx, svc.P_CHECKS_READ, False)
            interval = float(every or ctx.settings["check_interval"])
            n = ctx.table("checks").count()
            _err(m._.ngettext("watching {n} check every {s} s (SIGTERM or Ctrl+C stops)",
                              "watching {n} checks every {s} s (SIGTERM or Ctrl+C stops)", n).format(
                n=n, s=format_number(interval)))
            hold = ctx.store.hold("checks")
            started = []

            def on_hold(mine: bool, holder: dict | None) -> None:
                if mine and started:
                    _err(m._("taking over: this watcher runs the checks now"))
                elif not mine:
                    who = holder["who"] if holder else "?"
                    _err(m._("standing by: the watcher of {who} runs the checks").format(who=who))
                started.append(mine)

            try:
                svc.watch_checks(ctx, stop, interval=interval, on_change=_print_change,
                                 on_error=lambda exc: _err(f"backdesk: {exc}"), hold=hold, on_hold=on_hold)
            finally:
                hold.release()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        _err(m._("stopped"))

    def _print_change(entry: dict, check: dict | None) -> None:
        from core.i18n import to_local

        name = check["name"] if check else f"#{entry['check_id']}"
        line = m._("{time} {name}: {state} ({message})").format(
            time=to_local(entry["at"]).strftime("%Y-%m-%d %H:%M:%S"), name=name,
            state=m.label(m.CHECK_STATE_TITLES, entry["state"]), message=entry.get("message") or "-")
        click.echo(line)
        sys.stdout.flush()

    @checks.command("run")
    @_FORMAT
    def checks_run(fmt):
        """Run every check once and print the board (exit 1 when one fails)."""
        ctx = get_context()
        rows = svc.run_checks(ctx)
        _out(rows, ["name", "kind", "target", "state", "since", "message", "ticket_id"], fmt,
             widths={"target": 30, "message": 30}, labels=check_labels)
        if any(r["state"] == "failing" for r in rows):
            sys.exit(1)
