"""The TikTok Shop Open API (202309) emulator: an ASGI app mounted at ``/tiktok``.

Every call goes through the gateway checks below, in this order, and answers with the envelope
``{code, message, request_id, data}`` (HTTP 200 unless noted; ``x-tt-logid`` repeats the
request id):

1. routing: unknown path -> 36009009 (HTTP 404); known path, wrong method -> 36009010 (HTTP 405)
2. ``app_key`` must be a manifest app_key -> else 36009004
3. ``timestamp`` within [now - 300 s, now + 30 s], now = wall clock + ``tiktok.clock_skew_s``
   -> else 36009004
4. ``sign`` present -> else 36009004; equal to the documented HMAC-SHA256 -> else 106001
5. access token (header ``x-tts-access-token``; the legacy ``access_token`` query parameter is
   also read): listed in ``tiktok.expired_tokens`` -> 105002; missing or not the token of any
   shop of this app -> 36009004
6. ``shop_cipher`` (every path except ``/authorization/202309/shops``): missing -> 106013; the
   cipher of another shop of this app that the token is not for -> 101000; any other unknown
   cipher -> 36009004
7. QPS: per (app_key, shop, API) in a sliding one-second window of ``tiktok.qps_per_path``
   requests -> HTTP 429, code 36009002, ``Retry-After`` (the fault middleware counts
   ``tiktok.throttled`` for every 429)

Each routed call (whatever its outcome) counts ``tiktok.calls.<api>``, where ``<api>`` is the
route template without its leading slash, e.g. ``tiktok.calls.product/202309/products/{product_id}``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sandbox.context import SandboxContext
from sandbox.state import ConnectionState
from sandbox.tiktok_shop import (
    api_aftersales,
    api_finance,
    api_logistics,
    api_orders,
    api_products,
    api_shops,
)
from sandbox.tiktok_shop.call import Call
from sandbox.tiktok_shop.errors import (
    INTERNAL_ERROR,
    INVALID_METHOD,
    INVALID_PATH,
    INVALID_REQUEST,
    INVALID_SIGN,
    MISSING_SHOP_CIPHER,
    OK,
    SHOP_MISMATCH,
    TOKEN_EXPIRED,
    TOO_MANY_REQUESTS,
    ApiError,
)
from sandbox.tiktok_shop.index import ShopIndex
from sandbox.tiktok_shop.signing import sign_matches

log = logging.getLogger(__name__)

TIMESTAMP_PAST_S = 300
TIMESTAMP_FUTURE_S = 30

Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    shop_scoped: bool = True

    @property
    def name(self) -> str:
        return self.template.lstrip("/")

    @property
    def literal(self) -> bool:
        return "{" not in self.template

    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        return re.compile(f"^{regex}$")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/authorization/202309/shops", api_shops.shops, shop_scoped=False),
    Route("POST", "/order/202309/orders/search", api_orders.search),
    Route("GET", "/order/202309/orders", api_orders.detail),
    Route("POST", "/product/202309/products/search", api_products.search),
    Route("GET", "/product/202309/products/{product_id}", api_products.detail),
    Route("POST", "/product/202309/inventory/search", api_products.inventory_search),
    Route("POST", "/product/202309/products/{product_id}/inventory/update", api_products.inventory_update),
    Route("POST", "/product/202309/products/{product_id}/prices/update", api_products.price_update),
    Route("GET", "/logistics/202309/warehouses", api_logistics.warehouses),
    Route(
        "GET",
        "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers",
        api_logistics.shipping_providers,
    ),
    Route("POST", "/fulfillment/202309/orders/{order_id}/packages", api_orders.ship_package),
    Route("POST", "/fulfillment/202309/orders/{order_id}/shipping_info/update", api_orders.update_shipping_info),
    Route("POST", "/return_refund/202309/returns/search", api_aftersales.returns_search),
    Route("POST", "/return_refund/202309/cancellations/search", api_aftersales.cancellations_search),
    Route("POST", "/return_refund/202309/cancellations", api_aftersales.seller_cancel),
    Route("GET", "/finance/202309/statements", api_finance.statements),
    Route(
        "GET",
        "/finance/202309/statements/{statement_id}/statement_transactions",
        api_finance.statement_transactions,
    ),
    Route("GET", "/finance/202309/payments", api_finance.payments),
    Route("GET", "/finance/202309/withdrawals", api_finance.withdrawals),
)


def new_request_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + uuid.uuid4().hex[:18].upper()


def api_path(scope: dict[str, Any]) -> str:
    """The API path the signature covers: the request path without the mount prefix.

    Starlette's ``Mount`` keeps the full path in ``scope["path"]`` and puts the prefix in
    ``root_path`` (older releases stripped ``path`` instead); handle both.
    """
    path = scope.get("path") or "/"
    root = scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root) :]
    return path or "/"


class TikTokApp:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        # literal templates win over parameterised ones (products/search vs products/{id})
        ordered = sorted(ROUTES, key=lambda r: not r.literal)
        self._routes = [(r, r.pattern()) for r in ordered]
        self._indexes: dict[str, ShopIndex] = {}
        self._windows: dict[tuple[str, str, str], deque[float]] = {}
        self._qps_lock = threading.Lock()

    # -- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        request_id = new_request_id()
        headers: dict[str, str] = {}
        status = 200
        try:
            blob = self.handle(scope, body, request_id)
        except ApiError as exc:
            status, headers = exc.http_status, exc.headers
            blob = _envelope(exc.code, exc.message, request_id, exc.data)
        except Exception as exc:  # a sandbox bug: say so loudly rather than look like a platform fault
            log.exception("tiktok emulator failed on %s %s", scope.get("method"), scope.get("path"))
            status = 500
            message = f"Internal error (sandbox bug): {type(exc).__name__}: {exc}"
            blob = _envelope(INTERNAL_ERROR, message, request_id, None)
        out_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(blob)).encode()),
            (b"x-tt-logid", request_id.encode()),
        ]
        out_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": blob})

    # -- request handling -------------------------------------------------------------------

    def handle(self, scope: dict[str, Any], body: bytes, request_id: str) -> bytes:
        """Run the gateway checks and the handler; the serialized success envelope."""
        method = scope["method"].upper()
        path = api_path(scope)
        route, path_params = self._route(method, path)
        self.ctx.counters.incr(f"tiktok.calls.{route.name}")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        req_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        conn, shops = self._authenticate(route, path, query, req_headers, body)
        self._throttle(query["app_key"], conn.tiktok["shop_cipher"] if conn else f"token:{shops[0].id}", route)
        with self.ctx.state.lock:
            index = self._index(conn) if conn is not None else None
            call = Call(
                ctx=self.ctx,
                conn=conn,
                shops=shops,
                index=index,
                query=query,
                path_params=path_params,
                raw_body=body,
            )
            data = route.handler(call)
            # serialise under the lock: the records are live state a concurrent write may edit
            return _envelope(OK, "Success", request_id, data)

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        path_known = False
        for route, pattern in self._routes:
            m = pattern.match(path)
            if m is None:
                continue
            path_known = True
            if route.method == method:
                return route, m.groupdict()
        if path_known:
            raise ApiError(INVALID_METHOD, f"Invalid method: {method} is not allowed on {path}", http_status=405)
        raise ApiError(INVALID_PATH, f"Invalid path: {path}", http_status=404)

    def _authenticate(
        self, route: Route, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[ConnectionState | None, list[ConnectionState]]:
        cfg = self.ctx.config.tiktok
        app_key = query.get("app_key", "")
        candidates = [c for c in self.ctx.state.connections if app_key and c.tiktok["app_key"] == app_key]
        if not candidates:
            raise ApiError(INVALID_REQUEST, "Invalid app_key: the app key is missing or unknown")
        try:
            ts = int(query.get("timestamp", ""))
        except ValueError:
            raise ApiError(INVALID_REQUEST, "Invalid timestamp: missing or not Unix seconds") from None
        now = time.time() + float(cfg.clock_skew_s)
        if not now - TIMESTAMP_PAST_S <= ts <= now + TIMESTAMP_FUTURE_S:
            raise ApiError(
                INVALID_REQUEST,
                f"Invalid timestamp: {ts} is outside the accepted window "
                f"[{int(now) - TIMESTAMP_PAST_S}, {int(now) + TIMESTAMP_FUTURE_S}]",
            )
        given = query.get("sign", "")
        if not given:
            raise ApiError(INVALID_REQUEST, "Missing sign: the sign query parameter is required")
        ctype = headers.get("content-type", "")
        secrets = {c.tiktok["app_secret"] for c in candidates}
        if not any(sign_matches(s, given, path, query, body, ctype) for s in secrets):
            raise ApiError(INVALID_SIGN, "Invalid sign")
        token = headers.get("x-tts-access-token") or query.get("access_token", "")
        if token and token in (cfg.expired_tokens or []):
            raise ApiError(TOKEN_EXPIRED, "Access token is expired, please refresh it")
        shops = [c for c in candidates if token and c.tiktok["access_token"] == token]
        if not shops:
            raise ApiError(INVALID_REQUEST, "Invalid access token: x-tts-access-token is missing or unknown")
        if not route.shop_scoped:
            return None, shops
        cipher = query.get("shop_cipher", "")
        if not cipher:
            raise ApiError(MISSING_SHOP_CIPHER, "shop_cipher is required for this API")
        for conn in shops:
            if conn.tiktok["shop_cipher"] == cipher:
                return conn, shops
        if any(c.tiktok["shop_cipher"] == cipher for c in candidates):
            raise ApiError(SHOP_MISMATCH, "The access token is not authorized for this shop")
        raise ApiError(INVALID_REQUEST, "Unexpected shop_cipher: no shop of this app has this cipher")

    def _throttle(self, app_key: str, shop: str, route: Route) -> None:
        limit = int(self.ctx.config.tiktok.qps_per_path)
        now = time.monotonic()
        with self._qps_lock:
            window = self._windows.setdefault((app_key, shop, route.name), deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if limit > 0 and len(window) >= limit:
                retry_after = max(1, math.ceil(window[0] + 1.0 - now))
                raise ApiError(
                    TOO_MANY_REQUESTS,
                    f"Too many requests: more than {limit} per second on {route.name}",
                    http_status=429,
                    headers={"Retry-After": str(retry_after)},
                )
            window.append(now)

    def _index(self, conn: ConnectionState) -> ShopIndex:
        index = self._indexes.get(conn.id)
        if index is None or index.conn is not conn:
            index = self._indexes[conn.id] = ShopIndex(conn)
        index.refresh()
        return index

    def invalidate(self) -> None:
        """Forget every cached index (call after editing ``ctx.state`` records directly)."""
        self._indexes.clear()


def _envelope(code: int, message: str, request_id: str, data: Any) -> bytes:
    payload = {"code": code, "message": message, "request_id": request_id, "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def build_tiktok_app(ctx: SandboxContext) -> TikTokApp:
    return TikTokApp(ctx)
