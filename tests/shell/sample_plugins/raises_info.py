"""A plugin whose info hook raises."""

from core.api.hookspecs import hookimpl


@hookimpl
def backdesk_plugin_info():
    raise KeyError("version")
