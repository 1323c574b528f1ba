"""Hostile text from storage never reaches a terminal as it is.

A record can hold escape sequences (stored before the services refused
them, or written by someone with access to the files): an OSC that retitles
the terminal, BEL, CR that overwrites the line, a right-to-left override.
What the app sends to the terminal for the dashboard's cards, a RecordTable
and a DetailView shows them (``␛``, ``␇``, ``\\u202e``) instead.
"""

from __future__ import annotations

import re

from core.cli.testing import wait_for

from tests.conftest import open_raw_store

OSC = "\x1b]0;pwned\x07"
HOSTILE = f"Eve{OSC}\u202eexe.png\rX"
RAW = ("\x1b]0;", "\x07", "\u202e", "pwned\r")


def shown(app) -> str:
    """The screen's text without Textual's own styling sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal_output(app))


def terminal_output(app) -> str:
    """Exactly what Textual would write to the terminal for the whole screen."""
    update = app.screen._compositor.render_full_update()
    return update.render_segments(app.console)


def assert_safe(out: str) -> str:
    """Fails when a hostile sequence is in ``out``; returns the text without
    Textual's own styling sequences (CSI … m / H)."""
    for raw in RAW:
        assert raw not in out, f"{raw!r} reached the terminal"
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)


async def test_cards_tables_and_detail_views_show_controls_instead_of_sending_them(backdesk_site):
    site = backdesk_site
    bd = site.open("alice")
    dept = bd.services.people.add_department("Sales")
    pid = bd.services.people.add_person(name="Placeholder", email="eve@test.example", department_id=dept)
    bd.close()
    raw = open_raw_store(site.config_dir, site.data_dir)
    try:
        raw.table("core", "people").update(pid, {"name": HOSTILE})
        raw.table("core", "notifications").insert({
            "account": "alice", "text": f"call back {HOSTILE}", "kind": "info", "link": None,
            "data": {}, "sender": "bob", "at": "2026-01-05T09:00:00+00:00", "read": False})
    finally:
        raw.close()

    async with site.run_app("alice", size=(100, 30)) as pilot:
        app = pilot.app
        await wait_for(pilot, lambda: "␛" in shown(app))
        text = assert_safe(terminal_output(app))  # the dashboard: the notifications card
        assert "call back Eve␛]0;pwned" in text

        await pilot.press("f3")  # the directory: a RecordTable
        await wait_for(pilot, lambda: "Eve␛" in shown(app))
        assert_safe(terminal_output(app))

        await pilot.press("down")  # from the search field to the list
        assert app.screen.query_one("RecordTable").cursor_record["id"] == pid
        await pilot.press("enter")  # the person's details: a DetailView
        await wait_for(pilot, lambda: app.screen.query("DetailView"))
        await pilot.pause()
        text = assert_safe(terminal_output(app))
        assert "Eve␛]0;pwned␇\\u202eexe.png␍X" in text


def test_cli_output_and_errors_show_controls_instead_of_sending_them(backdesk_site):
    site = backdesk_site
    site.plugins(["telephony", "documents"])
    assert site.cli("demo").code == 0
    raw = open_raw_store(site.config_dir, site.data_dir)
    try:
        raw.table("core", "people").update(1, {"name": f"Person {HOSTILE}"})
        raw.table("telephony", "messages").update(1, {"text": f"Message {HOSTILE}"})
        raw.existing_table("documents.documents").update(1, {"title": f"Title {HOSTILE}"})
        raw.table("documents", "types").update(1, {"name": f"Type {HOSTILE}"})
        raw.table("documents", "rules").update(1, {"name": f"Rule {HOSTILE}"})
        audit = raw.table("core", "audit")
        last = audit.find(order_by="-id", limit=1)[0]
        audit.insert({**{k: v for k, v in last.items() if k != "id"}, "op": "read",
                      "what": f"Audit {HOSTILE}", "seq": last["seq"] + 1})
    finally:
        raw.close()

    runs = {
        "people list": ["people", "list"],
        "people list --format json": ["people", "list", "--format", "json"],
        "phone messages": ["phone", "messages"],
        "docs list": ["docs", "list"],
        "docs types": ["docs", "types"],
        "docs rules": ["docs", "rules"],
        "audit list": ["audit", "list", "--limit", "5"],
        "export core.people": ["export", "core.people", "--format", "csv"],
    }
    for what, args in runs.items():
        result = site.cli(*args)
        assert result.code == 0, (what, result.stderr)
        assert_safe(result.stdout + result.stderr)
        assert "␛]0;pwned" in result.stdout or "\\u001b]0;pwned" in result.stdout, (what, result.stdout)
    # an error message that echoes what was typed
    result = site.cli("people", "list", "x", f"extra{OSC}")
    assert result.code == 2
    assert_safe(result.stderr)
    assert "␛]0;pwned" in result.stderr


async def test_stored_text_in_a_card_is_not_read_as_markup(backdesk_site):
    """A notification or department whose text holds Rich markup: the card
    showed '[bold]' as bold (and '[/]' closing nothing broke the whole card
    into an error line); now it shows the text as typed, controls visible."""
    site = backdesk_site
    bd = site.open("alice")
    bd.services.people.add_department("[bold]R&D[/]")
    bd.close()
    raw = open_raw_store(site.config_dir, site.data_dir)
    try:
        raw.table("core", "notifications").insert({
            "account": "alice", "text": "[/]call [bold]Boss[/bold]\x1b]0;x\x07", "kind": "info", "link": None,
            "data": {}, "sender": "bob", "at": "2026-01-05T09:00:00+00:00", "read": False})
    finally:
        raw.close()

    async with site.run_app("alice", size=(100, 30)) as pilot:
        app = pilot.app
        await wait_for(pilot, lambda: "Boss" in shown(app) and "R&D" in shown(app))
        text = assert_safe(terminal_output(app))
        assert "• [/]call [bold]Boss[/bold]␛]0;" in text
        assert "[bold]R&D[/]: 0" in text
        assert "MarkupError" not in text and "closing tag" not in text
