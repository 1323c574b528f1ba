"""Hiring: openings, candidates (with a CV), stages, interviews, feedback, and
the hire itself — the person in the directory, the HR record, the onboarding
checklist and ``hr.employee_hired``, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from core.errors import UnknownRecord, ValidationError
from plugins.hr import files
from plugins.hr import models as m
from plugins.hr import service as svc
from plugins.hr.models import _


def data_dir(ctx) -> Path:
    return Path(ctx.config.data_dir)


def cv_store(ctx):
    """The site's store of the CVs (the data folder's ``hr/files`` on the
    default backend, PostgreSQL's files on that backend: every host's)."""
    return ctx.store.files("files", full_names=True)


# -- openings ---------------------------------------------------------------------------
def add_opening(ctx, title: str, *, department: Any = None, description: str = "") -> dict:
    svc.require(ctx, m.P_HIRING_EDIT, _("add openings"))
    title = m.text(title, "title", required=True)
    description = m.text(description, "description", limit=m.MAX_LONG)
    dept = svc.resolve_department(ctx, department)
    with ctx.transaction():
        oid = ctx.table("openings").insert({"title": title, "department_id": dept, "description": description,
                                            "status": "open", "created_at": svc.now_utc(),
                                            "by": ctx.operator.account})
        return ctx.table("openings")[oid]


def set_opening_status(ctx, opening_id: Any, status: str) -> dict:
    svc.require(ctx, m.P_HIRING_EDIT, _("close openings"))
    oid = m.record_id(opening_id, "opening", _("opening"))
    m.choice(status, m.OPENING_STATUSES, "status")
    with ctx.transaction():
        if ctx.table("openings").get(oid) is None:
            raise UnknownRecord(_("no opening #{id}").format(id=oid))
        return ctx.table("openings").update(oid, {"status": status})


def openings(ctx, status: str | None = None) -> list[dict]:
    svc.require(ctx, m.P_HIRING_READ, _("see openings"))
    rows = ctx.table("openings").find({"status": status} if status else {}, order_by=["-id"])
    for r in rows:
        r["candidates"] = ctx.table("candidates").count({"opening_id": r["id"]})
    return rows


def _opening(ctx, value: Any) -> dict:
    oid = m.record_id(value, "opening", _("opening"))
    doc = ctx.table("openings").get(oid)
    if doc is None:
        raise UnknownRecord(_("no opening #{id}").format(id=oid))
    return doc


# -- candidates ---------------------------------------------------------------------------
def add_candidate(ctx, name: str, *, opening: Any, email: str = "", phone: str = "", note: str = "",
                  cv: str | Path | None = None) -> dict:
    """A new candidate at stage ``applied`` (optionally with a CV file)."""
    svc.require(ctx, m.P_HIRING_EDIT, _("add candidates"))
    name = m.text(name, "name", required=True)
    mail = m.email(email)
    tel = m.phone(phone)
    note = m.text(note, "note", limit=m.MAX_LONG)
    cv_ref = _store_cv(ctx, cv) if cv else None  # content-addressed: harmless if the insert fails
    with ctx.transaction():
        op = _opening(ctx, opening)
        if op["status"] != "open":
            raise ValidationError(_("the opening {title!r} is closed").format(title=op["title"]), field="opening")
        cid = ctx.table("candidates").insert({
            "name": name, "email": mail, "phone": tel, "opening_id": op["id"], "stage": "applied",
            "cv": cv_ref, "person_id": None, "created_at": svc.now_utc(),
            "history": [{"stage": "applied", "at": svc.now_utc(), "by": ctx.operator.account, "note": note}]})
        return ctx.table("candidates")[cid]


def _store_cv(ctx, path) -> dict:
    limit = int(ctx.settings["max_cv_mb"]) << 20
    source = files.check_source(path, limit)
    sha, size = files.put(cv_store(ctx), source, limit)
    return {"sha256": sha, "size": size, "filename": source.name[:200]}


def attach_cv(ctx, candidate_id: Any, path: str | Path) -> dict:
    svc.require(ctx, m.P_HIRING_EDIT, _("attach CVs"))
    cid = m.record_id(candidate_id, "candidate", _("candidate"))
    if ctx.table("candidates").get(cid) is None:
        raise UnknownRecord(_("no candidate #{id}").format(id=cid))
    ref = _store_cv(ctx, path)
    with ctx.transaction():
        doc = _candidate(ctx, cid)
        return ctx.table("candidates").update(doc["id"], {"cv": ref})


def cv_bytes(ctx, candidate_id: Any) -> tuple[str, bytes]:
    """(file name, content) of a candidate's CV; audited."""
    doc = get_candidate(ctx, candidate_id)
    if not doc.get("cv"):
        raise ValidationError(_("{name} has no CV attached").format(name=doc["name"]), field="cv")
    return doc["cv"]["filename"], _cv_content(ctx, doc["cv"])


