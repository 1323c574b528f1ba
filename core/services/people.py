"""The people directory every plugin refers to: employees and departments.

Plugins refer to people by id (``person_id``) and never copy their data; they
look a person up with ``ctx.services.people.get(person_id)`` when they show
one. Every read needs ``core.directory.read``, every change
``core.directory.edit``; the checks are here, so the CLI, the screens and
other plugins meet the same rules.

A person::

    {"id": 7, "name": "Anna Becker", "department_id": 3,
     "title": "Buchhalterin", "extension": "131",
     "email": "anna.becker@muster-partner.example", "manager_id": 2,
     "status": "active",              # active | on_leave | left
     "start_date": "2019-04-01", "end_date": None,
     "region": "BY"}                  # where they work: public holidays (core.services.workdays)

Search-as-you-type: :meth:`PeopleDirectory.find` matches every word of the
query against one lower-case text per person (name, department, title,
extension, email, status) kept in memory and rebuilt only after the people
or departments tables changed (here or, through ``store.refresh()``, in
another process). See bench/directory.py and docs/performance.md.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date
from typing import IO, Any, Callable, Iterable, Mapping

from core import csvsafe
from core.services.choices import LIMIT, Choice, rank
from core.dates import check_year
from core.errors import UnknownRecord, ValidationError
from core.api.hookspecs import TableSpec
from core.i18n import _
from core.safetext import check_text
from core.storage import AnyOf, Not
from core.records import Record

PEOPLE = "core.people"
DEPARTMENTS = "core.departments"
STATUSES = ("active", "on_leave", "left")
#: the fields a person has besides ``id``
FIELDS = ("name", "department_id", "title", "extension", "email", "manager_id", "status",
          "start_date", "end_date", "region")
#: CSV columns, in export order
CSV_COLUMNS = ("id", "name", "department", "title", "extension", "email", "manager", "status",
               "start_date", "end_date", "region")

_EXTENSION = re.compile(r"^\d{2,6}$")
_REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{0,39}$")
# letters beyond ASCII are allowed (RFC 6531: jürgen@müller.de)
_EMAIL = re.compile(r"^[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(\.[\w-]+)+$")

READ = "core.directory.read"
EDIT = "core.directory.edit"


def status_title(status: str) -> str:
    return {"active": _("active"), "on_leave": _("on leave"), "left": _("left")}.get(status, status)


# --------------------------------------------------------------------------
# Validation, shared by single edits and the CSV import


class _Lookup:
    """What validation needs to know about the rest of the directory."""

    def person(self, key: Any) -> dict | None:
        raise NotImplementedError

    def department(self, dept_id: Any) -> dict | None:
        raise NotImplementedError

    def extension_owners(self, extension: str) -> set:
        """Keys of people not ``left`` holding ``extension``."""
        raise NotImplementedError

    def email_owners(self, email: str) -> set:
        """Keys of people not ``left`` with ``email`` (case-insensitive)."""
        raise NotImplementedError


class _TableLookup(_Lookup):
    """Looks things up in the store (single edits, inside their transaction)."""

    def __init__(self, people, departments) -> None:
        self.people, self.departments = people, departments

    def person(self, key):
        return self.people.get(key) if isinstance(key, int) else None

    def department(self, dept_id):
        return self.departments.get(dept_id) if isinstance(dept_id, int) else None

    def extension_owners(self, extension):
        return {d["id"] for d in self.people.find({"extension": extension, "status": Not("left")})}

    def email_owners(self, email):
        low = email.lower()
        return {d["id"] for d in self.people.find({"status": Not("left")})
                if (d.get("email") or "").lower() == low}


class _MemoryLookup(_Lookup):
    """The whole directory in memory, with the rows of an import applied."""

    def __init__(self, people: dict, departments: dict) -> None:
        self.people = people  # key -> doc (existing ids and ("new", n) keys)
        self.departments = departments
        self.ext: dict[str, set] = {}
        self.mail: dict[str, set] = {}
        # a row of the file clashes only with what stands before it, so the
        # error names the later of two clashing lines
        self.position: dict[Any, int] = {}
        self.current = 1 << 60
        for key, doc in people.items():
            self._index(key, doc)

    def _index(self, key, doc) -> None:
        if doc.get("status") == "left":
            return
        if doc.get("extension"):
            self.ext.setdefault(doc["extension"], set()).add(key)
        if doc.get("email"):
            self.mail.setdefault(doc["email"].lower(), set()).add(key)

    def put(self, key, doc) -> None:
        old = self.people.get(key)
        if old is not None:
            for index, value in ((self.ext, old.get("extension")),
                                 (self.mail, (old.get("email") or "").lower())):
                if value and key in index.get(value, ()):
                    index[value].discard(key)
        self.people[key] = doc
        self._index(key, doc)

    def person(self, key):
        return self.people.get(key)

    def department(self, dept_id):
        return self.departments.get(dept_id)

    def _before(self, keys) -> set:
        return {k for k in keys if self.position.get(k, -1) < self.current}

    def extension_owners(self, extension):
        return self._before(self.ext.get(extension, ()))

    def email_owners(self, email):
        return self._before(self.mail.get(email.lower(), ()))


def _text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(_("expected text"), field=field)
    value = check_text(str(value).strip(), field)
    return value or None


def _int_or_none(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(_("expected a number"), field=field)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValidationError(_("expected a number, got {value!r}").format(value=value), field=field)


def _iso_date(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError(_("{value!r} is not a date as YYYY-MM-DD").format(value=value),
                              field=field) from None
    return check_year(day, field).isoformat()


def normalize(data: Mapping[str, Any]) -> dict:
    """Clean the fields of a person (strip, types); raises ValidationError."""
    unknown = [k for k in data if k not in FIELDS and k != "id"]
    if unknown:
        raise ValidationError(_("unknown field (known: {known})").format(known=", ".join(FIELDS)),
                              field=unknown[0])
    out: dict[str, Any] = {}
    for key in FIELDS:
        if key not in data:
            continue
        value = data[key]
        if key in ("department_id", "manager_id"):
            out[key] = _int_or_none(value, key)
        elif key in ("start_date", "end_date"):
            out[key] = _iso_date(_text(value, key), key)
        elif key == "email":
            text = _text(value, key)
            out[key] = text.lower() if text else None
        elif key == "region":
            text = _text(value, key)
            if text is not None and not _REGION.match(text):
                raise ValidationError(_("{value!r} is not a region code like BY or BE").format(value=text),
                                      field=key)
            out[key] = text.upper() if text and len(text) <= 3 else text
        else:
            out[key] = _text(value, key)
    return out


def check_person(doc: dict, key: Any, lookup: _Lookup, *, old: dict | None = None) -> None:
    """Raise ValidationError (with ``field``) when ``doc`` breaks a rule.

    ``key`` is the person's id (None for a new person); ``old`` the stored
    version before the change, so rules about a changed value (a manager who
    left) apply only when the value changes.
    """
    name = doc.get("name")
    if not name:
        raise ValidationError(_("a name is required"), field="name")
    if len(name) > 200:
        raise ValidationError(_("at most 200 characters"), field="name")
    status = doc.get("status") or "active"
    if status not in STATUSES:
        raise ValidationError(_("{value!r} is not one of: {choices}").format(
            value=status, choices=", ".join(STATUSES)), field="status")
    dept = doc.get("department_id")
    if dept is None:
        raise ValidationError(_("a department is required"), field="department_id")
    if lookup.department(dept) is None:
        raise ValidationError(_("no department with id {id}").format(id=dept), field="department_id")
    ext = doc.get("extension")
    if ext is not None:
        if not _EXTENSION.match(ext):
            raise ValidationError(_("{value!r} is not an extension (2 to 6 digits)").format(value=ext),
                                  field="extension")
        if status != "left":
            others = lookup.extension_owners(ext) - {key}
            if others:
                holder = lookup.person(sorted(others, key=str)[0]) or {}
                raise ValidationError(_("extension {ext} already belongs to {name}").format(
                    ext=ext, name=holder.get("name", "?")), field="extension")
    email = doc.get("email")
    if email is not None:
        if not _EMAIL.match(email):
            raise ValidationError(_("{value!r} is not an email address").format(value=email), field="email")
        if status != "left":
            others = lookup.email_owners(email) - {key}
            if others:
                holder = lookup.person(sorted(others, key=str)[0]) or {}
                raise ValidationError(_("{email} already belongs to {name}").format(
                    email=email, name=holder.get("name", "?")), field="email")
    manager = doc.get("manager_id")
    if manager is not None:
        if key is not None and manager == key:
            raise ValidationError(_("a person cannot be their own manager"), field="manager_id")
        boss = lookup.person(manager)
        if boss is None:
            raise ValidationError(_("no person with id {id}").format(id=manager), field="manager_id")
        if boss.get("status") == "left" and (old is None or old.get("manager_id") != manager):
            raise ValidationError(_("{name} has left the company").format(name=boss.get("name")),
                                  field="manager_id")
        seen = {key}
        step = boss
        for _i in range(10_000):
            up = step.get("manager_id")
            if up is None:
                break
            if up in seen:
                raise ValidationError(_("this manager would make a circle of managers"),
                                      field="manager_id")
            seen.add(up)
            step = lookup.person(up)
            if step is None:
                break
    start, end = doc.get("start_date"), doc.get("end_date")
    if start and end and end < start:
        raise ValidationError(_("the end date lies before the start date ({start})").format(start=start),
                              field="end_date")


# --------------------------------------------------------------------------
# The search index


@dataclass(frozen=True, repr=False, eq=False)
class _Entry(Record):
    text: str  # lower-case haystack
    name_key: str  # casefolded name, for order
    doc: dict


class _SearchIndex:
    """One lower-case text per person, rebuilt when the tables changed."""

    def __init__(self) -> None:
        self.entries: list[_Entry] | None = None
        self.by_id: dict[int, dict] = {}
        #: (entries, query, hits) of the last search, to narrow the next one
        self.last: tuple | None = None
        self.lock = threading.Lock()

    def invalidate(self) -> None:
        self.entries = None

    def build(self, people: Iterable[dict], departments: Mapping[int, dict]) -> list[_Entry]:
        entries = []
        by_id = {}
        for doc in people:
            dept = departments.get(doc.get("department_id"), {}).get("name", "")
            parts = (doc.get("name"), dept, doc.get("title"), doc.get("extension"), doc.get("email"),
                     status_title(doc.get("status") or "active"), doc.get("status"))
            text = " ".join(str(p) for p in parts if p).casefold()
            doc = dict(doc, department=dept)
            entries.append(_Entry(text, (doc.get("name") or "").casefold(), doc))
            by_id[doc["id"]] = doc
        entries.sort(key=lambda e: (e.name_key, e.doc["id"]))
        self.by_id = by_id
        self.entries = entries
        return entries


# --------------------------------------------------------------------------
# The service


class PeopleDirectory:
    """``services.people``: employees and departments."""

    TABLES = (TableSpec("people", version=1, read=READ), TableSpec("departments", version=1, read=READ))

    def __init__(self, backdesk) -> None:
        self.backdesk = backdesk
        self.store = backdesk.store
        self.people = backdesk.table(PEOPLE)
        self.departments_table = backdesk.table(DEPARTMENTS)
        self._index = _SearchIndex()
        self.store.on_change(self._tables_changed)

    # -- helpers ------------------------------------------------------------------
    @property
    def operator(self):
        return self.backdesk.operator

    def _tables_changed(self, names) -> None:
        if PEOPLE in names or DEPARTMENTS in names:
            self._index.invalidate()

    def _publish(self, name: str, data: dict) -> None:
        events = getattr(self.backdesk.services, "events", None)
        if events is not None:
            events.publish(name, data)

    def _entries(self) -> list[_Entry]:
        entries = self._index.entries
        if entries is None:
            with self._index.lock:
                entries = self._index.entries
                if entries is None:
                    depts = {d["id"]: d for d in self.departments_table.all()}
                    entries = self._index.build(self.people.all(), depts)
        return entries

    # -- reading ------------------------------------------------------------------
    def get(self, person_id: int) -> dict | None:
        """The person with ``person_id`` (with ``department`` as a name), or None."""
        self.operator.require(READ, _("look people up"))
        doc = self.people.get(person_id)
        if doc is not None:
            dept = self.departments_table.get(doc.get("department_id")) if doc.get("department_id") else None
            doc["department"] = dept["name"] if dept else ""
        return doc

    def __getitem__(self, person_id: int) -> dict:
        doc = self.get(person_id)
        if doc is None:
            raise UnknownRecord(_("no person with id {id}").format(id=person_id))
        return doc

    def name_of(self, person_id: int | None, default: str = "") -> str:
        """The person's name for display (``default`` when unknown)."""
        if person_id is None:
            return default
        doc = self.get(person_id)
        return doc["name"] if doc else default

    def names_of(self, person_ids: Iterable[Any]) -> dict[int, str]:
        """The names of these people by id, in one read (a list of tickets
        names dozens of people: on PostgreSQL each :meth:`name_of` is two
        queries); people not found are left out."""
        self.operator.require(READ, _("look people up"))
        ids = sorted({i for i in person_ids if type(i) is int})
        if not ids:
            return {}
        return {d["id"]: d["name"] for d in self.people.find({"id": AnyOf(ids)}, fields=["name"])}

    def display_name(self, person_id: Any, default: str | None = "", *,
                     allowed_by: Iterable[str] = ()) -> str | None:
        """The name of the person a record refers to, to show next to that
        record (``default`` when there is no such person).

        Needs ``core.directory.read`` or one of ``allowed_by``: a plugin
        passes its own permissions (``ctx.person_name``), so an operator who
        may see its records sees whom they are for without reading the
        directory. Nothing but the name is given out."""
        if not self.operator.can(READ) and not any(self.operator.can(p) for p in allowed_by):
            self.operator.require(READ, _("see whom a record is for"))
        if person_id is None or isinstance(person_id, bool):
            return default
        try:
            key = int(person_id)
        except (TypeError, ValueError):
            return default
        doc = self.people.get(key)
        return doc["name"] if doc else default

    def find(self, text: str = "", *, status: str | Iterable[str] | None = None,
             department_id: int | None = None, limit: int | None = None) -> list[dict]:
        """People whose name, department, title, extension, email or status
        contain every word of ``text`` (case-insensitive), ordered by name.

        Each result carries ``department`` (the name). Fast enough to run on
        every key press with thousands of people.
        """
        self.operator.require(READ, _("look people up"))
        wanted = {status} if isinstance(status, str) else set(status) if status else None
        out = []
        for entry in self._matching(text):
            doc = entry.doc
            if wanted is not None and doc.get("status") not in wanted:
                continue
            if department_id is not None and doc.get("department_id") != department_id:
                continue
            out.append(dict(doc))
            if limit is not None and len(out) >= limit:
                break
        return out

    def _matching(self, text: str) -> list[_Entry]:
        """Entries containing every word of ``text``.

        Typing narrows: when the query extends the previous one, only the
        previous hits are scanned (every hit of "anna be" is a hit of
        "anna b")."""
        entries = self._entries()
        query = text.casefold().lstrip()
        words = query.split()
        if not words:
            return entries
        pool = entries
        last = self._index.last
        if last is not None and last[0] is entries and query.startswith(last[1]):
            pool = last[2]
        # the longest word first: it usually rules out the most
        words.sort(key=len, reverse=True)
        first = words[0]
        found = [e for e in pool if first in e.text]
        for word in words[1:]:
            found = [e for e in found if word in e.text]
        self._index.last = (entries, query, found)
        return found

    def choices(self, text: str, *, status: str | Iterable[str] | None = ("active", "on_leave"),
                limit: int = LIMIT) -> list[Choice]:
        """People for a picker: ``text`` ranked against their names (the
        name itself first, then names starting with it, word starts, parts),
        then against their department, title, extension and e-mail. Each
        choice's value is the person's id, its detail their department and
        extension. People who left are not offered unless ``status`` says so."""
        self.operator.require(READ, _("look people up"))
        wanted = {status} if isinstance(status, str) else set(status) if status else None
        entries = [e for e in self._entries() if wanted is None or (e.doc.get("status") or "active") in wanted]
        found = rank(text, entries, lambda e: e.doc.get("name") or "", lambda e: e.text, limit=limit)
        return [Choice(e.doc["id"], e.doc.get("name") or "", _person_detail(e.doc)) for e in found]

    def choice(self, person_id: Any) -> Choice | None:
        """The person ``person_id`` (an int, ``"7"`` or ``"#7"``) as a picker's
        initial choice, or None when there is no such person."""
        if isinstance(person_id, str) and person_id.strip().lstrip("#").isdigit():
            person_id = int(person_id.strip().lstrip("#"))
        if not isinstance(person_id, int) or isinstance(person_id, bool):
            return None
        doc = self.get(person_id)
        return Choice(doc["id"], doc.get("name") or "", _person_detail(doc)) if doc else None

    def all(self) -> list[dict]:
        """Every person, ordered by name."""
        return self.find("")

    def counts(self) -> dict[str, int]:
        """How many people have each status (from the search cache: cheap)."""
        self.operator.require(READ, _("look people up"))
        out = {s: 0 for s in STATUSES}
        for entry in self._entries():
            status = entry.doc.get("status") or "active"
            out[status] = out.get(status, 0) + 1
        return out

    def count(self, status: str | None = None) -> int:
        self.operator.require(READ, _("look people up"))
        return self.people.count({"status": status} if status else None)

    def by_extension(self, extension: str) -> dict | None:
        """The person (not left) who has ``extension``, or None."""
        self.operator.require(READ, _("look people up"))
        found = self.people.find({"extension": str(extension).strip(), "status": Not("left")}, limit=1)
        return self.get(found[0]["id"]) if found else None

    def by_email(self, email: str) -> dict | None:
        self.operator.require(READ, _("look people up"))
        low = email.strip().lower()
        for doc in self.people.find({"email": low}, order_by=["status", "id"]):
            return self.get(doc["id"])
        return None

    def reports(self, person_id: int) -> list[dict]:
        """People whose manager is ``person_id`` (not left)."""
        self.operator.require(READ, _("look people up"))
        return self.people.find({"manager_id": person_id, "status": Not("left")}, order_by="name")

    def person_of(self, operator) -> dict | None:
        """The directory record of an operator (``person_id`` in config, else by email)."""
        if getattr(operator, "person_id", None):
            return self.get(operator.person_id)
        if getattr(operator, "email", None):
            return self.by_email(operator.email)
        return None

    # -- departments -----------------------------------------------------------------
    def departments(self) -> list[dict]:
        """Every department, ordered by name, with ``people`` (how many are not left)."""
        self.operator.require(READ, _("look people up"))
        counts: dict[int, int] = {}
        for entry in self._entries():
            if entry.doc.get("status") != "left":
                dept = entry.doc.get("department_id")
                counts[dept] = counts.get(dept, 0) + 1
        out = self.departments_table.find(order_by="name")
        for d in out:
            d["people"] = counts.get(d["id"], 0)
        return out

    def department_by_name(self, name: str) -> dict | None:
        self.operator.require(READ, _("look people up"))
        low = name.strip().casefold()
        for d in self.departments_table.all():
            if d["name"].casefold() == low:
                return d
        return None

    def _check_department(self, name: Any, dept_id: int | None, head_id: Any) -> tuple[str, int | None]:
        name = _text(name, "name")
        if not name:
            raise ValidationError(_("a name is required"), field="name")
        for d in self.departments_table.all():
            if d["name"].casefold() == name.casefold() and d["id"] != dept_id:
                raise ValidationError(_("a department named {name!r} exists already").format(name=d["name"]),
                                      field="name")
        head = _int_or_none(head_id, "head_id")
        if head is not None and self.people.get(head) is None:
            raise ValidationError(_("no person with id {id}").format(id=head), field="head_id")
        return name, head

    def add_department(self, name: str, *, head_id: int | None = None) -> int:
        self.operator.require(EDIT, _("change the directory"))
        with self.store.transaction():
            name, head = self._check_department(name, None, head_id)
            dept_id = self.departments_table.insert({"name": name, "head_id": head})
        self._index.invalidate()
        return dept_id

    def update_department(self, dept_id: int, **changes: Any) -> dict:
        self.operator.require(EDIT, _("change the directory"))
        unknown = [k for k in changes if k not in ("name", "head_id")]
        if unknown:
            raise ValidationError(_("unknown field (known: name, head_id)"), field=unknown[0])
        with self.store.transaction():
            old = self.departments_table.get(dept_id)
            if old is None:
                raise UnknownRecord(_("no department with id {id}").format(id=dept_id))
            merged = dict(old, **changes)
            name, head = self._check_department(merged.get("name"), dept_id, merged.get("head_id"))
            doc = self.departments_table.update(dept_id, {"name": name, "head_id": head})
        self._index.invalidate()
        return doc

    def delete_department(self, dept_id: int) -> None:
        """Remove an empty department (nobody, not even people who left, in it)."""
        self.operator.require(EDIT, _("change the directory"))
        with self.store.transaction():
            if self.departments_table.get(dept_id) is None:
                raise UnknownRecord(_("no department with id {id}").format(id=dept_id))
            members = self.people.count({"department_id": dept_id})
            if members:
                raise ValidationError(_("{n} people belong to this department; move them first").format(
                    n=members), field="department_id")
            self.departments_table.delete(dept_id)
        self._index.invalidate()

    # -- changing people -------------------------------------------------------------
    def _lookup(self) -> _TableLookup:
        return _TableLookup(self.people, self.departments_table)

    def add_person(self, data: Mapping[str, Any] | None = None, **fields: Any) -> int:
        """Add a person; returns the id. Raises ValidationError naming the field."""
        self.operator.require(EDIT, _("change the directory"))
        doc = {k: None for k in FIELDS}
        doc["status"] = "active"
        given = normalize({**(data or {}), **fields})
        given.pop("id", None)
        doc.update({k: v for k, v in given.items() if v is not None or k not in ("status",)})
        doc["status"] = doc.get("status") or "active"
        with self.store.transaction():
            check_person(doc, None, self._lookup())
            person_id = self.people.insert(doc)
            self._publish("core.person_added", {"person_id": person_id})
        self._index.invalidate()
        return person_id

    def update_person(self, person_id: int, data: Mapping[str, Any] | None = None, **fields: Any) -> dict:
        """Change some fields of a person; returns the new record."""
        self.operator.require(EDIT, _("change the directory"))
        changes = normalize({**(data or {}), **fields})
        changes.pop("id", None)
        if "status" in changes and changes["status"] is None:
            changes["status"] = "active"
        with self.store.transaction():
            old = self.people.get(person_id)
            if old is None:
                raise UnknownRecord(_("no person with id {id}").format(id=person_id))
            new = dict(old, **changes)
            check_person(new, person_id, self._lookup(), old=old)
            if new == old:
                return old
            doc = self.people.update(person_id, changes)
            changed = sorted(k for k in changes if old.get(k) != changes[k])
            self._publish("core.person_updated", {"person_id": person_id, "fields": changed})
            if old.get("status") != "left" and doc.get("status") == "left":
                self._publish("core.person_left", {"person_id": person_id})
        self._index.invalidate()
        return doc

    def set_status(self, person_id: int, status: str, *, on: str | None = None) -> dict:
        """Mark a person active, on leave or left; ``left`` sets ``end_date``
        to ``on`` (default: today) unless one is set."""
        changes: dict[str, Any] = {"status": status}
        if status == "left":
            old = self.people.get(person_id)
            if old is not None and not old.get("end_date"):
                changes["end_date"] = on or date.today().isoformat()
        elif status == "active":
            old = self.people.get(person_id)
            if old is not None and old.get("status") == "left":
                changes["end_date"] = None
        return self.update_person(person_id, changes)

    # -- CSV -----------------------------------------------------------------------
    def export_csv(self, fh: IO[str]) -> int:
        """Write every person as CSV (columns: :data:`CSV_COLUMNS`); returns the count.

        ``department`` is the department's name, ``manager`` the manager's
        email (their id when they have none), so the file can be imported
        into another Backdesk. Text a spreadsheet would take for a formula
        gets a leading apostrophe (:mod:`core.csvsafe`), which
        :meth:`import_csv` removes again."""
        self.operator.require(READ, _("look people up"))
        depts = {d["id"]: d["name"] for d in self.departments_table.all()}
        people = self.people.all()
        by_id = {p["id"]: p for p in people}
        writer = csvsafe.writer(fh, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for p in people:
            boss = by_id.get(p.get("manager_id"))
            manager = "" if boss is None else (boss.get("email") or str(boss["id"]))
            writer.writerow([p["id"], p.get("name") or "", depts.get(p.get("department_id"), ""),
                             p.get("title") or "", p.get("extension") or "", p.get("email") or "",
                             manager, p.get("status") or "active", p.get("start_date") or "",
                             p.get("end_date") or "", p.get("region") or ""])
        return len(people)

    def import_csv(self, fh: IO[str], *, progress: Callable[[int, int], None] | None = None) -> dict:
        """Add or update people from CSV: all rows or none.

        Columns as :meth:`export_csv` writes them; only ``name`` is required.
        A row with an ``id`` updates that person (empty cells keep nothing:
        columns present in the file replace the stored value); a row without
        one adds a person. ``department`` is a department name; ``manager`` a
        person id, or the email of a person in the directory or in the file.
        Every row is checked before anything is written; the first bad row
        raises ValidationError naming the line and the field.
        One leading apostrophe that :meth:`export_csv` put before a cell
        starting with ``= + - @``, a tab or a carriage return is removed
        (:func:`core.csvsafe.unescape_cell`).
        Returns ``{"created": [ids], "updated": [ids]}``.
        """
        self.operator.require(EDIT, _("change the directory"))
        reader = csvsafe.DictReader(fh)
        header = reader.fieldnames
        if not header:
            raise ValidationError(_("line 1: the file is empty (expected a header row)"), field="name")
        header = [h.strip() for h in header]
        reader.fieldnames = header
        unknown = [h for h in header if h not in CSV_COLUMNS]
        if unknown:
            raise ValidationError(_("line 1: unknown column {name!r} (known: {known})").format(
                name=unknown[0], known=", ".join(CSV_COLUMNS)), field=unknown[0])
        if "name" not in header:
            raise ValidationError(_("line 1: the column 'name' is missing"), field="name")
        rows = []
        for row in reader:
            if None in row:
                raise ValidationError(_("line {line}: more cells than columns").format(line=reader.line_num),
                                      field=header[-1])
            if not any((v or "").strip() for v in row.values()):
                continue
            rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
        with self.store.transaction():
            depts = {d["id"]: d for d in self.departments_table.all()}
            dept_by_name = {d["name"].casefold(): d["id"] for d in depts.values()}
            existing = {p["id"]: p for p in self.people.all()}
            lookup = _MemoryLookup(dict(existing), depts)
            plans = []  # (line, key, doc, old)
            file_emails: dict[str, Any] = {}
            seen_ids: dict[int, int] = {}
            for n, (line, row) in enumerate(rows):
                def fail(message, field, line=line):
                    raise ValidationError(_("line {line}: {message}").format(line=line, message=message),
                                          field=field)
                key: Any = ("new", n)
                old = None
                if row.get("id"):
                    if not row["id"].isdigit():
                        fail(_("{value!r} is not an id").format(value=row["id"]), "id")
                    key = int(row["id"])
                    old = existing.get(key)
                    if old is None:
                        fail(_("no person with id {id}").format(id=key), "id")
                    if key in seen_ids:
                        fail(_("id {id} appears twice (also on line {other})").format(
                            id=key, other=seen_ids[key]), "id")
                    seen_ids[key] = line
                given: dict[str, Any] = {}
                for column in ("name", "title", "extension", "email", "status", "start_date", "end_date",
                               "region"):
                    if column in row:
                        given[column] = row[column]
                if "department" in row:
                    name = row["department"]
                    if not name:
                        fail(_("a department is required"), "department")
                    dept_id = dept_by_name.get(name.casefold())
                    if dept_id is None:
                        fail(_("unknown department {name!r} (known: {known})").format(
                            name=name, known=", ".join(sorted(d["name"] for d in depts.values()))),
                            "department")
                    given["department_id"] = dept_id
                try:
                    clean = normalize(given)
                except ValidationError as exc:
                    fail(exc.message, exc.field)
                if clean.get("status") is None and "status" in clean:
                    clean["status"] = "active" if old is None else old.get("status", "active")
                doc = dict(old) if old else {k: None for k in FIELDS}
                doc.pop("id", None)
                doc.update(clean)
                doc["status"] = doc.get("status") or "active"
                manager_ref = row.get("manager") if "manager" in row else None
                if old is None and "department" not in row:
                    fail(_("a department is required"), "department")
                plans.append((line, key, doc, old, manager_ref))
                if doc.get("email"):
                    if doc["email"] in file_emails:
                        fail(_("{email} appears twice in the file").format(email=doc["email"]), "email")
                    file_emails[doc["email"]] = key
            # managers: an id, or an email from the directory or the file
            for line, key, doc, old, ref in plans:
                if ref is None:
                    continue
                if ref == "":
                    doc["manager_id"] = None
                elif ref.isdigit():
                    doc["manager_id"] = int(ref)
                else:
                    target = file_emails.get(ref.lower())
                    if target is None:
                        owners = lookup.email_owners(ref) or {p["id"] for p in existing.values()
                                                              if (p.get("email") or "") == ref.lower()}
                        target = min(owners) if owners else None
                    if target is None:
                        raise ValidationError(_("line {line}: no person with the email {email!r}").format(
                            line=line, email=ref), field="manager")
                    doc["manager_id"] = target
            for n, (line, key, doc, old, ref) in enumerate(plans):
                lookup.put(key, doc)
                lookup.position[key] = n
            for n, (line, key, doc, old, ref) in enumerate(plans):
                lookup.current = n
                try:
                    check_person(doc, key, lookup, old=old)
                except ValidationError as exc:
                    field = {"department_id": "department", "manager_id": "manager"}.get(exc.field, exc.field)
                    raise ValidationError(_("line {line}: {message}").format(line=line, message=exc.message),
                                          field=field) from None
            # every row is sound: write
            ids: dict[Any, int] = {}
            created, updated = [], []
            total = len(plans)
            done = 0
            for line, key, doc, old, ref in plans:
                if old is None:
                    ids[key] = self.people.insert(dict(doc, manager_id=None))
                    created.append(ids[key])
                    done += 1
                    if progress:
                        progress(done, total)
            for line, key, doc, old, ref in plans:
                manager = doc.get("manager_id")
                doc = dict(doc, manager_id=ids.get(manager, manager))
                if old is None:
                    if doc["manager_id"] is not None:
                        self.people.update(ids[key], {"manager_id": doc["manager_id"]})
                else:
                    new = dict(old, **doc)
                    if new != old:
                        self.people.update(key, doc)
                        updated.append(key)
                    done += 1
                    if progress:
                        progress(done, total)
            if created or updated:
                self._publish("core.people_imported", {"created": created, "updated": updated})
        self._index.invalidate()
        return {"created": created, "updated": updated}

    # -- demo ---------------------------------------------------------------------
    def create_demo(self, seed: int = 1) -> int:
        """The demo company's directory (needs an empty directory); returns how many people."""
        self.operator.require(EDIT, _("change the directory"))
        if self.people.count() or self.departments_table.count():
            raise ValidationError(_("the directory is not empty"), field="name")
        import random

        rng = random.Random(seed)
        dept_ids = {}
        with self.store.transaction():
            for key, name in DEMO_DEPARTMENTS:
                dept_ids[key] = self.departments_table.insert({"name": name, "head_id": None})
            lookup_ids: dict[str, int] = {}
            heads: dict[str, int] = {}
            used_ext: set[str] = set()
            for dept, first, last, title, ext, email, status, boss in DEMO_PEOPLE:
                year = rng.randint(2008, 2024)
                start = date(year, rng.randint(1, 12), 1)
                if email is None:
                    email = f"{_ascii(first)}.{_ascii(last)}@muster-partner.example"
                end = None
                if status == "left":
                    end = date(2025, rng.randint(1, 9), 28).isoformat()
                manager = None
                if boss == "head":
                    manager = heads.get(dept)
                elif boss:
                    manager = lookup_ids[boss]
                assert ext not in used_ext, ext
                used_ext.add(ext)
                person_id = self.people.insert({
                    "name": f"{first} {last}", "department_id": dept_ids[dept], "title": title,
                    "extension": ext, "email": email, "manager_id": manager, "status": status,
                    "start_date": start.isoformat(), "end_date": end,
                })
                lookup_ids[f"{first} {last}"] = person_id
                if dept not in heads:
                    heads[dept] = person_id
                    self.departments_table.update(dept_ids[dept], {"head_id": person_id})
        self._index.invalidate()
        return len(DEMO_PEOPLE)


def _person_detail(doc: dict) -> str:
    parts = [doc.get("department") or "", doc.get("title") or ""]
    if doc.get("extension"):
        parts.append(_("ext. {extension}").format(extension=doc["extension"]))
    if doc.get("status") and doc["status"] != "active":
        parts.append(status_title(doc["status"]))
    return " · ".join(p for p in parts if p)


def _ascii(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "Ä": "ae", "Ö": "oe",
                           "Ü": "ue"})
    return text.translate(table).lower().replace(" ", "-")


