"""Row building: typed values from Shopify records, and ``InvalidField`` naming the field otherwise."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from extract.common.coerce import InvalidField
from extract.shopify import rows


def money(amount: Any, currency: str = "USD") -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": currency}}


ORDER: dict[str, Any] = {
    "id": "gid://shopify/Order/1",
    "legacyResourceId": "1",
    "name": "#1001",
    "createdAt": "2026-11-01T10:00:00Z",
    "updatedAt": "2026-11-02T10:00:00Z",
    "processedAt": "2026-11-01T10:00:00Z",
    "closedAt": None,
    "cancelledAt": None,
    "cancelReason": None,
    "displayFinancialStatus": "PARTIALLY_REFUNDED",
    "displayFulfillmentStatus": "FULFILLED",
    "returnStatus": "NO_RETURN",
    "sourceName": "tiktok",
    "sourceIdentifier": "576001",
    "customAttributes": [{"key": "tiktok_order_id", "value": "576001"}],
    "tags": ["TikTok", "tiktok_order:576001"],
    "paymentGatewayNames": ["TikTok Shop"],
    "test": False,
    "currencyCode": "USD",
    "totalPriceSet": money("42.50"),
    "subtotalPriceSet": money("40.00"),
    "totalTaxSet": money("0.00"),
    "totalShippingPriceSet": money("2.50"),
    "totalDiscountsSet": None,
    "totalRefundedSet": money("0.00"),
    "netPaymentSet": money("42.50"),
    "lineItems": {
        "nodes": [
            {
                "id": "gid://shopify/LineItem/11",
                "sku": "TEE-BLK-M",
                "quantity": 2,
                "variant": {"id": "gid://shopify/ProductVariant/21"},
                "originalUnitPriceSet": money("20.00"),
                "discountedTotalSet": money("40.00"),
            }
        ]
    },
    "refunds": [
        {
            "id": "gid://shopify/Refund/31",
            "createdAt": "2026-11-02T10:00:00Z",
            "note": "TikTok Shop return 4035",
            "totalRefundedSet": money("0.00"),
            "refundLineItems": {
                "nodes": [
                    {
                        "id": "gid://shopify/RefundLineItem/11",
                        "quantity": 1,
                        "restockType": "RETURN",
                        "restocked": True,
                        "location": {"id": "gid://shopify/Location/101"},
                        "lineItem": {"id": "gid://shopify/LineItem/11", "sku": "TEE-BLK-M"},
                        "subtotalSet": money("20.00"),
                    }
                ]
            },
            "refundShippingLines": {"nodes": []},
            "transactions": {"nodes": []},
        }
    ],
    "fulfillments": [
        {
            "id": "gid://shopify/Fulfillment/41",
            "status": "SUCCESS",
            "createdAt": "2026-11-01T12:00:00Z",
            "trackingInfo": [
                {"number": "1Z1", "company": "UPS", "url": None},
                {"number": "1Z2", "company": "UPS", "url": None},
            ],
        },
        {
            "id": "gid://shopify/Fulfillment/42",
            "status": "SUCCESS",
            "createdAt": "2026-11-01T13:00:00Z",
            "trackingInfo": [],
        },
    ],
    "fulfillmentOrders": {
        "nodes": [
            {
                "id": "gid://shopify/FulfillmentOrder/51",
                "status": "CLOSED",
                "assignedLocation": {"location": {"id": "gid://shopify/Location/101"}},
                "lineItems": {
                    "nodes": [
                        {
                            "id": "gid://shopify/FulfillmentOrderLineItem/61",
                            "totalQuantity": 2,
                            "remainingQuantity": 0,
                            "lineItem": {"id": "gid://shopify/LineItem/11", "sku": "TEE-BLK-M"},
                        }
                    ]
                },
            }
        ]
    },
    "transactions": [
        {
            "id": "gid://shopify/OrderTransaction/71",
            "kind": "SALE",
            "status": "SUCCESS",
            "gateway": "TikTok Shop",
            "processedAt": "2026-11-01T10:00:00Z",
            "amountSet": money("42.50"),
        }
    ],
}


def test_an_order_becomes_typed_rows_in_every_table() -> None:
    out = rows.order_rows("us", ORDER)
    order = out["orders"][0]
    assert order["total_price"] == Decimal("42.50") and order["total_discounts"] is None
    assert order["updated_at"] == datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert order["tags"] == '["TikTok","tiktok_order:576001"]'
    assert order["custom_attributes"] == '[{"key":"tiktok_order_id","value":"576001"}]'
    assert {t: len(v) for t, v in out.items()} == {
        "orders": 1,
        "order_line_items": 1,
        "order_refunds": 1,
        "order_refund_line_items": 1,
        "order_refund_shipping_lines": 0,
        "order_refund_transactions": 0,
        "order_transactions": 1,
        "order_fulfillments": 3,  # two tracking entries, and one fulfillment without tracking
        "order_fulfillment_orders": 1,
        "order_fulfillment_order_line_items": 1,
    }
    assert [(f["id"][-2:], f["tracking_position"], f["tracking_number"]) for f in out["order_fulfillments"]] == [
        ("41", 0, "1Z1"),
        ("41", 1, "1Z2"),
        ("42", 0, None),
    ]
    for table, batch in out.items():
        for row in batch:
            assert row["connection_id"] == "us"
            assert set(row) == set(rows.TABLES[table].columns), table
            assert "updated_at" not in row or table == "orders"  # dlt's cursor column is the parent's alone


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        (("id",), None, "id", "missing"),
        (("totalPriceSet", "shopMoney", "amount"), 42.5, "totalPriceSet.shopMoney.amount", "float"),
        (("totalPriceSet", "shopMoney", "amount"), "42.505", "totalPriceSet.shopMoney.amount", "decimals"),
        (("totalPriceSet", "shopMoney", "amount"), "4.2e1", "totalPriceSet.shopMoney.amount", "plain decimal"),
        (("processedAt",), "2026-13-45T25:61:00Z", "processedAt", "ISO-8601"),
        (("updatedAt",), "2026-11-02T10:00:00", "updatedAt", "time zone"),
        (("displayFinancialStatus",), "PAID_OUT", "displayFinancialStatus", "unknown value"),
        (("displayFulfillmentStatus",), None, "displayFulfillmentStatus", "missing"),
        (("lineItems", "nodes", 0, "quantity"), -2, "lineItems.nodes[0].quantity", "minimum"),
        (("lineItems", "nodes", 0, "quantity"), "2", "lineItems.nodes[0].quantity", "integer"),
        (("lineItems", "nodes", 0, "id"), None, "lineItems.nodes[0].id", "missing"),
        (
            ("refunds", 0, "refundLineItems", "nodes", 0, "restockType"),
            "RESTOCK",
            "refunds[0].refundLineItems.nodes[0].restockType",
            "unknown",
        ),
        (("transactions", 0, "kind"), "PAYOUT", "transactions[0].kind", "unknown"),
        (("fulfillmentOrders", "nodes", 0, "status"), "DONE", "fulfillmentOrders.nodes[0].status", "unknown"),
        (
            ("fulfillmentOrders", "nodes", 0, "lineItems", "nodes", 0, "remainingQuantity"),
            -1,
            "fulfillmentOrders.nodes[0].lineItems.nodes[0].remainingQuantity",
            "minimum",
        ),
        (("tags",), "TikTok", "tags", "list"),
        (("test",), "false", "test", "true or false"),
        (("currencyCode",), "usd", "currencyCode", "currency"),
    ],
)
def test_a_bad_field_is_named(path: tuple[Any, ...], value: Any, field: str, words: str) -> None:
    record = copy.deepcopy(ORDER)
    target: Any = record
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(InvalidField) as err:
        rows.order_rows("us", record)
    assert err.value.field == field
    assert words in err.value.reason


PRODUCT: dict[str, Any] = {
    "id": "gid://shopify/Product/1",
    "legacyResourceId": "1",
    "title": "Tee",
    "descriptionHtml": "<p>Tee</p>",
    "status": "ACTIVE",
    "vendor": "Acme",
    "productType": "Shirts",
    "createdAt": "2026-01-01T00:00:00Z",
    "updatedAt": "2026-02-01T00:00:00Z",
    "mediaCount": {"count": 3},
    "tiktokTitle": {"value": "Tee for TikTok"},
    "packageDimensions": None,
    "variants": {
        "nodes": [
            {
                "id": "gid://shopify/ProductVariant/21",
                "legacyResourceId": "21",
                "title": "Black / M",
                "sku": "TEE-BLK-M",
                "barcode": None,
                "price": "21.00",
                "updatedAt": "2026-02-01T00:00:00Z",
                "inventoryItem": {
                    "id": "gid://shopify/InventoryItem/31",
                    "measurement": {"weight": {"value": 0.25, "unit": "KILOGRAMS"}},
                },
            }
        ]
    },
}


def test_a_product_and_its_variants() -> None:
    out = rows.product_rows("uk", PRODUCT, "GBP")
    assert out["products"][0]["tiktok_title"] == "Tee for TikTok" and out["products"][0]["package_dimensions"] is None
    variant = out["product_variants"][0]
    assert (variant["price"], variant["weight_value"], variant["weight_unit"]) == (Decimal("21.00"), 0.25, "KILOGRAMS")
    bad = copy.deepcopy(PRODUCT)
    bad["variants"]["nodes"][0]["inventoryItem"]["measurement"]["weight"]["value"] = "0.25"
    with pytest.raises(InvalidField) as err:
        rows.product_rows("uk", bad, "GBP")
    assert err.value.field == "variants.nodes[0].inventoryItem.measurement.weight.value"
    bad = copy.deepcopy(PRODUCT)
    bad["status"] = "PUBLISHED"
    with pytest.raises(InvalidField, match="status"):
        rows.product_rows("uk", bad, "GBP")


def test_inventory_levels_allow_oversold_available_but_not_negative_committed() -> None:
    level = {
        "id": "gid://shopify/InventoryLevel/101?inventory_item_id=31",
        "updatedAt": "2026-11-20T00:00:00Z",
        "item": {
            "id": "gid://shopify/InventoryItem/31",
            "sku": "TEE-BLK-M",
            "variant": {"id": "gid://shopify/ProductVariant/21"},
        },
        "location": {"id": "gid://shopify/Location/101"},
        "quantities": [
            {"name": "available", "quantity": -2},
            {"name": "committed", "quantity": 3},
            {"name": "on_hand", "quantity": 1},
        ],
    }
    row = rows.inventory_level_rows("us", level)["inventory_levels"][0]
    assert (row["available"], row["committed"], row["on_hand"]) == (-2, 3, 1)
    level["quantities"][1]["quantity"] = -1
    with pytest.raises(InvalidField) as err:
        rows.inventory_level_rows("us", level)
    assert err.value.field == "quantities[1].quantity"


def test_every_table_keys_on_connection_id_and_child_tables_replace_per_parent() -> None:
    for table in rows.TABLES.values():
        assert table.primary_key[0] == "connection_id"
        assert set(table.primary_key) <= set(table.columns)
    for table in rows.ORDER_TABLES[1:]:
        assert table.merge_key == ("connection_id", "order_id")
        assert table.hints["order_id"]["merge_key"] is True
        assert table.hints["order_updated_at"]["dedup_sort"] == "desc"
