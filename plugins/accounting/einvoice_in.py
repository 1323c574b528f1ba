"""E-invoices in: an EN 16931 invoice (CII or UBL XML, or a Factur-X /
ZUGFeRD PDF with the XML inside) read into a draft bill — the vendor (found
by name, or added), the number, dates, lines with their VAT codes.

lxml reads the XML with entities and network access off; anything that is
not a readable invoice is refused in one line and nothing is stored.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.resources
import os
from decimal import Decimal

from facturx import facturx
from lxml import etree

from core.errors import BackdeskError, ValidationError
from core.i18n import date_text
from plugins.accounting import service as svc
from plugins.accounting.models import _

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
      "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
      "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
MAX_BYTES = 20 << 20
#: UNTDID 1001 document types that are credit notes, not invoices
CREDIT_TYPES = {"381", "261", "262", "296", "308", "396", "420", "458", "532"}

def _day(value) -> str:
    """A stored ISO day the locale's way ("02.03.2026"); "?" when there is none."""
    try:
        return date_text(value) if value else "?"
    except ValueError:
        return str(value)



@functools.cache
def _schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(file=str(importlib.resources.files("facturx").joinpath("xsd_and_schematron", path)))


def check_schema(root, name: str) -> None:
    """Validate against the official XSD the factur-x library ships: the
    Factur-X / ZUGFeRD schema of the CII's profile (EN 16931 when the
    profile is not one of Factur-X's, e.g. XRechnung's), UBL 2.1's Invoice
    or CreditNote schema. ValidationError naming the first error."""
    flavor = facturx.get_flavor(root)
    if flavor == "factur-x":
        try:
            level = facturx.get_level(root, flavor)
        except ValueError:  # no or another guideline (XRechnung's): the EN 16931 schema
            level = "en16931"
        path = facturx.FACTURX_LEVEL2xsd.get(level, facturx.FACTURX_LEVEL2xsd["en16931"])
    else:
        path = facturx.UBL_21_xsd[flavor]
    schema = _schema(path)
    if not schema.validate(root):
        error = schema.error_log.last_error
        raise ValidationError(_("{name}: not valid against the official schema (line {line}: {error})").format(
            name=name, line=error.line, error=error.message[:160]), field="file")


def _code(category: str, rate: str) -> str:
    """The VAT code of an EN 16931 category and rate."""
    if category == "S":
        return {"19": "19", "7": "7"}.get(str(Decimal(rate or "0").normalize()), "19")
    return {"Z": "0", "AE": "rc", "K": "eu", "O": "nt", "E": "nt", "G": "nt"}.get(category, "19")


def _date(text: str | None) -> str | None:
    if not text:
        return None
    t = text.strip()
    return f"{t[:4]}-{t[4:6]}-{t[6:8]}" if len(t) == 8 and t.isdigit() else t[:10]


def read_file(path) -> bytes:
    """The bytes of an e-invoice file, at most 20 MB (a device that never
    ends, like /dev/zero, is refused too); ValidationError otherwise."""
    name = os.path.basename(str(path)) or str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as error:
        raise ValidationError(f"{name}: {error.strerror or error}", field="file") from None
    if len(data) > MAX_BYTES:
        raise ValidationError(_("{name}: larger than 20 MB").format(name=name), field="file")
    return data


