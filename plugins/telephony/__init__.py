"""Telephony: the operator's switchboard — answer, transfer, take messages.

Hook implementations only; the rules live in ``service.py``, the screens in
``screens.py``, the commands in ``cli.py``, PBX backends in ``pbx.py`` and
``ami.py``.
"""

from __future__ import annotations

from core.api.hookspecs import (
    Card, Command, NavEntry, PersonAction, PluginInfo, SearchHit, Setting, TableSpec, hookimpl, lazy,
)
from plugins.telephony.models import _, check_hours, check_range
from plugins.telephony.service import HANDLE, HOURS, PERMISSIONS, READ, TAKE, service_for


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="telephony", title=_("Switchboard"), version="1.0.0",
                      description=_("Answer, transfer and log calls; take messages; PBX backends"),
                      permissions=dict(PERMISSIONS))


@hookimpl
def backdesk_settings():
    return {
        "pbx": Setting(str, "manual", help="PBX backend: manual, asterisk or one a plugin provides"),
        "ami_host": Setting(str, "127.0.0.1", help="Asterisk AMI host"),
        "ami_port": Setting(int, 5038, help="Asterisk AMI port"),
        "ami_username": Setting(str, "", help="AMI user (manager.conf)"),
        "ami_secret": Setting(str, "", help="AMI secret (manager.conf)"),
        "ami_context": Setting(str, "from-internal",
                               help="dialplan context of the extensions: transfers, park, pickup, dialling"),
        "ami_inbound_contexts": Setting(list[str], ["from-pstn"],
                                        help="contexts where the trunk delivers outside calls (the call history)"),
        "ami_hold_lot": Setting(str, "", help="parking lot that holds calls on hold (res_parking.conf)"),
        "ami_night_device": Setting(str, "Custom:night",
                                    help="device state that tells the dialplan night service is on"),
        "ami_timeout": Setting(float, 5.0, help="seconds to wait for the PBX"),
        "ami_backoff_max": Setting(float, 30.0, help="longest wait between reconnect attempts"),
        "extension_range": Setting(str, "100-199", check=check_range,
                                   help="extensions given to new hires"),
        "park_slots": Setting(str, "70-79", check=check_range, help="parking slots"),
        "business_hours": Setting(str, "08:00-17:00", check=check_hours, help="when the switchboard is staffed"),
        "business_days": Setting(list[int], [1, 2, 3, 4, 5], help="ISO weekdays (1 = Monday)"),
        "night_route": Setting(str, "messages", choices=["messages", "voicemail"],
                               help="where calls go outside business hours"),
        "night_on_holidays": Setting(bool, True, help="public holidays and company days off "
                                                      "(the calendar: section) are served as at night"),
        "absence_route": Setting(str, "message", choices=["message", "deputy"],
                                 help="a call for someone away (approved leave, sick): take a message, "
                                      "or put it through to their deputy"),
    }


@hookimpl
def backdesk_tables():
    from plugins.telephony.service import TABLE_READ, TABLE_VERSIONS

    return [TableSpec(name, read=read, **TABLE_VERSIONS.get(name, {})) for name, read in TABLE_READ.items()]


# The screens module is imported when a screen first opens or a command runs,
# not when the shell starts.
def _screen(name: str):
    """A NavEntry factory for ``screens.<name>``, imported on first use."""
    return lazy("plugins.telephony.screens", name)


def _command(name: str):
    """``screens.<name>(app)``, imported on first use."""
    return lazy("plugins.telephony.screens", name)


@hookimpl
def backdesk_screens(ctx):
    return [
        NavEntry("telephony", _("Switchboard"), lazy("plugins.telephony.switchboard", "SwitchboardScreen"), key="f5",
                 permission=READ, order=20),
        NavEntry("telephony.messages", _("Messages"), _screen("MessagesScreen"), permission=READ, order=21),
        NavEntry("telephony.history", _("Call history"), _screen("HistoryScreen"), permission=READ, order=22),
    ]


@hookimpl
def backdesk_commands(ctx):
    return [
        Command("telephony.log_call", _("Switchboard: answer / log a call"), _command("command_log_call"),
                help=_("Who is calling? Then transfer or take a message"), permission=HANDLE),
        Command("telephony.dial", _("Switchboard: call someone"), _command("command_dial"),
                help=_("Your phone rings first, then the person's"), permission=HANDLE),
        Command("telephony.message", _("Switchboard: take a message"), _command("command_take_message"),
                help=_("A 'while you were out' message for a person"), permission=TAKE),
        Command("telephony.night", _("Switchboard: switch night service"), _command("command_toggle_night"),
                help=_("Business hours / night service / automatic"), permission=HOURS),
    ]


@hookimpl
def backdesk_dashboard_cards(ctx):
    from plugins.telephony import cards

    return cards.dashboard_cards(ctx)


@hookimpl
def backdesk_cli(cli, get_context):
    from plugins.telephony.cli import register

    register(cli, get_context)


@hookimpl
def backdesk_event(ctx, event):
    if event.name == "hr.employee_hired" and event.data.get("person_id"):
        service_for(ctx).assign_extension(int(event.data["person_id"]), event_id=event.id)
    elif event.name == "hr.employee_dismissed" and event.data.get("person_id"):
        service_for(ctx).release_extension(int(event.data["person_id"]), event_id=event.id)


@hookimpl
def backdesk_search(ctx, query):
    from plugins.telephony.cards import search

    return search(ctx, query)


@hookimpl
def backdesk_person_actions(ctx, person):
    if not person.get("extension") or person.get("status") == "left":
        return []

    def call(app, person):
        from plugins.telephony.screens import dial_person
        from plugins.telephony.service import service_for

        dial_person(app, service_for(ctx), person["id"])

    return [PersonAction("g", _("call"), call, permission=HANDLE)]


@hookimpl
def backdesk_demo(ctx, seed):
    from plugins.telephony.demo import create_demo

    create_demo(ctx, seed)


@hookimpl
def backdesk_pbx_backends():
    from plugins.telephony.pbx import BUILTIN_BACKENDS

    return dict(BUILTIN_BACKENDS)


__all__ = ["Card", "SearchHit"]
