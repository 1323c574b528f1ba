"""A plugin with a misspelled hook name."""

from core.api.hookspecs import PluginInfo, hookimpl


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="misspelled", title="Misspelled", version="0.1")


@hookimpl
def backdesk_screen(ctx):
    return []
