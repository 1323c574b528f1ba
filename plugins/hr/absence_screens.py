"""The screens of leave and working time: the absence calendar, leave requests, the clock.

Keyboard first and readable at 80×24 in 16 colours: the calendar is a month
grid with one character per day (letters carry the meaning, colours only
help), ←/→ change the month; the leave list approves with ``a``; the clock
takes ``i``, ``o`` and ``b``. :class:`ClockPanel` is shared with the kiosk
clock terminal (:mod:`plugins.hr.terminal`).
"""

from __future__ import annotations

import datetime as dt

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from core.errors import BackdeskError, PermissionDenied
from core.i18n import format_date
from core.shell.screens.base import BackdeskScreen
from core.shell.widgets import Column, ConfirmDialog, Field, FormScreen, RecordTable
from plugins.hr import leave
from plugins.hr import models as m
from plugins.hr import worktime
from plugins.hr.models import _
from plugins.hr.service import today

CSS_PATH = "hr.tcss"

#: the style of each day kind in the grid (theme-independent names that 16 colours show)
STYLES = {"vacation": "bold green", "special": "bold cyan", "unpaid": "bold cyan", "sick": "bold red",
          "absent": "bold magenta", "requested": "bold yellow", "holiday": "bold bright_blue", "weekend": "dim",
          "work": ""}


def legend() -> str:
    return _("U vacation  S special  N unpaid  A absent  ? asked  F holiday  · weekend")


def _fail(screen, error: BackdeskError) -> None:
    screen.notify(str(error), severity="error", timeout=6)


