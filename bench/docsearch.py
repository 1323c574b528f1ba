"""The Documents search's Enter at a year's size, taken apart (#23).

    python bench/docsearch.py DIR --backend tinydb [--profile] [--repeat 5]
    python bench/docsearch.py DIR --backend postgresql --keys
    python bench/docsearch.py DIR --backend tinydb --tinydb DIR/tinydb/data --fill

DIR: a prepared year (``bench/year.py --prepare``); its TinyDB folder is
copied for the run (``--tinydb``: that folder used as it is, what a search
keeps beside the snapshots left there for the next run), its PostgreSQL
cluster used in place (run it under the bench's lock). In one process:
the search the bench's Documents screen makes — ``SearchResults(ctx,
"rechnung")``, its count and first page — timed (wall and CPU) the first
time and ``--repeat`` times more (``--profile``: the first under
cProfile). ``--keys``: the screen's keys as bench/year.py times them (its
``time_screens``, the Documents search alone); ``--screen``: the same
with each frame of the Enter (``--profile``: the Enter under cProfile).
``--fill``: first migrate the register and fill its documents' words in
(``fill_file_words``), then compact — what an office's first start after
the upgrade and its documents worker do. ``BACKDESK_BENCH_CODE=DIR``:
another checkout's core/ and plugins/ measured (bench/year.py's baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "storage"))
# BACKDESK_BENCH_CODE: another checkout's core/ and plugins/ measured (as bench/year.py's --baseline)
sys.path.insert(0, os.environ.get("BACKDESK_BENCH_CODE") or str(ROOT))

import year  # noqa: E402  (bench/year.py: the copy and the site's config)


def search_once(ctx, word: str, service) -> dict:
    w0, c0 = time.perf_counter(), time.process_time()
    results = service.SearchResults(ctx, word)
    w1 = time.perf_counter()
    n = results.count()
    page = results.page(0, 100)
    w2, c2 = time.perf_counter(), time.process_time()
    return {"find_ms": (w1 - w0) * 1000, "count_page_ms": (w2 - w1) * 1000, "wall_ms": (w2 - w0) * 1000,
            "cpu_ms": (c2 - c0) * 1000, "count": n, "first": [d["id"] for d in page[:5]]}


async def screen_keys(cfg: Path, profile: bool, word: str = "rechnung") -> dict:
    """Documents, ``f``, the word, Enter in the app headless at 80x24, each key
    to its last repainted frame as bench/year.py times it; ``profile``: the
    Enter under cProfile (the handler and the repaint)."""
    from core.plugins.runtime import open_backdesk
    from core.shell.app import make_app

    bd = open_backdesk(cfg, account="alice")
    app = make_app(bd, poll_interval=0)
    frames = {"last": 0.0, "all": []}
    display = app._display

    def _display(screen, renderable):
        if renderable is not None:
            frames["last"] = time.perf_counter()
            frames["all"].append(frames["last"])
        return display(screen, renderable)

    app._display = _display
    out: dict = {}
    async with app.run_test(size=(80, 24)) as pilot:
        async def settle() -> None:
            await pilot.pause()
            quiet_since, seen = time.perf_counter(), frames["last"]
            while time.perf_counter() - quiet_since < 0.15:
                await asyncio.sleep(0.02)
                await pilot.pause()
                if frames["last"] != seen or any(w.is_running for w in app.workers):
                    seen, quiet_since = frames["last"], time.perf_counter()

        async def act(step, prof=None) -> float:
            start = frames["last"] = time.perf_counter()
            frames["all"] = []
            if prof:
                prof.enable()
            if isinstance(step, tuple):
                app.open_nav(step[1])
            else:
                await pilot.press(step)
            await settle()
            if prof:
                prof.disable()
            return max(0.0, frames["last"] - start)

        await settle()
        app.open_nav("home")
        await settle()
        keys = [("nav", "documents"), "f", *word, "enter"]
        prof = cProfile.Profile() if profile else None
        times = [await act(k, prof if k == "enter" else None) for k in keys]
        start = frames["last"] - times[-1]
        out = {"open_ms": round(times[0] * 1000, 1), "keys_ms": [round(t * 1000, 1) for t in times[1:]],
               "enter_frames_ms": [round((f - start) * 1000, 1) for f in frames["all"]]}
    bd.close()
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
    return out



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prepared")
    ap.add_argument("--backend", default="tinydb", choices=("tinydb", "postgresql"))
    ap.add_argument("--word", default="rechnung")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--screen", action="store_true", help="the screen's keys, each frame of the Enter (--profile: "
                                                        "the Enter under cProfile)")
    ap.add_argument("--keys", action="store_true", help="the keys as bench/year.py times them (its time_screens, "
                                                      "the Documents search alone)")
    ap.add_argument("--fill", action="store_true",
                    help="first migrate the register and fill in its documents' words (fill_file_words), then "
                         "compact (TinyDB): what an office's first start after the upgrade and its worker do")
    ap.add_argument("--tinydb", metavar="DIR", help="this TinyDB data folder, as it is (a copy kept between runs: "
                                                      "what a search keeps beside the snapshots is there the next time)")
    args = ap.parse_args()
    prepared = Path(args.prepared).resolve()
    work = Path(tempfile.mkdtemp(prefix="bench-docsearch-"))
    server = None
    try:
        data_dir = Path(args.tinydb).resolve() if args.tinydb else year.work_copy(prepared / "tinydb", work / "tinydb")
        dsn = None
        if args.backend == "postgresql":
            from pg_server import PgServer

            server = PgServer(durable=True, keep=str(prepared / "pg")).start()
            dsn = server.dsn(schema="year")
        cfg = year.write_config(work / args.backend, prepared, data_dir, dsn)
        if args.keys:
            year.SCREENS[:] = [sc for sc in year.SCREENS if sc[0] == "Documents search"]
            out = asyncio.run(year.time_screens(cfg, "alice"))["Documents search"]
            print(json.dumps({"open_ms": round(out["open_s"] * 1000, 1),
                              "keys_ms": [round(k * 1000, 1) for k in out["keys_s"]]}))
            return
        if args.screen:
            print(json.dumps(asyncio.run(screen_keys(cfg, args.profile, args.word))))
            return
        from core.plugins.runtime import open_backdesk
        from plugins.documents import service

        if args.fill:
            t0 = time.perf_counter()
            bd = open_backdesk(cfg, account="alice")  # the migration
            t1 = time.perf_counter()
            ctx, n = bd.context("documents"), 0
            while filled := service.fill_file_words(ctx):
                n += filled
            t2 = time.perf_counter()
            if hasattr(bd.store, "compact"):
                bd.store.compact()
            print(f"opened (migrated) in {t1 - t0:.1f} s; {n} documents' words filled in {t2 - t1:.1f} s; "
                  f"compacted in {time.perf_counter() - t2:.1f} s", flush=True)
            bd.close()
        bd = open_backdesk(cfg, account="alice")
        try:
            ctx = bd.context("documents")
            ctx.table("documents").find(None, order_by=["-asn"], limit=40)  # the screen's first page
            gc.collect()
            prof = cProfile.Profile() if args.profile else None
            if prof:
                prof.enable()
            first = search_once(ctx, args.word, service)
            if prof:
                prof.disable()
            print("first ", json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in first.items()}))
            for _ in range(args.repeat):
                again = search_once(ctx, args.word, service)
                print("again ", json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in again.items()}))
            if prof:
                pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
                pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        finally:
            bd.close()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
