"""Backdesk's configuration: find, read and validate ``backdesk.yaml`` and ``plugins.yaml``.

``load_config()`` is the one entry point the CLI, the shell and the tests use:

```python
from core.config import load_config
config = load_config()                 # raises ConfigError
config.site.locale                      # "en_US"
config.operators["alice"].roles         # ("admin",)
config.plugins[0].settings              # {"business_hours": "08:00-17:00"}
```

Every problem names ``file:line: key.path: what is wrong`` on one line, and all
problems of both files are collected before anything is raised: the raised
``ConfigError`` carries them all in ``.problems`` (each one a ``ConfigError``
itself) and reads ``first problem (and N more)``.

The YAML is composed (not constructed) so every key and value keeps its line;
only plain YAML scalars, lists and mappings are accepted (``safe_load``
semantics, so ``!!python/...`` and other tags are refused). Files, node counts
and nesting are bounded, so a hostile file gives an error, never a hang or a
traceback. The values are then checked against the annotated fields of
the result records with msgspec, each value on its own, so every wrong
value is reported at its line (see ``_Checker``). A file read without problems is kept in a parse cache
(``$XDG_CACHE_HOME/backdesk/config``, off with ``BACKDESK_NO_CACHE=1``), so
a start with unchanged files needs no YAML parser (see "The parse cache").

Plugins validate their own settings with :func:`validate_settings` and report
anything else about an entry with :func:`error_at`, so every message about a
plugin reads the same way.
"""

from __future__ import annotations

import copy
import functools
import datetime as _dt
import os
import re
import typing
import zlib
from dataclasses import MISSING as _dc_MISSING, dataclass, field, fields
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Callable, Iterable, Literal, Mapping, Sequence

# PyYAML is imported only when a file has to be parsed: a file read before
# comes from the parse cache (see "The parse cache" below), and importing
# PyYAML costs about 10 ms of every start.

# The values are checked by msgspec: ~2.5 ms to import at start-up, where
# pydantic takes 62–70 ms and attrs+cattrs ~17 ms (measured with Textual
# already imported; /work notes of issue 25 and docs/config.md).
import msgspec
from msgspec import Meta

import core
from core.cachefiles import ENV_NO_CACHE, cache_dir, read_entry, write_entry
from core.errors import ConfigError
from core.records import Record as _Record

__all__ = [
    "CONFIG_FILE",
    "PLUGINS_FILE",
    "ENV_CONFIG_DIR",
    "ENV_DATA_DIR",
    "ENV_NO_CACHE",
    "SHIPPED_CONFIG_DIR",
    "SHIPPED_PLUGINS_FILE",
    "UNKNOWN_ACCOUNT_CHOICES",
    "RESERVED_PLUGIN_NAMES",
    "STORAGE_BACKENDS",
    "REQUIRED",
    "Site",
    "Operator",
    "Role",
    "Kiosk",
    "SshSettings",
    "StorageSettings",
    "CalendarSettings",
    "PluginEntry",
    "Config",
    "Setting",
    "resolve_paths",
    "load_config",
    "load_plugins_file",
    "error_at",
    "validate_settings",
    "permission_matches",
]

CONFIG_FILE = "backdesk.yaml"
PLUGINS_FILE = "plugins.yaml"
ENV_CONFIG_DIR = "BACKDESK_CONFIG_DIR"
ENV_DATA_DIR = "BACKDESK_DATA_DIR"
# ENV_NO_CACHE (core.cachefiles): set, every file is read with the YAML parser, bypassing the parse cache.

_REPO_DIR = Path(core.__file__).resolve().parent.parent
#: The ``config/`` directory shipped next to the ``core`` package.
SHIPPED_CONFIG_DIR = _REPO_DIR / "config"
#: The default ``plugins.yaml`` at the top of the repository.
SHIPPED_PLUGINS_FILE = _REPO_DIR / PLUGINS_FILE

UNKNOWN_ACCOUNT_CHOICES = ("refuse", "read-only")
STORAGE_BACKENDS = ("tinydb", "postgresql")

# Limits for hostile or broken files. A real config is a few kilobytes.
MAX_FILE_BYTES = 256 * 1024  # ~2000 operators; pure-Python YAML reads it in well under a second
MAX_NODES = 100_000  # values after expanding aliases (billion laughs)
MAX_DEPTH = 64  # nesting of lists and mappings

_SITE_DEFAULTS = {
    "name": "Backdesk",
    "locale": "en_US",
    "timezone": "UTC",
    "currency": "EUR",
    "theme": "textual-dark",
}


# --------------------------------------------------------------------------
# The result


@dataclass(frozen=True, repr=False, eq=False)
class Site(_Record):
    """``site:`` — who the office is and how it shows dates, money and colours."""

    name: str = _SITE_DEFAULTS["name"]
    locale: str = _SITE_DEFAULTS["locale"]  # canonical Babel form: "de_DE"
    timezone: str = _SITE_DEFAULTS["timezone"]  # IANA name: "Europe/Berlin"
    currency: str = _SITE_DEFAULTS["currency"]  # ISO 4217: "EUR"
    theme: str = _SITE_DEFAULTS["theme"]


#: the weekday names of ``calendar.workdays`` (Monday first, as ``date.weekday()``)
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, repr=False, eq=False)
class CalendarSettings(_Record):
    """``calendar:`` — the office's working days (see core/services/workdays.py).

    ``country``/``region``: public holidays from the ``holidays`` library
    (``DE`` and a Bundesland code like ``BY``; a person's own ``region`` in
    the directory overrides the region); ``workdays``: weekday numbers
    (0 = Monday); ``days_off``: company days off as ISO dates.
    """

    _NOT_IN_YAML = ("line",)

    country: str | None = "DE"
    region: str | None = None
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    days_off: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True, repr=False, eq=False)
class Operator(_Record):
    """One entry of ``operators:``, keyed by the OS account (login) name."""

    _NOT_IN_YAML = ("login", "line")

    login: str
    name: str
    roles: tuple[str, ...] = ()
    email: str | None = None
    pin_hash: str | None = None
    person_id: Annotated[int, Meta(ge=1)] | None = None
    line: int = 0


def permission_matches(pattern: str, permission: str) -> bool:
    """True if ``permission`` ("hr.cases.read") matches ``pattern`` ("hr.*", "*.read", "*")."""
    return fnmatchcase(permission, pattern)


@dataclass(frozen=True, repr=False, eq=False)
class Role(_Record):
    """One entry of ``roles:``: a title and fnmatch-style permission patterns."""

    _NOT_IN_YAML = ("name",)

    name: str
    title: str
    permissions: tuple[str, ...] = ()

    def allows(self, permission: str) -> bool:
        """True if one of the role's patterns matches ``permission``."""
        return any(permission_matches(p, permission) for p in self.permissions)


@dataclass(frozen=True, repr=False, eq=False)
class Kiosk(_Record):
    """``kiosk:`` — consoles that must not be escaped, locked after idle, opened by PIN."""

    enabled: bool = False
    idle_lock_minutes: Annotated[int, Meta(ge=0)] = 5  # 0: never lock
    plugins: tuple[str, ...] | None = None  # None: every enabled plugin
    commands: tuple[str, ...] | None = None  # None: every command (patterns allowed)
    max_pin_attempts: Annotated[int, Meta(ge=1)] = 5


@dataclass(frozen=True, repr=False, eq=False)
class SshSettings(_Record):
    """``ssh:`` — the built-in SSH server (``backdesk serve ssh``).

    ``authorized_keys`` maps an operator's account to its public keys (OpenSSH
    ``authorized_keys`` lines without options); ``trusted_user_ca_keys`` are CA
    public keys whose certificates are accepted for the account named as a
    principal. ``host_key`` None: ``<data_dir>/serve/ssh_host_ed25519_key``,
    generated on first start.
    """

    listen: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 2222
    host_key: Path | None = None
    idle_timeout_minutes: Annotated[int, Meta(ge=0)] = 30  # 0: never
    max_sessions: Annotated[int, Meta(ge=1)] = 20
    trusted_user_ca_keys: tuple[str, ...] = ()
    authorized_keys: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, repr=False, eq=False)
class StorageSettings(_Record):
    """``storage:`` — where and how the store keeps its tables."""

    backend: Literal[STORAGE_BACKENDS] = "tinydb"
    dsn: str | None = None
    compact_after_mb: Annotated[int, Meta(ge=1)] = 8