def read(data: bytes, name: str = "e-invoice") -> dict:
    """The invoice's vendor, number, dates and lines from CII or UBL XML (or
    a PDF with it inside); ValidationError naming ``name`` otherwise."""
    if len(data) > MAX_BYTES:
        raise ValidationError(_("{name}: larger than 20 MB").format(name=name), field="file")
    if data[:5] == b"%PDF-":
        try:
            _file, data = facturx.get_xml_from_pdf(data, check_xsd=False)
        except Exception:  # the library raises plain exceptions for a PDF without XML
            data = None
        if not data:
            raise ValidationError(_("{name}: a PDF without an e-invoice inside").format(name=name), field="file")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise ValidationError(_("{name}: not XML ({error})").format(name=name, error=str(error)[:120]),
                              field="file") from None
    tag = etree.QName(root).localname
    if tag not in ("CrossIndustryInvoice", "Invoice", "CreditNote"):
        raise ValidationError(_("{name}: not an EN 16931 invoice (CII or UBL)").format(name=name), field="file")
    check_schema(root, name)

    def x(node, path: str) -> str:
        return str(node.xpath(path, namespaces=NS)).strip()

    if tag == "CreditNote" or (tag == "CrossIndustryInvoice" and x(
            root, "string(/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode)") in CREDIT_TYPES):
        raise ValidationError(_("{name}: a credit note, not an invoice: book it by hand against its bill").format(
            name=name), field="file")
    if tag == "CrossIndustryInvoice":
        out = {"vendor": x(root, "string(//ram:SellerTradeParty/ram:Name)"),
               "number": x(root, "string(/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID)"),
               "date": _date(x(root, "string(//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString)")),
               "due": _date(x(root, "string(//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime"
                                    "/udt:DateTimeString)")),
               "total": x(root, "string(//ram:SpecifiedTradeSettlementHeaderMonetarySummation"
                                "/ram:GrandTotalAmount)"),
               "currency": x(root, "string(//ram:InvoiceCurrencyCode)"),
               "lines": []}
        for item in root.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS):
            out["lines"].append({
                "description": x(item, "string(ram:SpecifiedTradeProduct/ram:Name)"),
                "quantity": x(item, "string(ram:SpecifiedLineTradeDelivery/ram:BilledQuantity)"),
                "unit_price": x(item, "string(ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice"
                                      "/ram:ChargeAmount)"),
                "vat_code": _code(x(item, "string(ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax"
                                          "/ram:CategoryCode)"),
                                  x(item, "string(ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax"
                                          "/ram:RateApplicablePercent)"))})
    else:
        line_tag, qty_tag = "cac:InvoiceLine", "cbc:InvoicedQuantity"
        out = {"vendor": x(root, "string(//cac:AccountingSupplierParty//cac:PartyLegalEntity/cbc:RegistrationName)")
               or x(root, "string(//cac:AccountingSupplierParty//cac:PartyName/cbc:Name)"),
               "number": x(root, "string(/*/cbc:ID)"), "date": _date(x(root, "string(/*/cbc:IssueDate)")),
               "due": _date(x(root, "string(/*/cbc:DueDate)")),
               "total": x(root, "string(//cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount)"),
               "currency": x(root, "string(/*/cbc:DocumentCurrencyCode)"), "lines": []}
        if x(root, "string(/ubl:Invoice/cbc:InvoiceTypeCode)") in CREDIT_TYPES:
            raise ValidationError(_("{name}: a credit note, not an invoice: book it by hand against its bill")
                                  .format(name=name), field="file")
        for item in root.xpath(f"//{line_tag}", namespaces=NS):
            out["lines"].append({
                "description": x(item, "string(cac:Item/cbc:Name)"), "quantity": x(item, f"string({qty_tag})"),
                "unit_price": x(item, "string(cac:Price/cbc:PriceAmount)"),
                "vat_code": _code(x(item, "string(cac:Item/cac:ClassifiedTaxCategory/cbc:ID)"),
                                  x(item, "string(cac:Item/cac:ClassifiedTaxCategory/cbc:Percent)"))})
    if not out["vendor"] or not out["number"] or not out["lines"]:
        raise ValidationError(_("{name}: the invoice names no seller, number or lines").format(name=name),
                              field="file")
    return out


