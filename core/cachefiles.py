"""Files Backdesk keeps in the user's cache folder to start faster.

``$XDG_CACHE_HOME/backdesk/<kind>/`` (``~/.cache/backdesk/<kind>/``): the
config's parse cache (:mod:`core.config`, kind ``config``) and the parts of
Babel's data a start reads (:mod:`core.babeldata`, kind ``babel``). What
they share is here: where the folder is, that it is the user's own and
nobody else may write to it, reading an entry only when it is a regular
file of ours of a sane size, and writing one atomically. Anything odd is
never used (the caller reads the real thing instead), and a cache that
cannot be written is skipped. Deleting the folder is always safe.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Set (to anything but "" or "0") to use no cache at all: every start reads
#: the config files with the YAML parser and Babel's data files whole, and
#: writes nothing.
ENV_NO_CACHE = "BACKDESK_NO_CACHE"


def cache_dir(kind: str) -> Path | None:
    """The folder for ``kind``'s entries, or None when the cache is switched off or has no place."""
    if os.environ.get(ENV_NO_CACHE, "").strip() not in ("", "0"):
        return None
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    try:
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    except (RuntimeError, KeyError, OSError):  # no home directory
        return None
    return base / "backdesk" / kind


def usable_dir(directory: Path) -> bool:
    """Our own folder that nobody else may write to."""
    st = os.stat(directory)
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def may_create_in(directory: Path) -> bool:
    """Whether the nearest existing folder above ``directory`` is ours (or root's).

    ``sudo`` keeping HOME must not leave root's folders in the user's
    ``~/.cache``, where the user could then never create the cache.
    """
    probe = directory
    while True:
        try:
            return os.stat(probe).st_uid in (os.geteuid(), 0)
        except FileNotFoundError:
            if probe.parent == probe:
                return False
            probe = probe.parent


def read_entry(directory: Path, name: str, max_bytes: int) -> bytes | None:
    """The bytes of the entry ``name``, or None when there is none or it is
    not to be trusted (a folder or file not ours or writable by others, not
    a regular file, a link, larger than ``max_bytes``)."""
    try:
        if not usable_dir(directory):
            return None
        fd = os.open(directory / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid()
                or st.st_mode & 0o022 or st.st_size > max_bytes):
            return None
        chunks = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= max_bytes else None


def write_entry(directory: Path, name: str, data: bytes) -> bool:
    """Write the entry ``name`` atomically (a temporary file renamed over
    it), creating the folder (mode 0700) when the place allows; False when
    the cache cannot be written."""
    tmp = directory / f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        if not directory.is_dir():
            if not may_create_in(directory):
                return False
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not usable_dir(directory):
            return False
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(tmp, directory / name)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        return False
    return True
