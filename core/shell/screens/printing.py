"""The print dialog every plugin's screen opens (documents, payslips, …).

:func:`print_dialog` builds a :class:`~core.shell.widgets.FormScreen` with the
printer (the print server's printers, the operator's default chosen), the
copies, both sides and the pages; the paper tray (when a printer offers trays); ``on_print(values)`` makes the plugin's
service call, which checks the permission and prints through
``services.printing``. Keyboard only: Tab between fields, Ctrl+S prints,
Esc closes; a refused request shows at its field and the dialog stays.
"""

from __future__ import annotations

from typing import Any, Callable

from core.i18n import N_, _
from core.shell.widgets import Field, FormScreen

STATE_TITLES = {"idle": N_("ready"), "printing": N_("printing"), "stopped": N_("stopped")}


def printer_choices(printers: list[dict]) -> list[tuple[str, str]]:
    out = []
    for p in printers:
        state = p["state"]
        extra = p["description"] or p["name"]
        label = f"{p['name']} · {extra}"
        if state != "idle":
            label += f" ({_(STATE_TITLES.get(state, state))})"
        out.append((p["name"], label[:40]))
    return out


def print_dialog(printing, title: str, on_print: Callable[[dict[str, Any]], Any]) -> FormScreen:
    """The dialog; raises BackdeskError (no CUPS, no printers) before it opens."""
    printers = printing.printers()
    default = printing.default_printer(printers)
    if default not in {p["name"] for p in printers}:
        default = printers[0]["name"] if printers else ""
    fields = [
        Field("printer", _("Printer"), kind="choice", choices=printer_choices(printers), default=default,
              required=True),
        Field("copies", _("Copies"), kind="int", default=1, required=True, help=_("1 to 99")),
        Field("duplex", _("Both sides"), kind="bool", default=False),
        Field("pages", _("Pages"), help=_("Empty: all; or 1-3 or 1,3,5-7")),
    ]
    trays = sorted({t for p in printers for t in p["trays"]})
    if trays:  # only where a printer offers trays; one the chosen printer lacks is refused at the field
        fields.append(Field("tray", _("Paper tray"), kind="choice", choices=[("", _("automatic"))]
                            + [(t, t) for t in trays], default=""))
    return FormScreen(title, fields, on_submit=on_print, submit_label=_("Print"))
