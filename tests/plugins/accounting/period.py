"""A realistic month of business built through the service functions:
vendors, bills (approved, part and fully paid, a payment run the bank's
CAMT.053 statement then pays), a purchase order received and billed, hours,
a payroll run and the wages paid."""

from __future__ import annotations

from camt import camt053, tx
from plugins.accounting import bank
from plugins.accounting import payroll as pay
from plugins.accounting import sepa
from plugins.accounting import service as svc


def build_period(ctx, ids, iban) -> dict:
    svc.post_entry(ctx, "2026-01-02", "Opening balances", [
        {"account": "assets:bank:checking", "amount": "50000.00"},
        {"account": "equity:opening balances", "amount": "-50000.00"}])
    svc.post_entry(ctx, "2026-01-15", "Customer payments", [
        {"account": "assets:bank:checking", "amount": "23456.78"},
        {"account": "income:sales", "amount": "-23456.78"}])
    office = svc.add_vendor(ctx, {"name": "Bürobedarf Schmidt", "iban": iban("DE", "370400440532013000"),
                                  "bic": "COBADEFFXXX", "terms_days": 14})
    landlord = svc.add_vendor(ctx, {"name": "Immobilien Weber", "iban": iban("DE", "500105175407324396")})
    telco = svc.add_vendor(ctx, {"name": "NetCom AG", "iban": iban("DE", "200411330123456789")})
    rent = svc.create_bill(ctx, landlord["id"], "M-2026-01", "2026-01-03", "2026-01-10",
                           [{"description": "Office rent January", "quantity": "1", "unit_price": "2400",
                             "tax_rate": "0", "account": "expenses:rent"}])
    phone = svc.create_bill(ctx, telco["id"], "T-778", "2026-01-05", "2026-01-20",
                            [{"description": "Mobile contracts", "quantity": "7", "unit_price": "19.99",
                              "account": "expenses:telephone"},
                             {"description": "Internet", "quantity": "1", "unit_price": "89.333",
                              "account": "expenses:telephone"}])
    po = svc.create_order(ctx, office["id"], [{"item": "Toner", "quantity": "10", "price": "49.90"},
                                              {"item": "Paper", "quantity": "20", "price": "24.50"}], date="2026-01-06")
    svc.place_order(ctx, po["id"])
    svc.receive(ctx, po["id"], {"1": "10", "2": "18"})
    supplies = svc.create_bill(ctx, office["id"], "RE-4711", "2026-01-12", None,
                               [{"description": "Toner", "quantity": "10", "unit_price": "49.90",
                                 "account": "expenses:office supplies"},
                                {"description": "Paper", "quantity": "20", "unit_price": "24.50",
                                 "account": "expenses:office supplies"}], order_id=po["id"])
    for b in (rent, phone, supplies):
        svc.approve_bill(ctx, b["id"])
    svc.pay_bill(ctx, rent["id"], date="2026-01-09")
    svc.pay_bill(ctx, phone["id"], amount="100.00", date="2026-01-18")
    run = sepa.payment_run(ctx, "2026-01-31", date="2026-01-28")
    # the bank executes the run: its debit, batch-booked, on the next day's statement pays the bills
    statement = bank.import_statement(ctx, camt053([{"sign": "-", "date": "2026-01-29", "txs": [
        tx(i["amount"], e2e=i["end_to_end_id"], name=i["vendor"], iban_=i["iban"], text=i["reference"])
        for i in run["items"]]}], opening="50000.00"))
    pay.set_rate(ctx, ids["anna"], "salaried", "4200.00")
    pay.set_rate(ctx, ids["ben"], "hourly", "18.75")
    for day in range(5, 31):
        import datetime as dt

        d = dt.date(2026, 1, day)
        if d.weekday() < 5:
            pay.add_time(ctx, ids["ben"], d.isoformat(), "08:00", "17:30" if day in (7, 8, 9) else "16:00")
    pay.add_time(ctx, ids["ben"], "2026-01-06", hours="4")  # a holiday
    pay.approve_timesheets(ctx, ids["ben"], "2026-01", accept_flags=True)
    payroll = pay.run_payroll(ctx, "2026-01")
    pay.pay_out(ctx, "2026-01", "2026-01-31")
    return {"vendors": (office, landlord, telco), "bills": (rent, phone, supplies), "order": po, "run": run,
            "statement": statement, "payroll": payroll}
