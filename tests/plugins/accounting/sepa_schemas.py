"""The official bank-file schemas in tests/data/sepa (see its README), and
what a validated pain.001 says, read back with lxml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

SCHEMAS = Path(__file__).resolve().parents[2] / "data" / "sepa"


@lru_cache(maxsize=None)
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def check(data: bytes, name: str) -> etree._Element:
    """``data`` parsed, after the schema ``name`` accepted it (AssertionError with its complaints otherwise)."""
    root = etree.fromstring(data)
    xsd = schema(name)
    if not xsd.validate(root):
        raise AssertionError(f"not valid against {name}: " + "; ".join(str(e) for e in xsd.error_log))
    return root


def validate(data: bytes, name: str) -> list[dict]:
    """The transactions of a pain.001 valid against ``name``: name, iban,
    bic, amount, remittance, end-to-end id, requested execution date, and
    the batch booking flag of their payment information."""
    root = check(data, name)
    ns = {"p": root.nsmap[None]}
    out = []
    for info in root.iterfind(".//p:PmtInf", ns):
        date = info.findtext("p:ReqdExctnDt", namespaces=ns) or info.findtext("p:ReqdExctnDt/p:Dt", namespaces=ns)
        for tx in info.iterfind("p:CdtTrfTxInf", ns):
            out.append({"name": tx.findtext("p:Cdtr/p:Nm", namespaces=ns),
                        "iban": tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=ns),
                        "bic": tx.findtext("p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=ns)
                        or tx.findtext("p:CdtrAgt/p:FinInstnId/p:BICFI", namespaces=ns),
                        "amount": tx.findtext("p:Amt/p:InstdAmt", namespaces=ns),
                        "remittance": tx.findtext("p:RmtInf/p:Ustrd", namespaces=ns),
                        "end_to_end_id": tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns),
                        "date": date, "batch": info.findtext("p:BtchBookg", namespaces=ns)})
    return out
