"""``repair_job``: apply the repair plan (``marts.repair_actions``) from Dagster, dry-run by default.

One op, in the ``duckdb_writer`` pool: it writes the ledger, so it must not overlap an extraction or
a ``dbt build`` on the same file (the engine itself opens the file only around ledger writes).
Run config::

    ops:
      apply_repair_plan:
        config:
          dry_run: true          # false to call the APIs
          allow: []              # action types; [] = every type that needs no approval; ["all"]

**Partitioned by connection** (``connection_partitions``, the shop pairs of the ingest partitions):
a run for partition ``us`` applies only the ``us`` actions of the plan, so one shop's repair
never waits on, touches or fails because of another's; a run without a partition key (the
sensor's default, a CLI-like "everything") covers every connection. The run carries the tag
``shoptok/connection`` so an instance can cap concurrent runs per shop
(``QueuedRunCoordinator`` ``tag_concurrency_limits``, docs/scaling.md). On DuckDB the op's
``duckdb_writer`` pool (limit 1) still serialises the ledger writes of different shops; on
PostgreSQL the pool is not needed and the runs go side by side (docs/orchestration.md).

The run records who started it (``actor``: schedule, sensor, else ui; a ``shoptok/actor`` run tag
overrides) and reports per action type how many actions were applied / skipped / failed, plus
the alerts waiting for a person, as op metadata and run tags.
"""

# no `from __future__ import annotations`: Dagster resolves the op's config/resource annotations at
# decoration time and cannot resolve them from strings
import dagster as dg

from orchestration.defs.ingest.partitions import connection_partitions
from orchestration.defs.resources import DUCKDB_WRITER_POOL, ClockResource, ConnectionsResource, WarehouseResource
from orchestration.defs.writeback.engine import (
    REPORT_STATUSES,
    ApplyReport,
    alerts_needing_a_person,
    apply_actions,
    summary,
)

#: alerts listed in the run's metadata (all of them are in ops.alerts)
ALERTS_SHOWN = 50


class RepairConfig(dg.Config):
    dry_run: bool = True
    """Record the plan as ``planned`` in the ledger and call nothing (the default)."""
    allow: list[str] = []
    """Action types to execute; empty = every type that needs no approval; ``all`` = every type."""


def actor_of(tags: dict[str, str]) -> str:
    if tags.get("shoptok/actor") in ("schedule", "sensor", "ui", "cli"):
        return tags["shoptok/actor"]
    if tags.get("dagster/schedule_name"):
        return "schedule"
    if tags.get("dagster/sensor_name"):
        return "sensor"
    return "ui"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "/")[:300]


def report_metadata(report: ApplyReport) -> dict[str, dg.MetadataValue]:
    counts = report.counts()
    head = "| action type | " + " | ".join(REPORT_STATUSES) + " |\n|---|" + "---:|" * len(REPORT_STATUSES) + "\n"
    rows = "".join(
        f"| {t} | " + " | ".join(str(c[s]) for s in REPORT_STATUSES) + " |\n" for t, c in sorted(counts.items())
    )
    alerts = alerts_needing_a_person(report)
    lines = "".join(
        f"| {'💰 ' if a.money_moving else ''}{a.reason_drift_type} | {a.connection_id} | {a.target_id} | "
        f"{(a.message or '').replace('|', '/')} |\n"
        for a in alerts[:ALERTS_SHOWN]
    )
    more = f"\n…and {len(alerts) - ALERTS_SHOWN} more in `ops.alerts`" if len(alerts) > ALERTS_SHOWN else ""
    failures = [r for r in report.results if r.status in ("failed", "gave_up", "unknown")]
    meta: dict[str, dg.MetadataValue] = {
        "dry_run": dg.MetadataValue.bool(report.dry_run),
        "actor": dg.MetadataValue.text(report.actor),
        "allowed": dg.MetadataValue.text(", ".join(report.allowed) or "(types needing no approval)"),
        "counts per action type": dg.MetadataValue.md(head + rows if rows else "no executable actions"),
        "alerts": dg.MetadataValue.int(len(alerts)),
        "money alerts": dg.MetadataValue.int(sum(1 for a in alerts if a.money_moving)),
        "alerts needing a person": dg.MetadataValue.md(
            "| drift | connection | target | message |\n|---|---|---|---|\n" + lines + more if alerts else "none"
        ),
        "superseded": dg.MetadataValue.int(report.superseded),
        "summary": dg.MetadataValue.json(summary(report)),
    }
    for status, n in report.totals().items():
        meta[status] = dg.MetadataValue.int(n)
    if failures:
        meta["failures"] = dg.MetadataValue.md(
            "| action type | target | status | error |\n|---|---|---|---|\n"
            + "".join(
                f"| {r.action_type} | {r.target_id} | {r.status} | {_cell(r.error or r.detail)} |\n" for r in failures
            )
        )
    return meta


@dg.op(
    pool=DUCKDB_WRITER_POOL,
    out=dg.Out(dg.Nothing),
    description="Apply marts.repair_actions through the platform APIs (dry run by default); ledger in "
    "ops.writeback_ledger, alerts in ops.alerts.",
    tags={"kind": "writeback"},
)
def apply_repair_plan(
    context: dg.OpExecutionContext,
    config: RepairConfig,
    warehouse: WarehouseResource,
    connections: ConnectionsResource,
    clock: ClockResource,
) -> None:
    shops = connections.load()
    if context.has_partition_key:
        shops = [c for c in shops if c.id == context.partition_key]
        if not shops:
            raise dg.Failure(description=f"connection {context.partition_key!r} is not configured")
    report = apply_actions(
        warehouse.warehouse_path,
        shops,
        dry_run=config.dry_run,
        allow=set(config.allow) or None,
        actor=actor_of(dict(context.run.tags)),
        as_of=clock.now(),
    )
    totals = report.totals()
    scope = context.partition_key if context.has_partition_key else "all connections"
    context.log.info(
        f"writeback {'dry run' if report.dry_run else 'run'} ({scope}): {totals}, {len(report.alerts)} alerts"
    )
    for r in report.results:
        if r.status in ("failed", "gave_up", "unknown"):
            context.log.warning(f"{r.action_type} {r.target_id}: {r.status}: {r.error or r.detail}")
    context.add_output_metadata(report_metadata(report))
    tags = {f"shoptok/writeback.{s}": str(n) for s, n in totals.items() if n}
    tags["shoptok/writeback.alerts"] = str(len(report.alerts))
    tags["shoptok/writeback.dry_run"] = str(report.dry_run).lower()
    if context.has_partition_key:
        tags["shoptok/connection"] = context.partition_key
    context.instance.add_run_tags(context.run_id, tags)
    refused = [r for r in report.results if r.error and r.error.startswith("refused:")]
    if refused:
        raise dg.Failure(
            description=f"{len(refused)} action(s) would have moved money and were refused: the plan is wrong",
            metadata={"actions": dg.MetadataValue.json([r.action_id for r in refused])},
        )


@dg.job(
    name="repair_job",
    description="Apply the repair plan (marts.repair_actions) to Shopify and TikTok Shop: dry run unless "
    "config says dry_run: false; approval types (cancel, price) only when allowed explicitly. Partitioned by "
    "connection: one shop per run, or every shop when launched without a partition.",
    tags={"shoptok/stage": "writeback"},
    partitions_def=connection_partitions,
)
def repair_job() -> None:
    apply_repair_plan()


defs = dg.Definitions(jobs=[repair_job])