@dataclass(frozen=True, repr=False, eq=False)
class PluginEntry(_Record):
    """One entry of ``plugins.yaml``; the list order is the load order.

    ``module`` and ``path`` are None for a built-in plugin (``plugins.<name>``)
    or one found through the ``backdesk`` entry-point group; the loader decides
    which. ``lines`` maps keys ("name", "settings", "settings.business_hours")
    to their line, for :func:`error_at`.
    """

    _NOT_IN_YAML = ("line", "source_file", "lines")

    name: str
    enabled: bool = True
    settings: dict[str, Any] = field(default_factory=dict, hash=False)
    module: str | None = None
    path: Path | None = None
    line: int = 0
    source_file: Path | None = None
    lines: Mapping[str, int] = field(default_factory=dict, hash=False, compare=False, repr=False)


@dataclass(frozen=True, repr=False, eq=False)
class Config(_Record):
    """The whole validated configuration. Build it with :func:`load_config`."""

    site: Site = field(default_factory=Site)
    operators: dict[str, Operator] = field(default_factory=dict, hash=False)
    roles: dict[str, Role] = field(default_factory=dict, hash=False)
    unknown_accounts: str = "refuse"
    read_only_permissions: tuple[str, ...] = ("core.directory.read",)
    kiosk: Kiosk = field(default_factory=Kiosk)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    ssh: SshSettings = field(default_factory=SshSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    data_dir: Path = field(default_factory=lambda: _default_data_dir())
    config_dir: Path = SHIPPED_CONFIG_DIR
    config_file: Path = SHIPPED_CONFIG_DIR / CONFIG_FILE
    plugins_file: Path = SHIPPED_PLUGINS_FILE
    plugins: list[PluginEntry] = field(default_factory=list, hash=False)
    source_files: tuple[Path, ...] = ()

    def plugin(self, name: str) -> PluginEntry | None:
        """The plugins.yaml entry called ``name``, or None."""
        for entry in self.plugins:
            if entry.name == name:
                return entry
        return None

    @property
    def enabled_plugins(self) -> list[PluginEntry]:
        """The entries with ``enabled: true``, in load order."""
        return [e for e in self.plugins if e.enabled]


# --------------------------------------------------------------------------
# Errors


def _display(path: Path | None) -> str:
    """A path as messages show it: relative to the working directory when inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))  # type: ignore[arg-type]
    except (ValueError, OSError):
        return str(path)


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) if ("\n" in text or "\r" in text) else text


def _problem(file: Path | None, line: int | None, key: str | None, message: str, column: int | None = None) -> ConfigError:
    parts = []
    if file is not None:
        where = _display(file)
        if line:
            where += f":{line}"
            if column:
                where += f":{column}"
        parts.append(where)
    if key:
        parts.append(key)
    parts.append(message)
    text = ": ".join(parts)
    err = ConfigError(_one_line(text))
    err.file, err.line, err.key = file, line, key  # type: ignore[attr-defined]
    err.problems = [err]  # type: ignore[attr-defined]
    return err


def _bundle(problems: Sequence[ConfigError]) -> ConfigError:
    """One ConfigError for many problems: ``first (and N more)``, all in ``.problems``."""
    if len(problems) == 1:
        return problems[0]
    first = problems[0]
    err = ConfigError(f"{first.message} (and {len(problems) - 1} more)")
    err.file = getattr(first, "file", None)  # type: ignore[attr-defined]
    err.line = getattr(first, "line", None)  # type: ignore[attr-defined]
    err.key = getattr(first, "key", None)  # type: ignore[attr-defined]
    err.problems = list(problems)  # type: ignore[attr-defined]
    return err


def _q(value: Any, limit: int = 60) -> str:
    """A value quoted for a one-line message."""
    if isinstance(value, str):
        text = repr(value[: limit * 2])
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        text = "a number with more than 60 digits"
    else:
        text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"a whole number ({_q(value)})"
    if isinstance(value, (float, Decimal)):
        return f"a number ({_q(value)})"
    if isinstance(value, str):
        return f"text ({_q(value)})"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return f"a date ({value.isoformat()})"
    return type(value).__name__


def _join(names: Iterable[str]) -> str:
    return ", ".join(names)


def _key_text(key: str) -> str:
    """A mapping key as it appears in a dotted path."""
    if re.fullmatch(r"[A-Za-z0-9_@+$-]+", key):
        return key
    return _q(key, 40)


def _sub(path: str, key: str) -> str:
    return f"{path}.{_key_text(key)}" if path else _key_text(key)


# --------------------------------------------------------------------------
# Reading YAML with lines


class _Y:
    """A YAML value with the line it came from (1-based).

    ``value`` is a Python scalar, ``dict[str, _Y]`` or ``list[_Y]``;
    ``key_line`` is the line of its key when it is a mapping's value.
    """

    __slots__ = ("value", "line", "key_line")

    def __init__(self, value: Any, line: int, key_line: int = 0) -> None:
        self.value = value
        self.line = line
        self.key_line = key_line

    def __repr__(self) -> str:
        return f"_Y(value={self.value!r}, line={self.line!r}, key_line={self.key_line!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Y) and other.__class__ is self.__class__:
            return (self.value, self.line, self.key_line) == (other.value, other.line, other.key_line)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    @property
    def at(self) -> int:
        """The line to blame for a wrong value: the key's line for lists and mappings."""
        if isinstance(self.value, (dict, list)) and self.key_line:
            return self.key_line
        return self.line


class _Alias:
    """Marks where an alias (``*name``) was used, so it gets its own line."""

    __slots__ = ("node", "line")

    def __init__(self, node: Any, line: int) -> None:
        self.node = node
        self.line = line


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        self.mark = mark


class _TooMany(_TooDeep):
    pass


class _Fatal(Exception):
    """A file that cannot be read any further."""

    def __init__(self, line: int | None, message: str, key: str | None = None) -> None:
        self.line, self.message, self.key = line, message, key


_LOADER: Any = None


def _loader_class() -> Any:
    """``_Loader``: SafeLoader's composer with a nesting limit and alias positions.

    Defined (and PyYAML imported) on first use, which is the first file the
    parse cache does not know.
    """
    global _LOADER
    if _LOADER is None:
        import yaml

        class _Loader(yaml.SafeLoader):
            def __init__(self, stream: str) -> None:
                super().__init__(stream)
                self._depth = 0
                self._nodes = 0

            def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102
                if self.check_event(yaml.AliasEvent):
                    mark = self.peek_event().start_mark
                    return _Alias(super().compose_node(parent, index), mark.line + 1)
                self._depth += 1
                self._nodes += 1
                try:
                    if self._depth > MAX_DEPTH:
                        raise _TooDeep(self.peek_event().start_mark)
                    if self._nodes > MAX_NODES:
                        raise _TooMany(self.peek_event().start_mark)
                    return super().compose_node(parent, index)
                finally:
                    self._depth -= 1

        _LOADER = _Loader
    return _LOADER


_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("null", "bool", "int", "float", "str", "timestamp")}
# PyYAML's node kinds, by their ``id`` (ScalarNode.id, ...): the node classes
# are not imported here, so that reading a cached file never imports PyYAML.
_SCALAR, _SEQUENCE, _MAPPING = "scalar", "sequence", "mapping"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def _tag_text(tag: str) -> str:
    text = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
    return text if len(text) <= 80 else text[:79] + "…"


