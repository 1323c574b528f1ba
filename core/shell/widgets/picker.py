"""Picker: find a record by typing part of its name.

```python
from core.shell.widgets import Picker
picker = Picker(lambda text: ctx.services.people.choices(text))
```

The operator types part of a name; the list under the field shows the
matches, best first, each with its full name and a second line (department,
balance…). Up/Down move in the list, Enter takes the highlighted one, Esc
closes the list and keeps what was typed (a second Esc reaches the form).
:attr:`Picker.value` is then the chosen record's value (its id) while the
field shows its name; typing again clears the choice.

``Picker(source, several=True)`` takes several records one by one (the
asset tags of a ticket): Enter adds the highlighted match to the field and
the next word typed searches again; deleting a name from the field drops
it. :attr:`Picker.value` is then the list of chosen values.

The source is a service's function (see :mod:`core.services.choices`): it checks the
operator's permission, the picker never reads a table. A source that
refuses (no permission, or any ``BackdeskError``) offers nothing and its
message is shown in the list.

In a :class:`~core.shell.widgets.RecordForm`, ``Field(key, label, kind="pick",
source=...)`` makes one.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from core.services.choices import Choice, best
from core.errors import BackdeskError
from core.safetext import one_line
from core.shell.widgets._css import load_css
from core.shell.widgets._i18n import _

__all__ = ["Choice", "Picker", "PickSource"]

PickSource = Callable[[str], Sequence[Choice]]

#: rows of choices shown at once (two lines each): fits 80×24 under a field
_VISIBLE = 5


class PickerInput(Input):
    """The picker's text field: Up/Down/Esc drive the list when it is open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "list_down", _("Next match"), show=False, id="picker.down"),
        Binding("up", "list_up", _("Previous match"), show=False, id="picker.up"),
        Binding("escape", "list_close", _("Close the list"), show=False, id="picker.close"),
    ]

    @property
    def picker(self) -> Picker:
        assert isinstance(self.parent, Picker)
        return self.parent

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Esc and Up with the list closed belong to the form (cancel, move).
        if action in ("list_close", "list_up"):
            return self.picker.expanded
        return super().check_action(action, parameters)

    def action_list_down(self) -> None:
        self.picker.move(1)

    def action_list_up(self) -> None:
        self.picker.move(-1)

    def action_list_close(self) -> None:
        self.picker.close()


class PickerList(OptionList, can_focus=False):
    """The matches, under the field; the focus stays in the field."""


