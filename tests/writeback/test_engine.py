"""The writeback engine on the mini scenario with a hand-written plan: fast, one path per test.

Real HTTP against an in-process sandbox; the plan rows have the shapes dbt's repair_actions gives
them. The end-to-end tests (test_repair_e2e.py) run the plan dbt builds for a generated merchant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestration.defs.writeback import engine
from orchestration.defs.writeback.actions import InjectedCrash, MoneyMovementRefused, assert_moves_no_money
from orchestration.defs.writeback.engine import apply_actions, resolve_allow
from sandbox.server import SandboxServer
from sandbox.state import load_state
from tests.writeback.support import MINI, action, connections_for, ledger, write_plan, writes

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TEE, TEE_BLK_M = "1729000000000000101", "1729000000000001011"
NEWARK_WH, RENO_WH = "7300000000000000001", "7300000000000000002"
NEWARK = "gid://shopify/Location/101"
USPS = "7117858858072016686"

RESTOCK = action(
    "restock_shopify",
    "gid://shopify/Order/5000001",
    {
        "input": {
            "name": "available",
            "reason": "restock",
            "referenceDocumentUri": "shoptok://repair/restock/4035000000000000901",
            "quantities": [
                {
                    "inventoryItemId": "gid://shopify/InventoryItem/3001",
                    "locationId": NEWARK,
                    "quantity": 13,
                    "compareQuantity": 12,
                }
            ],
        },
        "marker": {"id": "gid://shopify/Order/5000001", "tags": ["shoptok_restocked:4035000000000000901"]},
    },
)
CANCEL = action(
    "cancel_shopify_order",
    "gid://shopify/Order/5000002",
    {
        "orderId": "gid://shopify/Order/5000002",
        "reason": "CUSTOMER",
        "refund": False,
        "restock": True,
        "notifyCustomer": False,
        "staffNote": "TikTok Shop cancellation 4036000000000000901",
    },
    requires_approval=True,
)
REFUND = action(
    "record_refund_in_shopify",
    "gid://shopify/Order/5000004",
    {
        "orderId": "gid://shopify/Order/5000004",
        "note": "TikTok Shop return 4035000000000000902",
        "notify": False,
        "refundLineItems": [
            {
                "lineItemId": "gid://shopify/LineItem/6000006",
                "quantity": 1,
                "restockType": "RETURN",
                "locationId": NEWARK,
            }
        ],
        "shipping": {"amount": "4.99"},
    },
)
INVENTORY = action(
    "set_tiktok_inventory",
    TEE_BLK_M,
    {
        "product_id": TEE,
        "skus": [
            {
                "id": TEE_BLK_M,
                "inventory": [{"warehouse_id": NEWARK_WH, "quantity": 10}, {"warehouse_id": RENO_WH, "quantity": 5}],
            }
        ],
    },
)
PRICE = action(
    "set_tiktok_price",
    TEE_BLK_M,
    {"product_id": TEE, "skus": [{"id": TEE_BLK_M, "price": {"amount": "22.00", "currency": "USD"}}]},
    requires_approval=True,
)
TRACKING = action(
    "push_tracking_to_tiktok",
    "5760000000000000103",
    {
        "order_id": "5760000000000000103",
        "tracking_number": "9400100000000000000777",
        "shipping_provider_id": USPS,
        "order_line_item_ids": ["5770000000000103001", "5770000000000103002"],
    },
)
ALERT = action(
    "alert",
    "7000000000000000001",
    {"drift_type": "statement_mismatch", "source_model": "x", "source_key": "y", "message": "statement: mismatch"},
    requires_approval=True,
    money_moving=True,
    reason="statement_mismatch",
)
PLAN = [RESTOCK, CANCEL, REFUND, INVENTORY, PRICE, TRACKING, ALERT]
REFUND_PAYLOAD = json.loads(REFUND["payload"])
CANCEL_PAYLOAD = json.loads(CANCEL["payload"])
INVENTORY_BEFORE = [("us", TEE_BLK_M, NEWARK_WH, 12), ("us", TEE_BLK_M, RENO_WH, 5)]
PRICES_BEFORE = [("us", TEE_BLK_M, "21.00")]
#: what one application of the whole plan writes, per sandbox counter
ONE_PASS = {
    "shopify.mutation.inventorySetQuantities": 1,
    "shopify.mutation.tagsAdd": 1,
    "shopify.mutation.orderCancel": 1,
    "shopify.mutation.refundCreate": 1,
    "tiktok.writes.inventory_update": 1,
    "tiktok.writes.price_update": 1,
    "tiktok.writes.ship_package": 1,
}


@pytest.fixture
def srv() -> Iterator[SandboxServer]:
    server = SandboxServer(load_state(MINI)).start()
    server.ctx.config.tiktok.qps_per_path = 100_000
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    write_plan(path, PLAN, INVENTORY_BEFORE, PRICES_BEFORE)
    return path


def run(wh: Path, srv: SandboxServer, **kw: Any) -> engine.ApplyReport:
    kw.setdefault("dry_run", False)
    kw.setdefault("allow", {"all"})
    return apply_actions(wh, connections_for(srv), as_of=AS_OF, **kw)


def by_type(report: engine.ApplyReport) -> dict[str, str]:
    return {r.action_type: r.status for r in report.results}


def test_dry_run_records_planned_and_calls_nothing(wh: Path, srv: SandboxServer) -> None:
    report = apply_actions(wh, connections_for(srv), as_of=AS_OF)  # dry_run is the default
    assert report.dry_run and set(by_type(report).values()) == {"planned"}
    assert writes(srv) == {}
    rows = ledger(wh)
    assert len(rows) == 6 and all(r["status"] == "planned" and r["dry_run"] for r in rows.values())
    assert all(r["attempts"] == 0 and r["started_at"] is None for r in rows.values())
    assert [(a.reason_drift_type, a.money_moving) for a in report.alerts] == [("statement_mismatch", True)]


def test_each_action_applies_once_and_replays_are_no_ops(wh: Path, srv: SandboxServer) -> None:
    first = run(wh, srv)
    assert set(by_type(first).values()) == {"applied"}, first.results
    assert writes(srv) == ONE_PASS
    for _ in range(2):
        again = run(wh, srv)
        assert set(by_type(again).values()) == {"done_before"}
    assert writes(srv) == ONE_PASS
    assert srv.ctx.counters.get("shopify.refund_money_transactions") == 0
    rows = ledger(wh)
    for row in rows.values():
        assert row["status"] == "applied" and row["attempts"] == 1 and not row["dry_run"] and row["actor"] == "cli"
        assert row["request_digest"] and row["response_digest"] and row["platform_request_id"]
        assert row["started_at"] <= row["finished_at"]
    restock = rows[RESTOCK["action_id"]]
    assert (
        '"operation":"inventorySetQuantities"' in restock["request"] and '"operation":"tagsAdd"' in restock["request"]
    )


def test_approval_types_wait_for_an_explicit_allow(wh: Path, srv: SandboxServer) -> None:
    report = run(wh, srv, allow=None)
    assert by_type(report) == {
        "restock_shopify": "applied",
        "record_refund_in_shopify": "applied",
        "cancel_shopify_order": "held",
        "push_tracking_to_tiktok": "applied",
        "set_tiktok_price": "held",
        "set_tiktok_inventory": "applied",
    }
    held = ledger(wh)[CANCEL["action_id"]]
    assert held["status"] == "planned" and "approval" in held["detail"] and not held["dry_run"]
    assert "shopify.mutation.orderCancel" not in writes(srv)
    later = run(wh, srv, allow={"cancel_shopify_order", "set_tiktok_price"})
    assert by_type(later)["cancel_shopify_order"] == "applied" and by_type(later)["set_tiktok_price"] == "applied"
    assert writes(srv) == ONE_PASS


@pytest.mark.parametrize(
    ("plan_row", "operation", "end"),
    [
        (RESTOCK, "inventorySetQuantities", "applied"),  # set went through: the retry only tags
        (RESTOCK, "tagsAdd", "skipped"),
        (CANCEL, "orderCancel", "skipped"),
        (REFUND, "refundCreate", "skipped"),
        (INVENTORY, "POST /product/202309/products/1729000000000000101/inventory/update", "skipped"),
        (PRICE, "POST /product/202309/products/1729000000000000101/prices/update", "skipped"),
        (TRACKING, "POST /fulfillment/202309/orders/5760000000000000103/packages", "skipped"),
    ],
)
def test_a_crash_between_the_call_and_the_ledger_is_not_applied_twice(
    wh: Path, srv: SandboxServer, plan_row: dict[str, Any], operation: str, end: str
) -> None:
    def crash(planned: Any, op: str) -> None:
        if planned.action_id == plan_row["action_id"] and op == operation:
            raise KeyboardInterrupt("power cut")

    with pytest.raises(InjectedCrash):
        run(wh, srv, crash_after_call=crash)
    row = ledger(wh)[plan_row["action_id"]]
    assert row["status"] == "started" and row["finished_at"] is None and row["attempts"] == 1
    crashed_at = writes(srv)
    report = run(wh, srv)
    mine = next(r for r in report.results if r.action_id == plan_row["action_id"])
    assert mine.status == end, mine
    row = ledger(wh)[plan_row["action_id"]]
    assert row["status"] == end and row["attempts"] == 2 and row["request_digest"]
    # what the crashed attempt sent was not sent again (only the restock's tag, never sent, follows)
    after = writes(srv)
    resent = {c for c in COUNTERS[plan_row["action_type"]] if crashed_at.get(c) and after.get(c) != crashed_at[c]}
    assert resent == set()
    assert after == ONE_PASS
    assert srv.ctx.counters.get("shopify.refund_money_transactions") == 0


COUNTERS = {
    "restock_shopify": {"shopify.mutation.inventorySetQuantities", "shopify.mutation.tagsAdd"},
    "cancel_shopify_order": {"shopify.mutation.orderCancel"},
    "record_refund_in_shopify": {"shopify.mutation.refundCreate"},
    "set_tiktok_inventory": {"tiktok.writes.inventory_update"},
    "set_tiktok_price": {"tiktok.writes.price_update"},
    "push_tracking_to_tiktok": {"tiktok.writes.ship_package"},
}


def test_a_lost_answer_leaves_the_row_started_and_the_next_run_rereads(
    tmp_path: Path, srv: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = tmp_path / "w.duckdb"
    write_plan(wh, [REFUND])
    from extract.shopify.client import ShopifyClient

    original = ShopifyClient.refund_create_record_only

    def cut(self: ShopifyClient, *args: Any, **kw: Any) -> Any:
        faults = srv.ctx.config.faults["shopify"]
        faults.p_cut = 1.0  # the refund is processed, then the connection drops mid-body
        try:
            return original(self, *args, **kw)
        finally:
            faults.p_cut = 0.0

    monkeypatch.setattr(ShopifyClient, "refund_create_record_only", cut)
    report = run(wh, srv)
    assert [r.status for r in report.results] == ["unknown"]
    row = ledger(wh)[REFUND["action_id"]]
    assert row["status"] == "started" and row["finished_at"] is None and "refundCreate" in row["request"]
    assert writes(srv) == {"shopify.mutation.refundCreate": 1}
    monkeypatch.setattr(ShopifyClient, "refund_create_record_only", original)
    report = run(wh, srv)
    assert [r.status for r in report.results] == ["skipped"]
    assert writes(srv) == {"shopify.mutation.refundCreate": 1}
    assert ledger(wh)[REFUND["action_id"]]["status"] == "skipped"


def test_money_moving_requests_are_refused_before_sending(tmp_path: Path, srv: SandboxServer) -> None:
    with pytest.raises(MoneyMovementRefused):
        assert_moves_no_money("refundCreate", {"input": {"orderId": "x", "transactions": []}})
    with pytest.raises(MoneyMovementRefused):
        assert_moves_no_money("orderCancel", {"orderId": "x", "refund": True})
    assert_moves_no_money("refundCreate", {"input": {"orderId": "x", "refundLineItems": []}})
    paying = action(
        "record_refund_in_shopify",
        "gid://shopify/Order/5000004",
        {
            **REFUND_PAYLOAD,
            "transactions": [{"orderId": "gid://shopify/Order/5000004", "amount": "10.00", "kind": "REFUND"}],
        },
    )
    refunding_cancel = action("cancel_shopify_order", "gid://shopify/Order/5000002", {**CANCEL_PAYLOAD, "refund": True})
    wh = tmp_path / "w.duckdb"
    write_plan(wh, [paying, refunding_cancel])
    report = run(wh, srv)
    assert [r.status for r in report.results] == ["failed", "failed"]
    assert all(r.error.startswith("refused:") for r in report.results)
    assert writes(srv) == {}
    assert srv.ctx.counters.get("shopify.refund_money_transactions") == 0


def test_a_stale_tiktok_plan_fails_instead_of_overwriting(tmp_path: Path, srv: SandboxServer) -> None:
    wh = tmp_path / "w.duckdb"
    # the plan was built when Newark held 11 and the price was 20.00: TikTok moved since (12, 21.00)
    write_plan(
        wh,
        [INVENTORY, PRICE],
        [("us", TEE_BLK_M, NEWARK_WH, 11), ("us", TEE_BLK_M, RENO_WH, 5)],
        [("us", TEE_BLK_M, "20.00")],
    )
    report = run(wh, srv)
    assert [r.status for r in report.results] == ["failed", "failed"]
    assert all("stale" in (r.detail or "") for r in report.results)
    assert writes(srv) == {}


def test_shopify_compare_and_set_refuses_a_moved_quantity(tmp_path: Path, srv: SandboxServer) -> None:
    wh = tmp_path / "w.duckdb"
    moved = json.loads(RESTOCK["payload"])
    moved["input"]["quantities"][0].update(quantity=11, compareQuantity=10)  # Newark holds 12, not 10
    write_plan(wh, [action("restock_shopify", "gid://shopify/Order/5000001", moved)])
    report = run(wh, srv)
    assert [r.status for r in report.results] == ["failed"] and "stale" in report.results[0].detail
    assert writes(srv) == {}


def test_failing_actions_are_retried_then_left_for_a_person(tmp_path: Path, srv: SandboxServer) -> None:
    wh = tmp_path / "w.duckdb"
    bad = action(
        "record_refund_in_shopify",
        "gid://shopify/Order/5000004",
        {**REFUND_PAYLOAD, "refundLineItems": [{"lineItemId": "gid://shopify/LineItem/1", "quantity": 1}]},
    )
    write_plan(wh, [bad])
    for attempt in range(1, engine.MAX_ATTEMPTS + 1):
        report = run(wh, srv)
        assert [r.status for r in report.results] == ["failed"]
        assert ledger(wh)[bad["action_id"]]["attempts"] == attempt
    requests = srv.ctx.counters.get("shopify.requests")
    report = run(wh, srv)
    assert [r.status for r in report.results] == ["gave_up"]
    assert srv.ctx.counters.get("shopify.requests") == requests  # not even a re-read
    assert "Line item does not exist" in ledger(wh)[bad["action_id"]]["error"]


def test_a_newer_plan_supersedes_open_rows_and_keeps_history(wh: Path, srv: SandboxServer) -> None:
    run(wh, srv, allow={"restock_shopify"})  # restock applied, the rest held (planned)
    write_plan(wh, [INVENTORY], INVENTORY_BEFORE)  # the next build: only the inventory action is left
    report = run(wh, srv, dry_run=True)
    assert report.superseded == 4
    rows = ledger(wh)
    assert rows[RESTOCK["action_id"]]["status"] == "applied"  # history is never rewritten
    assert rows[INVENTORY["action_id"]]["status"] == "planned"
    assert {rows[a["action_id"]]["status"] for a in (CANCEL, REFUND, PRICE, TRACKING)} == {"superseded"}


def test_alerts_are_recorded_never_executed(wh: Path, srv: SandboxServer) -> None:
    import duckdb

    run(wh, srv, dry_run=True)
    later = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    apply_actions(wh, connections_for(srv), as_of=later)
    con = duckdb.connect(str(wh), read_only=True)
    rows = con.execute(
        "select action_id, money_moving, first_seen_at, last_seen_at, message from ops.alerts"
    ).fetchall()
    con.close()
    assert rows == [
        (ALERT["action_id"], True, datetime(2026, 11, 20, 12), datetime(2026, 11, 21, 12), "statement: mismatch")
    ]
    assert ALERT["action_id"] not in ledger(wh)
    with pytest.raises(ValueError, match="never executed"):
        resolve_allow(["alert"])


def test_allow_list_and_actor_are_checked() -> None:
    assert resolve_allow(None) == set() and resolve_allow([]) == set()
    assert resolve_allow(["all"]) == set(engine.EXECUTABLE)
    assert resolve_allow(["restock_shopify,set_tiktok_price"]) == {"restock_shopify", "set_tiktok_price"}
    with pytest.raises(ValueError, match="unknown action type"):
        resolve_allow(["refund_everyone"])
    with pytest.raises(ValueError, match="actor"):
        apply_actions(Path("/nonexistent"), [], actor="robot", as_of=AS_OF)


def test_one_repair_run_per_warehouse(wh: Path, srv: SandboxServer) -> None:
    from orchestration.defs.writeback import ledger as ledger_mod

    with ledger_mod.run_lock(wh), pytest.raises(ledger_mod.RepairRunInProgress), ledger_mod.run_lock(wh, wait_s=0.3):
        pass
    with ledger_mod.run_lock(wh, wait_s=0.3):  # released with its holder
        pass
    with pytest.raises(FileNotFoundError):
        apply_actions(wh.with_name("missing.duckdb"), connections_for(srv), as_of=AS_OF)
    assert not wh.with_name("missing.duckdb").exists()


def test_repair_job_shape() -> None:
    """What the sensor and the UI rely on: the job name, its op's pool and config defaults."""
    from orchestration.defs.writeback.jobs import RepairConfig, actor_of, defs, repair_job

    assert repair_job.name == "repair_job" and defs.jobs == [repair_job]
    (node,) = repair_job.nodes
    assert node.name == "apply_repair_plan" and node.definition.pool == "duckdb_writer"
    assert RepairConfig().dry_run is True and RepairConfig().allow == []
    assert set(node.definition.required_resource_keys) == {"warehouse", "connections", "clock"}
    assert actor_of({"dagster/schedule_name": "s"}) == "schedule"
    assert actor_of({"dagster/sensor_name": "s"}) == "sensor"
    assert actor_of({}) == "ui" and actor_of({"shoptok/actor": "cli"}) == "cli"
