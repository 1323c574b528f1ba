"""Documents search asks the store, a page at a time, and finds what the
register always found (both backends).

``old_search`` is the search as it was before (every document and every
version read, each document's text tested in Python); the store's answers
must equal it on a mixed set: words in titles, tags, custom fields, ASNs,
texts of current and of older versions, phrases, "ß"/"ﬁ"/"ſ" that
casefolding changes, filters, the register's ``/``.
"""

from __future__ import annotations

import pytest

from plugins.documents import models, service
from plugins.documents.screens import RegisterScreen


def old_search(ctx, query: str) -> list[dict]:
    """The search before paging (plugins/documents/service.py until #23), as the oracle."""
    terms, filters = service.parse_query(query)
    docs = ctx.table("documents").find(None, order_by=["-asn"])
    current = {(v["document_id"], v["number"]): v for v in ctx.table("versions").all()}
    out = []
    for doc in docs:
        if "tag" in filters and not any(models.tag_matches(t, filters["tag"]) for t in doc.get("tags") or []):
            continue
        if "type" in filters and (doc.get("type") or "").casefold() != filters["type"].casefold():
            continue
        if "from" in filters and filters["from"].casefold() not in (doc.get("correspondent") or "").casefold():
            continue
        if "dir" in filters and doc.get("direction") != filters["dir"]:
            continue
        version = current.get((doc["id"], doc.get("current_version")))
        if terms:
            parts = [doc.get("title") or "", doc.get("correspondent") or "", doc.get("type") or "",
                     " ".join(doc.get("tags") or []), doc.get("location") or "",
                     " ".join(str(v) for v in (doc.get("fields") or {}).values()), str(doc.get("asn") or "")]
            if version is not None:
                parts.append(f"{version.get('filename') or ''}\n{version.get('text') or ''}")
            hay = "\n".join(parts).casefold()
            if not all(t in hay for t in terms):
                continue
        out.append({"id": doc["id"], "snippet": service.snippet(version.get("text") or "", terms)
                    if version and terms else ""})
    return out


TITLES = ["Rechnung März", "Angebot Kopierer", "Straßenreinigung Bescheid", "Lieferschein 4711",
          "Vertrag Wartung", "Mahnung zweite", "Protokoll Sitzung", "Finanzamt Bescheid"]
PEOPLE = ["Müller GmbH", "Schmidt & Co. KG", "Weiß AG", "Groß e.K.", "ACME Ltd"]
TEXTS = ["Die Rechnung Nr. 2024-17 ist fällig.", "Bitte zahlen Sie an das ﬁnanzamt.",
         "Kopierer Modell X200 im Angebot", "Gemäß Vertrag wird die Wartung jährlich fällig.",
         "Der Straßenausbau beginnt im Mai.", "Grüße aus der Buchhaltung", "Lieferung 4711 vollständig",
         "Protokoll: Sitzung am Montag, ſtraße genannt"]

QUERIES = [
    "", "rechnung", "RECHNUNG", "rechnung märz", "4711", "47", "1", "2024-17", "strasse", "straße", "STRASSE",
    "finanzamt", "ﬁnanzamt", "weiss", "weiß", "gross", "groß", "müller", "mueller", "kopierer x200",
    '"kopierer modell"', '"modell kopierer"', '"rechnung nr."', "wartung", "alt-text", "nur-alt",
    "tag:finance", "tag:finance/invoices", "tag:FINANCE", "tag:fin", "type:invoice", "type:INVOICE",
    "type:inv", "from:müller", "from:gmbh", "dir:incoming", "dir:outgoing", "dir:in", "rechnung dir:incoming", "k-42", "kst 7",
    "bescheid tag:finance", "x", "e", "ss", "st", "fi", "σ", "zzz-nothing", "gmbh ag", "sitzung ſtraße",
]


