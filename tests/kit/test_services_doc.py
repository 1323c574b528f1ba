"""docs/services.md names every public member of ``ctx`` and of the core
services a plugin calls, with the permission each checks."""

from __future__ import annotations

import inspect
import re

import pytest

from core.services.access import Access
from core.api.context import PluginContext
from core.services.events import EventBus
from core.services.notifications import Notifications
from core.services.people import PeopleDirectory
from core.services.printing import Printing
from core.services.search import GlobalSearch
from core.services.workdays import Workdays
from kit_helpers import ROOT

DOC = ROOT / "docs" / "services.md"
#: what the services offer core itself, not plugins (documented in architecture.md)
CORE_ONLY = {
    EventBus: {"store", "events", "deliveries", "backdesk", "operator"},
    Notifications: {"store", "table", "backdesk", "operator"},
    PeopleDirectory: {"store", "people", "departments_table", "backdesk", "operator", "invalidate"},
    Workdays: {"backdesk", "store", "table", "calendar", "invalidate"},
    GlobalSearch: {"backdesk"},
    Access: {"backdesk"},
    Printing: {"backdesk", "store", "jobs_table", "defaults_table", "operator"},
    PluginContext: {"record"},
}


def documented_names() -> set[str]:
    spans = re.findall(r"`([^`]+)`", DOC.read_text(encoding="utf-8"))
    return {word for span in spans for word in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", span)}


def public_members(cls) -> set[str]:
    names = {n for n, _ in inspect.getmembers(cls) if not n.startswith("_")}
    return names - CORE_ONLY.get(cls, set()) - {"TABLES"}


@pytest.mark.parametrize("cls", [PluginContext, PeopleDirectory, Notifications, Workdays, EventBus,
                                 GlobalSearch, Access, Printing], ids=lambda c: c.__name__)
def test_every_public_member_is_documented(cls):
    missing = sorted(public_members(cls) - documented_names())
    assert not missing, f"docs/services.md does not mention {cls.__name__}: {', '.join(missing)}"


def test_the_tutorial_the_template_and_the_example_follow_the_permission_convention():
    from core.cli.kit import render

    convention = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
    tutorial = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    constant = re.compile(r'^[A-Z_]+ = "([a-z_]+\.[a-z_.]+)"$', re.M)  # READ = "parcels.parcels.read"
    example = (ROOT / "examples" / "visitors" / "visitors" / "service.py").read_text(encoding="utf-8")
    names = set(constant.findall(tutorial)) | set(constant.findall(render("room_keys")["room_keys/service.py"])) \
        | set(constant.findall(example))
    assert names and all(convention.match(n) for n in names), sorted(names)
    assert "<plugin>.<thing>.<action>" in (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
