"""The Dagster code location loads, validates, and has the shape docs/orchestration.md describes."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import yaml

from orchestration.defs.ingest.partitions import CONNECTION_DIM, DAY_DIM, ingest_partitions, partition_key, windows_for
from orchestration.defs.resources import DUCKDB_WRITER_POOL, ClockResource

ROOT = Path(__file__).resolve().parents[2]


def test_jobs_schedules_sensors(repo):
    jobs = {j.name for j in repo.get_all_jobs()}
    assert {"sync_job", "payout_job", "catalog_health_job", "repair_job"} <= jobs
    schedules = {s.name: s for s in repo.schedule_defs}
    assert set(schedules) >= {"sync_schedule", "weekly_payout_schedule", "daily_catalog_health_schedule"}
    assert schedules["sync_schedule"].cron_schedule == "*/15 * * * *"
    assert schedules["weekly_payout_schedule"].cron_schedule == "0 6 * * 1"
    assert all(s.execution_timezone == "UTC" for s in schedules.values())
    assert schedules["weekly_payout_schedule"].job_name == "payout_job"
    sensors = {s.name: s for s in repo.sensor_defs}
    assert sensors["repair_sensor"].job_name == "repair_job"


def test_asset_keys_lineage_and_partitions(repo):
    graph = repo.asset_graph
    keys = set(graph.get_all_asset_keys())
    for key in (
        ["raw_shopify", "orders"],
        ["raw_shopify", "order_line_items"],
        ["raw_tiktok_shop", "statements"],
        ["raw_config", "warehouses"],
        ["staging", "stg_shopify__orders"],
        ["marts", "fct_order_reconciliation"],
        ["marts", "repair_actions"],
    ):
        assert dg.AssetKey(key) in keys, key
    # every dbt source is an ingest asset (nothing external), so lineage runs raw → staging → marts
    assert all(graph.get(k).is_materializable for k in keys)
    assert (
        dg.AssetKey(["raw_shopify", "orders"]) in graph.get(dg.AssetKey(["staging", "stg_shopify__orders"])).parent_keys
    )
    plan_ancestors = graph.get_ancestor_asset_keys(dg.AssetKey(["marts", "repair_actions"]))
    assert dg.AssetKey(["raw_tiktok_shop", "inventory"]) in plan_ancestors
    assert dg.AssetKey(["raw_shopify", "inventory_levels"]) in plan_ancestors
    raw = graph.get(dg.AssetKey(["raw_tiktok_shop", "orders"]))
    assert raw.partitions_def == ingest_partitions
    assert raw.backfill_policy == dg.BackfillPolicy.single_run()
    assert graph.get(dg.AssetKey(["marts", "fct_order_reconciliation"])).partitions_def is None


def test_checks_and_pools(repo):
    graph = repo.asset_graph
    checks = list(graph.asset_check_keys)
    assert len(checks) > 50  # dbt tests
    on_plan = [c for c in checks if c.asset_key == dg.AssetKey(["marts", "repair_actions"])]
    assert on_plan and any(graph.get_check_spec(c).blocking for c in on_plan)
    from orchestration.defs.quality.checks import load_gx

    specs, _ = load_gx()
    for spec in specs:  # every Great Expectations spec is a check on its asset, blocking as declared
        key = dg.AssetCheckKey(dg.AssetKey(list(spec.asset_key)), spec.name)
        assert key in graph.asset_check_keys and graph.get_check_spec(key).blocking == spec.blocking
    job = repo.get_job("sync_job")
    for node in job.nodes:  # ingest, dbt and the GX checks: one writer at a time
        assert node.definition.pool == DUCKDB_WRITER_POOL, node.name
    assert repo.get_job("sync_job").executor_def.name == "in_process"


def test_sync_schedule_one_run_per_connection(repo):
    schedule = next(s for s in repo.schedule_defs if s.name == "sync_schedule")
    when = datetime(2026, 11, 20, 12, 15, tzinfo=UTC)
    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=repo)
        requests = list(schedule.evaluate_tick(ctx).run_requests or [])
    assert [r.partition_key for r in requests] == [str(partition_key(c, "2026-11-20")) for c in ("us", "uk")]
    assert len({r.run_key for r in requests}) == 2
    ops = requests[0].run_config["ops"]
    assert {name: v["config"]["incremental"] for name, v in ops.items()} == {
        "raw_config_load": True,
        "raw_shopify_load": True,
        "raw_tiktok_shop_load": True,
    }


def test_windows_group_days_by_connection():
    keys = [str(partition_key(c, d)) for c in ("us", "uk") for d in ("2026-09-03", "2026-09-01", "2026-09-02")]
    windows = windows_for(keys, incremental=False)
    assert [(w.connection_id, w.first_day, w.last_day) for w in windows] == [
        ("uk", "2026-09-01", "2026-09-03"),
        ("us", "2026-09-01", "2026-09-03"),
    ]
    assert windows[0].since == datetime(2026, 9, 1, tzinfo=UTC)
    assert windows[0].mode == "re-read from 2026-09-01"
    assert all(w.since is None for w in windows_for(keys, incremental=True))
    # a single-run backfill range is a rectangle connection × days
    rng = dg.PartitionKeyRange(str(partition_key("us", "2026-09-01")), str(partition_key("uk", "2026-09-02")))
    in_range = ingest_partitions.get_partition_keys_in_range(rng)
    assert sorted(in_range) == sorted(
        str(partition_key(c, d)) for c in ("us", "uk") for d in ("2026-09-01", "2026-09-02")
    )
    assert {d.name for d in ingest_partitions.partitions_defs} == {CONNECTION_DIM, DAY_DIM}


def test_dbt_profile_is_rendered_per_warehouse(tmp_path):
    from orchestration.defs.transform.assets import render_profiles

    out = render_profiles(tmp_path / "w.duckdb", tmp_path / "profiles")
    profile = yaml.safe_load((out / "profiles.yml").read_text())["shoptok"]
    assert profile["outputs"]["duckdb"]["path"] == str(tmp_path / "w.duckdb")
    assert profile["outputs"]["duckdb"]["threads"] == 1


def test_dagster_definitions_validate():
    # Load time is measured in docs/benchmarks.md, not asserted here: a shared CI machine is not a stopwatch.
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Validation successful" in proc.stdout + proc.stderr


def test_clock_is_pinned_or_one_per_run():
    assert ClockResource(as_of="2026-11-20T12:00:00").now() == datetime(2026, 11, 20, 12, tzinfo=UTC)

    @dg.asset
    def first(clock: ClockResource):
        return clock.now()

    @dg.asset(deps=[first])
    def second(clock: ClockResource):
        time.sleep(1.1)
        return clock.now()

    result = dg.materialize([first, second], resources={"clock": ClockResource()})
    assert result.output_for_node("first") == result.output_for_node("second")
