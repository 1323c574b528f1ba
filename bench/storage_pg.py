"""Storage benchmark, PostgreSQL column: the PG backend vs the TinyDB backend vs the floor.

Starts its own PostgreSQL server (Debian's binaries, as in the tests:
tests/storage/pg_server.py) with durable settings (fsync and
synchronous_commit on, the defaults), in a temp dir on the disk of ``--dir``,
talking over a Unix socket.  In the same run, for tables already holding
1k, 10k and 100k documents, the latency of one insert committed before the
call returns, for

* the PostgreSQL backend (``core.storage.pg``),
* the default backend (``core.storage``, TinyDB journal: bench/storage.py's
  measurement),
* the floor: one JSON line appended plus ``fsync`` (bench/storage.py's).

Then, on the 100k tables: ``find`` with an equality and with a range
(``limit=50``), ``count(where)``; and 10 writer processes inserting 200
documents each at once (commits per second over all of them).

Files (``--files``, or ``--files-only`` for just these): storing and reading
1 MB and 50 MB files through the file store (``core.storage.filestore``) —
the folder store of TinyDB sites against PostgreSQL's (``pgfiles``, 1 MiB
bytea rows) — in MB/s, and the peak RSS of a fresh process while it stores
and then streams a 50 MB file out of PostgreSQL (``ru_maxrss`` over its
level after the imports and the connection).

    python bench/storage_pg.py [--dir DIR] [--samples N] [--files | --files-only]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "storage"))

from storage import bench_backdesk, bench_floor, pct, record  # noqa: E402  (bench/storage.py)

from core.storage import AnyOf, Range  # noqa: E402


def bench_pg(dsn: str, size: int, samples: int) -> list[float]:
    from core.storage.pg import open_pg_store

    s = open_pg_store(dsn)
    s.load([("bench.cases", 1, size + 1, [{"id": i + 1, **record(i)} for i in range(size)])])
    with s._connection().cursor() as cur:  # fresh statistics, as autovacuum would give them
        cur.execute(f'ANALYZE {s._schema_sql}."bench__cases"')
    t = s.table("bench", "cases")
    lat = []
    for i in range(samples):
        doc = record(size + i)
        t0 = time.perf_counter()
        t.insert(doc)
        lat.append(time.perf_counter() - t0)
    assert t.count() == size + samples
    s.close()
    return lat


QUERIES = [
    ("find status='open', limit 50", lambda t: t.find({"status": "open"}, limit=50)),
    ("find priority AnyOf, assignee=7", lambda t: t.find({"priority": AnyOf(["high", "low"]), "assignee": 7}, limit=50)),
    ("find created in one day (Range)", lambda t: t.find({"created": Range(ge="2026-01-05", lt="2026-01-06")}, limit=50)),
    ("count(status='open')", lambda t: t.count({"status": "open"})),
    ("find order_by -n, limit 50", lambda t: t.find(order_by="-n", limit=50)),
]


def time_queries(table) -> list[float]:
    out = []
    for _name, q in QUERIES:
        q(table)  # warm (and lets the PG backend create its range index)
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            q(table)
            runs.append(time.perf_counter() - t0)
        out.append(statistics.median(runs))
    return out


WORKER = os.path.join(ROOT, "tests", "storage", "worker.py")


def writers(where: str, n: int = 10, each: int = 200) -> float:
    """Commits per second with ``n`` processes inserting ``each`` documents at once."""
    env = dict(os.environ, COMPACT_BYTES=str(8 << 20))
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, WORKER, "insert", where, str(each)], stdout=subprocess.DEVNULL,
                              env=env) for _ in range(n)]
    for p in procs:
        assert p.wait() == 0
    return n * each / (time.perf_counter() - t0)


MB = 1_000_000


def _random_file(path: str, size: int) -> str:
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, 1 << 20)
            fh.write(os.urandom(n))
            left -= n
    return path


def time_files(files, base: str, size: int, repeat: int) -> tuple[float, float, float]:
    """(store, read streamed, first local path) in MB/s, median of ``repeat``
    different files of ``size`` bytes."""
    put, read, path = [], [], []
    for i in range(repeat):
        src = _random_file(os.path.join(base, f"src-{size}-{i}"), size)
        t0 = time.perf_counter()
        sha = files.put_file(src).sha256
        put.append(time.perf_counter() - t0)
        os.unlink(src)
        t0 = time.perf_counter()
        with files.open(sha) as fh:
            while fh.read(1 << 20):
                pass
        read.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        files.local_path(sha)
        path.append(time.perf_counter() - t0)
    return tuple(size / MB / statistics.median(x) for x in (put, read, path))  # type: ignore[return-value]


RSS_CHILD = """
import os, resource, sys
sys.path.insert(0, {root!r})
from core.storage.pg import open_pg_store
store = open_pg_store({dsn!r})
files = store.files("bench/rss", local_dir={local!r})
files.size("0" * 64)  # connected, tables made
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sha = files.put_file({src!r}).sha256
after_put = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with files.open(sha) as fh:
    while fh.read(1 << 20):
        pass
