"""TikTok emulator gateway: signing, timestamps, credentials, shop cipher, routing, QPS."""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path

import httpx
import pytest

from sandbox.state import load_state
from sandbox.tiktok_shop.app import api_path

try:
    from .tiktok_fixtures import (
        APP_KEY,
        APP_SECRET,
        CIPHER,
        MINI,
        SHOP_ID,
        TOKEN,
        TikTok,
        reference_sign,
        running,
    )
except ImportError:
    from tiktok_fixtures import (
        APP_KEY,
        APP_SECRET,
        CIPHER,
        MINI,
        SHOP_ID,
        TOKEN,
        TikTok,
        reference_sign,
        running,
    )

SEARCH = "/order/202309/orders/search"


@pytest.fixture(scope="module")
def tt():
    with running() as client:
        yield client


def code(resp: httpx.Response) -> int:
    return resp.json()["code"]


def test_signed_request_is_accepted_with_envelope_and_logid(tt: TikTok) -> None:
    resp = tt.request("POST", SEARCH, {"page_size": 5}, {})
    env = resp.json()
    assert resp.status_code == 200
    assert set(env) == {"code", "message", "request_id", "data"}
    assert env["code"] == 0 and env["message"] == "Success"
    assert resp.headers["x-tt-logid"] == env["request_id"]
    again = tt.request("POST", SEARCH, {"page_size": 5}, {}).json()
    assert again["request_id"] != env["request_id"]


def test_get_with_query_params_is_signed_over_path_without_mount_prefix(tt: TikTok) -> None:
    data = tt.ok("GET", "/order/202309/orders", {"ids": "5760000000000000101,5760000000000000102"})
    assert [o["id"] for o in data["orders"]] == ["5760000000000000101", "5760000000000000102"]
    # signing the path *with* the /tiktok mount prefix is a different string: rejected
    resp = tt.request("GET", "/authorization/202309/shops", cipher=None)
    assert code(resp) == 0
    query = {"app_key": APP_KEY, "timestamp": str(int(time.time()))}
    query["sign"] = reference_sign(APP_SECRET, "/tiktok/authorization/202309/shops", query)
    resp = tt.http.get("/authorization/202309/shops", params=query, headers={"x-tts-access-token": TOKEN})
    assert code(resp) == 106001


def test_api_path_strips_mount_prefix_in_both_scope_styles() -> None:
    assert api_path({"path": "/tiktok/order/202309/orders", "root_path": "/tiktok"}) == "/order/202309/orders"
    assert api_path({"path": "/order/202309/orders", "root_path": "/tiktok"}) == "/order/202309/orders"
    assert api_path({"path": "/tiktok", "root_path": "/tiktok"}) == "/"


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"sign_params": {"page_size": 4}}, id="tampered-query"),
        pytest.param({"sign_body": json.dumps({"order_status": "UNPAID"})}, id="tampered-body"),
        pytest.param({"secret": "not-the-secret"}, id="wrong-secret"),
    ],
)
def test_bad_signature_is_106001(tt: TikTok, kwargs: dict) -> None:
    resp = tt.request("POST", SEARCH, {"page_size": 3}, {"order_status": "AWAITING_SHIPMENT"}, **kwargs)
    assert resp.status_code == 200
    assert code(resp) == 106001
    assert resp.json()["message"] == "Invalid sign"


def test_signature_covers_every_query_param_including_shop_cipher(tt: TikTok) -> None:
    resp = tt.request("POST", SEARCH, {"page_size": 3}, {}, sign_params={"shop_cipher": "ROW_other"})
    assert code(resp) == 106001


def test_uppercase_hex_signature_rejected(tt: TikTok) -> None:
    query = {"app_key": APP_KEY, "timestamp": str(int(time.time())), "shop_cipher": CIPHER}
    query["sign"] = reference_sign(APP_SECRET, "/logistics/202309/warehouses", query).upper()
    resp = tt.http.get("/logistics/202309/warehouses", params=query, headers={"x-tts-access-token": TOKEN})
    assert code(resp) == 106001


def test_missing_sign_bad_app_key_and_timestamp_window_are_36009004(tt: TikTok) -> None:
    assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, sign=False)) == 36009004
    other = TikTok(tt.server, app_key="unknown-app")
    assert code(other.request("POST", SEARCH, {"page_size": 3}, {})) == 36009004
    now = int(time.time())
    assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, timestamp=now - 400)) == 36009004
    assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, timestamp=now + 120)) == 36009004
    assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, timestamp=now - 280)) == 0
    assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, timestamp=now + 20)) == 0


def test_clock_skew_shifts_the_timestamp_window(tt: TikTok) -> None:
    tt.ctx.config.tiktok.clock_skew_s = 3600
    try:
        now = int(time.time())
        assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, timestamp=now)) == 36009004
        assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, timestamp=now + 3600)) == 0
    finally:
        tt.ctx.config.tiktok.clock_skew_s = 0


