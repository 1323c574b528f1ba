"""HR: employee records, hiring and onboarding, complaints, progressive
discipline and dismissal.

Hook implementations only; the work is done in ``service``/``hiring``/
``cases``/``discipline`` (domain), ``screens`` (Textual) and ``cli`` (click).
"""

from __future__ import annotations

from core.hookspecs import PluginInfo, Setting, TableSpec, hookimpl

VERSION = "1.0.0"


def _template(value):
    from plugins.hr.models import check_template

    return check_template(value)


def _expiry(value):
    from plugins.hr.models import check_expiry

    return check_expiry(value)


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
    }


@hookimpl
def backdesk_tables():
    from plugins.hr.models import TABLES

    return [TableSpec(name, version=1) for name in TABLES]


@hookimpl
def backdesk_screens(ctx):
    from plugins.hr import screens

    return screens.nav_entries(ctx)


@hookimpl
def backdesk_commands(ctx):
    from plugins.hr import screens

    return screens.commands(ctx)


@hookimpl
def backdesk_dashboard_cards(ctx):
    from plugins.hr import screens

    return screens.cards(ctx)


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
