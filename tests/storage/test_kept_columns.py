"""A search of a table not loaded: its words, and the columns kept beside the snapshot.

A ``Contains`` whose needle is made of word characters ("rechnung",
"müller", "2026") is answered from a segment's *words* (every run of word
characters of the folded text, with the documents holding it), not from
the text; the columns a session derives from a segment (ids, the values of
a few fields, the words) are kept in ``<ns>/<table>.columns/`` for the next
session, which then decodes no segment (docs/performance.md, "Documents
search from the words"). What every read returns equals what a store
holding the whole table returns.
"""

from __future__ import annotations

import itertools
import os
import random

import pytest

from core.storage import AnyOf, Contains, open_store

pytestmark = pytest.mark.tinydb_only("segments of the TinyDB backend's snapshot files")

SEG = 10
WORDS = ["Rechnung", "Rechnungen", "Stromrechnung", "RECHNUNGSNUMMER", "Straße", "STRASSE", "Müller", "MÜLLER",
         "Mueller", "Köhler", "Grüße", "ﬁnanz", "Σίσυφος", "2026-03", "RE_2026", "re-1234", "Nr.", "a", "ab",
         "x\ty", "Ärger", "ǅemal", "İstanbul", "ﬀ", "½", "e\u0301te", "Zoë"]


def a_register(store, n: int = 73, seed: int = 0) -> None:
    docs = store.table("documents", "versions")
    rng = random.Random(seed)
    with store.transaction():
        for i in range(n):
            words = rng.sample(WORDS, rng.randint(0, 6))
            doc = {"document_id": i // 2 + 1, "number": i % 2 + 1,
                   "text": rng.choice([" ", "\n", ", ", "/"]).join(words),
                   "filename": f"{rng.choice(WORDS)}-{i}.pdf"}
            if i % 5 == 0:
                doc["tags"] = rng.sample(WORDS, 2) + [7]
            if i % 6 == 0:
                doc["fields"] = {"ort": rng.choice(WORDS)}
            if i % 9 == 0:
                doc["text"] = rng.choice([None, 12, ["Rechnung", "Zoë"]])
            docs.insert(doc)


NEEDLES = ["rechnung", "Rechnung", "RECHNUNGEN", "echnun", "strom", "straße", "strasse", "STRAẞE", "müller",
           "MÜLLER", "mueller", "ü", "köhl", "grüsse", "grüße", "finanz", "ﬁnanz", "σίσυφος", "ΣΊΣΥΦΟΣ", "2026",
           "re_2026", "re_", "_", "03", "1234", "nr", "a", "x", "istanbul", "i̇stanbul", "ff", "½", "e\u0301", "zoë",
           "nichts", "7", "12", "pdf",
           # not words alone: tested on the texts, as before
           "re-1234", "2026-03", "nr.", "x\ty", "rechnung mai", "-", ".pdf", ""]
PATHS = ["text", ("filename", "text"), "tags", ("text", "tags", "fields.ort"), "fields.ort"]


@pytest.fixture
def register(data_dir):
    writer = open_store(data_dir, segment_docs=SEG)
    a_register(writer)
    writer.compact()
    yield writer
    writer.close()


def lazy(data_dir, **kw):
    return open_store(data_dir, lazy_tables=True, segment_docs=SEG, **kw)


