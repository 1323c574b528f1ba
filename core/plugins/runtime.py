"""One running Backdesk: config, store, operator, plugins and core services.

The CLI and the Textual app both build one with :func:`open_backdesk`, so
every rule holds in both.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from core.services.access import Operator, resolve_operator
from core.config import load_config, validate_settings
from core.api.context import PluginContext
from core.errors import BackdeskError, ConfigError
from core.gcpause import hold_gc  # noqa: F401 (core.plugins.runtime.hold_gc: the CLI and the app use it)
from core.api.hookspecs import Setting, TableSpec
from core.i18n import configure
from core.plugins.host import PluginHost, _one_line
from core.storage import open_store


class Backdesk:
    """The running back office: what screens, commands and services share."""

    def __init__(self, config, operator: Operator, *, kiosk: bool = False, demo: bool = False) -> None:
        self.config = config
        self.operator = operator
        self.kiosk = kiosk
        self.demo = demo
        self.host = PluginHost()
        self.store = None
        self.services = SimpleNamespace()
        #: "plugin.table" -> TableSpec for every declared table
        self.table_specs: dict[str, TableSpec] = {}

    # ------------------------------------------------------------------ start
    def start(self, *, load_entry_points: bool = True, environ: dict | None = None, store=None,
              notice=None) -> "Backdesk":
        """``store``: the config's store, opened already (it is closed with
        this Backdesk, or here when the start fails before taking it);
        ``notice``: where the store says what the start waits for (a table's
        upgrade: :attr:`core.storage.base.Store.notice`)."""
        # plugins.yaml and the plugins' settings are checked before the store
        # is opened: a bad config stops the start with nothing written
        try:
            self.host.load(self.config.plugins, environ=environ, load_entry_points=load_entry_points)
            self._settle_settings()
        except BaseException:
            if store is not None:
                store.close()
            raise
        self.store = store if store is not None else open_configured_store(self.config, notice)
        self.store.actor = self.operator.account
        self.store.notice = notice
        for rec in self.host.active:
            self.host.contexts[rec.name] = PluginContext(self, rec)
        self._wire_services()
        self._declare_tables()
        self.services.audit.record_pending_restore()  # a restore not recorded yet (killed before it was)
        return self

    def _settle_settings(self) -> None:
        """Validate each plugin's settings; a bad value is a config error."""
        for rec in list(self.host.active):
            try:
                spec = self.host.call_one(rec, "backdesk_settings") or {}
            except Exception as exc:
                self.host.fail_plugin(rec.name, f"backdesk_settings failed: {_one_line(exc)}",
                                      traceback.format_exc())
                continue
            if not all(isinstance(v, Setting) for v in spec.values()):
                self.host.fail_plugin(rec.name, "backdesk_settings must return {name: Setting}")
                continue
            # ConfigError propagates: a bad plugins.yaml stops the start (exit 2)
            rec.settings = validate_settings(spec, rec.settings, rec.entry)

    def _declare_tables(self) -> None:
        for rec in list(self.host.active):
            try:
                specs = self.host.call_one(rec, "backdesk_tables") or []
                for spec in specs:
                    if not isinstance(spec, TableSpec):
                        raise BackdeskError("backdesk_tables must return a list of TableSpec")
                    self.declare_table(rec.name, spec)
            except ConfigError:
                raise
            except Exception as exc:
                self.host.fail_plugin(rec.name, f"its tables cannot be opened: {_one_line(exc)}",
                                      traceback.format_exc())

    def _wire_services(self) -> None:
        """Create the core services every plugin shares (see core/services)."""
        # every service's module (printing, working days, search, …) when a
        # Backdesk opens, not for open_configured_store's users (check, serve)
        from core.plugins import services  # every service's module, when a Backdesk opens (above)

        services.wire(self)

    # ------------------------------------------------------------------ helpers
    def declare_table(self, namespace: str, spec: TableSpec):
        """Declare (and open, migrating if needed) a table; core uses this too."""
        self.table_specs[f"{namespace}.{spec.name}"] = spec
        return self.store.table(namespace, spec.name, version=spec.version,
                                migrations=spec.migrations, derive=spec.derive, words=spec.words)

    def read_permission(self, full_name: str) -> str:
        """The permission that reads a declared table whole
        (:attr:`TableSpec.read`, by default ``"<plugin>.<table>.read"``)."""
        spec = self.table_specs.get(full_name)
        if spec is not None and spec.read:
            return spec.read
        return f"{full_name}.read"

    def is_confidential(self, full_name: str) -> bool:
        spec = self.table_specs.get(full_name)
        return bool(spec is not None and spec.confidential)

    def table(self, full_name: str):
        """A declared table by its full name (``"it.tickets"``, ``"core.people"``)."""
        spec = self.table_specs.get(full_name)
        if spec is None:
            raise BackdeskError(f"no table named {full_name!r}; known: "
                                + ", ".join(sorted(self.table_specs)))
        namespace = full_name.partition(".")[0]
        return self.store.table(namespace, spec.name, version=spec.version,
                                migrations=spec.migrations, derive=spec.derive, words=spec.words)

    def context(self, plugin: str) -> PluginContext:
        try:
            return self.host.contexts[plugin]
        except KeyError:
            raise BackdeskError(f"no plugin named {plugin!r} is loaded") from None

    def close(self) -> None:
        exports = getattr(self.services, "exports", None)
        if exports is not None:
            exports.close()
        if self.store is not None:
            self.store.close()
            self.store = None


