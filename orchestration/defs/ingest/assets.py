"""Raw assets: the dlt sources of extract/, one asset per landed table, keyed as the dbt sources' meta.

Asset keys are ``[dataset, table]`` — ``["raw_shopify", "orders"]``, ``["raw_tiktok_shop",
"statements"]``, ``["raw_config", "warehouses"]`` … — exactly the ``meta.dagster.asset_key`` of the
dbt sources, so each raw table feeds its staging model in the asset graph.

Why plain ``@dg.multi_asset`` and not ``dagster_dlt.dlt_assets`` (docs/orchestration.md has the
long form):

* one dlt *resource* lands many *tables* here (the Shopify ``orders`` resource writes orders,
  line items, refunds, transactions, fulfillments … with their own keys), while dagster-dlt
  makes one asset per resource — the dbt sources name tables, so the lineage would break;
* ``DagsterDltResource.run`` drops the pipeline's pending load packages before running, whereas
  ``extract.pipeline.run_source`` finishes them first (the crash-safety contract that
  tests/e2e/test_extract_crash_safety.py checks);
* the source and pipeline are per connection (``shoptok_<platform>_<connection>``), so they are
  built per run from the partition's connection, not once at import time.

Each run calls ``extract.pipeline.run_source`` — same pipeline name, folder, destination and
parquet loader file format as ``shoptok extract`` — and reports per table the rows it wrote and
the records it quarantined.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import dagster as dg

from extract.common.quarantine import QUARANTINE_TABLE
from extract.config_source import config_source
from extract.pipeline import DATASETS, run_source
from extract.run import build_source, quarantined_by_entity, table_counts
from extract.shopify.rows import TABLES as SHOPIFY_TABLES
from extract.tiktok_shop.source import COLUMNS as TIKTOK_TABLES
from orchestration.defs.ingest.partitions import CONNECTION_DIM, Window, ingest_partitions, windows_for
from orchestration.defs.resources import DUCKDB_WRITER_POOL, ConnectionsResource, WarehouseResource
from shoptok.connections import Connection

CONFIG_TABLES = ("connections", "warehouses")
TABLES_BY_PLATFORM: dict[str, tuple[str, ...]] = {
    "shopify": (*SHOPIFY_TABLES, QUARANTINE_TABLE),
    "tiktok_shop": (*TIKTOK_TABLES, QUARANTINE_TABLE),
    "config": CONFIG_TABLES,
}
DESCRIPTIONS = {
    "shopify": "Shopify Admin GraphQL (bulk operations for first loads and backfills, paged increments)",
    "tiktok_shop": "TikTok Shop Open API 202309",
    "config": "the merchant's connections file: shop pairs, warehouses ↔ locations (no credentials)",
}


class IngestConfig(dg.Config):
    """Run config of the ingest assets (the schedule sets ``incremental``; backfills keep the default)."""

    incremental: bool = False
    """true: move each cursor forward (minus the lookback); false: re-read from the first partition day."""
    lookback_minutes: int = 120
    """How far behind its cursor an incremental read starts, so late ``updated_at`` stamps are not missed."""


def raw_asset_keys(platform: str) -> list[dg.AssetKey]:
    return [dg.AssetKey([DATASETS[platform], t]) for t in TABLES_BY_PLATFORM[platform]]


ALL_RAW_KEYS: list[dg.AssetKey] = [k for p in TABLES_BY_PLATFORM for k in raw_asset_keys(p)]


def _specs(platform: str) -> list[dg.AssetSpec]:
    dataset = DATASETS[platform]
    return [
        dg.AssetSpec(
            key=[dataset, table],
            group_name=dataset,
            description=f"`{dataset}.{table}` — {DESCRIPTIONS[platform]}. Merged on its keys; "
            "every row carries connection_id.",
            kinds={"dlt", "duckdb"},
            metadata={"dagster/table_name": f"{dataset}.{table}"},
            tags={"layer": "raw"},
        )
        for table in TABLES_BY_PLATFORM[platform]
    ]


@dataclass
class _Tally:
    rows_written: int = 0
    quarantined: int = 0
    rows_in_table: dict[str, int] = field(default_factory=dict)


@dataclass
class _Report:
    windows: list[Window]
    load_ids: list[str] = field(default_factory=list)
    pipelines: list[str] = field(default_factory=list)
    tables: dict[str, _Tally] = field(default_factory=dict)
    api_calls: int = 0
    done: list[Window] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    def tally(self, table: str) -> _Tally:
        return self.tables.setdefault(table, _Tally())


def _conn(conns: dict[str, Connection], cid: str, connections: ConnectionsResource) -> Connection:
    if cid not in conns:
        raise dg.Failure(
            f"partition connection {cid!r} is not in the connections ({connections.source_kind}: "
            f"{sorted(conns)}); set SHOPTOK_CONNECTION_IDS or the connections file so both agree",
        )
    return conns[cid]


def _run_platform(
    context: dg.AssetExecutionContext,
    platform: str,
    config: IngestConfig,
    warehouse: WarehouseResource,
    connections: ConnectionsResource,
) -> _Report:
    windows = windows_for(list(context.partition_keys), incremental=config.incremental)
    conns = connections.by_id()
    report = _Report(windows)
    wh, pipelines_dir = warehouse.warehouse_path, warehouse.pipelines_path
    if platform == "config":
        # one pipeline for the config tables (as `shoptok extract`), merged on connection_id
        selected = [_conn(conns, w.connection_id, connections) for w in windows]
        summary = run_source(
            config_source(selected), platform="config", connection_id="all", warehouse=wh, pipelines_dir=pipelines_dir
        )
        report.load_ids += summary.load_ids
        report.pipelines.append(summary.pipeline_name)
        for table, n in summary.rows.items():
            report.tally(table).rows_written += n
        return report
    failures: dict[str, str] = {}
    for w in windows:
        try:
            conn = _conn(conns, w.connection_id, connections)
            _load_connection(context, platform, conn, w, config, warehouse, report)
        except Exception as exc:  # noqa: BLE001 - one shop's failure must not stop the others
            context.log.error(f"{platform} · {w.connection_id} failed: {type(exc).__name__}: {exc}")
            failures[w.connection_id] = f"{type(exc).__name__}: {exc}"
    report.failures = failures
    return report


def _load_connection(
    context: dg.AssetExecutionContext,
    platform: str,
    conn: Connection,
    w: Window,
    config: IngestConfig,
    warehouse: WarehouseResource,
    report: _Report,
) -> None:
    dataset = DATASETS[platform]
    wh = warehouse.warehouse_path
    context.log.info(f"{platform} · {conn.id}: {w.mode} (partitions {w.first_day}..{w.last_day})")
    source, stats = build_source(platform, conn, w.since, timedelta(minutes=config.lookback_minutes), None)
    summary = run_source(
        source,
        platform=platform,
        connection_id=conn.id,
        warehouse=wh,
        pipelines_dir=warehouse.pipelines_path,
        full_refresh=w.since is not None,
    )
    report.load_ids += summary.load_ids
    report.pipelines.append(summary.pipeline_name)
    report.done.append(w)
    for table, n in summary.rows.items():
        report.tally(table).rows_written += n
    for entity, n in quarantined_by_entity(wh, dataset, conn.id, summary.load_ids).items():
        report.tally(entity).quarantined += n
        report.tally(QUARANTINE_TABLE).quarantined += n
    for table, n in table_counts(wh, dataset, conn.id).items():
        report.tally(table).rows_in_table[conn.id] = n
    report.api_calls += stats.calls
    context.log.info(
        f"{platform} · {conn.id}: {sum(summary.rows.values())} rows written; "
        f"{stats.calls} API calls, {stats.retries} retries, {stats.throttled} throttled"
    )


def _partial_materializations(
    context: dg.AssetExecutionContext, platform: str, report: _Report
) -> Iterator[dg.AssetMaterialization]:
    """The partitions of the connections that did load (their data is in), reported before the step fails."""
    done = {w.connection_id for w in report.done}
    for key in context.partition_keys:
        mk = ingest_partitions.get_partition_key_from_str(key)
        if mk.keys_by_dimension[CONNECTION_DIM] not in done:
            continue
        for asset_key in raw_asset_keys(platform):
            yield dg.AssetMaterialization(
                asset_key=asset_key,
                partition=key,
                metadata={"partial_run": True, "failed_connections": ", ".join(sorted(report.failures))},
            )


def _table_rows(warehouse: WarehouseResource, dataset: str) -> dict[str, int]:
    """Rows per table of ``dataset`` (all connections), for ``dagster/row_count``."""
    if not warehouse.exists():
        return {}
    with warehouse.connect_read_only() as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ?", [dataset]
            ).fetchall()
        ]
        return {t: con.execute(f'select count(*) from "{dataset}"."{t}"').fetchone()[0] for t in tables}


def _results(platform: str, report: _Report, table_rows: dict[str, int]) -> Iterator[dg.MaterializeResult]:
    for key in raw_asset_keys(platform):
        table = key.path[-1]
        tally = report.tables.get(table, _Tally())
        metadata: dict[str, object] = {
            "rows_written": dg.MetadataValue.int(tally.rows_written),
            "quarantined": dg.MetadataValue.int(tally.quarantined),
            "connections": ", ".join(w.connection_id for w in report.windows),
            "mode": "; ".join(f"{w.connection_id}: {w.mode}" for w in report.windows),
            "dlt_pipelines": ", ".join(report.pipelines),
            "load_ids": ", ".join(report.load_ids),
            "api_calls": dg.MetadataValue.int(report.api_calls),
        }
        if tally.rows_in_table:
            metadata["rows_for_connections"] = dg.MetadataValue.int(sum(tally.rows_in_table.values()))
        if table in table_rows:
            metadata["dagster/row_count"] = dg.MetadataValue.int(table_rows[table])
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)


def _build(platform: str) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"{DATASETS[platform]}_load",
        specs=_specs(platform),
        partitions_def=ingest_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_WRITER_POOL,
        can_subset=False,
        description=f"dlt: {DESCRIPTIONS[platform]} → DuckDB `{DATASETS[platform]}`, one pipeline per connection.",
    )
    def _load(
        context: dg.AssetExecutionContext,
        config: IngestConfig,
        warehouse: WarehouseResource,
        connections: ConnectionsResource,
    ) -> Iterator[dg.MaterializeResult]:
        report = _run_platform(context, platform, config, warehouse, connections)
        if report.failures:
            # record what loaded, then fail naming the shops that did not (one shop never blocks another)
            yield from _partial_materializations(context, platform, report)
            raise dg.Failure(
                description=f"{platform}: {len(report.failures)} of {len(report.windows)} connections failed: "
                + "; ".join(f"{cid}: {err}" for cid, err in sorted(report.failures.items())),
                metadata={"failed_connections": ", ".join(sorted(report.failures))},
            )
        yield from _results(platform, report, _table_rows(warehouse, DATASETS[platform]))

    return _load


raw_shopify_load = _build("shopify")
raw_tiktok_shop_load = _build("tiktok_shop")
raw_config_load = _build("config")

INGEST_ASSETS: Sequence[dg.AssetsDefinition] = (raw_config_load, raw_shopify_load, raw_tiktok_shop_load)
