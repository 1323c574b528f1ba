"""A plugin whose screen raises when a key is pressed."""

from textual.binding import Binding
from textual.widgets import Static

from core.api.hookspecs import NavEntry, PluginInfo, hookimpl
from core.shell.screens.base import BackdeskScreen


class BrokenScreen(BackdeskScreen):
    BINDINGS = [Binding("x", "explode", "Explode", id="broken.explode")]

    def compose_content(self):
        yield Static("This screen breaks when you press x", id="broken-text")

    def action_explode(self):
        raise ZeroDivisionError("the plugin divided by zero")


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="broken_screen", title="Broken screen", version="0.1")


@hookimpl
def backdesk_screens(ctx):
    return [NavEntry("broken", "Broken", lambda ctx: BrokenScreen(), key="f6")]


@hookimpl
def backdesk_dashboard_cards(ctx):
    from core.api.hookspecs import Card

    def render():
        raise ValueError("card data unavailable")

    return [Card("bad", "Bad card", render)]
