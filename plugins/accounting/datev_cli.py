"""``backdesk accounting datev export`` and ``datev master-data``: the books
of a period and the vendors and customers for the tax adviser, as DATEV's
EXTF Buchungsstapel (``datev``) and Debitoren/Kreditoren (``datev_partners``)."""

from __future__ import annotations

import click


def register(accounting: click.Group, get_context) -> None:
    @accounting.group("datev")
    def datev_group():
        """DATEV: the Buchungsstapel and the Debitoren/Kreditoren for the tax adviser."""

    @datev_group.command("export")
    @click.option("--period", required=True, help="A month (11.2026 as on the screens, or 2026-11), a quarter "
                                                   "(2026-Q4) or a year (2026).")
    @click.option("--output", "-o", help="Write here (default: your exports folder).")
    def datev_export(period, output):
        """Write the period's bookings as an EXTF Buchungsstapel (Windows-1252)."""
        from core.outputs import check_output_path
        from plugins.accounting import datev

        check_output_path(output)
        path, n = datev.export(get_context(), period, output)
        click.echo(f"DATEV Buchungsstapel {datev.period(period)[0]}: {n} booking{'s' if n != 1 else ''}, "
                   f"written to {path}")

    @datev_group.command("master-data")
    @click.option("--output", "-o", help="Write here (default: your exports folder).")
    def datev_master_data(output):
        """Write every customer (Debitor) and vendor (Kreditor) as EXTF Debitoren/Kreditoren (Windows-1252)."""
        from core.outputs import check_output_path
        from plugins.accounting import datev_partners

        check_output_path(output)
        path, n = datev_partners.export(get_context(), output)
        click.echo(f"DATEV Debitoren/Kreditoren: {n} account{'s' if n != 1 else ''}, written to {path}")
