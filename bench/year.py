"""A year of a busy office, twenty operators at once: memory and time per session.

    python bench/year.py                       # scale 1: the issue's year (build ~1 h once)
    python bench/year.py --scale 0.1           # a tenth of it (quick)
    python bench/year.py --backends tinydb --sessions 5
    python bench/year.py --prepare /srv/year1       # build, rewrite, migrate; keep it
    python bench/year.py --measure-only /srv/year1  # later, on a quiet machine: only measure

1. **The year** (bench/yearbuild.py): a 60-person office's year made through
   the services — calls with transfer chains, messages, documents with
   versions, tickets with comments, journal entries, timesheets, payroll —
   and the audit entries, events and notifications that produces. Built
   once into ``--cache`` (default ``~/.cache/backdesk-bench``) under a key of
   the builder's version and the scale, and reused; each run works on a
   copy (snapshot files hard-linked: the store replaces them by rename,
   never writes them in place; journal and manifest copied).
2. **Sessions over SSH**, TinyDB and PostgreSQL in the same run (the
   PostgreSQL site is the same year copied by ``backdesk storage migrate
   --to postgresql`` into a throwaway server): ``backdesk serve ssh``'s
   server runs in this process; asyncssh clients open an 80x24 PTY and wait
   for the dashboard's "Welcome". Reported: time to first screen and the
   session process's RSS (VmRSS, and PSS) once the screen is quiet, for one
   session alone (median of ``--samples``), then the total RSS of
   ``--sessions`` sessions opened at once. When one session's RSS times
   the count would pass ``--budget-mb`` (the machine is shared), fewer are
   opened and the total is also given extrapolated, marked so.
3. **Screens**, in a child process per backend (the app headless at 80x24
   through ``App.run_test``): keystroke to the last repainted frame (the
   app's last ``_display`` after the key, once it is idle), p50/p99, for
   Switchboard, Call history filtered by a name, Documents search,
   Helpdesk queue, Journal filtered to a month, Employees (the issue's), and
   Messages, Payroll and the financial reports.  With ``--warm``
   a first such session runs before the timed one: what a first session
   leaves for the next (TinyDB's kept columns beside the snapshots,
   PostgreSQL's search indexes) is there, as for every session but an
   office's first after an upgrade or a compaction.

``--prepare DIR`` does all before the measuring once and keeps it in DIR
(the TinyDB data folder, the PostgreSQL cluster in ``DIR/pg``);
``--measure-only DIR`` then measures from it (each run on a fresh copy of
the TinyDB folder; the PostgreSQL cluster reused as it is).

The baseline is the same measurement of the code before a change, run the
same way: docs/performance.md keeps both.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# --baseline: this harness measures another checkout's code (core/, plugins/),
# given here by the parent run; the session and screen processes inherit it
# through PYTHONPATH (ahead of the editable install).
CODE = Path(os.environ.get("BACKDESK_BENCH_CODE") or ROOT)
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "storage"))
sys.path.insert(0, str(CODE))

def _code(*names: str):
    """The first of these modules the measured code has: a --baseline from
    before core's layer folders (#25) has core.app where this has
    core.shell.app. Looked up as files under CODE: the editable install's
    finder would hand out this checkout's module for one the baseline lacks."""
    for name in names:
        base = CODE.joinpath(*name.split("."))
        if base.with_suffix(".py").exists() or (base / "__init__.py").exists():
            return importlib.import_module(name)
    raise ModuleNotFoundError(f"none of {', '.join(names)} in {CODE}")


ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1b\][^\x07]*\x07")
QUIET = 0.3
#: seconds between two screens' tasks (the shell's idle collection waits 1 s
#: without input, looked for every second)
TASK_PAUSE = 2.2


# ---------------------------------------------------------------------------- the year


def cached_year(cache: Path, scale: float) -> Path:
    """The built year for ``scale`` (built now when missing)."""
    import yearbuild

    dest = cache / f"year-v{yearbuild.BUILD_VERSION}-s{scale:g}"
    if not (dest / "build.json").exists():
        print(f"building the year at scale {scale:g} into {dest} (once; reused by later runs)", flush=True)
        yearbuild.build(dest, scale=scale, progress=lambda line: print(line, flush=True))
    return dest


