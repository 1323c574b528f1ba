"""The demo company's filing: types, rules, documents, an inbox, an outbox."""

from __future__ import annotations

import random
import tempfile
from datetime import date, timedelta
from pathlib import Path

from core.outputs import private_dir, write_output
from plugins.documents import service

TYPES = [
    ("Invoice", 10, ["Invoice number", "Amount"]),
    ("Contract", 10, ["Counterparty", "Ends"]),
    ("Letter", 6, []),
    ("Fax", 6, []),
    ("Payslip", 6, ["Month"]),
    ("Delivery note", 6, ["Order"]),
]
RULES = [
    {"name": "Invoices", "match": "invoice rechnung", "algorithm": "any", "type": "Invoice",
     "tags": ["finance/invoices"]},
    {"name": "Telekom", "match": "Deutsche Telekom", "algorithm": "exact", "correspondent": "Deutsche Telekom AG",
     "tags": ["it/telephony"]},
    {"name": "Contracts", "match": "contract agreement", "algorithm": "all", "type": "Contract",
     "tags": ["legal/contracts"]},
    {"name": "Order numbers", "match": r"\bPO-\d{5}\b", "algorithm": "regex", "type": "Delivery note",
     "tags": ["purchasing"]},
]
CORRESPONDENTS = ["Deutsche Telekom AG", "Bürobedarf Schmidt GmbH", "Stadtwerke München", "Allianz SE",
                  "Finanzamt München", "Kanzlei Weber & Roth", "Papier Müller KG", "Hausverwaltung Berg"]
SUBJECTS = [
    ("Invoice", "Invoice {n} for office supplies", "Invoice number {n}\nOffice supplies: paper, toner, binders.\n"
     "Total amount due: {amount} EUR within 14 days."),
    ("Contract", "Maintenance contract copier", "Maintenance contract agreement for the copier in reception.\n"
     "Term: 24 months. Response time 8 hours."),
    ("Letter", "Letter about the annual statement", "Dear Sir or Madam,\nplease find the annual statement enclosed."),
    ("Delivery note", "Delivery note PO-{po}", "Delivery note for order PO-{po}: 10 boxes of paper A4."),
    ("Invoice", "Telephone invoice {month}", "Deutsche Telekom invoice for {month}.\nConnections and flat rate."),
]


def create_demo(ctx, seed: int) -> None:
    rng = random.Random(seed)
    for name, years, fields in TYPES:
        service.add_type(ctx, name, retention_years=years, fields=fields)
    for rule in RULES:
        service.add_rule(ctx, rule)
    people = [p for p in ctx.services.people.all() if p.get("status") != "left"]
    start = date(2026, 1, 5)
    with tempfile.TemporaryDirectory(prefix="backdesk-demo-") as tmp:
        tmpdir = Path(tmp)
        for i in range(28):
            kind, title, body = SUBJECTS[i % len(SUBJECTS)]
            n = 4711 + i
            when = start + timedelta(days=rng.randint(0, 150))
            text = body.format(n=n, amount=f"{rng.randint(20, 2000)}.{rng.randint(0, 99):02d}",
                               po=10000 + i * 7, month=when.strftime("%B %Y"))
            path = tmpdir / f"scan-{i:03d}.txt"
            path.write_text(f"{title.format(n=n, po=10000 + i * 7, month=when.strftime('%B %Y'))}\n\n{text}\n",
                            encoding="utf-8")
            responsible = rng.choice(people)["id"] if people else None
            service.add_document(ctx, path, {
                "title": title.format(n=n, po=10000 + i * 7, month=when.strftime("%B %Y")),
                "correspondent": rng.choice(CORRESPONDENTS) if kind != "Invoice" or i % 5 != 4 else "",
                "direction": rng.choice(["incoming", "incoming", "outgoing", "internal"]),
                "date": when.isoformat(), "location": f"Cabinet {1 + i % 3} / Shelf {'ABC'[i % 3]} / Binder {1 + i % 7}",
                "responsible_id": responsible,
            })
        first = service.list_documents(ctx)[-1]
        v2 = tmpdir / "scan-000-signed.txt"
        v2.write_text("Invoice number 4711 (signed copy)\nApproved for payment.\n", encoding="utf-8")
        service.add_version(ctx, first["id"], v2, note="signed")
        service.copy_document(ctx, first["id"])
    inbox = service.inbox_dir(ctx)
    private_dir(inbox)  # the store's modes: 0700 folders, 0600 files
    write_output(inbox / "rechnung-telekom-juni.txt",
                 "Deutsche Telekom\nRechnung / invoice June 2026\nAmount 89.90 EUR\n")
    write_output(inbox / "fax-kanzlei-weber.txt", "Kanzlei Weber & Roth\nContract agreement draft for review.\n")
    service.scan_inbox(ctx)
    docs = service.list_documents(ctx)
    reception = [p for p in people if p.get("email")][:1]
    if reception:
        service.queue_email(ctx, docs[0]["id"], [str(reception[0]["id"])], subject="Please check",
                            body="Please check this invoice.")
    service.queue_fax(ctx, docs[1]["id"], "+49 30 1234567", cover_note="Signed contract, 2 pages.")
