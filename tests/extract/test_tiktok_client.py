"""The TikTok client: signing, pacing, envelope codes, paging, writes, and keeping secrets secret.

Most tests use an in-memory transport so each platform behaviour can be staged exactly; the last
group talks to the sandbox emulator (the small hand-written mini scenario) over real HTTP.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from extract.common.errors import ApiError, AuthError, OutcomeUnknown, PlatformError, RetriesExhausted
from extract.common.http import RetryPolicy
from extract.tiktok_shop.client import QpsLimiter, TikTokClient, api_template, sign_request
from sandbox.state import load_state
from shoptok.connections import TikTokConnection

try:
    from .tiktok_support import FAST, reference_sign, serving
except ImportError:
    from tiktok_support import FAST, reference_sign, serving

SECRET = "SENTINEL-app-secret-5f1d"
TOKEN = "SENTINEL-access-token-77aa"
CIPHER = "SENTINEL-cipher-ROW_9c"
BASE = "https://open-api.example"
MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini_scenario"


def conn(**kw: Any) -> TikTokConnection:
    values = {
        "shop_id": "7001",
        "app_key": "appkey1",
        "app_secret": SECRET,
        "access_token": TOKEN,
        "shop_cipher": CIPHER,
        "base_url": BASE,
    }
    return TikTokConnection(**{**values, **kw})


def envelope(data: Any = None, code: int = 0, message: str = "Success", status: int = 200, **headers: str):
    body = {"code": code, "message": message, "request_id": "RID-1", "data": data}
    return httpx.Response(status, json=body, headers=headers)


class Clock:
    """A fake clock whose sleep advances it: pacing and backoff cost no real time."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client(handler: Callable[[httpx.Request], httpx.Response], clock: Clock | None = None, **kw: Any) -> TikTokClient:
    clock = clock or Clock()
    kw.setdefault("policy", FAST)
    return TikTokClient(
        kw.pop("connection", conn()),
        clock=clock,
        sleep=clock.sleep,
        transport=httpx.MockTransport(handler),
        qps=kw.pop("qps", 0),
        **kw,
    )


def query(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))


# --------------------------------------------------------------------------- signing


def test_signature_matches_a_hand_computed_vector() -> None:
    params = {
        "app_key": "abc",
        "timestamp": "1700000000",
        "shop_cipher": "ROW_x",
        "page_size": "10",
        "sign": "left-out",
        "access_token": "left-out",
    }
    body = b'{"order_status":"UNPAID"}'
    # HMAC-SHA256("s3cr3t", "s3cr3t/order/202309/orders/searchapp_keyabcpage_size10shop_cipherROW_x"
    #                       'timestamp1700000000{"order_status":"UNPAID"}s3cr3t'), computed by hand with hmac
    want = "38c7751047f65abeafcc0a9e2ba4fca3488c763f7ae04f4b7bc98fe09096604a"
    assert sign_request("s3cr3t", "/order/202309/orders/search", params, body) == want
    shops = {"app_key": "abc", "timestamp": "1700000000"}
    assert (
        sign_request("s3cr3t", "/authorization/202309/shops", shops, b"")
        == "0904c0659f15070593b646ae5ff4d22d9acc6b4213e4849ecb7127d64815566a"
    )
    # multipart bodies are not signed
    assert sign_request("s3cr3t", "/p", shops, b"xx", "multipart/form-data; b=1") == sign_request(
        "s3cr3t", "/p", shops, b""
    )


def test_every_attempt_is_signed_with_a_fresh_timestamp_and_the_token_header() -> None:
    seen: list[httpx.Request] = []
    clock = Clock()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            clock.now += 400  # a slow failure: the first timestamp is now outside TikTok's window
            return httpx.Response(500, text="busy")
        return envelope({"orders": [], "next_page_token": ""})

    api = client(handler, clock, qps=0)
    api.call("POST", "/order/202309/orders/search", params={"page_size": 10}, body={"update_time_ge": 5})
    assert len(seen) == 2
    stamps = []
    for request in seen:
        q = query(request)
        body = request.content.decode()
        assert q["sign"] == reference_sign(SECRET, request.url.path, q, body)
        assert q["app_key"] == "appkey1" and q["shop_cipher"] == CIPHER and "access_token" not in q
        assert request.headers["x-tts-access-token"] == TOKEN
        assert request.headers["content-type"] == "application/json"
        stamps.append(int(q["timestamp"]))
    assert stamps[1] >= stamps[0] + 400, "a retry must be re-signed with a new timestamp"


