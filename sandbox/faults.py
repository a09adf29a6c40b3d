"""Seeded fault injection as ASGI middleware, one FaultConfig per emulator (by URL prefix).

Per request, in this order (``FaultConfig`` documents each knob):

1. latency: sleep ``latency_ms`` before anything else;
2. 429 / 500 / 503, answered before the emulator sees the request (nothing changes); with
   ``burst > 1`` the next ``burst - 1`` requests to the same emulator get the same status, a
   storm or outage rather than a lone failure;
3. replay: a request for a later page of a listing gets the previous page of that listing again,
   next-page token included (what a load balancer's stale cache or a retried gateway does);
4. the emulator answers; a page of a listing then may have its records shuffled or records of
   the previous page (or of itself) repeated in it;
5. ``cut`` / ``truncate`` damage the body of a request that *was* processed.

Clock skew is the emulator's setting (``/_sandbox/config`` ``tiktok.clock_skew_s``: TikTok checks
each request's signed ``timestamp`` against its own, skewed, clock); the middleware stamps each
TikTok response's ``Date`` header with that clock, as a real gateway's clock would show, and
counts the requests the skew makes the gateway reject (``tiktok.faults.clock_skew``).

Every injected fault increments ``<server>.faults.<kind>`` in ``/_sandbox/counters``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

from sandbox.context import FaultConfig, SandboxContext

Scope = dict[str, Any]

#: TikTok's accepted window around its clock for a request's ``timestamp`` (platform-apis.md §1)
TIMESTAMP_PAST_S = 300
TIMESTAMP_FUTURE_S = 30
#: listings remembered for replays and repeated records (oldest forgotten first)
_MAX_STREAMS = 512
#: query parameters that change from page to page (or per attempt) of one TikTok listing
_PER_PAGE_PARAMS = {"page_token", "timestamp", "sign"}


def _server_for(path: str) -> str | None:
    if path.startswith("/shopify/"):
        return "shopify"
    if path.startswith("/tiktok/"):
        return "tiktok"
    return None


def page_items(payload: Any) -> list[Any] | None:
    """The record list of one page of a listing, or None when the payload is not a page.

    TikTok: ``data`` carries ``next_page_token`` and one list of records. Shopify GraphQL: a root
    field (or a field of ``node``) that is a connection, ``{nodes: [...], pageInfo}``.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return None
    data = payload["data"]
    if "code" in payload:
        if "next_page_token" not in data:
            return None
        for value in data.values():
            if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                return value
        return None
    holders = [data, *(v for v in data.values() if isinstance(v, dict))]
    for holder in holders:
        for value in holder.values():
            if isinstance(value, dict) and isinstance(value.get("nodes"), list) and "pageInfo" in value:
                return value["nodes"]
    return None


def _stream(server: str, scope: Scope, body: bytes) -> tuple[str | None, str]:
    """(the listing this request pages through, its page token or cursor; "" = first page)."""
    if server == "tiktok":
        query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode()) if k not in _PER_PAGE_PARAMS]
        token = dict(parse_qsl(scope.get("query_string", b"").decode())).get("page_token", "")
        return f"{scope['path']}?{sorted(query)}#{body.decode(errors='replace')}", token
    try:
        request = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, ""
    if not isinstance(request, dict):
        return None, ""
    variables = dict(request.get("variables") or {})
    token = variables.pop("after", None) or ""
    return f"{scope['path']}#{request.get('query')}#{sorted(variables.items())}", str(token)


