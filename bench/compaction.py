"""One compaction of a big store, as an operator's save sets it off.

Opens the TinyDB data folder DATA_DIR as a session does
(``open_store(DATA_DIR, lazy_tables=True)``: no table loaded), inserts one
record into ``core.audit`` and one into ``telephony.calls`` and compacts the
store, printing the wall and CPU time of the compaction and the process's
peak RSS. It writes to DATA_DIR: run it on a copy (``cp -a``) of a prepared
year, e.g.::

    cp -a /work/year1/final/tinydb /tmp/compaction && python bench/compaction.py /tmp/compaction/data

For a before/after, run it once with each code on two fresh copies in the
same run (``PYTHONPATH=<other checkout>``), as docs/performance.md
"Compaction of a big table not loaded" did.
"""

from __future__ import annotations

import resource
import sys
import time

from core.storage import open_store


def peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    data_dir = sys.argv[1]
    store = open_store(data_dir, lazy_tables=True)
    for namespace, name, version in (("core", "audit", 1), ("telephony", "calls", 2)):
        store.table(namespace, name, version=version).insert({"probe": True})
    cpu, wall = time.process_time(), time.monotonic()
    store.compact()
    print(f"compact {time.monotonic() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU, "
          f"peak RSS {peak_mb()} MB")
    store.close()


if __name__ == "__main__":
    main()
