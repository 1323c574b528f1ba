"""The Switchboard, Messages and Call history screens.

The operator's common flow, keys only::

    a  0301234567 ⏎        answer: who is calling (number, extension or name)
    T  beck ⏎              attended transfer: consult Anna Becker
    c                      she takes it          — or —
    w  / m  text ctrl+s    she is away: take a message (she is notified)

``t`` blind transfer, ``v`` to voicemail, ``p``/``P`` park/retrieve, ``u``
pick up the call ringing at the highlighted extension, ``d`` do not disturb,
``s`` presence, ``n`` business hours / night service, ``h`` hang up,
``x`` cancel a consultation (or: the caller gave up), ``/`` find a person.
"""

from __future__ import annotations

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
from core.i18n import format_datetime, format_time
from core.screens.base import BackdeskScreen
from core.widgets import Column, FilterInput, Field, FormScreen, KeyBar, RecordTable
from plugins.telephony.models import (
    PRESENCE, _, format_duration, message_status_title, outcome_title, presence_title, seconds_between, now_utc,
    status_title, transfer_title, urgency_title,
)
from plugins.telephony.service import HANDLE, HOURS, PRESENCE_SET, TAKE, TargetUnreachable, service_for

CSS_PATH = Path(__file__).parent / "telephony.tcss"
WATCH = frozenset({"telephony.calls", "telephony.presence", "telephony.messages", "telephony.switch",
                   "core.people"})


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


class DetailsTable(RecordTable, inherit_bindings=False):
    BINDINGS = _quiet_bindings(_("Details"))


# --------------------------------------------------------------------------- dialogs


class CallerPrompt(ModalScreen[dict | None]):
    CSS_PATH = CSS_PATH
    """Who is calling? One line; name and company only for new external callers."""

    BINDINGS = [Binding("escape", "dismiss(None)", _("Cancel"), id="telephony.prompt_cancel")]

    def __init__(self, service) -> None:
        super().__init__()
        self.service = service
        self.resolved: dict | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="tel-dialog"):
            yield Static(_("Answer a call — who is calling?"), classes="tel-dialog-title")
            yield Input(placeholder=_("Number, extension or name"), id="caller-who", compact=True)
            yield Static("", id="caller-hint", classes="tel-hint")
            yield Input(placeholder=_("Name (new external caller)"), id="caller-name", compact=True)
            yield Input(placeholder=_("Company"), id="caller-company", compact=True)
            yield Static(_("⏎ answer · esc cancel"), classes="tel-keys")

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
        if event.input.id == "caller-who" and not (self.resolved and (
                self.resolved["caller_person_id"] or self.resolved["contact_id"])):
            if self.resolved is not None:
                self.query_one("#caller-name", Input).focus()
                return
        if event.input.id == "caller-name":
            self.query_one("#caller-company", Input).focus()
            return
        self.dismiss({"who": self.query_one("#caller-who", Input).value,
                      "name": self.query_one("#caller-name", Input).value or None,
                      "company": self.query_one("#caller-company", Input).value or None})


