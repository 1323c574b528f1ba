"""``backdesk demo``: a realistic demo company from core and every plugin."""

from __future__ import annotations

from core.errors import BackdeskError


def create_demo(backdesk, seed: int = 1) -> dict[str, int]:
    """Fill an empty store with the demo company; returns counts per table.

    Core creates the people directory first; then each enabled plugin's
    ``backdesk_demo`` hook adds its records, each plugin in one transaction,
    so a failing plugin leaves nothing half-made and the others go on.
    """
    store = backdesk.store
    before = _counts(backdesk)
    people = getattr(backdesk.services, "people", None)
    if people is not None:
        with store.transaction():
            people.create_demo(seed)
    failures = []
    for rec in backdesk.host.active:
        ctx = backdesk.host.contexts[rec.name]
        try:
            with store.transaction():
                backdesk.host.call_one(rec, "backdesk_demo", ctx=ctx, seed=seed)
        except Exception as exc:  # recorded; the other plugins still get their demo
            backdesk.host.record_failure(rec, "backdesk_demo", exc)
            failures.append(f"{rec.name}: {type(exc).__name__}: {exc}")
    after = _counts(backdesk)
    counts = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    if failures:
        raise BackdeskError("the demo of some plugins failed: " + "; ".join(failures))
    # The TinyDB folder is left as an office's is after its first compaction:
    # table snapshots a session reads when it uses a table, not a 1.4 MB
    # journal every start replays whole (opening the demo's store: 60 ms ->
    # 1 ms on the loaded 2-vCPU VM, min of 15). PostgreSQL has no journal.
    compact = getattr(store, "compact", None)
    if compact is not None:
        compact()
    return counts


def _counts(backdesk) -> dict[str, int]:
    return {full: backdesk.table(full).count() for full in backdesk.table_specs}
