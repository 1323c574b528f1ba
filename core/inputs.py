"""Files people hand to an import: read whole, or refused in one line.

:func:`read_text_file` is what every import command reads its file with
(people, the phone list, IT assets, journals and bank statements): a
regular file no larger than ``max_bytes`` (a device like ``/dev/zero``
would be read forever), UTF-8 text (a byte-order mark is dropped), else a
:class:`~core.errors.ValidationError` on the field ``file`` naming the
path and the problem. :func:`read_bytes_file` is the same without the
decoding, for files whose format names their encoding (a CAMT statement's
XML, a bank's Windows-1252 CSV).
"""

from __future__ import annotations

import os
import stat

from core.errors import ValidationError
from core.i18n import _

#: the largest file an import reads, unless the caller says otherwise
MAX_IMPORT_BYTES = 50 << 20


def read_text_file(path: str | os.PathLike, *, max_bytes: int = MAX_IMPORT_BYTES,
                   field: str = "file") -> str:
    """The text of the file at ``path`` (see the module docstring)."""
    shown = str(path)[:200]
    return _utf8(read_bytes_file(path, max_bytes=max_bytes, field=field), shown, field)


def read_bytes_file(path: str | os.PathLike, *, max_bytes: int = MAX_IMPORT_BYTES,
                    field: str = "file") -> bytes:
    """The bytes of the file at ``path``: a regular file no larger than
    ``max_bytes`` (a bank statement, whose encoding its format says)."""
    shown = str(path)[:200]
    if not str(path):
        raise ValidationError(_("name a file to read (the path is empty)"), field=field)
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise ValidationError(_("{path}: is a folder").format(path=shown), field=field)
            if not stat.S_ISREG(info.st_mode):
                raise ValidationError(_("{path}: not a regular file").format(path=shown), field=field)
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise ValidationError(_("{path}: no such file").format(path=shown), field=field) from None
    except IsADirectoryError:
        raise ValidationError(_("{path}: is a folder").format(path=shown), field=field) from None
    except PermissionError:
        raise ValidationError(_("{path}: not readable").format(path=shown), field=field) from None
    except OSError as exc:
        raise ValidationError(_("{path}: cannot be read ({error})").format(
            path=shown, error=exc.strerror or exc), field=field) from None
    if len(data) > max_bytes:
        raise ValidationError(_("{path}: larger than {mb} MB").format(path=shown, mb=max_bytes >> 20),
                              field=field)
    return data


def _utf8(data: bytes, shown: str, field: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValidationError(_("{path}: line {line}: not UTF-8 text").format(path=shown, line=line),
                              field=field) from None
    return text[1:] if text.startswith("\ufeff") else text


__all__ = ["read_text_file", "read_bytes_file", "MAX_IMPORT_BYTES"]
