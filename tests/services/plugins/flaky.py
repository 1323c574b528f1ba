"""A plugin whose event handler fails while its marker file exists."""

from pathlib import Path

from core.api.hookspecs import PluginInfo, Setting, TableSpec, hookimpl


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="flaky", title="Flaky payroll", version="1.0")


@hookimpl
def backdesk_settings():
    return {"marker": Setting(str, default="")}


@hookimpl
def backdesk_tables():
    return [TableSpec("payroll")]


@hookimpl
def backdesk_event(ctx, event):
    if event.name != "hrmini.employee_hired":
        return
    # written first: a failure must roll it back
    ctx.table("payroll").insert({"person_id": event.data["person_id"]})
    if ctx.settings["marker"] and Path(ctx.settings["marker"]).exists():
        raise ConnectionError("the payroll system is unreachable")


@hookimpl
def backdesk_search(ctx, query):
    raise RuntimeError("search index broken")
