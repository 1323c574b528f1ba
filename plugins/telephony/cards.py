"""Dashboard cards and global-search hits of the switchboard."""

from __future__ import annotations

from core.api.hookspecs import Card, SearchHit
from plugins.telephony.models import _, format_duration
from plugins.telephony.service import MESSAGES, READ, TAKE, Names, service_for

SPARKS = "▁▂▃▄▅▆▇█"
TABLES = ("telephony.calls", "telephony.messages")


def sparkline(values: list[int]) -> str:
    top = max(values) if values else 0
    if not top:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, round(v / top * (len(SPARKS) - 1)))] if v else " "
                   for v in values)


def render_calls(ctx) -> str:
    f = service_for(ctx).figures()
    hours = f["per_hour"][7:20]  # 07:00-19:59, the office day
    lines = [_.ngettext("[b]{n}[/b] call today", "[b]{n}[/b] calls today", f["calls"]).format(n=f["calls"]),
             "07 " + sparkline(hours) + " 19",
             _("transfers {t} · avg {avg}").format(
                 t=f["transfers"], avg=format_duration(round(f["avg_handling"])) if f["avg_handling"] is not None
                 else "–")]
    rate = f["missed_rate"]
    lines.append(_("missed {n} ({rate})").format(n=f["missed"], rate=f"{rate:.0%}" if rate is not None else "–"))
    return "\n".join(lines)


def render_callbacks(ctx) -> str:
    """How many callbacks are open and the three newest: a count and three
    messages read, with their names in two reads (never every open one)."""
    s = service_for(ctx)
    n, newest = s.open_callbacks(3)
    if not n:
        return _("No open callbacks.")
    lines = [_.ngettext("[b]{n}[/b] open callback", "[b]{n}[/b] open callbacks", n).format(n=n)]
    from rich.markup import escape  # here: the cards are drawn by the app only

    names = Names(s)
    names.prefetch(newest)
    for m in newest:
        text = f"{names.person_text(m.get('for_person_id')) or '-'} ← {names.message_caller(m)}"
        # names and callers are stored text, not markup
        lines.append("  • " + escape(text if len(text) <= 34 else text[:33] + "…"))
    return "\n".join(lines)


def dashboard_cards(ctx) -> list[Card]:
    return [
        Card("calls", _("Calls today"), lambda: render_calls(ctx), tables=TABLES, target="telephony",
             permission=READ, order=20),
        Card("callbacks", _("Open callbacks"), lambda: render_callbacks(ctx), tables=TABLES,
             target="telephony.messages", permission=READ, order=21),
    ]


def search(ctx, query: str) -> list[SearchHit]:
    """External callers by name, company or number; messages by text."""
    if not ctx.can(READ) or len(query.strip()) < 2:
        return []
    from core.storage import Contains

    s = service_for(ctx)
    hits = []
    q = query.strip()
    for c in s.contacts.find({("name", "company", "number"): Contains(q)}, limit=10):
        title = (c.get("name") or c.get("number") or "") + (f" ({c['company']})" if c.get("company") else "")
        hits.append(SearchHit(title, detail=_("caller · {number}").format(number=c.get("number") or "-"),
                              target="telephony.history", score=0.8))
    where: dict = {"text": Contains(q)}
    if not (ctx.can(MESSAGES) or ctx.can(TAKE)):  # as list_messages: one's own messages only
        me = s.my_person()
        if me is None:
            return hits
        where["for_person_id"] = me["id"]
    for m in s.messages.find(where, order_by="-taken_at", limit=10):
        hits.append(SearchHit(_("Message for {name}").format(name=s.person_text(m.get("for_person_id"))),
                              detail=m["text"][:60], target="telephony.messages", score=0.6))
    return hits