class _Reader:
    """Turns one file into a ``_Y`` tree, collecting problems on the way.

    A file that reads without problems is kept in the parse cache, so the
    next read of the same bytes skips PyYAML altogether.
    """

    def __init__(self, file: Path, problems: list[ConfigError]) -> None:
        self.file = file
        self.problems = problems
        self.budget = MAX_NODES

    def error(self, line: int | None, key: str | None, message: str) -> None:
        self.problems.append(_problem(self.file, line, key, message))

    def read(self) -> _Y | None:
        """The file's top-level value; None for a missing or empty file.

        Problems that stop reading are appended and None is returned.
        """
        try:
            data = self._bytes()
        except _Fatal as fatal:
            self.error(fatal.line, fatal.key, fatal.message)
            return None
        if data is None:
            return None
        cache = _cache_dir()
        key = _cache_key(data) if cache is not None else ""
        if cache is not None:
            tree = _cache_get(cache, key, data)
            if tree is not _NO_ENTRY:
                return tree
        count = len(self.problems)
        root = self._parse(data)
        if cache is not None and len(self.problems) == count:  # only trees read without problems
            _cache_put(cache, key, root, data)
        return root

    def _parse(self, data: bytes) -> _Y | None:
        import yaml

        try:
            text = self._decode(data)
            loader = _loader_class()(text)
            try:
                root = loader.get_single_node()
                if root is None:
                    return None
                return self._walk(loader, root, None, "", 0, ())
            finally:
                loader.dispose()
        except _Fatal as fatal:
            self.error(fatal.line, fatal.key, fatal.message)
        except _TooDeep as deep:
            message = (f"more than {MAX_NODES} values" if isinstance(deep, _TooMany)
                       else f"nested more than {MAX_DEPTH} levels deep")
            self.problems.append(
                _problem(self.file, deep.mark.line + 1, None, message, deep.mark.column + 1))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            message = exc.problem or exc.context or "YAML syntax error"
            if exc.context and exc.problem:
                if exc.problem.startswith("but "):  # "expected a single document…, but found another"
                    message = f"{exc.context}, {exc.problem}"
                else:
                    ctx_line = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
                    message = f"{exc.problem} ({exc.context}{ctx_line})"
            line = mark.line + 1 if mark else None
            column = mark.column + 1 if mark else None
            self.problems.append(_problem(self.file, line, None, f"YAML syntax error: {message}", column))
        except yaml.YAMLError as exc:
            self.error(None, None, f"YAML error: {exc}")
        except RecursionError:
            self.error(None, None, "nested too deeply to read")
        return None

    def _bytes(self) -> bytes | None:
        """The file's bytes; None when it does not exist."""
        try:
            size = self.file.stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _Fatal(None, f"cannot read: {exc.strerror or exc}") from None
        if not self.file.is_file():
            raise _Fatal(None, "not a regular file")
        if size > MAX_FILE_BYTES:
            raise _Fatal(None, f"file is {_size(size)}; config files are limited to "
                               f"{_size(MAX_FILE_BYTES)}")
        try:
            with self.file.open("rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise _Fatal(None, f"cannot read: {exc.strerror or exc}") from None
        if len(data) > MAX_FILE_BYTES:  # grew since stat()
            raise _Fatal(None, f"file is larger than {_size(MAX_FILE_BYTES)}")
        return data

    @staticmethod
    def _decode(data: bytes) -> str:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise _Fatal(line, f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None
        if "\x00" in text:
            line = text.count("\n", 0, text.index("\x00")) + 1
            raise _Fatal(line, "contains a NUL character; is this a binary file?")
        return text

    def _walk(self, loader: Any, node: Any, key_line: int | None, path: str, depth: int,
              stack: tuple[int, ...]) -> _Y | None:
        line: int | None = None
        if isinstance(node, _Alias):
            line = node.line
            node = node.node
            if id(node) in stack:
                raise _Fatal(line, "an alias refers to the list or mapping that contains it", path or None)
        self.budget -= 1
        if self.budget < 0:
            raise _Fatal(line or node.start_mark.line + 1,
                         f"more than {MAX_NODES} values once aliases are expanded "
                         "(an alias bomb?)")
        if depth > MAX_DEPTH:
            raise _Fatal(line or node.start_mark.line + 1,
                         f"nested more than {MAX_DEPTH} levels deep (after expanding aliases)")
        if line is None:
            line = node.start_mark.line + 1
        key_line = key_line or line
        tag = node.tag
        kind = node.id

        if kind == _SCALAR:
            if tag not in _SCALAR_TAGS:
                self.error(line, path or None, self._bad_tag(tag))
                return None
            try:
                value = loader.construct_object(node, deep=True)
            except Exception as exc:  # a timestamp like 2024-13-45, a 5000-digit int, ...
                self.error(line, path or None, f"cannot read value {_q(node.value)}: {exc}")
                return None
            return _Y(value, line, key_line)

        if kind == _SEQUENCE:
            if tag != _TAG + "seq":
                self.error(line, path or None, self._bad_tag(tag))
                return None
            inner = stack + (id(node),)
            items = []
            for index, child in enumerate(node.value):
                item = self._walk(loader, child, None, f"{path}[{index}]", depth + 1, inner)
                if item is not None:
                    items.append(item)
            return _Y(items, line, key_line)

        if kind == _MAPPING:
            if tag != _TAG + "map":
                self.error(line, path or None, self._bad_tag(tag))
                return None
            inner = stack + (id(node),)
            result: dict[str, _Y] = {}
            merged: dict[str, _Y] = {}
            for key_node, value_node in node.value:
                klines = self._line_of(key_node)
                merge = not isinstance(key_node, _Alias) and key_node.id == _SCALAR
                if merge and key_node.tag == _TAG + "merge":
                    self._merge(loader, value_node, klines, path, depth, inner, merged)
                    continue
                key = self._key(loader, key_node, klines, path)
                if key is None:
                    continue
                sub = _sub(path, key)
                if key in result:
                    self.error(klines, sub, f"duplicate key (first at line {result[key].key_line})")
                    continue
                value = self._walk(loader, value_node, klines, sub, depth + 1, inner)
                if value is not None:
                    value.key_line = klines
                    result[key] = value
            for key, value in merged.items():
                result.setdefault(key, value)
            return _Y(result, line, key_line)

        self.error(line, path or None, f"unsupported YAML node {type(node).__name__}")
        return None

    @staticmethod
    def _line_of(node: Any) -> int:
        if isinstance(node, _Alias):
            return node.line
        return node.start_mark.line + 1

    @staticmethod
    def _bad_tag(tag: str) -> str:
        return (f"YAML tag {_tag_text(tag)} is not allowed (only plain text, numbers, "
                "booleans, null, lists and mappings)")

    def _key(self, loader: Any, key_node: Any, line: int, path: str) -> str | None:
        node = key_node.node if isinstance(key_node, _Alias) else key_node
        if node.id != _SCALAR:
            kind = "a list" if node.id == _SEQUENCE else "a mapping"
            self.error(line, path or None, f"keys must be text, got {kind}")
            return None
        if node.tag != _TAG + "str":
            if node.tag not in _SCALAR_TAGS:
                self.error(line, path or None, f"key {_q(node.value)}: {self._bad_tag(node.tag)}")
                return None
            try:
                value = loader.construct_object(node, deep=True)
            except Exception:
                value = node.value
            self.error(line, path or None,
                       f"keys must be text, got {_describe(value)}; "
                       f"quote it if you mean the text: \"{node.value[:60]}\"")
            return None
        self.budget -= 1
        return node.value

    def _merge(self, loader: Any, value_node: Any, line: int, path: str, depth: int,
               stack: tuple[int, ...], merged: dict[str, _Y]) -> None:
        """``<<: *base`` or ``<<: [*a, *b]``: keys not given explicitly come from these."""
        value = self._walk(loader, value_node, line, path, depth + 1, stack)
        if value is None:
            return
        sources = value.value if isinstance(value.value, list) else [value]
        for source in sources:
            if not isinstance(source.value, dict):
                self.error(line, path or None, "<< (merge) needs a mapping or a list of mappings")
                continue
            for key, item in source.value.items():
                merged.setdefault(key, item)  # earlier sources win, as in YAML 1.1


# --------------------------------------------------------------------------
# The parse cache
#
# Reading a config file with PyYAML's pure-Python composer costs a few
# milliseconds per file, and importing PyYAML about ten more, at every start.
# A file read without problems is therefore kept as its ``_Y`` tree (values,
# lines, key lines: all the checks and their messages need) in
# ``$XDG_CACHE_HOME/backdesk/config/<key>.tree``. The key is the SHA-256 of
# the file's bytes together with _CACHE_FORMAT, the reader's limits and this
# module's own file (its size and mtime), so an edited file, other limits or
# another version of this reader never meet an old entry. Entries are written
# atomically, checksummed and checked (owner, type, size) before use; anything
# odd is ignored and rewritten, and a cache that cannot be written is skipped:
# a file always reads exactly as without the cache.

#: Bump when the reader or the encoding below change what a file reads as.
_CACHE_FORMAT = 2
_CACHE_KEEP = 32  # entries kept, the newest by modification time
_CACHE_MAGIC = b"backdesk-config-tree"
_CACHE_SUFFIX = ".tree"
_CACHE_MAX_UNITS = 4 * 1024 * 1024  # estimated size (characters) of a tree worth caching
_CACHE_MAX_BYTES = 16 * 1024 * 1024 + 256  # an entry file, header included
_CACHE_TMP_AGE = 3600  # seconds after which a left-over temporary file is removed
_NO_ENTRY = object()


class _Uncacheable(Exception):
    pass


def _cache_dir() -> Path | None:
    """The cache folder, or None when the cache is switched off or has no place."""
    return cache_dir("config")


def _cache_key(data: bytes) -> str:
    """The entry's name for a file's bytes (and this reader and its limits).

    Two checksums and the length, not a cryptographic hash: importing
    hashlib (OpenSSL) would cost every start more than the lookup saves,
    and an entry is only used when the source it keeps is byte for byte
    the file's (see _cache_decode), so a clash of names costs a miss."""
    try:
        st = os.stat(__file__)
        reader = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        reader = "-"
    salt = f"{_CACHE_FORMAT}\0{MAX_FILE_BYTES}\0{MAX_NODES}\0{MAX_DEPTH}\0{reader}\0".encode()
    whole = salt + data
    return f"{zlib.crc32(whole):08x}{zlib.adler32(whole):08x}{len(data):x}"


def _cache_get(directory: Path, key: str, source: bytes) -> Any:
    """The tree kept for ``key`` and ``source`` (None for an empty file), or _NO_ENTRY."""
    data = read_entry(directory, key + _CACHE_SUFFIX, _CACHE_MAX_BYTES)
    if data is None:
        return _NO_ENTRY
    try:
        return _cache_decode(data, key, source)
    except Exception:  # truncated, corrupt, foreign: read the file itself instead
        return _NO_ENTRY


def _cache_decode(data: bytes, key: str, source: bytes) -> _Y | None:
    import json

    if len(data) > _CACHE_MAX_BYTES:
        raise ValueError("too large")
    header, newline, body = data.partition(b"\n")
    magic, entry_key, digest, kept = header.split(b" ")
    if (not newline or magic != _CACHE_MAGIC or entry_key != key.encode()
            or digest != b"%08x" % zlib.crc32(body) or int(kept) >= len(body)):
        raise ValueError("not an entry for this key")
    if body[:int(kept)] != source:  # the very bytes the tree was read from
        raise ValueError("another source")
    doc = json.loads(body[int(kept):])
    return None if doc is None else _tree_from_json(doc)


def _tree_from_json(node: Any) -> _Y:
    """``[line, key_line, value]`` (``[..., tag]`` for dates) back into a ``_Y``."""
    if type(node) is not list or len(node) not in (3, 4):
        raise ValueError("not a node")
    line, key_line, value = node[0], node[1], node[2]
    if type(line) is not int or type(key_line) is not int:
        raise ValueError("not a line")
    kind = type(value)
    if len(node) == 4:
        tag = node[3]
        if tag == "date":
            value = _dt.date(*value)
        elif tag == "datetime":
            *parts, offset = value
            tz = None if offset is None else _dt.timezone(_dt.timedelta(seconds=offset))
            value = _dt.datetime(*parts, tzinfo=tz)
        else:
            raise ValueError("unknown tag")
    elif kind is dict:
        value = {k: _tree_from_json(v) for k, v in value.items()}
    elif kind is list:
        value = [_tree_from_json(v) for v in value]
    elif value is not None and kind not in (str, int, float, bool):
        raise ValueError("not a value")
    return _Y(value, line, key_line)


def _tree_to_json(y: _Y, room: list[int]) -> list[Any]:
    """A ``_Y`` tree as JSON-ready lists; raises _Uncacheable when it grows past ``room``."""
    room[0] -= 16
    if room[0] < 0:
        raise _Uncacheable
    value = y.value
    kind = type(value)
    if kind is dict:
        out: dict[str, Any] = {}
        for k, v in value.items():
            room[0] -= len(k)
            out[k] = _tree_to_json(v, room)
        return [y.line, y.key_line, out]
    if kind is list:
        return [y.line, y.key_line, [_tree_to_json(v, room) for v in value]]
    if kind is str:
        room[0] -= len(value)
        return [y.line, y.key_line, value]
    if value is None or kind in (int, float, bool):
        return [y.line, y.key_line, value]
    if kind is _dt.datetime:
        offset = value.utcoffset()
        return [y.line, y.key_line,
                [value.year, value.month, value.day, value.hour, value.minute, value.second,
                 value.microsecond, None if offset is None else int(offset.total_seconds())],
                "datetime"]
    if kind is _dt.date:
        return [y.line, y.key_line, [value.year, value.month, value.day], "date"]
    raise _Uncacheable


def _cache_put(directory: Path, key: str, root: _Y | None, source: bytes) -> None:
    """Keep ``root`` (read from ``source``) for ``key``; silently nothing when
    the cache cannot be written."""
    import json

    try:
        doc = None if root is None else _tree_to_json(root, [_CACHE_MAX_UNITS])
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    except (_Uncacheable, ValueError, RecursionError):  # huge, or an int too long for JSON
        return
    body = source + body
    data = b"%s %s %08x %d\n%s" % (_CACHE_MAGIC, key.encode(), zlib.crc32(body), len(source), body)
    if len(data) > _CACHE_MAX_BYTES:
        return
    if write_entry(directory, key + _CACHE_SUFFIX, data):
        _cache_prune(directory)


def _cache_prune(directory: Path) -> None:
    """Keep the newest _CACHE_KEEP entries; remove temporary files left by a crash."""
    import time

    entries: list[tuple[float, str]] = []
    stale: list[str] = []
    now = time.time()
    try:
        with os.scandir(directory) as found:
            for item in found:
                name = item.name
                stem = name[:-len(_CACHE_SUFFIX)]
                if (name.endswith(_CACHE_SUFFIX) and len(stem) >= 17
                        and all(c in "0123456789abcdef" for c in stem)):  # this format's and older ones
                    try:
                        entries.append((item.stat(follow_symlinks=False).st_mtime, name))
                    except OSError:
                        pass
                elif name.startswith(".") and name.endswith(".tmp"):
                    try:
                        if now - item.stat(follow_symlinks=False).st_mtime > _CACHE_TMP_AGE:
                            stale.append(name)
                    except OSError:
                        pass
    except OSError:
        return
    entries.sort(reverse=True)
    stale += [name for _mtime, name in entries[_CACHE_KEEP:]]
    for name in stale:
        try:
            os.unlink(directory / name)
        except OSError:
            pass


# --------------------------------------------------------------------------
# Checking values


_MISSING = object()
_RAW = object()  # section(types={name: _RAW}): a field the caller reads itself

#: msgspec's names for the types it expected, in the words of our messages
_EXPECTED = {"str": "text", "int": "a whole number", "bool": "true or false",
             "float": "a number", "array": "a list", "object": "a mapping"}
_EXPECTED_RE = re.compile(r"Expected `([^`]*)`(?: (>=|<=) (-?\d+))?")


def _schema(cls: type) -> list[tuple[str, Any, Any]]:
    """``(name, type, default)`` of the fields of a result record that the
    YAML may set: its annotations (with msgspec ``Meta`` constraints) are
    the schema. Fields listed in ``cls._NOT_IN_YAML`` are left out."""
    found = _SCHEMAS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls, include_extras=True)
        skip = getattr(cls, "_NOT_IN_YAML", ())
        found = _SCHEMAS[cls] = [
            (f.name, hints[f.name], None if f.default is _dc_MISSING and f.default_factory is _dc_MISSING
             else f.default if f.default_factory is _dc_MISSING else f.default_factory())
            for f in fields(cls) if f.init and f.name not in skip]
    return found


_SCHEMAS: dict[type, list[tuple[str, Any, Any]]] = {}


def _item_type(tp: Any) -> Any:
    """X for ``tuple[X, ...]`` (optionally ``| None``), else None."""
    for arg in (tp, *typing.get_args(tp)):
        if typing.get_origin(arg) is tuple:
            args = typing.get_args(arg)
            if len(args) == 2 and args[1] is Ellipsis:
                return args[0]
    return None


def _choices(tp: Any) -> tuple[Any, ...]:
    """The values of a ``Literal[...]`` type (also inside ``| None``)."""
    for arg in (tp, *typing.get_args(tp)):
        if typing.get_origin(arg) is typing.Literal:
            return typing.get_args(arg)
    return ()


class _Checker:
    """Checks a ``_Y`` tree against the result records' annotated types,
    recording problems (with their lines) instead of raising.

    Each value is converted on its own by ``msgspec.convert(..., strict=True)``
    (no "7" for 7, no 1 for true; ``Meta(ge=…, le=…)`` bounds), so every
    wrong value of a file is reported, not just the first; what msgspec says
    is put in the words of the other messages.
    """

    def __init__(self, file: Path, problems: list[ConfigError]) -> None:
        self.file = file
        self.problems = problems

    def error(self, line: int | None, key: str | None, message: str) -> None:
        self.problems.append(_problem(self.file, line, key, message))

    def mapping(self, y: _Y | None, path: str, known: Sequence[str] | None = None,
                *, null_ok: bool = True) -> dict[str, _Y] | None:
        """The mapping at ``y`` (empty for a missing or null value); unknown keys reported."""
        if y is None or (y.value is None and null_ok):
            return {}
        if not isinstance(y.value, dict):
            self.error(y.at, path or None, f"expected a mapping, got {_describe(y.value)}")
            return None
        if known is not None:
            for key, item in y.value.items():
                if key not in known:
                    self.error(item.key_line, _sub(path, key),
                               f"unknown key {_q(key)} (known: {_join(known)})")
        return y.value

    def section(self, y: _Y | None, path: str, record: type,
                rules: Mapping[str, Callable[[Any], Any]] | None = None,
                types: Mapping[str, Any] | None = None) -> tuple[dict[str, _Y], dict[str, Any]] | None:
        """The mapping at ``y`` checked against ``record``'s fields: unknown
        keys, then each value converted to its field's type (``types``
        overrides one) and passed through ``rules[field]`` (for a list: each
        item), which returns the value to keep or raises ``ValueError(message)``.
        Returns the mapping and every field's value (the default where it is
        missing or wrong), or None when ``y`` is not a mapping."""
        schema = _schema(record)
        types = types or {}
        m = self.mapping(y, path, [name for name, _, _ in schema])
        if m is None:
            return None
        values = {}
        for name, tp, default in schema:
            if types.get(name) is _RAW:  # the caller reads it
                values[name] = default
                continue
            value = self.convert(m.get(name), _sub(path, name), types.get(name, tp), default,
                                 (rules or {}).get(name))
            values[name] = default if value is _MISSING else value
        return m, values

    def convert(self, y: _Y | None, path: str, tp: Any, default: Any,
                rule: Callable[[Any], Any] | None = None) -> Any:
        """``y``'s value as type ``tp``; ``default`` when ``y`` is None;
        ``_MISSING`` after reporting what is wrong with it."""
        if y is None:
            return default
        item_tp = _item_type(tp)
        if item_tp is not None and isinstance(y.value, list):
            return self._items(y, path, item_tp, rule)
        try:
            value = msgspec.convert(_plain(y), tp, strict=True)
        except msgspec.ValidationError as exc:
            self.error(y.at, path, self._message(str(exc), y.value, tp))
            return _MISSING
        if isinstance(value, str) and not value.strip():
            self.error(y.at, path, "must not be empty")
            return _MISSING
        if rule is not None and value is not None:
            try:
                value = rule(value)
            except ValueError as exc:
                self.error(y.line, path, str(exc))
                return _MISSING
        return value

    def _items(self, y: _Y, path: str, tp: Any, rule: Callable[[Any], Any] | None) -> tuple:
        """A list's items, each converted on its own; the bad ones reported at their lines."""
        result = []
        for item in y.value:
            try:
                value = msgspec.convert(_plain(item), tp, strict=True)
            except msgspec.ValidationError as exc:
                word = self._expected(str(exc))
                self.error(item.line, path, f"expected {word} in the list, got {_describe(item.value)}")
                continue
            if isinstance(value, str) and not value.strip():
                self.error(item.line, path, "expected text in the list, got empty text")
                continue
            if rule is not None:
                try:
                    value = rule(value)
                except ValueError as exc:
                    self.error(item.line, path, str(exc))
                    continue
            result.append(value)
        return tuple(result)

    @staticmethod
    def _expected(message: str) -> str:
        match = _EXPECTED_RE.match(message)
        names = [n for n in match.group(1).split(" | ") if n != "null"] if match else []
        return " or ".join(_EXPECTED.get(n, n) for n in names) or "another value"

    def _message(self, message: str, value: Any, tp: Any) -> str:
        """msgspec's ``Expected `int` >= 1``… in our words, about ``value``."""
        if message.startswith("Invalid enum value"):
            if isinstance(value, str) and not value.strip():
                return "must not be empty"
            return f"{_q(value)} is not one of: {_join(_choices(tp))}"
        match = _EXPECTED_RE.match(message)
        if match and match.group(2) == ">=":
            return f"must be at least {match.group(3)}, got {value}"
        if match and match.group(2) == "<=":
            return f"must be at most {match.group(3)}, got {value}"
        return f"expected {self._expected(message)}, got {_describe(value)}"


_PERMISSION_RE = re.compile(r"[A-Za-z0-9_.*?\[\]!-]+")
_ROLE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_PLUGIN_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
# Patterns only some files need stay text until used (re caches the compiled form).
_MODULE_PATTERN = r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*"
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_REGION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{0,39}")
# An OpenSSH public key line: type, base64 blob, optional comment (no options).
_SSH_KEY_PATTERN = (r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|"
                    r"sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)"
                    r"\s+AAAA[A-Za-z0-9+/]+={0,3}(\s.*)?")


# The rules: a value in, the value to keep out, ValueError(message) when wrong.

def _permission(pattern: str) -> str:
    if not _PERMISSION_RE.fullmatch(pattern):
        raise ValueError(f"{_q(pattern)} is not a permission pattern "
                         "(use names like 'telephony.*', 'hr.cases.read' or '*')")
    return pattern


def _locale(value: str) -> str:
    """The canonical form ("de-AT" → "de_AT")."""
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(value.strip().replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"unknown locale {_q(value)} (for example en_US, en_GB, de_DE, de_AT, de_CH)") from None


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(value)
    except Exception:  # ZoneInfoNotFoundError, ValueError for malformed keys, ...
        raise ValueError(f"unknown time zone {_q(value)} (use an IANA name like Europe/Berlin or UTC)") from None
    return value


def _currency(value: str) -> str:
    from babel.numbers import list_currencies

    from core.babeldata import prime  # Babel's currencies from a small file: ~5 ms less than global.dat

    prime()

    if not _CURRENCY_RE.fullmatch(value) or value not in list_currencies():
        raise ValueError(f"unknown currency {_q(value)} (use an ISO 4217 code like EUR, CHF, USD)")
    return value


def _email(value: str) -> str:
    if not _EMAIL_RE.fullmatch(value):
        raise ValueError(f"not an email address: {_q(value)}")
    return value


def _pin_hash(value: str) -> str:
    if value.isdigit() and len(value) <= 12:
        raise ValueError("this looks like a plain PIN; store its hash, never the PIN itself")
    return value


def _country(value: str) -> str:
    if not _COUNTRY_RE.fullmatch(value):
        raise ValueError(f"{_q(value)} is not a country code like DE")
    return value


def _region(value: str) -> str:
    if not _REGION_RE.fullmatch(value):
        raise ValueError(f"{_q(value)} is not a region code like BY or BE")
    return value


def _weekday(name: str) -> int:
    """A working day's name ("mon", "Monday") as its number (0 = Monday)."""
    day = name.strip().lower()[:3]
    if day not in WEEKDAY_NAMES:
        raise ValueError(f"unknown working day {_q(name)} (use mon, tue, … sun)")
    return WEEKDAY_NAMES.index(day)


def _ssh_key(line: str) -> str:
    if not re.fullmatch(_SSH_KEY_PATTERN, line.strip()):
        raise ValueError(f"{_q(line, 40)} is not an OpenSSH public key "
                         "(a line like 'ssh-ed25519 AAAA... comment', without options)")
    return line


# --------------------------------------------------------------------------
# backdesk.yaml


# Top-level keys starting with this are ignored: a place for YAML anchors
# (``x-defaults: &defaults {...}``), as in docker-compose files.
_EXTENSION_PREFIX = "x-"
_TOP_KEYS = ("site", "data_dir", "operators", "roles", "unknown_accounts",
             "read_only_permissions", "kiosk", "storage", "ssh", "calendar")


def _pick(value: Any, default: Any) -> Any:
    return default if value is _MISSING else value


def _top_mapping(check: _Checker, root: _Y | None, what: str) -> dict[str, _Y] | None:
    if root is None or root.value is None:
        return {}
    if not isinstance(root.value, dict):
        check.error(root.line, None,
                    f"the top level must be a mapping of keys ({what}), got {_describe(root.value)}")
        return None
    return root.value


def _parse_site(check: _Checker, y: _Y | None) -> Site:
    found = check.section(y, "site", Site, {"locale": _locale, "timezone": _timezone, "currency": _currency})
    return Site(**found[1]) if found else Site()


def _parse_roles(check: _Checker, y: _Y | None) -> dict[str, Role] | None:
    """The roles; None when ``roles:`` itself is unusable (so operators skip the role check)."""
    m = check.mapping(y, "roles")
    if m is None:
        return None
    roles: dict[str, Role] = {}
    for name, item in m.items():
        path = _sub("roles", name)
        if not _ROLE_RE.fullmatch(name):
            check.error(item.key_line, path,
                        "role names start with a letter and use letters, digits, '_', '-', '.'")
            continue
        found = check.section(item, path, Role, {"permissions": _permission})
        if found is None:
            continue
        values = found[1]
        if values["title"] is None:
            values["title"] = name.replace("_", " ").title()
        roles[name] = Role(name=name, **values)
    return roles


def _parse_operators(check: _Checker, y: _Y | None,
                     roles: dict[str, Role] | None) -> dict[str, Operator]:
    m = check.mapping(y, "operators")
    known_roles = _join(roles) if roles else "none are defined under roles:"

    def role(name: str) -> str:
        if roles is not None and name not in roles:
            raise ValueError(f"unknown role {_q(name)} (known: {known_roles})")
        return name

    operators: dict[str, Operator] = {}
    for login, item in (m or {}).items():
        path = _sub("operators", login)
        if not login or any(c.isspace() or c in ":/\\" or not c.isprintable() for c in login):
            check.error(item.key_line, path,
                        "not an account name (no spaces, ':', '/' or '\\')")
            continue
        found = check.section(item, path, Operator, {"roles": role, "email": _email, "pin_hash": _pin_hash})
        if found is None:
            continue
        values = found[1]
        if values["name"] is None:
            values["name"] = login
        operators[login] = Operator(login=login, line=item.key_line, **values)
    return operators


def _parse_kiosk(check: _Checker, y: _Y | None, plugin_names: list[str] | None) -> Kiosk:
    def plugin(name: str) -> str:
        if plugin_names is not None and name not in plugin_names:
            raise ValueError(f"plugin {_q(name)} is not in plugins.yaml (listed: {_join(plugin_names) or 'none'})")
        return name

    found = check.section(y, "kiosk", Kiosk, {"plugins": plugin})
    return Kiosk(**found[1]) if found else Kiosk()


def _parse_calendar(check: _Checker, y: _Y | None) -> CalendarSettings:
    """``calendar:``. The region is checked against the ``holidays`` library
    when the calendar is first used (core.services.workdays), not here: importing it
    costs ~100 ms that a start-up must not pay."""
    found = check.section(y, "calendar", CalendarSettings,
                          {"country": _country, "region": _region, "workdays": _weekday},
                          types={"workdays": tuple[str, ...], "days_off": _RAW})
    if not found:
        return CalendarSettings()
    m, values = found
    item = m.get("workdays")
    if item is not None and isinstance(item.value, list) and values["workdays"] == ():
        check.error(item.line, "calendar.workdays", "name at least one working day")
    values["workdays"] = tuple(sorted(set(values["workdays"]))) or CalendarSettings.workdays
    days: list[str] = []
    item = m.get("days_off")
    if item is not None and item.value is not None:
        if not isinstance(item.value, list):
            check.error(item.at, "calendar.days_off", f"expected a list of dates, got {_describe(item.value)}")
        else:
            for entry in item.value:
                value = entry.value
                if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
                    days.append(value.isoformat())
                    continue
                try:
                    days.append(_dt.date.fromisoformat(str(value).strip()).isoformat())
                except ValueError:
                    check.error(entry.line, "calendar.days_off",
                                f"{_q(str(value))} is not a date like 2026-12-24")
    values["days_off"] = tuple(sorted(set(days)))
    values["line"] = m["region"].line if "region" in m else (y.line if y is not None else 0)
    return CalendarSettings(**values)


def _parse_storage(check: _Checker, y: _Y | None) -> StorageSettings:
    found = check.section(y, "storage", StorageSettings)
    if not found:
        return StorageSettings()
    m, values = found
    if m.get("backend") is not None and values["backend"] == "postgresql" and values["dsn"] is None:
        check.error(m["backend"].line, "storage.dsn", "the postgresql backend needs a dsn")
    return StorageSettings(**values)


def _parse_ssh(check: _Checker, y: _Y | None, operators: dict[str, Operator],
               config_dir: Path) -> SshSettings:
    found = check.section(y, "ssh", SshSettings, {"trusted_user_ca_keys": _ssh_key},
                          types={"host_key": str | None, "authorized_keys": _RAW})
    if not found:
        return SshSettings()
    m, values = found
    if isinstance(values["host_key"], str):
        values["host_key"] = (config_dir / Path(values["host_key"]).expanduser()).resolve()
    keys: dict[str, tuple[str, ...]] = {}
    km = check.mapping(m.get("authorized_keys"), "ssh.authorized_keys")
    for account, item in (km or {}).items():
        path = _sub("ssh.authorized_keys", account)
        if account not in operators:
            check.error(item.key_line, path,
                        f"{_q(account)} is not listed under operators: "
                        f"(known: {_join(operators) or 'none'})")
            continue
        lines = check.convert(item, path, tuple[str, ...], (), _ssh_key)
        if lines is not _MISSING:
            keys[account] = tuple(line.strip() for line in lines)
    values["authorized_keys"] = keys
    return SshSettings(**values)


def _parse_backdesk(file: Path, root: _Y | None, problems: list[ConfigError],
                    plugin_names: list[str] | None) -> dict[str, Any]:
    """The keyword arguments for ``Config`` from backdesk.yaml (data_dir excluded)."""
    check = _Checker(file, problems)
    top = _top_mapping(check, root, "site:, operators:, roles:, ...")
    if top is None:
        return {}
    for key, item in top.items():
        if key not in _TOP_KEYS and not key.startswith(_EXTENSION_PREFIX):
            hint = "; plugins are listed in plugins.yaml" if key == "plugins" else ""
            check.error(item.key_line, _key_text(key),
                        f"unknown key {_q(key)} (known: {_join(_TOP_KEYS)}){hint}")

    result: dict[str, Any] = {"site": _parse_site(check, top.get("site"))}
    roles = _parse_roles(check, top.get("roles"))
    result["roles"] = roles or {}
    result["operators"] = _parse_operators(check, top.get("operators"), roles)
    unknown = check.convert(top.get("unknown_accounts"), "unknown_accounts",
                            Literal[UNKNOWN_ACCOUNT_CHOICES], "refuse")
    result["unknown_accounts"] = _pick(unknown, "refuse")
    ro = check.convert(top.get("read_only_permissions"), "read_only_permissions", tuple[str, ...],
                       ("core.directory.read",), _permission)
    result["read_only_permissions"] = _pick(ro, ("core.directory.read",))
    result["kiosk"] = _parse_kiosk(check, top.get("kiosk"), plugin_names)
    result["storage"] = _parse_storage(check, top.get("storage"))
    result["calendar"] = _parse_calendar(check, top.get("calendar"))
    result["ssh"] = _parse_ssh(check, top.get("ssh"), result["operators"], file.parent)
    return result


def _data_dir_from(file: Path, root: _Y | None, config_dir: Path,
                   problems: list[ConfigError]) -> Path | None:
    """``data_dir:`` of backdesk.yaml, resolved against the config dir; None when absent."""
    if root is None or not isinstance(root.value, dict):
        return None
    item = root.value.get("data_dir")
    if item is None or item.value is None:
        return None
    value = _Checker(file, problems).convert(item, "data_dir", str, None)
    if not isinstance(value, str):
        return None
    return (config_dir / Path(value).expanduser()).resolve()


# --------------------------------------------------------------------------
# plugins.yaml


_PLUGINS_TOP_KEYS = ("plugins",)
#: Names no plugin may take (storage namespaces and the shell's own words);
#: the same list as core.plugins.host.RESERVED_NAMES, which checks PluginInfo.name.
RESERVED_PLUGIN_NAMES = frozenset({"core", "backdesk", "shell", "plugins", "audit", "events", "storage"})


def _module(value: str) -> str:
    if not re.fullmatch(_MODULE_PATTERN, value):
        raise ValueError(f"{_q(value)} is not a module path like mycompany.roombook")
    return value


def _plain(y: _Y) -> Any:
    """A ``_Y`` tree as plain Python values."""
    if isinstance(y.value, dict):
        return {k: _plain(v) for k, v in y.value.items()}
    if isinstance(y.value, list):
        return [_plain(v) for v in y.value]
    return y.value


def _record_lines(y: _Y, prefix: str, lines: dict[str, int]) -> None:
    if isinstance(y.value, dict):
        for key, item in y.value.items():
            sub = f"{prefix}.{key}"
            lines[sub] = item.key_line
            if isinstance(item.value, dict):
                _record_lines(item, sub, lines)


def _parse_plugins(file: Path, root: _Y | None, problems: list[ConfigError]) -> list[PluginEntry]:
    check = _Checker(file, problems)
    top = _top_mapping(check, root, "plugins:")
    if top is None:
        return []
    for key, item in top.items():
        if key not in _PLUGINS_TOP_KEYS and not key.startswith(_EXTENSION_PREFIX):
            check.error(item.key_line, _key_text(key),
                        f"unknown key {_q(key)} (known: {_join(_PLUGINS_TOP_KEYS)})")
    listing = top.get("plugins")
    if listing is None or listing.value is None:
        return []
    if not isinstance(listing.value, list):
        check.error(listing.at, "plugins", f"expected a list of plugins, got {_describe(listing.value)}")
        return []

    entries: list[PluginEntry] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(listing.value):
        where = f"plugins[{index}]"
        if isinstance(item.value, str):  # "- telephony" is short for "- name: telephony"
            item = _Y({"name": _Y(item.value, item.line, item.line)}, item.line, item.line)
        if not isinstance(item.value, dict):
            check.error(item.line, where,
                        f"expected a plugin (a mapping with name:), got {_describe(item.value)}")
            continue
        fields = item.value
        name_item = fields.get("name")
        name = check.convert(name_item, f"{where}.name", str, _MISSING)
        if name is _MISSING:
            if name_item is None:
                check.error(item.line, where, "missing name:")
            continue
        if not _PLUGIN_NAME_RE.fullmatch(name):
            check.error(name_item.line, f"{where}.name",
                        f"{_q(name)} is not a plugin name (lower-case letters, digits and '_', "
                        "starting with a letter)")
            continue
        if name in RESERVED_PLUGIN_NAMES:
            check.error(name_item.line, f"{where}.name",
                        f"{_q(name)} is reserved (reserved: {_join(sorted(RESERVED_PLUGIN_NAMES))})")
            continue
        path = _sub("plugins", name)
        if name in seen:
            check.error(name_item.line, f"{path}.name", f"duplicate plugin {_q(name)} (first at line {seen[name]})")
            continue
        seen[name] = name_item.line
        before = len(problems)
        _, values = check.section(item, path, PluginEntry, {"module": _module},
                                  types={"name": _RAW, "settings": _RAW, "path": str | None})
        settings_item = fields.get("settings")
        settings_map = check.mapping(settings_item, f"{path}.settings")
        module, file_path = values["module"], values["path"]
        if isinstance(module, str) and isinstance(file_path, str):
            check.error(fields["path"].line, f"{path}.path", "give either module: or path:, not both")
        if len(problems) > before:
            continue

        lines: dict[str, int] = {"name": name_item.line, "": item.line}
        for key, sub in fields.items():
            lines[key] = sub.key_line
        if settings_item is not None:
            _record_lines(settings_item, "settings", lines)
        entries.append(PluginEntry(
            name=name,
            enabled=values["enabled"],
            settings={k: _plain(v) for k, v in (settings_map or {}).items()},
            module=module,
            path=(file.parent / Path(file_path).expanduser()).resolve() if file_path else None,
            line=item.line,
            source_file=file,
            lines=lines,
        ))
    return entries


# --------------------------------------------------------------------------
# Locations


def _default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "backdesk"


def _config_dir(config_dir: str | os.PathLike[str] | None) -> Path:
    if config_dir is not None and str(config_dir) != "":
        value = str(config_dir)
        where = f"config directory {value}"
    elif os.environ.get(ENV_CONFIG_DIR):
        value = os.environ[ENV_CONFIG_DIR]
        where = f"{ENV_CONFIG_DIR}={value}"
    else:
        return SHIPPED_CONFIG_DIR
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        what = "no such directory" if not path.exists() else "not a directory"
        raise _problem(None, None, None, f"{where}: {what}")
    return path


def _plugins_file(config_dir: Path) -> Path:
    own = config_dir / PLUGINS_FILE
    return own if own.is_file() else SHIPPED_PLUGINS_FILE


def _data_dir(data_dir: str | os.PathLike[str] | None, from_file: Path | None) -> Path:
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser().resolve()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser().resolve()
    if from_file is not None:
        return from_file
    return _default_data_dir()


def resolve_paths(config_dir: str | os.PathLike[str] | None = None,
                  data_dir: str | os.PathLike[str] | None = None) -> tuple[Path, Path, Path]:
    """Where the config, plugins.yaml and the data live: ``(config_dir, plugins_file, data_dir)``.

    config dir: ``config_dir`` → ``$BACKDESK_CONFIG_DIR`` → the shipped ``config/``.
    plugins.yaml: ``<config_dir>/plugins.yaml`` if it exists, else the shipped one.
    data dir: ``data_dir`` → ``$BACKDESK_DATA_DIR`` → ``data_dir:`` in backdesk.yaml
    (relative to the config dir) → ``$XDG_DATA_HOME/backdesk`` → ``~/.local/share/backdesk``.

    Reads backdesk.yaml only when it needs its ``data_dir:``; raises ConfigError
    if that file cannot be read or the directory named does not exist.
    """
    cdir = _config_dir(config_dir)
    plugins_file = _plugins_file(cdir)
    explicit = (data_dir is not None and str(data_dir) != "") or bool(os.environ.get(ENV_DATA_DIR))
    from_file = None
    if not explicit:
        problems: list[ConfigError] = []
        file = cdir / CONFIG_FILE
        root = _Reader(file, problems).read()
        from_file = _data_dir_from(file, root, cdir, problems)
        if problems:
            raise _bundle(problems)
    return cdir, plugins_file, _data_dir(data_dir, from_file)


# --------------------------------------------------------------------------
# Loading


def load_plugins_file(file: str | os.PathLike[str]) -> list[PluginEntry]:
    """Read and validate one plugins.yaml; raises ConfigError with every problem."""
    path = Path(file).resolve()
    problems: list[ConfigError] = []
    root = _Reader(path, problems).read()
    entries = _parse_plugins(path, root, problems) if not problems else []
    if problems:
        raise _bundle(problems)
    return entries


def load_config(config_dir: str | os.PathLike[str] | None = None,
                data_dir: str | os.PathLike[str] | None = None) -> Config:
    """Find, read and validate backdesk.yaml and plugins.yaml (see :func:`resolve_paths`).

    A missing backdesk.yaml means all defaults; a missing plugins.yaml means
    no plugins. Raises ConfigError carrying every problem in ``.problems``.
    """
    cdir = _config_dir(config_dir)
    plugins_file = _plugins_file(cdir)
    config_file = cdir / CONFIG_FILE
    problems: list[ConfigError] = []

    plugins_root = _Reader(plugins_file, problems).read()
    plugins = _parse_plugins(plugins_file, plugins_root, problems)
    plugins_ok = not problems  # else kiosk.plugins would blame names that are fine

    count = len(problems)
    root = _Reader(config_file, problems).read()
    if len(problems) == count:
        names = [e.name for e in plugins] if plugins_ok else None
        values = _parse_backdesk(config_file, root, problems, names)
        from_file = _data_dir_from(config_file, root, cdir, problems)
    else:
        values, from_file = {}, None

    if problems:
        # backdesk.yaml first, then plugins.yaml; each in line order.
        order = {config_file: 0, plugins_file: 1}
        problems.sort(key=lambda p: (order.get(getattr(p, "file", None), 2), getattr(p, "line", 0) or 0))
        raise _bundle(problems)
    sources = tuple(p for p in (config_file, plugins_file) if p.is_file())
    return Config(
        **values,
        data_dir=_data_dir(data_dir, from_file),
        config_dir=cdir,
        config_file=config_file,
        plugins_file=plugins_file,
        plugins=plugins,
        source_files=sources,
    )


def error_at(entry: PluginEntry, key: str | None, message: str) -> ConfigError:
    """A ConfigError about a plugins.yaml entry: ``plugins.yaml:7: plugins.<name>.<key>: message``.

    ``key`` is a key of the entry ("module", "path", "settings",
    "settings.business_hours") or None for the entry as a whole; the line is
    that key's line when known, else the entry's.
    """
    path = _sub("plugins", entry.name)
    if key:
        path = f"{path}.{key}"
    line = 0
    probe = key or ""
    while probe and not line:  # "settings.trunk" → "settings" → the entry
        line = entry.lines.get(probe, 0)
        probe = probe.rpartition(".")[0]
    return _problem(entry.source_file, (line or entry.line) or None, path, message)


# --------------------------------------------------------------------------
# Plugin settings


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Use as ``Setting(str, REQUIRED)`` for a setting without a default.
REQUIRED: Any = _Required()


@dataclass(frozen=True, repr=False, eq=False)
class Setting(_Record):
    """One setting a plugin accepts in its plugins.yaml ``settings:``.

    ``type``: str, int, float, bool, Decimal (write money in quotes: "12.50"),
    Path (relative to the plugins.yaml folder), list, dict, ``list[str]``-style
    generics, or a tuple of these. ``default``: the value when absent, or
    ``REQUIRED``; a ``None`` default also allows ``null``. ``choices``: the
    allowed values. ``check``: optional ``fn(value) -> value`` that raises
    ValueError with a message, for rules beyond type and choice.
    """

    type: Any
    default: Any
    choices: Sequence[Any] | None = None
    help: str = ""
    check: Callable[[Any], Any] | None = None


class SettingError(ValueError):
    """Raised by a :class:`Setting`'s ``check`` about a part of a structured
    value: ``SettingError("expected a port number", key="office.port")`` is
    reported at ``settings.<setting>.office.port`` and that key's line."""

    def __init__(self, message: str = "", key: str | None = None, *,
                 problems: Sequence[tuple[str | None, str]] = ()) -> None:
        super().__init__(message or (problems[0][1] if problems else ""))
        self.key = key
        #: every problem found, ``(key, message)``; raise one SettingError for all
        self.problems = list(problems) or [(key, message)]


class _Mismatch(Exception):
    pass


_TYPE_WORDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
               Decimal: "a decimal number in quotes", Path: "a path", list: "a list", dict: "a mapping"}


