"""The clock terminal: a kiosk at the door that shows only the clock.

``backdesk time terminal`` runs one Textual app that nobody can leave (no
quit, suspend or palette): the PIN login of core's kiosk
(:class:`core.shell.screens.lock.LockScreen` with a :class:`core.services.kiosk.PinGuard`:
operator account + PIN, wrong PINs slowed down and locked out as on every
kiosk), then the clock of the person linked to that operator and nothing
else — ``i`` clock in, ``o`` clock out, ``b`` break / back. After an action,
or :data:`IDLE_SECONDS` without a key, it returns to the login, so the next
person can clock.

Every login opens Backdesk as that operator (their permissions; a staff
role with ``hr.time.clock`` is enough) and closes it again; the clock is
written through :mod:`plugins.hr.worktime` like from the CLI and the
screens.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from core.services.kiosk import PinGuard
from core.shell.screens.lock import LockScreen
from plugins.hr.models import _

#: back to the login after this long without a key
IDLE_SECONDS = 20.0
#: and this long after clocking
AFTER_ACTION_SECONDS = 4.0


class ClockOnlyScreen(Screen[None]):
    """The person's clock and nothing else."""

    DEFAULT_CSS = """
    ClockOnlyScreen { align: center middle; }
    ClockOnlyScreen #terminal-box { width: 60; height: auto; }
    ClockOnlyScreen #terminal-help { margin-top: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("i", "clock('in')", _("Clock in"), id="hr.terminal_in"),
        Binding("o", "clock('out')", _("Clock out"), id="hr.terminal_out"),
        Binding("b", "clock('break')", _("Break"), id="hr.terminal_break"),
        Binding("escape", "done", _("Done"), id="hr.terminal_done"),
    ]

    def __init__(self, ctx, idle: float = IDLE_SECONDS, after: float = AFTER_ACTION_SECONDS) -> None:
        super().__init__()
        self.ctx = ctx
        self.idle = idle
        self.after = after
        self._timer = None

    def compose(self) -> ComposeResult:
        from plugins.hr.absence_screens import ClockPanel

        with Vertical(id="terminal-box"):
            yield ClockPanel(self.ctx, id="terminal-clock")
            yield Static(_("Esc: done (back to the login)"), id="terminal-help")

    def on_mount(self) -> None:
        self._arm(self.idle)

    def _arm(self, seconds: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(seconds, self.action_done)

    def on_key(self, event) -> None:
        self._arm(self.idle)

    def action_clock(self, what: str) -> None:
        from plugins.hr.absence_screens import ClockPanel

        if self.query_one(ClockPanel).act(what):
            self._arm(self.after)

    def action_done(self) -> None:
        self.dismiss(None)


class ClockTerminalApp(App[None]):
    """Login → the person's clock → login …; no way out."""

    TITLE = "Backdesk"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+q", "nothing", show=False, priority=True, id="terminal.no_quit"),
        Binding("ctrl+c", "nothing", show=False, priority=True, id="terminal.no_interrupt"),
        Binding("ctrl+z", "nothing", show=False, priority=True, id="terminal.no_suspend"),
    ]

    def __init__(self, config, open_context, *, guard: PinGuard | None = None,
                 idle: float = IDLE_SECONDS) -> None:
        super().__init__()
        self.config = config
        self.open_context = open_context  # account -> (hr context, close function)
        self.guard = guard or PinGuard(max_attempts=config.kiosk.max_pin_attempts)
        self.idle = idle
        self._close = None
        if config.site.theme in self.available_themes:
            self.theme = config.site.theme

    def on_mount(self) -> None:
        self.login()

    def login(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None
        self.push_screen(LockScreen(self.config, self.guard, title=_("Clock terminal: log in with your PIN")),
                         self.logged_in)

    def logged_in(self, account: str | None) -> None:
        if not account:
            self.login()
            return
        try:
            ctx, self._close = self.open_context(account)
        except Exception as error:  # a refused account, a broken store: tell and go back
            self.notify(str(error), severity="error", timeout=6)
            self.login()
            return
        self.push_screen(ClockOnlyScreen(ctx, idle=self.idle), lambda _r: self.login())

    def action_nothing(self) -> None:
        pass

    def action_quit(self) -> None:  # a terminal is never quit by key
        pass

    def action_help_quit(self) -> None:
        pass

    def action_suspend_process(self) -> None:
        pass


def run_terminal(get_context) -> None:
    """``backdesk time terminal``: run the clock terminal on this site's config."""
    import click

    from core.cli import State
    from core.plugins.runtime import open_backdesk

    state = click.get_current_context().find_object(State)
    config = state.config()

    def open_context(account: str):
        bd = open_backdesk(config=config, account=account, kiosk=True)
        return bd.context("hr"), bd.close

    ClockTerminalApp(config, open_context).run()
