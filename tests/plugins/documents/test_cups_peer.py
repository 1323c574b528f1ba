"""The test session's CUPS (tests/cupsd.py) is real and whole: its queues
print through the real filter chain into files the tests read back."""

from __future__ import annotations

import os
import subprocess

from tests.cupsd import QUEUES, cups_server  # noqa: F401  (the fixture)
from tests.peers import wait_until
from tests.office import simple_pdf


def test_the_private_cups_lists_its_queues_and_prints_into_a_file(cups_server, tmp_path):
    env = {**os.environ, "LC_ALL": "C"}
    listed = subprocess.run(["lpstat", "-p"], env=env, capture_output=True, text=True, check=True).stdout
    for queue in QUEUES:
        assert f"printer {queue} " in listed
    assert "printer paused disabled" in listed
    doc = tmp_path / "hello.pdf"
    doc.write_bytes(simple_pdf("Hallo Drucker"))
    out = subprocess.run(["lp", "-d", "office-pdf", "-n", "2", "-o", "sides=two-sided-long-edge", str(doc)],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.startswith("request id is office-pdf-")
    # two-sided: each copy of the one page starts a new sheet (pdftopdf adds a blank back)
    assert wait_until(lambda: len(cups_server.printed_pages()) == 4, 60)
    assert cups_server.printed_pages() == ["Hallo Drucker", "", "Hallo Drucker", ""]
    assert b"@PJL SET DUPLEX=ON" in cups_server.printed()
