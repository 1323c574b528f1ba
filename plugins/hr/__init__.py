"""HR: employee records, hiring and onboarding, complaints, progressive
discipline and dismissal.

Hook implementations only; the work is done in ``service``/``hiring``/
``cases``/``discipline`` (domain), ``screens`` (Textual) and ``cli`` (click).
"""

from __future__ import annotations

from core.api.hookspecs import PluginInfo, Setting, TableSpec, hookimpl, lazy, lazy_screen

VERSION = "1.0.0"


def _template(value):
    from plugins.hr.models import check_template

    return check_template(value)


def _expiry(value):
    from plugins.hr.models import check_expiry

    return check_expiry(value)


def _leave_days(value):
    if isinstance(value, bool) or not 0 <= value <= 366:
        raise ValueError("a number of days from 0 to 366")
    return value


def _month_day(value):
    import datetime as dt

    try:
        dt.date.fromisoformat(f"2024-{value}")
    except ValueError:
        raise ValueError(f"{value!r} is not a day like 03-31 (MM-DD)") from None
    return value


@hookimpl
def backdesk_plugin_info():
    from plugins.hr.models import PERMISSIONS

    return PluginInfo(name="hr", title="HR", version=VERSION,
                      description="Employee records, hiring, onboarding, complaints, discipline and dismissal",
                      permissions=PERMISSIONS)


@hookimpl
def backdesk_settings():
    from plugins.hr.models import DEFAULT_OFFBOARDING, DEFAULT_ONBOARDING

    return {
        "onboarding_template": Setting(list, DEFAULT_ONBOARDING, check=_template,
                                       help="Onboarding checklist items: title, owner_role, optional event"),
        "offboarding_template": Setting(list, DEFAULT_OFFBOARDING, check=_template,
                                        help="Offboarding checklist items: title, owner_role, optional event/key"),
        "warning_expiry_months": Setting(dict, {"verbal": 3, "written": 6, "final": 12}, check=_expiry,
                                         help="How many months a warning stays active, per level"),
        "dismissal_needs": Setting(str, "final", choices=["verbal", "written", "final", "none"],
                                   help="A conduct dismissal needs an active warning of at least this level "
                                        "(unless gross misconduct is recorded)"),
        "probation_months": Setting(int, 6, help="Default probation for a hire, in months (0: none)"),
        "probation_warn_days": Setting(int, 30, help="Probation ends within this many days: on the dashboard"),
        "max_cv_mb": Setting(int, 20, help="Largest CV file accepted, in MB"),
        "leave_days_per_year": Setting(int, 30, check=_leave_days,
                                       help="Vacation days a year for a full year's work (before pro rata)"),
        "carry_over_until": Setting(str, "03-31", check=_month_day,
                                    help="Days carried into a year expire after this day (MM-DD)"),
        "max_daily_hours": Setting(int, 10, help="Arbeitszeitgesetz: hours a day above which a day is flagged"),
        "min_rest_hours": Setting(int, 11, help="Arbeitszeitgesetz: hours of rest between two working days"),
    }


@hookimpl
def backdesk_tables():
    from plugins.hr.models import CONFIDENTIAL_TABLES, TABLE_READ, TABLES

    return [TableSpec(name, version=1, read=TABLE_READ[name], confidential=name in CONFIDENTIAL_TABLES)
            for name in TABLES]


@hookimpl
def backdesk_screens(ctx):
    return nav_entries(ctx)


@hookimpl
def backdesk_commands(ctx):
    return commands(ctx)


@hookimpl
def backdesk_dashboard_cards(ctx):
    return cards(ctx)


@hookimpl
def backdesk_cli(cli, get_context):
    from plugins.hr.cli import register

    register(cli, get_context)


@hookimpl
def backdesk_event(ctx, event):
    from plugins.hr.models import TICKING_EVENTS

    if event.name in TICKING_EVENTS:
        from plugins.hr import service

        service.on_event(ctx, event)


@hookimpl
def backdesk_search(ctx, query):
    from plugins.hr import screens

    return screens.search_hits(ctx, query)


@hookimpl
def backdesk_demo(ctx, seed):
    from plugins.hr.demo import create_demo

    create_demo(ctx, seed)


# =====================================================================================
# Wiring: navigation, palette, cards. They live here, not in ``screens``, so the
# shell starts without importing the screens: each is imported when first opened.
# =====================================================================================
def _screen(name: str):
    """A NavEntry factory for ``screens.<name>``, imported on first use."""
    return lazy("plugins.hr.screens", name)


def _form(name: str, ctx):
    """A command that pushes ``screens.<name>(ctx)``, imported when it runs."""
    return lazy_screen("plugins.hr.screens", name, ctx)


