"""The Shopify client: pacing arithmetic, error typing, nested completion, writes, bulk operations."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from extract.common.errors import ApiError, AuthError, OutcomeUnknown
from extract.common.http import CallStats
from extract.shopify import ShopifyClient
from extract.shopify import queries as q
from extract.shopify.bulk import BulkOperationFailed, BulkRunner
from extract.shopify.client import FieldErrors
from sandbox.state import load_state
from shoptok.connections import ShopifyConnection
from tests.extract.shopify_support import FAST, Sandbox, serving

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini_scenario"
TOKEN = "shpat_unit_token_42"


# --------------------------------------------------------------------------- against a scripted server


class Clock:
    """A fake monotonic clock that only ``sleep`` moves, so waits can be checked exactly."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def scripted(answers: list[tuple[int, dict[str, Any]]], seen: list[dict[str, Any]] | None = None) -> httpx.Client:
    replies = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append({"headers": dict(request.headers), "body": json.loads(request.content)})
        status, body = next(replies)
        return httpx.Response(status, json=body, headers={"x-request-id": "req-123"})

    return httpx.Client(transport=httpx.MockTransport(handler))


def cost(available: float, requested: int = 1, actual: int | None = 1, maximum: float = 200, rate: float = 50) -> dict:
    status = {"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": rate}
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}}


def client_for(answers: list[tuple[int, dict[str, Any]]], **kw: Any) -> tuple[ShopifyClient, Clock]:
    clock = Clock()
    conn = ShopifyConnection("unit.myshopify.com", TOKEN)
    client = ShopifyClient(
        conn, FAST, CallStats(), clock.sleep, clock.monotonic, http=scripted(answers, kw.get("seen"))
    )
    return client, clock


def test_waits_exactly_the_deficit_before_a_query_the_bucket_cannot_admit() -> None:
    client, clock = client_for([(200, {"data": {"shop": {"id": "1"}}, "extensions": cost(100)})] * 2)
    client.execute("{ shop { id } }", expected_cost=1)
    assert clock.sleeps == []  # nothing known yet, nothing to wait for
    client.execute("{ shop { id } }", expected_cost=150)
    assert clock.sleeps == [1.0]  # (150 - 100) / 50 per second
    assert client.cost.paced_s == 1.0 and client.stats.throttled == 0


def test_a_throttled_answer_is_retried_after_the_refill_time_and_counted() -> None:
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": cost(20, 120, None),
    }
    ok = {"data": {"shop": {"id": "1"}}, "extensions": cost(80, 120, 3)}
    seen: list[dict[str, Any]] = []
    client, clock = client_for([(200, throttled), (200, ok)], seen=seen)
    assert client.execute("{ shop { id } }", expected_cost=10).data == {"shop": {"id": "1"}}
    assert client.stats.throttled == 1
    assert max(clock.sleeps) >= (120 - 20) / 50
    assert seen[0]["headers"]["x-shopify-access-token"] == TOKEN
    assert client.cost.actual == 3 and client.cost.queries == 1


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (401, {"errors": "[API] Invalid API key or access token"}, AuthError, "access token rejected"),
        (200, {"errors": [{"message": "no", "extensions": {"code": "ACCESS_DENIED"}}]}, AuthError, "ACCESS_DENIED"),
        (200, {"errors": [{"message": "Field 'nope' doesn't exist"}]}, ApiError, "doesn't exist"),
        (200, {"errors": [{"message": "bad", "path": ["orders", "nodes", 0, "x"]}], "data": None}, FieldErrors, "bad"),
        (404, {"errors": "Not Found"}, ApiError, "Not Found"),
    ],
)
def test_errors_are_typed_and_carry_the_request_id(status: int, body: dict, error: type, words: str) -> None:
    client, _ = client_for([(status, {**body, "extensions": cost(100)})])
    with pytest.raises(error) as exc:
        client.execute("{ shop { id } }")
    assert words in str(exc.value) and "req-123" in str(exc.value)
    assert TOKEN not in str(exc.value) and "unit.myshopify.com" not in str(exc.value)


