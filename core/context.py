"""The per-plugin context handed to every hook as ``ctx``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import BackdeskError

if TYPE_CHECKING:  # pragma: no cover
    from core.plugins import PluginRecord
    from core.runtime import Backdesk


class PluginContext:
    """What a plugin may use: its tables, its settings, the core services.

    ``ctx.table("calls")`` opens the plugin's own table ``telephony.calls``
    (declared through ``backdesk_tables``); a plugin cannot open another
    plugin's tables through it — plugins meet in core services and events.
    """

    def __init__(self, backdesk: "Backdesk", record: "PluginRecord") -> None:
        self.backdesk = backdesk
        self.record = record
        self.name = record.name
        self._translate = None

    # -- identity and settings -------------------------------------------------
    @property
    def info(self):
        return self.record.info

    @property
    def settings(self) -> dict:
        return self.record.settings

    @property
    def config(self):
        return self.backdesk.config

    @property
    def services(self):
        return self.backdesk.services

    @property
    def store(self):
        return self.backdesk.store

    @property
    def operator(self):
        return self.backdesk.operator

    # -- storage -----------------------------------------------------------------
    def table(self, name: str):
        """The plugin's table ``name``, as declared in ``backdesk_tables``."""
        if f"{self.name}.{name}" not in self.backdesk.table_specs:
            raise BackdeskError(
                f"plugin {self.name!r} has not declared a table named {name!r} in backdesk_tables"
            )
        return self.backdesk.table(f"{self.name}.{name}")

    def transaction(self):
        """All-or-nothing across this plugin's and core's tables."""
        return self.backdesk.store.transaction()

    # -- permissions -------------------------------------------------------------
    def can(self, permission: str) -> bool:
        return self.backdesk.operator.can(permission)

    def require(self, permission: str) -> None:
        """Raise :class:`core.errors.PermissionDenied` unless the operator may."""
        self.backdesk.operator.require(permission)

    # -- events and notifications -------------------------------------------------
    def publish(self, name: str, data: dict | None = None) -> Any:
        """Publish the domain event ``<plugin>.<name>`` (inside the caller's
        transaction when there is one)."""
        full = name if "." in name else f"{self.name}.{name}"
        if not full.startswith(self.name + "."):
            raise BackdeskError(f"plugin {self.name!r} may only publish {self.name}.* events")
        return self.backdesk.services.events.publish(full, data or {})

    # -- language --------------------------------------------------------------------
    def _(self, message: str) -> str:
        """Translate with the plugin's own catalog (falls back to core's)."""
        if self._translate is None:
            from core.i18n import translator_for

            module = self.record.module
            locale_dir = None
            path = getattr(module, "__file__", None)
            if path:
                from pathlib import Path

                locale_dir = Path(path).parent / "locale"
            self._translate = translator_for(self.name, locale_dir)
        return self._translate(message)