DEMO_DEPARTMENTS = (
    ("mgmt", "Geschäftsführung"),
    ("reception", "Empfang / Reception"),
    ("it", "IT"),
    ("accounting", "Buchhaltung / Accounting"),
    ("hr", "Personal / HR"),
    ("sales", "Vertrieb / Sales"),
    ("purchasing", "Einkauf / Purchasing"),
)

# (department, first, last, title, extension, email (None: first.last@), status,
#  manager: "Full Name", "head" (the first person of the department) or None)
# The first person of each department heads it.
DEMO_PEOPLE = (
    ("mgmt", "Margarete", "Muster", "Geschäftsführerin / Managing Director", "110", None, "active", None),
    ("mgmt", "Jonathan", "Partner", "Geschäftsführer / Managing Director", "111", None, "active", None),
    ("mgmt", "Sabine", "Vogel", "Assistentin der Geschäftsführung", "112", None, "active", "head"),
    ("reception", "Bob", "Berger", "Head of Reception", "100", "bob@muster-partner.example", "active",
     "Margarete Muster"),
    ("reception", "Lena", "Schmitt", "Empfang", "101", None, "active", "head"),
    ("reception", "Emily", "Clarke", "Receptionist", "102", None, "active", "head"),
    ("reception", "Tobias", "Krause", "Empfang (Teilzeit)", "103", None, "left", "head"),
    ("it", "Carla", "Conrad", "IT-Leiterin / Head of IT", "120", "carla@muster-partner.example", "active",
     "Jonathan Partner"),
    ("it", "Alice", "Admin", "Systemadministratorin", "121", "alice@muster-partner.example", "active", "head"),
    ("it", "Marcus", "Wright", "Support Engineer", "122", None, "active", "head"),
    ("it", "Jan", "Köhler", "IT-Support", "123", None, "active", "head"),
    ("it", "Priya", "Nair", "Network Administrator", "124", None, "active", "head"),
    ("it", "Felix", "Neumann", "Auszubildender Fachinformatiker", "125", None, "active", "head"),
    ("accounting", "Dieter", "Dorn", "Leiter Buchhaltung / Head of Accounting", "130",
     "dieter@muster-partner.example", "active", "Margarete Muster"),
    ("accounting", "Anna", "Becker", "Buchhalterin", "131", None, "active", "head"),
    ("accounting", "Oliver", "Hughes", "Accounts Payable Clerk", "132", None, "active", "head"),
    ("accounting", "Monika", "Fischer", "Lohnbuchhalterin", "133", None, "on_leave", "head"),
    ("accounting", "Sophie", "Turner", "Accounts Receivable", "134", None, "active", "head"),
    ("accounting", "Uwe", "Schröder", "Controller", "135", None, "active", "head"),
    ("hr", "Eva", "Engel", "Personalleiterin / Head of HR", "140", "eva@muster-partner.example", "active",
     "Margarete Muster"),
    ("hr", "Katharina", "Wolf", "Personalreferentin", "141", None, "active", "head"),
    ("hr", "James", "Mitchell", "HR Generalist", "142", None, "active", "head"),
    ("hr", "Ayşe", "Yilmaz", "Recruiting", "143", "ayse.yilmaz@muster-partner.example", "active", "head"),
    ("sales", "Thomas", "Richter", "Vertriebsleiter / Head of Sales", "150", None, "active",
     "Jonathan Partner"),
    ("sales", "Julia", "Hoffmann", "Key Account Managerin", "151", None, "active", "head"),
    ("sales", "Daniel", "Evans", "Sales Representative", "152", None, "active", "head"),
    ("sales", "Stefan", "Lange", "Außendienst Nord", "153", None, "active", "head"),
    ("sales", "Laura", "Zimmermann", "Außendienst Süd", "154", None, "active", "head"),
    ("sales", "Charlotte", "Baker", "Inside Sales", "155", None, "active", "head"),
    ("sales", "Markus", "Weber", "Vertriebsinnendienst", "156", None, "active", "head"),
    ("sales", "Hannah", "Koch", "Marketing", "157", None, "active", "head"),
    ("sales", "Ryan", "O'Connor", "Business Development", "158", "ryan.oconnor@muster-partner.example",
     "active", "head"),
    ("purchasing", "Martin", "Schulz", "Leiter Einkauf / Head of Purchasing", "160", None, "active",
     "Jonathan Partner"),
    ("purchasing", "Petra", "Meyer", "Einkäuferin", "161", None, "active", "head"),
    ("purchasing", "George", "Harris", "Procurement Specialist", "162", None, "active", "head"),
    ("purchasing", "Nina", "Braun", "Lager und Logistik", "163", None, "active", "head"),
    ("purchasing", "Kevin", "Hartmann", "Lagerist", "164", None, "active", "head"),
    ("it", "Sven", "Krüger", "Datenbankadministrator", "126", None, "active", "head"),
    ("accounting", "Rachel", "Green", "Junior Accountant", "136", None, "active", "head"),
    ("hr", "Michael", "Bauer", "Lohn und Gehalt", "144", None, "active", "head"),
)
