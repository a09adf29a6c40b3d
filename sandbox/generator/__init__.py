"""Deterministic merchant generator: a seed and an ``as_of`` clock give the same merchant, byte for byte.

The merchant drifts in known ways; every injected drift is written to the truth file so that
detection can be scored exactly (precision and recall per drift type).
"""

from __future__ import annotations

from typing import Any

from sandbox.generator.catalog import build_catalog
from sandbox.generator.finance import build_finance
from sandbox.generator.inventory import build_inventory
from sandbox.generator.orders import build_orders, inject_order_drift, inject_refund_drift
from sandbox.generator.params import DriftRates, GeneratorParams
from sandbox.generator.render import (
    manifest_entry,
    render_finance,
    render_inventory_levels,
    render_locations,
    render_products,
    render_returns_and_cancellations,
    render_shopify_orders,
    render_tiktok_orders,
    render_tiktok_products,
    render_warehouses,
)
from sandbox.generator.world import ConnCtx
from sandbox.state import ConnectionState, MerchantState

__all__ = ["DriftRates", "GeneratorParams", "generate"]


def _truth_sort_key(row: dict[str, Any]) -> tuple[str, ...]:
    return (row["connection_id"], row["mart"], *sorted(f"{k}={v}" for k, v in row["key"].items()), row["drift_type"])


def generate(params: GeneratorParams | None = None) -> tuple[MerchantState, list[dict[str, Any]]]:
    params = params or GeneratorParams()
    connections = []
    truth: list[dict[str, Any]] = []
    for index, conn_id in enumerate(params.connections):
        ctx = ConnCtx(conn_id, params, index)
        build_catalog(ctx)
        build_orders(ctx)
        inject_order_drift(ctx)
        inject_refund_drift(ctx)
        build_finance(ctx)
        build_inventory(ctx)
        returns, cancellations = render_returns_and_cancellations(ctx)
        statements, transactions, payments = render_finance(ctx)
        conn = ConnectionState(id=conn_id, manifest=manifest_entry(ctx))
        conn.shopify = {
            "orders": render_shopify_orders(ctx),
            "products": render_products(ctx),
            "locations": render_locations(ctx),
            "inventory_levels": render_inventory_levels(ctx),
        }
        conn.tiktok_shop = {
            "orders": render_tiktok_orders(ctx),
            "products": render_tiktok_products(ctx),
            "warehouses": render_warehouses(ctx),
            "returns": returns,
            "cancellations": cancellations,
            "statements": statements,
            "statement_transactions": transactions,
            "payments": payments,
        }
        connections.append(conn)
        truth.extend(ctx.truth)
    truth.sort(key=_truth_sort_key)
    return MerchantState(as_of=params.as_of, connections=connections), truth
