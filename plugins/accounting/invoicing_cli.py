"""``backdesk accounting customers …`` and ``backdesk accounting invoices …``
(also ``invoice``): customers, invoices, credit notes.

The commands call ``invoicing`` as the screens do; bad input is one line
and exit 2 (printed by the ``backdesk`` command).
"""

from __future__ import annotations

import sys

import click

from core.cli.params import DATE, DAY
from core.errors import ValidationError
from core.i18n import day_text, day_width
from core.safetext import one_line, visible
from plugins.accounting.print_cli import echo_jobs, job_options, print_options


def _customer_options(fn):
    for opt in reversed([
        click.option("--street"), click.option("--postcode"), click.option("--city"),
        click.option("--country", help="Two letters (default DE)."),
        click.option("--vat-id", help="The customer's VAT ID (checked: country prefix and check digit)."),
        click.option("--email", help="Where invoices and reminders are sent."),
        click.option("--fax", help="Their fax number: invoices go there when they have no email address."),
        click.option("--xrechnung", type=click.Choice(["cii", "ubl", "none"]),
                     help="Send XRechnung XML (CII or UBL) beside the PDF (public buyers)."),
        click.option("--terms", "terms_days", help="Days to pay (default 14)."),
        click.option("--buyer-reference", help="The customer's reference or Leitweg-ID (XRechnung BT-10).")]):
        fn = opt(fn)
    return fn


def _given(**kwargs) -> dict:
    return {k: v for k, v in kwargs.items() if v is not None}