def test_record_only_refunds_refuse_transactions_before_sending() -> None:
    client, _ = client_for([])
    with pytest.raises(ValueError, match="never sends transactions"):
        client.refund_create_record_only(
            "gid://shopify/Order/1", "x", [], transactions=[{"amount": "1.00", "gateway": "x", "kind": "REFUND"}]
        )
    with pytest.raises(ValueError, match="compareQuantity"):
        client.inventory_set_quantities(
            "available", "correction", [{"inventoryItemId": "i", "locationId": "l", "quantity": 1}]
        )
    with pytest.raises(ValueError, match="cancel reason"):
        client.order_cancel("gid://shopify/Order/1", "BORED")
    assert client.stats.calls == 0


# --------------------------------------------------------------------------- against the sandbox


def big_order(template: dict[str, Any]) -> dict[str, Any]:
    """An order past every nested page size: 23 lines, 4 refunds of 7 lines, 3 fulfillment orders..."""
    order = copy.deepcopy(template)
    oid = 9_990_000
    order.update(
        id=f"gid://shopify/Order/{oid}", legacyResourceId=str(oid), name="#BIG1", updatedAt="2026-11-20T11:00:00Z"
    )
    money = {"shopMoney": {"amount": "1.00", "currencyCode": "USD"}}
    lines = [
        {
            "id": f"gid://shopify/LineItem/{oid + i}",
            "sku": f"BIG-{i}",
            "quantity": 1,
            "variant": None,
            "originalUnitPriceSet": money,
            "discountedTotalSet": money,
        }
        for i in range(23)
    ]
    order["lineItems"] = {"nodes": lines}
    order["refunds"] = [
        {
            "id": f"gid://shopify/Refund/{oid + r}",
            "createdAt": "2026-11-20T10:00:00Z",
            "note": f"refund {r}",
            "totalRefundedSet": money,
            "refundLineItems": {
                "nodes": [
                    {
                        "id": f"gid://shopify/RefundLineItem/{oid + 100 * r + i}",
                        "quantity": 1,
                        "restockType": "NO_RESTOCK",
                        "restocked": False,
                        "location": None,
                        "lineItem": {"id": lines[i]["id"], "sku": lines[i]["sku"]},
                        "subtotalSet": money,
                    }
                    for i in range(7)
                ]
            },
            "refundShippingLines": {
                "nodes": [
                    {"id": f"gid://shopify/RefundShippingLine/{oid + 10 * r + i}", "subtotalAmountSet": money}
                    for i in range(3)
                ]
            },
            "transactions": {
                "nodes": [
                    {
                        "id": f"gid://shopify/OrderTransaction/{oid + 500 + 10 * r + i}",
                        "kind": "REFUND",
                        "status": "SUCCESS",
                        "gateway": "manual",
                        "amountSet": money,
                        "processedAt": "2026-11-20T10:00:00Z",
                    }
                    for i in range(3)
                ]
            },
        }
        for r in range(4)
    ]
    order["fulfillmentOrders"] = {
        "nodes": [
            {
                "id": f"gid://shopify/FulfillmentOrder/{oid + f}",
                "status": "OPEN",
                "assignedLocation": {"location": {"id": "gid://shopify/Location/101"}},
                "lineItems": {
                    "nodes": [
                        {
                            "id": f"gid://shopify/FulfillmentOrderLineItem/{oid + 100 * f + i}",
                            "totalQuantity": 1,
                            "remainingQuantity": 1,
                            "lineItem": {"id": lines[i]["id"], "sku": lines[i]["sku"]},
                        }
                        for i in range(12 if f == 0 else 2)
                    ]
                },
            }
            for f in range(3)
        ]
    }
    order["fulfillments"] = [
        {
            "id": f"gid://shopify/Fulfillment/{oid + f}",
            "status": "SUCCESS",
            "createdAt": "2026-11-20T09:00:00Z",
            "trackingInfo": [{"number": f"T{f}-{t}", "company": "UPS", "url": None} for t in range(6)],
        }
        for f in range(6)
    ]
    order["transactions"] = [
        {
            "id": f"gid://shopify/OrderTransaction/{oid + t}",
            "kind": "SALE",
            "status": "SUCCESS",
            "gateway": "manual",
            "amountSet": money,
            "processedAt": "2026-11-20T09:00:00Z",
        }
        for t in range(7)
    ]
    return order


