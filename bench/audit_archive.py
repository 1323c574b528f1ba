"""Start-up time and memory with a long audit trail, before and after archiving.

    python bench/audit_archive.py [--entries 200000] [--days 400] [--keep-days 30]
                                                  [--dir DIR] [--runs 5] [--backend tinydb|postgresql]

It builds a site (the test office's
config) whose audit trail holds ENTRIES hash-chained entries spread evenly
over the last DAYS days (written straight into the store, the chain made as
core.services.audit makes it: 60 % updates with before/after, 30 % inserts, 10 %
reads), compacts the store, then measures ``open_backdesk`` in fresh
processes (RUNS each; wall time and the process's peak RSS, median), runs
``backdesk audit archive --before <today - KEEP_DAYS>`` (timed, with its own
peak RSS), and measures again. Prints one table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from core.plugins.runtime import open_backdesk
bd = open_backdesk(sys.argv[1], sys.argv[2], account="alice")
took = time.perf_counter() - t0
live = bd.services.audit.table.count()
status = {l.split(":")[0]: l.split()[1] for l in open("/proc/self/status") if l.startswith("Vm")}
bd.close()
print(json.dumps({"seconds": took, "rss_kb": int(status["VmRSS"]), "hwm_kb": int(status["VmHWM"]), "live": live}))
"""

# runs the backdesk command line in this process and reports its peak RSS
# (VmHWM: ru_maxrss would include the forking parent's)
CLI = r"""
import atexit, runpy, sys, time
from core.services.audit import AuditTrail
held = []
commit = AuditTrail._commit_archive
def timed(self, chunk, plan):  # how long each file's transaction (the store's write lock) takes
    t = time.perf_counter()
    try:
        return commit(self, chunk, plan)
    finally:
        held.append(time.perf_counter() - t)
AuditTrail._commit_archive = timed
def peak():
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
    print(f"VmHWM {hwm}", file=sys.stderr)
    print("transactions " + " ".join(f"{t:.2f}" for t in held), file=sys.stderr)
atexit.register(peak)
sys.argv = ["backdesk", *sys.argv[1:]]
runpy.run_module("core", run_name="__main__")
"""


def env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def build(site, entries: int, days: int) -> None:
    from core.services.audit import GENESIS, entry_hash
    from tests.conftest import open_raw_store

    site.open("alice").close()  # declares every table
    site.opened.clear()
    store = open_raw_store(site.config_dir, site.data_dir)
    audit = store.table("core", "audit")
    head = store.table("core", "audit_head")
    start = datetime.now(timezone.utc) - timedelta(days=days)
    step = timedelta(days=days) / entries
    seq, prev = 0, GENESIS
    statuses = ["open", "waiting", "in progress", "closed"]
    batch = 5000
    last_id = None
    for base in range(0, entries, batch):
        with store.transaction():
            for n in range(base, min(base + batch, entries)):
                kind = n % 10
                doc = {"id": n % 5000 + 1, "title": f"Printer on floor {n % 7} jams again ({n})",
                       "status": statuses[n % 4], "priority": "normal", "reporter_id": n % 300,
                       "assignee": "carla", "due": "2026-03-01", "notes": "Toner replaced; paper tray checked.",
                       "tags": ["printer", "floor"]}
                if kind < 6:
                    op, before, after = "update", dict(doc, status=statuses[(n + 1) % 4]), doc
                elif kind < 9:
                    op, before, after = "insert", None, doc
                else:
                    op, before, after = "read", None, None
                seq += 1
                entry = {"at": (start + step * n).isoformat(timespec="microseconds"), "actor": "alice",
                         "plugin": "it", "table": "it.tickets", "doc_id": doc["id"], "op": op,
                         "before": before, "after": after, "what": "ticket opened" if op == "read" else None,
                         "seq": seq, "prev_hash": prev}
                entry["hash"] = prev = entry_hash(entry)
                last_id = audit.insert(entry)
            state = {"seq": seq, "hash": prev, "entry_id": last_id}
            if head.get(1) is None:
                head.insert(state)
            else:
                head.update(1, state)
    if hasattr(store, "compact"):
        store.compact()
    store.close()


