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
from tests.conftest import open_raw_store
from plugins.documents import DOCUMENT_WORDS, models, service
from plugins.documents.screens import RegisterScreen

from test_documents_search_pages import old_search

TEXTS = ["Die Rechnung Nr. 2024-17 ist fällig.", "Ihre Stromrechnungen für 2025", "RECHNUNGSNUMMER 4711",
         "Angebot Kopierer", "Gemäß Vertrag wird die Wartung fällig.", "Grüße von Müller",
         "Mahnung: die rechnung ist offen", "Straßenreinigung Bescheid", "ſtraße und Maße"]


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
            for word in ("rechnung", "RECHNUNG", "rechnungen", "müller", "4711", "fällig", "2024-17", "zzz",
                         "strasse", "STRASSE", "straße", "masse", "rechnungsnummer", "müller rechnung"):
                found = old_search(theirs, word)
                want = [w["id"] for w in found]
                assert await search(app, pilot, word) == want, word
                assert notes[-1] == f"{len(want)} documents", word
                # the line under the table: the snippet of the row the cursor is on
                line = str(app.screen.query_one("#docs-snippet").render())
                cursor = app.screen.query_one(RecordTable).cursor_record
                shown = next((w["snippet"] for w in found if cursor and w["id"] == cursor["id"]), None)
                assert (shown in line and line.startswith(f"#{cursor['id']} ")) if found else line == "", (word, line)
            assert ids[0] not in want and ids[3] in [w["id"] for w in old_search(theirs, "rechnung")]
            if not pg:  # not loaded: found by the segments' words, kept for the next session
                assert bd.store._states["documents.documents"]._docs is None
                assert bd.store._states["documents.versions"]._docs is None
                kept = site.data_dir / "documents" / "documents.columns"
                assert kept.is_dir() and os.listdir(kept)
            else:  # the documents' fields searched by columns of their words
                assert bd.store._q("SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass "
                                   "AND attname LIKE 'w\\_%%' AND NOT attisdropped",
                                   [bd.store.table("documents", "documents", version=2)._rel]
                                   ).fetchone()[0] == len(DOCUMENT_WORDS)
            # another process files, revises, retitles and deletes
            new = service.add_document(theirs, site.file("n.txt", "Ihre Jahresrechnung 2026"), {"title": "Neu"})
            service.add_version(theirs, ids[1], site.file("v1.txt", "ersetzt, ohne das Wort"))
            service.update_document(theirs, ids[4], {"title": "Rechnung April"})
            theirs.table("documents").delete(ids[6])
            for word in ("rechnung", "rechnungen", "jahresrechnung", "april", "müller"):
                want = [w["id"] for w in old_search(theirs, word)]
                assert await search(app, pilot, word) == want, word
                assert notes[-1] == f"{len(want)} documents", word
            got = await search(app, pilot, "rechnung")
            assert new["id"] in got and ids[4] in got and ids[1] not in got and ids[6] not in got
    finally:
        other.close()
        bd.close()


def test_each_document_keeps_the_words_of_its_current_file(site, ctx):
    """Filing, a new version and both copies write the words of the current
    file on the document; a write around the service that makes another
    version current leaves them unknown, and the search reads the versions
    for it until the worker's round fills them in again."""
    docs = ctx.table("documents")
    first = service.add_document(ctx, site.file("rechnung-7.txt", "Die Rechnung, bitte zahlen!"), {"title": "Eins"})
    assert (first["file_words"], first["file_words_version"]) == ("rechnung 7 txt die bitte zahlen", 1)
    assert first["fields_words"] == f"eins {first['asn']}"
    second = service.add_version(ctx, first["id"], site.file("mahnung.txt", "Mahnung ohne das Wort. Straße"))
    assert (second["file_words"], second["file_words_version"]) == ("mahnung txt ohne das wort strasse", 2)
    copy = service.copy_document(ctx, first["id"], title="Kopie")
    assert (copy["file_words"], copy["file_words_version"]) == (second["file_words"], 1)
    other = service.add_document(ctx, site.file("brief.txt", "Ein Brief"), {"title": "Zwei"})
    into = service.copy_document(ctx, first["id"], into=other["id"])
    assert (into["file_words"], into["file_words_version"]) == (second["file_words"], 2)
    assert [d["id"] for d in service.search(ctx, "zahlen")] == []
    assert [d["id"] for d in service.search(ctx, "mahnung")] == [other["id"], copy["id"], first["id"]]
    # around the service: version 1 is current again; its words are not the document's
    docs.update(first["id"], {"current_version": 1})
    assert (docs.get(first["id"])["file_words"], docs.get(first["id"])["file_words_version"]) == (None, None)
    assert service.SearchResults(ctx, "zahlen")._where is None  # the versions read
    assert [d["id"] for d in service.search(ctx, "zahlen")] == [first["id"]]
    from plugins.documents import worker

    worker.run_once(ctx)  # the background worker's round
    assert docs.get(first["id"])["file_words_version"] == 1
    assert service.SearchResults(ctx, "zahlen")._where is not None
    assert [d["id"] for d in service.search(ctx, "zahlen")] == [first["id"]]
    assert [d["id"] for d in service.search(ctx, "mahnung")] == [other["id"], copy["id"]]
    # the ASN's digits, wherever it came from
    docs.update(copy["id"], {"asn": 4711})
    assert [d["id"] for d in service.search(ctx, "471")] == [copy["id"]]


