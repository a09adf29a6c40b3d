"""Finance and analyst outputs as assets: the weekly payout report (one partition per ISO week),
the catalog and drift reports, and the analyst copy published after each successful build.

They read the marts read-only, but still run in the ``duckdb_writer`` pool: a read-only
DuckDB connection blocks a writer, so a report must never overlap a load or a dbt build.
"""

from pathlib import Path

import dagster as dg

from orchestration.defs.resources import DUCKDB_WRITER_POOL, ClockResource, WarehouseResource
from shoptok.reports.analyst_copy import default_analyst_copy_path, publish_analyst_copy
from shoptok.reports.catalog import write_catalog_report
from shoptok.reports.drift import write_drift_report
from shoptok.reports.payouts import write_payout_report
from shoptok.settings import load_orchestration_settings

_SETTINGS = load_orchestration_settings()
BASES = ("settlement_date", "order_date")
PAYOUT_MARTS = [
    dg.AssetKey(["marts", "rpt_weekly_payout_reconciliation"]),
    dg.AssetKey(["marts", "fct_payout_reconciliation"]),
]
DRIFT_MARTS = [
    dg.AssetKey(["marts", m])
    for m in ("fct_order_reconciliation", "fct_inventory_drift", "fct_refund_reconciliation", "repair_actions")
]
ALL_MARTS = [*PAYOUT_MARTS, *DRIFT_MARTS, dg.AssetKey(["marts", "dim_catalog_health"])]

#: ISO weeks start on Monday; Dagster's weekly default starts on Sunday
weekly_partitions = dg.WeeklyPartitionsDefinition(start_date=_SETTINGS.partitions_start, day_offset=1, timezone="UTC")


def _out_dir(warehouse: WarehouseResource) -> Path:
    return warehouse.warehouse_path.parent / "reports"


@dg.asset(
    key=["reports", "payout_reconciliation"],
    deps=PAYOUT_MARTS,
    partitions_def=weekly_partitions,
    pool=DUCKDB_WRITER_POOL,
    group_name="reports",
    description="Weekly payout reconciliation workbook (XLSX) and HTML report with charts, for both bases.",
)
def payout_report(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, clock: ClockResource
) -> dg.MaterializeResult:
    paths: list[str] = []
    totals: dict[str, list] = {}
    for basis in BASES:
        report = write_payout_report(
            warehouse.warehouse_path, _out_dir(warehouse), week=context.partition_key, basis=basis, as_of=clock.now()
        )
        paths += [str(p) for p in report.paths]
        totals[basis] = report.totals
    return dg.MaterializeResult(
        metadata={
            "paths": dg.MetadataValue.json(paths),
            "totals": dg.MetadataValue.json(totals),
            "week": context.partition_key,
        }
    )


@dg.asset(
    key=["reports", "catalog_health"],
    deps=[dg.AssetKey(["marts", "dim_catalog_health"])],
    pool=DUCKDB_WRITER_POOL,
    group_name="reports",
    description="Catalog violations with fix hints (what to change in Shopify), as HTML and CSV.",
)
def catalog_report(warehouse: WarehouseResource, clock: ClockResource) -> dg.MaterializeResult:
    report = write_catalog_report(warehouse.warehouse_path, _out_dir(warehouse), as_of=clock.now())
    return dg.MaterializeResult(metadata={"paths": dg.MetadataValue.json([str(p) for p in report.paths])})


@dg.asset(
    key=["reports", "open_drift"],
    deps=DRIFT_MARTS,
    pool=DUCKDB_WRITER_POOL,
    group_name="reports",
    description="Open drift by type with its age and the planned repair, as HTML and CSV.",
)
def drift_report(warehouse: WarehouseResource, clock: ClockResource) -> dg.MaterializeResult:
    report = write_drift_report(warehouse.warehouse_path, _out_dir(warehouse), as_of=clock.now())
    return dg.MaterializeResult(metadata={"paths": dg.MetadataValue.json([str(p) for p in report.paths])})


@dg.asset(
    key=["reports", "analyst_copy"],
    deps=ALL_MARTS,
    pool=DUCKDB_WRITER_POOL,
    group_name="reports",
    description="A read-only snapshot of the warehouse for analysts, swapped in atomically: holding it open "
    "never blocks the pipeline (docs/analysts.md).",
)
def analyst_copy(warehouse: WarehouseResource) -> dg.MaterializeResult:
    target = publish_analyst_copy(warehouse.warehouse_path, default_analyst_copy_path(warehouse.warehouse_path))
    return dg.MaterializeResult(metadata={"path": str(target), "bytes": target.stat().st_size})


payout_report_job = dg.define_asset_job(
    "payout_report_job",
    selection=dg.AssetSelection.assets(payout_report),
    description="The weekly payout report for one ISO week (a partition); backfill weeks from the UI.",
)
weekly_payout_report_schedule = dg.build_schedule_from_partitioned_job(
    payout_report_job, hour_of_day=6, minute_of_hour=30, day_of_week=1, name="weekly_payout_report_schedule"
)
