"""The switchboard's domain operations: what the CLI and the screens both call.

Every change checks its permission here and runs in one storage transaction
(reads included, so two operators in two processes never overwrite each
other). PBX actions run inside that transaction too: a PBX that refuses an
action leaves nothing recorded.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, time as dtime, timedelta, timezone
from typing import IO, Any, Iterable

from core import csvsafe
from core.errors import BackdeskError, PermissionDenied, UnknownRecord, ValidationError
from core.i18n import format_date, get_timezone, today as local_today
from core.storage import AnyOf, Contains, Not, Range

from plugins.telephony.models import (
    MAX_NAME, MAX_NOTE, MAX_TEXT, OPEN_STATUSES, PRESENCE, TRANSFER_MODES, UNREACHABLE, URGENCIES,
    WAITING_STATUSES, _, clean_text, is_extension, normalize_number, now_utc, outcome_title, parse_hours,
    parse_range, parse_utc, presence_title, seconds_between, status_title,
)

READ = "telephony.calls.read"
HANDLE = "telephony.calls.handle"
TAKE = "telephony.messages.take"
MESSAGES = "telephony.messages.read"
PRESENCE_SET = "telephony.presence.set"
HOURS = "telephony.hours.set"
EXTENSIONS = "telephony.extensions.manage"

#: each table and the permission that reads it whole (export)
TABLE_READ = {"calls": READ, "messages": MESSAGES, "contacts": READ, "presence": READ,
              "assignments": READ, "switch": READ}

def call_marks(call: dict) -> dict:
    """What the History asks the store about a call, kept on every write of
    it (``derive`` of telephony.calls): ``people``, the ids of everyone the
    call touched — caller, asked for, put through, consulted and each hop of
    its transfers — as ``"|3|17|42|"`` (``Contains("|17|")`` finds person
    17's calls, also where 17 was only passed through); ``transferred``,
    whether a transfer to a person completed."""
    ids = sorted(_people_of(call), key=lambda i: (0, i) if type(i) is int else (1, str(i)))
    return {"people": "|" + "|".join(str(i) for i in ids) + "|" if ids else "",
            "transferred": any(t.get("state") == "completed" and t.get("mode") != "voicemail"
                               for t in call.get("transfers") or ())}


#: tables past their first schema version: version, migrations, derived fields
TABLE_VERSIONS = {
    # 2: people and transferred kept on each call (call_marks); the calls before get them
    "calls": {"version": 2, "migrations": {2: lambda call: {**call, **call_marks(call)}}, "derive": call_marks},
}

PERMISSIONS = {
    READ: "See calls, the switchboard and the call history",
    HANDLE: "Answer, log, transfer, park and pick up calls",
    TAKE: "Take messages and mark callbacks done",
    MESSAGES: "Read every message taken (not only one's own)",
    PRESENCE_SET: "Set presence and do-not-disturb for people",
    HOURS: "Switch between business hours and night service",
    EXTENSIONS: "Assign and release extensions, import the phone list",
}

HOURS_MODES = ("auto", "day", "night")
PHONE_LIST_COLUMNS = ("name", "extension", "department", "email", "company", "number")


class TargetUnreachable(ValidationError):
    """The transfer target cannot take the call; the screen offers a message.

    ``person_id`` is who was wanted, ``message_for`` whom to take the message
    for (the manager when the person has left)."""

    def __init__(self, message: str, *, person_id: int, message_for: int | None, field: str = "to",
                 deputy_id: int | None = None) -> None:
        super().__init__(message, field=field)
        self.person_id = person_id
        self.message_for = message_for
        #: the deputy of a person away (core.services.workdays absence register), if any
        self.deputy_id = deputy_id


def service_for(ctx) -> "Telephony":
    """The plugin's service for ``ctx`` (one per running Backdesk)."""
    svc = getattr(ctx, "_telephony_service", None)
    if svc is None:
        svc = Telephony(ctx)
        ctx._telephony_service = svc
    return svc


#: the History's ``/`` finds among this many newest calls of the view
HISTORY_FIND = 5000


def _day_bounds(day) -> tuple[str, str]:
    """A local date's start and end as UTC ISO strings (like stored times)."""
    tz = get_timezone()
    start = datetime.combine(day, dtime(0, 0), tzinfo=tz).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), dtime(0, 0), tzinfo=tz).astimezone(timezone.utc)
    return start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")


