"""`backdesk phone …` through real processes, and several operators at once."""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor


def test_log_transfer_message_and_calls(site):
    r = site.cli("phone", "log", "--from", "+49 30 4471230", "--to", "131", "--note", "Angebot",
                 "--name", "Klaus Brandt", "--company", "Brandt GmbH")
    assert r.returncode == 0, r.stderr
    call_id = r.stdout.strip()
    assert call_id.isdigit()
    r = site.cli("phone", "transfer", call_id, "--to", "150", "--attended")
    assert r.returncode == 0 and "consulting Thomas Richter" in r.stdout
    r = site.cli("phone", "cancel", call_id, "--reason", "away")
    assert r.returncode == 0
    r = site.cli("phone", "message", "--for", "131", "--from", "Klaus Brandt", "--text", "Bitte zurückrufen",
                 "--call", call_id)
    assert r.returncode == 0 and r.stdout.strip().isdigit()
    r = site.cli("phone", "calls", "--today", "--format", "json")
    rows = json.loads(r.stdout)
    assert rows[0]["id"] == int(call_id) and rows[0]["outcome"] == "message"
    assert rows[0]["chain"].startswith("Klaus Brandt (Brandt GmbH) → ")
    assert rows[0]["chain"].endswith(" → message for Anna Becker")
    # the table shows the time in the site's zone and locale; JSON the stored ISO time with its offset
    from core.i18n import configure, format_datetime

    configure("en_US", "Europe/Berlin")  # the site's (telephony_helpers.CONFIG)
    assert rows[0]["started_at"].endswith("+00:00")
    table = site.cli("phone", "calls", "--today").stdout
    assert format_datetime(rows[0]["started_at"]) in table and rows[0]["started_at"][:16] not in table
    r = site.cli("phone", "calls", "--format", "csv")
    assert list(csv.DictReader(io.StringIO(r.stdout)))[0]["caller"] == "Klaus Brandt (Brandt GmbH)"
    r = site.cli("phone", "messages", "--open")
    assert "Bitte zurückrufen" in r.stdout and "Anna Becker" in r.stdout
    # Anna, another operator, reads it in her inbox
    bd = site.open("anna")
    try:
        texts = [n["text"] for n in bd.services.notifications.inbox()]
    finally:
        bd.close()
    assert any("Bitte zurückrufen" in t for t in texts)


def test_bad_input_is_one_line_and_exit_2(site):
    cases = [
        (("phone", "log", "--from", "12ab!"), "neither a known caller nor a phone number"),
        (("phone", "log", "--from", "555"), "unknown extension 555"),
        (("phone", "transfer", "77", "--to", "131"), "no call with id 77"),
        (("phone", "transfer", "abc", "--to", "131"), "is not a call id"),
        (("phone", "message", "--for", "131", "--from", "X", "--text", "  "), "text: must not be empty"),
        (("phone", "message", "--for", "Tobias Krause", "--from", "X", "--text", "hi"), "has left"),
        (("phone", "message", "--for", "999", "--from", "X", "--text", "hi"), "unknown extension 999"),
        (("phone", "presence", "131", "sleepy"), "unknown state"),
    ]
    for args, message in cases:
        r = site.cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr
    # transfer to oneself / someone who left
    call_id = site.cli("phone", "log", "--from", "121").stdout.strip()
    r = site.cli("phone", "transfer", call_id, "--to", "Tobias Krause")
    assert r.returncode == 2 and "has left the company; take a message instead" in r.stderr
    r = site.cli("phone", "transfer", call_id, "--to", "121")
    assert r.returncode == 2 and "cannot be transferred to the caller" in r.stderr
    r = site.cli("phone", "calls", "--format", "json")
    assert [c["status"] for c in json.loads(r.stdout)] == ["active"]
    # a staff member may read calls but not log them
    r = site.cli("phone", "log", "--from", "121", account="anna")
    assert r.returncode == 2 and "telephony.calls.handle" in r.stderr
    assert site.cli("phone", "calls", "--format", "json", account="anna").returncode == 0


def test_phone_list_export_and_import(site, tmp_path):
    out = tmp_path / "list.vcf"
    r = site.cli("phone", "list", "export", "--format", "vcard", "-o", str(out))
    assert r.returncode == 0 and "entries written" in r.stderr
    assert out.read_text().count("BEGIN:VCARD") == 39  # everybody at work with an extension
    good = tmp_path / "new.csv"
    good.write_text("name,extension,email\nAnna Becker,137,anna.becker@muster-partner.example\n")
    r = site.cli("phone", "list", "import", str(good), account="alice")
    assert r.returncode == 0 and r.stdout.strip() == "1 updated, 0 added, 0 unchanged"
    bad = tmp_path / "bad.csv"
    bad.write_text("name,extension\nAnna Becker,138\nNiemand,139\n")
    r = site.cli("phone", "list", "import", str(bad), account="alice")
    assert r.returncode == 2 and "line 3 (name): nobody named 'Niemand'" in r.stderr
    r = site.cli("phone", "list", "export")
    assert "Anna Becker,137," in r.stdout  # the bad file changed nothing
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    r = site.cli("phone", "list", "import", str(binary), account="alice")
    assert r.returncode == 2 and "UTF-8" in r.stderr


def test_several_processes_logging_at_once_lose_no_call(site):
    per_process, processes = 5, 6

    def worker(n: int) -> list[str]:
        ids = []
        for i in range(per_process):
            r = site.cli("phone", "log", "--from", f"+4930{n:02d}{i:05d}", "--note", f"p{n}-{i}")
            assert r.returncode == 0, r.stderr
            ids.append(r.stdout.strip())
        return ids

    with ThreadPoolExecutor(processes) as pool:
        ids = [i for chunk in pool.map(worker, range(processes)) for i in chunk]
    assert len(set(ids)) == per_process * processes
    rows = json.loads(site.cli("phone", "calls", "--format", "json").stdout)
    assert sorted(r["note"] for r in rows) == sorted(f"p{n}-{i}" for n in range(processes)
                                                     for i in range(per_process))
