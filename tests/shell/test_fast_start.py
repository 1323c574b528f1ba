"""`backdesk` (the shell) starts without click and without the plugins'
commands; subcommands load config and plugins once. Real processes: the
shell runs in a pseudo-terminal, errors are read from stderr."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import ON_POSTGRESQL

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")

#: prints which of these modules the process imported, when it exits
MODULES_AT_EXIT = textwrap.dedent("""\
    import atexit, os, sys
    def _report():
        with open(os.environ["MODULES_OUT"], "w") as fh:
            fh.write(" ".join(m for m in ("click", "core.cli.commands", "importlib.metadata")
                              if m in sys.modules))
    atexit.register(_report)
""")


def run_cli(site, *args, env=None):
    return subprocess.run([sys.executable, "-m", "core", *site.cli_args(), *args],
                          capture_output=True, text=True, timeout=120, env=env)


class Pty:
    """A process in a 100x30 pseudo-terminal, as an operator's terminal."""

    def __init__(self, argv: list[str], env: dict | None = None) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        env = {**(os.environ if env is None else env), "TERM": "xterm-256color"}
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=ROOT, start_new_session=True)
        os.close(slave)
        self.master = master
        self.output = b""

    def screen_text(self) -> str:
        return ANSI.sub(b"", self.output).decode("utf-8", "replace")

    def read_until(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen_text():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear; the terminal showed:\n"
                                     + self.screen_text()[-3000:])
            self._read(0.1)

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            chunk = b""
        self.output += chunk
        return bool(chunk)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError("the process did not end; it showed:\n" + self.screen_text()[-3000:])
            if not self._read(0.05):
                time.sleep(0.02)  # the terminal is closed; the process is leaving
        while self._read(0):  # what is left
            pass
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def term():
    opened = []

    def start(argv, env=None):
        t = Pty(argv, env)
        opened.append(t)
        return t

    yield start
    for t in opened:
        t.close()


def shell_argv(site, *extra) -> list[str]:
    """`backdesk --config-dir … --data-dir …` as the console script runs it
    (core.cli.main with sys.argv), reporting its modules when it exits."""
    return [sys.executable, "-c", MODULES_AT_EXIT + "from core.cli import main\nmain()\n",
            *site.cli_args(), *extra]


# ---------------------------------------------------------------- the shell itself

def test_the_shell_opens_and_quits_without_click(site, term, tmp_path):
    out = tmp_path / "modules"
    t = term(shell_argv(site), env={**os.environ, "MODULES_OUT": str(out)})
    t.read_until("Welcome,")
    t.send(b"\x11")  # Ctrl+Q
    assert t.wait() == 0, t.screen_text()[-2000:]
    loaded = out.read_text().split()
    # neither click nor core.cli.commands; nor importlib.metadata, which on a
    # PostgreSQL site psycopg imports for itself
    assert [m for m in loaded if not (ON_POSTGRESQL and m == "importlib.metadata")] == [], loaded


