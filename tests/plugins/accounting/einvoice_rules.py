"""The official rules an e-invoice is checked against in the tests (files in
tests/data/einvoice, see its README):

- the XML Schemas: UN/CEFACT CII D16B (uncoupled, as CEN publishes it for
  EN 16931), OASIS UBL 2.1 Invoice and CreditNote, the Factur-X EN 16931 XSD;
- the EN 16931 Schematron rules (CEN/TC 434, validation 1.3.16), compiled
  to XSLT 2.0 by CEN, run with SaxonC-HE (``saxonche``);
- the XRechnung CIUS rules (KoSIT xrechnung-schematron 2.5.0, XRechnung
  3.0.x), shipped as Schematron only: compiled here with lxml's ISO
  Schematron skeleton (an XSLT 1.0 compiler that emits the rules' XPath
  unchanged; its refusal of the "xslt2" query binding is bypassed) and the
  result run as XSLT 2.0 by Saxon.

``failed(xml, rules)`` gives every failed assertion (fatal and warning) as
"ID flag: text" lines; a test asserts it is empty.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree, isoschematron

DATA = Path(__file__).resolve().parents[2] / "data" / "einvoice"
XSD = {"cii": DATA / "cii-d16b" / "CrossIndustryInvoice_100pD16B.xsd",
       "ubl": DATA / "ubl-2.1" / "maindoc" / "UBL-Invoice-2.1.xsd",
       "ubl-credit": DATA / "ubl-2.1" / "maindoc" / "UBL-CreditNote-2.1.xsd",
       "facturx": DATA / "facturx-en16931" / "Factur-X_EN16931.xsd"}
EN16931 = {"cii": DATA / "en16931-schematron" / "EN16931-CII-validation.xslt",
           "ubl": DATA / "en16931-schematron" / "EN16931-UBL-validation.xslt"}
XRECHNUNG = {"cii": DATA / "xrechnung-schematron" / "cii" / "XRechnung-CII-validation.sch",
             "ubl": DATA / "xrechnung-schematron" / "ubl" / "XRechnung-UBL-validation.sch"}
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


def syntax(xml: bytes) -> str:
    return "cii" if etree.QName(etree.fromstring(xml)).localname == "CrossIndustryInvoice" else "ubl"


def xsd_errors(xml: bytes, which: str | None = None) -> list[str]:
    """What the official XSD says about ``xml`` (empty: valid)."""
    doc = etree.fromstring(xml)
    if which is None:
        which = "cii" if syntax(xml) == "cii" else \
            ("ubl-credit" if etree.QName(doc).localname == "CreditNote" else "ubl")
    schema = _xsd(str(XSD[which]))
    schema.validate(doc)
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


@functools.cache
def _xsd(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(file=path)


@functools.cache
def _saxon():
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@functools.cache
def _executable(xslt: str):
    return _saxon().new_xslt30_processor().compile_stylesheet(stylesheet_file=xslt)


def compile_schematron(sch: Path, out: Path) -> Path:
    """The Schematron ``sch`` as an XSLT 2.0 stylesheet at ``out``."""
    steps = Path(isoschematron.__file__).parent / "resources" / "xsl" / "iso-schematron-xslt1"
    doc = etree.parse(str(sch))
    doc = etree.XSLT(etree.parse(str(steps / "iso_dsdl_include.xsl")))(doc)
    doc = etree.XSLT(etree.parse(str(steps / "iso_abstract_expand.xsl")))(doc)
    doc.getroot().set("queryBinding", "xslt")  # the skeleton refuses "xslt2"; the result runs as 2.0 below
    doc = etree.XSLT(etree.parse(str(steps / "iso_svrl_for_xslt1.xsl")))(doc, **{"allow-foreign": "'true'"})
    root = doc.getroot()
    xslt2 = etree.Element(root.tag, dict(root.attrib, version="2.0"),
                          nsmap={**root.nsmap, "xs": "http://www.w3.org/2001/XMLSchema"})
    xslt2.extend(list(root))
    out.write_bytes(etree.tostring(xslt2))
    return out


@functools.cache
def _xrechnung(which: str, folder: str) -> str:
    return str(compile_schematron(XRECHNUNG[which], Path(folder) / f"xrechnung-{which}.xsl"))


def failed(xml: bytes, rules: str, tmp: Path | None = None) -> list[str]:
    """The failed assertions of ``rules`` ("en16931" or "xrechnung") on
    ``xml``; ``tmp``: a folder for the compiled XRechnung stylesheet."""
    which = syntax(xml)
    xslt = str(EN16931[which]) if rules == "en16931" else _xrechnung(which, str(tmp))
    node = _saxon().parse_xml(xml_text=xml.decode("utf-8"))
    report = etree.fromstring(_executable(xslt).transform_to_string(xdm_node=node).encode("utf-8"))
    fired = report.xpath("//svrl:fired-rule", namespaces=SVRL)
    assert fired, "no rule fired: the rules did not match the document"
    return [f"{f.get('id')} {f.get('flag')}: {' '.join(f.xpath('string(svrl:text)', namespaces=SVRL).split())}"
            for f in report.xpath("//svrl:failed-assert", namespaces=SVRL)]
