"""Helpers for the writeback tests: a hand-written plan on the mini scenario, counters, ledger reads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

from sandbox.server import SandboxServer
from shoptok.connections import Connection, connection_from_entry

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini_scenario"

#: the API writes the sandbox counts: Shopify mutations and TikTok writes
WRITE_COUNTERS = ("shopify.mutation.", "tiktok.writes.")


def connections_for(srv: SandboxServer) -> list[Connection]:
    return [
        connection_from_entry(
            c.manifest, shopify_base_url=srv.shopify_base(c.shop_domain), tiktok_base_url=srv.tiktok_base
        )
        for c in srv.ctx.state.connections
    ]


def writes(srv: SandboxServer) -> dict[str, int]:
    """Every write counter of the sandbox (mutations and TikTok writes), zero ones left out."""
    return {k: v for k, v in srv.ctx.counters.snapshot().items() if k.startswith(WRITE_COUNTERS) and v}


def ledger(warehouse: Path) -> dict[str, dict[str, Any]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cur = con.execute("select * from ops.writeback_ledger")
        cols = [d[0] for d in cur.description]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    finally:
        con.close()


def action(
    action_type: str, target_id: str, payload: dict[str, Any], *, requires_approval: bool = False, **kw: Any
) -> dict[str, Any]:
    """One plan row as marts.repair_actions has it (action_id = hash of type | target | payload)."""
    text = json.dumps(payload, separators=(",", ":"))
    platform = "tiktok_shop" if "tiktok" in action_type else "shopify"
    return {
        "action_id": hashlib.md5(f"{action_type}|{target_id}|{text}".encode()).hexdigest(),  # noqa: S324
        "connection_id": kw.get("connection_id", "us"),
        "action_type": action_type,
        "target_platform": kw.get("target_platform", platform),
        "target_id": target_id,
        "payload": text,
        "reason_drift_type": kw.get("reason", "test"),
        "money_moving": kw.get("money_moving", False),
        "requires_approval": requires_approval,
        "source_model": "test",
        "source_row": f"test:us:{target_id}",
        "detected_at": "2026-11-20 12:00:00",
    }


def write_plan(
    warehouse: Path,
    actions: list[dict[str, Any]],
    inventory_before: list[tuple[str, str, str, int]] = (),
    prices_before: list[tuple[str, str, str]] = (),
) -> None:
    """Replace the plan marts (repair_actions and the before-state marts) in ``warehouse``."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.repair_actions (action_id varchar, connection_id varchar, "
            "action_type varchar, target_platform varchar, target_id varchar, payload varchar, "
            "reason_drift_type varchar, money_moving boolean, requires_approval boolean, source_model varchar, "
            "source_row varchar, detected_at timestamp)"
        )
        con.execute(
            "create or replace table marts.fct_inventory_drift (connection_id varchar, tiktok_sku_id varchar, "
            "tiktok_warehouse_id varchar, tiktok_available bigint)"
        )
        con.execute(
            "create or replace table marts.dim_catalog_health (connection_id varchar, tiktok_sku_id varchar, "
            "tiktok_price decimal(18,2))"
        )
        cols = list(actions[0]) if actions else []
        for a in actions:
            con.execute(
                f"insert into marts.repair_actions ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})",
                [a[c] for c in cols],
            )
        for row in inventory_before:
            con.execute("insert into marts.fct_inventory_drift values (?, ?, ?, ?)", list(row))
        for row in prices_before:
            con.execute("insert into marts.dim_catalog_health values (?, ?, ?)", list(row))
    finally:
        con.close()
