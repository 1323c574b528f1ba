"""The Textual app: navigation, palette, dashboard, notifications.

:func:`make_app` builds the app for the CLI and the tests alike. Each
navigation entry is a Textual *mode* with its own screen stack, so the
switchboard stays as the operator left it while they look something up.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import traceback
from dataclasses import replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Iterable

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from core.shell.console_glyphs import console_driver
from core.gcpause import collect_if_due, full_collections_when_idle, hold_gc
from core.api.hookspecs import Card, Command, NavEntry
from core.i18n import _
from core.api.plugin_views import full_table_name
from core.shell.screens.base import BackdeskScreen, TablesChanged
from core.shell.widgets.keys import key_text

#: seconds between two looks for scheduled events whose day has come
DUE_EVENTS_EVERY = 15 * 60
#: seconds without a key or the mouse after which the garbage collector's
#: full pass may run (core.gcpause.collect_if_due), checked as often
IDLE_GC_AFTER = 1.0

def _search_commands():
    """The palette's global search (imported when the palette first opens)."""
    from core.shell.screens.search import SearchCommands  # 3–14 ms (-X importtime)

    return SearchCommands


def _core_screens() -> list[NavEntry]:
    """Core's own screens besides home and plugins; each module is imported
    when its screen is first opened (the dashboard is drawn without them)."""

    def directory(bd):
        from core.shell.screens.directory import DirectoryScreen  # 86–145 ms (-X importtime): on first use

        return DirectoryScreen(bd)

    def notifications(bd):
        from core.shell.screens.notifications import NotificationsScreen  # 40–56 ms: on first use

        return NotificationsScreen(bd)

    def audit(bd):
        from core.shell.screens.audit import AuditScreen  # 34–89 ms: on first use

        return AuditScreen(bd)

    def search(bd):
        from core.shell.screens.search import SearchScreen  # 3–14 ms: on first use

        return SearchScreen(bd)

    return [
        NavEntry("directory", _("Directory"), directory, key="f3", permission="core.directory.read", order=10),
        NavEntry("search", _("Search"), search, key="ctrl+f", order=11),
        NavEntry("notifications", _("Notifications"), notifications, key="f4", order=12),
        NavEntry("audit", _("Audit trail"), audit, permission="core.audit.read", order=900),
    ]


#: how often other operators' changes are looked for (seconds)
POLL_INTERVAL = 0.5