# -- reading a CV and saving a copy -------------------------------------------------------
class CopyExists(ValidationError):
    """The file a CV copy would be saved to exists: ask the operator, then
    call :func:`save_cv_copy` again with ``overwrite=True``."""

    def __init__(self, path: Path) -> None:
        super().__init__(_("{path} exists already").format(path=path), field="dest")
        self.path = path


def _cv_of(ctx, cid: int) -> tuple[dict, dict]:
    doc = _candidate(ctx, cid)
    cv = doc.get("cv")
    if not cv:
        raise ValidationError(_("{name} has no CV attached").format(name=doc["name"]), field="cv")
    return doc, cv


def _cv_content(ctx, cv: dict) -> bytes:
    """The stored CV's bytes, checked against their hash."""
    try:
        return files.read(cv_store(ctx), cv["sha256"])
    except OSError:
        raise ValidationError(_("the stored CV file {sha} is missing").format(sha=cv["sha256"][:12]),
                              field="cv") from None


def _extract_text(path: Path, filename: str) -> str:
    """The text of a stored file, read as the documents plugin reads its own
    (core.textfiles: plain text as is, PDF via pypdf; other kinds give "")."""
    from core.textfiles import extract_text

    return extract_text(path, filename)


def read_cv(ctx, candidate_id: Any) -> dict:
    """A candidate's CV as text, for reading on the screen.

    ``{"candidate_id", "name", "filename", "size", "sha256", "text"}``; ``text``
    is "" for a kind of file whose text cannot be extracted (DOCX, ODT, RTF,
    a scanned PDF). Needs ``hr.hiring.read``; the read is audited, and so is a
    refused attempt.
    """
    cid = m.record_id(candidate_id, "candidate", _("candidate"))
    what = _("read the CV of candidate #{id}").format(id=cid)
    svc.guard_read(ctx, m.P_HIRING_READ, "candidates", cid, what=what, audit=False)  # a refusal is audited here
    doc, cv = _cv_of(ctx, cid)
    _cv_content(ctx, cv)  # the stored file is there and undamaged
    ctx.services.audit.record_read(svc.PLUGIN, "hr.candidates", cid, what)
    text = _extract_text(cv_store(ctx).local_path(cv["sha256"]), cv["filename"])
    return {"candidate_id": cid, "name": doc["name"], "filename": cv["filename"], "size": cv["size"],
            "sha256": cv["sha256"], "text": text}


def _copy_name(cid: int, filename: str) -> str:
    name = Path(str(filename or "")).name.strip()
    if not name or name in (".", "..") or name.startswith(".") or any(ord(c) < 32 for c in name):
        name = f"cv-candidate-{cid}{Path(str(filename or '')).suffix[:10]}"
    return name[:200]


