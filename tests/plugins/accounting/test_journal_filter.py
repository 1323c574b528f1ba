"""The Journal's "/" filter at a size where it matters: the real app through
the Pilot, letter by letter, on both backends. The rows shown, their order
and the "n of N" count equal what the old query (a case-folded "contains"
over each entry's description and date, newest first) gives; nothing is
written. On TinyDB a year's journal is read in segments without loading
the table: "/" reads the entries' descriptions and dates ahead (only those
keys decoded), and the letters then decode no segment's texts again."""

from __future__ import annotations

import pytest

from core.shell.app import make_app
from core.shell.widgets import RecordTable
from plugins.accounting import service as svc
from tests.conftest import ON_POSTGRESQL

WORDS = ["Miete März", "MIETE-03-Nachtrag", "Zahlung Müller GmbH", "Rechnung 2026-03-17", "Büro-Material",
         "Gehalt", "Strom 03/2026", "Kasse"]


def oracle(entries: list[dict], typed: str) -> list[int]:
    """The old query, in Python: entries whose description or date contains
    the text ignoring case, newest first (their numbers)."""
    needle = typed.casefold()
    return [e["number"] for e in sorted(entries, key=lambda e: e["id"], reverse=True)
            if needle in e["description"].casefold() or needle in e["date"].casefold()]


async def settled(pilot, app, predicate, rounds: int = 1200) -> None:
    """Wait for the screen to show it and every worker (the read ahead) to end."""
    for _ in range(rounds):
        await pilot.pause(0.05)
        if predicate() and not any(w.is_running for w in app.workers):
            return
    raise AssertionError("condition not reached in time")


async def test_the_journals_filter_shows_the_old_querys_rows_letter_by_letter(site, office, monkeypatch):
    bd, ctx, _ids = office
    with ctx.transaction():
        for i in range(230):  # more than two pages (100 each), a year of dates
            svc.post_entry(ctx, f"2026-{1 + i % 12:02d}-{1 + (i * 7) % 28:02d}", f"{WORDS[i % len(WORDS)]} {i}", [
                {"account": "expenses:rent", "amount": f"{10 + i}.00"},
                {"account": "assets:bank:checking", "amount": f"-{10 + i}.00"}])
    svc.reverse_entry(ctx, 5)
    if not ON_POSTGRESQL:  # the journal in segments, as a year's is (2,000 entries each there)
        bd.store.segment_docs = 40
        bd.store.compact(rewrite=True)
    stored = ctx.table("entries").all()
    session = site.open()  # another operator's session: the journal not read yet
    app = make_app(session, poll_interval=0)
    decoded: list[str] = []
    if not ON_POSTGRESQL:
        from core.storage import files

        real_docs, real_fields = files.segment_docs, getattr(files, "segment_fields", None)

        def segment_docs(raw, segment, *a, starts=None, positions=None):
            decoded.append("documents" if starts is None else "a page")
            return real_docs(raw, segment, *a, starts=starts, positions=positions)

        def segment_fields(raw, segment, keys, missing):
            decoded.append(f"fields {','.join(keys)}")
            return real_fields(raw, segment, keys, missing)

        monkeypatch.setattr(files, "segment_docs", segment_docs)
        monkeypatch.setattr(files, "segment_fields", segment_fields, raising=False)  # (before: none)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.ledger")
        table = None

        def journal_shown() -> bool:
            nonlocal table
            if app.screen.__class__.__name__ != "LedgerScreen":
                return False
            table = app.screen.query_one("#acc-journal", RecordTable)
            return table.row_count == len(stored)

        await settled(pilot, app, journal_shown)
        assert [table.record_at(r)["number"] for r in range(3)] == oracle(stored, "")[:3]
        decoded.clear()  # the first page's
        await pilot.press("slash")
        await settled(pilot, app, lambda: table.editing_filter)
        if not ON_POSTGRESQL:
            # "/" read the descriptions and dates ahead, only those keys
            assert decoded and set(decoded) == {"fields date,description"}, decoded
            decoded.clear()
        typed = ""
        for letter in "-03-":
            typed += letter
            want = oracle(stored, typed)
            await pilot.press(letter)
            await settled(pilot, app, lambda: table.filter_text == typed and table.row_count == len(want))
            assert [table.record_at(r)["number"] for r in range(table.row_count)] == want, typed
            assert table.total_count == len(stored)
            bar = app.export_screenshot().replace("&#160;", " ")
            assert f"{len(want)} of {len(stored)}" in bar, typed
            if not ON_POSTGRESQL:  # a letter decodes no segment's texts again (only the rows shown)
                assert "fields date,description" not in decoded, (typed, decoded)
            reversed_rows = [table.record_at(r) for r in range(table.row_count) if table.record_at(r)["number"] == 5]
            assert all(r["state"] == "reversed" for r in reversed_rows)
        assert 0 < len(want) < len(stored)
        for letter in "X":  # one more letter that finds nothing, then back
            await pilot.press(letter)
            await settled(pilot, app, lambda: table.row_count == 0)
        await pilot.press("backspace")
        await settled(pilot, app, lambda: table.row_count == len(want))
        assert [table.record_at(r)["number"] for r in range(table.row_count)] == want
    if not ON_POSTGRESQL:
        assert session.store._states["accounting.entries"]._docs is None  # never loaded whole
    assert ctx.table("entries").all() == stored  # nothing written