class BackdeskApp(App):
    """The Backdesk shell."""

    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "Backdesk"
    BINDINGS = [
        Binding("ctrl+q", "quit", _("Quit"), id="app.quit", priority=True),
        Binding("f1", "help", _("Help"), id="app.help"),
        Binding("f2", "open_nav('home')", _("Home"), id="app.home"),
        Binding("ctrl+p", "command_palette", _("Commands"), id="app.palette", show=False),
        Binding("ctrl+f", "open_nav('search')", _("Search"), id="app.search", priority=True),
    ]
    COMMANDS = App.COMMANDS | {_search_commands}
    #: the app starts on the dashboard's mode (added in _collect) rather than
    #: on an empty default screen it would leave at once
    DEFAULT_MODE = "home"

    def __init__(self, backdesk, *, poll_interval: float = POLL_INTERVAL, guard=None,
                 idle_lock_seconds: float | None = None, start_gc_hold=None,
                 idle_clock=time.monotonic) -> None:
        # The Linux console's font lacks many glyphs: draw with those it has.
        super().__init__(driver_class=console_driver(os.environ.get("TERM")))
        #: the release of a core.plugins.runtime.hold_gc() the shell's process took
        #: when it started (core.cli.open_shell): after the first frame what
        #: starting allocated is frozen (gc.freeze) and the hold released
        self.start_gc_hold = start_gc_hold
        self.backdesk = backdesk
        self.poll_interval = poll_interval
        # kiosk: the PIN guard shared with the login screen, the idle lock
        self.guard = guard
        self.idle_lock_seconds = idle_lock_seconds
        #: seconds, for the idle lock (tests pass a clock they move by hand)
        self.idle_clock = idle_clock
        self.locked = False
        self._last_input = idle_clock()
        #: the last key, mouse or screen opened: the collector's full pass
        #: waits for a second without any (core.gcpause.collect_if_due)
        self._last_activity = self._last_input
        if backdesk.kiosk:
            from core.services.kiosk import PinGuard  # 7 ms (-X importtime): kiosk consoles only

            if self.guard is None:
                self.guard = PinGuard(max_attempts=backdesk.config.kiosk.max_pin_attempts)
            if self.idle_lock_seconds is None:
                self.idle_lock_seconds = backdesk.config.kiosk.idle_lock_minutes * 60
        self.sidebar_hidden = False
        self.inbox = None  # core.shell.screens.notifications.InboxBadge, from on_mount
        self.change_seq = 0
        self._changes: list[tuple[int, frozenset[str]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        #: tables changed before the app's loop ran (the dashboard's cards are
        #: rendered while the app composes, before on_mount): caught up then
        self._early_changes: set[str] = set()
        self._early_lock = threading.Lock()
        self._unsubscribe_store = backdesk.store.on_change(self._store_changed)
        self.nav_entries: list[NavEntry] = []
        self.nav_owner: dict[str, str] = {}  # nav id -> plugin name ("core" for core)
        self.cards: list[tuple[str, Card]] = []
        self.commands: list[tuple[str, Command]] = []
        cfg = backdesk.config
        self.title = cfg.site.name
        self.sub_title = f"{backdesk.operator.name} · {backdesk.operator.role_title}"
        if getattr(cfg.site, "theme", None):
            self._wanted_theme = cfg.site.theme
        else:
            self._wanted_theme = None
        self._collect()
        if backdesk.kiosk:
            self.bind("ctrl+l", "lock", description=_("Lock"))

    def show_person(self, person_id: int) -> None:
        """Open the Directory on ``person_id`` (a search hit's jump)."""
        from core.shell.screens.directory import show_person  # with the Directory, when first opened

        show_person(self, person_id)

    # ---------------------------------------------------------------- plugins
    def _collect(self) -> None:
        """Ask every plugin for navigation entries, cards and commands."""
        bd = self.backdesk
        op = bd.operator
        from core.shell.screens.home import HomeScreen  # 8–25 ms: after the app's first frame

        def plugins_screen(ctx):
            from core.shell.screens.plugins import PluginsScreen  # imported when first opened

            return PluginsScreen()

        core_entries = [
            NavEntry("home", _("Home"), lambda ctx: HomeScreen(), key="f2", order=0),
            *_core_screens(),
            NavEntry("plugins", _("Plugins"), plugins_screen, order=1000),
        ]
        entries: list[tuple[str, NavEntry]] = [("core", e) for e in core_entries]
        for rec, entry in bd.host.collect("backdesk_screens"):
            if isinstance(entry, NavEntry):
                entries.append((rec.name, entry))
        seen: set[str] = set()
        for owner, entry in sorted(entries, key=lambda pair: pair[1].order):
            if entry.permission and not op.can(entry.permission):
                continue
            if not self._kiosk_shows(owner):
                continue
            if entry.id in seen:
                continue
            seen.add(entry.id)
            self.nav_entries.append(entry)
            self.nav_owner[entry.id] = owner
        self.cards = [(owner, card) for owner, card in getattr(bd.services, "cards", [])]
        for rec, card in bd.host.collect("backdesk_dashboard_cards"):
            if isinstance(card, Card) and (not card.permission or op.can(card.permission)) \
                    and self._kiosk_shows(rec.name):
                # a plugin's own tables by their short name too ("parcels" for "parcels.parcels")
                tables = tuple(full_table_name(rec.name, t) for t in card.tables)
                self.cards.append((rec.name, card if tables == card.tables else replace(card, tables=tables)))
        self.cards.sort(key=lambda pair: pair[1].order)
        for rec, command in bd.host.collect("backdesk_commands"):
            if isinstance(command, Command) and (not command.permission or op.can(command.permission)) \
                    and self._kiosk_shows(rec.name, command):
                self.commands.append((rec.name, command))
        for entry in self.nav_entries:
            self.add_mode(entry.id, self._screen_factory(entry))
            if entry.key and entry.id != "home":
                self.bind(entry.key, f"open_nav('{entry.id}')", description=entry.title)

    def _kiosk_shows(self, owner: str, command: Command | None = None) -> bool:
        """On a kiosk, only the plugins and commands its config names."""
        if not self.backdesk.kiosk:
            return True
        kiosk = self.backdesk.config.kiosk
        if owner != "core" and kiosk.plugins is not None and owner not in kiosk.plugins:
            return False
        if command is not None and kiosk.commands is not None:
            names = (command.id, f"{owner}.{command.id}")
            return any(fnmatchcase(n, pattern) for n in names for pattern in kiosk.commands)
        return True

    def _screen_factory(self, entry: NavEntry):
        owner = self.nav_owner[entry.id]

        def make() -> Screen:
            ctx = self.backdesk.host.contexts.get(owner) if owner != "core" else self.backdesk
            screen = entry.screen(ctx)
            if screen._css_update_count == -1 and self._css_update_count == 0 and not screen.is_mounted:
                # Textual refreshes the CSS when a mode's first screen starts (a
                # new screen is at -1): it sets the variables, parses the whole
                # stylesheet again and restyles the app. With no theme or
                # variable change since the stylesheet was parsed (count 0)
                # the parse gives the same rules: restyle only (~3 ms less at
                # start, the dashboard's first screen; bench/startup.py's child)
                self.stylesheet.update(self)
                screen._css_update_count = self._css_update_count
            if isinstance(screen, BackdeskScreen):
                screen.nav_id = entry.id
                screen.nav_title = entry.title
                screen.owner = owner
            return screen

        return make

    # ---------------------------------------------------------------- lifecycle
    async def _process_messages(self, *args, **kwargs) -> None:
        # No cyclic GC from the start of the app to its first frame (see
        # core.gcpause.hold_gc); on_mount releases it after that frame.
        self._release_gc = hold_gc()
        try:
            await super()._process_messages(*args, **kwargs)
        finally:
            self._release_gc()
            self._unsubscribe_store()  # the store outlives the app (tests, the kiosk loop)

    def on_mount(self) -> None:
        if self._wanted_theme and self._wanted_theme in self.available_themes:
            self.theme = self._wanted_theme
        with self._early_lock:
            self._loop = asyncio.get_running_loop()
            early, self._early_changes = frozenset(self._early_changes), set()
        if early:
            self.call_later(self._tables_changed, early)
        release_gc = getattr(self, "_release_gc", None)
        if release_gc is not None:
            self.call_after_refresh(self._started, release_gc)  # after the home screen's first frame
        from core.shell.screens.notifications import InboxBadge  # 40–56 ms: after the home screen is drawn

        self.inbox = InboxBadge(self)  # unread count in the header, toasts
        if self.poll_interval:
            self.set_interval(self.poll_interval, self._poll_store, name="poll-store")
            # events for a day (a dismissal's last day) are published on it
            self.set_interval(DUE_EVENTS_EVERY, self._deliver_due_events, name="due-events")
            self.call_after_refresh(self._deliver_due_events)
        # The collector's full passes wait for the user to pause instead of
        # falling on a key (core.gcpause.full_collections_when_idle).
        full_collections_when_idle()
        self.set_interval(IDLE_GC_AFTER, self._collect_when_idle, name="idle-gc")
        if self.backdesk.kiosk and self.idle_lock_seconds:
            self.set_interval(min(5.0, max(0.05, self.idle_lock_seconds / 4)), self._check_idle,
                              name="idle-lock")
        failed = [r for r in self.backdesk.host.records.values() if r.status == "failed"]
        if failed:
            names = ", ".join(r.name for r in failed)
            self.notify(_("Some plugins failed to load: {names}. See Plugins.").format(names=names),
                        severity="warning", timeout=8)

    def _started(self, release_gc) -> None:
        if self.start_gc_hold is not None:
            # Starting allocated ~100k objects that live as long as the
            # process (modules, config, the store's documents, widgets); the
            # collector's catch-up pass would walk them all (~25 ms) to find
            # no garbage. Frozen objects are still freed by reference
            # counting; only a cycle among them would outlive its use.
            import gc

            gc.freeze()
            self.start_gc_hold()
        release_gc()

    def _collect_when_idle(self) -> None:
        if self.idle_clock() - self._last_activity >= IDLE_GC_AFTER:
            collect_if_due()

    # ---------------------------------------------------------------- kiosk
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown,
                              events.MouseScrollUp, events.MouseMove)):
            self._last_input = self._last_activity = self.idle_clock()
        await super().on_event(event)

    def _check_idle(self) -> None:
        if not self.locked and self.idle_clock() - self._last_input >= self.idle_lock_seconds:
            self.action_lock()

    def action_lock(self) -> None:
        """Kiosk: cover the shell with the PIN screen (idle, or the operator leaves)."""
        if not self.backdesk.kiosk or self.locked:
            return
        from core.shell.screens.lock import LockScreen  # 7–9 ms: when a console locks

        self.locked = True
        account = self.backdesk.operator.account
        self.push_screen(LockScreen(self.backdesk.config, self.guard, account=account), self._unlocked)

    def _unlocked(self, account: str | None) -> None:
        self.locked = False
        self._last_input = self.idle_clock()
        if account and account != self.backdesk.operator.account:
            self.exit(account)  # another operator: the kiosk loop opens their session

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.backdesk.kiosk and action in ("quit", "help_quit", "suspend_process"):
            return False  # not offered in the footer, and not run
        return super().check_action(action, parameters)

    async def action_quit(self) -> None:
        if self.backdesk.kiosk:
            return  # a kiosk is never quit by key
        await super().action_quit()

    def action_help_quit(self) -> None:
        if self.backdesk.kiosk:
            return
        return super().action_help_quit()

    def action_suspend_process(self) -> None:
        if self.backdesk.kiosk:
            return
        return super().action_suspend_process()

    def _deliver_due_events(self) -> None:
        """core.events' scheduled events whose day has come, in a thread."""
        self.run_worker(self.backdesk.services.events.deliver_due, thread=True, exclusive=True,
                        group="due-events", exit_on_error=False)

    def _poll_store(self) -> None:
        self.run_worker(self.backdesk.store.refresh, thread=True, exclusive=True,
                        group="poll-store", exit_on_error=False)

    def _store_changed(self, names) -> None:
        """Store callback; may run in any thread."""
        names = frozenset(names)
        with self._early_lock:
            loop = self._loop
            if loop is None:
                self._early_changes |= names
                return
        if threading.get_ident() == self._thread_id:
            self._tables_changed(names)
        else:
            try:
                loop.call_soon_threadsafe(self._tables_changed, names)
            except RuntimeError:  # loop closed while shutting down
                pass

    def _tables_changed(self, names: frozenset[str]) -> None:
        self.change_seq += 1
        self._changes.append((self.change_seq, names))
        del self._changes[:-500]
        if self.inbox is not None:
            self.inbox.tables_changed(names)
        # the screen showing hears at once; the others catch up on ScreenResume
        screen = self.screen
        if isinstance(screen, BackdeskScreen):
            screen.post_message(TablesChanged(names))

    def changed_since(self, seq: int) -> frozenset[str]:
        names: set[str] = set()
        for s, n in self._changes:
            if s > seq:
                names |= n
        return frozenset(names)

    # ---------------------------------------------------------------- navigation
    def action_open_nav(self, nav_id: str) -> None:
        self.open_nav(nav_id)

    def open_nav(self, nav_id: str) -> None:
        self._last_activity = self.idle_clock()
        if nav_id not in self._modes:
            self.notify(_("Nothing to open: {name}").format(name=nav_id), severity="warning")
            return
        if self.current_mode != nav_id:
            self.switch_mode(nav_id)

    def get_key_display(self, binding: Binding) -> str:
        """Keys written one way everywhere (``Ctrl+F``, German ``Strg+F``)."""
        return binding.key_display or key_text(binding.key)

    def action_help(self) -> None:
        from core.shell.screens.help import HelpScreen, help_rows  # 9–12 ms: when F1 is pressed

        title = getattr(self.screen, "nav_title", None) or self.title
        self.push_screen(HelpScreen(help_rows(self.screen, self.active_bindings.values()), str(title)))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for entry in self.nav_entries:
            yield SystemCommand(_("Open: {title}").format(title=entry.title), _("Go to this screen"),
                                lambda nav_id=entry.id: self.open_nav(nav_id))
        for owner, command in self.commands:
            yield SystemCommand(command.title, command.help,
                                lambda owner=owner, command=command: self._run_command(owner, command))
        if not self.backdesk.kiosk:
            yield from super().get_system_commands(screen)

    def _run_command(self, owner: str, command: Command) -> None:
        async def runner() -> None:
            try:
                result = command.run(self)
                if asyncio.iscoroutine(result):
                    await result
            except Exception as exc:
                self._plugin_failed(owner, exc, f"command {command.id}")

        self.run_worker(runner(), exit_on_error=False)

    # ---------------------------------------------------------------- isolation
    async def _dispatch_message(self, message) -> None:
        # Key bindings run screen actions inside the app's own message loop,
        # which Textual stops after an unhandled exception: a plugin's error
        # is caught here so the loop (and the shell) goes on.
        try:
            await super()._dispatch_message(message)
        except Exception as error:
            if not self.intercept_plugin_error(error):
                raise

    def intercept_plugin_error(self, error: BaseException) -> bool:
        """Handle ``error`` if a plugin's code raised it; True when handled."""
        owner = self.backdesk.host.owner_of(error.__traceback__)
        if owner is None and getattr(error, "__cause__", None) is not None:
            owner = self.backdesk.host.owner_of(error.__cause__.__traceback__)
        if owner is None:
            return False
        self._plugin_failed(owner.name, error, "screen")
        return True

    def _handle_exception(self, error: Exception) -> None:
        """A plugin's exception brings the operator home; core's is fatal."""
        if self._exit_renderables or not self.intercept_plugin_error(error):
            super()._handle_exception(error)

    def _plugin_failed(self, plugin: str, error: BaseException, where: str) -> None:
        rec = self.backdesk.host.records.get(plugin)
        if rec is not None:
            self.backdesk.host.record_failure(rec, where, error)
        self.log.error("".join(traceback.format_exception(type(error), error, error.__traceback__)))
        self.call_later(self._recover, plugin, error)

    async def _recover(self, plugin: str, error: BaseException) -> None:
        broken = [nav_id for nav_id, owner in self.nav_owner.items() if owner == plugin]
        if self.current_mode in broken:
            await self.switch_mode("home")
        # screens the plugin pushed on top of another stack (dialogs, details)
        package = self.backdesk.host.records[plugin].package if plugin in self.backdesk.host.records else None
        while package and len(self.screen_stack) > 1 and (
            type(self.screen).__module__ == package or type(self.screen).__module__.startswith(package + ".")
        ):
            self.pop_screen()
        for nav_id in broken:
            if nav_id != self.current_mode and nav_id in self._screen_stacks:
                # a fresh screen next time: the broken one stopped processing messages
                entry = next(e for e in self.nav_entries if e.id == nav_id)
                await self.remove_mode(nav_id)
                self.add_mode(nav_id, self._screen_factory(entry))
        title = self.backdesk.host.records[plugin].title if plugin in self.backdesk.host.records else plugin
        self.notify(
            _("{plugin} failed: {error}. You are back on the home screen; details under Plugins.").format(
                plugin=title, error=f"{type(error).__name__}: {error}"),
            severity="error", timeout=10,
        )


def make_app(backdesk, **kwargs) -> BackdeskApp:
    """Build the shell for a started :class:`core.plugins.runtime.Backdesk`."""
    return BackdeskApp(backdesk, **kwargs)
