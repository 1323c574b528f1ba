"""A plugin written for a hook API this Backdesk does not provide."""

from core.api.hookspecs import PluginInfo, hookimpl


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="future_api", title="Future", version="9.0", api_version=99)
