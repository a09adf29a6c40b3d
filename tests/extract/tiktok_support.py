"""Shared helpers for the TikTok extraction tests: a sandbox merchant, runs, and warehouse readers.

Tests import these (no conftest: fixtures live in the test modules). The sandbox is only started
and inspected here, over HTTP and through its admin endpoints; the extraction code never imports it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx

from extract.common.http import CallStats, RetryPolicy
from extract.pipeline import LoadSummary, run_source
from extract.tiktok_shop import ExtractStats, TikTokClient, tiktok_shop_source
from sandbox.generator import GeneratorParams, generate
from sandbox.server import SandboxServer
from sandbox.state import MerchantState
from shoptok.connections import Connection, connection_from_entry

SMALL = GeneratorParams(
    tiktok_orders_per_connection=300, shopify_web_orders_per_connection=50, products_per_connection=30
)
DATASET = "raw_tiktok_shop"
#: a retry policy that keeps fault tests quick (the production default backs off from 0.25 s)
FAST = RetryPolicy(max_attempts=8, base_s=0.01, max_backoff_s=0.2, timeout_s=10)
COMMITTED_STATUSES = {"ON_HOLD", "AWAITING_SHIPMENT", "AWAITING_COLLECTION"}


def reference_sign(secret: str, path: str, params: Mapping[str, str], body: str = "") -> str:
    """The documented algorithm, step by step (platform-apis.md §1), independent of the client."""
    keys = sorted(k for k in params if k not in ("sign", "access_token"))
    text = path + "".join(f"{k}{params[k]}" for k in keys) + body
    return hmac.new(secret.encode(), f"{secret}{text}{secret}".encode(), hashlib.sha256).hexdigest()


def small_merchant() -> MerchantState:
    return generate(SMALL)[0]


@contextlib.contextmanager
def serving(state: MerchantState, *, qps_per_path: int = 50) -> Iterator[SandboxServer]:
    srv = SandboxServer(state).start()
    srv.ctx.config.tiktok.qps_per_path = qps_per_path
    try:
        yield srv
    finally:
        srv.stop()


def connections(srv: SandboxServer) -> dict[str, Connection]:
    out = {}
    for c in srv.ctx.state.connections:
        out[c.id] = connection_from_entry(
            c.manifest, tiktok_base_url=srv.tiktok_base, shopify_base_url=srv.shopify_base(c.shop_domain)
        )
    return out


@dataclass
class Run:
    summary: LoadSummary
    stats: ExtractStats
    calls: CallStats


def extract(
    srv: SandboxServer,
    root: Path,
    conn_ids: tuple[str, ...] | None = None,
    *,
    policy: RetryPolicy = FAST,
    qps: float = 1000.0,
    **source_kw: Any,
) -> dict[str, Run]:
    """Run the real pipeline for each connection into ``root/warehouse.duckdb``."""
    runs = {}
    for cid, conn in connections(srv).items():
        if conn_ids is not None and cid not in conn_ids:
            continue
        calls, stats = CallStats(), ExtractStats()
        with TikTokClient(conn.tiktok, policy=policy, stats=calls, qps=qps) as client:
            summary = run_source(
                tiktok_shop_source(conn, client=client, stats=stats, **source_kw),
                platform="tiktok_shop",
                connection_id=cid,
                warehouse=root / "warehouse.duckdb",
                pipelines_dir=root / "pipelines",
            )
        runs[cid] = Run(summary, stats, calls)
    return runs


def records(srv: SandboxServer, conn_id: str, entity: str) -> list[dict[str, Any]]:
    resp = httpx.get(f"{srv.base_url}/_sandbox/records/{conn_id}/tiktok_shop/{entity}", timeout=30)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line]


def tiktok_app(srv: SandboxServer) -> Any:
    """The emulator instance, whose ``invalidate()`` must follow direct edits of ``srv.ctx.state``."""
    for route in srv.app.app.routes:
        if getattr(route, "path", None) == "/tiktok":
            return route.app
    raise LookupError("no /tiktok mount")


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(args)).fetchall()


def tables(db: Path) -> list[str]:
    rows = query(db, "select table_name from information_schema.tables where table_schema = ?", DATASET)
    return sorted(r[0] for r in rows if not r[0].startswith("_dlt"))


def rows(db: Path, table: str, connection_id: str | None = None) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        sql = f'select * from {DATASET}."{table}"'
        cur = con.execute(sql + " where connection_id = ?", [connection_id]) if connection_id else con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def keys(db: Path, table: str, connection_id: str, *columns: str) -> list[tuple[Any, ...]]:
    cols = ", ".join(columns)
    return query(db, f'select {cols} from {DATASET}."{table}" where connection_id = ?', connection_id)


#: columns that differ between identical loads by design
VOLATILE = {"_dlt_load_id", "_dlt_id", "last_seen_at"}


def snapshot(db: Path) -> dict[str, list[str]]:
    """Per table, the sorted hashes of its rows (every column but dlt's ids): equal snapshots, equal data."""
    out = {}
    for table in tables(db):
        hashed = []
        for row in rows(db, table):
            payload = {k: v for k, v in row.items() if k not in VOLATILE}
            hashed.append(hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest())
        out[table] = sorted(hashed)
    return out


def expected_keys(srv: SandboxServer, conn_id: str) -> dict[str, set[Any]]:
    """The key set every raw table must hold for one connection, read from the sandbox's records."""
    orders = records(srv, conn_id, "orders")
    products = records(srv, conn_id, "products")
    returns = records(srv, conn_id, "returns")
    cancellations = records(srv, conn_id, "cancellations")
    sku_ids = {s["id"] for p in products for s in p["skus"]}
    return {
        "orders": {o["id"] for o in orders},
        "order_line_items": {li["id"] for o in orders for li in o["line_items"]},
        "products": {p["id"] for p in products},
        "product_skus": sku_ids,
        "inventory": set(expected_inventory(products, orders)),
        "returns": {r["return_id"] for r in returns},
        "return_line_items": {li["return_line_item_id"] for r in returns for li in r["return_line_items"]},
        "cancellations": {c["cancel_id"] for c in cancellations},
        "cancellation_line_items": {li["cancel_line_item_id"] for c in cancellations for li in c["cancel_line_items"]},
        "statements": {s["id"] for s in records(srv, conn_id, "statements")},
        "statement_transactions": {t["id"] for t in records(srv, conn_id, "statement_transactions")},
        "payments": {p["id"] for p in records(srv, conn_id, "payments")},
        "withdrawals": None,  # derived by the emulator: one per PAID payment (checked by count)
        "warehouses": {w["id"] for w in records(srv, conn_id, "warehouses")},
    }


def expected_inventory(
    products: list[dict[str, Any]], orders: list[dict[str, Any]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(sku_id, warehouse_id) -> (available, committed), by the rule docs/sandbox.md states.

    Available is the product record's quantity; committed counts the open units of unshipped
    orders (ON_HOLD, AWAITING_SHIPMENT, AWAITING_COLLECTION, and PARTIALLY_SHIPPING's unshipped
    lines) at the order's warehouse -- a warehouse holding only committed units is listed too.
    """
    out: dict[tuple[str, str], list[int]] = {}
    for p in products:
        for s in p["skus"]:
            for inv in s.get("inventory") or []:
                out[(s["id"], str(inv["warehouse_id"]))] = [int(inv["quantity"]), 0]
    sku_ids = {s["id"] for p in products for s in p["skus"]}
    for o in orders:
        for li in o["line_items"]:
            open_line = li["display_status"] != "CANCELLED" and li.get("package_status") != "CANCELLED"
            unshipped = li["display_status"] not in {"IN_TRANSIT", "DELIVERED", "COMPLETED"} and li.get(
                "package_status"
            ) not in {"FULFILLING", "COMPLETED"}
            held = o["status"] in COMMITTED_STATUSES or (o["status"] == "PARTIALLY_SHIPPING" and unshipped)
            if open_line and held and li["sku_id"] in sku_ids:
                out.setdefault((li["sku_id"], str(o["warehouse_id"])), [0, 0])[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


KEY_COLUMNS = {
    "inventory": ("sku_id", "warehouse_id"),
    "returns": ("return_id",),
    "return_line_items": ("return_line_item_id",),
    "cancellations": ("cancel_id",),
    "cancellation_line_items": ("cancel_line_item_id",),
}


def loaded_keys(db: Path, table: str, conn_id: str) -> list[Any]:
    cols = KEY_COLUMNS.get(table, ("id",))
    found = keys(db, table, conn_id, *cols)
    return [r if len(cols) > 1 else r[0] for r in found]


def dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
