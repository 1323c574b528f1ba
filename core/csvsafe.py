"""CSV that people open in a spreadsheet, without formula injection.

A spreadsheet (Excel, LibreOffice Calc) that opens a CSV file runs a cell
beginning with ``=``, ``+``, ``-`` or ``@`` as a formula, and a tab or
carriage return at the start lets one through as well — so a caller's
name, a vendor's name or a ticket title somebody outside typed could run a
formula on an office worker's machine (OWASP: CSV injection). Every CSV
Backdesk writes for people goes through this module, which neutralises
such cells the OWASP way: one apostrophe in front, which makes the
spreadsheet take the cell as text.

- :func:`safe_cell` — one value. Text starting with one of
  :data:`FORMULA_STARTS` gets an apostrophe (``=1+1`` → ``'=1+1``, a phone
  number ``+49 30 1234`` → ``'+49 30 1234``: it is text). So does text
  that already starts with apostrophes followed by one of them (``'=x`` →
  ``''=x``), so that reading back is unambiguous. Numbers the program
  writes (``int``, ``float``, ``Decimal``) stay numbers, ``-12.5``
  included; so does text in a *numeric* column that is a plain decimal
  number (``-12.50``: amounts stored as strings).
- :func:`writer` / :class:`DictWriter` — ``csv.writer`` /
  ``csv.DictWriter`` that pass every cell through :func:`safe_cell`;
  ``numeric`` names the numeric columns (indices for :func:`writer`,
  field names for :class:`DictWriter`). They also quote a cell holding a
  carriage return, which ``csv`` leaves bare with ``lineterminator="\\n"``
  (a spreadsheet would end the row there and start a new one with the rest).
- :func:`unescape_cell` / :class:`DictReader` — for the imports that read
  Backdesk's own exports back (people, the phone list, IT assets): one
  leading apostrophe that stands before one of :data:`FORMULA_STARTS`
  (possibly after further apostrophes) is removed, so export → import
  gives back exactly the value that was exported; any other text is left
  as it is (``'tis``, ``'0815``).

Machine formats read by other programs (the bank's transfer file, the
hledger journal, JSON) do not use this module.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from decimal import Decimal
from typing import IO, Any, Collection, Iterable, Mapping

from core.errors import ValidationError

#: a text cell starting with one of these is a formula to a spreadsheet
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
APOSTROPHE = "'"

# a number as Backdesk writes amounts: digits, optionally a minus and a fraction
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _needs_apostrophe(text: str) -> bool:
    return text[:1] in FORMULA_STARTS or (
        text[:1] == APOSTROPHE and text.lstrip(APOSTROPHE)[:1] in FORMULA_STARTS)


def is_number(value: Any) -> bool:
    """True for a finite int, float or Decimal (not a bool)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return False


def is_plain_number(text: str) -> bool:
    """``12``, ``-12.50``: text a numeric column may keep as it is."""
    return _PLAIN_NUMBER.fullmatch(text) is not None


def safe_cell(value: Any, *, numeric: bool = False) -> Any:
    """``value`` as a CSV cell no spreadsheet runs as a formula.

    None stays None (an empty cell), numbers stay numbers; any other value
    is text (``str(value)``) and gets a leading apostrophe when it starts
    with one of :data:`FORMULA_STARTS` (or with apostrophes followed by
    one). ``numeric``: the column holds amounts, so text that is a plain
    decimal number (``-12.50``) stays as it is.
    """
    if value is None or is_number(value):
        return value
    text = value if isinstance(value, str) else str(value)
    if numeric and is_plain_number(text):
        return text
    return APOSTROPHE + text if _needs_apostrophe(text) else text


def safe_row(row: Iterable[Any], numeric: Collection[int] = ()) -> list[Any]:
    """:func:`safe_cell` over a row; ``numeric``: indices of numeric columns."""
    return [safe_cell(v, numeric=i in numeric) for i, v in enumerate(row)]


