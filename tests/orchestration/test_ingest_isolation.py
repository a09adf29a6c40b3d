"""One shop's failure does not stop another's: the run loads every connection, records what loaded, then fails."""

from types import SimpleNamespace

import dagster as dg

import orchestration.defs.ingest.assets as ingest
from orchestration.defs.ingest.partitions import partition_key
from orchestration.defs.resources import ConnectionsResource, WarehouseResource


class FakeConnections(ConnectionsResource):
    def load(self):
        return [SimpleNamespace(id="us"), SimpleNamespace(id="uk")]


def test_failed_connection_does_not_block_the_other(tmp_path, monkeypatch):
    loaded = []

    def fake_load(context, platform, conn, window, config, warehouse, report):
        if conn.id == "uk":
            raise RuntimeError("token expired")
        loaded.append((conn.id, window.since))
        report.done.append(window)

    monkeypatch.setattr(ingest, "_load_connection", fake_load)
    result = dg.materialize(
        [ingest.raw_shopify_load],
        resources={
            "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb"), pipelines_dir=str(tmp_path / "dlt")),
            "connections": FakeConnections(),
        },
        tags={
            "dagster/asset_partition_range_start": str(partition_key("us", "2026-09-01")),
            "dagster/asset_partition_range_end": str(partition_key("uk", "2026-09-02")),
        },
        raise_on_error=False,
    )
    assert not result.success
    assert [c for c, _ in loaded] == ["us"]
    assert loaded[0][1].isoformat() == "2026-09-01T00:00:00+00:00"  # a backfill re-reads from its first day
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "uk: RuntimeError: token expired" in failure.event_specific_data.error.message
    recorded = {
        (m.asset_key.to_user_string(), m.event_specific_data.materialization.partition)
        for m in result.get_asset_materialization_events()
    }
    assert ("raw_shopify/orders", str(partition_key("us", "2026-09-02"))) in recorded
    assert not any(p and p.startswith("uk|") for _, p in recorded)
