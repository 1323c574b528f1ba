"""A search for a word on both backends: the same documents as the text's test.

``store.table(..., words=("filename", "text"))`` names the fields searched
for words (the documents' file names and OCR texts). A ``Contains`` whose
needle is one word ("rechnung", "müller", "2026") is then answered from
each field's words — PostgreSQL: a stored generated column of the field's
words with a trigram index (a few hundred bytes tested per row, not the
text); TinyDB: a segment's words (tests/storage/test_kept_columns.py) — and
finds exactly what the text's test finds, whoever writes the documents.
"""

from __future__ import annotations

import itertools
import random

import pytest

from core.storage import Contains, Not

WORDS = ["Rechnung", "Rechnungen", "Stromrechnung", "RECHNUNGSNUMMER", "Straße", "Müller", "MÜLLER", "Mueller",
         "Köhler", "Grüße", "Ärger", "2026-03", "RE_2026", "re-1234", "Nr.", "a", "ab", "x\ty", "50%", "Zoë",
         "ÉCOLE", "İstanbul", "ǅemal", "e\u0301te", "back\\slash"]
NEEDLES = ["rechnung", "Rechnung", "RECHNUNGEN", "echnun", "strom", "straße", "müller", "MÜLLER", "mueller", "ü",
           "köhl", "ärger", "ÄRGER", "2026", "03", "1234", "nr", "a", "x", "zoë", "école", "stanbul", "ǆemal",
           "e\u0301", "nichts", "12", "pdf", "slash",
           # not one word: the text's test, as before
           "re-1234", "2026-03", "re_2026", "_", "nr.", "x\ty", "50%", "%", "rechnung mai", "-", ".pdf", "", "\\"]
PATHS = ["text", ("filename", "text"), "tags", ("text", "tags", "fields.ort")]


def a_document(rng: random.Random, i: int) -> dict:
    doc = {"document_id": i // 2 + 1, "number": i % 2 + 1,
           "text": rng.choice([" ", "\n", ", ", "/"]).join(rng.sample(WORDS, rng.randint(0, 6))),
           "filename": f"{rng.choice(WORDS)}-{i}.pdf"}
    if i % 5 == 0:
        doc["tags"] = rng.sample(WORDS, 2) + [7]
    if i % 6 == 0:
        doc["fields"] = {"ort": rng.choice(WORDS)}
    if i % 9 == 0:
        doc["text"] = rng.choice([None, 12, ["Rechnung", "Zoë"], {"a": "Rechnung"}])
    return doc


def test_a_word_is_found_where_the_text_holds_it(target):
    """Every needle, alone, over several fields, under Not, counted and
    paged: the words' answer equals the text's (a table without words, the
    same documents); then another writer inserts, changes and deletes
    documents and the answers still agree."""
    store, other = target.open(), target.open()
    try:
        searched = store.table("documents", "versions", words=("filename", "text", "tags"))
        plain = store.table("documents", "plain")
        rng = random.Random(7)
        with store.transaction():
            for i in range(60):
                doc = a_document(rng, i)
                searched.insert(doc)
                plain.insert(doc)

        def agree():
            for needle, path in itertools.product(NEEDLES, PATHS):
                for where in ({path: Contains(needle)}, {path: Not(Contains(needle))},
                              {path: Contains(needle), "number": 1}):
                    assert searched.find(where) == plain.find(where), where
                    assert searched.count(where) == plain.count(where), where
                assert searched.find({path: Contains(needle)}, order_by="-id", limit=4, fields=("document_id",)) \
                    == plain.find({path: Contains(needle)}, order_by="-id", limit=4, fields=("document_id",))

        agree()
        if target.pg:  # the columns of words exist, and the searches use them
            cols = {r[0] for r in store._q(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attname LIKE 'w\\_%%' "
                "AND NOT attisdropped", [searched._rel]).fetchall()}
            assert len(cols) == 3
            sql, params, _pinned = searched._compile({"text": Contains("rechnung")})
            plan = "\n".join(r[0] for r in store._q(f"EXPLAIN SELECT id FROM {searched._rel} WHERE {sql}",
                                                       params).fetchall())
            assert "w_" in plan and "~~*" not in plan  # the words' LIKE, not the text's ILIKE
        # another process writes: the words follow every insert, update, delete
        theirs_s = other.table("documents", "versions", words=("filename", "text", "tags"))
        theirs_p = other.table("documents", "plain")
        with other.transaction():
            for doc_id in (1, 2, 3, 10, 18):
                change = a_document(rng, doc_id + 100)
                theirs_s.update(doc_id, change)
                theirs_p.update(doc_id, change)
            for doc_id in (4, 27):
                theirs_s.delete(doc_id)
                theirs_p.delete(doc_id)
            for i in range(5):
                doc = a_document(rng, 200 + i)
                theirs_s.insert(doc)
                theirs_p.insert(doc)
            theirs_s.update(5, {"text": "Stromrechnungen für Müller"})
            theirs_p.update(5, {"text": "Stromrechnungen für Müller"})
        store.refresh()
        agree()
        assert [d["id"] for d in searched.find({"text": Contains("rechnungen")})] == \
            [d["id"] for d in plain.find({"text": Contains("rechnungen")})] and \
            5 in [d["id"] for d in searched.find({"text": Contains("rechnungen")})]
    finally:
        other.close()
        store.close()
