"""The repair sensor: new drift in ``marts.repair_actions`` → launch ``repair_job`` (a dry run by default).

Every tick (60 s) the sensor

1. skips while any run is queued or in progress (DuckDB has one writer, and a read-only
   connection also blocks writers, so it only opens the file when nothing is running);
2. reads the plan READ-ONLY: the ``action_id`` s of ``marts.repair_actions`` that the writeback
   ledger (``ops.writeback_ledger``) has not ended (``applied`` / ``skipped``);
3. skips when any *blocking* asset check on ``marts.repair_actions`` or anything upstream of it (or
   of ``repair_job``'s assets) failed in its latest completed evaluation — dbt tests with severity
   error and the blocking Great Expectations checks — read from the instance's check summary
   records (``last_completed_check_execution_record``), so a fixed check unblocks at its next
   passing evaluation;
4. requests a run with ``run_key = "repair:" + sha256(sorted pending action_ids)``: Dagster never
   launches two runs with one run key from this sensor, so a plan is handed on once; a new drift
   (or an action the ledger closed) changes the set and the key. The cursor keeps the last digest.

**One run per connection.** ``repair_job`` is partitioned by connection: when the plan carries
``connection_id`` the sensor requests one run per shop with pending actions (partition = the
connection, ``run_key = "repair:<connection>:" + sha256(that shop's pending action_ids)``), so a
shop's failing repair never holds another's back. A job without partitions gets one run for the
whole plan.

``dry_run`` is true unless the settings' auto-apply allow-list (``SHOPTOK_AUTO_APPLY``) is set: then
the run is real and the allow-list goes to the job's ``allow`` field; a job without such a field
gets a real run only when every pending executable action type is allow-listed. Where ``dry_run``
(and ``allow``, ``actor``) live in ``repair_job``'s run config — an op's config or a resource's — is
read from the job's config schema, so the writeback side can choose.
"""

import hashlib
import importlib
import json
import logging
import pkgutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import duckdb
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from orchestration.defs.resources import WarehouseResource
from shoptok.settings import load_orchestration_settings
from shoptok.warehouse import errors as warehouse_errors

log = logging.getLogger(__name__)

REPAIR_JOB = "repair_job"
REPAIR_ACTIONS = dg.AssetKey(["marts", "repair_actions"])
#: the writeback ledger and the statuses that end an action (kept in step with writeback/ledger.py)
LEDGER_TABLE = ("ops", "writeback_ledger")
LEDGER_TERMINAL = ("applied", "skipped")
_JOB_TYPES = (dg.JobDefinition, UnresolvedAssetJobDefinition)
BUSY_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclass(frozen=True)
class PendingPlan:
    action_ids: tuple[str, ...]
    action_types: frozenset[str]

    @property
    def digest(self) -> str:
        return hashlib.sha256("\n".join(sorted(self.action_ids)).encode()).hexdigest()[:32]

    @property
    def run_key(self) -> str:
        return f"repair:{self.digest}"


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchone()
    return bool(row and row[0])


def read_pending(con: duckdb.DuckDBPyConnection) -> PendingPlan | None:
    """The plan's actions the ledger has not ended; None when there is no plan yet."""
    if not _table_exists(con, "marts", "repair_actions"):
        return None
    sql = "select a.action_id, a.action_type from marts.repair_actions a"
    params: list[Any] = []
    if _table_exists(con, *LEDGER_TABLE):
        marks = ", ".join("?" for _ in LEDGER_TERMINAL)
        sql += (
            f" where not exists (select 1 from {'.'.join(LEDGER_TABLE)} l"
            f" where l.action_id = a.action_id and l.status in ({marks}))"
        )
        params += list(LEDGER_TERMINAL)
    rows = con.execute(sql, params).fetchall()
    return PendingPlan(tuple(sorted(r[0] for r in rows)), frozenset(r[1] for r in rows))


