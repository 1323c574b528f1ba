"""The Switchboard: every call on the line, the queue and the extensions, live.

Laid out for 80×24 (with the sidebar: 59 columns)::

    status   hours (auto/day/night) · PBX state · parked · open callbacks
    calls    one line per open call, oldest first, then held and parked:
             ▸ 1 Klaus Brandt (Brandt GmbH)  on the line  2:13  → Anna Becker
               2 +49 30 1234567              queue #1     0:45
               3 Müller                      P701         1:10
    queue    switchboard: 2 waiting, longest 1:20 · Bob ‖ lunch · Emily ●
    hint     what the highlighted call is, and the keys for it (at night:
             where calls go and why)
    filter   / find a person
    table    extensions with their live state

↑↓ (or 1–9) choose the call the keys act on; Tab moves between the calls and
the extensions. The keys: ``a`` answer (a waiting call: to your phone;
otherwise log one), ``t``/``T``/``v`` transfer blind/attended/to voicemail
(the picker starts on the person asked for; Tab reaches the note),
``c``/``w``/``x`` while consulting, ``p``/``P`` park/retrieve, ``o`` hold,
``h`` hang up, ``m`` message, ``u`` pick up at the highlighted extension,
``g`` call the highlighted person, ``d``/``s`` DND/presence, ``n`` hours,
``q`` the queues.

What the PBX reports reaches the screen as a coalescing :class:`LiveChanged`
message posted by the backend's listener (a burst of events is one repaint);
changes in the store arrive as ``TablesChanged`` like everywhere else.
"""

from __future__ import annotations

import time
from typing import Any, Callable, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Static

from core.errors import BackdeskError
from core.shell.screens.base import BackdeskScreen
from core.shell.widgets import Column, ConfirmDialog, FilterInput, KeyBar, RecordTable
from plugins.telephony.models import (
    PRESENCE, WAITING_STATUSES, _, format_duration, outcome_title, parse_utc, presence_title, status_title,
)
from plugins.telephony.screens import (
    CSS_PATH, CallerPrompt, ChoiceDialog, PersonPicker, SwitchboardTable, _error_text, message_form,
)
from plugins.telephony.service import HANDLE, HOURS, PRESENCE_SET, TAKE, TargetUnreachable, service_for

WATCH = frozenset({"telephony.calls", "telephony.presence", "telephony.messages", "telephony.switch",
                   "core.people"})


class LiveChanged(Message):
    """The PBX reported something (posted from the backend's thread); bursts coalesce."""

    def __init__(self, changed: frozenset[str]) -> None:
        super().__init__()
        self.changed = changed

    def can_replace(self, message: Message) -> bool:
        # Textual keeps the newer message: what the older one said goes with it
        if isinstance(message, LiveChanged):
            message.changed = self.changed | message.changed
            return True
        return False


def _since(value: str | None, now: float) -> int | None:
    if not value:
        return None
    return max(0, int(now - parse_utc(value).timestamp()))


def _update(widget: Static, text: str) -> None:
    """Show ``text`` unless it is already shown: ``Static.update`` asks for a
    layout pass of the whole screen, which a busy switchboard cannot afford
    several times a second for lines that did not change."""
    shown = getattr(widget, "_shown_text", None)
    if shown == text:
        return
    widget._shown_text = text
    # the height follows the lines: a layout pass only when it may change
    width = widget.content_size.width
    same_height = shown is not None and shown.count("\n") == text.count("\n") and width > 0 and \
        all(len(line) <= width for line in (shown + "\n" + text).splitlines())
    widget.update(text, layout=not same_height)


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else name[:max(1, width - 1)] + "…"