def unescape_cell(text: str) -> str:
    """Undo :func:`safe_cell` for a cell read back from a Backdesk export."""
    if text[:1] == APOSTROPHE and text.lstrip(APOSTROPHE)[:1] in FORMULA_STARTS:
        return text[1:]
    return text


class _RowWriter:
    """``csv.writer`` that also quotes a cell holding a lone carriage return.

    With ``lineterminator="\\n"`` the csv module quotes a cell with a line
    feed but not one with a bare carriage return, which spreadsheets (and
    csv readers) take for the end of the row: the rest of the cell would
    start a new row — with a formula, if it liked. Each row is formatted
    with ``"\\r\\n"`` as the terminator (so both characters are quoted), which
    is then replaced by the one asked for. No cell is changed otherwise.
    """

    def __init__(self, fh: IO[str], dialect: Any = "excel", **fmtparams: Any) -> None:
        self._fh = fh
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, dialect, **{**fmtparams, "lineterminator": "\r\n"})
        self.lineterminator = csv.writer(io.StringIO(), dialect, **fmtparams).dialect.lineterminator

    @property
    def dialect(self):
        return self._writer.dialect

    def writerow(self, row: Iterable[Any]) -> Any:
        self._buf.seek(0)
        self._buf.truncate()
        self._writer.writerow(row)
        return self._fh.write(self._buf.getvalue()[:-2] + self.lineterminator)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class _Writer(_RowWriter):
    """What :func:`writer` returns: ``csv.writer`` with safe cells."""

    def __init__(self, fh: IO[str], numeric: Collection[int], dialect: Any = "excel", **fmtparams: Any) -> None:
        super().__init__(fh, dialect, **fmtparams)
        self.numeric = frozenset(numeric)

    def writerow(self, row: Iterable[Any]) -> Any:
        return super().writerow(safe_row(row, self.numeric))


def writer(fh: IO[str], dialect: Any = "excel", *, numeric: Collection[int] = (), **fmtparams: Any) -> _Writer:
    """``csv.writer(fh, dialect, **fmtparams)`` whose rows go through
    :func:`safe_cell`; ``numeric``: the indices of the columns that hold
    amounts. A cell with a carriage return is always quoted."""
    return _Writer(fh, numeric, dialect, **fmtparams)


def write_documents(fh: IO[str], docs: list[Mapping[str, Any]]) -> int:
    """A table's documents as CSV (``backdesk export``, ``backdesk storage
    export``): a column per key, ``id`` first, the others in the order they
    first appear; a column whose every cell is empty, a number or a plain
    decimal number (an amount) stays numeric, every other cell goes through
    :func:`safe_cell`; lists, objects and booleans are written as JSON.
    Returns the number of documents."""
    columns: dict[str, None] = {"id": None}
    for doc in docs:
        for key in doc:
            columns.setdefault(key, None)
    names = list(columns)
    numeric = [i for i, c in enumerate(names) if all(_numeric_value(doc.get(c)) for doc in docs)]
    out = writer(fh, lineterminator="\n", numeric=numeric)
    out.writerow(names)
    for doc in docs:
        out.writerow([_document_cell(doc.get(c)) for c in names])
    return len(docs)


def _numeric_value(value: Any) -> bool:
    """None, a number, or a string that is a plain decimal number (an amount)."""
    if value is None or is_number(value):
        return True
    return type(value) is str and is_plain_number(value)


def _document_cell(value: Any) -> Any:
    if value is None or type(value) is str or is_number(value):
        return value  # csv writes an int or float as JSON does (repr)
    # true/false, [...] and {...}: no formula character at the start
    return json.dumps(value, ensure_ascii=False)


class DictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose cells go through :func:`safe_cell`;
    ``numeric``: the field names of the columns that hold amounts. A cell
    with a carriage return is always quoted."""

    def __init__(self, fh: IO[str], fieldnames, restval: Any = "", extrasaction: str = "raise",
                 dialect: Any = "excel", *, numeric: Collection[str] = (), **fmtparams: Any) -> None:
        super().__init__(fh, fieldnames, restval, extrasaction, dialect, **fmtparams)
        self.writer = _RowWriter(fh, dialect, **fmtparams)
        self.numeric = frozenset(numeric)

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({k: safe_cell(v, numeric=k in self.numeric) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for row in rowdicts:
            self.writerow(row)


class StrictDictReader(csv.DictReader):
    """``csv.DictReader`` for every CSV import: a file the csv module would
    misread is refused, with the line its problem starts on.

    - a quote that is opened and never closed (the csv module would swallow
      every later row into one cell and report one row: "1 added" for two),
    - a quoted cell followed by more than a delimiter (``"a"b,``),
    - a quoted cell running over line breaks in a row that then lacks
      cells (a stray quote paired with one rows later),
    - a NUL character, a cell longer than ``csv.field_size_limit()``.

    Each is a :class:`~core.errors.ValidationError` (field ``file``) reading
    ``line N: …``. :attr:`line` is the line the current row starts on
    (``line_num`` the last line it took, as in the csv module).
    """

    def __init__(self, f, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("strict", True)
        super().__init__(f, *args, **kwargs)
        self.line = 1

    @property  # type: ignore[override]
    def fieldnames(self):
        if self._fieldnames is None:
            try:
                return csv.DictReader.fieldnames.fget(self)
            except csv.Error as exc:
                raise _csv_problem(1, exc) from None
        return self._fieldnames

    @fieldnames.setter
    def fieldnames(self, value) -> None:
        self._fieldnames = value

    def __next__(self) -> dict:
        self.fieldnames  # the header first (its problems are line 1's)
        self.line = self.reader.line_num + 1
        try:
            row = super().__next__()
        except csv.Error as exc:
            raise _csv_problem(self.line, exc) from None
        for key, value in row.items():
            if isinstance(value, str) and "\r" in value:
                row[key] = value.replace("\r\n", "\n")  # a spreadsheet's line ends inside a cell
        if any(v is None for v in row.values()) and any(
                isinstance(v, str) and ("\n" in v or "\r" in v) for v in row.values()):
            raise _problem(self.line, _("a quoted cell runs over {n} lines and the row lacks cells after "
                                         "it: is a quote not closed?").format(
                n=self.reader.line_num - self.line + 1))
        return row


def _(text: str) -> str:
    from core.i18n import gettext  # core.i18n loads Babel: only when a file is refused

    return gettext(text)


def _problem(line: int, message: str):
    return ValidationError(_("line {line}: {message}").format(line=line, message=message), field="file")


def _csv_problem(line: int, exc: csv.Error):
    text = str(exc)
    if "unexpected end of data" in text or "EOF inside string" in text:
        message = _("a quote opened on this line is never closed")
    elif "expected after" in text:
        message = _("a quoted cell goes on after its closing quote (write a quote inside a cell as \"\")")
    elif "field larger than field limit" in text:
        message = _("a cell is longer than {n} characters").format(n=csv.field_size_limit())
    elif "NUL" in text:
        message = _("the line holds a NUL character (not a text file?)")
    else:
        message = _("not readable as CSV ({error})").format(error=text)
    return _problem(line, message)


class DictReader(StrictDictReader):
    """:class:`StrictDictReader` that gives each cell through
    :func:`unescape_cell` (the extra cells of a too-long row, under
    ``restkey``, as they are): for the imports that read Backdesk's own
    exports back."""

    def __next__(self) -> dict:
        row = super().__next__()
        return {k: unescape_cell(v) if isinstance(v, str) else v for k, v in row.items()}


__all__ = ["FORMULA_STARTS", "APOSTROPHE", "safe_cell", "safe_row", "unescape_cell", "is_number",
           "is_plain_number", "writer", "DictWriter", "DictReader", "StrictDictReader"]
