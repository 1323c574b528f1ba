"""FilePicker: choose a file from a folder tree instead of typing its path.

The tree is rooted where the operator may take files from — the caller
names those folders, the first shown first (the documents plugin: the
intake folder, then the operator's exports folder, then the home folder).
Up/Down move, Enter opens a folder or takes a file, Left/Right fold and
unfold, the digits switch between the folders, Esc cancels. Hidden files
(a leading dot) are not listed.

    def chosen(path: Path | None) -> None:
        if path is not None:
            ...
    self.app.push_screen(FilePicker(_("File a document"), [(_("Intake"), inbox), (_("Home"), Path.home())]),
                         chosen)

The screen is dismissed with the chosen file's :class:`~pathlib.Path`
(``None`` when cancelled). It only shows what exists: the service that
takes the file still checks it (size, the data folder, permissions).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Iterable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Static

from core.shell.widgets._css import load_css
from core.shell.widgets._i18n import _
from core.shell.widgets.keys import key_text

__all__ = ["FilePicker"]


class _Tree(DirectoryTree):
    """A folder tree without hidden files."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [path for path in paths if not path.name.startswith(".")]


class FilePicker(ModalScreen["Path | None"]):
    """Choose a file in one of a few folders (see the module's docstring).

    Args:
        title: Shown at the top ("File a document").
        roots: ``(label, folder)`` pairs, in the order offered; folders that
            do not exist are left out.
    """

    DEFAULT_CSS = load_css(__file__, "file_picker.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", _("Cancel"), id="file_picker.cancel"),
        *[Binding(str(n), f"root({n - 1})", show=False, id=f"file_picker.root_{n}") for n in range(1, 10)],
    ]

    def __init__(self, title: str, roots: Sequence[tuple[str, Path | str]], *, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._title = title
        self.roots: list[tuple[str, Path]] = [(label, Path(folder)) for label, folder in roots
                                              if Path(folder).is_dir()]
        self.current = 0

    def compose(self) -> ComposeResult:
        with Vertical(classes="file-picker--dialog"):
            yield Static(self._title, classes="file-picker--title", markup=False)
            yield Static(self._roots_text(), classes="file-picker--roots", markup=False)
            if self.roots:
                yield _Tree(self.roots[0][1], classes="file-picker--tree")
            else:
                yield Static(_("No folder to choose from."), classes="file-picker--empty", markup=False)
            yield Static(_("{enter} opens a folder or takes the file · {keys} another folder · {esc} cancel").format(
                enter=key_text("enter"), keys="1–%d" % max(1, len(self.roots)), esc=key_text("escape")),
                classes="file-picker--hint", markup=False)

    def _roots_text(self) -> str:
        return "  ".join(f"{'▸' if i == self.current else ' '}{i + 1} {label}"
                         for i, (label, _folder) in enumerate(self.roots))

    @property
    def tree(self) -> DirectoryTree:
        """The folder tree (of the folder shown)."""
        return self.query_one(_Tree)

    def on_mount(self) -> None:
        if self.roots:
            self.tree.focus()

    def action_root(self, index: int) -> None:
        """Show the ``index``-th folder."""
        if not 0 <= index < len(self.roots) or index == self.current:
            return
        self.current = index
        self.tree.path = self.roots[index][1]
        self.query_one(".file-picker--roots", Static).update(self._roots_text())
        self.tree.focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(Path(event.path))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