class CallBoard(Widget, can_focus=True):
    """The calls on the switchboard, one line each; ↑↓ choose the one the keys act on."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "callboard--cursor", "callboard--waiting", "callboard--mine", "callboard--aside", "callboard--empty",
    }
    #: the most calls shown at once (the highlighted one is always among them)
    MAX_LINES = 8
    DEFAULT_CSS = """
    CallBoard { height: auto; max-height: 8; padding: 0 1; }
    CallBoard > .callboard--cursor { background: $block-cursor-blurred-background; text-style: bold; }
    CallBoard:focus > .callboard--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }
    CallBoard > .callboard--waiting { color: $warning; }
    CallBoard > .callboard--mine { text-style: bold; }
    CallBoard > .callboard--aside { color: $text-muted; }
    CallBoard > .callboard--empty { color: $text-muted; }
    """
    BINDINGS = [
        Binding("down", "move(1)", show=False, id="telephony.calls_down"),
        Binding("up", "move(-1)", show=False, id="telephony.calls_up"),
        Binding("home", "move_to(0)", show=False, id="telephony.calls_first"),
        Binding("end", "move_to(-1)", show=False, id="telephony.calls_last"),
    ]

    class Moved(Message):
        """The highlighted call changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[dict] = []
        self.cursor = 0
        self.empty_text = ""

    @property
    def selected(self) -> dict | None:
        return self.rows[self.cursor]["call"] if self.rows else None

    def set_rows(self, rows: list[dict], empty_text: str = "", prefer: int | None = None) -> None:
        """Show ``rows`` ({call, cells, kind}); the highlight stays on the same call."""
        keep = self.selected["id"] if self.rows else None
        shown = [(r["call"]["id"], r["kind"], r["cells"]) for r in rows]
        if shown == getattr(self, "_shown", None) and empty_text == self.empty_text and (
                keep is None or keep in [s[0] for s in shown]):
            # the same lines (the clock's tick with no call on the line): no repaint
            self.rows = rows
            return
        self._shown = shown
        self.rows = rows
        self.empty_text = empty_text
        ids = [r["call"]["id"] for r in rows]
        if keep in ids:
            self.cursor = ids.index(keep)
        elif prefer in ids:
            self.cursor = ids.index(prefer)
        else:
            self.cursor = min(self.cursor, max(0, len(rows) - 1))
        # a new layout only when the board's height changes (a layout pass costs far more than a repaint)
        height = max(1, min(len(rows), self.MAX_LINES))
        self.refresh(layout=height != getattr(self, "_height", None))
        self._height = height

    def select(self, call_id: int) -> bool:
        for i, row in enumerate(self.rows):
            if row["call"]["id"] == call_id:
                self.cursor = i
                self.refresh()
                self.post_message(self.Moved())
                return True
        return False

    def action_move(self, step: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + step))
            self.refresh()
            self.post_message(self.Moved())

    def action_move_to(self, index: int) -> None:
        if self.rows:
            self.cursor = index % len(self.rows)
            self.refresh()
            self.post_message(self.Moved())

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, min(len(self.rows), self.MAX_LINES))

    def render(self) -> Text:
        width = max(30, self.content_size.width or 58)
        if not self.rows:
            return Text(self.empty_text, style=self.get_component_rich_style("callboard--empty"), end="")
        caller_w = max(12, int((width - 28) * 0.55))
        out = Text(end="")
        # keep the highlighted line in view when there are more calls than lines
        height = self.size.height or len(self.rows)
        first = max(0, min(self.cursor - height + 1, len(self.rows) - height)) if height < len(self.rows) else 0
        for i, row in enumerate(self.rows[first:first + height], start=first):
            mark, caller, state, dur, extra = row["cells"]
            line = f"{mark}{i + 1:>2} {_short(caller, caller_w):<{caller_w}} {_short(state, 14):<14} " \
                   f"{dur:>5}  {extra}"
            line = _short(line, width).ljust(width)
            style = self.get_component_rich_style(f"callboard--{row['kind']}") if row["kind"] else None
            if i == self.cursor:
                style = (style or self.rich_style) + self.get_component_rich_style("callboard--cursor")
            if i > first:
                out.append("\n")
            out.append(line, style=style)
        return out


