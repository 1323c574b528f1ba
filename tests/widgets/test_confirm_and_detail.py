"""ConfirmDialog and DetailView."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.text import Text
from textual.app import App
from textual.color import Color

from core.shell.widgets import ConfirmDialog, DetailView, Field


class DialogHost(App[None]):
    def __init__(self, dialog: ConfirmDialog) -> None:
        super().__init__()
        self.dialog = dialog
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.results.append)


async def answer(keys: list[str], **kwargs: Any) -> list[Any]:
    app = DialogHost(ConfirmDialog("Delete ticket #12?", **kwargs))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        return app.results


async def test_y_answers_yes():
    assert await answer(["y"]) == [True]


async def test_n_answers_no():
    assert await answer(["n"]) == [False]


async def test_escape_answers_no():
    assert await answer(["escape"]) == [False]


async def test_enter_presses_yes_by_default_and_no_when_dangerous():
    assert await answer(["enter"]) == [True]
    assert await answer(["enter"], danger=True) == [False]
    assert await answer(["left", "enter"], danger=True) == [True]


async def test_danger_dialog_is_styled_with_error():
    app = DialogHost(ConfirmDialog("Erase everything?", title="Erase", danger=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        box = app.screen.query_one(".confirm-dialog--box")
        assert app.screen.has_class("-danger")
        error = Color.parse(app.get_css_variables()["error"])
        assert box.styles.border_top[1] == error
        assert app.screen.query_one("#yes").variant == "error"


class DetailHost(App[None]):
    def __init__(self, view: DetailView) -> None:
        super().__init__()
        self.view = view

    def compose(self):
        yield self.view


async def test_detail_view_shows_pairs_and_rich_values():
    view = DetailView(
        [("Title", "Printer [jammed]"), ("Amount", Decimal("12.50")), ("State", Text("open", style="bold")),
         ("Due", None)],
        title="Ticket 12",
    )
    app = DetailHost(view)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screenshot = app.export_screenshot()
        assert "Ticket&#160;12" in screenshot
        assert "Printer&#160;[jammed]" in screenshot
        assert "12.50" in screenshot
        assert "—" in screenshot


async def test_detail_view_shows_a_record_through_its_fields():
    fields = [
        Field("name", "Name"),
        Field("state", "State", kind="choice", choices={"o": "Open", "c": "Closed"}),
        Field("vip", "VIP", kind="bool"),
    ]
    view = DetailView(record={"name": "Ada", "state": "c", "vip": True}, fields=fields)
    app = DetailHost(view)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert view.pairs == [("Name", "Ada"), ("State", "Closed"), ("VIP", "yes")]
        view.update([("Only", "this")], title="Other")
        await pilot.pause()
        assert view.pairs == [("Only", "this")]
        assert "Other" in app.export_screenshot()


async def test_detail_view_scrolls_with_the_keyboard():
    view = DetailView([(f"Line {i}", f"value {i}") for i in range(60)])
    app = DetailHost(view)
    async with app.run_test(size=(80, 24)) as pilot:
        view.focus()
        await pilot.press("pagedown")
        await pilot.pause()
        assert view.scroll_y > 0
        await pilot.press("home")
        await pilot.pause()
        assert view.scroll_y == 0
