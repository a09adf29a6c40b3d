"""Catalog and drift reports: every violation / open drift row is listed, counted right, and actionable."""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import timedelta

import duckdb
import pytest

from shoptok.reports.catalog import FIX_SUMMARY, VIOLATIONS, write_catalog_report
from shoptok.reports.drift import write_drift_report

pytestmark = pytest.mark.slow


def query(warehouse, sql):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def read_csv(path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def catalog(built_merchant, tmp_path_factory):
    return write_catalog_report(built_merchant.warehouse, tmp_path_factory.mktemp("catalog"))


@pytest.fixture(scope="module")
def drift(built_merchant, tmp_path_factory):
    return write_drift_report(built_merchant.warehouse, tmp_path_factory.mktemp("drift"))


def test_every_contract_violation_has_a_fix_hint():
    assert set(FIX_SUMMARY) == set(VIOLATIONS)
    assert all("Shopify" in hint or "metafield" in hint for hint in FIX_SUMMARY.values())


def test_catalog_lists_every_violation_with_a_hint(catalog, built_merchant):
    expected = Counter(
        {
            (conn, v): n
            for conn, v, n in query(
                built_merchant.warehouse,
                "select connection_id, violation, count(*) from (select connection_id, unnest(violations) as violation"
                " from marts.dim_catalog_health) group by 1, 2",
            )
        }
    )
    rows = read_csv(catalog.csv)
    assert Counter((r["connection_id"], r["violation"]) for r in rows) == expected
    assert catalog.violations == sum(expected.values()) > 0
    for r in rows:
        assert r["fix_hint"], r
        if r["shopify_variant_id"]:
            assert r["shopify_admin_url"].startswith("https://") and "/admin/products/" in r["shopify_admin_url"]
        if r["violation"] in ("title_too_long", "title_too_short"):
            assert f"Title is {r['title_length']} characters" in r["fix_hint"]
    html = catalog.html.read_text()
    assert f'data-violations="{catalog.violations}"' in html
    for (conn, violation), n in expected.items():
        assert re.search(rf'data-violation="{violation}" data-connection="{conn}">{n}<', html), (conn, violation)


def test_drift_lists_every_open_row_with_its_age(drift, built_merchant):
    expected = Counter()
    for area, table, ok in (
        ("orders", "fct_order_reconciliation", "in_sync"),
        ("inventory", "fct_inventory_drift", "in_sync"),
        ("refunds", "fct_refund_reconciliation", "in_sync"),
        ("payouts", "fct_payout_reconciliation", "balanced"),
    ):
        for drift_type, n in query(
            built_merchant.warehouse,
            f"select drift_type, count(*) from marts.{table} where drift_type != '{ok}' group by 1",
        ):
            expected[(area, drift_type)] = n
    rows = read_csv(drift.csv)
    assert Counter((r["area"], r["drift_type"]) for r in rows) == expected
    summary = read_csv(drift.summary_csv)
    assert {(r["area"], r["drift_type"]): int(r["open"]) for r in summary} == dict(expected)
    for r in summary:
        buckets = sum(int(r[k]) for k in ("lt_1d", "d1_7", "d7_30", "gt_30d"))
        assert buckets + int(r["no_age"]) == int(r["open"])
    for r in rows:
        if r["area"] == "inventory":
            assert r["age_hours"] == "" and r["since"] == ""
        else:
            assert r["since"] and float(r["age_hours"]) >= 0, r
    # planned repairs are joined from the repair plan
    assert any(r["planned_action"] for r in rows if r["drift_type"] == "tiktok_overstated")
    assert f'data-open="{len(rows)}"' in drift.html.read_text()


def test_drift_ages_follow_the_clock_not_the_wall(built_merchant, drift, tmp_path):
    later = write_drift_report(built_merchant.warehouse, tmp_path, as_of=built_merchant.as_of + timedelta(days=1))
    before = {(r["area"], r["subject"], r["drift_type"]): r for r in read_csv(drift.csv)}
    after = {(r["area"], r["subject"], r["drift_type"]): r for r in read_csv(later.csv)}
    assert before.keys() == after.keys()
    aged = [(float(after[k]["age_hours"]) - float(before[k]["age_hours"])) for k in before if before[k]["age_hours"]]
    assert aged and all(abs(a - 24.0) < 0.11 for a in aged if a)
