"""The core services every plugin shares, wired onto ``backdesk.services``.

``services.people`` (the people directory), ``services.audit``,
``services.events``, ``services.notifications``, ``services.search`` and
``services.calendar`` (working days, holidays, who is away: core/services/workdays.py),
``services.printing`` (printers, defaults and print jobs through CUPS: core/services/printing.py);
``services.cards`` are core's dashboard cards, which the shell shows next to
the plugins'; ``services.exports`` (a PostgreSQL site's) keeps the operators'
exports folders in the store (:class:`core.outputs.SharedExports`), None
elsewhere. Core's own screens are the shell's business (core/shell/app.py).

The audit trail is wired first, so every later write is recorded; the
events come next, so the directory can publish ``core.person_*`` events.
"""

from __future__ import annotations

from core.services.access import Access
from core.services.audit import UNAUDITED, AuditTrail
from core.services.events import EventBus
from core.api.hookspecs import Card, TableSpec
from core.i18n import _, ngettext
from core.services.notifications import Notifications
from core.outputs import EXPORTS_TABLE, SharedExports
from core.services.people import PeopleDirectory
from core.services.printing import Printing
from core.safetext import install_guard
from core.services.search import GlobalSearch
from core.services.workdays import Workdays


def wire(backdesk) -> None:
    """Create the core services for ``backdesk`` (called once at start)."""
    services = backdesk.services
    # no control character is stored, whoever writes (see core.safetext)
    install_guard(backdesk.store, exempt=UNAUDITED | {"core.event_deliveries"})
    for cls in (AuditTrail, EventBus, Notifications, PeopleDirectory, Workdays, Printing):
        for spec in cls.TABLES:
            backdesk.declare_table("core", spec)
    services.audit = AuditTrail(backdesk)
    services.events = EventBus(backdesk)
    services.notifications = Notifications(backdesk)
    services.people = PeopleDirectory(backdesk)
    services.calendar = Workdays(backdesk)
    services.printing = Printing(backdesk)
    services.search = GlobalSearch(backdesk)
    services.access = Access(backdesk)
    services.cards = cards(backdesk)
    # on a store every host shares, the operators' exports folders are kept in it (core.outputs)
    services.exports = None
    if backdesk.config.storage.backend == "postgresql" and not getattr(backdesk.store, "read_only", False):
        backdesk.declare_table("core", TableSpec(EXPORTS_TABLE.partition(".")[2], version=1,
                                                 read="core.admin.backup"))
        services.exports = SharedExports(backdesk.store, backdesk.config.data_dir, backdesk.operator.account)


def cards(backdesk) -> list[tuple[str, Card]]:
    op = backdesk.operator
    out: list[tuple[str, Card]] = []

    def people_card() -> str:
        from rich.markup import escape  # here: only the app draws a card (a CLI run never loads Rich)

        people = backdesk.services.people
        rows = people.departments()
        active = people.count("active")
        leave = people.count("on_leave")
        lines = [_("[b]{n}[/b] people at work, {leave} on leave").format(n=active, leave=leave)]
        # the three largest departments: the card stays short at 80x24
        largest = sorted(rows, key=lambda d: -d["people"])[:3]
        for d in largest:
            lines.append(f"  {escape(d['name'])}: {d['people']}")
        if len(rows) > 3:
            lines.append("  " + ngettext("… {n} more department", "… {n} more departments",
                                         len(rows) - 3).format(n=len(rows) - 3))
        return "\n".join(lines)

    def inbox_card() -> str:
        from rich.markup import escape  # here: only the app draws a card (a CLI run never loads Rich)

        service = backdesk.services.notifications
        unread = service.inbox(unread_only=True, limit=3)
        count = service.unread_count()
        if not count:
            return _("No unread notifications.")
        lines = [_("[b]{n}[/b] unread").format(n=count)]
        for doc in unread:
            text = (doc["text"].splitlines() or [""])[0]
            # stored text, not markup: '[bold]' or '[/]' in it are shown as typed
            lines.append("  • " + escape(text if len(text) <= 34 else text[:33] + "…"))
        return "\n".join(lines)

    if op.can("core.directory.read"):
        out.append(("core", Card("people", _("People"), render=people_card,
                                 tables=("core.people", "core.departments"), target="directory", order=10)))
    out.append(("core", Card("inbox", _("Notifications"), render=inbox_card,
                             tables=("core.notifications",), target="notifications", order=11)))
    return out
