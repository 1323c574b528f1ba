"""Picker: find a record by typing part of its name; the form stores its id."""

from __future__ import annotations

from core.services.choices import Choice, fold, rank, score
from core.errors import PermissionDenied
from core.cli.testing import wait_for
from core.shell.widgets import Field, Picker, RecordForm

ACCOUNTS = ["expenses:office supplies", "expenses:rent", "assets:bank", "expenses:travel",
            "liabilities:vat", "income:sales"]


def account_source(text: str) -> list[Choice]:
    found = rank(text, ACCOUNTS, lambda name: name)
    return [Choice(ACCOUNTS.index(name) + 100, name, f"balance {ACCOUNTS.index(name)}.00") for name in found]


def people_source(text: str) -> list[Choice]:
    people = [(1, "Jürgen Müller", "Buchhaltung"), (2, "Anna Becker", "IT"), (3, "Müllerin Beck", "HR")]
    found = rank(text, people, lambda p: p[1], lambda p: p[2])
    return [Choice(pid, name, dept) for pid, name, dept in found]


def refusing_source(text: str) -> list[Choice]:
    raise PermissionDenied("Eve (eve) may not look people up: needs permission 'core.directory.read'")


def test_ranking_puts_the_name_first_then_word_starts_then_parts():
    assert rank("expenses:office", ACCOUNTS, str) == ["expenses:office supplies"]
    assert rank("off sup", ACCOUNTS, str) == ["expenses:office supplies"]
    assert rank("ex", ACCOUNTS, str)[:1] == ["expenses:office supplies"]
    assert fold("Jürgen Straße") == "jurgen strasse"
    assert [p[1] for p in rank("muller", [(1, "Jürgen Müller"), (2, "Müllerin Beck")], lambda p: p[1])] == \
        ["Müllerin Beck", "Jürgen Müller"]  # name starts with it beats a later word
    assert score("becker", "Anna Becker") == 2
    assert score("it", "Anna Becker", "IT anna@x") == 4
    assert score("zz", "Anna Becker", "IT") is None


def shown(picker: Picker) -> list[str]:
    options = picker.list
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_typing_part_of_a_name_offers_the_full_name_and_enter_stores_the_id(host):
    form = RecordForm([Field("account", "Account", kind="pick", source=account_source, required=True)])
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        picker = form.control("account")
        assert isinstance(picker, Picker)
        picker.focus()
        await pilot.press(*"expenses:office")
        await wait_for(pilot, lambda: picker.expanded)
        assert shown(picker) == ["expenses:office supplies\nbalance 0.00"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: picker.value == 100)
        assert picker.text == "expenses:office supplies"
        assert not picker.expanded
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.seen)
        assert app.seen == [("submitted", {"account": 100})]


async def test_up_down_choose_and_esc_keeps_the_text(host):
    form = RecordForm([Field("person", "Person", kind="pick", source=people_source),
                       Field("note", "Note")])
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        picker = form.control("person")
        picker.focus()
        await pilot.press(*"mull")
        await wait_for(pilot, lambda: picker.expanded)
        assert [s.split("\n")[0] for s in shown(picker)] == ["Müllerin Beck", "Jürgen Müller"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not picker.expanded)
        assert picker.text == "mull" and picker.value is None
        assert app.seen == []  # the form was not cancelled
        await pilot.press("down", "down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: picker.value == 1)
        assert picker.text == "Jürgen Müller"
        # typing again drops the choice; text that matches nobody is refused
        await pilot.press("backspace", "x")
        await wait_for(pilot, lambda: picker.value is None and picker.text == "Jürgen Müllex")
        await pilot.press("escape", "ctrl+s")
        await wait_for(pilot, lambda: form._errors["person"].has_class("-shown"))
        assert "Choose one from the list" in str(form._errors["person"].render())
        assert app.seen == []


async def test_one_match_is_taken_when_leaving_the_field(host):
    form = RecordForm([Field("person", "Person", kind="pick", source=people_source), Field("note", "Note")])
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        picker = form.control("person")
        picker.focus()
        await pilot.press(*"anna", "tab")
        await wait_for(pilot, lambda: picker.value == 2)
        assert picker.text == "Anna Becker"


async def test_a_source_that_refuses_offers_nothing_and_says_why(host):
    form = RecordForm([Field("person", "Person", kind="pick", source=refusing_source)])
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        picker = form.control("person")
        picker.focus()
        await pilot.press(*"anna")
        await wait_for(pilot, lambda: picker.expanded)
        assert picker.choices == []
        assert "may not look people up" in shown(picker)[0]
        await pilot.press("enter")
        assert picker.value is None


async def test_the_directory_offers_people_only_to_who_may_read_it(backdesk_site, host):
    backdesk_site.operator("eve", permissions=["telephony.calls.read"], name="Eve Extern")
    bd = backdesk_site.open("alice")
    with bd.store.transaction():
        dept = bd.services.people.add_department("Buchhaltung")
        anna = bd.services.people.add_person(name="Anna Becker", department_id=dept, extension="131")
        bd.services.people.add_person(name="Jürgen Müller", department_id=dept)
    assert [(c.value, c.label, c.detail) for c in bd.services.people.choices("beck")] == \
        [(anna, "Anna Becker", "Buchhaltung · ext. 131")]
    assert [c.label for c in bd.services.people.choices("muller")] == ["Jürgen Müller"]
    eve = backdesk_site.open("eve")
    form = RecordForm([Field("person", "Person", kind="pick", source=eve.services.people.choices)])
    app = host(form)
    async with app.run_test(size=(80, 24)) as pilot:
        picker = form.control("person")
        picker.focus()
        await pilot.press(*"beck")
        await wait_for(pilot, lambda: picker.expanded)
        assert picker.choices == [] and "may not look people up" in picker.problem
        await pilot.press("enter", "ctrl+s")
        await pilot.pause()
        assert picker.value is None and app.seen == []
