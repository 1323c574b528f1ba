"""A writer process for the storage tests: ``python worker.py COMMAND DATA_DIR ...``.

Real processes, real files, real locks.  Every command prints what it
committed, one line per commit, flushed as soon as the call returned.
"""

from __future__ import annotations

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from core.storage import open_store  # noqa: E402


def main() -> None:
    cmd, data_dir = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    compact = int(os.environ.get("COMPACT_BYTES", str(1 << 20)))
    if data_dir.startswith("pg:"):  # a PostgreSQL DSN (storage_helpers.Target.arg)
        from core.storage.pg import open_pg_store

        store = open_pg_store(data_dir[3:])
    else:
        store = open_store(data_dir, compact_bytes=compact)
    store.actor = f"worker-{os.getpid()}"
    out = sys.stdout

    if cmd == "insert":  # N: insert N documents into core.items
        items = store.table("core", "items")
        for i in range(int(args[0])):
            doc_id = items.insert({"pid": os.getpid(), "i": i})
            out.write(f"{doc_id}\n")
            out.flush()

    elif cmd == "mixed":  # N: inserts, updates, deletes and a shared counter
        rng = random.Random(os.getpid())
        items = store.table("core", "items")
        counter = store.table("core", "counter")
        mine: list[int] = []
        for i in range(int(args[0])):
            r = rng.random()
            if r < 0.5 or not mine:
                mine.append(items.insert({"pid": os.getpid(), "n": 0}))
                out.write(f"insert {mine[-1]}\n")
            elif r < 0.8:
                doc_id = rng.choice(mine)
                n = items[doc_id]["n"] + 1
                items.update(doc_id, {"n": n})
                out.write(f"update {doc_id} {n}\n")
            else:
                doc_id = mine.pop(rng.randrange(len(mine)))
                items.delete(doc_id)
                out.write(f"delete {doc_id}\n")
            with store.transaction():  # read-modify-write across processes
                docs = counter.find()
                if docs:
                    counter.update(docs[0]["id"], {"n": docs[0]["n"] + 1})
                else:
                    counter.insert({"n": 1})
            out.flush()

    elif cmd == "forever":  # insert until killed; some big docs, some transactions
        rng = random.Random()
        items = store.table("core", "items")
        other = store.table("hr", "cases")
        i = 0
        while True:
            i += 1
            r = rng.random()
            if r < 0.2:
                with store.transaction():
                    a = items.insert({"i": i, "pair": True})
                    b = other.insert({"item": a})
                out.write(f"pair {a} {b}\n")
            else:
                pad = "x" * (rng.choice([10, 10, 10, 5000, 70000]))
                a = items.insert({"i": i, "pad": pad})
                out.write(f"item {a}\n")
            out.flush()

    elif cmd == "migrate":  # open core.items at version 2 (v1 -> v2 renames "i" to "index")
        def to_v2(doc: dict) -> dict:
            doc["index"] = doc.pop("i")
            doc["migrated_by"] = os.getpid()
            return doc

        items = store.table("core", "items", version=2, migrations={2: to_v2})
        out.write(f"ok {items.count()}\n")

    else:
        raise SystemExit(f"unknown command {cmd}")
    store.close()


if __name__ == "__main__":
    main()