def open_configured_store(config, notice=None):
    """The store the config names: the TinyDB folder or PostgreSQL;
    ``notice``: :attr:`core.storage.base.Store.notice` (a TinyDB folder
    that another process writes says so while it waits to open)."""
    if config.storage.backend == "postgresql":
        from core.storage.pg import open_pg_store  # psycopg only for PostgreSQL (~200 ms to import)

        return open_pg_store(config.storage.dsn)
    # lazy_tables: a session reads a table when it first uses it (docs/performance.md, "A year")
    return open_store(config.data_dir, compact_bytes=config.storage.compact_after_mb << 20, lazy_tables=True,
                      notice=notice)


def open_backdesk(config_dir=None, data_dir=None, *, account: str | None = None,
                  kiosk: bool = False, demo: bool = False, config=None,
                  load_entry_points: bool = True, environ: dict | None = None,
                  host: PluginHost | None = None, store=None, notice=None) -> Backdesk:
    """Load config, resolve the operator, open the store and load the plugins.

    ``host``: a plugin host that already loaded ``config.plugins`` (the CLI
    loads them to register the plugins' subcommands); it is used as it is.
    ``store``: the config's store, opened already; this Backdesk owns it
    from here on (closed with it, or at once when the start fails).
    ``notice``: where the store says, a line at a time, what the start
    waits for (a table's upgrade after a new release; the command line: the
    terminal); None: the log alone.

    Raises :class:`core.errors.ConfigError` for a bad config and
    :class:`core.errors.PermissionDenied` for an account config refuses —
    before anything is written.
    """
    release_gc = hold_gc()
    try:
        if config is None:
            config = load_config(config_dir, data_dir)
        # before any screen module is imported: their labels are translated then
        configure(config.site.locale, config.site.timezone, config.site.currency)
        try:
            operator = resolve_operator(config, account, demo=demo)
        except BaseException:
            if store is not None:
                store.close()
            raise
        bd = Backdesk(config, operator, kiosk=kiosk, demo=demo)
        if host is not None:
            bd.host = host  # Backdesk.start's host.load() on the same entries does nothing
        try:
            bd.start(load_entry_points=load_entry_points, environ=environ, store=store, notice=notice)
        except BaseException:
            bd.close()
            raise
        return bd
    finally:
        release_gc()
