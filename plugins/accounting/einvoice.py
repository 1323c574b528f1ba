"""E-invoices out: an issued invoice or credit note as EN 16931 XML, in CII
(Factur-X / ZUGFeRD EN 16931 profile) or UBL 2.1; and as XRechnung, the
German CIUS of EN 16931 that public buyers ask for (in either syntax): its
specification identifier, the buyer reference (Leitweg-ID), the seller's
contact (name, phone, email), both electronic addresses and the payment
instructions (BR-DE-1 … BR-DE-15).

The XML is written by the ``factur-x`` library (Akretion; it maps the EN
16931 business terms BT-/BG- to both syntaxes and checks the result against
the official Factur-X / UBL XSDs it ships before returning it). Imported
when used: the shell does not load lxml at start.
"""

from __future__ import annotations

import datetime as dt
import re

from core.errors import ValidationError
from plugins.accounting import vat
from plugins.accounting.models import _

#: EN 16931 "specification identifier" (BT-24) of each profile
PROFILES = {"en16931": "urn:cen.eu:en16931:2017",
            "xrechnung": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"}
NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
#: a Leitweg-ID: coarse address (2–12 digits), optional fine address, two check digits
LEITWEG = re.compile(r"^(\d{2,12})(?:-([A-Za-z0-9]{1,30}))?-(\d{2})$")


def leitweg_ok(value: str) -> bool:
    """Whether a Leitweg-ID's check digits are right (ISO 7064 MOD 97-10
    over the coarse and fine address, letters as 10 … 35)."""
    found = LEITWEG.match(value.strip())
    if not found:
        return False
    digits = "".join(str(int(c, 36)) for c in (found.group(1) + (found.group(2) or "")).upper())
    return int(digits + found.group(3)) % 97 == 1


def check_xrechnung(doc: dict) -> None:
    """What XRechnung asks beyond EN 16931, checked before writing it, each
    refusal naming what to fill in."""
    seller, buyer = doc["seller"], doc["buyer"]
    ref = (buyer.get("buyer_reference") or "").strip()
    if not ref:
        raise ValidationError(_("XRechnung needs the customer's buyer reference (for a public buyer its "
                                "Leitweg-ID)"), field="buyer_reference")
    if LEITWEG.match(ref) and not leitweg_ok(ref):
        raise ValidationError(_("the Leitweg-ID {value} has wrong check digits").format(value=ref),
                              field="buyer_reference")
    missing = [label for key, label in (("contact", _("contact")), ("phone", _("phone")), ("email", _("email")),
                                        ("postcode", _("postcode")), ("city", _("city")), ("iban", _("IBAN")))
               if not (seller.get(key) or "").strip()]
    if missing:
        raise ValidationError(_("XRechnung needs the company's {what} (the company setting)").format(
            what=", ".join(missing)), field="company")
    missing = [label for key, label in (("postcode", _("postcode")), ("city", _("city")), ("email", _("email")))
               if not (buyer.get(key) or "").strip()]
    if missing:
        raise ValidationError(_("XRechnung needs the customer's {what}").format(what=", ".join(missing)),
                              field="customer")


def _rate(vc) -> str | None:
    """A VAT code's rate in percent as EN 16931 wants it: 0 for the exempt,
    reverse-charge and intra-EU categories (BR-AE-05, BR-IC-05, BR-E-05,
    BR-48), none for "not subject to VAT" (O, BR-O-05)."""
    if vc.rate is not None:
        return f"{vc.rate * 100:f}"
    return None if vc.category == "O" else "0"


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


def data_dict(doc: dict, profile: str = "en16931", company: dict | None = None) -> dict:
    """The invoice's business terms (EN 16931), keyed as the factur-x
    library reads them; for ``profile`` "xrechnung" with what XRechnung
    adds. ``company``: the company setting now, for the contact fields an
    invoice issued before they were set does not carry."""
    if doc["status"] == "draft" or not doc.get("number"):
        raise ValidationError(_("a draft is not an invoice yet: issue it first"), field="invoice")
    if profile not in PROFILES:
        raise ValidationError(_("{value!r} is not an e-invoice profile (en16931 or xrechnung)").format(
            value=str(profile)[:20]), field="profile")
    seller = {**{k: v for k, v in (company or {}).items() if k in ("contact", "phone", "email")},
              **{k: v for k, v in doc["seller"].items() if v}}
    doc = {**doc, "seller": seller}
    buyer = doc["buyer"]
    if profile == "xrechnung":
        check_xrechnung(doc)
    reasons = {}
    lines = []
    for i, line in enumerate(doc["lines"], start=1):
        vc = vat.CODES[line["vat_code"]]
        lines.append({"BT-126": str(i), "BT-129": line["quantity"], "BT-130": line["unit"], "BT-131": line["net"],
                      "BT-146": line["unit_price"], "BT-151": vc.category,
                      **({"BT-152": _rate(vc)} if _rate(vc) is not None else {}),
                      "BT-153": line["description"]})
    breakdown = []
    for row in doc["breakdown"]:
        vc = vat.CODES[row["vat_code"]]
        item = {"BT-116": row["net"], "BT-117": row["tax"], "BT-118": vc.category}
        if _rate(vc) is not None:
            item["BT-119"] = _rate(vc)
        if vc.invoice_note:
            item["BT-120"] = _(vc.invoice_note)
            reasons[vc.category] = item["BT-120"]
        breakdown.append(item)
    data = {
        "BT-24": PROFILES[profile],
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
    categories = {vat.CODES[line["vat_code"]].category for line in doc["lines"]}
    if "K" in categories:  # an intra-EU supply names where it went (BR-IC-12): the customer's address
        data["BG-13"] = {k: v for k, v in _party(buyer).items()
                         if k in ("name", "country_code", "city", "postcode", "addr_l1")}
    if "AE" in categories and not buyer.get("vat_id"):
        raise ValidationError(_("a reverse-charge e-invoice names the customer's VAT ID (EN 16931 BR-AE-02): "
                                "add it to {customer}").format(customer=buyer.get("name", "")), field="customer")
    if "O" in categories and len(categories) > 1:
        raise ValidationError(_("an e-invoice cannot have lines not subject to VAT beside taxed ones (EN 16931 "
                                "BR-O-11): write them on an invoice of their own"), field="lines")
    if categories == {"O"}:  # not subject to VAT: no VAT IDs (BR-O-02); the seller named by its tax number (BR-CO-26)
        data["BG-4"].pop("vat_identifier", None)
        data["BG-7"].pop("vat_identifier", None)
        data["BG-4"]["identifiers"] = {"": seller.get("tax_number") or seller.get("vat_id")}
    if profile == "xrechnung":
        data["BT-10"] = buyer["buyer_reference"].strip()
        data["BG-4"]["contacts"] = [{"name": seller["contact"], "phone": seller["phone"], "email": seller["email"]}]
        if doc["kind"] == "credit_note":  # payment instructions are required (BR-DE-1), also here
            data.update({"BT-81": "1", "BT-82": _("Settled against open invoices or paid back")})
    return data


def invoice_xml(doc: dict, syntax: str = "cii", profile: str = "en16931", company: dict | None = None) -> bytes:
    """The invoice as EN 16931 XML (``cii`` or ``ubl``), or as XRechnung
    (``profile`` "xrechnung"), checked against the XSD."""
    from facturx import generate_xml

    if syntax not in ("cii", "ubl"):
        raise ValidationError(_("{value!r} is not an e-invoice syntax (cii or ubl)").format(value=syntax[:10]),
                              field="syntax")
    data = data_dict(doc, profile, company)
    data["BT-24"] = PROFILES["en16931"]  # the library sets the profile's own; XRechnung's is put in after
    xml = generate_xml(data, flavor="factur-x" if syntax == "cii" else "ubl-2.1", level="en16931",
                       check_xsd=True, check_schematron=False)
    if profile == "en16931":
        return xml
    from lxml import etree

    root = etree.fromstring(xml)
    path = ("/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter"
            "/ram:ID" if syntax == "cii" else "/*/cbc:CustomizationID")
    (node,) = root.xpath(path, namespaces=NS)
    node.text = PROFILES[profile]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
