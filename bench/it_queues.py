"""IT: how long the helpdesk queues and the SLA clocks take with many tickets.

    python bench/it_queues.py [N]

Fills a throw-away store with N tickets (default 5000), then times, against
the baseline of reading every ticket (``table.all()``) in the same run:
the active queue, the overdue queue, the rows the Helpdesk table shows, and
the SLA state of one ticket with a long waiting history.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best(fn, runs=5) -> float:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    from core.services.access import current_account
    from core.plugins.runtime import open_backdesk
    from plugins.it import service as svc

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config"
        cfg.mkdir()
        me = current_account()
        (cfg / "backdesk.yaml").write_text(
            "site: {timezone: Europe/Berlin}\nroles:\n  admin: {title: A, permissions: ['*']}\n"
            f"operators:\n  {me}: {{name: Bench, roles: [admin]}}\n")
        (cfg / "plugins.yaml").write_text("plugins:\n  - name: it\n    settings: {team_roles: [admin]}\n")
        bd = open_backdesk(cfg, Path(tmp) / "data")
        ctx = bd.context("it")
        with bd.store.transaction():
            dept = bd.services.people.add_department("Office")
            people = [bd.services.people.add_person(name=f"Person {i}", department_id=dept) for i in range(50)]
        t0 = time.perf_counter()
        with ctx.transaction():
            for i in range(n):
                doc = svc.open_ticket(ctx, requester=people[i % 50], title=f"Problem {i}",
                                      priority=("urgent", "high", "normal", "low")[i % 4])
                if i % 3 == 0:
                    svc.assign(ctx, doc["id"], me)
                if i % 7 == 0:
                    svc.set_status(ctx, doc["id"], "waiting")
        fill = time.perf_counter() - t0
        one = svc.open_ticket(ctx, requester=people[0], title="Long story")
        for k in range(20):
            svc.set_status(ctx, one["id"], "waiting")
            svc.set_status(ctx, one["id"], "open")
        table = ctx.table("tickets")
        base = best(table.all)
        rows = [
            ("all tickets (baseline)", base),
            ("active queue", best(lambda: svc.queue(ctx, "active"))),
            ("overdue queue", best(lambda: svc.queue(ctx, "overdue"))),
            ("helpdesk rows (active)", best(lambda: svc.ticket_rows(ctx, svc.queue(ctx, "active")))),
            ("dashboard counts", best(lambda: svc.queue_counts(ctx))),
            ("SLA state, 40 transitions", best(lambda: svc.sla_state(ctx, table[one["id"]]), runs=20)),
        ]
        print(f"{n} tickets (filled in {fill:.1f} s, one transaction)")
        print(f"{'what':28} {'ms':>9} {'x baseline':>11}")
        for what, secs in rows:
            print(f"{what:28} {secs * 1000:9.2f} {secs / base:11.2f}")
        bd.close()


if __name__ == "__main__":
    main()
