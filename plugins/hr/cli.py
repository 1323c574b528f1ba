"""``backdesk hr …``: hire, warn, dismiss, cases, and a few look-ups.

Each command calls the same service functions as the screens; a
:class:`core.errors.BackdeskError` (bad input, missing permission) is
printed on one line by the shell's CLI and exits 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from core.cli.params import DATE, DAY
from core.i18n import date_text, day_text, day_width

CASE_STATUSES = ["open", "investigating", "resolved", "invalid", "closed"]


def register(cli: click.Group, get_context) -> None:
    @cli.group("hr")
    def hr():
        """HR: employee records, hiring, checklists, cases, warnings and dismissals."""

    from plugins.hr.absence_cli import register_leave, register_time

    register_leave(hr, get_context)
    register_time(cli, get_context)

    @hr.command("hire")
    @click.argument("candidate_id")
    @click.option("--start", default=None, type=DAY, help=f"First working day, {DATE}. Required.")
    @click.option("--end", default=None, type=DAY, help="Last day of a fixed-term contract.")
    @click.option("--contract", "contract_type", default="permanent", show_default=True,
                  type=click.Choice(["permanent", "fixed_term", "part_time", "apprentice", "freelance"]))
    @click.option("--salary", default=None, help="Salary per --period (a decimal amount).")
    @click.option("--rate", default=None, help="Hourly rate (sets the period to hour).")
    @click.option("--period", "pay_period", default="month", show_default=True,
                  type=click.Choice(["year", "month", "hour"]))
    @click.option("--currency", default=None, help="ISO code (default: the site's currency).")
    @click.option("--probation-months", default=None, type=int, help="Default: the plugin setting.")
    @click.option("--department", default=None, help="Department id or name (default: the opening's).")
    @click.option("--title", "job_title", default=None, help="Job title (default: the opening's title).")
    def hire_cmd(candidate_id, start, end, contract_type, salary, rate, pay_period, currency,
                 probation_months, department, job_title):
        """Hire CANDIDATE_ID starting on --start: adds the person to the directory."""
        from core.errors import ValidationError
        from plugins.hr import hiring

        if not start:
            raise ValidationError(f"a hire needs a start date: --start DATE, {DATE}", field="start")
        if salary is not None and rate is not None:
            raise ValidationError("give either --salary or --rate", field="rate")
        if rate is not None:
            pay_period = "hour"
        ctx = get_context()
        out = hiring.hire(ctx, candidate_id, start=start, end=end, contract_type=contract_type,
                          pay_amount=rate if rate is not None else salary, pay_period=pay_period,
                          currency=currency, probation_months=probation_months, department=department,
                          job_title=job_title)
        click.echo(f"Hired: person #{out['person_id']} starts {date_text(out['record']['start_date'])}"
                   f" (onboarding checklist #{out['checklist_id']})")

    @hr.command("warn")
    @click.argument("person")
    @click.option("--level", required=True, type=click.Choice(["verbal", "written", "final"]))
    @click.option("--reason", required=True)
    @click.option("--date", default=None, type=DAY, help="Date of the warning (default: today).")
    @click.option("--hearing-notes", default="")
    @click.option("--case", "case_id", default=None, help="The HR case it follows from.")
    def warn_cmd(person, level, reason, date, hearing_notes, case_id):
        """Issue a warning to PERSON (directory id or name)."""
        from plugins.hr import discipline

        ctx = get_context()
        w = discipline.issue_warning(ctx, person, level=level, reason=reason, date=date,
                                     hearing_notes=hearing_notes, case_id=case_id)
        click.echo(f"Warning #{w['id']} ({w['level']}) issued on {date_text(w['date'])}, "
                   f"active until {date_text(w['expires'])}")

    @hr.command("acknowledge")
    @click.argument("warning_id")
    @click.option("--date", default=None, type=DAY, help="When it was acknowledged (default: today).")
    @click.option("--comment", default="")
    def ack_cmd(warning_id, date, comment):
        """Record that the employee acknowledged WARNING_ID."""
        from plugins.hr import discipline

        w = discipline.acknowledge(get_context(), warning_id, on=date, comment=comment)
        click.echo(f"Warning #{w['id']} acknowledged on {date_text(w['acknowledged_at'])}")

    @hr.command("dismiss")
    @click.argument("person")
    @click.option("--date", default=None, type=DAY, help=f"Last day, {DATE}. Required.")
    @click.option("--reason", required=True)
    @click.option("--kind", default="conduct", show_default=True,
                  type=click.Choice(["conduct", "capability", "redundancy", "end_of_contract", "resignation",
                                     "retirement"]))
    @click.option("--gross-misconduct", default="", help="What the gross misconduct was (conduct only).")
    def dismiss_cmd(person, date, reason, kind, gross_misconduct):
        """Dismiss PERSON (or record a leaver with --kind): sets them to left."""
        from core.errors import ValidationError
        from plugins.hr import discipline

        if not date:
            raise ValidationError(f"a dismissal needs a date: --date DATE, {DATE}", field="date")
        d = discipline.dismiss(get_context(), person, date=date, reason=reason, kind=kind,
                               gross_misconduct=gross_misconduct)
        click.echo(f"Person #{d['person_id']} leaves on {date_text(d['date'])} ({kind}); "
                   f"offboarding checklist #{d['checklist_id']}")

    @hr.command("cases")
    @click.option("--status", "statuses", multiple=True, type=click.Choice(CASE_STATUSES),
                  help="Only cases with this status (repeatable).")
    def cases_cmd(statuses):
        """List complaints and grievances (confidential: audited)."""
        from plugins.hr import cases

        rows = cases.case_rows(get_context(), statuses)
        if not rows:
            click.echo("No cases.")
            return
        for c in rows:  # status and type in words (case_rows), the date the locale's way, as on the screen
            click.echo(f"#{c['id']:<4} {day_text(c['opened_on']):<{day_width()}}  {c['status_text']:<13} {c['type_text']:<14} "
                       f"{c['subject'][:40]:<40}  against: {c['against_text'] or '-'}")

    @hr.command("case")
    @click.argument("case_id")
    def case_cmd(case_id):
        """Show one case (confidential: audited)."""
        from plugins.hr import cases
        from plugins.hr import service as svc

        ctx = get_context()
        c = cases.get_case(ctx, case_id)
        click.echo(f"#{c['id']} {c['subject']} [{c['status']}] ({c['type']})")
        click.echo(f"raised by: {'anonymous' if c['anonymous'] else svc.person_name(ctx, c['raised_by'])}")
        against = ", ".join(x for x in (svc.person_name(ctx, c.get('against_person_id')), c.get('against_party')) if x)
        click.echo(f"against:   {against or '-'}")
        for key in ("description", "cause", "outcome"):
            if c.get(key):
                click.echo(f"{key}: {c[key]}")
        if c.get("resolved_by"):
            click.echo(f"resolved by {c['resolved_by']} at {c['resolved_at']}")

    @hr.command("record")
    @click.argument("person")
    def record_cmd(person):
        """Show PERSON's employee record (contract, pay; audited)."""
        from plugins.hr import service as svc

        ctx = get_context()
        r = svc.get_record(ctx, person)
        for key in ("job_title", "contract_type", "start_date", "end_date", "probation_end"):
            click.echo(f"{key:<14} {r.get(key) or '-'}")
        if r.get("pay_amount") is not None:
            click.echo(f"{'pay':<14} {r['pay_amount']} {r.get('currency') or ''} per {r.get('pay_period')}")
        if r.get("emergency_name"):
            click.echo(f"{'emergency':<14} {r['emergency_name']} {r.get('emergency_phone') or ''}")

    @hr.command("candidates")
    @click.option("--stage", "stages", multiple=True,
                  type=click.Choice(["applied", "screening", "interview", "offer", "hired", "rejected"]))
    def candidates_cmd(stages):
        """List candidates."""
        from plugins.hr import hiring

        for c in hiring.candidate_rows(get_context(), stages=stages):
            click.echo(f"#{c['id']:<4} {c['stage_text']:<10} {c['name'][:30]:<30} {c['opening'][:30]}")

    @hr.command("ics")
    @click.argument("candidate_id", required=False)
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Write to this file (default: standard output).")
    def ics_cmd(candidate_id, output):
        """Interviews (of CANDIDATE_ID, or every upcoming one) as iCalendar."""
        from plugins.hr import hiring

        text = hiring.interviews_ics(get_context(), candidate_id)
        if output is None:
            click.echo(text, nl=False)
        else:
            from core.outputs import write_output

            write_output(output, text)
            click.echo(f"Wrote {output}")