class Telephony:
    """``service_for(ctx)``: calls, transfers, messages, presence, extensions."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.calls = ctx.table("calls")
        self.messages = ctx.table("messages")
        self.contacts = ctx.table("contacts")
        self.presence = ctx.table("presence")
        self.assignments = ctx.table("assignments")
        self.switch = ctx.table("switch")
        self._backend = None
        self._tracker = None
        self._pushed_night: bool | None = None

    # ------------------------------------------------------------------ basics
    @property
    def people(self):
        return self.ctx.services.people

    @property
    def operator(self):
        return self.ctx.operator

    def require(self, permission: str) -> None:
        self.ctx.require(permission)

    @property
    def backend(self):
        if self._backend is None:
            from plugins.telephony.pbx import make_backend

            self._backend = make_backend(self.ctx)
        return self._backend

    def start_backend(self) -> None:
        """Listen to the PBX (the switchboard screen and ``phone watch`` do this)."""
        self.backend.start(self.pbx_event, batch=self._pbx_batch)

    def _pbx_batch(self, events: list):
        """A burst of PBX events that change calls is recorded in one
        transaction (one fsync); single events and events that change no
        call take no lock at all."""
        from contextlib import nullcontext

        tracker = self.tracker
        if len(events) > 1 and sum(1 for name, fields, _a in events if tracker.wants(name, fields)) > 1:
            return self.ctx.transaction()
        return nullcontext()

    def stop_backend(self) -> None:
        if self._backend is not None:
            self._backend.stop()

    @property
    def live(self):
        """What the PBX shows now (:class:`plugins.telephony.live.LiveState`)
        once the backend has loaded it after connecting; None otherwise."""
        backend = self.backend
        if not backend.live or not backend.wait_synced(0):
            return None
        return backend.live_state()

    def live_required(self):
        """The live state for an action that needs it; connects first (the
        CLI), PBXError saying why when the PBX cannot be reached. None
        without a PBX (manual)."""
        from plugins.telephony.pbx import PBXError

        backend = self.backend
        if not backend.live:
            return None
        backend.start()
        if not backend.wait_synced(None):
            raise PBXError(backend.state()[1])
        return backend.live_state()

    def operator_extensions(self) -> dict[str, str]:
        """``{extension: account}`` of the switchboard's operators (config
        accounts that may handle calls) who have a phone in the directory."""
        from core.services.access import resolve_operator

        out: dict[str, str] = {}
        config = self.ctx.config
        for account, op in (getattr(config, "operators", None) or {}).items():
            try:
                if not resolve_operator(config, account).can(HANDLE):
                    continue
            except BackdeskError:
                continue
            person = None
            if getattr(op, "person_id", None):
                person = self.people.get(op.person_id)
            elif getattr(op, "email", None):
                person = self.people.by_email(op.email)
            if person and person.get("extension"):
                out[person["extension"]] = account
        return out

    def my_extension(self) -> str | None:
        me = self.my_person()
        return (me or {}).get("extension") or None

    def my_person(self) -> dict | None:
        try:
            return self.people.person_of(self.operator)
        except BackdeskError:
            return None

    # ------------------------------------------------------------------ people
    def resolve_person(self, text: Any, field: str = "to", *, allow_left: bool = True) -> dict:
        """A person from an id (``7``/``#7``), an extension or a name."""
        if isinstance(text, bool):
            raise ValidationError(_("expected a person"), field=field)
        if isinstance(text, int):
            person = self.people.get(text)
            if person is None:
                raise UnknownRecord(_("no person with id {id}").format(id=text))
            return person
        raw = clean_text(text, field, limit=MAX_NAME, required=True)
        if raw.startswith("#") and raw[1:].isdigit():
            return self.resolve_person(int(raw[1:]), field)
        if raw.isdigit():
            if not is_extension(raw):
                raise ValidationError(_("{ext!r} is not an extension (2 to 6 digits)").format(ext=raw), field=field)
            person = self.people.by_extension(raw)
            if person is None:
                raise ValidationError(_("unknown extension {ext}").format(ext=raw), field=field)
            return person
        statuses = ("active", "on_leave", "left") if allow_left else ("active", "on_leave")
        found = self.people.find(raw, status=statuses)
        exact = [p for p in found if p["name"].casefold() == raw.casefold()]
        if exact:
            found = exact
        if len(found) > 1:
            current = [p for p in found if p.get("status") != "left"]
            if len(current) == 1:
                found = current
        if not found:
            raise ValidationError(_("nobody matches {text!r}").format(text=raw), field=field)
        if len(found) > 1:
            names = ", ".join(f"{p['name']} ({p.get('extension') or '-'})" for p in found[:4])
            raise ValidationError(_("several people match {text!r}: {names}").format(text=raw, names=names),
                                  field=field)
        return self.people.get(found[0]["id"])

    def resolve_caller(self, text: Any, *, name: str | None = None, company: str | None = None,
                       field: str = "from") -> dict:
        """Who is calling: ``{"caller_number", "caller_person_id", "contact_id",
        "caller_name", "display"}`` from a number, an extension or a name."""
        raw = clean_text(text, field, limit=MAX_NAME)
        name = clean_text(name, "name", limit=MAX_NAME)
        company = clean_text(company, "company", limit=MAX_NAME)
        if not raw:
            raise ValidationError(_("who is calling? Give a number, an extension or a name"), field=field)
        out = {"caller_number": None, "caller_person_id": None, "contact_id": None, "caller_name": None,
               "caller_company": None, "display": raw}
        compact = raw.replace(" ", "").replace("-", "").replace("/", "")
        if compact.isdigit() and is_extension(compact):
            person = self.people.by_extension(compact)
            if person is None:
                raise ValidationError(_("unknown extension {ext}").format(ext=compact), field=field)
            out.update(caller_number=compact, caller_person_id=person["id"], display=person["name"])
            return out
        if any(ch.isdigit() for ch in raw) and not any(ch.isalpha() for ch in raw):
            number = normalize_number(raw, field)
            out["caller_number"] = number
            found = self.contacts.find({"number": number}, limit=1)
            if found:
                contact = found[0]
                out["contact_id"] = contact["id"]
                out["display"] = contact.get("name") or number
                if contact.get("company"):
                    out["display"] += f" ({contact['company']})"
            out["caller_name"] = name or None
            out["caller_company"] = company or None
            if name:
                out["display"] = name + (f" ({company})" if company else "")
            return out
        # a name: someone in the directory, else a remembered external caller
        people = self.people.find(raw, status=("active", "on_leave"))
        exact = [p for p in people if p["name"].casefold() == raw.casefold()]
        if exact:
            people = exact
        if len(people) == 1:
            person = people[0]
            out.update(caller_number=person.get("extension"), caller_person_id=person["id"],
                       display=person["name"])
            return out
        contacts = [c for c in self.contacts.find({("name", "company"): Contains(raw)})]
        if len(contacts) == 1:
            c = contacts[0]
            out.update(caller_number=c.get("number"), contact_id=c["id"],
                       display=c.get("name") + (f" ({c['company']})" if c.get("company") else ""))
            return out
        if len(people) > 1:
            names = ", ".join(p["name"] for p in people[:4])
            raise ValidationError(_("several people match {text!r}: {names}").format(text=raw, names=names),
                                  field=field)
        raise ValidationError(_("{text!r} is neither a known caller nor a phone number").format(text=raw),
                              field=field)

    def _remember_contact(self, caller: dict) -> None:
        """Store or update the external caller (inside the caller's transaction)."""
        number = caller.get("caller_number")
        if caller.get("caller_person_id") or not number:
            return
        name, company = caller.get("caller_name"), caller.get("caller_company")
        if caller.get("contact_id"):
            changes = {}
            if name:
                changes["name"] = name
            if company:
                changes["company"] = company
            changes["last_call_at"] = now_utc()
            self.contacts.update(caller["contact_id"], changes)
        elif name:
            found = self.contacts.find({"number": number}, limit=1)
            if found:
                caller["contact_id"] = found[0]["id"]
                self.contacts.update(found[0]["id"], {"name": name, "company": company or found[0].get("company"),
                                                      "last_call_at": now_utc()})
            else:
                caller["contact_id"] = self.contacts.insert({"name": name, "company": company, "number": number,
                                                             "last_call_at": now_utc()})

    def caller_text(self, call: dict) -> str:
        """The caller as shown: a person's name, a contact, or the number."""
        if call.get("caller_person_id"):
            return self.people.name_of(call["caller_person_id"], f"#{call['caller_person_id']}")
        if call.get("contact_id"):
            contact = self.contacts.get(call["contact_id"])
            if contact:
                return contact_text(contact)
        return call.get("caller_name") or call.get("caller_number") or _("unknown caller")

    def person_text(self, person_id: int | None) -> str:
        if person_id is None:
            return ""
        return self.people.name_of(person_id, f"#{person_id}")

    # ------------------------------------------------------------------ presence
    def presence_of(self, person_id: int) -> str:
        doc = self._presence_doc(person_id)
        if doc and doc.get("set_state"):
            return doc["set_state"]
        live = self.live
        if live is not None:
            person = self.people.get(person_id)
            state = live.extension_state((person or {}).get("extension") or "")
            if state:
                return state
        return _effective(doc)

    def _presence_doc(self, person_id: int) -> dict | None:
        found = self.presence.find({"person_id": person_id}, limit=1)
        return found[0] if found else None

    def presence_map(self) -> dict[int, str]:
        """Presence by person id: what the operator set, else the PBX's state."""
        return {doc["person_id"]: _effective(doc) for doc in self.presence.all()}

    def _pbx_states(self) -> dict[str, str]:
        live = self.live
        return live.extension_states() if live is not None else {}

    def set_presence(self, person: Any, state: str, note: str = "") -> str:
        """Set a person's presence (``idle`` clears what the operator set)."""
        self.require(PRESENCE_SET)
        if state not in PRESENCE:
            raise ValidationError(_("unknown state {state!r} (known: {known})").format(
                state=state, known=", ".join(PRESENCE)), field="state")
        note = clean_text(note, "note", limit=MAX_NOTE)
        with self.ctx.transaction():
            target = self.resolve_person(person, "person", allow_left=False)
            self._put_presence(target["id"], set_state=None if state == "idle" else state, note=note)
            if state in ("dnd", "idle") and target.get("extension"):
                self.backend.set_dnd(target["extension"], state == "dnd")
        return state

    def toggle_dnd(self, person: Any) -> str:
        """Switch do-not-disturb on or off; returns the new state."""
        self.require(PRESENCE_SET)
        with self.ctx.transaction():
            target = self.resolve_person(person, "person", allow_left=False)
            doc = self._presence_doc(target["id"])
            on = not (doc and doc.get("set_state") == "dnd")
            self._put_presence(target["id"], set_state="dnd" if on else None, note="")
            if target.get("extension"):
                self.backend.set_dnd(target["extension"], on)
        return "dnd" if on else "idle"

    def _put_presence(self, person_id: int, **changes: Any) -> None:
        doc = self._presence_doc(person_id)
        changes["updated_at"] = now_utc()
        if doc is None:
            base = {"person_id": person_id, "set_state": None, "pbx_state": None, "note": ""}
            base.update(changes)
            self.presence.insert(base)
        else:
            self.presence.update(doc["id"], changes)

    # ------------------------------------------------------------------ hours
    def hours_mode(self) -> str:
        found = self.switch.find({"key": "hours"}, limit=1)
        return found[0]["mode"] if found else "auto"

    def set_hours_mode(self, mode: str) -> str:
        self.require(HOURS)
        if mode not in HOURS_MODES:
            raise ValidationError(_("unknown mode {mode!r} (known: auto, day, night)").format(mode=mode),
                                  field="mode")
        with self.ctx.transaction():
            found = self.switch.find({"key": "hours"}, limit=1)
            if found:
                self.switch.update(found[0]["id"], {"mode": mode, "at": now_utc(),
                                                    "by": self.operator.account})
            else:
                self.switch.insert({"key": "hours", "mode": mode, "at": now_utc(),
                                    "by": self.operator.account})
            if self.backend.live:
                self._push_night(force=True)
        return mode

    def _push_night(self, *, force: bool = False) -> bool:
        night = self.is_night()
        if force or night != self._pushed_night or self.backend.night_state() != night:
            self.backend.set_night(night)
            self._pushed_night = night
        return night

    def push_hours(self) -> bool | None:
        """Tell the PBX whether night service is on now (its dialplan reads it);
        done on every (re)connect, when the mode changes and, in automatic mode,
        when business hours begin or end. None without a PBX or when it is
        unreachable (the next connect pushes again)."""
        if not self.backend.live:
            return None
        try:
            return self._push_night()
        except BackdeskError:
            self._pushed_night = None
            return None

    def night_summary(self) -> str:
        """One short line for the switchboard at night ("" in business hours)."""
        if not self.is_night():
            return ""
        if (self.ctx.settings.get("night_route") or "messages") == "voicemail":
            return _("Night: a logged call goes to voicemail")
        return _("Night: a logged call becomes a callback message")

    def night_explanation(self) -> str:
        """Why calls go where they go now, in one sentence (the switchboard shows it)."""
        mode = self.hours_mode()
        route = self.ctx.settings.get("night_route") or "messages"
        where = (_("the voicemail of the person asked for") if route == "voicemail"
                 else _("an open callback message for the person asked for"))
        if not self.is_night():
            return ""
        if mode == "night":
            why = _("Night service is switched on")
        else:
            days = self.ctx.settings.get("business_days") or [1, 2, 3, 4, 5]
            why = _("Night service (automatic): outside business hours {hours}, {days}").format(
                hours=self.ctx.settings.get("business_hours") or "08:00-17:00", days=_weekdays_text(days))
        text = _("{why}. A call you log now becomes {where}.").format(why=why, where=where)
        if self.backend.live:
            text += " " + _("The PBX sends callers to its night service.")
        return text

    def is_night(self, moment: datetime | None = None) -> bool:
        mode = self.hours_mode()
        if mode != "auto":
            return mode == "night"
        local = (moment or datetime.now(timezone.utc)).astimezone(get_timezone())
        days = self.ctx.settings.get("business_days") or [1, 2, 3, 4, 5]
        if local.isoweekday() not in days:
            return True
        if self.ctx.settings.get("night_on_holidays", True) and self.ctx.services.calendar.holiday(local.date()):
            return True
        start, end = parse_hours(self.ctx.settings.get("business_hours") or "08:00-17:00")
        minute = local.hour * 60 + local.minute
        return not (start <= minute < end)

    # ------------------------------------------------------------------ calls
    def get_call(self, call_id: Any) -> dict:
        if isinstance(call_id, str) and call_id.strip().lstrip("#").isdigit():
            call_id = int(call_id.strip().lstrip("#"))
        if not isinstance(call_id, int) or isinstance(call_id, bool):
            raise ValidationError(_("{id!r} is not a call id").format(id=call_id), field="call")
        doc = self.calls.get(call_id)
        if doc is None:
            raise UnknownRecord(_("no call with id {id}").format(id=call_id))
        return doc

    def log_call(self, caller: Any, *, to: Any = None, note: str = "", name: str | None = None,
                 company: str | None = None, pbx: dict | None = None) -> int:
        """Answer (log) an incoming call; returns the new call's id.

        ``to`` is the extension or person the caller asked for. In night
        service the call goes to voicemail or the message queue (setting
        ``night_route``) instead of the operator.
        """
        self.require(HANDLE)
        note = clean_text(note, "note", limit=MAX_NOTE)
        with self.ctx.transaction():
            who = self.resolve_caller(caller, name=name, company=company)
            wanted = self.resolve_person(to, "to", allow_left=False) if to not in (None, "") else None
            self._remember_contact(who)
            now = now_utc()
            night = self.is_night()
            doc = {
                "caller_number": who["caller_number"], "caller_person_id": who["caller_person_id"],
                "contact_id": who["contact_id"],
                "caller_name": who["caller_name"] if not who["contact_id"] else None,
                "wanted_person_id": wanted["id"] if wanted else None,
                "to_person_id": None, "consult_person_id": None,
                "operator": self.operator.account, "status": "active", "outcome": None,
                "started_at": now, "answered_at": now, "ended_at": None, "duration": None,
                "chain": [self._caller_link(who), {"kind": "operator", "account": self.operator.account}],
                "transfers": [], "park_slot": None, "note": note, "message_id": None, "night": night,
                "pbx": pbx or {},
            }
            call_id = self.calls.insert(doc)
            if night:
                self._night_route(call_id, doc, wanted)
        return call_id

    def _caller_link(self, who: dict) -> dict:
        link = {"kind": "caller", "number": who.get("caller_number")}
        if who.get("caller_person_id"):
            link["person_id"] = who["caller_person_id"]
        if who.get("contact_id"):
            link["contact_id"] = who["contact_id"]
        return link

    def _night_route(self, call_id: int, doc: dict, wanted: dict | None) -> None:
        route = self.ctx.settings.get("night_route") or "messages"
        now = doc["started_at"]
        if route == "voicemail" and wanted is not None:
            self.calls.update(call_id, {"status": "ended", "outcome": "voicemail", "ended_at": now,
                                        "duration": 0, "to_person_id": wanted["id"],
                                        "chain": doc["chain"] + [{"kind": "voicemail", "person_id": wanted["id"]}]})
            return
        message_id = self.messages.insert({
            "for_person_id": wanted["id"] if wanted else None, "call_id": call_id,
            "caller_person_id": doc["caller_person_id"], "contact_id": doc["contact_id"],
            "caller_name": doc["caller_name"], "caller_number": doc["caller_number"], "company": None,
            "urgency": "normal", "text": _("Called outside business hours."), "callback": True,
            "status": "open", "taken_by": self.operator.account, "taken_at": now,
            "done_at": None, "done_by": None,
        })
        self.calls.update(call_id, {"status": "ended", "outcome": "message", "ended_at": now, "duration": 0,
                                    "message_id": message_id})
        self.ctx.publish("message_taken", {"message_id": message_id,
                                            "for_person_id": wanted["id"] if wanted else None,
                                            "callback": True})

    def _open_call(self, call_id: Any, allowed: Iterable[str]) -> dict:
        call = self.get_call(call_id)
        if call["status"] not in allowed:
            raise ValidationError(_("call {id} is {status}; this needs a call that is {allowed}").format(
                id=call["id"], status=status_title(call["status"]),
                allowed=" / ".join(status_title(a) for a in allowed)), field="call")
        return call

    def _check_target(self, call: dict, person: dict, mode: str) -> str:
        """The target's extension; raises for oneself, leavers and unreachable people."""
        pid = person["id"]
        if pid == call.get("caller_person_id"):
            raise ValidationError(_("{name} is the caller; a call cannot be transferred to the caller").format(
                name=person["name"]), field="to")
        if pid == call.get("to_person_id") and call.get("status") == "ended":
            raise ValidationError(_("{name} has this call already").format(name=person["name"]), field="to")
        me = self.my_person()
        if me is not None and me["id"] == pid and not call.get("to_person_id"):
            raise ValidationError(_("you cannot transfer a call to yourself"), field="to")
        if person.get("status") == "left":
            manager = person.get("manager_id")
            raise TargetUnreachable(
                _("{name} has left the company; take a message instead (for {other})").format(
                    name=person["name"], other=self.person_text(manager) or _("someone else")),
                person_id=pid, message_for=manager)
        ext = person.get("extension")
        if not ext:
            raise TargetUnreachable(_("{name} has no extension; take a message instead").format(
                name=person["name"]), person_id=pid, message_for=pid)
        if mode != "voicemail":
            absence = self.ctx.services.calendar.absence_on(pid)
            if absence is not None:
                # approved leave or a sick note (core.services.workdays: dates only, never the reason)
                deputy = absence.get("deputy_id")
                text = _("{name} is away until {end}; take a message").format(
                    name=person["name"], end=format_date(absence["end"]))
                if deputy:
                    text += " " + _("or transfer to the deputy, {deputy}").format(deputy=self.person_text(deputy))
                raise TargetUnreachable(text, person_id=pid, message_for=pid, deputy_id=deputy)
            state = self.presence_of(pid)
            if person.get("status") == "on_leave":
                state = "away"
            if state in UNREACHABLE:
                raise TargetUnreachable(
                    _("{name} is {state}; take a message or send the call to voicemail").format(
                        name=person["name"], state=presence_title(state)), person_id=pid, message_for=pid)
        return ext

    def _from_person(self, call: dict) -> int | None:
        if call.get("to_person_id"):
            return call["to_person_id"]
        me = self.my_person()
        return me["id"] if me else None

    def transfer(self, call_id: Any, to: Any, *, mode: str = "blind", note: str = "") -> dict:
        """Transfer a call: ``blind``, ``attended`` (consult first, then
        :meth:`complete_transfer` or :meth:`cancel_transfer`) or ``voicemail``.

        A connected call may be transferred on (B → C): the chain grows."""
        self.require(HANDLE)
        if mode not in TRANSFER_MODES:
            raise ValidationError(_("unknown transfer mode {mode!r} (known: blind, attended, voicemail)").format(
                mode=mode), field="mode")
        note = clean_text(note, "note", limit=MAX_NOTE)
        with self.ctx.transaction():
            call = self.get_call(call_id)
            forwardable = call["status"] in ("ringing", "queued", "active", "parked", "held") or (
                call["status"] == "ended" and call.get("outcome") == "connected")
            if not forwardable:
                if call["status"] == "consulting":
                    raise ValidationError(_("call {id} is in an attended transfer: complete or cancel it first").format(
                        id=call["id"]), field="call")
                raise ValidationError(_("call {id} has ended ({outcome}); it cannot be transferred").format(
                    id=call["id"], outcome=outcome_title(call.get("outcome")) or "-"), field="call")
            person = self.resolve_person(to, "to")
            instead_of = None
            try:
                ext = self._check_target(call, person, mode)
            except TargetUnreachable as exc:
                # someone away with a deputy: the call goes to the deputy when the site says so
                if not (exc.deputy_id and self.ctx.settings.get("absence_route") == "deputy"):
                    raise
                instead_of, person = person, self.resolve_person(exc.deputy_id, "to")
                ext = self._check_target(call, person, mode)
            now = now_utc()
            entry = {"from_person_id": self._from_person(call), "to_person_id": person["id"], "mode": mode,
                     "note": note, "at": now, "by": self.operator.account,
                     "state": "consulting" if mode == "attended" else "completed"}
            if instead_of is not None:
                entry["instead_of"] = instead_of["id"]
            changes: dict[str, Any] = {"transfers": call["transfers"] + [entry], "park_slot": None}
            if mode == "attended":
                if call["status"] in WAITING_STATUSES + ("parked", "held") and call.get("pbx"):
                    raise ValidationError(_("call {id} is {status}: take it on your phone first (a), then "
                                            "consult").format(id=call["id"], status=status_title(call["status"])),
                                          field="call")
                kept = self.backend.transfer_attended(call, ext)
                changes.update(status="consulting", consult_person_id=person["id"])
                if kept:
                    changes["pbx"] = {**(call.get("pbx") or {}), **kept}
                return self._update_call(call, changes)
            if mode == "blind":
                self.backend.transfer_blind(call, ext)
            else:
                self.backend.to_voicemail(call, ext)
            changes.update(self._ended(call, "connected" if mode == "blind" else "voicemail", now))
            changes["to_person_id"] = person["id"]
            changes["chain"] = call["chain"] + [{"kind": "person" if mode == "blind" else "voicemail",
                                                 "person_id": person["id"], "mode": mode}]
            doc = self._update_call(call, changes)
            self._announce_transfer(doc, entry)
        return doc

    def _update_call(self, call: dict, changes: dict) -> dict:
        """Store what the operator did to a call; for a PBX call also the
        number of the last event the backend had received, so that the
        PBX's older events do not undo it (see pbxcalls.CallTracker)."""
        if call.get("pbx") and self.backend.live:
            changes = {**changes, "pbx": {**(changes.get("pbx") or call["pbx"]),
                                          "seq": self.backend.event_seq()}}
        return self.calls.update(call["id"], changes)

    def _ended(self, call: dict, outcome: str, now: str) -> dict:
        if call["status"] == "ended":  # a connected call handed on: its handling time stays
            return {"outcome": outcome}
        return {"status": "ended", "outcome": outcome, "ended_at": now, "consult_person_id": None,
                "duration": seconds_between(call.get("answered_at") or call["started_at"], now)}

    def _announce_transfer(self, call: dict, entry: dict) -> None:
        self.ctx.publish("call_transferred", {"call_id": call["id"], "from_person_id": entry["from_person_id"],
                                              "to_person_id": entry["to_person_id"], "note": entry["note"]})
        if entry["mode"] == "voicemail":
            return
        text = _("Call from {caller} put through to you by {operator}").format(
            caller=self.caller_text(call), operator=self.operator.name)
        if entry["note"]:
            text += ": " + entry["note"]
        self.ctx.services.notifications.notify_person(entry["to_person_id"], text, kind="telephony.transfer",
                                                      link="telephony.history", data={"call_id": call["id"]})

    def complete_transfer(self, call_id: Any) -> dict:
        """The consulted person takes the call: the attended transfer completes."""
        self.require(HANDLE)
        with self.ctx.transaction():
            call = self._open_call(call_id, ("consulting",))
            self.backend.complete_transfer(call)
            doc = self._update_call(call, self.completed_transfer_changes(call))
            self._announce_transfer(doc, doc["transfers"][-1])
        return doc

    def completed_transfer_changes(self, call: dict) -> dict:
        """What a completed attended transfer changes (here, or seen on the PBX)."""
        now = now_utc()
        transfers = [dict(t) for t in call["transfers"]]
        transfers[-1]["state"] = "completed"
        transfers[-1]["completed_at"] = now
        target = call["consult_person_id"]
        changes = self._ended(call, "connected", now)
        changes.update(transfers=transfers, to_person_id=target, consult_person_id=None,
                       chain=call["chain"] + [{"kind": "person", "person_id": target, "mode": "attended"}])
        return changes

    def cancel_transfer(self, call_id: Any, *, reason: str = "") -> dict:
        """End the consultation and return to the caller. ``reason`` ("away",
        "busy", "no answer") is kept with the transfer; "away" and "busy"
        also set the target's presence so the next operator knows."""
        self.require(HANDLE)
        reason = clean_text(reason, "reason", limit=MAX_NOTE)
        with self.ctx.transaction():
            call = self._open_call(call_id, ("consulting",))
            self.backend.cancel_transfer(call)
            transfers = [dict(t) for t in call["transfers"]]
            transfers[-1].update(state="cancelled", reason=reason or None, cancelled_at=now_utc())
            target = call["consult_person_id"]
            if reason in ("away", "busy") and target:
                self._put_presence(target, set_state=reason if reason == "away" else "busy",
                                   note=_("set by {operator} during a transfer").format(
                                       operator=self.operator.account))
            return self._update_call(call, {"status": "active", "consult_person_id": None,
                                                  "transfers": transfers})

    def end_call(self, call_id: Any, *, outcome: str = "missed") -> dict:
        """Hang up: ``missed`` (the caller gave up) or ``connected`` (dealt with by the operator)."""
        self.require(HANDLE)
        if outcome not in ("missed", "connected"):
            raise ValidationError(_("an ended call is 'missed' or 'connected'"), field="outcome")
        with self.ctx.transaction():
            call = self._open_call(call_id, OPEN_STATUSES)
            if call.get("pbx"):
                self.backend.hang_up(call)
            return self._update_call(call, self._ended(call, outcome, now_utc()))

    def park(self, call_id: Any) -> str:
        """Park a call; returns the slot (the lowest free one of ``park_slots``)."""
        self.require(HANDLE)
        with self.ctx.transaction():
            call = self._open_call(call_id, ("active", "ringing", "held"))
            if call.get("pbx") and call["status"] == "ringing":
                raise ValidationError(_("call {id} is still ringing: answer it first, then park it").format(
                    id=call["id"]), field="call")
            slot = self.backend.park(call)
            if slot is None:
                low, high = parse_range(self.ctx.settings.get("park_slots") or "70-79")
                used = {c.get("park_slot") for c in self.calls.find({"status": "parked"})}
                free = [str(n) for n in range(low, high + 1) if str(n) not in used]
                if not free:
                    raise ValidationError(_("every parking slot is taken"), field="call")
                slot = free[0]
            self._update_call(call, {"status": "parked", "park_slot": str(slot), "hold_slot": None,
                                           "parked_at": now_utc()})
        return str(slot)

    def hold(self, call_id: Any) -> dict:
        """Put a call on hold (the caller waits; ``resume`` takes it back)."""
        self.require(HANDLE)
        with self.ctx.transaction():
            call = self._open_call(call_id, ("active",))
            slot = self.backend.hold(call)
            return self._update_call(call, {"status": "held", "hold_slot": slot, "parked_at": now_utc()})

    def resume(self, call_id: Any) -> dict:
        """Take a held call back to one's own phone."""
        self.require(HANDLE)
        with self.ctx.transaction():
            call = self._open_call(call_id, ("held",))
            self.backend.retrieve(call, self.my_extension() or "")
            return self._update_call(call, {"status": "active", "hold_slot": None,
                                                  "operator": self.operator.account})

    def answer_call(self, call_id: Any) -> dict:
        """Take a waiting call (ringing, in a queue, parked or held) on one's own
        phone; a call logged by hand is simply on one's line."""
        self.require(HANDLE)
        with self.ctx.transaction():
            call = self._open_call(call_id, WAITING_STATUSES + ("parked", "held"))
            now = now_utc()
            if call.get("pbx"):
                ext = self.my_extension()
                if not ext:
                    raise ValidationError(_("your account has no extension in the directory: the call cannot "
                                            "be brought to your phone"), field="call")
                live = self.live
                ch = live.channel(call["pbx"].get("uniqueid")) if live is not None else None
                if ch is not None and ext in ch.ringing:
                    raise ValidationError(_("call {id} rings at your phone ({ext}): lift the handset").format(
                        id=call["id"], ext=ext), field="call")
                if call["status"] in ("parked", "held"):
                    self.backend.retrieve(call, ext)
                else:
                    self.backend.answer(call, ext)
            changes: dict[str, Any] = {"status": "active", "park_slot": None, "hold_slot": None,
                                       "operator": self.operator.account}
            if not call.get("answered_at"):
                changes["answered_at"] = now
            if not any(link.get("kind") == "operator" for link in call["chain"]):
                changes["chain"] = call["chain"] + [{"kind": "operator", "account": self.operator.account}]
            return self._update_call(call, changes)

    def dial(self, target: Any, *, number: str | None = None) -> int:
        """Click-to-dial: ring the operator's phone, then call ``target`` (a
        person: id, extension or name; or, with ``target`` None, ``number``).
        The call goes into the history; returns its id."""
        self.require(HANDLE)
        person = None
        if target not in (None, ""):
            person = self.resolve_person(target, "to", allow_left=False)
            dest = person.get("extension")
            if not dest:
                raise ValidationError(_("{name} has no extension").format(name=person["name"]), field="to")
        else:
            dest = normalize_number(number or "", "number")
        me = self.my_person()
        if me is not None and person is not None and me["id"] == person["id"]:
            raise ValidationError(_("you cannot call yourself"), field="to")
        ext = self.my_extension()
        if self.backend.live and not ext:
            raise ValidationError(_("your account has no extension in the directory: there is no phone to "
                                    "call from"), field="to")
        contact = None if person else self.contacts.find({"number": dest}, limit=1)
        now = now_utc()
        with self.ctx.transaction():
            dialled = dest.replace("+", "00", 1) if dest.startswith("+") else dest
            pbx = self.backend.dial(ext or "", dialled, f'"{self.operator.name}" <{ext or ""}>') or {}
            call_id = self.calls.insert({
                "caller_number": ext, "caller_person_id": me["id"] if me else None, "contact_id": None,
                "caller_name": None, "wanted_person_id": person["id"] if person else None,
                "to_person_id": person["id"] if person else None, "consult_person_id": None,
                "operator": self.operator.account, "status": "ringing" if pbx else "active", "outcome": None,
                "started_at": now, "answered_at": None if pbx else now, "ended_at": None, "duration": None,
                "chain": [{"kind": "operator", "account": self.operator.account},
                          ({"kind": "person", "person_id": person["id"], "mode": "dial"} if person else
                           {"kind": "number", "number": dest, "contact_id": contact[0]["id"] if contact else None})],
                "transfers": [], "park_slot": None, "note": "", "message_id": None, "night": False,
                "direction": "out", "dialled": dest, "dialled_contact_id": contact[0]["id"] if contact else None,
                "pbx": pbx,
            })
        if pbx.get("uniqueid"):
            self.tracker.tracked[pbx["uniqueid"]] = call_id
        return call_id

    def retrieve(self, call_or_slot: Any = None) -> dict:
        """Take a parked call back (by call id, ``slot:71`` / ``P71``, or the only one)."""
        self.require(HANDLE)
        with self.ctx.transaction():
            parked = self.calls.find({"status": "parked"}, order_by="parked_at")
            if call_or_slot in (None, ""):
                if not parked:
                    raise ValidationError(_("no call is parked"), field="call")
                call = parked[0]
            elif isinstance(call_or_slot, str) and call_or_slot.upper().lstrip("P").isdigit() and \
                    call_or_slot.upper().startswith("P"):
                slot = call_or_slot.upper().lstrip("P")
                match = [c for c in parked if c.get("park_slot") == slot]
                if not match:
                    raise ValidationError(_("nothing is parked in slot {slot}").format(slot=slot), field="call")
                call = match[0]
            else:
                call = self._open_call(call_or_slot, ("parked",))
            me = self.my_person()
            self.backend.retrieve(call, (me or {}).get("extension") or "")
            return self._update_call(call, {"status": "active", "park_slot": None, "hold_slot": None,
                                                  "operator": self.operator.account})

    def pickup(self, extension: Any) -> int:
        """Pick up the call ringing at another extension; returns the call id."""
        self.require(HANDLE)
        with self.ctx.transaction():
            person = self.resolve_person(extension, "extension", allow_left=False)
            ext = person.get("extension")
            if not ext:
                raise ValidationError(_("{name} has no extension").format(name=person["name"]), field="extension")
            if self.backend.live and not self.my_extension():
                from plugins.telephony.pbx import PBXError

                raise PBXError(_("your operator account has no extension to pick the call up to"))
            live = self.live_required()
            channel = None
            if live is not None:
                ringing_here = live.ringing_at(ext)
                if not ringing_here:
                    raise ValidationError(_("nothing is ringing at {ext}").format(ext=ext), field="extension")
                channel = ringing_here[0]
                ringing = self.calls.find({"pbx.uniqueid": channel.uniqueid,
                                           "status": AnyOf(list(OPEN_STATUSES))}, limit=1)
            else:
                ringing = self.calls.find({"status": "ringing", "wanted_person_id": person["id"]},
                                          order_by="-started_at", limit=1)
            self.backend.pickup(ext, self.my_extension())
            now = now_utc()
            if live is None and self.presence_of(person["id"]) == "ringing":
                self._put_presence(person["id"], pbx_state="idle")
            link = {"kind": "operator", "account": self.operator.account, "pickup": ext}
            if ringing:
                call = ringing[0]
                self._update_call(call, {"status": "active", "answered_at": call.get("answered_at") or now,
                                               "operator": self.operator.account,
                                               "wanted_person_id": call.get("wanted_person_id") or person["id"],
                                               "chain": call["chain"] + [link]})
                return call["id"]
            who = {"caller_number": None, "caller_person_id": None, "contact_id": None}
            if channel is not None and channel.number:
                try:
                    who = self.resolve_caller(channel.number)
                except BackdeskError:
                    who = {"caller_number": channel.number, "caller_person_id": None, "contact_id": None}
            call_id = self.calls.insert({
                "caller_number": who["caller_number"], "caller_person_id": who["caller_person_id"],
                "contact_id": who["contact_id"],
                "caller_name": (channel.caller_name if channel is not None and channel.caller_name else
                                _("picked up at {ext}").format(ext=ext)),
                "wanted_person_id": person["id"], "to_person_id": None, "consult_person_id": None,
                "operator": self.operator.account, "status": "active", "outcome": None, "started_at": now,
                "answered_at": now, "ended_at": None, "duration": None,
                "chain": [self._caller_link(who), link], "transfers": [], "park_slot": None, "note": "",
                "message_id": None, "night": False, "direction": "in",
                "pbx": {"uniqueid": channel.uniqueid, "channel": channel.name} if channel is not None else {},
            })
            if channel is not None:
                self.tracker.tracked[channel.uniqueid] = call_id
            return call_id

    # ------------------------------------------------------------------ messages
    def take_message(self, for_person: Any, text: Any, *, caller: Any = None, number: Any = None,
                     company: Any = None, urgency: str = "normal", callback: bool = True,
                     call_id: Any = None) -> int:
        """A "while you were out" message; the person is notified. With
        ``call_id`` the call ends with the outcome "message" (a consultation
        in progress is cancelled)."""
        self.require(TAKE)
        text = clean_text(text, "text", limit=MAX_TEXT, required=True)
        if urgency not in URGENCIES:
            raise ValidationError(_("urgency is 'normal' or 'urgent'"), field="urgency")
        if not isinstance(callback, bool):
            raise ValidationError(_("expected yes or no"), field="callback")
        company = clean_text(company, "company", limit=MAX_NAME) or None
        number_text = clean_text(number, "number", limit=40)
        number = normalize_number(number_text, "number") if number_text else None
        caller_text = clean_text(caller, "from", limit=MAX_NAME)
        with self.ctx.transaction():
            person = self.resolve_person(for_person, "for")
            if person.get("status") == "left":
                raise ValidationError(_("{name} has left the company; take the message for someone else").format(
                    name=person["name"]), field="for")
            doc: dict[str, Any] = {"caller_person_id": None, "contact_id": None, "caller_name": None,
                                   "caller_number": number, "company": company}
            call = None
            if call_id not in (None, ""):
                call = self._open_call(call_id, OPEN_STATUSES)
                doc.update(caller_person_id=call.get("caller_person_id"), contact_id=call.get("contact_id"),
                           caller_name=call.get("caller_name"), caller_number=number or call.get("caller_number"))
            if caller_text:
                try:
                    who = self.resolve_caller(caller_text)
                except ValidationError:
                    doc["caller_name"] = caller_text
                else:
                    doc.update(caller_person_id=who["caller_person_id"], contact_id=who["contact_id"],
                               caller_number=number or who["caller_number"])
                    if not who["caller_person_id"] and not who["contact_id"]:
                        doc["caller_name"] = who.get("caller_name")
            elif call is None:
                raise ValidationError(_("who called? Give a name or a number"), field="from")
            now = now_utc()
            doc.update(for_person_id=person["id"], call_id=call["id"] if call else None, urgency=urgency,
                       text=text, callback=callback, status="open" if callback else "noted",
                       taken_by=self.operator.account, taken_at=now, done_at=None, done_by=None)
            message_id = self.messages.insert(doc)
            if call is not None:
                changes = self._ended(call, "message", now)
                changes["message_id"] = message_id
                if call["status"] == "consulting":
                    self.backend.cancel_transfer(call)
                    transfers = [dict(t) for t in call["transfers"]]
                    transfers[-1].update(state="cancelled", reason="message", cancelled_at=now)
                    changes["transfers"] = transfers
                changes["chain"] = call["chain"] + [{"kind": "message", "person_id": person["id"]}]
                self._update_call(call, changes)
            self.ctx.publish("message_taken", {"message_id": message_id, "for_person_id": person["id"],
                                                "callback": callback})
            self.ctx.services.notifications.notify_person(
                person["id"], self.message_text(doc), kind="telephony.message", link="telephony.messages",
                data={"message_id": message_id})
        return message_id

    def message_text(self, doc: dict) -> str:
        who = self.message_caller(doc)
        head = _("URGENT: ") if doc.get("urgency") == "urgent" else ""
        text = head + _("While you were out: {caller} called").format(caller=who)
        if doc.get("caller_number"):
            text += f" ({doc['caller_number']})"
        text += f": {doc['text']}"
        if doc.get("callback"):
            text += " — " + _("please call back")
        return text

    def message_caller(self, doc: dict) -> str:
        if doc.get("caller_person_id"):
            return self.person_text(doc["caller_person_id"])
        if doc.get("contact_id"):
            contact = self.contacts.get(doc["contact_id"])
            if contact:
                return (contact.get("name") or contact.get("number") or "") + (
                    f" ({contact['company']})" if contact.get("company") else "")
        name = doc.get("caller_name") or doc.get("caller_number") or _("unknown caller")
        return name + (f" ({doc['company']})" if doc.get("company") else "")

    def _may_read_messages_of(self, person_id: int | None) -> bool:
        if self.ctx.can(MESSAGES) or self.ctx.can(TAKE):
            return True
        me = self.my_person()
        return me is not None and me["id"] == person_id

    def messages_where(self, *, open_only: bool = False, for_person_id: int | None = None) -> dict:
        """The store query of the messages an operator may read: one's own
        without ``telephony.messages.read`` (or ``.take``); the open
        callbacks only with ``open_only``."""
        where: dict[str, Any] = {}
        if not (self.ctx.can(MESSAGES) or self.ctx.can(TAKE)):
            me = self.my_person()
            if me is None:
                raise PermissionDenied(_("you may only read your own messages, and your account has no "
                                         "person in the directory"))
            for_person_id = me["id"]
        if for_person_id is not None:
            where["for_person_id"] = for_person_id
        if open_only:
            where["status"] = "open"
        return where

    def list_messages(self, *, open_only: bool = False, for_person_id: int | None = None) -> list[dict]:
        """Messages, open callbacks first then newest; one's own without
        ``telephony.messages.read``. Every one of them: the screens read a
        page at a time (:class:`MessagePages`)."""
        where = self.messages_where(open_only=open_only, for_person_id=for_person_id)
        rows = self.messages.find(where or None, order_by="-taken_at")
        rows.sort(key=lambda m: 0 if m.get("status") == "open" else 1)
        return rows

    def message_count(self, where: dict, *, open_only: bool = False) -> int:
        """How many messages ``where`` (:meth:`messages_where`) holds; with
        ``open_only`` its open callbacks."""
        return self.messages.count({**where, "status": "open"} if open_only else where or None)

    def open_callbacks(self, newest: int = 3) -> tuple[int, list[dict]]:
        """The open callbacks one may read: how many, and the ``newest``
        (the dashboard's card): a count and one short page, never all of
        them."""
        where = self.messages_where(open_only=True)
        return (self.messages.count(where),
                self.messages.find(where, order_by="-id", limit=newest, fields=MESSAGE_FIELDS))

    def message_page(self, where: dict, limit: int, *, offset: int = 0,
                     after: tuple[bool, int] | None = None) -> list[dict]:
        """``limit`` messages of ``where`` (:meth:`messages_where`) in the
        Messages screen's order — the open callbacks newest first, then the
        others newest first — from ``offset``, or after ``after`` = (open?,
        id) of the last one shown (a keyset page on the id: "lower ids of the
        same part", then the next part from its start). Newest is the
        highest id: a message is stamped ``taken_at`` when it is stored, so
        both orders are the same, and the id is what both stores page by
        without sorting (PostgreSQL its primary key, TinyDB its segments).
        Only the fields a row shows (:data:`MESSAGE_FIELDS`) are read."""
        parts = _message_parts(where)
        rows: list[dict] = []
        if after is not None:
            was_open, last_id = after
            start = 0 if was_open or len(parts) == 1 else 1
            for i in range(start, len(parts)):
                if len(rows) >= limit:
                    break
                part = {**parts[i], "id": Range(lt=last_id)} if i == start else parts[i]
                rows += self.messages.find(part, order_by="-id", limit=limit - len(rows), fields=MESSAGE_FIELDS)
            return rows
        for i, part in enumerate(parts):
            if len(rows) >= limit:
                break
            if offset and i < len(parts) - 1:  # where the page starts: this part counted
                n = self.messages.count(part)
                if offset >= n:
                    offset -= n
                    continue
            got = self.messages.find(part, order_by="-id", limit=limit - len(rows), offset=offset,
                                     fields=MESSAGE_FIELDS)
            rows += got
            offset = 0
        return rows

    def messages_matching(self, where: dict, text: str) -> list[tuple[bool, int]]:
        """The messages of ``where`` whose text, caller or addressee's name
        contains ``text`` (the Messages screen's ``/``), as (open?, id) in
        the screen's order: the store's Contains on the stored texts, and
        the people and contacts whose name contains it by their ids — each a
        query reading the ids and statuses only."""
        folded = text.casefold().strip()
        if not folded:
            return []
        people, contacts = self._history_names(folded)
        queries = [{**where, ("text", "caller_name", "caller_number", "company"): Contains(folded)}]
        if people:
            if "for_person_id" not in where:
                queries.append({**where, "for_person_id": AnyOf(sorted(people))})
            elif where["for_person_id"] in people:
                queries.append(where)
            queries.append({**where, "caller_person_id": AnyOf(sorted(people))})
        if contacts:
            queries.append({**where, "contact_id": AnyOf(sorted(contacts))})
        found: dict[int, bool] = {}
        for q in queries:
            for m in self.messages.find(q, fields=["status"]):
                found[m["id"]] = m.get("status") == "open"
        return sorted(((is_open, i) for i, is_open in found.items()), key=lambda m: (not m[0], -m[1]))

    def messages_of(self, ids: Iterable[int]) -> list[dict]:
        """The messages with these ids (the fields a row shows), in this order."""
        ids = list(ids)
        if not ids:
            return []
        found = {m["id"]: m for m in self.messages.find({"id": AnyOf(ids)}, fields=MESSAGE_FIELDS)}
        return [found[i] for i in ids if i in found]

    def _callback_message(self, message_id: Any) -> dict:
        """The message whose callback is marked (un)done; the operators who
        take messages may, and so may the person it is for. Call inside a
        transaction."""
        if isinstance(message_id, str) and message_id.strip().isdigit():
            message_id = int(message_id)
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise ValidationError(_("{id!r} is not a message id").format(id=message_id), field="message")
        doc = self.messages.get(message_id)
        if doc is None:
            raise UnknownRecord(_("no message with id {id}").format(id=message_id))
        if not self.ctx.can(TAKE):
            me = self.my_person()
            if me is None or me["id"] != doc.get("for_person_id"):
                self.require(TAKE)
        return doc

    def complete_callback(self, message_id: Any) -> dict:
        """Mark a callback done (the person it was for may do this too)."""
        with self.ctx.transaction():
            doc = self._callback_message(message_id)
            if doc.get("status") != "open":
                raise ValidationError(_("message {id} has no open callback").format(id=doc["id"]),
                                      field="message")
            return self.messages.update(doc["id"], {"status": "done", "done_at": now_utc(),
                                                    "done_by": self.operator.account})

    def reopen_callback(self, message_id: Any) -> dict:
        """Open a callback marked done again (the undo of :meth:`complete_callback`,
        allowed to the same operators)."""
        with self.ctx.transaction():
            doc = self._callback_message(message_id)
            if doc.get("status") != "done":
                raise ValidationError(_("message {id} has no callback marked done").format(id=doc["id"]),
                                      field="message")
            return self.messages.update(doc["id"], {"status": "open", "done_at": None, "done_by": None})

    # ------------------------------------------------------------------ reading calls
    def current_call(self) -> dict | None:
        """The operator's call on the line (or in consultation), newest first."""
        found = self.calls.find({"operator": self.operator.account,
                                 "status": AnyOf(["active", "consulting", "ringing"])},
                                order_by="-started_at", limit=1)
        return found[0] if found else None

    def parked_calls(self) -> list[dict]:
        return self.calls.find({"status": "parked"}, order_by="parked_at")

    def list_calls(self, *, day=None, today: bool = False, person_id: int | None = None,
                   unanswered: bool = False, transferred: bool = False, limit: int | None = None) -> list[dict]:
        """Call history, newest first, with the filters of the History screen
        (asked of the store: :meth:`history_where`); ``limit``: the newest
        that many, one query."""
        where = self.history_where(day=day, today=today, unanswered=unanswered, transferred=transferred,
                                   person_id=person_id)
        if not limit:
            return self.calls.find(where or None, order_by=list(self.HISTORY_ORDER))
        return self.history_page(where, limit)

    # -- the call history a page at a time (the History screen)
    #: newest first; ties in the second by id
    HISTORY_ORDER = ("-started_at", "-id")

    def history_where(self, *, day=None, today: bool = False, unanswered: bool = False,
                      transferred: bool = False, person_id: int | None = None) -> dict:
        """The store query of a History view: all calls, a day's, the
        unanswered, the transferred (put through to a person), a person's
        (caller, asked for, put through, consulted or a hop of a transfer:
        the fields :func:`call_marks` keeps)."""
        self.require(READ)
        where: dict[str, Any] = {}
        if today or day is not None:
            start, end = _day_bounds(day or local_today())
            where["started_at"] = Range(ge=start, lt=end)
        if unanswered:
            where["outcome"] = AnyOf(["missed", "abandoned", "voicemail", "message"])
        if transferred:
            where["transferred"] = True
        if person_id is not None:
            where["people"] = Contains(f"|{int(person_id)}|")
        return where

    def history_since(self, where: dict, newest: int = HISTORY_FIND) -> str | None:
        """started_at of the ``newest``-th newest call of ``where`` (None: fewer calls)."""
        self.require(READ)
        found = self.history_page(where, 1, offset=newest - 1, fields=("started_at",))
        return found[0]["started_at"] if found else None

    def history_window(self, where: dict, *, since: str | None = None, newest: int = HISTORY_FIND) -> list[dict]:
        """The calls of ``where`` from ``since`` on — by default the ``newest``
        and the others of the ``newest``-th's second (:meth:`history_since`)
        — newest first, as the fields the History's ``/`` looks at
        (started_at, id, the people, contact, caller's name and number;
        reading only those): what :class:`CallMatches` finds names among."""
        self.require(READ)
        fields = ("started_at", *_FOUND_BY)
        if since is None:
            rows = self.history_page(where, newest, fields=fields)
            if len(rows) < newest:
                return rows
            last = rows[-1]  # and the rest of its second
            return rows + self.calls.find({**where, "started_at": last["started_at"], "id": Range(lt=last["id"])},
                                          order_by="-id", fields=fields)
        bound = where.get("started_at")
        ge = max(since, bound.ge) if bound is not None and bound.ge is not None else since
        window = {**where, "started_at": Range(ge=ge, **({"lt": bound.lt} if bound is not None
                                                         and bound.lt is not None else {}))}
        return self.calls.find(window, order_by=list(self.HISTORY_ORDER), fields=fields)

    def history_matching(self, where: dict, text: str, *, since: str | None = None) -> list[dict]:
        """The History's ``/``: the calls of ``where`` (from ``since`` on:
        :meth:`history_since`, the newest 5,000) whose caller or a person of
        the call (asked for, put through, consulted) has a name containing
        ``text``, or whose caller's name or number contains it — as store
        queries that never overlap (a call is found by one of them)."""
        self.require(READ)
        if since is not None:
            bound = where.get("started_at")
            ge = max(since, bound.ge) if bound is not None and bound.ge is not None else since
            where = {**where, "started_at": Range(ge=ge, **({"lt": bound.lt} if bound is not None
                                                            and bound.lt is not None else {}))}
        folded = text.casefold().strip()
        if not folded:
            return [where]
        people, contacts = (sorted(x) for x in self._history_names(folded))
        parts, none_of = [], {}
        if people:
            parts.append({**where, _ROLES: AnyOf(people)})
            none_of = {r: Not(AnyOf(people)) for r in _ROLES}
        if contacts:
            parts.append({**where, **none_of, "contact_id": AnyOf(contacts)})
        parts.append({**where, **none_of, **({"contact_id": Not(AnyOf(contacts))} if contacts else {}),
                      ("caller_name", "caller_number"): Contains(folded)})
        return parts

    def _history_names(self, folded: str) -> tuple[set, set]:
        """(ids of the people whose name contains ``folded``, ids of the
        contacts whose name, company or number does)."""
        people = {p["id"] for p in self.people.find(folded) if folded in (p.get("name") or "").casefold()}
        contacts = {c["id"] for c in self.contacts.find({("name", "company", "number"): Contains(folded)})}
        return people, contacts

    def calls_of(self, ids: Iterable[int]) -> list[dict]:
        """The calls with these ids, in one read (those not found left out)."""
        self.require(READ)
        ids = list(ids)
        return self.calls.find({"id": AnyOf(ids)}) if ids else []

    def history_count(self, where: dict) -> int:
        self.require(READ)
        return self.calls.count(where or None)

    def history_page(self, where: dict, limit: int, *, after: tuple[str, int] | None = None,
                     offset: int = 0, oldest_first: bool = False, fields: Iterable[str] | None = None) -> list[dict]:
        """``limit`` calls of ``where``, newest first: from ``offset``, or the
        ones after ``after`` = (started_at, id) of the last call shown (a
        keyset page: that second's older ids, then the seconds before).
        ``oldest_first``: the other way round (for the end of the list).
        ``fields``: only these fields of each call (and ``id``; the store's
        projection; started_at is always among them).

        The started_at Range (``ge=""``: any time, when the view has none)
        lets PostgreSQL order by that text and the id with an index
        (core/storage/pg.py) instead of sorting every call."""
        self.require(READ)
        order = ["started_at", "id"] if oldest_first else list(self.HISTORY_ORDER)
        bound = where.get("started_at")
        projected = {} if fields is None else {"fields": ("started_at", *fields)}
        if after is None:
            return self.calls.find({**where, "started_at": bound or Range(ge="")}, order_by=order,
                                   limit=limit, offset=offset, **projected)
        at, last_id = after
        rows = self.calls.find({**where, "started_at": at, "id": Range(gt=last_id) if oldest_first
                                else Range(lt=last_id)}, order_by=order[1:], limit=limit, **projected)
        if len(rows) < limit:
            if oldest_first:
                older = Range(gt=at, **({"lt": bound.lt} if bound is not None and bound.lt is not None else {}),
                              **({"le": bound.le} if bound is not None and bound.le is not None else {}))
            else:
                older = Range(lt=at, **({"ge": bound.ge} if bound is not None and bound.ge is not None else {}),
                              **({"gt": bound.gt} if bound is not None and bound.gt is not None else {}))
            rows += self.calls.find({**where, "started_at": older}, order_by=order, limit=limit - len(rows),
                                    **projected)
        return rows

    def figures(self, day=None) -> dict:
        """The dashboard's figures for a local day (default today)."""
        self.require(READ)
        start, end = _day_bounds(day or local_today())
        rows = self.calls.find({"started_at": Range(ge=start, lt=end)})
        tz = get_timezone()
        per_hour = [0] * 24
        for c in rows:
            from plugins.telephony.models import parse_utc

            per_hour[parse_utc(c["started_at"]).astimezone(tz).hour] += 1
        ended = [c for c in rows if c.get("status") == "ended" and c.get("duration") is not None
                 and not c.get("night")]
        transfers = sum(1 for c in rows for t in c.get("transfers") or () if t.get("state") == "completed"
                        and t.get("mode") != "voicemail")
        missed = sum(1 for c in rows if c.get("outcome") in ("missed", "abandoned"))
        return {
            "calls": len(rows), "per_hour": per_hour, "transfers": transfers,
            "avg_handling": (sum(c["duration"] for c in ended) / len(ended)) if ended else None,
            "missed": missed, "missed_rate": (missed / len(rows)) if rows else None,
            "open_callbacks": self.messages.count({"status": "open"}),
        }

    def extension_rows(self) -> list[dict]:
        """The switchboard's rows: people at work with their extension and state."""
        presence = self.presence_map()
        away = self.ctx.services.calendar.away_today()
        pbx = self._pbx_states()
        set_by_hand = {doc["person_id"] for doc in self.presence.all() if doc.get("set_state")}
        rows = []
        for p in self.people.find("", status=("active", "on_leave")):
            state = presence.get(p["id"], "idle")
            if p["id"] not in set_by_hand and p.get("extension") in pbx:
                state = pbx[p["extension"]]
            if (p.get("status") == "on_leave" or p["id"] in away) and state == "idle":
                state = "away"
            rows.append({"id": p["id"], "name": p["name"], "extension": p.get("extension") or "",
                         "department": p.get("department") or "", "state": state})
        rows.sort(key=lambda r: (r["extension"] == "", r["extension"].zfill(6), r["name"]))
        return rows

    # ------------------------------------------------------------------ PBX events
    @property
    def tracker(self):
        if self._tracker is None:
            from plugins.telephony.pbxcalls import CallTracker

            self._tracker = CallTracker(self)
        return self._tracker

    def pbx_event(self, name: str, fields: dict) -> None:
        """What the PBX reports (called from the backend's event thread, in order)."""
        from plugins.telephony.ami import SYNCED

        if name == SYNCED:
            self.tracker.resync()
            self.push_hours()
            return
        self.tracker.handle(name, fields)

    def night_outcome(self, call: dict) -> dict:
        """An unanswered call at night ends as the night route says: a
        callback message for the person asked for, or their voicemail."""
        route = self.ctx.settings.get("night_route") or "messages"
        if route == "voicemail" and call.get("wanted_person_id"):
            return {"outcome": "voicemail", "to_person_id": call["wanted_person_id"],
                    "chain": call["chain"] + [{"kind": "voicemail", "person_id": call["wanted_person_id"]}]}
        message_id = self.messages.insert({
            "for_person_id": call.get("wanted_person_id"), "call_id": call["id"],
            "caller_person_id": call.get("caller_person_id"), "contact_id": call.get("contact_id"),
            "caller_name": call.get("caller_name"), "caller_number": call.get("caller_number"), "company": None,
            "urgency": "normal", "text": _("Called outside business hours."), "callback": True,
            "status": "open", "taken_by": self.operator.account, "taken_at": now_utc(),
            "done_at": None, "done_by": None,
        })
        self.ctx.publish("message_taken", {"message_id": message_id, "for_person_id": call.get("wanted_person_id"),
                                            "callback": True})
        return {"outcome": "message", "message_id": message_id}

    # ------------------------------------------------------------------ the live panel
    def switchboard_calls(self) -> list[dict]:
        """Every open call, as the switchboard lists them: the ones on a line
        or waiting by when they began, then held and parked ones."""
        self.require(READ)
        rows = self.calls.find({"status": AnyOf(list(OPEN_STATUSES))})
        live = self.live
        if live is not None:
            for call in rows:  # a queue's order is the PBX's, not ours
                where = live.queue_of((call.get("pbx") or {}).get("uniqueid") or "")
                if where:
                    call["_queue"] = where
        late = {"held": 1, "parked": 2}

        def key(call: dict):
            where = call.get("_queue")
            return (late.get(call["status"], 0), call.get("parked_at") or "" if call["status"] in late else "",
                    (where[0], where[1]) if where else ("", 0), call["started_at"], call["id"])

        rows.sort(key=key)
        return rows

    def queue_rows(self, open_calls: list[dict] | None = None) -> list[dict]:
        """The PBX's queues: waiting callers in order (with their calls) and
        members (person, paused, busy). ``open_calls``: the open calls the
        caller has just read (the switchboard), so each is not looked up again."""
        self.require(READ)
        live = self.live
        if live is None:
            return []
        by_uid = {(c.get("pbx") or {}).get("uniqueid"): c for c in open_calls} if open_calls is not None else None
        out = []
        for q in live.queue_list():
            entries = []
            for pos, e in enumerate(q.entries, start=1):
                if by_uid is not None and e.uniqueid in by_uid:
                    found = [by_uid[e.uniqueid]]
                else:
                    found = self.calls.find({"pbx.uniqueid": e.uniqueid}, limit=1)
                # waiting since the call began (as the call's line shows), not since it joined the queue
                since = min(e.since, parse_utc(found[0]["started_at"]).timestamp()) if found else e.since
                entries.append({"position": pos, "uniqueid": e.uniqueid, "since": since,
                                "call": found[0] if found else None,
                                "caller": self.caller_text(found[0]) if found else (e.caller_name or e.number
                                                                                   or _("unknown caller"))})
            members = []
            for m in sorted(q.members.values(), key=lambda m: (m.extension or "", m.name)):
                person = self.people.by_extension(m.extension) if m.extension else None
                members.append({"interface": m.interface, "name": person["name"] if person else m.name,
                                "person_id": person["id"] if person else None, "extension": m.extension,
                                "paused": m.paused, "reason": m.reason, "in_call": m.in_call,
                                "state": live.extension_state(m.extension or "") or "unavailable"})
            out.append({"name": q.name, "entries": entries, "members": members, "completed": q.completed,
                        "abandoned": q.abandoned})
        return out

    def pause_member(self, queue_name: str, interface: str, paused: bool, reason: str = "") -> None:
        """Pause (or unpause) a queue member: the queue stops (or starts again) ringing them."""
        self.require(HANDLE)
        reason = clean_text(reason, "reason", limit=MAX_NOTE)
        if not self.backend.live:
            raise ValidationError(_("queues are the PBX's: this switchboard has none (pbx: manual)"), field="queue")
        self.backend.queue_pause(queue_name, interface, paused, reason)

    # ------------------------------------------------------------------ extensions (HR events)
    def assign_extension(self, person_id: int, *, event_id: int | None = None) -> str | None:
        """Give a newly hired person a free extension of ``extension_range``
        (keeps one they already have); publishes ``telephony.extension_assigned``.
        Idempotent: a second delivery finds the assignment and does nothing."""
        with self.ctx.transaction():
            if self.assignments.find({"person_id": person_id, "released_at": None}, limit=1):
                return None
            # a reaction to HR's event: core grants the directory's read permission there
            people = self.ctx.read_table("core.people")
            person = people.get(person_id)
            if person is None:
                raise UnknownRecord(_("no person with id {id}").format(id=person_id))
            if person.get("status") == "left":
                return None
            ext = person.get("extension")
            if not ext:
                low, high = parse_range(self.ctx.settings.get("extension_range") or "100-199")
                width = len(str(low))
                taken = {p.get("extension") for p in people.find({"status": Not("left")})}
                free = [str(n).zfill(width) for n in range(low, high + 1) if str(n).zfill(width) not in taken]
                if not free:
                    raise ValidationError(_("no free extension left in {range}").format(
                        range=self.ctx.settings.get("extension_range")), field="extension_range")
                ext = free[0]
                self.people.update_person(person_id, extension=ext)
            self.assignments.insert({"person_id": person_id, "extension": ext, "assigned_at": now_utc(),
                                     "released_at": None, "event_id": event_id})
            self.ctx.publish("extension_assigned", {"person_id": person_id, "extension": ext})
        return ext

    def release_extension(self, person_id: int, *, event_id: int | None = None) -> str | None:
        """Free a leaver's extension; publishes ``telephony.extension_released``."""
        with self.ctx.transaction():
            person = self.ctx.read_table("core.people").get(person_id)
            if person is None:
                raise UnknownRecord(_("no person with id {id}").format(id=person_id))
            open_ = self.assignments.find({"person_id": person_id, "released_at": None})
            ext = person.get("extension") or (open_[0]["extension"] if open_ else None)
            if not ext or (not person.get("extension") and not open_):
                return None
            released_before = self.assignments.find({"person_id": person_id, "extension": ext,
                                                     "released_at": Not(None)}, limit=1)
            if released_before and not person.get("extension"):
                return None
            if person.get("extension"):
                self.people.update_person(person_id, extension=None)
            now = now_utc()
            for doc in open_:
                self.assignments.update(doc["id"], {"released_at": now})
            if not open_:
                self.assignments.insert({"person_id": person_id, "extension": ext, "assigned_at": None,
                                         "released_at": now, "event_id": event_id})
            presence = self._presence_doc(person_id)
            if presence is not None:
                self.presence.delete(presence["id"])
            self.ctx.publish("extension_released", {"person_id": person_id, "extension": ext})
        return ext

    # ------------------------------------------------------------------ phone list
    def export_csv(self, fh: IO[str]) -> int:
        """The phone list: people with an extension, then external contacts.

        Text a spreadsheet would take for a formula (``+49 30 …`` too) gets a
        leading apostrophe (:mod:`core.csvsafe`); :meth:`import_csv` removes it."""
        self.require(READ)
        writer = csvsafe.writer(fh, lineterminator="\n")
        writer.writerow(PHONE_LIST_COLUMNS)
        n = 0
        for row in self._phone_list():
            writer.writerow([row.get(c) or "" for c in PHONE_LIST_COLUMNS])
            n += 1
        return n

    def _phone_list(self) -> list[dict]:
        rows = []
        for p in self.people.find("", status=("active", "on_leave")):
            if p.get("extension"):
                rows.append({"name": p["name"], "extension": p["extension"], "department": p.get("department"),
                             "email": p.get("email")})
        for c in self.contacts.find(order_by="name"):
            rows.append({"name": c.get("name"), "company": c.get("company"), "number": c.get("number")})
        return rows

    def export_vcard(self, fh: IO[str]) -> int:
        self.require(READ)
        site = self.ctx.config.site.name
        n = 0
        for row in self._phone_list():
            lines = ["BEGIN:VCARD", "VERSION:3.0", "FN:" + _vescape(row["name"] or "")]
            if row.get("extension"):
                org = site + (";" + _vescape(row["department"]) if row.get("department") else "")
                lines += ["ORG:" + org.replace(",", "\\,"), "TEL;TYPE=WORK,VOICE:" + row["extension"],
                          "X-BACKDESK-EXTENSION:" + row["extension"]]
                if row.get("email"):
                    lines.append("EMAIL;TYPE=WORK:" + row["email"])
            else:
                if row.get("company"):
                    lines.append("ORG:" + _vescape(row["company"]))
                if row.get("number"):
                    lines.append("TEL;TYPE=WORK,VOICE:" + row["number"])
            lines.append("END:VCARD")
            fh.write("\r\n".join(lines) + "\r\n")
            n += 1
        return n

    def import_csv(self, fh: IO[str]) -> dict:
        """Import a phone list (columns as exported; ``name`` and an
        ``extension`` or a ``number`` per row): all rows or none. One leading
        apostrophe :meth:`export_csv` put before ``= + - @``, a tab or a
        carriage return is removed (:func:`core.csvsafe.unescape_cell`)."""
        try:
            reader = csvsafe.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in ("name",) if c not in header]
            if missing or not ({"extension", "number"} & set(header)):
                raise ValidationError(_("the first line must name the columns: name and extension or number "
                                        "(known: {known})").format(known=", ".join(PHONE_LIST_COLUMNS)),
                                      field="file")
            rows = [(reader.line_num, row) for row in reader]
        except csv.Error as exc:
            raise ValidationError(_("not a CSV file: {error}").format(error=exc), field="file") from None
        except UnicodeDecodeError:
            raise ValidationError(_("not a UTF-8 text file"), field="file") from None
        return self._import_rows(rows)

    def import_vcard(self, fh: IO[str]) -> dict:
        """Import vCards (3.0/4.0: FN, ORG, TEL, EMAIL, X-BACKDESK-EXTENSION)."""
        try:
            text = fh.read()
        except UnicodeDecodeError:
            raise ValidationError(_("not a UTF-8 text file"), field="file") from None
        return self._import_rows(_parse_vcards(text))

    def _import_rows(self, rows: list[tuple[int, dict]]) -> dict:
        self.require(EXTENSIONS)
        if len(rows) > 100_000:
            raise ValidationError(_("too many rows (at most 100000)"), field="file")
        updated = created = unchanged = 0
        with self.ctx.transaction():
            for line, row in rows:
                try:
                    updated, created, unchanged = self._import_row(row, updated, created, unchanged)
                except PermissionDenied:
                    raise
                except BackdeskError as exc:
                    field = f" ({exc.field})" if exc.field else ""
                    raise ValidationError(_("line {line}{field}: {message}").format(
                        line=line, field=field, message=exc.message), field="file") from None
        return {"updated": updated, "created": created, "unchanged": unchanged}

    def _import_row(self, row: dict, updated: int, created: int, unchanged: int) -> tuple[int, int, int]:
        def get(key: str) -> str:
            value = row.get(key)
            return value.strip() if isinstance(value, str) else ""

        name = clean_text(get("name"), "name", limit=MAX_NAME, required=True)
        ext, number, email = get("extension"), get("number"), get("email")
        if ext:
            if not is_extension(ext):
                raise ValidationError(_("{ext!r} is not an extension (2 to 6 digits)").format(ext=ext),
                                      field="extension")
            person = None
            if email:
                person = self.people.by_email(email)
            if person is None:
                matches = [p for p in self.people.find(name, status=("active", "on_leave"))
                           if p["name"].casefold() == name.casefold()]
                if len(matches) > 1:
                    raise ValidationError(_("several people are named {name!r}; give their email").format(
                        name=name), field="name")
                person = matches[0] if matches else None
            if person is None:
                raise ValidationError(_("nobody named {name!r} in the directory").format(name=name), field="name")
            if person.get("extension") == ext:
                return updated, created, unchanged + 1
            self.people.update_person(person["id"], extension=ext)
            return updated + 1, created, unchanged
        if not number:
            raise ValidationError(_("give an extension or a number"), field="number")
        number = normalize_number(number, "number")
        company = clean_text(get("company"), "company", limit=MAX_NAME) or None
        found = self.contacts.find({"number": number}, limit=1)
        if found:
            if found[0].get("name") == name and found[0].get("company") == company:
                return updated, created, unchanged + 1
            self.contacts.update(found[0]["id"], {"name": name, "company": company})
            return updated + 1, created, unchanged
        self.contacts.insert({"name": name, "company": company, "number": number, "last_call_at": None})
        return updated, created + 1, unchanged


