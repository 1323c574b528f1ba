"""A CV uploaded on one host is read on another: two config and data
folders, one PostgreSQL schema (runs on both passes: it starts the session's
PostgreSQL server itself). Nothing of the CV is kept in either data folder
but a host's cache; the read is audited once."""

from __future__ import annotations

import pytest

from plugins.hr import hiring
from tests.plugins.hr.conftest import Site, make_office
from tests.office import simple_pdf, two_hosts
from tests.plugins.hr.test_cv_and_read_audit import reads


@pytest.fixture
def hosts(tmp_path):
    with two_hosts(Site, tmp_path) as sites:
        yield sites


def test_a_cv_uploaded_on_a_is_read_on_b_and_audited_once(hosts, tmp_path):
    a, b = hosts
    bd_a = a.open("eva")
    ids = make_office(bd_a)
    ctx_a = bd_a.context("hr")
    cv = tmp_path / "nagel.pdf"
    cv.write_bytes(simple_pdf("Nils Nagel Bookkeeping 2019"))
    op = hiring.add_opening(ctx_a, "Clerk", department=ids["sales"])
    cand = hiring.add_candidate(ctx_a, "Nils Nagel", opening=op["id"], cv=str(cv))
    assert not (a.data_dir / "hr" / "files").exists()  # in PostgreSQL, not in A's folder

    bd_b = b.open("eva")
    ctx_b = bd_b.context("hr")
    read = hiring.read_cv(ctx_b, cand["id"])
    assert "Bookkeeping 2019" in read["text"] and read["filename"] == "nagel.pdf"
    assert [(r["doc_id"], r["what"]) for r in reads(bd_b)] == [
        (cand["id"], f"read the CV of candidate #{cand['id']}")]
    assert [r["what"] for r in reads(bd_a)] == [f"read the CV of candidate #{cand['id']}"]  # one office, one trail
    assert hiring.cv_bytes(ctx_b, cand["id"]) == ("nagel.pdf", cv.read_bytes())
    assert not (b.data_dir / "hr" / "files").exists()
