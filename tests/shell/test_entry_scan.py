"""Entry-point plugins found by core.plugins.entrypoints' scan of sys.path: what
``backdesk plugins`` shows for distributions installed in ways teams do
(a site folder on PYTHONPATH, a .pth file, an editable install, a zip), and
the same answer importlib.metadata gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

PLUGIN = '''
from core.api.hookspecs import PluginInfo, hookimpl

@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name={name!r}, title={name!r}, version={version!r})
'''

ATTR_PLUGIN = '''
from types import SimpleNamespace
from core.api.hookspecs import PluginInfo, hookimpl

@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name={name!r}, title={name!r}, version={version!r})

hooks = SimpleNamespace(backdesk_plugin_info=backdesk_plugin_info)
'''


def package(where: Path, module: str, name: str, version: str, template: str = PLUGIN) -> None:
    pkg = where / module
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(template.format(name=name, version=version))


def dist_info(where: Path, folder: str, entry_points: str | None, *, dist_name: str = "x") -> Path:
    info = where / folder
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    return info


def plugins(site, *, pythonpath: list[Path] = (), site_dir: Path | None = None,
            env: dict | None = None) -> dict[str, dict]:
    """``backdesk plugins --format json`` as {name: row}; ``site_dir`` is
    added with site.addsitedir, so its .pth files count, as in site-packages."""
    environ = {**os.environ, **(env or {})}
    if pythonpath:
        environ["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
    if site_dir is None:
        argv = [sys.executable, "-m", "core"]
    else:
        argv = [sys.executable, "-c",
                "import site, sys; site.addsitedir(sys.argv.pop(1)); from core.cli import main; main()",
                str(site_dir)]
    proc = subprocess.run([*argv, *site.cli_args(), "plugins", "--format", "json"],
                          capture_output=True, text=True, timeout=300, env=environ)
    assert proc.returncode == 0, proc.stderr
    return {row["name"]: row for row in json.loads(proc.stdout)}


def test_a_dist_info_on_pythonpath_is_found_module_or_attribute(site, tmp_path):
    sp = tmp_path / "site-packages"
    package(sp, "bd_visitors", "visitors", "2.0")
    dist_info(sp, "bd_visitors-2.0.dist-info", "[backdesk]\nvisitors = bd_visitors\n")
    package(sp, "bd_hooks", "hooks_plugin", "3.1", ATTR_PLUGIN)
    dist_info(sp, "bd_hooks-3.1.dist-info", """\
        [console_scripts]
        bd-hooks = bd_hooks:main

        # the plugin
        [backdesk]
        hooks_plugin = bd_hooks : hooks
        """)
    rows = plugins(site, pythonpath=[sp])
    assert rows["visitors"] == {"name": "visitors", "version": "2.0", "source": "entry point",
                                "status": "ok", "error": "", "target": "bd_visitors", "reacts_to": []}
    assert rows["hooks_plugin"]["status"] == "ok" and rows["hooks_plugin"]["version"] == "3.1"
    assert rows["hooks_plugin"]["target"] == "bd_hooks : hooks"
    # without the folder on the path there is no such plugin
    assert "visitors" not in plugins(site)


def test_pth_files_editable_and_legacy_develop_installs(site, tmp_path):
    """pip's editable install (a dist-info in site-packages, a .pth naming
    the source folder) and an old `setup.py develop` (a .pth naming the
    project, whose *.egg-info sits next to the package)."""
    sp = tmp_path / "site-packages"
    src = tmp_path / "edit-project" / "src"
    package(src, "bd_edit", "edited", "0.9")
    dist_info(sp, "bd_edit-0.9.dist-info", "[backdesk]\nedited = bd_edit\n")
    legacy = tmp_path / "legacy-project"
    package(legacy, "bd_legacy", "legacy", "0.1")
    egg = legacy / "bd_legacy.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: bd-legacy\nVersion: 0.1\n")
    (egg / "entry_points.txt").write_text("[backdesk]\nlegacy = bd_legacy\n")
    (sp / "__editable__.bd_edit-0.9.pth").write_text(f"{src}\n")
    (sp / "easy-install.pth").write_text(f"{legacy}\n")
    rows = plugins(site, site_dir=sp)
    assert (rows["edited"]["status"], rows["edited"]["version"]) == ("ok", "0.9")
    assert (rows["legacy"]["status"], rows["legacy"]["version"]) == ("ok", "0.1")


def test_disabled_entry_point_plugins(site, tmp_path):
    sp = tmp_path / "site-packages"
    package(sp, "bd_visitors", "visitors", "2.0")
    dist_info(sp, "bd_visitors-2.0.dist-info", "[backdesk]\nvisitors = bd_visitors\n")
    site.plugins([{"name": "visitors", "enabled": False}])
    row = plugins(site, pythonpath=[sp])["visitors"]
    assert (row["source"], row["status"], row["error"]) == ("entry point", "disabled",
                                                            "disabled in plugins.yaml")
    site.plugins([])
    row = plugins(site, pythonpath=[sp], env={"BACKDESK_DISABLE_PLUGINS": "external"})["visitors"]
    assert (row["status"], row["error"]) == ("disabled", "disabled by BACKDESK_DISABLE_PLUGINS")


def test_two_distributions_of_one_name_the_first_on_the_path_wins(site, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    package(first, "dup_one", "dup", "1.0")
    dist_info(first, "bd_dup-1.0.dist-info", "[backdesk]\ndup = dup_one\n")
    package(second, "dup_two", "dup", "2.0")
    dist_info(second, "BD.Dup-2.0.dist-info", "[backdesk]\ndup = dup_two\n")  # the same name, normalised
    row = plugins(site, pythonpath=[first, second])["dup"]
    assert (row["version"], row["target"]) == ("1.0", "dup_one")
    row = plugins(site, pythonpath=[second, first])["dup"]
    assert (row["version"], row["target"]) == ("2.0", "dup_two")
    # the first one hides the second even when only the second names a plugin
    # (importlib.metadata's rule: one distribution per name)
    shadow = tmp_path / "shadow"
    dist_info(shadow, "bd_dup-0.5.dist-info", "[console_scripts]\nbd-dup = dup_one:main\n")
    assert "dup" not in plugins(site, pythonpath=[shadow, second])


def test_a_broken_entry_point_is_listed_as_failed(site, tmp_path):
    sp = tmp_path / "site-packages"
    package(sp, "bd_ok", "fine", "1.0")
    dist_info(sp, "bd_ok-1.0.dist-info", """\
        [backdesk]
        fine = bd_ok
        noattr = bd_ok:nothing_here
        """)
    dist_info(sp, "bd_ghost-1.0.dist-info", "[backdesk]\nghost = bd_ghost_module\n")
    rows = plugins(site, pythonpath=[sp])
    assert rows["fine"]["status"] == "ok"
    assert rows["ghost"]["status"] == "failed"
    assert rows["ghost"]["error"] == ("cannot be imported: ModuleNotFoundError: "
                                      "No module named 'bd_ghost_module'")
    assert rows["noattr"]["status"] == "failed"
    assert rows["noattr"]["error"] == ("cannot be imported: AttributeError: "
                                       "module 'bd_ok' has no attribute 'nothing_here'")


def test_a_zip_archive_on_the_path_is_searched_too(site, tmp_path):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("bd_zipped/__init__.py", PLUGIN.format(name="zipped", version="4.2"))
        zf.writestr("bd_zipped-4.2.dist-info/METADATA", "Metadata-Version: 2.1\nName: bd-zipped\nVersion: 4.2\n")
        zf.writestr("bd_zipped-4.2.dist-info/entry_points.txt", "[backdesk]\nzipped = bd_zipped\n")
    row = plugins(site, pythonpath=[archive])["zipped"]
    assert (row["status"], row["version"]) == ("ok", "4.2")


def test_the_scan_answers_as_importlib_metadata_does(tmp_path):
    """One process, both lookups, on a path with every kind of entry."""
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    dist_info(a, "one-1.0.dist-info", "[backdesk]\nalpha = one\nbeta = one:b\n")
    dist_info(a, "Two_Pkg-1.0.dist-info", "[other]\nx = y\n")
    dist_info(a, "three.egg-info", "[backdesk]\ngamma = three\n")
    (a / "four.egg-info").write_text("Metadata-Version: 1.0\nName: four\n")  # a file: no entry points
    dist_info(b, "two.pkg-2.0.dist-info", "[backdesk]\nhidden = two\n")     # hidden by a's Two_Pkg
    dist_info(b, "five-1.dist-info", "[backdesk]\nalpha = five\n")          # the same entry name again
    dist_info(b, "six-1.dist-info", None)
    dist_info(c, "four-1.dist-info", "[backdesk]\nfour = four\n")           # hidden by a's four.egg-info
    archive = tmp_path / "seven.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("seven-1.dist-info/METADATA", "Metadata-Version: 2.1\nName: seven\nVersion: 1\n")
        zf.writestr("seven-1.dist-info/entry_points.txt", "[backdesk]\nseven = seven\n")
    code = textwrap.dedent("""\
        import importlib.metadata, json, sys
        from core.plugins.entrypoints import entry_points
        ours = [[ep.name, ep.value] for ep in entry_points("backdesk")]
        theirs = [[ep.name, ep.value] for ep in importlib.metadata.entry_points(group="backdesk")]
        print(json.dumps([ours, theirs]))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, [a, b, archive, c]))}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    ours, theirs = json.loads(proc.stdout)
    assert ours == theirs  # the same entries in the same order (listing order within a folder)
    assert sorted(ours) == [["alpha", "five"], ["alpha", "one"], ["beta", "one:b"], ["gamma", "three"],
                            ["seven", "seven"]]
    assert ours.index(["alpha", "one"]) < ours.index(["alpha", "five"])  # {name: ep} keeps five's
