"""CAMT.053 statements, CAMT.052 intraday reports and CAMT.054 debit/credit
notifications as a German bank writes them, made by the tests
(``check(data, "camt.053.001.02.xsd")`` and the others show they are valid)."""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

OFFICE_IBAN = "DE89370400440532013000"
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
NS054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"
NS052 = "urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"


def tx(amount: str, *, e2e: str = "NOTPROVIDED", name: str = "", iban_: str = "", text: str = "") -> dict:
    return {"amount": amount, "e2e": e2e, "name": name, "iban": iban_, "text": text}


def entries_xml(entries: list[dict], day: str) -> tuple[str, Decimal]:
    """The entries (``Ntry``) of a statement or notification and what they add up to."""
    total = Decimal(0)
    body = []
    for n, e in enumerate(entries, start=1):
        amount = sum((Decimal(t["amount"]) for t in e["txs"]), Decimal(0))
        total += -amount if e["sign"] == "-" else amount
        ind = "DBIT" if e["sign"] == "-" else "CRDT"
        party, acct = ("Cdtr", "CdtrAcct") if ind == "DBIT" else ("Dbtr", "DbtrAcct")
        details = []
        for t in e["txs"]:
            related = ""
            if t["name"] or t["iban"]:
                related = "<RltdPties>" + (f"<{party}><Nm>{escape(t['name'])}</Nm></{party}>" if t["name"] else "") + \
                    (f"<{acct}><Id><IBAN>{t['iban']}</IBAN></Id></{acct}>" if t["iban"] else "") + "</RltdPties>"
            amt = f'<AmtDtls><TxAmt><Amt Ccy="EUR">{t["amount"]}</Amt></TxAmt></AmtDtls>' if len(e["txs"]) > 1 else ""
            rmt = f"<RmtInf><Ustrd>{escape(t['text'])}</Ustrd></RmtInf>" if t["text"] else ""
            details.append(f"<TxDtls><Refs><EndToEndId>{t['e2e']}</EndToEndId></Refs>{amt}{related}{rmt}</TxDtls>")
        body.append(
            f'<Ntry><Amt Ccy="EUR">{amount:.2f}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts>{e.get("status", "BOOK")}</Sts>'
            f'<BookgDt><Dt>{e.get("date", day)}</Dt></BookgDt><ValDt><Dt>{e.get("date", day)}</Dt></ValDt>'
            f'<AcctSvcrRef>{e.get("ref", f"REF{n:04d}")}</AcctSvcrRef>'
            f'<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>'
            f'<NtryDtls>{"".join(details)}</NtryDtls></Ntry>')
    return "".join(body), total


def camt053(entries: list[dict], *, opening: str, account: str = OFFICE_IBAN, stmt_id: str = "2026-01-31-1",
            day: str = "2026-01-30", closing: str | None = None) -> bytes:
    """A CAMT.053.001.02 statement as a German bank writes it: each entry
    ``{"sign": "-"|"+", "date", "txs": [tx(...)], "ref"}``; an entry of
    several transactions is a batch booking (one amount, each
    transaction's own in AmtDtls)."""
    body, moved = entries_xml(entries, day)
    total = Decimal(opening) + moved
    closing = closing or f"{total:.2f}"

    def bal(code: str, value: str, date: str) -> str:
        v = Decimal(value)
        return (f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{abs(v):.2f}</Amt>'
                f'<CdtDbtInd>{"DBIT" if v < 0 else "CRDT"}</CdtDbtInd><Dt><Dt>{date}</Dt></Dt></Bal>')

    xml = (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS}"><BkToCstmrStmt>'
           f'<GrpHdr><MsgId>CAMT-{stmt_id}</MsgId><CreDtTm>{day}T22:00:00</CreDtTm></GrpHdr>'
           f'<Stmt><Id>{stmt_id}</Id><CreDtTm>{day}T22:00:00</CreDtTm>'
           f'<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>'
           f'{bal("OPBD", opening, "2026-01-01")}{bal("CLBD", closing, day)}{body}</Stmt>'
           f'</BkToCstmrStmt></Document>')
    return xml.encode()


def camt054(entries: list[dict], *, account: str = OFFICE_IBAN, ntfctn_id: str = "2026-01-28-N1",
            day: str = "2026-01-28") -> bytes:
    """A CAMT.054.001.02 debit/credit notification: the entries as in
    :func:`camt053` (``"status": "PDNG"`` for one not booked yet), no balances."""
    body, _moved = entries_xml(entries, day)
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS054}"><BkToCstmrDbtCdtNtfctn>'
           f'<GrpHdr><MsgId>CAMT054-{ntfctn_id}</MsgId><CreDtTm>{day}T12:00:00</CreDtTm></GrpHdr>'
           f'<Ntfctn><Id>{ntfctn_id}</Id><CreDtTm>{day}T12:00:00</CreDtTm>'
           f'<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>{body}</Ntfctn>'
           f'</BkToCstmrDbtCdtNtfctn></Document>')
    return xml.encode()


def camt052(entries: list[dict], *, opening: str, account: str = OFFICE_IBAN, rpt_id: str = "2026-01-28-R1",
            day: str = "2026-01-28") -> bytes:
    """A CAMT.052.001.02 intraday account report: the day's opening balance
    and the interim booked one (ITBD), the entries as in :func:`camt053`."""
    body, moved = entries_xml(entries, day)

    def bal(code: str, value: Decimal) -> str:
        return (f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{abs(value):.2f}</Amt>'
                f'<CdtDbtInd>{"DBIT" if value < 0 else "CRDT"}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>')

    xml = (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS052}"><BkToCstmrAcctRpt>'
           f'<GrpHdr><MsgId>CAMT052-{rpt_id}</MsgId><CreDtTm>{day}T13:00:00</CreDtTm></GrpHdr>'
           f'<Rpt><Id>{rpt_id}</Id><CreDtTm>{day}T13:00:00</CreDtTm>'
           f'<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>'
           f'{bal("OPBD", Decimal(opening))}{bal("ITBD", Decimal(opening) + moved)}{body}</Rpt>'
           f'</BkToCstmrAcctRpt></Document>')
    return xml.encode()