def summary(found: dict) -> list[str]:
    """The read invoice as lines of text (vendor, number, dates, lines, total)."""
    out = [_("{vendor}: invoice {number} of {date}, due {due}").format(
        vendor=found["vendor"], number=found["number"], date=_day(found["date"]), due=_day(found["due"]))]
    for line in found["lines"]:
        out.append(f"  {line['description'][:40]:<40} {line['quantity']:>8} × {line['unit_price']:>10}  "
                   f"{_('VAT')} {line['vat_code']}")
    out.append(_("total {total} {currency}").format(total=found["total"] or "?", currency=found["currency"]))
    return out


def bill_from_einvoice(ctx, data: bytes, name: str = "e-invoice", *, document_id: int | None = None) -> dict:
    """A draft bill from an e-invoice: the vendor found by name (added when
    new), the lines with their VAT codes; refused when the bill's total is
    not the invoice's. The bill keeps the file's name and SHA-256, and the
    document it was filed as: ``document_id`` when it came from the
    documents plugin's register; else, in the same transaction,
    ``accounting.einvoice_read`` hands the file to the documents plugin,
    which files it unless the same file is filed already (the bill finds its
    document by the hash, :func:`bill_documents.document_of`)."""
    ctx.require("accounting.bills.write")
    found = read(data, name)
    sha = hashlib.sha256(data).hexdigest()
    with ctx.transaction():
        vendors = [v for v in svc.vendors(ctx) if v["name"].casefold() == found["vendor"].strip().casefold()]
        vendor = vendors[0] if vendors else svc.add_vendor(ctx, {"name": found["vendor"]})
        bill = svc.create_bill(ctx, vendor["id"], found["number"], found["date"], found["due"], found["lines"],
                               cur=found["currency"] or None)
        if found["total"] and Decimal(found["total"]) != Decimal(bill["total"]):
            raise ValidationError(_("{name}: the lines add up to {ours}, the invoice says {theirs}").format(
                name=name, ours=bill["total"], theirs=found["total"]), field="file")
        bill = ctx.table("bills").update(bill["id"], {"source": {"kind": "e-invoice", "file": name, "sha256": sha,
                                                                 "document_id": document_id}})
        if document_id is None:
            ctx.publish("einvoice_read", {"bill_id": bill["id"], "filename": name, "sha256": sha,
                                          "vendor": vendor["name"], "number": bill["number"], "date": bill["date"],
                                          "data": base64.b64encode(data).decode("ascii")})
        return bill


def bill_from_document(ctx, data: dict) -> dict | None:
    """React to ``documents.handed_to_accounting``: the filed document's
    file becomes a draft bill linked to it. The operator who handed it over
    hears either way (a notification naming the bill, or why the file is
    no bill: broken XML, a number the vendor used already …); a document
    handed over twice gives the bill it gave the first time."""
    account = ctx.operator.account
    doc_id = int(data["document_id"])
    known = [b for b in ctx.table("bills").all() if (b.get("source") or {}).get("document_id") == doc_id]
    if known:
        bill = known[0]
    else:
        try:
            raw = base64.b64decode(str(data.get("data") or ""), validate=True)
            bill = bill_from_einvoice(ctx, raw, str(data.get("filename") or "e-invoice")[:200], document_id=doc_id)
        except (BackdeskError, ValueError) as error:
            ctx.services.notifications.notify(account, _("Document ASN {asn} is no bill: {error}").format(
                asn=data.get("asn"), error=getattr(error, "message", str(error))), kind="accounting.einvoice_refused",
                link="documents", data={"document_id": doc_id})
            return None
    vendor = (ctx.table("vendors").get(bill["vendor_id"]) or {}).get("name", "")
    ctx.services.notifications.notify(account, _("Draft bill {id} from {vendor} ({number}, {total} {currency}) "
                                                 "from document ASN {asn}").format(
        id=bill["id"], vendor=vendor, number=bill["number"], total=bill["total"], currency=bill["currency"],
        asn=data.get("asn")), kind="accounting.einvoice", link="accounting.bills",
        data={"bill_id": bill["id"], "document_id": doc_id})
    return bill
