"""IT's counts in the site's language, with their plural forms: the
dashboard cards, the status board's bar, the warranty view and the
messages that name a number.

A German site runs in a fresh process, as ``locale: de_DE`` in
backdesk.yaml does it; the same script on an English site shows English.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.i18n import configure
from plugins.it import service as svc

ROOT = Path(__file__).resolve().parents[3]

# The dashboard, the status board and the warranty view with one of each,
# then with two of each.
SCRIPT = r'''
import asyncio, json, sys
from core.plugins.runtime import open_backdesk
bd = open_backdesk(sys.argv[1], sys.argv[2], account="alice")
from core.shell.app import make_app
from core.cli.testing import text_of, wait_for
from plugins.it import service as svc

out = {}
ctx = bd.context("it")
CARDS = ("helpdesk", "assets", "maintenance", "checks")


def add_one(n):
    svc.open_ticket(ctx, requester="Anna Arndt", title=f"Printer {n}")
    svc.add_asset(ctx, {"tag": f"NB-{n}", "type": "computer", "model": "T14", "status": "spare",
                        "warranty_end": svc.today().isoformat()})
    with ctx.transaction():
        ctx.table("tasks").insert({"title": f"Backup test {n}", "interval_days": 7, "next_due": "2020-01-0" + str(n),
                                   "asset_id": None, "last_done": None})
    svc.add_check(ctx, f"disk{n}", "disk", "/", "1K")
    svc.run_checks(ctx)


async def look(app, pilot, n):
    await wait_for(pilot, lambda: app.screen.board.all_rendered)
    await wait_for(pilot, lambda: text_of(app, "#card-it-checks").startswith(f"{n}/{n} ")
                   and all(text_of(app, f"#card-it-{c}").startswith(f"{n} ") for c in CARDS[:3]),
                   message=repr([text_of(app, f"#card-it-{c}") for c in CARDS]))
    out[f"cards{n}"] = {c: text_of(app, f"#card-it-{c}") for c in CARDS}
    app.open_nav("it.checks")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "ChecksScreen"
                   and text_of(app, "#it-checks-bar").startswith(f"{n} "))
    out[f"bar{n}"] = text_of(app, "#it-checks-bar")
    app.open_nav("it.assets")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "AssetsScreen" and text_of(app, "#it-asset-bar"))
    await pilot.press("w")
    await wait_for(pilot, lambda: f"({n})" in text_of(app, "#it-asset-bar"))
    out[f"warranty{n}"] = text_of(app, "#it-asset-bar")
    app.open_nav("home")


async def main():
    add_one(1)
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        try:
            await look(app, pilot, 1)
            add_one(2)
            await look(app, pilot, 2)
        except BaseException:
            import traceback
            out["error"] = traceback.format_exc()
        print("RESULT=" + json.dumps(out), flush=True)


asyncio.run(main())
bd.close()
'''


@pytest.fixture
def office_site(site, office):
    """The office of conftest, warranty warnings for today only (1 day)."""
    site.plugins({"open_ticket_after": 5, "check_timeout": 2.0, "warranty_warn_days": 1})
    return site


def _run(site) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(site.config_dir), str(site.data_dir)],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT=")]
    assert lines, proc.stderr
    out = json.loads(lines[0][len("RESULT="):])
    assert "error" not in out, out["error"]
    assert proc.returncode == 0, proc.stderr
    return out


def test_a_german_site_counts_in_german(office_site):
    cfg = office_site.config_dir / "backdesk.yaml"
    cfg.write_text(cfg.read_text().replace("locale: en_US", "locale: de_DE"))
    out = _run(office_site)
    one, two = out["cards1"], out["cards2"]
    assert one["helpdesk"].startswith("1 aktives Ticket\n") and two["helpdesk"].startswith("2 aktive Tickets\n")
    assert one["assets"].startswith("1 Inventarstück\n") and two["assets"].startswith("2 Inventarstücke\n")
    assert one["maintenance"].startswith("1 Aufgabe überfällig") and two["maintenance"].startswith(
        "2 Aufgaben überfällig")
    assert one["checks"] == "1/1 Prüfung ok" and two["checks"] == "2/2 Prüfungen ok"
    assert out["bar1"] == "1 Prüfung, 0 gestört · alle 60 s"
    assert out["bar2"] == "2 Prüfungen, 0 gestört · alle 60 s"
    assert out["warranty1"].startswith("Garantie endet in 1 Tag (1)")


def test_an_english_site_counts_in_english(office_site):
    out = _run(office_site)
    one, two = out["cards1"], out["cards2"]
    assert one["helpdesk"].startswith("1 active ticket\n") and two["helpdesk"].startswith("2 active tickets\n")
    assert one["assets"].startswith("1 asset\n") and two["assets"].startswith("2 assets\n")
    assert one["maintenance"].startswith("1 task overdue") and two["maintenance"].startswith("2 tasks overdue")
    assert one["checks"] == "1/1 check ok" and two["checks"] == "2/2 checks ok"
    assert out["bar1"] == "1 check, 0 failing · every 60s"
    assert out["bar2"] == "2 checks, 0 failing · every 60s"
    assert out["warranty1"].startswith("Warranty ends within 1 day (1)")


def test_messages_with_a_number_have_their_plural_forms(office):
    bd, ctx, ids = office
    svc.add_asset(ctx, {"tag": "LIC-1", "type": "licence", "model": "Office", "seats": 1})
    assert svc.asset_rows(ctx, ctx.table("assets").find())[0]["holder"] == "0/1 seat"
    svc.check_out(ctx, "LIC-1", person=ids["anna"])
    with pytest.raises(ValidationError, match="^tag: the only seat of LIC-1 is taken$"):
        svc.check_out(ctx, "LIC-1", person=ids["ben"])
    configure("de_DE", "Europe/Berlin", "EUR")
    try:
        assert svc.asset_rows(ctx, ctx.table("assets").find())[0]["holder"] == "1/1 Platz"
        with pytest.raises(ValidationError, match="^tag: der einzige Platz von LIC-1 ist vergeben$"):
            svc.check_out(ctx, "LIC-1", person=ids["ben"])
    finally:
        configure("en_US", "Europe/Berlin", "EUR")