def test_shop_cipher_is_left_off_global_paths_and_discovered_by_shop_id() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/authorization/202309/shops":
            assert "shop_cipher" not in query(request)
            shops = [{"id": "7000", "cipher": "OTHER-cipher"}, {"id": "7001", "cipher": "FOUND-cipher-123"}]
            return envelope({"shops": shops})
        return envelope({"warehouses": []})

    api = client(handler, connection=conn(shop_cipher=""))
    api.call("GET", "/logistics/202309/warehouses")
    api.call("GET", "/logistics/202309/warehouses")
    assert [r.url.path for r in seen].count("/authorization/202309/shops") == 1  # cached
    assert query(seen[-1])["shop_cipher"] == "FOUND-cipher-123"
    with pytest.raises(AuthError, match="not among the 2 shop"):
        client(handler, connection=conn(shop_cipher="", shop_id="9999")).shop_cipher()


# --------------------------------------------------------------------------- envelope codes


@pytest.mark.parametrize(
    ("code", "message", "error", "text"),
    [
        (105002, "Access token is expired", AuthError, "expired credentials"),
        (106001, "Invalid sign", AuthError, "check the app secret"),
        (101000, "shop mismatch", AuthError, "not authorized for this shop"),
        (36009004, "Invalid timestamp: outside the window", AuthError, "rejected by the gateway"),
        (36009004, "Invalid parameter: page_size must be between 1 and 100", ApiError, "Invalid parameter"),
        (106013, "shop_cipher is required", ApiError, "shop_cipher is required"),
        (21011001, "Order 5 does not exist", ApiError, "does not exist"),
    ],
)
def test_envelope_codes_become_typed_errors(code: int, message: str, error: type, text: str) -> None:
    api = client(lambda r: envelope(None, code, message))
    with pytest.raises(error, match=text) as info:
        api.call("GET", "/order/202309/orders", params={"ids": "5"})
    exc = info.value
    assert not isinstance(exc, RetriesExhausted)  # not retried
    assert exc.code == code and exc.request_id == "RID-1" and exc.path == "/order/202309/orders"
    assert "?" not in str(exc) and "ids=" not in str(exc)
    assert api.stats.calls == 1


def test_throttling_is_retried_honouring_retry_after() -> None:
    answers = [
        httpx.Response(429, json={"code": 36009002, "message": "Too many requests"}, headers={"Retry-After": "2"}),
        envelope(None, 36009002, "Too many requests", **{"Retry-After": "1"}),
        envelope({"warehouses": [{"id": "1"}]}),
    ]
    clock = Clock()
    api = client(lambda r: answers.pop(0), clock)
    assert api.call("GET", "/logistics/202309/warehouses").data == {"warehouses": [{"id": "1"}]}
    assert api.stats.throttled == 2 and clock.slept[0] >= 2 and clock.slept[1] >= 1


def test_persistent_failure_gives_up_with_the_path_but_no_query() -> None:
    api = client(lambda r: httpx.Response(503, text="overloaded"), policy=RetryPolicy(max_attempts=3, base_s=0))
    with pytest.raises(RetriesExhausted) as info:
        api.call("GET", "/finance/202309/payments", params={"create_time_ge": 1})
    assert info.value.attempts == 3 and "/finance/202309/payments" in str(info.value)
    assert "sign" not in str(info.value) and CIPHER not in str(info.value)


# --------------------------------------------------------------------------- paging