def register(accounting: click.Group, get_context) -> None:
    # ------------------------------------------------------------------ customers
    @accounting.group("customers", invoke_without_command=True)
    @click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
    @click.pass_context
    def customers_group(cctx, fmt):
        """Customers: list them (no subcommand), add, change, show."""
        if cctx.invoked_subcommand is not None:
            return
        from core import csvsafe
        from plugins.accounting import invoicing as inv

        rows = inv.customers(get_context())
        cols = ["id", "number", "name", "city", "country", "vat_id", "email", "terms_days"]
        if fmt == "csv":
            w = csvsafe.writer(sys.stdout, lineterminator="\n")
            w.writerow(cols)
            for r in rows:
                w.writerow([r.get(c, "") for c in cols])
            return
        if not rows:
            click.echo("(none)")
        for r in rows:
            click.echo(f"{r['id']:>4}  {r['name'][:30]:<30} {r['city'][:16]:<16} {r['country']}  {r['vat_id']}".rstrip())

    @customers_group.command("add")
    @click.argument("name")
    @_customer_options
    def customers_add(name, **opts):
        """Add a customer called NAME."""
        from plugins.accounting import invoicing as inv

        c = inv.add_customer(get_context(), {"name": name, **_given(**opts)})
        click.echo(f"added customer {c['id']}: {c['name']}")

    @customers_group.command("change")
    @click.argument("customer")
    @click.option("--name")
    @_customer_options
    def customers_change(customer, **opts):
        """Change a customer (by id or name)."""
        from plugins.accounting import invoicing as inv

        ctx = get_context()
        c = inv.update_customer(ctx, inv.customer(ctx, customer)["id"], _given(**opts))
        click.echo(f"changed customer {c['id']}: {c['name']}")

    # ------------------------------------------------------------------ invoices
    @accounting.group("invoices", invoke_without_command=True)
    @click.option("--status", type=click.Choice(["draft", "open", "partly_paid", "paid", "credited", "issued"]))
    @click.option("--customer", help="Only this customer's (id or name).")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
    @click.pass_context
    def invoices_group(cctx, status, customer, fmt):
        """Invoices and credit notes: list them (no subcommand, or list), new, issue, show, credit, send."""
        if cctx.invoked_subcommand is None:
            list_invoices(status, customer, fmt)

    @invoices_group.command("list")
    @click.option("--status", type=click.Choice(["draft", "open", "partly_paid", "paid", "credited", "issued"]))
    @click.option("--customer", help="Only this customer's (id or name).")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
    def invoices_list(status, customer, fmt):
        """List invoices and credit notes (as the group does without a subcommand)."""
        list_invoices(status, customer, fmt)

    def list_invoices(status, customer, fmt):
        from core import csvsafe
        from plugins.accounting import invoicing as inv
        from plugins.accounting import models as m

        ctx = get_context()
        cid = inv.customer(ctx, customer)["id"] if customer else None
        rows = inv.invoice_rows(ctx, inv.invoices(ctx, status=status, customer_id=cid))
        cols = ["id", "number", "kind", "customer", "date", "delivery_date", "due", "status", "net", "tax", "total",
                "open", "currency"]
        if fmt == "csv":
            w = csvsafe.writer(sys.stdout, lineterminator="\n", numeric=tuple(cols.index(c) for c in
                                                                              ("net", "tax", "total", "open")))
            w.writerow(cols)
            for r in rows:
                w.writerow([f"{r[c]:f}" if c == "open" else (r[c] if r[c] is not None else "") for c in cols])
            return
        if not rows:
            click.echo("(none)")
            return
        for r in rows:  # dates the locale's way, as on the screen (the CSV keeps ISO)
            click.echo(f"{r['number_text'][:12]:<12} {r['customer'][:22]:<22} {day_text(r['date']):<{day_width()}} "
                       f"{r['status_text'][:12]:<12} "
                       f"{m.money_text(r['total'], r['currency']):>14}")

    @invoices_group.command("new")
    @click.option("--customer", required=True, help="Id or name.")
    @click.option("--line", "lines", multiple=True, required=True,
                  help="'description; quantity; unit price[; VAT code[; unit]]' (VAT codes: 19, 7, 0, rc, eu, nt).")
    @click.option("--delivery-date", type=DAY,
                  help=f"When the goods were delivered or the service done (required), {DATE}.")
    @click.option("--delivery-end", type=DAY, help="The last day, for a delivery period.")
    @click.option("--date", type=DAY, help="Invoice date (default today).")
    @click.option("--due", type=DAY, help="Due date (default: the customer's terms).")
    @click.option("--note", default="")
    @click.option("--issue", is_flag=True, help="Issue it at once (number and posting).")
    def invoices_new(customer, lines, delivery_date, delivery_end, date, due, note, issue):
        """Write an invoice (a draft unless --issue)."""
        from plugins.accounting import invoicing as inv

        ctx = get_context()
        doc = inv.create_invoice(ctx, customer, inv.parse_lines(lines), delivery_date=delivery_date,
                                 delivery_end=delivery_end, date=date, due=due, note=note, issue=issue)
        if doc["number"]:
            click.echo(f"issued invoice {doc['number']} ({doc['total']} {doc['currency']}, entry {doc['entry']})")
        else:
            click.echo(f"draft invoice {doc['id']} ({doc['total']} {doc['currency']})")

    @invoices_group.command("issue")
    @click.argument("invoice_id")
    def invoices_issue(invoice_id):
        """Issue a draft: it gets the next number and is posted."""
        from plugins.accounting import invoicing as inv

        doc = inv.issue_invoice(get_context(), invoice_id)
        click.echo(f"issued invoice {doc['number']} ({doc['total']} {doc['currency']}, entry {doc['entry']})")

    @invoices_group.command("delete")
    @click.argument("invoice_id")
    def invoices_delete(invoice_id):
        """Delete a draft (issued invoices stay; a credit note corrects them)."""
        from plugins.accounting import invoicing as inv

        inv.delete_draft(get_context(), invoice_id)
        click.echo(f"deleted draft {invoice_id}")

    @invoices_group.command("show")
    @click.argument("number")
    def invoices_show(number):
        """An invoice or credit note as text: the parties, lines, VAT per rate."""
        from plugins.accounting import invoicing as inv

        from plugins.accounting import invoice_send

        ctx = get_context()
        doc = inv.invoice(ctx, number)
        click.echo(inv.invoice_text(ctx, doc))
        for line in invoice_send.sent_lines(ctx, doc):
            click.echo(visible(line))

    @invoices_group.command("credit")
    @click.argument("number")
    @click.option("--reason", required=True)
    @click.option("--line", "lines", multiple=True, help="Credit these lines (default: the whole invoice).")
    @click.option("--date", type=DAY, help="Credit note date (default today).")
    def invoices_credit(number, reason, lines, date):
        """Issue a credit note against invoice NUMBER."""
        from plugins.accounting import invoicing as inv

        doc = inv.credit_note(get_context(), number, inv.parse_lines(lines) if lines else None, reason=reason, date=date)
        click.echo(f"issued credit note {doc['number']} for {doc['corrects_number']} "
                   f"({doc['total']} {doc['currency']}, entry {doc['entry']})")

    @invoices_group.command("pay")
    @click.argument("number")
    @click.option("--amount", help="Part payment (default: what is open).")
    @click.option("--date", type=DAY, help="When it arrived (default today).")
    def invoices_pay(number, amount, date):
        """Record a payment received for invoice NUMBER."""
        from plugins.accounting import invoicing as inv
        from plugins.accounting import models as m
        from plugins.accounting import receivables as rcv

        ctx = get_context()
        doc = rcv.record_payment(ctx, number, amount, date)
        click.echo(f"invoice {doc['number']}: paid {m.money_text(doc['paid'], doc['currency'])}, "
                   f"open {m.money_text(inv.open_amount(doc), doc['currency'])}")

    @invoices_group.command("xml")
    @click.argument("number")
    @click.option("--syntax", type=click.Choice(["cii", "ubl"]), default="cii", show_default=True,
                  help="CII (Factur-X/ZUGFeRD EN 16931, XRechnung's CII) or UBL 2.1.")
    @click.option("--xrechnung", is_flag=True, help="As XRechnung (needs the customer's buyer reference / "
                  "Leitweg-ID and the company's contact, phone and email).")
    @click.option("--output", "-o", help="Write to this file instead of stdout.")
    def invoices_xml(number, syntax, xrechnung, output):
        """Invoice NUMBER as an EN 16931 e-invoice or XRechnung (XML, checked against its XSD)."""
        from core.outputs import output_file
        from plugins.accounting import einvoice
        from plugins.accounting import invoicing as inv

        ctx = get_context()
        xml = einvoice.invoice_xml(inv.invoice(ctx, number), syntax, "xrechnung" if xrechnung else "en16931",
                                   company=inv.company(ctx))
        if output in (None, "-"):
            click.echo(xml.decode("utf-8"), nl=False)
            return
        with output_file(output) as fh:
            fh.write(xml.decode("utf-8"))

    @invoices_group.command("pdf")
    @click.argument("number")
    @click.option("--output", "-o", required=True, help="The PDF file to write.")
    def invoices_pdf(number, output):
        """Invoice NUMBER as a PDF with its EN 16931 XML embedded (Factur-X)."""
        from core.outputs import output_file
        from plugins.accounting import invoice_pdf
        from plugins.accounting import invoicing as inv

        ctx = get_context()
        data = invoice_pdf.invoice_pdf(ctx, inv.invoice(ctx, number))
        with output_file(output, binary=True) as fh:
            fh.write(data)
        click.echo(f"wrote {output}")

    @invoices_group.command("reminder")
    @click.argument("number")
    @click.option("--level", type=int, help="The reminder's level (default: the last sent).")
    @click.option("--output", "-o", help="Write it as a PDF letter to this file (default: show its text).")
    def invoices_reminder(number, level, output):
        """The reminder sent for invoice NUMBER, as text or as a PDF letter."""
        from core.outputs import output_file
        from plugins.accounting import invoice_pdf
        from plugins.accounting import receivables as rcv

        ctx = get_context()
        item = rcv.reminder(ctx, number, level)
        if not output:
            click.echo(visible(rcv.letter_text(ctx, item)))
            return
        data = invoice_pdf.reminder_pdf(ctx, item)
        with output_file(output, binary=True) as fh:
            fh.write(data)
        click.echo(f"wrote {output}")

    @invoices_group.command("print")
    @click.argument("number")
    @click.option("--reminder", is_flag=True, help="Print its reminder letter instead (the last sent).")
    @click.option("--level", type=int, help="With --reminder: the reminder of this level.")
    @print_options
    def invoices_print(number, reminder, level, printer, copies, duplex, tray, wait):
        """Print invoice NUMBER (its Factur-X PDF) or its reminder letter through CUPS."""
        from plugins.accounting import printouts

        ctx = get_context()
        options = job_options(printer, copies, duplex, tray)
        if level is not None and not reminder:
            raise ValidationError("--level goes with --reminder", field="level")
        job = (printouts.print_reminder(ctx, number, level, **options) if reminder
               else printouts.print_invoice(ctx, number, **options))
        echo_jobs(ctx, [job], wait)

    @invoices_group.command("send")
    @click.argument("number")
    @click.option("--email", help="Send it to this address (default: the customer's).")
    @click.option("--fax", help="Fax it to this number (default when the customer has a fax number but no email).")
    @click.option("--reminder", is_flag=True, help="Send the last reminder (or --level N) instead of the invoice.")
    @click.option("--level", type=int, help="With --reminder: the reminder of this level.")
    def invoices_send(number, email, fax, reminder, level):
        """Send invoice NUMBER to the customer through the documents outbox: email with the
        Factur-X PDF (and XRechnung XML when the customer asks for it), or fax."""
        from plugins.accounting import invoice_send

        ctx = get_context()
        doc = invoice_send.send(ctx, number, what="reminder" if reminder or level else "invoice", level=level,
                                email=email, fax=fax)
        for line in invoice_send.sent_lines(ctx, doc)[-1:]:
            click.echo(visible(line))

    accounting.add_command(invoices_group, "invoice")

    # ------------------------------------------------------------------ open items, dunning
    @accounting.command("open-items")
    @click.option("--as-of", type=DAY, help="The day (default today).")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
    def open_items(as_of, fmt):
        """What customers owe: each open invoice with its days past due, then the ageing."""
        from core import csvsafe
        from plugins.accounting import ledger as L
        from plugins.accounting import models as m
        from plugins.accounting import receivables as rcv

        ctx = get_context()
        rows = rcv.open_items(ctx, as_of)
        cols = ["number", "customer", "date", "due", "days_overdue", "bucket", "level", "open", "currency"]
        if fmt == "csv":
            w = csvsafe.writer(sys.stdout, lineterminator="\n", numeric=(cols.index("open"),))
            w.writerow(cols)
            for r in rows:
                w.writerow([f"{r[c]:f}" if c == "open" else r[c] for c in cols])
            return
        for r in rows:
            click.echo(f"{r['number']:<10} {r['customer'][:22]:<22} {day_text(r['due']):<{day_width()}} "
                       f"{r['days_overdue']:>4}d "
                       f"L{r['level']} {m.money_text(r['open'], r['currency']):>14}")
        if not rows:
            click.echo("(none)")
        click.echo("")
        buckets = rcv.ageing(ctx, as_of)
        for b in L.AGEING_BUCKETS:
            amounts = ", ".join(f"{m.money_text(v, c):>14}" for c, v in sorted(buckets[b].items())) \
                or f"{m.money_text(0):>14}"
            click.echo(f"{m.label(m.AGEING_TITLES, b):<12} {amounts}")

    @accounting.command("dunning")
    @click.option("--as-of", type=DAY, help="The day (default today).")
    @click.option("--dry-run", is_flag=True, help="Only list what is due.")
    @click.option("--letters", type=click.Path(file_okay=False), help="Write each reminder as a PDF letter here.")
    @click.option("--print", "print_", is_flag=True, help="Print each reminder letter (--printer, --copies, …).")
    @print_options
    def dunning(as_of, dry_run, letters, print_, printer, copies, duplex, tray, wait):
        """Raise the dunning level of overdue invoices (fees as configured)."""
        from pathlib import Path

        from plugins.accounting import models as m
        from plugins.accounting import printouts
        from plugins.accounting import receivables as rcv

        ctx = get_context()
        options = job_options(printer, copies, duplex, tray)
        print_ = (print_ or printer is not None) and not dry_run
        if print_:  # the printer is checked before any reminder is raised
            ctx.require("accounting.invoices.read")
            ctx.services.printing.check_request(**options)
        rows = rcv.dunning_due(ctx, as_of) if dry_run else rcv.run_dunning(ctx, as_of)
        for r in rows:
            level = r["next_level"] if dry_run else r["level"]
            click.echo(f"{r['number']:<10} {r['customer'][:22]:<22} level {level} fee "
                       f"{m.money_text(r['fee'], r['currency'])} open {m.money_text(r['open'], r['currency'])}")
        if not rows:
            click.echo("nothing to remind")
        if letters and not dry_run:
            from core.outputs import output_file
            from plugins.accounting import invoice_pdf

            folder = Path(letters)
            folder.mkdir(parents=True, exist_ok=True)
            for r in rows:
                with output_file(str(folder / f"{r['number']}-level{r['level']}.pdf"), binary=True) as fh:
                    fh.write(invoice_pdf.reminder_pdf(ctx, r))
            click.echo(f"wrote {len(rows)} letter(s) to {folder}")
        if print_ and rows:
            echo_jobs(ctx, printouts.print_letters(ctx, rows, **options), wait)

    @accounting.command("read-einvoice")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Show the invoice, store nothing.")
    def read_einvoice(file, dry_run):
        """Read a vendor's e-invoice (CII or UBL XML, or a Factur-X PDF) into a draft bill."""
        from pathlib import Path

        from plugins.accounting import einvoice_in

        data = einvoice_in.read_file(file)
        ctx = get_context()
        found = einvoice_in.read(data, Path(file).name)
        for line in einvoice_in.summary(found):
            click.echo(one_line(line))
        if not dry_run:
            from plugins.accounting import bill_documents

            b = einvoice_in.bill_from_einvoice(ctx, data, Path(file).name)
            click.echo(f"draft bill {b['id']}: {one_line(b['number'])}, {b['total']} {b['currency']}, "
                       f"{len(b['lines'])} line(s)")
            filed = bill_documents.document_of(ctx, b)
            if filed:
                click.echo(f"filed as document ASN {filed['asn']}: {one_line(filed['title'])}")

    # ------------------------------------------------------------------ VAT return
    @accounting.command("vat-return")
    @click.option("--period", required=True, help="A month (11.2026 as on the screens, or 2026-11) or a quarter "
                                                   "(2026-Q4).")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
    @click.option("--print", "print_", is_flag=True, help="Print it instead (--printer, --copies, …).")
    @print_options
    def vat_return(period, fmt, print_, printer, copies, duplex, tray, wait):
        """The VAT return (UStVA Kennzahlen) of a month or quarter, from the ledger."""
        from plugins.accounting import printouts
        from plugins.accounting import vatreturn as vr

        ctx = get_context()
        if print_ or printer is not None:
            echo_jobs(ctx, [printouts.print_vat_return(ctx, period, **job_options(printer, copies, duplex, tray))],
                      wait)
            return
        result = vr.vat_return(ctx, period)
        if fmt == "csv":
            click.echo(vr.vat_return_csv(result), nl=False)
        else:
            click.echo(vr.vat_return_text(ctx, result))