def _copy_target(ctx, dest: Any, cid: int, filename: str) -> Path:
    """Where a copy goes: ``dest`` as a file, or the CV's file name in the
    folder ``dest``. A full path; never inside the data directory."""
    raw = str(dest or "").strip()
    if not raw:
        raise ValidationError(_("name the file or folder to save the copy to"), field="dest")
    if "\x00" in raw or len(raw) > 4096:
        raise ValidationError(_("not a usable file name"), field="dest")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise ValidationError(_("give a full path (starting with / or ~/)"), field="dest")
    if path.is_dir():
        path = path / _copy_name(cid, filename)
    if not path.name or path.name in (".", ".."):
        raise ValidationError(_("not a usable file name"), field="dest")
    folder = path.parent
    data = Path(ctx.config.data_dir).resolve()
    if path.resolve() == data or data in path.resolve().parents:  # also when the folder is not there (yet)
        raise ValidationError(_("refused: {path} is inside the data directory").format(path=path), field="dest")
    if not folder.is_dir():
        raise ValidationError(_("no folder {path}").format(path=folder), field="dest")
    target = folder.resolve() / path.name  # the link itself is replaced, never written through
    if target == data or data in target.parents:
        raise ValidationError(_("refused: {path} is inside the data directory").format(path=target), field="dest")
    if target.is_dir() or (target.exists() and not target.is_file()):
        raise ValidationError(_("{path} is not a regular file").format(path=target), field="dest")
    return target


def _write_copy(target: Path, content: bytes, overwrite: bool) -> None:
    """Write ``content`` to ``target`` (0600) through a temporary file: a reader
    never sees half a copy; without ``overwrite`` an existing file is kept
    (CopyExists), even one that appeared a moment ago."""
    import os
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".cv-copy-")
    except OSError as error:
        raise ValidationError(_("cannot write to {path}: {error}").format(
            path=target.parent, error=error.strerror or error), field="dest") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the name exists: no check-then-write race
            except FileExistsError:
                raise CopyExists(target) from None
            except OSError:  # a file system without hard links
                if os.path.lexists(target):
                    raise CopyExists(target) from None
                os.replace(tmp, target)
    except OSError as error:
        raise ValidationError(_("cannot write to {path}: {error}").format(
            path=target, error=error.strerror or error), field="dest") from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def save_cv_copy(ctx, candidate_id: Any, dest: Any, *, overwrite: bool = False) -> Path:
    """Save a copy of a candidate's CV to ``dest`` (a full path: a file, or a
    folder to put it in under its file name); returns the path written.

    An existing file is only replaced with ``overwrite=True`` (otherwise
    :class:`CopyExists`). Needs ``hr.hiring.read``; audited with the path (a
    refused attempt too); the data directory is refused as a target.
    """
    cid = m.record_id(candidate_id, "candidate", _("candidate"))
    svc.guard_read(ctx, m.P_HIRING_READ, "candidates", cid,
                   what=_("save a copy of the CV of candidate #{id}").format(id=cid), audit=False)
    _doc, cv = _cv_of(ctx, cid)
    target = _copy_target(ctx, dest, cid, cv["filename"])
    if not overwrite and (target.exists() or target.is_symlink()):
        raise CopyExists(target)
    content = _cv_content(ctx, cv)
    ctx.services.audit.record_read(svc.PLUGIN, "hr.candidates", cid,
                                   _("save a copy of the CV of candidate #{id} to {path}").format(
                                       id=cid, path=target))
    _write_copy(target, content, overwrite)
    return target


def _candidate(ctx, value: Any) -> dict:
    cid = m.record_id(value, "candidate", _("candidate"))
    doc = ctx.table("candidates").get(cid)
    if doc is None:
        raise UnknownRecord(_("no candidate #{id}").format(id=cid))
    return doc


