"""The form that sends an invoice or a reminder to the customer (``m`` on
the Invoices screen): by email when the address has an @, else by fax."""

from __future__ import annotations

from core.errors import ValidationError
from core.shell.widgets import Field, FormScreen
from plugins.accounting import invoice_send
from plugins.accounting.models import _


def send_form(ctx, rec: dict) -> FormScreen:
    """Send ``rec`` (an invoice row) or one of its reminders; the address is
    the customer's email, else their fax number."""
    cust = ctx.table("customers").get(rec["customer_id"]) or {}
    choices = [("invoice", _("Invoice {number}").format(number=rec["number"]) if rec["kind"] == "invoice" else
                _("Credit note {number}").format(number=rec["number"]))]
    for step in reversed(rec.get("dunning") or []):
        choices.append((f"reminder:{step['level']}", _("Reminder {level} of {date}").format(
            level=step["level"], date=step["date"])))
    fields = [Field("what", _("Send"), kind="choice", choices=choices, default="invoice", required=True),
              Field("to", _("Recipient"), required=True, default=cust.get("email") or cust.get("fax") or "",
                    help=_("An email address (PDF with XML attached) or a fax number"))]

    def submit(values):
        what, _sep, level = values["what"].partition(":")
        to = (values.get("to") or "").strip()
        by = {"email": to} if "@" in to else {"fax": to}
        try:
            return invoice_send.send(ctx, rec["id"], what=what, level=int(level) if level else None, **by)
        except ValidationError as error:
            if error.field in ("email", "fax"):  # shown at the one address field
                raise ValidationError(error.message, field="to") from None
            raise

    return FormScreen(_("Send {number} to {name}").format(number=rec["number"], name=rec["customer"]), fields,
                      on_submit=submit, submit_label=_("Send"))
