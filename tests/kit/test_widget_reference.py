"""docs/widgets.md: generated from core/shell/widgets, current, every public
parameter described (as the hook reference is for hooks)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kit_helpers import ROOT

sys.path.insert(0, str(ROOT / "scripts"))

import widgetref  # noqa: E402


def test_docs_widgets_md_is_current():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "widgetref.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name, obj", widgetref.exported(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_parameter_is_described(name, obj):
    missing = [p for p, _default, text in widgetref.parameters(name, obj) if not text]
    assert not missing, (f"core.shell.widgets.{name}: describe {', '.join(missing)} in its docstring's Args "
                         "section (or in scripts/widgetref.py EXTRA until it is)")


def test_the_parameters_the_author_missed_are_there():
    text = (ROOT / "docs" / "widgets.md").read_text(encoding="utf-8")
    for needle in ("| `kind` |", "| `choices` |", "| `validate` |", "| `empty_text` |", "| `yes_label` |",
                   "| `danger` |", "| `control` |", "| `values` |", "field_error(form, key)", "| `align` |"):
        assert needle in text, needle


async def test_field_error_reads_what_the_form_shows(backdesk_site):
    from textual.app import App

    from core.cli.testing import field_error, wait_for
    from core.shell.widgets import Field, RecordForm

    class FormApp(App):
        def compose(self):
            yield RecordForm([Field("title", "Title", required=True), Field("count", "Count", kind="int")])

    async with FormApp().run_test(size=(80, 24)) as pilot:
        form = pilot.app.query_one(RecordForm)
        form.control("count").value = "many"
        assert not form.validate()
        await pilot.pause()
        assert field_error(form, "title") == "Required"
        assert field_error(form, "count") != "" and field_error(form, None) == ""
        form.show_error(None, "the service said no")
        await wait_for(pilot, lambda: field_error(form, None) == "the service said no")
