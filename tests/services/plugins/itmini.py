"""A small IT plugin: opens an onboarding ticket when HR hires someone."""

from core.api.hookspecs import PluginInfo, SearchHit, TableSpec, hookimpl


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="itmini", title="IT mini", version="1.0")


@hookimpl
def backdesk_tables():
    return [TableSpec("tickets")]


@hookimpl
def backdesk_event(ctx, event):
    if event.name == "hrmini.employee_hired":
        person = event.data["person_id"]
        ticket = ctx.table("tickets").insert({"title": f"Onboarding: person {person}", "person_id": person})
        ctx.publish("ticket_opened", {"ticket_id": ticket, "person_id": person})
    elif event.name == "itmini.ping":
        n = event.data["n"]
        ctx.table("tickets").insert({"title": f"ping {n}"})
        if n > 1:
            ctx.publish("ping", {"n": n - 1})


@hookimpl
def backdesk_search(ctx, query):
    return [SearchHit(f"Ticket {t['id']}: {t['title']}", "IT ticket", target="itmini", score=0.6)
            for t in ctx.table("tickets").all() if query.lower() in t["title"].lower()]
