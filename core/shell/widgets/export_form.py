"""ExportForm: save what a screen produced in the operator's exports folder.

A bank file, a report as CSV, an exported document: files an operator makes
go to their own exports folder (``ctx.exports_dir()``,
``<data_dir>/exports/<account>/``), never to the process's working folder
(over SSH that is the server's, where nobody looks). The form asks only for
the file's name and says where it goes; ``backdesk files`` lists the folder
and ``backdesk files get NAME`` prints a file, so it can be fetched over SSH.

    self.app.push_screen(
        ExportForm(_("Bank file of run 3"), self.ctx.exports_dir(), "payment-run-3.csv",
                   lambda: svc.bank_csv(self.ctx, run_id)),
        lambda path: path and self.notify(_("Bank file written to {path}").format(path=path)))

The screen is dismissed with the written file's :class:`~pathlib.Path`
(``None`` when cancelled). ``produce`` runs when the operator saves; a
:class:`~core.errors.BackdeskError` it raises (a permission) is shown on the
form, and nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from core.errors import BackdeskError, ValidationError
from core.outputs import export_name, free_name, write_output
from core.shell.widgets._i18n import _
from core.shell.widgets.record_form import Field, FormScreen

__all__ = ["ExportForm", "shown_path"]


def shown_path(path: Path | str) -> str:
    """``path`` as an operator reads it: ``~/…`` under the home folder."""
    text = os.fspath(path)
    home = os.path.expanduser("~")
    if home not in ("", "/") and (text == home or text.startswith(home + os.sep)):
        text = "~" + text[len(home):]
    return text


class ExportForm(FormScreen):
    """A one-field form: the name of the file to write in ``folder``.

    Args:
        title: Shown at the top ("Bank file of run 3").
        folder: The operator's exports folder (``ctx.exports_dir()``).
        name: The suggested name; ``name-2.csv`` … when it is taken.
        produce: ``produce() -> str | bytes``, the file's content.
        submit_label: The button's text (default "Save").
    """

    def __init__(self, title: str, folder: Path, name: str, produce: Callable[[], str | bytes], *,
                 submit_label: str | None = None) -> None:
        self.folder = Path(folder)

        def save(values) -> Path:
            try:
                target = self.folder / export_name(values["name"])
            except BackdeskError as error:
                raise ValidationError(error.message, field="name") from None
            data = produce()  # a refusal shows on the form's error line
            try:
                return write_output(target, data)
            except BackdeskError as error:
                raise ValidationError(error.message, field="name") from None

        field = Field("name", _("File name"), required=True,
                      help=_("Saved in {folder}").format(folder=shown_path(self.folder) + "/"))
        super().__init__(title, [field], {"name": free_name(self.folder, name)}, on_submit=save,
                         submit_label=submit_label or _("Save"))