@pytest.fixture
def mixed(site, ctx):
    """About forty documents of several kinds; a few with older versions whose text differs."""
    service.add_type(ctx, "Invoice", retention_years=10, fields=["Kostenstelle", "Nummer"])
    service.add_type(ctx, "Letter")
    ids = []
    for i in range(40):
        meta = {"title": f"{TITLES[i % len(TITLES)]} {i}", "correspondent": PEOPLE[i % len(PEOPLE)],
                "tags": ["finance/invoices"] if i % 4 == 0 else (["finance"] if i % 4 == 1 else ["office"]),
                "direction": "incoming" if i % 3 else "outgoing"}
        if i % 5 == 0:
            meta.update(type="Invoice", fields={"Kostenstelle": f"KST {i % 9}", "Nummer": f"K-{i}"})
        elif i % 5 == 1:
            meta["type"] = "Letter"
        doc = service.add_document(ctx, site.file(f"doc{i}.txt", TEXTS[i % len(TEXTS)] + f" Seite {i}"), meta)
        ids.append(doc["id"])
    for n, i in enumerate((3, 9, 17, 28)):
        service.add_version(ctx, ids[i], site.file(f"v{i}.txt", f"Neue Fassung {i}, nur-alt nicht mehr"))
    # the older version is current again for two of them: their newest text must not be found
    ctx.table("documents").update(ids[3], {"current_version": 1})
    ctx.table("documents").update(ids[28], {"current_version": 1})
    service.add_version(ctx, ids[9], site.file("v9b.txt", "alt-text in Fassung drei"))
    return ids


@pytest.mark.parametrize("filled", [False, True], ids=["words-unknown", "words-filled"])
def test_the_store_finds_what_reading_every_document_found(site, ctx, mixed, filled):
    # two documents' current version was set back around the service: their file's words
    # are unknown until filled in (then words alone are one query of the documents)
    docs = ctx.table("documents")
    assert [docs.get(mixed[i])["file_words_version"] for i in (3, 28)] == [None, None]
    if filled:
        assert service.fill_file_words(ctx) == 2 and service.fill_file_words(ctx) == 0
        assert docs.get(mixed[3])["file_words_version"] == 1 and "nur" not in docs.get(mixed[3])["file_words"]
    assert (service.SearchResults(ctx, "rechnung")._where is not None) is filled
    for query in QUERIES:
        want = old_search(ctx, query)
        results = service.SearchResults(ctx, query)
        got = results.page(0, 1000)
        assert [(h["id"], h["snippet"]) for h in got] == [(w["id"], w["snippet"]) for w in want], query
        assert results.count() == len(want), query
        # pages of 7 put together are the same list
        paged = [h["id"] for o in range(0, len(want) + 7, 7) for h in results.page(o, 7)]
        assert paged == [w["id"] for w in want], query
        assert [h["id"] for h in service.search(ctx, query, limit=5)] == [w["id"] for w in want][:5], query
    # 17: its version 2 is current; 3 and 28 point at version 1 again; 9 has a version 3
    assert service.SearchResults(ctx, "nur-alt").count() == 1
    assert service.SearchResults(ctx, "alt-text").count() == 1


def test_the_register_without_words_pages_by_asn_after_the_last_row(site, ctx, mixed):
    """A search without words reads each next page after the last row shown
    (ASN below it; ties by id; documents without an ASN last, by id) and
    the pages put together are the register's order."""
    table = ctx.table("documents")
    # two documents share an ASN, two have none (imported that way)
    table.update(mixed[5], {"asn": table.get(mixed[6])["asn"]})
    table.update(mixed[7], {"asn": None})
    table.update(mixed[12], {"asn": None})
    want = [w["id"] for w in old_search(ctx, "")]
    assert want == [d["id"] for d in sorted(table.all(), key=service._search_order)]
    assert want[-2:] == sorted([mixed[7], mixed[12]])
    results = service.SearchResults(ctx, "")
    for size in (1, 3, 7, 100):
        assert _pages_after_the_last_row(results, size) == want, size
    assert results.count() == len(want)
    # the same rows a jump by offset reads
    assert [h["id"] for h in results.page(30, 20)] == want[30:]


