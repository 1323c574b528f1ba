"""RecordForm: a form built from a field spec, and FormScreen, a modal around it.

    fields = [
        Field("title", _("Title"), required=True),
        Field("hours", _("Hours"), kind="int"),
        Field("rate", _("Rate"), kind="decimal"),
        Field("due", _("Due"), kind="date"),
        Field("priority", _("Priority"), kind="choice",
              choices=[("low", _("Low")), ("high", _("High"))]),
        Field("person", _("Person"), kind="pick", source=ctx.services.people.choices),
    ]
    app.push_screen(FormScreen(_("New ticket"), fields, on_submit=create_ticket))

Values come back typed: ``int``, ``decimal.Decimal``, ``datetime.date``,
``bool``, the chosen value of a choice or a pick (the record's id), ``str``
for text. Empty typed fields
give ``None``; empty text fields give ``""``.

A date is typed the site's way ("7.12.2026", "07.12.26", "7.12." in
German; "7/12/2026" in en_GB, "12/7/2026" in en_US) or as ISO; the line
under the field writes it out ("= Montag, 7. Dezember 2026") and anything
else is refused with one line naming an example. A date given to the form
is shown the site's way.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Callable, ClassVar, Iterable, Literal, Mapping, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from core.services.choices import Choice
from core.errors import BackdeskError, ValidationError
from core.shell.widgets._css import load_css
from core.shell.widgets._i18n import (_, date_entry_text, date_example_text, decimal_text, long_date_text,
                                      parse_date_text, parse_decimal_text)
from core.shell.widgets.confirm_dialog import ConfirmDialog
from core.shell.widgets.keys import key_text
from core.shell.widgets.picker import Picker

__all__ = ["Field", "FieldKind", "FormScreen", "RecordForm"]

FieldKind = Literal["text", "int", "decimal", "date", "choice", "bool", "multiline", "password", "pick", "picks"]
_KINDS = frozenset(FieldKind.__args__)  # type: ignore[attr-defined]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT = re.compile(r"[+-]?\d+")


class _Invalid(Exception):
    """A raw value that does not parse; the message is for the user."""


@dataclass(frozen=True)
class Field:
    """One field of a :class:`RecordForm`.

    Args:
        key: The key of the value in the submitted dict.
        label: The label shown left of the field.
        kind: ``"text"``, ``"int"``, ``"decimal"``, ``"date"``, ``"choice"``,
            ``"bool"``, ``"multiline"``, ``"password"`` or ``"pick"`` (a
            :class:`~core.shell.widgets.Picker`: the operator types part of a
            name and chooses; the value is the chosen record's id) or
            ``"picks"`` (several records, chosen one by one: a list of ids).
        required: An empty value is an error ("Required").
        choices: For ``"choice"``: values, ``(value, label)`` pairs or a
            ``{value: label}`` mapping.
        default: The initial value when the form is not given one.
        help: A line of help shown under the field.
        validate: ``validate(value) -> str | None`` run on a non-empty,
            well-typed value; return an error message (or raise
            ``ValidationError``/``ValueError``) to reject it.
        source: For ``"pick"`` and ``"picks"``: ``source(text) -> [Choice]``,
            a service's function that checks the operator's permission. An
            initial value given as a :class:`~core.services.choices.Choice` (for
            ``"picks"`` a list of them) shows its label.
    """

    key: str
    label: str
    kind: FieldKind = "text"
    required: bool = False
    choices: Sequence[Any] | Mapping[Any, str] | None = None
    default: Any = None
    help: str | None = None
    validate: Callable[[Any], str | None] | None = None
    source: Callable[[str], Sequence[Choice]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"Field {self.key!r}: unknown kind {self.kind!r}")
        if self.kind == "choice" and self.choices is None:
            raise ValueError(f"Field {self.key!r}: a choice field needs choices")
        if self.kind in ("pick", "picks") and self.source is None:
            raise ValueError(f"Field {self.key!r}: a pick field needs a source")

    def options(self) -> list[tuple[str, Any]]:
        """The choices as ``(label, value)`` pairs, in order."""
        choices = self.choices or ()
        if isinstance(choices, Mapping):
            return [(str(label), value) for value, label in choices.items()]
        options = []
        for choice in choices:
            if isinstance(choice, tuple) and len(choice) == 2:
                value, label = choice
                options.append((str(label), value))
            else:
                options.append((str(choice), choice))
        return options

    def display(self, value: Any) -> str:
        """``value`` as text for reading (choice labels, yes/no, hidden passwords)."""
        if value is None or value == "":
            return ""
        if self.kind == "password":
            return "••••••"
        if self.kind == "bool":
            return _("yes") if value else _("no")
        if self.kind == "choice":
            for label, option in self.options():
                if option == value:
                    return label
        if isinstance(value, Choice):
            return value.label
        if isinstance(value, (list, tuple)):
            return " ".join(v.label if isinstance(v, Choice) else str(v) for v in value)
        if isinstance(value, date):
            return date_entry_text(value)
        if self.kind == "date" and isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
            try:
                return date_entry_text(date.fromisoformat(value.strip()))
            except ValueError:
                return value
        if self.kind == "decimal" and isinstance(value, (Decimal, int, str)):
            try:
                return decimal_text(Decimal(value))
            except ArithmeticError:
                return str(value)
        return str(value)

    def parse(self, raw: Any) -> Any:
        """Turn the widget's raw value into a typed value; raise ``_Invalid``."""
        kind = self.kind
        if kind == "bool":
            return bool(raw)
        if kind == "choice":
            value = None if raw is Select.NULL else raw
        elif kind == "pick":
            value, text = raw
            if value is None and text.strip():
                raise _Invalid(_("Choose one from the list (↓)"))
        elif kind == "picks":
            values, unresolved = raw
            if unresolved:
                raise _Invalid(_("{words}: choose each from the list (↓)").format(words=" ".join(unresolved)[:60]))
            value = list(values) or None
        elif kind in ("text", "multiline", "password"):
            value = raw if kind == "password" else raw.strip()
        else:
            value = raw.strip() or None
        if value is None or value == "":
            if self.required:
                raise _Invalid(_("Required"))
            return value
        if kind == "int":
            text = value.replace(" ", "").replace("_", "")
            if not _INT.fullmatch(text):
                raise _Invalid(_("Enter a whole number"))
            value = int(text)
        elif kind == "decimal":
            number = parse_decimal_text(value)
            if number is None:
                raise _Invalid(_("Enter a number"))
            value = number
        elif kind == "date":
            try:
                value = parse_date_text(value)
            except ValueError as error:
                raise _Invalid(str(error)) from None
        if self.validate is not None:
            try:
                message = self.validate(value)
            except BackdeskError as error:
                message = error.message
            except ValueError as error:
                message = str(error) or _("Invalid value")
            if message:
                raise _Invalid(message)
        return value


class _Checkbox(Checkbox):
    """A checkbox that reads on and off without colour (16 colours, a
    monochrome console): "[X]" when ticked, "[ ]" when not."""

    @property
    def _button(self) -> Content:  # type: ignore[override]
        return Content("[X]" if self.value else "[ ]")


class _FieldsScroll(VerticalScroll, can_focus=False):
    """The scrolling fields area: tab goes to the fields, not to it."""


class _KeyHint(Widget):
    """The form's keys beside its buttons ("Tab weiter · Strg+S speichern ·
    Esc abbrechen"), right-aligned; where the line is too short for all of
    them (German, two buttons, 80 columns) it breaks between two keys,
    never inside one, and takes a second line."""

    def __init__(self, text: str, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.items = text.split(" · ")

    def lines(self, width: int) -> list[str]:
        """The hint broken into lines of at most ``width`` cells, between keys."""
        lines: list[str] = []
        for item in self.items:
            if lines and cell_len(lines[-1] + " · " + item) <= width:
                lines[-1] += " · " + item
            else:
                lines.append(item)
        return lines

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.lines(width))

    def render(self) -> Text:
        return Text("\n".join(self.lines(self.content_region.width)))


def _safe_id(key: str) -> str:
    return "field-" + re.sub(r"[^A-Za-z0-9_-]", "_", key)


class RecordForm(Vertical, can_focus=False):
    """A form from a list of :class:`Field`.

    Tab/shift+tab move between fields, enter in a one-line field moves to the
    next one, ctrl+s (or the Save button) submits, escape cancels. Errors show
    under their field; ``Submitted`` is only posted when every field is valid.

    Args:
        fields: The fields, top to bottom.
        values: Initial values by key (a record being edited); a field not
            in it starts at its ``default``.
        submit_label: Text of the submit button (default "Save").
    """

    DEFAULT_CSS = load_css(__file__, "record_form.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", _("Save"), id="record_form.submit"),
        Binding("escape", "cancel", _("Cancel"), id="record_form.cancel"),
    ]

    class Submitted(Message):
        """Every field is valid; ``values`` maps field keys to typed values."""

        def __init__(self, form: RecordForm, values: dict[str, Any]) -> None:
            super().__init__()
            self.form = form
            self.values = values

        @property
        def control(self) -> RecordForm:
            return self.form

    class Cancelled(Message):
        """The user left the form (escape or the Cancel button)."""

        def __init__(self, form: RecordForm) -> None:
            super().__init__()
            self.form = form

        @property
        def control(self) -> RecordForm:
            return self.form

    def __init__(
        self,
        fields: Iterable[Field],
        values: Mapping[str, Any] | None = None,
        *,
        submit_label: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.fields: tuple[Field, ...] = tuple(fields)
        keys = [field.key for field in self.fields]
        if len(set(keys)) != len(keys):
            raise ValueError("RecordForm: field keys must be unique")
        self._initial = dict(values or {})
        self._submit_label = submit_label
        self._controls: dict[str, Widget] = {}
        self._errors: dict[str, Static] = {}
        self._date_lines: dict[str, Static] = {}
        # Fields showing an error given by show_error/show_errors (a
        # service's): leaving such a field keeps it until it is edited.
        self._given: set[str] = set()
        self._pristine: dict[str, Any] | None = None

    # -- building -------------------------------------------------------------

    def _initial_value(self, field: Field) -> Any:
        return self._initial.get(field.key, field.default)

    def _make_control(self, field: Field) -> Widget:
        value = self._initial_value(field)
        widget_id = _safe_id(field.key)
        if field.kind == "bool":
            # The checkbox carries the label: it shows focus on its label.
            return _Checkbox(field.label, bool(value), id=widget_id, compact=True)
        if field.kind in ("pick", "picks"):
            assert field.source is not None
            return Picker(field.source, value, id=widget_id, several=field.kind == "picks")
        if field.kind == "choice":
            options = field.options()
            known = any(option == value for _label, option in options)
            return Select(
                options,
                prompt=_("Choose…"),
                value=value if known else Select.NULL,
                id=widget_id,
                compact=True,
            )
        text = "" if value is None else field.display(value) if field.kind != "password" else str(value)
        if field.kind == "multiline":
            return TextArea(text, id=widget_id, compact=True, soft_wrap=True)
        placeholder = {"date": _("e.g. {example}").format(example=date_example_text()), "int": "0",
                       "decimal": decimal_text(Decimal("0.00"))}.get(field.kind, "")
        return Input(
            text,
            placeholder=placeholder,
            password=field.kind == "password",
            id=widget_id,
            compact=True,
        )

    def compose(self) -> ComposeResult:
        with _FieldsScroll(classes="record-form--fields"):
            for field in self.fields:
                control = self._make_control(field)
                control.add_class("record-form--control", f"-kind-{field.kind}")
                self._controls[field.key] = control
                label = field.label + (" *" if field.required else "")
                if field.kind == "bool":
                    label = ""
                with Horizontal(classes=f"record-form--row -kind-{field.kind}"):
                    yield Label(label, classes="record-form--label", markup=False)
                    with Vertical(classes="record-form--cell"):
                        yield control
                        error = Static("", classes="record-form--error", markup=False)
                        self._errors[field.key] = error
                        yield error
                        if field.kind == "date":  # the date as read, written out
                            text = self._date_line(field, control)
                            line = Static(text, classes="record-form--help", markup=False)
                            line.display = bool(text)
                            self._date_lines[field.key] = line
                            yield line
                        elif field.help:
                            yield Static(field.help, classes="record-form--help", markup=False)
        yield Static("", classes="record-form--form-error", markup=False)
        with Horizontal(classes="record-form--buttons"):
            yield Button(
                self._submit_label or _("Save"),
                variant="primary",
                classes="record-form--save",
                compact=True,
            )
            yield Button(_("Cancel"), classes="record-form--cancel", compact=True)
            yield _KeyHint(
                _("{tab} next · {save} save · {esc} cancel").format(
                    tab=key_text("tab"), save=key_text("ctrl+s"), esc=key_text("escape")),
                classes="record-form--hint",
            )

    @staticmethod
    def _date_line(field: Field, control: Widget) -> str:
        """Under a date field: the date as read, written out ("Montag,
        7. Dezember 2026"), so 7.12. is seen to mean this year's; the
        field's help while it holds no date."""
        text = control.value.strip() if isinstance(control, Input) else ""
        if text:
            try:
                return "= " + long_date_text(parse_date_text(text))
            except ValueError:
                pass
        return field.help or ""

    # -- values and errors ----------------------------------------------------

    def control(self, key: str) -> Widget:
        """The input widget of field ``key``."""
        return self._controls[key]

    def _raw(self, field: Field) -> Any:
        control = self._controls[field.key]
        if isinstance(control, Checkbox):
            return control.value
        if isinstance(control, Select):
            return control.value
        if isinstance(control, Picker):
            if field.kind == "picks":
                return (control.resolve(), control.unresolved)
            return (control.resolve(), control.text)
        if isinstance(control, TextArea):
            return control.text
        assert isinstance(control, Input)
        return control.value

    def _check(self) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for field in self.fields:
            try:
                values[field.key] = field.parse(self._raw(field))
            except _Invalid as error:
                errors[field.key] = str(error)
        return values, errors

    def _as_typed(self) -> dict[str, Any]:
        """What every field holds now, as typed (a picker: its choice and its
        text, without searching its source)."""
        out: dict[str, Any] = {}
        for field in self.fields:
            control = self._controls[field.key]
            out[field.key] = (control.value, control.text) if isinstance(control, Picker) else self._raw(field)
        return out

    def on_mount(self) -> None:
        # What the fields held when the form opened: ``changed`` compares
        # against it, so Esc can ask before throwing typed work away.
        self._pristine = self._as_typed()

    @property
    def changed(self) -> bool:
        """True when any field differs from what it held when the form opened."""
        return self._pristine is not None and self._pristine != self._as_typed()

    @property
    def values(self) -> dict[str, Any]:
        """Typed values of the fields that are currently valid."""
        return self._check()[0]

    def validate(self) -> bool:
        """Check every field and show the errors; True when all are valid."""
        self.clear_errors()
        _values, errors = self._check()
        for key, message in errors.items():
            self._set_field_error(key, message)
        if errors:
            self._focus_field(next(iter(errors)))
        return not errors

    def submit(self) -> None:
        """Post ``Submitted`` with the typed values if every field is valid."""
        if self.validate():
            self.post_message(self.Submitted(self, self.values))

    def show_error(self, field: str | None, message: str) -> None:
        """Show ``message`` under ``field`` (e.g. from a service's
        ``ValidationError``), or on the form's own error line when ``field``
        is ``None`` or not in this form."""
        if field is not None and field in self._controls:
            self._set_field_error(field, message)
            self._given.add(field)
            self._focus_field(field)
            return
        if field is not None:
            message = f"{field}: {message}"
        line = self.query_one(".record-form--form-error", Static)
        line.update(message)
        line.set_class(bool(message), "-shown")
        if message:
            line.scroll_visible(animate=False)

    def show_errors(self, errors: Mapping[str, str]) -> None:
        """Show several messages at once, each under its field (a service's
        ``ValidationError(fields=...)``); those naming no field of this form
        go to the form's error line together. The topmost field in error
        gets the focus."""
        self.clear_errors()
        stray = [f"{key}: {message}" for key, message in errors.items() if key not in self._controls]
        if stray:
            self.show_error(None, "; ".join(stray))
        shown = [field.key for field in self.fields if field.key in errors]
        for key in shown:
            self._set_field_error(key, errors[key])
            self._given.add(key)
        if shown:
            self._focus_field(shown[0])

    def clear_errors(self) -> None:
        """Hide every error message."""
        self._given.clear()
        for key in self._errors:
            self._set_field_error(key, "")
        self.show_error(None, "")

    def _set_field_error(self, key: str, message: str) -> None:
        error = self._errors[key]
        error.update(message)
        error.set_class(bool(message), "-shown")
        self._controls[key].set_class(bool(message), "-invalid")
        row = error.parent.parent if error.parent is not None else None
        if row is not None:
            row.set_class(bool(message), "-invalid")

    def _focus_field(self, key: str) -> None:
        control = self._controls[key]
        control.focus()
        row = control.parent.parent if control.parent is not None else None
        (row or control).scroll_visible(animate=False)

    def _field_of(self, widget: Widget) -> Field | None:
        for field in self.fields:
            if self._controls.get(field.key) is widget:
                return field
        return None

    def _recheck(self, widget: Widget, *, only_if_shown: bool) -> None:
        """Re-validate one field: after an edit only when it shows an error
        (so the error goes away once fixed), after leaving it always, except
        that an untouched empty required field is not nagged about."""
        field = self._field_of(widget)
        if field is None:
            return
        shown = self._errors[field.key].has_class("-shown")
        if only_if_shown and not shown:
            return
        if field.key in self._given:
            if not only_if_shown:
                return  # left unchanged: the service's word still stands
            self._given.discard(field.key)
        try:
            field.parse(self._raw(field))
        except _Invalid as error:
            raw = self._raw(field)
            if not shown and (raw is Select.NULL or raw == "" or raw is None or raw == (None, "")):
                return
            self._set_field_error(field.key, str(error))
        else:
            self._set_field_error(field.key, "")

    # -- events ---------------------------------------------------------------

    @staticmethod
    def _row_of(widget: Widget | None) -> Widget | None:
        node = widget
        while node is not None and not node.has_class("record-form--row"):
            node = node.parent if isinstance(node.parent, Widget) else None
        return node

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # A class rather than :focus-within, which does not restyle the
        # label when the focus leaves the row.
        row = self._row_of(event.widget)
        if row is not None:
            row.add_class("-focused")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        row = self._row_of(event.widget)
        if row is not None:
            row.remove_class("-focused")

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(Picker.Changed)
    def _edited(self, event: Message) -> None:
        widget = getattr(event, "control", None)
        if isinstance(widget, Widget):
            self._recheck(widget, only_if_shown=True)
            field = self._field_of(widget)
            if field is not None and field.key in self._date_lines:
                text = self._date_line(field, widget)
                self._date_lines[field.key].update(text)
                self._date_lines[field.key].display = bool(text)

    @on(Input.Blurred)
    def _left_input(self, event: Input.Blurred) -> None:
        self._recheck(event.input, only_if_shown=False)

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()

    @on(Button.Pressed, ".record-form--save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.submit()

    @on(Button.Pressed, ".record-form--cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_submit(self) -> None:
        self.submit()

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled(self))


class FormScreen(ModalScreen[Any]):
    """A modal with a title and a :class:`RecordForm`.

    On submit, ``on_submit(values)`` runs (it may be async). A
    ``ValidationError`` it raises shows at its field (at each of its
    ``fields`` when it names several; one naming no field of the form on
    the form's error line) and the screen stays open; so does any other ``BackdeskError``.
    Otherwise the screen is dismissed with ``on_submit``'s return value (with
    the values when there is no ``on_submit``); escape dismisses with ``None``,
    after asking "Discard the changes?" (default: keep editing) when a field
    was changed.

    For a submit that cannot be undone (posting, paying, sending), pass
    ``confirm(values) -> question``: the question (say "Post 38 payslips,
    165.877,64 EUR?", worked out by the service) is asked in a
    :class:`~core.shell.widgets.ConfirmDialog` whose default answer is no, and
    ``on_submit`` runs only on yes. ``confirm`` may return ``None`` (nothing
    to ask) or raise ``BackdeskError`` like ``on_submit``.

    Args:
        title: Shown at the top.
        fields: The form's fields.
        values: Initial values (a record being edited).
        on_submit: ``on_submit(values) -> result``.
        submit_label: Text of the submit button (default "Save").
        confirm: ``confirm(values) -> question | None``, asked before
            ``on_submit``.
    """

    DEFAULT_CSS = load_css(__file__, "form_screen.tcss")

    def __init__(
        self,
        title: str,
        fields: Iterable[Field],
        values: Mapping[str, Any] | None = None,
        *,
        on_submit: Callable[[dict[str, Any]], Any] | None = None,
        submit_label: str | None = None,
        confirm: Callable[[dict[str, Any]], str | None] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._confirm = confirm
        self._title = title
        self._fields = tuple(fields)
        self._values = values
        self._on_submit = on_submit
        self._submit_label = submit_label

    @property
    def form(self) -> RecordForm:
        """The form inside the screen."""
        return self.query_one(RecordForm)

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-screen--dialog"):
            yield Static(self._title, classes="form-screen--title", markup=False)
            yield RecordForm(self._fields, self._values, submit_label=self._submit_label)

    def on_mount(self) -> None:
        fields = self.query_one(".record-form--fields")
        self.watch(fields, "virtual_size", self._schedule_fit, init=False)
        self._schedule_fit()

    def on_resize(self) -> None:
        self._schedule_fit()

    def _schedule_fit(self, *_args: object) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """Size the dialog to the form, or to the screen when the form is
        longer (then the fields scroll and the buttons stay in view)."""
        if not self.is_attached:
            return
        dialog = self.query_one(".form-screen--dialog")
        fields = self.query_one(".record-form--fields")
        screen_height = self.size.height
        if not self.has_class("-fill"):
            if dialog.outer_size.height >= screen_height:
                self.add_class("-fill")
        else:
            overhead = dialog.outer_size.height - fields.outer_size.height
            if fields.virtual_size.height + overhead < screen_height:
                self.remove_class("-fill")

    async def on_record_form_submitted(self, event: RecordForm.Submitted) -> None:
        event.stop()
        form, values = event.form, event.values
        if self._confirm is not None:
            try:
                question = self._confirm(values)
            except BackdeskError as error:
                self._refused(form, error)
                return
            if question:

                async def answered(yes: bool | None) -> None:
                    if yes:
                        await self._submit(form, values)

                self.app.push_screen(
                    ConfirmDialog(question, danger=True, yes_label=self._submit_label or _("Yes"), no_label=_("No")),
                    answered,
                )
                return
        await self._submit(form, values)

    async def _submit(self, form: RecordForm, values: dict[str, Any]) -> None:
        if self._on_submit is None:
            self.dismiss(values)
            return
        try:
            result = self._on_submit(values)
            if inspect.isawaitable(result):
                result = await result
        except BackdeskError as error:
            self._refused(form, error)
            return
        self.dismiss(result)

    @staticmethod
    def _refused(form: RecordForm, error: BackdeskError) -> None:
        """A service's refusal: a ``ValidationError`` at its field (every
        field it names, each with its message), any other on the form's
        error line; the form stays open with its input."""
        if isinstance(error, ValidationError) and len(error.fields) > 1:
            form.show_errors(error.fields)
            return
        form.show_error(error.field if isinstance(error, ValidationError) else None, error.message)

    def on_record_form_cancelled(self, event: RecordForm.Cancelled) -> None:
        event.stop()
        if not event.form.changed:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmDialog(
                _("Discard the changes?"), danger=True, yes_label=_("Discard"), no_label=_("Keep editing")
            ),
            answered,
        )
