"""``backdesk visitors list|sign-in|sign-out``: the same service as the screen."""

from __future__ import annotations

import click

from visitors import service


def add_commands(cli: click.Group, get_context) -> None:
    @cli.group("visitors")
    def group():
        """The visitor log at reception."""

    @group.command("list")
    @click.option("--all", "show_all", is_flag=True, help="Every visit, newest first, not only who is in.")
    def list_visits(show_all: bool):
        """Who is in the building (or every visit)."""
        from core.i18n import format_datetime

        rows = service.visits(get_context(), in_building=not show_all)
        if not rows:
            click.echo("Nobody signed in." if not show_all else "No visits yet.")
            return
        for v in rows:
            left = f"  left {format_datetime(v['left'], 'short')}" if v.get("left") else ""
            company = f" ({v['company']})" if v.get("company") else ""
            click.echo(f"{v['id']:>4}  {v['visitor']}{company} → {v['host']}  "
                       f"in {format_datetime(v['arrived'], 'short')}{left}")

    @group.command("sign-in")
    @click.argument("visitor")
    @click.option("--host", required=True, help="Who they visit: a name from the directory, or an id.")
    @click.option("--company", default="", help="Where they come from.")
    @click.option("--badge", default="", help="The badge handed out.")
    def sign_in(visitor: str, host: str, company: str, badge: str):
        """Sign VISITOR in; their host is told."""
        visit_id = service.sign_in(get_context(), visitor, host, company=company, badge=badge)
        click.echo(f"Signed in {visitor} (visit {visit_id})")

    @group.command("sign-out")
    @click.argument("visit_id", type=int)
    def sign_out(visit_id: int):
        """Sign the visitor of VISIT_ID out."""
        visit = service.sign_out(get_context(), visit_id)
        click.echo(f"Signed out {visit['visitor']}")
