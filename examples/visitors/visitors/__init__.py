"""Visitors: the visitor log at reception — a third-party Backdesk plugin.

Hook implementations only: the rules are in ``service`` (no Textual), the
screen in ``screens``, the subcommands in ``cli``. It uses nothing a built-in
plugin does not: core's people directory for hosts, core's notifications to
tell a host, core's events, storage and widgets.
"""

from __future__ import annotations

from core.api.hookspecs import Card, Command, NavEntry, PluginInfo, Setting, TableSpec, hookimpl

from visitors import service

VERSION = "1.0.0"


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="visitors", title="Visitors", version=VERSION, api_version=1,
                      description="Sign visitors in and out at reception; their host is told",
                      permissions=service.PERMISSIONS)


@hookimpl
def backdesk_settings():
    return {"badges": Setting(bool, False, help="Ask for a badge number when a visitor signs in")}


@hookimpl
def backdesk_tables():
    return [TableSpec("visits", version=2, migrations={2: service.migrate_visit_v1_to_v2})]


@hookimpl
def backdesk_screens(ctx):
    from visitors.screens import VisitorsScreen

    return [NavEntry("visitors", "Visitors", VisitorsScreen, permission=service.READ, order=40)]


@hookimpl
def backdesk_commands(ctx):
    from visitors.screens import sign_in_dialog

    return [Command("visitors.sign_in", "Sign a visitor in", sign_in_dialog(ctx),
                    help="Visitor, company and host; the host is told", permission=service.SIGN)]


@hookimpl
def backdesk_dashboard_cards(ctx):
    return [Card("in_building", "Visitors in the building", lambda: service.card_text(ctx),
                 tables=("visitors.visits",), target="visitors", permission=service.READ, order=40)]


@hookimpl
def backdesk_cli(cli, get_context):
    from visitors.cli import add_commands

    add_commands(cli, get_context)


@hookimpl
def backdesk_reactions(ctx):
    return {"visitors.visitor_arrived": lambda event: service.tell_host(ctx, event)}
