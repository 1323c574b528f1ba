"""ConfirmDialog: a yes/no question as a modal screen."""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from core.shell.widgets._css import load_css
from core.shell.widgets._i18n import _

__all__ = ["ConfirmDialog"]


class ConfirmDialog(ModalScreen[bool]):
    """Ask a question; dismiss with ``True`` (yes) or ``False`` (no).

    Keys: ``y`` yes, ``n`` or escape no, left/right/tab between the buttons,
    enter presses the focused one. With ``danger=True`` the dialog is drawn
    in ``$error`` and "No" has the focus, so a stray enter does no harm.

        if await self.app.push_screen_wait(ConfirmDialog(_("Delete 3 tickets?"), danger=True)):
            ...

    Args:
        question: The question (plain text or a Rich renderable).
        title: An optional title line.
        yes_label: Text of the yes button (default "Yes").
        no_label: Text of the no button (default "No").
        danger: For destructive actions.
    """

    DEFAULT_CSS = load_css(__file__, "confirm_dialog.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", _("Yes"), id="confirm_dialog.yes"),
        Binding("n", "answer(False)", _("No"), id="confirm_dialog.no"),
        Binding("escape", "answer(False)", _("Cancel"), show=False, id="confirm_dialog.cancel"),
        Binding("left", "app.focus_previous", show=False, id="confirm_dialog.previous"),
        Binding("right", "app.focus_next", show=False, id="confirm_dialog.next"),
    ]

    def __init__(
        self,
        question: RenderableType,
        *,
        title: str | None = None,
        yes_label: str | None = None,
        no_label: str | None = None,
        danger: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.question = question
        self.dialog_title = title
        self.yes_label = yes_label or _("Yes")
        self.no_label = no_label or _("No")
        self.danger = danger
        self.set_class(danger, "-danger")

    def compose(self) -> ComposeResult:
        with Vertical(classes="confirm-dialog--box"):
            if self.dialog_title:
                yield Static(self.dialog_title, classes="confirm-dialog--title", markup=False)
            yield Static(self.question, classes="confirm-dialog--question", markup=False)
            with Horizontal(classes="confirm-dialog--buttons"):
                yield Button(
                    f"{self.yes_label} (y)",
                    variant="error" if self.danger else "primary",
                    id="yes",
                    compact=True,
                )
                yield Button(f"{self.no_label} (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no" if self.danger else "#yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
