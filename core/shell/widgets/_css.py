"""Load a widget's .tcss file, which sits next to its module."""

from __future__ import annotations

from pathlib import Path


def load_css(module_file: str, name: str) -> str:
    """Return the text of the stylesheet ``name`` in the folder of ``module_file``.

    Widgets cannot use ``CSS_PATH`` (only apps and screens can), so the
    stylesheet becomes the widget's ``DEFAULT_CSS``: an app's own CSS still
    overrides it.
    """
    return (Path(module_file).parent / name).read_text(encoding="utf-8")
