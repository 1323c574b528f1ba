"""Files Backdesk writes for people: exports, ``-o FILE``, folders of its own.

What leaves the store keeps the store's modes: an exported table, a payslip
or a bank file is as confidential as the data it came from. Every file
written here is created 0600 and every folder 0700 (the store's modes, see
:mod:`core.storage.files`), whatever the umask says.

- :func:`output_file` — ``-o FILE`` (or standard output): written to a
  temporary file beside the target and renamed over it only when complete,
  so a failed export (a full disk, a bad path) leaves the old file or
  nothing; a device or pipe (``/dev/stdout``, ``/dev/full``) is written
  directly. Every failure is one :class:`~core.errors.BackdeskError` line
  naming the path.
- :func:`write_output` — the same for data in memory.
- :func:`private_dir` — a folder and its missing parents, 0700 each.
- :func:`exports_dir`, :func:`save_export`, :func:`list_exports` — the
  operator's own exports folder, ``<data_dir>/exports/<account>/``: where a
  bank file, a report or an exported document goes from a screen (never the
  process's working folder, which over SSH is the server's), shown on the
  screen and listed by ``backdesk files``.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from core.errors import BackdeskError
from core.i18n import _

FILE_MODE = 0o600
DIR_MODE = 0o700


def _problem(path: Path | str, exc: OSError) -> BackdeskError:
    shown = str(path)
    shown = shown if len(shown) <= 200 else shown[:199] + "…"
    return BackdeskError(_("cannot write {path}: {error}").format(path=shown, error=exc.strerror or exc))


def check_output_path(path: Path | str | None) -> Path | None:
    """``path`` as a Path (None stays None), or one line saying why not."""
    if path is None:
        return None
    if str(path) == "":
        raise BackdeskError(_("name a file to write to (the output path is empty)"), field="output")
    if "\x00" in str(path):
        raise BackdeskError(_("the output path contains a NUL character"), field="output")
    path = Path(path)
    try:
        folder = path.is_dir()
    except OSError as exc:  # a name too long, a loop of links
        raise _problem(str(path)[:200], exc) from None
    if folder:
        raise BackdeskError(_("{path} is a folder; name a file").format(path=path), field="output")
    return path


def private_dir(path: Path | str) -> Path:
    """Create ``path`` and its missing parents as 0700 folders (``mkdir -p``
    with the store's mode; ``Path.mkdir(parents=True, mode=…)`` gives the
    parents the umask's mode)."""
    path = Path(path)
    missing = []
    here = path
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        os.chmod(folder, DIR_MODE)  # mkdir's mode goes through the umask
    return path


@contextmanager
def output_file(path: Path | str | None, *, binary: bool = False,
                encoding: str = "utf-8") -> Iterator[IO]:
    """A handle to write an export to: standard output for ``path`` None,
    else ``path`` (0600), complete or not at all (see the module docstring)."""
    target = check_output_path(path)
    if target is None:
        stream = sys.stdout.buffer if binary else sys.stdout
        try:
            yield stream
            stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _problem(_("standard output"), exc) from None
        return
    mode = "wb" if binary else "w"
    kwargs = {} if binary else {"encoding": encoding, "newline": ""}
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise _problem(target, exc) from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        # a device or a pipe: nothing to replace, write straight to it
        try:
            with open(target, mode, **kwargs) as fh:
                yield fh
        except OSError as exc:
            raise _problem(target, exc) from None
        return
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _problem(target, exc) from None
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except OSError as exc:
        _unlink(tmp)
        raise _problem(target, exc) from None
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_output(path: Path | str, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` (0600, complete or not at all); the path."""
    binary = isinstance(data, bytes)
    with output_file(path, binary=binary, encoding=encoding) as fh:
        fh.write(data)
    return Path(path)


#: the folder under the data folder that holds every operator's exports
EXPORTS = "exports"


def exports_root(data_dir: Path | str) -> Path:
    """``<data_dir>/exports``: every operator's exports folder is in here."""
    return Path(data_dir) / EXPORTS


def exports_dir(data_dir: Path | str, account: str) -> Path:
    """The operator's exports folder, ``<data_dir>/exports/<account>/``
    (created 0700). An account name that is no plain folder name (a ``/``,
    a leading dot) has those characters replaced by ``_``."""
    folder = re.sub(r"[^\w.@+-]", "_", str(account)).lstrip(".") or "_"
    return private_dir(exports_root(data_dir) / folder)


def export_name(name: str) -> str:
    """``name`` if it is a plain file name for the exports folder, else one line."""
    name = str(name).strip()
    if not name:
        raise BackdeskError(_("name the file"), field="name")
    if "/" in name or "\\" in name or "\x00" in name or name.startswith(".") or len(name) > 200:
        raise BackdeskError(_("a plain file name, without a folder or a leading dot: {name}").format(
            name=name[:80]), field="name")
    return name


def free_name(folder: Path, name: str) -> str:
    """``name``, or ``name-2``, ``name-3`` … before its suffix when taken, so a
    suggested name does not replace an older export."""
    stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
    n = 1
    while (folder / name).exists():
        n += 1
        name = f"{stem}-{n}{dot}{suffix}"
    return name


def save_export(data_dir: Path | str, account: str, name: str, data: str | bytes) -> Path:
    """Write ``data`` as ``name`` in the operator's exports folder (0600,
    complete or not at all); returns its path."""
    return write_output(exports_dir(data_dir, account) / export_name(name), data)


def list_exports(data_dir: Path | str, account: str) -> list[tuple[str, int, float]]:
    """The operator's exports, newest first: ``(name, size, mtime)``."""
    folder = exports_dir(data_dir, account)
    rows = []
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
            info = entry.stat(follow_symlinks=False)
            rows.append((entry.name, info.st_size, info.st_mtime))
    return sorted(rows, key=lambda row: (-row[2], row[0]))


__all__ = ["output_file", "write_output", "private_dir", "check_output_path", "FILE_MODE", "DIR_MODE",
           "EXPORTS", "exports_root", "exports_dir", "export_name", "free_name", "save_export", "list_exports"]