@pytest.fixture(scope="module")
def mini() -> Iterator[tuple[Sandbox, dict[str, Any]]]:
    state = load_state(MINI)
    orders = state.connection("us").shopify["orders"]
    big = big_order(orders[0])
    orders.append(big)
    with serving(state) as sandbox:
        yield sandbox, big


def shape(order: dict[str, Any]) -> dict[str, Any]:
    """Ids of everything nested in an order, in the order the API lists them."""
    return {
        "lines": [n["id"] for n in order["lineItems"]["nodes"]],
        "refunds": [
            (
                r["id"],
                [n["id"] for n in r["refundLineItems"]["nodes"]],
                [n["id"] for n in r["refundShippingLines"]["nodes"]],
                [n["id"] for n in r["transactions"]["nodes"]],
            )
            for r in order["refunds"]
        ],
        "fos": [(fo["id"], [n["id"] for n in fo["lineItems"]["nodes"]]) for fo in order["fulfillmentOrders"]["nodes"]],
        "fulfillments": [(f["id"], [t["number"] for t in f["trackingInfo"]]) for f in order["fulfillments"]],
        "transactions": [t["id"] for t in order["transactions"]],
    }


@pytest.mark.parametrize("bucket", [1000, 200])
def test_nested_connections_and_lists_are_completed_not_truncated(mini, bucket: int) -> None:
    sandbox, big = mini
    sandbox.config(shopify_throttle={"maximum_available": bucket})
    try:
        client = sandbox.client("us")
        by_id = {}
        for page in client.pages(q.root_listing(q.ORDERS), {"query": None}):
            assert not page.poisoned
            by_id.update({r["id"]: r for r in page.records})
        assert shape(by_id[big["id"]]) == shape(big)
        assert shape(client.order(big["id"])) == shape(big)
        bulk = next(r for r in BulkRunner(client).records(q.ORDERS, None) if r["id"] == big["id"])
        assert shape(bulk) == shape(big)
        assert client.cost.requested <= client.cost.queries * bucket
    finally:
        sandbox.config(shopify_throttle={"maximum_available": 2000})


def test_writes_return_payload_user_errors_and_request_id(mini) -> None:
    sandbox, big = mini
    client = sandbox.client("us")
    done = client.tags_add(big["id"], ["checked"])
    assert done.ok and done.request_id and done.payload == {"node": {"id": big["id"]}, "userErrors": []}
    unfulfilled = "gid://shopify/Order/5000002"
    assert client.order_cancel(unfulfilled, "OTHER").ok
    again = client.order_cancel(unfulfilled, "OTHER")
    assert not again.ok and "already been cancelled" in again.user_errors[0]["message"]
    missing = client.fulfillment_create("gid://shopify/FulfillmentOrder/1", None, None)
    assert not missing.ok and missing.user_errors
    stored = sandbox.records("us", "inventory_levels")[0]
    level = client.inventory_level(stored["item"]["id"], stored["location"]["id"])
    assert level is not None and level["id"] == stored["id"]
    assert [q["name"] for q in level["quantities"]] == ["available", "committed", "on_hand"]
    assert client.inventory_level(stored["item"]["id"], "gid://shopify/Location/999") is None


def test_an_ambiguous_write_is_not_repeated(mini) -> None:
    sandbox, big = mini
    client = sandbox.client("us")
    before = sandbox.counters().get("shopify.mutation.tagsAdd", 0)
    sandbox.faults(p_cut=1.0, seed=3)
    try:
        with pytest.raises(OutcomeUnknown) as exc:
            client.tags_add(big["id"], ["maybe"])
    finally:
        sandbox.faults(p_cut=0)
    assert sandbox.counters()["shopify.mutation.tagsAdd"] == before + 1  # applied once, answer lost, not re-sent
    assert "re-read" in str(exc.value)
    assert sandbox.srv.ctx.state.connection("us").manifest["shopify"]["access_token"] not in str(exc.value)


def submit(client: ShopifyClient, text: str) -> dict[str, Any]:
    mutation = "mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } userErrors { code } } }"
    return client.execute(mutation, {"q": text}).data["bulkOperationRunQuery"]


