"""Materialize ingest + dbt through Dagster into a temp DuckDB for a small sandbox merchant."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dagster as dg
import duckdb
import pytest

pytestmark = pytest.mark.slow


def test_ingest_and_transform_materialize(tmp_path):
    from orchestration.defs.ingest.assets import INGEST_ASSETS
    from orchestration.defs.ingest.partitions import partition_key, today_key
    from orchestration.defs.reconcile.jobs import incremental_run_config
    from orchestration.defs.resources import ClockResource, ConnectionsResource, WarehouseResource, build_resources
    from orchestration.defs.transform.assets import dbt_models
    from sandbox.generator import GeneratorParams, generate
    from sandbox.server import SandboxServer

    state, _truth = generate(
        GeneratorParams(
            tiktok_orders_per_connection=150, shopify_web_orders_per_connection=60, products_per_connection=20
        )
    )
    warehouse = tmp_path / "warehouse.duckdb"
    day = today_key(datetime.now(UTC))
    with SandboxServer(state) as srv:
        resources = {
            "warehouse": WarehouseResource(path=str(warehouse), pipelines_dir=str(tmp_path / "dlt")),
            "connections": ConnectionsResource(sandbox_url=srv.base_url),
            "clock": ClockResource(as_of=state.as_of.isoformat()),
            "dbt": build_resources()["dbt"],
        }
        started = time.monotonic()
        # one run for both connections, as a single-run backfill would launch it: a partition range
        # (us..uk) × today, with the schedule's incremental config (a first run reads everything)
        result = dg.materialize(
            [*INGEST_ASSETS, dbt_models],
            resources=resources,
            run_config=incremental_run_config(),
            tags={
                "dagster/asset_partition_range_start": str(partition_key("us", day)),
                "dagster/asset_partition_range_end": str(partition_key("uk", day)),
            },
            raise_on_error=False,
        )
        elapsed = time.monotonic() - started
    failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
    assert result.success, failures
    print(f"materialize ingest + dbt: {elapsed:.1f} s")

    mats = {
        (
            m.asset_key.to_user_string(),
            m.event_specific_data.materialization.partition,
        ): m.event_specific_data.materialization
        for m in result.get_asset_materialization_events()
    }
    orders = mats[("raw_shopify/orders", str(partition_key("us", day)))]
    assert orders.metadata["rows_written"].value > 0
    assert "quarantined" in orders.metadata
    assert orders.metadata["dagster/row_count"].value >= orders.metadata["rows_written"].value
    assert ("raw_shopify/orders", str(partition_key("uk", day))) in mats
    assert ("marts/fct_order_reconciliation", None) in mats
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks if c.severity == dg.AssetCheckSeverity.ERROR)

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for table in (
            "raw_shopify.orders",
            "raw_shopify.order_line_items",
            "raw_tiktok_shop.orders",
            "raw_tiktok_shop.statements",
            "raw_config.connections",
            "marts.fct_order_reconciliation",
            "marts.fct_inventory_drift",
            "marts.repair_actions",
        ):
            assert con.execute(f"select count(*) from {table}").fetchone()[0] > 0, table
        per_conn = dict(con.execute("select connection_id, count(*) from raw_tiktok_shop.orders group by 1").fetchall())
        assert set(per_conn) == {"us", "uk"}
    finally:
        con.close()
