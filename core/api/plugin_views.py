"""What a plugin sees of the store, the config and the services (``ctx.store``,
``ctx.config``, ``ctx.services``, ``ctx.read_table``).

Plugins are trusted Python code: nothing here stops a plugin that imports
core's internals on purpose. These views make the plugin API itself hold
Backdesk's rules, so a mistake is refused with a line saying why instead of
quietly reading salaries or writing as somebody else (docs/plugins.md,
"What a plugin can and cannot do"):

* :class:`PluginStore` opens the plugin's own tables and transactions; its
  ``actor`` (who the journal and the audit trail name) cannot be set;
* :class:`ReadTable` is the one way to read another plugin's (or core's)
  table: every read checks the operator's permission for that table and a
  confidential table's read is written to the audit trail;
* :class:`PluginConfig` holds the site's public settings and the plugin's
  own; not the storage DSN, the operators' PINs or other plugins' settings;
* :class:`PluginServices` is ``backdesk.services`` with ``events`` bound to
  the plugin: it publishes only the plugin's own events, stored with the
  plugin as their source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import BackdeskError, PermissionDenied
from core.i18n import _
from core.storage.holds import this_process
from core.records import Record

WALLS = "docs/plugins.md, 'What a plugin can and cannot do'"


def split_table_name(plugin: str, name: str) -> tuple[str, str]:
    """``("parcels", "parcels")`` for ``"parcels"`` or ``"parcels.parcels"``
    asked by the plugin ``parcels``; the namespace and the table."""
    if "." in name:
        namespace, _sep, table = name.partition(".")
        return namespace, table
    return plugin, name


def full_table_name(plugin: str, name: str) -> str:
    """``"parcels.parcels"`` for ``"parcels"`` (or itself) named by the plugin
    ``parcels``: how the store, ``WATCH_TABLES`` and ``Card.tables`` match."""
    return ".".join(split_table_name(plugin, name))


class ForeignTable(BackdeskError):
    """A plugin opened another plugin's table for writing."""


def foreign_table(plugin: str, full: str) -> ForeignTable:
    # for the plugin's author, not the operator: English, like Python's own errors
    return ForeignTable(
        f"plugin {plugin!r} cannot open {full}: it is another plugin's table; read it with "
        f"ctx.read_table({full!r}) (checks the operator's permission) or through "
        f"{full.partition('.')[0]}'s services")


class PluginStore:
    """``ctx.store``: transactions and the plugin's own tables.

    ``ctx.store.actor`` tells who is writing (the operator's account); it is
    read-only. Tables of other plugins are refused (:class:`ForeignTable`);
    read them with ``ctx.read_table("hr.records")``. The store's commit
    callbacks (which see every table's changes) are core's.
    """

    def __init__(self, backdesk, plugin: str) -> None:
        self._backdesk = backdesk
        self._plugin = plugin

    @property
    def actor(self) -> str | None:
        return self._backdesk.store.actor

    @actor.setter
    def actor(self, value: Any) -> None:
        raise PermissionDenied(
            f"plugin {self._plugin!r} cannot set ctx.store.actor: changes are recorded as the operator's "
            f"({self._backdesk.store.actor}), whoever writes them")

    def transaction(self):
        """All-or-nothing across this plugin's and core's tables."""
        return self._backdesk.store.transaction()

    def refresh(self) -> set[str]:
        return self._backdesk.store.refresh()

    def table(self, namespace: str, name: str, **kwargs: Any):
        if namespace != self._plugin:
            raise foreign_table(self._plugin, f"{namespace}.{name}")
        return self._backdesk.store.table(namespace, name, **kwargs)

    def existing_table(self, name: str):
        namespace, table = split_table_name(self._plugin, name)
        if namespace != self._plugin:
            raise foreign_table(self._plugin, f"{namespace}.{table}")
        return self._backdesk.store.existing_table(f"{namespace}.{table}")

    def files(self, name: str = "files", *, full_names: bool = False):
        """The plugin's content-addressed files ``name``
        (:class:`core.storage.filestore.FileStore`): on the default backend
        the folder ``<data_dir>/<plugin>/<name>``, on PostgreSQL the
        database, which every host serving the office shares. Store a file
        *before* the transaction that records its ``sha256``."""
        return self._backdesk.store.files(f"{self._plugin}/{name}", local_dir=self._backdesk.config.data_dir,
                                          full_names=full_names)

    def hold(self, name: str):
        """The hold ``<plugin>.<name>`` (:class:`core.storage.holds.Hold`):
        work the office wants done by one process at a time, whichever host
        (a watcher, sending the outbox). Ask ``held()`` before each round:
        the first process to ask takes it, the others stand by and take over
        when it goes away; ``holder()`` says who has it. ``backdesk status``
        lists them."""
        return self._backdesk.store.hold(f"{self._plugin}.{name}", who=this_process(self._backdesk.operator.account),
                                         local_dir=self._backdesk.config.data_dir)

    def tables(self) -> list[str]:
        """The plugin's own tables in the store ("parcels.parcels", …)."""
        return [t for t in self._backdesk.store.tables() if t.partition(".")[0] == self._plugin]

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"ctx.store has no {name!r}: a plugin's store opens its own tables and transactions ({WALLS})")


