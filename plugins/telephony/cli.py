"""``backdesk phone …``: the switchboard from the command line.

Every command calls the same service functions as the screens; bad input
raises a BackdeskError, which the CLI prints on one line (exit 2).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.errors import ValidationError
from core.i18n import format_datetime
from core.safetext import json_safe


def register(cli: click.Group, get_context) -> None:
    def svc():
        from plugins.telephony.service import service_for

        return service_for(get_context())

    @cli.group("phone")
    def phone():
        """The switchboard: log, transfer and list calls; messages; phone list."""

    @phone.command("log")
    @click.option("--from", "caller", required=True, help="Caller: number, extension or name.")
    @click.option("--to", "to", default=None, help="The extension (or person) asked for.")
    @click.option("--note", default="", help="A note about the call.")
    @click.option("--name", default=None, help="An external caller's name (remembered).")
    @click.option("--company", default=None, help="An external caller's company (remembered).")
    def log_cmd(caller, to, note, name, company):
        """Log an incoming call; prints the new call's id."""
        click.echo(svc().log_call(caller, to=to, note=note, name=name, company=company))

    @phone.command("transfer")
    @click.argument("call_id")
    @click.option("--to", "to", required=True, help="Extension, name or #person-id.")
    @click.option("--attended", is_flag=True, help="Consult the target first (then: complete / cancel).")
    @click.option("--voicemail", is_flag=True, help="Straight to the target's voicemail.")
    @click.option("--note", default="", help="A note shown to the target.")
    def transfer_cmd(call_id, to, attended, voicemail, note):
        """Transfer a call to an extension."""
        if attended and voicemail:
            raise ValidationError("choose --attended or --voicemail, not both", field="mode")
        mode = "attended" if attended else "voicemail" if voicemail else "blind"
        s = svc()
        doc = s.transfer(call_id, to, mode=mode, note=note)
        target = s.person_text(doc.get("consult_person_id") or doc.get("to_person_id"))
        verb = {"attended": "consulting", "voicemail": "sent to the voicemail of", "blind": "transferred to"}[mode]
        click.echo(f"call {doc['id']}: {verb} {target}")

    @phone.command("complete")
    @click.argument("call_id")
    def complete_cmd(call_id):
        """Complete an attended transfer."""
        s = svc()
        doc = s.complete_transfer(call_id)
        click.echo(f"call {doc['id']}: transferred to {s.person_text(doc['to_person_id'])}")

    @phone.command("cancel")
    @click.argument("call_id")
    @click.option("--reason", default="", help="away, busy, no answer, …")
    def cancel_cmd(call_id, reason):
        """Cancel an attended transfer and return to the caller."""
        doc = svc().cancel_transfer(call_id, reason=reason)
        click.echo(f"call {doc['id']}: back with the caller")

    @phone.command("end")
    @click.argument("call_id")
    @click.option("--outcome", type=click.Choice(["missed", "connected"]), default="missed", show_default=True)
    def end_cmd(call_id, outcome):
        """End a call (the caller hung up, or the operator dealt with it)."""
        doc = svc().end_call(call_id, outcome=outcome)
        click.echo(f"call {doc['id']}: {doc['outcome']}")

    @phone.command("park")
    @click.argument("call_id")
    def park_cmd(call_id):
        """Park a call; prints the slot."""
        click.echo(svc().park(call_id))

    @phone.command("retrieve")
    @click.argument("call", required=False)
    def retrieve_cmd(call):
        """Take a parked call back (call id or P<slot>; default: the longest parked)."""
        doc = svc().retrieve(call)
        click.echo(f"call {doc['id']}: back on the line")

    @phone.command("hold")
    @click.argument("call_id")
    def hold_cmd(call_id):
        """Put a call on hold (resume takes it back)."""
        doc = svc().hold(call_id)
        click.echo(f"call {doc['id']}: on hold" + (f" ({doc['hold_slot']})" if doc.get("hold_slot") else ""))

    @phone.command("resume")
    @click.argument("call_id")
    def resume_cmd(call_id):
        """Take a held call back to your phone."""
        doc = svc().resume(call_id)
        click.echo(f"call {doc['id']}: back on the line")

    @phone.command("answer")
    @click.argument("call_id")
    def answer_cmd(call_id):
        """Take a waiting call (ringing elsewhere, in a queue, parked, held) on your phone."""
        doc = svc().answer_call(call_id)
        click.echo(f"call {doc['id']}: on your line")

    @phone.command("dial")
    @click.argument("person", required=False)
    @click.option("--number", default=None, help="An outside number instead of a person.")
    def dial_cmd(person, number):
        """Click-to-dial: your phone rings, then PERSON's (or --number); prints the call id."""
        if bool(person) == bool(number):
            raise ValidationError("give a person or --number, not both", field="to")
        click.echo(svc().dial(person, number=number))

    @phone.command("queues")
    @click.option("--pause", "pause", default=None, metavar="EXTENSION", help="Pause this member.")
    @click.option("--unpause", "unpause", default=None, metavar="EXTENSION", help="Unpause this member.")
    @click.option("--reason", default="", help="Why (shown on the switchboard).")
    def queues_cmd(pause, unpause, reason):
        """The PBX's queues: who waits, who takes calls; pause or unpause a member."""
        import time

        s = svc()
        s.live_required()
        if pause or unpause:
            ext = pause or unpause
            found = [(q["name"], m) for q in s.queue_rows() for m in q["members"] if m["extension"] == ext]
            if not found:
                raise ValidationError(f"{ext} is not a member of a queue", field="member")
            for name, member in found:
                s.pause_member(name, member["interface"], bool(pause), reason)
            time.sleep(0.2)  # the PBX reports the change as an event
        now = time.time()
        for q in s.queue_rows():
            click.echo(f"{q['name']}: {len(q['entries'])} waiting")
            for e in q["entries"]:
                click.echo(f"  #{e['position']} {e['caller']} ({int(now - e['since'])} s)")
            for m in q["members"]:
                state = "paused" + (f" ({m['reason']})" if m["reason"] else "") if m["paused"] else m["state"]
                click.echo(f"  {m['extension'] or '-':>5} {m['name']}: {state}")
        s.stop_backend()

    @phone.command("watch")
    @click.option("--seconds", type=float, default=None, help="Stop after this long (default: until Ctrl+C).")
    def watch_cmd(seconds):
        """Record the PBX's calls in the history, also while no switchboard is open (a service).

        Runs until SIGTERM or Ctrl+C (or --seconds), then logs off the PBX.
        Both signals are handled here, not left to Python's KeyboardInterrupt:
        a process started in the background by a non-interactive shell
        inherits SIGINT ignored, and Python then never raises it (the CI's
        PostgreSQL pass ran so and the watch never ended).
        """
        import signal
        import threading
        import time

        stop = threading.Event()

        def stopping(signum, frame):
            stop.set()

        s = svc()
        if not s.backend.live:
            raise ValidationError("the PBX backend is 'manual': there is nothing to watch", field="pbx")
        previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            s.start_backend()
            click.echo(s.backend.state()[1], err=True)
            end = time.monotonic() + seconds if seconds else None
            while not stop.wait(0.2) and (end is None or time.monotonic() < end):
                s.push_hours()
        finally:
            s.stop_backend()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    @phone.command("pickup")
    @click.argument("extension")
    def pickup_cmd(extension):
        """Pick up the call ringing at an extension; prints the call id."""
        click.echo(svc().pickup(extension))

    @phone.command("message")
    @click.option("--for", "for_person", required=True, help="Extension, name or #person-id.")
    @click.option("--from", "caller", default="", help="Who called (name, number or extension).")
    @click.option("--text", required=True, help="The message.")
    @click.option("--number", default="", help="Number to call back.")
    @click.option("--company", default="", help="The caller's company.")
    @click.option("--urgent", is_flag=True, help="Mark as urgent.")
    @click.option("--no-callback", is_flag=True, help="No callback wanted.")
    @click.option("--call", "call_id", default=None, help="The call this message ends.")
    def message_cmd(for_person, caller, text, number, company, urgent, no_callback, call_id):
        """Take a message for a person (they are notified); prints its id."""
        click.echo(svc().take_message(for_person, text, caller=caller, number=number, company=company,
                                      urgency="urgent" if urgent else "normal", callback=not no_callback,
                                      call_id=call_id))

    @phone.command("messages")
    @click.option("--open", "open_only", is_flag=True, help="Only open callbacks.")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
    def messages_cmd(open_only, fmt):
        """List messages (open callbacks first)."""
        from plugins.telephony.models import message_status_title, urgency_title

        s = svc()
        human = fmt == "table"
        rows = [{"id": m["id"], "for": s.person_text(m.get("for_person_id")) or "-",
                 "from": s.message_caller(m), "number": m.get("caller_number") or "",
                 "urgency": urgency_title(m.get("urgency")) if human else m.get("urgency"),
                 "callback": "yes" if m.get("callback") else "no",
                 "status": message_status_title(m.get("status")) if human else m.get("status"),
                 "taken_at": format_datetime(m["taken_at"]) if human and m.get("taken_at") else m.get("taken_at"),
                 "text": m.get("text")}
                for m in s.list_messages(open_only=open_only)]
        _emit(rows, fmt, ["id", "taken_at", "for", "from", "number", "urgency", "status", "text"])

    @phone.command("callback-done")
    @click.argument("message_id")
    def callback_done_cmd(message_id):
        """Mark a message's callback done."""
        doc = svc().complete_callback(message_id)
        click.echo(f"message {doc['id']}: callback done")

    @phone.command("callback-reopen")
    @click.argument("message_id")
    def callback_reopen_cmd(message_id):
        """Open a callback marked done again (undo callback-done)."""
        doc = svc().reopen_callback(message_id)
        click.echo(f"message {doc['id']}: callback open again")

    @phone.command("calls")
    @click.option("--today", is_flag=True, help="Only today's calls.")
    @click.option("--unanswered", is_flag=True, help="Missed, voicemail or message taken.")
    @click.option("--transferred", is_flag=True, help="Only transferred calls.")
    @click.option("--person", default=None, help="Calls involving this person.")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
    def calls_cmd(today, unanswered, transferred, person, fmt):
        """The call history, newest first."""
        s = svc()
        person_id = s.resolve_person(person, "person")["id"] if person else None
        from plugins.telephony.service import Names

        names = Names(s)  # a name looked up once, not once per call
        rows = [call_row(names, c, human=fmt == "table") for c in s.list_calls(
            today=today, unanswered=unanswered, transferred=transferred, person_id=person_id)]
        _emit(rows, fmt, ["id", "started_at", "caller", "to", "status", "outcome", "duration", "chain"])

    @phone.command("presence")
    @click.argument("person")
    @click.argument("state")
    @click.option("--note", default="")
    def presence_cmd(person, state, note):
        """Set a person's presence (idle, away, dnd, busy, unavailable, …)."""
        click.echo(svc().set_presence(person, state, note))

    @phone.command("hours")
    @click.argument("mode", required=False, type=click.Choice(["auto", "day", "night"]))
    def hours_cmd(mode):
        """Show or switch business hours / night service."""
        s = svc()
        if mode:
            s.set_hours_mode(mode)
        click.echo(f"{s.hours_mode()} ({'night service' if s.is_night() else 'business hours'} now)")

    @phone.command("figures")
    def figures_cmd():
        """Today's figures (as on the dashboard), as JSON."""
        click.echo(json_safe(svc().figures(), indent=2))

    @phone.group("list")
    def phone_list():
        """The phone list (extensions and external contacts) as CSV or vCard."""

    @phone_list.command("export")
    @click.option("--format", "fmt", type=click.Choice(["csv", "vcard"]), default="csv")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
    def export_cmd(fmt, output):
        """Write the phone list to a file or stdout."""
        from core.outputs import check_output_path, output_file

        output = check_output_path(output)
        s = svc()
        with output_file(output) as fh:
            n = s.export_csv(fh) if fmt == "csv" else s.export_vcard(fh)
        if output:
            click.echo(f"{n} entries written to {output}", err=True)

    @phone_list.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--format", "fmt", type=click.Choice(["csv", "vcard"]), default=None,
                  help="Default: from the file name (.vcf → vcard).")
    def import_cmd(path, fmt):
        """Import a phone list: all entries or none."""
        fmt = fmt or ("vcard" if path.suffix.lower() in (".vcf", ".vcard") else "csv")
        import io

        from core.inputs import read_text_file

        s = svc()
        fh = io.StringIO(read_text_file(path), newline="")
        result = s.import_csv(fh) if fmt == "csv" else s.import_vcard(fh)
        click.echo("{updated} updated, {created} added, {unchanged} unchanged".format(**result))


