"""``backdesk hr leave …``, ``backdesk hr sick …`` and ``backdesk time …``.

The same service functions as the screens (:mod:`plugins.hr.leave`,
:mod:`plugins.hr.worktime`); bad input or a missing permission is one line
on stderr and exit 2 (the shell's CLI prints :class:`core.errors.BackdeskError`).
"""

from __future__ import annotations

from pathlib import Path

import click

from core.cli.params import DAY, DAY_TIME
from core.dates import MAX_YEAR, MIN_YEAR
from core.i18n import date_text, day_text, day_width, month_text
from core.safetext import one_line

#: a year as the dates everywhere else accept them (core.dates)
YEAR = click.IntRange(MIN_YEAR, MAX_YEAR)


def _safe(value) -> str:
    """Text from storage as one line for a table column, control characters
    shown (core.safetext; the CLI's output stream shows them too)."""
    return one_line(str(value if value is not None else ""))


def register_leave(hr: click.Group, get_context) -> None:
    from plugins.hr.models import _

    @hr.group("leave")
    def leave_group():
        """Leave: request, approve, cancel, balances, the absence calendar."""

    @leave_group.command("request")
    @click.argument("start", type=DAY)
    @click.argument("end", type=DAY)
    @click.option("--person", default=None, help="Whose leave (default: yours; others need hr.leave.manage).")
    @click.option("--kind", default="vacation", show_default=True, type=click.Choice(["vacation", "special", "unpaid"]))
    @click.option("--deputy", default=None, help="Who stands in (directory id or name).")
    @click.option("--note", default="")
    def request_cmd(start, end, person, kind, deputy, note):
        """Ask for leave from START to END, both included (20.01.2026 as on the screens, or 2026-01-20)."""
        from plugins.hr import leave
        from plugins.hr.leave import my_person_id

        ctx = get_context()
        row = leave.request_leave(ctx, person if person is not None else (my_person_id(ctx) or ""), start, end,
                                  kind=kind, deputy=deputy, note=note)
        click.echo(_("Leave request #{id}: {start} to {end}, {n} working days, waiting for approval").format(
            id=row["id"], start=date_text(row["start"]), end=date_text(row["end"]), n=row["days"]))

    @leave_group.command("approve")
    @click.argument("leave_id")
    def approve_cmd(leave_id):
        """Approve LEAVE_ID (the person's manager, or hr.leave.approve)."""
        from plugins.hr import leave

        ctx = get_context()
        row = leave.approve(ctx, leave_id)
        name = _safe(leave.person_name(ctx, row["person_id"]))
        click.echo(_("Approved #{id}: {name} away {start} to {end}").format(
            id=row["id"], name=name, start=date_text(row["start"]), end=date_text(row["end"])))
        for o in leave.team_overlaps(ctx, row):
            click.echo("  " + _("also away: {name} {start} to {end} ({status})").format(
                name=_safe(o["name"]), start=day_text(o["start"]), end=day_text(o["end"]), status=o["status"]))

    @leave_group.command("reject")
    @click.argument("leave_id")
    @click.option("--reason", default="")
    def reject_cmd(leave_id, reason):
        """Reject LEAVE_ID."""
        from plugins.hr import leave

        row = leave.reject(get_context(), leave_id, reason)
        click.echo(_("Rejected #{id}").format(id=row["id"]))

    @leave_group.command("cancel")
    @click.argument("leave_id")
    def cancel_cmd(leave_id):
        """Withdraw or cancel LEAVE_ID."""
        from plugins.hr import leave

        row = leave.cancel(get_context(), leave_id)
        click.echo(_("Cancelled #{id}").format(id=row["id"]))

    @leave_group.command("list")
    @click.option("--person", default=None)
    @click.option("--status", default=None, type=click.Choice(["requested", "approved", "rejected", "cancelled"]))
    @click.option("--year", default=None, type=YEAR)
    @click.option("--pending", is_flag=True, help="Only requests waiting for your approval.")
    def list_cmd(person, status, year, pending):
        """Leave requests you may see, with the team's overlaps for pending ones."""
        from plugins.hr import leave

        ctx = get_context()
        rows = leave.leave_rows(ctx, person=person, status=status, year=year, pending_for_me=pending)
        w = day_width()
        for r in rows:  # dates the locale's way, as on the screen
            click.echo(f"#{r['id']:<5} {day_text(r['start']):<{w}} {day_text(r['end']):<{w}} {r['days']:>3}  {_safe(r['status_text'])[:10]:<10} "
                       f"{_safe(r['kind_text'])[:14]:<14} {_safe(r['name'])[:28]}")
            if pending:
                for o in leave.team_overlaps(ctx, r):
                    click.echo("       " + _("also away: {name} {start} to {end} ({status})").format(
                        name=_safe(o["name"]), start=day_text(o["start"]), end=day_text(o["end"]),
                        status=o["status"]))
        if not rows:
            click.echo(_("No leave requests."))

    @leave_group.command("balance")
    @click.option("--person", default=None, help="Whose balance (default: yours).")
    @click.option("--year", default=None, type=YEAR)
    @click.option("--all", "everyone", is_flag=True, help="Everyone (hr.leave.read).")
    def balance_cmd(person, year, everyone):
        """Vacation days: entitlement, carried over, taken, planned, requested, left."""
        from plugins.hr import leave

        ctx = get_context()
        if everyone:
            who = [p["id"] for p in leave.visible_people(ctx)]
            from plugins.hr.service import require
            from plugins.hr import models as m

            require(ctx, m.P_LEAVE_READ, _("see everyone's balance"))
        else:
            who = [person if person is not None else (leave.my_person_id(ctx) or "")]
        t = leave.days_text
        click.echo(f"{_('person'):<24} {_('year'):>4} {_('entitled'):>8} {_('carried'):>7} {_('taken'):>6} "
                   f"{_('planned'):>7} {_('asked'):>6} {_('left'):>6}")
        for p in who:
            b = leave.balance(ctx, p, year)
            click.echo(f"{_safe(b['name'])[:24]:<24} {b['year']:>4} {t(b['entitlement']):>8} "
                       f"{t(b['carried_usable']):>7} {t(b['taken']):>6} {t(b['planned']):>7} "
                       f"{t(b['requested']):>6} {t(b['left']):>6}")

    @leave_group.command("calendar")
    @click.option("--month", default=None, help="The month, 07.2026 as on the screens or 2026-07 (default: this month).")
    @click.option("--team", "department", default=None, help="A department (id or name).")
    @click.option("--person", default=None, help="With --ics: one person's absences.")
    @click.option("--ics", "ics_out", default=None, type=click.Path(dir_okay=False, path_type=Path),
                  help="Write an iCalendar feed to this file ('-': standard output).")
    def calendar_cmd(month, department, person, ics_out):
        """The team's month as a grid (U vacation, S special, N unpaid, A absent, K sick, ? requested,
        F holiday, · weekend), or an .ics feed of approved absences."""
        from plugins.hr import leave
        from plugins.hr.service import today

        ctx = get_context()
        if ics_out is not None:
            data = leave.ics_feed(ctx, person=person, department=department)
            if str(ics_out) == "-":
                click.echo(data.decode("utf-8"), nl=False)
            else:
                from core.outputs import write_output

                write_output(ics_out, data)  # 0600, complete or not at all
                click.echo(_("Wrote {file}").format(file=ics_out))
            return
        year, mon = (today().year, today().month)
        if month:
            from plugins.hr.worktime import _month

            first, _last = _month(month)
            year, mon = first.year, first.month
        grid = leave.month_grid(ctx, year, mon, department=department)
        for line in grid_lines(grid):
            click.echo(line)

    @hr.group("sick")
    def sick_group():
        """Sick notes (confidential: only their dates leave HR)."""

    @sick_group.command("record")
    @click.argument("person")
    @click.argument("start", type=DAY)
    @click.argument("end", type=DAY)
    @click.option("--certificate", is_flag=True, help="A doctor's certificate was handed in.")
    @click.option("--deputy", default=None)
    @click.option("--note", default="")
    def sick_record_cmd(person, start, end, certificate, deputy, note):
        """Record that PERSON is ill from START to END (20.01.2026 as on the screens, or 2026-01-20)."""
        from plugins.hr import leave

        row = leave.record_sick_note(get_context(), person, start, end, certificate=certificate, note=note,
                                     deputy=deputy)
        click.echo(_("Sick note #{id}: {start} to {end}").format(id=row["id"], start=date_text(row["start"]),
                                                                  end=date_text(row["end"])))

    @sick_group.command("list")
    @click.option("--person", default=None)
    def sick_list_cmd(person):
        """Sick notes with their details (hr.sick_notes.read; audited)."""
        from plugins.hr import leave

        w = day_width()
        for r in leave.sick_notes(get_context(), person):  # dates the locale's way, as on the screen
            click.echo(f"#{r['id']:<4} {day_text(r['start']):<{w}} {day_text(r['end']):<{w}} {'✓' if r['certificate'] else '-'} "
                       f"{r['status']:<9} {_safe(r['name'])[:28]:<28} {_safe(r['note'])[:30]}")

    @leave_group.command("entitle")
    @click.argument("person")
    @click.argument("year", type=YEAR)
    @click.argument("days")
    def entitle_cmd(person, year, days):
        """Set PERSON's full-year entitlement for YEAR (pro rata applies to joiners and leavers)."""
        from plugins.hr import leave

        ctx = get_context()
        leave.set_entitlement(ctx, person, year, days)
        b = leave.balance(ctx, person, year)
        click.echo(_("{name}: {days} days in {year} ({months} months employed)").format(
            name=_safe(b["name"]), days=leave.days_text(b["entitlement"]), year=year, months=b["months"]))

    @leave_group.command("carry-over")
    @click.argument("year", type=YEAR)
    def carry_cmd(year):
        """Carry the days left at the end of YEAR-1 into YEAR (they expire after carry_over_until)."""
        from plugins.hr import leave

        for r in leave.carry_over(get_context(), year):
            click.echo(f"{_safe(r['name'])[:30]:<30} {leave.days_text(r['carried']):>5}")