def pending_by_connection(con: duckdb.DuckDBPyConnection, plan: PendingPlan) -> dict[str, PendingPlan] | None:
    """``plan`` split by the plan's ``connection_id``; None when the plan table has no such column."""
    cols = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'repair_actions'"
        ).fetchall()
    }
    if "connection_id" not in cols or not plan.action_ids:
        return None
    pending = set(plan.action_ids)
    groups: dict[str, list[tuple[str, str]]] = {}
    for action_id, action_type, cid in con.execute(
        "select action_id, action_type, connection_id from marts.repair_actions"
    ).fetchall():
        if action_id in pending:
            groups.setdefault(cid, []).append((action_id, action_type))
    return {
        cid: PendingPlan(tuple(sorted(a for a, _ in rows)), frozenset(t for _, t in rows))
        for cid, rows in sorted(groups.items())
    }


def failed_blocking_checks(instance: dg.DagsterInstance, asset_graph: Any, targets: Iterable[dg.AssetKey]) -> list[str]:
    """Blocking checks on ``targets`` and their ancestors whose latest completed evaluation failed."""
    keys: set[dg.AssetKey] = set()
    for key in targets:
        if asset_graph.has(key):
            keys |= set(asset_graph.get_ancestor_asset_keys(key, include_self=True))
    check_keys = [ck for ck in asset_graph.get_check_keys_for_assets(keys) if asset_graph.get_check_spec(ck).blocking]
    if not check_keys:
        return []
    summaries = instance.event_log_storage.get_asset_check_summary_records(check_keys)
    failed = []
    for ck, summary in summaries.items():
        record = summary.last_completed_check_execution_record if summary else None
        if record is not None and record.status == AssetCheckExecutionRecordStatus.FAILED:
            failed.append(ck.to_user_string())
    return sorted(failed)


