"""The tax adviser's master data of vendors and customers: DATEV's EXTF
"Debitoren/Kreditoren" (format category 16, format version 5).

Beside the Buchungsstapel (:mod:`datev`) the adviser imports who its
personal accounts are: one row per customer (Debitor) and per vendor
(Kreditor) with the account number the Buchungsstapel books on — a
customer's ``debtors_from`` + its id (10000–69999), a vendor's
``creditors_from`` + its id (70000–99999), one digit longer than the
four-digit ledger accounts the header announces — its name, address,
e-mail, the customer's VAT ID (EU-Land and the number after it, as DATEV
splits it) and terms, the vendor's IBAN and BIC as its main bank account,
and Backdesk's own number ("Nummer Fremdsystem"). Same file rules as the
Buchungsstapel: the header line of 31 fields, the 254 column names, text in
double quotes, Windows-1252, CRLF.

Reading vendors and customers needs ``accounting.bills.read`` and
``accounting.invoices.read`` besides ``accounting.ledger.export``; each
export is recorded in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from core.services.audit import now_utc
from core.errors import ValidationError
from core.i18n import today
from core.outputs import write_output
from plugins.accounting import datev
from plugins.accounting import sepa
from plugins.accounting.models import _

CATEGORY = 16
FORMAT_NAME = "Debitoren/Kreditoren"
FORMAT_VERSION = 5


def _bank(n: int) -> list[str]:
    return [f"Bankleitzahl {n}", f"Bankbezeichnung {n}", f"Bank-Kontonummer {n}", f"Länderkennzeichen {n}",
            f"IBAN-Nr. {n}", "Leerfeld", f"SWIFT-Code {n}", f"Abw. Kontoinhaber {n}", f"Kennz. Hauptbankverb. {n}",
            f"Bankverb {n} Gültig von", f"Bankverb {n} Gültig bis"]


#: the 254 columns of Debitoren/Kreditoren (format version 5), named as in DATEV's sample file
COLUMNS = (
    ["Konto", "Name (Adressattyp Unternehmen)", "Unternehmensgegenstand", "Name (Adressattyp natürl. Person)",
     "Vorname (Adressattyp natürl. Person)", "Name (Adressattyp keine Angabe)", "Adressattyp", "Kurzbezeichnung",
     "EU-Land", "EU-UStID", "Anrede", "Titel/Akad. Grad", "Adelstitel", "Namensvorsatz", "Adressart", "Straße",
     "Postfach", "Postleitzahl", "Ort", "Land", "Versandzusatz", "Adresszusatz", "Abweichende Anrede",
     "Abw. Zustellbezeichnung 1", "Abw. Zustellbezeichnung 2", "Kennz. Korrespondenzadresse",
     "Adresse Gültig von", "Adresse Gültig bis", "Telefon", "Bemerkung (Telefon)", "Telefon GL",
     "Bemerkung (Telefon GL)", "E-Mail", "Bemerkung (E-Mail)", "Internet", "Bemerkung (Internet)", "Fax",
     "Bemerkung (Fax)", "Sonstige", "Bemerkung (Sonstige)"]
    + [c for n in range(1, 6) for c in _bank(n)]
    + ["Leerfeld", "Briefanrede", "Grußformel", "Kunden-/Lief.-Nr.", "Steuernummer", "Sprache", "Ansprechpartner",
       "Vertreter", "Sachbearbeiter", "Diverse-Konto", "Ausgabeziel", "Währungssteuerung", "Kreditlimit (Debitor)",
       "Zahlungsbedingung", "Fälligkeit in Tagen (Debitor)", "Skonto in Prozent (Debitor)",
       "Kreditoren-Ziel 1 Tg.", "Kreditoren-Skonto 1 %", "Kreditoren-Ziel 2 Tg.", "Kreditoren-Skonto 2 %",
       "Kreditoren-Ziel 3 Brutto Tg.", "Kreditoren-Ziel 4 Tg.", "Kreditoren-Skonto 4 %", "Kreditoren-Ziel 5 Tg.",
       "Kreditoren-Skonto 5 %", "Mahnung", "Kontoauszug", "Mahntext 1", "Mahntext 2", "Mahntext 3",
       "Kontoauszugstext", "Mahnlimit Betrag", "Mahnlimit %", "Zinsberechnung", "Mahnzinssatz 1", "Mahnzinssatz 2",
       "Mahnzinssatz 3", "Lastschrift", "Leerfeld", "Mandantenbank", "Zahlungsträger"]
    + [f"Indiv. Feld {n}" for n in range(1, 16)]
    + [f"{c} (Rechnungsadresse)" for c in ("Abweichende Anrede", "Adressart", "Straße", "Postfach", "Postleitzahl",
                                           "Ort", "Land", "Versandzusatz", "Adresszusatz",
                                           "Abw. Zustellbezeichnung 1", "Abw. Zustellbezeichnung 2",
                                           "Adresse Gültig von", "Adresse Gültig bis")]
    + [c for n in range(6, 11) for c in _bank(n)]
    + ["Nummer Fremdsystem", "Insolvent"] + [f"SEPA-Mandatsreferenz {n}" for n in range(1, 11)]
    + ["Verknüpftes OPOS-Konto", "Mahnsperre bis", "Lastschriftsperre bis", "Zahlungssperre bis",
       "Gebührenberechnung", "Mahngebühr 1", "Mahngebühr 2", "Mahngebühr 3", "Pauschalenberechnung",
       "Verzugspauschale 1", "Verzugspauschale 2", "Verzugspauschale 3", "Alternativer Suchname", "Status",
       "Anschrift manuell geändert (Korrespondenzadresse)", "Anschrift individuell (Korrespondenzadresse)",
       "Anschrift manuell geändert (Rechnungsadresse)", "Anschrift individuell (Rechnungsadresse)",
       "Fristberechnung bei Debitor", "Mahnfrist 1", "Mahnfrist 2", "Mahnfrist 3", "Letzte Frist"])
assert len(COLUMNS) == 254
#: where each field goes (0-based); numeric fields are written without quotes
AT = {name: COLUMNS.index(name) for name in (
    "Konto", "Name (Adressattyp Unternehmen)", "Adressattyp", "Kurzbezeichnung", "EU-Land", "EU-UStID",
    "Adressart", "Straße", "Postleitzahl", "Ort", "Land", "E-Mail", "Länderkennzeichen 1", "IBAN-Nr. 1",
    "SWIFT-Code 1", "Kennz. Hauptbankverb. 1", "Kunden-/Lief.-Nr.", "Fälligkeit in Tagen (Debitor)",
    "Kreditoren-Ziel 1 Tg.", "Nummer Fremdsystem", "Adresszusatz")}
NUMERIC = frozenset({AT["Konto"], AT["Fälligkeit in Tagen (Debitor)"], AT["Kreditoren-Ziel 1 Tg."]})
#: DATEV's limits for the text fields filled
LIMITS = {"Name (Adressattyp Unternehmen)": 50, "Kurzbezeichnung": 15, "EU-UStID": 13, "Straße": 36,
          "Postleitzahl": 10, "Ort": 30, "E-Mail": 60, "Kunden-/Lief.-Nr.": 15, "Nummer Fremdsystem": 15,
          "Adresszusatz": 36}
_POSTCODE_CITY = re.compile(r"^(?:([A-Z]{2})[- ])?(\d{4,5})\s+(.+)$")


def _address(text: str) -> dict:
    """A vendor's address as typed ("Hauptstraße 1, 10115 Berlin", or on
    lines): the street, postcode and city where they can be told apart;
    else the whole in "Adresszusatz"."""
    parts = [p.strip() for p in re.split(r"[\n,;]+", text or "") if p.strip()]
    if not parts:
        return {}
    found = _POSTCODE_CITY.match(parts[-1])
    if found and len(parts) >= 2:
        out = {"Straße": parts[-2], "Postleitzahl": found.group(2), "Ort": found.group(3)}
        if found.group(1):
            out["Land"] = found.group(1)
        return out
    return {"Adresszusatz": " ".join(parts)}


def _vat(vat_id: str) -> dict:
    """DATEV keeps a VAT ID as the country (EU-Land) and the rest (EU-UStID)."""
    v = re.sub(r"\s+", "", vat_id or "").upper()
    if len(v) > 2 and v[:2].isalpha():
        return {"EU-Land": v[:2], "EU-UStID": v[2:]}
    return {}


def partners(ctx) -> list[dict]:
    """Every customer (Debitor) and vendor (Kreditor) as DATEV's fields by
    column name, debtors first, each by account number."""
    for permission in ("accounting.ledger.export", "accounting.invoices.read", "accounting.bills.read"):
        ctx.require(permission)
    cfg = datev.settings(ctx)
    rows = []
    for c in ctx.table("customers").find({}, order_by=["id"]):
        row = {"Konto": datev.debtor_account(cfg, c["id"]), "Name (Adressattyp Unternehmen)": c["name"],
               "Adressattyp": "2", "Kurzbezeichnung": c["name"], "Straße": c.get("street") or "",
               "Postleitzahl": c.get("postcode") or "", "Ort": c.get("city") or "", "Land": c.get("country") or "",
               "E-Mail": c.get("email") or "", "Kunden-/Lief.-Nr.": str(c.get("number") or c["id"]),
               "Fälligkeit in Tagen (Debitor)": c.get("terms_days"), "Nummer Fremdsystem": f"BD-K{c['id']}",
               **_vat(c.get("vat_id") or "")}
        rows.append(row)
    for v in ctx.table("vendors").find({}, order_by=["id"]):
        row = {"Konto": datev.creditor_account(cfg, v["id"]), "Name (Adressattyp Unternehmen)": v["name"],
               "Adressattyp": "2", "Kurzbezeichnung": v["name"], "E-Mail": v.get("email") or "",
               "Kunden-/Lief.-Nr.": str(v["id"]), "Kreditoren-Ziel 1 Tg.": v.get("terms_days"),
               "Nummer Fremdsystem": f"BD-L{v['id']}", **_address(v.get("address") or "")}
        if v.get("iban"):
            row.update({"IBAN-Nr. 1": v["iban"], "Länderkennzeichen 1": v["iban"][:2],
                        "SWIFT-Code 1": v.get("bic") or "", "Kennz. Hauptbankverb. 1": "1"})
        rows.append(row)
    for row in rows:
        if row.get("Straße") or row.get("Postleitzahl"):
            row["Adressart"] = "STR"
    return rows


def _cell(name: str, value) -> str:
    if value is None or value == "":
        return "" if COLUMNS.index(name) in NUMERIC else '""'
    if COLUMNS.index(name) in NUMERIC:
        return str(int(value))
    text = " ".join(str(value).split())[:LIMITS.get(name, 60)]
    return datev._quote(text)


def debitoren_kreditoren(ctx) -> tuple[str, list[dict], dict]:
    """The master data as text (encode it in Windows-1252), its rows and the
    header's values."""
    cfg = datev.settings(ctx)
    ctx.require("accounting.ledger.export")
    if not cfg["advisor"] or not cfg["client"]:
        raise ValidationError(_("set the datev setting's advisor (Beraternummer) and client (Mandantennummer) "
                                "first"), field="datev")
    rows = partners(ctx)
    created = dt.datetime.fromisoformat(now_utc())
    fy = datev._fiscal_year_start(cfg, today().isoformat())
    header = {"created": created.strftime("%Y%m%d%H%M%S") + f"{created.microsecond // 1000:03d}",
              "advisor": cfg["advisor"], "client": cfg["client"], "fiscal_year_start": fy.replace("-", ""),
              "chart": cfg["chart"][3:], "user": ctx.operator.account[:25]}
    # as DATEV's sample: no period, label, dictation code, booking type or currency for master data
    fields = [datev._quote("EXTF"), str(datev.HEADER_VERSION), str(CATEGORY), datev._quote(FORMAT_NAME),
              str(FORMAT_VERSION), header["created"], "", datev._quote("BD"), datev._quote(header["user"]), '""',
              str(cfg["advisor"]), str(cfg["client"]), header["fiscal_year_start"], "4", "", "", '""', '""', "", "",
              "", '""', "", '""', "", "", datev._quote(header["chart"]), "", "", '""', '""']
    lines = [";".join(fields), ";".join(COLUMNS)]
    for row in rows:
        cells = [("" if i in NUMERIC else '""') for i in range(len(COLUMNS))]
        for name, value in row.items():
            cells[COLUMNS.index(name)] = _cell(name, value)
        lines.append(";".join(cells))
    return "\r\n".join(lines) + "\r\n", rows, header


FILE_NAME = "EXTF_Debitoren_Kreditoren.csv"


def export(ctx, path: str | Path | None = None) -> tuple[Path, int]:
    """Write the master data (Windows-1252) to ``path`` or the exports
    folder; recorded in the audit trail. (path, rows)."""
    text, rows, _header = debitoren_kreditoren(ctx)
    data = text.encode(datev.ENCODING, errors="replace")
    target = Path(path).expanduser() if path not in (None, "") else sepa.exports_dir(ctx) / FILE_NAME
    write_output(target, data)
    ctx.services.audit.record_read("accounting", "accounting.customers", None,
                                   f"DATEV Debitoren/Kreditoren ({len(rows)} accounts) written to {target}")
    return target, len(rows)


__all__ = ["COLUMNS", "partners", "debitoren_kreditoren", "export", "FILE_NAME"]
