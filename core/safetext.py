"""Text from storage made safe for a terminal, and refused at the door.

Anything an operator (or a caller, a CSV file, a scanned document) typed
can hold control characters: ESC starts an escape sequence that can retitle
a terminal, rewrite what is on screen or (in some terminals) run a command;
BEL rings; CR moves back to the start of the line and overwrites it; the
bidirectional controls (U+202E, …) make ``gnp.exe`` look like ``exe.png``.
Such text must never reach another operator's terminal as it is.

Two walls, one module:

- :func:`visible` / :func:`one_line` — what every text Backdesk *shows*
  goes through: the CLI's standard output and error (:class:`SafeStream`,
  installed for every subcommand by :mod:`core.cli.commands`) and the cells the
  app draws (``RecordTable``, ``DetailView``, the dashboard's cards). A
  control character becomes visible instead of acting: C0 controls and DEL
  as their Unicode control pictures (ESC → ``␛``, BEL → ``␇``, CR → ``␍``),
  C1 controls, the bidirectional controls and the line/paragraph separators
  as ``\\x9b`` / ``\\u202e`` escapes. Newlines and tabs stay in
  :func:`visible` (multi-line text), :func:`one_line` makes them spaces.
- :func:`check_text` / :func:`refuse_controls` — what every text Backdesk
  *stores* goes through: a :class:`~core.errors.ValidationError` naming the
  field and the character. :func:`install_guard` puts that check in front
  of every commit (see :class:`TextGuard`), so no service, plugin or import
  can store such text by forgetting to call it. Text that comes from
  outside rather than from an operator (a PDF's text, a server's reply)
  goes through :func:`scrub` before it is stored.

:func:`json_safe` writes JSON whose strings carry such characters as
``\\uXXXX`` escapes: lossless for programs, harmless on a terminal.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any, Iterable

from core.errors import ValidationError

# C0 controls except tab, newline and carriage return; DEL; C1 controls
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f"
# the bidirectional controls (ALM, LRM, RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI)
# and the Unicode line and paragraph separators some terminals treat as newlines
_FORMAT = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"

#: what :func:`visible` replaces: tab, newline and CR LF (a line end: CSV
#: writes them) are kept, a CR on its own (it overwrites the line) is not
UNSAFE = re.compile(f"[{_CONTROLS}{_FORMAT}]|\r(?!\n)")
#: what :func:`one_line` replaces
UNSAFE_ONE_LINE = re.compile(f"[\t\n\r{_CONTROLS}{_FORMAT}]")
#: what stored text may not hold (tab and newline are allowed; line ends are \n)
REFUSED = re.compile(f"[\r{_CONTROLS}{_FORMAT}]")


def _picture(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟: ESC is ␛
    if code == 0x7F:
        return "\u2421"  # ␡
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _replace(match: re.Match) -> str:
    return _picture(match.group())


def _replace_one_line(match: re.Match) -> str:
    char = match.group()
    if char in "\t\n":
        return " "
    return _picture(char)


def visible(text: str) -> str:
    """``text`` with every control character shown instead of acting
    (newlines and tabs kept). Text without any is returned as it is."""
    if not isinstance(text, str):
        text = str(text)
    if UNSAFE.search(text) is None:
        return text
    return UNSAFE.sub(_replace, text)


def one_line(text: str) -> str:
    """:func:`visible` for one line (a table cell): newlines and tabs
    become spaces, ``\\r\\n`` one space."""
    if not isinstance(text, str):
        text = str(text)
    if UNSAFE_ONE_LINE.search(text) is None:
        return text
    return UNSAFE_ONE_LINE.sub(_replace_one_line, text.replace("\r\n", "\n"))


def scrub(text: str) -> str:
    """Text that comes from *outside* (a file's extracted text, a server's
    reply, a PBX's caller name) made storable: line ends as ``\n``, every
    other control character in its visible form (:func:`visible`). Text an
    operator types is refused instead (:func:`check_text`)."""
    if not isinstance(text, str):
        text = str(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return visible(text)


def name_char(char: str) -> str:
    """``ESC (U+001B)``: how an error message names a refused character."""
    names = {0x1B: "ESC", 0x07: "BEL", 0x0D: "CR", 0x08: "BS", 0x00: "NUL", 0x7F: "DEL", 0x9B: "CSI",
             0x202E: "RLO", 0x202D: "LRO", 0x202B: "RLE", 0x202A: "LRE", 0x202C: "PDF",
             0x2066: "LRI", 0x2067: "RLI", 0x2068: "FSI", 0x2069: "PDI", 0x200E: "LRM",
             0x200F: "RLM", 0x061C: "ALM", 0x2028: "LS", 0x2029: "PS"}
    code = ord(char)
    name = names.get(code, "a control character")
    return f"{name} (U+{code:04X})"


def check_text(value: Any, field: str | None = None) -> Any:
    """``value`` as it is when it is not text or holds no control character
    (tabs and newlines are fine); otherwise :class:`ValidationError` naming
    ``field`` and the character. For services that check a field before
    they store it; the commit guard checks everything again."""
    if isinstance(value, str):
        found = REFUSED.search(value)
        if found is not None:
            from core.i18n import _  # Babel: not on the CLI's fast path (core.cli imports this module)

            raise ValidationError(
                _("contains {char}, a control character; type the text without it").format(
                    char=name_char(found.group())), field=field)
    return value


def refuse_controls(doc: Any, field: str | None = None) -> None:
    """:func:`check_text` over every string in ``doc`` (dicts, lists; keys
    too); the field named is the top-level key (or ``field``)."""
    if isinstance(doc, str):
        check_text(doc, field)
    elif isinstance(doc, dict):
        for key, value in doc.items():
            here = field or str(key)
            check_text(key, here)
            refuse_controls(value, here)
    elif isinstance(doc, (list, tuple)):
        for value in doc:
            refuse_controls(value, field)


class TextGuard:
    """The store's ``before_commit`` callback that refuses control characters
    in whatever a transaction writes (inserted documents whole, updated ones
    in the fields that changed, so a record stored before the guard existed
    stays editable). Raising rolls the whole transaction back: nothing of the
    change is stored. ``exempt``: tables whose text is not typed by anyone
    (the audit trail copies what the guard already let through)."""

    def __init__(self, exempt: Iterable[str] = ()) -> None:
        self.exempt = frozenset(exempt)

    def __call__(self, changes) -> None:
        for change in changes:
            if change.table in self.exempt or change.after is None:
                continue
            after, before = change.after, change.before or {}
            for key, value in after.items():
                if key in before and before[key] == value:
                    continue
                refuse_controls(value, key)
                check_text(key, key)


def install_guard(store, exempt: Iterable[str] = ()) -> Any:
    """Refuse control characters in every commit of ``store``; returns the
    function that removes the guard."""
    return store.before_commit(TextGuard(exempt))


def json_safe(data: Any, **kwargs: Any) -> str:
    """``json.dumps(data, ensure_ascii=False, **kwargs)`` with the characters
    :func:`visible` would replace written as ``\\uXXXX`` escapes (JSON
    escapes C0 controls itself): the same data for a program, nothing that
    acts on a terminal."""
    text = json.dumps(data, ensure_ascii=False, **kwargs)
    if UNSAFE.search(text) is None:
        return text
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class SafeStream(io.TextIOBase):
    """A text stream that writes :func:`visible` text to ``stream``.

    :mod:`core.cli.commands` puts one in front of ``sys.stdout`` and
    ``sys.stderr`` for every subcommand, so every line the CLI prints —
    click.echo, print, a plugin's output, an error that echoes input — is
    safe for the terminal. ``buffer`` is the underlying binary stream (a
    command that writes a file's bytes to standard output on purpose)."""

    def __init__(self, stream) -> None:
        super().__init__()
        self._stream = stream

    @property
    def wrapped(self):
        return self._stream

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "errors", None) or "strict"

    @property
    def buffer(self):
        return self._stream.buffer

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._stream.write(visible(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


__all__ = ["visible", "one_line", "scrub", "check_text", "refuse_controls", "name_char", "TextGuard",
           "install_guard", "json_safe", "SafeStream", "UNSAFE", "REFUSED"]
