"""Shopify emulator writes and bulk operations: effects on state, userErrors, counters, stamps."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.context import BulkConfig
from sandbox.server import SandboxServer
from sandbox.shopify.bulk import BulkManager
from sandbox.shopify.cost import Buckets
from sandbox.state import Clock, load_state

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini_scenario"
SHOP = "mini-us.myshopify.com"
TOKEN = "shpat_mini_us_token"
AS_OF = "2026-11-20T12:00:00Z"
NEWARK, RENO = "gid://shopify/Location/101", "gid://shopify/Location/102"


class Shop:
    def __init__(self, srv: SandboxServer):
        self.srv = srv
        self.url = f"{srv.shopify_base(SHOP)}/admin/api/2025-01/graphql.json"
        self.http = httpx.Client(timeout=10, headers={"X-Shopify-Access-Token": TOKEN})

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.http.post(self.url, json={"query": query, "variables": variables or {}})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.gql(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def counter(self, name: str) -> int:
        return self.srv.ctx.counters.get(name)

    def level(self, item: int, location: str) -> dict[str, Any]:
        data = self.data(
            """query($item: ID!, $loc: ID!) { inventoryItem(id: $item) { inventoryLevel(locationId: $loc) {
                updatedAt quantities(names: ["available", "committed", "on_hand"]) { name quantity } } } }""",
            {"item": f"gid://shopify/InventoryItem/{item}", "loc": location},
        )
        level = data["inventoryItem"]["inventoryLevel"]
        return {"updatedAt": level["updatedAt"], **{q["name"]: q["quantity"] for q in level["quantities"]}}

    def order(self, n: int, fields: str) -> dict[str, Any]:
        return self.data(f'{{ order(id: "gid://shopify/Order/{n}") {{ {fields} }} }}')["order"]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    srv = SandboxServer(load_state(MINI)).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def shop(server: SandboxServer) -> Shop:
    """Writes must not leak between tests: reload the records and reset clock, counters, bulk."""
    fresh = load_state(MINI)
    state = server.ctx.state
    for conn in state.connections:
        conn.shopify = fresh.connection(conn.id).shopify
    state.clock = Clock(state.as_of)
    server.ctx.counters.reset()
    server.ctx.config.bulk = BulkConfig()
    emulator = _emulator(server)
    emulator.bulk = BulkManager(emulator.schema)
    emulator.buckets = Buckets()
    return Shop(server)


def _emulator(srv: SandboxServer) -> Any:
    for route in srv.app.app.routes:
        if getattr(route, "path", "") == "/shopify/{shop}":
            return route.app.state.emulator
    raise AssertionError("shopify mount not found")


# --------------------------------------------------------------------------- inventorySetQuantities

SET_QUANTITIES = """mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id reason createdAt referenceDocumentUri
      changes { name delta quantityAfterChange item { id sku } location { id } } }
    userErrors { field message code } } }"""


def _set_input(quantities: list[dict[str, Any]], name: str = "available", **extra: Any) -> dict[str, Any]:
    return {"input": {"name": name, "reason": "correction", "quantities": quantities, **extra}}


def test_set_available_keeps_on_hand_consistent(shop: Shop) -> None:
    before = shop.level(3004, NEWARK)
    assert before["on_hand"] == before["available"] + before["committed"]
    payload = shop.data(
        SET_QUANTITIES,
        _set_input(
            [
                {
                    "inventoryItemId": "gid://shopify/InventoryItem/3004",
                    "locationId": NEWARK,
                    "quantity": 4,
                    "compareQuantity": 9,
                }
            ],
            referenceDocumentUri="gid://shoptok/Writeback/1",
        ),
    )["inventorySetQuantities"]
    assert payload["userErrors"] == []
    group = payload["inventoryAdjustmentGroup"]
    assert group["reason"] == "correction" and group["referenceDocumentUri"] == "gid://shoptok/Writeback/1"
    assert {c["name"]: (c["delta"], c["quantityAfterChange"]) for c in group["changes"]} == {
        "available": (-5, 4),
        "on_hand": (-5, 5),
    }
    assert group["changes"][0]["item"]["sku"] == "MUG-11OZ"
    after = shop.level(3004, NEWARK)
    assert after["available"] == 4 and after["committed"] == 1 and after["on_hand"] == 5
    assert after["updatedAt"] >= AS_OF > before["updatedAt"]
    assert group["createdAt"] == after["updatedAt"]
    assert shop.counter("shopify.mutation.inventorySetQuantities") == 1
    incremental = shop.data(
        """query($q: String) { location(id: "gid://shopify/Location/101") {
            inventoryLevels(first: 50, query: $q) { nodes { item { sku } } } } }""",
        {"q": f"updated_at:>='{AS_OF}'"},
    )
    assert [n["item"]["sku"] for n in incremental["location"]["inventoryLevels"]["nodes"]] == ["MUG-11OZ"]


def test_set_on_hand_moves_available(shop: Shop) -> None:
    shop.data(
        SET_QUANTITIES,
        _set_input(
            [{"inventoryItemId": "gid://shopify/InventoryItem/3003", "locationId": NEWARK, "quantity": 30}],
            name="on_hand",
            ignoreCompareQuantity=True,
        ),
    )
    assert shop.level(3003, NEWARK) | {"updatedAt": None} == {
        "available": 29,
        "committed": 1,
        "on_hand": 30,
        "updatedAt": None,
    }


def test_stale_compare_quantity_writes_nothing(shop: Shop) -> None:
    before = [shop.level(3001, NEWARK), shop.level(3002, NEWARK)]
    payload = shop.data(
        SET_QUANTITIES,
        _set_input(
            [
                {
                    "inventoryItemId": "gid://shopify/InventoryItem/3001",
                    "locationId": NEWARK,
                    "quantity": 1,
                    "compareQuantity": 12,
                },
                {
                    "inventoryItemId": "gid://shopify/InventoryItem/3002",
                    "locationId": NEWARK,
                    "quantity": 1,
                    "compareQuantity": 7,
                },
            ]
        ),
    )["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "quantities", "1", "compareQuantity"],
            "message": "The specified compare quantity does not match the current quantity.",
            "code": "COMPARE_QUANTITY_STALE",
        }
    ]
    assert [shop.level(3001, NEWARK), shop.level(3002, NEWARK)] == before
    assert shop.counter("shopify.mutation.inventorySetQuantities") == 0


@pytest.mark.parametrize(
    ("quantity", "extra", "code"),
    [
        (
            {"inventoryItemId": "gid://shopify/InventoryItem/3001", "locationId": NEWARK, "quantity": 1},
            {},
            "COMPARE_QUANTITY_REQUIRED",
        ),
        (
            {"inventoryItemId": "gid://shopify/InventoryItem/9999", "locationId": NEWARK, "quantity": 1},
            {},
            "INVALID_INVENTORY_ITEM",
        ),
        (
            {
                "inventoryItemId": "gid://shopify/InventoryItem/3001",
                "locationId": "gid://shopify/Location/9",
                "quantity": 1,
            },
            {},
            "INVALID_LOCATION",
        ),
        (
            {
                "inventoryItemId": "gid://shopify/InventoryItem/3001",
                "locationId": NEWARK,
                "quantity": -1,
                "compareQuantity": 12,
            },
            {},
            "INVALID_QUANTITY_NEGATIVE",
        ),
        (
            {
                "inventoryItemId": "gid://shopify/InventoryItem/3001",
                "locationId": NEWARK,
                "quantity": 1,
                "compareQuantity": 12,
            },
            {"name": "committed"},
            "INVALID_NAME",
        ),
        (
            {
                "inventoryItemId": "gid://shopify/InventoryItem/3001",
                "locationId": NEWARK,
                "quantity": 1,
                "compareQuantity": 12,
            },
            {"reason": "because"},
            "INVALID_REASON",
        ),
    ],
)
def test_set_quantities_user_errors(shop: Shop, quantity: dict[str, Any], extra: dict[str, Any], code: str) -> None:
    variables = _set_input([quantity])
    variables["input"].update(extra)
    payload = shop.data(SET_QUANTITIES, variables)["inventorySetQuantities"]
    assert [e["code"] for e in payload["userErrors"]] == [code]
    assert payload["inventoryAdjustmentGroup"] is None


# --------------------------------------------------------------------------- fulfillmentCreate

FULFILL = """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
    fulfillment { id status createdAt trackingInfo { number company url } }
    userErrors { field message } } }"""


def test_fulfillment_create_partial_then_full(shop: Shop) -> None:
    tote_before = shop.level(3003, NEWARK)
    payload = shop.data(
        FULFILL,
        {
            "f": {
                "lineItemsByFulfillmentOrder": [
                    {
                        "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/7000002",
                        "fulfillmentOrderLineItems": [
                            {"id": "gid://shopify/FulfillmentOrderLineItem/7100002", "quantity": 1}
                        ],
                    }
                ],
                "trackingInfo": {"number": "1ZNEW", "company": "UPS", "url": "https://ups.example/1ZNEW"},
                "notifyCustomer": False,
            }
        },
    )["fulfillmentCreate"]
    assert payload["userErrors"] == []
    f = payload["fulfillment"]
    assert f["status"] == "SUCCESS" and f["trackingInfo"] == [
        {"number": "1ZNEW", "company": "UPS", "url": "https://ups.example/1ZNEW"}
    ]
    order = shop.order(
        5000002,
        """updatedAt displayFulfillmentStatus fulfillments { id trackingInfo { number } }
           fulfillmentOrders(first: 5) { nodes { status lineItems(first: 5) { nodes { remainingQuantity } } } }""",
    )
    assert order["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED"
    assert order["updatedAt"] == f["createdAt"] >= AS_OF
    assert order["fulfillments"][-1]["id"] == f["id"]
    fo = order["fulfillmentOrders"]["nodes"][0]
    assert fo["status"] == "IN_PROGRESS" and [x["remainingQuantity"] for x in fo["lineItems"]["nodes"]] == [0, 1]
    tote_after = shop.level(3003, NEWARK)
    assert tote_after["committed"] == tote_before["committed"] - 1
    assert tote_after["on_hand"] == tote_before["on_hand"] - 1
    assert tote_after["available"] == tote_before["available"]

    rest = shop.data(
        FULFILL,
        {"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/7000002"}]}},
    )["fulfillmentCreate"]
    assert rest["userErrors"] == [] and rest["fulfillment"]["trackingInfo"] == []
    order = shop.order(5000002, "displayFulfillmentStatus fulfillmentOrders(first: 5) { nodes { status } }")
    assert order["displayFulfillmentStatus"] == "FULFILLED"
    assert order["fulfillmentOrders"]["nodes"][0]["status"] == "CLOSED"
    assert shop.counter("shopify.mutation.fulfillmentCreate") == 2

    again = shop.data(
        FULFILL,
        {"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/7000002"}]}},
    )["fulfillmentCreate"]
    assert again["fulfillment"] is None and "unfulfillable status" in again["userErrors"][0]["message"]


def test_fulfillment_create_rejects_excess_quantity(shop: Shop) -> None:
    payload = shop.data(
        FULFILL,
        {
            "f": {
                "lineItemsByFulfillmentOrder": [
                    {
                        "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/7000006",
                        "fulfillmentOrderLineItems": [
                            {"id": "gid://shopify/FulfillmentOrderLineItem/7100009", "quantity": 3}
                        ],
                    }
                ]
            }
        },
    )["fulfillmentCreate"]
    assert payload["fulfillment"] is None
    assert payload["userErrors"][0]["message"] == "Invalid fulfillment order line item quantity requested."
    assert shop.counter("shopify.mutation.fulfillmentCreate") == 0


# --------------------------------------------------------------------------- orderCancel

CANCEL = """mutation($id: ID!, $refund: Boolean!, $restock: Boolean!) {
    orderCancel(orderId: $id, reason: CUSTOMER, refund: $refund, restock: $restock, notifyCustomer: false,
                staffNote: "tt") {
      job { id done } orderCancelUserErrors { field message code } userErrors { field message } } }"""


def test_order_cancel_with_restock_and_no_refund(shop: Shop) -> None:
    tote, mug = shop.level(3003, NEWARK), shop.level(3004, NEWARK)
    payload = shop.data(CANCEL, {"id": "gid://shopify/Order/5000002", "refund": False, "restock": True})["orderCancel"]
    assert payload["orderCancelUserErrors"] == [] and payload["userErrors"] == []
    assert payload["job"]["done"] is False
    assert shop.data("query($id: ID!) { job(id: $id) { done } }", {"id": payload["job"]["id"]})["job"]["done"] is True
    order = shop.order(
        5000002,
        """cancelledAt cancelReason closedAt updatedAt displayFinancialStatus totalRefundedSet { shopMoney { amount } }
           refunds { totalRefundedSet { shopMoney { amount } }
             refundLineItems(first: 5) { nodes { restockType quantity } } }""",
    )
    assert order["cancelledAt"] == order["updatedAt"] >= AS_OF
    assert order["cancelReason"] == "CUSTOMER"
    assert order["displayFinancialStatus"] == "PAID" and order["totalRefundedSet"]["shopMoney"]["amount"] == "0.00"
    assert order["refunds"][0]["totalRefundedSet"]["shopMoney"]["amount"] == "0.00"
    assert {x["restockType"] for x in order["refunds"][0]["refundLineItems"]["nodes"]} == {"CANCEL"}
    for before, after in ((tote, shop.level(3003, NEWARK)), (mug, shop.level(3004, NEWARK))):
        assert after["committed"] == before["committed"] - 1
        assert after["available"] == before["available"] + 1
        assert after["on_hand"] == before["on_hand"]
    assert shop.counter("shopify.refund_money_transactions") == 0
    assert shop.counter("shopify.mutation.orderCancel") == 1

    again = shop.data(CANCEL, {"id": "gid://shopify/Order/5000002", "refund": False, "restock": True})["orderCancel"]
    assert again["job"] is None and again["orderCancelUserErrors"][0]["code"] == "INVALID"
    assert again["userErrors"][0]["message"] == again["orderCancelUserErrors"][0]["message"]


def test_order_cancel_with_refund_moves_money(shop: Shop) -> None:
    shop.data(CANCEL, {"id": "gid://shopify/Order/5000002", "refund": True, "restock": False})
    order = shop.order(
        5000002,
        "displayFinancialStatus totalRefundedSet { shopMoney { amount } } "
        "refunds { transactions(first: 2) { nodes { kind } } }",
    )
    assert order["displayFinancialStatus"] == "REFUNDED"
    assert order["totalRefundedSet"]["shopMoney"]["amount"] == "37.10"
    assert order["refunds"][0]["transactions"]["nodes"] == [{"kind": "REFUND"}]
    assert shop.counter("shopify.refund_money_transactions") == 1
    mug = shop.level(3004, NEWARK)
    assert mug["committed"] == 0 and mug["on_hand"] == 9 and mug["available"] == 9


@pytest.mark.parametrize(
    ("order_id", "code"), [("gid://shopify/Order/1", "NOT_FOUND"), ("gid://shopify/Order/5000001", "INVALID")]
)
def test_order_cancel_errors(shop: Shop, order_id: str, code: str) -> None:
    payload = shop.data(CANCEL, {"id": order_id, "refund": False, "restock": False})["orderCancel"]
    assert payload["orderCancelUserErrors"][0]["code"] == code
    assert shop.counter("shopify.mutation.orderCancel") == 0


# --------------------------------------------------------------------------- refundCreate

REFUND = """mutation($input: RefundInput!) { refundCreate(input: $input) {
    refund { id createdAt note totalRefundedSet { shopMoney { amount currencyCode } }
      refundLineItems(first: 5) { nodes { quantity restockType restocked location { id } lineItem { id sku }
        subtotalSet { shopMoney { amount } } } }
      transactions(first: 5) { nodes { kind gateway amountSet { shopMoney { amount } } } } }
    order { id } userErrors { field message } } }"""


def test_record_only_refund_with_return_restock(shop: Shop) -> None:
    before = shop.level(3001, NEWARK)
    payload = shop.data(
        REFUND,
        {
            "input": {
                "orderId": "gid://shopify/Order/5000001",
                "note": "TikTok Shop return 4035000000000000009",
                "notify": False,
                "refundLineItems": [
                    {
                        "lineItemId": "gid://shopify/LineItem/6000001",
                        "quantity": 1,
                        "restockType": "RETURN",
                        "locationId": NEWARK,
                    }
                ],
            }
        },
    )["refundCreate"]
    assert payload["userErrors"] == []
    refund = payload["refund"]
    assert refund["totalRefundedSet"]["shopMoney"] == {"amount": "0.00", "currencyCode": "USD"}
    assert refund["transactions"]["nodes"] == []
    line = refund["refundLineItems"]["nodes"][0]
    assert line == {
        "quantity": 1,
        "restockType": "RETURN",
        "restocked": True,
        "location": {"id": NEWARK},
        "lineItem": {"id": "gid://shopify/LineItem/6000001", "sku": "TEE-BLK-M"},
        "subtotalSet": {"shopMoney": {"amount": "21.00"}},
    }
    after = shop.level(3001, NEWARK)
    assert after["available"] == before["available"] + 1 and after["on_hand"] == before["on_hand"] + 1
    order = shop.order(
        5000001, "updatedAt displayFinancialStatus totalRefundedSet { shopMoney { amount } } refunds { id }"
    )
    assert order["displayFinancialStatus"] == "PAID" and order["totalRefundedSet"]["shopMoney"]["amount"] == "0.00"
    assert order["updatedAt"] == refund["createdAt"] >= AS_OF
    assert order["refunds"][-1]["id"] == refund["id"]
    assert shop.counter("shopify.refund_money_transactions") == 0
    assert shop.counter("shopify.mutation.refundCreate") == 1


def test_money_refund_counts_transactions(shop: Shop) -> None:
    payload = shop.data(
        REFUND,
        {
            "input": {
                "orderId": "gid://shopify/Order/5000004",
                "refundLineItems": [
                    {"lineItemId": "gid://shopify/LineItem/6000006", "quantity": 1, "restockType": "NO_RESTOCK"}
                ],
                "transactions": [
                    {
                        "amount": "18.00",
                        "gateway": "TikTok Shop",
                        "kind": "REFUND",
                        "orderId": "gid://shopify/Order/5000004",
                    }
                ],
            }
        },
    )["refundCreate"]
    assert payload["userErrors"] == []
    assert payload["refund"]["totalRefundedSet"]["shopMoney"]["amount"] == "18.00"
    order = shop.order(
        5000004,
        "displayFinancialStatus totalRefundedSet { shopMoney { amount } } netPaymentSet { shopMoney { amount } }",
    )
    assert order["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert order["totalRefundedSet"]["shopMoney"]["amount"] == "18.00"
    assert order["netPaymentSet"]["shopMoney"]["amount"] == "21.00"
    assert shop.counter("shopify.refund_money_transactions") == 1


def test_refund_cannot_exceed_purchased_quantity(shop: Shop) -> None:
    payload = shop.data(
        REFUND,
        {
            "input": {
                "orderId": "gid://shopify/Order/5000004",
                "refundLineItems": [{"lineItemId": "gid://shopify/LineItem/6000005", "quantity": 1}],
            }
        },
    )["refundCreate"]
    assert payload["refund"] is None
    assert payload["userErrors"][0]["field"] == ["refundLineItems", "0", "quantity"]
    assert shop.counter("shopify.mutation.refundCreate") == 0


# --------------------------------------------------------------------------- tagsAdd and incremental re-extract


def test_tags_add_bumps_updated_at_and_resurfaces_in_paging(shop: Shop) -> None:
    query = """query($after: String) { orders(first: 2, after: $after, sortKey: UPDATED_AT) {
        nodes { id updatedAt tags } pageInfo { hasNextPage endCursor } } }"""
    page = shop.data(query)["orders"]
    touched = page["nodes"][0]["id"]
    payload = shop.data(
        'mutation($id: ID!) { tagsAdd(id: $id, tags: ["recon:checked", "TikTok"]) '
        "{ node { id } userErrors { field message } } }",
        {"id": touched},
    )["tagsAdd"]
    assert payload == {"node": {"id": touched}, "userErrors": []}
    seen = [n["id"] for n in page["nodes"]]
    after = page["pageInfo"]["endCursor"]
    while True:
        page = shop.data(query, {"after": after})["orders"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen.count(touched) == 2 and seen[-1] == touched
    assert len(set(seen)) == 6
    order = shop.data(f'{{ order(id: "{touched}") {{ tags updatedAt }} }}')["order"]
    assert "recon:checked" in order["tags"] and order["tags"].count("TikTok") == 1
    assert order["updatedAt"] >= AS_OF
    fresh = shop.data("{ orders(first: 10, query: \"updated_at:>='2026-11-20T00:00:00Z'\") { nodes { id } } }")
    assert fresh["orders"]["nodes"] == [{"id": touched}]


def test_write_stamps_strictly_increase(shop: Shop) -> None:
    stamps = []
    for tag in ("a", "b", "c"):
        shop.data(f'mutation {{ tagsAdd(id: "gid://shopify/Order/5000003", tags: ["{tag}"]) {{ node {{ id }} }} }}')
        stamps.append(shop.order(5000003, "updatedAt")["updatedAt"])
    assert stamps == sorted(stamps) and len(set(stamps)) == 3


# --------------------------------------------------------------------------- bulk operations

RUN_BULK = """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
    bulkOperation { id status } userErrors { field message code } } }"""
POLL = """{ currentBulkOperation {
    id status errorCode createdAt completedAt objectCount fileSize url partialDataUrl query } }"""

BULK_ORDERS = """{ orders(query: "updated_at:>='2026-11-01T00:00:00Z'") { edges { node {
    id name totalPriceSet { shopMoney { amount } }
    refunds { id refundLineItems { edges { node { quantity lineItem { id } } } } }
    lineItems { edges { node { id sku quantity } } }
    fulfillmentOrders { nodes { id status } } } } } }"""


def _run_to_end(shop: Shop, query: str) -> dict[str, Any]:
    started = shop.data(RUN_BULK, {"q": query})["bulkOperationRunQuery"]
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "CREATED"
    return _poll_to_end(shop, started["bulkOperation"]["id"])


def _poll_to_end(shop: Shop, op_id: str) -> dict[str, Any]:
    statuses = []
    for _ in range(50):
        op = shop.data(POLL)["currentBulkOperation"]
        statuses.append(op["status"])
        if op["status"] not in ("CREATED", "RUNNING"):
            assert op["id"] == op_id
            assert statuses[0] == "RUNNING"
            return op
        time.sleep(0.01)
    raise AssertionError(f"bulk operation never finished: {statuses}")


def _lines(shop: Shop, url: str) -> list[dict[str, Any]]:
    resp = httpx.get(url)
    assert resp.status_code == 200
    return [json.loads(line) for line in resp.text.splitlines()]


def test_bulk_query_jsonl_flattens_nested_connections(shop: Shop) -> None:
    body = shop.gql(RUN_BULK, {"q": "{ locations { edges { node { id } } } }"})
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10
    op = _poll_to_end(shop, body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"])
    assert [x["id"] for x in _lines(shop, op["url"])] == [NEWARK, RENO]
    shop.srv.ctx.config.bulk.polls_until_complete = 2
    op = _run_to_end(shop, BULK_ORDERS)
    assert op["status"] == "COMPLETED" and op["errorCode"] is None and op["completedAt"]
    lines = _lines(shop, op["url"])
    assert op["objectCount"] == str(len(lines)) and isinstance(op["fileSize"], str)
    orders = [
        r for r in shop.srv.ctx.state.connection("us").shopify["orders"] if r["updatedAt"] >= "2026-11-01T00:00:00Z"
    ]
    roots = [line for line in lines if "__parentId" not in line]
    assert [r["id"] for r in roots] == [o["id"] for o in sorted(orders, key=lambda o: o["processedAt"])]
    assert all("lineItems" not in r and "fulfillmentOrders" not in r for r in roots)
    refunded = next(r for r in roots if r["id"] == "gid://shopify/Order/5000004")
    assert refunded["refunds"][0]["id"] == "gid://shopify/Refund/8500001"
    assert "refundLineItems" not in refunded["refunds"][0]
    children = [line for line in lines if "__parentId" in line]
    line_items = [c for c in children if c.get("id", "").startswith("gid://shopify/LineItem/")]
    assert len(line_items) == sum(len(o["lineItems"]["nodes"]) for o in orders)
    assert all(list(c)[-1] == "__parentId" for c in children)
    refund_lines = [c for c in children if "lineItem" in c]
    assert refund_lines == [
        {
            "quantity": 1,
            "lineItem": {"id": "gid://shopify/LineItem/6000005"},
            "__parentId": "gid://shopify/Refund/8500001",
        },
        {
            "quantity": 1,
            "lineItem": {"id": "gid://shopify/LineItem/6000007"},
            "__parentId": "gid://shopify/Refund/8500002",
        },
    ]
    index = {line.get("id"): i for i, line in enumerate(lines)}
    for i, child in enumerate(lines):
        if "__parentId" in child and child["__parentId"] in index:
            assert index[child["__parentId"]] < i, "children follow their parent"


def test_bulk_nodes_form_and_products(shop: Shop) -> None:
    op = _run_to_end(
        shop,
        "{ products { nodes { id title variants { nodes { id sku inventoryItem { id } } } "
        "images { nodes { url } } } } }",
    )
    lines = _lines(shop, op["url"])
    variants = [x for x in lines if x.get("id", "").startswith("gid://shopify/ProductVariant/")]
    assert len(variants) == 5
    assert {v["__parentId"] for v in variants} == {
        "gid://shopify/Product/1001",
        "gid://shopify/Product/1002",
        "gid://shopify/Product/1003",
    }
    images = [x for x in lines if "url" in x]
    assert len(images) == 3 and all(x["__parentId"].startswith("gid://shopify/Product/") for x in images)


def test_bulk_one_at_a_time_and_invalid_queries(shop: Shop) -> None:
    shop.srv.ctx.config.bulk.polls_until_complete = 5
    first = shop.data(RUN_BULK, {"q": "{ orders { edges { node { id } } } }"})["bulkOperationRunQuery"]
    assert first["userErrors"] == []
    second = shop.data(RUN_BULK, {"q": "{ orders { edges { node { id } } } }"})["bulkOperationRunQuery"]
    assert second["bulkOperation"] is None
    assert second["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
    assert first["bulkOperation"]["id"] in second["userErrors"][0]["message"]
    shop.data(
        "mutation($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { status } userErrors { message } } }",
        {"id": first["bulkOperation"]["id"]},
    )
    for bad in (
        "{ shop { name } }",
        "{ orders { nodes { nope } } }",
        "{ orders { nodes { name lineItems { nodes { id } } } } }",
    ):
        payload = shop.data(RUN_BULK, {"q": bad})["bulkOperationRunQuery"]
        assert payload["bulkOperation"] is None and payload["userErrors"][0]["code"] == "INVALID", bad


def test_bulk_failure_exposes_partial_data(shop: Shop) -> None:
    shop.srv.ctx.config.bulk.fail_next = True
    op = _run_to_end(shop, "{ orders { edges { node { id name } } } }")
    assert op["status"] == "FAILED" and op["errorCode"] == "INTERNAL_SERVER_ERROR"
    assert op["url"] is None and op["partialDataUrl"]
    partial = _lines(shop, op["partialDataUrl"])
    assert 0 < len(partial) < 6 and all(set(x) == {"id", "name"} for x in partial)
    assert shop.srv.ctx.config.bulk.fail_next is False
    again = _run_to_end(shop, "{ orders { edges { node { id name } } } }")
    assert again["status"] == "COMPLETED" and len(_lines(shop, again["url"])) == 6
    node = shop.data("query($id: ID!) { node(id: $id) { ... on BulkOperation { status } } }", {"id": again["id"]})
    assert node["node"] == {"status": "COMPLETED"}


def test_record_only_shipping_refund_is_a_refund_shipping_line(shop: Shop) -> None:
    """A mirrored cancellation refunds shipping too: the amount lives in refundShippingLines, no money moves."""
    payload = shop.data(
        """mutation($input: RefundInput!) { refundCreate(input: $input) {
            refund { totalRefundedSet { shopMoney { amount } } transactions(first: 5) { nodes { kind } }
                     refundShippingLines(first: 5) { nodes { id subtotalAmountSet { shopMoney { amount } } } } }
            userErrors { field message } } }""",
        {
            "input": {
                "orderId": "gid://shopify/Order/5000001",
                "note": "TikTok Shop cancellation 1",
                "shipping": {"amount": "4.99"},
            }
        },
    )["refundCreate"]
    assert payload["userErrors"] == []
    refund = payload["refund"]
    assert refund["transactions"]["nodes"] == []
    assert refund["totalRefundedSet"]["shopMoney"]["amount"] == "0.00"
    lines = refund["refundShippingLines"]["nodes"]
    assert [n["subtotalAmountSet"]["shopMoney"]["amount"] for n in lines] == ["4.99"]
    assert lines[0]["id"].startswith("gid://shopify/RefundShippingLine/")
    assert shop.counter("shopify.refund_money_transactions") == 0


def test_order_cancel_staff_note_names_the_cancellation_refund(shop: Shop) -> None:
    """A repair cancels with a staff note naming the TikTok cancellation; the refund record carries it."""
    payload = shop.data(
        """mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, refund: false, restock: true,
              staffNote: "TikTok Shop cancellation 4036000000000000001") {
            job { id } orderCancelUserErrors { code } } }""",
        {"id": "gid://shopify/Order/5000002"},
    )["orderCancel"]
    assert payload["orderCancelUserErrors"] == []
    note = shop.order(5000002, "refunds { note }")["refunds"][-1]["note"]
    assert "TikTok Shop cancellation 4036000000000000001" in note
