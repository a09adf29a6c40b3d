"""TikTok Shop Open API (202309) client: signing, shop cipher discovery, pacing, retries, paging, writes.

Built for the production API; the local sandbox is just another base URL. What it guarantees:

* every request is signed as documented (platform-apis.md §1 "Signing") with a fresh
  ``timestamp`` per attempt, so a retry never trips the 5-minute timestamp window;
* each API path is paced by its own token bucket under TikTok's 50 QPS per API and shop, so a
  steady run does not collect 429s (they are still retried, honouring ``Retry-After``);
* envelope codes become typed errors (``extract.common.errors``) that name the API path but
  never a query string, header or body: no app secret, access token, sign or shop cipher can
  reach an exception or a log line (httpx's own request log is stripped of query strings too);
* reads are retried; writes are not repeated after an ambiguous failure (``OutcomeUnknown``):
  the caller re-reads the platform's state first, as the writeback jobs must.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from extract.common.errors import ApiError, AuthError, RateLimited, TransientError
from extract.common.http import CallStats, Rejected, RetryPolicy, send_json
from extract.common.redact import redact, register_secret
from extract.tiktok_shop import settings
from shoptok.connections import TikTokConnection

log = logging.getLogger("extract.tiktok_shop")

PLATFORM = "tiktok_shop"
SHOPS_PATH = "/authorization/202309/shops"
#: query parameters the signature leaves out (reference §1 "Signing", step 1)
UNSIGNED_PARAMS = frozenset({"sign", "access_token"})
#: path prefixes that must not carry shop_cipher (PHP-SDK strips it from these)
GLOBAL_PREFIXES = ("/authorization/", "/seller/")

RATE_LIMITED = 36009002
PLATFORM_TIMEOUT = 36009007
GATEWAY_CATCH_ALL = 36009004
MISSING_SHOP_CIPHER = 106013
#: codes that mean "a person must fix credentials or app setup"; retrying cannot help
AUTH_CODES = {
    105002: "expired credentials: refresh the access token",
    106001: "invalid sign: check the app secret",
    101000: "the access token is not authorized for this shop",
    105005: "the app lacks a required API scope",
    36009033: "this IP address is not on the app's allowlist",
}

#: a request timestamp may lag TikTok's clock by 300 s and lead it by 30 s (reference §1); a
#: rejected request whose timestamp was this far off TikTok's clock was rejected for its clock
CLOCK_LAG_S = 240.0
CLOCK_LEAD_S = 20.0
#: earlier pages served again in one walk (a stale gateway cache) before the walk gives up
MAX_PAGE_REPLAYS = 8

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")
_HEX_SIGN = re.compile(r"\b[0-9a-f]{64}\b")


def sign_request(
    app_secret: str, path: str, params: Mapping[str, str], body: bytes, content_type: str = "application/json"
) -> str:
    """The documented signature: HMAC-SHA256(secret, secret + path + sorted k+v + body + secret), hex.

    ``path`` is the API path after the base URL. The body is left out only for multipart uploads.
    """
    message = [path.encode()]
    for key in sorted(params):
        if key not in UNSIGNED_PARAMS:
            message.append(key.encode() + str(params[key]).encode())
    if not content_type.lower().startswith("multipart/form-data"):
        message.append(body)
    secret = app_secret.encode()
    return hmac.new(secret, secret + b"".join(message) + secret, hashlib.sha256).hexdigest()


def api_template(path: str) -> str:
    """The rate-limited unit: TikTok counts per API, so ``/statements/123/...`` and ``/statements/456/...`` share."""
    return _NUMERIC_SEGMENT.sub("/{id}", path)


class QpsLimiter:
    """Token bucket, thread-safe: at most ``burst + rate * t`` acquisitions in any span of ``t`` seconds.

    A burst of one keeps every one-second window at or under ``rate + 1`` calls, which is what a
    sliding-window server limit needs. Waiters reserve their slot under the lock and sleep outside
    it, so concurrent callers queue fairly instead of all waking at once.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is due; the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class _StripQuery(logging.Filter):
    """httpx logs every request URL at INFO; ours carry sign and shop_cipher in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _StripQuery) for f in logger.filters):
        logger.addFilter(_StripQuery())


@dataclass(frozen=True)
class ApiResult:
    """A successful call: the envelope's ``data``, its ``request_id``, and partial failures if any.

    ``errors`` is only filled by ``update_inventory`` and ``update_prices``, where TikTok answers
    code 0 yet may reject some SKU (× warehouse) rows (``data.errors``).
    """

    data: dict[str, Any]
    request_id: str
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _segment(value: str, name: str) -> str:
    """An id placed in a URL path must be a plain token, so no caller value can reshape the path."""
    text = str(value)
    if not _SEGMENT.match(text):
        raise ValueError(f"{name} is not a valid id: {text[:40]!r}")
    return text


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


class TikTokClient:
    """One TikTok shop's API, thread-safe (one httpx connection pool, per-path token buckets)."""

    def __init__(
        self,
        conn: TikTokConnection,
        policy: RetryPolicy | None = None,
        stats: CallStats | None = None,
        qps: float = settings.QPS_TARGET,
        clock: Callable[[], float] = time.time,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.conn = conn
        self.policy = policy or RetryPolicy()
        self.stats = stats or CallStats()
        self.qps = qps
        self.clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._base = conn.base_url.rstrip("/")
        self._http = httpx.Client(timeout=self.policy.timeout_s, transport=transport)
        self._limiters: dict[str, QpsLimiter] = {}
        self._lock = threading.Lock()
        self._cipher = conn.shop_cipher or None
        #: seconds to add to ``clock`` for TikTok's view of now, learned from a timestamp rejection
        self.clock_offset = 0.0
        for secret in (conn.app_secret, conn.access_token, conn.shop_cipher):
            register_secret(secret)
        _install_log_filter()

    def __repr__(self) -> str:
        return f"TikTokClient(shop_id={self.conn.shop_id!r}, base_url={self._base!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TikTokClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------

    def _limiter(self, path: str) -> QpsLimiter | None:
        if not self.qps:
            return None
        key = api_template(path)
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = self._limiters[key] = QpsLimiter(self.qps)
            return limiter

    def shop_cipher(self) -> str:
        """The connection's cipher, or the one ``/authorization/202309/shops`` lists for its shop_id."""
        with self._lock:
            if self._cipher:
                return self._cipher
        shops = self.shops()
        match = [s for s in shops if str(s.get("id")) == str(self.conn.shop_id)]
        if not match or not match[0].get("cipher"):
            raise AuthError(
                PLATFORM,
                f"shop {self.conn.shop_id} is not among the {len(shops)} shop(s) this access token is authorized for",
                path=SHOPS_PATH,
            )
        cipher = str(match[0]["cipher"])
        register_secret(cipher)
        with self._lock:
            self._cipher = cipher
        return cipher

    def shops(self) -> list[dict[str, Any]]:
        """Every shop the access token may act for, with its cipher (never log or store the cipher)."""
        shops = self.call("GET", SHOPS_PATH).data.get("shops") or []
        return [s for s in shops if isinstance(s, dict)]

    def _classify(self, path: str) -> Callable[[httpx.Response, Any], None]:
        def classify(resp: httpx.Response, payload: Any) -> None:
            if not isinstance(payload, dict) or "code" not in payload:
                raise ApiError(PLATFORM, "response is not a TikTok envelope", http_status=resp.status_code, path=path)
            code = payload.get("code")
            if code == 0:
                return
            # a server that echoes the request must not carry credentials or the sign into our errors
            message = _HEX_SIGN.sub("***", redact(str(payload.get("message") or "")))[:500]
            kw: dict[str, Any] = {
                "code": code,
                "request_id": payload.get("request_id") or resp.headers.get("x-tt-logid"),
                "http_status": resp.status_code,
                "path": path,
            }
            if code == RATE_LIMITED:
                retry_after = resp.headers.get("retry-after")
                raise RateLimited(PLATFORM, message or "too many requests", retry_after=_float(retry_after), **kw)
            if code == PLATFORM_TIMEOUT:
                raise TransientError(PLATFORM, message or "platform timeout", **kw)
            if code in AUTH_CODES:
                raise AuthError(PLATFORM, f"{AUTH_CODES[code]} ({message})", **kw)
            if code == GATEWAY_CATCH_ALL and self._learn_clock(resp):
                raise Rejected(
                    PLATFORM,
                    f"request timestamp outside the gateway's window; clock offset now {self.clock_offset:+.0f} s",
                    **kw,
                )
            if code == GATEWAY_CATCH_ALL and not message.lower().startswith("invalid parameter"):
                # the gateway's catch-all: bad app_key, timestamp window, unknown token or cipher
                raise AuthError(PLATFORM, f"request rejected by the gateway ({message})", **kw)
            if code == MISSING_SHOP_CIPHER:
                raise ApiError(PLATFORM, f"shop_cipher is required on this path ({message})", **kw)
            raise ApiError(PLATFORM, message or "request failed", **kw)

        return classify

    def _learn_clock(self, resp: httpx.Response) -> bool:
        """After a gateway rejection: True when the request's ``timestamp`` was outside TikTok's window
        by TikTok's own clock, after adopting that clock's offset from ours (the request is then
        rebuilt with a timestamp TikTok accepts).

        The signed ``timestamp`` must fall within TikTok's window around *its* clock; a host clock
        that drifted minutes away gets every request refused with the gateway's catch-all code. The
        ``Date`` header is the only clock a response carries; when a proxy added a second one, the
        one furthest from ours is TikTok's (one agreeing with us cannot explain the rejection).
        The check is on the request's own timestamp, so concurrent requests signed before the
        offset was learned are retried too.
        """
        clocks = []
        for value in resp.headers.get_list("date"):
            try:
                clocks.append(parsedate_to_datetime(value).timestamp())
            except (TypeError, ValueError, IndexError, OverflowError):
                continue
        try:
            sent = int(resp.request.url.params.get("timestamp", ""))
        except (RuntimeError, ValueError):
            return False
        if not clocks:
            return False
        local = self.clock()
        server_now = max(clocks, key=lambda c: abs(c - local))
        lag = server_now - sent
        if -CLOCK_LEAD_S < lag < CLOCK_LAG_S:
            return False
        with self._lock:
            previous, self.clock_offset = self.clock_offset, server_now - local
        if abs(self.clock_offset - previous) > 1:
            log.warning(
                "tiktok_shop %s: TikTok's clock is %+.0f s from ours; corrected", self.conn.shop_id, self.clock_offset
            )
        return True

    def _on_wait(self, path: str) -> Callable[[str, float], None]:
        def on_wait(reason: str, wait: float) -> None:
            log.info("tiktok_shop %s %s: %s; retrying in %.2f s", self.conn.shop_id, api_template(path), reason, wait)

        return on_wait

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        repeatable: bool = True,
    ) -> ApiResult:
        """One API call (retried per the policy); ``repeatable=False`` for writes."""
        scoped = not path.startswith(GLOBAL_PREFIXES)
        cipher = self.shop_cipher() if scoped else None
        raw = b"" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        base_query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        limiter = self._limiter(path)
        headers = {"content-type": "application/json", "x-tts-access-token": self.conn.access_token}

        def build() -> httpx.Request:
            if limiter is not None:
                limiter.acquire()
            now = self.clock() + self.clock_offset
            query = {**base_query, "app_key": self.conn.app_key, "timestamp": str(int(now))}
            if cipher:
                query["shop_cipher"] = cipher
            query["sign"] = sign_request(self.conn.app_secret, path, query, raw)
            return self._http.build_request(method, self._base + path, params=query, content=raw, headers=headers)

        payload, resp = send_json(
            self._http,
            build,
            platform=PLATFORM,
            path=path,
            policy=self.policy,
            stats=self.stats,
            classify=self._classify(path),
            rng=self._rng,
            sleep=self._sleep,
            on_wait=self._on_wait(path),
            repeatable=repeatable,
        )
        data = payload.get("data")
        return ApiResult(
            data=data if isinstance(data, dict) else {},
            request_id=str(payload.get("request_id") or resp.headers.get("x-tt-logid") or ""),
        )

    def paginate(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        items_key: str = "items",
        id_key: str = "id",
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield each non-empty page until ``next_page_token`` is empty.

        Filters are sent unchanged on every page (TikTok rejects a token used with other filters).
        A record already yielded by this walk is dropped: when paging by update time, a record
        written between two pages can be served twice. A token the server repeats is an error
        rather than an endless loop.
        """
        seen: set[str] = set()
        tokens: set[str] = set()
        token = ""
        replays = 0
        while True:
            query = dict(params or {})
            if token:
                query["page_token"] = token
            data = self.call(method, path, params=query, body=body).data
            items = data.get(items_key) or []
            if not isinstance(items, list):
                raise ApiError(PLATFORM, f"'{items_key}' is not a list", path=path)
            page = []
            for item in items:
                key = item.get(id_key) if isinstance(item, dict) else None
                if key is not None and key != "":
                    if str(key) in seen:
                        continue
                    seen.add(str(key))
                page.append(item)
            next_token = str(data.get("next_page_token") or "")
            if next_token in tokens and not page:
                # an earlier page of this walk served again (nothing new, a token already used):
                # ask for the page we wanted once more rather than fail the whole walk
                replays += 1
                self.stats.note("replayed_page")
                if replays > MAX_PAGE_REPLAYS:
                    raise ApiError(
                        PLATFORM, f"the server repeated a page token ({replays} earlier pages served again)", path=path
                    )
                continue
            if page:
                yield page
            token = next_token
            if not token:
                return
            if token in tokens:
                raise ApiError(PLATFORM, "the server repeated a page token", path=path)
            tokens.add(token)

    # -- writes (writeback jobs) -----------------------------------------------------------

    def _write(self, path: str, body: dict[str, Any]) -> ApiResult:
        return self.call("POST", path, body=body, repeatable=False)

    def update_inventory(self, product_id: str, skus: list[dict[str, Any]]) -> ApiResult:
        """Set available quantities: ``skus=[{id, inventory:[{warehouse_id, quantity}]}]``.

        TikTok answers code 0 even when some rows are rejected; those come back in ``errors``
        (``[{code, message, detail{sku_id, extra_errors[{warehouse_id, message}]}}]``).
        """
        pid = _segment(product_id, "product_id")
        result = self._write(f"/product/202309/products/{pid}/inventory/update", {"skus": skus})
        errors = result.data.get("errors") or []
        return ApiResult(result.data, result.request_id, [e for e in errors if isinstance(e, dict)])

    def update_prices(self, product_id: str, skus: list[dict[str, Any]]) -> ApiResult:
        """Set SKU prices: ``skus=[{id, price:{amount, currency}}]`` (amount a decimal string).

        Like ``update_inventory``, TikTok answers code 0 even when some SKUs are rejected; those
        come back in ``errors`` (``[{code, message, detail{sku_id}}]``), so check ``ok``.
        """
        pid = _segment(product_id, "product_id")
        result = self._write(f"/product/202309/products/{pid}/prices/update", {"skus": skus})
        errors = result.data.get("errors") or []
        return ApiResult(result.data, result.request_id, [e for e in errors if isinstance(e, dict)])

    def mark_package_shipped(
        self,
        order_id: str,
        tracking_number: str,
        shipping_provider_id: str,
        order_line_item_ids: list[str] | None = None,
    ) -> ApiResult:
        """Ship lines with the seller's own tracking (omitting line ids ships every open line)."""
        oid = _segment(order_id, "order_id")
        body: dict[str, Any] = {"tracking_number": tracking_number, "shipping_provider_id": shipping_provider_id}
        if order_line_item_ids:
            body["order_line_item_ids"] = [str(i) for i in order_line_item_ids]
        return self._write(f"/fulfillment/202309/orders/{oid}/packages", body)

    def update_shipping_info(self, order_id: str, tracking_number: str, shipping_provider_id: str) -> ApiResult:
        """Replace the tracking number and carrier of an order's shipped packages."""
        oid = _segment(order_id, "order_id")
        body = {"tracking_number": tracking_number, "shipping_provider_id": shipping_provider_id}
        return self._write(f"/fulfillment/202309/orders/{oid}/shipping_info/update", body)

    def seller_cancel(
        self, order_id: str, cancel_reason: str, order_line_item_ids: list[str] | None = None
    ) -> ApiResult:
        """Cancel an order (or some of its lines) as the seller; ``data`` is ``{cancel_id, cancel_status}``."""
        body: dict[str, Any] = {"order_id": str(order_id), "cancel_reason": cancel_reason}
        if order_line_item_ids:
            body["order_line_item_ids"] = [str(i) for i in order_line_item_ids]
        return self._write("/return_refund/202309/cancellations", body)

    def shipping_providers(self, delivery_option_id: str) -> ApiResult:
        """The carriers a delivery option accepts (a read, so retried normally)."""
        did = _segment(delivery_option_id, "delivery_option_id")
        return self.call("GET", f"/logistics/202309/delivery_options/{did}/shipping_providers")


def _float(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
