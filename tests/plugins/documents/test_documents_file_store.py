"""The documents' files through the site's file store, on either backend:
stored once, no orphan after a failed filing, orphans listed and only old
unreferenced ones deleted, a missing file named by `docs check`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest

from core.errors import PermissionDenied
from plugins.documents import service


def _fs(ctx):
    return service.file_store(ctx)


def _stored(ctx) -> list[str]:
    return [f.sha256 for f in _fs(ctx).scan()]


def _age(ctx, sha: str, minutes: float) -> None:
    """Make a stored file look ``minutes`` old (as if stored back then)."""
    fs = _fs(ctx)
    if hasattr(fs, "path_of"):
        moment = time.time() - minutes * 60
        os.utime(fs.path_of(sha), (moment, moment))
        return
    import psycopg

    with psycopg.connect(fs.dsn, autocommit=True) as conn:
        conn.execute(f'UPDATE "{fs.schema}"._files SET touched = now() - %s * interval \'1 minute\' '
                     "WHERE area = %s AND sha256 = %s", (minutes, fs.area, sha))


def _fail_commits(bd):
    def boom(changes):
        raise RuntimeError("disk full (forced)")
    return bd.store.before_commit(boom)


def test_the_same_file_twice_is_stored_once(site, ctx):
    first = service.add_document(ctx, site.file("a.txt", "the same bytes"))
    again = service.add_document(ctx, site.file("b.txt", "the same bytes"))
    assert again["duplicates"] == [first["id"]]
    assert _stored(ctx) == [hashlib.sha256(b"the same bytes").hexdigest()]
    ver = service.current_version(ctx, first)
    assert _fs(ctx).read_bytes(ver["sha256"]) == b"the same bytes"


def test_a_failed_filing_leaves_no_file_behind(site, bd, ctx):
    kept = service.add_document(ctx, site.file("kept.txt", "kept"), {"title": "Kept"})
    stop = _fail_commits(bd)
    try:
        with pytest.raises(RuntimeError, match="forced"):
            service.add_document(ctx, site.file("new.txt", "brand new bytes"), {"title": "New"})
        with pytest.raises(RuntimeError, match="forced"):
            service.add_version(ctx, kept["id"], site.file("v2.txt", "second version"))
        with pytest.raises(RuntimeError, match="forced"):  # the same bytes as a filed document: that file stays
            service.add_document(ctx, site.file("again.txt", "kept"), {"title": "Again"})
    finally:
        stop()
    assert _stored(ctx) == [service.versions(ctx, kept["id"])[0]["sha256"]]
    assert service.find_orphans(ctx) == [] and service.check_files(ctx) == []


def test_orphans_listed_and_only_old_unreferenced_ones_deleted(site, bd, ctx):
    doc = service.add_document(ctx, site.file("filed.txt", "filed"), {"title": "Filed"})
    filed = service.current_version(ctx, doc)["sha256"]
    old = _fs(ctx).put_bytes(b"old orphan").sha256
    young = _fs(ctx).put_bytes(b"young orphan").sha256
    for sha in (filed, old):
        _age(ctx, sha, 60)
    found = {(o["sha256"], o["young"]) for o in service.find_orphans(ctx)}
    assert found == {(old, False), (young, True)}
    result = service.delete_orphans(ctx)
    assert [o["sha256"] for o in result["deleted"]] == [old]
    assert [o["sha256"] for o in result["kept"]] == [young]
    assert sorted(_stored(ctx)) == sorted([filed, young])
    # stored again (a filing in progress reuses it): young again, kept
    _age(ctx, young, 60)
    assert _fs(ctx).put_bytes(b"young orphan").known
    assert service.delete_orphans(ctx)["deleted"] == []
    assert service.check_files(ctx) == []
    bd2 = site.open("sam")
    try:
        with pytest.raises(PermissionDenied):
            service.delete_orphans(bd2.context("documents"))
    finally:
        bd2.close()


def _docs(site, *args, rc=0):
    proc = subprocess.run([sys.executable, "-m", "core", *site.cli_args(), "docs", *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def test_docs_check_names_orphans_and_a_missing_file(site, bd, ctx):
    doc = service.add_document(ctx, site.file("filed.txt", "filed"), {"title": "Filed"})
    old = _fs(ctx).put_bytes(b"old orphan").sha256
    _age(ctx, old, 60)
    out = _docs(site, "check", "--orphans")
    assert "every document version's file is in the store" in out and f"orphan {old[:16]}  10 bytes" in out
    out = _docs(site, "check", "--orphans", "--delete")
    assert f"deleted {old[:16]}" in out and not _fs(ctx).exists(old)
    assert _fs(ctx).remove(service.current_version(ctx, doc)["sha256"])
    out = _docs(site, "check", rc=1)
    assert f"document {doc['id']} version 1: the file" in out and "is missing from the store" in out
