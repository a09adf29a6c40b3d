"""Run dlt sources into the shared warehouse, one pipeline per platform × connection.

Each connection gets its own pipeline name, so its incremental state is its own (a shop's sync
never moves another shop's cursor) while all connections share the ``raw_<platform>`` dataset.

The destination follows the one engine setting (``SHOPTOK_WAREHOUSE_ENGINE``, see
``shoptok.settings.WarehouseEngine``): the embedded DuckDB file, or PostgreSQL through dlt's
``postgres`` destination with the credentials from the settings module (passed as an object, never
formatted into a string that could reach a log line).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.destinations.sql_jobs import SqlMergeFollowupJob

from shoptok.settings import WarehouseEngine, load_warehouse_engine

DATASETS = {"shopify": "raw_shopify", "tiktok_shop": "raw_tiktok_shop", "config": "raw_config"}


@dataclass
class LoadSummary:
    pipeline_name: str
    dataset: str
    load_ids: list[str] = field(default_factory=list)
    #: rows written per table by this run (from dlt's normalize step)
    rows: dict[str, int] = field(default_factory=dict)


class _SplitKeyMerge(SqlMergeFollowupJob):
    """dlt's merge, deleting by primary key and by merge key in two statements instead of one ``OR``.

    Why: a child table (order line items) has both keys, and dlt deletes the rows to replace with
    ``WHERE EXISTS (… d.pk = s.pk OR d.merge_key = s.merge_key)``. Neither DuckDB nor PostgreSQL
    can hash-join on an ``OR``, so that delete compares every staged row with every stored one:
    an incremental run against 2.6M stored line items sat for minutes in it. Two ``EXISTS``
    deletes, each an equality join, remove the same rows (the union of the two conditions). dlt
    itself does this for BigQuery.
    """

    @classmethod
    def gen_key_table_clauses(
        cls,
        root_table_name: str,
        staging_root_table_name: str,
        primary_keys: Sequence[str],
        merge_keys: Sequence[str],
        for_delete: bool,
        source_filter: str | None = None,
    ) -> list[str]:
        # dlt's own text: quoted table names and key equalities over its quoted column names
        key_conds = [
            cls._gen_staging_rows_cond(clause.format(d="d", s="s"), source_filter)
            for clause in cls._gen_key_table_clauses(primary_keys, merge_keys)
        ]
        return [
            f"FROM {root_table_name} AS d WHERE EXISTS (SELECT 1 FROM {staging_root_table_name} AS s WHERE {key_cond})"
            for key_cond in key_conds
        ]


@functools.cache
def _split_key_client(base: type) -> type:
    class Client(base):  # type: ignore[valid-type,misc]
        def _create_merge_followup_jobs(self, table_chain: Sequence[Any]) -> list[Any]:
            return [_SplitKeyMerge.from_table_chain(table_chain, self.sql_client)]

    Client.__name__ = Client.__qualname__ = base.__name__
    return Client


class _DuckDb(dlt.destinations.duckdb):
    """dlt's DuckDB destination with the split-key merge (same type and name as the built-in one)."""

    @property
    def destination_type(self) -> str:
        return "dlt.destinations.duckdb"

    @property
    def client_class(self) -> type:
        return _split_key_client(super().client_class)


class _Postgres(dlt.destinations.postgres):
    """dlt's PostgreSQL destination with the split-key merge (same type and name as the built-in one)."""

    @property
    def destination_type(self) -> str:
        return "dlt.destinations.postgres"

    @property
    def client_class(self) -> type:
        return _split_key_client(super().client_class)


def destination(warehouse: Path, engine: WarehouseEngine | None = None) -> Any:
    """dlt's destination for the configured engine (``warehouse`` is the DuckDB file, unused on PostgreSQL)."""
    engine = engine or load_warehouse_engine()
    if engine.is_postgres:
        from dlt.common.configuration.specs import ConnectionStringCredentials

        p = engine.pg_params()
        creds = ConnectionStringCredentials()
        creds.drivername = "postgresql"
        creds.host, creds.port, creds.database = str(p["host"]), int(p["port"]), str(p["dbname"])
        creds.username, creds.password = str(p["user"]), p.get("password")
        return _Postgres(credentials=creds)
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return _DuckDb(str(warehouse))


def loader_file_format(engine: WarehouseEngine | None = None) -> str:
    """Parquet into DuckDB; INSERT statements into PostgreSQL, which has no parquet loader.

    Not CSV: PostgreSQL's ``COPY … CSV`` reads an empty field as NULL, so an empty SKU ('') would
    land as NULL and change what the marts classify (the equivalence test caught exactly that)."""
    return "insert_values" if (engine or load_warehouse_engine()).is_postgres else "parquet"


def tune_dlt() -> None:
    """dlt settings every pipeline here needs (process-wide, so set before each pipeline is made).

    * Batches arrive as Arrow tables (``extract.common.arrow``), and dlt adds its own columns to
      those only when told: ``_dlt_load_id`` (the incremental dbt models select changed keys by
      it) and ``_dlt_id`` (so the tables keep the columns they had when batches were dicts).
    * Extract's intermediate files are not gzipped: they are read once, locally, by normalize;
      compressing them was ~10% of extraction's CPU. Neither setting changes a row.
    """
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    dlt.config["normalize.parquet_normalizer.add_dlt_id"] = True
    dlt.config["data_writer.disable_compression"] = True


def make_pipeline(
    platform: str, connection_id: str, warehouse: Path, pipelines_dir: Path, engine: WarehouseEngine | None = None
) -> dlt.Pipeline:
    tune_dlt()
    return dlt.pipeline(
        pipeline_name=f"shoptok_{platform}_{connection_id}",
        destination=destination(warehouse, engine),
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
    engine: WarehouseEngine | None = None,
) -> LoadSummary:
    """Extract, normalize and load one source; pending packages from a crashed run are finished first."""
    engine = engine or load_warehouse_engine()
    pipeline = make_pipeline(platform, connection_id, warehouse, pipelines_dir, engine)
    if pipeline.has_pending_data:
        pipeline.normalize()
        pipeline.load()
    if full_refresh:
        _reset_source_state(pipeline, source)
    info: LoadInfo = pipeline.run(source, loader_file_format=loader_file_format(engine))
    summary = LoadSummary(pipeline.pipeline_name, DATASETS[platform], list(info.loads_ids))
    norm = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    if norm is not None:
        for table, n in (norm.row_counts or {}).items():
            if not table.startswith("_dlt"):
                summary.rows[table] = summary.rows.get(table, 0) + n
    return summary


def _reset_source_state(pipeline: dlt.Pipeline, source: Any) -> None:
    """Forget this connection's cursors (not its rows: the tables are shared with other connections)."""
    from dlt.pipeline.helpers import pipeline_drop

    try:
        pipeline.sync_destination()
    except Exception:  # noqa: BLE001 - a first run has nothing to sync
        return
    resources = list(source.resources.keys())
    if resources and pipeline.default_schema_name:
        pipeline_drop(pipeline, resources=resources, state_only=True)()
