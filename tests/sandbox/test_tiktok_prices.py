"""TikTok emulator price update: effects, per-SKU refusals (code 0 + data.errors) and the client call."""

from __future__ import annotations

from typing import Any

import pytest

try:
    from .tiktok_fixtures import AS_OF, TikTok, reset, running
except ImportError:
    from tiktok_fixtures import AS_OF, TikTok, reset, running

TEE = "1729000000000000101"
TEE_BLK_M, TEE_BLK_L, TEE_WHT_M = "1729000000000001011", "1729000000000001012", "1729000000000001013"
MUG_11 = "1729000000000001031"
MISSING = "1729000000000000999"


@pytest.fixture(scope="module")
def server():
    with running() as client:
        yield client


@pytest.fixture
def tt(server: TikTok) -> TikTok:
    return reset(server)


def path(product_id: str) -> str:
    return f"/product/202309/products/{product_id}/prices/update"


def prices(tt: TikTok, product_id: str = TEE) -> dict[str, dict[str, Any]]:
    product = tt.ok("GET", f"/product/202309/products/{product_id}")
    return {s["id"]: s["price"] for s in product["skus"]}


def test_price_update_sets_sale_price_and_bumps_update_time(tt: TikTok) -> None:
    before = tt.ok("GET", f"/product/202309/products/{TEE}")
    env = tt.call(
        "POST",
        path(TEE),
        body={
            "skus": [
                {"id": TEE_BLK_M, "price": {"amount": "23.5", "currency": "USD"}},
                {"id": TEE_BLK_L, "price": {"amount": "22.00", "currency": "USD"}},
            ]
        },
    )
    assert env["code"] == 0 and env["data"] == {}, env
    after = tt.ok("GET", f"/product/202309/products/{TEE}")
    got = {s["id"]: s["price"] for s in after["skus"]}
    assert got[TEE_BLK_M] == {"currency": "USD", "sale_price": "23.50", "tax_exclusive_price": "23.50"}
    assert got[TEE_BLK_L]["sale_price"] == "22.00"
    assert got[TEE_WHT_M]["sale_price"] == "19.50"  # untouched
    assert after["update_time"] > before["update_time"] and after["update_time"] >= AS_OF
    assert tt.ctx.counters.get("tiktok.writes.price_update") == 1
    # incremental product extraction by update_time sees the write
    found = tt.collect(
        "POST",
        "/product/202309/products/search",
        "products",
        "id",
        50,
        {"sort_field": "update_time"},
        {"update_time_ge": after["update_time"]},
    )
    assert [p["id"] for p in found] == [TEE]
    # the search shape carries the new price too
    sku = next(s for s in found[0]["skus"] if s["id"] == TEE_BLK_M)
    assert sku["price"]["sale_price"] == "23.50"


def test_partial_failure_applies_the_valid_rows(tt: TikTok) -> None:
    env = tt.call(
        "POST",
        path(TEE),
        body={
            "skus": [
                {"id": TEE_BLK_M, "price": {"amount": "30.00", "currency": "USD"}},
                {"id": MUG_11, "price": {"amount": "9.00", "currency": "USD"}},  # another product's SKU
                {"id": TEE_BLK_L, "price": {"amount": "-1.00", "currency": "USD"}},
                {"id": TEE_WHT_M, "price": {"amount": "20.00", "currency": "GBP"}},
            ]
        },
    )
    assert env["code"] == 0, env
    errors = {e["detail"]["sku_id"]: e for e in env["data"]["errors"]}
    assert set(errors) == {MUG_11, TEE_BLK_L, TEE_WHT_M}
    assert errors[MUG_11]["code"] == 12052002
    assert errors[TEE_BLK_L]["code"] == 12052004 and "amount" in errors[TEE_BLK_L]["message"]
    assert errors[TEE_WHT_M]["code"] == 12052004 and "currency" in errors[TEE_WHT_M]["message"]
    got = prices(tt)
    assert got[TEE_BLK_M]["sale_price"] == "30.00"
    assert got[TEE_BLK_L]["sale_price"] == "21.00" and got[TEE_WHT_M]["sale_price"] == "19.50"
    assert tt.ctx.counters.get("tiktok.writes.price_update") == 1


@pytest.mark.parametrize(
    "price",
    [
        {"amount": 21.0, "currency": "USD"},  # not a string
        {"amount": "21.005", "currency": "USD"},
        {"amount": "0", "currency": "USD"},
        {"amount": "abc", "currency": "USD"},
        {"amount": "NaN", "currency": "USD"},
        {"amount": "21.00"},
        "21.00",
    ],
)
def test_rejected_prices_change_nothing(tt: TikTok, price: Any) -> None:
    before = tt.ok("GET", f"/product/202309/products/{TEE}")
    env = tt.call("POST", path(TEE), body={"skus": [{"id": TEE_BLK_M, "price": price}]})
    assert env["code"] == 0 and env["data"]["errors"][0]["code"] == 12052004, env
    after = tt.ok("GET", f"/product/202309/products/{TEE}")
    assert after == before
    assert tt.ctx.counters.get("tiktok.writes.price_update") == 0


@pytest.mark.parametrize(
    ("product_id", "body", "code"),
    [
        (TEE, {}, 36009004),
        (TEE, {"skus": []}, 36009004),
        (TEE, {"skus": ["x"]}, 36009004),
        (MISSING, {"skus": [{"id": TEE_BLK_M, "price": {"amount": "1.00", "currency": "USD"}}]}, 12052001),
    ],
)
def test_request_errors(tt: TikTok, product_id: str, body: dict[str, Any], code: int) -> None:
    env = tt.call("POST", path(product_id), body=body)
    assert env["code"] == code, env
    assert tt.ctx.counters.get("tiktok.writes.price_update") == 0


def test_only_post_is_routed(tt: TikTok) -> None:
    env = tt.call("GET", path(TEE))
    assert env["code"] == 36009010


def test_client_update_prices(tt: TikTok) -> None:
    """The product client signs and sends the documented body; partial failures land in ``errors``."""
    from extract.tiktok_shop.client import TikTokClient
    from shoptok.connections import TikTokConnection

    conn = TikTokConnection(
        shop_id="7495000000000000001",
        app_key=tt.app_key,
        app_secret=tt.secret,
        access_token=tt.token,
        shop_cipher=tt.cipher or "",
        base_url=tt.server.tiktok_base,
    )
    with TikTokClient(conn, qps=0) as client:
        result = client.update_prices(TEE, [{"id": TEE_BLK_M, "price": {"amount": "24.00", "currency": "USD"}}])
        assert result.ok and result.request_id
        bad = client.update_prices(TEE, [{"id": MUG_11, "price": {"amount": "24.00", "currency": "USD"}}])
        assert not bad.ok and bad.errors[0]["detail"]["sku_id"] == MUG_11
        with pytest.raises(ValueError):
            client.update_prices("../x", [])
    assert prices(tt)[TEE_BLK_M]["sale_price"] == "24.00"
    assert tt.ctx.counters.get("tiktok.writes.price_update") == 1
