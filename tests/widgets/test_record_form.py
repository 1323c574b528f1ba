"""RecordForm and FormScreen: errors at the right field, typed values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from core.errors import PermissionDenied, ValidationError
from core.i18n import configure, today
from core.cli.testing import wait_for
from core.shell.widgets import Field, FormScreen, RecordForm

FIELDS = [
    Field("title", "Title", required=True),
    Field("hours", "Hours", kind="int"),
    Field("rate", "Rate", kind="decimal", required=True),
    Field("due", "Due", kind="date"),
    Field("priority", "Priority", kind="choice", choices=[("low", "Low"), ("high", "High")]),
    Field("urgent", "Urgent", kind="bool"),
    Field("notes", "Notes", kind="multiline"),
    Field("pin", "PIN", kind="password"),
]


def error_text(form: RecordForm, key: str) -> str:
    """The error shown under field ``key`` ("" when hidden)."""
    error = form._errors[key]
    return str(error.render()) if error.has_class("-shown") else ""


def form_error(form: RecordForm) -> str:
    line = form.query_one(".record-form--form-error", Static)
    return str(line.render()) if line.has_class("-shown") else ""


async def type_into(pilot, form: RecordForm, key: str, text: str) -> None:
    control = form.control(key)
    control.focus()
    await pilot.pause()
    if isinstance(control, Input):
        control.value = ""
    await pilot.press(*text)


def submitted(app) -> list[dict[str, Any]]:
    return [values for kind, values in app.seen if kind == "submitted"]


async def test_required_and_type_errors_show_under_their_fields(host):
    form = RecordForm(FIELDS)
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, form, "hours", "12.5")
        await type_into(pilot, form, "due", "31/2/2026")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert error_text(form, "title") == "Required"
        assert error_text(form, "rate") == "Required"
        assert error_text(form, "hours") == "Enter a whole number"
        assert error_text(form, "due") == "Enter a date like 12/31/2026"  # no 31 February
        assert error_text(form, "priority") == ""
        assert error_text(form, "notes") == ""
        assert submitted(app) == []
        # The first field in error has the focus.
        assert app.focused is form.control("title")
        # Fixing a field clears its error as you type.
        await pilot.press("X")
        await pilot.pause()
        assert error_text(form, "title") == ""
        assert form.control("hours").has_class("-invalid")


async def test_wrong_type_shows_when_leaving_the_field(host):
    form = RecordForm(FIELDS)
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, form, "rate", "abc")
        await pilot.press("tab")
        await pilot.pause()
        assert error_text(form, "rate") == "Enter a number"
        # An untouched empty required field is not nagged about.
        form.control("title").focus()
        await pilot.press("tab")
        await pilot.pause()
        assert error_text(form, "title") == ""


async def test_valid_submit_delivers_typed_values(host):
    form = RecordForm(FIELDS)
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, form, "title", "Printer jammed")
        await type_into(pilot, form, "hours", "12")
        await type_into(pilot, form, "rate", "12.50")
        await type_into(pilot, form, "due", "2026-02-01")
        form.control("priority").focus()
        form.query_one(Select).value = "high"
        form.control("urgent").focus()
        await pilot.press("space")
        await type_into(pilot, form, "notes", "a")
        await pilot.press("enter", "b")
        await type_into(pilot, form, "pin", " 1234")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert submitted(app) == [
            {
                "title": "Printer jammed",
                "hours": 12,
                "rate": Decimal("12.50"),
                "due": date(2026, 2, 1),
                "priority": "high",
                "urgent": True,
                "notes": "a\nb",
                "pin": " 1234",
            }
        ]
        values = submitted(app)[0]
        assert type(values["hours"]) is int and type(values["rate"]) is Decimal


async def test_empty_optional_fields_give_none_or_empty_text(host):
    form = RecordForm([Field("name", "Name"), Field("age", "Age", kind="int"),
                       Field("kind", "Kind", kind="choice", choices=["a", "b"])])
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert submitted(app) == [{"name": "", "age": None, "kind": None}]


async def test_enter_moves_to_the_next_field_and_save_button_submits(host):
    form = RecordForm([Field("a", "A"), Field("b", "B", kind="int")])
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        form.control("a").focus()
        await pilot.press("x", "enter")
        assert app.focused is form.control("b")
        await pilot.press("7", "enter")
        assert "record-form--save" in app.focused.classes
        await pilot.press("enter")
        await pilot.pause()
        assert submitted(app) == [{"a": "x", "b": 7}]


async def test_tab_and_shift_tab_walk_the_fields(host):
    form = RecordForm(FIELDS)
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        form.control("title").focus()
        await pilot.press("tab")
        assert app.focused is form.control("hours")
        await pilot.press("tab")
        assert app.focused is form.control("rate")
        await pilot.press("shift+tab")
        assert app.focused is form.control("hours")


async def test_escape_cancels(host):
    form = RecordForm(FIELDS)
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        form.control("title").focus()
        await pilot.press("escape")
        await pilot.pause()
        assert ("cancelled", None) in app.seen


async def test_initial_values_fill_the_controls(host):
    record = {"title": "Edit me", "hours": 3, "rate": "7.25", "due": "2026-03-04",
              "priority": "low", "urgent": True, "notes": "n", "pin": "x"}
    form = RecordForm(FIELDS, record)
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        assert form.control("title").value == "Edit me"
        assert form.control("hours").value == "3"
        assert form.control("rate").value == "7.25"
        assert form.control("due").value == "3/4/2026"  # the locale's way (en_US)
        assert form.query_one(Select).value == "low"
        assert form.query_one(Checkbox).value is True
        assert form.query_one(TextArea).text == "n"
        await pilot.press("ctrl+s")
        await pilot.pause()
        values = submitted(app)[0]
        assert values["rate"] == Decimal("7.25") and values["due"] == date(2026, 3, 4)


async def test_custom_validate_and_show_error(host):
    def even(value: int) -> str | None:
        return None if value % 2 == 0 else "Must be even"

    form = RecordForm([Field("n", "N", kind="int", validate=even), Field("m", "M")])
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, form, "n", "3")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert error_text(form, "n") == "Must be even"
        assert submitted(app) == []
        form.show_error("m", "Taken")
        await pilot.pause()
        assert error_text(form, "m") == "Taken"
        assert app.focused is form.control("m")
        form.show_error(None, "The server said no")
        assert form_error(form) == "The server said no"
        form.clear_errors()
        assert form_error(form) == "" and error_text(form, "m") == ""


def test_field_spec_checks():
    with pytest.raises(ValueError):
        Field("x", "X", kind="colour")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Field("x", "X", kind="choice")
    with pytest.raises(ValueError):
        RecordForm([Field("a", "A"), Field("a", "B")])
    assert Field("p", "P", kind="choice", choices={"o": "Open"}).display("o") == "Open"
    assert Field("p", "P", kind="password").display("secret") == "••••••"


class FormHost(App[None]):
    def __init__(self, screen: FormScreen) -> None:
        super().__init__()
        self.form_screen = screen
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.form_screen, self.results.append)


async def test_form_screen_shows_a_service_validation_error_at_its_field():
    calls: list[dict[str, Any]] = []

    def create_ticket(values: dict[str, Any]) -> int:
        calls.append(values)
        if values["title"] == "Duplicate":
            raise ValidationError("A ticket with this title exists", field="title")
        if values["title"] == "Forbidden":
            raise PermissionDenied("You may not create tickets")
        return 42

    screen = FormScreen("New ticket", FIELDS[:3], on_submit=create_ticket)
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        form = screen.form
        await type_into(pilot, form, "title", "Duplicate")
        await type_into(pilot, form, "rate", "1")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert len(calls) == 1
        assert error_text(form, "title") == "A ticket with this title exists"
        assert app.screen is screen and app.results == []
        await type_into(pilot, form, "title", "Forbidden")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert form_error(form) == "You may not create tickets"
        assert app.screen is screen
        await type_into(pilot, form, "title", "Fine")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results == [42]
        assert app.screen is not screen


async def test_form_screen_shows_every_field_a_validation_error_names():
    """A service that finds several fields wrong names them all at once; the
    form shows each message under its field, one naming no field of the form
    on the form's line, and the topmost field in error has the focus."""

    def create_ticket(values: dict[str, Any]) -> int:
        raise ValidationError(fields={"rate": "too high for this title", "title": "taken already",
                                      "owner": "nobody called Bo"})

    screen = FormScreen("New ticket", FIELDS[:3], on_submit=create_ticket)
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        form = screen.form
        await type_into(pilot, form, "title", "Printer")
        await type_into(pilot, form, "hours", "3")
        await type_into(pilot, form, "rate", "900")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert error_text(form, "title") == "taken already"
        assert error_text(form, "rate") == "too high for this title"
        assert error_text(form, "hours") == ""
        assert form_error(form) == "owner: nobody called Bo"
        assert app.focused is form.control("title")
        assert app.screen is screen and app.results == []


