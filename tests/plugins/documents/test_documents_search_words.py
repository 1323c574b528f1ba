"""The Documents screen's search finds a word by the store's words (both backends, #23).

What the operator sees after "f", a word, Enter — the rows, their order,
the count — equals the search as it always was (``old_search``: every
document and version read, each text tested in Python), on a register
whose snapshots are cut into segments (TinyDB: the words and columns a
session derives are kept beside them for the next session; PostgreSQL:
the versions' words in a column of their own). Another process then files,
revises, retitles and deletes documents: the next search follows.
"""

from __future__ import annotations

import os

from core.shell.app import make_app
from core.shell.widgets import RecordTable
from core.storage import open_store
from core.storage.engine import JournalStore
from plugins.documents import service
from plugins.documents.screens import RegisterScreen

from test_documents_search_pages import old_search

TEXTS = ["Die Rechnung Nr. 2024-17 ist fällig.", "Ihre Stromrechnungen für 2025", "RECHNUNGSNUMMER 4711",
         "Angebot Kopierer", "Gemäß Vertrag wird die Wartung fällig.", "Grüße von Müller",
         "Mahnung: die rechnung ist offen", "Straßenreinigung Bescheid"]


def a_register(site, ctx, n: int = 23) -> list[int]:
    ids = []
    for i in range(n):
        meta = {"title": f"{['Brief', 'Vorgang', 'Rechnung März'][i % 3]} {i}", "correspondent": "Müller GmbH"}
        ids.append(service.add_document(ctx, site.file(f"d{i}.txt", TEXTS[i % len(TEXTS)] + f" Seite {i}"),
                                        meta)["id"])
    # an older version held the word, the current one does not (and the other way round)
    service.add_version(ctx, ids[0], site.file("v0.txt", "Neue Fassung ohne das Wort"))
    service.add_version(ctx, ids[3], site.file("v3.txt", "Jetzt doch eine Rechnung"))
    return ids


async def search(app, pilot, word: str) -> list[int]:
    box = app.screen.query_one("#docs-query")
    box.value = ""
    await pilot.press("f", *word, "enter")
    await pilot.pause()
    table = app.screen.query_one(RecordTable)
    return [table.record_at(r)["id"] for r in range(table.row_count)]


async def test_the_screen_finds_a_word_as_it_always_did_while_another_process_writes(site, monkeypatch):
    first = site.open()
    ids = a_register(site, first.context("documents"))
    pg = not isinstance(first.store, JournalStore)
    first.close()
    if not pg:  # snapshots cut into segments of 5 documents (the year's are 2,000)
        writer = open_store(site.data_dir, segment_docs=5)
        writer.compact(rewrite=True)
        writer.close()
    notes = []
    bd = site.open()
    other = site.open()  # another operator's session: its own store (the oracle reads it whole)
    try:
        ctx, theirs = bd.context("documents"), other.context("documents")
        app = make_app(bd, poll_interval=0)
        monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append(str(message)))
        async with app.run_test(size=(80, 24)) as pilot:
            app.push_screen(RegisterScreen(ctx))
            await pilot.pause()
            for word in ("rechnung", "RECHNUNG", "rechnungen", "müller", "4711", "fällig", "2024-17", "zzz"):
                want = [w["id"] for w in old_search(theirs, word)]
                assert await search(app, pilot, word) == want, word
                assert notes[-1] == f"{len(want)} documents", word
            assert ids[0] not in want and ids[3] in [w["id"] for w in old_search(theirs, "rechnung")]
            if not pg:  # not loaded: found by the segments' words, kept for the next session
                assert bd.store._states["documents.versions"]._docs is None
                kept = site.data_dir / "documents" / "versions.columns"
                assert kept.is_dir() and os.listdir(kept)
            else:
                assert bd.store._q("SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass "
                                   "AND attname LIKE 'w\\_%%' AND NOT attisdropped",
                                   [bd.store.table("documents", "versions")._rel]).fetchone()[0] == 2
            # another process files, revises, retitles and deletes
            new = service.add_document(theirs, site.file("n.txt", "Ihre Jahresrechnung 2026"), {"title": "Neu"})
            service.add_version(theirs, ids[1], site.file("v1.txt", "ersetzt, ohne das Wort"))
            service.update_document(theirs, ids[4], {"title": "Rechnung April"})
            other.store.table("documents", "documents").delete(ids[6])
            for word in ("rechnung", "rechnungen", "jahresrechnung", "april", "müller"):
                want = [w["id"] for w in old_search(theirs, word)]
                assert await search(app, pilot, word) == want, word
                assert notes[-1] == f"{len(want)} documents", word
            got = await search(app, pilot, "rechnung")
            assert new["id"] in got and ids[4] in got and ids[1] not in got and ids[6] not in got
    finally:
        other.close()
        bd.close()