def test_open_shell_with_auto_pilot_as_the_benchmark_runs_it(tmp_path, term):
    """The demo company on first use (--demo), every built-in plugin, the
    dashboard filled: no click, no core.cli.commands; and opened again as the
    benchmark opens it, no importlib.metadata either, nor what the first
    frame does not need (hashlib, ctypes, the DATEV and invoicing code, Babel's
    data files whole: core.babeldata); the
    app's own keys in the demo's German both times (on the second start they
    were English)."""
    # the demo's own folder: only there does --demo make an unknown account its admin
    data = tmp_path / "xdg" / "backdesk-demo"
    result = tmp_path / "result"
    code = textwrap.dedent(f"""\
        import asyncio, sys, time
        from core.cli import open_shell

        async def auto_pilot(pilot):
            app = pilot.app
            cards = []
            deadline = time.monotonic() + 150  # ends a failing run only: a loaded machine is slow
            while time.monotonic() < deadline:
                board = getattr(app.screen, "board", None)
                if board is not None and board.all_rendered:
                    cards = board.cards
                    break
                await asyncio.sleep(0.002)
            loaded = [m for m in ("click", "core.cli.commands", "importlib.metadata") if m in sys.modules]
            # what the first frame does not need (docs/performance.md, start-up): OpenSSL's hashlib,
            # ctypes, the DATEV export and invoicing (the settings' rules are apart from them), the
            # audit trail's archive (gzip), the helpdesk's SLA clocks
            deferred = [m for m in ("hashlib", "ctypes", "plugins.accounting.datev", "plugins.accounting.invoicing",
                                    "gzip", "plugins.it.sla") if m in sys.modules]
            # Babel's data read whole (core.babeldata: the start reads a few tables from the cache)
            import babel.core, babel.localedata
            whole = [name for name, data in (("global", babel.core._global_data),
                                             *babel.localedata._cache.items())
                     if getattr(data, "_whole", True) is not None]
            quit = next(b.description for b in type(app).BINDINGS if b.key == "ctrl+q")
            with open({str(result)!r}, "w") as fh:
                fh.write(f"{{len(cards)}} cards; {{app.backdesk.operator.account}}; "
                         f"plugins {{sorted(r.name for r in app.backdesk.host.active)}}; "
                         f"quit {{quit}}; deferred {{deferred}}; babel whole {{whole}}; modules {{loaded}}")
            app.exit(return_code=3)

        open_shell(data_dir={str(data)!r}, demo=True, auto_pilot=auto_pilot)
    """)
    env = {k: v for k, v in os.environ.items() if k != "BACKDESK_CONFIG_DIR"}
    env["XDG_DATA_HOME"] = str(data.parent)
    # First use fills the demo company; the benchmark measures the runs after it
    # (bench/startup.py fills the demo first). Filling it checks the vendors'
    # IBANs with schwifty, which imports importlib.metadata: allowed there only.
    for first_use in (True, False):
        t = term([sys.executable, "-c", code], env=env)
        assert t.wait(timeout=300) == 3, t.screen_text()[-3000:]  # the app's return code is the exit code
        text = result.read_text()
        assert "plugins ['accounting', 'documents', 'hr', 'it', 'telephony']" in text, text
        # the key bar in the demo's German on both starts (core.shell.app imported after the language is set)
        assert "quit Beenden;" in text, text
        loaded = text.split("modules ")[1]
        assert loaded in (("[]", "['importlib.metadata']") if first_use else ("[]",)), text
        if not first_use:  # (filling the demo writes files and invoices)
            assert "deferred [];" in text, text
            # the cache the first start wrote: no Babel file read whole
            assert "babel whole [];" in text, text
        assert int(text.split()[0]) >= 5
        # the demo's one line, as `backdesk --demo` prints it, on first use only
        assert ("the demo company was created in" in t.screen_text()) == first_use
        assert any(data.iterdir()) or ON_POSTGRESQL


def test_sighup_leaves_the_shell_like_ctrl_q(site, term, tmp_path):
    t = term(shell_argv(site), env={**os.environ, "MODULES_OUT": str(tmp_path / "m")})
    t.read_until("Welcome,")
    t.proc.send_signal(signal.SIGHUP)
    assert t.wait() == 128 + signal.SIGHUP


# ---------------------------------------------------------------- errors on that path

def test_bad_config_on_the_shell_path_is_one_line_exit_2(site):
    (site.config_dir / "backdesk.yaml").write_text("site:\n  name: X\n  colour: blue\n")
    proc = run_cli(site)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("backdesk: ")
    assert "backdesk.yaml:3" in lines[0] and "site.colour" in lines[0]
    assert not site.data_dir.exists()  # nothing written
    # the same words as a subcommand's
    assert run_cli(site, "plugins").stderr == proc.stderr


def test_debug_on_the_shell_path_shows_the_traceback(site):
    (site.config_dir / "backdesk.yaml").write_text("site: [1, 2\n")
    proc = run_cli(site, "--debug")
    assert proc.returncode == 2
    assert proc.stderr.startswith("Traceback")
    assert proc.stderr.strip().splitlines()[-1].startswith("backdesk: ")
    assert "core/cli/__init__.py" in proc.stderr


def test_unknown_plugin_and_unknown_operator_on_the_shell_path(site):
    site.plugins([{"name": "telefony"}])
    proc = run_cli(site)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"backdesk: {site.config_dir / 'plugins.yaml'}:2: plugins.telefony.name: "
                                  "unknown plugin 'telefony'")
    site.plugins([])
    (site.config_dir / "backdesk.yaml").write_text("site: {name: Nobody GmbH}\n")  # no operators
    proc = run_cli(site)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "is not a Backdesk operator" in proc.stderr


