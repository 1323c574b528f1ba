"""Fixtures for the telephony tests: a site with the demo directory, and a
real Asterisk (started once per session, reset between tests)."""

from __future__ import annotations

import pytest

from tests.peers import session_peer

from asterisk_pbx import AsteriskPBX
from telephony_helpers import ALWAYS_OPEN, Site, Switchboard, require_asterisk


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path, dict(ALWAYS_OPEN))


@pytest.fixture
def bob(site):
    bd = site.open("bob")
    yield bd
    bd.close()


@pytest.fixture
def tel(bob):
    from plugins.telephony.service import service_for

    return service_for(bob.context("telephony"))


@pytest.fixture
def asterisk():
    """The session's Asterisk (tests/peers.py: started on first use, checked
    whole on every use, stopped at the end of the session)."""
    return session_peer(AsteriskPBX)


@pytest.fixture
def pbx(asterisk):
    """The session's Asterisk, quiet (no calls, phones answering, day service)
    before and after the test; ``pbx.ami`` is the test's own AMI client."""
    client = asterisk.client()
    client.reset()
    asterisk.clear_voicemail()
    asterisk.ami = client
    yield asterisk
    client.reset()
    client.close()


@pytest.fixture
def board(tmp_path, pbx):
    sb = Switchboard(tmp_path, pbx)
    yield sb
    sb.close()


@pytest.fixture
def own_asterisk():
    """An Asterisk of the test's own (to restart or kill it), stopped after."""
    require_asterisk()
    pbx = AsteriskPBX().start()
    pbx.ami = pbx.client()
    yield pbx
    try:
        pbx.ami.close()
    finally:
        pbx.stop()
