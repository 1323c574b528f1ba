"""Fixtures for the documents plugin: a site with the plugin, a real SMTP
server (aiosmtpd, STARTTLS + login) and the HylaFAX fixture (hylafax.py)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from pathlib import Path

import pytest

from tests.conftest import storage_yaml
from tests.dovecot import dovecot  # noqa: F401  (the fixture)
from tests.office import SITE_YAML
from tests.peers import free_port
from tests.plugins.documents.hylafax import hylafax  # noqa: F401  (the fixture)

CONFIG = SITE_YAML + """\
roles:
  admin: {title: Administrator, permissions: ["*"]}
  reception: {title: Reception, permissions: ["documents.*", "core.directory.read"]}
  staff: {title: Staff, permissions: ["documents.read"]}
operators:
  alice: {name: Alice Admin, roles: [admin]}
  bob: {name: Bob Reception, roles: [reception]}
  sam: {name: Sam Staff, roles: [staff]}
"""


class Site:
    """Config and data folders in tmp_path with the documents plugin."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_dir = root / "config"
        self.data_dir = root / "data"
        self.inbox = root / "inbox"
        self.files = root / "files"
        for d in (self.config_dir, self.inbox, self.files):
            d.mkdir()
        from core.services.access import current_account

        me = current_account()
        extra = f"  {me}: {{name: Test Runner, roles: [admin]}}\n" if me not in ("alice", "bob", "sam") else ""
        (self.config_dir / "backdesk.yaml").write_text(CONFIG + extra + storage_yaml(self.config_dir))
        #: plugins.yaml lines of other plugins loaded beside documents
        self.more_plugins: list[str] = []
        self.settings: dict = {"worker_interval": 0, "inbox": str(self.inbox), "max_file_mb": 1,
                               "smtp_from": "office@test.example", "retry_base_seconds": 60}
        self.write_plugins()

    def write_plugins(self, **settings) -> None:
        self.settings.update(settings)
        lines = ["plugins:", *self.more_plugins, "  - name: documents", "    settings:"]
        for key, value in self.settings.items():
            if isinstance(value, (dict, list)):
                value = json.dumps(value)  # YAML's flow style
            elif isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, str):
                value = '"' + value.replace('"', '\\"') + '"'
            lines.append(f"      {key}: {value}")
        (self.config_dir / "plugins.yaml").write_text("\n".join(lines) + "\n")

    def open(self, account: str = "alice"):
        from core.plugins.runtime import open_backdesk

        return open_backdesk(self.config_dir, self.data_dir, account=account, load_entry_points=False)

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.files / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def cli_args(self) -> list[str]:
        return ["--config-dir", str(self.config_dir), "--data-dir", str(self.data_dir)]


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path)


@pytest.fixture
def bd(site):
    backdesk = site.open()
    yield backdesk
    backdesk.close()


@pytest.fixture
def ctx(bd):
    return bd.context("documents")


# ------------------------------------------------------------------ SMTP
@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (what STARTTLS presents)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class SMTPServer:
    """A real aiosmtpd server on 127.0.0.1 requiring STARTTLS and login."""

    USER, PASSWORD = "office", "s3cret"

    def __init__(self, tls_files, port: int | None = None) -> None:
        self.cert, self.key = tls_files
        self.port = port or free_port()
        self.messages: list[dict] = []
        self.lock = threading.Lock()
        self.controller = None

    def start(self) -> "SMTPServer":
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                with server.lock:
                    server.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                            "data": envelope.original_content or envelope.content,
                                            "tls": session.ssl is not None,
                                            "login": getattr(session, "login_data", None)})
                return "250 OK"

        def authenticator(smtp, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == self.USER.encode() \
                and auth_data.password == self.PASSWORD.encode()
            return AuthResult(success=ok)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(self.key))
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, authenticator=authenticator,
                                     auth_required=True, auth_require_tls=True)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def settings(self) -> dict:
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_user": self.USER,
                "smtp_password": self.PASSWORD, "smtp_starttls": True, "smtp_cafile": str(self.cert),
                "smtp_timeout": 5.0}


@pytest.fixture
def smtp(tls_files):
    server = SMTPServer(tls_files).start()
    yield server
    server.stop()

