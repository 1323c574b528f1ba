"""IT: helpdesk, assets, maintenance, changes and live service checks.

Hook implementations only; the work is done in ``service`` (domain),
``screens`` (Textual) and ``cli`` (click).
"""

from __future__ import annotations

from core.api.hookspecs import PluginInfo, Setting, TableSpec, hookimpl, lazy, lazy_screen

VERSION = "1.0.0"


def _check_calendar_hours(value):
    from plugins.it.sla import parse_hours

    parse_hours(value)
    return value


def _check_days(value):
    from plugins.it.sla import DAY_NAMES

    if not value:
        raise ValueError("name at least one working day")
    for day in value:
        if str(day).strip().lower()[:3] not in DAY_NAMES:
            raise ValueError(f"unknown working day {day!r} (use mon, tue, … sun)")
    return value


def _check_sla(value):
    from plugins.it.models import PRIORITIES

    for prio in PRIORITIES:
        row = value.get(prio)
        if not isinstance(row, dict) or set(row) != {"response", "resolution"}:
            raise ValueError(f"sla.{prio} needs response and resolution (hours)")
        for key, hours in row.items():
            if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= 10000:
                raise ValueError(f"sla.{prio}.{key}: hours between 0 and 10000")
        if row["response"] > row["resolution"]:
            raise ValueError(f"sla.{prio}: the response target exceeds the resolution target")
    unknown = set(value) - set(PRIORITIES)
    if unknown:
        raise ValueError(f"unknown priorities {', '.join(sorted(unknown))}")
    return value


DEFAULT_SLA = {"urgent": {"response": 1, "resolution": 4}, "high": {"response": 2, "resolution": 8},
               "normal": {"response": 4, "resolution": 27}, "low": {"response": 9, "resolution": 45}}


@hookimpl
def backdesk_plugin_info():
    from plugins.it.service import PERMISSIONS

    return PluginInfo(name="it", title="IT", version=VERSION,
                      description="Helpdesk, assets, maintenance, changes and live service checks",
                      permissions=PERMISSIONS)


@hookimpl
def backdesk_settings():
    return {
        "workdays": Setting(list[str], ["mon", "tue", "wed", "thu", "fri"], check=_check_days,
                            help="Working days of the SLA calendar"),
        "hours": Setting(str, "08:00-17:00", check=_check_calendar_hours,
                         help="Working hours of the SLA calendar, in the site's time zone"),
        "sla": Setting(dict, DEFAULT_SLA, check=_check_sla,
                       help="Per priority: response and resolution targets in business hours"),
        "absence_to_deputy": Setting(bool, False, help="Tickets of a team member who is away (approved leave, "
                                                       "sick) go to their deputy's queue"),
        "reopen_days": Setting(int, 7, help="Days after resolution a ticket may be reopened"),
        "team_roles": Setting(list[str], ["it"], help="Roles whose operators form the IT team"),
        "canned_replies": Setting(dict, {
            "restart": "Please restart the computer and tell us whether the problem remains.",
            "on_it": "We are on it and will get back to you shortly.",
            "done": "This is fixed. Reply within a week if it comes back.",
        }, help="Canned replies by name"),
        "change_approver_role": Setting(str, "admin", help="The role that approves change requests"),
        "warranty_warn_days": Setting(int, 60, help="Warranty ends within this many days: listed as expiring"),
        "check_interval": Setting(int, 60, help="Seconds between service-check runs"),
        "check_timeout": Setting(float, 3.0, help="Seconds a single check may take"),
        "open_ticket_after": Setting(int, 10, help="Minutes a check may fail before it opens a ticket"),
        "check_requester": Setting((str, int), "", help="Person (id or name) tickets of failing checks are for"),
        "mail_requester": Setting((str, int), "", help="Person (id or name) tickets from mail senders who are not "
                                                        "in the directory are for; replies still go to the sender "
                                                        "(empty: such mails are ignored)"),
        "onboarding_items": Setting(list[str], ["User account and e-mail", "Computer and phone",
                                                "Access to shared drives", "Badge"]),
        "access_to_revoke": Setting(list[str], ["User account and e-mail", "VPN", "Shared drives",
                                                "Badge", "Backdesk operator entry"]),
    }


@hookimpl
def backdesk_tables():
    from plugins.it.service import TABLES

    return [TableSpec(name, version=1, read=read) for name, read in TABLES.items()]


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
    from plugins.it.cli import register

    register(cli, get_context)


@hookimpl
def backdesk_event(ctx, event):
    from plugins.it import service

    if event.name == "hr.employee_hired":
        service.on_employee_hired(ctx, event.data)
    elif event.name == "hr.employee_dismissed":
        service.on_employee_dismissed(ctx, event.data)
    elif event.name == "hr.absence_approved":
        service.on_absence(ctx, event.data)


@hookimpl
def backdesk_mail_purposes(ctx):
    from plugins.it import service

    return {"helpdesk": lambda mail, mailbox: service.ticket_from_mail(ctx, mail, mailbox)}