after_read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base, after_put, after_read)
"""


def peak_rss(dsn: str, base: str, size: int) -> tuple[int, int, int]:
    """KiB: the process's peak RSS before, after storing and after streaming a ``size`` file."""
    src = _random_file(os.path.join(base, "rss-src"), size)
    code = RSS_CHILD.format(root=ROOT, dsn=dsn, local=os.path.join(base, "rss-host"), src=src)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    os.unlink(src)
    a, b, c = (int(x) for x in out.split())
    return a, b, c


def bench_files(server, base: str, repeat: int = 3) -> None:
    from core.storage import open_store
    from core.storage.pg import open_pg_store

    print("files: MB/s (median of %d files each), store / read streamed / first local path" % repeat)
    print(f"{'size':>6} | {'folder (TinyDB site)':>26} | {'PostgreSQL':>26}")
    tiny = open_store(os.path.join(base, "files-tinydb"))
    pg = open_pg_store(server.dsn(schema="bench_files"))
    try:
        folder = tiny.files("bench/files", local_dir=os.path.join(base, "files-tinydb"))
        pgfiles = pg.files("bench/files", local_dir=os.path.join(base, "files-pg-host"))
        for size in (1 * MB, 50 * MB):
            f = time_files(folder, base, size, repeat)
            p = time_files(pgfiles, base, size, repeat)
            print(f"{size // MB:>4}MB | {f[0]:7.0f} / {f[1]:7.0f} / {'(itself)':>7} | "
                  f"{p[0]:7.0f} / {p[1]:7.0f} / {p[2]:7.0f}")
    finally:
        tiny.close()
        pg.close()
    before, stored, streamed = peak_rss(server.dsn(schema="bench_rss"), base, 50 * MB)
    print(f"peak RSS of a process storing then streaming a 50 MB file from PostgreSQL: "
          f"{before / 1024:.1f} MiB after connecting, {stored / 1024:.1f} MiB after storing, "
          f"{streamed / 1024:.1f} MiB after reading (+{(streamed - before) / 1024:.1f} MiB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", help="where to put the files and the cluster (default: a temp dir)")
    ap.add_argument("--samples", type=int, default=500, help="inserts measured per size")
    ap.add_argument("--files", action="store_true", help="also measure the file store (1 MB, 50 MB files)")
    ap.add_argument("--files-only", action="store_true", help="measure only the file store")
    args = ap.parse_args()
    from pg_server import PgServer

    base = tempfile.mkdtemp(dir=args.dir, prefix="bench-storage-pg-")
    server = PgServer(durable=True)
    if args.dir:
        tempfile.tempdir = args.dir  # the cluster on the same disk
    server.start()
    try:
        from core.storage import open_store
        from core.storage.pg import open_pg_store

        print(f"PostgreSQL server in {server.root} (fsync on); files in {base}")
        if args.files or args.files_only:
            bench_files(server, base)
            if args.files_only:
                return
            print()
        print("insert latency in ms (p50 / p99), table already holding N documents")
        print(f"{'N':>8} | {'PostgreSQL':>15} | {'TinyDB backend':>15} | {'floor':>15} | PG/floor | PG/TinyDB")
        for size in (1_000, 10_000, 100_000):
            dsn = server.dsn(schema=f"bench_{size}")
            pg = bench_pg(dsn, size, args.samples)
            bd = bench_backdesk(base, size, args.samples)
            fl = bench_floor(base, size, args.samples)
            p = [pct(x, 50) * 1000 for x in (pg, bd, fl)]
            q = [pct(x, 99) * 1000 for x in (pg, bd, fl)]
            print(f"{size:>8,} | {p[0]:6.3f} / {q[0]:6.3f} | {p[1]:6.3f} / {q[1]:6.3f} | "
                  f"{p[2]:6.3f} / {q[2]:6.3f} | {p[0] / p[2]:7.1f}× | {p[0] / p[1]:7.1f}×")
        print()
        print("reads on the 100k table, ms (median of 5)")
        pg_store = open_pg_store(server.dsn(schema="bench_100000"))
        tiny = open_store(os.path.join(base, "backdesk-100000"))
        a = time_queries(pg_store.table("bench", "cases"))
        b = time_queries(tiny.table("bench", "cases"))
        pg_store.close()
        tiny.close()
        print(f"{'query':<36} | {'PostgreSQL':>10} | {'TinyDB backend':>14}")
        for (name, _), x, y in zip(QUERIES, a, b):
            print(f"{name:<36} | {x * 1000:10.2f} | {y * 1000:14.2f}")
        print()
        pg_dir = os.path.join(base, "writers-tinydb")
        open_store(pg_dir).close()
        dsn = server.dsn(schema="bench_writers")
        open_pg_store(dsn).close()
        w_pg = writers("pg:" + dsn)
        w_bd = writers(pg_dir)
        print(f"10 writer processes x 200 inserts: PostgreSQL {w_pg:,.0f} commits/s, "
              f"TinyDB backend {w_bd:,.0f} commits/s")
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