def _weekdays_text(days: Iterable[int]) -> str:
    """ISO weekdays as the site's language abbreviates them, runs joined: ``Mon–Fri``."""
    from core.i18n import get_locale

    names = get_locale().days["format"]["abbreviated"]  # 0 = Monday
    wanted = sorted({int(d) for d in days if 1 <= int(d) <= 7})
    runs: list[list[int]] = []
    for d in wanted:
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        first, last = names[run[0] - 1], names[run[-1] - 1]
        parts.append(first if len(run) == 1 else f"{first}, {last}" if len(run) == 2 else f"{first}–{last}")
    return ", ".join(parts)


def _effective(doc: dict | None) -> str:
    if not doc:
        return "idle"
    return doc.get("set_state") or doc.get("pbx_state") or "idle"


#: the fields of a message the Messages screen and the card show
MESSAGE_FIELDS = ("for_person_id", "caller_person_id", "contact_id", "caller_name", "caller_number", "company",
                  "urgency", "status", "text", "taken_at")


def _message_parts(where: dict) -> list[dict]:
    """``where``'s messages as the Messages screen orders them: the open
    callbacks, then the others (one part when ``where`` holds one status)."""
    if "status" in where:
        return [where]
    return [{**where, "status": "open"}, {**where, "status": Not("open")}]