def nav_entries(ctx):
    from core.api.hookspecs import NavEntry
    from plugins.hr import models as m
    from plugins.hr.models import _

    return [
        NavEntry("hr.employees", _("Employees"), _screen("EmployeesScreen"), key="f9", permission=m.P_RECORDS_READ,
                 order=500),
        NavEntry("hr.hiring", _("Hiring"), _screen("HiringScreen"), permission=m.P_HIRING_READ, order=501),
        NavEntry("hr.checklists", _("Onboarding"), _screen("ChecklistsScreen"), permission=m.P_ONBOARDING_READ,
                 order=502),
        NavEntry("hr.cases", _("HR cases"), _screen("CasesScreen"), permission=m.P_CASES_READ, order=503),
        NavEntry("hr.discipline", _("Discipline"), _screen("DisciplineScreen"), permission=m.P_DISCIPLINE_READ,
                 order=504),
        NavEntry("hr.absences", _("Absences"), lazy("plugins.hr.absence_screens", "AbsenceCalendarScreen"),
                 permission=m.P_LEAVE_REQUEST, order=505),
        NavEntry("hr.leave", _("Leave"), lazy("plugins.hr.absence_screens", "LeaveScreen"),
                 permission=m.P_LEAVE_REQUEST, order=506),
        NavEntry("hr.clock", _("Clock"), lazy("plugins.hr.absence_screens", "ClockScreen"),
                 permission=m.P_TIME_CLOCK, order=507),
    ]


def commands(ctx):
    from core.api.hookspecs import Command
    from plugins.hr import models as m
    from plugins.hr.models import _

    return [
        Command("hr.new_case", _("HR: record a complaint or grievance"), _form("case_form", ctx),
                permission=m.P_CASES_EDIT),
        Command("hr.warn", _("HR: issue a warning"), _form("warning_form", ctx),
                permission=m.P_DISCIPLINE_EDIT),
        Command("hr.dismiss", _("HR: dismissal or leaver"), _form("dismiss_form", ctx),
                permission=m.P_DISMISS),
        Command("hr.new_candidate", _("HR: add a candidate"), _form("candidate_form", ctx),
                permission=m.P_HIRING_EDIT),
        Command("hr.request_leave", _("HR: request leave"),
                lazy_screen("plugins.hr.absence_screens", "request_form", ctx), permission=m.P_LEAVE_REQUEST),
    ]


def cards(ctx):
    from rich.markup import escape

    from core.api.hookspecs import Card
    from core.i18n import format_date
    from plugins.hr import models as m
    from plugins.hr import service as svc
    from plugins.hr.models import _

    def _d(value) -> str:
        return format_date(value, "short") if value else ""

    def open_cases() -> str:
        rows = ctx.table("cases").find({"status": "open"})
        investigating = ctx.table("cases").count({"status": "investigating"})
        return "\n".join([_("[b]{n}[/b] open cases").format(n=len(rows)),
                          _("  investigating: {n}").format(n=investigating)])

    def onboarding() -> str:
        rows = svc.onboarding_in_progress(ctx)
        lines = [_("[b]{n}[/b] onboarding in progress").format(n=len(rows))]
        names: dict = {}
        for cl in rows[:3]:
            done = sum(1 for i in cl["items"] if i["done"])
            lines.append(f"  {escape(svc.person_name(ctx, cl['person_id'], names)[:18])} {done}/{len(cl['items'])}")
        return "\n".join(lines)

    def expiring() -> str:
        from plugins.hr import discipline as disc

        rows = disc.expiring_this_month(ctx)
        lines = [_("[b]{n}[/b] warnings expire this month").format(n=len(rows))]
        names: dict = {}
        for w in rows[:3]:
            lines.append(f"  {escape(svc.person_name(ctx, w['person_id'], names)[:16])} {escape(_d(w['expires']))}")
        return "\n".join(lines)

    def probation() -> str:
        rows = svc.probation_ends(ctx, ctx.settings["probation_warn_days"])
        lines = [_("[b]{n}[/b] probation ends soon").format(n=len(rows))]
        names: dict = {}
        for r in rows[:3]:
            lines.append(f"  {escape(svc.person_name(ctx, r['person_id'], names)[:16])} {escape(_d(r['probation_end']))}")
        return "\n".join(lines)

    out = []
    if ctx.can(m.P_CASES_READ):
        out.append(Card("hr.cases", _("HR cases"), open_cases, tables=("hr.cases",), target="hr.cases",
                        permission=m.P_CASES_READ, order=500))
    if ctx.can(m.P_ONBOARDING_READ):
        out.append(Card("hr.onboarding", _("Onboarding"), onboarding, tables=("hr.checklists",),
                        target="hr.checklists", permission=m.P_ONBOARDING_READ, order=501))
    if ctx.can(m.P_DISCIPLINE_READ):
        out.append(Card("hr.warnings", _("Warnings"), expiring, tables=("hr.warnings",), target="hr.discipline",
                        permission=m.P_DISCIPLINE_READ, order=502))
    if ctx.can(m.P_RECORDS_READ):
        out.append(Card("hr.probation", _("Probation"), probation, tables=("hr.records",), target="hr.employees",
                        permission=m.P_RECORDS_READ, order=503))
    return out
