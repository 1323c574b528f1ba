"""``backdesk accounting …``: import and export the journal, reports, bills,
payment runs and payroll.

Each command calls the same service functions as the screens; a
BackdeskError (bad input, unknown id, missing permission) is printed on one
line by the ``backdesk`` command, which exits 2.
"""

from __future__ import annotations

import sys

import click

from core.cli.params import DATE, DAY
from core.errors import ValidationError
from core.i18n import day_text
from plugins.accounting import bank_cli, datev_cli, invoicing_cli
from plugins.accounting.print_cli import echo_jobs, job_options, print_options

MAX_FILE = 50 << 20


def _read(path: str) -> str:
    from core.inputs import read_text_file

    return read_text_file(path, max_bytes=MAX_FILE)


def _write(text: str, output: str | None) -> None:
    """``text`` to the file ``output`` (0600, complete or not at all; see
    core.outputs) or, without one or for "-", to standard output."""
    from core.outputs import output_file

    with output_file(None if output is None or output == "-" else output) as fh:
        fh.write(text)


def _mapping(ctx, value: str, *, from_file: bool = False) -> dict:
    """--mapping: a saved mapping's name, or a YAML file (checked key by key
    as a saved one is); ``from_file``: only a file (it is to be saved)."""
    from pathlib import Path

    from plugins.accounting import bank_mappings

    if not from_file and not Path(value).expanduser().is_file():
        return bank_mappings.mapping(ctx, value)["mapping"]
    import yaml

    try:
        raw = yaml.safe_load(_read(value)) or {}
    except yaml.YAMLError as error:
        raise ValidationError(f"{value}: not YAML ({str(error).splitlines()[0]})") from None
    try:
        return bank_mappings.check_mapping(raw)
    except ValidationError as error:
        raise ValidationError(f"{value}: {error.field}: {error.message}") from None


