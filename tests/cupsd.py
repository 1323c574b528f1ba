"""A real CUPS print server for the tests, private to the test session.

The peer (tests/peers.py) writes a throwaway CUPS configuration into a fresh
directory — ``cups-files.conf`` with its own ServerRoot, spool, cache, state
and logs, ``cupsd.conf`` listening on 127.0.0.1 and a free port only, and a
``printers.conf`` with the test queues — and runs ``cupsd -f`` attached, in
its own process group. Nothing of the machine's own CUPS is read or used.

The queues use the Generic PDF printer of cups-filters (PPD from Debian's
``cups-filters``) on a ``file:`` device, so a print job runs through the real
filter chain (pdftopdf applies copies and page ranges) and what was
"printed" is a PDF in the peer's ``out`` folder, with the PJL job header the
printer would get (``@PJL SET DUPLEX=ON`` for a two-sided job):

- ``office-pdf``: prints into ``out/office-pdf.pdf``;
- ``lobby-pdf``: a second such printer (a kiosk's, in the tests);
- ``broken``: its device cannot be opened, so CUPS stops every job (failed);
- ``paused``: a stopped printer (``cupsdisable``): jobs wait there, held;
- ``tray-pdf``: like office-pdf, with paper trays (tray-1, tray-2, manual);
  the chosen one shows in the output as ``@PJL SET MEDIASOURCE=TRAY2``.

It is whole when cupsd runs, the listener on its port is ours, ``lpstat -r``
answers "scheduler is running" and ``lpstat -p`` lists every queue.
Clients reach it through ``CUPS_SERVER=127.0.0.1:PORT`` (:attr:`server`).
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.peers import Peer, free_port, session_peer, wait_until

PPD = Path("/usr/share/ppd/cupsfilters/Generic-PDF_Printer-PDF.ppd")

#: queue name -> (description, device, state)
QUEUES = {
    "office-pdf": ("Büro PDF", "file://{out}/office-pdf.pdf", "Idle"),
    "lobby-pdf": ("Empfang PDF", "file://{out}/lobby-pdf.pdf", "Idle"),
    "broken": ("Kaputt", "file:///nonexistent/backdesk-test/out.pdf", "Idle"),
    "paused": ("Angehalten", "file://{out}/paused.pdf", "Stopped"),
    "tray-pdf": ("Fächer PDF", "file://{out}/tray-pdf.pdf", "Idle"),
}

#: the paper trays of tray-pdf (a JCL option, so the chosen tray shows in the output as PJL)
TRAYS_PPD = """\
*JCLOpenUI *InputSlot/Paper Tray: PickOne
*OrderDependency: 100 JCLSetup *InputSlot
*DefaultInputSlot: Auto
*InputSlot Auto/Automatic: "@PJL SET MEDIASOURCE=AUTO<0A>"
*InputSlot Tray1/Tray 1: "@PJL SET MEDIASOURCE=TRAY1<0A>"
*InputSlot Tray2/Tray 2: "@PJL SET MEDIASOURCE=TRAY2<0A>"
*InputSlot Manual/Manual Feed: "@PJL SET MEDIASOURCE=MANUAL<0A>"
*JCLCloseUI: *InputSlot
"""

CUPSD_CONF = """\
# The test session's CUPS (tests/cupsd.py)
Listen 127.0.0.1:{port}
LogLevel info
MaxLogSize 0
Browsing No
BrowseLocalProtocols none
DefaultAuthType None
WebInterface No
DefaultPolicy open
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy open>
  <Limit All>
    Order allow,deny
    Allow all
  </Limit>