class ReadTable:
    """Another plugin's (or core's) table, read-only, as the operator at work.

    Each read asks for the table's read permission (``TableSpec.read``, by
    default ``"<plugin>.<table>.read"``; ``core.people`` needs
    ``core.directory.read``) and, for a confidential table (HR's records,
    payslips, …), writes a read entry to the audit trail naming the calling
    plugin. Inside an event reaction core grants the permission (see
    docs/events.md); the audit entry is written all the same.
    """

    def __init__(self, backdesk, plugin: str, full: str) -> None:
        if full not in backdesk.table_specs:
            known = ", ".join(sorted(backdesk.table_specs)) or "none"
            raise BackdeskError(_("no table named {name!r}; known: {known}").format(name=full, known=known))
        self._backdesk = backdesk
        self._plugin = plugin
        self.name = full
        self.permission = backdesk.read_permission(full)
        self.confidential = backdesk.is_confidential(full)

    def _check(self, doc_id: int | None, what: str):
        self._backdesk.operator.require(self.permission, _("read {table} ({what}, plugin {plugin})").format(
            table=self.name, what=what, plugin=self._plugin))
        return self._backdesk.table(self.name)

    def _audit(self, doc_id: int | None, what: str, count: int) -> None:
        if self.confidential and count:
            self._backdesk.services.audit.record_read(
                self._plugin, self.name, doc_id,
                _("plugin {plugin} read {table} ({what}): {count} records").format(
                    plugin=self._plugin, table=self.name, what=what, count=count))

    def get(self, doc_id: int) -> dict | None:
        doc = self._check(doc_id, "get").get(doc_id)
        self._audit(doc_id, "get", 1 if doc is not None else 0)
        return doc

    def __getitem__(self, doc_id: int) -> dict:
        doc = self.get(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        return doc

    def find(self, where: dict | None = None, **kwargs: Any) -> list[dict]:
        docs = self._check(None, "find").find(where, **kwargs)
        self._audit(None, "find", len(docs))
        return docs

    def all(self) -> list[dict]:
        docs = self._check(None, "all").all()
        self._audit(None, "all", len(docs))
        return docs

    def count(self, where: dict | None = None) -> int:
        return self._check(None, "count").count(where)

    def __repr__(self) -> str:
        return f"<ReadTable {self.name} (needs {self.permission})>"


@dataclass(frozen=True, repr=False, eq=False)
class PublicOperator(Record):
    """An operator as plugins see them: no PIN hash."""

    login: str
    name: str
    roles: tuple[str, ...] = ()
    email: str | None = None
    person_id: int | None = None


class PluginConfig:
    """``ctx.config``: the site's public settings and the plugin's own.

    ``site`` (name, locale, timezone, currency, theme), ``calendar``,
    ``data_dir``, ``roles``, ``operators`` (login, name, roles, email,
    person_id — no PIN hash), ``unknown_accounts``,
    ``read_only_permissions``, ``config_file`` and ``settings`` (the
    plugin's, validated). The storage DSN, SSH and kiosk settings and
    other plugins' settings are not here.
    """

    PUBLIC = ("site", "calendar", "data_dir", "roles", "unknown_accounts", "read_only_permissions",
              "config_file")

    def __init__(self, config, plugin: str, settings: dict) -> None:
        self._config = config
        self._plugin = plugin
        self.settings = settings
        self._operators: dict[str, PublicOperator] | None = None

    @property
    def operators(self) -> dict[str, PublicOperator]:
        if self._operators is None:
            self._operators = {
                login: PublicOperator(login=login, name=op.name, roles=tuple(op.roles),
                                      email=getattr(op, "email", None), person_id=getattr(op, "person_id", None))
                for login, op in self._config.operators.items()}
        return self._operators

    def __getattr__(self, name: str) -> Any:
        if name in PluginConfig.PUBLIC:
            return getattr(self._config, name)
        raise AttributeError(
            f"ctx.config has no {name!r}: plugins see the site's public settings and their own ({WALLS})")


class PluginEvents:
    """``ctx.services.events`` for one plugin: publishes its own events only."""

    def __init__(self, bus, plugin: str) -> None:
        self._bus = bus
        self._plugin = plugin

    def publish(self, name: str, data: dict | None = None, *, on: Any = None) -> int:
        full = name if "." in name else f"{self._plugin}.{name}"
        if full.partition(".")[0] != self._plugin:
            raise PermissionDenied(
                f"plugin {self._plugin!r} may only publish {self._plugin}.* events, not {full!r}")
        return self._bus.publish(full, data or {}, source=self._plugin, on=on)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)


class PluginServices:
    """``ctx.services``: core's services, ``events`` bound to the plugin."""

    def __init__(self, backdesk, plugin: str) -> None:
        self._backdesk = backdesk
        self._plugin = plugin
        self._events: PluginEvents | None = None

    @property
    def events(self) -> PluginEvents:
        bus = self._backdesk.services.events
        if self._events is None or self._events._bus is not bus:
            self._events = PluginEvents(bus, self._plugin)
        return self._events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backdesk.services, name)
