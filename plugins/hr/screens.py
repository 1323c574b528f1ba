"""HR's screens: employees (and one employee), hiring (and one candidate),
checklists (and one checklist), cases (and one case), discipline.

Screens call the service modules for everything, so the permission walls and
the audit of reads hold here as in the CLI. A screen the operator may not
read shows the refusal instead of data (and the attempt is audited).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.errors import BackdeskError, PermissionDenied
from core.api.hookspecs import SearchHit
from core.i18n import day_text, day_width, format_date, format_datetime, format_money, format_time, to_local
from core.outputs import write_output
from core.shell.screens.base import BackdeskScreen
from core.shell.widgets import Column, ConfirmDialog, DetailView, Field, FormScreen, RecordTable
from core.shell.widgets.export_form import shown_path
from plugins.hr import cases as cases_svc
from plugins.hr import discipline as disc
from plugins.hr import hiring
from plugins.hr import models as m
from plugins.hr import service as svc
from plugins.hr.models import _

CSS_PATH = Path(__file__).parent / "hr.tcss"


def _fail(screen, error: BackdeskError) -> None:
    screen.notify(str(error), severity="error", timeout=6)


#: a stored date in a table (the locale's short date) and the cells it takes
_d, _day_width = day_text, day_width


def _dt(value) -> str:
    """A UTC time as short local date and time ("3/10/26 2:30 PM")."""
    if not value:
        return ""
    local = to_local(value)
    return f"{format_date(local.date(), 'short')} {format_time(local)}"


def _when_width() -> int:
    """Cells ``_dt`` takes in the site's locale ("31.12.26 23:59" 14,
    "31/12/2026 23:59" 16, "12/31/26 11:59 PM" 17)."""
    return len(f"{format_date(dt.date(2026, 12, 31), 'short')} {format_time(dt.time(23, 59))}")


def _label_width(titles: dict) -> int:
    """Cells the longest of ``titles``' labels takes in the site's language
    ("Einarbeitung" 12, "onboarding" 10): a column as wide as its words."""
    return max(len(m.label(titles, code)) for code in titles)


def _choices(titles: dict) -> list[tuple[str, str]]:
    return [(k, _(v)) for k, v in titles.items()]


def _pay_text(doc: dict) -> str:
    if doc.get("pay_amount") is None:
        return ""
    return f"{format_money(doc['pay_amount'], doc.get('currency'))} {_(m.PAY_PERIODS.get(doc.get('pay_period'), ''))}"


# =====================================================================================
# Forms
# =====================================================================================
def _person_field(ctx, key: str, label: str, **kwargs) -> Field:
    """A field that finds a person of the directory by typing part of the name."""
    return Field(key, label, kind="pick", source=ctx.services.people.choices, **kwargs)


def warning_form(ctx, person: str = "") -> FormScreen:
    fields = [_person_field(ctx, "person", _("Person"), required=True),
              Field("level", _("Level"), kind="choice", choices=_choices(m.LEVEL_TITLES), default="verbal"),
              Field("reason", _("Reason"), required=True),
              Field("date", _("Date"), kind="date", help=_("Empty: today")),
              Field("hearing_notes", _("Hearing notes"), kind="multiline")]

    def submit(v):
        return disc.issue_warning(ctx, v["person"], level=v["level"], reason=v["reason"], date=v.get("date"),
                                  hearing_notes=v.get("hearing_notes") or "")

    return FormScreen(_("Issue a warning"), fields, {"person": ctx.services.people.choice(person)}, on_submit=submit,
                      submit_label=_("Issue warning"))


def dismiss_form(ctx, person: str = "") -> FormScreen:
    fields = [_person_field(ctx, "person", _("Person"), required=True),
              Field("date", _("Last day"), kind="date", required=True),
              Field("kind", _("Kind"), kind="choice", choices=_choices(m.DISMISSAL_KINDS), default="conduct"),
              Field("reason", _("Reason"), required=True),
              Field("gross_misconduct", _("Gross misconduct"),
                    help=_("Conduct only: what happened (no final warning needed)"))]

    def submit(v):
        return disc.dismiss(ctx, v["person"], date=v["date"], reason=v["reason"], kind=v["kind"],
                            gross_misconduct=v.get("gross_misconduct") or "")

    def question(v):
        name = svc.resolve_person(ctx, v["person"])["name"]
        return _("Record that {name} leaves on {date} ({kind})? The directory shows them as left from then "
                 "and an offboarding checklist opens.").format(name=name, date=_d(v["date"].isoformat()),
                                                               kind=_(m.DISMISSAL_KINDS[v["kind"]]))

    return FormScreen(_("Dismissal or leaver"), fields, {"person": ctx.services.people.choice(person)},
                      on_submit=submit, submit_label=_("Record"), confirm=question)


def record_form(ctx, person_id: int, doc: dict | None) -> FormScreen:
    doc = doc or {}
    fields = [Field("job_title", _("Job title")),
              Field("contract_type", _("Contract"), kind="choice", choices=_choices(m.CONTRACT_TYPES),
                    default="permanent"),
              Field("pay_amount", _("Pay"), kind="decimal"),
              Field("pay_period", _("Pay period"), kind="choice", choices=_choices(m.PAY_PERIODS), default="month"),
              Field("currency", _("Currency")),
              Field("start_date", _("Start"), kind="date", required=True),
              Field("end_date", _("End"), kind="date"),
              Field("probation_end", _("Probation end"), kind="date"),
              Field("emergency_name", _("Emergency contact")),
              Field("emergency_phone", _("Emergency phone")),
              Field("emergency_relation", _("Relation")),
              Field("notes", _("Notes"), kind="multiline")]
    values = {f.key: doc.get(f.key) for f in fields}
    values["currency"] = doc.get("currency") or svc.site_currency(ctx)

    def submit(v):
        data = {k: v.get(k) for k in svc.RECORD_FIELDS if k in v}
        if data.get("pay_amount") is not None:
            data["pay_amount"] = str(data["pay_amount"])
        return svc.save_record(ctx, person_id, data)

    return FormScreen(_("Employee record of {name}").format(name=svc.person_name(ctx, person_id)), fields,
                      values, on_submit=submit)


def exit_interview_form(ctx, person_id: int) -> FormScreen:
    fields = [Field("date", _("Date"), kind="date"),
              Field("reason", _("Why they leave")),
              Field("would_return", _("Would come back"), kind="bool"),
              Field("notes", _("Notes"), kind="multiline", required=True)]
    return FormScreen(_("Exit interview: {name}").format(name=svc.person_name(ctx, person_id)), fields,
                      on_submit=lambda v: svc.record_exit_interview(
                          ctx, person_id, v["notes"], on=v.get("date"), reason=v.get("reason") or "",
                          would_return=v.get("would_return")))


def case_form(ctx) -> FormScreen:
    fields = [Field("type", _("Type"), kind="choice", choices=_choices(m.CASE_TYPES), default="complaint"),
              Field("subject", _("Subject"), required=True),
              Field("anonymous", _("Anonymous"), kind="bool"),
              _person_field(ctx, "raised_by", _("Raised by"), help=_("Empty when anonymous")),
              _person_field(ctx, "against_person", _("Against (person)")),
              Field("against_party", _("Against (party)"), help=_("A customer, a supplier, …")),
              Field("description", _("Description"), kind="multiline")]
    return FormScreen(_("New HR case"), fields, on_submit=lambda v: cases_svc.open_case(
        ctx, type=v["type"], subject=v["subject"], description=v.get("description") or "",
        raised_by=v.get("raised_by") or None, anonymous=bool(v.get("anonymous")),
        against_person=v.get("against_person") or None, against_party=v.get("against_party") or ""),
        submit_label=_("Record case"))


def case_status_form(ctx, case: dict) -> FormScreen:
    nexts = [case["status"], *m.CASE_TRANSITIONS[case["status"]]]
    fields = [Field("status", _("Status"), kind="choice",
                    choices=[(s, _(m.CASE_STATUSES[s])) for s in nexts], default=nexts[1] if len(nexts) > 1 else nexts[0]),
              Field("cause", _("Cause"), kind="multiline"),
              Field("outcome", _("Outcome"), kind="multiline"),
              Field("note", _("Note"))]
    return FormScreen(_("Case #{id}").format(id=case["id"]), fields,
                      {"cause": case.get("cause"), "outcome": case.get("outcome")},
                      on_submit=lambda v: cases_svc.set_status(ctx, case["id"], v["status"], cause=v.get("cause"),
                                                               outcome=v.get("outcome"), note=v.get("note") or ""))


def candidate_form(ctx) -> FormScreen:
    opens = hiring.openings(ctx, "open")
    fields = [Field("name", _("Name"), required=True),
              Field("opening", _("Opening"), kind="choice", required=True,
                    choices=[(o["id"], o["title"]) for o in opens] or [("", _("(no open opening)"))],
                    default=opens[0]["id"] if opens else ""),
              Field("email", _("Email")), Field("phone", _("Phone")),
              Field("cv", _("CV file"), help=_("Path of a PDF, DOCX, ODT or TXT file")),
              Field("note", _("Note"), kind="multiline")]
    return FormScreen(_("New candidate"), fields, on_submit=lambda v: hiring.add_candidate(
        ctx, v["name"], opening=v["opening"], email=v.get("email") or "", phone=v.get("phone") or "",
        note=v.get("note") or "", cv=v.get("cv") or None), submit_label=_("Add candidate"))


def opening_form(ctx) -> FormScreen:
    depts = ctx.services.people.departments()
    fields = [Field("title", _("Title"), required=True),
              Field("department", _("Department"), kind="choice", choices=[(d["id"], d["name"]) for d in depts],
                    default=depts[0]["id"] if depts else None),
              Field("description", _("Description"), kind="multiline")]
    return FormScreen(_("New opening"), fields, on_submit=lambda v: hiring.add_opening(
        ctx, v["title"], department=v.get("department"), description=v.get("description") or ""))


def stage_form(ctx, cand: dict) -> FormScreen:
    choices = [(s, _(m.STAGE_TITLES[s])) for s in m.STAGES if s != "hired"]
    fields = [Field("stage", _("Stage"), kind="choice", choices=choices, default=cand["stage"]
                    if cand["stage"] != "hired" else "offer"),
              Field("note", _("Note"), kind="multiline")]
    return FormScreen(_("Stage of {name}").format(name=cand["name"]), fields,
                      on_submit=lambda v: hiring.move_stage(ctx, cand["id"], v["stage"], v.get("note") or ""))


def interview_form(ctx, cand: dict) -> FormScreen:
    fields = [Field("when", _("When"), required=True, help=_("YYYY-MM-DD HH:MM, local time")),
              Field("minutes", _("Minutes"), kind="int", default=60),
              Field("location", _("Where")), Field("interviewers", _("Interviewers"))]
    return FormScreen(_("Interview with {name}").format(name=cand["name"]), fields,
                      on_submit=lambda v: hiring.schedule_interview(
                          ctx, cand["id"], v["when"], minutes=v.get("minutes") or 60,
                          location=v.get("location") or "", interviewers=v.get("interviewers") or ""))


def feedback_form(ctx, interview: dict) -> FormScreen:
    fields = [Field("feedback", _("Feedback"), kind="multiline", required=True),
              Field("rating", _("Rating (1-5)"), kind="int"),
              Field("recommend", _("Recommend hiring"), kind="bool")]
    return FormScreen(_("Feedback on the interview of {when}").format(when=format_datetime(interview["start"])),
                      fields, {"feedback": interview.get("feedback"), "rating": interview.get("rating")},
                      on_submit=lambda v: hiring.record_feedback(ctx, interview["id"], v["feedback"],
                                                                 rating=v.get("rating"),
                                                                 recommend=v.get("recommend")))


def cv_form(ctx, cand: dict) -> FormScreen:
    return FormScreen(_("CV of {name}").format(name=cand["name"]),
                      [Field("cv", _("CV file"), required=True, help=_("Path of a PDF, DOCX, ODT or TXT file"))],
                      on_submit=lambda v: hiring.attach_cv(ctx, cand["id"], v["cv"]), submit_label=_("Attach"))


def hire_form(ctx, cand: dict) -> FormScreen:
    depts = ctx.services.people.departments()
    opening = ctx.table("openings").get(cand["opening_id"]) or {}
    fields = [Field("start", _("Start date"), kind="date", required=True),
              Field("end", _("End date"), kind="date", help=_("Fixed-term contracts only")),
              Field("contract_type", _("Contract"), kind="choice", choices=_choices(m.CONTRACT_TYPES),
                    default="permanent"),
              Field("pay_amount", _("Pay"), kind="decimal"),
              Field("pay_period", _("Pay period"), kind="choice", choices=_choices(m.PAY_PERIODS), default="month"),
              Field("job_title", _("Job title")),
              Field("department", _("Department"), kind="choice", choices=[(d["id"], d["name"]) for d in depts],
                    default=opening.get("department_id") or (depts[0]["id"] if depts else None)),
              Field("probation_months", _("Probation (months)"), kind="int", default=ctx.settings["probation_months"])]

    def submit(v):
        pay = v.get("pay_amount")
        return hiring.hire(ctx, cand["id"], start=v.get("start"), end=v.get("end"),
                           contract_type=v["contract_type"], pay_amount=str(pay) if pay is not None else None,
                           pay_period=v["pay_period"], job_title=v.get("job_title") or None,
                           department=v.get("department"), probation_months=v.get("probation_months"))

    return FormScreen(_("Hire {name}").format(name=cand["name"]), fields, {"job_title": opening.get("title", "")},
                      on_submit=submit, submit_label=_("Hire"))


# =====================================================================================
# A list screen: a bar, a table, a refusal line when the operator may not read
#
# The audit of reads: a confidential list is recorded once, when the operator
# opens the screen (or changes what it lists, "a all"), not on every refresh —
# a refresh follows someone's change, it is not the operator reading again.
# Refusals are audited when they happen; a refused screen does not retry.
# =====================================================================================
class _ListScreen(BackdeskScreen):
    CSS_PATH = CSS_PATH
    TABLE_ID = "hr-table"

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.refused = False

    def columns(self) -> list[Column]:
        raise NotImplementedError

    def rows(self, audit: bool = True) -> list[dict]:
        """The rows to show; ``audit``: record the read (False on a refresh)."""
        raise NotImplementedError

    def bar_text(self) -> str:
        return ""

    def compose_content(self) -> ComposeResult:
        yield Static("", id="hr-bar", classes="hr-bar")
        yield RecordTable(self.columns(), [], id=self.TABLE_ID, empty_text=_("Nothing here yet"))

    def on_mount(self) -> None:
        super().on_mount()
        self._load(audit=True)
        self.query_one(RecordTable).focus()

    def refresh_data(self, names) -> None:
        if not self.refused:
            self._load(audit=False)

    def _load(self, audit: bool = False) -> None:
        bar = self.query_one("#hr-bar", Static)
        try:
            rows = self.rows(audit=audit)
        except PermissionDenied as error:
            self.refused = True
            bar.update(f"[b]{escape(str(error))}[/b]")
            self.query_one(RecordTable).set_records([])
            return
        self.query_one(RecordTable).set_records(rows)
        bar.update(self.bar_text())

    def current(self) -> dict | None:
        rec = self.query_one(RecordTable).cursor_record
        if rec is None:
            self.notify(_("Nothing selected"), severity="warning")
        return rec

    def push_form(self, make) -> None:
        try:
            self.app.push_screen(make())
        except BackdeskError as error:
            _fail(self, error)


class _DetailScreen(BackdeskScreen):
    CSS_PATH = CSS_PATH

    def __init__(self, ctx, doc_id: int) -> None:
        super().__init__()
        self.ctx = ctx
        self.doc_id = doc_id
        self.doc: dict | None = None
        self.refused = False

    def compose_content(self) -> ComposeResult:
        with VerticalScroll(id="hr-detail"):
            yield DetailView(id="hr-fields")
            yield Static("", id="hr-text", classes="hr-section", markup=True)

    def on_mount(self) -> None:
        super().on_mount()
        self._reload(audit=True)  # the operator opens the record: audited once
        self.query_one("#hr-detail").focus()

    def refresh_data(self, names) -> None:
        if not self.refused:
            self._reload(audit=False)  # someone changed it: no new read by the operator

    def _reload(self, audit: bool) -> None:
        try:
            self.load(audit=audit)
        except PermissionDenied as error:
            self.refused = True
            self.query_one(DetailView).update([], title=str(error))
            self.query_one("#hr-text", Static).update("")
        except BackdeskError as error:
            self.query_one(DetailView).update([], title=str(error))
            self.query_one("#hr-text", Static).update("")

    def load(self, audit: bool = True) -> None:
        """Show the record; ``audit``: record the read (False on a refresh)."""
        raise NotImplementedError

    def action_back(self) -> None:
        self.app.pop_screen()

    def push_form(self, make) -> None:
        if self.doc is None:
            return
        try:
            self.app.push_screen(make())
        except BackdeskError as error:
            _fail(self, error)


# =====================================================================================
# Employees
# =====================================================================================
class EmployeesScreen(_ListScreen):
    """Every employee record: contract, start, probation, status."""

    WATCH_TABLES = frozenset({"hr.records", "core.people"})
    TABLE_ID = "hr-employees"
    BINDINGS = [
        Binding("e", "edit", _("Edit"), id="hr.record_edit"),
        Binding("w", "warn", _("Warn"), id="hr.employee_warn"),
        Binding("d", "dismiss", _("Dismiss"), id="hr.employee_dismiss"),
    ]

    def columns(self):
        # dates as wide as the locale writes them (01.05.22, 01/05/2022); at
        # 80 columns the department, the job, then the probation give way
        # (the line under the table names them)
        return [Column("name", _("Name"), width=16), Column("status_text", _("Status"), width=7),
                Column("contract_text", _("Contract"), width=9, priority=-1),
                Column("start_date", _("Start"), format=_d),
                Column("probation_end", _("Probation"), format=_d, priority=-2),
                Column("job_title", _("Job"), width=20, priority=-3),
                Column("department", _("Department"), width=14, priority=-4)]

    def rows(self, audit: bool = True):
        return svc.record_rows(self.ctx, audit=audit)

    def bar_text(self) -> str:
        return _("Enter: open · e edit · w warn · d dismiss")

    def action_edit(self) -> None:
        rec = self.current()
        if rec:
            self.push_form(lambda: record_form(self.ctx, rec["person_id"], svc.get_record(self.ctx, rec["person_id"])))

    def action_warn(self) -> None:
        rec = self.current()
        if rec:
            self.push_form(lambda: warning_form(self.ctx, str(rec["person_id"])))

    def action_dismiss(self) -> None:
        rec = self.current()
        if rec:
            self.push_form(lambda: dismiss_form(self.ctx, str(rec["person_id"])))

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        self.app.push_screen(EmployeeScreen(self.ctx, event.record["person_id"]))


class EmployeeScreen(_DetailScreen):
    """One employee: the contract, pay, emergency contact, warnings, checklists."""

    WATCH_TABLES = frozenset({"hr.records", "hr.warnings", "hr.checklists", "hr.dismissals", "core.people"})
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="hr.employee_back"),
        Binding("e", "edit", _("Edit"), id="hr.employee_edit"),
        Binding("w", "warn", _("Warn"), id="hr.employee_detail_warn"),
        Binding("d", "dismiss", _("Dismiss"), id="hr.employee_detail_dismiss"),
        Binding("x", "exit_interview", _("Exit interview"), id="hr.employee_exit_interview"),
    ]

    def load(self, audit: bool = True) -> None:
        ctx, pid = self.ctx, self.doc_id
        doc = svc.get_record(ctx, pid, audit=audit)
        self.doc = doc
        person = ctx.services.people.get(pid) or {}
        emergency = " · ".join(x for x in (doc.get("emergency_name"), doc.get("emergency_phone"),
                                           doc.get("emergency_relation")) if x)
        pairs = [(_("Job"), doc.get("job_title")), (_("Department"), person.get("department")),
                 (_("Contract"), _(m.CONTRACT_TYPES.get(doc.get("contract_type"), ""))),
                 (_("Pay"), _pay_text(doc)), (_("Start"), _d(doc.get("start_date"))),
                 (_("End"), _d(doc.get("end_date"))), (_("Probation ends"), _d(doc.get("probation_end"))),
                 (_("Status"), svc.person_status_title(person.get("status"))), (_("Emergency"), emergency),
                 (_("Notes"), doc.get("notes"))]
        self.query_one(DetailView).update(pairs, title=person.get("name", f"#{pid}"))
        lines = [f"[b]{escape(_('Warnings'))}[/b]"]
        today = svc.today().isoformat()
        for w in ctx.table("warnings").find({"person_id": pid}, order_by=["-date"]) if ctx.can(m.P_DISCIPLINE_READ) else []:
            state = _("active") if disc.is_active(w, today) else _("expired")
            ack = _("acknowledged {date}").format(date=_d(w["acknowledged_at"])) if w.get("acknowledged_at") \
                else _("not acknowledged")
            lines.append(escape(f"  #{w['id']} {_d(w['date'])} {_(m.LEVEL_TITLES[w['level']])} · {state} "
                                f"{_('until')} {_d(w['expires'])} · {ack}"))
            lines.append(escape(f"     {w['reason']}"))
        if len(lines) == 1:
            lines.append("  " + escape(_("none")))
        for cl in ctx.table("checklists").find({"person_id": pid}, order_by=["-id"]):
            done = sum(1 for i in cl["items"] if i["done"])
            lines += ["", f"[b]{escape(_(m.CHECKLIST_KINDS[cl['kind']]))}[/b] {done}/{len(cl['items'])}"]
            for item in cl["items"]:
                owner = m.label(m.OWNER_ROLE_TITLES, item["owner_role"])
                lines.append(escape(f"  [{'x' if item['done'] else ' '}] {item['title']} ({owner})"))
            if cl.get("exit_interview"):
                lines.append(escape(f"  {_('Exit interview')}: {cl['exit_interview']['notes']}"))
        self.query_one("#hr-text", Static).update("\n".join(lines))

    def action_edit(self) -> None:
        self.push_form(lambda: record_form(self.ctx, self.doc_id, self.doc))

    def action_warn(self) -> None:
        self.push_form(lambda: warning_form(self.ctx, str(self.doc_id)))

    def action_dismiss(self) -> None:
        self.push_form(lambda: dismiss_form(self.ctx, str(self.doc_id)))

    def action_exit_interview(self) -> None:
        self.push_form(lambda: exit_interview_form(self.ctx, self.doc_id))


# =====================================================================================
# Hiring
# =====================================================================================
class HiringScreen(_ListScreen):
    """Candidates for the openings, their stage and next interview."""

    WATCH_TABLES = frozenset({"hr.candidates", "hr.openings", "hr.interviews"})
    TABLE_ID = "hr-candidates"
    BINDINGS = [
        Binding("n", "new", _("New"), id="hr.candidate_new"),
        Binding("m", "stage", _("Move stage"), id="hr.candidate_stage"),
        Binding("i", "interview", _("Interview"), id="hr.candidate_interview"),
        Binding("h", "hire", _("Hire"), id="hr.candidate_hire"),
        Binding("o", "opening", _("Opening"), id="hr.opening_new", show=False),
        Binding("c", "cv", _("CV"), id="hr.candidate_cv", show=False),
        Binding("v", "view_cv", _("View CV"), id="hr.candidate_view_cv", show=False),
        Binding("x", "export", _("Export .ics"), id="hr.interviews_ics", show=False),
        Binding("a", "toggle_all", _("All/active"), id="hr.candidates_all", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.show_all = False

    def columns(self):
        # Beside the menu at 80 columns the opening, then the name (each
        # sized by its text) are narrowed, then "CV" gives way (on the detail line).
        return [Column("name", _("Candidate"), priority=1),
                Column("stage_text", _("Stage"), width=_label_width(m.STAGE_TITLES)),
                Column("next_interview", _("Interview"), width=_when_width(), format=_dt),
                Column("opening", _("Opening")), Column("has_cv", _("CV"), width=2, priority=-1)]

    def rows(self, audit: bool = True):
        stages = None if self.show_all else [s for s in m.STAGES if s not in ("hired", "rejected")]
        return hiring.candidate_rows(self.ctx, stages=stages)

    def bar_text(self) -> str:
        n = len(hiring.openings(self.ctx, "open"))
        scope = _("all candidates") if self.show_all else _("active candidates")
        return _("{scope} · {n} openings · o opening c CV v view CV x .ics a all").format(scope=scope, n=n)

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._load(audit=True)  # the operator asks for another list: a new read

    def action_new(self) -> None:
        self.push_form(lambda: candidate_form(self.ctx))

    def action_opening(self) -> None:
        self.push_form(lambda: opening_form(self.ctx))

    def action_stage(self) -> None:
        rec = self.current()
        if rec:
            self.push_form(lambda: stage_form(self.ctx, rec))

    def action_interview(self) -> None:
        rec = self.current()
        if rec:
            self.push_form(lambda: interview_form(self.ctx, rec))

    def action_cv(self) -> None:
        rec = self.current()
        if rec:
            self.push_form(lambda: cv_form(self.ctx, rec))

    def action_view_cv(self) -> None:
        rec = self.current()
        if rec:
            open_cv(self, self.ctx, rec)

    def action_hire(self) -> None:
        rec = self.current()
        if rec:
            def done(result) -> None:
                if result:
                    self.notify(_("Hired: {name} is #{id} in the directory").format(
                        name=rec["name"], id=result["person_id"]))
            try:
                self.app.push_screen(hire_form(self.ctx, rec), done)
            except BackdeskError as error:
                _fail(self, error)

    def action_export(self) -> None:
        rec = self.query_one(RecordTable).cursor_record
        try:
            path = export_ics(self.ctx, rec["id"] if rec else None)
        except BackdeskError as error:
            _fail(self, error)
            return
        self.notify(_("Interviews written to {path}").format(path=shown_path(path)), timeout=8)

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        self.app.push_screen(CandidateScreen(self.ctx, event.record["id"]))


def export_ics(ctx, candidate_id: int | None) -> Path:
    """Write the interviews as .ics into the operator's exports folder; returns the path."""
    text = hiring.interviews_ics(ctx, candidate_id)
    folder = ctx.exports_dir()
    return write_output(folder / (f"interviews-candidate-{candidate_id}.ics" if candidate_id else "interviews.ics"),
                        text)


