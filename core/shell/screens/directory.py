"""The Directory screen: find a person as you type; add, edit, mark as left.

Keys: type to search (every word must match name, department, title,
extension, email or status); down/enter to the list; enter on a person for
the details; ``n`` new person, ``e`` edit, ``ctrl+t`` show people who left.
Editing keys are hidden for operators without ``core.directory.edit``; the
service checks again.
"""

from __future__ import annotations

import weakref
from datetime import date
from typing import Any, Iterable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from core.errors import BackdeskError, ValidationError
from core.i18n import _, format_date
from core.services.people import STATUSES, status_title
from core.shell.screens.base import BackdeskScreen
from core.shell.widgets import Column, DetailView, Field, FormScreen, KeyBar, RecordTable

#: person ids waiting to be shown once the Directory screen is up, per app
_PENDING: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()


def show_person(app, person_id: int) -> None:
    """Open the Directory on ``person_id`` (used by search hits)."""
    _PENDING[app] = person_id
    app.open_nav("directory")

    def pick() -> None:
        screen = app.screen
        if isinstance(screen, DirectoryScreen):
            screen.take_pending()

    app.call_after_refresh(pick)


class DetailModal(ModalScreen[str | None]):
    """A record's details in a dialog; extra ``keys`` dismiss with their action name."""

    DEFAULT_CSS = """
    DetailModal { align: center middle; }
    DetailModal > Vertical {
        width: 90%; max-width: 76; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    DetailModal DetailView { height: auto; max-height: 18; }
    DetailModal .detail-modal--keys { color: $text-muted; }
    """
    BINDINGS = [Binding("escape,q", "dismiss_with('')", _("Close"), id="detail_modal.close")]

    def __init__(self, title: str, pairs: Iterable[tuple[str, Any]],
                 keys: Iterable[tuple[str, str, str]] = ()) -> None:
        super().__init__()
        self._title = title
        self._pairs = list(pairs)
        self._keys = list(keys)
        for key, action, label in self._keys:
            self._bindings.bind(key, f"dismiss_with('{action}')", label)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield DetailView(self._pairs, title=self._title)
            hints = "  ".join(f"{key} {label}" for key, _action, label in self._keys)
            yield Static((hints + "  " if hints else "") + _("esc close"), classes="detail-modal--keys")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(DetailView).focus()

    def action_dismiss_with(self, action: str) -> None:
        self.dismiss(action or None)


