"""Query specs: costs match Shopify's rule (as the emulator implements it), sizes fit, bulk rebuilds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import get_operation_ast, parse

from extract.shopify import queries as q
from extract.shopify import settings as cfg
from extract.shopify.bulk import BulkFormatError, assemble
from sandbox.shopify.app import get_schema
from sandbox.shopify.cost import CostCalculator


def requested(text: str, variables: dict[str, Any]) -> int:
    """The emulator's requestedQueryCost for a document, computed without a server."""
    document = parse(text)
    operation = get_operation_ast(document)
    assert operation is not None
    return CostCalculator(get_schema(), operation, {}, variables).requested()


LISTINGS = [
    (q.root_listing(q.ORDERS), {}),
    (q.root_listing(q.PRODUCTS), {}),
    (q.root_listing(q.LOCATIONS, search=False), {}),
    (q.location_levels_listing(), {"id": "gid://shopify/Location/1"}),
    (q.followup_listing("Order", q.LINE_ITEMS), {"id": "gid://shopify/Order/1"}),
    (q.followup_listing("Order", q.FULFILLMENT_ORDERS), {"id": "gid://shopify/Order/1"}),
    (q.followup_listing("Refund", q.REFUNDS.child("refundLineItems")), {"id": "gid://shopify/Refund/1"}),
]


@pytest.mark.parametrize(
    ("listing", "variables"), LISTINGS, ids=lambda x: getattr(getattr(x, "spec", None), "field", "")
)
@pytest.mark.parametrize("budget", [1000, 200])
def test_page_cost_matches_shopifys_rule_and_fits(listing: q.Listing, variables: dict[str, Any], budget: int) -> None:
    fitted = listing.fitted(budget)
    first = q.page_size(fitted.spec, budget, fitted.overhead)
    cost = requested(fitted.text, {**variables, "first": first, "after": None})
    assert cost == q.page_cost(fitted.spec, first, fitted.overhead)
    assert cost <= budget
    assert q.page_cost(fitted.spec, first + 1, fitted.overhead) > budget or first == cfg.MAX_PAGE_SIZE


def test_whole_list_followups_cost_what_is_estimated() -> None:
    listing = q.followup_listing("Order", q.REFUNDS).fitted(1000)
    first = q.page_size(listing.spec, 1000, listing.overhead)
    cost = requested(listing.text, {"id": "gid://shopify/Order/1", "first": first})
    assert cost == listing.overhead + first * q.node_cost(listing.spec) <= 1000


def test_documented_order_numbers() -> None:
    """settings.py explains the orders page size with these numbers; keep them true."""
    assert q.node_cost(q.ORDERS) == 307
    assert q.page_size(q.ORDERS, 1000) == 3
    assert q.page_cost(q.ORDERS, 3) == 923
    assert q.node_cost(q.PRODUCTS) == 86 and q.page_size(q.PRODUCTS, 1000) == 11


def test_bulk_parts_respect_shopify_limits() -> None:
    for spec in (q.ORDERS, q.PRODUCTS, q.location_levels_bulk("updated_at:>='2026-01-01T00:00:00Z'")):
        parts = q.bulk_parts(spec)
        for part in parts:
            assert q.connection_count(part) <= cfg.BULK_MAX_CONNECTIONS
            text = q.bulk_query(part, "updated_at:>='2026-01-01T00:00:00Z'")
            parse(text)
            assert "first:" not in text
        assert sorted(c.field for p in parts for c in p.children) == sorted(c.field for c in spec.children)
    assert [len(p.children) for p in q.bulk_parts(q.ORDERS)] == [4, 1]


def line(obj: dict[str, Any], parent: str | None = None) -> str:
    return json.dumps({**obj, "__parentId": parent} if parent else obj)


def test_assemble_nests_children_under_the_right_parent_and_field() -> None:
    order = "gid://shopify/Order/1"
    refund = {"id": "gid://shopify/Refund/9", "note": "x", "totalRefundedSet": None}
    lines = [
        line({"id": order, "refunds": [refund]}),
        line({"id": "gid://shopify/LineItem/2", "sku": "A"}, order),
        line(
            {
                "id": "gid://shopify/FulfillmentOrder/3",
                "status": "OPEN",
                "assignedLocation": {"location": {"id": "gid://shopify/Location/1"}},
            },
            order,
        ),
        line({"id": "gid://shopify/FulfillmentOrderLineItem/4"}, "gid://shopify/FulfillmentOrder/3"),
        line({"id": "gid://shopify/RefundLineItem/2", "quantity": 1}, refund["id"]),
        line({"id": "gid://shopify/OrderTransaction/5", "kind": "REFUND"}, refund["id"]),
        line({"id": "gid://shopify/Order/6", "refunds": []}),
    ]
    first, second = assemble(iter(lines), q.ORDERS)
    assert [n["id"] for n in first["lineItems"]["nodes"]] == ["gid://shopify/LineItem/2"]
    fo = first["fulfillmentOrders"]["nodes"][0]
    assert [n["id"] for n in fo["lineItems"]["nodes"]] == ["gid://shopify/FulfillmentOrderLineItem/4"]
    got = first["refunds"][0]
    assert [n["id"] for n in got["refundLineItems"]["nodes"]] == ["gid://shopify/RefundLineItem/2"]
    assert [n["id"] for n in got["transactions"]["nodes"]] == ["gid://shopify/OrderTransaction/5"]
    assert got["refundShippingLines"] == {"nodes": []}
    assert "__parentId" not in json.dumps(first)
    assert second["lineItems"] == {"nodes": []} and second["fulfillments"] == [] and second["transactions"] == []


def test_assemble_keeps_references_out_of_the_parent_index() -> None:
    """A level's ``location { id }`` shares the location's id but must not capture the next levels."""
    spec = q.location_levels_bulk(None)
    loc = "gid://shopify/Location/1"
    lines = [line({"id": loc})] + [
        line({"id": f"gid://shopify/InventoryLevel/{i}", "location": {"id": loc}}, loc) for i in range(3)
    ]
    (location,) = assemble(iter(lines), spec)
    assert len(location["inventoryLevels"]["nodes"]) == 3
    assert all("inventoryLevels" not in n["location"] for n in location["inventoryLevels"]["nodes"])


def test_assemble_refuses_a_child_away_from_its_parent() -> None:
    lines = [
        line({"id": "gid://shopify/Order/1", "refunds": []}),
        line({"id": "gid://shopify/Order/2", "refunds": []}),
        line({"id": "gid://shopify/LineItem/3"}, "gid://shopify/Order/1"),
    ]
    with pytest.raises(BulkFormatError):
        list(assemble(iter(lines), q.ORDERS))
