"""Shared by the invoicing tests: the company's settings and a few customers."""

from __future__ import annotations

from tests.plugins.accounting.conftest import SETTINGS

COMPANY = {"name": "Test GmbH", "street": "Hauptstraße 1", "postcode": "80331", "city": "München",
           "country": "DE", "tax_number": "143/123/45678", "vat_id": "DE136695976",
           "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "bank": "Commerzbank",
           "email": "rechnung@test.example"}
INVOICE_SETTINGS = {**SETTINGS, "company": COMPANY}


def customers(ctx) -> dict:
    """Three customers: Meier (Germany), Dupont (France, with a VAT ID) and
    Nobody (no address); returns their ids by those names."""
    from plugins.accounting import invoicing as inv

    out = {}
    out["meier"] = inv.add_customer(ctx, {"name": "Meier Bau GmbH", "street": "Lindenweg 5", "postcode": "10115",
                                          "city": "Berlin", "vat_id": "DE 129 273 398",
                                          "email": "buchhaltung@meier.example",
                                          "buyer_reference": "04011000-12345-67"})["id"]
    out["dupont"] = inv.add_customer(ctx, {"name": "Dupont SARL", "street": "1 rue de la Paix", "postcode": "75002",
                                           "city": "Paris", "country": "FR", "vat_id": "FR40303265045",
                                           "terms_days": 30})["id"]
    out["nobody"] = inv.add_customer(ctx, {"name": "Nobody"})["id"]
    return out
