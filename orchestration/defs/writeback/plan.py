"""Reading the repair plan (``marts.repair_actions``) and the state each action was planned from.

The plan says what the target should become; the engine also needs what it was when the plan was
built, to tell "already done" from "moved by someone else" on a platform that has no
compare-and-set (TikTok). Those "before" values come from the marts the actions were derived from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

ACTION_TYPES = (
    "set_tiktok_inventory",
    "cancel_shopify_order",
    "push_tracking_to_tiktok",
    "restock_shopify",
    "record_refund_in_shopify",
    "set_tiktok_price",
    "alert",
)
EXECUTABLE = tuple(t for t in ACTION_TYPES if t != "alert")

#: execution order. Restocks go first: their compare-and-set quantities were read when the plan
#: was built, and cancellations / returned refunds move the same inventory levels. TikTok stock goes
#: last: its targets already count the stock those Shopify repairs put back.
ORDER = (
    "restock_shopify",
    "record_refund_in_shopify",
    "cancel_shopify_order",
    "push_tracking_to_tiktok",
    "set_tiktok_price",
    "set_tiktok_inventory",
)


@dataclass(frozen=True)
class PlannedAction:
    action_id: str
    connection_id: str
    action_type: str
    target_platform: str
    target_id: str
    payload_text: str
    reason_drift_type: str | None
    money_moving: bool
    requires_approval: bool
    source_row: str | None
    detected_at: datetime | None
    #: what the target held when the plan was built (TikTok inventory: {(sku, warehouse): qty};
    #: TikTok price: {sku: {prices}}), for the stale-plan guard
    before: dict[Any, Any] = field(default_factory=dict, compare=False)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.payload_text)


def read_plan(con: duckdb.DuckDBPyConnection) -> list[PlannedAction]:
    """Every row of the plan, with the before-state of the TikTok inventory and price actions."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'repair_actions'"
    ).fetchone()
    if not exists or not exists[0]:
        raise RuntimeError("marts.repair_actions does not exist: run `shoptok transform` (dbt build) first")
    rows = con.execute(
        """
        select action_id, connection_id, action_type, target_platform, target_id, payload, reason_drift_type,
               money_moving, requires_approval, source_row, detected_at
        from marts.repair_actions
        order by connection_id, action_type, target_id, action_id
        """
    ).fetchall()
    inventory: dict[tuple[str, str], dict[tuple[str, str], int]] = {}
    for conn_id, sku, warehouse, qty in con.execute(
        """
        select connection_id, tiktok_sku_id, tiktok_warehouse_id, tiktok_available
        from marts.fct_inventory_drift where tiktok_sku_id is not null
        """
    ).fetchall():
        inventory.setdefault((conn_id, sku), {})[(sku, warehouse)] = None if qty is None else int(qty)
    prices: dict[tuple[str, str], set[Any]] = {}
    for conn_id, sku, price in con.execute(
        "select connection_id, tiktok_sku_id, tiktok_price from marts.dim_catalog_health "
        "where tiktok_sku_id is not null"
    ).fetchall():
        prices.setdefault((conn_id, sku), set()).add(price)
    out = []
    for r in rows:
        action_type, conn_id, target = r[2], r[1], r[4]
        before: dict[Any, Any] = {}
        if action_type == "set_tiktok_inventory":
            before = inventory.get((conn_id, target), {})
        elif action_type == "set_tiktok_price":
            before = {target: prices.get((conn_id, target), set())}
        out.append(
            PlannedAction(
                action_id=r[0],
                connection_id=conn_id,
                action_type=action_type,
                target_platform=r[3],
                target_id=target,
                payload_text=r[5],
                reason_drift_type=r[6],
                money_moving=bool(r[7]),
                requires_approval=bool(r[8]),
                source_row=r[9],
                detected_at=r[10],
                before=before,
            )
        )
    return out