def work_copy(year: Path, dest: Path) -> Path:
    """A copy of the year's data to work on (the cache stays as built)."""
    src = year / "data"

    def copy(s, d):
        # Only the snapshots and filed documents (in the namespaces' folders)
        # are replaced by rename; the top-level files (journal, store.json,
        # store.head: written in place) are copied.
        if os.path.dirname(os.path.abspath(s)) == os.path.abspath(src):
            return shutil.copy2(s, d)
        try:
            return os.link(s, d)
        except OSError:
            return shutil.copy2(s, d)

    shutil.copytree(src, dest / "data", copy_function=copy)
    os.chmod(dest / "data", 0o700)
    return dest / "data"


def write_config(root: Path, year: Path, data_dir: Path, dsn: str | None) -> Path:
    import yearbuild

    key = (year / "client_key").read_bytes()
    import asyncssh

    pub = asyncssh.import_private_key(key).export_public_key().decode().strip()
    yearbuild.site_config(root, pubkey=pub, dsn=dsn)
    text = (root / "config" / "backdesk.yaml").read_text()
    text = re.sub(r"^data_dir: .*$", f"data_dir: {json.dumps(str(data_dir))}", text, flags=re.M)
    # who runs the bench runs `storage migrate` (the CLI acts as the OS account)
    current_account = _code("core.services.access", "core.access").current_account

    me = current_account()
    if f"\n  {me}: " not in text:
        text = text.replace("operators:\n", f"operators:\n  {json.dumps(me)}: {{name: Bench, roles: [admin]}}\n", 1)
    (root / "config" / "backdesk.yaml").write_text(text)
    return root / "config"


# ---------------------------------------------------------------------------- processes