class CandidateScreen(_DetailScreen):
    """One candidate: contact, CV, stage history, interviews and feedback."""

    WATCH_TABLES = frozenset({"hr.candidates", "hr.interviews"})
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="hr.candidate_back"),
        Binding("m", "stage", _("Move stage"), id="hr.candidate_detail_stage"),
        Binding("i", "interview", _("Interview"), id="hr.candidate_detail_interview"),
        Binding("f", "feedback", _("Feedback"), id="hr.candidate_feedback"),
        Binding("h", "hire", _("Hire"), id="hr.candidate_detail_hire"),
        Binding("c", "cv", _("CV"), id="hr.candidate_detail_cv", show=False),
        Binding("v", "view_cv", _("View CV"), id="hr.candidate_detail_view_cv"),
        Binding("x", "export", _("Export .ics"), id="hr.candidate_ics", show=False),
    ]

    def load(self, audit: bool = True) -> None:
        ctx = self.ctx
        doc = hiring.get_candidate(ctx, self.doc_id, audit=audit)
        self.doc = doc
        opening = ctx.table("openings").get(doc["opening_id"]) or {}
        cv = doc.get("cv")
        pairs = [(_("Stage"), _(m.STAGE_TITLES[doc["stage"]])), (_("Opening"), opening.get("title")),
                 (_("Email"), doc.get("email")), (_("Phone"), doc.get("phone")),
                 (_("CV"), f"{cv['filename']} ({cv['size'] // 1024 + 1} KB)" if cv else ""),
                 (_("In directory"), f"#{doc['person_id']}" if doc.get("person_id") else "")]
        self.query_one(DetailView).update(pairs, title=doc["name"])
        lines = [f"[b]{escape(_('Interviews'))}[/b]"]
        self.interviews = hiring.interviews(ctx, doc["id"])
        for iv in self.interviews:
            lines.append(escape(f"  {format_datetime(iv['start'], 'short')} · {iv['minutes']} min · "
                                f"{iv.get('location') or '-'} · {iv.get('interviewers') or '-'}"))
            if iv.get("feedback"):
                rating = f" ({iv['rating']}/5)" if iv.get("rating") else ""
                lines.append("    " + escape(iv["feedback"] + rating))
        if not self.interviews:
            lines.append("  " + escape(_("none")))
        lines += ["", f"[b]{escape(_('History'))}[/b]"]
        for h in doc.get("history") or []:
            note = f": {h['note']}" if h.get("note") else ""
            lines.append(escape(f"  {format_datetime(h['at'], 'short')} {_(m.STAGE_TITLES[h['stage']])} "
                                f"({h['by']}){note}"))
        self.query_one("#hr-text", Static).update("\n".join(lines))

    def action_stage(self) -> None:
        self.push_form(lambda: stage_form(self.ctx, self.doc))

    def action_interview(self) -> None:
        self.push_form(lambda: interview_form(self.ctx, self.doc))

    def action_cv(self) -> None:
        self.push_form(lambda: cv_form(self.ctx, self.doc))

    def action_view_cv(self) -> None:
        if self.doc is not None:
            open_cv(self, self.ctx, self.doc)

    def action_hire(self) -> None:
        self.push_form(lambda: hire_form(self.ctx, self.doc))

    def action_feedback(self) -> None:
        if self.doc is None:
            return
        ivs = getattr(self, "interviews", [])
        if not ivs:
            self.notify(_("No interview to give feedback on"), severity="warning")
            return
        pending = [iv for iv in ivs if not iv.get("feedback")]
        self.push_form(lambda: feedback_form(self.ctx, (pending or ivs)[-1]))

    def action_export(self) -> None:
        try:
            path = export_ics(self.ctx, self.doc_id)
        except BackdeskError as error:
            _fail(self, error)
            return
        self.notify(_("Interviews written to {path}").format(path=shown_path(path)), timeout=8)


