"""Fixtures for the serving tests."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import require_peer
from tests.serve.sshsite import SshSite


@pytest.fixture
def ssh_site(tmp_path):
    """A site whose SSH server the test starts with ``ssh_site.start()``."""
    require_peer("ssh", shutil.which("ssh") is not None, "apt-get install openssh-client")
    try:
        import asyncssh  # noqa: F401
    except ImportError:
        require_peer("asyncssh", False, "pip install 'backdesk[ssh]'")
    site = SshSite(tmp_path)
    yield site
    site.stop()
