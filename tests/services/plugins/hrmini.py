"""A small HR plugin for the services tests: hires people, keeps confidential cases."""

from core.api.hookspecs import PluginInfo, SearchHit, TableSpec, hookimpl


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="hrmini", title="HR mini", version="1.0",
                      permissions={"hrmini.hire": "Hire people", "hrmini.cases.read": "Read HR cases"})


@hookimpl
def backdesk_tables():
    return [TableSpec("hires"), TableSpec("cases"), TableSpec("notes")]


def hire(ctx, name: str, department_id: int) -> int:
    """The plugin's service: add the person and publish hrmini.employee_hired."""
    ctx.require("hrmini.hire")
    with ctx.transaction():
        person_id = ctx.services.people.add_person(name=name, department_id=department_id)
        ctx.table("hires").insert({"person_id": person_id})
        ctx.publish("employee_hired", {"person_id": person_id})
    return person_id


def open_case(ctx, case_id: int) -> dict:
    """A confidential read: checked and recorded in the audit trail."""
    ctx.services.audit.read_confidential("hrmini.cases.read", "hrmini", "hrmini.cases", case_id,
                                         "HR case opened")
    return ctx.table("cases")[case_id]


@hookimpl
def backdesk_event(ctx, event):
    if event.name == "itmini.ticket_opened":
        ctx.table("notes").insert({"text": f"IT ticket {event.data['ticket_id']} opened",
                                   "person_id": event.data["person_id"]})


@hookimpl
def backdesk_search(ctx, query):
    if "case" in query.lower():
        return [SearchHit("HR case 1", "confidential", target="hrmini", score=0.95)]
    return []