def register(cli: click.Group, get_context) -> None:
    @cli.group("accounting")
    def accounting():
        """Accounting: ledger, bills, payment runs, payroll and reports."""

    # ------------------------------------------------------------------ journal
    invoicing_cli.register(accounting, get_context)
    bank_cli.register(accounting, get_context)
    datev_cli.register(accounting, get_context)

    @accounting.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--bank", is_flag=True, help="FILE is a bank statement CSV, not an hledger journal.")
    @click.option("--mapping", help="For --bank: a saved mapping's name (`bank mappings`) or a YAML mapping file.")
    @click.option("--save-mapping", help="For --bank: keep the YAML mapping under this name once the file is in.")
    @click.option("--create-accounts", is_flag=True,
                  help="Add the accounts the file posts to that are not in the chart (they are listed).")
    def import_(file, bank, mapping, save_mapping, create_accounts):
        """Import an hledger-format journal (or, with --bank, a bank CSV).

        Accounts not in the chart are refused, named with their lines, as
        'accounting post' refuses them; --create-accounts adds them."""
        from plugins.accounting import reports

        from plugins.accounting import bank_mappings

        ctx = get_context()
        mp = None
        if save_mapping is not None and not (bank and mapping):
            raise ValidationError("--save-mapping needs --bank and a --mapping file", field="save_mapping")
        if bank and mapping:
            mp = _mapping(ctx, mapping, from_file=save_mapping is not None)
        created: list[str] = []
        try:
            if bank:  # a bank's CSV: in the encoding the mapping names, or the one found (Windows-1252)
                from core.inputs import read_bytes_file
                from plugins.accounting.bank_formats import decode

                text = decode(read_bytes_file(file, max_bytes=MAX_FILE), (mp or {}).get("encoding"))
                n = reports.import_bank_csv(ctx, text, mp, create_accounts=create_accounts, created=created,
                                            name=file)
            else:
                n = reports.import_hledger(ctx, _read(file), create_accounts=create_accounts, created=created)
        except ValidationError as error:
            raise ValidationError(f"{file}: {error.message}") from None
        if created:
            click.echo(f"added {len(created)} account(s) to the chart: {', '.join(created)}")
        click.echo(f"imported {n} transaction(s)")
        if save_mapping is not None:
            saved = bank_mappings.save_mapping(ctx, save_mapping, mp)
            click.echo(f"saved the mapping as {saved['name']!r}: next time --mapping {saved['name']!r}")

    @accounting.command("export")
    @click.option("--format", "fmt", type=click.Choice(["hledger", "csv"]), default="hledger", show_default=True)
    @click.option("--from", "start", type=DAY, help=f"First date, {DATE}.")
    @click.option("--to", "end", type=DAY, help="Last date.")
    @click.option("--output", "-o", help="Write to this file instead of stdout.")
    def export(fmt, start, end, output):
        """Export the whole journal in hledger journal format or as CSV."""
        from plugins.accounting import reports

        ctx = get_context()
        text = reports.export_hledger(ctx, start, end) if fmt == "hledger" else reports.export_csv(ctx, start, end)
        _write(text, output)

    @accounting.command("report")
    @click.argument("name", type=click.Choice(["trial-balance", "profit-loss", "balance-sheet", "ageing"]))
    @click.option("--from", "start", type=DAY, help=f"First date, {DATE}.")
    @click.option("--to", "end", type=DAY, help="Last date, or the ageing date.")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
    @click.option("--print", "print_", is_flag=True, help="Print it instead (--printer, --copies, …).")
    @print_options
    def report(name, start, end, fmt, print_, printer, copies, duplex, tray, wait):
        """Trial balance, profit and loss, balance sheet or payables ageing."""
        from plugins.accounting import printouts
        from plugins.accounting import reports

        ctx = get_context()
        if print_ or printer is not None:
            echo_jobs(ctx, [printouts.print_report(ctx, name, start, end,
                                                   **job_options(printer, copies, duplex, tray))], wait)
            return
        if name == "ageing":
            if fmt == "csv":
                click.echo(reports.ageing_csv(ctx, end), nl=False)
            else:
                click.echo("\n".join(printouts.report_lines(ctx, "ageing", end=end)))
            return
        rep = reports.report(ctx, name, start, end)
        click.echo(reports.report_csv(rep) if fmt == "csv" else reports.format_report(rep),
                   nl=fmt == "table")

    @accounting.command("post")
    @click.option("--date", required=True, type=DAY, help=f"The entry's date, {DATE}.")
    @click.option("--description", "-d", required=True)
    @click.argument("postings", nargs=-1, required=True)
    def post(date, description, postings):
        """Post an entry: POSTINGS as ACCOUNT=AMOUNT (expenses:rent=1200 assets:bank:checking=-1200)."""
        from plugins.accounting import service as svc

        ctx = get_context()
        rows = []
        for p in postings:
            acc, sep, amount = p.rpartition("=")
            if not sep:
                raise ValidationError(f"{p!r}: write a posting as ACCOUNT=AMOUNT", field="postings")
            rows.append({"account": acc, "amount": amount})
        e = svc.post_entry(ctx, date, description, rows)
        click.echo(f"posted entry {e['number']}")

    @accounting.command("reverse")
    @click.argument("number")
    @click.option("--date", type=DAY, help="The reversal's date (default today).")
    @click.option("--reason", default="")
    def reverse(number, date, reason):
        """Reverse a posted entry by its number."""
        from plugins.accounting import service as svc

        e = svc.reverse_entry(get_context(), number, date, reason)
        click.echo(f"posted reversal {e['number']} of entry {number}")

    @accounting.command("close")
    @click.argument("period")
    def close(period):
        """Close a month (11.2026 as on the screens, or 2026-11): it accepts no postings afterwards."""
        from plugins.accounting import models as m
        from plugins.accounting import service as svc

        ctx = get_context()  # first: it sets the site's locale the month is typed in
        period = m.month(period)
        svc.close_period(ctx, period)
        click.echo(f"closed {m.month_text(period)}")

    @accounting.group("accounts", invoke_without_command=True)
    @click.pass_context
    def accounts_group(cctx):
        """The chart of accounts: list it (no subcommand), add an account."""
        if cctx.invoked_subcommand is None:
            from plugins.accounting import service as svc

            for a in svc.accounts(get_context()):
                click.echo(f"{a['name']:<40} {a.get('title') or ''}".rstrip())

    @accounts_group.command("add")
    @click.argument("name")
    @click.option("--title", default="", help="What the account is for.")
    def accounts_add(name, title):
        """Add NAME (like expenses:travel) to the chart of accounts."""
        from plugins.accounting import service as svc

        a = svc.add_account(get_context(), name, title)
        click.echo(f"added account {a['name']}")

    # ------------------------------------------------------------------ bills
    @accounting.command("bills")
    @click.option("--due-by", type=DAY, help=f"Only open bills due on or before this date, {DATE}.")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
    def bills(due_by, fmt):
        """List bills (with --due-by: the open ones due by that date)."""
        from core import csvsafe
        from plugins.accounting import models as m
        from plugins.accounting import service as svc

        ctx = get_context()
        status = ["draft", "approved", "partly_paid", "in_payment"] if due_by else None
        rows = svc.bill_rows(ctx, svc.bills(ctx, status=status, due_by=due_by))
        cols = ["id", "vendor", "number", "date", "due", "status", "total", "open", "currency"]
        if fmt == "csv":  # for spreadsheets: no cell becomes a formula (core.csvsafe)
            w = csvsafe.writer(sys.stdout, lineterminator="\n", numeric=(cols.index("total"), cols.index("open")))
            w.writerow(cols)
            for r in rows:
                w.writerow([f"{r[c]:f}" if c == "open" else r[c] for c in cols])
            return
        if not rows:
            click.echo("(none)")
            return
        click.echo(f"{'id':>4}  {'vendor':<22} {'number':<12} {'due':<10} {'status':<12} {'open':>14}")
        for r in rows:  # the due day the locale's way, as on the screen (the CSV keeps ISO)
            click.echo(f"{r['id']:>4}  {r['vendor'][:22]:<22} {r['number'][:12]:<12} {day_text(r['due']):<10} "
                       f"{r['status_text']:<12} {m.money_text(r['open'], r['currency']):>14}")

    @accounting.command("approve")
    @click.argument("bill_id")
    def approve(bill_id):
        """Approve a draft bill (posts it)."""
        from plugins.accounting import service as svc

        b = svc.approve_bill(get_context(), bill_id)
        click.echo(f"approved bill {b['number']} (entry {b['entry']})")

    @accounting.command("pay")
    @click.argument("bill_id")
    @click.option("--amount", help="Part payment (default: what is open).")
    @click.option("--date", type=DAY, help="When it was paid (default today).")
    def pay(bill_id, amount, date):
        """Pay an approved bill in full or in part."""
        from plugins.accounting import models as m
        from plugins.accounting import service as svc

        ctx = get_context()
        b = svc.pay_bill(ctx, bill_id, amount, date)
        click.echo(f"bill {b['number']}: paid {m.money_text(b['paid'], b['currency'])} of "
                   f"{m.money_text(b['total'], b['currency'])}")

    @accounting.command("payment-run")
    @click.option("--due-by", required=True, type=DAY,
                  help=f"Send approved bills due on or before this date, {DATE}.")
    @click.option("--date", type=DAY, help="Requested execution date (default today).")
    @click.option("--bank", help="The bank account to pay from (bank_accounts setting; default the first).")
    @click.option("--output", "-o", help="Write the pain.001 here (default: the exports folder).")
    def payment_run(due_by, date, bank, output):
        """Send every approved bill due by a date to the bank: a SEPA file (pain.001).

        The bills are 'sent to bank' until a bank statement shows the debit."""
        from plugins.accounting import models as m
        from plugins.accounting import sepa

        from core.outputs import check_output_path

        ctx = get_context()
        check_output_path(output)  # refused before anything is stored
        sepa.bank_account(ctx, bank)
        run = sepa.payment_run(ctx, due_by, date, bank=bank)
        path = sepa.write_pain001(ctx, run, output)
        click.echo(f"payment run {run['number']}: {len(run['items'])} transfer(s), "
                   f"{m.money_text(run['total'], 'EUR')}, pain.{run['pain']} written to {path}")
        for s in run["skipped"]:
            click.echo(f"  skipped bill {s['bill_id']}: {s['reason']}")

    @accounting.command("payment-run-file")
    @click.argument("number")
    @click.option("--output", "-o", help="Write the pain.001 here (default: the exports folder).")
    def payment_run_file(number, output):
        """Write the pain.001 of payment run NUMBER again."""
        from plugins.accounting import sepa

        ctx = get_context()
        run = sepa.run_by_number(ctx, number)
        click.echo(f"written to {sepa.write_pain001(ctx, run, output)}")

    @accounting.command("payment-run-cancel")
    @click.argument("number")
    def payment_run_cancel(number):
        """The bank refused payment run NUMBER: its bills are open again."""
        from plugins.accounting import sepa

        run = sepa.cancel_run(get_context(), number)
        click.echo(f"payment run {run['number']} cancelled: {run['reopened']} bill(s) open again")

    # ------------------------------------------------------------------ payroll
    @accounting.group("payroll")
    def payroll_group():
        """Payroll runs, payslips and hours."""

    @payroll_group.command("run")
    @click.option("--period", required=True, help="The month: 11.2026 as on the screens, or 2026-11.")
    @click.option("--date", type=DAY, help="Posting date (default: the last day of the period).")
    def payroll_run(period, date):
        """Run payroll for a month: a payslip per person and the journal entry."""
        from plugins.accounting import models as m
        from plugins.accounting import payroll

        ctx = get_context()
        period = m.month(period)
        run = payroll.run_payroll(ctx, period, date)
        click.echo(f"payroll {m.month_text(period)}: {len(run['payslips'])} payslip(s), entry {', '.join(map(str, run['entries']))}")
        for cur, t in sorted(run["totals"].items()):
            click.echo(f"  gross {m.money_text(t['gross'], cur)}, net {m.money_text(t['net'], cur)}")
        for w in run["warnings"]:
            click.echo(f"  warning: {w}")

    @payroll_group.command("payslips")
    @click.option("--period", required=True, help="The month: 11.2026 as on the screens, or 2026-11.")
    def payroll_payslips(period):
        """Show the payslips of a month (confidential; the read is audited)."""
        from plugins.accounting import models as m
        from plugins.accounting import payroll

        ctx = get_context()
        period = m.month(period)
        runs = [r for r in payroll.payroll_runs(ctx) if r["period"] == period]
        if not runs:
            raise ValidationError(f"no payroll run for {m.month_text(period)}", field="period")
        for s in payroll.payslips(ctx, run_id=runs[0]["id"]):
            click.echo(f"{s['name'][:24]:<24} gross {m.money_text(s['gross'], s['currency']):>12} "
                       f"net {m.money_text(s['net'], s['currency']):>12}"
                       + ("  final" if s.get("final") else "")
                       + (f"  ({payroll.salary_days_text(s)})" if payroll.is_prorated(s) else ""))

    @payroll_group.command("print")
    @click.option("--period", required=True, help="The month: 11.2026 as on the screens, or 2026-11.")
    @click.option("--person", "person_id", help="Only this person's payslip (directory id).")
    @print_options
    def payroll_print(period, person_id, printer, copies, duplex, tray, wait):
        """Print the payslips of a month through CUPS (confidential: read and print are audited)."""
        from plugins.accounting import models as m
        from plugins.accounting import payslip_print

        ctx = get_context()
        echo_jobs(ctx, payslip_print.print_payslips(ctx, m.month(period), person_id=person_id,
                                                    **job_options(printer, copies, duplex, tray)), wait)

    @payroll_group.command("timeclock")
    @click.option("--from", "start", type=DAY, help=f"First date, {DATE}.")
    @click.option("--to", "end", type=DAY, help="Last date.")
    @click.option("--output", "-o")
    def payroll_timeclock(start, end, output):
        """Export the hours in hledger timeclock format."""
        from plugins.accounting import payroll

        ctx = get_context()
        _write(payroll.timeclock(ctx, start, end), output)
