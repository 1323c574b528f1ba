"""A real HylaFAX for the tests, private to the test session.

The peer (tests/peers.py) builds a spool of its own in a fresh directory
from what the Debian packages install — the spool skeleton of
hylafax-server (``/var/spool/hylafax``: ``bin/``, ``config/``) and the files
in ``/etc/hylafax`` — and writes itself what ``faxsetup`` would have
written: ``etc/config`` (the scheduler's), ``etc/setup.cache`` and
``etc/hosts.hfaxd`` (127.0.0.1 may submit).  Then it runs the scheduler
``faxq -D -q SPOOL`` and the client-protocol server
``hfaxd -d -l 127.0.0.1 -i PORT -q SPOOL`` on a free port, attached, each
in its own process group, and checks them whole before any test uses them:
both processes run, the scheduler's FIFO exists and has a reader, the
listener on PORT is this hfaxd (not a stale one), and ``faxstat -s``
through it says the scheduler is running.

Nothing of the machine's own HylaFAX matters: a system spool that was
never set up (only ``etc/hosts.hfaxd``), a stale ``hfaxd`` on 4559 without
its ``faxq`` (both seen in CI, issue #28), or another test suite's HylaFAX
running at the same time.  There is no modem: submitted jobs stay in the
queue, which is what the tests look at with ``faxstat -s``.

Only root can run it (faxq and hfaxd switch to the fax user themselves).
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.peers import Peer, free_port, session_peer

PACKAGE_SPOOL = Path("/var/spool/hylafax")
LIBDATA = Path("/etc/hylafax")
SBIN = ("/usr/sbin", "/sbin")
CLIENT_TOOLS = ("sendfax", "faxstat", "faxrm")
SERVER_TOOLS = ("faxq", "hfaxd")
#: the spool's folders, as hylafax-server ships them (tmp is sticky, world-writable)
SPOOL_DIRS = ("archive", "client", "config", "dev", "docq", "doneq", "info", "log", "pollq", "recvq",
              "sendq", "status", "tmp")
#: what faxsetup writes, so the spool's own files are ours, not the machine's
OWN_ETC_FILES = ("config", "setup.cache", "setup.modem", "hosts.hfaxd")

SCHEDULER_CONFIG = """\
# The test session's HylaFAX scheduler (tests/plugins/documents/hylafax.py)
CountryCode:		49
AreaCode:		30
LongDistancePrefix:	0
InternationalPrefix:	00
DialStringRules:	etc/dialrules
LogFacility:		daemon
ServerTracing:		1
"""


def which(name: str) -> str | None:
    return shutil.which(name) or next((str(Path(d) / name) for d in SBIN if (Path(d) / name).exists()), None)


def fax_user() -> str:
    """The account HylaFAX runs as (Debian: uucp): the owner of the
    package's spool."""
    try:
        return pwd.getpwuid(PACKAGE_SPOOL.stat().st_uid).pw_name
    except (OSError, KeyError):
        return "uucp"


