"""Sessions' memory on a year's data: segments read on demand vs one store shared by fork.

    python bench/shared.py --scale 0.25 --sessions 5

The two designs the issue names for the TinyDB backend, side by side on the
same year (bench/yearbuild.py, through bench/year.py's cache), each session
doing the same work — the dashboard's questions (today's calls, the active
tickets, documents filed this week) and the call history (the newest 5,000
calls by started_at, then a text filter over them, as typing "müller"):

* **whole** (the baseline, main before segments): each session opens the
  store lazily and reads every table it touches whole;
* **segments** (what core.plugins.runtime does now): each session opens the store
  lazily and reads only the segments a question needs (core/storage/engine.py
  "part of a table not loaded");
* **fork**: one parent loads every table before forking (as a forking
  server would), ``gc.freeze()`` so the collector leaves the shared objects'
  pages alone, then forks the sessions; what a child touches it still
  copies (reference counts are written on every read of an object);
* **fork-used**: the same, the parent loading only the tables the work
  reads (the most a forking server could save: it cannot know in general).

Reported per design: each session's RSS, PSS (its fair share of pages
shared with others) and private memory (pages only it has: Private_Clean +
Private_Dirty), and the total PSS of all processes that serve the sessions
(the fork's parent included), after the work, with all sessions still alive;
and the work's time per session. The first design is the baseline: the
others are printed as ratios against it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def memory() -> dict:
    out = {}
    with open("/proc/self/smaps_rollup") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                out[key] = int(rest.split()[0]) / 1024
    out["Private"] = out.pop("Private_Clean", 0) + out.pop("Private_Dirty", 0)
    return out


#: the tables the sessions' work reads (what "fork-used" loads before the fork)
USED = ("telephony.calls", "it.tickets", "documents.documents")


def readline(fd: int) -> bytes:
    out = bytearray()
    while not out.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            raise SystemExit("a session ended early (see its error above)")
        out += chunk
    return bytes(out)


def work(store) -> float:
    """What a session asks for: the dashboard, then the call history filtered."""
    from core.storage import AnyOf, Range

    t0 = time.perf_counter()
    now = datetime.now(timezone.utc)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat(timespec="seconds")
    week = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0).isoformat(timespec="seconds")
    calls = store.table("telephony", "calls")
    calls.find({"started_at": Range(ge=today)})
    store.table("it", "tickets").find({"status": AnyOf(["new", "open", "waiting"])})
    store.existing_table("documents.documents").count({"filed_at": Range(ge=week)})
    history = calls.find(order_by=["-started_at", "-id"], limit=5000)
    needle = "müller"
    [c for c in history if needle in json.dumps(c, ensure_ascii=False).casefold()]
    return time.perf_counter() - t0


def run_design(design: str, data_dir: Path, sessions: int) -> dict:
    from core.storage import open_store

    parent_store = None
    if design == "fork":
        parent_store = open_store(data_dir, lazy_tables=False)
    elif design == "fork-used":  # only the tables the sessions use, loaded before the fork
        parent_store = open_store(data_dir, lazy_tables=True)
        for name in USED:
            parent_store.existing_table(name).count()
    if parent_store is not None:
        gc.collect()
        gc.freeze()
    children = []
    for _ in range(sessions):
        results_r, results_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the session
            os.close(results_r)
            os.close(go_w)
            try:
                if parent_store is not None:
                    store = parent_store
                else:
                    store = open_store(data_dir, lazy_tables=True)
                    if design == "whole":  # as before segments: every table read whole
                        for st in store._states.values():
                            if st.lazy is not None:
                                st.lazy.segmented = False
                seconds = work(store)
                gc.collect()
                os.write(results_w, json.dumps({"seconds": seconds}).encode() + b"\n")
                os.read(go_r, 1)  # stay alive until every session is measured
                os.write(results_w, json.dumps(memory()).encode() + b"\n")
            finally:
                os._exit(0)
        os.close(results_w)
        os.close(go_r)
        children.append((pid, results_r, go_w))
    timings = [json.loads(readline(r))["seconds"] for _pid, r, _w in children]
    # every session has done its work and is alive: measure them all now
    mems = []
    for _pid, r, w in children:
        os.write(w, b"x")
        mems.append(json.loads(readline(r)))
        os.close(w)
        os.close(r)
    parent = memory() if parent_store is not None else {"Pss": 0.0, "Rss": 0.0, "Private": 0.0}
    for pid, _r, _w in children:
        os.waitpid(pid, 0)
    if parent_store is not None:
        gc.unfreeze()
        parent_store.close()
    return {
        "rss_mb": statistics.median(m.get("Rss", 0) for m in mems),
        "pss_mb": statistics.median(m.get("Pss", 0) for m in mems),
        "private_mb": statistics.median(m.get("Private", 0) for m in mems),
        "parent_pss_mb": parent["Pss"],
        "total_pss_mb": sum(m.get("Pss", 0) for m in mems) + parent["Pss"],
        "work_s": statistics.median(timings),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--cache", default=os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "backdesk-bench"))
    ap.add_argument("--designs", default="whole,segments,fork,fork-used")
    args = ap.parse_args()
    import shutil

    import year as yearbench
    from core.storage import open_store

    year = yearbench.cached_year(Path(args.cache).expanduser(), args.scale)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-shared-"))
    try:
        data_dir = yearbench.work_copy(year, work_dir)
        pid = os.fork()  # in a child: the rewrite's memory must not be the sessions' to share
        if pid == 0:
            try:
                with open_store(data_dir) as store:
                    store.compact(rewrite=True)  # snapshots with segments, as this code writes them
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        results = {}
        for design in args.designs.split(","):
            results[design] = run_design(design, data_dir, args.sessions)
            print(design, json.dumps(results[design]), flush=True)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    base_name = args.designs.split(",")[0]
    base = results[base_name]
    print(f"\nScale {args.scale:g}, {args.sessions} sessions, each: the dashboard's questions and the call "
          f"history filtered (medians per session; MB)\n")
    print("| design | RSS | PSS | private | fork parent PSS | total PSS | work s | total PSS / " + base_name + " |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for design, r in results.items():
        print(f"| {design} | {r['rss_mb']:,.1f} | {r['pss_mb']:,.1f} | {r['private_mb']:,.1f} | "
              f"{r['parent_pss_mb']:,.1f} | {r['total_pss_mb']:,.1f} | {r['work_s']:.2f} | "
              f"{r['total_pss_mb'] / base['total_pss_mb']:.2f}× |")


if __name__ == "__main__":
    main()
