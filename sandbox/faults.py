"""Seeded fault injection as ASGI middleware, one FaultConfig per emulator (by URL prefix)."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from typing import Any

from sandbox.context import FaultConfig, SandboxContext

Scope = dict[str, Any]


def _server_for(path: str) -> str | None:
    if path.startswith("/shopify/"):
        return "shopify"
    if path.startswith("/tiktok/"):
        return "tiktok"
    return None


class FaultMiddleware:
    def __init__(self, app: Any, ctx: SandboxContext) -> None:
        self.app = app
        self.ctx = ctx
        self._rngs: dict[str, tuple[int, random.Random]] = {}

    def _rng(self, server: str, cfg: FaultConfig) -> random.Random:
        seed, rng = self._rngs.get(server, (None, None))  # type: ignore[assignment]
        if rng is None or seed != cfg.seed:
            rng = random.Random(f"{server}:{cfg.seed}")
            self._rngs[server] = (cfg.seed, rng)
        return rng

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server = _server_for(scope["path"])
        if server is None:
            await self.app(scope, receive, send)
            return
        counters = self.ctx.counters
        counters.incr(f"{server}.requests")
        cfg = self.ctx.config.faults[server]
        if not cfg.any():
            await self._count_status(server, scope, receive, send)
            return
        rng = self._rng(server, cfg)
        draw = rng.random()
        if cfg.p_latency and rng.random() < cfg.p_latency:
            counters.incr(f"{server}.faults.latency")
            await asyncio.sleep(cfg.latency_ms / 1000.0)
        edge = 0.0
        for status, p in ((429, cfg.p_429), (500, cfg.p_500), (503, cfg.p_503)):
            edge += p
            if draw < edge:
                counters.incr(f"{server}.faults.{status}")
                counters.incr(f"{server}.errors" if status >= 500 else f"{server}.throttled")
                await self._error(server, status, cfg, send)
                return
        mode = None
        edge2 = edge + cfg.p_cut
        if draw < edge2:
            mode = "cut"
        elif draw < edge2 + cfg.p_truncate:
            mode = "truncate"
        if mode is None:
            await self._count_status(server, scope, receive, send)
            return
        counters.incr(f"{server}.faults.{mode}")
        await self._damaged(mode, scope, receive, send)

    async def _count_status(self, server: str, scope: Scope, receive: Any, send: Any) -> None:
        async def counting_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 429:
                    self.ctx.counters.incr(f"{server}.throttled")
                elif status >= 500:
                    self.ctx.counters.incr(f"{server}.errors")
            await send(message)

        await self.app(scope, receive, counting_send)

    async def _error(self, server: str, status: int, cfg: FaultConfig, send: Any) -> None:
        request_id = uuid.uuid4().hex
        if server == "tiktok":
            code = {429: 36009002, 500: 36009007, 503: 36009007}[status]
            msg = "Too many requests" if status == 429 else "Service unavailable, please retry"
            body = {"code": code, "message": msg, "request_id": request_id, "data": None}
        else:
            msg = "Exceeded 2 calls per second for api client." if status == 429 else "Internal Server Error"
            body = {"errors": msg}
        raw = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
        headers.append((b"x-request-id", request_id.encode()))
        if status == 429:
            headers.append((b"retry-after", str(cfg.retry_after_s).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})

    async def _damaged(self, mode: str, scope: Scope, receive: Any, send: Any) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        half = body[: max(1, len(body) // 2)]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        if mode == "truncate":
            headers.append((b"content-length", str(len(half)).encode()))
            await send({"type": "http.response.start", "status": start.get("status", 200), "headers": headers})
            await send({"type": "http.response.body", "body": half})
            return
        # cut: promise the whole body, deliver half, then drop the connection
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200), "headers": headers})
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise ConnectionAbortedError("sandbox fault injection: connection cut mid-body")