class SwitchboardScreen(BackdeskScreen):
    """Every call on the line, the queue and the extensions, live; every action a key."""

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
        Binding("p", "park", _("Park"), id="telephony.park"),
        Binding("P", "retrieve", _("Retrieve"), id="telephony.retrieve"),
        Binding("o", "hold", _("Hold"), id="telephony.hold"),
        Binding("h", "hang_up", _("Hang up"), id="telephony.hang_up", show=False),
        Binding("v", "transfer('voicemail')", _("Voicemail"), id="telephony.voicemail", show=False),
        Binding("u", "pickup", _("Pick up"), id="telephony.pickup", show=False),
        Binding("g", "dial", _("Call"), id="telephony.dial", show=False),
        Binding("d", "dnd", _("DND"), id="telephony.dnd"),
        Binding("s", "presence", _("Presence"), id="telephony.presence", show=False),
        Binding("n", "night", _("Night"), id="telephony.night", show=False),
        Binding("q", "queues", _("Queue"), id="telephony.queues", show=False),
        Binding("tab", "switch_focus", _("Calls/people"), id="telephony.switch_focus", show=False),
        Binding("slash", "find", _("Find"), id="telephony.find"),
        Binding("M", "open('telephony.messages')", _("Messages"), id="telephony.messages", show=False),
        Binding("H", "open('telephony.history')", _("History"), id="telephony.history", show=False),
        *[Binding(str(n), f"select_call({n})", _("Call {n}").format(n=n), id=f"telephony.select_{n}", show=False)
          for n in range(1, 10)],
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = service_for(ctx)
        self._unlisten: Callable[[], None] | None = None
        self._paint_hooks: list[Callable[[], None]] = []
        self._calls: list[dict] = []

    def compose_content(self) -> ComposeResult:
        yield Static("", id="sb-status", classes="tel-status")
        yield CallBoard(id="sb-calls")
        yield Static("", id="sb-queue", classes="tel-queue")
        yield Static("", id="sb-call", classes="tel-call")
        yield FilterInput("#sb-table", placeholder=_("/ find: name, department, extension…"), id="sb-filter",
                          compact=True)
        yield SwitchboardTable(
            [Column("extension", _("Ext."), width=5, align="right"),
             Column("name", _("Name"), width=16),
             # sized by the names, narrowed first beside the menu at 80 columns
             Column("department", _("Department")),
             Column("state", _("State"), width=13, format=presence_title)],
            [], id="sb-table", empty_text=_("Nobody matches"))

    def on_mount(self) -> None:
        super().on_mount()
        backend = self.service.backend
        if backend.live:
            self._unlisten = backend.add_listener(self._pbx_changed)
            try:
                self.service.start_backend()
            except BackdeskError as exc:
                self.notify(exc.message, severity="error")
        self.reload()
        (self.board if self.board.rows else self.table).focus()
        self.set_interval(1.0, self._tick, name="switchboard-tick")

    def on_unmount(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
        self.service.stop_backend()

    # -- data -----------------------------------------------------------------------
    @property
    def table(self) -> RecordTable:
        return self.query_one("#sb-table", RecordTable)

    @property
    def board(self) -> CallBoard:
        return self.query_one("#sb-calls", CallBoard)

    def _pbx_changed(self, changed: set) -> None:
        """From the backend's thread: ask for one repaint (coalesced)."""
        self.post_message(LiveChanged(frozenset(changed)))

    def on_live_changed(self, message: LiveChanged) -> None:
        self._reload_soon("extensions" in message.changed or "all" in message.changed
                          or "connection" in message.changed)

    def refresh_data(self, names: frozenset[str]) -> None:
        self._reload_soon(bool(names & {"telephony.presence", "core.people"}))

    #: at most one repaint from changes per this many seconds: a busy PBX
    #: (20 calls a second: ~30 changes a second from the PBX and the store)
    #: must not keep a core busy repainting; the first change paints at once
    RELOAD_EVERY = 0.1

    def _reload_soon(self, people: bool) -> None:
        self._want_people = getattr(self, "_want_people", False) or people
        if getattr(self, "_reload_timer", None) is not None:
            return  # one is on its way and will show this change too
        wait = getattr(self, "_last_reload", 0.0) + self.RELOAD_EVERY - time.monotonic()
        if wait <= 0:
            self._reload_due()
        else:
            self._reload_timer = self.set_timer(wait, self._reload_due, name="switchboard-reload")

    def _reload_due(self) -> None:
        self._reload_timer = None
        people, self._want_people = self._want_people, False
        self.reload(people=people)

    def reload(self, people: bool = True) -> None:
        self._last_reload = time.monotonic()
        self._names = {}  # person names for this repaint (each looked up once)
        if people or not self.table.row_count:
            self.table.set_records(self.service.extension_rows())
        self._calls = self.service.switchboard_calls()
        self._show_calls()
        self._show_status()
        self._show_queue()
        self._show_call()
        for hook in self._paint_hooks:  # the benchmark's probe
            hook()

    def _tick(self) -> None:
        self._show_calls()
        self._show_status()
        self._show_queue()
        if self.service.backend.live:
            self.service.push_hours()  # automatic mode: business hours begin or end

    def _person(self, person_id: int | None) -> str:
        names = getattr(self, "_names", None)
        if names is None:
            names = self._names = {}
        if person_id not in names:
            names[person_id] = self.service.person_text(person_id)
        return names[person_id]

    def _caller(self, call: dict) -> str:
        key = ("caller", call.get("caller_person_id"), call.get("contact_id"), call.get("caller_name"),
               call.get("caller_number"))
        names = getattr(self, "_names", None)
        if names is None:
            names = self._names = {}
        if key not in names:
            names[key] = self.service.caller_text(call)
        return names[key]

    def _show_calls(self) -> None:
        now = time.time()
        me = self.ctx.operator.account
        rows = []
        for call in self._calls:
            status = call["status"]
            caller = self._caller(call)
            if call.get("direction") == "out":
                caller = "→ " + (self._person(call.get("to_person_id")) or call.get("dialled") or "?")
            extra = ""
            wanted = call.get("consult_person_id") or call.get("wanted_person_id")
            if wanted:
                extra = "→ " + self._person(wanted)
            if status == "queued":
                where = call.get("_queue")
                state = _("queue #{n}").format(n=where[1]) if where else status_title(status)
                since = _since(call["started_at"], now)
            elif status in WAITING_STATUSES:
                state = status_title(status)
                since = _since(call["started_at"], now)
            elif status == "parked":
                state = f"P{call.get('park_slot') or '?'}"
                since = _since(call.get("parked_at"), now)
            elif status == "held":
                state = status_title(status)
                since = _since(call.get("parked_at"), now)
            else:
                state = status_title(status)
                since = _since(call.get("answered_at") or call["started_at"], now)
                if status == "active" and call.get("operator") not in (None, me):
                    extra = (extra + " " if extra else "") + f"({call['operator']})"
                elif status == "active" and not call.get("operator") and call.get("to_person_id"):
                    state = _("connected")
                    extra = "↔ " + self._person(call["to_person_id"])
            kind = ("waiting" if status in WAITING_STATUSES else "aside" if status in ("parked", "held")
                    else "mine" if call.get("operator") == me else "")
            mark = "▸" if status in WAITING_STATUSES else " "
            rows.append({"call": call, "kind": kind,
                         "cells": (mark, caller, state, format_duration(since) if since is not None else "",
                                   extra)})
        mine = next((c["id"] for c in self._calls if c.get("operator") == me and c["status"] in
                     ("active", "consulting")), None)
        self.board.set_rows(rows, _("No calls on the line"), prefer=mine)

    def _show_status(self) -> None:
        s = self.service
        night = s.is_night()
        mode = s.hours_mode()
        hours = _("Night service") if night else _("Business hours")
        if mode == "auto":
            hours += " " + _("(auto)")
        code, text = s.backend.state()
        parts = [hours, text]
        parked = [c for c in self._calls if c["status"] == "parked"]
        if parked:
            parts.append(_("parked: {slots}").format(slots=", ".join(c.get("park_slot") or "?" for c in parked)))
        open_cb = s.messages.count({"status": "open"})
        if open_cb:
            parts.append(_.ngettext("{n} open callback", "{n} open callbacks", open_cb).format(n=open_cb))
        status = self.query_one("#sb-status", Static)
        _update(status, " · ".join(parts))
        status.set_class(code in ("reconnecting", "disconnected"), "-alert")
        status.set_class(night, "-night")

    def _show_queue(self) -> None:
        box = self.query_one("#sb-queue", Static)
        queues = self.service.queue_rows(self._calls) if self.service.backend.live else []
        if not queues:
            box.display = False
            return
        now = time.time()
        lines = []
        for q in queues:
            entries = q["entries"]
            head = _("{queue}: {n} waiting").format(queue=q["name"], n=len(entries))
            if entries:
                head += ", " + _("longest {time}").format(time=format_duration(int(now - entries[0]["since"])))
            members = []
            for m in q["members"]:
                first = (m["name"] or "?").split()[0]
                mark = "‖" if m["paused"] else "●" if m["state"] in ("in_use", "busy", "ringing", "on_hold") else "○"
                members.append(f"{first} {mark}")
            lines.append(" · ".join([head, " ".join(members), "q"]))
        box.display = True
        _update(box, "\n".join(lines))

    def _show_call(self) -> None:
        """The highlighted call in words, and the keys for it (at night: why calls go where they go)."""
        s = self.service
        box = self.query_one("#sb-call", Static)
        night = s.night_summary()
        call = self.board.selected
        if call is None:
            line = _("No call on the line — a answer · / find · u pick up · g call · P retrieve")
            _update(box, (night + "\n" if night else "") + line)
            box.set_class(False, "-live")
            box.set_class(bool(night), "-night")
            self.refresh_bindings()
            return
        who = s.caller_text(call)
        number = call.get("caller_number")
        line = _("Call {id}: {who}").format(id=call["id"], who=who)
        if number and not (call.get("caller_person_id") or call.get("contact_id")) and number not in who:
            line += f" {number}"
        status = call["status"]
        if call.get("wanted_person_id") and status != "consulting":
            line += " · " + _("asked for {name}").format(name=s.person_text(call["wanted_person_id"]))
        if call.get("note"):
            line += " · " + call["note"]
        if status == "consulting":
            line = _("Consulting {name} for call {id}").format(name=s.person_text(call.get("consult_person_id")),
                                                              id=call["id"])
            keys = _("c complete · w away → message · x back to caller")
        elif status in WAITING_STATUSES:
            keys = _("a to your phone · t send on · m message · h hang up")
        elif status == "parked":
            keys = _("parked in {slot} · a take back · t transfer").format(slot=f"P{call.get('park_slot')}")
        elif status == "held":
            keys = _("on hold · o take back · t transfer · p park")
        else:
            keys = _("t transfer · T consult · p park · o hold · h hang up")
        _update(box, (night + "\n" if night else "") + line + "\n" + keys)
        box.set_class(True, "-live")
        box.set_class(bool(night), "-night")
        self.refresh_bindings()

    @on(CallBoard.Moved)
    def _call_moved(self) -> None:
        self._show_call()

    # -- bindings shown as the call goes ---------------------------------------------------
    def _selected(self) -> dict | None:
        return self.board.selected if self.is_mounted else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.focused, Input) and action not in ("open",):
            return False if action not in ("find",) else True
        call = self._selected()
        status = call["status"] if call else None
        ctx = self.ctx
        if action in ("complete", "target_away"):
            return status == "consulting"
        if action in ("transfer",):
            return call is not None and status != "consulting" and ctx.can(HANDLE)
        if action == "park":
            return status in ("active", "held") and ctx.can(HANDLE)
        if action == "hold":
            return status in ("active", "held") and ctx.can(HANDLE)
        if action in ("hang_up", "cancel"):
            return call is not None and ctx.can(HANDLE)
        if action == "retrieve":
            return ctx.can(HANDLE) and any(c["status"] == "parked" for c in self._calls)
        if action in ("answer", "pickup", "dial"):
            return ctx.can(HANDLE)
        if action == "queues":
            return self.service.backend.live
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

    def action_switch_focus(self) -> None:
        (self.table if self.focused is self.board else self.board).focus()

    def action_select_call(self, n: int) -> None:
        if 0 < n <= len(self.board.rows):
            self.board.select(self.board.rows[n - 1]["call"]["id"])
            self.board.focus()

    def action_answer(self) -> None:
        call = self._selected()
        if call is not None and call["status"] in WAITING_STATUSES + ("parked", "held") and (
                call.get("pbx") or call["status"] != "ringing" or not self.service.backend.live):
            done = self._guard(lambda: self.service.answer_call(call["id"]))
            if done is not None:
                ext = self.service.my_extension()
                self.notify(_("Call {id} rings at your phone ({ext}).").format(id=call["id"], ext=ext)
                            if call.get("pbx") else _("Call {id} is on your line.").format(id=call["id"]),
                            timeout=3)
            return
        night = self.service.night_explanation()

        def done(result: dict | None) -> None:
            if not result:
                return
            call_id = self._guard(lambda: self.service.log_call(result["who"], to=result.get("to"),
                                                                name=result["name"], company=result["company"]))
            if call_id is None:
                return
            logged = self.service.get_call(call_id)
            if logged["status"] == "ended":
                target = self.service.person_text(logged.get("wanted_person_id")) or _("nobody in particular")
                self.notify(_("Night service: call {id} went to {outcome} (for {name}).").format(
                    id=call_id, outcome=outcome_title(logged["outcome"]), name=target) + " " + night,
                    severity="warning", timeout=10)
            else:
                self.board.select(call_id)

        self.app.push_screen(CallerPrompt(self.service, night=night), done)

    def action_transfer(self, mode: str) -> None:
        call = self._selected()
        if call is None:
            self.notify(_("No call on the line: press a to answer first."), severity="warning")
            return
        titles = {"blind": _("Transfer call {id} to…"), "attended": _("Consult first, then transfer {id} to…"),
                  "voicemail": _("Send call {id} to the voicemail of…")}

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

        self.app.push_screen(PersonPicker(self.service, titles[mode].format(id=call["id"]),
                                          start_on=call.get("wanted_person_id")), done)

    def _consulting(self) -> dict | None:
        call = self._selected()
        if call is not None and call["status"] == "consulting":
            return call
        return next((c for c in self._calls if c["status"] == "consulting"
                     and c.get("operator") == self.ctx.operator.account), None)

    def action_complete(self) -> None:
        call = self._consulting()
        if call is not None:
            self._guard(lambda: self.service.complete_transfer(call["id"]),
                        _("Transferred to {name}.").format(name=self.service.person_text(call.get("consult_person_id"))))

    def action_target_away(self) -> None:
        call = self._consulting()
        if call is None:
            return
        target = call.get("consult_person_id")
        if self._guard(lambda: self.service.cancel_transfer(call["id"], reason="away")) is None:
            return
        message_form(self.app, self.service, for_person_id=target, call=self.service.get_call(call["id"]),
                     done=lambda _r: self.reload())

    def action_cancel(self) -> None:
        call = self._selected()
        if call is None:
            return
        if call["status"] == "consulting":
            self._guard(lambda: self.service.cancel_transfer(call["id"], reason="no answer"),
                        _("Back with the caller."))
        else:
            self._guard(lambda: self.service.end_call(call["id"], outcome="missed"),
                        _("Call {id} marked as missed.").format(id=call["id"]))

    def action_hang_up(self) -> None:
        """Ask first (default no): a stray ``h`` must not drop a caller."""
        call = self._selected()
        if call is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._guard(lambda: self.service.end_call(call["id"], outcome="connected"),
                            _("Call {id} ended.").format(id=call["id"]))

        question = _("Hang up on {caller} (call {id})? The line is cut at once.").format(
            caller=self.service.caller_text(call), id=call["id"])
        self.app.push_screen(ConfirmDialog(question, danger=True, yes_label=_("Hang up"), no_label=_("No")),
                             answered)

    def action_message(self) -> None:
        call = self._selected()
        target = None
        if self.focused is self.table and self.table.cursor_record is not None:
            target = self.table.cursor_record["id"]
        elif call is not None:
            target = call.get("consult_person_id") or call.get("wanted_person_id")
        message_form(self.app, self.service, for_person_id=target, call=call if self.focused is not self.table
                     else None, done=lambda _r: self.reload())

    def action_park(self) -> None:
        call = self._selected()
        if call is not None:
            slot = self._guard(lambda: self.service.park(call["id"]))
            if slot:
                self.notify(_("Call {id} parked in slot {slot} (P retrieves).").format(id=call["id"], slot=slot),
                            timeout=4)

    def action_hold(self) -> None:
        call = self._selected()
        if call is None:
            return
        if call["status"] == "held":
            self._guard(lambda: self.service.resume(call["id"]), _("Back with the caller."))
        else:
            self._guard(lambda: self.service.hold(call["id"]),
                        _("Call {id} on hold (o takes it back).").format(id=call["id"]))

    def action_retrieve(self) -> None:
        parked = [c for c in self._calls if c["status"] == "parked"]
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
            self.board.select(call_id)

    def action_dial(self) -> None:
        record = self.table.cursor_record
        if record is None:
            return
        call_id = self._guard(lambda: self.service.dial(record["id"]))
        if call_id is not None:
            self.notify(_("Calling {name}: your phone rings first.").format(name=record["name"]), timeout=4)

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

    def action_queues(self) -> None:
        self.app.push_screen(QueuePanel(self.service), lambda _r: self.reload())

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        """Enter on a person: transfer the highlighted call to them (blind)."""
        event.stop()
        call = self._selected()
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