def contact_text(contact: dict) -> str:
    """A contact as a caller is shown: name (or number) and company."""
    text = contact.get("name") or contact.get("number") or ""
    if contact.get("company"):
        text += f" ({contact['company']})"
    return text


class Names:
    """A Telephony's caller and person names, each looked up once: a list
    of thousands of calls names a few dozen people (on PostgreSQL each
    lookup is a query).  Has what ``chain_text`` asks of a service.
    :meth:`prefetch` reads a page's people and contacts in two reads."""

    def __init__(self, service: "Telephony") -> None:
        self.service = service
        self._people: dict[int | None, str] = {}
        self._callers: dict[tuple, str] = {}

    def prefetch(self, calls: Iterable[dict]) -> None:
        """Look up the names ``calls`` show (callers, the chains' people;
        for messages also whom they are for) not known yet: the people's in one read, the contacts' in another —
        on PostgreSQL a page of 100 calls asked ~180 queries, one a name."""
        calls = list(calls)
        people = {p for c in calls for p in (c.get("caller_person_id"), c.get("for_person_id"),
                                              *(link.get("person_id") for link in c.get("chain") or ()))
                  if type(p) is int and p not in self._people}
        if people:
            names = self.service.people.names_of(people)
            for p in people:
                self._people[p] = names.get(p, f"#{p}")
        callers = {}
        for c in calls:
            key = (c.get("caller_person_id"), c.get("contact_id"), c.get("caller_name"), c.get("caller_number"))
            if key not in self._callers and not key[0] and key[1]:
                callers[key] = key[1]
        if callers:
            ids = sorted({i for i in callers.values() if type(i) is int})
            found = {d["id"]: d for d in self.service.contacts.find({"id": AnyOf(ids)})} if ids else {}
            for key, contact_id in callers.items():
                contact = found.get(contact_id)
                if contact is not None:
                    self._callers[key] = contact_text(contact)

    def person_text(self, person_id: int | None) -> str:
        if person_id not in self._people:
            self._people[person_id] = self.service.person_text(person_id)
        return self._people[person_id]

    def message_caller(self, doc: dict) -> str:
        """:meth:`Telephony.message_caller` with the names known (a message
        is prefetched as a call is: its caller, and whom it is for)."""
        key = (doc.get("caller_person_id"), doc.get("contact_id"), doc.get("caller_name"), doc.get("caller_number"))
        if key[0] and type(key[0]) is int:
            return self.person_text(key[0])
        if key[1] and key in self._callers:  # the contact, read by prefetch
            return self._callers[key]
        return self.service.message_caller(doc)

    def caller_text(self, call: dict) -> str:
        # Telephony.caller_text reads these fields only
        key = (call.get("caller_person_id"), call.get("contact_id"), call.get("caller_name"),
               call.get("caller_number"))
        if key not in self._callers:
            self._callers[key] = (self.person_text(key[0]) if key[0] and type(key[0]) is int
                                  else self.service.caller_text(call))
        return self._callers[key]


