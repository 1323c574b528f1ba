"""Keys written one way everywhere: the key bar, F1, the menu, form hints.

Textual writes ``ctrl+f`` as ``^f`` in its footer while a menu might say
``CTRL+F`` and a translated hint ``Strg+S``; an office worker should see one
spelling, in their language: ``Ctrl+F`` (``Strg+F``), ``F1``, ``Esc``,
``Enter``, ``PgDn`` (``Bild↓``), ``Shift+Tab`` (``Umschalt+Tab``).

    key_text("ctrl+s")        # "Ctrl+S", German "Strg+S"
    key_text("escape,f1,q")   # "Esc" (the first of several keys)
"""

from __future__ import annotations

from core.shell.widgets._i18n import _

__all__ = ["binding_rank", "key_text"]


def _key(text: str) -> str:
    """``key:Home`` untranslated is ``Home``."""
    return text[4:] if text.startswith("key:") else text


# Keys by Textual's name; a function so the words follow the language set at run time.
def _names() -> dict[str, str]:
    return {
        "escape": _("Esc"),
        "enter": _("Enter"),
        "tab": _("Tab"),
        "space": _("Space"),
        "backspace": _("Backspace"),
        "delete": _("Del"),
        "insert": _("Ins"),
        # Translators: the Home and End keys ("key:" keeps them apart from the Home screen; leave it out)
        "home": _key(_("key:Home")),
        "end": _key(_("key:End")),
        "pageup": _("PgUp"),
        "pagedown": _("PgDn"),
        "up": "↑",
        "down": "↓",
        "left": "←",
        "right": "→",
        "slash": "/",
        "question_mark": "?",
        "plus": "+",
        "minus": "-",
        "comma": ",",
        "full_stop": ".",
        "asterisk": "*",
    }


def _modifiers() -> dict[str, str]:
    return {"ctrl": _("Ctrl"), "shift": _("Shift"), "alt": _("Alt"), "super": _("Super"), "meta": _("Meta")}


def key_text(key: str) -> str:
    """``key`` (Textual's name, e.g. ``"ctrl+s"``; of ``"a,b"`` the first) as
    the operator reads it."""
    key = key.split(",")[0].strip()
    if not key:
        return ""
    *mods, name = key.split("+") if key != "+" else ["+"]
    names = _names()
    if name in names:
        text = names[name]
    elif name[0] == "f" and name[1:].isdigit():
        text = name.upper()
    elif len(name) == 1:
        text = name.upper() if mods else name
    else:
        text = name.replace("_", " ").capitalize()
    modifiers = _modifiers()
    return "+".join([modifiers.get(m, m.capitalize()) for m in mods] + [text])


# Keys every screen has (Textual's focus and copy keys, the shell's menu key):
# listed after a screen's own.
_GENERAL_ACTIONS = frozenset({"app.focus_next", "app.focus_previous", "screen.copy_text", "toggle_sidebar"})


def binding_rank(node, binding, screen) -> int:
    """Where a binding goes in the key bar and F1: 0 the screen's own keys
    (Payroll's "Run payroll"), 1 the focused widget's (a table's sort,
    filter), 2 the app's and those every screen has."""
    if node is screen.app or binding.action in _GENERAL_ACTIONS:
        return 2
    return 0 if node is screen else 1