class QueuePanel(ModalScreen[None]):
    """The PBX's queues: who waits (in order, how long) and the members;
    space pauses or unpauses the highlighted member."""

    CSS_PATH = CSS_PATH
    BINDINGS = [
        Binding("escape,q", "dismiss(None)", _("Close"), id="telephony.queue_close"),
        Binding("space,p", "toggle_pause", _("Pause/unpause"), id="telephony.queue_pause"),
    ]

    def __init__(self, service) -> None:
        super().__init__()
        self.service = service
        self._unlisten: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="tel-dialog"):
            yield Static(_("Queues"), classes="tel-dialog-title")
            yield Static("", id="queue-waiting")
            yield RecordTable([Column("queue", _("Queue"), width=12), Column("name", _("Member"), width=18),
                               Column("extension", _("Ext."), width=5, align="right"),
                               Column("state", _("State"), width=22)], [], id="queue-members",
                              empty_text=_("No members"))
            yield Static(_("space pause/unpause · esc close"), classes="tel-keys")
        yield KeyBar()

    def on_mount(self) -> None:
        self._unlisten = self.service.backend.add_listener(lambda changed: self.post_message(LiveChanged(
            frozenset(changed))))
        self.reload()
        self.query_one("#queue-members", RecordTable).focus()
        self.set_interval(1.0, self.reload, name="queue-tick")

    def on_unmount(self) -> None:
        if self._unlisten is not None:
            self._unlisten()

    def on_live_changed(self, message: LiveChanged) -> None:
        self.reload()

    def reload(self) -> None:
        now = time.time()
        lines = []
        members = []
        for q in self.service.queue_rows():
            if q["entries"]:
                for e in q["entries"]:
                    lines.append(f"{q['name']} #{e['position']}  {_short(e['caller'], 30):<30} "
                                 f"{format_duration(int(now - e['since'])):>6}")
            else:
                lines.append(_("{queue}: nobody waiting").format(queue=q["name"]))
            for m in q["members"]:
                state = presence_title(m["state"])
                if m["paused"]:
                    state = _("paused") + (f": {m['reason']}" if m["reason"] else "")
                members.append({"id": f"{q['name']}|{m['interface']}", "queue": q["name"], "name": m["name"],
                                "extension": m["extension"] or "", "state": state, "paused": m["paused"],
                                "interface": m["interface"]})
        self.query_one("#queue-waiting", Static).update("\n".join(lines) or _("No queues on the PBX"))
        self.query_one("#queue-members", RecordTable).set_records(members)

    def action_toggle_pause(self) -> None:
        record = self.query_one("#queue-members", RecordTable).cursor_record
        if record is None:
            return
        try:
            self.service.pause_member(record["queue"], record["interface"], not record["paused"])
        except BackdeskError as exc:
            self.notify(_error_text(exc), severity="error", timeout=6)
            return
        self.notify((_("{name} paused") if not record["paused"] else _("{name} takes calls again")).format(
            name=record["name"]), timeout=3)


__all__ = ["SwitchboardScreen", "CallBoard", "QueuePanel", "LiveChanged"]
