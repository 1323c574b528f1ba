"""The backdesk command as a user runs it: a real subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ON_POSTGRESQL


def run(site, *args, check_rc=None):
    proc = subprocess.run([sys.executable, "-m", "core", *site.cli_args(), *args],
                          capture_output=True, text=True, timeout=300)
    return proc


def test_plugins_lists_every_plugin_with_status(site):
    site.plugins([{"name": "greeter", "sample": True}, {"name": "broken_import", "sample": True},
                  {"name": "misspelled", "sample": True, "enabled": False}])
    proc = run(site, "plugins")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "SOURCE", "STATUS", "ERROR"]
    assert lines[1].split()[:4] == ["greeter", "1.2.3", "path", "ok"]
    assert lines[2].split()[:3] == ["broken_import", "path", "failed"]
    assert "the vendor SDK is missing" in lines[2]
    assert lines[3].split()[:3] == ["misspelled", "path", "disabled"]


def test_bad_config_one_line_exit_2_no_traceback(site):
    (site.config_dir / "backdesk.yaml").write_text("site:\n  name: X\n  colour: blue\n")
    proc = run(site, "plugins")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[0].startswith("backdesk: ")
    assert "backdesk.yaml:3" in proc.stderr and "site.colour" in proc.stderr
    assert not site.data_dir.exists()  # nothing written


def test_debug_shows_traceback(site):
    (site.config_dir / "backdesk.yaml").write_text("site: [1, 2\n")
    proc = run(site, "--debug", "plugins")
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr


def test_unknown_account_is_refused_with_clear_message(site):
    site.plugins([])
    env_account = "nobody_we_know"
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from core.services.access import resolve_operator; from core.config import load_config;"
         f"resolve_operator(load_config({str(site.config_dir)!r}, {str(site.data_dir)!r}), {env_account!r})"],
        capture_output=True, text=True)
    assert proc.returncode != 0
    assert "is not a Backdesk operator" in proc.stderr


def test_plugin_subcommand_and_demo(site):
    site.plugins([{"name": "greeter", "sample": True}])
    proc = run(site, "demo")
    assert proc.returncode == 0, proc.stderr
    assert "Demo company created" in proc.stdout
    if not ON_POSTGRESQL:  # left as a settled office's folder: snapshots, an empty journal to replay
        journals = list(site.data_dir.glob("journal-*.log"))
        assert [j.stat().st_size for j in journals] == [0], journals
        assert list(site.data_dir.glob("greeter/*"))
    proc = run(site, "greeter", "count")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3 greetings"
    # a second demo is refused: the store is not empty
    proc = run(site, "demo")
    assert proc.returncode == 2
    assert "is not empty; use --force" in proc.stderr
    proc = run(site, "demo", "--force")
    if ON_POSTGRESQL:  # nothing is moved or deleted in a database
        assert proc.returncode == 2 and "cannot move PostgreSQL data aside" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert "Moved the old data to" in proc.stderr
        assert len(list(site.data_dir.parent.glob("data.before-demo-*"))) == 1
    proc = run(site, "greeter", "count")
    assert proc.stdout.strip() == "3 greetings"


def test_check_reports_sound_data(site):
    site.plugins([{"name": "greeter", "sample": True}])
    assert run(site, "demo").returncode == 0
    proc = run(site, "check")
    assert proc.returncode == 0, proc.stderr
    assert "sound" in proc.stdout
