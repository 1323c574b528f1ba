"""The rules of the two accounting settings the shipped plugins.yaml fills:
the seller on invoices (``company``) and the DATEV export's numbers
(``datev``).

Every start checks the settings, so these rules live apart from the code
that uses the settings (:mod:`.invoicing`, :mod:`.datev`): checking them
imports neither, which the shell's start paid ~2 ms for (python -X
importtime, Textual loaded: datev with sepa and vatreturn ~1.3 ms,
invoicing ~0.7 ms). The VAT ID's check digit is python-stdnum's.
"""

from __future__ import annotations

import re

from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat

#: the ``company`` setting's keys (invoicing.company reads them)
COMPANY_KEYS = ("name", "street", "postcode", "city", "country", "tax_number", "vat_id", "iban", "bic", "email",
                "phone", "bank", "contact")

#: the ``datev`` setting's keys (datev.settings reads them)
DATEV_KEYS = ("advisor", "client", "chart", "fiscal_year_start", "accounts", "creditors_from", "debtors_from")
#: the charts the ``datev`` setting may name (datev.CHARTS holds their accounts)
DATEV_CHARTS = ("SKR03", "SKR04")


def check_company(value: dict) -> dict:
    """The ``company`` setting's rule: known keys; a VAT ID with a sound check digit."""
    for key in value:
        if key not in COMPANY_KEYS:
            raise ValueError(f"unknown key {key!r} (known: {', '.join(COMPANY_KEYS)})")
    if value.get("vat_id"):
        try:
            eu_vat.validate(str(value["vat_id"]))
        except stdnum_errors.ValidationError as error:
            raise ValueError(f"vat_id: {value['vat_id']!r} is not a valid VAT ID ({error})") from None
    return value


def check_datev(value) -> dict:
    """The ``datev`` setting: ``advisor`` (Beraternummer, 1001–9999999),
    ``client`` (Mandantennummer, 1–99999), ``chart`` (SKR03 or SKR04),
    ``fiscal_year_start`` (MM-DD), ``accounts`` ({ledger account: number}),
    ``creditors_from`` (70000), ``debtors_from`` (10000)."""
    if not isinstance(value, dict):
        raise ValueError("a mapping: advisor, client, chart, fiscal_year_start, accounts")
    unknown = sorted(set(value) - set(DATEV_KEYS))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(DATEV_KEYS)})")
    for key, low, high in (("advisor", 1001, 9999999), ("client", 1, 99999), ("creditors_from", 70000, 99999),
                           ("debtors_from", 10000, 69999)):
        if key in value and (not isinstance(value[key], int) or not low <= value[key] <= high):
            raise ValueError(f"{key}: a number from {low} to {high}")
    if str(value.get("chart", "SKR03")).upper() not in DATEV_CHARTS:
        raise ValueError("chart: SKR03 or SKR04")
    if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", str(value.get("fiscal_year_start", "01-01"))):
        raise ValueError("fiscal_year_start: MM-DD, like 01-01")
    for name, number in (value.get("accounts") or {}).items():
        if not isinstance(number, int) or not 1 <= number <= 99999999:
            raise ValueError(f"accounts: {name}: a DATEV account number")
    return value
