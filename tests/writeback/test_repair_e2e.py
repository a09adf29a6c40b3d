"""The writeback end to end: the plan dbt builds for a generated merchant, applied over real HTTP.

(a) the Dagster ``repair_job`` run three times applies each action exactly once (the ledger's
requests and the sandbox's write counters agree); (b) a crash after an API call and before the
ledger write is survived without a second application; (c) no Shopify refund ever moves money;
(d) one repair cycle (apply, re-extract, ``dbt build``) leaves only the drift no API can fix;
(e) a dry run calls nothing and records the plan.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.defs.writeback.actions import InjectedCrash
from orchestration.defs.writeback.engine import apply_actions
from tests.writeback.conftest import Workspace
from tests.writeback.support import connections_for, ledger, writes

pytestmark = pytest.mark.slow

#: drift an executable action repairs; everything else can only be alerted on
REPAIRABLE = {
    "cancel_not_mirrored",
    "tracking_not_pushed",
    "refund_not_mirrored",
    "missing_restock",
    "tiktok_overstated",
    "tiktok_understated",
    "price_mismatch",
}
IN_SYNC = {"in_sync", "balanced"}
DRIFT = """
    select 'fct_order_reconciliation', drift_type, count(*) from marts.fct_order_reconciliation group by all
    union all select 'fct_inventory_drift', drift_type, count(*) from marts.fct_inventory_drift group by all
    union all select 'fct_refund_reconciliation', drift_type, count(*) from marts.fct_refund_reconciliation group by all
    union all select 'fct_payout_reconciliation', drift_type, count(*) from marts.fct_payout_reconciliation group by all
    union all select 'dim_catalog_health', v, count(*)
        from (select unnest(violations) as v from marts.dim_catalog_health) group by all
"""


def query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def drift_types(warehouse: Path) -> dict[tuple[str, str], int]:
    return {(mart, kind): n for mart, kind, n in query(warehouse, DRIFT) if kind not in IN_SYNC}


def plan_types(warehouse: Path) -> Counter[str]:
    return Counter(t for (t,) in query(warehouse, "select action_type from marts.repair_actions"))


def counter_of(operation: str) -> str:
    """The sandbox counter an API operation of the ledger's ``request`` bumps."""
    if operation.startswith("POST "):
        tail = operation.rsplit("/", 2)
        name = {"inventory/update": "inventory_update", "prices/update": "price_update"}.get(
            "/".join(tail[-2:]), "ship_package" if operation.endswith("/packages") else operation
        )
        return f"tiktok.writes.{name}"
    return f"shopify.mutation.{operation}"


def sent_by_ledger(warehouse: Path) -> Counter[str]:
    """Writes the ledger says were sent, by counter: every request of every applied action."""
    out: Counter[str] = Counter()
    for row in ledger(warehouse).values():
        if row["status"] == "applied":
            for request in json.loads(row["request"]):
                out[counter_of(request["operation"])] += 1
    return out


def run_job(ws: Workspace, **config: Any) -> tuple[Any, dict[str, str]]:
    import dagster as dg

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
        tags={"shoptok/actor": "sensor"},
    )
    assert result.success
    return result, dict(instance.get_run_by_id(result.run_id).tags)


def test_dry_run_calls_nothing_and_records_the_plan(workspace: Workspace) -> None:
    ws = workspace
    executable = sum(n for t, n in plan_types(ws.warehouse).items() if t != "alert")
    report = apply_actions(ws.warehouse, connections_for(ws.srv), as_of=ws.as_of)
    assert writes(ws.srv) == {}
    assert ws.srv.ctx.counters.get("shopify.requests") == 0 and ws.srv.ctx.counters.get("tiktok.requests") == 0
    rows = ledger(ws.warehouse)
    assert len(rows) == executable and report.totals()["planned"] == executable
    assert {(r["status"], r["dry_run"], r["attempts"]) for r in rows.values()} == {("planned", True, 0)}
    alerts = query(ws.warehouse, "select count(*), count(*) filter (where money_moving) from ops.alerts")[0]
    assert alerts[0] == plan_types(ws.warehouse)["alert"] > 0 and alerts[1] > 0


