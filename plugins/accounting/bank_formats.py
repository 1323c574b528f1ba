"""Reading bank statements: CAMT.053, the intraday account reports of
CAMT.052 and the debit/credit notifications of CAMT.054 (ISO 20022, each
checked against its schema), MT940 (SWIFT) and bank CSVs in the bank's own
encoding.

Pure parsing: bytes in, :class:`Statement` out, one readable line
(:class:`~core.errors.ValidationError`) for anything wrong — a file that is
not XML, one its schema refuses, balances that do not add up, a truncated
MT940 record. Nothing here touches storage; ``bank`` stores and matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from core.errors import ValidationError
from plugins.accounting import ledger as L
from plugins.accounting import models as m
from plugins.accounting.models import _

SCHEMAS = Path(__file__).parent / "schemas"
#: the CAMT versions read, by namespace: the schema each is checked against
CAMT = {f"urn:iso:std:iso:20022:tech:xsd:{name}": f"{name}.xsd"
        for name in ("camt.053.001.02", "camt.053.001.08", "camt.052.001.02", "camt.052.001.08",
                     "camt.054.001.02", "camt.054.001.08")}
#: where a message's statements (053), intraday reports (052) or notifications (054) are
CAMT_REPORTS = {"camt.053": "c:BkToCstmrStmt/c:Stmt", "camt.052": "c:BkToCstmrAcctRpt/c:Rpt",
                "camt.054": "c:BkToCstmrDbtCdtNtfctn/c:Ntfctn"}
MAX_LINES = 20000


@dataclass
class Line:
    """One booked line of a statement; ``amount`` is signed (a debit < 0)."""

    booking_date: str
    amount: Decimal
    currency: str
    value_date: str = ""
    name: str = ""
    iban: str = ""
    remittance: str = ""
    end_to_end_id: str = ""
    bank_ref: str = ""
    info: str = ""
    key: str = ""


@dataclass
class Statement:
    kind: str
    iban: str
    currency: str
    statement_id: str
    opening: Decimal | None = None
    closing: Decimal | None = None
    opening_date: str = ""
    closing_date: str = ""
    lines: list[Line] = field(default_factory=list)


def line_keys(iban: str, lines: list[Line]) -> None:
    """Give each line its identity: a hash of what the bank says about it
    (account, dates, amount, references, counterparty, text) and how many
    identical lines came before it in the statement, so the same line
    imported again — in the same file or the next day's — is known, and two
    identical coffees on one day stay two lines."""
    seen: dict[str, int] = {}
    for ln in lines:
        base = "|".join([iban, ln.booking_date, ln.value_date, f"{ln.amount:f}", ln.currency, ln.end_to_end_id,
                         ln.bank_ref, ln.iban, ln.name, ln.remittance])
        digest = hashlib.sha256(base.encode()).hexdigest()[:32]
        n = seen.get(digest, 0)
        seen[digest] = n + 1
        ln.key = f"{digest}-{n}"


def check_balances(st: Statement) -> None:
    """The opening balance plus the lines must be the closing balance."""
    if st.opening is None or st.closing is None:
        return
    total = sum((ln.amount for ln in st.lines), Decimal(0))
    if st.opening + total != st.closing:
        raise ValidationError(_("statement {id}: the balances do not add up (opening {opening} + lines {lines} is "
                                "{sum}, the closing balance says {closing})").format(
            id=st.statement_id, opening=f"{st.opening:f}", lines=f"{total:f}", sum=f"{st.opening + total:f}",
            closing=f"{st.closing:f}"), field="file")


# ============================================================================ CAMT.053
@lru_cache(maxsize=None)
def _schema(name: str):
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def parse_camt(data: bytes) -> list[Statement]:
    """The statements of a CAMT.053 file, the intraday reports of a
    CAMT.052 or the notifications of a CAMT.054 (booked debits and credits
    as the bank reports them during the day; a notification has no
    balances, a report's are checked only when it has a closing one), after
    its schema accepted it. A line of a report or notification and the same
    line in the day's statement have one identity (:func:`line_keys`), so
    whichever comes second adds nothing."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise ValidationError(_("not an XML file ({error})").format(error=str(error)[:160]), field="file") from None
    ns = root.nsmap.get(None) or ""
    if ns not in CAMT:
        raise ValidationError(_("not a CAMT.052, CAMT.053 or CAMT.054 message (namespace {ns!r}; read are "
                                "{known})").format(ns=ns[:80], known=", ".join(v[:-4] for v in CAMT.values())),
                              field="file")
    schema = _schema(CAMT[ns])
    if not schema.validate(root):
        err = schema.error_log.last_error
        raise ValidationError(_("not valid against {schema}: line {line}: {error}").format(
            schema=CAMT[ns][:-4], line=err.line, error=_plain_xsd_error(err.message)), field="file")
    kind = CAMT[ns][:8]
    p = {"c": ns}

    def text(node, path: str) -> str:
        found = node.find(path, p)
        return " ".join((found.text or "").split()) if found is not None else ""

    def date(node, path: str) -> str:
        d = text(node, path + "/c:Dt") or text(node, path + "/c:DtTm")[:10]
        return d

    def signed(node, amount_path: str, ind_path: str) -> Decimal:
        value = L.to_decimal(text(node, amount_path))
        return -value if text(node, ind_path) == "DBIT" else value

    out = []
    for stmt in root.iterfind(CAMT_REPORTS[kind], p):
        iban = text(stmt, "c:Acct/c:Id/c:IBAN")
        if not iban:
            raise ValidationError(_("statement {id}: the account has no IBAN").format(id=text(stmt, "c:Id")),
                                  field="file")
        iban = m.iban(iban, "file")
        st = Statement(kind, iban, text(stmt, "c:Acct/c:Ccy"), text(stmt, "c:Id"))
        for bal in stmt.iterfind("c:Bal", p):
            code = text(bal, "c:Tp/c:CdOrPrtry/c:Cd")
            amount = signed(bal, "c:Amt", "c:CdtDbtInd")
            if code in ("OPBD", "PRCD") and st.opening is None:
                st.opening, st.opening_date = amount, date(bal, "c:Dt")
            elif code == "CLBD":
                st.closing, st.closing_date = amount, date(bal, "c:Dt")
        for entry in stmt.iterfind("c:Ntry", p):
            status = text(entry, "c:Sts") or text(entry, "c:Sts/c:Cd")
            if status and status != "BOOK":
                continue  # pending or information only: not on the account yet
            st.lines.extend(_camt_lines(entry, text, date, signed, p))
            if len(st.lines) > MAX_LINES:
                raise ValidationError(_("more than {n} lines in one statement").format(n=MAX_LINES), field="file")
        st.currency = st.currency or (st.lines[0].currency if st.lines else "EUR")
        check_balances(st)
        line_keys(st.iban, st.lines)
        out.append(st)
    return out


def _camt_lines(entry, text, date, signed, p) -> list[Line]:
    """An entry's lines: one per transaction when a batch booking carries
    each transaction's own amount, else the entry as one line."""
    amount = signed(entry, "c:Amt", "c:CdtDbtInd")
    currency = entry.find("c:Amt", p).get("Ccy")
    booking, value = date(entry, "c:BookgDt"), date(entry, "c:ValDt")
    debit = amount < 0
    txs = entry.findall("c:NtryDtls/c:TxDtls", p)

    def tx_amount(tx) -> Decimal | None:
        raw = text(tx, "c:Amt") or text(tx, "c:AmtDtls/c:TxAmt/c:Amt")
        if not raw:
            return None
        value = L.to_decimal(raw)
        return -value if (text(tx, "c:CdtDbtInd") or ("DBIT" if debit else "CRDT")) == "DBIT" else value

    def line(tx, amt: Decimal) -> Line:
        party = "c:RltdPties/c:Cdtr" if debit else "c:RltdPties/c:Dbtr"
        acct = "c:RltdPties/c:CdtrAcct" if debit else "c:RltdPties/c:DbtrAcct"
        remittance = " ".join(u.text.strip() for u in tx.iterfind("c:RmtInf/c:Ustrd", p) if u.text) if tx is not None \
            else ""
        e2e = text(tx, "c:Refs/c:EndToEndId") if tx is not None else ""
        return Line(booking_date=booking, value_date=value, amount=amt, currency=currency,
                    name=(text(tx, party + "/c:Nm") or text(tx, party + "/c:Pty/c:Nm")) if tx is not None else "",
                    iban=(text(tx, acct + "/c:Id/c:IBAN") if tx is not None else ""),
                    remittance=remittance[:500], end_to_end_id="" if e2e == "NOTPROVIDED" else e2e,
                    bank_ref=text(entry, "c:AcctSvcrRef") or (text(tx, "c:Refs/c:AcctSvcrRef") if tx is not None
                                                              else ""),
                    info=(text(tx, "c:AddtlTxInf") if tx is not None else "") or text(entry, "c:AddtlNtryInf"))

    if len(txs) > 1:
        amounts = [tx_amount(tx) for tx in txs]
        if all(a is not None for a in amounts) and sum(amounts, Decimal(0)) == amount:
            return [line(tx, a) for tx, a in zip(txs, amounts)]
    return [line(txs[0] if txs else None, amount)]


def _plain_xsd_error(message: str) -> str:
    """libxml2's message without the namespace in braces."""
    return re.sub(r"\{[^}]*\}", "", message).strip()[:200]


# ============================================================================ MT940
def parse_mt940(text: str) -> list[Statement]:
    """The statements of an MT940 file (``mt-940``); a record without its
    account (:25:), opening (:60F:) or closing balance (:62F:) is truncated."""
    import mt940

    blocks = [b for b in re.split(r"(?m)^(?=:20:)", text.replace("\r\n", "\n")) if b.strip().startswith(":20:")]
    if not blocks:
        raise ValidationError(_("not an MT940 statement (no :20: record)"), field="file")
    out = []
    for n, block in enumerate(blocks, start=1):
        for tag in (":25:", ":60F:", ":62F:"):
            if not re.search(rf"(?m)^{re.escape(tag)}", block):
                raise ValidationError(_("MT940 record {n} is truncated: it has no {tag} line").format(n=n, tag=tag),
                                      field="file")
        try:
            parsed = mt940.models.Transactions()
            parsed.parse(block)
        except Exception as error:  # the library raises plain exceptions on a malformed tag
            raise ValidationError(_("MT940 record {n}: {error}").format(n=n, error=str(error)[:160]),
                                  field="file") from None
        data = parsed.data
        account = str(data.get("account_identification") or "")
        iban = account.split("/")[0].replace(" ", "")
        if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", iban):
            raise ValidationError(_("MT940 record {n}: the account {account!r} is not an IBAN").format(
                n=n, account=account[:40]), field="file")
        iban = m.iban(iban, "file")
        opening, closing = data.get("final_opening_balance"), data.get("final_closing_balance")
        st = Statement("mt940", iban, str(opening.amount.currency), str(data.get("transaction_reference") or n),
                       opening=_mt_amount(opening.amount), closing=_mt_amount(closing.amount),
                       opening_date=opening.date.isoformat(), closing_date=closing.date.isoformat())
        for tx in parsed:
            d = tx.data
            details = " ".join(str(d.get(k) or "") for k in ("purpose",)).strip() or str(d.get("transaction_details")
                                                                                        or "")
            st.lines.append(Line(booking_date=_mt_date(d.get("entry_date") or d.get("date")),
                                 value_date=_mt_date(d.get("date")), amount=_mt_amount(d["amount"]),
                                 currency=str(d["amount"].currency), name=str(d.get("applicant_name") or ""),
                                 iban=str(d.get("applicant_iban") or ""), remittance=" ".join(details.split())[:500],
                                 end_to_end_id=str(d.get("end_to_end_reference") or ""),
                                 bank_ref=str(d.get("bank_reference") or d.get("customer_reference") or "")))
        check_balances(st)
        line_keys(st.iban, st.lines)
        out.append(st)
    return out


def _mt_amount(amount) -> Decimal:
    return L.to_decimal(str(amount.amount))


def _mt_date(value) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value or "")[:10]