def _pages_after_the_last_row(results, size: int) -> list[int]:
    """Every page of ``results``, each read after the last row of the one
    before (the offset is what a jump would ask for; after a row, the row
    decides): the ids, in order."""
    got, last = [], None
    while True:
        page = results.page(10**6 if last else 0, size, after=last)
        got += [h["id"] for h in page]
        if len(page) < size:
            return got
        last = page[-1]


def test_the_words_pages_are_the_registers_order_by_offset_and_after_the_last_row(site, ctx, mixed):
    """Words found by one query of the documents: each page read after the
    last row shown or by an offset (a jump) — documents with an ASN first,
    highest first, ties by id, those without one last by id — put together
    are the old search's list."""
    table = ctx.table("documents")
    table.update(mixed[5], {"asn": table.get(mixed[6])["asn"]})
    for i in (7, 12, 30):
        table.update(mixed[i], {"asn": None})
    service.fill_file_words(ctx)
    for query in ("rechnung", "müller", "seite", "grüße buchhaltung", "fällig", "ſtraße"):
        want = [w["id"] for w in old_search(ctx, query)]
        results = service.SearchResults(ctx, query)
        assert results._where is not None and results.count() == len(want), query
        for size in (1, 3, 7, 100):
            assert _pages_after_the_last_row(results, size) == want, (query, size)
            assert [h["id"] for o in range(0, len(want) + size, size) for h in results.page(o, size)] == want, \
                (query, size)
    assert [w["id"] for w in old_search(ctx, "seite")][-3:] == sorted(mixed[i] for i in (7, 12, 30))


def test_the_registers_slash_narrows_by_asn_title_type_and_correspondent(site, ctx, mixed):
    for query, shown in (("", "müller"), ("", "invoice"), ("rechnung", "2"), ("", "straß"), ("tag:finance", "ag"),
                         ("", "zzz")):
        rows, folded = old_search(ctx, query), shown.casefold()  # the table hands the filter over folded
        docs = {d["id"]: d for d in ctx.table("documents").all()}
        want = [r["id"] for r in rows
                if folded in str(docs[r["id"]]["asn"]) or folded in "\n".join(
                    str(docs[r["id"]].get(k) or "") for k in ("title", "type", "correspondent")).casefold()]
        got = service.SearchResults(ctx, query, shown=shown)
        assert [h["id"] for h in got.page(0, 1000)] == want and got.count() == len(want), (query, shown)


async def test_the_register_pages_the_results_and_counts_against_them_all(site, bd, ctx, mixed):
    from core.shell.app import make_app
    from core.shell.widgets import RecordTable

    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RegisterScreen(ctx))
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        assert table.row_count == 40 and table.cursor_record["id"] == old_search(ctx, "")[0]["id"]
        await pilot.press("f", *"rechnung", "enter")
        await pilot.pause()
        want = old_search(ctx, "rechnung")
        assert table.row_count == len(want) == 5
        assert [table.record_at(r)["id"] for r in range(table.row_count)] == [w["id"] for w in want]
        await pilot.press("slash", *"müller")
        await pilot.pause()
        lines = [table.render_line(y).text for y in range(table.scrollable_content_region.height)]
        narrowed = [w["id"] for w in want if ctx.table("documents").get(w["id"])["correspondent"] == "Müller GmbH"]
        assert table.row_count == len(narrowed) and any(f"{len(narrowed)} of {len(want)}" in line for line in lines), lines


def test_what_casefolding_changes_is_found_block_by_block():
    """service._folds passes over blocks whose casefold is their lower case:
    the same characters and sequences as testing each of the BMP's."""
    chars, seqs = set(), set()
    for cp in range(0x10000):
        folded = chr(cp).casefold()
        if folded != chr(cp).lower():
            (chars if len(folded) == 1 else seqs).add(folded)
    assert service._folds() == (frozenset(chars), tuple(sorted(seqs)))
    assert "ss" in seqs and "σ" in chars