def get_candidate(ctx, candidate_id: Any, *, audit: bool = True) -> dict:
    """One candidate; needs ``hr.hiring.read``; audited (``audit=False`` for a
    screen's refresh, see :func:`service.guard_read`)."""
    cid = m.record_id(candidate_id, "candidate", _("candidate"))
    svc.guard_read(ctx, m.P_HIRING_READ, "candidates", cid, what=_("read candidate #{id}").format(id=cid),
                   audit=audit)
    return _candidate(ctx, cid)


def candidate_rows(ctx, *, stages=None, opening: Any = None) -> list[dict]:
    svc.require(ctx, m.P_HIRING_READ, _("see candidates"))
    from core.storage import AnyOf

    where: dict = {}
    if stages:
        where["stage"] = AnyOf(list(stages))
    if opening is not None:
        where["opening_id"] = m.record_id(opening, "opening", _("opening"))
    titles = {o["id"]: o["title"] for o in ctx.table("openings").all()}
    upcoming: dict[int, str] = {}
    now = svc.now_utc()
    for iv in ctx.table("interviews").find({"start": _after(now)}, order_by=["start"]):
        upcoming.setdefault(iv["candidate_id"], iv["start"])
    out = []
    for c in ctx.table("candidates").find(where, order_by=["-id"]):
        out.append(dict(c, opening=titles.get(c["opening_id"], ""), stage_text=_(m.STAGE_TITLES[c["stage"]]),
                        next_interview=upcoming.get(c["id"]), has_cv="✓" if c.get("cv") else ""))
    return out


def _after(moment: str):
    from core.storage import Range

    return Range(ge=moment)


def move_stage(ctx, candidate_id: Any, stage: str, note: str = "") -> dict:
    """Move a candidate to ``stage`` with a note (hiring goes through :func:`hire`)."""
    svc.require(ctx, m.P_HIRING_EDIT, _("move candidates"))
    m.choice(stage, m.STAGES, "stage")
    note = m.text(note, "note", limit=m.MAX_LONG)
    if stage == "hired":
        raise ValidationError(_("hire a candidate with Hire (key h) or `backdesk hr hire`"), field="stage")
    with ctx.transaction():
        doc = _candidate(ctx, candidate_id)
        if doc["stage"] == "hired":
            raise ValidationError(_("{name} is already hired").format(name=doc["name"]), field="stage")
        history = list(doc.get("history") or []) + [
            {"stage": stage, "at": svc.now_utc(), "by": ctx.operator.account, "note": note}]
        return ctx.table("candidates").update(doc["id"], {"stage": stage, "history": history})


def add_note(ctx, candidate_id: Any, note: str) -> dict:
    svc.require(ctx, m.P_HIRING_EDIT, _("write candidate notes"))
    note = m.text(note, "note", required=True, limit=m.MAX_LONG)
    with ctx.transaction():
        doc = _candidate(ctx, candidate_id)
        history = list(doc.get("history") or []) + [
            {"stage": doc["stage"], "at": svc.now_utc(), "by": ctx.operator.account, "note": note}]
        return ctx.table("candidates").update(doc["id"], {"history": history})


# -- interviews --------------------------------------------------------------------------
def schedule_interview(ctx, candidate_id: Any, when: Any, *, minutes: Any = 60, location: str = "",
                       interviewers: str = "") -> dict:
    """An interview; ``when`` is 'YYYY-MM-DD HH:MM' in the site's time zone.
    A candidate still at applied/screening moves to ``interview``."""
    from core.i18n import get_timezone

    svc.require(ctx, m.P_HIRING_EDIT, _("schedule interviews"))
    start = m.datetime_utc(when, "when", get_timezone())
    if isinstance(minutes, str) and minutes.strip().isdigit():
        minutes = int(minutes)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 5 <= minutes <= 600:
        raise ValidationError(_("an interview lasts 5 to 600 minutes"), field="minutes")
    location = m.text(location, "location")
    interviewers = m.text(interviewers, "interviewers")
    with ctx.transaction():
        doc = _candidate(ctx, candidate_id)
        if doc["stage"] in ("hired", "rejected"):
            raise ValidationError(_("{name} is {stage}: no more interviews").format(
                name=doc["name"], stage=_(m.STAGE_TITLES[doc["stage"]])), field="candidate")
        iid = ctx.table("interviews").insert({"candidate_id": doc["id"], "start": start, "minutes": minutes,
                                              "location": location, "interviewers": interviewers,
                                              "feedback": "", "rating": None, "recommend": None,
                                              "created_at": svc.now_utc(), "by": ctx.operator.account})
        if doc["stage"] in ("applied", "screening"):
            history = list(doc.get("history") or []) + [
                {"stage": "interview", "at": svc.now_utc(), "by": ctx.operator.account,
                 "note": _("interview scheduled")}]
            ctx.table("candidates").update(doc["id"], {"stage": "interview", "history": history})
        return ctx.table("interviews")[iid]