def kept(data_dir) -> list[str]:
    folder = data_dir / "documents" / "versions.columns"
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def test_a_search_by_words_finds_what_the_texts_test_finds(register, data_dir):
    """Every needle, on every field set, in a fresh session (words built from
    the segments) and the next (words read from the kept files): the same
    documents, count and pages as the whole table's scan; umlauts, ß/ss,
    ligatures, final sigma, combining marks, digits and "_" included."""
    whole = register.table("documents", "versions")
    with register.transaction():  # written since the snapshot: laid over
        whole.update(3, {"text": "Stromrechnungen für Müller"})
        whole.delete(4)
        whole.insert({"document_id": 99, "number": 1, "text": "RECHNUNG Straße", "filename": "x.pdf"})
    for session in range(2):
        store = lazy(data_dir)
        part = store.table("documents", "versions")
        for needle, path in itertools.product(NEEDLES, PATHS):
            where = {path: Contains(needle)}
            want = whole.find(where)
            assert part.count(where) == len(want), where
            assert part.find(where, fields=("document_id", "number")) == \
                [{"id": d["id"], "document_id": d["document_id"], "number": d["number"]} for d in want], where
            assert part.find(where, order_by="-id", limit=3) == want[::-1][:3], where
        assert not store._states["documents.versions"]._docs  # never loaded
        store.close()
        assert kept(data_dir)  # the first session kept its columns for the second


def test_the_next_session_reads_the_kept_columns_not_the_segments(register, data_dir, monkeypatch):
    """A second session's search decodes no segment: ids, the fields asked
    for and the words come from the kept files; a page of whole documents
    decodes only its documents (where each starts is kept too)."""
    from core.storage import files

    whole = register.table("documents", "versions")
    first = lazy(data_dir)
    where = {("filename", "text"): Contains("rechnung")}
    first.table("documents", "versions").find(where, fields=("document_id",))
    first.table("documents", "versions").find(where, order_by="-id", limit=2)
    first.close()
    decoded = []
    real = files.segment_docs
    monkeypatch.setattr(files, "segment_docs", lambda *a, **kw: decoded.append(kw.get("positions")) or real(*a, **kw))
    second = lazy(data_dir)
    part = second.table("documents", "versions")
    assert part.count(where) == whole.count(where) > SEG
    found = part.find(where, fields=("document_id",))
    assert [d["id"] for d in found] == [d["id"] for d in whole.find(where)]
    assert part.find({"id": AnyOf([d["id"] for d in found])}, fields=("document_id",)) == found
    assert decoded == []
    assert part.find(where, order_by="-id", limit=2) == whole.find(where, order_by="-id", limit=2)
    assert decoded and all(p is not None and len(p) <= 2 for p in decoded)  # only the page's documents
    second.close()


def test_kept_columns_follow_the_segments_through_compactions(register, data_dir):
    """A document changed and compacted: its segment's columns are not used
    (they name the old segment) and are removed at the compaction after;
    those of unchanged segments stay. A damaged or foreign file is built
    again; a read-only session reads them but writes none."""
    whole = register.table("documents", "versions")
    where = {"text": Contains("rechnung")}
    first = lazy(data_dir)
    first.table("documents", "versions").count(where)
    first.close()
    before = kept(data_dir)
    with register.transaction():
        whole.update(2, {"text": "keine"})
        whole.update(5, {"text": "Rechnung"})
    register.compact()
    after = kept(data_dir)
    gone = set(before) - set(after)
    assert gone and all(name.startswith("1-10-") for name in gone)  # the first segment's
    assert set(after) <= set(before)
    second = lazy(data_dir)
    assert second.table("documents", "versions").count(where) == whole.count(where)
    assert second.table("documents", "versions").find(where) == whole.find(where)
    second.close()
    folder = data_dir / "documents" / "versions.columns"
    names = kept(data_dir)
    for i, name in enumerate(names):  # damaged, empty, another segment's, another column's
        path = folder / name
        if i % 3 == 0:
            path.write_bytes(b"{not json")
        elif i % 3 == 1:
            path.write_bytes(b"")
        else:
            path.write_bytes((folder / names[(i + 1) % len(names)]).read_bytes())
    third = lazy(data_dir)
    for needle, path in itertools.product(["rechnung", "ü", "2026", "re-1234"], PATHS):
        w = {path: Contains(needle)}
        assert third.table("documents", "versions").find(w) == whole.find(w), w
    third.close()
    for name in os.listdir(folder):
        os.unlink(folder / name)
    reader = lazy(data_dir, read_only=True)
    assert reader.table("documents", "versions").count(where) == whole.count(where)
    reader.close()
    assert kept(data_dir) == []
