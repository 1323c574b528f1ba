"""Bad input on the command line: one readable line, exit 2, nothing stored.

Amounts finer than the books keep, dates outside 1900–2199, imports that
post to unknown accounts, an empty amount, CSV files the csv module would
misread, control characters in typed or imported text, and click's own
usage errors. Each assertion looks at what the operator sees and at what
the store holds afterwards.
"""

from __future__ import annotations

import json

import pytest

from core.errors import ValidationError

ALL = ["telephony", "documents", "it", "accounting", "hr"]
OSC = "\x1b]0;pwned\x07"


@pytest.fixture
def demo_site(backdesk_site):
    site = backdesk_site
    site.plugins(ALL)
    result = site.cli("demo")
    assert result.code == 0, result.stderr
    return site


def refused(result, *words) -> str:
    assert result.code == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "internal error" not in lines[0] and "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def count(site, table) -> int:
    bd = site.open("alice")
    try:
        return bd.table(table).count()
    finally:
        bd.close()


def test_amounts_finer_than_the_books_and_an_empty_amount_are_refused(demo_site):
    site = demo_site
    entries = count(site, "accounting.entries")
    refused(site.cli("accounting", "post", "--date", "2026-03-02", "-d", "Rent split",
                     "expenses:rent=0.005", "expenses:it=0.005", "assets:bank:checking=-0.01"),
            "posting 1: 0.005 has more than 2 decimals")
    assert count(site, "accounting.entries") == entries

    bd = site.open("alice")
    bill = next(b for b in bd.table("accounting.bills").all() if b["status"] == "approved")
    bd.close()
    refused(site.cli("accounting", "pay", str(bill["id"]), "--amount", ""), "amount is empty")
    refused(site.cli("accounting", "pay", str(bill["id"]), "--amount", "1.001"), "more than 2 decimals")
    bd = site.open("alice")
    assert bd.table("accounting.bills").get(bill["id"])["status"] == "approved"
    bd.close()
    assert count(site, "accounting.entries") == entries


@pytest.mark.parametrize("args, words", [
    (["accounting", "post", "--date", "9999-12-31", "-d", "x", "expenses:rent=1", "assets:bank:checking=-1"],
     ["9999-12-31 is outside the years 1900–2199"]),
    (["accounting", "close", "0000-01"], ["0000-01 is outside"]),
    (["accounting", "close", "9999-12"], ["9999-12 is outside"]),
    (["accounting", "payroll", "run", "--period", "9999-12"], ["9999-12 is outside"]),
    (["audit", "list", "--until", "9999-12-31"], ["until", "outside the years"]),
    (["audit", "list", "--since", "0001-01-01T00:00"], ["since", "outside the years"]),
    (["hr", "warn", "1", "--level", "verbal", "--reason", "late", "--date", "1850-01-01"], ["1850-01-01"]),
    (["hr", "hire", "6", "--start", "2300-01-01", "--salary", "3000"], ["2300-01-01"]),
    (["it", "assets", "add", "LAP-9", "--type", "computer", "--warranty-end", "3000-01-01"], ["3000-01-01"]),
])
def test_dates_outside_1900_to_2199_are_refused_everywhere(demo_site, args, words):
    site = demo_site
    audit = count(site, "core.audit")
    refused(site.cli(*args), *words)
    assert count(site, "core.audit") == audit  # nothing was written


def test_documents_and_people_refuse_such_dates_too(demo_site, tmp_path):
    site = demo_site
    scan = tmp_path / "scan.txt"
    scan.write_text("A letter\n")
    refused(site.cli("docs", "add", scan, "--title", "Letter", "--date", "0001-01-01"), "0001-01-01 is outside")
    people = tmp_path / "people.csv"
    people.write_text("name,department,start_date\nAda Lovelace,IT,1815-12-10\n")
    refused(site.cli("people", "import", people), "line 2", "1815-12-10 is outside")


def test_imports_and_post_agree_on_unknown_accounts(demo_site, tmp_path):
    site = demo_site
    entries = count(site, "accounting.entries")
    refused(site.cli("accounting", "post", "--date", "2026-03-02", "-d", "Trip",
                     "expenses:travel:moon=10", "assets:bank:checking=-10"), "no account expenses:travel:moon")
    journal = tmp_path / "trip.journal"
    journal.write_text("2026-03-02 Trip\n    expenses:travel:moon  10 EUR\n    assets:bank:checking\n\n"
                       "2026-03-03 Trip back\n    expenses:travel:mars  12 EUR\n    assets:bank:checking\n")
    refused(site.cli("accounting", "import", journal),
            "2 accounts not in the chart: expenses:travel:moon (line 2), expenses:travel:mars (line 6)",
            "--create-accounts")
    assert count(site, "accounting.entries") == entries
    result = site.cli("accounting", "import", journal, "--create-accounts")
    assert result.code == 0, result.stderr
    assert "added 2 account(s) to the chart: expenses:travel:moon, expenses:travel:mars" in result.stdout
    assert count(site, "accounting.entries") == entries + 2
    # now the chart has them, post takes them as well
    result = site.cli("accounting", "post", "--date", "2026-03-04", "-d", "Again",
                      "expenses:travel:moon=5", "assets:bank:checking=-5")
    assert result.code == 0, result.stderr
    assert site.cli("accounting", "accounts", "add", "expenses:travel:venus").code == 0
    assert "expenses:travel:venus" in site.cli("accounting", "accounts").stdout