class PersonPicker(ModalScreen[tuple[int, str] | None]):
    CSS_PATH = CSS_PATH
    """Pick a person by typing (name, department or extension); with a note line."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", _("Cancel"), id="telephony.picker_cancel"),
        Binding("down", "move(1)", show=False, id="telephony.picker_down"),
        Binding("up", "move(-1)", show=False, id="telephony.picker_up"),
    ]

    def __init__(self, service, title: str, *, with_note: bool = True, initial: str = "") -> None:
        super().__init__()
        self.service = service
        self.title_text = title
        self.with_note = with_note
        self.initial = initial
        self.rows: list[dict] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="tel-dialog"):
            yield Static(self.title_text, classes="tel-dialog-title")
            yield Input(value=self.initial, placeholder=_("Type a name, department or extension"),
                        id="pick-query", compact=True)
            yield OptionList(id="pick-list")
            if self.with_note:
                yield Input(placeholder=_("Note for the person (optional, tab)"), id="pick-note", compact=True)
            yield Static("", id="pick-error", classes="tel-error")
            yield Static(_("⏎ choose · ↑↓ move · tab note · esc cancel"), classes="tel-keys")

    def on_mount(self) -> None:
        self.query_one("#pick-query", Input).focus()
        self._fill(self.initial)

    def _fill(self, text: str) -> None:
        presence = self.service.presence_map()
        found = self.service.people.find(text, status=("active", "on_leave", "left") if text else ("active",),
                                         limit=40)
        found.sort(key=lambda p: p.get("status") == "left")
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
                state = presence_title(state)
            box.add_option(Option(f"{(p.get('extension') or '-'):>5}  {p['name'][:24]:<24} "
                                  f"{(p.get('department') or '')[:16]:<16} {state}", id=str(p["id"])))
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
    CSS_PATH = CSS_PATH
    """Pick one of a few values with the arrow keys (or its first letter)."""

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
    values = {"for": service.person_text(for_person_id) if for_person_id else "",
              "from": service.caller_text(call) if call else "",
              "number": (call or {}).get("caller_number") or "", "callback": True, "urgent": False}
    if call and (call.get("caller_person_id") or call.get("contact_id")):
        values["from"] = ""  # known from the call itself
    fields = [
        Field("text", _("Message"), required=True),
        Field("for", _("For"), required=True, help=_("name, extension or #id")),
        Field("from", _("From"), help=_("blank: the caller on the line") if call else None),
        Field("number", _("Call back on")),
        Field("urgent", _("Urgent"), kind="bool"),
        Field("callback", _("Callback wanted"), kind="bool", default=True),
    ]

    def submit(form: dict) -> int:
        target = form["for"]
        if for_person_id and form["for"] == values["for"]:
            target = for_person_id
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
                id=result, name=values["for"] or _("the person")), timeout=4)
        if done is not None:
            done(result)

    title = _("Take a message")
    if call:
        title += " — " + _("call {id}").format(id=call["id"])
    app.push_screen(FormScreen(title, fields, values, on_submit=submit, submit_label=_("Take message")), finished)


# --------------------------------------------------------------------------- switchboard


class SwitchboardScreen(BackdeskScreen):
    """Extensions with live state; the call on the line; every action a key."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = WATCH
    BINDINGS = [
        Binding("a", "answer", _("Answer"), id="telephony.answer"),
        Binding("t", "transfer('blind')", _("Transfer"), id="telephony.transfer"),
        Binding("T", "transfer('attended')", _("Attended"), id="telephony.attended"),
        Binding("c", "complete", _("Complete"), id="telephony.complete"),
        Binding("w", "target_away", _("Away→msg"), id="telephony.target_away"),
        Binding("x", "cancel", _("Cancel"), id="telephony.cancel"),
        Binding("m", "message", _("Message"), id="telephony.message"),
        Binding("v", "transfer('voicemail')", _("Voicemail"), id="telephony.voicemail", show=False),
        Binding("h", "hang_up", _("Hang up"), id="telephony.hang_up", show=False),
        Binding("p", "park", _("Park"), id="telephony.park"),
        Binding("P", "retrieve", _("Retrieve"), id="telephony.retrieve"),
        Binding("u", "pickup", _("Pick up"), id="telephony.pickup", show=False),
        Binding("d", "dnd", _("DND"), id="telephony.dnd"),
        Binding("s", "presence", _("Presence"), id="telephony.presence", show=False),
        Binding("n", "night", _("Night"), id="telephony.night", show=False),
        Binding("slash", "find", _("Find"), id="telephony.find"),
        Binding("M", "open('telephony.messages')", _("Messages"), id="telephony.messages", show=False),
        Binding("H", "open('telephony.history')", _("History"), id="telephony.history", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = service_for(ctx)

    def compose_content(self) -> ComposeResult:
        yield Static("", id="sb-status", classes="tel-status")
        yield Static("", id="sb-call", classes="tel-call")
        yield FilterInput("#sb-table", placeholder=_("/ find: name, department, extension…"), id="sb-filter",
                          compact=True)
        yield SwitchboardTable(
            [Column("extension", _("Ext."), width=5, align="right"),
             Column("name", _("Name"), width=18),
             Column("department", _("Department"), width=14),
             Column("state", _("State"), width=13, format=presence_title)],
            [], id="sb-table", empty_text=_("Nobody matches"))

    def on_mount(self) -> None:
        super().on_mount()
        self.reload()
        self.query_one("#sb-table", RecordTable).focus()
        if self.service.backend.live:
            try:
                self.service.start_backend()
            except BackdeskError as exc:
                self.notify(exc.message, severity="error")
        self.set_interval(1.0, self._tick, name="switchboard-tick")

    def on_unmount(self) -> None:
        self.service.stop_backend()

    # -- data -----------------------------------------------------------------------
    @property
    def table(self) -> RecordTable:
        return self.query_one("#sb-table", RecordTable)

    def reload(self) -> None:
        self.table.set_records(self.service.extension_rows())
        self._show_call()
        self._show_status()

    def refresh_data(self, names: frozenset[str]) -> None:
        self.reload()

    def _tick(self) -> None:
        self._show_status()
        self._show_call()

    def _show_status(self) -> None:
        s = self.service
        night = s.is_night()
        mode = s.hours_mode()
        hours = _("Night service") if night else _("Business hours")
        if mode == "auto":
            hours += " " + _("(auto)")
        code, text = s.backend.state()
        parked = s.parked_calls()
        parts = [hours, text]
        if parked:
            parts.append(_("parked: {slots}").format(slots=", ".join(c["park_slot"] or "?" for c in parked)))
        open_cb = s.messages.count({"status": "open"})
        if open_cb:
            parts.append(_.ngettext("{n} open callback", "{n} open callbacks", open_cb).format(n=open_cb))
        status = self.query_one("#sb-status", Static)
        status.update(" · ".join(parts))
        status.set_class(code in ("reconnecting", "disconnected"), "-alert")
        status.set_class(night, "-night")

    def _show_call(self) -> None:
        call = self.service.current_call()
        box = self.query_one("#sb-call", Static)
        if call is None:
            box.update(_("No call on the line — a answer · / find · u pick up · P retrieve"))
            box.set_class(False, "-live")
            self.refresh_bindings()
            return
        s = self.service
        who = s.caller_text(call)
        number = call.get("caller_number")
        line = _("Call {id}: {who}").format(id=call["id"], who=who)
        if number and not (call.get("caller_person_id") or call.get("contact_id")) and number not in who:
            line += f" {number}"
        since = call.get("answered_at") or call["started_at"]
        line += f" · {status_title(call['status'])} {format_duration(seconds_between(since, now_utc()))}"
        second = ""
        if call["status"] == "consulting":
            second = _("Consulting {name} — c complete · w away → message · x back to caller").format(
                name=s.person_text(call.get("consult_person_id")))
        elif call.get("wanted_person_id"):
            second = _("Asked for {name}").format(name=s.person_text(call["wanted_person_id"]))
            second += " — " + _("t transfer · T attended · m message · h hang up")
        else:
            second = _("t transfer · T attended · m message · p park · h hang up")
        box.update(line + "\n" + second)
        box.set_class(True, "-live")
        self.refresh_bindings()

    # -- bindings shown as the call goes ---------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.focused, Input) and action not in ("open",):
            return False if action not in ("find",) else True
        call = self.service.current_call() if self.is_mounted else None
        consulting = call is not None and call["status"] == "consulting"
        ctx = self.ctx
        if action in ("complete", "target_away"):
            return consulting
        if action in ("transfer", "park", "hang_up"):
            return call is not None and not consulting and ctx.can(HANDLE)
        if action == "cancel":
            return call is not None and ctx.can(HANDLE)
        if action == "retrieve":
            return ctx.can(HANDLE) and bool(self.service.parked_calls())
        if action in ("answer", "pickup"):
            return ctx.can(HANDLE)
        if action == "message":
            return ctx.can(TAKE)
        if action in ("dnd", "presence"):
            return ctx.can(PRESENCE_SET)
        if action == "night":
            return ctx.can(HOURS)
        return True

    # -- actions ------------------------------------------------------------------------
    def _guard(self, fn: Callable[[], Any], ok: str | None = None) -> Any:
        try:
            result = fn()
        except BackdeskError as exc:
            self.notify(_error_text(exc), severity="error", timeout=6)
            return None
        if ok:
            self.notify(ok, timeout=3)
        self.reload()
        return result

    def action_find(self) -> None:
        self.query_one("#sb-filter", FilterInput).focus()

    def action_open(self, nav_id: str) -> None:
        self.bd_app.open_nav(nav_id)

    def action_answer(self) -> None:
        def done(result: dict | None) -> None:
            if not result:
                return
            call_id = self._guard(lambda: self.service.log_call(result["who"], name=result["name"],
                                                                company=result["company"]))
            if call_id is not None:
                call = self.service.get_call(call_id)
                if call["status"] == "ended":
                    self.notify(_("Night service: call {id} went to {outcome}.").format(
                        id=call_id, outcome=outcome_title(call["outcome"])), timeout=5)

        self.app.push_screen(CallerPrompt(self.service), done)

    def action_transfer(self, mode: str) -> None:
        call = self.service.current_call()
        if call is None:
            self.notify(_("No call on the line: press a to answer first."), severity="warning")
            return
        titles = {"blind": _("Transfer call {id} to…"), "attended": _("Consult first, then transfer {id} to…"),
                  "voicemail": _("Send call {id} to the voicemail of…")}
        initial = ""

        def done(result) -> None:
            if not result:
                return
            person_id, note = result
            try:
                doc = self.service.transfer(call["id"], person_id, mode=mode, note=note)
            except TargetUnreachable as exc:
                self.notify(exc.message, severity="warning", timeout=6)
                if mode != "voicemail" and self.ctx.can(TAKE):
                    message_form(self.app, self.service, for_person_id=exc.message_for, call=call,
                                 done=lambda _r: self.reload())
                return
            except BackdeskError as exc:
                self.notify(_error_text(exc), severity="error", timeout=6)
                return
            name = self.service.person_text(person_id)
            if mode == "attended":
                self.notify(_("Consulting {name}: c when they take it, w if away, x to return.").format(
                    name=name), timeout=5)
            elif mode == "voicemail":
                self.notify(_("Call {id} sent to {name}'s voicemail.").format(id=doc["id"], name=name), timeout=3)
            else:
                self.notify(_("Call {id} transferred to {name}.").format(id=doc["id"], name=name), timeout=3)
            self.reload()

        self.app.push_screen(PersonPicker(self.service, titles[mode].format(id=call["id"]), initial=initial),
                             done)

    def action_complete(self) -> None:
        call = self.service.current_call()
        if call is not None:
            self._guard(lambda: self.service.complete_transfer(call["id"]),
                        _("Transferred to {name}.").format(name=self.service.person_text(call.get("consult_person_id"))))

    def action_target_away(self) -> None:
        call = self.service.current_call()
        if call is None or call["status"] != "consulting":
            return
        target = call.get("consult_person_id")
        if self._guard(lambda: self.service.cancel_transfer(call["id"], reason="away")) is None:
            return
        message_form(self.app, self.service, for_person_id=target, call=self.service.get_call(call["id"]),
                     done=lambda _r: self.reload())

    def action_cancel(self) -> None:
        call = self.service.current_call()
        if call is None:
            return
        if call["status"] == "consulting":
            self._guard(lambda: self.service.cancel_transfer(call["id"], reason="no answer"),
                        _("Back with the caller."))
        else:
            self._guard(lambda: self.service.end_call(call["id"], outcome="missed"),
                        _("Call {id} marked as missed.").format(id=call["id"]))

    def action_hang_up(self) -> None:
        call = self.service.current_call()
        if call is not None:
            self._guard(lambda: self.service.end_call(call["id"], outcome="connected"),
                        _("Call {id} ended.").format(id=call["id"]))

    def action_message(self) -> None:
        call = self.service.current_call()
        target = None
        if call is not None:
            target = call.get("consult_person_id") or call.get("wanted_person_id")
        elif self.table.cursor_record is not None and self.focused is self.table:
            target = self.table.cursor_record["id"]
        message_form(self.app, self.service, for_person_id=target, call=call, done=lambda _r: self.reload())

    def action_park(self) -> None:
        call = self.service.current_call()
        if call is not None:
            slot = self._guard(lambda: self.service.park(call["id"]))
            if slot:
                self.notify(_("Call {id} parked in slot {slot} (P retrieves).").format(id=call["id"], slot=slot),
                            timeout=4)

    def action_retrieve(self) -> None:
        parked = self.service.parked_calls()
        if not parked:
            self.notify(_("No call is parked."), severity="warning")
            return
        if len(parked) == 1:
            self._guard(lambda: self.service.retrieve(parked[0]["id"]), _("Call back on the line."))
            return
        choices = [(str(c["id"]), f"P{c['park_slot']}  {self.service.caller_text(c)}") for c in parked]

        def done(value: str | None) -> None:
            if value:
                self._guard(lambda: self.service.retrieve(int(value)), _("Call back on the line."))

        self.app.push_screen(ChoiceDialog(_("Retrieve which parked call?"), choices), done)

    def action_pickup(self) -> None:
        record = self.table.cursor_record
        if record is None:
            return
        call_id = self._guard(lambda: self.service.pickup(record["id"]))
        if call_id is not None:
            self.notify(_("Picked up the call at {ext}.").format(ext=record["extension"]), timeout=3)

    def action_dnd(self) -> None:
        record = self.table.cursor_record
        if record is None:
            return
        state = self._guard(lambda: self.service.toggle_dnd(record["id"]))
        if state:
            self.notify(_("{name}: {state}").format(name=record["name"], state=presence_title(state)), timeout=2)

    def action_presence(self) -> None:
        record = self.table.cursor_record
        if record is None:
            return
        choices = [(state, presence_title(state)) for state in PRESENCE if state != "ringing"]

        def done(value: str | None) -> None:
            if value:
                self._guard(lambda: self.service.set_presence(record["id"], value))

        self.app.push_screen(ChoiceDialog(_("Presence of {name}").format(name=record["name"]), choices), done)

    def action_night(self) -> None:
        order = {"auto": "day", "day": "night", "night": "auto"}
        mode = order[self.service.hours_mode()]
        if self._guard(lambda: self.service.set_hours_mode(mode)):
            self.notify({"auto": _("Hours: automatic"), "day": _("Business hours (manual)"),
                         "night": _("Night service: calls go to messages/voicemail")}[mode], timeout=3)

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        """Enter on a person: transfer the call on the line to them (blind)."""
        event.stop()
        call = self.service.current_call()
        if call is None or call["status"] == "consulting":
            return
        person_id = event.record["id"]
        try:
            self.service.transfer(call["id"], person_id, mode="blind")
        except TargetUnreachable as exc:
            self.notify(exc.message, severity="warning", timeout=6)
            message_form(self.app, self.service, for_person_id=exc.message_for, call=call,
                         done=lambda _r: self.reload())
            return
        except BackdeskError as exc:
            self.notify(_error_text(exc), severity="error", timeout=6)
            return
        self.notify(_("Call {id} transferred to {name}.").format(id=call["id"], name=event.record["name"]),
                    timeout=3)
        self.reload()


# --------------------------------------------------------------------------- messages


class MessagesScreen(BackdeskScreen):
    """Messages taken; open callbacks first. Enter or ``x`` marks a callback done."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"telephony.messages", "core.people"})
    BINDINGS = [
        Binding("x", "done", _("Callback done"), id="telephony.callback_done"),
        Binding("o", "toggle_open", _("Open only"), id="telephony.messages_open"),
        Binding("m", "new", _("New message"), id="telephony.messages_new"),
        Binding("slash", "find", _("Find"), id="telephony.messages_find"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = service_for(ctx)
        self.open_only = True

    def compose_content(self) -> ComposeResult:
        yield Static("", id="msg-summary", classes="tel-status")
        yield FilterInput("#msg-table", placeholder=_("/ find…"), id="msg-filter", compact=True)
        yield DetailsTable(
            [Column("when", _("Taken"), width=16), Column("for", _("For"), width=18),
             Column("from", _("From"), width=20), Column("flags", "", width=3),
             Column("text", _("Message"))],
            [], id="msg-table", empty_text=_("No messages"))

    def on_mount(self) -> None:
        super().on_mount()
        self.reload()
        self.query_one("#msg-table", RecordTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.focused, Input) and action != "find":
            return False
        return True

    def reload(self) -> None:
        s = self.service
        try:
            rows = s.list_messages(open_only=self.open_only)
        except BackdeskError as exc:
            self.query_one("#msg-summary", Static).update(exc.message)
            return
        data = []
        for m in rows:
            flags = ("!" if m.get("urgency") == "urgent" else " ") + ("☎" if m.get("status") == "open" else "✓"
                                                                       if m.get("status") == "done" else " ")
            data.append({"id": m["id"], "when": format_datetime(m["taken_at"], "short"),
                         "for": s.person_text(m.get("for_person_id")), "from": s.message_caller(m),
                         "flags": flags, "text": m.get("text"), "status": m.get("status")})
        self.query_one("#msg-table", RecordTable).set_records(data)
        open_n = sum(1 for m in rows if m.get("status") == "open")
        self.query_one("#msg-summary", Static).update(
            (_("Open callbacks: {n}").format(n=open_n) if self.open_only else
             _("All messages: {n}, {open} open").format(n=len(rows), open=open_n))
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

    def action_done(self) -> None:
        record = self.query_one("#msg-table", RecordTable).cursor_record
        if record is None:
            return
        try:
            self.service.complete_callback(record["id"])
        except BackdeskError as exc:
            self.notify(exc.message, severity="error")
            return
        self.notify(_("Callback done."), timeout=2)
        self.reload()

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        event.stop()
        doc = self.service.messages.get(event.record["id"])
        if doc is None:
            return
        from core.screens.directory import DetailModal

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
            [Column("time", _("Time"), width=16), Column("caller", _("Caller"), width=20),
             Column("outcome", _("Outcome"), width=13), Column("duration", _("Dur."), width=6, align="right"),
             Column("chain", _("Chain"))],
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
        from plugins.telephony.cli import chain_text

        s = self.service
        rows = s.list_calls(today=self.mode == "today", unanswered=self.mode == "unanswered",
                            transferred=self.mode == "transferred", person_id=self.person_id, limit=5000)
        data = [{"id": c["id"], "time": format_datetime(c["started_at"], "short"), "caller": s.caller_text(c),
                 "outcome": outcome_title(c.get("outcome")) or status_title(c["status"]),
                 "duration": format_duration(c.get("duration")), "chain": chain_text(s, c, human=True)}
                for c in rows]
        self.query_one("#hist-table", RecordTable).set_records(data)
        label = {"today": _("Today"), "unanswered": _("Unanswered"), "transferred": _("Transferred"),
                 "all": _("All calls")}[self.mode]
        if self.person_id:
            label += " · " + s.person_text(self.person_id)
        self.query_one("#hist-summary", Static).update(
            _.ngettext("{label}: {n} call · 1 today 2 unanswered 3 transferred 4 all · f person",
                       "{label}: {n} calls · 1 today 2 unanswered 3 transferred 4 all · f person",
                       len(rows)).format(label=label, n=len(rows)))

    def refresh_data(self, names: frozenset[str]) -> None:
        self.reload()

    def action_find(self) -> None:
        self.query_one("#hist-filter", FilterInput).focus()

    def action_filter(self, mode: str) -> None:
        self.mode = mode
        if mode == "all":
            self.person_id = None
        self.reload()

    def action_person(self) -> None:
        def done(result) -> None:
            self.person_id = result[0] if result else None
            self.reload()

        self.app.push_screen(PersonPicker(self.service, _("Calls of…"), with_note=False), done)

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        event.stop()
        from core.screens.directory import DetailModal
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
                 (_("Status"), status_title(c["status"])), (_("Outcome"), outcome_title(c.get("outcome")) or None),
                 (_("Chain"), chain_text(s, c, human=True)), (_("Operator"), c.get("operator")),
                 (_("Note"), c.get("note") or None)]
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


def command_take_message(app) -> None:
    message_form(app, service_for(_ctx_of(app)))


def command_toggle_night(app) -> None:
    s = service_for(_ctx_of(app))
    mode = "night" if not s.is_night() else "day"
    s.set_hours_mode(mode)
    app.notify(_("Night service on") if mode == "night" else _("Business hours on"), timeout=3)
