"""A small app showing the shared widgets, for people and for snapshot tests.

    TERM=xterm-16color python tests/widgets/demo_app.py            # 100k people
    python tests/widgets/demo_app.py --rows 50 --screen form --ansi

Keys: arrows move, / filters, s/S sort, enter edits, n new, d delete,
p runs a progress demo, q quits.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer

from core.errors import ValidationError
from core.shell.widgets import (
    Column,
    ConfirmDialog,
    DetailView,
    Field,
    FormScreen,
    ProgressScreen,
    RecordTable,
)

FIRST = ["Anna", "Ben", "Chloé", "Dmitri", "Elif", "Femi", "Grete", "Hugo", "Ines", "Jonas"]
LAST = ["Müller", "Schmidt", "Okafor", "Nakamura", "García", "Novak", "Larsen", "Dubois"]
CITIES = ["Berlin", "Hamburg", "Lyon", "Oslo", "Porto", "Kraków", "Graz"]
DEPARTMENTS = ["sales", "support", "finance", "warehouse"]

DEPARTMENT_CHOICES = [
    ("sales", "Sales"),
    ("support", "Support"),
    ("finance", "Finance"),
    ("warehouse", "Warehouse"),
]


def make_people(count: int) -> list[dict[str, Any]]:
    """``count`` deterministic person records, shaped like core.storage's."""
    people = []
    for i in range(count):
        people.append(
            {
                "id": i + 1,
                "name": f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}",
                "city": CITIES[(i * 3 + i // 10) % len(CITIES)],
                "department": DEPARTMENTS[(i * 3) % len(DEPARTMENTS)],
                "salary": f"{2000 + (i * 137) % 5000}.{(i * 7) % 100:02d}",
                "start": f"20{10 + i % 16:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "active": i % 5 != 0,
            }
        )
    return people


COLUMNS = [
    Column("id", "#", width=6, align="right"),
    Column("name", "Name"),
    Column("city", "City"),
    Column("department", "Department", format=lambda value: dict(DEPARTMENT_CHOICES).get(value, "")),
    Column("salary", "Salary", align="right"),
    Column("start", "Start", width=10),
]

PERSON_FIELDS = [
    Field("name", "Name", required=True, help="First and last name"),
    Field("city", "City"),
    Field("department", "Department", kind="choice", choices=DEPARTMENT_CHOICES, required=True),
    Field("salary", "Monthly salary", kind="decimal", required=True),
    Field("hours", "Hours a week", kind="int", default=40),
    Field("start", "Start date", kind="date"),
    Field("active", "Active", kind="bool", default=True),
    Field("notes", "Notes", kind="multiline"),
]


def save_person(values: dict[str, Any]) -> dict[str, Any]:
    """A stand-in service: refuses a name that is taken, like a real one would."""
    if values["name"].casefold() == "anna müller":
        raise ValidationError("Someone with this name already exists", field="name")
    return values


def count_to(total: int, delay: float = 0.0):
    """A progress demo: ``work(progress)`` that counts to ``total``."""

    def work(progress) -> int:
        progress.start(total, "Counting")
        for _ in range(total):
            if delay:
                time.sleep(delay)
            progress.advance()
        progress.finish()
        return total

    return work


class DemoApp(App[None]):
    """The widgets together: a table of people, their details, forms, dialogs."""

    CSS = """
    DemoApp DetailView { height: 8; border-top: solid $primary; }
    """

    BINDINGS = [
        Binding("n", "new_person", "New", id="demo.new"),
        Binding("d", "delete_person", "Delete", id="demo.delete"),
        Binding("p", "progress", "Progress", id="demo.progress"),
        Binding("q", "quit", "Quit", id="demo.quit"),
    ]

    def __init__(self, rows: int = 100_000, screen: str = "table", ansi: bool = False) -> None:
        super().__init__()
        self.people = make_people(rows)
        self.start_screen = screen
        self.messages: list[str] = []
        if ansi:
            self.theme = "ansi-dark"

    def compose(self) -> ComposeResult:
        yield RecordTable(COLUMNS, self.people, id="people")
        yield DetailView(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RecordTable).focus()
        if self.start_screen == "form":
            self.action_edit_person()
        elif self.start_screen == "confirm":
            self.action_delete_person()

    def on_record_table_cursor_moved(self, event: RecordTable.CursorMoved) -> None:
        detail = self.query_one(DetailView)
        if event.record is None:
            detail.update()
        else:
            detail.update(record=event.record, fields=PERSON_FIELDS, title=event.record["name"])

    def on_record_table_record_selected(self, event: RecordTable.RecordSelected) -> None:
        self.action_edit_person(event.record)

    def action_edit_person(self, record: dict[str, Any] | None = None) -> None:
        record = record or self.query_one(RecordTable).cursor_record
        self.push_screen(
            FormScreen(f"Edit {record['name']}", PERSON_FIELDS, record, on_submit=save_person),
            lambda result: self.messages.append(f"saved {result!r}"),
        )

    def action_new_person(self) -> None:
        self.push_screen(
            FormScreen("New person", PERSON_FIELDS, on_submit=save_person),
            lambda result: self.messages.append(f"created {result!r}"),
        )

    def action_delete_person(self) -> None:
        record = self.query_one(RecordTable).cursor_record
        if record is None:
            return
        self.push_screen(
            ConfirmDialog(f"Delete {record['name']}?", title="Delete person", danger=True),
            lambda answer: self.messages.append(f"delete {answer}"),
        )

    def action_progress(self) -> None:
        self.push_screen(
            ProgressScreen(count_to(200, delay=0.02), title="Payroll run"),
            lambda result: self.messages.append(f"progress {result!r}"),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--screen", choices=["table", "form", "confirm"], default="table")
    parser.add_argument("--ansi", action="store_true", help="use the ansi-dark theme")
    args = parser.parse_args()
    DemoApp(rows=args.rows, screen=args.screen, ansi=args.ansi).run()


if __name__ == "__main__":
    main()