def test_bulk_adopts_its_own_running_operation_and_waits_for_others(mini) -> None:
    sandbox, _ = mini
    client = sandbox.client("us")
    runner = BulkRunner(client)
    ours = q.bulk_query(q.PRODUCTS, None)
    before = sandbox.counters().get("shopify.mutation.bulkOperationRunQuery", 0)
    assert submit(client, ours)["bulkOperation"]  # as if our first submission's answer had been lost
    path = runner.run(ours)
    assert path is not None and sum(1 for _ in path.open()) > 0
    path.unlink()
    assert sandbox.counters()["shopify.mutation.bulkOperationRunQuery"] == before + 1  # adopted, not re-run

    other = q.bulk_query(q.location_levels_bulk(None), None)
    assert submit(client, other)["bulkOperation"]
    products = list(runner.records(q.PRODUCTS, None))  # waits for the other operation, then runs
    assert len(products) == len(sandbox.records("us", "products"))
    assert sandbox.counters()["shopify.mutation.bulkOperationRunQuery"] == before + 3


def test_a_failed_bulk_operation_raises_a_typed_error(mini) -> None:
    sandbox, _ = mini
    sandbox.config(bulk={"fail_next": True})
    with pytest.raises(BulkOperationFailed) as exc:
        BulkRunner(sandbox.client("us")).run(q.bulk_query(q.bulk_parts(q.ORDERS)[0], None))
    assert exc.value.status == "FAILED" and exc.value.error_code == "INTERNAL_SERVER_ERROR"
    assert exc.value.partial_data_url and exc.value.partial_data_url not in str(exc.value)


def test_the_access_token_is_only_ever_a_header(mini) -> None:
    sandbox, _ = mini
    seen: list[httpx.Request] = []
    hook: Callable[[httpx.Request], None] = seen.append
    client = sandbox.client("us", http=httpx.Client(event_hooks={"request": [hook]}))
    client.execute("{ shop { id } }")
    token = client.conn.access_token
    assert seen[0].headers["x-shopify-access-token"] == token
    assert token not in str(seen[0].url) and token.encode() not in seen[0].content
    wrong = ShopifyConnection(client.conn.shop_domain, "shpat_wrong_token_x1", base_url=client.conn.base_url)
    with pytest.raises(AuthError) as exc:
        ShopifyClient(wrong, FAST).execute("{ shop { id } }")
    assert "shpat_wrong_token_x1" not in str(exc.value)


def test_a_lower_query_cost_limit_is_learned_and_pages_shrink(mini) -> None:
    sandbox, big = mini
    sandbox.config(shopify_throttle={"max_query_cost": 400})
    try:
        client = sandbox.client("us")
        records = [r for page in client.pages(q.root_listing(q.ORDERS), {"query": None}) for r in page.records]
    finally:
        sandbox.config(shopify_throttle={"max_query_cost": 1000})
    assert client.max_query_cost == 400 and client.budget == 400
    assert len(records) == len(sandbox.records("us", "orders"))
    assert shape(next(r for r in records if r["id"] == big["id"])) == shape(big)


def test_a_short_bulk_download_is_fetched_again() -> None:
    body = b'{"id":"gid://shopify/Product/1"}\n{"id":"gid://shopify/Product/2"}\n'
    op = {
        "id": "gid://shopify/BulkOperation/1",
        "status": "COMPLETED",
        "objectCount": "2",
        "fileSize": str(len(body)),
        "url": "https://storage.example/result.jsonl?signature=abcdef123456",
    }
    downloads: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            downloads.append(dict(request.headers))
            return httpx.Response(200, content=body[: len(body) // 2] if len(downloads) == 1 else body)
        data = {"bulkOperationRunQuery": {"bulkOperation": op, "userErrors": []}}
        return httpx.Response(200, json={"data": data, "extensions": cost(100)})

    clock = Clock()
    client = ShopifyClient(
        ShopifyConnection("unit.myshopify.com", TOKEN),
        FAST,
        CallStats(),
        clock.sleep,
        clock.monotonic,
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    path = BulkRunner(client).run(q.bulk_query(q.PRODUCTS, None))
    assert path is not None and path.read_bytes() == body
    path.unlink()
    assert len(downloads) == 2 and client.stats.retries == 1
    assert all("x-shopify-access-token" not in h for h in downloads)