def interviews(ctx, candidate_id: Any | None = None) -> list[dict]:
    svc.require(ctx, m.P_HIRING_READ, _("see interviews"))
    where = {}
    if candidate_id is not None:
        where["candidate_id"] = m.record_id(candidate_id, "candidate", _("candidate"))
    return ctx.table("interviews").find(where, order_by=["start"])


def record_feedback(ctx, interview_id: Any, feedback: str, *, rating: Any = None,
                    recommend: bool | None = None) -> dict:
    svc.require(ctx, m.P_HIRING_EDIT, _("record interview feedback"))
    iid = m.record_id(interview_id, "interview", _("interview"))
    feedback = m.text(feedback, "feedback", required=True, limit=m.MAX_LONG)
    if rating in ("", None):
        rating = None
    else:
        if isinstance(rating, str) and rating.strip().isdigit():
            rating = int(rating)
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise ValidationError(_("a rating from 1 to 5"), field="rating")
    with ctx.transaction():
        if ctx.table("interviews").get(iid) is None:
            raise UnknownRecord(_("no interview #{id}").format(id=iid))
        return ctx.table("interviews").update(iid, {"feedback": feedback, "rating": rating,
                                                    "recommend": recommend, "feedback_by": ctx.operator.account,
                                                    "feedback_at": svc.now_utc()})


def interviews_ics(ctx, candidate_id: Any | None = None) -> str:
    """The interviews (of one candidate, or every upcoming one) as iCalendar text."""
    from plugins.hr.ics import calendar

    svc.require(ctx, m.P_HIRING_READ, _("export interviews"))
    if candidate_id is not None:
        cand = _candidate(ctx, candidate_id)
        rows = interviews(ctx, cand["id"])
    else:
        rows = ctx.table("interviews").find({"start": _after(svc.now_utc())}, order_by=["start"])
    names = {cid: ctx.table("candidates").get(cid) for cid in {r["candidate_id"] for r in rows}}
    titles = {o["id"]: o["title"] for o in ctx.table("openings").all()}
    events = []
    for iv in rows:
        cand = names.get(iv["candidate_id"]) or {"name": f"#{iv['candidate_id']}", "opening_id": None}
        opening = titles.get(cand.get("opening_id"), "")
        events.append({"uid": f"hr-interview-{iv['id']}", "start": iv["start"], "minutes": iv["minutes"],
                       "summary": _("Interview: {name}").format(name=cand["name"]) + (f" ({opening})" if opening else ""),
                       "location": iv.get("location") or "",
                       "description": _("Interviewers: {who}").format(who=iv.get("interviewers") or "-")})
    return calendar(events, now=svc.now_utc())