def test_a_validation_error_with_several_fields_reads_on_one_line():
    error = ValidationError(fields={"iban": "wrong check digits", "bic": "not a BIC"})
    assert (error.field, error.message) == ("iban", "wrong check digits")
    assert str(error) == "iban: wrong check digits; bic: not a BIC"
    one = ValidationError("required", field="name")
    assert one.fields == {"name": "required"} and str(one) == "name: required"
    assert ValidationError("bad line").fields == {}
    with pytest.raises(ValueError):
        ValidationError()


async def test_form_screen_async_on_submit_and_escape():
    async def save(values: dict[str, Any]) -> str:
        return values["title"].upper()

    screen = FormScreen("Rename", [Field("title", "Title")], {"title": "abc"}, on_submit=save)
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results == ["ABC"]

    screen = FormScreen("Rename", [Field("title", "Title")])
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


async def test_form_screen_without_on_submit_returns_the_values():
    screen = FormScreen("Hours", [Field("h", "Hours", kind="int", default=8)])
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.focused is screen.form.control("h")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results == [{"h": 8}]


async def test_long_form_scrolls_and_keeps_the_buttons_in_view():
    fields = [Field(f"f{i}", f"Field {i}", required=True) for i in range(20)]
    screen = FormScreen("Long form", fields)
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        save = screen.query_one(".record-form--save")
        assert save.region.bottom <= 24
        assert screen.has_class("-fill")
        await pilot.press("ctrl+s")
        await pilot.pause()
        # Every field is in error; the last one can be scrolled to.
        screen.form.control("f19").focus()
        # focusing scrolls it into view (animated: however long a loaded machine takes)
        await wait_for(pilot, lambda: screen.form.control("f19").region.bottom <= save.region.y,
                       message="the focused last field scrolled into view")