def test_paginate_walks_tokens_with_the_same_filters_and_never_repeats_a_record() -> None:
    pages = {
        "": ([{"id": "1"}, {"id": "2"}], "t1"),
        "t1": ([{"id": "2"}, {"id": "3"}], "t2"),  # "2" moved between pages: served twice
        "t2": ([], "t3"),  # an empty page that is not the last one
        "t3": ([{"id": "4"}], ""),
    }
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        items, token = pages[query(request).get("page_token", "")]
        return envelope({"orders": items, "next_page_token": token})

    api = client(handler)
    body = {"update_time_ge": 100, "update_time_lt": 200}
    params = {"page_size": 2, "sort_field": "update_time", "sort_order": "ASC"}
    got = list(api.paginate("POST", "/order/202309/orders/search", params, body, "orders"))
    assert got == [[{"id": "1"}, {"id": "2"}], [{"id": "3"}], [{"id": "4"}]]
    assert len(requests) == 4
    for r in requests:
        assert json.loads(r.content) == body
        q = {k: v for k, v in query(r).items() if k not in ("page_token", "sign", "timestamp")}
        assert q == {"page_size": "2", "sort_field": "update_time", "sort_order": "ASC", "app_key": "appkey1"} | {
            "shop_cipher": CIPHER
        }


def test_paginate_refuses_a_repeated_page_token() -> None:
    api = client(lambda r: envelope({"orders": [{"id": "1"}], "next_page_token": "same"}))
    with pytest.raises(ApiError, match="repeated a page token"):
        list(api.paginate("POST", "/order/202309/orders/search", {"page_size": 1}, {}, "orders"))


# --------------------------------------------------------------------------- pacing


def test_token_bucket_keeps_every_second_under_the_rate() -> None:
    clock = Clock(0.0)
    limiter = QpsLimiter(10, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(50):
        limiter.acquire()
        stamps.append(clock.now)
    assert stamps[-1] == pytest.approx(4.9)
    for start in stamps:
        assert sum(1 for t in stamps if start <= t < start + 1.0) <= 11
    clock.now += 10  # idle time refills only up to the burst
    limiter.acquire()
    assert limiter.acquire() == pytest.approx(0.1)


def test_token_bucket_is_thread_safe() -> None:
    limiter = QpsLimiter(200)
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(25)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started >= 99 / 200 - 0.01


def test_each_api_has_its_own_bucket_and_ids_in_the_path_share_one() -> None:
    assert api_template("/finance/202309/statements/123/statement_transactions") == api_template(
        "/finance/202309/statements/456/statement_transactions"
    )
    api = client(lambda r: envelope({}), qps=5)
    assert api._limiter("/finance/202309/statements/1/statement_transactions") is api._limiter(
        "/finance/202309/statements/2/statement_transactions"
    )
    assert api._limiter("/order/202309/orders/search") is not api._limiter("/finance/202309/payments")


# --------------------------------------------------------------------------- writes


@pytest.mark.parametrize(
    "lost",
    [
        lambda r: httpx.Response(200, content=b'{"code":0,"message":"Success","request_id":"R","da'),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.RemoteProtocolError("cut mid-body", request=r)),
        lambda r: httpx.Response(500, text="oops"),
    ],
    ids=["truncated", "timeout", "cut", "5xx"],
)
def test_a_write_whose_answer_is_lost_is_not_repeated(lost: Callable[[httpx.Request], httpx.Response]) -> None:
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return lost(request)

    api = client(handler)
    with pytest.raises(OutcomeUnknown, match="re-read before repeating") as info:
        api.mark_package_shipped("576001", "1Z999", "7117858858072016686")
    assert len(sent) == 1 and info.value.path == "/fulfillment/202309/orders/576001/packages"