def setup_cache(spool: Path) -> str:
    """``etc/setup.cache`` as ``faxsetup`` writes it (the spool's scripts
    source it), with this spool and this machine's programs."""
    def tool(name: str, default: str = "") -> str:
        return which(name) or default

    values = {
        "AWK": tool("awk"), "BASE64ENCODE": tool("base64"), "BIN": "/usr/bin", "CAT": tool("cat"),
        "CHGRP": tool("chgrp"), "CHMOD": tool("chmod"), "CHOWN": tool("chown"), "CP": tool("cp"),
        "DPSRIP": "", "ECHO": tool("echo"), "ENCODING": "base64", "FAXQ_SERVER": "yes",
        "FONTPATH": "/usr/share/fonts/type1/gsfonts", "FUSER": "fuser", "GREP": tool("grep"),
        "GSRIP": tool("gs"), "HFAXD_SERVER": "yes", "HFAXD_SNPP_SERVER": "no", "IMPRIP": "",
        "LIBDATA": str(spool / "etc"), "LIBEXEC": "/usr/sbin", "LN": tool("ln"), "MANDIR": "/usr/share/man",
        "MIMENCODE": "mimencode", "MKFIFO": tool("mkfifo"), "MV": tool("mv"),
        "PATH": "/usr/sbin:/bin:/usr/bin:/etc:/usr/local/bin", "PCL6CMD": "pcl6", "PSPACKAGE": "gs",
        "QPENCODE": "qp-encode", "RM": tool("rm"), "SBIN": "/usr/sbin", "SCRIPT_SH": tool("bash", "/bin/sh"),
        "SED": tool("sed"), "SENDMAIL": "/usr/lib/sendmail", "SPOOL": str(spool), "SYSVINIT": "",
        "TIFF2PDF": tool("tiff2pdf"), "TIFFBIN": "/usr/bin", "TTYCMD": tool("tty"),
        "UUCP_LOCKDIR": "/var/lock", "UUCP_LOCKTYPE": "ascii", "UUENCODE": "uuencode",
    }
    lines = ["# Written by the test session's HylaFAX peer (what faxsetup would write)"]
    lines += [f"{key}='{value}'" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def build_spool(spool: Path, *, package_spool: Path = PACKAGE_SPOOL, libdata: Path = LIBDATA) -> None:
    """A complete spool in ``spool`` (which must not exist yet), owned by
    the fax user like the package's."""
    user = fax_user()
    spool.mkdir(mode=0o755)
    for name in SPOOL_DIRS:
        (spool / name).mkdir()
    for name in ("bin", "config"):  # the package's scripts and modem configs
        source = package_spool / name
        if source.is_dir():
            shutil.copytree(source, spool / name, symlinks=True, dirs_exist_ok=True)
        else:
            (spool / name).mkdir(exist_ok=True)
    for converter in ("ps2fax", "pdf2fax"):  # faxsetup links the Ghostscript variants
        link = spool / "bin" / converter
        if not link.exists() and (spool / "bin" / f"{converter}.gs").exists():
            link.symlink_to(f"{converter}.gs")
    etc = spool / "etc"
    etc.mkdir()
    if libdata.is_dir():  # dial rules, cover page, templates, hfaxd.conf, typerules, …
        for entry in libdata.iterdir():
            if entry.name in OWN_ETC_FILES:
                continue
            if entry.is_dir():
                shutil.copytree(entry, etc / entry.name, symlinks=True)
            else:
                shutil.copy2(entry, etc / entry.name)
    (etc / "config").write_text(SCHEDULER_CONFIG)
    (etc / "setup.cache").write_text(setup_cache(spool))
    (etc / "hosts.hfaxd").write_text("127.0.0.1\n")
    for path in [spool, *spool.rglob("*")]:
        if path.is_symlink():
            continue
        owner = "root" if path.relative_to(spool).parts[:1] in (("bin",), ("etc",)) and path.is_dir() else user
        shutil.chown(path, owner, user)
    os.chmod(etc / "hosts.hfaxd", 0o600)
    os.chmod(spool / "tmp", 0o1777)


def scheduler_reachable(fifo: Path) -> bool:
    """True when ``fifo`` is a FIFO that a scheduler reads (opening it to
    write without blocking succeeds only when a reader has it open)."""
    try:
        if not stat.S_ISFIFO(fifo.stat().st_mode):
            return False
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    os.close(fd)
    return True


class HylaFax(Peer):
    """faxq + hfaxd on a private spool and a free port of 127.0.0.1.

    ``HylaFax(port=N)`` asks for port N first (the fixture tests use it to
    put a stale hfaxd in the way); ``package_spool``/``libdata`` are where
    the spool is built from (the fixture tests point them at a spool that
    was never set up)."""

    name = "HylaFAX"
    dir_mode = 0o755  # the fax user must reach the spool inside
    #: two suites at once on 2 CPUs once kept faxstat from answering a new
    #: peer for 30 s; the bound only ends a start that fails
    start_timeout = 120.0
    host = "127.0.0.1"

    def __init__(self, *, port: int | None = None, package_spool: Path = PACKAGE_SPOOL,
                 libdata: Path = LIBDATA) -> None:
        super().__init__()
        self.wanted_port = port
        self.package_spool = package_spool
        self.libdata = libdata
        self.faxq = self.hfaxd = None

    @property
    def spool(self) -> Path:
        assert self.dir is not None
        return self.dir / "spool"

    @property
    def server(self) -> str:
        """``host:port`` for the client tools' ``-h``."""
        return f"{self.host}:{self.port}"

    def requirements(self):
        tools = [name for name in CLIENT_TOOLS + SERVER_TOOLS if which(name) is None]
        yield not tools, f"missing {', '.join(tools)} (apt-get install hylafax-server hylafax-client)"
        yield os.geteuid() == 0, "faxq and hfaxd start as root (they switch to the fax user themselves)"

    def launch(self) -> None:
        build_spool(self.spool, package_spool=self.package_spool, libdata=self.libdata)
        self.port, self.wanted_port = self.wanted_port or free_port(self.host), None
        spool = str(self.spool)
        self.faxq = self.spawn([which("faxq"), "-D", "-q", spool], cwd=spool)
        # -l before -i: bind to 127.0.0.1 only
        self.hfaxd = self.spawn([which("hfaxd"), "-d", "-l", self.host, "-i", str(self.port), "-q", spool],
                                cwd=spool)

    def problems(self) -> list[str]:
        problems = self.process_problems()
        if problems:
            return problems
        if not scheduler_reachable(self.spool / "FIFO"):
            return [f"faxq runs but {self.spool / 'FIFO'} has no reader yet"]
        problems = self.listener_problems(self.port)
        if problems:
            return problems
        out, err = self._faxstat(timeout=10)  # one slow answer is asked again (start_timeout)
        first = out.splitlines()[0] if out else ""
        if "scheduler" not in first or not first.rstrip().endswith(": Running"):
            return [f"faxstat -s -h {self.server} says {(first or err.strip() or 'nothing')!r}"]
        return []

    def _faxstat(self, timeout: float = 20) -> tuple[str, str]:
        try:
            # stdin from /dev/null: a refused login asks for a password
            out = subprocess.run([which("faxstat"), "-s", "-h", self.server], capture_output=True, text=True,
                                 stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "", f"faxstat did not answer in {timeout:g} s"
        return out.stdout, out.stderr

    # -- what the tests do with it ---------------------------------------------
    def faxstat(self) -> str:
        """``faxstat -s`` through this hfaxd: the scheduler's state and the
        send queue."""
        return self._faxstat()[0]

    def sendfax(self, path: Path, number: str) -> str:
        """Submit ``path`` to ``number``; sendfax's answer."""
        out = subprocess.run([which("sendfax"), "-h", self.server, "-n", "-d", number, str(path)],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
        return out.stdout + out.stderr

    def remove_job(self, job_id: str) -> None:
        subprocess.run([which("faxrm"), "-h", self.server, str(job_id)], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=20)


@pytest.fixture
def hylafax() -> HylaFax:
    """The session's private HylaFAX, checked whole before each test that
    uses it (and restarted when it is not)."""
    return session_peer(HylaFax)
