"""E-invoices out: an issued invoice or credit note as EN 16931 XML, in CII
(Factur-X / ZUGFeRD EN 16931 profile, the syntax XRechnung also allows) or
UBL 2.1.

The XML is written by the ``factur-x`` library (Akretion; it maps the EN
16931 business terms BT-/BG- to both syntaxes and checks the result against
the official Factur-X / UBL XSDs it ships before returning it). Imported
when used: the shell does not load lxml at start.
"""

from __future__ import annotations

import datetime as dt

from core.errors import ValidationError
from plugins.accounting import vat
from plugins.accounting.models import _

#: EN 16931 "specification identifier" (BT-24) of each profile
PROFILES = {"en16931": "urn:cen.eu:en16931:2017"}


def _party(p: dict) -> dict:
    out = {"name": p.get("name", ""), "country_code": p.get("country") or "DE", "city": p.get("city", ""),
           "postcode": p.get("postcode", ""), "addr_l1": p.get("street", "")}
    if p.get("vat_id") and p["vat_id"][:2].isalpha():
        out["vat_identifier"] = p["vat_id"]
    if p.get("tax_number"):
        out["tax_identifier"] = p["tax_number"]
    if p.get("email"):
        out["einvoicing_addr"] = p["email"]
        out["einvoicing_addr_schemeid"] = "EM"
    return {k: v for k, v in out.items() if v}


def data_dict(doc: dict) -> dict:
    """The invoice's business terms (EN 16931), keyed as the factur-x library reads them."""
    if doc["status"] == "draft" or not doc.get("number"):
        raise ValidationError(_("a draft is not an invoice yet: issue it first"), field="invoice")
    seller, buyer = doc["seller"], doc["buyer"]
    reasons = {}
    lines = []
    for i, line in enumerate(doc["lines"], start=1):
        vc = vat.CODES[line["vat_code"]]
        lines.append({"BT-126": str(i), "BT-129": line["quantity"], "BT-130": line["unit"], "BT-131": line["net"],
                      "BT-146": line["unit_price"], "BT-151": vc.category,
                      **({"BT-152": f"{vc.rate * 100:f}"} if vc.rate is not None else {}),
                      "BT-153": line["description"]})
    breakdown = []
    for row in doc["breakdown"]:
        vc = vat.CODES[row["vat_code"]]
        item = {"BT-116": row["net"], "BT-117": row["tax"], "BT-118": vc.category}
        if vc.rate is not None:
            item["BT-119"] = f"{vc.rate * 100:f}"
        if vc.invoice_note:
            item["BT-120"] = _(vc.invoice_note)
            reasons[vc.category] = item["BT-120"]
        breakdown.append(item)
    data = {
        "BT-24": PROFILES["en16931"],
        "BT-1": doc["number"],
        "BT-2": dt.date.fromisoformat(doc["date"]),
        "BT-3": "381" if doc["kind"] == "credit_note" else "380",
        "BT-5": doc["currency"],
        "BT-10": buyer.get("buyer_reference") or buyer.get("name"),
        "BG-4": _party(seller),
        "BG-7": _party(buyer),
        "BT-72": dt.date.fromisoformat(doc["delivery_date"]),
        "BT-106": doc["net"], "BT-109": doc["net"], "BT-110": doc["tax"], "BT-112": doc["total"],
        "BT-115": doc["total"],
        "BG-23": breakdown,
        "BG-25": lines,
    }
    if doc.get("delivery_end"):
        data["BT-73"] = dt.date.fromisoformat(doc["delivery_date"])
        data["BT-74"] = dt.date.fromisoformat(doc["delivery_end"])
    if doc["kind"] == "invoice":
        data["BT-9"] = dt.date.fromisoformat(doc["due"])
        if seller.get("iban"):
            data.update({"BT-81": "58", "BT-84": seller["iban"], "BT-83": doc["number"]})
    else:
        data["BG-3"] = [{"BT-25": doc["corrects_number"], "BT-26": dt.date.fromisoformat(doc["corrects_date"])}]
    if doc.get("note"):
        data["BG-1"] = [{"BT-22": doc["note"]}]
    return data


def invoice_xml(doc: dict, syntax: str = "cii") -> bytes:
    """The invoice as EN 16931 XML (``cii`` or ``ubl``), checked against the XSD."""
    from facturx import generate_xml

    if syntax not in ("cii", "ubl"):
        raise ValidationError(_("{value!r} is not an e-invoice syntax (cii or ubl)").format(value=syntax[:10]),
                              field="syntax")
    return generate_xml(data_dict(doc), flavor="factur-x" if syntax == "cii" else "ubl-2.1", level="en16931",
                        check_xsd=True, check_schematron=False)
