"""Fixtures for the telephony tests: a site with the demo directory."""

from __future__ import annotations

import pytest

from telephony_helpers import Site


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path, {"business_hours": "00:00-24:00", "business_days": [1, 2, 3, 4, 5, 6, 7],
                           "night_on_holidays": False})


@pytest.fixture
def bob(site):
    bd = site.open("bob")
    yield bd
    bd.close()


@pytest.fixture
def tel(bob):
    from plugins.telephony.service import service_for

    return service_for(bob.context("telephony"))
