"""The ``ssh:`` section of backdesk.yaml and the identity handed to a child."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.config import load_config
from core.errors import ConfigError
from core.cli.serve.session import ENV_SESSION_FD, SessionError, pass_account, server_secret, take_account

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8i2pC5yYtBzXqBSrZtV0w3h3Yp6ZkG1p0Q2lq3x7bH alice@desk"


def write(tmp_path, text: str):
    cdir = tmp_path / "config"
    cdir.mkdir(exist_ok=True)
    (cdir / "backdesk.yaml").write_text(
        "roles:\n  admin: {title: A, permissions: ['*']}\noperators:\n  alice: {name: Alice, roles: [admin]}\n"
        + text)
    (cdir / "plugins.yaml").write_text("plugins: []\n")
    return cdir


def problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), tmp_path / "data")
    return [p.message for p in info.value.problems]


def test_ssh_defaults_and_values(tmp_path):
    config = load_config(write(tmp_path, ""), tmp_path / "data")
    assert (config.ssh.listen, config.ssh.port, config.ssh.max_sessions) == ("127.0.0.1", 2222, 20)
    assert config.ssh.host_key is None and config.ssh.authorized_keys == {}
    config = load_config(write(tmp_path, f"""\
ssh:
  port: 2022
  host_key: keys/host
  idle_timeout_minutes: 0
  max_sessions: 3
  trusted_user_ca_keys: ["{KEY}"]
  authorized_keys:
    alice: ["{KEY}"]
"""), tmp_path / "data")
    assert config.ssh.port == 2022 and config.ssh.idle_timeout_minutes == 0 and config.ssh.max_sessions == 3
    assert config.ssh.host_key == (tmp_path / "config" / "keys" / "host").resolve()
    assert config.ssh.authorized_keys == {"alice": (KEY,)}


def test_ssh_errors_name_file_line_and_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert problems(tmp_path, """\
ssh:
  port: 70000
  max_sessions: 0
  colour: blue
  authorized_keys:
    alice: ["ssh-rsa not base64!"]
    mallory: ["ssh-ed25519 AAAA"]
""") == [
        "config/backdesk.yaml:6: ssh.port: must be at most 65535, got 70000",
        "config/backdesk.yaml:7: ssh.max_sessions: must be at least 1, got 0",
        "config/backdesk.yaml:8: ssh.colour: unknown key 'colour' (known: listen, port, host_key, "
        "idle_timeout_minutes, max_sessions, trusted_user_ca_keys, authorized_keys)",
        "config/backdesk.yaml:10: ssh.authorized_keys.alice: 'ssh-rsa not base64!' is not an OpenSSH public "
        "key (a line like 'ssh-ed25519 AAAA... comment', without options)",
        "config/backdesk.yaml:11: ssh.authorized_keys.mallory: 'mallory' is not listed under operators: "
        "(known: alice)",
    ]


def test_the_account_goes_through_a_signed_pipe(tmp_path):
    data = tmp_path / "data"
    env: dict = {}
    fd = pass_account(data, "alice", env)
    assert oct(os.stat(data / "serve" / "session.key").st_mode & 0o777) == "0o600"
    assert take_account(data, env) == "alice"
    assert ENV_SESSION_FD not in env
    with pytest.raises(OSError):
        os.fstat(fd)  # read and closed


def test_a_forged_identity_is_refused(tmp_path):
    data = tmp_path / "data"
    server_secret(data)
    r, w = os.pipe()
    os.write(w, b'{"account": "alice", "nonce": "00", "mac": "' + b"0" * 64 + b'"}\n')
    os.close(w)
    with pytest.raises(SessionError, match="signature"):
        take_account(data, {ENV_SESSION_FD: str(r)})
    # and through the real command line: exit 2 with one line, never a shell as alice
    cdir = write(tmp_path, "")
    r, w = os.pipe()
    os.write(w, b'{"account": "alice", "nonce": "00", "mac": "00"}\n')
    os.close(w)
    result = subprocess.run([sys.executable, "-m", "core", "--config-dir", str(cdir), "--data-dir", str(data),
                             "plugins"], env={**os.environ, ENV_SESSION_FD: str(r)}, pass_fds=(r,),
                            capture_output=True, text=True)
    os.close(r)
    assert result.returncode == 2
    assert result.stderr.strip() == "backdesk: the session handed over does not carry the server's signature"


def test_a_loose_secret_is_not_trusted(tmp_path):
    data = tmp_path / "data"
    env: dict = {}
    pass_account(data, "alice", env)
    os.chmod(data / "serve" / "session.key", 0o644)
    with pytest.raises(SessionError, match="0600"):
        take_account(data, env)
