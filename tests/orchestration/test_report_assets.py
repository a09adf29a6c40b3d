"""The report assets materialize against a built warehouse and put their file paths in metadata."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.reports.assets import analyst_copy, catalog_report, drift_report, payout_report
from orchestration.defs.resources import ClockResource, WarehouseResource

pytestmark = pytest.mark.slow


def _paths(result: dg.ExecuteInProcessResult, key: list[str]) -> list[Path]:
    event = result.asset_materializations_for_node("__".join(key))[0]
    meta = event.metadata
    if "paths" in meta:
        return [Path(p) for p in meta["paths"].value]
    return [Path(meta["path"].value)]


def test_report_assets_write_their_files(built_copy, tmp_path):
    resources = {
        "warehouse": WarehouseResource(path=str(built_copy), pipelines_dir=str(tmp_path / "dlt")),
        "clock": ClockResource(as_of="2026-11-20T12:00:00Z"),
    }
    weekly = dg.materialize([payout_report], resources=resources, partition_key="2026-11-09")
    assert weekly.success
    written = _paths(weekly, ["reports", "payout_reconciliation"])
    assert sorted(p.suffix for p in written) == [".html", ".html", ".xlsx", ".xlsx"]
    assert all(p.exists() and p.stat().st_size > 1000 for p in written)
    assert all("2026-W46" in p.name for p in written)

    rest = dg.materialize([catalog_report, drift_report, analyst_copy], resources=resources)
    assert rest.success
    for key in (["reports", "catalog_health"], ["reports", "open_drift"], ["reports", "analyst_copy"]):
        files = _paths(rest, key)
        assert files and all(p.exists() for p in files), key