def call_row(s, c: dict, *, human: bool = False) -> dict:
    """A call for ``phone calls``: codes for CSV and JSON; ``human`` (the
    table) shows status and outcome in the site's language."""
    from plugins.telephony.models import format_duration, outcome_title, status_title

    return {"id": c["id"], "started_at": format_datetime(c["started_at"]) if human and c.get("started_at")
            else c["started_at"], "caller": s.caller_text(c),
            "to": s.person_text(c.get("to_person_id") or c.get("wanted_person_id")),
            "status": status_title(c["status"]) if human else c["status"],
            "outcome": outcome_title(c.get("outcome")) if human else c.get("outcome") or "",
            "duration": format_duration(c.get("duration")), "chain": chain_text(s, c, human=human),
            "note": c.get("note") or ""}


def chain_text(s, c: dict, *, human: bool = False) -> str:
    """Who had the call, in order; ``human``: in the site's language (screens,
    tables), else in English as exports keep it."""
    from plugins.telephony.models import CHAIN_LINK_TITLES, _

    parts = []
    for link in c.get("chain") or ():
        kind = link.get("kind")
        if kind == "caller":
            parts.append(s.caller_text(c))
        elif kind == "operator":
            parts.append(link.get("account") or "?")
        elif kind in CHAIN_LINK_TITLES:
            template = CHAIN_LINK_TITLES[kind]
            parts.append((_(template) if human else template).format(name=s.person_text(link.get("person_id"))))
        else:
            parts.append(s.person_text(link.get("person_id")))
    return " → ".join(parts)


def _emit(rows: list[dict], fmt: str, columns: list[str]) -> None:
    if fmt == "json":
        click.echo(json_safe(rows, indent=2))
        return
    if fmt == "csv":  # for spreadsheets: no cell becomes a formula (core.csvsafe)
        from core import csvsafe

        keys = list(rows[0]) if rows else columns
        writer = csvsafe.DictWriter(sys.stdout, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    if not rows:
        click.echo("(none)")
        return
    widths = {c: min(40, max(len(c), *(len(str(r.get(c, ""))) for r in rows))) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        cells = []
        for c in columns:
            text = str(r.get(c, "")).replace("\n", " ")
            if len(text) > widths[c]:
                text = text[:widths[c] - 1] + "…"
            cells.append(text.ljust(widths[c]))
        click.echo("  ".join(cells).rstrip())