def _config_paths(config_type: Any, names: set[str], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, fld in (getattr(config_type, "fields", None) or {}).items():
        here = (*path, name)
        if name in names:
            yield here
        else:
            yield from _config_paths(fld.config_type, names, here)


def _put(tree: dict, path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def repair_run_config(job: Any, *, dry_run: bool, allow: list[str]) -> tuple[dict, bool]:
    """Run config for ``job`` with ``dry_run`` (and ``allow``/``actor`` when the job has them).

    Returns the config and whether an ``allow`` field was found.
    """
    paths = list(_config_paths(job.run_config_schema.config_type, {"dry_run", "allow", "actor"}))
    values = {"dry_run": dry_run, "allow": allow, "actor": "sensor"}
    config: dict = {}
    has_allow = any(p[-1] == "allow" for p in paths)
    for p in paths:
        if p[-1] == "allow" and not allow:
            continue
        _put(config, p, values[p[-1]])
    return config, has_allow


def decide_dry_run(plan: PendingPlan, auto_apply: frozenset[str], job_has_allow: bool) -> bool:
    if not auto_apply:
        return True
    if job_has_allow:
        return False
    executable = {t for t in plan.action_types if t != "alert"}
    return not executable <= auto_apply


def _job_asset_keys(job: Any) -> set[dg.AssetKey]:
    try:
        return set(job.asset_layer.executable_asset_keys)
    except AttributeError:
        return set()


def evaluate_repair(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, auto_apply: frozenset[str]
) -> dg.RunRequest | list[dg.RunRequest] | dg.SkipReason:
    instance = context.instance
    busy = instance.get_run_records(filters=dg.RunsFilter(statuses=BUSY_STATUSES), limit=1)
    if busy:
        return dg.SkipReason(f"run {busy[0].dagster_run.run_id} is queued or in progress; the warehouse is busy")
    if not warehouse.exists():
        return dg.SkipReason(f"no warehouse at {warehouse.warehouse_path} yet")
    by_connection = None
    try:
        with warehouse.connect_read_only() as con:
            plan = read_pending(con)
            if plan is not None:
                by_connection = pending_by_connection(con, plan)
    except warehouse_errors() as exc:  # another process holds the DuckDB file read-write
        return dg.SkipReason(f"warehouse not readable now: {exc}")
    if plan is None:
        return dg.SkipReason("marts.repair_actions does not exist yet (no dbt build)")
    if not plan.action_ids:
        return dg.SkipReason("no pending repair actions")
    repo = context.repository_def
    job = repo.get_job(REPAIR_JOB)
    failed = failed_blocking_checks(instance, repo.asset_graph, {REPAIR_ACTIONS} | _job_asset_keys(job))
    if failed:
        return dg.SkipReason(f"blocking checks failed upstream of the repair plan: {', '.join(failed[:10])}")
    if context.cursor == plan.digest:
        return dg.SkipReason(f"plan {plan.digest} already handed on ({len(plan.action_ids)} actions)")
    _, has_allow = repair_run_config(job, dry_run=True, allow=[])
    dry_run = decide_dry_run(plan, auto_apply, has_allow)
    run_config, _ = repair_run_config(job, dry_run=dry_run, allow=sorted(auto_apply) if not dry_run else [])
    context.update_cursor(plan.digest)
    if by_connection and getattr(job, "partitions_def", None) is not None:
        return [
            dg.RunRequest(
                run_key=f"repair:{cid}:{part.digest}",
                run_config=run_config,
                partition_key=cid,
                tags={
                    "shoptok/plan": part.digest,
                    "shoptok/connection": cid,
                    "shoptok/pending_actions": str(len(part.action_ids)),
                    "shoptok/action_types": ",".join(sorted(part.action_types)),
                    "shoptok/dry_run": json.dumps(dry_run),
                    "shoptok/actor": "sensor",
                },
            )
            for cid, part in by_connection.items()
        ]
    return dg.RunRequest(
        run_key=plan.run_key,
        run_config=run_config,
        tags={
            "shoptok/plan": plan.digest,
            "shoptok/pending_actions": str(len(plan.action_ids)),
            "shoptok/action_types": ",".join(sorted(plan.action_types)),
            "shoptok/dry_run": json.dumps(dry_run),
            "shoptok/actor": "sensor",
        },
    )


def build_repair_sensor(auto_apply: frozenset[str] | None = None) -> dg.SensorDefinition:
    allow = load_orchestration_settings().auto_apply_action_types if auto_apply is None else auto_apply

    @dg.sensor(
        name="repair_sensor",
        job_name=REPAIR_JOB,
        minimum_interval_seconds=60,
        description="New drift in marts.repair_actions → repair_job (dry run unless SHOPTOK_AUTO_APPLY allows); "
        "skips while a run is in progress or a blocking check upstream failed.",
    )
    def repair_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        return evaluate_repair(context, warehouse, allow)

    return repair_sensor


def _repair_job_defined() -> bool:
    """Whether the writeback package defines ``repair_job`` (the sensor targets it by name)."""
    try:
        pkg = importlib.import_module("orchestration.defs.writeback")
    except ModuleNotFoundError:
        return False
    modules = [pkg]
    for info in pkgutil.walk_packages(getattr(pkg, "__path__", []), f"{pkg.__name__}."):
        modules.append(importlib.import_module(info.name))
    for module in modules:
        for value in vars(module).values():
            jobs = list(value.jobs or []) if isinstance(value, dg.Definitions) else [value]
            if any(isinstance(j, _JOB_TYPES) and j.name == REPAIR_JOB for j in jobs):
                return True
    return False


@dg.definitions
def repair_sensor_defs() -> dg.Definitions:
    """The repair sensor, once the writeback package defines ``repair_job``."""
    if not _repair_job_defined():
        log.warning("orchestration.defs.writeback defines no %r yet: repair_sensor is not registered", REPAIR_JOB)
        return dg.Definitions()
    return dg.Definitions(sensors=[build_repair_sensor()])
