"""`backdesk new-plugin`: a package that installs with pip and passes its own tests."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kit_helpers import pip_install


def new_plugin(*args, cwd):
    return subprocess.run([sys.executable, "-m", "core", "new-plugin", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_generated_plugin_installs_and_its_tests_pass(tmp_path):
    proc = new_plugin("room_keys", "--dir", str(tmp_path / "src"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    project = tmp_path / "src" / "room_keys"
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "room_keys/__init__.py", "room_keys/room_keys.tcss",
                     "room_keys/screens.py", "room_keys/service.py", "tests/test_room_keys.py"]
    assert '[project.entry-points.backdesk]\nroom_keys = "room_keys"' in (project / "pyproject.toml").read_text()
    assert "$panel" in (project / "room_keys" / "room_keys.tcss").read_text()
    init = (project / "room_keys" / "__init__.py").read_text()
    assert "{{" not in init and "class RoomKeysScreen" in (project / "room_keys" / "screens.py").read_text()

    target = pip_install(project, tmp_path / "site-packages")
    assert (target / "room_keys" / "room_keys.tcss").is_file()  # package data travels
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKDESK_")}
    env["PYTHONPATH"] = str(target)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "7 passed" in run.stdout


@pytest.mark.parametrize("name, message", [
    ("Visitors", "'Visitors' is not a plugin name: use lowercase letters"),
    ("2fa", "'2fa' is not a plugin name"),
    ("class", "'class' is not a plugin name"),
    ("core", "'core' is reserved for Backdesk itself"),
    ("events", "'events' is reserved for Backdesk itself"),
    ("telephony", "'telephony' is a built-in plugin"),
    ("json", "'json' is a module of Python's standard library"),
    ("textual", "a module named 'textual' is already installed"),
])
def test_bad_names_are_refused_with_one_line(tmp_path, name, message):
    proc = new_plugin(name, "--dir", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("backdesk: ") and message in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_not_overwritten(tmp_path):
    (tmp_path / "parcels").mkdir()
    proc = new_plugin("parcels", "--dir", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{tmp_path / 'parcels'} already exists" in proc.stderr
    assert list((tmp_path / "parcels").iterdir()) == []
