"""The Shopify Admin GraphQL emulator over real HTTP: auth, reads, paging, search, cost, faults."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.server import SandboxServer
from sandbox.state import load_state

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini_scenario"
SHOP = "mini-us.myshopify.com"
TOKEN = "shpat_mini_us_token"


class Shop:
    """A thin client: what an extractor would send, with the test's assertions on transport."""

    def __init__(self, srv: SandboxServer):
        self.srv = srv
        self.base = srv.shopify_base(SHOP)
        self.url = f"{self.base}/admin/api/2025-01/graphql.json"
        self.http = httpx.Client(timeout=10)

    def post(self, query: str, variables: dict[str, Any] | None = None, token: str | None = TOKEN) -> httpx.Response:
        headers = {"X-Shopify-Access-Token": token} if token is not None else {}
        return self.http.post(self.url, json={"query": query, "variables": variables or {}}, headers=headers)

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.post(query, variables)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.gql(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def records(self, entity: str) -> list[dict[str, Any]]:
        resp = self.http.get(f"{self.srv.base_url}/_sandbox/records/us/shopify/{entity}")
        return [json.loads(line) for line in resp.text.splitlines()]


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    srv = SandboxServer(load_state(MINI)).start()
    try:
        yield Shop(srv)
    finally:
        srv.stop()


@pytest.fixture(autouse=True)
def _fresh_bucket(shop: Shop) -> Iterator[None]:
    """Reads share one server; give every test a full bucket and default throttle settings."""
    cfg = shop.srv.ctx.config.shopify_throttle
    cfg.maximum_available, cfg.restore_rate, cfg.max_query_cost = 2000.0, 100.0, 1000
    emulator = _emulator(shop)
    emulator.buckets._state.clear()
    yield
    cfg.maximum_available, cfg.restore_rate, cfg.max_query_cost = 2000.0, 100.0, 1000
    shop.srv.ctx.config.faults["shopify"].update({"p_500": 0.0, "p_truncate": 0.0})


def _emulator(shop: Shop) -> Any:
    for route in shop.srv.app.app.routes:
        if getattr(route, "path", "") == "/shopify/{shop}":
            return route.app.state.emulator
    raise AssertionError("shopify mount not found")


# --------------------------------------------------------------------------- auth and transport


def test_missing_or_wrong_token_is_401_with_shopify_body(shop: Shop) -> None:
    expected = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    for token in (None, "shpat_wrong"):
        resp = shop.post("{ shop { name } }", token=token)
        assert resp.status_code == 401
        assert resp.json() == expected


def test_unknown_shop_is_404(shop: Shop) -> None:
    url = f"{shop.srv.base_url}/shopify/nope.myshopify.com/admin/api/2025-01/graphql.json"
    resp = shop.http.post(url, json={"query": "{ shop { name } }"}, headers={"X-Shopify-Access-Token": TOKEN})
    assert resp.status_code == 404


def test_shop_and_version_header(shop: Shop) -> None:
    resp = shop.post("{ shop { name currencyCode myshopifyDomain } }")
    assert resp.headers["x-shopify-api-version"] == "2025-01"
    assert resp.json()["data"]["shop"] == {"name": "Mini US", "currencyCode": "USD", "myshopifyDomain": SHOP}


def test_invalid_query_reports_graphql_errors(shop: Shop) -> None:
    body = shop.gql("{ orders(first: 1) { nodes { notAField } } }")
    assert "data" not in body and body["errors"][0]["message"]
    body = shop.gql("{ orders { nodes { id } } }")
    assert body["errors"][0]["message"] == "you must provide one of first or last"


# --------------------------------------------------------------------------- paging


CONNECTIONS = {
    "orders": ("orders", "{ id }"),
    "products": ("products", "{ id }"),
    "productVariants": ("products", None),
    "locations": ("locations", "{ id }"),
    "inventoryItems": ("products", None),
}


def _expected_ids(shop: Shop, field: str) -> set[str]:
    if field == "productVariants":
        return {v["id"] for p in shop.records("products") for v in p["variants"]["nodes"]}
    if field == "inventoryItems":
        return {v["inventoryItem"]["id"] for p in shop.records("products") for v in p["variants"]["nodes"]}
    return {r["id"] for r in shop.records(CONNECTIONS[field][0])}


def _walk(shop: Shop, field: str, size: int, extra: str = "", form: str = "edges") -> list[str]:
    selection = "edges { cursor node { id } }" if form == "edges" else "nodes { id }"
    query = (
        f"query($n: Int!, $after: String) {{ {field}(first: $n, after: $after{extra}) "
        f"{{ {selection} pageInfo {{ hasNextPage endCursor }} }} }}"
    )
    seen: list[str] = []
    after = None
    for _ in range(100):
        conn = shop.data(query, {"n": size, "after": after})[field]
        items = [e["node"]["id"] for e in conn["edges"]] if form == "edges" else [n["id"] for n in conn["nodes"]]
        assert len(items) <= size
        seen.extend(items)
        if not conn["pageInfo"]["hasNextPage"]:
            return seen
        after = conn["pageInfo"]["endCursor"]
    raise AssertionError("paging did not terminate")


@pytest.mark.parametrize("field", list(CONNECTIONS))
def test_paging_is_complete_without_repeats(shop: Shop, field: str) -> None:
    expected = _expected_ids(shop, field)
    for size in range(1, len(expected) + 2):
        seen = _walk(shop, field, size, form="edges" if size % 2 else "nodes")
        assert len(seen) == len(set(seen)), f"{field} page size {size} repeated ids"
        assert set(seen) == expected, f"{field} page size {size}"


@pytest.mark.parametrize(
    "extra",
    [", sortKey: UPDATED_AT", ", sortKey: CREATED_AT, reverse: true", ", sortKey: ID, reverse: true", ""],
)
def test_order_paging_under_sort_keys(shop: Shop, extra: str) -> None:
    expected = _expected_ids(shop, "orders")
    for size in (1, 2, 4):
        seen = _walk(shop, "orders", size, extra)
        assert len(seen) == len(set(seen)) and set(seen) == expected


def test_sort_order_and_reverse(shop: Shop) -> None:
    records = shop.records("orders")
    by_updated = [r["id"] for r in sorted(records, key=lambda r: (r["updatedAt"], int(r["legacyResourceId"])))]
    got = shop.data("{ orders(first: 10, sortKey: UPDATED_AT) { nodes { id } } }")["orders"]["nodes"]
    assert [n["id"] for n in got] == by_updated
    got = shop.data("{ orders(first: 10, sortKey: UPDATED_AT, reverse: true) { nodes { id } } }")["orders"]["nodes"]
    assert [n["id"] for n in got] == by_updated[::-1]


def test_backward_paging_with_last_and_before(shop: Shop) -> None:
    expected = [r["id"] for r in sorted(shop.records("orders"), key=lambda r: int(r["legacyResourceId"]))]
    query = (
        "query($before: String) { orders(last: 2, before: $before, sortKey: ID) "
        "{ nodes { id } pageInfo { hasPreviousPage startCursor } } }"
    )
    seen: list[str] = []
    before = None
    while True:
        conn = shop.data(query, {"before": before})["orders"]
        seen = [n["id"] for n in conn["nodes"]] + seen
        if not conn["pageInfo"]["hasPreviousPage"]:
            break
        before = conn["pageInfo"]["startCursor"]
    assert seen == expected


def test_cursor_is_opaque_base64_of_last_id_and_value(shop: Shop) -> None:
    import base64

    edge = shop.data("{ orders(first: 1, sortKey: UPDATED_AT) { edges { cursor node { id updatedAt } } } }")
    edge = edge["orders"]["edges"][0]
    decoded = json.loads(base64.b64decode(edge["cursor"]))
    assert decoded == {"last_id": int(edge["node"]["id"].rsplit("/", 1)[1]), "last_value": edge["node"]["updatedAt"]}
    body = shop.gql('{ orders(first: 1, after: "not-a-cursor") { nodes { id } } }')
    assert "Invalid cursor" in body["errors"][0]["message"]


def test_nested_connections_page(shop: Shop) -> None:
    query = """query($after: String) { order(id: "gid://shopify/Order/5000002") {
        lineItems(first: 1, after: $after) { edges { cursor node { sku } } pageInfo { hasNextPage endCursor } } } }"""
    skus, after = [], None
    while True:
        conn = shop.data(query, {"after": after})["order"]["lineItems"]
        skus += [e["node"]["sku"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert skus == ["TOTE-NAT", "MUG-11OZ"]


def test_location_inventory_levels_page_and_quantities(shop: Shop) -> None:
    query = """query($after: String) { location(id: "gid://shopify/Location/102") {
        inventoryLevels(first: 2, after: $after) { nodes { id updatedAt item { id sku variant { id } } location { id }
            quantities(names: ["available", "committed", "on_hand", "damaged"]) { name quantity } }
          pageInfo { hasNextPage endCursor } } } }"""
    levels, after = [], None
    while True:
        conn = shop.data(query, {"after": after})["location"]["inventoryLevels"]
        levels += conn["nodes"]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    stored = [r for r in shop.records("inventory_levels") if r["location"]["id"] == "gid://shopify/Location/102"]
    assert {lv["id"] for lv in levels} == {r["id"] for r in stored}
    tee_l = next(lv for lv in levels if lv["item"]["sku"] == "TEE-BLK-L")
    assert tee_l["item"]["variant"]["id"] == "gid://shopify/ProductVariant/2002"
    assert {q["name"]: q["quantity"] for q in tee_l["quantities"]} == {
        "available": 3,
        "committed": 2,
        "on_hand": 5,
        "damaged": 0,
    }


def test_inventory_item_levels_and_level_by_location(shop: Shop) -> None:
    data = shop.data(
        """{ inventoryItem(id: "gid://shopify/InventoryItem/3004") { id sku tracked variant { id sku }
            measurement { weight { unit value } }
            inventoryLevels(first: 5) { nodes { location { id name } quantities(names: ["available"]) { quantity } } }
            inventoryLevel(locationId: "gid://shopify/Location/101") {
              id quantities(names: ["committed"]) { quantity } } } }"""
    )["inventoryItem"]
    assert data["sku"] == "MUG-11OZ" and data["variant"]["id"] == "gid://shopify/ProductVariant/2004"
    assert data["measurement"]["weight"] == {"unit": "KILOGRAMS", "value": 0.35}
    assert [n["location"]["name"] for n in data["inventoryLevels"]["nodes"]] == ["Newark DC", "Reno DC"]
    assert data["inventoryLevel"]["quantities"] == [{"quantity": 1}]


# --------------------------------------------------------------------------- search queries


def _ids(shop: Shop, query: str, field: str = "orders") -> set[str]:
    data = shop.data(
        f"query($q: String) {{ {field}(first: 50, query: $q) {{ nodes {{ id }} }} }}",
        {"q": query},
    )
    return {n["id"] for n in data[field]["nodes"]}


@pytest.mark.parametrize(
    ("query", "predicate"),
    [
        ("updated_at:>='2026-11-10T09:31:00Z'", lambda r: r["updatedAt"] >= "2026-11-10T09:31:00Z"),
        ("updated_at:>'2026-11-10T09:31:00Z'", lambda r: r["updatedAt"] > "2026-11-10T09:31:00Z"),
        ("updated_at:<'2026-11-10T09:31:00Z'", lambda r: r["updatedAt"] < "2026-11-10T09:31:00Z"),
        ("updated_at:<=2026-11-10T09:31:00Z", lambda r: r["updatedAt"] <= "2026-11-10T09:31:00Z"),
        (
            "updated_at:>='2026-11-01T00:00:00Z' AND updated_at:<'2026-11-15T00:00:00Z'",
            lambda r: "2026-11-01T00:00:00Z" <= r["updatedAt"] < "2026-11-15T00:00:00Z",
        ),
        ('created_at:>="2026-11-05T00:00:00Z"', lambda r: r["createdAt"] >= "2026-11-05T00:00:00Z"),
        ("created_at:<2026-11-05", lambda r: r["createdAt"] < "2026-11-05T00:00:00Z"),
        ("id:>5000003", lambda r: int(r["legacyResourceId"]) > 5000003),
        (
            "id:<=5000002 AND updated_at:>2026-11-01",
            lambda r: int(r["legacyResourceId"]) <= 5000002 and r["updatedAt"] > "2026-11-01",
        ),
        ("tag:TikTok", lambda r: "TikTok" in r["tags"]),
        ("financial_status:paid", lambda r: r["displayFinancialStatus"] == "PAID"),
        ("status:cancelled", lambda r: r["cancelledAt"] is not None),
        ("-tag:TikTok", lambda r: "TikTok" not in r["tags"]),
        (
            "tag:TikTok OR financial_status:voided",
            lambda r: "TikTok" in r["tags"] or r["displayFinancialStatus"] == "VOIDED",
        ),
    ],
)
def test_order_search_filters(shop: Shop, query: str, predicate: Any) -> None:
    expected = {r["id"] for r in shop.records("orders") if predicate(r)}
    assert _ids(shop, query) == expected
    assert expected, "the fixture should make every filter select something"


def test_product_and_variant_search(shop: Shop) -> None:
    products = shop.records("products")
    expected = {p["id"] for p in products if p["updatedAt"] > "2026-11-01T00:00:00Z"}
    assert _ids(shop, "updated_at:>'2026-11-01T00:00:00Z'", "products") == expected
    assert _ids(shop, "sku:TEE-BLK-L", "productVariants") == {"gid://shopify/ProductVariant/2002"}
    assert _ids(shop, "sku:MUG-*", "inventoryItems") == {
        "gid://shopify/InventoryItem/3004",
        "gid://shopify/InventoryItem/3005",
    }


def test_unknown_search_field_is_ignored_with_a_warning(shop: Shop) -> None:
    body = shop.gql('{ orders(first: 10, query: "colour:red") { nodes { id } } }')
    assert len(body["data"]["orders"]["nodes"]) == len(shop.records("orders"))
    warning = body["extensions"]["search"][0]["warnings"][0]
    assert warning == {"field": "colour", "message": "Invalid search field for this query."}


# --------------------------------------------------------------------------- record shapes


def test_order_fields_and_money_are_shopify_shaped(shop: Shop) -> None:
    order = shop.data(
        """{ order(id: "gid://shopify/Order/5000005") { id legacyResourceId name displayFinancialStatus
            displayFulfillmentStatus currencyCode tags customAttributes { key value }
            totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
            totalRefundedSet { shopMoney { amount } } netPaymentSet { shopMoney { amount } }
            transactions(first: 5) { kind status gateway amountSet { shopMoney { amount } } parentTransaction { id } }
            refunds(first: 5) { id note totalRefundedSet { shopMoney { amount } }
              refundLineItems(first: 5) { nodes { quantity restockType restocked lineItem { sku quantity }
                subtotalSet { shopMoney { amount } } } }
              transactions(first: 5) { edges { node { kind amountSet { shopMoney { amount } } } } } }
            fulfillments(first: 5) { status trackingInfo(first: 1) { number company url } } } }"""
    )["order"]
    assert order["legacyResourceId"] == "5000005"
    assert order["totalPriceSet"]["shopMoney"] == {"amount": "29.00", "currencyCode": "USD"}
    assert order["totalPriceSet"]["presentmentMoney"]["amount"] == "29.00"
    assert order["totalRefundedSet"]["shopMoney"]["amount"] == "12.00"
    refund = order["refunds"][0]
    assert refund["refundLineItems"]["nodes"][0]["lineItem"] == {"sku": "MUG-15OZ", "quantity": 2}
    assert refund["transactions"]["edges"][0]["node"]["amountSet"]["shopMoney"]["amount"] == "12.00"
    assert order["transactions"][1]["parentTransaction"] == {"id": "gid://shopify/OrderTransaction/9000006"}
    assert order["fulfillments"][0]["trackingInfo"][0]["company"] == "UPS"


def test_decimals_and_unsigned_ints_are_strings(shop: Shop) -> None:
    data = shop.data(
        """{ orders(first: 10) { nodes { legacyResourceId totalPriceSet { shopMoney { amount } }
            lineItems(first: 5) { nodes { originalUnitPriceSet { shopMoney { amount } } } } } }
            productVariants(first: 10) { nodes { price legacyResourceId } } }"""
    )
    amounts = [o["totalPriceSet"]["shopMoney"]["amount"] for o in data["orders"]["nodes"]]
    amounts += [
        li["originalUnitPriceSet"]["shopMoney"]["amount"]
        for o in data["orders"]["nodes"]
        for li in o["lineItems"]["nodes"]
    ]
    amounts += [v["price"] for v in data["productVariants"]["nodes"]]
    assert amounts and all(isinstance(a, str) for a in amounts)
    assert all(isinstance(o["legacyResourceId"], str) for o in data["orders"]["nodes"])


def test_product_media_metafields_and_variants(shop: Shop) -> None:
    product = shop.data(
        """{ product(id: "gid://shopify/Product/1001") { title status handle mediaCount { count precision }
            images(first: 5) { nodes { id url } }
            tiktokTitle: metafield(namespace: "tiktok", key: "title") { namespace key value type }
            missing: metafield(namespace: "tiktok", key: "nope") { value }
            metafields(first: 5, namespace: "tiktok") { nodes { id key value } }
            variants(first: 5) { nodes { id sku price inventoryQuantity product { id }
              inventoryItem { id sku } } } } }"""
    )["product"]
    assert product["mediaCount"] == {"count": 2, "precision": "EXACT"}
    assert product["handle"] == "classic-tee"
    assert len(product["images"]["nodes"]) == 2
    assert product["tiktokTitle"] == {
        "namespace": "tiktok",
        "key": "title",
        "value": "Classic Heavyweight Tee",
        "type": "single_line_text_field",
    }
    assert product["missing"] is None
    assert [m["key"] for m in product["metafields"]["nodes"]] == ["title", "package_dimensions"]
    variant = product["variants"]["nodes"][0]
    assert variant["inventoryItem"] == {"id": "gid://shopify/InventoryItem/3001", "sku": "TEE-BLK-M"}
    assert variant["inventoryQuantity"] == 12 + 5
    assert variant["product"]["id"] == "gid://shopify/Product/1001"


def test_node_and_nodes_resolve_every_type(shop: Shop) -> None:
    ids = [
        "gid://shopify/Order/5000001",
        "gid://shopify/Product/1002",
        "gid://shopify/ProductVariant/2003",
        "gid://shopify/Location/101",
        "gid://shopify/InventoryItem/3003",
        "gid://shopify/InventoryLevel/101?inventory_item_id=3003",
        "gid://shopify/FulfillmentOrder/7000002",
        "gid://shopify/Order/999",
    ]
    data = shop.data(
        """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
            ... on Order { name } ... on ProductVariant { sku } ... on InventoryLevel { location { id } } } }""",
        {"ids": ids},
    )
    types = [n["__typename"] if n else None for n in data["nodes"]]
    assert types == [
        "Order",
        "Product",
        "ProductVariant",
        "Location",
        "InventoryItem",
        "InventoryLevel",
        "FulfillmentOrder",
        None,
    ]
    single = shop.data('{ node(id: "gid://shopify/Order/5000001") { ... on Order { name } } }')
    assert single["node"] == {"name": "#US1001"}


# --------------------------------------------------------------------------- cost and throttling


def test_cost_extension_follows_the_documented_rule(shop: Shop) -> None:
    query = """{ orders(first: 5) { edges { cursor node { id name
        totalPriceSet { shopMoney { amount } }
        lineItems(first: 10) { nodes { sku variant { id } } } } } pageInfo { hasNextPage } } }"""
    body = shop.gql(query)
    cost = body["extensions"]["cost"]
    # connection 2 + 5 x (order 1 + totalPriceSet 1 + shopMoney 1 + lineItems (2 + 10 x (1 + variant 1)))
    assert cost["requestedQueryCost"] == 2 + 5 * (1 + 2 + 2 + 10 * 2)
    returned = body["data"]["orders"]["edges"]
    lines = sum(len(e["node"]["lineItems"]["nodes"]) for e in returned)
    assert cost["actualQueryCost"] == 2 + len(returned) * (1 + 2 + 2) + lines * 2
    assert cost["throttleStatus"]["maximumAvailable"] == 2000.0
    assert cost["throttleStatus"]["restoreRate"] == 100.0


def test_bucket_deducts_actual_cost(shop: Shop) -> None:
    cfg = shop.srv.ctx.config.shopify_throttle
    cfg.restore_rate = 0.0
    query = "{ orders(first: 50) { nodes { id } } }"
    first = shop.gql(query)["extensions"]["cost"]
    assert first["requestedQueryCost"] == 52
    assert first["actualQueryCost"] == 2 + len(shop.records("orders"))
    second = shop.gql(query)["extensions"]["cost"]
    assert (
        second["throttleStatus"]["currentlyAvailable"]
        == first["throttleStatus"]["currentlyAvailable"] - first["actualQueryCost"]
    )


def test_throttled_when_bucket_is_short(shop: Shop) -> None:
    cfg = shop.srv.ctx.config.shopify_throttle
    cfg.maximum_available, cfg.restore_rate = 55.0, 0.0
    before = shop.srv.ctx.counters.get("shopify.throttled")
    query = "{ orders(first: 50) { nodes { id } } }"
    ok = shop.gql(query)
    assert "errors" not in ok
    resp = shop.post(query)
    assert resp.status_code == 200
    body = resp.json()
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ]
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 52 and cost["actualQueryCost"] is None
    assert cost["throttleStatus"]["currentlyAvailable"] < 52
    assert shop.srv.ctx.counters.get("shopify.throttled") == before + 1


def test_bucket_restores_over_time(shop: Shop) -> None:
    cfg = shop.srv.ctx.config.shopify_throttle
    cfg.maximum_available, cfg.restore_rate = 55.0, 200.0
    query = "{ orders(first: 50) { nodes { id } } }"
    assert "errors" not in shop.gql(query)
    assert shop.gql(query)["errors"][0]["extensions"]["code"] == "THROTTLED"
    time.sleep(0.1)
    assert "errors" not in shop.gql(query)


def test_max_cost_exceeded(shop: Shop) -> None:
    body = shop.gql("{ orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }")
    error = body["errors"][0]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["maxCost"] == 1000
    assert error["extensions"]["cost"] == body["extensions"]["cost"]["requestedQueryCost"] > 1000
    assert "data" not in body


# --------------------------------------------------------------------------- fault injection


def test_fault_injection_500_and_truncate(shop: Shop) -> None:
    faults = shop.srv.ctx.config.faults["shopify"]
    faults.update({"p_500": 1.0})
    resp = shop.post("{ shop { name } }")
    assert resp.status_code == 500
    faults.update({"p_500": 0.0, "p_truncate": 1.0})
    resp = shop.post("{ shop { name } }")
    assert resp.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.text)
