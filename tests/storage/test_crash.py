"""Crash safety: SIGKILLed writers, torn tails, damaged and missing files."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from storage_helpers import fingerprint, spawn, stderr_of

from core.storage import CorruptData, check, open_store
from core.storage.files import MANIFEST, journal_name

pytestmark = pytest.mark.tinydb_only("kills writers and damages the TinyDB backend's journal and snapshot files")


def test_sigkill_mid_stream_loses_nothing_that_returned(data_dir):
    open_store(data_dir).close()
    rng = random.Random(1234)
    items: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _round in range(25):
        proc = spawn("forever", data_dir, compact_bytes=rng.choice([50_000, 300_000]))
        wanted = rng.randint(1, 60)
        lines = [proc.stdout.readline() for _ in range(wanted)]
        time.sleep(rng.random() * 0.02)  # land anywhere: mid-write, mid-fsync, mid-compaction
        proc.send_signal(signal.SIGKILL)
        rest, _err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, stderr_of(proc)
        for line in lines + rest.splitlines(keepends=True):
            if not line.endswith("\n"):
                continue  # not fully reported: the call may not have returned
            kind, *nums = line.split()
            if kind == "item":
                items.add(int(nums[0]))
            else:
                pairs.append((int(nums[0]), int(nums[1])))
        s = open_store(data_dir)  # recovers by itself
        have = {d["id"]: d for d in s.table("core", "items").all()}
        cases = {d["id"]: d for d in s.table("hr", "cases").all()} if "hr.cases" in s.tables() else {}
        assert items <= set(have), sorted(items - set(have))[:5]
        for a, b in pairs:
            assert have[a]["pair"] is True and cases[b]["item"] == a
        # All-or-nothing across tables: every pair half has its other half.
        for b, doc in cases.items():
            assert have[doc["item"]]["pair"] is True
        assert s.check() == []
        s.close()
    assert len(items) > 100


def _store_with_data(data_dir, *, compact: bool) -> None:
    s = open_store(data_dir)
    t = s.table("hr", "cases")
    for i in range(20):
        t.insert({"i": i, "text": "some words " * 3})
    if compact:
        s.compact()
        t.insert({"i": 20})
    s.close()


def _expect_corrupt(data_dir, name_in_message: str) -> CorruptData:
    before = fingerprint(data_dir)
    with pytest.raises(CorruptData) as info:
        open_store(data_dir)
    msg = str(info.value)
    assert name_in_message in msg and "backdesk restore" in msg and "\n" not in msg
    problems = check(data_dir)
    assert problems and all(name_in_message in p or "journal" in p for p in problems[:1])
    assert fingerprint(data_dir) == before  # the damaged data was not touched
    return info.value


def test_truncated_snapshot(data_dir):
    _store_with_data(data_dir, compact=True)
    path = data_dir / "hr" / "cases.json"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    err = _expect_corrupt(data_dir, str(path))
    assert "truncated" in str(err)


def test_damaged_snapshot(data_dir):
    _store_with_data(data_dir, compact=True)
    path = data_dir / "hr" / "cases.json"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x01
    path.write_bytes(bytes(data))
    assert "checksum" in str(_expect_corrupt(data_dir, str(path)))


@pytest.mark.parametrize("garbage", [b"", b"not json\n[]\n", b"{}\n"])
def test_unreadable_snapshot(data_dir, garbage):
    _store_with_data(data_dir, compact=True)
    path = data_dir / "hr" / "cases.json"
    path.write_bytes(garbage)
    _expect_corrupt(data_dir, str(path))


def test_missing_snapshot(data_dir):
    _store_with_data(data_dir, compact=True)
    path = data_dir / "hr" / "cases.json"
    path.unlink()
    assert "missing" in str(_expect_corrupt(data_dir, str(path)))


def test_missing_journal(data_dir):
    _store_with_data(data_dir, compact=True)
    path = data_dir / journal_name(2)
    path.unlink()
    _expect_corrupt(data_dir, str(path))


def test_damaged_or_missing_manifest(data_dir):
    _store_with_data(data_dir, compact=True)
    path = data_dir / MANIFEST
    path.write_bytes(path.read_bytes()[:30])
    _expect_corrupt(data_dir, str(path))
    path.unlink()
    _expect_corrupt(data_dir, str(path))


def test_damaged_line_in_the_middle_of_the_journal(data_dir):
    _store_with_data(data_dir, compact=False)
    path = data_dir / journal_name(1)
    lines = path.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b"some", b"SOME", 1)  # the checksum no longer matches
    path.write_bytes(b"\n".join(lines))
    err = _expect_corrupt(data_dir, str(path))
    assert "valid entries follow" in str(err)


@pytest.mark.parametrize("tail", [b'1234abcd {"seq":99,"ops":[{"op":"ins', b"00000000 {}\n", b"\x00" * 300])
def test_torn_tail_is_discarded_by_the_next_writer(data_dir, tail):
    _store_with_data(data_dir, compact=False)
    path = data_dir / journal_name(1)
    good = path.read_bytes()
    early = open_store(data_dir)   # open before the tail appears
    path.write_bytes(good + tail)
    assert early.table("hr", "cases").count() == 20
    assert check(data_dir) == []  # an interrupted write is not a problem
    s = open_store(data_dir)       # readers ignore it
    t = s.table("hr", "cases")
    assert t.count() == 20
    assert path.read_bytes() == good + tail
    other = open_store(data_dir)
    assert t.insert({"after": "crash"}) == 21  # the writer cuts the tail off
    data = path.read_bytes()
    assert data.startswith(good) and tail not in data and data.endswith(b"\n")
    assert other.table("hr", "cases").get(21) == {"id": 21, "after": "crash"}
    assert early.table("hr", "cases").count() == 21
    s.close()
    other.close()
    early.close()
    s = open_store(data_dir)
    assert s.table("hr", "cases").count() == 21
    s.close()
