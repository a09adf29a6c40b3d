"""Typing TikTok records: exact money, aware UTC times, strict enums, and refusals that name the field."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from extract.common.coerce import InvalidField
from extract.tiktok_shop import shapes as sh

ORDER: dict[str, Any] = {
    "id": "576001",
    "status": "AWAITING_SHIPMENT",
    "create_time": 1795170000,
    "update_time": 1795173600,
    "paid_time": 1795170060,
    "cancel_time": None,
    "seller_note": "",
    "recipient_address": {"region_code": "US"},
    "brand_new_field": 3,
    "payment": {"currency": "USD", "total_amount": "42.50", "sub_total": "40.00", "tax": "2.50", "new_fee": "0.10"},
    "line_items": [
        {
            "id": "577001",
            "sku_id": "1730001",
            "seller_sku": "TEE-BLK-M",
            "currency": "USD",
            "sale_price": "21.00",
            "original_price": "25.00",
            "display_status": "AWAITING_SHIPMENT",
            "package_status": "TO_FULFILL",
        },
        {
            "id": "577002",
            "sku_id": "1730001",
            "seller_sku": "TEE-BLK-M",
            "currency": "USD",
            "sale_price": "19.00",
            "display_status": "AWAITING_SHIPMENT",
            "package_status": "",
        },
    ],
}


def order(**changes: Any) -> dict[str, Any]:
    rec = copy.deepcopy(ORDER)
    for path, value in changes.items():
        target = rec
        steps = path.split("__")
        for step in steps[:-1]:
            target = target[int(step)] if step.isdigit() else target[step]
        target[steps[-1]] = value
    return rec


def test_an_order_becomes_typed_rows_and_keeps_fields_it_does_not_know() -> None:
    row, children = sh.shape_order(ORDER, "us")
    assert row["connection_id"] == "us" and row["id"] == "576001"
    assert row["update_time"] == datetime(2026, 11, 20, 11, 20, tzinfo=UTC)
    assert row["cancel_time"] is None and row["delivery_time"] is None
    assert row["payment_total_amount"] == Decimal("42.50") and row["payment_shipping_fee"] is None
    assert row["payment_new_fee"] == "0.10"  # an undocumented payment field passes through untyped
    assert row["brand_new_field"] == 3 and row["recipient_address"] == {"region_code": "US"}
    assert "payment" not in row and "line_items" not in row
    first, second = children["order_line_items"]
    assert first["order_id"] == "576001" and first["order_update_time"] == row["update_time"]
    assert first["sale_price"] == Decimal("21.00") and second["original_price"] is None
    assert second["package_status"] is None


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"payment__total_amount": 42.5}, "payment.total_amount", "decimal string, got float"),
        ({"payment__sub_total": "1e3"}, "payment.sub_total", "not a plain decimal"),
        ({"payment__tax": "NaN"}, "payment.tax", "not a plain decimal"),
        ({"line_items__0__sale_price": "21.005"}, "line_items[0].sale_price", "more than 2 decimals"),
        ({"payment__total_amount": None}, "payment.total_amount", "missing"),
        ({"status": "TELEPORTED"}, "status", "unknown value 'TELEPORTED'"),
        ({"line_items__1__display_status": "ON_HOLD"}, "line_items[1].display_status", "unknown value"),
        ({"line_items__0__seller_sku": ""}, "line_items[0].seller_sku", "empty"),
        ({"line_items__1__currency": "EUR"}, "line_items[1].currency", "EUR differs from the record's currency USD"),
        ({"paid_time": "2026-11-20T12:00:00Z"}, "paid_time", "not a Unix timestamp"),
        ({"update_time": 1795173600000}, "update_time", "milliseconds"),
        ({"id": ""}, "id", "missing"),
        ({"payment": "42.50"}, "payment", "expected an object"),
        ({"line_items": {"id": "x"}}, "line_items", "expected a list"),
    ],
)
def test_a_bad_order_is_refused_naming_the_field(changes: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(InvalidField) as info:
        sh.shape_order(order(**changes), "us")
    assert info.value.field == field and reason in str(info.value)


def test_gbp_and_zero_decimal_currencies() -> None:
    row, _ = sh.shape_order(
        order(payment__currency="GBP", line_items__0__currency="GBP", line_items__1__currency=None), "uk"
    )
    assert row["payment_currency"] == "GBP"
    with pytest.raises(InvalidField, match="more than 0 decimals for JPY"):
        sh.shape_order(
            order(payment__currency="JPY", line_items__0__currency="JPY", line_items__1__currency="JPY"), "x"
        )


def test_refund_amounts_flatten_and_lines_must_share_the_currency() -> None:
    rec = {
        "return_id": "4035",
        "order_id": "576001",
        "return_type": "RETURN_AND_REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "role": "BUYER",
        "create_time": 1795170000,
        "update_time": 1795173600,
        "refund_amount": {"currency": "USD", "refund_total": "21.00", "buyer_service_fee": "0.00"},
        "return_line_items": [
            {
                "return_line_item_id": "40351",
                "order_line_item_id": "577001",
                "sku_id": "1730001",
                "refund_amount": {"currency": "USD", "refund_total": "21.00"},
            }
        ],
    }
    row, children = sh.shape_return(rec, "us")
    assert row["refund_total"] == Decimal("21.00") and row["refund_buyer_service_fee"] == Decimal("0.00")
    assert row["refund_tax"] is None and row["refund_currency"] == "USD"
    (line,) = children["return_line_items"]
    assert line["return_id"] == "4035" and line["return_update_time"] == row["update_time"]
    rec["return_line_items"][0]["refund_amount"]["currency"] = "GBP"
    with pytest.raises(InvalidField) as info:
        sh.shape_return(rec, "us")
    assert info.value.field == "return_line_items[0].refund_amount.currency"
    rec["return_line_items"] = []
    rec["refund_amount"] = {"refund_total": "1.00"}
    with pytest.raises(InvalidField, match="without a currency"):
        sh.shape_return(rec, "us")


def test_an_undocumented_transaction_type_is_kept_and_flagged() -> None:
    rec = {"id": "71", "type": "BRAND_NEW_FEE", "settlement_amount": "-1.00", "novel_fee_amount": "-0.50"}
    row = sh.shape_transaction(rec, "us", "7000", "USD")
    assert row["type"] == "BRAND_NEW_FEE" and row["is_documented_type"] is False
    assert row["novel_fee_amount"] == Decimal("-0.50")  # any *_amount is money
    assert row["statement_id"] == "7000" and row["currency"] == "USD" and row["fee_amount"] is None
    assert sh.shape_transaction({**rec, "type": "CHARGE_BACK"}, "us", "7000", "USD")["is_documented_type"]
    with pytest.raises(InvalidField, match="differs"):
        sh.shape_transaction({**rec, "currency": "GBP"}, "us", "7000", "USD")


def test_payments_inventory_and_shops() -> None:
    pay = sh.shape_payment(
        {
            "id": "72",
            "create_time": 1795170000,
            "status": "PAID",
            "amount": {"value": "10.00", "currency": "USD"},
            "reserve_amount": {"value": "0.50", "currency": "USD"},
            "exchange_rate": "1.2345",
        },
        "us",
    )
    assert pay["amount"] == Decimal("10.00") and pay["reserve_amount_currency"] == "USD"
    assert pay["settlement_amount"] is None and pay["exchange_rate"] == "1.2345"
    with pytest.raises(InvalidField, match="exchange_rate"):
        sh.shape_payment({"id": "72", "create_time": 1795170000, "status": "PAID", "exchange_rate": 1.2}, "us")
    inv = sh.shape_inventory(
        {
            "product_id": "1729",
            "skus": [
                {
                    "id": "1730",
                    "seller_sku": "A",
                    "total_available_quantity": 5,
                    "warehouse_inventory": [
                        {"warehouse_id": "1", "available_quantity": 3, "committed_quantity": 1},
                        {"warehouse_id": "2", "available_quantity": 2, "committed_quantity": 0},
                    ],
                    "total_available_inventory_distribution": {
                        "in_shop_inventory": {"quantity": 4},
                        "creator_inventory": [{"creator_name": "x", "quantity": 1}],
                    },
                }
            ],
        },
        "us",
    )
    assert [(r["warehouse_id"], r["available_quantity"], r["committed_quantity"]) for r in inv] == [
        ("1", 3, 1),
        ("2", 2, 0),
    ]
    assert inv[0]["sku_creator_reserved_quantity"] == 1 and inv[0]["sku_in_shop_quantity"] == 4
    with pytest.raises(InvalidField, match="below the minimum"):
        sh.shape_inventory(
            {
                "product_id": "1",
                "skus": [{"id": "2", "warehouse_inventory": [{"warehouse_id": "1", "available_quantity": -1}]}],
            },
            "us",
        )
    shop = sh.shape_shop({"id": "7495", "name": "Acme", "cipher": "ROW_secret", "region": "US"}, "us")
    assert "cipher" not in shop and shop["name"] == "Acme"
    with pytest.raises(InvalidField, match="plain token"):
        sh.shape_statement({"id": "7/../x", "currency": "USD", "statement_time": 1, "payment_status": "PAID"}, "us")
