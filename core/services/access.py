"""Operators, roles and permissions.

The operator is the OS account that started Backdesk (over SSH: the login)
unless config maps accounts otherwise. Roles in config grant permission
patterns (``"*"``, ``"telephony.*"``, ``"hr.cases.read"``); plugins define
their permissions through ``PluginInfo.permissions``. Checks happen in the
service layer through :meth:`Operator.require`, so neither the CLI nor
another plugin can go around them; the UI only hides what would be refused.
"""

from __future__ import annotations

import getpass
import os
import pwd
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterator
from fnmatch import fnmatchcase

from core.errors import PermissionDenied
from core.records import Record


def current_account() -> str:
    """The OS account running this process (the SSH login over SSH)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (containers)
        return getpass.getuser()


@dataclass(frozen=True, repr=False, eq=False)
class Operator(Record):
    """The person at the keyboard, with what they may do."""

    account: str
    name: str
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    read_only: bool = False
    person_id: int | None = None
    email: str | None = None
    #: permissions that read-only operators keep (patterns)
    read_patterns: tuple[str, ...] = field(default=("core.directory.read",))

    @property
    def role_title(self) -> str:
        if self.read_only and not self.roles:
            return "read-only"
        return ", ".join(self.roles) or "-"

    def can(self, permission: str) -> bool:
        """True when one of the operator's patterns grants ``permission``
        (or a plugin is reacting to an event, see :func:`reaction`)."""
        if _REACTION.get() is not None:
            return True
        if self.read_only and not any(fnmatchcase(permission, p) for p in self.read_patterns):
            return False
        return any(fnmatchcase(permission, pattern) for pattern in self.permissions)

    def require(self, permission: str, what: str | None = None) -> None:
        """Raise :class:`PermissionDenied` unless the operator holds ``permission``."""
        if not self.can(permission):
            doing = what or permission
            why = f"needs permission '{permission}'"
            if self.read_only:
                why += " (this is a read-only session: the account is not listed under 'operators:')"
            raise PermissionDenied(f"{self.name} ({self.account}) may not {doing}: {why}")


#: the event a plugin is reacting to, while its ``backdesk_event`` handler runs
_REACTION: ContextVar[str | None] = ContextVar("backdesk_reaction", default=None)


#: the modules that may enter a reaction: core's event bus delivers events
_REACTION_ENTERED_BY = frozenset({"core.services.events"})


@contextmanager
def reaction(event_name: str) -> Iterator[None]:
    """Run a plugin's reaction to ``event_name`` without the operator's permissions.

    A reaction (an onboarding ticket after a hire, an extension assigned) is
    the follow-up of a change the operator was allowed to make, so the event
    bus runs each ``backdesk_event`` handler inside this context, where
    :meth:`Operator.can` grants everything. The audit trail still records
    the operator as the actor.

    Only core's event bus enters it: called from anywhere else (a plugin's
    service, a screen) it raises :class:`PermissionDenied`, so a plugin
    cannot lift the operator's permissions outside event delivery.
    """
    caller = sys._getframe(2).f_globals.get("__name__", "")  # 0: here, 1: contextlib's __enter__
    if caller not in _REACTION_ENTERED_BY:
        raise PermissionDenied(f"{caller or 'this code'} may not enter a reaction to {event_name}: "
                               "only core's event bus does, while it delivers the event")
    token = _REACTION.set(event_name)
    try:
        yield
    finally:
        _REACTION.reset(token)


def current_reaction() -> str | None:
    """The event being reacted to in this context, or None."""
    return _REACTION.get()


class UnknownAccount(PermissionDenied):
    """An OS account that config does not know, refused by policy."""


def resolve_operator(config, account: str | None = None, *, demo: bool = False) -> Operator:
    """Map an OS account to an :class:`Operator` using the config.

    Unknown accounts get what ``unknown_accounts`` says: ``refuse`` (the
    default) raises :class:`UnknownAccount` with a clear message,
    ``read-only`` gives an operator who may only read. In demo mode an
    unknown account works as the administrator of the demo company.
    """
    account = account or current_account()
    read_patterns = tuple(getattr(config, "read_only_permissions", None) or ("core.directory.read",))
    op = config.operators.get(account)
    if op is not None:
        perms: list[str] = []
        for role in op.roles:
            perms.extend(config.roles[role].permissions)
        return Operator(account=account, name=op.name or account, roles=tuple(op.roles),
                        permissions=tuple(perms), person_id=getattr(op, "person_id", None),
                        email=getattr(op, "email", None), read_patterns=read_patterns)
    if demo:
        return Operator(account=account, name=f"{account} (demo admin)", roles=("admin",),
                        permissions=("*",), read_patterns=read_patterns)
    policy = getattr(config, "unknown_accounts", "refuse")
    if policy == "read-only":
        return Operator(account=account, name=account, roles=(), permissions=("*",),
                        read_only=True, read_patterns=read_patterns)
    raise UnknownAccount(
        f"the account '{account}' is not a Backdesk operator; an administrator can add it "
        f"under 'operators:' in {getattr(config, 'config_file', 'backdesk.yaml')}"
    )


# --------------------------------------------------------------------------
# Every permission Backdesk knows

#: The permissions core's own services check, with what they allow.
CORE_PERMISSIONS: dict[str, str] = {
    "core.directory.read": "Look people, departments and extensions up",
    "core.directory.edit": "Add, change and import people and departments",
    "core.audit.read": "Read and verify the audit trail",
    "core.audit.archive": "Move old audit entries into archive files (backdesk audit archive)",
    "core.audit.key": "Create the audit trail's key (backdesk audit key)",
    "core.events.read": "List domain events and failed deliveries",
    "core.events.manage": "Retry failed event deliveries",
    "core.notifications.send": "Send a notification to another operator",
    "core.notifications.manage": "Read other operators' notifications",
    "core.plugins.read": "See plugins and their failures",
    "core.printing.manage": "See every operator's print jobs; set a kiosk console's printer",
    "core.admin.backup": "Copy the whole store and the plugins' files (backdesk backup)",
    "core.admin.restore": "Replace the live data with a backup (backdesk restore)",
    "core.admin.migrate": "Copy the store to another backend (backdesk storage migrate)",
    "core.admin.demo": "Move the data aside and create the demo company (backdesk demo --force)",
}


@dataclass(frozen=True, repr=False, eq=False)
class PermissionInfo(Record):
    """One permission: its name, who defines it and what it allows."""

    name: str
    owner: str  # "core" or a plugin name
    description: str


def known_permissions(host=None) -> list[PermissionInfo]:
    """Core's permissions and those every loaded plugin defines
    (``PluginInfo.permissions``), sorted by name."""
    found = {name: PermissionInfo(name, "core", text) for name, text in CORE_PERMISSIONS.items()}
    if host is not None:
        for rec in host.active:
            info = rec.info
            for name, text in (getattr(info, "permissions", None) or {}).items():
                found.setdefault(name, PermissionInfo(name, rec.name, text))
    return sorted(found.values(), key=lambda p: p.name)


def granted_permissions(operator: Operator, host=None) -> list[PermissionInfo]:
    """The known permissions ``operator`` holds (for the UI and ``--help`` texts)."""
    return [p for p in known_permissions(host) if operator.can(p.name)]


def unknown_patterns(config, host=None) -> list[str]:
    """Role patterns that match no known permission (likely typos), as
    ``"role: pattern"`` lines."""
    names = [p.name for p in known_permissions(host)]
    out = []
    for role in getattr(config, "roles", {}).values():
        for pattern in role.permissions:
            if not any(fnmatchcase(n, pattern) for n in names):
                out.append(f"{role.name}: {pattern}")
    return out


class Access:
    """``services.access``: the operator at work and what Backdesk knows of permissions."""

    def __init__(self, backdesk) -> None:
        self.backdesk = backdesk

    @property
    def operator(self) -> Operator:
        return self.backdesk.operator

    def can(self, permission: str) -> bool:
        return self.backdesk.operator.can(permission)

    def require(self, permission: str, what: str | None = None) -> None:
        self.backdesk.operator.require(permission, what)

    def known_permissions(self) -> list[PermissionInfo]:
        return known_permissions(self.backdesk.host)

    def granted(self) -> list[PermissionInfo]:
        return granted_permissions(self.backdesk.operator, self.backdesk.host)
