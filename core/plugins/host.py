"""Find, load, order and isolate plugins.

Built-in plugins (``plugins.<name>``), third-party plugins from the
``backdesk`` entry-point group (found by :mod:`core.plugins.entrypoints`) and local
plugins named in ``plugins.yaml`` by module or file path all go through the
same :class:`PluginHost`, the same pluggy manager and the same hooks.

Isolation: a plugin that fails to import, declares an unsupported hook API,
implements a hook that does not exist, or raises in ``backdesk_plugin_info``
or ``backdesk_tables`` is unregistered and listed as *failed*; everything
else keeps working. Later hooks are called plugin by plugin through
:meth:`PluginHost.call`, which records a failure against the plugin and moves
on to the next.

Kill switch: ``BACKDESK_DISABLE_PLUGINS=name,name`` (or ``external`` for every
plugin that is not built in, ``all`` for every plugin) starts Backdesk with
those plugins switched off, so a broken plugin never locks an operator out.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import pluggy

from core.api import hookspecs
from core.config import ConfigError, error_at
from core.plugins.entrypoints import entry_points
from core.api.hookspecs import HOOK_API_VERSION, OLDEST_SUPPORTED_API_VERSION, PluginInfo

ENTRY_POINT_GROUP = "backdesk"
DISABLE_ENV = "BACKDESK_DISABLE_PLUGINS"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: namespaces plugins may not take: core's own tables and commands live there
RESERVED_NAMES = {"core", "backdesk", "shell", "plugins", "audit", "events", "storage"}


@dataclass
class PluginRecord:
    """What the shell knows about one plugin, loaded or not."""

    name: str
    source: str  # "built-in", "entry point", "module", "path"
    target: str  # module name, entry point value or file path
    status: str = "ok"  # "ok", "failed", "disabled"
    error: str | None = None
    traceback: str | None = None
    info: PluginInfo | None = None
    module: Any = None
    settings: dict = field(default_factory=dict)
    entry: Any = None  # the PluginEntry from plugins.yaml, when listed there
    #: failures of hooks called after loading: (hook name, one line, traceback)
    hook_errors: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.info.version if self.info else ""

    @property
    def title(self) -> str:
        return self.info.title if self.info else self.name

    @property
    def package(self) -> str | None:
        """The module name prefix the plugin's code lives under (for blame)."""
        mod = self.module
        if isinstance(mod, ModuleType):
            return mod.__name__
        if mod is not None:
            return type(mod).__module__
        return None

    def fail(self, message: str, tb: str | None = None) -> None:
        self.status = "failed"
        self.error = message
        self.traceback = tb


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def disabled_by_env(environ: dict | None = None) -> set[str]:
    raw = (environ if environ is not None else os.environ).get(DISABLE_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


class PluginHost:
    """The plugin manager: loads plugins and calls their hooks one by one."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("backdesk")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.contexts: dict[str, Any] = {}
        #: what :meth:`load` was called with (see there)
        self._loaded: tuple | None = None

    # ------------------------------------------------------------------ loading

    def load(self, entries: list, *, environ: dict | None = None,
             load_entry_points: bool = True) -> None:
        """Load the plugins listed in ``plugins.yaml`` (``entries``), then any
        installed entry-point plugin that the file does not mention.

        Loading the same ``entries`` list object again with the same
        ``environ`` and ``load_entry_points`` does nothing: the CLI loads the
        plugins once to add their commands and hands this host to the
        Backdesk it opens (``core.cli.launch.State``), whose start calls ``load``."""
        if self.has_loaded(entries, environ=environ, load_entry_points=load_entry_points):
            return
        off = disabled_by_env(environ)
        eps = {}
        if load_entry_points:
            try:
                eps = {ep.name: ep for ep in entry_points(ENTRY_POINT_GROUP)}
            except Exception:  # broken metadata must not stop the shell
                eps = {}
        listed = set()
        self._check_known(entries, eps)
        for entry in entries:
            listed.add(entry.name)
            if entry.module:
                rec = PluginRecord(entry.name, "module", entry.module, entry=entry)
            elif entry.path:
                rec = PluginRecord(entry.name, "path", str(entry.path), entry=entry)
            elif entry.name in eps and not _builtin_exists(entry.name):
                ep = eps[entry.name]
                rec = PluginRecord(entry.name, "entry point", ep.value, entry=entry)
            else:
                rec = PluginRecord(entry.name, "built-in", f"plugins.{entry.name}", entry=entry)
            rec.settings = dict(entry.settings or {})
            self._admit(rec, enabled=entry.enabled, off=off, eps=eps)
        for name, ep in sorted(eps.items()):
            if name not in listed:
                self._admit(PluginRecord(name, "entry point", ep.value), enabled=True, off=off, eps=eps)
        self._loaded = (entries, environ, load_entry_points)

    def has_loaded(self, entries: list, *, environ: dict | None = None,
                   load_entry_points: bool = True) -> bool:
        """True when :meth:`load` ran with this very ``entries`` list (and
        the same ``environ`` and ``load_entry_points``)."""
        loaded = self._loaded
        return (loaded is not None and loaded[0] is entries and loaded[1] is environ
                and loaded[2] == load_entry_points)

    def _check_known(self, entries: list, eps: dict) -> None:
        """An entry naming no plugin at all is a config error (file:line:key),
        not a failed plugin: nothing is loaded until plugins.yaml is fixed."""
        problems = []
        for entry in entries:
            if entry.module:
                try:
                    found = importlib.util.find_spec(entry.module) is not None
                except (ImportError, ValueError):
                    found = False
                if not found:
                    problems.append(error_at(entry, "module", f"no module named {entry.module!r}"))
            elif entry.path:
                if not Path(entry.path).exists():
                    problems.append(error_at(entry, "path", f"no such file: {entry.path}"))
            elif not _builtin_exists(entry.name) and entry.name not in eps:
                known = sorted(set(_builtin_names()) | set(eps))
                problems.append(error_at(
                    entry, "name",
                    f"unknown plugin {entry.name!r} (known: {', '.join(known) or 'none'})"))
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            error = ConfigError(str(problems[0]) + more)
            error.problems = problems
            raise error

    def _admit(self, rec: PluginRecord, *, enabled: bool, off: set[str], eps: dict) -> None:
        self.records[rec.name] = rec
        external = rec.source != "built-in"
        if not enabled:
            rec.status = "disabled"
            rec.error = "disabled in plugins.yaml"
            return
        if rec.name in off or "all" in off or (external and "external" in off):
            rec.status = "disabled"
            rec.error = f"disabled by {DISABLE_ENV}"
            return
        try:
            module = self._import(rec, eps)
        except Exception as exc:
            rec.fail(f"cannot be imported: {_one_line(exc)}", traceback.format_exc())
            return
        self.register(rec, module)

    def register(self, rec: PluginRecord, module: Any) -> None:
        """Register an imported plugin object; mark it failed when it is unfit."""
        rec.module = module
        self.records.setdefault(rec.name, rec)
        try:
            self.pm.register(module, name=rec.name)
        except Exception as exc:
            rec.fail(f"cannot be registered: {_one_line(exc)}", traceback.format_exc())
            return
        problem = self._unknown_hooks(rec.name)
        if problem:
            self._unregister(rec, problem)
            return
        impl = self._impl("backdesk_plugin_info", rec.name)
        if impl is None:
            self._unregister(rec, "does not implement backdesk_plugin_info")
            return
        try:
            info = impl.function()
        except Exception as exc:
            self._unregister(rec, f"backdesk_plugin_info failed: {_one_line(exc)}", traceback.format_exc())
            return
        if not isinstance(info, PluginInfo):
            self._unregister(rec, "backdesk_plugin_info must return core.api.hookspecs.PluginInfo")
            return
        rec.info = info
        if info.name != rec.name:
            self._unregister(rec, f"calls itself {info.name!r} but is listed as {rec.name!r}")
            return
        if not _NAME_RE.match(info.name) or info.name in RESERVED_NAMES:
            self._unregister(rec, f"the name {info.name!r} is not allowed "
                                  "(lowercase letters, digits, _; not a reserved name)")
            return
        if not OLDEST_SUPPORTED_API_VERSION <= info.api_version <= HOOK_API_VERSION:
            self._unregister(
                rec,
                f"needs hook API version {info.api_version}; this Backdesk provides "
                f"version {HOOK_API_VERSION} (supports {OLDEST_SUPPORTED_API_VERSION}"
                f"–{HOOK_API_VERSION})",
            )
            return
        bad = [p for p in info.permissions if not p.startswith(info.name + ".")]
        if bad:
            self._unregister(rec, f"permission {bad[0]!r} must start with {info.name + '.'!r}")
            return
        rec.status = "ok"

    def _import(self, rec: PluginRecord, eps: dict) -> Any:
        if rec.source == "entry point":
            return eps[rec.name].load()
        if rec.source == "path":
            path = Path(rec.target)
            if path.is_dir():
                path = path / "__init__.py"
            if not path.is_file():
                raise FileNotFoundError(f"no such file: {path}")
            mod_name = f"backdesk_local_plugins.{rec.name}"
            spec = importlib.util.spec_from_file_location(
                mod_name, path,
                submodule_search_locations=[str(path.parent)] if path.name == "__init__.py" else None,
            )
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(mod_name, None)
                raise
            return module
        if rec.source == "built-in" and not _builtin_exists(rec.name):
            raise ModuleNotFoundError(f"no built-in plugin named {rec.name!r}")
        return importlib.import_module(rec.target)

    def _unknown_hooks(self, name: str) -> str | None:
        plugin = self.pm.get_plugin(name)
        known = _SPEC_NAMES
        for attr in dir(plugin):
            if not attr.startswith("backdesk_"):
                continue
            obj = getattr(plugin, attr, None)
            if callable(obj) and hasattr(obj, "backdesk_impl") and attr not in known:
                close = difflib.get_close_matches(attr, sorted(known), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                return f"implements unknown hook {attr!r}{hint}"
        return None

    def _unregister(self, rec: PluginRecord, message: str, tb: str | None = None) -> None:
        rec.fail(message, tb)
        try:
            self.pm.unregister(name=rec.name)
        except Exception:
            pass

    # ------------------------------------------------------------------ calling

    @property
    def active(self) -> list[PluginRecord]:
        """Loaded plugins in plugins.yaml order."""
        return [r for r in self.records.values() if r.status == "ok"]

    def _impl(self, hook_name: str, plugin_name: str):
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            if impl.plugin_name == plugin_name:
                return impl
        return None

    def implements(self, plugin_name: str, hook_name: str) -> bool:
        """True when the plugin ``plugin_name`` implements ``hook_name``."""
        return self._impl(hook_name, plugin_name) is not None

    def call_one(self, rec: PluginRecord, hook_name: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation with the arguments it names.

        Raises whatever the implementation raises; use :meth:`call` to be
        isolated from failures."""
        impl = self._impl(hook_name, rec.name)
        if impl is None:
            return None
        if "ctx" in impl.argnames and "ctx" not in kwargs:
            kwargs["ctx"] = self.contexts.get(rec.name)
        args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
        return impl.function(**args)

    def call(self, hook_name: str, *, on_error: Callable[[PluginRecord, BaseException], None] | None = None,
             **kwargs: Any) -> Iterator[tuple[PluginRecord, Any]]:
        """Call ``hook_name`` on every active plugin in order, isolated.

        Yields ``(record, result)`` for each plugin that implements the hook
        and did not raise; a plugin that raises is recorded (see
        :attr:`PluginRecord.hook_errors`) and skipped."""
        for rec in list(self.active):
            if self._impl(hook_name, rec.name) is None:
                continue
            try:
                result = self.call_one(rec, hook_name, **kwargs)
            except Exception as exc:
                self.record_failure(rec, hook_name, exc)
                if on_error is not None:
                    on_error(rec, exc)
                continue
            yield rec, result

    def collect(self, hook_name: str, **kwargs: Any) -> list[tuple[PluginRecord, Any]]:
        """Like :meth:`call` for hooks returning lists: ``[(record, item), ...]``."""
        out = []
        for rec, result in self.call(hook_name, **kwargs):
            for item in result or ():
                out.append((rec, item))
        return out

    def record_failure(self, rec: PluginRecord, hook_name: str, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        rec.hook_errors.append((hook_name, _one_line(exc), tb))

    def fail_plugin(self, name: str, message: str, tb: str | None = None) -> None:
        """Take a loaded plugin out (used when its tables or settings are unfit)."""
        rec = self.records[name]
        self._unregister(rec, message, tb)

    def owner_of(self, tb) -> PluginRecord | None:
        """The plugin whose code raised, from a traceback (innermost frame first)."""
        packages = []
        for rec in self.records.values():
            pkg = rec.package
            if pkg:
                packages.append((pkg, rec))
        frames = []
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
        for frame in reversed(frames):
            mod = frame.f_globals.get("__name__", "")
            for pkg, rec in packages:
                if mod == pkg or mod.startswith(pkg + "."):
                    return rec
        return None


_SPEC_NAMES = frozenset(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "backdesk_spec"))


def _builtin_names() -> list[str]:
    import pkgutil

    import plugins

    return [m.name for m in pkgutil.iter_modules(plugins.__path__) if m.ispkg]


def _builtin_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"plugins.{name}") is not None
    except (ImportError, ValueError):
        return False