async def test_short_form_dialog_is_as_tall_as_its_form():
    screen = FormScreen("Short", [Field("a", "A")])
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert not screen.has_class("-fill")
        dialog = screen.query_one(".form-screen--dialog")
        assert dialog.outer_size.height < 15


def confirm_dialog(app):
    from core.shell.widgets import ConfirmDialog

    return app.screen if isinstance(app.screen, ConfirmDialog) else None


async def test_escape_on_a_changed_form_asks_and_keeps_the_work_by_default():
    screen = FormScreen("New entry", [Field("title", "Title"), Field("notes", "Notes", kind="multiline")],
                        on_submit=lambda values: values["title"])
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await type_into(pilot, screen.form, "title", "Rent March")
        await pilot.press("escape")
        await wait_for(pilot, lambda: confirm_dialog(app) is not None)
        assert "Discard the changes?" in str(app.screen.query_one(".confirm-dialog--question").render())
        # The focused answer is "Keep editing": a stray enter loses nothing.
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert app.results == [] and screen.form.control("title").value == "Rent March"
        # Asked again, y throws the work away.
        await pilot.press("escape")
        await wait_for(pilot, lambda: confirm_dialog(app) is not None)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.results == [None])
        assert app.screen is not screen


async def test_escape_on_a_form_changed_back_closes_at_once():
    screen = FormScreen("Rename", [Field("title", "Title")], {"title": "abc"})
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("end", "x", "backspace")
        assert screen.form.control("title").value == "abc" and not screen.form.changed
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results == [None])