</Policy>
"""

CUPS_FILES_CONF = """\
ServerRoot {dir}
RequestRoot {dir}/spool
TempDir {dir}/spool/tmp
CacheDir {dir}/cache
StateDir {dir}/state
AccessLog {dir}/log/access_log
ErrorLog {dir}/log/error_log
PageLog {dir}/log/page_log
FileDevice Yes
Sandboxing Relaxed
Printcap {dir}/printcap
"""

PRINTER = """\
<Printer {name}>
Info {info}
Location Testraum
MakeModel Generic PDF Printer
DeviceURI {device}
State {state}
StateMessage {message}
Accepting Yes
Shared No
JobSheets none none
ErrorPolicy abort-job
OpPolicy open
</Printer>
"""


def _lpstat(server: str, *args: str) -> str:
    env = {**os.environ, "LC_ALL": "C", "CUPS_SERVER": server}
    try:
        return subprocess.run(["lpstat", *args], env=env, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


class Cups(Peer):
    name = "CUPS"
    dir_mode = 0o755  # filters run as the lp user and read the spool through it

    def requirements(self):
        return [
            (shutil.which("cupsd") is not None and shutil.which("lpstat") is not None,
             "apt-get install cups cups-client cups-bsd"),
            (PPD.is_file(), "apt-get install cups-filters (the Generic PDF printer)"),
            (importlib.util.find_spec("cups") is not None,
             "pycups: apt-get install libcups2-dev gcc, then pip install -e '.[test,print]'"),
        ]

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def out(self) -> Path:
        assert self.dir is not None
        return self.dir / "out"

    def launch(self) -> None:
        assert self.dir is not None
        for sub in ("spool", "spool/tmp", "cache", "state", "log", "ppd", "out"):
            (self.dir / sub).mkdir()
        os.chmod(self.out, 0o777)  # the file: device is written by cupsd
        self.port = free_port(reserve=False)
        (self.dir / "cupsd.conf").write_text(CUPSD_CONF.format(port=self.port))
        (self.dir / "cups-files.conf").write_text(CUPS_FILES_CONF.format(dir=self.dir))
        printers = []
        for name, (info, device, state) in QUEUES.items():
            ppd = PPD.read_text(encoding="latin-1")
            if name == "tray-pdf":
                at = ppd.index("*JCLOpenUI *Duplex")
                ppd = ppd[:at] + TRAYS_PPD + ppd[at:]
            (self.dir / "ppd" / f"{name}.ppd").write_text(ppd, encoding="latin-1")
            printers.append(PRINTER.format(name=name, info=info, device=device.format(out=self.out),
                                           state=state, message="Paused" if state == "Stopped" else ""))
        (self.dir / "printers.conf").write_text("".join(printers))
        self.spawn(["cupsd", "-f", "-c", str(self.dir / "cupsd.conf"), "-s", str(self.dir / "cups-files.conf")])

    def problems(self) -> list[str]:
        problems = self.process_problems() or self.listener_problems(self.port)
        if problems:
            return problems
        if "scheduler is running" not in _lpstat(self.server, "-r"):
            return ["lpstat -r: the scheduler does not answer"]
        listed = _lpstat(self.server, "-p")
        missing = [q for q in QUEUES if f"printer {q} " not in listed]
        return [f"lpstat -p does not list {', '.join(missing)}"] if missing else []

    # -- for the tests -------------------------------------------------------------
    def printed(self, queue: str = "office-pdf") -> bytes:
        """What the last job on ``queue`` sent to its device (PJL header + PDF)."""
        path = self.out / f"{queue}.pdf"
        return path.read_bytes() if path.exists() else b""

    def printed_pages(self, queue: str = "office-pdf") -> list[str]:
        """The text of each page of what ``queue`` printed last."""
        import pypdf

        data = self.printed(queue)
        start = data.find(b"%PDF")
        if start < 0 or b"%%EOF" not in data[start:]:
            return []  # nothing printed, or the device file is still being written (a wait asks again)
        return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data[start:])).pages]

    def clear(self) -> None:
        """Cancel every job and remove what was printed (between tests)."""
        subprocess.run(["cancel", "-a", "-x"], env={**os.environ, "CUPS_SERVER": self.server},
                       capture_output=True, timeout=30)
        wait_until(lambda: not _lpstat(self.server, "-o").strip(), 30)
        for path in self.out.glob("*"):
            path.unlink()


@pytest.fixture
def cups_server(monkeypatch):
    """The session's CUPS, its queues emptied; CUPS_SERVER points at it (for
    the app in this process and the CLI processes the test starts)."""
    server = session_peer(Cups)
    server.clear()
    monkeypatch.setenv("CUPS_SERVER", server.server)
    return server
