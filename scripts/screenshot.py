"""Make docs/dashboard.svg: the dashboard of the demo company, for the README.

    python scripts/screenshot.py

Runs the real app headless at 100x30 on a fresh demo data folder and saves
Textual's SVG screenshot. Run it again whenever the dashboard changes.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def main() -> None:
    from core.app import make_app
    from core.demo import create_demo
    from core.runtime import open_backdesk

    with tempfile.TemporaryDirectory() as tmp:
        bd = open_backdesk(data_dir=Path(tmp) / "data", account="alice")
        create_demo(bd, seed=1)
        app = make_app(bd, poll_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(200):
                await pilot.pause(0.02)
                board = getattr(app.screen, "board", None)
                if board is not None and board.all_rendered:
                    break
            await pilot.pause(0.2)
            out = ROOT / "docs" / "dashboard.svg"
            app.save_screenshot(filename=out.name, path=str(out.parent))
            print(f"wrote {out}")
        bd.close()


if __name__ == "__main__":
    asyncio.run(main())
