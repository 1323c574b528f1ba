"""A third-party plugin for tests/kit/test_walls.py: it tries what a plugin
should not do, each through the plugin API a careless author would reach
for. Installed by entry point, as any team's plugin is."""

from core.api.hookspecs import PluginInfo, TableSpec, hookimpl

PERMISSIONS = {"wallprobe.notes.read": "Read the probe's notes", "wallprobe.notes.edit": "Write the probe's notes"}

#: what the handler saw, for the test to read
SEEN: list = []


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="wallprobe", title="Wall probe", version="0.1.0", api_version=1,
                      permissions=PERMISSIONS)


@hookimpl
def backdesk_tables():
    return [TableSpec("notes", version=1)]


@hookimpl
def backdesk_event(ctx, event):
    if event.name == "core.person_added":
        # inside a reaction core grants the permission; the confidential read is audited
        SEEN.append((event.name, len(ctx.read_table("hr.records").all())))


@hookimpl
def backdesk_reactions(ctx):
    return {"wallprobe.note_kept": lambda event: SEEN.append(("kept", event.source))}
