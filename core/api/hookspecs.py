"""The hooks a Backdesk plugin implements: this file IS the plugin author's reference.

A plugin is a module (or any object) with functions decorated by
:data:`hookimpl` whose names match the specs below. Built-in plugins and
third-party plugins use exactly the same hooks.

The shell calls each plugin's implementation on its own, in the order of
``plugins.yaml``, and passes only the arguments the implementation names, so a
plugin may leave out arguments it does not need:

```python
from core.api.hookspecs import hookimpl, PluginInfo

@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="visitors", title="Visitors", version="1.0")

@hookimpl
def backdesk_screens(ctx):
    return [NavEntry("visitors", ctx._("Visitors"), VisitorsScreen)]
```

An exception raised by a hook is caught: the plugin is marked as failed (or,
for hooks that run later, the failure is recorded and shown in the Plugins
screen) and every other plugin goes on working.

``ctx`` is always the plugin's own :class:`core.api.context.PluginContext`: its
``table(name)`` opens the plugin's tables, ``settings`` holds its validated
settings, ``services`` the core services (people directory, access, audit,
events, notifications), ``operator`` the operator at work, and ``_`` the
plugin's translation function.

Hook-API versions: :data:`HOOK_API_VERSION` is the version this Backdesk
provides. A plugin declares the version it was written for in
``PluginInfo.api_version``; a plugin written for a newer or an incompatible
older version is refused with a message saying which version it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import pluggy

# One Setting for plugin authors and the config validator alike:
# Setting(type, default, choices=None, help="", check=None); REQUIRED marks
# a setting without a default. See core.config for the types it accepts.
from core.config import REQUIRED, Setting, SettingError  # noqa: E402  (re-exported)
from core.records import Record

if TYPE_CHECKING:  # pragma: no cover - typing only
    import click

    from core.api.context import PluginContext  # types only

#: The hook API this Backdesk provides. Bumped when a hook changes shape.
HOOK_API_VERSION = 1
#: The oldest hook API a plugin may have been written for and still load.
OLDEST_SUPPORTED_API_VERSION = 1

hookspec = pluggy.HookspecMarker("backdesk")
hookimpl = pluggy.HookimplMarker("backdesk")


# --------------------------------------------------------------------------
# What the hooks return
# --------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, eq=False)
class PluginInfo(Record):
    """Who a plugin is.

    ``name`` is the plugin's namespace: its tables live under it, its
    permissions start with it and its events are named after it
    (``"telephony.call_transferred"``). Lowercase letters, digits and
    underscores. Permissions are named ``<plugin>.<thing>.<action>``
    (``"telephony.calls.handle"``, ``"parcels.parcels.read"``).
    """

    name: str
    title: str
    version: str
    api_version: int = HOOK_API_VERSION
    description: str = ""
    #: permissions the plugin defines: ``{"telephony.calls.handle": "Answer and transfer calls"}``
    permissions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, repr=False, eq=False)
class TableSpec(Record):
    """A table a plugin stores documents in, with its schema version and
    who may read it whole.

    ``migrations`` maps a version to a function ``fn(doc) -> doc`` that
    upgrades one document from the version before; they run once, under the
    store's lock, after an automatic backup.

    ``read`` is the permission that reads the table as a whole, wherever
    Backdesk reads tables without the plugin's own service (``backdesk
    export``, the audit trail's copies of its records); without one it is
    ``"<plugin>.<table>.read"``. ``confidential``: every such read is
    written to the audit trail (employee records, complaints, payslips).
    The plugin's own services check their own permissions as before.

    ``derive(doc) -> {field: value}``: fields the table keeps from each
    document's others, merged in on every insert, update and replace,
    whoever writes (a flag or a delimited list of ids a query can ask for,
    where the facts sit inside a list); a migration fills them in for the
    documents written before.

    ``words``: the fields a search looks for words in (file names, OCR
    texts): on PostgreSQL each gets a column of its words with a trigram
    index, made at the first search, so that a word is found without
    reading the texts. The documents found are the same with or without.
    """

    name: str
    version: int = 1
    migrations: dict[int, Callable[[dict], dict]] = field(default_factory=dict)
    read: str | None = None
    confidential: bool = False
    derive: Callable[[dict], dict] | None = None
    words: tuple[str, ...] = ()


@dataclass(frozen=True, repr=False, eq=False)
class NavEntry(Record):
    """A navigation entry and the screen behind it.

    ``screen`` is called with the plugin's ``ctx`` and returns a Textual
    :class:`~textual.screen.Screen` (usually a subclass of
    :class:`core.shell.screens.base.BackdeskScreen`). ``key`` is an optional
    global key binding that jumps to it (for example ``"f5"``).
    ``permission``: the entry is shown only to operators holding it.
    ``order``: lower comes first, ties in plugin load order (core: Home 0,
    Directory 10–12, audit trail 900, Plugins 1000; the built-in plugins
    20–600, see docs/services.md).
    """

    id: str
    title: str
    screen: Callable[["PluginContext"], Any]
    key: str | None = None
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True, repr=False, eq=False)
class Command(Record):
    """A command-palette command.

    ``run`` is called with the running :class:`core.shell.app.BackdeskApp`; it may
    be a coroutine function. ``permission``: shown and runnable only for
    operators holding it (the service behind it checks again).
    """

    id: str
    title: str
    run: Callable[[Any], Any]
    help: str = ""
    permission: str | None = None


@dataclass(frozen=True, repr=False, eq=False)
class Card(Record):
    """A card on the home dashboard.

    ``render`` is called (in a worker thread, never with widgets) and returns
    a string with Rich markup or a Rich renderable. The card is rendered
    again when one of ``tables`` changes (names like ``"it.tickets"``; the
    plugin's own tables also by their short name, ``"tickets"``).
    ``target`` is the id of a :class:`NavEntry` opened when the operator
    presses Enter on the card. ``permission``: shown only to operators
    holding it. ``order``: lower comes first, as :attr:`NavEntry.order`.
    """

    id: str
    title: str
    render: Callable[[], Any]
    tables: tuple[str, ...] = ()
    target: str | None = None
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True, repr=False, eq=False)
class SearchHit(Record):
    """One global-search result; ``target`` is a NavEntry id to open, and
    ``open`` an optional callable ``open(app)`` that jumps to the record."""

    title: str
    detail: str = ""
    target: str | None = None
    open: Callable[[Any], Any] | None = None
    score: float = 1.0


@dataclass(frozen=True, repr=False, eq=False)
class PersonAction(Record):
    """Something a plugin offers for a person in the directory (a key in
    the person's details): ``run(app, person)`` is called with the running
    app and the person's record. ``permission``: offered only to operators
    holding it (the service behind it checks again)."""

    key: str
    title: str
    run: Callable[[Any, dict], Any]
    permission: str | None = None


def lazy(module: str, name: str) -> Callable[..., Any]:
    """``module.name`` as a callable that imports ``module`` only when called.

    For :attr:`NavEntry.screen` and :attr:`Command.run`: the shell starts
    without importing a plugin's screens, which load when the operator first
    opens one (``NavEntry("it.tickets", "Helpdesk", lazy("plugins.it.screens",
    "HelpdeskScreen"))``).
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def lazy_screen(module: str, name: str, ctx: Any) -> Callable[[Any], None]:
    """A :attr:`Command.run` that pushes ``module.name(ctx)`` (a screen, or a
    function returning one), importing ``module`` only when the command runs:
    ``Command("hr.warn", "HR: issue a warning", lazy_screen("plugins.hr.screens",
    "warning_form", ctx))``."""
    factory = lazy(module, name)

    def run(app: Any) -> None:
        app.push_screen(factory(ctx))

    run.__name__ = run.__qualname__ = name
    return run


# --------------------------------------------------------------------------
# The hooks
# --------------------------------------------------------------------------


@hookspec(firstresult=True)
def backdesk_plugin_info() -> PluginInfo:
    """Say who the plugin is. Required.

    Called once when the plugin is loaded, before any other hook. A plugin
    whose ``api_version`` is not supported is refused and listed as failed.
    """


@hookspec
def backdesk_tables() -> list[TableSpec]:
    """Declare the plugin's tables and their schema versions.

    Called once at start, before the first screen opens; pending migrations
    run then. Open a declared table later with ``ctx.table(name)``.
    """


@hookspec
def backdesk_settings() -> dict[str, Setting]:
    """Declare the plugin's settings with defaults and types.

    The values from ``plugins.yaml`` are validated against this and handed to
    the plugin as ``ctx.settings`` (a dict with every key present).
    """


@hookspec
def backdesk_screens(ctx: "PluginContext") -> list[NavEntry]:
    """Return the plugin's navigation entries and the screens behind them.

    Called when the shell starts; entries whose ``permission`` the operator
    lacks are hidden. An exception raised later inside one of the screens
    brings the operator back to the home screen with a notification.
    """


@hookspec
def backdesk_commands(ctx: "PluginContext") -> list[Command]:
    """Return command-palette commands (Ctrl+P)."""


@hookspec
def backdesk_dashboard_cards(ctx: "PluginContext") -> list[Card]:
    """Return cards for the home dashboard (counts, sparklines, due lists)."""


@hookspec
def backdesk_cli(cli: "click.Group", get_context: Callable[[], "PluginContext"]) -> None:
    """Add the plugin's subcommands to the ``backdesk`` command.

    ``cli`` is the top-level click group: add one group named after the
    plugin (``backdesk phone …``). ``get_context()`` opens Backdesk (config,
    store, operator) on first use and returns the plugin's ``ctx``; call it
    inside the command, not here, so ``backdesk --help`` stays fast.
    Raise :class:`core.errors.BackdeskError` for bad input: the CLI prints
    the message and exits 2.
    """


@hookspec
def backdesk_reactions(ctx: "PluginContext") -> dict[str, Callable[[Any], None]]:
    """Return the events the plugin reacts to: ``{event name: handler}``.

    ``{"core.person_left": lambda event: service.send_back(ctx, event)}``:
    each handler is called with the :class:`core.services.events.Event` (``name``,
    ``data``, ``id``, ``source`` — the plugin that published it) after the
    publishing change was committed, in its own transaction, as a
    reaction (the operator's permissions are not asked; the audit trail
    records the operator). A failure is recorded against the event and can
    be retried with ``backdesk events retry``; it never blocks the
    publisher or the other plugins. Handlers must be idempotent. Asked once
    per start; ``backdesk plugins -v`` lists what each plugin reacts to.
    Events a plugin does not name are never delivered to it.
    """


@hookspec
def backdesk_event(ctx: "PluginContext", event: Any) -> None:
    """React to any domain event published by core or another plugin.

    The catch-all form of :func:`backdesk_reactions`, called for every
    event (test ``event.name``). ``event.name`` is
    ``"<plugin>.<what_happened>"`` (``hr.employee_hired``), ``event.data``
    a dict, ``event.id`` its stored id, ``event.source`` the publishing
    plugin. Called after the publishing change was committed; an exception
    is recorded against the event and can be retried with ``backdesk events
    retry``; it never blocks the publisher or the other handlers. Handlers
    must be idempotent.
    """


@hookspec
def backdesk_search(ctx: "PluginContext", query: str) -> list[SearchHit]:
    """Return hits for the global search (at most about 20, best first)."""


@hookspec
def backdesk_person_actions(ctx: "PluginContext", person: dict) -> list[PersonAction]:
    """Return what the plugin can do for ``person`` (a directory record), as
    :class:`PersonAction` keys in the person's details in the directory
    (the switchboard offers "g call"). Called each time the details open;
    return ``[]`` when nothing applies (no extension, no permission).
    """


@hookspec
def backdesk_demo(ctx: "PluginContext", seed: int) -> None:
    """Fill the plugin's tables with a realistic demo for ``backdesk demo``.

    Called after core has created the demo company's people directory (use
    ``ctx.services.people``); ``seed`` makes the demo repeatable.
    """


@hookspec
def backdesk_pbx_backends() -> dict[str, Callable[..., Any]]:
    """PBX backends the telephony plugin can drive: ``{"asterisk": factory}``.

    ``factory(ctx, settings: dict)`` returns a backend object (see
    ``plugins.telephony.pbx`` for the interface it must provide). The
    telephony plugin offers its built-in backends ("manual", "asterisk")
    through this same hook; the ``pbx`` setting picks one by name.
    """


@hookspec
def backdesk_fax_transports() -> dict[str, Callable[..., Any]]:
    """Fax transports the documents plugin can send through: ``{"hylafax": factory}``.

    ``factory(ctx, settings: dict)`` returns a transport (see
    ``plugins.documents.fax`` for the interface). The documents plugin
    offers its built-in transports ("email_gateway", "hylafax") through this
    same hook; the ``fax_transport`` setting picks one by name.
    """


@hookspec
def backdesk_mail_purposes(ctx: Any) -> dict[str, Callable[..., Any]]:
    """What a mailbox can be for, besides filing documents: ``{"helpdesk": handler}``.

    The documents plugin reads the mailboxes of its ``mailboxes`` setting
    over IMAP; a mailbox whose ``purpose`` is a name given here hands each
    new mail to ``handler(mail, mailbox)`` — ``mail`` a
    ``plugins.documents.imap.IncomingMail`` (sender, subject, Message-ID,
    In-Reply-To, References, plain-text body, attachments, ``auto_submitted``;
    header and body texts already scrubbed and cut), ``mailbox`` its
    ``plugins.documents.imap.Mailbox``. The handler runs inside the intake's
    transaction, as a reaction (no operator permission is asked: use the
    service functions' ``system`` path), and returns a dict kept in the
    intake log (``{"ticket_id": 7}``; ``{"ignored": "auto-reply"}`` marks the
    mail ignored). Raising rolls the change back; the mail is tried again in
    the next round. The mail is handled once: the intake records it in the
    same transaction and moves it to the mailbox's processed folder after.

    :param ctx: the implementing plugin's own context.
    """
