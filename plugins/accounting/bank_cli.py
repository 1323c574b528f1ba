"""``backdesk accounting bank …``: import bank statements, list their lines,
match a waiting line by hand, check a statement against the ledger.

The same service functions as the Reconciliation screen (``bank``); a
BackdeskError is one line on standard error and exit code 2.
"""

from __future__ import annotations

import click

from core.errors import ValidationError
from core.i18n import day_text, day_width
from core.safetext import one_line

MAX_FILE = 50 << 20


def register(accounting: click.Group, get_context) -> None:
    @accounting.group("bank")
    def bank_group():
        """Bank statements: import (CAMT.052/053/054, MT940), lines, matching, balances."""

    @bank_group.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    def bank_import(file):
        """Import a CAMT.053 statement, CAMT.052 report, CAMT.054 notification or MT940 (known lines skipped)."""
        from core.inputs import read_bytes_file
        from plugins.accounting import bank

        ctx = get_context()
        data = read_bytes_file(file, max_bytes=MAX_FILE)
        try:
            s = bank.import_statement(ctx, data, name=file)
        except ValidationError as error:
            raise ValidationError(f"{file}: {error.message}") from None
        if not s["new"]:
            click.echo("0 new lines")
            return
        click.echo(f"{s['new']} new line{'s' if s['new'] != 1 else ''}: {s['matched']} matched, "
                   f"{s['suggested']} suggested, {s['unmatched']} unmatched")

    @bank_group.command("lines")
    @click.option("--status", type=click.Choice(["matched", "suggested", "unmatched"]))
    @click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
    def bank_lines(status, fmt):
        """The statements' lines: date, amount, who, status, what they were matched to."""
        import sys

        from core import csvsafe
        from core.safetext import one_line
        from plugins.accounting import bank
        from plugins.accounting import models as m

        ctx = get_context()
        rows = bank.line_rows(ctx, bank.lines(ctx, status=status))
        if fmt == "csv":
            cols = ["id", "booking_date", "amount", "currency", "name", "counter_iban", "remittance",
                    "end_to_end_id", "status", "what"]
            w = csvsafe.writer(sys.stdout, lineterminator="\n", numeric=(0, 2))
            w.writerow(cols)
            for r in rows:
                w.writerow([r[c] for c in cols])
            return
        if not rows:
            click.echo("(none)")
            return
        places = m.places(ctx)
        for r in rows:
            click.echo(f"{r['id']:>5}  {day_text(r['booking_date']):<{day_width()}}  {m.number_text(r['amount_dec'], places):>12} "
                       f"{one_line(r['party'])[:24]:<24} {r['status_text']:<10} {one_line(r['what'])[:16]}")

    @bank_group.command("match")
    @click.argument("line_id")
    @click.option("--bill", help="The bill (id) the line pays.")
    @click.option("--invoice", help="The invoice (number) the line pays.")
    @click.option("--account", help="Post the line against this account.")
    @click.option("--accept", is_flag=True, help="Take the line's suggestion.")
    def bank_match(line_id, bill, invoice, account, accept):
        """Match a waiting line by hand."""
        from plugins.accounting import bank

        line = bank.match_line(get_context(), line_id, bill=bill, invoice=invoice, account=account, accept=accept)
        match = line.get("match") or {}
        click.echo(f"line {line['id']}: matched to {match.get('number') or match.get('account')}")

    @bank_group.group("mappings", invoke_without_command=True)
    @click.pass_context
    def mappings_group(cctx):
        """Saved bank CSV mappings (for `accounting import FILE --bank --mapping NAME`): list them, save, delete."""
        if cctx.invoked_subcommand is not None:
            return
        from plugins.accounting import bank_mappings

        rows = bank_mappings.mappings(get_context())
        if not rows:
            click.echo("(none)")
        for r in rows:
            mp = r["mapping"]
            cols = " / ".join(mp.get(k, k) for k in ("date", "amount", "description"))
            click.echo(f"{one_line(r['name'])[:24]:<24} {cols[:40]:<40} delimiter {mp.get('delimiter', ',')!r} "
                       f"encoding {mp.get('encoding') or 'found'}")

    @mappings_group.command("save")
    @click.argument("name")
    @click.argument("file", type=click.Path(dir_okay=False))
    def mappings_save(name, file):
        """Save the YAML mapping FILE as NAME (replacing one of that name)."""
        from core.inputs import read_text_file
        import yaml

        from plugins.accounting import bank_mappings

        try:
            raw = yaml.safe_load(read_text_file(file, max_bytes=1 << 20)) or {}
        except yaml.YAMLError as error:
            raise ValidationError(f"{file}: not YAML ({str(error).splitlines()[0]})") from None
        try:
            saved = bank_mappings.save_mapping(get_context(), name, raw)
        except ValidationError as error:
            raise ValidationError(f"{file}: {error.field}: {error.message}") from None
        click.echo(f"saved bank mapping {saved['name']!r}")

    @mappings_group.command("delete")
    @click.argument("name")
    def mappings_delete(name):
        """Delete the saved mapping NAME."""
        from plugins.accounting import bank_mappings

        bank_mappings.delete_mapping(get_context(), name)
        click.echo(f"deleted bank mapping {name!r}")

    @bank_group.command("statements")
    def bank_statements():
        """The imported statements, each checked against the ledger."""
        from plugins.accounting import bank
        from plugins.accounting import models as m

        ctx = get_context()
        places = m.places(ctx)
        for st in bank.statements(ctx):
            c = bank.balance_check(ctx, st)
            closing = m.number_text(c["closing"], places) if c["closing"] is not None else "-"
            if c["closing"] is None:
                verdict = "no closing balance to check"
            elif c["posted_agrees"]:
                verdict = "agrees"
            elif c["agrees"]:
                verdict = f"agrees once {m.number_text(c['waiting'], places)} waiting is matched"
            else:
                verdict = f"differs by {m.number_text(c['closing'] - c['ledger'] - c['waiting'], places)}"
            click.echo(f"{st['statement_id']:<20} {st['bank'][:16]:<16} {day_text(c['date']):<{day_width()}} closing {closing:>12} "
                       f"ledger {m.number_text(c['ledger'], places):>12}  {verdict}")