def _history_key(call: dict) -> tuple:
    return (call["started_at"], call["id"])


class CallPages:
    """The calls of a History view (``where``), newest first, a page at a
    time: from an offset, or after the last call shown (a keyset page on
    started_at and id: :meth:`Telephony.history_page`)."""

    def __init__(self, service: "Telephony", where: dict) -> None:
        self.service, self.where = service, where

    def count(self) -> int:
        return self.service.history_count(self.where)

    def page(self, offset: int, limit: int, *, after: tuple[str, int] | None = None) -> list[dict]:
        return self.service.history_page(self.where, limit, offset=offset, after=after)


#: what finds a call by a name (:meth:`Telephony.history_matching`)
_ROLES = ("caller_person_id", "wanted_person_id", "to_person_id", "consult_person_id")
_FOUND_BY = (*_ROLES, "contact_id", "caller_name", "caller_number")


class CallMatches:
    """The History's ``/`` for a text: the calls of the view's newest 5,000
    whose caller or a person of the call has a name containing the text, or
    whose caller's stored name or number does (the test of
    :meth:`Telephony.history_matching`'s queries), kept newest first as
    their started_at, id and the fields a name is looked for in. The first
    letter reads those fields of the 5,000 once (:meth:`Telephony.
    history_window`, or ``window`` when the screen has it already) and tests
    them here: one query, not one per kind of match, never the whole calls.
    One more letter (a text that extends ``previous``'s) narrows the
    previous matches. A page reads its calls by id."""

    def __init__(self, service: "Telephony", where: dict, text: str, *, since: str | None = None,
                 previous: "CallMatches | None" = None, window: list[dict] | None = None) -> None:
        self.service = service
        self.text = text.casefold().strip()
        if previous is not None and previous.text and self.text.startswith(previous.text):
            rows = previous.rows
        else:
            rows = window if window is not None else service.history_window(where, since=since)
        if self.text:
            people, contacts = service._history_names(self.text)
            rows = [r for r in rows if _found(r, self.text, people, contacts)]
        self.rows = list(rows)

    def count(self) -> int:
        return len(self.rows)

    def ids(self, offset: int, limit: int) -> list:
        """The ids of the matches from ``offset`` on, newest first."""
        return [r["id"] for r in self.rows[offset:offset + limit]]

    def page(self, offset: int, limit: int, *, after: tuple[str, int] | None = None) -> list[dict]:
        ids = self.ids(offset, limit)
        found = {c["id"]: c for c in self.service.calls_of(ids)}
        return [found[i] for i in ids if i in found]