# ============================================================================ bank CSVs
def decode(data: bytes, encoding: str | None = None) -> str:
    """A bank CSV's bytes as text: in ``encoding`` when the mapping names
    one, else UTF-8 (with or without BOM), else what charset-normalizer
    finds (a German bank's Windows-1252 export); one line when none fits."""
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise ValidationError(_("unknown encoding {name!r}").format(name=encoding[:30]), field="encoding") from None
        except UnicodeDecodeError as error:
            raise ValidationError(_("the file is not {name} (byte {pos})").format(name=encoding, pos=error.start),
                                  field="file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["cp1252", "iso8859_15", "latin_1", "utf_16", "cp850"]).best()
    if best is None:
        raise ValidationError(_("the file's encoding is not recognised: name it in the mapping (encoding: cp1252)"),
                              field="file")
    return str(best)


def read_statement(data: bytes) -> list[Statement]:
    """CAMT.052, CAMT.053 or CAMT.054 (XML) or MT940, told apart by their first characters."""
    head = data.lstrip()[:200]
    if head.startswith(b"<"):
        return parse_camt(data)
    text = decode(data)
    if re.search(r"(?m)^:20:", text[:2000]) or text.lstrip().startswith("{1:"):
        return parse_mt940(text)
    raise ValidationError(_("not a bank statement this reads (CAMT.052, CAMT.053, CAMT.054 or MT940); a bank CSV "
                            "is imported with 'accounting import FILE --bank'"), field="file")