def open_cv(screen, ctx, cand: dict) -> None:
    """Open a candidate's CV for reading (a candidate without one: a notice)."""
    if not cand.get("cv"):
        screen.notify(_("{name} has no CV attached (c attaches one)").format(name=cand["name"]), severity="warning")
        return
    screen.app.push_screen(CVScreen(ctx, cand["id"]))


class CVScreen(BackdeskScreen):
    """A candidate's CV as text, scrollable; ``s`` saves a copy to a path.

    Opening it is a sensitive read and audited once (a refusal too); it does
    not follow later changes, so nothing is read again behind the operator's back.
    """

    CSS_PATH = CSS_PATH
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="hr.cv_back"),
        Binding("s", "save_copy", _("Save a copy"), id="hr.cv_save"),
    ]

    def __init__(self, ctx, candidate_id: int) -> None:
        super().__init__()
        self.ctx = ctx
        self.candidate_id = candidate_id
        self.cv: dict | None = None

    def compose_content(self) -> ComposeResult:
        yield Static("", id="hr-cv-head", classes="hr-bar", markup=False)
        with VerticalScroll(id="hr-cv"):
            yield Static("", id="hr-cv-text", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        head = self.query_one("#hr-cv-head", Static)
        body = self.query_one("#hr-cv-text", Static)
        try:
            self.cv = hiring.read_cv(self.ctx, self.candidate_id)
        except BackdeskError as error:
            head.update(str(error))
            return
        cv = self.cv
        head.update(_("CV of {name} · {file} ({kb} KB)").format(
            name=cv["name"], file=cv["filename"], kb=cv["size"] // 1024 + 1))
        text = cv["text"].strip()
        body.update(text if text else _(
            "No text could be read from {file}: only PDF and plain text files show here. "
            "Press s to save a copy and open it with another program.").format(file=cv["filename"]))
        self.query_one("#hr-cv", VerticalScroll).focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_save_copy(self) -> None:
        if self.cv is None:
            return
        ctx, cid = self.ctx, self.candidate_id
        fields = [Field("dest", _("Save to"), required=True,
                        help=_("A full path: a file name, or a folder to save it in (~/ is your home folder)"))]

        def saved(path) -> None:
            if path:
                self.notify(_("CV saved to {path}").format(path=path), timeout=8)

        def submit(values):
            try:
                return hiring.save_cv_copy(ctx, cid, values["dest"])
            except hiring.CopyExists as exists:
                ask_overwrite(exists.path, values["dest"])
                raise  # the form stays open, the message at its field, the question on top

        def ask_overwrite(path, dest) -> None:
            def answered(yes: bool | None) -> None:
                if not yes:
                    return
                try:
                    written = hiring.save_cv_copy(ctx, cid, dest, overwrite=True)
                except BackdeskError as error:
                    form.form.show_error(error.field, error.message)
                    return
                form.dismiss(written)

            self.app.push_screen(ConfirmDialog(_("{path} exists. Replace it with the CV?").format(path=path),
                                               title=_("Replace a file"), yes_label=_("Replace"), danger=True),
                                 answered)

        form = FormScreen(_("Save a copy of the CV of {name}").format(name=self.cv["name"]), fields,
                          on_submit=submit)
        self.app.push_screen(form, saved)


# =====================================================================================
# Checklists
# =====================================================================================
class ChecklistsScreen(_ListScreen):
    """Onboarding and offboarding checklists in progress (or all)."""

    WATCH_TABLES = frozenset({"hr.checklists"})
    TABLE_ID = "hr-checklists"
    BINDINGS = [Binding("a", "toggle_all", _("All/open"), id="hr.checklists_all")]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.show_all = False

    def columns(self):
        # beside the menu at 80 columns "Waiting for" (sized by its text) is narrowed, whole on the detail line
        return [Column("name", _("Person"), width=18),
                Column("kind_text", _("Kind"), width=_label_width(m.CHECKLIST_KINDS)),
                Column("progress", _("Done"), width=5), Column("waiting_for", _("Waiting for"))]

    def rows(self, audit: bool = True):
        return svc.checklist_rows(self.ctx, status=None if self.show_all else "open")

    def bar_text(self) -> str:
        return _("all checklists") if self.show_all else _("open checklists · Enter: open · a all")

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._load(audit=True)  # the operator asks for another list: a new read

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        self.app.push_screen(ChecklistScreen(self.ctx, event.record["id"]))


def _ref_text(item: dict) -> str:
    """What ticked an item, shortly: "ticket #8", "ext. 245", "PC-1 TEL-9", or who."""
    ref = item.get("ref") or {}
    parts = []
    if ref.get("ticket_id"):
        parts.append(_("ticket #{n}").format(n=ref["ticket_id"]))
    if ref.get("extension"):
        parts.append(_("ext. {n}").format(n=ref["extension"]))
    if ref.get("assets"):
        parts.append(" ".join(map(str, ref["assets"])))
    return ", ".join(parts) or item.get("done_by") or ""


class ChecklistScreen(_ListScreen):
    """One checklist's items: space ticks, x records the exit interview."""

    WATCH_TABLES = frozenset({"hr.checklists"})
    TABLE_ID = "hr-items"
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="hr.checklist_back"),
        Binding("space", "tick", _("Tick"), id="hr.checklist_tick"),
        Binding("x", "exit_interview", _("Exit interview"), id="hr.checklist_exit_interview"),
    ]

    def __init__(self, ctx, checklist_id: int) -> None:
        super().__init__(ctx)
        self.checklist_id = checklist_id
        self.doc: dict | None = None

    def columns(self):
        # beside the menu at 80 columns the item (sized by its text) is narrowed, whole on the detail line
        return [Column("mark", "", width=3), Column("title", _("Item")),
                Column("owner_role", _("Owner"), width=_label_width(m.OWNER_ROLE_TITLES),
                       format=lambda v: m.label(m.OWNER_ROLE_TITLES, v)),
                Column("done_text", _("Done"), width=16)]

    def rows(self, audit: bool = True):
        doc = svc.get_checklist(self.ctx, self.checklist_id)
        self.doc = doc
        out = []
        for i, item in enumerate(doc["items"]):
            out.append(dict(item, id=i, mark="[x]" if item["done"] else "[ ]",
                            done_text=_ref_text(item) if item["done"] else ""))
        return out

    def bar_text(self) -> str:
        doc = self.doc or {}
        name = svc.person_name(self.ctx, doc.get("person_id"))
        text = f"[b]{escape(name)}[/b] · {escape(_(m.CHECKLIST_KINDS.get(doc.get('kind'), '')))}"
        if doc.get("exit_interview"):
            text += " · " + escape(_("exit interview {date}").format(date=_d(doc["exit_interview"]["date"])))
        return text

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tick(self) -> None:
        rec = self.current()
        if rec is None:
            return
        try:
            svc.tick(self.ctx, self.checklist_id, rec["id"], not rec["done"])
        except BackdeskError as error:
            _fail(self, error)

    def action_exit_interview(self) -> None:
        if self.doc is None:
            return
        if self.doc["kind"] != "offboarding":
            self.notify(_("Exit interviews are for leavers (offboarding checklists)"), severity="warning")
            return
        self.push_form(lambda: exit_interview_form(self.ctx, self.doc["person_id"]))


# =====================================================================================
# Cases
# =====================================================================================
class CasesScreen(_ListScreen):
    """Complaints and grievances (confidential; every view is audited)."""

    WATCH_TABLES = frozenset({"hr.cases"})
    TABLE_ID = "hr-cases"
    BINDINGS = [
        Binding("n", "new", _("New"), id="hr.case_new"),
        Binding("m", "status", _("Status"), id="hr.case_status"),
        Binding("a", "toggle_all", _("All/active"), id="hr.cases_all", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.show_all = False

    def columns(self):
        # Beside the menu at 80 columns the subject, then whom it concerns
        # (each sized by its text) are narrowed, then who raised it, the type
        # and the date give way (on the detail line): the state, what it is
        # about and whom it concerns stay.
        return [Column("id", "#", width=4, align="right"),
                Column("status_text", _("Status"), width=_label_width(m.CASE_STATUSES)),
                Column("type_text", _("Type"), width=_label_width(m.CASE_TYPES), priority=-2),
                Column("subject", _("Subject")),
                Column("against_text", _("Against"), priority=1), Column("raised_text", _("Raised by"), width=14, priority=-3),
                Column("opened_on", _("Opened"), width=_day_width(), format=_d, priority=-1)]

    def rows(self, audit: bool = True):
        return cases_svc.case_rows(self.ctx, None if self.show_all else ["open", "investigating"], audit=audit)

    def bar_text(self) -> str:
        scope = _("all cases") if self.show_all else _("open and investigating")
        return _("{scope} · views are audited · a all").format(scope=scope)

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._load(audit=True)  # the operator asks for another list: a new read

    def action_new(self) -> None:
        self.push_form(lambda: case_form(self.ctx))

    def action_status(self) -> None:
        rec = self.current()
        if rec:
            self.push_form(lambda: case_status_form(self.ctx, cases_svc.get_case(self.ctx, rec["id"])))

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        self.app.push_screen(CaseScreen(self.ctx, event.record["id"]))


class CaseScreen(_DetailScreen):
    WATCH_TABLES = frozenset({"hr.cases"})
    BINDINGS = [
        Binding("escape", "back", _("Back"), id="hr.case_back"),
        Binding("m", "status", _("Status"), id="hr.case_detail_status"),
        Binding("c", "note", _("Note"), id="hr.case_note"),
    ]

    def load(self, audit: bool = True) -> None:
        ctx = self.ctx
        doc = cases_svc.get_case(ctx, self.doc_id, audit=audit)
        self.doc = doc
        against = ", ".join(x for x in (svc.person_name(ctx, doc.get("against_person_id")), doc.get("against_party")) if x)
        pairs = [(_("Status"), _(m.CASE_STATUSES[doc["status"]])), (_("Type"), _(m.CASE_TYPES[doc["type"]])),
                 (_("Raised by"), _("anonymous") if doc["anonymous"] else svc.person_name(ctx, doc["raised_by"])),
                 (_("Against"), against), (_("Opened"), format_datetime(doc["opened_at"], "short")),
                 (_("Cause"), doc.get("cause")), (_("Outcome"), doc.get("outcome"))]
        if doc.get("resolved_by"):
            pairs.append((_("Resolved"), f"{doc['resolved_by']} · {format_datetime(doc['resolved_at'], 'short')}"))
        self.query_one(DetailView).update(pairs, title=f"#{doc['id']} {doc['subject']}")
        lines = []
        if doc.get("description"):
            lines += [escape(doc["description"]), ""]
        lines.append(f"[b]{escape(_('Notes'))}[/b]")
        for n in doc.get("notes") or []:
            lines.append(escape(f"  {format_datetime(n['at'], 'short')} {n['by']} → {_(m.CASE_STATUSES[n['status']])}"))
            if n.get("text"):
                lines.append("    " + escape(n["text"]))
        self.query_one("#hr-text", Static).update("\n".join(lines))

    def action_status(self) -> None:
        self.push_form(lambda: case_status_form(self.ctx, self.doc))

    def action_note(self) -> None:
        self.push_form(lambda: FormScreen(_("Note on case #{id}").format(id=self.doc_id),
                                          [Field("text", _("Note"), kind="multiline", required=True)],
                                          on_submit=lambda v: cases_svc.add_note(self.ctx, self.doc_id, v["text"])))


# =====================================================================================
# Discipline
# =====================================================================================
class DisciplineScreen(_ListScreen):
    """Warnings (active or all) with their expiry; warn, acknowledge, dismiss."""

    WATCH_TABLES = frozenset({"hr.warnings", "hr.dismissals"})
    TABLE_ID = "hr-warnings"
    BINDINGS = [
        Binding("w", "warn", _("Warn"), id="hr.warn"),
        Binding("k", "acknowledge", _("Acknowledged"), id="hr.warning_ack"),
        Binding("d", "dismiss", _("Dismiss"), id="hr.dismiss"),
        Binding("a", "toggle_all", _("All/active"), id="hr.warnings_all", show=False),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.show_all = False

    def columns(self):
        return [Column("name", _("Person"), width=16), Column("level_text", _("Level"), width=7),
                Column("date", _("Date"), format=_d), Column("expires", _("Expires"), format=_d, priority=-1),
                Column("state", _("State"), width=8), Column("ack", _("Ack."), format=_d, priority=-2),
                Column("reason", _("Reason"), width=30, priority=-3)]

    def rows(self, audit: bool = True):
        return disc.warning_rows(self.ctx, active_only=not self.show_all, audit=audit)

    def bar_text(self) -> str:
        rule = self.ctx.settings["dismissal_needs"]
        scope = _("all warnings") if self.show_all else _("active warnings")
        if rule == "none":
            return scope
        return _("{scope} · dismissal needs {level} · a all").format(
            scope=scope, level=_(m.LEVEL_TITLES[rule]))

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._load(audit=True)  # the operator asks for another list: a new read

    def action_warn(self) -> None:
        rec = self.query_one(RecordTable).cursor_record
        self.push_form(lambda: warning_form(self.ctx, str(rec["person_id"]) if rec else ""))

    def action_dismiss(self) -> None:
        rec = self.query_one(RecordTable).cursor_record
        self.push_form(lambda: dismiss_form(self.ctx, str(rec["person_id"]) if rec else ""))

    def action_acknowledge(self) -> None:
        rec = self.current()
        if rec:
            fields = [Field("date", _("Acknowledged on"), kind="date"), Field("comment", _("Employee's comment"))]
            self.push_form(lambda: FormScreen(
                _("Warning #{id} acknowledged").format(id=rec["id"]), fields,
                on_submit=lambda v: disc.acknowledge(self.ctx, rec["id"], on=v.get("date"),
                                                     comment=v.get("comment") or "")))


# =====================================================================================
# Wiring: navigation, palette and cards are in plugins/hr/__init__.py (the shell
# starts without this module); re-exported here for callers of the old names.
# =====================================================================================
from plugins.hr import cards, commands, nav_entries  # noqa: E402,F401


def search_hits(ctx, query: str) -> list[SearchHit]:
    hits = []
    for h in svc.search(ctx, query):
        if h["kind"] == "case":
            def opener(app, cid=h["id"]):
                app.push_screen(CaseScreen(ctx, cid))
            hits.append(SearchHit(h["title"], h["detail"], target="hr.cases", open=opener))
        elif h["kind"] == "candidate":
            def opener(app, cid=h["id"]):
                app.push_screen(CandidateScreen(ctx, cid))
            hits.append(SearchHit(h["title"], h["detail"], target="hr.hiring", open=opener))
        else:
            hits.append(SearchHit(h["title"], h["detail"], target="hr.hiring"))
    return hits