def grid_text(grid: dict, *, name_width: int = 14, today_: dt.date | None = None) -> str:
    """The month grid as markup: a name column, one character per day.

    Letters carry the meaning (the colours only help); names are escaped."""
    days = grid["days"]

    def styled(char: str, style: str) -> str:
        return f"[{style}]{escape(char)}[/]" if style else escape(char)

    pad = " " * name_width
    lines = [styled(pad + "".join(str(d.day // 10) if d.day >= 10 else " " for d in days), "dim"),
             pad + "".join(styled(str(d.day % 10), "reverse" if d == today_ else ("dim" if d.weekday() >= 5 else ""))
                           for d in days)]
    for row in grid["rows"]:
        name = row["name"][: name_width - 1]
        lines.append(escape(f"{name:<{name_width}}") + "".join(styled(leave.MARKS[k], STYLES[k]) for k in row["marks"]))
    if not grid["rows"]:
        lines.append(escape(_("Nobody to show.")))
    return "\n".join(lines)


class AbsenceCalendarScreen(BackdeskScreen):
    """Who is away this month: the team's month grid."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"hr.leave", "hr.sick_notes", "core.people", "core.absences"})
    BINDINGS = [
        Binding("left", "month(-1)", _("Prev month"), id="hr.cal_prev"),
        Binding("right", "month(1)", _("Next month"), id="hr.cal_next"),
        Binding("t", "this_month", _("Today"), id="hr.cal_today"),
        Binding("n", "request", _("Request leave"), id="hr.cal_request"),
        Binding("l", "leave_list", _("Requests"), id="hr.cal_list"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        now = today()
        self.year, self.month = now.year, now.month

    def compose_content(self) -> ComposeResult:
        yield Static("", id="hr-cal-title", classes="hr-bar")
        with VerticalScroll(id="hr-cal-scroll"):
            yield Static("", id="hr-cal-grid")
        yield Static(legend(), id="hr-cal-legend", classes="hr-bar")

    def on_mount(self) -> None:
        super().on_mount()
        self.load()
        self.query_one("#hr-cal-scroll").focus()

    def refresh_data(self, names) -> None:
        self.load()

    def load(self) -> None:
        title = self.query_one("#hr-cal-title", Static)
        body = self.query_one("#hr-cal-grid", Static)
        first = dt.date(self.year, self.month, 1)
        try:
            grid = leave.month_grid(self.ctx, self.year, self.month)
        except PermissionDenied as error:
            title.update(f"[b]{escape(str(error))}[/b]")
            body.update("")
            return
        away = sum(1 for r in grid["rows"] if any(k in ("vacation", "special", "unpaid", "sick", "absent")
                                                 for k in r["marks"]))
        title.update(_("{month} · {n} of {total} away at some time · ←/→ month").format(
            month=format_date(first, "MMMM y"), n=away,
            total=len(grid["rows"])))
        body.update(grid_text(grid, today_=today()))

    def action_month(self, step: int) -> None:
        month0 = self.year * 12 + self.month - 1 + int(step)
        self.year, self.month = month0 // 12, month0 % 12 + 1
        self.load()

    def action_this_month(self) -> None:
        now = today()
        self.year, self.month = now.year, now.month
        self.load()

    def action_request(self) -> None:
        try:
            self.app.push_screen(request_form(self.ctx), lambda _r: self.load())
        except BackdeskError as error:
            _fail(self, error)

    def action_leave_list(self) -> None:
        self.app.push_screen(LeaveScreen(self.ctx))


def request_form(ctx) -> FormScreen:
    """Ask for leave: for oneself, or (HR) for someone else."""
    me = leave.my_person_id(ctx)
    fields = [Field("person", _("Person"), kind="pick", source=ctx.services.people.choices, required=me is None,
                    help=_("empty: yourself") if me else None),
              Field("start", _("First day"), kind="date", required=True),
              Field("end", _("Last day"), kind="date", required=True),
              Field("kind", _("Kind"), kind="choice", choices=[(k, _(v)) for k, v in leave.KINDS.items()],
                    default="vacation"),
              Field("deputy", _("Deputy"), kind="pick", source=ctx.services.people.choices,
                    help=_("who stands in")),
              Field("note", _("Note"))]

    def submit(v):
        return leave.request_leave(ctx, v.get("person") or me, v["start"], v["end"], kind=v["kind"],
                                   deputy=v.get("deputy") or None, note=v.get("note") or "")

    return FormScreen(_("Request leave"), fields, on_submit=submit, submit_label=_("Request"))


def _d(value) -> str:
    return format_date(value, "short") if value else ""


class LeaveScreen(BackdeskScreen):
    """Leave requests: one's own, one's reports' (to approve) or everyone's (HR)."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"hr.leave", "hr.entitlements"})
    BINDINGS = [
        Binding("n", "request", _("Request"), id="hr.leave_new"),
        Binding("a", "approve", _("Approve"), id="hr.leave_approve"),
        Binding("x", "reject", _("Reject"), id="hr.leave_reject"),
        Binding("c", "cancel_leave", _("Cancel leave"), id="hr.leave_cancel"),
        Binding("p", "toggle_pending", _("Pending/all"), id="hr.leave_pending"),
        Binding("k", "calendar", _("Calendar"), id="hr.leave_calendar"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.pending = False

    def compose_content(self) -> ComposeResult:
        yield Static("", id="hr-leave-bar", classes="hr-bar")
        # fits the 58 columns beside the sidebar at 80×24; the kind and deputy
        # of the highlighted request are on the line below the table
        yield RecordTable([Column("start", _("From"), format=_d), Column("end", _("To"), format=_d),
                           Column("days", _("Days"), width=4, align="right"),
                           Column("status_text", _("Status"), width=9), Column("name", _("Person"), width=15)],
                          [], id="hr-leave", empty_text=_("No leave requests"))
        yield Static("", id="hr-leave-overlaps", classes="hr-bar")

    def on_mount(self) -> None:
        super().on_mount()
        self.load()
        self.query_one(RecordTable).focus()

    def refresh_data(self, names) -> None:
        self.load()

    def load(self) -> None:
        bar = self.query_one("#hr-leave-bar", Static)
        try:
            rows = leave.leave_rows(self.ctx, pending_for_me=self.pending)
        except PermissionDenied as error:
            bar.update(f"[b]{escape(str(error))}[/b]")
            return
        self.query_one(RecordTable).set_records(list(reversed(rows)))
        text = _("waiting for your approval") if self.pending else _("all you may see")
        me = leave.my_person_id(self.ctx)
        if me is not None and self.ctx.can(m.P_LEAVE_REQUEST):
            b = leave.balance(self.ctx, me)
            text += " · " + _("your balance {year}: {left} of {days} days left").format(
                year=b["year"], left=leave.days_text(b["left"]),
                days=leave.days_text(b["entitlement"] + b["carried_usable"]))
        bar.update(escape(text) + " · " + _("p pending/all"))
        self.show_overlaps()

    def on_record_table_record_highlighted(self, event) -> None:
        self.show_overlaps()

    def show_overlaps(self) -> None:
        rec = self.query_one(RecordTable).cursor_record
        box = self.query_one("#hr-leave-overlaps", Static)
        if rec is None:
            box.update("")
            return
        what = rec["kind_text"] + (" · " + _("deputy: {name}").format(name=rec["deputy"]) if rec.get("deputy") else "")
        if rec["status"] not in leave.HOLDING:
            box.update(escape(what))
            return
        try:
            others = leave.team_overlaps(self.ctx, rec)
        except PermissionDenied:
            others = []
        if not others:
            box.update(escape(what + " · " + _("Nobody else in the team is away then.")))
        else:
            box.update(escape(what + " · " + _("Also away: {names}").format(names="; ".join(
                f"{o['name']} {_d(o['start'])}–{_d(o['end'])}" for o in others[:4]))))

    def _current(self) -> dict | None:
        rec = self.query_one(RecordTable).cursor_record
        if rec is None:
            self.notify(_("Nothing selected"), severity="warning")
        return rec

    def _do(self, fn, *args, done: str) -> None:
        try:
            fn(self.ctx, *args)
        except BackdeskError as error:
            _fail(self, error)
            return
        self.notify(done, timeout=3)
        self.load()

    def action_request(self) -> None:
        self.app.push_screen(request_form(self.ctx), lambda _r: self.load())

    def action_approve(self) -> None:
        rec = self._current()
        if not rec:
            return
        span = {"name": rec["name"], "start": _d(rec["start"]), "end": _d(rec["end"])}

        def confirmed(yes) -> None:
            if yes:
                self._do(leave.approve, rec["id"], done=_("Approved: {name} {start}–{end}").format(**span))

        self.app.push_screen(ConfirmDialog(_("Approve the leave of {name} from {start} to {end}?").format(**span),
                                           danger=True, yes_label=_("Approve")), confirmed)

    def action_reject(self) -> None:
        rec = self._current()
        if not rec:
            return
        form = FormScreen(_("Reject leave #{id}").format(id=rec["id"]), [Field("reason", _("Reason"))],
                          on_submit=lambda v: leave.reject(self.ctx, rec["id"], v.get("reason") or ""),
                          submit_label=_("Reject"))
        self.app.push_screen(form, lambda _r: self.load())

    def action_cancel_leave(self) -> None:
        rec = self._current()
        if not rec:
            return

        def confirmed(yes) -> None:
            if yes:
                self._do(leave.cancel, rec["id"], done=_("Cancelled #{id}").format(id=rec["id"]))

        self.app.push_screen(ConfirmDialog(_("Cancel the leave from {start} to {end}?").format(
            start=_d(rec["start"]), end=_d(rec["end"])), danger=True), confirmed)

    def action_toggle_pending(self) -> None:
        self.pending = not self.pending
        self.load()

    def action_calendar(self) -> None:
        self.app.push_screen(AbsenceCalendarScreen(self.ctx))


class ClockPanel(Vertical):
    """The clock of one person: state, today's hours, i/o/b. Used by the Clock
    screen and the kiosk clock terminal."""

    DEFAULT_CSS = """
    ClockPanel { height: auto; padding: 1 2; border: round $primary; }
    ClockPanel #clock-name { text-style: bold; }
    ClockPanel #clock-state { margin-top: 1; }
    ClockPanel #clock-keys { margin-top: 1; color: $text-muted; }
    """

    def __init__(self, ctx, person_id: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self.person_id = person_id

    def compose(self) -> ComposeResult:
        yield Static("", id="clock-name")
        yield Static("", id="clock-state")
        yield Static("", id="clock-today")
        yield Static(_("i clock in · o clock out · b break / back"), id="clock-keys")

    def on_mount(self) -> None:
        self.load()

    def load(self) -> dict | None:
        try:
            s = worktime.state(self.ctx, self.person_id)
        except BackdeskError as error:
            self.query_one("#clock-state", Static).update(f"[b]{escape(str(error))}[/b]")
            return None
        titles = {"in": _("at work"), "out": _("clocked out"), "break": _("on a break")}
        self.query_one("#clock-name", Static).update(escape(s["name"]))
        since = ""
        if s["since"]:
            since = " " + _("since {time}").format(time=worktime.local_time_text(s["since"]))
        self.query_one("#clock-state", Static).update(f"[b]{titles[s['state']]}[/b]{since}")
        self.query_one("#clock-today", Static).update(_("Today: {h} h").format(h=worktime.hm(s["today"])))
        return s

    def act(self, what: str) -> str | None:
        """Clock in/out or toggle the break; returns what happened (or None with a notification)."""
        s = worktime.state(self.ctx, self.person_id)
        try:
            if what == "in":
                worktime.clock_in(self.ctx, self.person_id)
                done = _("Clocked in")
            elif what == "out":
                worktime.clock_out(self.ctx, self.person_id)
                done = _("Clocked out")
            elif s["state"] == "break":
                worktime.end_break(self.ctx, self.person_id)
                done = _("Back at work")
            else:
                worktime.start_break(self.ctx, self.person_id)
                done = _("Break started")
        except BackdeskError as error:
            self.app.notify(str(error), severity="error", timeout=5)
            return None
        self.load()
        self.app.notify(done, timeout=3)
        return done


class ClockScreen(BackdeskScreen):
    """My working time: clock in and out, breaks, this month's flags."""

    CSS_PATH = CSS_PATH
    WATCH_TABLES = frozenset({"hr.time"})
    BINDINGS = [
        Binding("i", "clock('in')", _("Clock in"), id="hr.clock_in"),
        Binding("o", "clock('out')", _("Clock out"), id="hr.clock_out"),
        Binding("b", "clock('break')", _("Break"), id="hr.clock_break"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def compose_content(self) -> ComposeResult:
        yield ClockPanel(self.ctx, id="hr-clock")
        yield Static("", id="hr-clock-month", classes="hr-section")

    def on_mount(self) -> None:
        super().on_mount()
        self.load_month()

    def refresh_data(self, names) -> None:
        self.query_one(ClockPanel).load()
        self.load_month()

    def load_month(self) -> None:
        box = self.query_one("#hr-clock-month", Static)
        me = leave.my_person_id(self.ctx)
        if me is None:
            box.update("")
            return
        try:
            row = worktime.month_report(self.ctx, today().strftime("%Y-%m"), person=me)[0]
        except BackdeskError as error:
            box.update(escape(str(error)))
            return
        lines = [_("This month: {h} h on {n} days").format(h=row["work_text"], n=row["days_worked"])]
        lines += ["! " + f["text"] for f in row["flags"][-6:]]
        box.update(escape("\n".join(lines)))

    def action_clock(self, what: str) -> None:
        self.query_one(ClockPanel).act(what)
        self.load_month()
