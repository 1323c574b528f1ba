"""A session holds the tables it uses, not the whole store (docs/performance.md, "A year").

core.plugins.runtime opens the TinyDB store with ``lazy_tables=True``: each table's
documents are read when the session first uses them. So a reception
operator's session, which shows the switchboard and the documents but has
no HR or accounting permission, never reads HR's or accounting's tables —
on a site where all five plugins hold data.
"""

from __future__ import annotations

import pytest

from core.cli.demo import create_demo
from core.i18n import today as local_today
from core.storage import Range
from core.cli.testing import wait_for
from core.shell.widgets.record_table import RecordTable
from plugins.telephony.service import _day_bounds

pytestmark = pytest.mark.tinydb_only("which TinyDB snapshot files a session reads")

PLUGINS = ["telephony", "documents", "it", "accounting", "hr"]


def loaded_tables(store) -> set[str]:
    return {name for name, st in store._states.items() if st._docs is not None}


@pytest.fixture
def office(backdesk_site):
    backdesk_site.plugins(PLUGINS)
    backdesk_site.role("reception", ["telephony.*", "documents.*", "core.directory.read"])
    backdesk_site.operator("bob", roles=["reception"])
    bd = backdesk_site.open("alice")
    try:
        create_demo(bd)
        bd.store.compact()  # every table in a snapshot file, as on a site that has run a while
        tables = set(bd.store.tables())
    finally:
        bd.close()
    assert {t for t in tables if t.startswith("hr.")} and {t for t in tables if t.startswith("accounting.")}
    return backdesk_site


async def test_a_reception_session_never_reads_hr_or_accounting(office):
    async with office.run_app("bob") as pilot:
        app = pilot.app
        store = app.backdesk.store
        await wait_for(pilot, lambda: "Welcome" in str(app.screen.query_one("#welcome").render()))
        for nav in ("telephony", "telephony.history", "documents", "directory", "home"):
            app.open_nav(nav)
            await pilot.pause()
        await pilot.pause(0.2)
        used = loaded_tables(store)
        assert "telephony.calls" in used and "documents.documents" in used
        assert not {t for t in used if t.startswith(("hr.", "accounting."))}, sorted(used)
        assert len(used) < len(store.tables()) / 2, sorted(used)


async def test_the_dashboard_reads_todays_calls_not_the_years(office):
    """The switchboard's card counts today's calls; a session that shows
    only the dashboard reads them from the newest part of the calls'
    snapshot (its segments, core/storage/engine.py) and never loads the
    year's calls — which it would at a busy office's size."""
    bd = office.open("alice")
    try:
        calls = bd.table("telephony.calls")
        today = calls.find(order_by="-id", limit=1)[0]  # a demo call; the demo's calls are today's
        with bd.store.transaction():
            for i in range(2 * 2000 + 50):  # a history: more than two segments of last year's calls
                calls.insert({**{k: v for k, v in today.items() if k != "id"},
                              "started_at": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T08:{i % 60:02d}:00+00:00",
                              "ended_at": None})
        start, end = _day_bounds(local_today())
        want = calls.count({"started_at": Range(ge=start, lt=end)})
        calls_today_newest = calls.find(order_by=["-started_at", "-id"], limit=1)[0]["id"]
        total = calls.count()
        assert want > 0
        bd.store.compact(rewrite=True)
    finally:
        bd.close()
    async with office.run_app("alice") as pilot:
        app = pilot.app
        await wait_for(pilot, lambda: app.screen.board.all_rendered)
        [card] = [c for c in app.screen.board.cards if c.key.endswith("calls")]
        assert str(card.content).startswith(f"[b]{want}[/b] calls today"), card.content
        assert "telephony.calls" not in loaded_tables(app.backdesk.store)
        # the call history, all calls: newest first, read segment by segment (and let go)
        app.open_nav("telephony.history")
        await wait_for(pilot, lambda: app.screen.query(RecordTable) and app.screen.query_one(RecordTable).row_count)
        await pilot.press("4")
        table = app.screen.query_one(RecordTable)
        await wait_for(pilot, lambda: table.row_count == total)
        assert table.record_at(0)["id"] == calls_today_newest
        assert "telephony.calls" not in loaded_tables(app.backdesk.store)


async def test_an_admin_who_never_opens_hr_reads_only_what_hrs_cards_show(office):
    """An operator allowed everything, who works on the switchboard, the
    documents, the journal and the helpdesk all day but never opens HR, reads
    only the HR tables the dashboard's HR cards summarise (open cases,
    onboarding checklists, probation ends in the records, expiring warnings)
    — never leave, sick notes, time, applicants, dismissals; opening HR's
    screens reads those."""
    cards = {"hr.cases", "hr.checklists", "hr.records", "hr.warnings"}
    async with office.run_app("alice") as pilot:
        app = pilot.app
        store = app.backdesk.store
        await wait_for(pilot, lambda: "Welcome" in str(app.screen.query_one("#welcome").render()))
        hr_tables = {t for t in store.tables() if t.startswith("hr.")}
        assert hr_tables - cards, sorted(hr_tables)  # the demo fills more than the cards read
        for nav in ("telephony", "telephony.history", "documents", "accounting.ledger", "it.tickets", "directory",
                    "home"):
            app.open_nav(nav)
            await pilot.pause()
        await pilot.pause(0.2)
        used = loaded_tables(store)
        assert "telephony.calls" in used and "documents.documents" in used
        assert {t for t in used if t.startswith("hr.")} <= cards, sorted(used)
        for nav in ("hr.employees", "hr.hiring", "hr.leave"):  # the test can fail: HR's screens read more
            app.open_nav(nav)
            await pilot.pause()
        await pilot.pause(0.2)
        assert {t for t in loaded_tables(store) if t.startswith("hr.")} - cards
