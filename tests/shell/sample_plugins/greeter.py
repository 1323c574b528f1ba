"""A small, well-behaved plugin used by the shell tests."""

import click
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from core.api.hookspecs import Card, Command, NavEntry, PluginInfo, SearchHit, Setting, TableSpec, hookimpl
from core.shell.screens.base import BackdeskScreen


class GreeterScreen(BackdeskScreen):
    WATCH_TABLES = frozenset({"greetings"})  # its own table by the short name, as ctx.table takes it
    BINDINGS = [Binding("g", "greet", "Greet", id="greeter.greet")]

    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx

    def compose_content(self) -> ComposeResult:
        yield Static(self._text(), id="greeting-count")

    def _text(self) -> str:
        return f"{self.ctx.settings['greeting']}: {self.ctx.table('greetings').count()} greetings"

    def action_greet(self) -> None:
        self.ctx.table("greetings").insert({"by": self.ctx.operator.account})

    def refresh_data(self, names) -> None:
        self.query_one("#greeting-count", Static).update(self._text())


@hookimpl
def backdesk_plugin_info():
    return PluginInfo(name="greeter", title="Greeter", version="1.2.3",
                      permissions={"greeter.greet": "Greet people"})


@hookimpl
def backdesk_settings():
    return {"greeting": Setting(str, default="Hello")}


@hookimpl
def backdesk_tables():
    return [TableSpec("greetings", version=1)]


@hookimpl
def backdesk_screens(ctx):
    return [NavEntry("greeter", "Greeter", GreeterScreen, key="f5")]


@hookimpl
def backdesk_commands(ctx):
    def run(app):
        ctx.table("greetings").insert({"by": "palette"})
        app.notify("Greeted from the palette")

    return [Command("greeter.greet", "Greet from the palette", run, help="Adds a greeting")]


@hookimpl
def backdesk_dashboard_cards(ctx):
    table = ctx.table("greetings")
    return [Card("count", "Greetings", lambda: f"{table.count()} greetings so far",
                 tables=("greetings",), target="greeter")]


@hookimpl
def backdesk_search(ctx, query):
    if "hello" in query.lower():
        return [SearchHit("Hello greeting", target="greeter")]
    return []


@hookimpl
def backdesk_cli(cli, get_context):
    @cli.group("greeter")
    def group():
        """Greetings."""

    @group.command("count")
    def count():
        ctx = get_context()
        click.echo(f"{ctx.table('greetings').count()} greetings")


@hookimpl
def backdesk_demo(ctx, seed):
    for i in range(3):
        ctx.table("greetings").insert({"by": f"demo{i}"})


@hookimpl
def backdesk_event(ctx, event):
    # a reaction that needs a permission the publishing operator may lack
    if event.name == "greeter.greeted":
        ctx.services.people.update_person(event.data["person_id"], title="Greeted")
