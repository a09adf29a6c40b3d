"""TikTok emulator writes: mark shipped, fix tracking, seller cancel -- effects and refusals."""

from __future__ import annotations

from typing import Any

import pytest

try:
    from .tiktok_fixtures import AS_OF, W_NEWARK, TikTok, reset, running
except ImportError:
    from tiktok_fixtures import AS_OF, W_NEWARK, TikTok, reset, running

USPS, UPS = "7117858858072016686", "7117859084333745966"
INV_SEARCH = "/product/202309/inventory/search"
O_UNPAID, O_HOLD, O_AWAIT, O_PARTIAL = (f"5760000000000000{n}" for n in (101, 102, 103, 104))
O_COLLECT, O_TRANSIT, O_CANCELLED, O_FBT = (f"5760000000000000{n}" for n in (105, 106, 109, 110))


@pytest.fixture(scope="module")
def server():
    with running() as client:
        yield client


@pytest.fixture
def tt(server: TikTok) -> TikTok:
    return reset(server)


def order(tt: TikTok, order_id: str) -> dict[str, Any]:
    return tt.ok("GET", "/order/202309/orders", {"ids": order_id})["orders"][0]


def ship(tt: TikTok, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return tt.call("POST", f"/fulfillment/202309/orders/{order_id}/packages", body=body)


def committed(tt: TikTok, sku_id: str, warehouse: str) -> tuple[int, int]:
    data = tt.ok("POST", INV_SEARCH, body={"sku_ids": [sku_id]})
    rows = {w["warehouse_id"]: w for w in data["inventory"][0]["skus"][0]["warehouse_inventory"]}
    return rows[warehouse]["available_quantity"], rows[warehouse]["committed_quantity"]


def test_mark_shipped_whole_order(tt: TikTok) -> None:
    before = order(tt, O_AWAIT)
    assert committed(tt, "1729000000000001021", W_NEWARK) == (30, 1)
    env = ship(tt, O_AWAIT, {"tracking_number": "9400100000000000000001", "shipping_provider_id": USPS})
    assert env["code"] == 0, env
    data = env["data"]
    line_ids = [li["id"] for li in before["line_items"]]
    assert data["order_id"] == O_AWAIT and data["order_line_item_ids"] == line_ids and data["package_id"]
    after = order(tt, O_AWAIT)
    assert after["status"] == "IN_TRANSIT"
    assert after["tracking_number"] == "9400100000000000000001"
    assert after["shipping_provider"] == "USPS" and after["shipping_provider_id"] == USPS
    assert {"id": data["package_id"]} in after["packages"]
    for li in after["line_items"]:
        assert li["package_id"] == data["package_id"] and li["tracking_number"] == "9400100000000000000001"
        assert li["display_status"] == "IN_TRANSIT" and li["shipping_provider_name"] == "USPS"
    assert after["update_time"] > before["update_time"] and after["update_time"] >= AS_OF
    assert committed(tt, "1729000000000001021", W_NEWARK) == (30, 0)
    assert tt.ctx.counters.get("tiktok.writes.ship_package") == 1
    # incremental extraction by update_time sees the write
    got = tt.collect(
        "POST", "/order/202309/orders/search", "orders", "id", 10, {}, {"update_time_ge": after["update_time"]}
    )
    assert [o["id"] for o in got] == [O_AWAIT]


def test_mark_shipped_line_by_line_goes_through_partially_shipping(tt: TikTok) -> None:
    lines = order(tt, O_PARTIAL)["line_items"]
    open_tee = next(li["id"] for li in lines if li["seller_sku"] == "TEE-BLK-M" and not li["package_id"])
    mug = next(li["id"] for li in lines if li["seller_sku"] == "MUG-11OZ")
    shipped = next(li["id"] for li in lines if li["package_id"])
    env = ship(tt, O_PARTIAL, {"tracking_number": "1Z1", "shipping_provider_id": UPS, "order_line_item_ids": [shipped]})
    assert env["code"] != 0 and "already shipped" in env["message"]
    first = ship(
        tt, O_PARTIAL, {"tracking_number": "1Z1", "shipping_provider_id": UPS, "order_line_item_ids": [open_tee]}
    )
    assert first["code"] == 0 and first["data"]["order_line_item_ids"] == [open_tee]
    mid = order(tt, O_PARTIAL)
    assert mid["status"] == "PARTIALLY_SHIPPING"
    second = ship(tt, O_PARTIAL, {"tracking_number": "1Z2", "shipping_provider_id": UPS, "order_line_item_ids": [mug]})
    assert second["code"] == 0 and second["data"]["package_id"] != first["data"]["package_id"]
    end = order(tt, O_PARTIAL)
    assert end["status"] == "IN_TRANSIT" and end["update_time"] > mid["update_time"]
    assert len(end["packages"]) == 3


def test_awaiting_collection_ships_in_its_existing_package(tt: TikTok) -> None:
    before = order(tt, O_COLLECT)
    env = ship(tt, O_COLLECT, {"tracking_number": "1ZNEW", "shipping_provider_id": UPS})
    assert env["code"] == 0 and env["data"]["package_id"] == before["packages"][0]["id"]
    assert order(tt, O_COLLECT)["status"] == "IN_TRANSIT"


@pytest.mark.parametrize(
    ("order_id", "body", "needle"),
    [
        (O_CANCELLED, {}, "does not allow shipping"),
        (O_UNPAID, {}, "does not allow shipping"),
        (O_HOLD, {}, "does not allow shipping"),
        (O_TRANSIT, {}, "does not allow shipping"),
        (O_FBT, {}, "fulfilled by TikTok"),
        ("5760000000000000999", {}, "does not exist"),
        (O_AWAIT, {"shipping_provider_id": "42"}, "not available"),
        (O_AWAIT, {"order_line_item_ids": ["nope"]}, "not in order"),
    ],
)
def test_mark_shipped_refusals(tt: TikTok, order_id: str, body: dict[str, Any], needle: str) -> None:
    env = ship(tt, order_id, {"tracking_number": "T1", "shipping_provider_id": USPS, **body})
    assert env["code"] not in (0, 36009004) and needle in env["message"], env
    assert tt.ctx.counters.get("tiktok.writes.ship_package") == 0


def test_mark_shipped_requires_tracking(tt: TikTok) -> None:
    env = ship(tt, O_AWAIT, {"shipping_provider_id": USPS})
    assert env["code"] == 36009004 and "tracking_number" in env["message"]


def test_update_shipping_info(tt: TikTok) -> None:
    before = order(tt, O_TRANSIT)
    path = f"/fulfillment/202309/orders/{O_TRANSIT}/shipping_info/update"
    env = tt.call("POST", path, body={"tracking_number": "1ZFIXED", "shipping_provider_id": UPS})
    assert env["code"] == 0, env
    after = order(tt, O_TRANSIT)
    assert after["tracking_number"] == "1ZFIXED" and after["shipping_provider"] == "UPS"
    assert all(li["tracking_number"] == "1ZFIXED" for li in after["line_items"])
    assert after["update_time"] > before["update_time"]
    assert tt.ctx.counters.get("tiktok.writes.shipping_info_update") == 1
    env = tt.call(
        "POST",
        f"/fulfillment/202309/orders/{O_AWAIT}/shipping_info/update",
        body={"tracking_number": "X", "shipping_provider_id": UPS},
    )
    assert env["code"] not in (0, 36009004)


def test_seller_cancel_whole_order(tt: TikTok) -> None:
    assert committed(tt, "1729000000000001011", W_NEWARK) == (12, 2)
    before = order(tt, O_HOLD)
    env = tt.call("POST", "/return_refund/202309/cancellations", body={"order_id": O_HOLD, "cancel_reason": "OOS"})
    assert env["code"] == 0, env
    assert env["data"]["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"
    cancel_id = env["data"]["cancel_id"]
    after = order(tt, O_HOLD)
    assert after["status"] == "CANCELLED" and after["cancellation_initiator"] == "SELLER"
    assert after["cancel_time"] == after["update_time"] > before["update_time"]
    assert all(li["display_status"] == "CANCELLED" for li in after["line_items"])
    # committed units go back to available
    assert committed(tt, "1729000000000001011", W_NEWARK) == (14, 0)
    got = tt.collect(
        "POST",
        "/return_refund/202309/cancellations/search",
        "cancellations",
        "cancel_id",
        10,
        {},
        {"order_ids": [O_HOLD]},
    )
    assert len(got) == 1 and got[0]["cancel_id"] == cancel_id
    rec = got[0]
    assert rec["role"] == "SELLER" and rec["cancel_type"] == "CANCEL"
    assert rec["refund_amount"]["refund_total"] == before["payment"]["total_amount"]
    assert [c["order_line_item_id"] for c in rec["cancel_line_items"]] == [li["id"] for li in before["line_items"]]
    assert rec["create_time"] == after["update_time"]
    assert tt.ctx.counters.get("tiktok.writes.seller_cancel") == 1
    again = tt.call("POST", "/return_refund/202309/cancellations", body={"order_id": O_HOLD, "cancel_reason": "OOS"})
    assert again["code"] != 0 and "already cancelled" in again["message"]


def test_seller_cancel_some_lines(tt: TikTok) -> None:
    before = order(tt, O_AWAIT)
    tote = next(li for li in before["line_items"] if li["seller_sku"] == "TOTE-NAT")
    body = {"order_id": O_AWAIT, "cancel_reason": "OOS", "order_line_item_ids": [tote["id"]]}
    env = tt.call("POST", "/return_refund/202309/cancellations", body=body)
    assert env["code"] == 0, env
    after = order(tt, O_AWAIT)
    assert after["status"] == "AWAITING_SHIPMENT" and after["cancel_time"] is None
    cancelled = [li["id"] for li in after["line_items"] if li["display_status"] == "CANCELLED"]
    assert cancelled == [tote["id"]]
    rec = next(c for c in tt.records("cancellations") if c["cancel_id"] == env["data"]["cancel_id"])
    assert rec["refund_amount"]["refund_total"] == tote["sale_price"]
    # shipping the rest ships only the remaining line
    shipped = ship(tt, O_AWAIT, {"tracking_number": "T9", "shipping_provider_id": USPS})
    assert shipped["data"]["order_line_item_ids"] == [li["id"] for li in after["line_items"] if li["id"] != tote["id"]]
    assert order(tt, O_AWAIT)["status"] == "IN_TRANSIT"


def test_seller_cancel_refusals(tt: TikTok) -> None:
    path = "/return_refund/202309/cancellations"
    for order_id in (O_TRANSIT, O_PARTIAL):
        env = tt.call("POST", path, body={"order_id": order_id, "cancel_reason": "x"})
        assert env["code"] not in (0, 36009004) and "only unshipped" in env["message"]
    env = tt.call("POST", path, body={"order_id": "1", "cancel_reason": "x"})
    assert env["code"] not in (0, 36009004) and "does not exist" in env["message"]
    assert tt.call("POST", path, body={"order_id": O_HOLD})["code"] == 36009004
    assert tt.ctx.counters.get("tiktok.writes.seller_cancel") == 0


def test_write_stamps_strictly_increase_and_tokens_survive_writes(tt: TikTok) -> None:
    first = tt.ok("POST", "/order/202309/orders/search", {"page_size": 3, "sort_field": "update_time"}, {})
    assert ship(tt, O_AWAIT, {"tracking_number": "A", "shipping_provider_id": USPS})["code"] == 0
    assert ship(tt, O_COLLECT, {"tracking_number": "B", "shipping_provider_id": USPS})["code"] == 0
    assert order(tt, O_COLLECT)["update_time"] == order(tt, O_AWAIT)["update_time"] + 1
    params = {"page_size": 3, "sort_field": "update_time", "page_token": first["next_page_token"]}
    assert tt.call("POST", "/order/202309/orders/search", params, {})["code"] == 0
