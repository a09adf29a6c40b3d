"""Shared helpers for the Shopify extraction tests: a sandbox merchant, runs, warehouse readers, an oracle.

Tests import these (no conftest: fixtures live in the test modules). The sandbox is started and
inspected only here and in tests, over HTTP and its admin endpoints; ``extract`` never imports it.
``expected_keys`` flattens the sandbox's own records independently of ``extract.shopify.rows``,
so a completeness test compares the warehouse with the source, not the code with itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

from extract.common.http import CallStats, RetryPolicy
from extract.pipeline import LoadSummary, run_source
from extract.shopify import ShopifyClient, shopify_source
from extract.shopify.settings import BulkPolling
from sandbox.generator import GeneratorParams, generate
from sandbox.server import SandboxServer
from sandbox.state import MerchantState
from shoptok.connections import Connection, connection_from_entry

SMALL = GeneratorParams(
    tiktok_orders_per_connection=300, shopify_web_orders_per_connection=100, products_per_connection=30
)
DATASET = "raw_shopify"
#: keeps fault tests quick (production backs off from 0.25 s); 429 Retry-After still applies
FAST = RetryPolicy(max_attempts=10, base_s=0.01, max_backoff_s=0.2, timeout_s=10)
FAST_POLL = BulkPolling(initial_s=0.02, factor=1.5, max_s=0.2, timeout_s=60)
#: a bucket no test drains: tests about data should not wait on the 100 points/s refill
GENEROUS_BUCKET = {"maximum_available": 2000, "restore_rate": 1_000_000}


def sentinel(cid: str) -> str:
    return f"shpat_SENTINEL_{cid}_7f3e9c1d5a"


def small_merchant(*, sentinel_tokens: bool = True) -> MerchantState:
    state = generate(SMALL)[0]
    if sentinel_tokens:
        for conn in state.connections:
            conn.manifest["shopify"]["access_token"] = sentinel(conn.id)
    return state


@contextlib.contextmanager
def serving(state: MerchantState) -> Iterator[Sandbox]:
    srv = SandboxServer(state).start()
    sandbox = Sandbox(srv)
    sandbox.config(shopify_throttle=GENEROUS_BUCKET)
    try:
        yield sandbox
    finally:
        srv.stop()


@dataclass
class Sandbox:
    srv: SandboxServer
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    @property
    def admin(self) -> str:
        return f"{self.srv.base_url}/_sandbox"

    def connection(self, cid: str) -> Connection:
        entry = self.srv.ctx.state.connection(cid).manifest
        domain = entry["shopify"]["shop_domain"]
        return connection_from_entry(entry, shopify_base_url=self.srv.shopify_base(domain))

    def client(self, cid: str, **kw: Any) -> ShopifyClient:
        kw.setdefault("policy", FAST)
        kw.setdefault("stats", CallStats())
        kw.setdefault("bulk_polling", FAST_POLL)
        return ShopifyClient(self.connection(cid).shopify, **kw)

    def config(self, **sections: Any) -> dict[str, Any]:
        return self.http.post(f"{self.admin}/config", json=sections).raise_for_status().json()

    def faults(self, **knobs: Any) -> None:
        self.http.post(f"{self.admin}/faults", json={"shopify": knobs}).raise_for_status()

    def counters(self) -> dict[str, int]:
        return self.http.get(f"{self.admin}/counters").raise_for_status().json()

    def reset_counters(self) -> None:
        self.http.delete(f"{self.admin}/counters").raise_for_status()

    def advance_clock(self, seconds: float) -> str:
        return self.http.post(f"{self.admin}/clock", json={"advance_seconds": seconds}).raise_for_status().json()["now"]

    def records(self, cid: str, entity: str) -> list[dict[str, Any]]:
        resp = self.http.get(f"{self.admin}/records/{cid}/shopify/{entity}").raise_for_status()
        return [json.loads(line) for line in resp.text.splitlines() if line.strip()]

    def store(self, cid: str) -> Any:
        """The emulator's index for one shop (to invalidate views after editing state directly)."""
        for route in self.srv.app.app.routes:
            if getattr(route, "path", "") == "/shopify/{shop}":
                return route.app.state.emulator.store(self.srv.ctx.state.connection(cid))
        raise AssertionError("shopify mount not found")


@dataclass
class Run:
    summary: LoadSummary
    client: ShopifyClient


def extract(sandbox: Sandbox, root: Path, cid: str, **kw: Any) -> Run:
    """One dlt run of the Shopify source for one connection into ``root``'s warehouse."""
    client = kw.pop("client", None) or sandbox.client(cid)
    resources = kw.pop("resources", None)
    source = shopify_source(sandbox.connection(cid), client=client, **kw)
    if resources:
        source = source.with_resources(*resources)
    summary = run_source(
        source,
        platform="shopify",
        connection_id=cid,
        warehouse=root / "warehouse.duckdb",
        pipelines_dir=root / "pipelines",
    )
    return Run(summary, client)


