"""Saved bank CSV mappings: how one bank's CSV export reads, kept in
Backdesk under a name ("Sparkasse", "Volksbank") instead of a YAML file
beside every import.

A mapping names the columns (``date``, ``amount``, ``description``), the
``date_format`` (strptime), the ``decimal`` mark ("." or ","), the
``delimiter``, the file's ``encoding`` (a Python codec name: ``cp1252``,
``utf-8``; empty: found from the bytes) and ``rules`` (text in the
description → counter account), as ``reports.import_bank_csv`` reads it.
Each value is checked when the mapping is saved, naming its key; the store
keeps one mapping per name (saving again replaces it, in one transaction).
Saving or deleting needs ``accounting.ledger.post`` (what importing a bank
CSV needs); reading, ``accounting.ledger.read``.
"""

from __future__ import annotations

import codecs
import datetime as dt
from typing import Any

from core.services.audit import now_utc
from core.errors import UnknownRecord, ValidationError
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting.models import _

TABLE = "bank_mappings"
KEYS = ("date", "amount", "description", "date_format", "decimal", "delimiter", "encoding", "rules")


def check_mapping(raw: Any) -> dict:
    """A mapping as saved: only the known keys, each checked (ValidationError
    naming the key); what is not given keeps the import's default."""
    if not isinstance(raw, dict):
        raise ValidationError(_("a mapping of keys ({keys})").format(keys=", ".join(KEYS)), field="mapping")
    unknown = sorted(str(k) for k in raw if k not in KEYS)
    if unknown:
        raise ValidationError(_("unknown key {key!r} (known: {keys})").format(key=unknown[0][:30],
                                                                              keys=", ".join(KEYS)), field="mapping")
    out: dict = {}
    for key in ("date", "amount", "description"):
        if key in raw:
            out[key] = m.text(raw[key], key, limit=80)
    if "date_format" in raw:
        fmt = m.text(raw["date_format"], "date_format", limit=40)
        try:
            sample = dt.date(2026, 12, 31).strftime(fmt)
            if dt.datetime.strptime(sample, fmt).date() != dt.date(2026, 12, 31):
                raise ValueError
        except ValueError:
            raise ValidationError(_("{value!r} is not a date format like %d.%m.%Y").format(value=fmt),
                                  field="date_format") from None
        out["date_format"] = fmt
    if "decimal" in raw:
        if raw["decimal"] not in (".", ","):
            raise ValidationError(_("the decimal mark is . or ,"), field="decimal")
        out["decimal"] = raw["decimal"]
    if "delimiter" in raw:
        if not isinstance(raw["delimiter"], str) or len(raw["delimiter"]) != 1 or raw["delimiter"] in "\"\r\n":
            raise ValidationError(_("the delimiter is one character, like ; or ,"), field="delimiter")
        out["delimiter"] = raw["delimiter"]
    if raw.get("encoding"):
        try:
            out["encoding"] = codecs.lookup(str(raw["encoding"]).strip()).name
        except LookupError:
            raise ValidationError(_("unknown encoding {name!r}").format(name=str(raw["encoding"])[:30]),
                                  field="encoding") from None
    if "rules" in raw:
        rules = raw["rules"] or {}
        if not isinstance(rules, dict):
            raise ValidationError(_("rules: text in the description → an account"), field="rules")
        checked = {}
        for text, account in rules.items():
            text = m.text(text, "rules", limit=80)
            try:
                L.check_account_name(str(account))
            except L.LedgerError as error:
                raise ValidationError(f"{text}: {error}", field="rules") from None
            checked[text] = str(account)
        out["rules"] = checked
    return out


def _name(name: Any) -> str:
    return m.text(name, "name", limit=60)


def mappings(ctx) -> list[dict]:
    """The saved mappings, by name."""
    ctx.require("accounting.ledger.read")
    return ctx.table(TABLE).find({}, order_by=["name"])


def mapping(ctx, name: Any) -> dict:
    """A saved mapping by its name (any case); UnknownRecord naming the saved ones."""
    ctx.require("accounting.ledger.read")
    wanted = _name(name).casefold()
    for row in ctx.table(TABLE).all():
        if row["name"].casefold() == wanted:
            return row
    known = ", ".join(r["name"] for r in mappings(ctx)) or "-"
    raise UnknownRecord(_("no saved bank mapping {name!r} (saved: {known})").format(name=str(name)[:60],
                                                                                    known=known))


def save_mapping(ctx, name: Any, raw: Any) -> dict:
    """Save (or replace) the mapping called ``name``."""
    ctx.require("accounting.ledger.post")
    name = _name(name)
    values = check_mapping(raw)
    with ctx.transaction():
        t = ctx.table(TABLE)
        same = [r for r in t.all() if r["name"].casefold() == name.casefold()]
        doc = {"name": name, "mapping": values, "by": ctx.operator.account, "at": now_utc()}
        if same:
            return t.update(same[0]["id"], doc)
        return t.get(t.insert(doc))


def delete_mapping(ctx, name: Any) -> None:
    ctx.require("accounting.ledger.post")
    with ctx.transaction():
        row = mapping(ctx, name)
        ctx.table(TABLE).delete(row["id"])


__all__ = ["check_mapping", "mappings", "mapping", "save_mapping", "delete_mapping", "KEYS"]
