"""``backdesk docs …`` as a user runs it: a real subprocess."""

from __future__ import annotations

import subprocess
import sys

from tests.office import simple_pdf


def run(site, *args, rc=0):
    proc = subprocess.run([sys.executable, "-m", "core", *site.cli_args(), "docs", *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def test_add_search_show_copy_and_outbox(site):
    pdf = site.file("angebot.pdf", simple_pdf("Angebot Kopierer Modell X200"))
    out = run(site, "add", str(pdf), "--title", "Angebot Kopierer", "--tag", "office/equipment",
              "--correspondent", "Kopier GmbH").stdout
    assert "filed document 1 as ASN 1: Angebot Kopierer" in out
    out = run(site, "add", str(pdf), "--title", "Again").stdout
    assert "already filed as document(s) 1" in out
    out = run(site, "search", "x200", "--save", "Copiers").stdout
    assert "Angebot Kopierer" in out and "Modell X200" in out and "2 document(s)" in out
    assert "Copiers: x200" in run(site, "search", "--list-saved").stdout
    assert "2 document(s)" in run(site, "search", "--saved", "copiers").stdout
    assert "copied to document 3 (ASN 3)" in run(site, "copy", "1").stdout
    out = run(site, "show", "1").stdout
    assert "Kopier GmbH" in out and "angebot.pdf" in out and "copied" in out
    out = run(site, "fax", "1", "--to", "+49 30 1234567").stdout
    assert "queued fax 1 to +49301234567 via email_gateway" in out
    assert "fax   queued" in run(site, "outbox").stdout


def test_bad_input_is_one_line_and_exit_2(site):
    good = site.file("ok.txt", "fine")
    run(site, "add", str(good), "--title", "OK")
    cases = [
        (("add", str(site.files / "missing.pdf")), "no such file"),
        (("add", str(site.files / ".." / "data" / "store.json")), "inside the data directory"),
        (("add", str(site.file("big.bin", b"\0" * 1_000_001))), "more than the limit of 1 MB"),
        (("add", str(good), "--filename", "../../x.txt"), "plain file name"),
        (("add", str(good), "--date", "yesterday"), "backdesk: --date: 'yesterday' is not a date (like 12/31/2026)"),
        (("add", str(good), "--date", "24.12.2026"), "backdesk: --date: '24.12.2026' is not a date"),  # en_US
        (("add", str(good), "--type", "Unknown"), "unknown document type"),
        (("send", "1", "--to", "Nobody Known"), "no one in the directory matches"),
        (("send", "1", "--to", "a@b"), "not a valid email address"),
        (("fax", "1", "--to", "call me"), "not a valid fax number"),
        (("fax", "99", "--to", "0301234567"), "no document with id 99"),
        (("show", "x1"), "not a document id"),
        (("rules", "--add", "bad", "--match", "(", "--algorithm", "regex", "--tag", "x"),
         "not a valid regular expression"),
        (("outbox", "--requeue", "7"), "no outbox job with id 7"),
    ]
    for args, message in cases:
        proc = run(site, *args, rc=2)
        assert message in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    out = run(site, "list").stdout
    assert out.count("ASN") == 1  # nothing else was filed
    assert "0 queued" not in run(site, "outbox").stdout


def test_outbox_retry_sends_through_smtp(site, smtp):
    site.write_plugins(**smtp.settings())
    doc = site.file("memo.txt", "memo text")
    run(site, "add", str(doc), "--title", "Memo")
    run(site, "send", "1", "--to", "boss@test.example", "--subject", "Memo")
    out = run(site, "outbox", "--retry").stdout
    assert "1 sent" in out and "email sent" in out
    assert len(smtp.messages) == 1


def test_the_date_is_typed_as_the_screens_take_it(site):
    """--date takes the site's date (en_US 12/24/2026, a two-digit year too) or ISO."""
    good = site.file("ok.txt", "fine")
    run(site, "add", str(good), "--title", "Christmas", "--date", "12/24/26")
    run(site, "add", str(site.file("ok2.txt", "also fine")), "--title", "ISO", "--date", "2026-12-23")
    bd = site.open()
    assert sorted(d["date"] for d in bd.table("documents.documents").find({})) == ["2026-12-23", "2026-12-24"]
