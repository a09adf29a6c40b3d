"""TikTok emulator inventory: committed stock math, inventory search and partial-failure updates."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

try:
    from .tiktok_fixtures import AS_OF, W_FBT, W_NEWARK, W_RENO, TikTok, reset, running
except ImportError:
    from tiktok_fixtures import AS_OF, W_FBT, W_NEWARK, W_RENO, TikTok, reset, running

INV_SEARCH = "/product/202309/inventory/search"
TEE, TOTE, MUG = "1729000000000000101", "1729000000000000102", "1729000000000000103"
TEE_BLK_M, TEE_BLK_L, TEE_WHT_M = "1729000000000001011", "1729000000000001012", "1729000000000001013"
TOTE_NAT, MUG_11, MUG_15 = "1729000000000001021", "1729000000000001031", "1729000000000001032"


@pytest.fixture(scope="module")
def tt():
    with running() as client:
        yield client


@pytest.fixture
def fresh(tt: TikTok) -> TikTok:
    return reset(tt)


def committed_from_docs(orders: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """docs/sandbox.md: units of ON_HOLD, AWAITING_SHIPMENT, AWAITING_COLLECTION orders and the
    unshipped lines of PARTIALLY_SHIPPING ones, per SKU x warehouse."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for o in orders:
        for li in o["line_items"]:
            if li["display_status"] == "CANCELLED":
                continue
            if o["status"] in ("ON_HOLD", "AWAITING_SHIPMENT", "AWAITING_COLLECTION") or (
                o["status"] == "PARTIALLY_SHIPPING" and li["package_id"] is None
            ):
                out[(li["sku_id"], o["warehouse_id"])] += 1
    return dict(out)


def by_sku(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for p in data["inventory"] for s in p["skus"]}


def warehouse_rows(sku: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {w["warehouse_id"]: (w["available_quantity"], w["committed_quantity"]) for w in sku["warehouse_inventory"]}


def test_committed_quantities_follow_unshipped_orders(fresh: TikTok) -> None:
    tt = fresh
    data = tt.ok("POST", INV_SEARCH, body={"product_ids": [TEE, TOTE, MUG]})
    skus = by_sku(data)
    assert warehouse_rows(skus[TEE_BLK_M]) == {W_NEWARK: (12, 2), W_RENO: (5, 1), W_FBT: (20, 0)}
    assert skus[TEE_BLK_M]["total_available_quantity"] == 37
    assert skus[TEE_BLK_M]["total_committed_quantity"] == 3
    assert warehouse_rows(skus[TEE_BLK_L]) == {W_NEWARK: (8, 1), W_RENO: (0, 0)}
    assert warehouse_rows(skus[TEE_WHT_M]) == {W_NEWARK: (3, 0)}
    assert warehouse_rows(skus[TOTE_NAT]) == {W_NEWARK: (30, 1), W_FBT: (10, 1)}
    assert warehouse_rows(skus[MUG_11]) == {W_RENO: (9, 1)}
    assert warehouse_rows(skus[MUG_15]) == {W_RENO: (4, 1)}
    # and the same numbers from the documented rule applied to the raw orders
    expected = committed_from_docs(tt.records("orders"))
    got = {(sid, wh): c for sid, s in skus.items() for wh, (_, c) in warehouse_rows(s).items() if c}
    assert got == expected
    for s in skus.values():
        assert (
            s["total_available_inventory_distribution"]["in_shop_inventory"]["quantity"]
            == (s["total_available_quantity"])
        )


def test_inventory_search_by_sku_ids_and_limits(fresh: TikTok) -> None:
    tt = fresh
    data = tt.ok("POST", INV_SEARCH, body={"sku_ids": [MUG_15, TEE_WHT_M, "404"]})
    assert [(p["product_id"], [s["id"] for s in p["skus"]]) for p in data["inventory"]] == [
        (MUG, [MUG_15]),
        (TEE, [TEE_WHT_M]),
    ]
    assert tt.call("POST", INV_SEARCH, body={})["code"] == 36009004
    env = tt.call("POST", INV_SEARCH, body={"product_ids": [str(i) for i in range(101)]})
    assert env["code"] == 36009004 and "at most 100" in env["message"]
    assert tt.call("POST", INV_SEARCH, body={"sku_ids": [str(i) for i in range(601)]})["code"] == 36009004
    assert tt.ok("POST", INV_SEARCH, body={"sku_ids": [str(i) for i in range(600)]}) == {"inventory": []}


def test_inventory_update_partial_failure(fresh: TikTok) -> None:
    path = f"/product/202309/products/{TEE}/inventory/update"
    before = fresh.ok("GET", f"/product/202309/products/{TEE}")["update_time"]
    body = {
        "skus": [
            {
                "id": TEE_BLK_M,
                "inventory": [
                    {"warehouse_id": W_NEWARK, "quantity": 50},
                    {"warehouse_id": "7300000000000000404", "quantity": 5},
                    {"warehouse_id": W_FBT, "quantity": 1},
                    {"warehouse_id": W_RENO, "quantity": -1},
                ],
            },
            {"id": "1729000000000009999", "inventory": [{"warehouse_id": W_NEWARK, "quantity": 1}]},
            {"id": TEE_WHT_M, "inventory": [{"warehouse_id": W_RENO, "quantity": 0}]},
        ]
    }
    env = fresh.call("POST", path, body=body)
    assert env["code"] == 0
    errors = {e["detail"]["sku_id"]: e for e in env["data"]["errors"]}
    assert set(errors) == {TEE_BLK_M, "1729000000000009999"}
    assert errors["1729000000000009999"]["code"] != 0 and errors["1729000000000009999"]["detail"]["extra_errors"] == []
    extra = {x["warehouse_id"]: x["message"] for x in errors[TEE_BLK_M]["detail"]["extra_errors"]}
    assert set(extra) == {"7300000000000000404", W_FBT, W_RENO}
    assert "Fulfilled by TikTok" in extra[W_FBT]
    skus = by_sku(fresh.ok("POST", INV_SEARCH, body={"product_ids": [TEE]}))
    # valid rows applied, invalid ones untouched; committed unaffected
    assert warehouse_rows(skus[TEE_BLK_M]) == {W_NEWARK: (50, 2), W_RENO: (5, 1), W_FBT: (20, 0)}
    assert warehouse_rows(skus[TEE_WHT_M]) == {W_NEWARK: (3, 0), W_RENO: (0, 0)}
    after = fresh.ok("GET", f"/product/202309/products/{TEE}")["update_time"]
    assert after > before and after >= AS_OF
    assert fresh.ctx.counters.get("tiktok.writes.inventory_update") == 1
    # an incremental product extract sees the change
    got = fresh.collect("POST", "/product/202309/products/search", "products", "id", 5, {}, {"update_time_ge": after})
    assert [p["id"] for p in got] == [TEE]


def test_inventory_update_all_failed_is_not_a_write(fresh: TikTok) -> None:
    path = f"/product/202309/products/{TEE}/inventory/update"
    env = fresh.call(
        "POST", path, body={"skus": [{"id": "1", "inventory": [{"warehouse_id": W_NEWARK, "quantity": 1}]}]}
    )
    assert env["code"] == 0 and len(env["data"]["errors"]) == 1
    assert fresh.ctx.counters.get("tiktok.writes.inventory_update") == 0
    env = fresh.call("POST", "/product/202309/products/404/inventory/update", body={"skus": []})
    assert env["code"] != 0
    env = fresh.call("POST", f"/product/202309/products/{TEE}/inventory/update", body={"skus": []})
    assert env["code"] == 36009004
