"""docs/plugins.md: every code block is run.

Blocks with ``title="path"`` are files of the tutorial's package (blocks with
the same title are joined in order); ``text title="the project folder"`` is
the layout, checked against those files; ``console`` blocks are commands,
run as written (``backdesk …`` on a test site, ``pip install`` as a real
install into a temporary folder, ``pytest`` in the package) and their
output compared with the block's.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli.testing import palette_offers, publish, select_card, text_of, wait_for
from kit_helpers import ROOT, pip_install

DOC = ROOT / "docs" / "plugins.md"
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)
TITLE = re.compile(r'title="([^"]+)"')


def blocks():
    out = []
    for m in FENCE.finditer(DOC.read_text(encoding="utf-8")):
        info = m.group("info").strip()
        lang = info.split()[0] if info else ""
        title = TITLE.search(info)
        out.append((lang, title.group(1) if title else None, m.group("body")))
    return out


def package_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for lang, title, body in blocks():
        if lang in ("python", "toml", "tcss") and title:
            files[title] = files[title] + "\n\n" + body if title in files else body
    return files


def test_every_block_is_a_file_the_layout_or_commands():
    kinds = [(lang, title) for lang, title, _ in blocks()]
    assert kinds, "no code blocks found"
    for lang, title in kinds:
        assert (lang in ("python", "toml", "tcss") and title) or lang == "console" \
            or (lang, title) == ("text", "the project folder"), f"untested block: ```{lang} {title}"
    assert "(hooks.md)" in DOC.read_text(encoding="utf-8")  # the reference is linked


def test_the_layout_names_the_files():
    layout = next(body for lang, title, body in blocks() if lang == "text")
    names = {line.split()[0].rstrip("/") for line in layout.splitlines() if line.strip()}
    for path in package_files():
        assert Path(path).name in names or path in names, f"{path} is missing from the layout block"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("tutorial") / "parcels"
    for rel, text in package_files().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def installed(project, tmp_path_factory):
    return pip_install(project, tmp_path_factory.mktemp("tutorial-site-packages"))


@pytest.fixture
def site(backdesk_site, installed):
    backdesk_site.add_to_path(installed)
    yield backdesk_site
    backdesk_site.close()
    for name in [m for m in sys.modules if m == "parcels" or m.startswith("parcels.")]:
        del sys.modules[name]


def add_anna(site) -> int:
    bd = site.open("alice")
    sales = bd.services.people.add_department("Sales")
    anna = bd.services.people.add_person(name="Anna Schmidt", department_id=sales)
    site.close()
    return anna


def test_console_blocks_run_as_written(site, project, installed):
    add_anna(site)
    ran = []
    for lang, _title, body in blocks():
        if lang != "console":
            continue
        lines = body.splitlines()
        i = 0
        while i < len(lines):
            assert lines[i].startswith("$ "), f"expected a command: {lines[i]!r}"
            command = shlex.split(lines[i][2:])
            expected = []
            i += 1
            while i < len(lines) and not lines[i].startswith("$ "):
                expected.append(lines[i])
                i += 1
            ran.append(command[0])
            if command[:2] == ["pip", "install"]:
                assert command[2:] == ["-e", "."]  # done by the `installed` fixture, into a folder
            elif command[0] == "backdesk":
                code, out, err = site.cli(*command[1:])
                assert code == 0, err
                assert out.splitlines() == expected, out
            elif command == ["pytest"]:
                env = {k: v for k, v in os.environ.items() if not k.startswith("BACKDESK_")}
                env["PYTHONPATH"] = str(installed)
                proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                                      cwd=project, env=env, capture_output=True, text=True, timeout=120)
                assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
                assert "5 passed" in proc.stdout
            else:
                pytest.fail(f"the test does not know how to run {lines[i - 1]!r}")
    assert ran == ["pip", "backdesk", "backdesk", "backdesk", "pytest"]


def test_migration_from_version_1(site):
    from tests.conftest import open_raw_store

    store = open_raw_store(site.config_dir, site.data_dir)
    old = store.table("parcels", "parcels", version=1)
    old.insert({"recipient_id": 1, "sender": "ACME", "collected": True})
    old.insert({"recipient_id": 1, "sender": "Post", "collected": False})
    store.close()
    table = site.open("alice").context("parcels").table("parcels")
    assert [(p["sender"], p["status"], "collected" in p) for p in table.all()] == [
        ("ACME", "collected", False), ("Post", "waiting", False)]


def test_a_clerk_with_only_the_plugins_permissions_uses_the_cli(site):
    anna = add_anna(site)
    site.role("reception", ["parcels.*"])
    site.operator("bob", roles=["reception"], name="Bob Reception")
    site.operator("rita", roles=["reader"], name="Rita Reader")
    assert site.cli("parcels", "log", str(anna), "ACME", account="bob")[:2] == (0, "Logged parcel 1\n")
    assert site.cli("parcels", "list", account="bob")[1] == "  1  Anna Schmidt         ACME\n"
    code, out, err = site.cli("parcels", "log", "99", "ACME", account="bob")
    assert code == 2 and err == "backdesk: recipient: no person with id 99\n"
    code, out, err = site.cli("parcels", "log", str(anna), "Post", account="rita")
    assert code == 2 and err.startswith("backdesk: Rita Reader") and "may not log parcels: needs permission " \
        "'parcels.parcels.log'" in err


def test_the_reaction_is_listed_and_only_its_event_arrives(site):
    code, out, err = site.cli("plugins", "-v")
    assert code == 0 and "  parcels: core.person_left\n" in out, out + err
    bd = site.open("alice")
    event_id = bd.services.events.publish("core.person_updated", {"person_id": 1})
    assert bd.table("core.event_deliveries").find({"event_id": event_id}) == []


def test_event_handler_sends_parcels_back(site):
    anna = add_anna(site)
    bd = site.open("alice")
    from parcels import service

    ctx = bd.context("parcels")
    kept = service.log_parcel(ctx, anna, "ACME")
    service.hand_over(ctx, kept)
    waiting = service.log_parcel(ctx, anna, "Post")
    publish(bd, "core.person_left", {"person_id": anna})
    assert [ctx.table("parcels")[i]["status"] for i in (kept, waiting)] == ["collected", "return"]


async def test_card_screen_and_palette_command(site):
    """As a reception clerk holding only the plugin's permissions."""
    anna = add_anna(site)
    site.role("reception", ["parcels.*"])
    site.operator("bob", roles=["reception"], name="Bob Reception")
    bd = site.open("bob")
    from parcels import service

    for sender in ("ACME", "Post", "DHL"):
        service.log_parcel(bd.context("parcels"), anna, sender)
    async with site.run_app(backdesk=bd) as pilot:
        app = pilot.app
        await wait_for(pilot, lambda: text_of(pilot, "#card-parcels-waiting") == "3 waiting at reception")
        await pilot.press("ctrl+p")
        await pilot.press(*"Hand over the oldest parcel")
        await wait_for(pilot, lambda: palette_offers(pilot, "Hand over the oldest parcel"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: text_of(pilot, "#card-parcels-waiting") == "2 waiting at reception")
        assert any("Handed over the parcel for Anna Schmidt" in n.message for n in app._notifications)
        select_card(pilot, "parcels-waiting")
        await pilot.press("enter")
        await wait_for(pilot, lambda: text_of(pilot, "#parcels-summary") == "2 waiting at reception")
        assert app.current_mode == "parcels"
        await pilot.press("h")
        await wait_for(pilot, lambda: text_of(pilot, "#parcels-summary") == "1 waiting at reception")
    assert [p["sender"] for p in service.waiting(bd.context("parcels"))] == ["DHL"]
