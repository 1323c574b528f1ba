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
- :class:`SharedExports` — on a store every host shares (PostgreSQL), the
  exports folders are kept in it: a file written into an operator's folder
  (through :func:`output_file`/:func:`write_output`) is stored (its bytes
  in the file area ``core/exports``, its name in the table ``core.exports``),
  and a folder is brought up to date before it is listed, so the operator
  finds a bank file made on host A in the folder on host B. The folder on
  each host is then a copy; the store holds the files.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator

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
    for tell in list(_WRITTEN):
        tell(target)


#: called with each file written through output_file (see on_written)
_WRITTEN: list[Callable[[Path], None]] = []


def on_written(callback: Callable[[Path], None]) -> Callable[[], None]:
    """Call ``callback(path)`` after each file :func:`output_file` (and
    :func:`write_output`) writes whole; returns the function that stops it.
    (:class:`SharedExports` stores what lands in an exports folder.)"""
    _WRITTEN.append(callback)

    def stop() -> None:
        if callback in _WRITTEN:
            _WRITTEN.remove(callback)
    return stop


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


def exports_folder_name(account: str) -> str:
    """The name of ``account``'s exports folder: the account, with what is no
    plain folder name (a ``/``, a leading dot) replaced by ``_``."""
    return re.sub(r"[^\w.@+-]", "_", str(account)).lstrip(".") or "_"


def exports_dir(data_dir: Path | str, account: str) -> Path:
    """The operator's exports folder, ``<data_dir>/exports/<account>/``
    (created 0700; see :func:`exports_folder_name`)."""
    return private_dir(exports_root(data_dir) / exports_folder_name(account))


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


#: where a shared store keeps the exports: the table of names, the file area of bytes
EXPORTS_TABLE = "core.exports"
EXPORTS_AREA = "core/exports"


class SharedExports:
    """The exports folders of a site whose store every host shares
    (PostgreSQL): see the module docstring.

    ``store`` is the site's store (its ``table`` and ``files``); ``account``
    the operator of the session: only their own folder is recorded from it
    (a process serving several operators records each file once, as its
    owner). One record per folder and name: ``{"folder", "name", "sha256",
    "size", "mtime", "host"}``; a file written again replaces its record. A
    file removed from one host's folder is brought back from the store at
    the next listing (the store keeps what was exported)."""

    def __init__(self, store: Any, data_dir: Path | str, account: str) -> None:
        self.store = store
        self.root = exports_root(data_dir)
        self.data_dir = data_dir
        self.folder = exports_folder_name(account)
        self.table = store.table(*EXPORTS_TABLE.split("."))
        self._stop = on_written(self._written)

    def close(self) -> None:
        self._stop()

    @property
    def files(self) -> Any:
        return self.store.files(EXPORTS_AREA, local_dir=self.data_dir)

    def _written(self, path: Path) -> None:
        path = Path(path).absolute()
        if path.parent == self.root.absolute() / self.folder:
            self.record(path)

    def record(self, path: Path) -> None:
        """Store ``path`` (a file in this operator's folder) and its record."""
        import socket  # only a PostgreSQL site records exports: not on every start

        stored = self.files.put_file(path)
        mtime = round(os.stat(path).st_mtime, 6)
        row = {"folder": self.folder, "name": path.name, "sha256": stored.sha256, "size": stored.size,
               "mtime": mtime, "host": socket.gethostname()[:60]}
        with self.store.transaction():
            found = self.table.find({"folder": self.folder, "name": path.name}, limit=1)
            if not found:
                self.table.insert(row)
            elif found[0].get("sha256") != stored.sha256 or found[0].get("mtime") != mtime:
                self.table.update(found[0]["id"], row)

    def sync(self, folder: Path) -> Path:
        """Bring this operator's ``folder`` up to date with the store: fetch
        what another host stored (or stored anew), store what only this
        host has (written before the site shared its exports, or by hand).
        Returns ``folder``."""
        records = {r["name"]: r for r in self.table.find({"folder": self.folder})}
        local: dict[str, os.stat_result] = {}
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                local[entry.name] = entry.stat(follow_symlinks=False)
        for name, record in records.items():
            here = local.get(name)
            if here is not None and here.st_size == record.get("size") \
                    and abs(here.st_mtime - float(record.get("mtime") or 0)) < 1e-3:
                continue  # the same file
            if here is not None and here.st_mtime > float(record.get("mtime") or 0):
                self.record(folder / name)  # changed here after it was stored
                continue
            self._fetch(folder / name, record)
        for name in local.keys() - records.keys():
            self.record(folder / name)
        return folder

    def _fetch(self, target: Path, record: dict) -> None:
        """Write the stored file of ``record`` to ``target``: through a
        temporary file, checked against its hash, with the record's time."""
        import hashlib  # (OpenSSL) only when a PostgreSQL site fetches an export

        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, self.files.open(record["sha256"]) as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != record["sha256"]:
                raise BackdeskError(_("{path}: the stored file does not match its record; `backdesk check` "
                                      "names it").format(path=target))
            os.chmod(tmp, FILE_MODE)
            mtime = float(record.get("mtime") or 0)
            os.utime(tmp, (mtime, mtime))
            os.replace(tmp, target)
        except BaseException:
            _unlink(tmp)
            raise



__all__ = ["output_file", "write_output", "on_written", "private_dir", "check_output_path", "FILE_MODE", "DIR_MODE",
           "EXPORTS", "exports_root", "exports_folder_name", "exports_dir", "export_name", "free_name", "save_export",
           "list_exports", "SharedExports", "EXPORTS_TABLE", "EXPORTS_AREA"]
