"""Make the screenshots in docs/: the README's dashboard and the main screens.

    python scripts/screenshot.py            # docs/dashboard.svg and docs/screens/*.svg
    python scripts/screenshot.py --png DIR  # also a PNG of each in DIR (rsvg-convert), to look at

Runs the real app headless on a fresh demo data folder (the shipped config:
the demo company, German) and saves Textual's SVG screenshots:

- ``docs/dashboard.svg`` — the dashboard at 100x30, in German (the README's);
- ``docs/screens/<screen>-<lang>-<W>x<H>.svg`` — the Switchboard, Bills,
  Journal, Helpdesk and Employees at 80x24 and 120x40, in German (``de``,
  the shipped ``de_DE``) and English (``en``, the same demo with
  ``locale: en_GB``).

Run it again whenever one of these screens changes, and look at the result.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: (file name, navigation id) of the screens shown in docs/screens
SCREENS = [("switchboard", "telephony"), ("bills", "accounting.bills"), ("journal", "accounting.ledger"),
           ("helpdesk", "it.tickets"), ("employees", "hr.employees")]
SIZES = [(80, 24), (120, 40)]
#: language in the file name → the site's locale
LANGUAGES = {"de": "de_DE", "en": "en_GB"}


async def _settle(pilot, app) -> None:
    """Wait until the screen has drawn what it loads (cards, tables)."""
    for _ in range(200):
        await pilot.pause(0.02)
        board = getattr(app.screen, "board", None)
        if getattr(board, "all_rendered", True):
            break
    await pilot.pause(0.3)


def _save(app, out: Path, png: Path | None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    app.save_screenshot(filename=out.name, path=str(out.parent))
    if png is not None and shutil.which("rsvg-convert"):
        png.mkdir(parents=True, exist_ok=True)
        subprocess.run(["rsvg-convert", "-o", str(png / out.with_suffix(".png").name), str(out)], check=True)
    print(f"wrote {out.relative_to(ROOT)}")


async def shoot(lang: str, tmp: Path, *, png: Path | None) -> None:
    """The screenshots in one language. Key names and the screens' key bars
    are translated when their modules are imported, so each language runs
    in a process of its own, with the language set before Textual's app is
    imported."""
    from core.config import load_config
    from core.i18n import configure

    config = load_config(None, tmp / lang)
    config = dataclasses.replace(config, site=dataclasses.replace(config.site, locale=LANGUAGES[lang]))
    configure(config.site.locale, config.site.timezone, config.site.currency)
    from core.shell.app import make_app
    from core.cli.demo import create_demo
    from core.plugins.runtime import open_backdesk

    bd = open_backdesk(config=config, account="alice")
    try:
        create_demo(bd, seed=1)
        if lang == "de":  # the README's: the demo as shipped
            app = make_app(bd, poll_interval=0)
            async with app.run_test(size=(100, 30)) as pilot:
                await _settle(pilot, app)
                _save(app, ROOT / "docs" / "dashboard.svg", png)
        for width, height in SIZES:
            app = make_app(bd, poll_interval=0)
            async with app.run_test(size=(width, height)) as pilot:
                await _settle(pilot, app)
                for name, nav in SCREENS:
                    app.open_nav(nav)
                    await _settle(pilot, app)
                    _save(app, ROOT / "docs" / "screens" / f"{name}-{lang}-{width}x{height}.svg", png)
    finally:
        bd.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, metavar="DIR", help="also write a PNG of each into DIR (rsvg-convert)")
    parser.add_argument("--lang", choices=sorted(LANGUAGES), help="only this language (in this process)")
    args = parser.parse_args()
    if args.lang:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(shoot(args.lang, Path(tmp), png=args.png))
    else:
        for lang in LANGUAGES:
            extra = ["--png", str(args.png)] if args.png else []
            subprocess.run([sys.executable, __file__, "--lang", lang, *extra], check=True)