def test_documents_filed_before_get_their_words_while_another_process_files(site):
    """A register written before the documents kept their words (schema
    version 1) is migrated when Backdesk opens it (each document's ASN as
    text; the words unknown), the search reads the versions meanwhile, and
    ``fill_file_words`` fills them in batches while another process files,
    revises and deletes: afterwards every document holds the words of its
    current version and the search finds what it always found, by one query."""
    raw = open_raw_store(site.config_dir, site.data_dir)
    try:  # the register as the code before wrote it
        old_docs, old_versions = raw.table("documents", "documents"), raw.table("documents", "versions")
        for i in range(23):
            doc_id = old_docs.insert({"title": f"{['Brief', 'Vorgang', 'Rechnung März'][i % 3]} {i}",
                                      "correspondent": "Müller GmbH", "type": "", "tags": [], "location": "",
                                      "fields": {}, "asn": 100 + i, "current_version": 1 + i % 2, "direction": "incoming"})
            for n in range(1, 2 + i % 2):
                old_versions.insert({"document_id": doc_id, "number": n, "filename": f"d{i}-{n}.txt",
                                     "text": TEXTS[(i + n) % len(TEXTS)], "sha256": "0" * 64, "size": 1})
    finally:
        raw.close()
    bd, other = site.open(), site.open()
    try:
        ctx, theirs = bd.context("documents"), other.context("documents")
        docs = ctx.table("documents")
        assert all(d["file_words_version"] is None and d["fields_words"].endswith(f" {d['asn']}") for d in docs.all())
        for word in ("rechnung", "müller", "fällig", "110", "zzz", "strasse"):
            assert [d["id"] for d in service.search(ctx, word, limit=None)] == \
                [d["id"] for d in old_search(theirs, word)], word
        filled = []
        while True:
            filled.append(service.fill_file_words(ctx, limit=5))
            if not filled[-1]:
                break
            # another process meanwhile: a new document, a revision, a deletion
            n = len(filled)
            service.add_document(theirs, site.file(f"n{n}.txt", f"Jahresrechnung {n}"), {"title": f"Neu {n}"})
            service.add_version(theirs, 22 - n, site.file(f"r{n}.txt", "Korrektur ohne das Wort"))
            if n == 2:
                theirs.table("documents").delete(17)
        # batches of five until none is left (those revised before their batch came
        # have their words from the service already; one was deleted)
        assert filled[-1] == 0 and all(0 < f <= 5 for f in filled[:-1]) and sum(filled) < 23, filled
        versions = {(v["document_id"], v["number"]): v for v in ctx.table("versions").all()}
        for d in docs.all():  # every document holds the words of its current version
            v = versions[(d["id"], d["current_version"])]
            assert (d["file_words"], d["file_words_version"]) == \
                (models.words_of(v["filename"], v["text"]), d["current_version"]), d["id"]
        for word in ("rechnung", "jahresrechnung", "korrektur", "müller", "fällig", "110", "zzz", "strasse", "straße",
                     "grüße rechnung"):
            results = service.SearchResults(ctx, word)
            want = old_search(theirs, word)
            assert results._where is not None, word
            assert [d["id"] for d in results.page(0, 100)] == [d["id"] for d in want], word
            assert results.count() == len(want), word
    finally:
        other.close()
        bd.close()
