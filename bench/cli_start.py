"""What one ``backdesk`` command costs: CPU of a whole command line, two codes side by side.

    python bench/cli_start.py                      # this checkout against main
    python bench/cli_start.py --baseline 872911c --runs 10
    python bench/cli_start.py --no-postgresql

Every ``backdesk …`` line (an operator's script, a cron job, the test
suite's ~1,500 subprocesses) pays for the interpreter and Backdesk's start
before it does its work. This runs a few command lines on a demo company —
``--help``, ``it tickets``, ``phone calls``, ``accounting report
trial-balance`` on TinyDB, and ``it tickets`` on PostgreSQL (a throwaway
server, as tests/storage/pg_server.py starts it) — for the baseline's code
(``git archive`` of ``--baseline``'s core/, plugins/, config/ and
plugins.yaml) and for this checkout's, alternating, and prints the CPU each
used (user+sys of the child, ``resource.getrusage(RUSAGE_CHILDREN)``), best
of ``--runs``, with the ratio. ``python -c pass`` is the floor: the interpreter alone.

Both codes run from bytecode (compiled here first, as a user's install
has it), through the venv's own ``backdesk`` script with the code first on
PYTHONPATH. The demo company is made once per backend by this checkout's
``backdesk demo`` and read by both codes (the commands only read).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "storage"))

#: (label, backend, the command line after ``backdesk --demo``)
COMMANDS = [
    ("backdesk --help", "tinydb", ["--help"]),
    ("backdesk it tickets", "tinydb", ["it", "tickets"]),
    ("backdesk phone calls", "tinydb", ["phone", "calls"]),
    ("backdesk accounting report trial-balance", "tinydb", ["accounting", "report", "trial-balance"]),
    ("backdesk it tickets (PostgreSQL)", "postgresql", ["it", "tickets"]),
]


def cpu_of(argv: list[str], env: dict) -> float:
    """CPU seconds (user+sys) the command used; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(argv)} (PYTHONPATH={env['PYTHONPATH']}) exited {done.returncode}:\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def extract(rev: str, dest: Path) -> str:
    short = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True,
                           capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", short, "core", "plugins", "config",
                              "plugins.yaml"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return short


def compile_tree(code: Path) -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(code / "core"), str(code / "plugins")],
                   check=True, capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", default="main", help="the code to compare with (a git revision; default main)")
    ap.add_argument("--runs", type=int, default=6, help="runs of each command per code (best of them is shown)")
    ap.add_argument("--no-postgresql", action="store_true", help="skip the PostgreSQL line")
    args = ap.parse_args()

    script = Path(sys.executable).with_name("backdesk")
    if not script.exists():
        sys.exit(f"no backdesk script next to {sys.executable} (pip install -e .)")
    work = Path(tempfile.mkdtemp(prefix="bench-cli-start-"))
    server = None
    try:
        base = work / "baseline"
        base.mkdir()
        rev = extract(args.baseline, base)
        compile_tree(base)
        compile_tree(ROOT)
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONDONTWRITEBYTECODE", "BACKDESK_CONFIG_DIR", "BACKDESK_DATA_DIR")}
        codes = {"baseline": base, "this": ROOT}

        def env_for(code: Path, backend: str) -> dict:
            e = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")])),
                 "XDG_DATA_HOME": str(work / backend)}
            if backend == "postgresql":
                e["BACKDESK_CONFIG_DIR"] = str(work / "pgconfig")
            return e

        backends = ["tinydb"]
        if not args.no_postgresql:
            try:
                from pg_server import PgServer

                import psycopg  # noqa: F401

                server = PgServer().start()
                conf = work / "pgconfig"
                conf.mkdir()
                text = (ROOT / "config" / "backdesk.yaml").read_text().split("storage:\n")[0]
                # --demo makes no one an admin on PostgreSQL: who runs the bench is one
                me = pwd.getpwuid(os.geteuid()).pw_name
                if f"\n  {me}:" not in text:
                    admin = f"  {json.dumps(me)}: {{name: Bench, roles: [admin]}}\n"
                    text = text.replace("operators:\n", "operators:\n" + admin, 1)
                dsn = server.dsn().replace('"', '\\"')
                (conf / "backdesk.yaml").write_text(text + f'storage:\n  backend: postgresql\n  dsn: "{dsn}"\n')
                backends.append("postgresql")
            except Exception as exc:  # no server binaries, no psycopg, …
                print(f"(no PostgreSQL line: {exc})", file=sys.stderr)
        for backend in backends:
            subprocess.run([str(script), "--demo", "demo"], env=env_for(ROOT, backend), check=True,
                           capture_output=True)
        commands = [c for c in COMMANDS if c[1] in backends]
        floor = [sys.executable, "-c", "pass"]

        best: dict[tuple[str, str], float] = {}
        for _ in range(args.runs):
            for label, backend, line in [("python -c pass", "tinydb", None)] + commands:
                for name, code in codes.items():
                    argv = floor if line is None else [str(script), "--demo", *line]
                    t = cpu_of(argv, env_for(code, backend))
                    best[label, name] = min(best.get((label, name), t), t)

        print(f"CPU per command (user+sys, best of {args.runs}), ms; "
              f"baseline {args.baseline} ({rev}), this checkout")
        width = max(len(c[0]) for c in commands) + 2
        print(f"{'command':<{width}}{'baseline':>10}{'this':>10}{'ratio':>8}")
        for label in ["python -c pass"] + [c[0] for c in commands]:
            b, t = best[label, "baseline"] * 1000, best[label, "this"] * 1000
            print(f"{label:<{width}}{b:>10.0f}{t:>10.0f}{t / b:>8.2f}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
