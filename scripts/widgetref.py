"""Write docs/widgets.md, the shared widgets' reference, from core/shell/widgets.

    python scripts/widgetref.py          # rewrite docs/widgets.md
    python scripts/widgetref.py --check  # exit 1 when docs/widgets.md is stale

The code is the source: each name ``core.shell.widgets`` exports, its signature,
its docstring, the description of each parameter (the ``Args:`` section of
the class's or ``__init__``'s docstring, or the ``name`` in its prose) and
its own public methods, properties and messages. ``tests/kit/
test_widget_reference.py`` fails when a parameter is described nowhere.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "widgets.md"

#: parameters every Textual widget takes (Textual's own documentation)
TEXTUAL = {"name", "id", "classes", "disabled"}
#: parameters whose docstring does not describe them yet (the widgets' own
#: modules belong to the shell; say it here until they do)
#: descriptions of parameters whose docstrings do not say them (none now: the
#: widgets' docstrings describe every parameter; kept for a widget that needs it)
EXTRA: dict[tuple[str, str], str] = {}
INTRO = """\
# Widget reference

Generated from `core/shell/widgets` by `python scripts/widgetref.py`; do not edit
by hand. The shared widgets a plugin's screens use instead of writing their
own: `from core.shell.widgets import RecordTable, Column, Field, FormScreen, …`.
Parameters Textual itself gives every widget (`name`, `id`, `classes`,
`disabled`) are left out.

## Reading a form in a test

`FormScreen(...).form` is the `RecordForm`; `form.control(key)` is a
field's input widget (an `Input`, `Select`, `Checkbox`, `TextArea` or
`Picker`), `form.values` the typed values of the fields that are valid,
`form.submit()` validates and posts `RecordForm.Submitted`. What a field
shows as its error: `core.cli.testing.field_error(form, key)` (`""` when none);
the form's own error line (a service's error without a field):
`field_error(form, None)`. A service's `ValidationError(message,
field=...)` raised in `on_submit` is shown at that field;
`ValidationError(fields={key: message, ...})` at each of its fields.
"""


def exported() -> list[tuple[str, object]]:
    import core.shell.widgets as widgets

    return [(name, getattr(widgets, name)) for name in widgets.__all__]


def _args_section(doc: str) -> dict[str, str]:
    """``{parameter: description}`` from a Google-style ``Args:`` section."""
    out: dict[str, str] = {}
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() in ("Args:", "Parameters:"):
            indent = None
            current = None
            for item in lines[i + 1:]:
                if not item.strip():
                    if current:
                        continue
                    break
                width = len(item) - len(item.lstrip())
                if indent is None:
                    indent = width
                if width < indent:
                    break
                m = re.match(r"\*{0,2}(\w+)(?: \([^)]*\))?:\s*(.*)$", item.strip())
                if width == indent and m:
                    current = m.group(1)
                    out[current] = m.group(2)
                elif current:
                    out[current] += " " + item.strip()
            break
    return out


def parameters(name: str, obj) -> list[tuple[str, str, str]]:
    """``(parameter, default, description)`` of ``obj``'s call, Textual's own left out."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    docs: dict[str, str] = {}
    texts = [inspect.getdoc(obj) or ""]
    if inspect.isclass(obj) and "__init__" in vars(obj):
        texts.append(inspect.getdoc(obj.__init__) or "")
    for text in texts:
        docs.update(_args_section(text))
    prose = "\n".join(texts)
    out = []
    for p in sig.parameters.values():
        if p.name in TEXTUAL or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = "required" if p.default is p.empty else f"`{p.default!r}`"
        text = docs.get(p.name) or EXTRA.get((name, p.name), "")
        if not text and re.search(rf"``{re.escape(p.name)}(\(|``)", prose):
            text = "(see above)"
        out.append((p.name, default, text))
    return out


def members(obj) -> list[tuple[str, str]]:
    """The class's own public methods, properties and messages, with their first line."""
    out = []
    for key, value in vars(obj).items():
        if key.startswith("_") or key.isupper() or key.startswith(("action_", "on_", "watch_", "compose",
                                                                    "render", "validate_")):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if not (callable(value) or isinstance(value, property)):
            continue
        doc = inspect.getdoc(value) or ""
        first = " ".join(doc.split("\n\n")[0].split()) if doc else ""
        if inspect.isclass(value):
            kind = "message"
        elif isinstance(value, property):
            kind = "property"
        else:
            kind = "method"
        out.append((f"{key}", f"{kind}: {first}" if first else kind))
    return out


def render() -> str:
    out = [INTRO]
    for name, obj in exported():
        kind = "class" if inspect.isclass(obj) else "function"
        module = obj.__module__
        out += [f"## `{name}`", "", f"`{module}.{name}` ({kind})", ""]
        doc = inspect.getdoc(obj) or ""
        # the Args section goes into the table below
        body = re.split(r"^\s*(?:Args|Parameters):\s*$", doc, maxsplit=1, flags=re.M)[0].strip()
        if body:
            out += [body, ""]
        params = parameters(name, obj)
        if params:
            out += ["| parameter | default | what it is |", "| --- | --- | --- |"]
            for pname, default, text in params:
                out.append(f"| `{pname}` | {default} | {' '.join(text.split()) or 'UNDOCUMENTED'} |")
            out.append("")
        if inspect.isclass(obj):
            own = members(obj)
            if own:
                out += ["| member | |", "| --- | --- |"]
                out += [f"| `{key}` | {' '.join(text.split())} |" for key, text in own]
                out.append("")
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run python scripts/widgetref.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
