"""core's layers (pyproject.toml [tool.importlinter], docs/architecture.md):
every module imports only its own layer and the ones below, and no import
cycle runs among core's modules, lazy imports inside functions included.
Run by hand: ``lint-imports``."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = ("import sys\nfrom importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(no_cache=True, no_logo=True))\n")


def lint(where: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts of pyproject.toml on the ``core`` package in ``where``."""
    return subprocess.run([sys.executable, "-c", LINT], cwd=where, capture_output=True, text=True,
                          timeout=300)


def test_core_imports_only_downward_and_has_no_cycle():
    proc = lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "core imports only downward KEPT" in proc.stdout
    assert "no import cycle among core's modules KEPT" in proc.stdout


def test_every_module_of_core_has_a_layer():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    placed = {name.strip() for layer in layers for name in layer.split(":")}
    # a layer is a folder (core/cli, core/shell, ...) or, for the ground, modules at core/'s top level
    modules = {f"core.{p.stem}" for p in (ROOT / "core").glob("*.py") if p.stem != "__init__"}
    modules |= {f"core.{p.parent.name}" for p in (ROOT / "core").glob("*/__init__.py")}
    assert sorted(modules - placed) == [], "put the new module or folder into a layer in pyproject.toml"
    assert sorted(placed - modules) == []


def _copy_of_core(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "core", tmp_path / "core", ignore=shutil.ignore_patterns("__pycache__", "locale"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_an_upward_import_breaks_the_contract(tmp_path):
    where = _copy_of_core(tmp_path)
    people = where / "core" / "services" / "people.py"
    # a service reaching up into the shell, hidden in a function
    people.write_text(people.read_text() + "\n\ndef _screen():\n    from core.shell.screens.directory import show_person\n"
                      "    return show_person\n")
    proc = lint(where)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "core imports only downward BROKEN" in proc.stdout
    assert "core.services.people -> core.shell.screens.directory" in proc.stdout


def test_a_cycle_within_a_layer_breaks_the_other_contract(tmp_path):
    where = _copy_of_core(tmp_path)
    events = where / "core" / "services" / "audit.py"
    # audit and events are both services; events imports audit, so this closes a cycle
    events.write_text(events.read_text() + "\n\ndef _bus():\n    from core.services.events import EventBus\n"
                      "    return EventBus\n")
    proc = lint(where)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "core imports only downward KEPT" in proc.stdout
    assert "no import cycle among core's modules BROKEN" in proc.stdout


def _uncommented_inner_imports(source: str) -> list[int]:
    """Lines of imports of core's own modules inside a function or an ``if``
    (TYPE_CHECKING) that carry no comment saying why they are there."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.If)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").split(".")[0] == "core" \
                        and not any("#" in line for line in lines[inner.lineno - 1:inner.end_lineno]):
                    found.append(inner.lineno)
    return sorted(set(found))


def test_every_lazy_import_of_core_says_why():
    """The issue's check ``git grep -n "^    from core\\." core/``: every
    import of core inside a function says why it is there (its measured
    cost, "types only", ...) on its line; usage examples in docstrings are
    fenced blocks, not indented like code."""
    bare = {}
    for path in sorted((ROOT / "core").rglob("*.py")):
        lines = _uncommented_inner_imports(path.read_text())
        if lines:
            bare[str(path.relative_to(ROOT))] = lines
    assert bare == {}
    grep = subprocess.run(["git", "grep", "-n", r"^ \+from core\.", "--", "core/"], cwd=ROOT,
                          capture_output=True, text=True)
    if grep.returncode in (0, 1):  # a checkout with git: every such line carries its reason
        assert [line for line in grep.stdout.splitlines() if "#" not in line] == []


def test_an_uncommented_lazy_import_is_found():
    source = "def f():\n    from core.i18n import _\n    return _\n\ndef g():\n    from core.i18n import _  # Babel\n"
    assert _uncommented_inner_imports(source) == [2]