def test_a_write_refused_before_processing_is_retried() -> None:
    answers: list[Any] = [
        httpx.ConnectError("refused"),
        httpx.Response(429, json={"code": 36009002, "message": "Too many"}, headers={"Retry-After": "0"}),
        envelope({"cancel_id": "579100", "cancel_status": "CANCELLATION_REQUEST_COMPLETE"}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    result = client(handler).seller_cancel("576001", "OUT_OF_STOCK", ["577001"])
    assert result.data["cancel_id"] == "579100" and result.request_id == "RID-1" and result.ok


def test_inventory_partial_failures_are_returned_not_raised() -> None:
    errors = [{"code": 12052003, "message": "not updated", "detail": {"sku_id": "9", "extra_errors": []}}]
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return envelope({"errors": errors})

    skus = [{"id": "9", "inventory": [{"warehouse_id": "1", "quantity": 3}]}]
    result = client(handler).update_inventory("1729", skus)
    assert sent == [{"skus": skus}] and result.errors == errors and not result.ok
    with pytest.raises(ValueError, match="not a valid id"):
        client(handler).update_inventory("../../order", skus)


# --------------------------------------------------------------------------- secrets


def test_no_secret_in_exceptions_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    signs = []

    def handler(request: httpx.Request) -> httpx.Response:
        q = query(request)
        signs.append(q["sign"])
        if request.url.path.endswith("/warehouses"):
            # a server that echoes what it got must not get the credentials into our error text
            return envelope(None, 106001, f"Invalid sign {q['sign']} for {SECRET} / {TOKEN} / {CIPHER}")
        return httpx.Response(502, text=f"bad gateway {request.url}")

    api = client(handler, policy=RetryPolicy(max_attempts=2, base_s=0))
    texts = [repr(api), repr(api.conn)]
    for path in ("/logistics/202309/warehouses", "/finance/202309/payments"):
        with pytest.raises(PlatformError) as info:
            api.call("GET", path, params={"page_size": 1})
        texts.append(str(info.value))
    texts += [r.getMessage() for r in caplog.records]
    assert any("HTTP Request" in t for t in texts), "httpx's request log is kept, minus the query string"
    leaked = [t for t in texts for s in (SECRET, TOKEN, CIPHER, "sign=", *signs) if s in t]
    assert not leaked


# --------------------------------------------------------------------------- against the emulator


@pytest.fixture(scope="module")
def mini():
    state = load_state(MINI)
    entry = state.connections[0].manifest["tiktok_shop"]
    with serving(state, qps_per_path=100_000) as srv:
        live = TikTokConnection(
            shop_id=entry["shop_id"],
            app_key=entry["app_key"],
            app_secret=entry["app_secret"],
            access_token=entry["access_token"],
            shop_cipher="",  # discovered through /authorization/202309/shops
            base_url=srv.tiktok_base,
        )
        yield srv, live


def test_emulator_accepts_the_client_and_its_cipher_discovery(mini) -> None:
    srv, live = mini
    with TikTokClient(live, policy=FAST) as api:
        warehouses = api.call("GET", "/logistics/202309/warehouses").data["warehouses"]
        assert {w["id"] for w in warehouses} >= {"7300000000000000001", "7300000000000000009"}
        pages = list(api.paginate("POST", "/order/202309/orders/search", {"page_size": 3}, {}, "orders"))
        assert [len(p) for p in pages] == [3, 3, 3, 2]


def test_emulator_auth_failures_are_typed_and_clean(mini) -> None:
    srv, live = mini
    wrong = TikTokConnection(**{**live.__dict__, "app_secret": SECRET})
    with TikTokClient(wrong, policy=FAST) as api, pytest.raises(AuthError) as info:
        api.call("GET", "/authorization/202309/shops")
    assert info.value.code == 106001 and SECRET not in str(info.value)
    srv.ctx.config.tiktok.expired_tokens = [live.access_token]
    try:
        with TikTokClient(live, policy=FAST) as api, pytest.raises(AuthError, match="expired credentials") as info:
            api.call("GET", "/authorization/202309/shops")
        assert info.value.code == 105002 and live.access_token not in str(info.value)
    finally:
        srv.ctx.config.tiktok.expired_tokens = []


def test_emulator_writes(mini) -> None:
    srv, live = mini
    with TikTokClient(live, policy=FAST) as api:
        providers = api.shipping_providers("7091146663229654785").data["shipping_providers"]
        usps = next(p["id"] for p in providers if p["name"] == "USPS")
        shipped = api.mark_package_shipped("5760000000000000103", "9400100000000000000777", usps)
        assert shipped.data["package_id"] and shipped.request_id
        fixed = api.update_shipping_info("5760000000000000103", "9400100000000000000778", usps)
        assert fixed.data == {} and fixed.ok
        cancelled = api.seller_cancel("5760000000000000102", "OUT_OF_STOCK")
        assert cancelled.data["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"
        with pytest.raises(ApiError) as info:  # already shipped: the platform refuses, nothing is retried
            api.seller_cancel("5760000000000000103", "OUT_OF_STOCK")
        assert info.value.code and "only unshipped orders" in str(info.value)
    writes = {k: v for k, v in srv.ctx.counters.snapshot().items() if k.startswith("tiktok.writes.")}
    assert writes == {
        "tiktok.writes.ship_package": 1,
        "tiktok.writes.shipping_info_update": 1,
        "tiktok.writes.seller_cancel": 1,
    }
