"""Files an operator produces are theirs on every host of a PostgreSQL site:
a DATEV export made on host A is listed and fetched with `backdesk files`
on host B and is in B's exports folder as the screens show it; a file saved
on B reaches A. Two config and data folders, one PostgreSQL schema (runs on
both passes: it starts the session's PostgreSQL server itself)."""

from __future__ import annotations

import pytest

from core.outputs import EXPORTS_AREA, save_export
from core.storage.pg import open_pg_store
from tests.office import two_hosts
from tests.plugins.accounting.conftest import SETTINGS, Site


@pytest.fixture
def hosts(tmp_path):
    with two_hosts(Site, tmp_path) as sites:
        for site in sites:
            site.plugins({**SETTINGS, "datev": {"advisor": 29098, "client": 55003, "chart": "SKR03"}})
        yield sites


def test_an_export_made_on_a_is_listed_fetched_and_shown_on_b(hosts, tmp_path):
    a, b = hosts
    r = a.cli("accounting", "datev", "export", "--period", "2026-Q4")
    assert r.returncode == 0, r.stderr
    (made,) = [p for p in (a.data_dir / "exports").rglob("EXTF_*.csv")]
    data = made.read_bytes()
    folder = made.parent.name  # the console account's folder

    # host B: listed, fetched whole, and in B's own folder
    r = b.cli("files")
    assert r.returncode == 0, r.stderr
    assert made.name in r.stdout and f"{len(data):,}" in r.stdout
    r = b.cli("files", "get", made.name, "-o", str(tmp_path / "fetched.csv"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "fetched.csv").read_bytes() == data
    assert (b.data_dir / "exports" / folder / made.name).read_bytes() == data

    # a screen on B asks ctx.exports_dir(): the same file is there
    bd_b = b.open()
    ctx_b = bd_b.context("accounting")
    (b.data_dir / "exports" / folder / made.name).unlink()  # (B's copy gone: it comes back from the store)
    assert (ctx_b.exports_dir() / made.name).read_bytes() == data
    # B saves a report into its folder: A lists it
    save_export(b.data_dir, bd_b.operator.account, "report-b.csv", "a;b\n1;2\n")
    r = a.cli("files")
    assert r.returncode == 0 and "report-b.csv" in r.stdout
    r = a.cli("files", "get", "report-b.csv")
    assert r.returncode == 0 and r.stdout == "a;b\n1;2\n"

    store = open_pg_store(_dsn(a))
    try:
        rows = store.table("core", "exports").find({"folder": folder})
        assert sorted(r["name"] for r in rows) == sorted([made.name, "report-b.csv"])
        stored = {sha for sha, _size in ((f.sha256, f.size) for f in
                                         store.files(EXPORTS_AREA, local_dir=tmp_path / "raw").scan())}
        assert {r["sha256"] for r in rows} <= stored
    finally:
        store.close()


def _dsn(site: Site) -> str:
    import yaml

    return yaml.safe_load((site.config_dir / "backdesk.yaml").read_text())["storage"]["dsn"]
