"""locale: de_DE in config switches the shell to German (a fresh process:
screen labels are translated when their modules load)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r'''
import asyncio, sys
from core.plugins.runtime import open_backdesk
bd = open_backdesk(sys.argv[1], sys.argv[2], account="alice")
from core.shell.app import make_app
from textual.widgets import Footer, Static

async def main():
    app = make_app(bd, poll_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        print("WELCOME=" + str(app.screen.query_one("#welcome", Static).render()))
        print("BINDINGS=" + "|".join(sorted({b.binding.description for b in app.active_bindings.values()})))
        await pilot.press("f1")
        await pilot.pause()
        print("HELP=" + str(app.screen.query(Static).first().render()))
        from textual.widgets import DataTable
        table = app.screen.query_one(DataTable)
        print("HELPROWS=" + "|".join(" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)))
asyncio.run(main())
bd.close()
'''


def test_german_shell(site):
    cfg = site.config_dir / "backdesk.yaml"
    cfg.write_text(cfg.read_text().replace("locale: en_US", "locale: de_DE"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(site.config_dir), str(site.data_dir)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    assert out["WELCOME"] == "Willkommen, Alice Admin"
    bindings = out["BINDINGS"].split("|")
    assert "Beenden" in bindings and "Hilfe" in bindings
    assert out["HELP"].startswith("Tastenbelegung")
    # keys in German, written one way, no Textual internals
    rows = out["HELPROWS"].split("|")
    assert "Strg+Q Beenden" in rows and "F1 Hilfe" in rows and "Strg+F Suchen" in rows
    assert not any("^" in row or "ctrl" in row.lower() or "super" in row.lower() or "_" in row for row in rows)
