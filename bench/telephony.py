"""Switchboard figures: how the dashboard's calls card and the switchboard's
extension list scale with the call history, against a plain table scan.

    python bench/telephony.py [calls]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "plugins" / "telephony"))


def best(fn, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    from telephony_helpers import Site
    from plugins.telephony.models import now_utc
    from plugins.telephony.service import service_for

    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    site = Site(Path(tempfile.mkdtemp()), {"business_hours": "00:00-24:00",
                                           "business_days": [1, 2, 3, 4, 5, 6, 7]})
    bd = site.open("bob")
    svc = service_for(bd.context("telephony"))
    with bd.store.transaction():
        for i in range(calls):
            svc.calls.insert({"caller_number": "0301234567", "status": "ended", "outcome": "connected",
                              "operator": "bob", "started_at": now_utc(), "answered_at": now_utc(),
                              "ended_at": now_utc(), "duration": 30, "transfers": [], "chain": []})
    baseline = best(lambda: svc.calls.all())
    figures = best(lambda: svc.figures())
    rows = best(lambda: svc.extension_rows())
    log = best(lambda: svc.log_call("121"), n=20)
    print(f"{'what':38} {'seconds':>9} {'ratio':>7}")
    print(f"{'baseline: calls.all() (' + str(calls) + ' calls)':38} {baseline:9.4f} {1:7.2f}")
    print(f"{'figures() (dashboard card)':38} {figures:9.4f} {figures / baseline:7.2f}")
    print(f"{'extension_rows() (switchboard list)':38} {rows:9.6f} {rows / baseline:7.2f}")
    print(f"{'log_call() (one answered call)':38} {log:9.6f} {log / baseline:7.2f}")
    bd.close()


if __name__ == "__main__":
    main()
