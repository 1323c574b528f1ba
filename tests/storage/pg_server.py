"""A real, throwaway PostgreSQL server for the tests (and the benchmark).

Debian's postgresql packages put ``initdb``/``pg_ctl`` in
``/usr/lib/postgresql/<version>/bin``.  The server refuses to run as root, so
as root everything runs as the ``postgres`` user; the cluster lives in a
fresh directory under the system temp dir (the pytest tmp dirs are
root-only), and the server listens on a Unix socket in that directory only
(no TCP port to collide with).  :meth:`PgServer.stop` stops it by its pid
and removes the directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid


#: the test session's server (tests/conftest.py: pg_session_server)
SESSION_SERVER: "PgServer | None" = None


def find_bindir() -> str | None:
    """The directory with initdb/pg_ctl/postgres, or None."""
    for pattern in ("/usr/lib/postgresql/*/bin",):
        for d in sorted(glob.glob(pattern), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
                        reverse=True):
            if all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
                return d
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl") and shutil.which("postgres"):
        return os.path.dirname(initdb)
    return None


def _run_as() -> tuple[list[str], pwd.struct_passwd | None]:
    """A command prefix that runs as an unprivileged user (root cannot run postgres)."""
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and there is no 'postgres' user to run the server as") from None
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"], user
    return ["su", "postgres", "-s", "/bin/sh", "-c"], user  # pragma: no cover - runuser is in util-linux


class PgServer:
    """``PgServer().start()``; ``.dsn()`` for a connection string; ``.stop()``."""

    def __init__(self, *, durable: bool = False, keep: str | None = None) -> None:
        self.bindir = find_bindir()
        self.durable = durable
        #: a folder the cluster is kept in (made when missing, reused when
        #: there, left in place by :meth:`stop`): bench/year.py's prepared year
        self.keep = keep
        self.root: str | None = None
        self.pid: int | None = None
        self.port = 5432

    @property
    def datadir(self) -> str:
        assert self.root
        return os.path.join(self.root, "cluster")

    @property
    def socket_dir(self) -> str:
        assert self.root
        return self.root

    def start(self) -> "PgServer":
        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        prefix, user = _run_as()
        if self.keep is not None:
            os.makedirs(self.keep, exist_ok=True)
            self.root = self.keep
        else:
            self.root = tempfile.mkdtemp(prefix="bdpg-")
        os.chmod(self.root, 0o700)
        if user is not None:
            os.chown(self.root, user.pw_uid, user.pw_gid)
        log = os.path.join(self.root, "server.log")
        if not os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            subprocess.run([*prefix, os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-U", "postgres",
                            "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        opts = [f"-c listen_addresses=''", f"-c unix_socket_directories={self.socket_dir}",
                f"-p {self.port}", "-c max_connections=200", "-c shared_buffers=32MB"]
        if not self.durable:
            # Tests need speed, not crash safety.
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        subprocess.run([*prefix, os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-l", log,
                        "-o", " ".join(opts), "-w", "-t", "60", "start"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with open(os.path.join(self.datadir, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        return self

    def dsn(self, dbname: str = "postgres", *, schema: str | None = None) -> str:
        dsn = f"host={self.socket_dir} port={self.port} user=postgres dbname={dbname}"
        if schema:
            dsn += f" options='-csearch_path={schema}'"
        return dsn

    @staticmethod
    def new_schema() -> str:
        return "t_" + uuid.uuid4().hex[:16]

    def stop(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGINT)  # "fast" shutdown
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(self.pid, signal.SIGQUIT)
                except ProcessLookupError:
                    pass
            self.pid = None
        if self.root is not None and self.keep is None:
            shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
