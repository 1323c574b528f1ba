"""The message form's "For": part of a name or the extension finds the
person; the operator sees whom it matched before saving."""

from __future__ import annotations

from core.shell.app import make_app
from core.cli.testing import pick, wait_for
from core.shell.widgets import FormScreen
from plugins.telephony.service import service_for
from tests.pilot import shown


async def test_message_for_found_by_part_of_the_name(site):
    bd = site.open("bob")
    anna = bd.services.people.by_extension("131")
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_nav("telephony.messages")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MessagesScreen")
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
            form = app.screen.form
            form.control("text").value = "Please call back"
            form.control("from").value = "Klaus Brandt"
            picker = form.control("for")
            picker.focus()
            await pilot.press(*"beck")
            # the full name and the second line: department and extension
            await wait_for(pilot, lambda: anna["name"] in shown(app) and "ext. 131" in shown(app))
            assert await pick(pilot, form, "for", "beck", anna["name"]) == anna["id"]
            assert picker.text == anna["name"]
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), )
        message = service_for(bd.context("telephony")).messages.all()[-1]
        assert message["for_person_id"] == anna["id"] and message["text"] == "Please call back"
    finally:
        bd.close()


async def test_the_extension_finds_the_person_too(site):
    bd = site.open("bob")
    anna = bd.services.people.by_extension("131")
    app = make_app(bd, poll_interval=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            app.open_nav("telephony.messages")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MessagesScreen")
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
            assert await pick(pilot, app.screen.form, "for", "131", anna["name"]) == anna["id"]
    finally:
        bd.close()
