"""The per-plugin context handed to every hook as ``ctx``."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from core.errors import BackdeskError
from core.i18n import translator_for
from core.outputs import exports_dir
from core.api.plugin_views import PluginConfig, PluginServices, PluginStore, ReadTable, foreign_table, split_table_name

if TYPE_CHECKING:  # pragma: no cover
    from core.plugins.host import PluginRecord  # types only
    from core.plugins.runtime import Backdesk  # types only


class PluginContext:
    """What a plugin may use: its tables, its settings, the core services.

    ``ctx.table("calls")`` (or ``ctx.table("telephony.calls")``) opens the
    plugin's own table ``telephony.calls`` (declared through
    ``backdesk_tables``); another plugin's table is refused there and in
    ``ctx.store``, and read with ``ctx.read_table("hr.records")``, which
    checks the operator's permission and audits confidential reads.
    ``ctx.config`` holds the site's public settings and the plugin's own;
    ``ctx.services.events`` publishes only the plugin's events. See
    docs/plugins.md, "What a plugin can and cannot do".

    ``ctx.backdesk`` is core's running Backdesk, not part of the plugin API:
    code that goes through it goes around these walls.
    """

    def __init__(self, backdesk: "Backdesk", record: "PluginRecord") -> None:
        self.backdesk = backdesk
        self.record = record
        self.name = record.name
        self._translate = None
        self._store = PluginStore(backdesk, record.name)
        self._services = PluginServices(backdesk, record.name)
        self._config: PluginConfig | None = None

    # -- identity and settings -------------------------------------------------
    @property
    def info(self):
        return self.record.info

    @property
    def settings(self) -> dict:
        return self.record.settings

    @property
    def config(self) -> PluginConfig:
        """The site's public settings and this plugin's (:class:`core.api.plugin_views.PluginConfig`)."""
        if self._config is None or self._config._config is not self.backdesk.config:
            self._config = PluginConfig(self.backdesk.config, self.name, self.record.settings)
        return self._config

    @property
    def services(self) -> PluginServices:
        """Core's services (people, notifications, calendar, search, audit,
        access); ``events`` publishes this plugin's events only."""
        return self._services

    @property
    def store(self) -> PluginStore:
        """Transactions and this plugin's own tables; ``actor`` is read-only."""
        return self._store

    @property
    def operator(self):
        return self.backdesk.operator

    def exports_dir(self) -> Path:
        """The operator's exports folder, ``<data_dir>/exports/<account>/``
        (created 0700): where a file the operator produces on a screen goes
        (a bank file, a report) — never the process's working folder, which
        over SSH is the server's. ``core.shell.widgets.ExportForm`` writes there;
        ``backdesk files`` lists it. On a PostgreSQL site it is first
        brought up to date with the files the operator saved on other hosts
        (:class:`core.outputs.SharedExports`)."""
        folder = exports_dir(self.config.data_dir, self.operator.account)
        shared = getattr(self.backdesk.services, "exports", None)
        return shared.sync(folder) if shared is not None else folder

    # -- storage -----------------------------------------------------------------
    def table(self, name: str):
        """The plugin's table ``name`` (``"parcels"`` or its full name
        ``"parcels.parcels"``), as declared in ``backdesk_tables``."""
        namespace, table = split_table_name(self.name, name)
        if namespace != self.name:
            raise foreign_table(self.name, f"{namespace}.{table}")
        if f"{self.name}.{table}" not in self.backdesk.table_specs:
            raise BackdeskError(
                f"plugin {self.name!r} has not declared a table named {table!r} in backdesk_tables"
            )
        return self.backdesk.table(f"{self.name}.{table}")

    def table_name(self, name: str) -> str:
        """The full name of the plugin's table (``"parcels.parcels"``), as
        the store, events and the audit trail name tables (``WATCH_TABLES``
        and ``Card.tables`` take the short name too)."""
        namespace, table = split_table_name(self.name, name)
        if namespace != self.name:
            raise foreign_table(self.name, f"{namespace}.{table}")
        return f"{namespace}.{table}"

    def read_table(self, full_name: str) -> ReadTable:
        """Another plugin's (or core's) table ``"hr.records"``, read-only:
        each read needs the table's read permission and a confidential
        table's reads are written to the audit trail."""
        return ReadTable(self.backdesk, self.name, full_name)

    @contextmanager
    def transaction(self, what: str | None = None) -> Iterator[None]:
        """All-or-nothing across this plugin's and core's tables. ``what``:
        the line the audit trail shows for the changes (``"handed over to
        Anna Schmidt"``; at most 500 characters; the outermost one wins)."""
        with self.backdesk.services.audit.noting(what), self.backdesk.store.transaction():
            yield

    # -- permissions -------------------------------------------------------------
    def can(self, permission: str) -> bool:
        return self.backdesk.operator.can(permission)

    def require(self, permission: str, what: str | None = None) -> None:
        """Raise :class:`core.errors.PermissionDenied` unless the operator
        holds ``permission``. ``what`` says what was refused, in words:
        ``ctx.require("parcels.parcels.log", _("log parcels"))`` gives "Bob
        (bob) may not log parcels: needs permission 'parcels.parcels.log'".
        Without ``what`` the permission's description from
        ``PluginInfo.permissions`` says it ("may not log and hand over
        parcels")."""
        if what is None:
            described = (getattr(self.info, "permissions", None) or {}).get(permission)
            if described:
                what = described[:1].lower() + described[1:]
        self.backdesk.operator.require(permission, what)

    @property
    def permissions(self) -> tuple[str, ...]:
        """The permissions this plugin defines (``PluginInfo.permissions``)."""
        return tuple(getattr(self.info, "permissions", None) or ())

    # -- people ------------------------------------------------------------------
    def person_name(self, person_id: Any, default: str | None = "") -> str | None:
        """The name of the person one of this plugin's records refers to
        (``default`` when there is none). Needs ``core.directory.read`` or
        any permission this plugin defines: a clerk who may see the
        plugin's records sees whom they are for. Looking people up
        (``ctx.services.people.get/find/choices``) needs
        ``core.directory.read``."""
        return self.backdesk.services.people.display_name(person_id, default, allowed_by=self.permissions)

    # -- events and notifications -------------------------------------------------
    def publish(self, name: str, data: dict | None = None, *, on: Any = None) -> Any:
        """Publish the domain event ``<plugin>.<name>`` (inside the caller's
        transaction when there is one); its source is this plugin. Another
        plugin's events are refused (:class:`core.errors.PermissionDenied`).
        ``on``: the day it is for ("2026-12-31"); a day to come keeps it
        scheduled until that day (see :mod:`core.services.events`)."""
        return self._services.events.publish(name, data, on=on)

    # -- language --------------------------------------------------------------------
    def _(self, message: str) -> str:
        """Translate with the plugin's own catalog (falls back to core's)."""
        return self._translator()(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for ``n`` from the plugin's catalog:
        ``ctx.ngettext("{n} parcel", "{n} parcels", n).format(n=n)``."""
        return self._translator().ngettext(singular, plural, n)

    def _translator(self):
        if self._translate is None:
            path = getattr(self.record.module, "__file__", None)
            locale_dir = Path(path).parent / "locale" if path else None
            self._translate = translator_for(self.name, locale_dir)
        return self._translate
