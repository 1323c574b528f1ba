"""Kill ``backdesk backup`` at random points: every backup left either
restores whole or is refused.

    python bench/backup_kill.py [--rounds 20] [--seed 1] [--files 400]
                                [--config-dir DIR --data-dir DIR] [--work DIR]

Without ``--config-dir``/``--data-dir`` it builds a site (an administrator
for the account running it, ``backdesk demo``). ``--files`` document-like
files (16 KB each) are added to the data folder's ``documents/files`` so
a backup has many points to be killed at. Each round starts ``backdesk
backup DEST`` as its own process, waits until DEST holds a random number of
files (0 to all of them, or the process ends; the last round lets it finish),
sends SIGKILL, then restores
DEST into a new folder (``core.storage.restore``). A restore that is
accepted must give the source's tables (document for document) and files
(byte for byte); a backup the process finished must be accepted. One line
per round and a summary; exit 1 when a round broke either rule.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = """\
site: {{name: Kill GmbH, locale: en_US, timezone: Europe/Berlin, currency: EUR}}
roles:
  admin: {{title: Administrator, permissions: ["*"]}}
operators:
  {me}: {{name: Backup Runner, roles: [admin]}}
"""


def build_site(work: Path) -> tuple[Path, Path]:
    from core.services.access import current_account

    config_dir, data_dir = work / "config", work / "data"
    config_dir.mkdir(parents=True)
    (config_dir / "backdesk.yaml").write_text(CONFIG.format(me=current_account()))
    cli(config_dir, data_dir, "demo", check=True)
    return config_dir, data_dir


def cli(config_dir: Path, data_dir: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "core", "--config-dir", str(config_dir), "--data-dir",
                           str(data_dir), *args], capture_output=True, text=True, cwd=ROOT)
    if check and proc.returncode != 0:
        raise SystemExit(f"backdesk {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def add_files(data_dir: Path, count: int, seed: int) -> None:
    rnd = random.Random(seed)
    folder = data_dir / "documents" / "files" / "bulk"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for i in range(count):
        path = folder / f"scan-{i:05d}.pdf"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(rnd.randbytes(16 * 1024))


def count_files(folder: Path) -> int:
    n = 0
    for _root, _dirs, names in os.walk(folder):
        n += len(names)
    return n


def contents(data_dir: Path) -> tuple[dict, dict]:
    """(tables: name -> documents, other files: relative path -> bytes) of a data folder."""
    from core.storage import files
    from core.storage.admin import _store_paths
    from core.storage.migrate_cli import dump_tinydb
    from core.storage import open_store

    store = open_store(data_dir, read_only=True)
    try:
        tables = {name: (version, docs) for name, version, _next, docs in dump_tinydb(store)}
    finally:
        store.close()
    manifest, _ = files.read_manifest(str(data_dir))
    own = _store_paths(manifest)
    other = {}
    for root, dirs, names in os.walk(data_dir):
        rel_root = os.path.relpath(root, data_dir)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d != files.BACKUPS]
        for name in names:
            rel = name if rel_root == "." else os.path.join(rel_root, name)
            if rel in own or name.startswith("journal-") or rel in ("backup.json", "backup.partial"):
                continue
            other[rel] = Path(root, name).read_bytes()
    return tables, other


def one_round(config_dir: Path, data_dir: Path, work: Path, n: int, target: int, whole: tuple) -> dict:
    from core.storage import StorageError, restore

    dest = work / f"backup-{n:02d}"
    proc = subprocess.Popen([sys.executable, "-m", "core", "--config-dir", str(config_dir), "--data-dir",
                             str(data_dir), "backup", str(dest)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # the event: DEST holds `target` files, or the backup ended
    while proc.poll() is None and (not dest.is_dir() or count_files(dest) < target):
        os.sched_yield()
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    err = proc.communicate()[1].decode(errors="replace").strip()
    finished = not killed and proc.returncode == 0
    held = count_files(dest) if dest.is_dir() else 0
    store_there = (dest / "store.json").exists()
    result = {"round": n, "target": target, "killed": killed, "finished": finished, "files": held,
              "store_copied": store_there, "error": err if not killed and not finished else ""}
    into = work / f"restored-{n:02d}"
    try:
        restore(dest, into)
    except StorageError as exc:
        result["verdict"] = "refused"
        result["why"] = str(exc)
        result["ok"] = not finished  # a finished backup must be taken
        return result
    result["verdict"] = "restored"
    result["whole"] = contents(into) == whole
    result["ok"] = result["whole"]
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files", type=int, default=400, help="extra 16 KB files in the data folder")
    ap.add_argument("--config-dir", type=Path)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--work", type=Path, help="folder for the backups (default: a temporary one)")
    ap.add_argument("--json", action="store_true", help="one JSON object per round")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="backup-kill-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.config_dir is None or args.data_dir is None:
        config_dir, data_dir = build_site(work / "site")
    else:
        config_dir, data_dir = args.config_dir, args.data_dir
    add_files(data_dir, args.files, args.seed)
    whole = contents(data_dir)
    total = count_files(data_dir)
    rnd = random.Random(args.seed)
    results = []
    for n in range(1, args.rounds + 1):
        # the last round lets the backup finish: the control (a complete backup is taken)
        target = rnd.randint(0, total + 1) if n < args.rounds else total + 10
        r = one_round(config_dir, data_dir, work, n, target, whole)
        results.append(r)
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            how = (f"killed at {r['files']} files" + (" (store copied)" if r["store_copied"] else "")
                   if r["killed"] else "finished" if r["finished"] else f"failed: {r['error']}")
            verdict = r["verdict"] + (" whole" if r.get("whole") else " INCOMPLETE" if r["verdict"] == "restored"
                                      else f": {r['why']}")
            print(f"round {n:2d}: {how}: {verdict}{'' if r['ok'] else '   <-- WRONG'}", flush=True)
    killed = [r for r in results if r["killed"]]
    bad = [r for r in results if not r["ok"]]
    print(f"{len(results)} rounds, {total} files in the data folder: {len(killed)} killed "
          f"({sum(r['verdict'] == 'refused' for r in killed)} refused, "
          f"{sum(bool(r.get('whole')) for r in killed)} restored whole, "
          f"{sum(r['verdict'] == 'restored' and not r.get('whole') for r in killed)} restored INCOMPLETE), "
          f"{sum(r['finished'] for r in results)} finished; {len(bad)} wrong", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