def test_token_and_cipher_errors(tt: TikTok) -> None:
    assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, cipher=None)) == 106013
    assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, cipher="ROW_unknown")) == 36009004
    assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, token="TTP_wrong")) == 36009004
    # the shops endpoint is not shop scoped: no cipher needed
    shops = tt.ok("GET", "/authorization/202309/shops")
    assert tt.request("GET", "/authorization/202309/shops", cipher=None).json()["code"] == 0
    assert shops["shops"] == [
        {
            "id": SHOP_ID,
            "name": "Mini US",
            "region": "US",
            "seller_type": "LOCAL",
            "cipher": CIPHER,
            "code": shops["shops"][0]["code"],
        }
    ]


def test_expired_token_is_105002(tt: TikTok) -> None:
    tt.ctx.config.tiktok.expired_tokens = [TOKEN]
    try:
        resp = tt.request("POST", SEARCH, {"page_size": 3}, {})
        assert code(resp) == 105002
    finally:
        tt.ctx.config.tiktok.expired_tokens = []
    assert code(tt.request("POST", SEARCH, {"page_size": 3}, {})) == 0


def test_unknown_path_and_wrong_method(tt: TikTok) -> None:
    resp = tt.request("GET", "/order/202309/nothing_here")
    assert resp.status_code == 404 and code(resp) == 36009009
    resp = tt.request("GET", SEARCH)
    assert resp.status_code == 405 and code(resp) == 36009010
    resp = tt.request("PUT", "/finance/202309/statements")
    assert resp.status_code == 405 and code(resp) == 36009010


def test_parameter_errors_are_36009004_with_a_clear_message(tt: TikTok) -> None:
    for params in ({}, {"page_size": 0}, {"page_size": 101}, {"page_size": "x"}):
        env = tt.call("POST", SEARCH, params, {})
        assert env["code"] == 36009004 and env["message"].startswith("Invalid parameter: page_size"), env
    env = tt.call("POST", SEARCH, {"page_size": 5, "sort_field": "paid_time"}, {})
    assert env["code"] == 36009004 and "sort_field" in env["message"]
    env = tt.call("POST", SEARCH, {"page_size": 5, "page_token": "garbage!"}, {})
    assert env["code"] == 36009004 and "page_token" in env["message"]
    env = tt.call("POST", SEARCH, {"page_size": 5}, {"order_status": "SHIPPED"})
    assert env["code"] == 36009004 and "order_status" in env["message"]
    resp = tt.request("POST", SEARCH, {"page_size": 5}, None)  # empty body is an empty filter
    assert code(resp) == 0


def test_qps_limit_per_path_is_429_36009002(tt: TikTok) -> None:
    cfg = tt.ctx.config.tiktok
    before = tt.ctx.counters.get("tiktok.throttled")
    path = "/logistics/202309/delivery_options/7091146663229654785/shipping_providers"  # unused elsewhere here
    cfg.qps_per_path = 3
    try:
        resps = [tt.request("GET", path) for _ in range(6)]
        limited = [r for r in resps if r.status_code == 429]
        assert [r.status_code for r in resps[:3]] == [200, 200, 200]
        assert len(limited) == 3
        for r in limited:
            assert code(r) == 36009002
            assert int(r.headers["retry-after"]) >= 1
            assert r.headers["x-tt-logid"] == r.json()["request_id"]
        # the window is per API path
        assert tt.request("GET", "/finance/202309/payments", {"sort_field": "create_time"}).status_code == 200
        assert tt.ctx.counters.get("tiktok.throttled") - before == 3
        time.sleep(1.05)
        assert tt.request("GET", path).status_code == 200
    finally:
        cfg.qps_per_path = 100_000


def test_calls_are_counted_per_api_template(tt: TikTok) -> None:
    name = "tiktok.calls.product/202309/products/{product_id}"
    before = tt.ctx.counters.get(name)
    tt.ok("GET", "/product/202309/products/1729000000000000101")
    tt.call("GET", "/product/202309/products/1729000000000000102")
    assert tt.ctx.counters.get(name) == before + 2


def test_token_of_another_shop_of_the_same_app_is_101000(tmp_path: Path) -> None:
    scenario = tmp_path / "two"
    shutil.copytree(MINI, scenario)
    manifest = json.loads((scenario / "manifest.json").read_text())
    uk = copy.deepcopy(manifest["connections"][0])
    uk["id"] = "uk"
    uk["shopify"]["shop_domain"] = "mini-uk.myshopify.com"
    uk["tiktok_shop"].update(
        shop_id="7495000000000000002",
        shop_cipher="ROW_miniUKcipher",
        access_token="TTP_uk_token",
        region="GB",
    )
    manifest["connections"].append(uk)
    (scenario / "manifest.json").write_text(json.dumps(manifest))
    with running(load_state(scenario)) as tt:
        assert code(tt.request("POST", SEARCH, {"page_size": 3}, {}, cipher="ROW_miniUKcipher")) == 101000
        uk_client = TikTok(tt.server, token="TTP_uk_token", cipher="ROW_miniUKcipher")
        assert uk_client.ok("POST", SEARCH, {"page_size": 3}, {})["total_count"] == 0
        shops = uk_client.ok("GET", "/authorization/202309/shops")["shops"]
        assert [s["cipher"] for s in shops] == ["ROW_miniUKcipher"]