# --------------------------------------------------------------------------- warehouse readers


def tables(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_name not like '_dlt%' order by 1",
            [DATASET],
        ).fetchall()
    return [r[0] for r in rows]


def columns(db: Path, table: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [DATASET, table],
        ).fetchall()
    return [r[0] for r in rows if not r[0].startswith("_dlt")]


def snapshot(db: Path, *, skip: tuple[str, ...] = ("last_seen_at",)) -> dict[str, list[tuple[Any, ...]]]:
    """Every raw table's rows (sorted, without dlt's bookkeeping columns) for equality checks."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for table in tables(db):
            cols = [c for c in columns(db, table) if c not in skip]
            sql = f"select {', '.join(cols)} from {DATASET}.{table} order by all"  # noqa: S608
            out[table] = con.execute(sql).fetchall()
    return out


def query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def keys(db: Path, table: str, key: tuple[str, ...], cid: str) -> set[tuple[Any, ...]]:
    sql = f"select {', '.join(key)} from {DATASET}.{table} where connection_id = ?"  # noqa: S608
    return set(query(db, sql, [cid]))


# --------------------------------------------------------------------------- oracle


def _num(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


def expected_keys(sandbox: Sandbox, cid: str, skip: frozenset[str] = frozenset()) -> dict[str, set[tuple[Any, ...]]]:
    """Key sets every raw table must hold for ``cid``, flattened straight from the sandbox records.

    ``skip``: ids of top-level records expected in quarantine instead (none of their rows load).

    Refund line items without a stored id get the id the emulator serves for them (the line
    item's number under the RefundLineItem type), which is why their key includes the refund.
    """
    out: dict[str, set[tuple[Any, ...]]] = {}

    def add(table: str, *key: Any) -> None:
        out.setdefault(table, set()).add((cid, *key))

    for order in sandbox.records(cid, "orders"):
        if order["id"] in skip:
            continue
        add("orders", order["id"])
        for li in order["lineItems"]["nodes"]:
            add("order_line_items", li["id"])
        for refund in order.get("refunds") or []:
            add("order_refunds", refund["id"])
            for rli in (refund.get("refundLineItems") or {}).get("nodes", []):
                rli_id = rli.get("id") or f"gid://shopify/RefundLineItem/{_num(rli['lineItem']['id'])}"
                add("order_refund_line_items", refund["id"], rli_id)
            for line in (refund.get("refundShippingLines") or {}).get("nodes", []):
                add("order_refund_shipping_lines", line["id"])
            for tx in (refund.get("transactions") or {}).get("nodes", []):
                add("order_refund_transactions", tx["id"])
        for tx in order.get("transactions") or []:
            add("order_transactions", tx["id"])
        for ful in order.get("fulfillments") or []:
            for position in range(max(1, len(ful.get("trackingInfo") or []))):
                add("order_fulfillments", ful["id"], position)
        for fo in order["fulfillmentOrders"]["nodes"]:
            add("order_fulfillment_orders", fo["id"])
            for foli in fo["lineItems"]["nodes"]:
                add("order_fulfillment_order_line_items", foli["id"])
    for product in sandbox.records(cid, "products"):
        if product["id"] in skip:
            continue
        add("products", product["id"])
        for variant in product["variants"]["nodes"]:
            add("product_variants", variant["id"])
    for location in sandbox.records(cid, "locations"):
        add("locations", location["id"])
    for level in sandbox.records(cid, "inventory_levels"):
        if level["id"] not in skip:
            add("inventory_levels", level["id"])
    return out


KEYS = {
    "orders": ("connection_id", "id"),
    "order_line_items": ("connection_id", "id"),
    "order_refunds": ("connection_id", "id"),
    "order_refund_line_items": ("connection_id", "refund_id", "id"),
    "order_refund_shipping_lines": ("connection_id", "id"),
    "order_refund_transactions": ("connection_id", "id"),
    "order_transactions": ("connection_id", "id"),
    "order_fulfillments": ("connection_id", "id", "tracking_position"),
    "order_fulfillment_orders": ("connection_id", "id"),
    "order_fulfillment_order_line_items": ("connection_id", "id"),
    "products": ("connection_id", "id"),
    "product_variants": ("connection_id", "id"),
    "locations": ("connection_id", "id"),
    "inventory_levels": ("connection_id", "id"),
}


class Capture(logging.Handler):
    """Collects every log record of a module's runs (caplog is per test; runs happen in fixtures)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def capturing_logs() -> Iterator[Capture]:
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