def test_a_forged_session_fd_is_refused_on_the_shell_path(site):
    proc = run_cli(site, env={**os.environ, "BACKDESK_SESSION_FD": "not-a-number"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == "backdesk: BACKDESK_SESSION_FD is not a file descriptor"


def test_lines_that_are_not_the_shells_go_to_click_as_before(site, tmp_path):
    proc = run_cli(site, "--bogus")
    assert proc.returncode == 2 and "No such option '--bogus'" in proc.stderr
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    proc = subprocess.run([sys.executable, "-m", "core", "--config-dir", str(a_file)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "is a file" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "core", "--data-dir"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "requires an argument" in proc.stderr
    site.plugins([{"name": "greeter", "sample": True}])
    proc = run_cli(site, "-h")
    assert proc.returncode == 0
    assert re.search(r"^\s+greeter\s", proc.stdout, re.M)  # the plugins' commands are listed
    proc = run_cli(site, "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("backdesk, version ")



def test_a_command_line_loads_neither_rich_nor_textual(site, tmp_path):
    """A subcommand prints plain text: the dashboard's cards (core's people and
    inbox cards draw with Rich markup) are the app's, not a command's."""
    site.plugins([{"name": "telephony"}, {"name": "it"}, {"name": "hr"}])
    out = tmp_path / "modules"
    code = MODULES_AT_EXIT.replace('("click", "core.cli.commands", "importlib.metadata")',
                                   '("click", "rich", "textual")')
    for line in (["it", "tickets"], ["phone", "calls"], ["people", "list"]):
        proc = subprocess.run([sys.executable, "-c", code + "from core.cli import main\nmain()\n",
                               *site.cli_args(), *line], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "MODULES_OUT": str(out)})
        assert proc.returncode == 0, proc.stderr
        assert out.read_text().split() == ["click"], (line, out.read_text())

# ---------------------------------------------------------------- subcommands

COUNTING = '''
import os
from core.api.hookspecs import PluginInfo, hookimpl

def _count(what):
    with open(os.environ["COUNT_FILE"], "a") as fh:
        fh.write(what + "\\n")

_count("import")

@hookimpl
def backdesk_plugin_info():
    _count("info")
    return PluginInfo(name="counting", title="Counting", version="0.1")

@hookimpl
def backdesk_cli(cli, get_context):
    import click

    @cli.command("counting")
    def counting():
        """Say how often the plugin was loaded."""
        ctx = get_context()
        click.echo(f"loaded by {ctx.operator.account}")
'''

CLI_FAILS = '''
from core.api.hookspecs import PluginInfo, hookimpl

@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="cli_fails", title="CLI fails", version="0.2")

@hookimpl
def backdesk_cli(cli, get_context):
    raise RuntimeError("no commands today")
'''


def _plugin_file(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return path


def test_subcommands_load_the_plugins_once(site, tmp_path):
    count = tmp_path / "count"
    counting = _plugin_file(tmp_path, "counting", COUNTING)
    (site.config_dir / "plugins.yaml").write_text(f"plugins:\n  - name: counting\n    path: {counting}\n")
    env = {**os.environ, "COUNT_FILE": str(count)}
    for args, out in ((["plugins"], "counting"), (["counting"], "loaded by "), (["check"], "sound")):
        count.write_text("")
        proc = run_cli(site, *args, env=env)
        assert proc.returncode == 0, proc.stderr
        assert out in proc.stdout
        assert count.read_text().split() == ["import", "info"], args  # once, not twice


def test_a_plugin_whose_commands_fail_and_a_broken_one_still_show_right(site, tmp_path):
    cli_fails = _plugin_file(tmp_path, "cli_fails", CLI_FAILS)
    samples = Path(__file__).parent / "sample_plugins"
    (site.config_dir / "plugins.yaml").write_text(
        f"plugins:\n  - name: greeter\n    path: {samples / 'greeter.py'}\n"
        f"  - name: cli_fails\n    path: {cli_fails}\n"
        f"  - name: broken_import\n    path: {samples / 'broken_import.py'}\n")
    proc = run_cli(site, "plugins")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert rows["greeter"].split()[:4] == ["greeter", "1.2.3", "path", "ok"]
    assert rows["cli_fails"].split()[:4] == ["cli_fails", "0.2", "path", "ok"]
    assert "RuntimeError: no commands today" in rows["cli_fails"]  # why its commands are missing
    assert rows["broken_import"].split()[:3] == ["broken_import", "path", "failed"]
    assert "the vendor SDK is missing" in rows["broken_import"]
    assert run_cli(site, "greeter", "count").stdout.strip() == "0 greetings"


def test_the_state_reloads_when_the_line_names_another_config(site, tmp_path):
    """Plugins are loaded for the commands from the first --config-dir of the
    line; click takes the last one, and the command must see that config."""
    other = tmp_path / "other-config"
    other.mkdir()
    (other / "backdesk.yaml").write_text((site.config_dir / "backdesk.yaml").read_text())
    (other / "plugins.yaml").write_text(
        f"plugins:\n  - name: greeter\n    path: {Path(__file__).parent / 'sample_plugins' / 'greeter.py'}\n")
    proc = run_cli(site, "--config-dir", str(other), "plugins")
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()[1:]] == ["greeter"]