def measure(site, runs: int) -> dict:
    out = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", CHILD, str(site.config_dir), str(site.data_dir)],
                              capture_output=True, text=True, env=env(), cwd=ROOT, check=True)
        out.append(json.loads(proc.stdout))
    return {"seconds": statistics.median(r["seconds"] for r in out),
            "rss_mb": statistics.median(r["rss_kb"] for r in out) / 1024,
            "hwm_mb": statistics.median(r["hwm_kb"] for r in out) / 1024, "live": out[0]["live"]}


def disk(site) -> float:
    total = 0
    for root, _dirs, names in os.walk(site.data_dir):
        if "audit-archive" in root:
            continue
        total += sum(os.path.getsize(os.path.join(root, n)) for n in names)
    return total / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--keep-days", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", help="work here (default: a new temporary folder)")
    ap.add_argument("--backend", choices=["tinydb", "postgresql"], default="tinydb")
    args = ap.parse_args()
    if args.backend == "postgresql":
        os.environ["BACKDESK_TEST_STORAGE"] = "postgresql"
    from tests.services.conftest import Site

    root = Path(args.dir or tempfile.mkdtemp(prefix="audit-archive-bench-"))
    site = Site(root)
    t = time.perf_counter()
    build(site, args.entries, args.days)
    print(f"built {args.entries} entries over {args.days} days in {time.perf_counter() - t:.0f} s ({root})",
          flush=True)
    before = measure(site, args.runs)
    before["disk"] = disk(site)
    cutoff = (datetime.now(timezone.utc) - timedelta(days=args.keep_days)).date().isoformat()
    command = ["backdesk", "audit", "archive", "--before", cutoff]
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CLI, *site.cli_args(), *command[1:]],
                          capture_output=True, text=True, env=env(), cwd=ROOT)
    took = time.perf_counter() - t
    peak = int(proc.stderr.rsplit("VmHWM ", 1)[1].split()[0]) if "VmHWM " in proc.stderr else 0
    print(proc.stdout + proc.stderr, flush=True)
    if proc.returncode:
        raise SystemExit(f"archive failed ({proc.returncode})")
    after = measure(site, args.runs)
    after["disk"] = disk(site)
    files = sorted((site.data_dir / "audit-archive").glob("audit-*.jsonl.gz"))
    t = time.perf_counter()
    verify = subprocess.run([sys.executable, "-m", "core", *site.cli_args(), "audit", "verify", "--archives"],
                            capture_output=True, text=True, env=env(), cwd=ROOT)
    t_verify = time.perf_counter() - t
    held = [float(t) for t in proc.stderr.rsplit("transactions", 1)[1].split()] if "transactions" in proc.stderr else []
    print(f"{' '.join(command)}: {took:.1f} s, peak RSS {peak / 1024:.0f} MB; "
          f"each file's transaction {min(held, default=0):.2f}-{max(held, default=0):.2f} s; "
          f"{len(files)} archive files, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB")
    print(f"backdesk audit verify --archives: {t_verify:.1f} s, exit {verify.returncode}: {verify.stdout.strip() or verify.stderr.strip()[:300]}")
    print(f"\n{'':28}{'before':>12}{'after':>12}")
    print(f"{'live audit entries':28}{before['live']:>12}{after['live']:>12}")
    print(f"{'open_backdesk (s, median)':28}{before['seconds']:>12.3f}{after['seconds']:>12.3f}")
    print(f"{'RSS after open (MB)':28}{before['rss_mb']:>12.0f}{after['rss_mb']:>12.0f}")
    print(f"{'peak RSS (MB)':28}{before['hwm_mb']:>12.0f}{after['hwm_mb']:>12.0f}")
    if args.backend == "tinydb":
        print(f"{'store files (MB)':28}{before['disk']:>12.1f}{after['disk']:>12.1f}")


if __name__ == "__main__":
    main()