class FaultMiddleware:
    def __init__(self, app: Any, ctx: SandboxContext) -> None:
        self.app = app
        self.ctx = ctx
        self._rngs: dict[str, tuple[int, random.Random]] = {}
        #: server -> [status, requests still to fail]
        self._bursts: dict[str, list[int]] = {}
        #: (server, listing) -> (token of the request served, response headers, response body)
        self._pages: dict[tuple[str, str], tuple[str, list[Any], bytes]] = {}

    def _rng(self, server: str, cfg: FaultConfig) -> random.Random:
        seed, rng = self._rngs.get(server, (None, None))  # type: ignore[assignment]
        if rng is None or seed != cfg.seed:
            rng = random.Random(f"{server}:{cfg.seed}")
            self._rngs[server] = (cfg.seed, rng)
            self._bursts.pop(server, None)
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
        skew = float(self.ctx.config.tiktok.clock_skew_s) if server == "tiktok" else 0.0
        if skew:
            self._count_skew(scope, skew)
        if not cfg.any() and not skew:
            await self._count_status(server, scope, receive, send)
            return
        rng = self._rng(server, cfg)
        draw = rng.random()
        if cfg.p_latency and rng.random() < cfg.p_latency:
            counters.incr(f"{server}.faults.latency")
            await asyncio.sleep(cfg.latency_ms / 1000.0)
        status = self._error_status(server, cfg, draw)
        if status is not None:
            counters.incr(f"{server}.faults.{status}")
            counters.incr(f"{server}.errors" if status >= 500 else f"{server}.throttled")
            await self._error(server, status, cfg, send)
            return
        edge = cfg.p_429 + cfg.p_500 + cfg.p_503
        mode = None
        if draw < edge + cfg.p_cut:
            mode = "cut"
        elif draw < edge + cfg.p_cut + cfg.p_truncate:
            mode = "truncate"
        pages = cfg.p_replay or cfg.p_shuffle or cfg.p_dup_records
        if mode is None and not pages and not skew:
            await self._count_status(server, scope, receive, send)
            return
        request_body, receive = await _buffered(receive)
        stream, token = _stream(server, scope, request_body) if pages else (None, "")
        key = (server, stream) if stream else None
        if key and token and cfg.p_replay and key in self._pages and rng.random() < cfg.p_replay:
            served_token, headers, body = self._pages[key]
            if served_token != token:
                counters.incr(f"{server}.faults.replay")
                await _send(send, 200, headers, body)
                return
        start, body = await self._capture(server, scope, receive)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"date")]
        if skew:
            headers.append((b"date", formatdate(time.time() + skew, usegmt=True).encode()))
        status = start.get("status", 200)
        if key and status == 200:
            body = self._rewrite_page(server, key, token, headers, body, cfg, rng)
        if mode is not None:
            counters.incr(f"{server}.faults.{mode}")
            await _damaged(mode, status, headers, body, send)
            return
        await _send(send, status, headers, body)

    # -- error statuses ------------------------------------------------------------------

    def _error_status(self, server: str, cfg: FaultConfig, draw: float) -> int | None:
        ongoing = self._bursts.get(server)
        if ongoing and ongoing[1] > 0:
            ongoing[1] -= 1
            return ongoing[0]
        edge = 0.0
        for status, p in ((429, cfg.p_429), (500, cfg.p_500), (503, cfg.p_503)):
            edge += p
            if draw < edge:
                self._bursts[server] = [status, max(0, int(cfg.burst) - 1)]
                return status
        return None

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
        headers = [(b"content-type", b"application/json"), (b"x-request-id", request_id.encode())]
        if status == 429:
            headers.append((b"retry-after", str(cfg.retry_after_s).encode()))
        await _send(send, status, headers, raw)

    # -- clock skew ------------------------------------------------------------------------

    def _count_skew(self, scope: Scope, skew: float) -> None:
        """Count a request the skewed gateway clock rejects (the emulator itself does the rejecting)."""
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        try:
            ts = int(query.get("timestamp", ""))
        except ValueError:
            return
        now = time.time() + skew
        if not now - TIMESTAMP_PAST_S <= ts <= now + TIMESTAMP_FUTURE_S:
            self.ctx.counters.incr("tiktok.faults.clock_skew")

    # -- pages -----------------------------------------------------------------------------

    def _rewrite_page(
        self,
        server: str,
        key: tuple[str, str],
        token: str,
        headers: list[Any],
        body: bytes,
        cfg: FaultConfig,
        rng: random.Random,
    ) -> bytes:
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return body
        items = page_items(payload)
        if items is None:
            return body
        previous = self._pages.get(key)
        self._pages[key] = (token, headers, body)
        while len(self._pages) > _MAX_STREAMS:
            self._pages.pop(next(iter(self._pages)))
        changed = False
        if cfg.p_dup_records and items and rng.random() < cfg.p_dup_records:
            donors = items
            if previous is not None and previous[0] != token:
                donors = page_items(json.loads(previous[2])) or items
            for record in rng.sample(donors, min(2, len(donors))):
                items.insert(rng.randrange(len(items) + 1), record)
            self.ctx.counters.incr(f"{server}.faults.dup_records")
            changed = True
        if cfg.p_shuffle and len(items) > 1 and rng.random() < cfg.p_shuffle:
            rng.shuffle(items)
            self.ctx.counters.incr(f"{server}.faults.shuffle")
            changed = True
        return json.dumps(payload, separators=(",", ":")).encode() if changed else body

    # -- plumbing --------------------------------------------------------------------------

    async def _capture(self, server: str, scope: Scope, receive: Any) -> tuple[dict[str, Any], bytes]:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                if message["status"] == 429:
                    self.ctx.counters.incr(f"{server}.throttled")
                elif message["status"] >= 500:
                    self.ctx.counters.incr(f"{server}.errors")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        return start, b"".join(chunks)

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


async def _buffered(receive: Any) -> tuple[bytes, Any]:
    """Read the whole request body; a ``receive`` that hands it to the app again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    delivered = False

    async def replay() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _send(send: Any, status: int, headers: list[Any], body: bytes) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _damaged(mode: str, status: int, headers: list[Any], body: bytes, send: Any) -> None:
    half = body[: max(1, len(body) // 2)]
    if mode == "truncate":
        await _send(send, status, headers, half)
        return
    # cut: promise the whole body, deliver half, then drop the connection
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": half, "more_body": True})
    raise ConnectionAbortedError("sandbox fault injection: connection cut mid-body")
