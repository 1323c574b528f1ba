"""Storage benchmark: insert latency, open time and memory, with baselines.

Prints a table (not a timed test).  For tables already holding 1k, 10k and
100k documents it measures the latency of one insert, each committed and
fsynced before the call returns, for

* the Backdesk store (``core.storage``),
* stock TinyDB with its JSONStorage (which fsyncs too), sampled fewer times
  at 100k because each insert rewrites the whole file,
* the floor: appending the same record as one JSON line plus ``fsync``.

Then, on the 100k table, reads through the equality indexes beside the full
scan (the same store with ``index_min_docs=None``), what building an index
costs (time, memory) and what keeping it costs a write: insert p50 with and
without indexes, and the CPU of an update in a transaction (no fsync).

Then the time to open a store with 100k documents (fresh process, after the
imports) and its peak memory.

    python bench/storage.py [--dir DIR] [--samples N]

Run it on the disk the data will live on (``--dir``): fsync cost is the disk's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def record(i: int) -> dict:
    return {
        "title": f"Printer jammed on floor {i % 7}",
        "status": ("open", "waiting", "closed")[i % 3],
        "priority": ("low", "normal", "high")[i % 3],
        "assignee": i % 40,
        "created": f"2026-01-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
        "tags": ["printer", f"floor{i % 7}"],
        "n": i,
    }


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def bench_backdesk(base: str, size: int, samples: int) -> list[float]:
    from core.storage import open_store

    d = os.path.join(base, f"backdesk-{size}")
    s = open_store(d)
    t = s.table("bench", "cases")
    chunk = 10_000
    for start in range(0, size, chunk):
        with s.transaction():
            for i in range(start, min(size, start + chunk)):
                t.insert(record(i))
    s.compact()  # steady state: the documents are in a snapshot
    lat = []
    for i in range(samples):
        doc = record(size + i)
        t0 = time.perf_counter()
        t.insert(doc)
        lat.append(time.perf_counter() - t0)
    assert t.count() == size + samples
    s.close()
    return lat


def bench_tinydb(base: str, size: int, samples: int) -> list[float]:
    from tinydb import TinyDB
    from tinydb.storages import JSONStorage

    path = os.path.join(base, f"tinydb-{size}.json")
    db = TinyDB(path, storage=JSONStorage)
    db.insert_multiple(record(i) for i in range(size))
    lat = []
    for i in range(samples):
        doc = record(size + i)
        t0 = time.perf_counter()
        db.insert(doc)
        lat.append(time.perf_counter() - t0)
    db.close()
    return lat


def bench_floor(base: str, size: int, samples: int) -> list[float]:
    path = os.path.join(base, f"floor-{size}.jsonl")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    lat = []
    for i in range(samples):
        doc = record(size + i)
        t0 = time.perf_counter()
        os.write(fd, json.dumps(doc).encode() + b"\n")
        os.fsync(fd)
        lat.append(time.perf_counter() - t0)
    os.close(fd)
    return lat


OPEN_SCRIPT = r"""
import json, os, sys, time, tracemalloc
sys.path.insert(0, {root!r})
from core.storage import open_store
trace = sys.argv[2] == "trace"
if trace:
    tracemalloc.start()
