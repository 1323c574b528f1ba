"""Several operators in separate processes file at once: serial numbers stay
unique and gap-free, and an outbox job is sent by one of them only."""

from __future__ import annotations

import multiprocessing as mp
import sys
from pathlib import Path

from plugins.documents import service


def _file_many(config_dir, data_dir, files_dir, who, n, barrier):
    from core.plugins.runtime import open_backdesk

    bd = open_backdesk(config_dir, data_dir, account="alice", load_entry_points=False)
    ctx = bd.context("documents")
    barrier.wait()
    for i in range(n):
        path = Path(files_dir) / f"{who}-{i}.txt"
        path.write_text(f"document {i} from process {who}")
        service.add_document(ctx, path, {"title": f"{who}-{i}"})
    bd.close()


def test_archive_serial_numbers_are_unique_across_processes(site, bd):
    bd.close()
    procs, n = 4, 6
    mpctx = mp.get_context("spawn")
    barrier = mpctx.Barrier(procs)
    workers = [mpctx.Process(target=_file_many, args=(str(site.config_dir), str(site.data_dir), str(site.files),
                                                      w, n, barrier)) for w in range(procs)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    again = site.open()
    try:
        docs = again.context("documents").table("documents").all()
        assert sorted(d["asn"] for d in docs) == list(range(1, procs * n + 1))
    finally:
        again.close()


def _send(config_dir, data_dir, barrier, out):
    from core.plugins.runtime import open_backdesk

    bd = open_backdesk(config_dir, data_dir, account="alice", load_entry_points=False)
    barrier.wait()
    out.put(service.process_outbox(bd.context("documents"))["sent"])
    bd.close()


def test_two_workers_never_send_one_job_twice(site, smtp):
    site.write_plugins(**smtp.settings())
    bd = site.open()
    ctx = bd.context("documents")
    doc = service.add_document(ctx, site.file("a.txt", "a"), {"title": "A"})
    for i in range(3):
        service.queue_email(ctx, doc["id"], f"person{i}@test.example")
    bd.close()
    mpctx = mp.get_context("spawn")
    barrier, out = mpctx.Barrier(3), mpctx.Queue()
    workers = [mpctx.Process(target=_send, args=(str(site.config_dir), str(site.data_dir), barrier, out))
               for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    assert sum(out.get(timeout=5) for _ in workers) == 3
    assert sorted(m["to"][0] for m in smtp.messages) == [f"person{i}@test.example" for i in range(3)]
