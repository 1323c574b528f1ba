"""The print options accounting's commands share (``invoices print``,
``report --print``, ``vat-return --print``, ``dunning --print``, ``payroll
print``) and how they report their print jobs."""

from __future__ import annotations

import time

import click


def print_options(fn):
    """--printer, --copies, --duplex, --tray, --wait (as ``docs print``)."""
    for opt in reversed([
        click.option("--printer", help="A printer of `docs printers` (default: your default printer)."),
        click.option("--copies", default="1", show_default=True, help="How many copies, 1 to 99."),
        click.option("--duplex", is_flag=True, help="Print on both sides."),
        click.option("--tray", help="A paper tray the printer offers (see `docs printers`), e.g. tray-2."),
        click.option("--wait", is_flag=True, help="Follow the jobs until they are printed, held or failed.")]):
        fn = opt(fn)
    return fn


def job_options(printer=None, copies="1", duplex=False, tray=None) -> dict:
    return {"printer": printer, "copies": copies, "duplex": duplex, "tray": tray}


def echo_jobs(ctx, jobs: list[dict], wait: bool) -> None:
    """One line per job (with --wait: once printed, held or failed); exit 1
    when one failed."""
    from core.services.printing import state_title

    printing = ctx.services.printing
    failed = False
    for job in jobs:
        while wait and job["state"] in ("waiting", "printing"):
            time.sleep(0.2)
            job = printing.follow_job(job["id"]) or job
        failed = failed or job["state"] in ("failed", "cancelled")
        click.echo(f"print job {job['id']} on {job['printer']}: {job['title']} — {state_title(job['state'])}"
                   + (f" ({job['reason']})" if job.get("reason") else ""))
    if failed:
        raise SystemExit(1)