t0 = time.perf_counter()
s = open_store(sys.argv[1])
n = s.table("bench", "cases").count()
dt = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1] if trace else 0
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({{"seconds": dt, "docs": n, "rss_kb": int(hwm), "heap_peak": peak}}))
"""


def open_in_subprocess(d: str, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", OPEN_SCRIPT.format(root=ROOT), d, mode],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def baseline_rss() -> int:
    # VmHWM, not ru_maxrss: the latter can carry the parent's size over fork+exec.
    code = (f"import sys; sys.path.insert(0, {ROOT!r}); import core.storage; "
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1])")
    return int(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                              text=True).stdout)


def median_ms(fn, reps: int = 5) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bench_indexes(d: str, samples: int) -> None:
    """Indexed reads beside the scan, index build cost, write overhead."""
    import tracemalloc

    from core.storage import AnyOf, Contains, open_store
    from core.storage.engine import INDEX_MIN_DOCS

    s = open_store(d)
    t = s.table("bench", "cases")
    n_docs = t.count()
    state = s._states["bench.cases"]  # white box: to drop/restore the indexes
    queries = [
        ("find status='open', limit 50", lambda: t.find({"status": "open"}, limit=50)),
        ("find priority AnyOf + assignee=7", lambda: t.find({"priority": AnyOf(["high", "normal"]), "assignee": 7})),
        ("find assignee=7 (all ~2.5k)", lambda: t.find({"assignee": 7})),
        ("find status='open' order_by -n, limit 50", lambda: t.find({"status": "open"}, order_by="-n", limit=50)),
        ("find assignee=7 + title Contains", lambda: t.find({"assignee": 7, "title": Contains("floor 3")})),
        ("find status='open' order_by -id, limit 1", lambda: t.find({"status": "open"}, order_by="-id", limit=1)),
        ("count(status='open')", lambda: t.count({"status": "open"})),
        ("count(assignee=7, status='open')", lambda: t.count({"assignee": 7, "status": "open"})),
    ]

    # Build cost: time of the first query on each field, and its memory.
    builds = []
    for field, value in (("status", "open"), ("priority", "high"), ("assignee", 7), ("n", 5)):
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        t.count({field: value})
        size = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        ix = state.indexes.pop((field,))
        t0 = time.perf_counter()
        t.count({field: value})  # untraced: the build time
        build_ms = (time.perf_counter() - t0) * 1000
        builds.append((field, len(ix.buckets), build_ms, size))

    rows = []
    for label, fn in queries:
        fn()  # any index it needs exists now
        s.index_min_docs = None
        scan = median_ms(fn)
        s.index_min_docs = INDEX_MIN_DOCS
        indexed = median_ms(fn)
        rows.append((label, scan, indexed))

    print()
    print(f"Reads on the {n_docs // 1000}k table, ms (median of 5), full scan vs equality index, same run")
    print(f"{'query':<42} | {'scan':>8} | {'indexed':>8} | {'scan/index':>10}")
    for label, scan, indexed in rows:
        print(f"{label:<42} | {scan:8.2f} | {indexed:8.3f} | {scan / indexed:9.0f}x")
    print()
    print(f"Index build (the first query filtering on the field) and its memory, {n_docs} docs")
    print(f"{'field':<10} | {'distinct':>8} | {'build ms':>8} | {'MB (tracemalloc)':>16}")
    for field, distinct, build_ms, size in builds:
        print(f"{field:<10} | {distinct:>8} | {build_ms:8.1f} | {size / 1e6:16.2f}")

    # Write overhead: inserts alternating in blocks with 3 indexes (status,
    # priority, assignee) and with none; then updates inside one transaction
    # (no fsync: the CPU cost of a write) with and without them.
    kept = (("status",), ("priority",), ("assignee",))

    def indexes(on: bool) -> None:
        state.indexes.clear()
        for path in kept if on else ():
            state.index(path, 0)  # built afresh: never stale

    with_ix, without = [], []
    i = 0
    for block in range(10):
        use = block % 2 == 0
        indexes(use)
        for _ in range(samples // 10):
            doc = record(i)
            i += 1
            t0 = time.perf_counter()
            t.insert(doc)
            (with_ix if use else without).append(time.perf_counter() - t0)

    def updates(n: int) -> float:
        t0 = time.perf_counter()
        for k in range(n):
            t.update(1 + k, {"status": ("open", "waiting", "closed")[(k + 1) % 3], "assignee": k % 41})
        return time.perf_counter() - t0

    upd: dict[bool, list[float]] = {}
    for use in (False, True) * 4:
        indexes(use)
        upd.setdefault(use, []).append(_rolled_back(s, lambda: updates(10_000)) / 10_000 * 1e6)
    print()
    print("Write overhead of keeping 3 indexes (status, priority, assignee), same run:")
    print(f"  insert p50 (committed + fsync): {statistics.median(with_ix) * 1000:.3f} ms with, "
          f"{statistics.median(without) * 1000:.3f} ms without ({len(with_ix)} + {len(without)} inserts, "
          f"alternating blocks)")
    print(f"  update in a transaction (CPU, no fsync): {min(upd[True]):.1f} us with, {min(upd[False]):.1f} us "
          f"without (best of 4 x 10k updates that change two indexed fields, alternating)")
    s.compact()  # the open measured below stays "snapshot only"
    s.close()


class _Rollback(Exception):
    pass


def _rolled_back(s, fn) -> float:
    """Run fn() (which returns a duration) inside a transaction that is rolled back."""
    out = []
    try:
        with s.transaction():
            out.append(fn())
            raise _Rollback
    except _Rollback:
        pass
    return out[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", help="where to put the files (default: a temp dir)")
    ap.add_argument("--samples", type=int, default=500, help="inserts measured per size (Backdesk, floor)")
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="backdesk-bench-", dir=args.dir)
    tiny_samples = {1_000: 200, 10_000: 50, 100_000: 20}
    try:
        rows = []
        for size in (1_000, 10_000, 100_000):
            bd = bench_backdesk(base, size, args.samples)
            fl = bench_floor(base, size, args.samples)
            tn = bench_tinydb(base, size, tiny_samples[size])
            rows.append((size, bd, tn, fl))
            print(f"  measured N={size}", file=sys.stderr, flush=True)

        ms = lambda x: f"{x * 1000:8.3f}"  # noqa: E731
        print()
        print("Insert latency in ms (one insert, committed and fsynced), table already holding N docs")
        print(f"{'N':>7} | {'Backdesk p50':>12} {'p99':>8} | {'TinyDB p50':>10} {'p99':>8} (n) "
              f"| {'floor p50':>9} {'p99':>8} | {'BD/floor':>8} | {'TinyDB/BD':>9}")
        for size, bd, tn, fl in rows:
            b50, t50, f50 = statistics.median(bd), statistics.median(tn), statistics.median(fl)
            print(f"{size:>7} | {ms(b50):>12} {ms(pct(bd, 99))} | {ms(t50):>10} {ms(pct(tn, 99))} "
                  f"({len(tn):>2}) | {ms(f50):>9} {ms(pct(fl, 99))} | {b50 / f50:7.2f}x | {t50 / b50:8.1f}x")

        d100 = os.path.join(base, "backdesk-100000")
        bench_indexes(d100, args.samples)
        opens = [open_in_subprocess(d100, "plain") for _ in range(3)]
        traced = open_in_subprocess(d100, "trace")
        base_rss = baseline_rss()
        seconds = statistics.median(o["seconds"] for o in opens)
        rss = max(o["rss_kb"] for o in opens)

        # Worst case: a journal just under the compaction threshold to replay too.
        from core.storage import open_store

        s = open_store(d100, compact_bytes=1 << 40)
        t = s.table("bench", "cases")
        with s.transaction():
            for i in range(30_000):
                t.update(1 + i, {"status": "touched"})
        for i in range(2_000):
            t.insert(record(i))
        jbytes = s._jpos
        s.close()
        worst = statistics.median(open_in_subprocess(d100, "plain")["seconds"] for _ in range(3))
        s = open_store(d100, compact_bytes=1 << 40)
        t0 = time.perf_counter()
        s.compact()  # what one insert in ~40k pays when it crosses the threshold
        compact_s = time.perf_counter() - t0
        s.close()

        print()
        print(f"Open a store with {opens[0]['docs']} docs (snapshot only):  {seconds * 1000:.0f} ms "
              f"(median of 3, fresh process, after imports)")
        print(f"Open the same with a {jbytes / 1e6:.1f} MB journal to replay:  {worst * 1000:.0f} ms")
        print(f"Peak memory of that process: {rss / 1024:.0f} MB RSS "
              f"({base_rss / 1024:.0f} MB of it Python + imports); "
              f"Python heap peak while opening: {traced['heap_peak'] / 1e6:.0f} MB (tracemalloc)")
        print(f"Compaction of that table (the insert that crosses the journal threshold pays it, "
              f"about once per 8 MB of journal): {compact_s * 1000:.0f} ms")
        snap = os.path.getsize(os.path.join(d100, "bench", "cases.json"))
        print(f"Snapshot file for 100k docs: {snap / 1e6:.1f} MB")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
