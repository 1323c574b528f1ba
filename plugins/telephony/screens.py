"""The telephony dialogs, and the Messages and Call history screens.

The Switchboard itself is in ``switchboard.py``; the dialogs it opens live
here: who is calling (:class:`CallerPrompt`, with the night-service line),
transfer to whom (:class:`PersonPicker`: starts on the person asked for, Tab
reaches the note), the "while you were out" form (:func:`message_form`) and
:class:`ChoiceDialog`. ``g`` on a message or a call calls the caller back
(click-to-dial: the operator's phone rings first).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from core.errors import BackdeskError, ValidationError
from core.i18n import format_datetime, format_number, format_time
from core.shell.screens.base import BackdeskScreen
from core.shell.widgets import Column, FilterInput, Field, FormScreen, KeyBar, PagedRecords, RecordTable
from plugins.telephony.models import (
    PRESENCE, _, format_duration, message_status_title, outcome_title, presence_title, seconds_between, now_utc,
    status_title, transfer_title, urgency_title,
)
from plugins.telephony.service import (HANDLE, CallMatches, CallPages, HOURS, PRESENCE_SET, TAKE, Names, TargetUnreachable,
                                        service_for)

CSS_PATH = Path(__file__).parent / "telephony.tcss"
WATCH = frozenset({"telephony.calls", "telephony.presence", "telephony.messages", "telephony.switch",
                   "core.people"})


class _FieldCycle:
    """Tab / Shift+Tab between a dialog's lines, at once.

    Textual hands each key to the widget focused when the key arrives and
    moves the focus for Tab only when that widget passes the key on; over
    SSH a Tab and the text typed after it come in one read, so the text
    would land in the line the Tab was leaving (the note typed after "tab
    note" went into the search). A priority binding moves the focus before
    the next key is handed on."""

    FIELDS: tuple[str, ...] = ()

    def action_cycle(self, step: int) -> None:
        fields = [self.query_one(f"#{name}", Input) for name in self.FIELDS]
        fields = [f for f in fields if f.display]
        if not fields:
            return
        here = self.focused
        index = fields.index(here) if here in fields else -1
        self.set_focus(fields[(index + step) % len(fields)])


def _cycle_bindings(prefix: str) -> list[Binding]:
    return [Binding("tab", "cycle(1)", show=False, priority=True, id=f"{prefix}_next"),
            Binding("shift+tab", "cycle(-1)", show=False, priority=True, id=f"{prefix}_previous")]


def _error_text(exc: BaseException) -> str:
    return exc.message if isinstance(exc, BackdeskError) else str(exc)


# --------------------------------------------------------------------------- tables


def _quiet_bindings(enter_label: str) -> list[Binding]:
    """RecordTable's keys without s/S// (the screens use them) and hidden from
    the footer, except enter, which says what it does here."""
    out = []
    for b in RecordTable.BINDINGS:
        if b.key in ("s", "S", "slash"):
            continue
        if b.key == "enter":
            out.append(replace(b, description=enter_label, show=True))
        else:
            out.append(replace(b, show=False))
    return out


class SwitchboardTable(RecordTable, inherit_bindings=False):
    BINDINGS = _quiet_bindings(_("Put through"))


def _when_width() -> int:
    """Cells a short local date and time takes in the site's locale
    ("07.12.26, 14:30", "07/12/2026, 14:30", "12/7/26, 2:30 PM")."""
    return len(format_datetime("2026-12-31T12:59:00+00:00", "short"))


class DetailsTable(RecordTable, inherit_bindings=False):
    BINDINGS = _quiet_bindings(_("Details"))


# --------------------------------------------------------------------------- dialogs


class CallerPrompt(_FieldCycle, ModalScreen[dict | None]):
    """Who is calling? One line; name and company only for new external callers.
    At night, a line says where the call will go and why (``night``)."""

    CSS_PATH = CSS_PATH
    FIELDS = ("caller-who", "caller-to", "caller-name", "caller-company")
    BINDINGS = [Binding("escape", "dismiss(None)", _("Cancel"), id="telephony.prompt_cancel"),
                *_cycle_bindings("telephony.prompt")]

    def __init__(self, service, *, night: str = "") -> None:
        super().__init__()
        self.service = service
        self.night = night
        self.resolved: dict | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="tel-dialog"):
            yield Static(_("Log a call at night — who is calling?") if self.night else
                         _("Answer a call — who is calling?"), classes="tel-dialog-title")
            if self.night:
                yield Static(self.night + " " + _("(esc, then n: business hours)"), id="caller-night",
                             classes="tel-night")
            yield Input(placeholder=_("Number, extension or name"), id="caller-who", compact=True)
            yield Static("", id="caller-hint", classes="tel-hint")
            yield Input(placeholder=_("Asked for (optional: name or extension)"), id="caller-to", compact=True)
            yield Input(placeholder=_("Name (new external caller)"), id="caller-name", compact=True)
            yield Input(placeholder=_("Company"), id="caller-company", compact=True)
            yield Static("", id="caller-error", classes="tel-error")
            yield Static(_("⏎ answer · tab asked for · esc cancel"), classes="tel-keys")

    def on_mount(self) -> None:
        self.query_one("#caller-who", Input).focus()

    @on(Input.Changed, "#caller-who")
    def _who_changed(self, event: Input.Changed) -> None:
        hint = self.query_one("#caller-hint", Static)
        self.resolved = None
        if not event.value.strip():
            hint.update("")
            return
        try:
            who = self.service.resolve_caller(event.value)
        except BackdeskError as exc:
            hint.update(f"[b]![/b] {exc.message}")
            return
        self.resolved = who
        if who["caller_person_id"] or who["contact_id"]:
            hint.update("→ " + who["display"])
        else:
            hint.update(_("→ new caller {number}: name and company are remembered").format(
                number=who["caller_number"]))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        new_caller = self.resolved is not None and not (self.resolved["caller_person_id"]
                                                        or self.resolved["contact_id"])
        if event.input.id in ("caller-who", "caller-to") and new_caller and \
                not self.query_one("#caller-name", Input).value:
            self.query_one("#caller-name", Input).focus()
            return
        if event.input.id == "caller-name":
            self.query_one("#caller-company", Input).focus()
            return
        to = self.query_one("#caller-to", Input).value.strip() or None
        if to:
            try:
                self.service.resolve_person(to, "to", allow_left=False)
            except BackdeskError as exc:
                self.query_one("#caller-error", Static).update(exc.message)
                self.query_one("#caller-to", Input).focus()
                return
        self.dismiss({"who": self.query_one("#caller-who", Input).value, "to": to,
                      "name": self.query_one("#caller-name", Input).value or None,
                      "company": self.query_one("#caller-company", Input).value or None})


class PersonPicker(_FieldCycle, ModalScreen[tuple[int, str] | None]):
    """Pick a person by typing (name, department or extension); with a note line.

    ``start_on`` (the person the caller asked for) is listed first and
    highlighted, so ⏎ alone puts the call through to them. The list itself
    never takes the focus: ↑↓ move in it while typing, and Tab goes from
    the search line to the note (Shift+Tab back), as the key line says."""

    CSS_PATH = CSS_PATH
    FIELDS = ("pick-query", "pick-note")
    BINDINGS = [
        Binding("escape", "dismiss(None)", _("Cancel"), id="telephony.picker_cancel"),
        Binding("down", "move(1)", show=False, id="telephony.picker_down"),
        Binding("up", "move(-1)", show=False, id="telephony.picker_up"),
        *_cycle_bindings("telephony.picker"),
    ]

    def __init__(self, service, title: str, *, with_note: bool = True, initial: str = "",
                 start_on: int | None = None) -> None:
        super().__init__()
        self.service = service
        self.title_text = title
        self.with_note = with_note
        self.initial = initial
        self.start_on = start_on
        self.rows: list[dict] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="tel-dialog"):
            yield Static(self.title_text, classes="tel-dialog-title")
            yield Input(value=self.initial, placeholder=_("Type a name, department or extension"),
                        id="pick-query", compact=True)
            box = OptionList(id="pick-list")
            box.can_focus = False
            yield box
            if self.with_note:
                yield Input(placeholder=_("Note for the person (optional)"), id="pick-note", compact=True)
            yield Static("", id="pick-error", classes="tel-error")
            yield Static(_("⏎ choose · ↑↓ move · tab note · esc cancel") if self.with_note
                         else _("⏎ choose · ↑↓ move · esc cancel"), classes="tel-keys")

    def on_mount(self) -> None:
        self.query_one("#pick-query", Input).focus()
        self._fill(self.initial)

    def _fill(self, text: str) -> None:
        presence = self.service.presence_map()
        found = self.service.people.find(text, status=("active", "on_leave", "left") if text else ("active",),
                                         limit=40)
        found.sort(key=lambda p: p.get("status") == "left")
        if self.start_on is not None and not text:
            first = self.service.people.get(self.start_on)
            found = ([first] if first else []) + [p for p in found if p["id"] != self.start_on]
        self.rows = found[:30]
        box = self.query_one("#pick-list", OptionList)
        box.clear_options()
        for p in self.rows:
            state = presence.get(p["id"], "idle")
            if p.get("status") == "left":
                state = _("left")
            elif p.get("status") == "on_leave":
                state = presence_title("away")
            else:
                state = presence_title(self.service.presence_of(p["id"]) if self.service.backend.live else state)
            asked = " ◂ " + _("asked for") if p["id"] == self.start_on else ""
            box.add_option(Option(f"{(p.get('extension') or '-'):>4}  {p['name'][:20]:<20} "
                                  f"{(p.get('department') or '')[:12]:<12} {state[:10]}{asked}", id=str(p["id"])))
        if self.rows:
            box.highlighted = 0

    @on(Input.Changed, "#pick-query")
    def _query_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def action_move(self, step: int) -> None:
        box = self.query_one("#pick-list", OptionList)
        if box.option_count:
            box.highlighted = max(0, min(box.option_count - 1, (box.highlighted or 0) + step))

    @on(OptionList.OptionSelected, "#pick-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._choose()

    def _choose(self) -> None:
        box = self.query_one("#pick-list", OptionList)
        if box.highlighted is None or not self.rows:
            self.query_one("#pick-error", Static).update(_("Nobody matches; type part of a name or an extension"))
            return
        note = self.query_one("#pick-note", Input).value if self.with_note else ""
        self.dismiss((self.rows[box.highlighted]["id"], note))


class ChoiceDialog(ModalScreen[str | None]):
    """Pick one of a few values with the arrow keys."""

    CSS_PATH = CSS_PATH
    BINDINGS = [Binding("escape", "dismiss(None)", _("Cancel"), id="telephony.choice_cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="tel-dialog"):
            yield Static(self.title_text, classes="tel-dialog-title")
            yield OptionList(*[Option(label, id=value) for value, label in self.choices], id="choice-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


def message_form(app, service, *, for_person_id: int | None = None, call: dict | None = None,
                 done: Callable[[Any], None] | None = None) -> None:
    """The "while you were out" form; for the call on the line when given."""
    values = {"for": service.people.choice(for_person_id) if for_person_id else None,
              "from": service.caller_text(call) if call else "",
              "number": (call or {}).get("caller_number") or "", "callback": True, "urgent": False}
    if call and (call.get("caller_person_id") or call.get("contact_id")):
        values["from"] = ""  # known from the call itself
    fields = [
        Field("text", _("Message"), required=True),
        Field("for", _("For"), kind="pick", required=True, source=service.people.choices,
              help=_("part of the name or the extension")),
        Field("from", _("From"), help=_("blank: the caller on the line") if call else None),
        Field("number", _("Call back on")),
        Field("urgent", _("Urgent"), kind="bool"),
        Field("callback", _("Callback wanted"), kind="bool", default=True),
    ]

    taken: dict[str, str] = {}

    def submit(form: dict) -> int:
        target = form["for"]  # the chosen person's id
        taken["for"] = service.person_text(target)
        try:
            return service.take_message(target, form["text"], caller=form.get("from") or None,
                                        number=form.get("number") or None,
                                        urgency="urgent" if form.get("urgent") else "normal",
                                        callback=bool(form.get("callback")),
                                        call_id=call["id"] if call else None)
        except ValidationError as exc:
            if exc.field in ("for", "from", "number", "text"):
                raise
            raise ValidationError(exc.message) from None

    def finished(result: Any) -> None:
        if result is not None:
            app.notify(_("Message {id} taken; {name} is notified.").format(
                id=result, name=taken.get("for") or _("the person")), timeout=4)
        if done is not None:
            done(result)

    title = _("Take a message")
    if call:
        title += " — " + _("call {id}").format(id=call["id"])
    app.push_screen(FormScreen(title, fields, values, on_submit=submit, submit_label=_("Take message")), finished)


# --------------------------------------------------------------------------- messages


class MessagesScreen(BackdeskScreen):
    """Messages taken; open callbacks first. ``x`` marks a callback done at
    once and ``u`` takes the last one back (an undo instead of a question)."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"telephony.messages", "core.people"})
    BINDINGS = [
        Binding("x", "done", _("Callback done"), id="telephony.callback_done"),
        Binding("u", "undo", _("Undo"), id="telephony.callback_undo"),
        Binding("o", "toggle_open", _("Open only"), id="telephony.messages_open"),
        Binding("m", "new", _("New message"), id="telephony.messages_new"),
        Binding("g", "dial", _("Call back"), id="telephony.messages_dial"),
        Binding("slash", "find", _("Find"), id="telephony.messages_find"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = service_for(ctx)
        self.open_only = True
        self._undoable: int | None = None  # the message whose callback x marked done last

    def compose_content(self) -> ComposeResult:
        yield Static("", id="msg-summary", classes="tel-status")
        yield FilterInput("#msg-table", placeholder=_("/ find…"), id="msg-filter", compact=True)
        yield DetailsTable(
            # The message's text is what an operator reads here: it keeps 30
            # cells and more (34 beside the menu at 80x24) while the caller
            # (narrowed first: its company is long) and whom it is for give
            # way, whole on the detail lines under the rows with the rest of
            # a long text; when it was taken and open/urgent always show.
            [Column("when", _("Taken"), width=_when_width()), Column("from", _("From"), priority=-2),
             Column("for", _("For"), priority=-1), Column("flags", "", width=3),
             Column("text", _("Message"), priority=1, min_width=30)],
            [], id="msg-table", empty_text=_("No messages"), detail_lines=3)

    def on_mount(self) -> None:
        super().on_mount()
        self.reload()
        self.query_one("#msg-table", RecordTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.focused, Input) and action != "find":
            return False
        if action == "undo":
            return self._undoable is not None
        return True

    def reload(self) -> None:
        """The open callbacks (``o``: every message, the open ones first),
        newest first, read from the store a page at a time with their
        counts; a page's people and contacts are named in two reads. ``/``
        finds the text, the caller and whom a message is for (the store's
        Contains and the ids of the people and contacts so named)."""
        s = self.service
        try:
            where = s.messages_where(open_only=self.open_only)
            open_n = None if self.open_only else s.message_count(where, open_only=True)
        except BackdeskError as exc:
            self.query_one("#msg-summary", Static).update(exc.message)
            return
        names = Names(s)  # a page names a few dozen people: each looked up once

        def rows(docs: list[dict]) -> list[dict]:
            names.prefetch(docs)
            out = []
            for m in docs:
                flags = ("!" if m.get("urgency") == "urgent" else " ") + (
                    "☎" if m.get("status") == "open" else "✓" if m.get("status") == "done" else " ")
                out.append({"id": m["id"], "when": format_datetime(m["taken_at"], "short"),
                            "for": names.person_text(m.get("for_person_id")), "from": names.message_caller(m),
                            "flags": flags, "text": m.get("text"), "status": m.get("status"),
                            "_open": m.get("status") == "open"})
            return out

        def fetch(offset: int, limit: int, after) -> list[dict]:
            return rows(s.message_page(where, limit, offset=offset,
                                       after=(after["_open"], after["id"]) if after is not None else None))

        def matching(text: str) -> PagedRecords:
            found = s.messages_matching(where, text)
            return PagedRecords(lambda offset, limit, _after: rows(s.messages_of(
                i for _open, i in found[offset:offset + limit])), lambda: len(found))

        table = self.query_one("#msg-table", RecordTable)
        records = PagedRecords(fetch, lambda: s.message_count(where), matching=matching)
        table.set_records(records)
        n = len(records)
        self.query_one("#msg-summary", Static).update(
            (_("Open callbacks: {n}").format(n=n) if self.open_only else
             _("All messages: {n}, {open} open").format(n=n, open=open_n))
            + " · " + _("x done · o all/open · m new"))

    def refresh_data(self, names: frozenset[str]) -> None:
        self.reload()

    def action_find(self) -> None:
        self.query_one("#msg-filter", FilterInput).focus()

    def action_toggle_open(self) -> None:
        self.open_only = not self.open_only
        self.reload()

    def action_new(self) -> None:
        message_form(self.app, self.service, done=lambda _r: self.reload())

    def action_dial(self) -> None:
        record = self.query_one("#msg-table", RecordTable).cursor_record
        doc = self.service.messages.get(record["id"]) if record else None
        if doc is None:
            return
        dial_back(self.app, self.service, doc)

    def action_done(self) -> None:
        record = self.query_one("#msg-table", RecordTable).cursor_record
        if record is None:
            return
        try:
            doc = self.service.complete_callback(record["id"])
        except BackdeskError as exc:
            self.notify(exc.message, severity="error")
            return
        self._undoable = doc["id"]
        self.refresh_bindings()
        self.notify(_("Callback for {name} done (u takes it back).").format(
            name=self.service.person_text(doc.get("for_person_id"))), timeout=6)
        self.reload()

    def action_undo(self) -> None:
        """Open the callback ``x`` marked done last again."""
        message_id, self._undoable = self._undoable, None
        self.refresh_bindings()
        if message_id is None:
            return
        try:
            doc = self.service.reopen_callback(message_id)
        except BackdeskError as exc:
            self.notify(exc.message, severity="error")
            return
        self.notify(_("Callback for {name} open again.").format(
            name=self.service.person_text(doc.get("for_person_id"))), timeout=3)
        self.reload()

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        event.stop()
        doc = self.service.messages.get(event.record["id"])
        if doc is None:
            return
        from core.shell.screens.directory import DetailModal

        pairs = [(_("For"), self.service.person_text(doc.get("for_person_id"))),
                 (_("From"), self.service.message_caller(doc)), (_("Number"), doc.get("caller_number")),
                 (_("Urgency"), urgency_title(doc.get("urgency"))), (_("Message"), doc.get("text")),
                 (_("Callback"), _("yes") if doc.get("callback") else _("no")),
                 (_("Status"), message_status_title(doc.get("status"))),
                 (_("Taken"), format_datetime(doc["taken_at"]) + " · " + (doc.get("taken_by") or "")),
                 (_("Call"), str(doc["call_id"]) if doc.get("call_id") else None)]
        keys = [("x", "done", _("callback done"))] if doc.get("status") == "open" else []

        def closed(action: str | None) -> None:
            if action == "done":
                self.action_done()

        self.app.push_screen(DetailModal(_("Message {id}").format(id=doc["id"]), pairs, keys), closed)


# --------------------------------------------------------------------------- history


class _Rows:
    """A History view's rows as made from its calls, kept by call id for
    the view's life (until the calls change and the screen reloads): the
    pages of ``/`` show the same calls letter after letter (``m``, ``mü``,
    ``mül`` … find the same 354 of a year's newest 5,000), and each call is
    read, named and formatted once. A page's names are looked up in two
    reads (:meth:`Names.prefetch`)."""

    def __init__(self, service, names: Names, make: Callable[[dict], dict]) -> None:
        self.service, self.names, self.make = service, names, make
        self.made: dict[Any, dict] = {}

    def of(self, calls: list[dict]) -> list[dict]:
        """The rows of these calls (made now, and kept)."""
        self.names.prefetch(calls)
        rows = []
        for c in calls:
            row = self.made[c["id"]] = {**self.make(c), "_at": c["started_at"]}
            rows.append(row)
        return rows

    def by_id(self, ids: list) -> list[dict]:
        """The rows of the calls with these ids, in this order; only the
        calls not made yet are read (one read by id)."""
        missing = [i for i in ids if i not in self.made]
        if missing:
            self.of(self.service.calls_of(missing))
        return [self.made[i] for i in ids if i in self.made]


def history_records(pages: CallPages | CallMatches, rows: _Rows, *,
                    matching: Callable[[str], PagedRecords | None] | None = None,
                    warm: Callable[[], object] | None = None) -> PagedRecords:
    """A table source over :class:`CallPages` or :class:`CallMatches`: rows
    are ``make(call)`` plus ``_at`` (the call's started_at: the next page
    starts after it); a page of matches takes the rows made already."""
    def fetch(offset: int, limit: int, after) -> list[dict]:
        if isinstance(pages, CallMatches):
            return rows.by_id(pages.ids(offset, limit))
        return rows.of(pages.page(offset, limit, after=(after["_at"], after["id"]) if after is not None else None))

    return PagedRecords(fetch, pages.count, matching=matching, warm=warm)


class _Window:
    """A History view's newest 5,000 calls as the fields ``/`` looks at
    (:meth:`Telephony.history_window`), read once: in a thread when the
    filter bar opens, or by the first letter (which then waits for it)."""

    def __init__(self, service, where: dict) -> None:
        self.service, self.where = service, where
        self._lock = threading.Lock()
        self._rows: list[dict] | None = None

    def rows(self) -> list[dict]:
        with self._lock:
            if self._rows is None:
                self._rows = self.service.history_window(self.where)
            return self._rows


class HistoryScreen(BackdeskScreen):
    """Every call, newest first; filters: today, unanswered, transferred, a person."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"telephony.calls"})
    BINDINGS = [
        Binding("1", "filter('today')", _("Today"), id="telephony.history_today"),
        Binding("2", "filter('unanswered')", _("Unanswered"), id="telephony.history_unanswered"),
        Binding("3", "filter('transferred')", _("Transferred"), id="telephony.history_transferred"),
        Binding("4", "filter('all')", _("All"), id="telephony.history_all"),
        Binding("f", "person", _("Person"), id="telephony.history_person"),
        Binding("g", "dial", _("Call"), id="telephony.history_dial"),
        Binding("slash", "find", _("Find"), id="telephony.history_find"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = service_for(ctx)
        self.mode = "today"
        self.person_id: int | None = None

    def compose_content(self) -> ComposeResult:
        yield Static("", id="hist-summary", classes="tel-status")
        yield FilterInput("#hist-table", placeholder=_("/ find…"), id="hist-filter", compact=True)
        yield DetailsTable(
            # Beside the menu at 80x24: time, caller (narrowed), outcome and
            # duration; the transfer chain moves to the detail line. Wider,
            # caller and chain share the room.
            [Column("time", _("Time"), width=_when_width()), Column("caller", _("Caller"), priority=-1),
             Column("outcome", _("Outcome"), width=13), Column("duration", _("Dur."), width=6, align="right"),
             Column("chain", _("Chain"), priority=-1)],
            [], id="hist-table", empty_text=_("No calls"))

    def on_mount(self) -> None:
        super().on_mount()
        self.reload()
        self.query_one("#hist-table", RecordTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.focused, Input) and action != "find":
            return False
        return True

    def reload(self) -> None:
        """Today's, the unanswered, the transferred, all calls and a
        person's: read from the store a page at a time (a person's and the
        transferred by the fields the store keeps on each call, also for a
        person who was only a hop of a transfer); ``/`` finds names among
        the view's newest 5,000 (their callers' and people's fields read
        once, when the filter opens)."""
        from plugins.telephony.cli import chain_text

        s = self.service
        names = Names(s)  # thousands of calls, a few dozen people: each name looked up once

        def row(c: dict) -> dict:
            return {"id": c["id"], "time": format_datetime(c["started_at"], "short"), "caller": names.caller_text(c),
                    "outcome": outcome_title(c.get("outcome")) or status_title(c["status"]),
                    "duration": format_duration(c.get("duration")), "chain": chain_text(names, c, human=True)}

        made = _Rows(s, names, row)
        table = self.query_one("#hist-table", RecordTable)
        where = s.history_where(today=self.mode == "today", unanswered=self.mode == "unanswered",
                                transferred=self.mode == "transferred", person_id=self.person_id)
        # the newest 5,000 calls' fields a name is found in: read when / opens the filter
        window = _Window(s, where)
        last: list = []  # the previous text's matches: one more letter narrows them

        def matching(text: str) -> PagedRecords:
            found = CallMatches(s, where, text, previous=last[0] if last else None, window=window.rows())
            last[:] = [found]
            return history_records(found, made)

        records = history_records(CallPages(s, where), made, matching=matching, warm=window.rows)
        table.set_records(records)
        n = len(records)
        label = {"today": _("Today"), "unanswered": _("Unanswered"), "transferred": _("Transferred"),
                 "all": _("All calls")}[self.mode]
        if self.person_id:
            label += " · " + s.person_text(self.person_id)
        # The view and its size; the keys that change the view are on the
        # key bar (here they were cut at 80 columns beside the menu).
        self.query_one("#hist-summary", Static).update(
            _.ngettext("{label}: {n} call", "{label}: {n} calls", n).format(label=label, n=format_number(n)))

    def refresh_data(self, names: frozenset[str]) -> None:
        self.reload()

    def action_find(self) -> None:
        self.query_one("#hist-filter", FilterInput).focus()

    def action_filter(self, mode: str) -> None:
        self.mode = mode
        if mode == "all":
            self.person_id = None
        self.reload()

    def action_dial(self) -> None:
        record = self.query_one("#hist-table", RecordTable).cursor_record
        call = self.service.calls.get(record["id"]) if record else None
        if call is None:
            return
        if call.get("direction") == "out":
            if call.get("to_person_id"):
                dial_person(self.app, self.service, call["to_person_id"])
            elif call.get("dialled"):
                dial_person(self.app, self.service, number=call["dialled"])
            return
        dial_back(self.app, self.service, call)

    def action_person(self) -> None:
        def done(result) -> None:
            self.person_id = result[0] if result else None
            self.reload()

        self.app.push_screen(PersonPicker(self.service, _("Calls of…"), with_note=False), done)

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        event.stop()
        from core.shell.screens.directory import DetailModal
        from plugins.telephony.cli import chain_text

        s = self.service
        c = s.calls.get(event.record["id"])
        if c is None:
            return
        pairs = [(_("Caller"), s.caller_text(c)), (_("Number"), c.get("caller_number")),
                 (_("Asked for"), s.person_text(c.get("wanted_person_id")) or None),
                 (_("Started"), format_datetime(c["started_at"])),
                 (_("Answered"), format_time(c["answered_at"]) if c.get("answered_at") else None),
                 (_("Ended"), format_time(c["ended_at"]) if c.get("ended_at") else None),
                 (_("Duration"), format_duration(c.get("duration")) or None),
                 (_("Status"), status_title(c["status"])), (_("Outcome"), _outcome_with_cause(c) or None),
                 (_("Chain"), chain_text(s, c, human=True)), (_("Operator"), c.get("operator"))]
        if c.get("note"):
            pairs.append((_("Note"), c["note"]))
        for t in c.get("transfers") or ():
            pairs.append((_("Transfer"), f"{transfer_title(t)} → {s.person_text(t['to_person_id'])}"
                          + (f": {t['note']}" if t.get("note") else "")))
        self.app.push_screen(DetailModal(_("Call {id}").format(id=c["id"]), pairs))


# --------------------------------------------------------------------------- palette


def _ctx_of(app):
    return app.backdesk.context("telephony")


def command_log_call(app) -> None:
    app.open_nav("telephony")
    app.call_after_refresh(lambda: getattr(app.screen, "action_answer", lambda: None)())


def command_dial(app) -> None:
    """Pick a person, then call them (the operator's phone rings first)."""
    service = service_for(_ctx_of(app))

    def done(result) -> None:
        if result:
            dial_person(app, service, result[0])

    app.push_screen(PersonPicker(service, _("Call…"), with_note=False), done)


def dial_person(app, service, person_id: int | None = None, *, number: str | None = None) -> int | None:
    """Click-to-dial from any screen: a notification says what happens."""
    try:
        call_id = service.dial(person_id, number=number)
    except BackdeskError as exc:
        app.notify(_error_text(exc), severity="error", timeout=6)
        return None
    who = service.person_text(person_id) if person_id else number
    app.notify(_("Calling {name}: your phone rings first.").format(name=who), timeout=4)
    return call_id


def _outcome_with_cause(call: dict) -> str:
    """``missed (busy)``: the outcome, and for an unanswered call why the PBX ended it."""
    from plugins.telephony.models import HANGUP_CAUSE_TITLES, label

    text = outcome_title(call.get("outcome"))
    cause = (call.get("pbx") or {}).get("cause")
    if text and cause in HANGUP_CAUSE_TITLES and call.get("outcome") != "connected":
        text += f" ({label(HANGUP_CAUSE_TITLES, cause)})"
    return text


def dial_back(app, service, doc: dict) -> int | None:
    """Call back whoever called (a message or a call): a person at their
    extension, else the number we have."""
    if doc.get("caller_person_id"):
        return dial_person(app, service, doc["caller_person_id"])
    number = doc.get("caller_number")
    if not number and doc.get("contact_id"):
        number = (service.contacts.get(doc["contact_id"]) or {}).get("number")
    if not number:
        app.notify(_("There is no number to call back."), severity="warning")
        return None
    return dial_person(app, service, number=number)


def command_take_message(app) -> None:
    message_form(app, service_for(_ctx_of(app)))


def command_toggle_night(app) -> None:
    s = service_for(_ctx_of(app))
    mode = "night" if not s.is_night() else "day"
    s.set_hours_mode(mode)
    app.notify(_("Night service on") if mode == "night" else _("Business hours on"), timeout=3)
