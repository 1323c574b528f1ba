"""Write docs/hooks.md, the hook reference, from core/api/hookspecs.py.

    python scripts/hookref.py          # rewrite docs/hooks.md
    python scripts/hookref.py --check  # exit 1 when docs/hooks.md is stale

The hookspec module is the source of truth: each hook's signature and
docstring, and the dataclasses the hooks return.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "hooks.md"


def hook_names() -> list[str]:
    from core.api import hookspecs

    names = [n for n, obj in vars(hookspecs).items() if hasattr(obj, "backdesk_spec")]
    # the order of the source file
    return sorted(names, key=lambda n: inspect.getsourcelines(getattr(hookspecs, n))[1])


def render() -> str:
    from core.api import hookspecs

    out = ["# Hook reference", "",
           "Generated from `core/api/hookspecs.py` by `python scripts/hookref.py`; do not edit by hand.", "",
           f"Hook API version: **{hookspecs.HOOK_API_VERSION}** (plugins written for "
           f"{hookspecs.OLDEST_SUPPORTED_API_VERSION}–{hookspecs.HOOK_API_VERSION} load).", "",
           inspect.cleandoc(hookspecs.__doc__ or ""), "", "## Hooks", ""]
    for name in hook_names():
        fn = getattr(hookspecs, name)
        sig = str(inspect.signature(fn)).replace("'", "")
        opts = getattr(fn, "backdesk_spec", {}) or {}
        first = " (first result wins)" if opts.get("firstresult") else ""
        out += [f"### `{name}{sig}`{first}", "", inspect.cleandoc(fn.__doc__ or "UNDOCUMENTED"), ""]
    out += ["## What hooks return", ""]
    for name, obj in vars(hookspecs).items():
        if dataclasses.is_dataclass(obj) and isinstance(obj, type) and obj.__module__ == hookspecs.__name__:
            out += [f"### `{name}`", "", inspect.cleandoc(obj.__doc__ or ""), "", "| field | type | default |",
                    "| --- | --- | --- |"]
            for f in dataclasses.fields(obj):
                if f.default is not dataclasses.MISSING:
                    default = repr(f.default)
                elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                    default = repr(f.default_factory())  # type: ignore[misc]
                else:
                    default = "required"
                out.append(f"| `{f.name}` | `{f.type}` | {default} |")
            out.append("")
    from core.config import Setting

    out += ["### `Setting`", "", inspect.cleandoc(Setting.__doc__ or ""), ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python scripts/hookref.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
