"""Fixtures for the telephony tests: a site with the demo directory, and a
real Asterisk (started once per session, reset between tests)."""

from __future__ import annotations

import time

import pytest

from tests.peers import require_peer, session_peer

from asterisk_pbx import AsteriskPBX, installed
from telephony_helpers import Site

#: the switchboard is staffed around the clock (public holidays too): no night service in the way
ALWAYS_OPEN = {"business_hours": "00:00-24:00", "business_days": [1, 2, 3, 4, 5, 6, 7], "night_on_holidays": False}


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


def require_asterisk() -> None:
    found, why = installed()
    require_peer("Asterisk", found, why)


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


def wait_until(predicate, timeout: float = 10.0, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached in {timeout} s")


class Switchboard:
    """A site on the real PBX with Bob's Backdesk listening to it."""

    def __init__(self, root, pbx: AsteriskPBX, **settings) -> None:
        from plugins.telephony.service import service_for

        self.pbx = pbx
        self.ami = pbx.ami
        self.site = Site(root, pbx.settings(**{**ALWAYS_OPEN, **settings}))
        self.bd = self.site.open("bob")
        self.svc = service_for(self.bd.context("telephony"))
        self.svc.start_backend()
        assert self.svc.backend.wait_synced(10), self.svc.backend.state()
        wait_until(lambda: self.svc.backend.night_state() is not None, what="night service pushed")

    def close(self) -> None:
        self.svc.stop_backend()
        self.bd.close()

    def person(self, ext: str) -> dict:
        return self.bd.services.people.by_extension(ext)

    def call_of(self, channel: str, timeout: float = 10.0, newer_than: int = 0) -> dict:
        """The call record of the caller on ``channel`` (waits for it). After
        a restart Asterisk numbers its channels from 0 again: ``newer_than``
        skips the records of before."""
        def find():
            found = [c for c in self.svc.calls.find({"pbx.channel": channel}, order_by="-id") if c["id"] > newer_than]
            return found[0] if found else None

        return wait_until(find, timeout, f"a call record for {channel}")

    def last_id(self) -> int:
        calls = self.svc.calls.find(order_by="-id", limit=1)
        return calls[0]["id"] if calls else 0

    def wait_call(self, call_id: int, timeout: float = 10.0, **expected) -> dict:
        def check():
            call = self.svc.calls.get(call_id)
            return call if all(call.get(k) == v for k, v in expected.items()) else None

        try:
            return wait_until(check, timeout, f"call {call_id} with {expected}")
        except AssertionError:
            raise AssertionError(f"call {call_id} is {self.svc.calls.get(call_id)}, expected {expected}") from None

    def answered_call(self, did: str = "100", number: str = "0301234567", name: str = "Klaus Brandt"):
        """An outside caller dials ``did``; the phone there answers. (channel, call)"""
        before = self.last_id()
        channel = self.ami.call_in(did, number, name)
        call = self.call_of(channel, newer_than=before)
        return channel, self.wait_call(call["id"], status="active")


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