@pytest.mark.parametrize("typed", ["müller", "MIETE", "-03", "2026-03-1", "büro-", "nobody"])
async def test_the_journals_filter_finds_what_the_old_query_found(office, typed):
    """Letters of every kind (umlauts, upper case, digits and dashes: the
    LIKE PostgreSQL now uses for a text without letters) find what the
    old query did, typed at once."""
    bd, ctx, _ids = office
    with ctx.transaction():
        for i in range(60):
            svc.post_entry(ctx, f"2026-{1 + i % 12:02d}-{1 + (i * 5) % 28:02d}", f"{WORDS[i % len(WORDS)]} {i}", [
                {"account": "expenses:rent", "amount": "10.00"}, {"account": "assets:bank:checking", "amount": "-10.00"}])
    stored = ctx.table("entries").all()
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("accounting.ledger")
        await settled(pilot, app, lambda: app.screen.__class__.__name__ == "LedgerScreen")
        table = app.screen.query_one("#acc-journal", RecordTable)
        await settled(pilot, app, lambda: table.row_count == len(stored))
        await pilot.press("slash", *typed)
        want = oracle(stored, typed)
        await settled(pilot, app, lambda: table.filter_text == typed and table.row_count == len(want))
        assert [table.record_at(r)["number"] for r in range(table.row_count)] == want


async def test_the_entry_under_the_cursor_shows_its_postings_and_lays_out_the_screen_only_when_it_grows(office):
    """Below the Journal the entry under the cursor shows its postings, after
    each letter of the filter and each move. The screen is laid out again
    only when that detail changes its height (another entry with as many
    postings is repainted in place: one frame less per key, 13-20 ms of a
    year's filter letter on either backend)."""
    from textual.widgets import Static

    bd, ctx, _ids = office
    with ctx.transaction():
        for i in range(12):
            svc.post_entry(ctx, f"2026-03-{1 + i:02d}", f"{WORDS[i % len(WORDS)]} {i}", [
                {"account": "expenses:rent", "amount": f"{10 + i}.00"},
                {"account": "assets:bank:checking", "amount": f"-{10 + i}.00"}])
        svc.post_entry(ctx, "2026-04-01", "Büro und Telefon", [  # the newest: three postings
            {"account": "expenses:rent", "amount": "30.00"}, {"account": "expenses:telephone", "amount": "5.00"},
            {"account": "assets:bank:checking", "amount": "-35.00"}])
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 30)) as pilot:
        app.open_nav("accounting.ledger")
        await settled(pilot, app, lambda: app.screen.__class__.__name__ == "LedgerScreen")
        table = app.screen.query_one("#acc-journal", RecordTable)
        detail = app.screen.query_one("#acc-entry", Static)
        await settled(pilot, app, lambda: table.row_count == 13)
        layouts: list[bool] = []
        real_refresh = detail.refresh

        def refresh(*regions, layout: bool = False, **kw):
            layouts.append(layout)
            return real_refresh(*regions, layout=layout, **kw)

        detail.refresh = refresh

        def postings_shown() -> list[str]:
            lines = [line.split() for line in str(detail.render()).splitlines()]
            return [words[0] for words in lines]

        def screen_shows_the_cursors_postings() -> bool:
            rec = table.cursor_record
            return postings_shown() == [p["account"] for p in rec["postings"]] and all(
                p["account"] in app.export_screenshot() for p in rec["postings"])

        assert postings_shown() == ["expenses:rent", "expenses:telephone", "assets:bank:checking"]
        await pilot.press("slash", "-", "0", "3")  # March: the two-posting entries
        await settled(pilot, app, lambda: table.filter_text == "-03" and table.row_count == 12)
        assert screen_shows_the_cursors_postings() and len(postings_shown()) == 2
        assert True in layouts  # three lines to two: the screen laid out again
        for key in ("down", "down", "-", "down"):
            layouts.clear()
            before = table.cursor_record["number"]
            await pilot.press(key)
            await settled(pilot, app, lambda: table.cursor_record["number"] != before or key == "-")
            assert screen_shows_the_cursors_postings(), key
            assert layouts and True not in layouts, (key, layouts)  # two lines again: repainted in place
        await pilot.press("escape", "home")  # the whole journal, its newest entry: three lines again
        await settled(pilot, app, lambda: table.row_count == 13 and table.cursor_record["number"] == 13)
        assert screen_shows_the_cursors_postings() and len(postings_shown()) == 3
