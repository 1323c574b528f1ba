"""A burst of table changes reaches the screen as one message carrying every name.

Textual coalesces a pending message into the next one by asking the older
``can_replace(newer)`` and keeping the newer: the names of the older must go
with it, or a screen watching a table changed early in the burst never
refreshes (the switchboard's LiveChanged works the same way).
"""

from __future__ import annotations

from textual.app import App
from textual.widget import Widget

from core.shell.screens.base import TablesChanged
from plugins.telephony.switchboard import LiveChanged


class Recorder(Widget):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[frozenset[str]] = []

    def on_tables_changed(self, message: TablesChanged) -> None:
        self.seen.append(message.names)

    def on_live_changed(self, message: LiveChanged) -> None:
        self.seen.append(message.changed)


class Host(App):
    def compose(self):
        yield Recorder()


async def test_a_burst_of_changes_keeps_every_name():
    app = Host()
    async with app.run_test() as pilot:
        recorder = app.query_one(Recorder)
        # posted back to back: the first two wait while the third arrives
        for names in ({"it.tickets"}, {"telephony.calls"}, {"core.people"}):
            recorder.post_message(TablesChanged(frozenset(names)))
        await pilot.pause()
        assert set().union(*recorder.seen) == {"it.tickets", "telephony.calls", "core.people"}
        assert len(recorder.seen) < 3  # coalesced
        recorder.seen.clear()
        for changed in ({"extensions"}, set(), {"queues"}):
            recorder.post_message(LiveChanged(frozenset(changed)))
        await pilot.pause()
        assert set().union(*recorder.seen) == {"extensions", "queues"}
