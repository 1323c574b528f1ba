"""Permission walls on confidential HR data, through direct service calls;
every read and every refused attempt is in the audit trail."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied
from plugins.hr import cases, discipline, hiring
from plugins.hr import service as svc


@pytest.fixture
def filled(site, fill_office):
    """HR records a salary and a complaint; returns (site, ids, case id)."""
    bd = site.open("eva")
    ids = fill_office(bd)
    ctx = bd.context("hr")
    svc.save_record(ctx, ids["ben"], {"pay_amount": "5100", "contract_type": "permanent",
                                      "emergency_name": "Berta Brandt", "emergency_phone": "+49 30 1234567"})
    svc.save_record(ctx, ids["ina"], {"pay_amount": "1200", "contract_type": "apprentice"})
    case = cases.open_case(ctx, type="harassment", subject="Remarks in the kitchen", anonymous=True,
                           against_person=ids["ben"], description="Repeated remarks about colleagues")
    bd.close()
    site.opened.remove(bd)
    return site, ids, case["id"]


def _audit(bd, *, actor=None):
    rows = bd.table("core.audit").find({"op": "read", "plugin": "hr"}, order_by=["id"])
    return [r for r in rows if actor is None or r["actor"] == actor]


def test_it_operator_cannot_read_complaint_or_salary(filled):
    site, ids, case_id = filled
    bd = site.open("carla")
    ctx = bd.context("hr")
    with pytest.raises(PermissionDenied, match="hr.cases.read"):
        cases.get_case(ctx, case_id)
    with pytest.raises(PermissionDenied, match="hr.cases.read"):
        cases.case_rows(ctx)
    with pytest.raises(PermissionDenied, match="hr.records.read"):
        svc.get_record(ctx, ids["ben"])
    with pytest.raises(PermissionDenied):
        svc.pay_of(ctx, ids["ben"])
    with pytest.raises(PermissionDenied):
        svc.record_rows(ctx)
    with pytest.raises(PermissionDenied):
        discipline.warnings_of(ctx, ids["ben"])
    rows = _audit(bd, actor="carla")
    assert [(r["table"], r["doc_id"]) for r in rows] == [
        ("hr.cases", case_id), ("hr.cases", None), ("hr.records", ids["ben"]), ("hr.records", ids["ben"]),
        ("hr.records", None), ("hr.warnings", None)]
    assert all(r["what"].startswith("refused") for r in rows)
    # and nothing of it leaks through search or the palette/cards
    assert svc.search(ctx, "kitchen") == []
    import plugins.hr.screens as screens

    assert screens.cards(ctx) == [] and all(not ctx.can(c.permission) for c in screens.commands(ctx))
    assert bd.services.audit.verify() == []


def test_hr_reads_are_audited(filled):
    site, ids, case_id = filled
    bd = site.open("eva")
    ctx = bd.context("hr")
    assert cases.get_case(ctx, case_id)["subject"] == "Remarks in the kitchen"
    assert svc.get_record(ctx, ids["ben"])["pay_amount"] == "5100.00"
    [hit] = svc.search(ctx, "kitchen")
    assert hit["kind"] == "case"
    rows = _audit(bd, actor="eva")
    assert [(r["table"], r["doc_id"], r["what"]) for r in rows] == [
        ("hr.cases", case_id, f"read HR case #{case_id}"),
        ("hr.records", ids["ben"], f"read the employee record of #{ids['ben']}"),
        ("hr.cases", None, "search cases for 'kitchen'")]


def test_payroll_reads_pay_but_not_the_record(filled):
    site, ids, case_id = filled
    bd = site.open("dieter")
    ctx = bd.context("hr")
    pay = svc.pay_of(ctx, ids["ben"])
    from decimal import Decimal

    assert pay["pay_amount"] == Decimal("5100.00") and pay["currency"] == "EUR"
    with pytest.raises(PermissionDenied):
        svc.get_record(ctx, ids["ben"])  # emergency contact and notes stay with HR
    whats = [r["what"] for r in _audit(bd, actor="dieter")]
    assert whats == [f"read the pay of #{ids['ben']}", f"refused (hr.records.read): read the employee record of #{ids['ben']}"]


def test_owner_reads_own_record_unaudited_but_not_others(filled):
    site, ids, case_id = filled
    bd = site.open("ina")
    ctx = bd.context("hr")
    assert ctx.operator.person_id == ids["ina"]
    assert svc.get_record(ctx, ids["ina"])["contract_type"] == "apprentice"
    assert _audit(bd, actor="ina") == []
    with pytest.raises(PermissionDenied):
        svc.get_record(ctx, ids["ben"])
    assert len(_audit(bd, actor="ina")) == 1


def test_changes_need_their_permissions(filled):
    site, ids, case_id = filled
    bd = site.open("carla")
    ctx = bd.context("hr")
    for call in (lambda: discipline.issue_warning(ctx, ids["ben"], level="verbal", reason="x"),
                 lambda: discipline.dismiss(ctx, ids["ben"], date="2026-05-01", reason="x", gross_misconduct="y"),
                 lambda: cases.set_status(ctx, case_id, "investigating"),
                 lambda: hiring.add_opening(ctx, "Spy"),
                 lambda: svc.save_record(ctx, ids["ben"], {"pay_amount": "9999"})):
        with pytest.raises(PermissionDenied):
            call()
    assert bd.table("hr.warnings").count() == 0 and bd.table("hr.openings").count() == 0
    assert bd.table("hr.records").find({"person_id": ids["ben"]})[0]["pay_amount"] == "5100.00"
