"""Reading a table whole, as an operator: ``backdesk export`` and the like.

A plugin's own services guard its records with its own permissions; what
reads a table *generically* — every document, whatever plugin it belongs
to — goes through :func:`read_table`, which holds the same walls:

- the operator needs the table's read permission
  (:attr:`core.api.hookspecs.TableSpec.read`, ``"<plugin>.<table>.read"`` when
  the plugin declares none), else :class:`~core.errors.PermissionDenied`;
- a confidential table's read (:attr:`TableSpec.confidential`: employee
  records, complaints, warnings, payslips, …) is written to the audit trail
  before the documents are given out;
- the audit trail's copies of records (``before``/``after``) are redacted
  for tables the operator may not read (:meth:`core.services.audit.AuditTrail.redact`).

:func:`export_table` writes what :func:`read_table` gives as JSON (control
characters as ``\\uXXXX``, :func:`core.safetext.json_safe`) or as CSV for
spreadsheets (:mod:`core.csvsafe`).
"""

from __future__ import annotations

from typing import IO

from core import csvsafe
from core.errors import BackdeskError
from core.i18n import _
from core.safetext import json_safe

AUDIT_TABLE = "core.audit"


def check_table_name(backdesk, name: str) -> str:
    """``name`` when it names a declared table, else one readable line."""
    if name.count(".") != 1:
        raise BackdeskError(_("name a table as PLUGIN.TABLE, for example core.people (got {name!r})").format(
            name=name))
    if name not in backdesk.table_specs:
        known = ", ".join(sorted(backdesk.table_specs)) or "none"
        raise BackdeskError(_("no table named {name!r}; known: {known}").format(name=name, known=known))
    return name


def read_table(backdesk, name: str, *, purpose: str = "export") -> list[dict]:
    """Every document of the declared table ``name`` ("hr.records"), in id
    order, for the operator at work: permission checked, confidential reads
    audited, the audit trail's copies redacted (see the module docstring)."""
    check_table_name(backdesk, name)
    permission = backdesk.read_permission(name)
    backdesk.operator.require(permission, _("read the table {name} whole ({purpose})").format(
        name=name, purpose=purpose))
    docs = backdesk.table(name).all()
    if backdesk.is_confidential(name):
        plugin = name.partition(".")[0]
        backdesk.services.audit.record_read(plugin, name, None, _("{purpose} of {name}: {count} records").format(
            purpose=purpose, name=name, count=len(docs)))
    if name == AUDIT_TABLE:
        redact = backdesk.services.audit.redact
        docs = [redact(doc) for doc in docs]
    return docs


def export_table(backdesk, name: str, fmt: str, out: IO[str]) -> int:
    """Write table ``name`` to ``out`` as ``json`` or ``csv``; the count.

    ``json``: an array of documents. ``csv``: a header of ``id`` and the
    union of top-level keys (first-seen order); strings as they are, None
    empty, other values as JSON; text a spreadsheet would run as a formula
    gets an apostrophe, plain decimal numbers in an all-numeric column stay
    numbers (see :mod:`core.csvsafe`)."""
    if fmt not in ("json", "csv"):
        raise BackdeskError(_("--format {fmt}: use json or csv").format(fmt=fmt))
    docs = read_table(backdesk, name)
    if fmt == "json":
        out.write(json_safe(docs, indent=2) + "\n")
        return len(docs)
    return csvsafe.write_documents(out, docs)
