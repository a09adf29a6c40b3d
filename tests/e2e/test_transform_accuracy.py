"""The default merchant end to end: sandbox over HTTP → dlt → DuckDB → dbt build → marts vs truth.

Precision and recall must be 1.0 for every drift type; on failure the per-type confusion table
is printed. The same warehouse also proves `dbt docs generate` works.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sandbox.generator import GeneratorParams
from shoptok.transform import run_dbt
from tests.support.accuracy import confusion, detected, expected, format_confusion

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(built_merchant) -> tuple[Path, Path]:
    return built_merchant.warehouse, built_merchant.truth


def test_every_drift_type_detected_with_precision_and_recall_one(built):
    warehouse, truth_path = built
    table = confusion(detected(warehouse), expected(truth_path))
    wrong = {k: v for k, v in table.items() if v["fp"] or v["fn"]}
    assert not wrong, "\n" + format_confusion(table)
    assert sum(v["tp"] for v in table.values()) > 100


def test_marts_are_complete_inventories(built):
    warehouse, _ = built
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        orders = con.execute("select count(*) from raw_tiktok_shop.orders").fetchone()[0]
        rows = con.execute(
            "select count(*) from marts.fct_order_reconciliation where tiktok_status is not null"
        ).fetchone()
        assert rows[0] == orders
        in_sync = con.execute(
            "select count(*) from marts.fct_order_reconciliation where drift_type = 'in_sync'"
        ).fetchone()
        assert in_sync[0] > orders * 0.8
        money = con.execute(
            "select data_type from information_schema.columns where table_schema = 'marts' "
            "and column_name in ('tiktok_total_amount', 'statement_settlement_amount', 'net_settlement')"
        ).fetchall()
        assert money and all(t[0].startswith("DECIMAL") for t in money)
        bases = con.execute("select distinct basis from marts.rpt_weekly_payout_reconciliation order by 1").fetchall()
        assert bases == [("order_date",), ("settlement_date",)]
        moving = con.execute(
            "select count(*) from marts.repair_actions where money_moving and action_type != 'alert'"
        ).fetchone()[0]
        assert moving == 0
    finally:
        con.close()


def test_dbt_docs_generate(built):
    warehouse, _ = built
    result = run_dbt(["docs", "generate"], warehouse=warehouse, as_of=GeneratorParams().as_of)
    assert result.ok, result.output[-4000:]


def test_docs_marts_queries_run(built):
    """Every SQL example in docs/marts.md runs against a built warehouse and returns rows."""
    warehouse, _ = built
    text = (Path(__file__).resolve().parents[2] / "docs" / "marts.md").read_text()
    queries = [block.split("```", 1)[0] for block in text.split("```sql\n")[1:]]
    assert len(queries) >= 7
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for q in queries:
            assert con.execute(q).fetchall(), f"no rows from:\n{q}"
    finally:
        con.close()