@hookimpl
def backdesk_search(ctx, query):
    from plugins.it import screens

    return screens.search_hits(ctx, query)


@hookimpl
def backdesk_demo(ctx, seed):
    from plugins.it.demo import create_demo

    create_demo(ctx, seed)



# =====================================================================================
# Wiring helpers (called from the hookimpls). They live here, not in ``screens``,
# so the shell starts without importing the screens: a screen's module is
# imported when the operator first opens it.
# =====================================================================================
def _screen(name: str):
    """A NavEntry factory for ``screens.<name>``, imported on first use."""
    return lazy("plugins.it.screens", name)


def nav_entries(ctx):
    from core.api.hookspecs import NavEntry
    from plugins.it import service as svc
    from plugins.it.models import _

    return [
        NavEntry("it.tickets", _("Helpdesk"), _screen("HelpdeskScreen"), key="f7", permission=svc.P_READ,
                 order=300),
        NavEntry("it.assets", _("Assets"), _screen("AssetsScreen"), permission=svc.P_ASSETS_READ, order=301),
        NavEntry("it.maintenance", _("Maintenance"), _screen("MaintenanceScreen"),
                 permission="it.maintenance.read", order=302),
        NavEntry("it.checks", _("Service checks"), _screen("ChecksScreen"), permission=svc.P_CHECKS_READ,
                 order=303),
    ]


def commands(ctx):
    from core.api.hookspecs import Command
    from plugins.it import service as svc
    from plugins.it.models import _

    new_ticket = lazy_screen("plugins.it.screens", "ticket_form", ctx)

    def run_checks(app):
        app.open_nav("it.checks")

    return [Command("it.new_ticket", _("IT: open a ticket"), new_ticket, help=_("Report a problem to IT"),
                    permission=svc.P_CREATE),
            Command("it.checks", _("IT: service checks"), run_checks, permission=svc.P_CHECKS_READ)]


def cards(ctx):
    from rich.markup import escape

    from core.api.hookspecs import Card
    from core.i18n import format_date
    from plugins.it import service as svc
    from plugins.it.models import _

    def helpdesk() -> str:
        c = svc.queue_counts(ctx)
        return "\n".join([
            _.ngettext("[b]{n}[/b] active ticket", "[b]{n}[/b] active tickets", c["active"]).format(n=c["active"]),
            _("  mine: {n}").format(n=c["mine"]),
            _("  unassigned: {n}").format(n=c["unassigned"]),
            (_("  [b]overdue: {n}[/b]") if c["overdue"] else _("  overdue: {n}")).format(n=c["overdue"]),
            _("  waiting: {n}").format(n=c["waiting"])])

    def assets() -> str:
        w = svc.warranty_expiring(ctx)
        low = svc.low_stock(ctx)
        total = ctx.table("assets").count()
        lines = [_.ngettext("{n} asset", "{n} assets", total).format(n=total),
                 _("  warranty ends soon: {n}").format(n=len(w)),
                 _("  low stock: {n}").format(n=len(low))]
        for d in low[:2]:
            lines.append(f"  ⚠ {escape(d['tag'])} {d.get('quantity') or 0}/{d.get('min_quantity') or 0}")
        return "\n".join(lines)

    def maintenance() -> str:
        over = svc.overdue_tasks(ctx)
        if not over:
            return _("No maintenance overdue.")
        lines = [_.ngettext("[b]{n}[/b] task overdue", "[b]{n}[/b] tasks overdue", len(over)).format(n=len(over))]
        for t in over[:3]:
            title = t["title"] if len(t["title"]) <= 24 else t["title"][:23] + "…"
            due = format_date(t["next_due"]) if t["next_due"] else ""
            lines.append(f"  {escape(title)} ({escape(due)})")
        return "\n".join(lines)

    def checks() -> str:
        rows = ctx.table("checks").all()
        bad = [r for r in rows if r.get("state") == "failing"]
        ok = sum(1 for r in rows if r.get("state") == "ok")
        lines = [_.ngettext("{ok}/{n} check ok", "{ok}/{n} checks ok", len(rows)).format(ok=ok, n=len(rows))]
        for r in bad[:3]:
            lines.append(f"  ● {escape(r['name'])}: {escape((r.get('message') or '')[:20])}")
        return "\n".join(lines)

    out = []
    if ctx.can(svc.P_READ):
        out.append(Card("helpdesk", _("Helpdesk"), helpdesk, tables=("it.tickets",), target="it.tickets", order=300))
    if ctx.can(svc.P_ASSETS_READ):
        out.append(Card("assets", _("Assets"), assets, tables=("it.assets",), target="it.assets", order=301))
    if ctx.can("it.maintenance.read"):
        out.append(Card("maintenance", _("Maintenance"), maintenance, tables=("it.tasks",),
                        target="it.maintenance", order=302))
    if ctx.can(svc.P_CHECKS_READ):
        out.append(Card("checks", _("Service checks"), checks, tables=("it.checks",), target="it.checks", order=303))
    return out
