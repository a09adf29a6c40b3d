"""``repair_job`` partitioned by connection: a run for one shop applies that shop's plan and nothing else.

Real parts: the small generated merchant's plan (dbt on DuckDB), the sandbox over HTTP, the
Dagster job run in process with a partition key.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import dagster as dg
import pytest

from tests.writeback.conftest import Workspace
from tests.writeback.support import ledger, writes
from tests.writeback.test_repair_e2e import query, sent_by_ledger

pytestmark = pytest.mark.slow


def run_partition(ws: Workspace, partition: str, **config: Any) -> dg.ExecuteInProcessResult:
    from orchestration.defs.resources import ClockResource, ConnectionsResource, WarehouseResource
    from orchestration.defs.writeback.jobs import repair_job

    instance = dg.DagsterInstance.ephemeral()
    result = repair_job.execute_in_process(
        run_config={"ops": {"apply_repair_plan": {"config": config}}},
        resources={
            "warehouse": WarehouseResource(path=str(ws.warehouse), pipelines_dir=str(ws.pipelines_dir)),
            "connections": ConnectionsResource(sandbox_url=ws.srv.base_url),
            "clock": ClockResource(as_of=ws.as_of.isoformat()),
        },
        instance=instance,
        partition_key=partition,
    )
    assert result.success
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags["dagster/partition"] == partition and tags["shoptok/connection"] == partition
    return result


def executable_per_connection(ws: Workspace) -> Counter[str]:
    rows = query(ws.warehouse, "select connection_id from marts.repair_actions where action_type != 'alert'")
    return Counter(c for (c,) in rows)


def test_partitions_are_the_connections() -> None:
    from orchestration.defs.ingest.partitions import connection_partitions
    from orchestration.defs.writeback.jobs import repair_job

    assert repair_job.partitions_def == connection_partitions
    assert repair_job.partitions_def.get_partition_keys() == ["us", "uk"]


def test_one_shop_repaired_the_other_untouched(workspace: Workspace) -> None:
    ws = workspace
    planned = executable_per_connection(ws)
    assert planned["us"] > 0 and planned["uk"] > 0, planned

    run_partition(ws, "us", dry_run=False, allow=["all"])
    after_us = ledger(ws.warehouse)
    assert {r["connection_id"] for r in after_us.values()} == {"us"}
    assert len(after_us) == planned["us"]
    assert {r["status"] for r in after_us.values()} <= {"applied", "skipped"}
    alerts = {c for (c,) in query(ws.warehouse, "select distinct connection_id from ops.alerts")}
    assert alerts == {"us"}
    # every write the sandbox saw is one the us ledger sent: nothing reached the uk shop
    assert writes(ws.srv) == dict(sent_by_ledger(ws.warehouse))

    run_partition(ws, "uk", dry_run=False, allow=["all"])
    after_uk = ledger(ws.warehouse)
    assert Counter(r["connection_id"] for r in after_uk.values()) == Counter({"us": planned["us"], "uk": planned["uk"]})
    # the us rows are exactly as the us run left them: the uk run neither re-applied nor touched them
    assert {k: v for k, v in after_uk.items() if v["connection_id"] == "us"} == after_us


def test_sensor_requests_one_run_per_connection(tmp_path) -> None:
    """With the partitioned job, the repair sensor hands each shop its own run (partition, run key, tags)."""
    import duckdb

    from orchestration.defs.reconcile.sensors import build_repair_sensor
    from orchestration.defs.resources import ClockResource, ConnectionsResource, WarehouseResource
    from orchestration.defs.writeback.jobs import repair_job

    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.repair_actions (action_id varchar, action_type varchar, connection_id varchar)")
    con.executemany(
        "insert into marts.repair_actions values (?, ?, ?)",
        [("a1", "set_tiktok_inventory", "us"), ("a2", "alert", "us"), ("b1", "restock_shopify", "uk")],
    )
    con.close()
    warehouse = WarehouseResource(path=str(path), pipelines_dir=str(tmp_path / "dlt"))
    defs = dg.Definitions(
        jobs=[repair_job],
        sensors=[build_repair_sensor(auto_apply=frozenset())],
        resources={"warehouse": warehouse, "connections": ConnectionsResource(), "clock": ClockResource()},
    )
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, definitions=defs, resources={"warehouse": warehouse})
        requests = defs.get_sensor_def("repair_sensor")(ctx)
    assert [(r.partition_key, r.tags["shoptok/pending_actions"]) for r in requests] == [("uk", "1"), ("us", "2")]
    assert len({r.run_key for r in requests}) == 2 and all(r.run_key.startswith("repair:") for r in requests)
    assert all(r.run_config["ops"]["apply_repair_plan"]["config"]["dry_run"] is True for r in requests)