UNTERMINATED = {
    "it assets import": ("tag,type,model\nLAP-1,laptop,\"ThinkPad X1\nLAP-2,laptop,Latitude\n", "it.assets"),
    "people import": ("name,department\n\"Ada Lovelace,IT\nBob Builder,IT\n", "core.people"),
    "phone list import": ("name,number\n\"Acme,+4930123456\nBeta,+4930654321\n", "telephony.contacts"),
}


@pytest.mark.parametrize("command", sorted(UNTERMINATED))
def test_an_unterminated_quote_is_refused_with_its_line(demo_site, tmp_path, command):
    site = demo_site
    text, table = UNTERMINATED[command]
    path = tmp_path / "broken.csv"
    path.write_text(text)
    before = count(site, table)
    refused(site.cli(*command.split(), path), "line 2: a quote opened on this line is never closed")
    assert count(site, table) == before


def test_a_bank_statement_with_a_broken_quote_or_a_huge_cell_is_refused(demo_site, tmp_path):
    site = demo_site
    path = tmp_path / "bank.csv"
    path.write_text('date,amount,description\n2026-03-01,-10.00,"Coffee\n2026-03-02,-20.00,Tea\n')
    refused(site.cli("accounting", "import", "--bank", path), "line 2: a quote opened")
    path.write_text("name,department\n" + "x" * 140_000 + ",IT\n")
    refused(site.cli("people", "import", path), "line 2: a cell is longer than")


def test_control_characters_are_refused_where_text_is_stored(demo_site, tmp_path):
    site = demo_site
    refused(site.cli("phone", "message", "--for", "1", "--text", f"call back {OSC}"),
            "text: contains ESC (U+001B)")
    refused(site.cli("docs", "add", tmp_path, "--title", f"x{OSC}"))  # a folder: refused before the title
    scan = tmp_path / "scan.txt"
    scan.write_text("A letter\n")
    refused(site.cli("docs", "add", scan, "--title", f"Invoice \u202egpj.exe"), "title: contains RLO (U+202E)")
    people = tmp_path / "people.csv"
    people.write_text(f"name,department\nEve {OSC},IT\n")
    refused(site.cli("people", "import", people), "line 2", "ESC (U+001B)")
    journal = tmp_path / "evil.journal"
    journal.write_text(f"2026-03-02 Rent {OSC}\n    expenses:rent  10 EUR\n    assets:bank:checking\n")
    refused(site.cli("accounting", "import", journal), "ESC (U+001B)")
    result = site.cli("export", "core.people")
    assert "pwned" not in result.stdout and "Eve" not in result.stdout

    # a plugin writing straight to its table meets the same wall at commit
    bd = site.open("alice")
    tickets = bd.context("it").table("tickets")
    n = tickets.count()
    with pytest.raises(ValidationError, match="title: contains ESC"):
        tickets.insert({"title": f"printer {OSC}", "status": "open"})
    assert tickets.count() == n
    # text from outside (a file's content) is stored with the controls made visible
    from core.safetext import scrub

    assert scrub("line one\r\nline two\x0c\x1b[2J") == "line one\nline two␌␛[2J"
    bd.close()


def test_usage_errors_are_one_line(demo_site):
    site = demo_site
    for args, words in [
        (["people", "import"], ["Missing argument 'FILE'", "backdesk people import --help"]),
        (["nosuchcommand"], ["No such command 'nosuchcommand'"]),
        (["audit", "list", "--limit", "x"], ["'x' is not a valid integer"]),
        (["audit", "list", "--limit", "-1"], ["--limit", "-1"]),
        (["it", "tickets", "show", f"1{OSC}"], ["unexpected extra arguments"]),
        (["export", "core.people", "--format", "xml"], ["'xml' is not one of"]),
    ]:
        line = refused(site.cli(*args), *words)
        assert "\x1b" not in line and "Usage:" not in line


def test_json_listings_stay_valid_json_with_hostile_text(demo_site):
    site = demo_site
    from tests.conftest import open_raw_store

    raw = open_raw_store(site.config_dir, site.data_dir)
    try:
        raw.table("telephony", "messages").update(1, {"text": f"a\u202eb{OSC}\x9bc"})
    finally:
        raw.close()
    result = site.cli("phone", "messages", "--format", "json")
    assert result.code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert any(r.get("text") == f"a\u202eb{OSC}\x9bc" for r in rows)  # nothing lost for a program
    assert "\u202e" not in result.stdout and "\x1b" not in result.stdout and "\x9b" not in result.stdout