async def test_confirm_asks_before_the_submit_and_defaults_to_no():
    runs: list[dict[str, Any]] = []

    def run_payroll(values):
        runs.append(values)
        return "run"

    def question(values):
        if values["period"] == "1999-01":
            raise ValidationError("no hours in 1999-01", field="period")
        return f"Post 2 payslips for {values['period']}, 1.234,50 EUR?"

    screen = FormScreen("Run payroll", [Field("period", "Period", required=True)], {"period": "2026-11"},
                        on_submit=run_payroll, submit_label="Run", confirm=question)
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: confirm_dialog(app) is not None)
        dialog = app.screen
        assert "Post 2 payslips for 2026-11, 1.234,50 EUR?" in str(dialog.query_one(".confirm-dialog--question").render())
        assert "Run (y)" in str(dialog.query_one("#yes").label)
        await pilot.press("enter")  # the default: no
        await wait_for(pilot, lambda: app.screen is screen)
        assert runs == [] and app.results == []
        await type_into(pilot, screen.form, "period", "1999-01")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert error_text(screen.form, "period") == "no hours in 1999-01"
        assert confirm_dialog(app) is None and runs == []
        await type_into(pilot, screen.form, "period", "2026-10")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: confirm_dialog(app) is not None)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.results == ["run"])
        assert runs == [{"period": "2026-10"}]


async def test_a_checkbox_reads_on_and_off_without_colour(host):
    form = RecordForm([Field("urgent", "Urgent", kind="bool")])
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        box = form.query_one(Checkbox)
        box.focus()
        await pilot.pause()
        assert str(box.render()).startswith("[ ] Urgent")
        await pilot.press("space")
        await wait_for(pilot, lambda: box.value is True)
        assert str(box.render()).startswith("[X] Urgent")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert submitted(app) == [{"urgent": True}]


async def test_a_picker_prefilled_is_unchanged_and_esc_in_the_question_keeps_editing():
    from core.services.choices import Choice
    from core.cli.testing import pick

    def people(text: str) -> list[Choice]:
        return [c for c in (Choice(4, "Ben Brandt", "Sales"), Choice(7, "Anna Becker", "IT"))
                if text.lower() in c.label.lower()]

    screen = FormScreen("Warning", [Field("person", "Person", kind="pick", source=people),
                                    Field("reason", "Reason")],
                        {"person": Choice(4, "Ben Brandt")})
    app = FormHost(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen is screen)
        form = screen.form
        assert not form.changed  # the name shown for the prefilled id is no change
        await pick(pilot, form, "person", "becker", "Anna Becker")
        assert form.changed
        await pilot.press("escape")
        await wait_for(pilot, lambda: confirm_dialog(app) is not None)
        await pilot.press("escape")  # Esc in the question keeps editing too
        await wait_for(pilot, lambda: app.screen is screen)
        assert app.results == [] and form.control("person").value == 7
        await pilot.press("escape")
        await wait_for(pilot, lambda: confirm_dialog(app) is not None)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.results == [None])