# -- the hire ----------------------------------------------------------------------------
def hire(ctx, candidate_id: Any, *, start: Any, end: Any = None, contract_type: str = "permanent",
         pay_amount: Any = None, pay_period: str = "month", currency: str | None = None,
         probation_months: Any = None, job_title: str | None = None, department: Any = None,
         email: str | None = None) -> dict:
    """Hire a candidate: the person in the directory, the HR record, the
    onboarding checklist and ``hr.employee_hired`` — in one transaction.

    Returns ``{"person_id", "record", "checklist_id"}``. A missing start
    date, an end date before the start, a candidate already hired or
    rejected → ValidationError, nothing stored.
    """
    svc.require(ctx, m.P_HIRE, _("hire candidates"))
    start_date = m.date_value(start, "start", required=True)
    if start_date is None:  # pragma: no cover - required above
        raise ValidationError(_("a start date is required"), field="start")
    if probation_months in (None, ""):
        probation_months = ctx.settings["probation_months"]
    if isinstance(probation_months, str) and probation_months.strip().isdigit():
        probation_months = int(probation_months)
    if isinstance(probation_months, bool) or not isinstance(probation_months, int) or not 0 <= probation_months <= 24:
        raise ValidationError(_("probation from 0 to 24 months"), field="probation_months")
    probation_end = None
    if probation_months:
        probation_end = (m.add_months(dt.date.fromisoformat(start_date), probation_months)
                         - dt.timedelta(days=1)).isoformat()
    with ctx.transaction():
        cand = _candidate(ctx, candidate_id)
        if cand["stage"] == "hired":
            raise ValidationError(_("{name} is already hired (person #{pid})").format(
                name=cand["name"], pid=cand.get("person_id")), field="candidate")
        if cand["stage"] == "rejected":
            raise ValidationError(_("{name} was rejected: move them back to a stage first").format(
                name=cand["name"]), field="candidate")
        opening = ctx.table("openings").get(cand["opening_id"]) or {}
        title = m.text(job_title, "job_title") if job_title else opening.get("title", "")
        dept = svc.resolve_department(ctx, department) if department not in (None, "") else opening.get("department_id")
        if dept is None:
            raise ValidationError(_("name the department the new employee joins"), field="department")
        end_date = m.date_value(end, "end")
        if probation_end and end_date and probation_end > end_date:
            probation_end = end_date
        try:
            record = svc.normalize_record(ctx, {
                "job_title": title, "contract_type": contract_type, "pay_amount": pay_amount,
                "pay_period": pay_period, "currency": currency or svc.site_currency(ctx),
                "start_date": start_date, "end_date": end_date, "probation_end": probation_end})
        except ValidationError as error:  # name the hire's own fields (the form's and the CLI's)
            field = {"start_date": "start", "end_date": "end"}.get(error.field, error.field)
            raise ValidationError(error.message, field=field) from None
        pid = ctx.services.people.add_person(
            name=cand["name"], department_id=dept, title=title or None,
            email=(m.email(email) if email else cand.get("email")), start_date=start_date,
            end_date=end_date, status="active")
        now = svc.now_utc()
        record.update(person_id=pid, candidate_id=cand["id"], created_at=now, updated_at=now)
        ctx.table("records").insert(record)
        history = list(cand.get("history") or []) + [
            {"stage": "hired", "at": now, "by": ctx.operator.account, "note": _("starts {date}").format(date=start_date)}]
        ctx.table("candidates").update(cand["id"], {"stage": "hired", "person_id": pid, "history": history})
        checklist_id = svc.create_checklist(ctx, pid, "onboarding", ref={"candidate_id": cand["id"]})
        data = {"person_id": pid, "start_date": start_date, "job_title": title, "department_id": dept,
                "candidate_id": cand["id"], "contract_type": record["contract_type"],
                "end_date": end_date, "probation_end": probation_end,
                "pay_period": record["pay_period"], "currency": record.get("currency")}
        # what payroll needs, as the contract calls it: a rate by the hour, a salary otherwise
        data["rate" if record["pay_period"] == "hour" else "salary"] = record.get("pay_amount")
        ctx.publish("employee_hired", data)
    return {"person_id": pid, "record": record, "checklist_id": checklist_id}
