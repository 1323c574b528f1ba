"""How the widgets look at 80x24 (pytest-textual-snapshot).

Update after an intended change with ``pytest tests/widgets --snapshot-update``
and look at the new SVGs before committing them.
"""

from __future__ import annotations

def test_table_with_100k_people(snap_compare, demo):
    app = demo.DemoApp(rows=100_000)
    assert snap_compare(app, terminal_size=(80, 24), press=["down", "down"])


def test_table_filtered_and_sorted(snap_compare, demo):
    app = demo.DemoApp(rows=100_000)
    keys = ["slash", "o", "s", "l", "o", "enter", "right", "right", "right", "right", "S"]
    assert snap_compare(app, terminal_size=(80, 24), press=keys)


def test_form_with_errors(snap_compare, demo):
    app = demo.DemoApp(rows=10, screen="form")
    # Clear the name, type a bad salary and a bad date, then save.
    keys = ["ctrl+u", "tab", "tab", "tab", "ctrl+u", "a", "b", "c", "tab", "tab",
            "1", "3", "/", "2", "0", "2", "6", "ctrl+s"]
    assert snap_compare(app, terminal_size=(80, 24), press=keys)
