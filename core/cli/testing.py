"""Testing helpers for plugin authors: a throwaway site, the shell headless, the CLI.

Installing Backdesk registers this module as a pytest plugin (entry point
``pytest11: backdesk = core.cli.testing``), so a plugin package's tests get the
fixtures without a conftest:

```python
from core.cli.testing import publish, notifications, wait_for, text_of

def test_sign_in(backdesk_site):
    backdesk_site.operator("bob", roles=["reception"])
    backdesk_site.plugins(["visitors"])          # by name (entry point)
    bd = backdesk_site.open(account="bob")       # core.plugins.runtime.open_backdesk
    ...

async def test_screen(backdesk_site):
    async with backdesk_site.run_app() as pilot:  # make_app(...).run_test(size=(80, 24))
        await pilot.press("f7")
        await wait_for(pilot, lambda: pilot.app.current_mode == "visitors")

def test_cli(backdesk_site):
    code, out, err = backdesk_site.cli("visitors", "list")
```

Fixtures:

``backdesk_site``
    a :class:`BackdeskSite`: a config folder and a data folder in the test's
    ``tmp_path``, an empty ``plugins.yaml`` (installed entry-point plugins
    still load, as they would at a real site), the roles ``admin`` (``*``)
    and ``reader`` (``*.read``) and the operators ``alice`` (admin) and the
    OS account running the tests (admin: the CLI runs as that account).
    The developer's own config never leaks in: ``HOME``, ``XDG_*`` point into
    ``tmp_path`` and every ``BACKDESK_*`` variable is removed.
``backdesk``
    ``backdesk_site.open()``: a started :class:`core.plugins.runtime.Backdesk` as
    ``alice``, closed after the test.
``backdesk_pilot``
    the shell running headless at 80x24 on ``backdesk_site`` (as ``alice``);
    the :class:`textual.pilot.Pilot`, with ``pilot.app.backdesk``.
``backdesk_cli``
    ``backdesk_site.cli``: run ``python -m core --config-dir … --data-dir …
    ARGS`` in a subprocess; returns :class:`CliResult` ``(code, stdout, stderr)``;
    ``account="bob"`` runs it with bob's roles (the default is an admin).

No fixture here is ``autouse``: installing Backdesk changes nothing for
tests that do not ask for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable, NamedTuple

import pytest

#: roles every test site starts with
DEFAULT_ROLES = {
    "admin": {"title": "Administrator", "permissions": ["*"]},
    "reader": {"title": "Reader", "permissions": ["*.read"]},
}
DEFAULT_SIZE = (80, 24)


class CliResult(NamedTuple):
    """What a ``backdesk`` subprocess did."""

    code: int
    stdout: str
    stderr: str


class BackdeskSite:
    """A Backdesk site in a folder: ``config/`` (backdesk.yaml, plugins.yaml) and ``data/``.

    Every change (:meth:`operator`, :meth:`role`, :meth:`plugins`,
    :meth:`settings`) rewrites the files at once; the next :meth:`open`,
    :meth:`run_app` or :meth:`cli` reads them.
    """

    def __init__(self, root: Path | str, *, site_name: str = "Test GmbH", locale: str = "en_US",
                 timezone: str = "Europe/Berlin", currency: str = "EUR") -> None:
        from core.services.access import current_account  # only when a site is made

        self.root = Path(root)
        self.config_dir = self.root / "config"
        self.data_dir = self.root / "data"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.site = {"name": site_name, "locale": locale, "timezone": timezone, "currency": currency}
        self.roles: dict[str, dict] = {k: dict(v) for k, v in DEFAULT_ROLES.items()}
        self.operators: dict[str, dict] = {}
        self.extra_config: dict[str, Any] = {}
        #: folders added to sys.path (for this process) and PYTHONPATH (for cli())
        self.pythonpath: list[str] = []
        self._entries: list[dict] = []
        self._opened: list[Any] = []
        self._monkeypatch: pytest.MonkeyPatch | None = None
        #: the OS account the CLI runs as (it has no --account option)
        self.cli_account = current_account()
        self.operator("alice", roles=["admin"], name="Alice Admin")
        if self.cli_account != "alice":
            self.operator(self.cli_account, roles=["admin"], name="Test Runner")
        self.plugins([])

    # ------------------------------------------------------------------ config
    def role(self, name: str, permissions: Iterable[str], *, title: str | None = None) -> "BackdeskSite":
        """Add (or replace) a role granting ``permissions`` (patterns like ``"visitors.*"``)."""
        self.roles[name] = {"title": title or name.replace("_", " ").title(),
                            "permissions": list(permissions)}
        self._write_config()
        return self

    def operator(self, account: str, roles: Iterable[str] = (), *,
                 permissions: Iterable[str] | None = None, name: str | None = None,
                 email: str | None = None, person_id: int | None = None) -> "BackdeskSite":
        """Add (or replace) an operator with ``roles``; ``permissions`` makes a
        role of the same name as the account holding exactly those."""
        roles = list(roles)
        if permissions is not None:
            self.role(account, permissions, title=f"{account} (test)")
            roles.append(account)
        op: dict[str, Any] = {"name": name or account.title(), "roles": roles}
        if email:
            op["email"] = email
        if person_id is not None:
            op["person_id"] = person_id
        self.operators[account] = op
        self._write_config()
        return self

    def configure(self, **sections: Any) -> "BackdeskSite":
        """Extra top-level sections of backdesk.yaml (``kiosk={...}``, ...)."""
        self.extra_config.update(sections)
        self._write_config()
        return self

    def _write_config(self) -> None:
        import yaml

        doc = {"site": self.site, "roles": self.roles, "operators": self.operators, **self.extra_config}
        (self.config_dir / "backdesk.yaml").write_text(
            yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def plugins(self, entries: Iterable[str | Path | dict]) -> "BackdeskSite":
        """Write plugins.yaml, in this order. Each entry is one of:

        * ``"visitors"``: a plugin by name (built-in or installed entry point);
        * ``"mycompany.visitors"`` (a dotted module path): a local module, its
          plugin name the last part;
        * a :class:`~pathlib.Path` or ``"…/visitors.py"``: a file or package
          folder, its plugin name the file's stem or the folder's name;
        * a dict with the plugins.yaml keys (``name``, ``module``, ``path``,
          ``enabled``, ``settings``).
        """
        self._entries = [_entry(e) for e in entries]
        self._write_plugins()
        return self

    def settings(self, plugin: str, **values: Any) -> "BackdeskSite":
        """Set settings of a plugin already listed by :meth:`plugins`."""
        for entry in self._entries:
            if entry["name"] == plugin:
                entry.setdefault("settings", {}).update(values)
                self._write_plugins()
                return self
        raise KeyError(f"{plugin!r} is not in plugins.yaml; list it with plugins([...]) first")

    def _write_plugins(self) -> None:
        import yaml

        (self.config_dir / "plugins.yaml").write_text(
            yaml.safe_dump({"plugins": self._entries}, sort_keys=False, allow_unicode=True),
            encoding="utf-8")

    def add_to_path(self, folder: Path | str) -> None:
        """Make modules in ``folder`` importable here (``sys.path``, including
        the ``backdesk`` entry points of distributions installed there) and in
        :meth:`cli` subprocesses (``PYTHONPATH``)."""
        import importlib

        folder = str(folder)
        if self._monkeypatch is not None:
            self._monkeypatch.syspath_prepend(folder)
        else:
            sys.path.insert(0, folder)
            importlib.invalidate_caches()
        self.pythonpath.insert(0, folder)

    # ------------------------------------------------------------------ opening
    def open(self, account: str = "alice", **kwargs: Any):
        """:func:`core.plugins.runtime.open_backdesk` on this site (closed after the test)."""
        from core.plugins.runtime import open_backdesk  # 12–35 ms: not in every pytest run

        bd = open_backdesk(self.config_dir, self.data_dir, account=account, **kwargs)
        self._opened.append(bd)
        return bd

    @contextlib.asynccontextmanager
    async def run_app(self, account: str = "alice", *, size: tuple[int, int] = DEFAULT_SIZE,
                      poll_interval: float = 0, backdesk=None, **app_kwargs: Any) -> AsyncIterator[Any]:
        """Run the shell headless: ``async with site.run_app() as pilot:``.

        ``pilot.app`` is the :class:`core.shell.app.BackdeskApp`, ``pilot.app.backdesk``
        the running Backdesk. ``poll_interval=0`` does not poll the store for
        other processes' changes (pass 0.2 to test those)."""
        from core.shell.app import make_app  # Textual: only for a test that opens the shell

        bd = backdesk if backdesk is not None else self.open(account)
        app = make_app(bd, poll_interval=poll_interval, **app_kwargs)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            yield pilot

    def cli_args(self) -> list[str]:
        return ["--config-dir", str(self.config_dir), "--data-dir", str(self.data_dir)]

    def cli(self, *args: str, input: str | None = None, env: dict | None = None,
            timeout: float = 300, account: str | None = None) -> CliResult:
        """Run ``python -m core --config-dir … --data-dir … ARGS`` in a
        subprocess; returns ``(code, stdout, stderr)``.

        The CLI runs as the OS account running the tests (:attr:`cli_account`,
        an admin; the CLI has no ``--account``). ``account="bob"`` runs it
        with bob's name and roles instead: the OS account is made bob's twin
        in ``backdesk.yaml`` for this run, so permissions are exercised."""
        if account is not None and account != self.cli_account:
            if account not in self.operators:
                raise KeyError(f"no operator {account!r} on this site; add it with site.operator()")
            mine = self.operators[self.cli_account]
            self.operators[self.cli_account] = dict(self.operators[account])
            self._write_config()
            try:
                return self.cli(*args, input=input, env=env, timeout=timeout)
            finally:
                self.operators[self.cli_account] = mine
                self._write_config()
        environ = dict(os.environ)
        paths = self.pythonpath + [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if paths:
            environ["PYTHONPATH"] = os.pathsep.join(paths)
        environ.setdefault("COLUMNS", "100")
        environ.update(env or {})
        proc = subprocess.run([sys.executable, "-m", "core", *self.cli_args(), *map(str, args)],
                              input=input, capture_output=True, text=True, env=environ,
                              cwd=self.root, timeout=timeout)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    def close(self) -> None:
        """Close every Backdesk :meth:`open` made (the fixture does this)."""
        while self._opened:
            self._opened.pop().close()


def _entry(e: str | Path | dict) -> dict:
    if isinstance(e, dict):
        entry = dict(e)
        if "path" in entry:
            entry["path"] = str(Path(entry["path"]).resolve())
        if "name" not in entry:
            raise ValueError(f"a plugins.yaml entry needs a name: {e!r}")
        return entry
    text = str(e)
    if isinstance(e, Path) or "/" in text or os.sep in text or text.endswith(".py"):
        path = Path(text).resolve()
        name = path.stem if path.suffix == ".py" and path.name != "__init__.py" else (
            path.parent.name if path.name == "__init__.py" else path.name)
        return {"name": name, "path": str(path)}
    if "." in text:
        return {"name": text.rsplit(".", 1)[1], "module": text}
    return {"name": text}


# ---------------------------------------------------------------------- helpers


def publish(bd, name: str, data: dict | None = None, *, check: bool = True) -> int:
    """Publish the domain event ``name`` through ``core.services.events`` (as any
    plugin would) and deliver it to every plugin's ``backdesk_event``.

    Returns the event's id. ``check``: raise ``AssertionError`` with the
    error when a handler failed (the bus itself only records it)."""
    event_id = bd.services.events.publish(name, data or {})
    if check:
        failed = bd.table("core.event_deliveries").find({"event_id": event_id, "status": "failed"})
        if failed:
            row = failed[0]
            raise AssertionError(f"plugin {row['plugin']!r} failed on {name}: {row['error']}\n"
                                 f"{row.get('traceback') or ''}")
    return event_id


def deliveries(bd, event_id: int) -> dict[str, str]:
    """``{plugin: status}`` of an event's deliveries ("ok", "failed")."""
    rows = bd.table("core.event_deliveries").find({"event_id": event_id})
    return {row["plugin"]: row["status"] for row in rows}


def notifications(bd, account: str, *, unread_only: bool = False) -> list[dict]:
    """The inbox of ``account``, newest first (whoever ``bd``'s operator is)."""
    where: dict[str, Any] = {"account": account}
    if unread_only:
        where["read"] = False
    return bd.table("core.notifications").find(where, order_by="-id")


async def wait_for(pilot, predicate: Callable[[], Any], timeout: float = 60.0,
                   message: str | None = None) -> None:
    """Let the app run until ``predicate()`` is true; AssertionError after ``timeout``.

    The deadline only ends a test that already failed, so it is generous: on
    a loaded machine (CI running several suites at once) a screen can take
    seconds. Wait for what the test needs, never for a time.

    Sleeps with ``asyncio.sleep`` rather than ``pilot.pause()``: pause waits
    for the current screen, which never finishes when a plugin broke it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: BaseException | None = None
    while True:
        try:
            if predicate():
                return
            last = None
        except Exception as exc:  # widgets not mounted yet: keep waiting
            last = exc
        if loop.time() >= deadline:
            why = f" (last error: {type(last).__name__}: {last})" if last else ""
            raise AssertionError((message or "condition not reached") + f" within {timeout}s{why}")
        await asyncio.sleep(0.05)


async def pick(pilot, form, key: str, typed: str, expect: str | None = None) -> Any:
    """Type ``typed`` into the picker of field ``key`` of ``form`` (a
    :class:`~core.shell.widgets.RecordForm`), wait for the list, check that its
    highlighted match is ``expect`` (when given) and take it with Enter, as an
    operator would. Returns the chosen value."""
    picker = form.control(key)
    picker.focus()
    await pilot.pause()
    picker.input.value = ""
    await pilot.press(*typed)
    await wait_for(pilot, lambda: picker.expanded and picker.list.highlighted is not None,
                   message=f"matches for {typed!r}")
    if expect is not None:
        label = picker.choices[picker.list.highlighted].label
        assert label == expect, f"{typed!r} offers {label!r} first, not {expect!r}"
    await pilot.press("enter")
    await wait_for(pilot, lambda: picker.value is not None, message=f"a choice for {typed!r}")
    return picker.value


def field_error(form, key: str | None) -> str:
    """The error a :class:`~core.shell.widgets.RecordForm` (or a ``FormScreen``)
    shows at field ``key`` ("" when none); ``None``: the form's own error
    line (a service's error that names no field of the form)."""
    form = getattr(form, "form", form)
    if key is None:
        widget = form.query_one(".record-form--form-error")
    else:
        if key not in form._errors:
            raise KeyError(f"the form has no field {key!r}; it has: {', '.join(form._errors)}")
        widget = form._errors[key]
    rendered = widget.render()
    return str(getattr(rendered, "plain", rendered))


def text_of(app_or_pilot, selector: str) -> str:
    """The plain text a widget (a ``Static``) or a dashboard card shows on
    the current screen; cards are named ``#card-<plugin>-<card id>``."""
    app = getattr(app_or_pilot, "app", app_or_pilot)
    card = _board_card(app, selector)
    if card is not None:
        return card.text
    widget = app.screen.query_one(selector)
    rendered = widget.render()
    plain = getattr(rendered, "plain", None)
    return plain if plain is not None else str(rendered)


def card_keys(app_or_pilot) -> list[str]:
    """The dashboard's cards on the current screen, as ``<plugin>-<card id>``."""
    app = getattr(app_or_pilot, "app", app_or_pilot)
    board = getattr(app.screen, "board", None)
    return [card.key for card in board.cards] if board is not None else []


def palette_offers(app_or_pilot, text: str) -> bool:
    """True when the command palette (Ctrl+P) is open and the command Enter
    would run (the highlighted one) shows ``text``. The palette searches
    while one types; wait for this before pressing Enter::

        await pilot.press("ctrl+p", *"Hand over the oldest parcel")
        await wait_for(pilot, lambda: palette_offers(pilot, "Hand over the oldest parcel"))
        await pilot.press("enter")
    """
    from textual.command import CommandList, CommandPalette

    app = getattr(app_or_pilot, "app", app_or_pilot)
    if not isinstance(app.screen, CommandPalette):
        return False
    commands = app.screen.query_one(CommandList)
    if commands.highlighted is None:
        return False
    option = commands.get_option_at_index(commands.highlighted)
    hit = getattr(option, "hit", None)
    return text in str(getattr(hit, "text", None) or option.prompt)


def select_card(app_or_pilot, key: str) -> None:
    """Put the dashboard's cursor on a card (``<plugin>-<card id>``, a
    leading ``#card-`` is accepted) and the focus on the dashboard, as the
    arrow keys would; Enter then opens the card's screen."""
    app = getattr(app_or_pilot, "app", app_or_pilot)
    board = getattr(app.screen, "board", None)
    key = key.removeprefix("#card-")
    if board is None:
        raise LookupError("the current screen has no dashboard")
    index = next((i for i, card in enumerate(board.cards) if card.key == key), None)
    if index is None:
        raise LookupError(f"no card {key!r} on the dashboard; there are: {', '.join(card_keys(app))}")
    board.focus()
    board.action_jump(index)


def _board_card(app, selector: str):
    if not selector.startswith("#card-"):
        return None
    board = getattr(app.screen, "board", None)
    if board is None:
        return None
    try:
        return board.card(selector[len("#card-"):])
    except KeyError:
        return None


# ---------------------------------------------------------------------- fixtures


@pytest.fixture
def backdesk_site(tmp_path_factory, monkeypatch) -> Iterable[BackdeskSite]:
    """A throwaway Backdesk site; the developer's own config is kept out."""
    home = tmp_path_factory.mktemp("backdesk-home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for var in list(os.environ):
        if var.startswith("BACKDESK_"):
            monkeypatch.delenv(var)
    site = BackdeskSite(tmp_path_factory.mktemp("backdesk-site"))
    site._monkeypatch = monkeypatch
    try:
        yield site
    finally:
        site.close()


@pytest.fixture
def backdesk(backdesk_site):
    """A started Backdesk on ``backdesk_site`` as ``alice`` (an admin)."""
    return backdesk_site.open("alice")


@pytest.fixture
def backdesk_cli(backdesk_site) -> Callable[..., CliResult]:
    """Run the ``backdesk`` command on ``backdesk_site``: ``code, out, err = backdesk_cli("plugins")``."""
    return backdesk_site.cli


try:  # async fixtures need pytest-asyncio (in any mode)
    import pytest_asyncio
except ImportError:  # pragma: no cover - without it, use site.run_app() in the test
    pass
else:

    @pytest_asyncio.fixture
    async def backdesk_pilot(backdesk_site):
        """The shell headless at 80x24 on ``backdesk_site`` as ``alice``: the Pilot."""
        async with backdesk_site.run_app("alice") as pilot:
            yield pilot
