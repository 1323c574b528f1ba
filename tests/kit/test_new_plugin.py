"""`backdesk kit new` (and `backdesk new-plugin`): a package that installs with
pip and passes its own tests, German included; `backdesk i18n` keeps its
catalogs."""

from __future__ import annotations

import gettext
import os
import subprocess
import sys

import pytest

from kit_helpers import pip_install


def new_plugin(*args, cwd):
    return subprocess.run([sys.executable, "-m", "core", "new-plugin", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def backdesk(*args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKDESK_")}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_generated_plugin_installs_and_its_tests_pass(tmp_path):
    proc = backdesk("kit", "new", "room_keys", "--dir", str(tmp_path / "src"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    project = tmp_path / "src" / "room_keys"
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "room_keys/__init__.py",
                     "room_keys/locale/de/LC_MESSAGES/room_keys.mo", "room_keys/locale/de/LC_MESSAGES/room_keys.po",
                     "room_keys/locale/room_keys.pot", "room_keys/room_keys.tcss",
                     "room_keys/screens.py", "room_keys/service.py", "tests/test_room_keys.py"]
    # every text of the code has its German translation
    check = backdesk("i18n", "check", "--package", "room_keys", cwd=project)
    assert (check.returncode, check.stdout) == (0, ""), check.stdout + check.stderr
    assert '[project.entry-points.backdesk]\nroom_keys = "room_keys"' in (project / "pyproject.toml").read_text()
    assert "$panel" in (project / "room_keys" / "room_keys.tcss").read_text()
    init = (project / "room_keys" / "__init__.py").read_text()
    assert "{{" not in init and "class RoomKeysScreen" in (project / "room_keys" / "screens.py").read_text()

    target = pip_install(project, tmp_path / "site-packages")
    assert (target / "room_keys" / "room_keys.tcss").is_file()  # package data travels
    assert (target / "room_keys" / "locale" / "de" / "LC_MESSAGES" / "room_keys.mo").is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKDESK_")}
    env["PYTHONPATH"] = str(target)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "8 passed" in run.stdout


def test_the_i18n_command_builds_an_outside_packages_catalog(tmp_path):
    assert backdesk("kit", "new", "room_keys", "--dir", str(tmp_path), cwd=tmp_path).returncode == 0
    project = tmp_path / "room_keys"
    service = project / "room_keys" / "service.py"
    service.write_text(service.read_text() + '''

def handed_back(ctx, n):
    return ctx.ngettext("{n} key handed back", "{n} keys handed back", n).format(n=n)
''')
    proc = backdesk("i18n", "update", "--package", "room_keys", cwd=project)
    assert (proc.returncode, proc.stdout) == (0, "updated room_keys/locale/de/LC_MESSAGES/room_keys.po\n"), proc.stderr
    proc = backdesk("i18n", "check", "--package", "room_keys", cwd=project)
    assert proc.returncode == 1
    assert proc.stdout == "room_keys/locale/de/LC_MESSAGES/room_keys.po: untranslated: '{n} key handed back'\n"
    po = project / "room_keys" / "locale" / "de" / "LC_MESSAGES" / "room_keys.po"
    text = po.read_text(encoding="utf-8")
    old = 'msgid_plural "{n} keys handed back"\nmsgstr[0] ""\nmsgstr[1] ""'
    assert old in text
    po.write_text(text.replace(old, 'msgid_plural "{n} keys handed back"\n'
                                    'msgstr[0] "{n} Schlüssel zurückgegeben"\nmsgstr[1] "{n} Schlüssel zurückgegeben"'),
                  encoding="utf-8")
    assert backdesk("i18n", "check", "--package", "room_keys", cwd=project).returncode == 0
    proc = backdesk("i18n", "compile", "--package", "room_keys", cwd=project)
    assert proc.stdout == "compiled room_keys/locale/de/LC_MESSAGES/room_keys.mo\n", proc.stderr
    german = gettext.translation("room_keys", str(project / "room_keys" / "locale"), languages=["de"])
    assert german.ngettext("{n} key handed back", "{n} keys handed back", 2) == "{n} Schlüssel zurückgegeben"
    assert german.gettext("No open entries") == "Keine offenen Einträge"
    # a new language, and one-line refusals
    proc = backdesk("i18n", "init", "fr", "--package", "room_keys", cwd=project)
    assert proc.stdout == "created room_keys/locale/fr/LC_MESSAGES/room_keys.po\n", proc.stderr
    proc = backdesk("i18n", "init", "fr", "--package", "room_keys", cwd=project)
    assert proc.returncode == 2 and "exists already; use update" in proc.stderr and proc.stderr.count("\n") == 1
    proc = backdesk("i18n", "init", "xx_nowhere", "--package", "room_keys", cwd=project)
    assert proc.returncode == 2 and "'xx_nowhere' is not a language code" in proc.stderr
    proc = backdesk("i18n", "extract", "--package", "tests", cwd=project)
    assert proc.returncode == 2 and "not a Python package folder" in proc.stderr


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
