"""The operator's exports folder from the command line: backdesk files."""

from __future__ import annotations

import os

from core.outputs import exports_dir, save_export
from core.services.access import current_account


def test_files_lists_the_folder_and_get_prints_a_file(site):
    site.open().close()  # a data folder with a store
    me = current_account()
    folder = exports_dir(site.data_dir, me)
    r = site.cli("files")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"{folder}/", "  (nothing yet: files you save from a screen go here)"]

    save_export(site.data_dir, me, "payment-run-1.csv", "execution_date,name\n2026-01-20,Schmidt\n")
    os.utime(folder / "payment-run-1.csv", (1767261600, 1767261600))  # 2026-01-01 10:00 UTC
    save_export(site.data_dir, "alice", "alice-only.csv", "x\n")  # another operator's
    r = site.cli("files")
    assert r.returncode == 0, r.stderr
    # the time in the site's zone (Europe/Berlin) and locale, the size with its separator
    assert r.stdout.splitlines()[1:] == ["  Jan 1, 2026, 11:00\u202fAM  39  payment-run-1.csv"]
    assert site.cli("files", "--path").stdout == f"{folder}\n"

    r = site.cli("files", "get", "payment-run-1.csv")
    assert r.returncode == 0 and r.stdout == "execution_date,name\n2026-01-20,Schmidt\n"
    for name, why in (("alice-only.csv", "no file 'alice-only.csv'"), ("../alice/alice-only.csv", "plain file name")):
        r = site.cli("files", "get", name)
        assert r.returncode == 2 and why in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
