"""The hook reference is complete, current, and every hook is tested (as datasette does)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import hookref  # noqa: E402


@pytest.mark.parametrize("name", hookref.hook_names())
def test_hook_is_documented(name):
    from core.api import hookspecs

    doc = getattr(hookspecs, name).__doc__ or ""
    assert len(doc.strip()) > 40, f"{name} needs a docstring saying when it is called and what to return"


@pytest.mark.parametrize("name", hookref.hook_names())
def test_hook_is_exercised_by_a_test(name):
    """A plugin in the tests implements the hook (so the shell calls it in a test)."""
    tests = ROOT / "tests"
    for path in tests.rglob("*.py"):
        if path.name == Path(__file__).name:
            continue
        if f"def {name}(" in path.read_text(encoding="utf-8", errors="replace"):
            return
    for path in (ROOT / "plugins").rglob("__init__.py"):
        if f"def {name}(" in path.read_text(encoding="utf-8"):
            return  # a built-in plugin implements it; its tests load the plugin
    pytest.fail(f"no plugin in tests/ or plugins/ implements {name}")


def test_docs_hooks_md_is_current():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "hookref.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
