"""Run dlt sources into the shared DuckDB warehouse, one pipeline per platform × connection.

Each connection gets its own pipeline name, so its incremental state is its own (a shop's sync
never moves another shop's cursor) while all connections share the ``raw_<platform>`` dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo

DATASETS = {"shopify": "raw_shopify", "tiktok_shop": "raw_tiktok_shop", "config": "raw_config"}


@dataclass
class LoadSummary:
    pipeline_name: str
    dataset: str
    load_ids: list[str] = field(default_factory=list)
    #: rows written per table by this run (from dlt's normalize step)
    rows: dict[str, int] = field(default_factory=dict)


def make_pipeline(platform: str, connection_id: str, warehouse: Path, pipelines_dir: Path) -> dlt.Pipeline:
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=f"shoptok_{platform}_{connection_id}",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name=DATASETS[platform],
        pipelines_dir=str(pipelines_dir),
    )


def run_source(
    source: Any,
    *,
    platform: str,
    connection_id: str,
    warehouse: Path,
    pipelines_dir: Path,
    full_refresh: bool = False,
) -> LoadSummary:
    """Extract, normalize and load one source; pending packages from a crashed run are finished first."""
    pipeline = make_pipeline(platform, connection_id, warehouse, pipelines_dir)
    if pipeline.has_pending_data:
        pipeline.normalize()
        pipeline.load()
    if full_refresh:
        _reset_source_state(pipeline, source)
    info: LoadInfo = pipeline.run(source, loader_file_format="parquet")
    summary = LoadSummary(pipeline.pipeline_name, DATASETS[platform], list(info.loads_ids))
    norm = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    if norm is not None:
        for table, n in (norm.row_counts or {}).items():
            if not table.startswith("_dlt"):
                summary.rows[table] = summary.rows.get(table, 0) + n
    return summary


def _reset_source_state(pipeline: dlt.Pipeline, source: Any) -> None:
    """Forget this connection's cursors (not its rows: the tables are shared with other connections)."""
    from dlt.pipeline.helpers import drop

    try:
        pipeline.sync_destination()
    except Exception:  # noqa: BLE001 - a first run has nothing to sync
        return
    resources = list(source.resources.keys())
    if resources:
        drop(pipeline, resources=resources, state_only=True)