class DirectoryScreen(BackdeskScreen):
    """Everybody in the company, searchable as you type."""

    DEFAULT_CSS = """
    DirectoryScreen #directory-bar { height: 1; }
    DirectoryScreen #directory-search { width: 1fr; }
    DirectoryScreen #directory-count { width: auto; padding: 0 1; color: $text-muted; }
    DirectoryScreen RecordTable { height: 1fr; }
    """
    WATCH_TABLES = frozenset({"core.people", "core.departments"})
    BINDINGS = [
        Binding("n", "new_person", _("New"), id="directory.new"),
        Binding("e", "edit_person", _("Edit"), id="directory.edit"),
        Binding("ctrl+t", "toggle_left", _("Show left"), id="directory.toggle_left"),
        Binding("escape", "focus_search", _("Search"), show=False, id="directory.focus_search"),
    ]
    nav_id = "directory"

    def __init__(self, backdesk) -> None:
        super().__init__()
        self.backdesk = backdesk
        self.people = backdesk.services.people
        self.show_left = False

    @property
    def can_edit(self) -> bool:
        return self.backdesk.operator.can("core.directory.edit")

    def compose_content(self) -> ComposeResult:
        with Horizontal(id="directory-bar"):
            yield Input(placeholder=_("Search name, department, extension, email…"),
                        id="directory-search", compact=True)
            yield Static("", id="directory-count")
        yield RecordTable(
            # Beside the menu at 80x24 the name, extension, department and
            # status stay; the department narrows, the e-mail and then the job
            # title give way to the detail line under the rows.
            [Column("name", _("Name"), width=20),
             Column("extension", _("Ext."), width=4, align="right"),
             Column("department", _("Department")),
             Column("status", _("Status"), width=8, format=status_title),
             Column("title", _("Job title"), priority=-1),
             Column("email", _("Email"), priority=-2)],
            [], id="directory-table", empty_text=_("Nobody matches"))

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#directory-search", Input).focus()
        self.reload()
        self.take_pending()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.take_pending()

    # -- data ------------------------------------------------------------------------
    @property
    def table(self) -> RecordTable:
        return self.query_one("#directory-table", RecordTable)

    def reload(self) -> None:
        text = self.query_one("#directory-search", Input).value
        statuses = STATUSES if self.show_left else ("active", "on_leave")
        found = self.people.find(text, status=statuses)
        self.table.set_records(found)
        counts = self.people.counts()
        total = sum(counts[s] for s in statuses)
        self.query_one("#directory-count", Static).update(
            _("{n} of {total}").format(n=len(found), total=total))

    def refresh_data(self, names: frozenset[str]) -> None:
        self.reload()

    @on(Input.Changed, "#directory-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.reload()

    @on(Input.Submitted, "#directory-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def on_key(self, event) -> None:
        search = self.query_one("#directory-search", Input)
        if event.key == "down" and self.focused is search:
            event.stop()
            self.table.focus()

    def take_pending(self) -> None:
        person_id = _PENDING.pop(self.app, None)
        if person_id is None:
            return
        if not self.table.move_cursor_to_id(person_id):
            self.show_left = True
            self.query_one("#directory-search", Input).value = ""
            self.reload()
            self.table.move_cursor_to_id(person_id)
        self.table.focus()
        self.open_person(person_id)

    # -- actions --------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("new_person", "edit_person") and not self.can_edit:
            return False
        if action in ("new_person", "edit_person") and isinstance(self.focused, Input):
            return False  # typing "n" or "e" in the search box is text
        return True

    def action_focus_search(self) -> None:
        self.query_one("#directory-search", Input).focus()

    def action_toggle_left(self) -> None:
        self.show_left = not self.show_left
        self.reload()
        self.notify(_("Showing people who left") if self.show_left else _("Hiding people who left"),
                    timeout=2)

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        event.stop()
        self.open_person(event.record["id"])

    def open_person(self, person_id: int) -> None:
        doc = self.people.get(person_id)
        if doc is None:
            self.notify(_("This person no longer exists."), severity="warning")
            return
        manager = self.people.name_of(doc.get("manager_id"), "")
        reports = ", ".join(p["name"] for p in self.people.reports(person_id)) or None
        pairs = [
            (_("Name"), doc["name"]),
            (_("Department"), doc.get("department")),
            (_("Job title"), doc.get("title")),
            (_("Extension"), doc.get("extension")),
            (_("Email"), doc.get("email")),
            (_("Manager"), manager or None),
            (_("Reports"), reports),
            (_("Status"), status_title(doc.get("status") or "active")),
            (_("Started"), format_date(doc["start_date"]) if doc.get("start_date") else None),
            (_("Left on"), format_date(doc["end_date"]) if doc.get("end_date") else None),
            (_("Region"), doc.get("region")),
            (_("Id"), str(doc["id"])),
        ]
        keys = [("e", "edit", _("edit"))] if self.can_edit else []
        offered = {}  # the plugins' actions for this person (backdesk_person_actions)
        for _rec, item in self.backdesk.host.collect("backdesk_person_actions", person=doc):
            if item.key in ("e", "escape", "q") or item.key in offered or (
                    item.permission and not self.backdesk.operator.can(item.permission)):
                continue
            offered[item.key] = item
            keys.append((item.key, f"plugin:{item.key}", item.title))

        def done(action: str | None) -> None:
            if action == "edit":
                self.edit_person(person_id)
            elif action and action.startswith("plugin:") and action[7:] in offered:
                offered[action[7:]].run(self.app, doc)

        self.app.push_screen(DetailModal(doc["name"], pairs, keys), done)

    def action_new_person(self) -> None:
        self._form(None)

    def action_edit_person(self) -> None:
        record = self.table.cursor_record
        if record is not None:
            self.edit_person(record["id"])

    def edit_person(self, person_id: int) -> None:
        self._form(person_id)

    def _fields(self) -> list[Field]:
        depts = [(d["id"], d["name"]) for d in self.people.departments()]
        return [
            Field("name", _("Name"), required=True),
            Field("department_id", _("Department"), kind="choice", choices=depts, required=True),
            Field("title", _("Job title")),
            Field("extension", _("Extension"), help=_("2 to 6 digits, unique")),
            Field("email", _("Email")),
            Field("manager", _("Manager"), help=_("name, email, extension or #id")),
            Field("status", _("Status"), kind="choice",
                  choices=[(s, status_title(s)) for s in STATUSES], default="active"),
            Field("start_date", _("Started"), kind="date"),
            Field("end_date", _("Left on"), kind="date"),
            Field("region", _("Region"), help=_("where they work, for public holidays: BY, BE, …; empty: the site's")),
        ]

    def _form(self, person_id: int | None) -> None:
        values: dict[str, Any] = {"status": "active"}
        if person_id is not None:
            doc = self.people.get(person_id)
            if doc is None:
                return
            values = dict(doc)
            for key in ("start_date", "end_date"):
                values[key] = date.fromisoformat(doc[key]) if doc.get(key) else None
            boss = self.people.get(doc["manager_id"]) if doc.get("manager_id") else None
            values["manager"] = (boss.get("email") or f"#{boss['id']}") if boss else ""

        def submit(form: dict[str, Any]) -> int:
            data = {k: v for k, v in form.items() if k != "manager"}
            for key in ("start_date", "end_date"):
                data[key] = data[key].isoformat() if data.get(key) else None
            data["manager_id"] = self._resolve_manager(form.get("manager") or "", person_id)
            try:
                if person_id is None:
                    return self.people.add_person(data)
                self.people.update_person(person_id, data)
                return person_id
            except ValidationError as exc:
                if exc.field == "manager_id":
                    raise ValidationError(exc.message, field="manager") from None
                raise

        def done(result: int | None) -> None:
            if result is not None:
                self.reload()
                self.table.move_cursor_to_id(result)
                self.notify(_("Saved."), timeout=2)

        title = _("New person") if person_id is None else _("Edit {name}").format(name=values.get("name"))
        self.app.push_screen(FormScreen(title, self._fields(), values, on_submit=submit), done)

    def _resolve_manager(self, text: str, person_id: int | None) -> int | None:
        text = text.strip()
        if not text:
            return None
        if text.startswith("#") and text[1:].isdigit():
            return int(text[1:])
        if text.isdigit():
            by_ext = self.people.by_extension(text)
            if by_ext is not None:
                return by_ext["id"]
            return int(text)
        if "@" in text:
            found = self.people.by_email(text)
            if found is None:
                raise ValidationError(_("nobody has the email {email}").format(email=text), field="manager")
            return found["id"]
        matches = [p for p in self.people.find(text, status=("active", "on_leave")) if p["id"] != person_id]
        if not matches:
            raise ValidationError(_("nobody matches {text!r}").format(text=text), field="manager")
        exact = [p for p in matches if p["name"].casefold() == text.casefold()]
        if len(exact) == 1:
            return exact[0]["id"]
        if len(matches) > 1:
            names = ", ".join(p["name"] for p in matches[:4])
            raise ValidationError(_("several people match: {names}").format(names=names), field="manager")
        return matches[0]["id"]


__all__ = ["DirectoryScreen", "DetailModal", "show_person", "BackdeskError"]
