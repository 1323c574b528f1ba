"""VAT codes: what a line of an invoice or a bill is taxed with, the accounts
each code posts to, and the UStVA Kennzahlen they are declared in.

Pure data and arithmetic (no storage, no Textual): the invoicing service,
the bills and the VAT return share it.

Each code posts to accounts of its own, so the VAT return is read from the
ledger (and hledger, given the exported journal, finds the same figures
with one account query per Kennzahl).

Sales (invoice lines):

=====  ====================================  =====  =============  ================
code   what                                  rate   net Kennzahl   EN 16931 category
=====  ====================================  =====  =============  ================
19     taxable at 19 %                       19 %   81             S
7      taxable at 7 %                        7 %    86             S
0      taxable at 0 % (§ 12 Abs. 3 UStG)     0 %    87             Z
rc     reverse charge, § 13b UStG (the       –      60             AE
       customer owes the VAT)
eu     intra-EU supply (§ 4 Nr. 1b UStG)     –      41             K
nt     not taxable in Germany                –      45             O
=====  ====================================  =====  =============  ================

Purchases (bill lines): 19 and 7 give input VAT (Kennzahl 66); 0 and nt
none; rc (§ 13b: a foreign supplier's service) and eu (intra-EU
acquisition) make the office owe the VAT (Kennzahlen 47 and 93, tax at
19 %) and deduct it as input VAT at once (67 and 61).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.errors import ValidationError
from core.i18n import N_
from plugins.accounting.models import _
from core.records import Record


@dataclass(frozen=True, repr=False, eq=False)
class VatCode(Record):
    """One VAT code: its rate (None: no VAT on the invoice), the EN 16931
    category, the Kennzahl its net amount is declared in on sales, and the
    sentence § 14a UStG wants on the invoice (or None)."""

    code: str
    title: str
    rate: Decimal | None
    category: str
    sales_net_kz: str
    invoice_note: str | None = None
    #: the customer's VAT ID must be on the invoice (§ 14a Abs. 1 and 3 UStG)
    needs_customer_vat_id: bool = False


CODES: dict[str, VatCode] = {
    "19": VatCode("19", N_("19 % VAT"), Decimal("0.19"), "S", "81"),
    "7": VatCode("7", N_("7 % VAT"), Decimal("0.07"), "S", "86"),
    "0": VatCode("0", N_("0 % VAT (§ 12 Abs. 3 UStG)"), Decimal("0"), "Z", "87"),
    "rc": VatCode("rc", N_("reverse charge (§ 13b UStG)"), None, "AE", "60",
                  N_("Reverse charge: the recipient of the service owes the VAT (§ 13b UStG)")),
    "eu": VatCode("eu", N_("intra-EU supply (§ 4 Nr. 1b UStG)"), None, "K", "41",
                  N_("Tax-free intra-Community supply (§ 4 Nr. 1b, § 6a UStG)"),
                  needs_customer_vat_id=True),
    "nt": VatCode("nt", N_("not taxable in Germany"), None, "O", "45",
                  N_("Not taxable in Germany: the place of supply is abroad")),
}

#: the rate a bill's reverse-charge (§ 13b) and intra-EU acquisition lines owe
ACQUISITION_RATE = Decimal("0.19")

#: account roles (the accounting ``accounts`` setting may rename each)
ACCOUNTS = {
    "receivables": "assets:receivables",
    "sales_19": "income:sales:vat 19",
    "sales_7": "income:sales:vat 7",
    "sales_0": "income:sales:vat 0",
    "sales_rc": "income:sales:reverse charge",
    "sales_eu": "income:sales:intra-eu",
    "sales_nt": "income:sales:not taxable",
    "output_vat_19": "liabilities:tax:output vat:19",
    "output_vat_7": "liabilities:tax:output vat:7",
    "output_vat_rc": "liabilities:tax:output vat:reverse charge",
    "output_vat_eu": "liabilities:tax:output vat:intra-eu",
    "input_vat_rc": "assets:tax:input vat:reverse charge",
    "input_vat_eu": "assets:tax:input vat:intra-eu",
    "dunning_fees": "income:dunning fees",
    "late_interest": "income:late payment interest",
}


def code(value, field: str = "vat_code") -> VatCode:
    """The VatCode of ``value`` ("19", "7", "0", "rc", "eu", "nt"; "19%" and
    upper case are accepted); ValidationError naming the codes otherwise."""
    key = str(value if value not in (None, "") else "19").strip().lower().rstrip("%").strip()
    if key not in CODES:
        raise ValidationError(_("{value!r} is not a VAT code (one of: {codes})").format(
            value=str(value)[:20], codes=", ".join(CODES)), field=field)
    return CODES[key]


def sales_accounts(vc: VatCode, account) -> tuple[str, str | None]:
    """(income account, output VAT account or None) of a sales code;
    ``account(role)`` resolves a role through the settings."""
    income = account("sales_" + vc.code)
    tax = account("output_vat_" + vc.code) if vc.rate else None
    return income, tax