def _type_word(tp: Any) -> str:
    if isinstance(tp, tuple):
        return " or ".join(_type_word(t) for t in tp)
    origin = typing.get_origin(tp)
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        return f"a list of {_type_word(inner)}" if inner is not Any else "a list"
    if origin is dict:
        args = typing.get_args(tp)
        return f"a mapping of {_type_word(args[1])}" if len(args) == 2 else "a mapping"
    if tp is Any:
        return "any value"
    return _TYPE_WORDS.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(tp: Any, value: Any, base: Path | None) -> Any:
    """``value`` as ``tp``, or raise _Mismatch.

    msgspec converts, strictly (no text for a number, no number for text,
    only true/false for bool; dates and times only as YAML wrote them);
    what it does not do is here: a tuple of types tries each, a Decimal
    comes from quoted text or a whole number (never a float: money in
    quotes) without blanks around it and finite, a Path is a non-blank text
    relative to the plugins.yaml folder, and a type msgspec does not know
    takes a value that already is one."""
    if isinstance(tp, tuple):
        for option in tp:
            try:
                return _coerce(option, value, base)
            except _Mismatch:
                pass
        raise _Mismatch
    try:
        result = msgspec.convert(_prepared(tp, value), tp, dec_hook=functools.partial(_path, base),
                                 builtin_types=(_dt.date, _dt.time, _dt.datetime))
    except msgspec.ValidationError:
        raise _Mismatch from None
    except (NotImplementedError, TypeError):  # a type msgspec does not know
        if isinstance(tp, type) and isinstance(value, tp) and not isinstance(value, bool):
            return value
        raise _Mismatch from None
    if not _finite(result):
        raise _Mismatch
    return result