def grid_lines(grid: dict) -> list[str]:
    """The month grid as text lines: a name column and one character per day."""
    from plugins.hr.leave import MARKS

    days = grid["days"]
    head = " " * 20 + "".join(str(d.day // 10 or " ") for d in days)
    head2 = " " * 20 + "".join(str(d.day % 10) for d in days)
    lines = [grid["first"].strftime("%Y-%m"), head, head2]
    for row in grid["rows"]:
        lines.append(f"{_safe(row['name'])[:19]:<20}" + "".join(MARKS[k] for k in row["marks"]))
    return lines


def register_time(cli: click.Group, get_context) -> None:
    from plugins.hr.models import _

    @cli.group("time")
    def time_group():
        """Working time: clock in and out, breaks, the month's report."""

    @time_group.group("clock")
    def clock_group():
        """Clock in or out (yourself; others with hr.time.edit)."""

    def _person_opt(f):
        f = click.option("--person", default=None, help="Whose clock (default: yours).")(f)
        return click.option("--at", default=None, type=DAY_TIME,
                            help="The day and time, '20.01.2026 08:30' as on the screens or '2026-01-20 08:30' "
                                 "(default: now).")(f)

    @clock_group.command("in")
    @_person_opt
    def in_cmd(person, at):
        """Start work."""
        from plugins.hr import worktime

        row = worktime.clock_in(get_context(), person, at=at)
        click.echo(_("Clocked in at {time}").format(time=worktime.local_text(row["start"])))

    @clock_group.command("out")
    @_person_opt
    def out_cmd(person, at):
        """End work."""
        from plugins.hr import worktime

        ctx = get_context()
        row = worktime.clock_out(ctx, person, at=at)
        click.echo(_("Clocked out at {time}").format(time=worktime.local_text(row["end"])))

    @time_group.command("break")
    @click.argument("what", type=click.Choice(["start", "end"]))
    @_person_opt
    def break_cmd(what, person, at):
        """Start or end a break."""
        from plugins.hr import worktime

        ctx = get_context()
        if what == "start":
            row = worktime.start_break(ctx, person, at=at)
            click.echo(_("Break from {time}").format(time=worktime.local_text(row["start"])))
        else:
            row = worktime.end_break(ctx, person, at=at)
            click.echo(_("Back at work at {time}").format(time=worktime.local_text(row["start"])))

    @time_group.command("status")
    @click.option("--person", default=None)
    def status_cmd(person):
        """In, out or on a break, and today's hours so far."""
        from plugins.hr import worktime

        s = worktime.state(get_context(), person)
        titles = {"in": _("at work"), "out": _("clocked out"), "break": _("on a break")}
        click.echo(f"{_safe(s['name'])}: {titles[s['state']]}, " + _("{h} h today").format(h=worktime.hm(s["today"])))

    @time_group.command("report")
    @click.option("--month", default=None, help="The month, 07.2026 as on the screens or 2026-07 (default: this month).")
    @click.option("--person", default=None, help="One person (default: everyone, hr.time.read).")
    @click.option("--flags/--no-flags", default=True, show_default=True, help="List the Arbeitszeitgesetz flags.")
    def report_cmd(month, person, flags):
        """The month per person for payroll: days, hours, absences, flags."""
        from plugins.hr import worktime
        from plugins.hr.service import today

        ctx = get_context()
        month = worktime._month(month)[0].strftime("%Y-%m") if month else today().strftime("%Y-%m")
        rows = worktime.month_report(ctx, month, person=person)
        click.echo(f"{month_text(month)}  {_('person'):<24} {_('days'):>4} {_('hours'):>7} {_('expected'):>8} "
                   f"{_('absent'):>6} {_('flags'):>5}")
        for r in rows:
            click.echo(f"{'':7}  {_safe(r['name'])[:24]:<24} {r['days_worked']:>4} {r['work_text']:>7} "
                       f"{r['expected_days']:>8} {r['absent_days']:>6} {len(r['flags']):>5}")
            if flags:
                for f in r["flags"]:
                    click.echo(f"{'':9}! {f['text']}")

    @time_group.command("terminal")
    def terminal_cmd():
        """The clock terminal: a kiosk that shows only the clock of whoever logs in with their PIN."""
        from plugins.hr.terminal import run_terminal

        run_terminal(get_context)