def proc_memory(pid: int) -> dict:
    """VmRSS, VmHWM and PSS of a process, in MB."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1]) / 1024
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    out["Pss"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


class Client:
    def __init__(self, process) -> None:
        self.process = process
        self.buf = bytearray()
        self.changed = time.monotonic()
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            data = await self.process.stdout.read(65536)
            if not data:
                return
            self.buf += data
            self.changed = time.monotonic()

    def text(self) -> str:
        return ANSI.sub(b"", bytes(self.buf)).decode("utf-8", "replace")

    async def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} never arrived; the screen shows: {self.text()[-3000:]}")
            await asyncio.sleep(0.01)

    async def quiet(self, seconds: float = QUIET) -> None:
        await asyncio.sleep(0.05)
        while time.monotonic() - self.changed < seconds:
            await asyncio.sleep(0.02)


async def open_session(port: int, key, account: str, timeout: float):
    """Connect, open the shell, wait for the dashboard. -> (conn, client, seconds)."""
    import asyncssh

    t0 = time.perf_counter()
    conn = await asyncssh.connect("127.0.0.1", port, username=account, client_keys=[key], known_hosts=None)
    process = await conn.create_process(term_type="xterm-256color", term_size=(80, 24), encoding=None)
    client = Client(process)
    await client.wait_for("Welcome", timeout)
    return conn, client, time.perf_counter() - t0


async def close_session(conn, client) -> None:
    client.process.stdin.write(b"\x11")  # Ctrl+Q
    try:
        await asyncio.wait_for(client.process.wait_closed(), 15)
    except asyncio.TimeoutError:
        pass
    client.task.cancel()
    conn.close()


def session_pids(hub, before: set[int]) -> list[int]:
    return [s.proc.pid for s in hub.sessions if s.proc is not None and s.proc.pid not in before]


async def measure_sessions(config_dir: Path, key, *, samples: int, sessions: int, budget_mb: float,
                           timeout: float) -> dict:
    from core.config import load_config
    serve_ssh = _code("core.cli.serve.ssh", "core.serve.ssh")

    config = load_config(config_dir)
    server, hub = await serve_ssh.start_server(config, port=0)
    port = server.sockets[0].getsockname()[1]
    out: dict = {}
    try:
        firsts, mems = [], []
        for _ in range(samples):
            conn, client, first = await open_session(port, key, "alice", timeout)
            await client.quiet()
            pids = session_pids(hub, set())
            mems.append(proc_memory(pids[0]))
            firsts.append(first)
            await close_session(conn, client)
            while hub.sessions:
                await asyncio.sleep(0.05)
        out["first_screen_s"] = statistics.median(firsts)
        out["first_screen_all"] = firsts
        out["rss_mb"] = statistics.median(m.get("VmRSS", 0) for m in mems)
        out["hwm_mb"] = statistics.median(m.get("VmHWM", 0) for m in mems)
        out["pss_mb"] = statistics.median(m.get("Pss", 0) for m in mems)
        n = sessions
        if out["hwm_mb"] * sessions > budget_mb:
            n = max(1, int(budget_mb // max(out["hwm_mb"], 1)))
        out["sessions_wanted"], out["sessions_run"] = sessions, n
        t0 = time.perf_counter()
        accounts = ["alice", "bob", "carla"]
        opened = await asyncio.gather(*(open_session(port, key, accounts[i % 3], timeout * max(1, n / 2))
                                        for i in range(n)))
        out["all_first_screens_s"] = time.perf_counter() - t0
        await asyncio.gather(*(c.quiet() for _conn, c, _t in opened))
        pids = session_pids(hub, set())
        each = [proc_memory(p) for p in pids]
        out["concurrent_first_screen_p50_s"] = statistics.median(t for _c, _cl, t in opened)
        out["concurrent_first_screen_max_s"] = max(t for _c, _cl, t in opened)
        out["total_rss_mb"] = sum(m.get("VmRSS", 0) for m in each)
        out["total_pss_mb"] = sum(m.get("Pss", 0) for m in each)
        out["max_rss_mb"] = max(m.get("VmRSS", 0) for m in each)
        if n < sessions:
            out["total_rss_mb_extrapolated"] = out["total_rss_mb"] / n * sessions
        await asyncio.gather(*(close_session(conn, c) for conn, c, _t in opened))
        for _ in range(300):
            if not hub.sessions:
                break
            await asyncio.sleep(0.1)
    finally:
        server.close()
        hub.closing = True
    return out


# ---------------------------------------------------------------------------- screens

#: (screen, setup actions, timed keys); an action is a key name or ("nav", id)
SCREENS = [
    ("Switchboard", [], [("nav", "telephony")] + ["down"] * 10),
    ("Call history, filtered by a name", [("nav", "telephony")],
     [("nav", "telephony.history"), "4", "slash"] + list("mueller".replace("ue", "ü"))),
    ("Documents search", [], [("nav", "documents"), "f"] + list("rechnung") + ["enter"]),
    ("Helpdesk queue", [], [("nav", "it.tickets"), "6", "1"] + ["down"] * 8),
    ("Journal for a month", [], [("nav", "accounting.ledger"), "slash"] + list("-03-")),
    ("Employees", [], [("nav", "hr.employees")] + ["down"] * 8),
    # not named by the issue, opened all day all the same (ninth session): the
    # operator's messages (open callbacks; "o" all and back), the month's hours
    # (payroll), the bookkeeper's reports (trial balance, P&L, balance sheet)
    ("Messages", [], [("nav", "telephony.messages"), "o", "o"] + ["down"] * 5),
    ("Payroll", [], [("nav", "accounting.payroll")] + ["down"] * 5),
    ("Financial reports", [], [("nav", "accounting.reports"), "2", "3", "1"]),
]


async def time_screens(config_dir: Path, account: str) -> dict:
    """Run the app headless; keystroke -> last repainted frame, per screen."""
    make_app = _code("core.shell.app", "core.app").make_app
    open_backdesk = _code("core.plugins.runtime", "core.runtime").open_backdesk

    # as `backdesk` starts a session (core/cli/launch.py): the collector held
    # while it starts, what the start made frozen after the first frame, so
    # a full pass later walks what the screens made, not the start's ~70,000
    # objects (without it the run's one full pass, 100-150 ms, fell on a key)
    release_gc = _code("core.gcpause", "core.gcpause").hold_gc()
    bd = open_backdesk(config_dir, account=account)
    app = make_app(bd, poll_interval=0, start_gc_hold=release_gc)
    frames = {"last": 0.0}
    display = app._display

    def _display(screen, renderable):
        if renderable is not None:
            frames["last"] = time.perf_counter()
        return display(screen, renderable)

    app._display = _display
    results: dict = {}
    def loaded() -> list[str] | None:
        states = getattr(bd.store, "_states", None)
        if states is None:
            return None
        return sorted(n for n, st in states.items() if getattr(st, "_docs", True) is not None)

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()

        async def settle() -> None:
            await pilot.pause()
            quiet_since = time.perf_counter()
            seen = frames["last"]
            while time.perf_counter() - quiet_since < 0.15:
                await asyncio.sleep(0.02)
                await pilot.pause()
                busy = any(w.is_running for w in app.workers)
                if frames["last"] != seen or busy:
                    seen = frames["last"]
                    quiet_since = time.perf_counter()

        async def act(step) -> float:
            start = time.perf_counter()
            frames["last"] = start
            if isinstance(step, tuple):
                app.open_nav(step[1])
            else:
                await pilot.press(step)
            await settle()
            return max(0.0, frames["last"] - start)

        await settle()
        results["loaded_at_first_screen"] = loaded()
        results["rss_at_first_screen_mb"] = proc_memory(os.getpid()).get("VmRSS")
        for name, setup, keys in SCREENS:
            app.open_nav("home")
            await settle()
            # between two tasks an operator pauses longer than the shell's
            # idle second: its idle collection runs then, as in a session
            # (core.gcpause.collect_if_due); the keys of a task come back to back
            await asyncio.sleep(TASK_PAUSE)
            for step in setup:
                await act(step)
            times = [await act(step) for step in keys]
            results[name] = {"open_s": times[0], "keys_s": times[1:]}
    results["loaded_at_end"] = loaded()
    results["rss_mb"] = proc_memory(os.getpid()).get("VmRSS")
    bd.close()
    return results


def screens_child(config_dir: Path) -> dict:
    """Run :func:`time_screens` in a fresh process (its memory is not ours)."""
    proc = subprocess.run([sys.executable, __file__, "--screens-child", str(config_dir)],
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"screen timing failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# ---------------------------------------------------------------------------- main


def store_figures(data_dir: Path) -> dict:
    size = sum(f.stat().st_size for f in data_dir.rglob("*") if f.is_file())
    manifest = json.loads((data_dir / "store.json").read_text())
    return {"data_mb": size / 2**20, "tables": len(manifest.get("tables", {}))}


def prepare(args, dest: Path, *, keep: bool) -> tuple[dict, object]:
    """The year made ready to measure in ``dest``: the TinyDB data folder
    (``dest/tinydb/data``, snapshots rewritten by this code unless
    ``--no-rewrite``) and, for PostgreSQL, the same year migrated into a
    server whose cluster is ``dest/pg`` (kept when ``keep``: ``--prepare``).
    Writes ``dest/prepared.json``; returns it and the running server (or None).
    """
    cache = Path(args.cache).expanduser()
    year = cached_year(cache, args.scale)
    built = json.loads((year / "build.json").read_text())
    meta: dict = {"scale": args.scale, "counts": built["counts"], "year": str(year)}
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(year / "client_key", dest / "client_key")
    data_dir = work_copy(year, dest / "tinydb")
    if args.rewrite:
        # every snapshot written by this code (big tables in segments, as
        # a site's next compaction leaves them); the cache stays as built
        from core.storage.engine import open_store

        t0 = time.perf_counter()
        with open_store(data_dir) as store:
            store.compact(rewrite=True)
        meta["rewrite_s"] = time.perf_counter() - t0
        print(f"snapshots rewritten in {meta['rewrite_s']:.1f} s", flush=True)
    meta["store"] = store_figures(data_dir)
    server = None
    if "postgresql" in args.backends:
        from pg_server import PgServer

        server = PgServer(durable=True, keep=str(dest / "pg") if keep else None).start()
        dsn = server.dsn(schema="year")
        t0 = time.perf_counter()
        try:
            meta["pg_docs"] = copy_to_pg(data_dir, dsn)
        except BaseException:
            server.stop()
            raise
        meta["pg_copy_s"] = time.perf_counter() - t0
        print(f"the year copied into PostgreSQL in {meta['pg_copy_s']:.1f} s", flush=True)
    meta["backends"] = list(args.backends)
    (dest / "prepared.json").write_text(json.dumps(meta, indent=1))
    return meta, server


class _Pages:
    """A table's documents in id order, read 5,000 at a time each time it is
    iterated (PostgreSQL's ``load`` goes through them twice: the highest id,
    then the rows)."""

    def __init__(self, table) -> None:
        self.table = table

    def __iter__(self):
        from core.storage import Range

        last = 0
        while True:
            page = self.table.find({"id": Range(gt=last)}, order_by="id", limit=5000)
            yield from page
            if len(page) < 5000:
                return
            last = page[-1]["id"]


def copy_to_pg(data_dir: Path, dsn: str) -> int:
    """The TinyDB year into the PostgreSQL store at ``dsn``, table by table
    and page by page (``storage migrate`` holds every table in memory, three
    times for its checks: 18 GB at scale 1), with the file areas; the counts
    are compared. Returns the documents copied."""
    from core.storage.engine import open_store
    from core.storage.migrate_cli import copy_files_in
    from core.storage.pg import open_pg_store

    src = open_store(str(data_dir), lazy_tables=True)
    dst = open_pg_store(dsn)
    try:
        names = sorted(src.tables())

        def tables():
            for name in names:
                st = src._states[name]
                yield name, st.version, st.next_id, _Pages(src.existing_table(name))

        dst.load(tables())
        copy_files_in(os.path.abspath(data_dir), dst)
        total = 0
        for name in names:
            a, b = src.existing_table(name).count(), dst.existing_table(name).count()
            if a != b:
                raise SystemExit(f"copying the year to PostgreSQL: {name} has {a} documents, the copy {b}")
            total += a
        return total
    finally:
        dst.close()
        src.close()


async def run(args, before: dict | None = None) -> None:
    """Prepare the year (or take the one ``--measure-only`` names), then
    measure; ``--prepare`` only prepares."""
    import asyncssh

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-year-"))
    server = None
    try:
        if args.measure_only:
            prepared = Path(args.measure_only)
            if not (prepared / "prepared.json").exists():
                raise SystemExit(f"{prepared}: not a prepared year (make one with --prepare {prepared})")
            meta = json.loads((prepared / "prepared.json").read_text())
            missing = [b for b in args.backends if b not in meta["backends"]]
            if missing:
                raise SystemExit(f"{prepared}: prepared without {', '.join(missing)} (--backends)")
            # a fresh copy per run: what the sessions write does not pile up
            data_dir = work_copy(prepared / "tinydb", work / "tinydb")
            if "postgresql" in args.backends:
                from pg_server import PgServer

                server = PgServer(durable=True, keep=str(prepared / "pg")).start()
        else:
            prepared = Path(args.prepare) if args.prepare else work / "prepared"
            if args.prepare and (prepared / "prepared.json").exists():
                print(f"{prepared} is prepared already (remove it to prepare it again)", flush=True)
                return
            meta, server = prepare(args, prepared, keep=bool(args.prepare))
            data_dir = prepared / "tinydb" / "data"
            if args.prepare:
                if server is not None:
                    server.stop()
                    server = None
                print(f"\nprepared in {time.perf_counter() - started:.0f} s; measure with:\n  "
                      f"python bench/year.py --measure-only {prepared} --backends {','.join(args.backends)}",
                      flush=True)
                return
        key = asyncssh.import_private_key((prepared / "client_key").read_bytes())
        results: dict = {k: meta[k] for k in ("scale", "counts", "store")}
        for k in ("rewrite_s", "pg_copy_s"):
            if k in meta:
                results[k] = meta[k]
        sites = {}
        if "tinydb" in args.backends:
            sites["tinydb"] = write_config(work / "tinydb", prepared, data_dir, None)
        if "postgresql" in args.backends:
            sites["postgresql"] = write_config(work / "postgresql", prepared, data_dir,
                                               server.dsn(schema="year"))
        for backend, cfg in sites.items():
            print(f"\n== {backend}: sessions", flush=True)
            results[backend] = await measure_sessions(cfg, key, samples=args.samples, sessions=args.sessions,
                                                      budget_mb=args.budget_mb, timeout=args.timeout)
            print(json.dumps(results[backend]), flush=True)
            if not args.no_screens:
                print(f"== {backend}: screens", flush=True)
                if args.warm:
                    # an office's first session after an upgrade or a compaction writes
                    # the kept columns (TinyDB) and creates the search indexes
                    # (PostgreSQL) once; every later session finds them
                    print(f"== {backend}: screens, a first session (not counted)", flush=True)
                    results[backend]["screens_first"] = screens_child(cfg)
                results[backend]["screens"] = screens_child(cfg)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    results["measured_s"] = time.perf_counter() - started
    if before is not None:
        print(f"\n== before: {before['ref']}")
        report(before)
        print("\n== after: this checkout")
    report(results)
    if before is not None:
        compare(before, results)
    print(f"\n(measured in {results['measured_s']:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def report(r: dict) -> None:
    c = r["counts"]
    print(f"\nThe year (scale {r['scale']:g}): {c.get('employees')} employees, {c.get('calls'):,} calls "
          f"({c.get('transfers'):,} transfers), {c.get('messages'):,} messages, {c.get('documents'):,} documents "
          f"(+{c.get('versions'):,} versions), {c.get('tickets'):,} tickets ({c.get('comments'):,} comments), "
          f"{c.get('journal'):,} journal entries, {c.get('timesheet_days'):,} timesheet days, "
          f"{c.get('payroll_runs')} payroll runs; data folder {r['store']['data_mb']:,.0f} MB "
          f"(built in {c.get('build_seconds', 0) / 60:.0f} min)")
    backends = [b for b in ("tinydb", "postgresql") if b in r]
    print("\n| per session | " + " | ".join(backends) + " |")
    print("|---|" + "---:|" * len(backends))
    rows = [("first screen (one session, median)", lambda s: f"{s['first_screen_s']:.2f} s"),
            ("RSS of one session", lambda s: f"{s['rss_mb']:,.0f} MB"),
            ("peak RSS (VmHWM) of one session", lambda s: f"{s['hwm_mb']:,.0f} MB"),
            ("sessions opened at once", lambda s: f"{s['sessions_run']} of {s['sessions_wanted']}"),
            ("total RSS of those sessions", lambda s: f"{s['total_rss_mb']:,.0f} MB"),
            (f"total RSS, {r[backends[0]]['sessions_wanted'] if backends else 20} sessions",
             lambda s: f"{s.get('total_rss_mb_extrapolated', s['total_rss_mb']):,.0f} MB"
                       + (" (extrapolated)" if "total_rss_mb_extrapolated" in s else "")),
            ("total PSS of those sessions", lambda s: f"{s['total_pss_mb']:,.0f} MB"),
            ("first screen with all of them starting (p50 / max)",
             lambda s: f"{s['concurrent_first_screen_p50_s']:.1f} / {s['concurrent_first_screen_max_s']:.1f} s")]
    for title, fn in rows:
        print(f"| {title} | " + " | ".join(fn(r[b]) for b in backends) + " |")
    if any("screens" in r[b] for b in backends):
        print("\nKeystroke to repainted screen, ms (open: the screen from the sidebar; keys: p50 / p99)\n")
        print("| screen | " + " | ".join(f"{b} open | {b} keys p50 / p99" for b in backends) + " |")
        print("|---|" + "---:|---:|" * len(backends))
        for name, _setup, _keys in SCREENS:
            cells = []
            for b in backends:
                s = r[b].get("screens", {}).get(name)
                if not s:
                    cells += ["-", "-"]
                    continue
                keys = s["keys_s"]
                cells += [f"{s['open_s'] * 1000:,.0f}",
                          f"{pct(keys, 50) * 1000:,.0f} / {pct(keys, 99) * 1000:,.0f}"]
            print(f"| {name} | " + " | ".join(cells) + " |")


def compare(before: dict, after: dict) -> None:
    """Before and after side by side, with after / before."""
    rows = [("first screen, one session (s)", "first_screen_s"), ("RSS of one session (MB)", "rss_mb"),
            ("peak RSS of one session (MB)", "hwm_mb"), ("total RSS of the sessions (MB)", "total_rss_mb"),
            ("first screen, all starting, max (s)", "concurrent_first_screen_max_s")]
    for b in ("tinydb", "postgresql"):
        if b not in before or b not in after:
            continue
        x, y = before[b], after[b]
        print(f"\n| {b}, scale {after['scale']:g} | before ({before['ref']}) | after | after / before |")
        print("|---|---:|---:|---:|")
        if x.get("sessions_run") != y.get("sessions_run"):
            print(f"| sessions opened at once | {x.get('sessions_run')} | {y.get('sessions_run')} | |")
        for title, key in rows:
            if key in x and key in y:
                print(f"| {title} | {x[key]:,.2f} | {y[key]:,.2f} | {y[key] / x[key]:.2f}× |")
        sx, sy = x.get("screens") or {}, y.get("screens") or {}
        if sx and sy:
            print(f"| tables read at the first screen | {len(sx.get('loaded_at_first_screen') or [])} | "
                  f"{len(sy.get('loaded_at_first_screen') or [])} | |")
            for name, _setup, _keys in SCREENS:
                if name in sx and name in sy:
                    for label, fx, fy in (("open", sx[name]["open_s"], sy[name]["open_s"]),
                                          ("keys p50", pct(sx[name]["keys_s"], 50), pct(sy[name]["keys_s"], 50)),
                                          ("keys p99", pct(sx[name]["keys_s"], 99), pct(sy[name]["keys_s"], 99))):
                        ratio = f"{fy / fx:.2f}×" if fx > 0 else ""
                        print(f"| {name}: {label} (ms) | {fx * 1000:,.0f} | {fy * 1000:,.0f} | {ratio} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--scale", type=float, default=1.0, help="size of the year (1: the issue's figures)")
    ap.add_argument("--cache", default=os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "backdesk-bench"),
                    help="where built years are kept")
    ap.add_argument("--backends", default="tinydb,postgresql")
    ap.add_argument("--sessions", type=int, default=20, help="sessions opened at once (default 20)")
    ap.add_argument("--samples", type=int, default=3, help="single-session samples (default 3)")
    ap.add_argument("--budget-mb", type=float, default=12000,
                    help="open fewer sessions when they would need more (default 12000)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds a session may take to show its first screen")
    ap.add_argument("--no-screens", action="store_true", help="skip the screen timings")
    ap.add_argument("--warm", action="store_true",
                    help="time the screens in a later session: a first one opens them before (what it "
                         "leaves - TinyDB's kept columns, PostgreSQL's search indexes - every later session "
                         "finds); its figures are kept in the JSON as screens_first")
    ap.add_argument("--no-rewrite", dest="rewrite", action="store_false",
                    help="keep the cached year's snapshots as built (else rewritten by this code first)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--baseline", metavar="REF",
                    help="first measure the code of this git commit (e.g. main) the same way, "
                         "then this checkout's, and print both with the ratio")
    ap.add_argument("--baseline-as-built", action="store_true",
                    help="the baseline reads the cached year's snapshots as built (code from before "
                         "segmented snapshots: whole tables); by default its own code rewrites them too")
    ap.add_argument("--prepare", metavar="DIR",
                    help="only make the year ready to measure in DIR (TinyDB data rewritten, the PostgreSQL "
                         "cluster migrated and kept in DIR/pg; with --baseline its own copy in DIR/baseline); "
                         "what is prepared already is kept")
    ap.add_argument("--measure-only", "--reuse", dest="measure_only", metavar="DIR",
                    help="measure the year --prepare left in DIR (nothing built, rewritten or migrated)")
    ap.add_argument("--screens-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.screens_child:
        import logging

        logging.disable(logging.WARNING)
        out = asyncio.run(time_screens(Path(args.screens_child), "alice"))
        print(json.dumps(out))
        return
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.prepare and args.measure_only:
        ap.error("--prepare and --measure-only exclude each other")
    for d in ("prepare", "measure_only"):
        if getattr(args, d):
            setattr(args, d, str(Path(getattr(args, d)).resolve()))
    import logging

    logging.basicConfig(level=logging.ERROR)
    before = run_baseline(args) if args.baseline else None
    asyncio.run(run(args, before or None))


def run_baseline(args) -> dict:
    """The same measurement of ``args.baseline``'s code, in a child process
    (its code extracted by ``git archive``; this harness, the same year)."""
    code = Path(tempfile.mkdtemp(prefix="bench-year-baseline-"))
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline], check=True,
                             capture_output=True, text=True).stdout.strip()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "core", "plugins"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
        out = code / "figures.json"
        argv = [sys.executable, __file__, "--scale", f"{args.scale:g}", "--cache", args.cache,
                "--backends", ",".join(args.backends), "--sessions", str(args.sessions),
                "--samples", str(args.samples), "--budget-mb", f"{args.budget_mb:g}", "--timeout",
                f"{args.timeout:g}", "--json", str(out)] + (["--no-screens"] if args.no_screens else []) \
            + (["--warm"] if args.warm else []) \
            + (["--no-rewrite"] if args.baseline_as_built or not args.rewrite else []) \
            + (["--prepare", str(Path(args.prepare) / "baseline")] if args.prepare else []) \
            + (["--measure-only", str(Path(args.measure_only) / "baseline")] if args.measure_only else [])
        env = {**os.environ, "BACKDESK_BENCH_CODE": str(code),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))}
        print(f"== baseline: the code of {args.baseline} ({rev})", flush=True)
        subprocess.run(argv, env=env, check=True)
        if args.prepare:
            return {}
        before = json.loads(out.read_text())
        before["ref"] = f"{args.baseline} ({rev})"
        return before
    finally:
        shutil.rmtree(code, ignore_errors=True)


if __name__ == "__main__":
    main()
