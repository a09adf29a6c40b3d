"""The one ASGI app: Shopify under /shopify/{shop}, TikTok under /tiktok, admin under /_sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from sandbox.context import SandboxConfig, SandboxContext
from sandbox.faults import FaultMiddleware
from sandbox.mutate import mutate
from sandbox.recordstore import is_disk
from sandbox.shopify.app import build_shopify_app
from sandbox.state import SHOPIFY_ENTITIES, TIKTOK_ENTITIES, MerchantState, iso, parse_ts
from sandbox.tiktok_shop.app import build_tiktok_app


def _admin_routes(ctx: SandboxContext, records_changed: Callable[[str, list[dict[str, Any]]], None]) -> list[Route]:
    async def health(_: Request) -> Response:
        return JSONResponse({"ok": True, "as_of": iso(ctx.state.as_of), "now": iso(ctx.state.clock.now())})

    async def manifest(_: Request) -> Response:
        return JSONResponse(ctx.state.manifest())

    async def counters(request: Request) -> Response:
        if request.method == "POST" or request.method == "DELETE":
            ctx.counters.reset()
        return JSONResponse(ctx.counters.snapshot())

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            if "set" in body:
                ctx.state.clock.set(parse_ts(body["set"]))
            if "advance_seconds" in body:
                ctx.state.clock.advance(float(body["advance_seconds"]))
        return JSONResponse({"now": iso(ctx.state.clock.now())})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            for server, values in body.items():
                if server not in ctx.config.faults:
                    return JSONResponse({"error": f"unknown server {server!r}"}, status_code=400)
                try:
                    ctx.config.faults[server].update(values)
                except ValueError as exc:
                    return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({k: vars(v) for k, v in ctx.config.faults.items()})

    async def config(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            if body.get("unthrottled"):
                ctx.config.unthrottle()
            for section in ("shopify_throttle", "tiktok", "bulk"):
                for key, value in (body.get(section) or {}).items():
                    target = getattr(ctx.config, section)
                    if not hasattr(target, key):
                        return JSONResponse({"error": f"unknown setting {section}.{key}"}, status_code=400)
                    setattr(target, key, value)
        return JSONResponse(ctx.config.as_dict())

    async def counts(_: Request) -> Response:
        with ctx.state.lock:
            return JSONResponse(ctx.state.counts())

    async def records(request: Request) -> Response:
        """Every record of one entity as JSONL: what a complete extraction must land."""
        conn_id = request.path_params["connection"]
        platform = request.path_params["platform"]
        entity = request.path_params["entity"]
        allowed = SHOPIFY_ENTITIES if platform == "shopify" else TIKTOK_ENTITIES
        if platform not in ("shopify", "tiktok_shop") or entity not in allowed:
            return JSONResponse({"error": "unknown platform or entity"}, status_code=404)
        try:
            conn = ctx.state.connection(conn_id)
        except KeyError:
            return JSONResponse({"error": f"unknown connection {conn_id!r}"}, status_code=404)
        rows = getattr(conn, platform).get(entity, [])
        if is_disk(rows):  # a million records: stream them, a batch at a time
            return StreamingResponse(_stream_jsonl(rows), media_type="application/x-ndjson")
        with ctx.state.lock:
            body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
        return Response(body, media_type="application/x-ndjson")

    async def mutate_records(request: Request) -> Response:
        """Change a share of every connection's orders (``sandbox.mutate``): the incremental benchmark's day."""
        try:
            body = await request.json()
            fraction = float(body.get("fraction", 0.01))
            seed = int(body.get("seed", 0))
            advance = float(body.get("advance_seconds", 3600))
        except (ValueError, TypeError, AttributeError):
            return JSONResponse({"error": 'body must be {"fraction": 0.01, "seed": 1}'}, status_code=400)
        try:
            result = await run_in_threadpool(mutate, ctx.state, fraction, seed, records_changed, advance)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        for counts in result["connections"].values():
            ctx.counters.incr("sandbox.mutated_orders", counts["tiktok_orders_changed"])
        return JSONResponse(result)

    return [
        Route("/health", health),
        Route("/manifest", manifest),
        Route("/counters", counters, methods=["GET", "POST", "DELETE"]),
        Route("/clock", clock, methods=["GET", "POST"]),
        Route("/faults", faults, methods=["GET", "POST"]),
        Route("/config", config, methods=["GET", "POST"]),
        Route("/counts", counts),
        Route("/records/{connection}/{platform}/{entity}", records),
        Route("/mutate", mutate_records, methods=["POST"]),
    ]


def _stream_jsonl(rows: Any) -> Iterator[bytes]:
    batch: list[str] = []
    for rec in rows:
        batch.append(json.dumps(rec, sort_keys=True) + "\n")
        if len(batch) >= 1000:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


def create_app(state: MerchantState, config: SandboxConfig | None = None) -> Any:
    ctx = SandboxContext(state=state, config=config or SandboxConfig())
    shopify_app = build_shopify_app(ctx)
    tiktok_app = build_tiktok_app(ctx)

    def records_changed(connection_id: str, shopify_orders: list[dict[str, Any]]) -> None:
        """After an admin edit of records: drop the emulators' cached views and index new children."""
        tiktok_app.invalidate()
        store = shopify_app.state.emulator.store(state.connection(connection_id))
        for order in shopify_orders:
            store.reindex_order(order)
        store.invalidate("orders")

    app = Starlette(
        routes=[
            Mount("/shopify/{shop}", app=shopify_app),
            Mount("/tiktok", app=tiktok_app),
            Mount("/_sandbox", routes=_admin_routes(ctx, records_changed)),
        ]
    )
    wrapped = FaultMiddleware(app, ctx)
    wrapped.ctx = ctx  # type: ignore[attr-defined]
    return wrapped
