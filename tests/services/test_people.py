"""The people directory: validation, search, CSV, the demo company."""

from __future__ import annotations

import io

import pytest

from core.errors import PermissionDenied, UnknownRecord, ValidationError


def test_add_and_get_and_find(office):
    people = office.services.people
    anna = people.get(office.ids["anna"])
    assert anna["name"] == "Anna Becker"
    assert anna["department"] == "Personal / HR"
    assert anna["status"] == "active"
    # every word must match, in any field, ignoring case and umlaut case
    assert [p["name"] for p in people.find("KÖHL it")] == ["Jan Köhler"]
    assert [p["name"] for p in people.find("101")] == ["Emily Clarke"]
    assert [p["name"] for p in people.find("reception")] == ["Emily Clarke"]
    assert [p["name"] for p in people.find("")] == ["Anna Becker", "Emily Clarke", "Jan Köhler"]
    assert people.by_extension("123")["name"] == "Jan Köhler"
    assert people.name_of(office.ids["emily"]) == "Emily Clarke"
    # several names in one read: those found, by id (None, unknown ids and non-ids left out)
    ids = [office.ids["emily"], office.ids["anna"], office.ids["emily"], None, 999, "1"]
    assert people.names_of(ids) == {office.ids["emily"]: "Emily Clarke", office.ids["anna"]: "Anna Becker"}
    assert people.names_of([]) == {}
    with pytest.raises(UnknownRecord):
        people[999]


@pytest.mark.parametrize("fields, field, words", [
    ({"name": ""}, "name", "required"),
    ({"extension": "141"}, "extension", "Anna Becker"),
    ({"extension": "12a"}, "extension", "2 to 6 digits"),
    ({"email": "not-an-email"}, "email", "not an email"),
    ({"email": "ANNA.BECKER@test.example"}, "email", "Anna Becker"),
    ({"department_id": 99}, "department_id", "no department"),
    ({"manager_id": 99}, "manager_id", "no person"),
    ({"start_date": "01.02.2020"}, "start_date", "YYYY-MM-DD"),
    ({"start_date": "2020-02-01", "end_date": "2020-01-31"}, "end_date", "before the start"),
    ({"status": "retired"}, "status", "not one of"),
    ({"shoe_size": 44}, "shoe_size", "unknown field"),
])
def test_validation_names_the_field(office, fields, field, words):
    people = office.services.people
    data = {"name": "New Person", "department_id": office.ids["it"], **fields}
    before = office.table("core.people").count()
    with pytest.raises(ValidationError) as info:
        people.add_person(data)
    assert info.value.field == field
    assert words in info.value.message
    assert office.table("core.people").count() == before


def test_manager_rules(office):
    people = office.services.people
    anna, emily = office.ids["anna"], office.ids["emily"]
    with pytest.raises(ValidationError, match="own manager"):
        people.update_person(anna, manager_id=anna)
    with pytest.raises(ValidationError, match="circle"):
        people.update_person(anna, manager_id=emily)  # emily reports to anna
    people.set_status(office.ids["jan"], "left", on="2025-06-30")
    with pytest.raises(ValidationError, match="has left"):
        people.update_person(anna, manager_id=office.ids["jan"])


def test_leaving_frees_the_extension_and_sets_the_end_date(office):
    people = office.services.people
    jan = people.set_status(office.ids["jan"], "left", on="2025-06-30")
    assert jan["status"] == "left" and jan["end_date"] == "2025-06-30"
    assert people.by_extension("123") is None
    new = people.add_person(name="Nachfolger", department_id=office.ids["it"], extension="123")
    assert people.by_extension("123")["id"] == new
    # the directory hides nobody: the one who left is still found by id and by status
    assert [p["name"] for p in people.find("köhler", status="left")] == ["Jan Köhler"]
    # coming back while someone else holds the extension is refused
    with pytest.raises(ValidationError) as info:
        people.set_status(office.ids["jan"], "active")
    assert info.value.field == "extension"


def test_search_index_follows_changes_and_other_processes(office, site):
    people = office.services.people
    assert people.find("Becker")
    people.update_person(office.ids["anna"], name="Anna Schmidt", email="anna.schmidt@test.example")
    assert not people.find("Becker")
    assert people.find("schmidt")
    # another process renames the department; refresh() tells this one
    other = site.open("alice")
    other.services.people.update_department(office.ids["hr"], name="Human Resources")
    office.store.refresh()
    assert [p["name"] for p in people.find("human resources")] == ["Anna Schmidt"]


def test_reading_and_editing_need_permissions(office, site):
    bob = site.open("bob")  # reception: may read, not edit
    assert bob.services.people.find("anna")
    with pytest.raises(PermissionDenied, match="core.directory.edit"):
        bob.services.people.add_person(name="X", department_id=office.ids["it"])
    with pytest.raises(PermissionDenied):
        bob.services.people.update_person(office.ids["anna"], title="Chefin")
    with pytest.raises(PermissionDenied):
        bob.services.people.import_csv(io.StringIO("name,department\nX,IT\n"))
    assert office.services.people.get(office.ids["anna"])["title"] == "Personalreferentin"