@pytest.mark.parametrize("locale, typed, example", [
    ("de_DE", ["7.12.2026", "07.12.26", "2026-12-07"], "31.12.2026"),
    ("en_GB", ["7/12/2026", "07/12/26", "2026-12-07"], "31/12/2026"),
    ("en_US", ["12/7/2026", "12/7/26", "2026-12-07"], "12/31/2026"),
])
async def test_a_date_is_typed_the_locales_way_and_shown_written_out(host, locale, typed, example):
    """The Payment run's and Payroll's dates (every date field): the locale's
    short form with a two- or four-digit year, or ISO; under the field the
    date as read, written out; day and month alone are this year's; anything
    else is one line naming an example (the last day of 2026: the order of
    day and month shows, the text does not change with the day). The field
    shows a date given to it the locale's way."""
    configure(locale, "Europe/Berlin", "EUR")
    try:
        form = RecordForm([Field("due", "Due", kind="date", help="Empty: the vendor's terms"),
                           Field("paid", "Paid", kind="date")], {"paid": date(2026, 1, 5)})
        app = host(form)
        async with app.run_test(size=(80, 24)) as pilot:
            line = form._date_lines["due"]
            assert str(line.render()) == "Empty: the vendor's terms"  # the help until a date is typed
            assert form.control("due").placeholder.endswith(example)
            assert form.control("paid").value == {"de_DE": "05.01.2026", "en_GB": "05/01/2026",
                                                  "en_US": "1/5/2026"}[locale]
            for text in typed:
                await type_into(pilot, form, "due", text)
                await pilot.pause()
                assert form.values["due"] == date(2026, 12, 7), text
                assert str(line.render()) == {"de_DE": "= Montag, 7. Dezember 2026",
                                              "en_GB": "= Monday, 7 December 2026",
                                              "en_US": "= Monday, December 7, 2026"}[locale], text
            day_month = {"de_DE": "24.12.", "en_GB": "24/12", "en_US": "12/24"}[locale]
            await type_into(pilot, form, "due", day_month)
            await pilot.pause()
            assert form.values["due"] == date(today().year, 12, 24)
            for bad in ("31.02.2026" if locale == "de_DE" else "31/02/2026", "next friday", "7.12.202"):
                await type_into(pilot, form, "due", bad)
                await pilot.press("ctrl+s")
                await pilot.pause()
                shown = {"de_DE": "Datum wie {example} eingeben"}.get(locale, "Enter a date like {example}")
                assert error_text(form, "due") == shown.format(example=example), bad
                assert str(line.render()) == "Empty: the vendor's terms"
            assert submitted(app) == []
    finally:
        configure("en_US", "Europe/Berlin", "EUR")


@pytest.mark.parametrize("locale", ["de_DE", "en_GB"])
async def test_the_key_hint_beside_two_buttons_is_whole_at_80_columns(locale):
    """German, beside "Notiz speichern" and "Abbrechen" in the 76-cell
    dialog: "Tab weiter · Strg+S speichern · Esc abbrechen" does not fit one
    line; it breaks between two keys (the second line under the first, at
    the right) instead of losing "Esc abbrechen". English stays one line."""
    configure(locale, "Europe/Berlin", "EUR")
    try:
        screen = FormScreen("Notiz aufnehmen", [Field("text", "Notiz", required=True)],
                            submit_label="Notiz speichern")
        app = FormHost(screen)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            rows = [strip.text.rstrip("█ ") for strip in app.screen._compositor.render_strips()]
            hint = screen.query_one(".record-form--hint")
            dialog = screen.query_one(".form-screen--dialog")
            assert hint.region.right <= dialog.content_region.right
            buttons_y = screen.query_one(".record-form--save").region.y
            if locale == "de_DE":
                assert rows[buttons_y].endswith("Tab weiter · Strg+S speichern"), rows[buttons_y]
                assert rows[buttons_y + 1].endswith("Esc abbrechen"), rows[buttons_y + 1]
                assert hint.region.height == 2
            else:
                assert rows[buttons_y].endswith("Tab next · Ctrl+S save · Esc cancel"), rows[buttons_y]
                assert hint.region.height == 1
            # the dialog is as tall as its form: the second line is inside it
            assert hint.region.bottom <= dialog.content_region.bottom
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
