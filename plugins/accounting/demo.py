"""The demo company's books: vendors, bills in every state, purchase orders,
customers and invoices in every state, pay rates, two months of hours, a
payroll run and some months of cash."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from core.i18n import today
from plugins.accounting import invoicing as inv
from plugins.accounting import payroll as pay
from plugins.accounting import receivables as rcv
from plugins.accounting import service as svc


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


VENDORS = [
    ("Bürobedarf Schmidt GmbH", "37040044", "0532013000", "COBADEFFXXX", 14, "expenses:office supplies"),
    ("Stadtwerke Musterstadt", "50010517", "5407324396", "INGDDEFFXXX", 30, "expenses:rent"),
    ("NetCom Telekommunikation AG", "20041133", "0123456789", "COBADEHD001", 21, "expenses:telephone"),
    ("Softwarehaus Lindner KG", "70020270", "0015678901", "HYVEDEMMXXX", 30, "expenses:it"),
    ("Reisebüro Sonnenschein", "10070000", "0987654321", "DEUTDEBBXXX", 10, "expenses:travel"),
]


def create_demo(ctx, seed: int) -> None:
    rng = random.Random(seed)
    svc.ensure_chart(ctx)
    now = today()
    start = (now.replace(day=1) - dt.timedelta(days=100)).replace(day=1)
    svc.post_entry(ctx, start.isoformat(), "Opening balances",
                   [{"account": "assets:bank:checking", "amount": "85000.00"},
                    {"account": "equity:opening balances", "amount": "-85000.00"}])
    vendor_ids = []
    for name, blz, konto, bic, terms, acc in VENDORS:
        v = svc.add_vendor(ctx, {"name": name, "iban": _iban("DE", blz + konto), "bic": bic, "terms_days": terms,
                                 "email": "rechnung@" + name.split()[0].lower().replace("ü", "ue") + ".example"})
        vendor_ids.append((v["id"], acc))
    # monthly sales so the cash chart has both directions
    month = start
    while month <= now:
        day = min(month + dt.timedelta(days=14), now)
        amount = Decimal(rng.randint(180000, 260000))
        svc.post_entry(ctx, day.isoformat(), f"Customer payments {month:%Y-%m}",
                       [{"account": "assets:bank:checking", "amount": f"{amount:.2f}"},
                        {"account": "income:sales", "amount": f"{-amount:.2f}"}])
        month = (month + dt.timedelta(days=32)).replace(day=1)
    # bills: old paid ones, approved ones in every ageing bucket, drafts awaiting approval
    n = 1000
    for age in (95, 75, 50, 40, 20, 10, 3, -2, -5, -12, -20):
        vid, acc = rng.choice(vendor_ids)
        n += rng.randint(1, 40)
        date = now - dt.timedelta(days=age + 14)
        due = now - dt.timedelta(days=age)
        lines = [{"description": rng.choice(["Monthly service", "Paper and toner", "Licences", "Maintenance",
                                             "Electricity", "Mobile contracts", "Train tickets"]),
                  "quantity": str(rng.randint(1, 5)), "unit_price": f"{rng.randint(40, 900)}.{rng.randint(0, 99):02d}",
                  "account": acc}]
        b = svc.create_bill(ctx, vid, f"R-{n}", date.isoformat(), due.isoformat(), lines)
        if age in (-20, -12):
            continue  # drafts waiting for approval
        svc.approve_bill(ctx, b["id"])
        if age >= 75:
            svc.pay_bill(ctx, b["id"], date=(due - dt.timedelta(days=2)).isoformat())
        elif age == 40:
            svc.pay_bill(ctx, b["id"], amount=svc.mtext(ctx, L_half(b["total"])), date=due.isoformat())
    # purchasing: one received and billed with a difference, one on order, one draft
    vid = vendor_ids[0][0]
    po = svc.create_order(ctx, vid, [{"item": "Toner cartridge", "quantity": "10", "price": "49.90"},
                                     {"item": "Copy paper A4 (box)", "quantity": "20", "price": "24.50"}],
                          date=(now - dt.timedelta(days=12)).isoformat())
    svc.place_order(ctx, po["id"])
    svc.receive(ctx, po["id"], {"1": "10", "2": "18"})
    svc.create_bill(ctx, vid, f"R-{n + 7}", (now - dt.timedelta(days=5)).isoformat(),
                    (now + dt.timedelta(days=9)).isoformat(),
                    [{"description": "Toner cartridge", "quantity": "10", "unit_price": "49.90",
                      "account": "expenses:office supplies"},
                     {"description": "Copy paper A4 (box)", "quantity": "20", "unit_price": "24.50",
                      "account": "expenses:office supplies"}], order_id=po["id"])
    po2 = svc.create_order(ctx, vendor_ids[3][0], [{"item": "Laptop 14\"", "quantity": "3", "price": "1149.00"},
                                                   {"item": "Docking station", "quantity": "3", "price": "189.00"}])
    svc.place_order(ctx, po2["id"])
    svc.create_order(ctx, vendor_ids[2][0], [{"item": "Headset", "quantity": "6", "price": "79.00"}])
    _invoices(ctx, now)
    # payroll: rates for the active staff, hours for the hourly ones, last month's run
    people = [p for p in ctx.backdesk.table("core.people").find({"status": "active"}, order_by=["id"])]
    hourly = []
    for i, p in enumerate(people):
        if i % 4 == 3:
            pay.set_rate(ctx, p["id"], "hourly", f"{rng.randint(16, 24)}.50")
            hourly.append(p["id"])
        else:
            pay.set_rate(ctx, p["id"], "salaried", f"{rng.randint(32, 68) * 100}.00")
    last_month_end = now.replace(day=1) - dt.timedelta(days=1)
    first = last_month_end.replace(day=1)
    for pid in hourly[:4]:
        d = first
        while d <= now:
            if d.weekday() < 5 and rng.random() > 0.05:
                start_h = rng.choice([7, 8, 8, 9])
                length = rng.choice([6, 8, 8, 8, 9, 11])
                pay.add_time(ctx, pid, d.isoformat(), f"{start_h:02d}:00", f"{start_h + length:02d}:00")
            d += dt.timedelta(days=1)
        pay.approve_timesheets(ctx, pid, first.strftime("%Y-%m"), accept_flags=True)
    run = pay.run_payroll(ctx, first.strftime("%Y-%m"))
    pay.pay_out(ctx, run["period"], min(now, last_month_end + dt.timedelta(days=1)).isoformat())


CUSTOMERS = [
    {"name": "Meier Bau GmbH", "street": "Lindenweg 5", "postcode": "10115", "city": "Berlin",
     "vat_id": "DE129273398", "email": "buchhaltung@meier-bau.example", "buyer_reference": "MB-2026-17"},
    {"name": "Stadtbibliothek Musterstadt", "street": "Am Markt 1", "postcode": "86150", "city": "Augsburg",
     "email": "rechnungen@stadt-musterstadt.example", "terms_days": 30, "buyer_reference": "09162000-0001-54",
     "xrechnung": "cii"},
    {"name": "Dupont SARL", "street": "1 rue de la Paix", "postcode": "75002", "city": "Paris", "country": "FR",
     "vat_id": "FR40303265045", "terms_days": 30, "fax": "+33 1 42 60 00 00"},
    {"name": "Hofmann Consulting", "street": "Bahnhofstraße 8", "postcode": "90402", "city": "Nürnberg",
     "email": "office@hofmann.example"},
]


def _invoices(ctx, now: dt.date) -> None:
    """Customers and invoices: one paid, one paid in part, overdue ones
    with reminders, one credited in part and one in full, an intra-EU
    supply and a draft."""
    for values in CUSTOMERS:
        inv.add_customer(ctx, values)
    seller = inv.company(ctx)
    if not (seller["street"] and (seller["tax_number"] or seller["vat_id"])):
        # a config without the ``company`` setting (the shipped plugins.yaml has one) cannot
        # issue invoices (§ 14 UStG): the demo then shows a draft only
        inv.create_invoice(ctx, "Hofmann Consulting", [{"description": "Lizenzen Office (Jahr)", "quantity": "5",
                                                        "unit_price": "99.00"}], delivery_date=now.isoformat())
        return

    def day(n: int) -> str:
        return (now - dt.timedelta(days=n)).isoformat()

    consulting = [{"description": "Beratung IT-Infrastruktur", "quantity": "12", "unit_price": "95.00", "unit": "HUR"},
                  {"description": "Fachbuch Netzwerktechnik", "quantity": "2", "unit_price": "39.90", "vat_code": "7"}]
    paid = inv.create_invoice(ctx, "Meier Bau GmbH", consulting, date=day(70), delivery_date=day(75), issue=True)
    rcv.record_payment(ctx, paid["number"], date=day(58))
    inv.create_invoice(ctx, "Hofmann Consulting", [{"description": "Netzwerkverkabelung", "unit_price": "2400.00"}],
                       date=day(60), delivery_date=day(62), issue=True)  # overdue: reminded below
    part = inv.create_invoice(ctx, "Stadtbibliothek Musterstadt",
                       [{"description": "Wartungsvertrag Q3", "unit_price": "1200.00"},
                        {"description": "Schulung Katalogsystem", "quantity": "2", "unit_price": "450.00",
                         "unit": "DAY"}], date=day(45), delivery_date=day(50), delivery_end=day(46), issue=True)
    rcv.record_payment(ctx, part["number"], "1000.00", day(10))
    inv.create_invoice(ctx, "Dupont SARL", [{"description": "Server-Rack 42 HE", "quantity": "2",
                                             "unit_price": "1890.00", "vat_code": "eu"}],
                       date=day(20), delivery_date=day(22), issue=True)
    wrong = inv.create_invoice(ctx, "Hofmann Consulting",
                               [{"description": "Einrichtung Arbeitsplätze", "quantity": "6", "unit_price": "85.00",
                                 "unit": "HUR"}], date=day(15), delivery_date=day(16), issue=True)
    inv.credit_note(ctx, wrong["number"], [{"description": "Einrichtung Arbeitsplätze (1 Std. zu viel)",
                                            "unit_price": "85.00", "unit": "HUR"}],
                    reason="Eine Stunde zu viel berechnet", date=day(12))
    cancelled = inv.create_invoice(ctx, "Meier Bau GmbH", [{"description": "Vor-Ort-Termin", "unit_price": "150.00"}],
                                   date=day(10), delivery_date=day(10), issue=True)
    inv.credit_note(ctx, cancelled["number"], reason="Doppelt berechnet", date=day(9))
    inv.create_invoice(ctx, "Stadtbibliothek Musterstadt", [{"description": "Wartungsvertrag Q4",
                                                             "unit_price": "1200.00"}],
                       date=day(3), delivery_date=day(5), issue=True)
    inv.create_invoice(ctx, "Hofmann Consulting", [{"description": "Lizenzen Office (Jahr)", "quantity": "5",
                                                    "unit_price": "99.00"}], delivery_date=day(0))
    rcv.run_dunning(ctx, day(20))  # reminders as the weeks went by
    rcv.run_dunning(ctx, day(5))


def L_half(total: str) -> Decimal:
    return Decimal(total) / 2