def test_repair_job_three_times_applies_each_action_once(workspace: Workspace) -> None:
    ws = workspace
    plan = plan_types(ws.warehouse)
    assert set(plan) == {
        "set_tiktok_inventory",
        "cancel_shopify_order",
        "push_tracking_to_tiktok",
        "restock_shopify",
        "record_refund_in_shopify",
        "set_tiktok_price",
        "alert",
    }, "the small merchant must carry every action type"
    _, tags = run_job(ws, dry_run=False, allow=["all"])
    executable = sum(n for t, n in plan.items() if t != "alert")
    assert tags["shoptok/writeback.applied"] == str(executable) and tags["shoptok/writeback.dry_run"] == "false"
    first = writes(ws.srv)
    for _ in range(2):
        _, tags = run_job(ws, dry_run=False, allow=["all"])
        assert tags["shoptok/writeback.done_before"] == str(executable) and "shoptok/writeback.applied" not in tags
    assert writes(ws.srv) == first
    rows = ledger(ws.warehouse)
    assert len(rows) == executable
    assert {(r["status"], r["attempts"], r["actor"]) for r in rows.values()} == {("applied", 1, "sensor")}
    # the ledger alone accounts for every write the platforms saw, and for nothing more
    assert sent_by_ledger(ws.warehouse) == Counter(first)
    assert ws.srv.ctx.counters.get("shopify.refund_money_transactions") == 0
    # ... and every request it recorded is the payload the plan asked for
    payloads = dict(query(ws.warehouse, "select action_id, payload from marts.repair_actions"))
    for action_id, row in rows.items():
        assert row["payload"] == payloads[action_id]
        assert re.fullmatch(r"[0-9a-f]{64}", row["request_digest"]) and row["platform_request_id"]


def test_a_crash_after_the_call_is_not_applied_twice(workspace: Workspace) -> None:
    ws = workspace
    conns = connections_for(ws.srv)
    calls: list[tuple[str, str]] = []

    def crash(action: Any, operation: str) -> None:
        calls.append((action.action_type, operation))
        if len(calls) == 9:  # mid-plan, after a write went through and before the ledger heard of it
            raise SystemExit("kill -9")

    with pytest.raises(InjectedCrash):
        apply_actions(ws.warehouse, conns, dry_run=False, allow={"all"}, as_of=ws.as_of, crash_after_call=crash)
    started = [r for r in ledger(ws.warehouse).values() if r["status"] == "started"]
    assert len(started) == 1 and started[0]["finished_at"] is None
    crashed = started[0]["action_id"]
    at_crash = writes(ws.srv)
    report = apply_actions(ws.warehouse, conns, dry_run=False, allow={"all"}, as_of=ws.as_of)
    mine = next(r for r in report.results if r.action_id == crashed)
    assert mine.status in ("skipped", "applied")  # applied = a restock whose set went through: tag only
    final = ledger(ws.warehouse)[crashed]
    assert final["status"] == mine.status and final["attempts"] == 2
    after = writes(ws.srv)
    assert all(after[k] >= n for k, n in at_crash.items())
    # exactly one application per action: the counters equal one pass of the plan
    clean = apply_actions(ws.warehouse, conns, dry_run=False, allow={"all"}, as_of=ws.as_of)
    assert clean.calls_made == 0 and writes(ws.srv) == after
    sent = sent_by_ledger(ws.warehouse)
    if final["status"] == "skipped":  # its write happened in the crashed attempt, which the row does not count
        for request in json.loads(final["request"]):
            sent[counter_of(request["operation"])] += 1
    assert sent == Counter(after)
    assert ws.srv.ctx.counters.get("shopify.refund_money_transactions") == 0


def test_one_repair_cycle_leaves_only_what_needs_a_person(workspace: Workspace) -> None:
    from extract.run import run_extract
    from shoptok.transform import run_dbt

    ws = workspace
    before = drift_types(ws.warehouse)
    truth_types = {(t["mart"], t["drift_type"]) for t in ws.truth}
    assert {k for k in before if k[1] in REPAIRABLE}, "nothing to repair"
    report = apply_actions(ws.warehouse, connections_for(ws.srv), dry_run=False, allow={"all"}, as_of=ws.as_of)
    assert report.totals()["applied"] == sum(n for t, n in plan_types(ws.warehouse).items() if t != "alert")
    assert report.totals()["failed"] == 0, [r for r in report.results if r.status == "failed"]
    # a later moment: every repair write is stamped before it
    as_of = ws.srv.ctx.state.clock.advance(300)
    assert as_of == ws.as_of + timedelta(seconds=300)
    run_extract(connections_for(ws.srv), warehouse=ws.warehouse, pipelines_dir=ws.pipelines_dir)
    built = run_dbt(["build"], warehouse=ws.warehouse, as_of=as_of)
    assert built.ok, built.output[-6000:]
    after = drift_types(ws.warehouse)
    assert {k for k in after if k[1] in REPAIRABLE} == set(), after
    assert set(after) == {k for k in before if k[1] not in REPAIRABLE}
    # the truth file's drift that no API can fix is still detected
    for mart, kind in truth_types:
        if kind not in REPAIRABLE:
            assert (mart, kind) in after, (mart, kind)
    assert set(plan_types(ws.warehouse)) == {"alert"}
    assert ws.srv.ctx.counters.get("shopify.refund_money_transactions") == 0
    # the next run finds nothing to do; the applied rows stay applied (history), none superseded
    again = apply_actions(ws.warehouse, connections_for(ws.srv), dry_run=False, allow={"all"}, as_of=as_of)
    assert again.results == [] and again.superseded == 0
    assert {r["status"] for r in ledger(ws.warehouse).values()} == {"applied"}