def _path(base: Path | None, tp: Any, value: Any) -> Path:
    """msgspec's hook for Path (the one type it does not convert here)."""
    if tp is not Path:
        raise NotImplementedError
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a path")
    path = Path(value).expanduser()
    return (base / path).resolve() if base is not None else path


def _prepared(tp: Any, value: Any) -> Any:
    """``value`` with every Decimal's text stripped; a float for a Decimal is a mismatch."""
    if tp is Decimal:
        if isinstance(value, float):
            raise _Mismatch
        return value.strip() if isinstance(value, str) else value
    args = typing.get_args(tp)
    if typing.get_origin(tp) is list and args and isinstance(value, list):
        return [_prepared(args[0], v) for v in value]
    if typing.get_origin(tp) is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _prepared(args[1], v) for k, v in value.items()}
    return value


def _finite(value: Any) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def validate_settings(spec: Mapping[str, Setting], values: Mapping[str, Any] | None,
                      where: PluginEntry | None) -> dict[str, Any]:
    """A plugin's ``settings:`` checked against its spec, with defaults filled in.

    Unknown keys, wrong types, values outside ``choices`` and missing
    ``REQUIRED`` settings are reported together in one ConfigError whose
    problems read ``plugins.yaml:6: plugins.telephony.settings.business_hours: ...``.
    """
    values = dict(values or {})
    problems: list[ConfigError] = []
    base = where.source_file.parent if where is not None and where.source_file else None

    def problem(key: str, message: str) -> None:
        if where is None:
            problems.append(_problem(None, None, f"settings.{key}", message))
        else:
            problems.append(error_at(where, f"settings.{key}" if key else "settings", message))

    result: dict[str, Any] = {}
    for key in values:
        if key not in spec:
            known = _join(spec) if spec else "this plugin has no settings"
            problem(key, f"unknown setting {_q(key)} (known: {known})")
    for key, setting in spec.items():
        # Duck-typed: any object with type/default (choices, help, check optional).
        default = getattr(setting, "default", None)
        choices = getattr(setting, "choices", None)
        check = getattr(setting, "check", None)
        if key not in values:
            if default is REQUIRED:
                help_text = getattr(setting, "help", "")
                problem(key, "required" + (f" ({help_text})" if help_text else ""))
            else:
                result[key] = copy.deepcopy(default)
            continue
        value = values[key]
        if value is None and default is None:
            result[key] = None
            continue
        try:
            value = _coerce(setting.type, value, base)
        except _Mismatch:
            problem(key, f"expected {_type_word(setting.type)}, got {_describe(value)}")
            continue
        if choices is not None and value not in choices:
            problem(key, f"{_q(value)} is not one of: "
                         f"{_join(_q(c) if isinstance(c, str) else str(c) for c in choices)}")
            continue
        if check is not None:
            try:
                value = check(value)
            except (ValueError, TypeError, ConfigError) as exc:
                if isinstance(exc, SettingError):
                    for sub, message in exc.problems:
                        problem(f"{key}.{sub}" if sub else key, message or "invalid value")
                else:
                    problem(key, getattr(exc, "message", None) or str(exc) or "invalid value")
                continue
        result[key] = value
    if problems:
        raise _bundle(problems)
    return result