class Picker(Widget, can_focus=False):
    """A text field that finds a record as you type; see the module docstring.

    Args:
        source: ``source(text) -> [Choice]``, from a service.
        value: The initial choice: a :class:`Choice` (shows its label), or a
            bare value (shown as ``text``, or as itself).
        text: What the field shows for a bare ``value``.
        placeholder: Shown while the field is empty.
        compact: One line, the list opening below it as one types (True);
            False: the list is always shown under the field.
        several: Take several records, one by one (``value`` is then a list
            of :class:`Choice` or bare values, and :attr:`value` the list of
            chosen values); the last word typed searches.
    """

    DEFAULT_CSS = load_css(__file__, "picker.tcss")

    class Changed(Message):
        """The chosen value changed (``None``: nothing chosen)."""

        def __init__(self, picker: Picker, value: Any) -> None:
            super().__init__()
            self.picker = picker
            self.value = value

        @property
        def control(self) -> Picker:
            return self.picker

    def __init__(self, source: PickSource, value: Any = None, *, text: str | None = None,
                 placeholder: str | None = None, compact: bool = True, several: bool = False,
                 name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.source = source
        self._several = several
        self._picked: list[Choice] = []
        if several:
            self._picked = [v if isinstance(v, Choice) else Choice(v, str(v)) for v in (value or ()) if v != ""]
            value = None
            text = " ".join(c.label for c in self._picked) + (" " if self._picked else "")
        if isinstance(value, Choice):
            text, value = value.label, value.value
        if value == "":
            value = None
        self._value = value
        self._initial_text = text if text is not None else ("" if value is None else str(value))
        self._placeholder = placeholder if placeholder is not None else (
            _("type part of one, Enter adds it") if several else _("type part of a name"))
        self._compact = compact
        self._choices: list[Choice] = []
        self._problem = ""
        # the text a choice put in the field: its Changed message comes
        # later and is no edit
        self._chosen_text: str | None = self._initial_text if (value is not None or self._picked) else None

    def compose(self) -> ComposeResult:
        yield PickerInput(self._initial_text, placeholder=self._placeholder, compact=self._compact)
        yield PickerList()

    # -- what the form reads -----------------------------------------------------

    @property
    def input(self) -> Input:
        return self.query_one(PickerInput)

    @property
    def list(self) -> OptionList:
        return self.query_one(PickerList)

    @property
    def value(self) -> Any:
        """The chosen record's value, or None (``several``: the list of the
        chosen records' values)."""
        if self._several:
            return [c.value for c in self._picked]
        return self._value

    @property
    def unresolved(self) -> list[str]:
        """``several``: the words typed that are no chosen record's name."""
        words = self.text.split()
        for choice in self._picked:
            if choice.label in words:
                words.remove(choice.label)
        return words

    @property
    def text(self) -> str:
        """What the field shows (the chosen name, or what was typed)."""
        return self.input.value

    @property
    def expanded(self) -> bool:
        return self.list.display

    @property
    def choices(self) -> list[Choice]:
        """The matches last offered."""
        return list(self._choices)

    @property
    def problem(self) -> str:
        """Why the source offered nothing (its error message), or ""."""
        return self._problem

    def focus(self, scroll_visible: bool = True) -> Picker:
        self.input.focus(scroll_visible)
        return self

    def choose(self, choice: Choice | None) -> None:
        """Take ``choice`` (None: clear), show its name, close the list
        (``several``: add it in place of the word being typed)."""
        if self._several:
            self._add(choice)
            return
        self._chosen_text = choice.label if choice is not None else None
        self.input.value = choice.label if choice is not None else ""
        self.input.cursor_position = len(self.input.value)
        self._set_value(None if choice is None else choice.value)
        self.close()

    def resolve(self) -> Any:
        """The value, taking the one match the typed text means without
        doubt (the only match, or the only exact name) when none was chosen
        (``several``: for each word typed that is not chosen)."""
        if self._several:
            for word in self.unresolved:
                pick = best(word, [c for c in self._search(word) if c.value not in self.value])
                if pick is not None:
                    self._add(pick, word)
            return self.value
        text = self.text.strip()
        if self._value is None and text:
            found = self._search(text)
            pick = best(text, found)
            if pick is not None:
                self.choose(pick)
        return self._value

    def _add(self, choice: Choice | None, word: str | None = None) -> None:
        """``several``: put ``choice`` in place of ``word`` (default: the word
        being typed, if any) and keep it; None clears every choice."""
        text = self.input.value
        if choice is None:
            self._picked, text = [], ""
        else:
            words = text.split()
            if word is None:
                word = self._query(text) or None
            if word is not None and word in words:
                words[len(words) - 1 - words[::-1].index(word)] = choice.label
            else:
                words.append(choice.label)
            self._picked.append(choice)
            text = " ".join(words) + " "
        self._chosen_text = text
        self.input.value = text
        self.input.cursor_position = len(text)
        self.post_message(self.Changed(self, self.value))
        self.close()

    def _query(self, text: str) -> str:
        """``several``: the word being typed (the last, not yet chosen), or ""."""
        if not text or text[-1].isspace():
            return ""
        last = text.split()[-1]
        return last if last in self.unresolved else ""

    def _keep_picked(self, text: str) -> None:
        """``several``: drop the choices whose name was deleted from the field."""
        words = text.split()
        kept = []
        for choice in self._picked:
            if choice.label in words:
                words.remove(choice.label)
                kept.append(choice)
        if kept != self._picked:
            self._picked = kept
            self.post_message(self.Changed(self, self.value))

    # -- the list -------------------------------------------------------------

    def close(self) -> None:
        self.list.display = False
        self.remove_class("-expanded")

    def move(self, step: int) -> None:
        """Highlight the next/previous match, opening the list first."""
        options = self.list
        if not self.expanded:
            self._offer(self._query(self.text) if self._several else self.text)
            return
        if options.option_count == 0:
            return
        current = options.highlighted
        options.highlighted = 0 if current is None else max(0, min(options.option_count - 1, current + step))

    def _search(self, text: str) -> list[Choice]:
        try:
            found = list(self.source(text))
            self._problem = ""
        except BackdeskError as error:
            found = []
            self._problem = getattr(error, "message", str(error))
        self._choices = found
        return found

    def _offer(self, text: str) -> None:
        found = self._search(text)
        if self._several:  # what is chosen already is not offered again
            found = self._choices = [c for c in found if c.value not in self.value]
        options = self.list
        options.clear_options()
        if found:
            options.add_options([Option(self._prompt(c), id=None) for c in found])
            options.highlighted = 0
        else:
            message = self._problem or _("no match for {text!r}").format(text=text.strip()[:40])
            options.add_option(Option(Text(one_line(message), style="italic"), disabled=True))
        options.display = True
        self.add_class("-expanded")
        options.scroll_home(animate=False)

    @staticmethod
    def _prompt(choice: Choice) -> Text:
        prompt = Text(one_line(choice.label), style="bold", no_wrap=True, overflow="ellipsis")
        prompt.append("\n")
        prompt.append(one_line(choice.detail) if choice.detail else " ", style="dim")
        return prompt

    def _set_value(self, value: Any) -> None:
        if value != self._value:
            self._value = value
            self.post_message(self.Changed(self, value))

    # -- events ---------------------------------------------------------------

    def on_mount(self) -> None:
        self.close()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._chosen_text is not None and event.value == self._chosen_text:
            return
        self._chosen_text = None
        if self._several:
            self._keep_picked(event.value)
            query = self._query(event.value)
            if query:
                self._offer(query)
            else:
                self.close()
            return
        self._set_value(None)
        if event.value.strip():
            self._offer(event.value)
        else:
            self.close()

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        if not self.expanded:
            return  # the form moves to the next field
        event.stop()
        options = self.list
        index = options.highlighted
        if index is not None and index < len(self._choices):
            self.choose(self._choices[index])
        else:
            self.close()

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_index < len(self._choices):
            self.choose(self._choices[event.option_index])
        self.input.focus()

    @on(Input.Blurred)
    def _left(self, event: Input.Blurred) -> None:
        self.close()
        self.resolve()
