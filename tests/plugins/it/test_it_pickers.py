"""IT's forms find people and assets by typing part of the name or tag."""

from __future__ import annotations

import pytest

from core.shell.app import make_app
from core.errors import PermissionDenied
from core.cli.testing import field_error, pick, wait_for
from core.shell.widgets import FormScreen, RecordTable
from plugins.it import service as svc
from tests.pilot import shown


async def test_check_out_to_a_person_and_a_task_for_an_asset_found_by_typing(office):
    bd, ctx, ids = office
    svc.add_asset(ctx, {"tag": "NB-0815", "type": "computer", "model": "ThinkPad T14", "status": "spare"})
    svc.add_asset(ctx, {"tag": "PR-3", "type": "printer", "model": "LaserJet", "person": ids["ben"]})
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("it.assets")
        await wait_for(pilot, lambda: app.current_mode == "it.assets" and app.screen.query("#it-assets"))
        table = app.screen.query_one("#it-assets", RecordTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        while table.cursor_record["tag"] != "NB-0815":
            await pilot.press("down")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        assert await pick(pilot, app.screen.form, "person", "clara", "Clara Conrad") == ids["clara"]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
        app.open_nav("it.maintenance")
        await wait_for(pilot, lambda: app.current_mode == "it.maintenance" and app.screen.query("#it-tasks"))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        form.control("title").value = "Clean the fan"
        form.control("interval_days").value = "90"
        form.control("next_due").value = "2099-01-01"
        picker = form.control("asset")
        picker.focus()
        await pilot.press(*"thinkpad")
        # found by its model; the list shows the tag, the type and model, who has it
        await wait_for(pilot, lambda: "NB-0815" in shown(app) and "Clara Conrad" in shown(app))
        assert await pick(pilot, form, "asset", "nb-08", "NB-0815") == "NB-0815"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
    asset = svc.find_asset(ctx, "NB-0815")
    assert asset["person_id"] == ids["clara"]
    assert ctx.table("tasks").all()[-1]["asset_id"] == asset["id"]


def test_asset_choices_need_the_assets_permission(site, office):
    bd, ctx, ids = office
    svc.add_asset(ctx, {"tag": "NB-0815", "type": "computer"})
    assert [c.value for c in svc.asset_choices(ctx, "nb")] == ["NB-0815"]
    with pytest.raises(PermissionDenied):
        svc.asset_choices(site.open("sam").context("it"), "nb")


async def test_a_ticket_names_several_assets_found_one_by_one(site, office):
    """Sam may open tickets but not read the assets: the New ticket form's
    Asset tags finds each by part of its tag or model (type and model shown,
    not whom it is lent to), Enter adds it and the next word searches again;
    a word that is no asset is refused at the field, a deleted tag is dropped."""
    bd, ctx, ids = office
    svc.add_asset(ctx, {"tag": "NB-0815", "type": "computer", "model": "ThinkPad T14", "person": ids["ben"]})
    svc.add_asset(ctx, {"tag": "PR-3", "type": "printer", "model": "LaserJet"})
    svc.add_asset(ctx, {"tag": "PR-4", "type": "printer", "model": "LaserJet"})
    sam = site.open("sam")
    app = make_app(sam, poll_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_nav("it.tickets")
        await wait_for(pilot, lambda: app.current_mode == "it.tickets" and app.screen.query("#it-tickets"))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen.form
        await pick(pilot, form, "requester", "ben", "Ben Brandt")
        form.control("title").value = "Printer jams when printing from the laptop"
        tags = form.control("assets")
        assert tags.input.placeholder == "type part of one, Enter adds it"
        tags.focus()
        await pilot.press(*"thinkp")
        await wait_for(pilot, lambda: tags.expanded and "NB-0815" in shown(app))
        assert [c.detail for c in tags.choices] == ["computer · ThinkPad T14"]  # not lent to Ben Brandt
        assert "computer · ThinkPad T14" in shown(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: tags.value == ["NB-0815"])
        assert tags.text == "NB-0815 " and not tags.expanded
        await pilot.press(*"pr-")  # both printers offered, the laptop not again
        await wait_for(pilot, lambda: tags.expanded and [c.value for c in tags.choices] == ["PR-3", "PR-4"])
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: tags.value == ["NB-0815", "PR-4"])
        await pilot.press(*"toaster")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: field_error(form, "assets"))
        assert field_error(form, "assets") == "toaster: choose each from the list (↓)"
        assert isinstance(app.screen, FormScreen) and ctx.table("tickets").count() == 0
        tags.focus()
        tags.input.value = "PR-4 "  # the laptop and the stray word deleted
        await wait_for(pilot, lambda: tags.value == ["PR-4"])
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen))
    [ticket] = ctx.table("tickets").all()
    assert ticket["asset_ids"] == [svc.find_asset(ctx, "PR-4")["id"]] and ticket["requester_id"] == ids["ben"]
    with pytest.raises(PermissionDenied):  # the holder stays with those who may read the assets
        svc.asset_choices(site.open("sam").context("it"), "nb")
