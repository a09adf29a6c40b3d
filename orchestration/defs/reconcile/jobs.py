"""Jobs and schedules: the incremental sync + reconciliation, the weekly payout run, daily catalog health.

All crons come from the settings module (``SHOPTOK_SYNC_CRON``, ``SHOPTOK_PAYOUT_CRON``,
``SHOPTOK_CATALOG_CRON``) and run in UTC. Schedules start stopped: turn them on in the UI
(Automation) or with ``dagster schedule start``.
"""

from collections.abc import Iterator
from datetime import datetime

import dagster as dg

from orchestration.defs.ingest.assets import ALL_RAW_KEYS, INGEST_ASSETS
from orchestration.defs.ingest.partitions import connection_partitions, partition_key, today_key
from orchestration.defs.transform.assets import dbt_models
from shoptok.settings import load_orchestration_settings

_SETTINGS = load_orchestration_settings()

RAW = dg.AssetSelection.assets(*ALL_RAW_KEYS)
DBT = dg.AssetSelection.assets(dbt_models)
PAYOUT_MARTS = dg.AssetSelection.assets(
    ["marts", "fct_payout_reconciliation"], ["marts", "rpt_weekly_payout_reconciliation"]
)
CATALOG_MARTS = dg.AssetSelection.assets(["marts", "dim_catalog_health"])
REPORTS = dg.AssetSelection.assets(["reports", "catalog_health"], ["reports", "open_drift"])
ANALYST_COPY = dg.AssetSelection.assets(["reports", "analyst_copy"])

sync_job = dg.define_asset_job(
    "sync_job",
    selection=RAW | DBT | ANALYST_COPY,
    description="Incremental sync of one connection (its partition: connection × today) and dbt build of every "
    "model and test. The schedule launches one run per connection, so one shop's failure never stops another's.",
    tags={"shoptok/kind": "sync"},
)
payout_job = dg.define_asset_job(
    "payout_job",
    selection=PAYOUT_MARTS.upstream() - RAW,
    description="Weekly payout reconciliation: dbt build of the payout marts and everything upstream of them "
    "(not the raw extraction — the sync keeps it current).",
    tags={"shoptok/kind": "payout"},
)
catalog_health_job = dg.define_asset_job(
    "catalog_health_job",
    selection=(CATALOG_MARTS.upstream() - RAW) | REPORTS,
    description="Daily catalog health: dbt build of dim_catalog_health and its upstream models.",
    tags={"shoptok/kind": "catalog"},
)


def incremental_run_config() -> dict:
    """The run config a scheduled sync uses: move each cursor forward instead of re-reading a day."""
    return {"ops": {a.op.name: {"config": {"incremental": True}} for a in INGEST_ASSETS}}


def sync_requests(scheduled: datetime, connection_ids: list[str]) -> Iterator[dg.RunRequest]:
    day = today_key(scheduled)
    stamp = scheduled.strftime("%Y%m%dT%H%M")
    for cid in connection_ids:
        yield dg.RunRequest(
            run_key=f"sync:{cid}:{stamp}",
            partition_key=partition_key(cid, day),
            run_config=incremental_run_config(),
            tags={"shoptok/connection": cid},
        )


@dg.schedule(
    job=sync_job,
    cron_schedule=_SETTINGS.sync_cron,
    execution_timezone="UTC",
    name="sync_schedule",
    description="Incremental sync + reconciliation, one run per connection (partition connection × today).",
)
def sync_schedule(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    yield from sync_requests(context.scheduled_execution_time, connection_partitions.get_partition_keys())


weekly_payout_schedule = dg.ScheduleDefinition(
    name="weekly_payout_schedule",
    job=payout_job,
    cron_schedule=_SETTINGS.payout_cron,
    execution_timezone="UTC",
    description="Weekly payout reconciliation (default Monday 06:00 UTC).",
)
daily_catalog_health_schedule = dg.ScheduleDefinition(
    name="daily_catalog_health_schedule",
    job=catalog_health_job,
    cron_schedule=_SETTINGS.catalog_cron,
    execution_timezone="UTC",
    description="Daily catalog health (default 05:00 UTC).",
)
