"""The kiosk's login and lock screen: operator and PIN.

:class:`LockScreen` is used twice: as the only screen of :class:`LoginApp`
(before anyone has logged in) and pushed over a running kiosk shell when it
locks (idle, or the operator pressed the lock key). It dismisses with the
account that opened it; the shell decides whether that is the same operator
(unlock) or another one (the session changes hands).
"""

from __future__ import annotations

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, Static

from core.i18n import _
from core.services.kiosk import PinGuard, check_login


class LockScreen(ModalScreen[str]):
    """Operator + PIN; dismisses with the account once the PIN is right."""

    DEFAULT_CSS = """
    LockScreen { align: center middle; background: $background; }
    LockScreen #lock-box {
        width: 44; height: auto; padding: 1 2;
        border: heavy $primary; background: $panel;
    }
    LockScreen #lock-title { text-style: bold; width: 100%; content-align: center middle; }
    LockScreen Label { margin-top: 1; }
    LockScreen #lock-message { height: 2; margin-top: 1; color: $warning; }
    LockScreen #lock-hint { color: $text-muted; }
    """
    # Escape must not reveal the shell underneath
    BINDINGS = [Binding("escape", "nothing", show=False, priority=True, id="lock.escape")]

    def __init__(self, config, guard: PinGuard, *, account: str | None = None,
                 title: str | None = None, hint: str | None = None) -> None:
        super().__init__(id="lock-screen")
        self.config = config
        self.guard = guard
        self.preset = account
        self.heading = title or _("Backdesk is locked")
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="lock-box"):
            yield Static(self.config.site.name, id="lock-title")
            yield Static(self.heading, id="lock-heading")
            yield Label(_("Operator"))
            yield Input(value=self.preset or "", placeholder=_("account"), id="lock-account")
            yield Label(_("PIN"))
            # a placeholder of dots would look like a PIN already typed
            yield Input(password=True, placeholder=_("digits, then Enter"), id="lock-pin")
            yield Static("", id="lock-message")
            if self.hint:
                yield Static(self.hint, id="lock-hint", markup=False)

    def on_mount(self) -> None:
        (self.query_one("#lock-pin") if self.preset else self.query_one("#lock-account")).focus()
        self._tick()

    def action_nothing(self) -> None:
        pass

    @on(Input.Submitted, "#lock-account")
    def _account_entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#lock-pin", Input).focus()

    @on(Input.Submitted, "#lock-pin")
    def _pin_entered(self, event: Input.Submitted) -> None:
        event.stop()
        account = self.query_one("#lock-account", Input).value.strip()
        pin_input = self.query_one("#lock-pin", Input)
        ok, message = check_login(self.config, account, pin_input.value, self.guard)
        pin_input.value = ""
        if ok:
            self.dismiss(account)
            return
        self.query_one("#lock-message", Static).update(message)
        self._tick()

    def _tick(self) -> None:
        """Keep the PIN field disabled while the guard makes the operator wait."""
        wait = self.guard.wait()
        pin_input = self.query_one("#lock-pin", Input)
        if wait > 0:
            pin_input.disabled = True
            self.set_timer(min(wait, 1.0), self._tick)
        elif pin_input.disabled:
            self.guard.after_lockout()
            pin_input.disabled = False
            self.query_one("#lock-message", Static).update(_("Enter your PIN."))
            pin_input.focus()


class LoginApp(App[str]):
    """The kiosk before anyone logged in: only the login screen, no way out."""

    TITLE = "Backdesk"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+q", "nothing", show=False, priority=True, id="kiosk.no_quit"),
        Binding("ctrl+c", "nothing", show=False, priority=True, id="kiosk.no_interrupt"),
        Binding("ctrl+z", "nothing", show=False, priority=True, id="kiosk.no_suspend"),
    ]

    def __init__(self, config, guard: PinGuard, *, hint: str | None = None) -> None:
        super().__init__()
        self.config = config
        self.guard = guard
        self.hint = hint
        if config.site.theme in self.available_themes:
            self.theme = config.site.theme

    def on_mount(self) -> None:
        self.push_screen(LockScreen(self.config, self.guard, title=_("Log in with your PIN"), hint=self.hint),
                         self.exit)

    def action_nothing(self) -> None:
        pass

    def action_quit(self) -> None:  # a kiosk is never quit by key
        pass

    def action_help_quit(self) -> None:
        pass

    def action_suspend_process(self) -> None:
        pass