def test_departments(office):
    people = office.services.people
    depts = {d["name"]: d for d in people.departments()}
    assert depts["IT"]["people"] == 1
    with pytest.raises(ValidationError, match="exists already"):
        people.add_department("it")
    with pytest.raises(ValidationError, match="move them first"):
        people.delete_department(office.ids["it"])
    empty = people.add_department("Einkauf / Purchasing")
    people.delete_department(empty)
    assert "Einkauf / Purchasing" not in {d["name"] for d in people.departments()}


def test_csv_round_trip(office, site):
    people = office.services.people
    out = io.StringIO()
    assert people.export_csv(out) == 3
    text = out.getvalue()
    assert text.splitlines()[0] == "id,name,department,title,extension,email,manager,status,start_date,end_date,region"
    assert "Emily Clarke,Empfang / Reception,Receptionist,101,,anna.becker@test.example,active" in text

    # into another, empty Backdesk with the same departments: managers follow by email
    other_site = type(site)(site.root / "other")
    other = other_site.open("alice")
    try:
        for name in ("IT", "Personal / HR", "Empfang / Reception"):
            other.services.people.add_department(name)
        without_ids = "\n".join(line.split(",", 1)[1] for line in text.splitlines()) + "\n"
        result = other.services.people.import_csv(io.StringIO(without_ids))
        assert len(result["created"]) == 3 and result["updated"] == []
        emily = other.services.people.find("Emily")[0]
        assert other.services.people.get(emily["manager_id"])["name"] == "Anna Becker"
    finally:
        other_site.close()

    # back into the same one: rows with ids update
    changed = text.replace("IT-Support", "IT-Leiter")
    result = people.import_csv(io.StringIO(changed))
    assert result == {"created": [], "updated": [office.ids["jan"]]}
    assert people.get(office.ids["jan"])["title"] == "IT-Leiter"


def test_csv_one_bad_row_imports_nothing_and_names_line_and_field(office):
    people = office.services.people
    before = office.table("core.people").count()
    audit_before = office.table("core.audit").count()
    data = (
        "name,department,extension,email,manager\n"
        "Neu Eins,IT,150,neu.eins@test.example,\n"
        "Neu Zwei,IT,151,neu.zwei@test.example,neu.eins@test.example\n"
        "Neu Drei,Nowhere,152,,\n"
        "Neu Vier,IT,153,,\n"
    )
    with pytest.raises(ValidationError) as info:
        people.import_csv(io.StringIO(data))
    assert info.value.field == "department"
    assert str(info.value).startswith("department: line 4: unknown department 'Nowhere'")
    assert office.table("core.people").count() == before
    assert office.table("core.audit").count() == audit_before

    dup = "name,department,extension\nA,IT,160\nB,IT,160\n"
    with pytest.raises(ValidationError) as info:
        people.import_csv(io.StringIO(dup))
    assert info.value.field == "extension" and "line 3" in info.value.message

    with pytest.raises(ValidationError) as info:
        people.import_csv(io.StringIO("name,department,shoe\nA,IT,44\n"))
    assert info.value.field == "shoe" and "line 1" in info.value.message

    with pytest.raises(ValidationError) as info:
        people.import_csv(io.StringIO("name,department,start_date\nA,IT,2020-13-01\n"))
    assert info.value.field == "start_date" and "line 2" in info.value.message
    assert office.table("core.people").count() == before


def test_demo_company(site):
    bd = site.open("alice")
    from core.cli.demo import create_demo

    counts = create_demo(bd, seed=1)
    people = bd.services.people
    assert 35 <= counts["core.people"] <= 45
    names = {d["name"] for d in people.departments()}
    assert names == {"Geschäftsführung", "Empfang / Reception", "IT", "Buchhaltung / Accounting",
                     "Personal / HR", "Vertrieb / Sales", "Einkauf / Purchasing"}
    everyone = bd.table("core.people").all()
    assert sum(p["status"] == "on_leave" for p in everyone) == 1
    assert sum(p["status"] == "left" for p in everyone) == 1
    assert all(100 <= int(p["extension"]) <= 199 for p in everyone)
    assert all(p["email"].endswith("@muster-partner.example") for p in everyone)
    assert sum(p["manager_id"] is not None for p in everyone) >= 30
    # operators of the shipped config find themselves by email
    assert people.by_email("bob@muster-partner.example")["name"] == "Bob Berger"
    # the whole directory obeys its own rules
    from core.services.people import _TableLookup, check_person

    for p in everyone:
        check_person(p, p["id"], _TableLookup(bd.table("core.people"), bd.table("core.departments")))
    assert bd.services.audit.verify() == []


def test_typing_narrows_without_changing_the_answer(office):
    """find() reuses the previous hits while the query grows; the answer must
    be what a fresh scan gives, for any sequence of queries."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    people = office.services.people
    for n, name in enumerate(["Anna Bauer", "Hanna Abel", "Ben Anders", "Bea Nann"]):
        people.add_person(name=name, department_id=office.ids["it"], extension=str(170 + n))
    everyone = people.find("")

    def reference(text):
        words = text.casefold().split()
        return [p["id"] for p in everyone if all(
            w in " ".join(str(v) for v in (p["name"], p["department"], p["title"], p["extension"],
                                            p["email"], p["status"]) if v).casefold() for w in words)]

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.text(alphabet="anb e", max_size=6), min_size=1, max_size=6))
    def check(queries):
        for q in queries:
            assert [p["id"] for p in people.find(q)] == reference(q), q

    check()
