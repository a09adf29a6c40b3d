"""Deterministic merchant generator: a seed and an ``as_of`` clock give the same merchant, byte for byte.

The merchant drifts in known ways; every injected drift is written to the truth file so that
detection can be scored exactly (precision and recall per drift type).
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import queue
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sandbox.generator.catalog import build_catalog
from sandbox.generator.finance import build_finance, render_payment, render_statement
from sandbox.generator.inventory import build_inventory
from sandbox.generator.orders import build_orders, inject_order_drift, inject_refund_drift
from sandbox.generator.params import DriftRates, GeneratorParams
from sandbox.generator.render import (
    iter_shopify_orders,
    iter_tiktok_orders,
    iter_transactions,
    manifest_entry,
    render_inventory_levels,
    render_locations,
    render_products,
    render_returns_and_cancellations,
    render_tiktok_products,
    render_warehouses,
)
from sandbox.generator.world import ConnCtx
from sandbox.state import SHOPIFY_ENTITIES, TIKTOK_ENTITIES, ConnectionState, MerchantState, iso, write_jsonl

__all__ = ["DriftRates", "GeneratorParams", "generate", "generate_to_dir"]

#: progress callback: (connection id, stage, records done in that stage, stage total)
Progress = Callable[[str, str, int, int], None]


def _truth_sort_key(row: dict[str, Any]) -> tuple[str, ...]:
    return (row["connection_id"], row["mart"], *sorted(f"{k}={v}" for k, v in row["key"].items()), row["drift_type"])


def _build_model(params: GeneratorParams, index: int, conn_id: str, progress: Progress | None = None) -> ConnCtx:
    ctx = ConnCtx(conn_id, params, index)
    if progress is not None:
        ctx.progress = lambda done, total: progress(conn_id, "model", done, total)
    build_catalog(ctx)
    build_orders(ctx)
    inject_order_drift(ctx)
    inject_refund_drift(ctx)
    build_finance(ctx)
    build_inventory(ctx)
    return ctx


def _render(ctx: ConnCtx) -> Iterator[tuple[str, str, Iterable[dict[str, Any]] | None]]:
    """(platform, entity, records) in the order the in-memory path renders them.

    The order matters: rendering takes ids (Shopify order numbers, line items, transactions) and
    rewrites orphan truth keys, so both paths must walk the same sequence.  ``None`` records
    stand for the manifest entry, which is taken at that point of the sequence.
    """
    returns, cancellations = render_returns_and_cancellations(ctx)
    yield "tiktok_shop", "returns", returns
    yield "tiktok_shop", "cancellations", cancellations
    yield "tiktok_shop", "statements", [render_statement(s) for s in ctx.statements]
    yield "tiktok_shop", "statement_transactions", iter_transactions(ctx)
    yield "tiktok_shop", "payments", [render_payment(p, ctx.currency) for p in ctx.payments]
    yield "", "manifest", None
    yield "shopify", "orders", iter_shopify_orders(ctx)
    yield "shopify", "products", render_products(ctx)
    yield "shopify", "locations", render_locations(ctx)
    yield "shopify", "inventory_levels", render_inventory_levels(ctx)
    yield "tiktok_shop", "orders", iter_tiktok_orders(ctx)
    yield "tiktok_shop", "products", render_tiktok_products(ctx)
    yield "tiktok_shop", "warehouses", render_warehouses(ctx)


def generate(params: GeneratorParams | None = None) -> tuple[MerchantState, list[dict[str, Any]]]:
    """The whole merchant in memory (tests, small merchants); ``generate_to_dir`` streams big ones."""
    params = params or GeneratorParams()
    connections = []
    truth: list[dict[str, Any]] = []
    for index, conn_id in enumerate(params.connections):
        ctx = _build_model(params, index, conn_id)
        conn = ConnectionState(id=conn_id, manifest={})
        for platform, entity, records in _render(ctx):
            if records is None:
                conn.manifest = manifest_entry(ctx)
            else:
                getattr(conn, platform)[entity] = list(records)
        conn.shopify = {e: conn.shopify[e] for e in SHOPIFY_ENTITIES}
        conn.tiktok_shop = {e: conn.tiktok_shop[e] for e in TIKTOK_ENTITIES}
        connections.append(conn)
        truth.extend(ctx.truth)
    truth.sort(key=_truth_sort_key)
    return MerchantState(as_of=params.as_of, connections=connections), truth


# --------------------------------------------------------------------------- streaming to a scenario directory

#: the big entities, whose progress is reported record by record
_STREAMED = {("shopify", "orders"), ("tiktok_shop", "orders"), ("tiktok_shop", "statement_transactions")}


def _stream_connection(
    params: GeneratorParams, index: int, conn_id: str, out_dir: Path, progress: Progress | None
) -> dict[str, Any]:
    """Build one connection's model, then render it record by record straight into its files.

    Only the model (a few KB per order) is held; rendered records (tens of KB with their nested
    children) are written and dropped one at a time.
    """
    gc.disable()  # millions of long-lived objects: generational collection only costs time here
    try:
        ctx = _build_model(params, index, conn_id, progress)
        manifest: dict[str, Any] = {}
        counts: dict[str, int] = {}
        totals = {
            ("tiktok_shop", "orders"): len(ctx.orders),
            ("tiktok_shop", "statement_transactions"): len(ctx.transactions),
            ("shopify", "orders"): sum(1 for o in ctx.orders if o.shopify) + len(ctx.shopify_orders),
        }
        for platform, entity, records in _render(ctx):
            if records is None:
                manifest = manifest_entry(ctx)
                continue
            if (platform, entity) in _STREAMED and progress is not None:
                records = _counted(records, conn_id, f"{platform}.{entity}", totals[(platform, entity)], progress)
            counts[f"{platform}.{entity}"] = write_jsonl(out_dir / conn_id / platform / f"{entity}.jsonl", records)
        return {"id": conn_id, "manifest": manifest, "truth": ctx.truth, "counts": counts}
    finally:
        gc.enable()


def _counted(records: Iterable[dict[str, Any]], conn_id: str, stage: str, total: int, progress: Progress):
    n = 0
    for rec in records:
        yield rec
        n += 1
        if n % 2000 == 0:
            progress(conn_id, stage, n, total)
    progress(conn_id, stage, n, total)


def _worker(args: tuple[Any, ...]) -> dict[str, Any]:
    params, index, conn_id, out_dir, q = args

    def progress(conn: str, stage: str, done: int, total: int) -> None:
        q.put((conn, stage, done, total))

    return _stream_connection(params, index, conn_id, out_dir, progress)


def generate_to_dir(
    params: GeneratorParams | None, out_dir: Path, progress: Progress | None = None, jobs: int = 1
) -> dict[str, Any]:
    """Generate straight into a scenario directory in bounded memory: one connection's model at a time.

    The directory is byte-identical to ``export_state(*generate(params))``.  With ``jobs`` > 1,
    connections are built in parallel processes (faster, but each holds its own model).
    Returns the per-connection record counts and the number of truth rows.
    """
    params = params or GeneratorParams()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = list(enumerate(params.connections))
    if jobs <= 1 or len(tasks) <= 1:
        results = [_stream_connection(params, i, c, out_dir, progress) for i, c in tasks]
    else:
        mp = multiprocessing.get_context("fork")
        with mp.Manager() as manager:
            q = manager.Queue()
            with mp.Pool(min(jobs, len(tasks))) as pool:
                pending = pool.map_async(_worker, [(params, i, c, out_dir, q) for i, c in tasks])
                while not pending.ready() or not q.empty():
                    try:
                        msg = q.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    if progress is not None:
                        progress(*msg)
                results = pending.get()
    manifest = {"as_of": iso(params.as_of), "connections": [r["manifest"] for r in results]}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    truth = sorted((row for r in results for row in r["truth"]), key=_truth_sort_key)
    write_jsonl(out_dir / "truth.jsonl", truth)
    return {"counts": {r["id"]: r["counts"] for r in results}, "truth_rows": len(truth)}
