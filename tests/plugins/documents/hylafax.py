"""A real HylaFAX for the tests: Debian's hylafax-server on 127.0.0.1:4559.

The session fixture uses a HylaFAX that already answers on the port;
otherwise (as root) it configures the spool once with ``faxsetup`` — the
answers refuse to restart servers and to add a modem, and a timeout ends
the modem probe that hangs on machines without one — allows 127.0.0.1 in
``hosts.hfaxd``, and starts the scheduler (``faxq -D``) and the client
protocol server (``hfaxd -d -i 4559``) attached, so it knows their process
ids and stops exactly those at the end. There is no modem: submitted jobs
stay in the queue, which is what the tests look at with ``faxstat -s``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

SPOOL = Path("/var/spool/hylafax")
PORT = 4559
SBIN = ("/usr/sbin", "/sbin")


def _which(name: str) -> str | None:
    return shutil.which(name) or next((str(Path(d) / name) for d in SBIN if (Path(d) / name).exists()), None)


def _answers(port: int = PORT) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(2)
            return s.recv(200).startswith(b"220")
    except OSError:
        return False


def _configure() -> None:
    if not (SPOOL / "etc" / "setup.cache").exists():
        # "" accepts the parameters; "n": do not restart servers, do not add a modem
        subprocess.run([_which("faxsetup"), "-server", "-quiet"], input="\nn\nn\nn\nn\nn\n", text=True,
                       capture_output=True, timeout=120)
    hosts = SPOOL / "etc" / "hosts.hfaxd"
    lines = hosts.read_text().splitlines() if hosts.exists() else []
    if "127.0.0.1" not in lines:
        hosts.write_text("\n".join(lines + ["127.0.0.1"]) + "\n")
        shutil.chown(hosts, "uucp", "uucp")
        os.chmod(hosts, 0o600)


def _require_peer():
    """tests/conftest.py's require_peer (fails in CI, skips elsewhere)."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "conftest.py"
    spec = importlib.util.spec_from_file_location("backdesk_tests_root_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.require_peer


def _faxq_running() -> bool:
    fifo = SPOOL / "FIFO"
    if not fifo.exists():
        return False
    try:  # a scheduler reads the FIFO: opening it for writing does not block then
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    os.close(fd)
    return True


@pytest.fixture(scope="session")
def hylafax():
    """``{"host": "127.0.0.1", "port": 4559}`` of a running HylaFAX."""
    require_peer = _require_peer()

    tools = {name: _which(name) for name in ("sendfax", "faxstat", "faxq", "hfaxd", "faxsetup")}
    missing = [n for n, p in tools.items() if p is None]
    require_peer("HylaFAX", not missing, f"missing {', '.join(missing)} (apt-get install hylafax-server "
                                         "hylafax-client)")
    started: list[subprocess.Popen] = []
    if not _answers():
        require_peer("HylaFAX", os.geteuid() == 0, "not running, and only root can start it")
        _configure()
        if not _faxq_running():
            started.append(subprocess.Popen([tools["faxq"], "-D", "-q", str(SPOOL)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        started.append(subprocess.Popen([tools["hfaxd"], "-d", "-i", str(PORT), "-q", str(SPOOL)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 15
        while not _answers() and time.monotonic() < deadline:
            time.sleep(0.1)
        require_peer("HylaFAX", _answers(), "hfaxd did not answer on 127.0.0.1:4559")
    yield {"host": "127.0.0.1", "port": PORT}
    for proc in reversed(started):
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def faxstat() -> str:
    return subprocess.run([_which("faxstat"), "-s", "-h", f"127.0.0.1:{PORT}"], capture_output=True, text=True,
                          timeout=20).stdout


def remove_job(job_id: str) -> None:
    subprocess.run([_which("faxrm") or "faxrm", "-h", f"127.0.0.1:{PORT}", str(job_id)], capture_output=True,
                   timeout=20)