def _found(row: dict, folded: str, people: set, contacts: set) -> bool:
    """:meth:`Telephony.history_matching`'s test, on a row of :class:`CallMatches`."""
    return (any(row.get(r) in people for r in _ROLES) or row.get("contact_id") in contacts
            or folded in (row.get("caller_name") or "").casefold()
            or folded in (row.get("caller_number") or "").casefold())


def _people_of(call: dict) -> set:
    ids = {call.get("caller_person_id"), call.get("wanted_person_id"), call.get("to_person_id"),
           call.get("consult_person_id")}
    for t in call.get("transfers") or ():
        ids.add(t.get("to_person_id"))
        ids.add(t.get("from_person_id"))
    ids.discard(None)
    return ids


def _vescape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _vunescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _parse_vcards(text: str) -> list[tuple[int, dict]]:
    """vCards → rows like the CSV's, with the line each card starts on."""
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(raw_lines, start=1):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + line[1:])  # folded line
        elif line.strip():
            lines.append((number, line))
    rows: list[tuple[int, dict]] = []
    card: dict | None = None
    start = 0
    for number, line in lines:
        key, sep, value = line.partition(":")
        if not sep:
            raise ValidationError(_("line {line}: not a vCard line").format(line=number), field="file")
        name = key.split(";")[0].upper()
        if "." in name:
            name = name.split(".", 1)[1]
        if name == "BEGIN" and value.strip().upper() == "VCARD":
            card, start = {}, number
            continue
        if card is None:
            raise ValidationError(_("line {line}: outside BEGIN:VCARD … END:VCARD").format(line=number),
                                  field="file")
        if name == "END":
            if card.get("number") and card.get("extension") is None and is_extension(card["number"]):
                card["extension"], card["number"] = card["number"], ""
            rows.append((start, card))
            card = None
        elif name == "FN":
            card["name"] = _vunescape(value)
        elif name == "ORG":
            parts = [_vunescape(p) for p in _split_unescaped(value, ";")]
            card["company"] = parts[0]
            if len(parts) > 1:
                card["department"] = parts[1]
        elif name == "TEL":
            card.setdefault("number", value.strip().removeprefix("tel:"))
        elif name == "EMAIL":
            card["email"] = value.strip()
        elif name == "X-BACKDESK-EXTENSION":
            card["extension"] = value.strip()
            if card.get("number") == value.strip():
                card["number"] = ""
    if card is not None:
        raise ValidationError(_("the last vCard has no END:VCARD"), field="file")
    for _line, card in rows:
        if card.get("extension") and card.get("number") == card["extension"]:
            card["number"] = ""
        if card.get("extension"):
            card.pop("company", None)
    return rows


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if text[i] == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(text[i])
        i += 1
    parts.append("".join(current))
    return parts
