"""Typed warehouse rows from Shopify records, or ``InvalidField`` naming the field that is wrong.

One function per entity turns a complete record (nested connections as ``{"nodes": [...]}``, the
shape both the paged and the bulk path produce) into rows for every raw table it feeds. Nothing is
derived: values are typed (money -> ``Decimal`` from the shopMoney amount string, timestamps ->
aware UTC, enums checked against Shopify's sets) and otherwise kept as sent; lists such as tags
are kept as JSON text for staging to parse. A record with any bad field raises before any of its
rows exist, so a quarantined order never leaves half its children behind.

Field names in errors are paths from the record root (``lineItems.nodes[0].quantity``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from extract.common import coerce
from extract.common.coerce import InvalidField
from extract.shopify import settings as cfg

Row = dict[str, Any]
Rows = dict[str, list[Row]]

TEXT = {"data_type": "text"}
TS = {"data_type": "timestamp", "timezone": True}
INT = {"data_type": "bigint"}
BOOL = {"data_type": "bool"}
FLOAT = {"data_type": "double"}
MONEY = dict(cfg.MONEY_COLUMN)
#: keeps the newest version when a record was read twice in one run (updated between pages)
NEWEST = {**TS, "dedup_sort": "desc"}
_CURRENCY = re.compile(r"^[A-Z]{3,4}$")


@dataclass(frozen=True)
class Table:
    """A raw table: merge key, column types, and for child tables the parent key they are replaced by.

    Child tables carry ``merge_key`` = (connection_id, parent id): each load first deletes the
    rows of every parent it carries, so a line item removed by an order edit does not linger.
    """

    name: str
    primary_key: tuple[str, ...]
    columns: dict[str, dict[str, Any]]
    merge_key: tuple[str, ...] = ()
    hints: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        hints = {k: dict(v) for k, v in self.columns.items()}
        for key in self.merge_key:
            hints[key]["merge_key"] = True
        object.__setattr__(self, "hints", hints)


def _child(name: str, key: tuple[str, ...], columns: dict[str, dict[str, Any]]) -> Table:
    base = {"connection_id": TEXT, "id": TEXT, "order_id": TEXT, "order_updated_at": NEWEST}
    return Table(name, key, {**base, **columns}, merge_key=("connection_id", "order_id"))


ORDERS = Table(
    "orders",
    ("connection_id", "id"),
    {
        "connection_id": TEXT,
        "id": TEXT,
        "legacy_resource_id": TEXT,
        "name": TEXT,
        "created_at": TS,
        "updated_at": NEWEST,
        "processed_at": TS,
        "closed_at": TS,
        "cancelled_at": TS,
        "cancel_reason": TEXT,
        "display_financial_status": TEXT,
        "display_fulfillment_status": TEXT,
        "return_status": TEXT,
        "source_name": TEXT,
        "source_identifier": TEXT,
        "tags": TEXT,
        "custom_attributes": TEXT,
        "payment_gateway_names": TEXT,
        "test": BOOL,
        "currency_code": TEXT,
        "total_price": MONEY,
        "subtotal_price": MONEY,
        "total_tax": MONEY,
        "total_shipping_price": MONEY,
        "total_discounts": MONEY,
        "total_refunded": MONEY,
        "net_payment": MONEY,
    },
)
LINE_ITEMS = _child(
    "order_line_items",
    ("connection_id", "id"),
    {"sku": TEXT, "quantity": INT, "variant_id": TEXT, "original_unit_price": MONEY, "discounted_total": MONEY},
)
REFUNDS = _child("order_refunds", ("connection_id", "id"), {"created_at": TS, "note": TEXT, "total_refunded": MONEY})
REFUND_LINE_ITEMS = _child(
    "order_refund_line_items",
    # refund_id too: line-item-derived ids are only unique per refund on some API versions
    ("connection_id", "refund_id", "id"),
    {
        "refund_id": TEXT,
        "line_item_id": TEXT,
        "sku": TEXT,
        "quantity": INT,
        "restock_type": TEXT,
        "restocked": BOOL,
        "location_id": TEXT,
        "subtotal": MONEY,
    },
)
REFUND_SHIPPING_LINES = _child(
    "order_refund_shipping_lines", ("connection_id", "id"), {"refund_id": TEXT, "subtotal_amount": MONEY}
)
REFUND_TRANSACTIONS = _child(
    "order_refund_transactions",
    ("connection_id", "id"),
    {"refund_id": TEXT, "kind": TEXT, "status": TEXT, "gateway": TEXT, "amount": MONEY, "processed_at": TS},
)
TRANSACTIONS = _child(
    "order_transactions",
    ("connection_id", "id"),
    {"kind": TEXT, "status": TEXT, "gateway": TEXT, "amount": MONEY, "processed_at": TS},
)
FULFILLMENTS = _child(
    "order_fulfillments",
    ("connection_id", "id", "tracking_position"),
    {
        "tracking_position": INT,
        "status": TEXT,
        "created_at": TS,
        "tracking_number": TEXT,
        "tracking_company": TEXT,
        "tracking_url": TEXT,
    },
)
FULFILLMENT_ORDERS = _child(
    "order_fulfillment_orders", ("connection_id", "id"), {"status": TEXT, "assigned_location_id": TEXT}
)
FULFILLMENT_ORDER_LINE_ITEMS = _child(
    "order_fulfillment_order_line_items",
    ("connection_id", "id"),
    {
        "fulfillment_order_id": TEXT,
        "line_item_id": TEXT,
        "sku": TEXT,
        "total_quantity": INT,
        "remaining_quantity": INT,
    },
)
PRODUCTS = Table(
    "products",
    ("connection_id", "id"),
    {
        "connection_id": TEXT,
        "id": TEXT,
        "legacy_resource_id": TEXT,
        "title": TEXT,
        "description_html": TEXT,
        "status": TEXT,
        "vendor": TEXT,
        "product_type": TEXT,
        "media_count": INT,
        "tiktok_title": TEXT,
        "package_dimensions": TEXT,
        "created_at": TS,
        "updated_at": NEWEST,
    },
)
VARIANTS = Table(
    "product_variants",
    ("connection_id", "id"),
    {
        "connection_id": TEXT,
        "id": TEXT,
        "product_id": TEXT,
        "legacy_resource_id": TEXT,
        "title": TEXT,
        "sku": TEXT,
        "barcode": TEXT,
        "price": MONEY,
        "inventory_item_id": TEXT,
        "weight_value": FLOAT,
        "weight_unit": TEXT,
        # not "updated_at": dlt's incremental filters every row of the resource on that column
        "variant_updated_at": NEWEST,
    },
    merge_key=("connection_id", "product_id"),
)
LOCATIONS = Table(
    "locations",
    ("connection_id", "id"),
    {"connection_id": TEXT, "id": TEXT, "name": TEXT, "is_active": BOOL, "country_code": TEXT},
)
INVENTORY_LEVELS = Table(
    "inventory_levels",
    ("connection_id", "id"),
    {
        "connection_id": TEXT,
        "id": TEXT,
        "inventory_item_id": TEXT,
        "variant_id": TEXT,
        "sku": TEXT,
        "location_id": TEXT,
        "available": INT,
        "committed": INT,
        "on_hand": INT,
        "updated_at": NEWEST,
    },
)
ORDER_TABLES = (
    ORDERS,
    LINE_ITEMS,
    REFUNDS,
    REFUND_LINE_ITEMS,
    REFUND_SHIPPING_LINES,
    REFUND_TRANSACTIONS,
    TRANSACTIONS,
    FULFILLMENTS,
    FULFILLMENT_ORDERS,
    FULFILLMENT_ORDER_LINE_ITEMS,
)
TABLES = {t.name: t for t in (*ORDER_TABLES, PRODUCTS, VARIANTS, LOCATIONS, INVENTORY_LEVELS)}


# --------------------------------------------------------------------------- field readers


def _obj(value: Any, where: str, *, nullable: bool = True) -> dict[str, Any]:
    if value is None:
        if nullable:
            return {}
        raise InvalidField(where, "object is missing", value)
    if not isinstance(value, dict):
        raise InvalidField(where, f"must be an object, got {type(value).__name__}", value)
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidField(where, f"must be a list, got {type(value).__name__}", value)
    return value


def _nodes(record: dict[str, Any], name: str, where: str) -> list[tuple[str, dict[str, Any]]]:
    """A connection's nodes with their field paths (``lineItems.nodes[2]``)."""
    conn = _obj(record.get(name), f"{where}{name}")
    out = []
    for i, node in enumerate(_list(conn.get("nodes"), f"{where}{name}.nodes")):
        path = f"{where}{name}.nodes[{i}]"
        out.append((path, _obj(node, path, nullable=False)))
    return _unique_ids(out)


def _items(record: dict[str, Any], name: str, where: str) -> list[tuple[str, dict[str, Any]]]:
    """A plain list's entries with their field paths (``refunds[1]``)."""
    out = []
    for i, item in enumerate(_list(record.get(name), f"{where}{name}")):
        path = f"{where}{name}[{i}]"
        out.append((path, _obj(item, path, nullable=False)))
    return _unique_ids(out)


def _unique_ids(entries: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Two children with one id would merge into one row and lose the other without a trace."""
    seen: dict[str, str] = {}
    for path, entry in entries:
        ident = entry.get("id")
        if isinstance(ident, str) and ident:
            if ident in seen:
                raise InvalidField(f"{path}.id", f"id {ident[:80]} repeats {seen[ident]}.id in the same record", ident)
            seen[ident] = path
    return entries


def _id(value: Any, where: str) -> str:
    return coerce.identifier(value, where, max_len=512)


def _ref(obj: dict[str, Any], name: str, where: str) -> str | None:
    """The id of a referenced object (``variant { id }``), None when the reference is null."""
    ref = _obj(obj.get(name), f"{where}{name}")
    return _id(ref.get("id"), f"{where}{name}.id") if ref else None


def _ts(value: Any, where: str, *, nullable: bool = False) -> datetime | None:
    return coerce.timestamp_iso(value, where, nullable=nullable)


def _money(
    obj: dict[str, Any], name: str, where: str, *, nullable: bool = False, expected: str | None = None
) -> tuple[Decimal | None, str | None]:
    """(amount, currency) from a MoneyBag's shopMoney; amounts are never floats or over-precise.

    ``expected``: the order's currency. shopMoney is always in the shop's currency, so a bag in
    another one is a corrupt record, not a conversion to make (adding EUR to USD would be silent).
    """
    bag = _obj(obj.get(name), f"{where}{name}")
    if not bag:
        if nullable:
            return None, None
        raise InvalidField(f"{where}{name}", "money is missing", None)
    shop = _obj(bag.get("shopMoney"), f"{where}{name}.shopMoney", nullable=False)
    currency = _currency(shop.get("currencyCode"), f"{where}{name}.shopMoney.currencyCode")
    if expected is not None and currency != expected:
        raise InvalidField(
            f"{where}{name}.shopMoney.currencyCode",
            f"currency {currency} differs from the order's {expected}",
            currency,
        )
    return _amount(shop.get("amount"), f"{where}{name}.shopMoney.amount", currency), currency


def _amount(value: Any, where: str, currency: str | None) -> Decimal:
    amount = coerce.money(value, where, currency)
    assert amount is not None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > cfg.MONEY_SCALE:
        raise InvalidField(where, f"{value} has more decimals than the warehouse keeps ({cfg.MONEY_SCALE})", value)
    return amount


def _currency(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise InvalidField(where, f"not a currency code: {str(value)[:20]!r}", value)
    return value


def _bool(value: Any, where: str, *, nullable: bool = False) -> bool | None:
    if value is None and nullable:
        return None
    if not isinstance(value, bool):
        raise InvalidField(where, f"must be true or false, got {type(value).__name__} {str(value)[:20]!r}", value)
    return value


def _count(value: Any, where: str) -> int:
    """A quantity that cannot be negative (ordered, refunded, fulfilled units)."""
    n = coerce.integer(value, where, minimum=0)
    assert n is not None
    return n


def _json_texts(value: Any, where: str) -> str:
    items = _list(value, where)
    for i, item in enumerate(items):
        coerce.text(item, f"{where}[{i}]", nullable=False)
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def _attributes(value: Any, where: str) -> str:
    out = []
    for i, attr in enumerate(_list(value, where)):
        attr = _obj(attr, f"{where}[{i}]", nullable=False)
        out.append(
            {
                "key": coerce.text(attr.get("key"), f"{where}[{i}].key", nullable=False),
                "value": coerce.text(attr.get("value"), f"{where}[{i}].value"),
            }
        )
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- orders


def order_rows(connection_id: str, rec: dict[str, Any]) -> Rows:
    """All rows of one order: the order, its line items, refunds (+ lines, shipping, transactions),
    transactions, fulfillments (one row per tracking entry) and fulfillment orders (+ lines)."""
    order_id = _id(rec.get("id"), "id")
    updated_at = _ts(rec.get("updatedAt"), "updatedAt")
    currency = _currency(rec.get("currencyCode"), "currencyCode")
    order: Row = {
        "connection_id": connection_id,
        "id": order_id,
        "legacy_resource_id": coerce.text(rec.get("legacyResourceId"), "legacyResourceId"),
        "name": coerce.text(rec.get("name"), "name"),
        "created_at": _ts(rec.get("createdAt"), "createdAt"),
        "updated_at": updated_at,
        "processed_at": _ts(rec.get("processedAt"), "processedAt"),
        "closed_at": _ts(rec.get("closedAt"), "closedAt", nullable=True),
        "cancelled_at": _ts(rec.get("cancelledAt"), "cancelledAt", nullable=True),
        "cancel_reason": coerce.enum(rec.get("cancelReason"), "cancelReason", cfg.CANCEL_REASONS, nullable=True),
        "display_financial_status": coerce.enum(
            rec.get("displayFinancialStatus"), "displayFinancialStatus", cfg.FINANCIAL_STATUSES, nullable=True
        ),
        "display_fulfillment_status": coerce.enum(
            rec.get("displayFulfillmentStatus"), "displayFulfillmentStatus", cfg.FULFILLMENT_STATUSES
        ),
        "return_status": coerce.enum(rec.get("returnStatus"), "returnStatus", cfg.RETURN_STATUSES, nullable=True),
        "source_name": coerce.text(rec.get("sourceName"), "sourceName"),
        "source_identifier": coerce.text(rec.get("sourceIdentifier"), "sourceIdentifier"),
        "tags": _json_texts(rec.get("tags"), "tags"),
        "custom_attributes": _attributes(rec.get("customAttributes"), "customAttributes"),
        "payment_gateway_names": _json_texts(rec.get("paymentGatewayNames"), "paymentGatewayNames"),
        "test": _bool(rec.get("test"), "test", nullable=True),
        "currency_code": currency,
    }
    for column, name, nullable in (
        ("total_price", "totalPriceSet", False),
        ("subtotal_price", "subtotalPriceSet", True),
        ("total_tax", "totalTaxSet", True),
        ("total_shipping_price", "totalShippingPriceSet", False),
        ("total_discounts", "totalDiscountsSet", True),
        ("total_refunded", "totalRefundedSet", False),
        ("net_payment", "netPaymentSet", False),
    ):
        order[column] = _money(rec, name, "", nullable=nullable, expected=currency)[0]

    base = {"connection_id": connection_id, "order_id": order_id, "order_updated_at": updated_at}
    out: Rows = {t.name: [] for t in ORDER_TABLES}
    out[ORDERS.name].append(order)
    for where, li in _nodes(rec, "lineItems", ""):
        out[LINE_ITEMS.name].append(
            {
                **base,
                "id": _id(li.get("id"), f"{where}.id"),
                "sku": coerce.text(li.get("sku"), f"{where}.sku"),
                "quantity": _count(li.get("quantity"), f"{where}.quantity"),
                "variant_id": _ref(li, "variant", f"{where}."),
                "original_unit_price": _money(li, "originalUnitPriceSet", f"{where}.", expected=currency)[0],
                "discounted_total": _money(li, "discountedTotalSet", f"{where}.", expected=currency)[0],
            }
        )
    for where, refund in _items(rec, "refunds", ""):
        _refund_rows(refund, where, base, out, currency)
    for where, tx in _items(rec, "transactions", ""):
        out[TRANSACTIONS.name].append({**base, **_transaction(tx, where, currency)})
    for where, ful in _items(rec, "fulfillments", ""):
        fulfillment = {
            **base,
            "id": _id(ful.get("id"), f"{where}.id"),
            "status": coerce.enum(ful.get("status"), f"{where}.status", cfg.FULFILLMENT_STATUS_VALUES),
            "created_at": _ts(ful.get("createdAt"), f"{where}.createdAt"),
        }
        tracking = _items(ful, "trackingInfo", f"{where}.") or [(f"{where}.trackingInfo", {})]
        for position, (at, info) in enumerate(tracking):
            out[FULFILLMENTS.name].append(
                {
                    **fulfillment,
                    "tracking_position": position,
                    "tracking_number": coerce.text(info.get("number"), f"{at}.number"),
                    "tracking_company": coerce.text(info.get("company"), f"{at}.company"),
                    "tracking_url": coerce.text(info.get("url"), f"{at}.url"),
                }
            )
    for where, fo in _nodes(rec, "fulfillmentOrders", ""):
        fo_id = _id(fo.get("id"), f"{where}.id")
        assigned = _obj(fo.get("assignedLocation"), f"{where}.assignedLocation")
        out[FULFILLMENT_ORDERS.name].append(
            {
                **base,
                "id": fo_id,
                "status": coerce.enum(fo.get("status"), f"{where}.status", cfg.FULFILLMENT_ORDER_STATUSES),
                "assigned_location_id": _ref(assigned, "location", f"{where}.assignedLocation."),
            }
        )
        for at, foli in _nodes(fo, "lineItems", f"{where}."):
            line = _obj(foli.get("lineItem"), f"{at}.lineItem")
            out[FULFILLMENT_ORDER_LINE_ITEMS.name].append(
                {
                    **base,
                    "id": _id(foli.get("id"), f"{at}.id"),
                    "fulfillment_order_id": fo_id,
                    "line_item_id": _id(line.get("id"), f"{at}.lineItem.id") if line else None,
                    "sku": coerce.text(line.get("sku"), f"{at}.lineItem.sku"),
                    "total_quantity": _count(foli.get("totalQuantity"), f"{at}.totalQuantity"),
                    "remaining_quantity": _count(foli.get("remainingQuantity"), f"{at}.remainingQuantity"),
                }
            )
    return out


def _refund_rows(refund: dict[str, Any], where: str, base: Row, out: Rows, currency: str) -> None:
    refund_id = _id(refund.get("id"), f"{where}.id")
    out[REFUNDS.name].append(
        {
            **base,
            "id": refund_id,
            "created_at": _ts(refund.get("createdAt"), f"{where}.createdAt", nullable=True),
            "note": coerce.text(refund.get("note"), f"{where}.note"),
            "total_refunded": _money(refund, "totalRefundedSet", f"{where}.", expected=currency)[0],
        }
    )
    for at, rli in _nodes(refund, "refundLineItems", f"{where}."):
        line = _obj(rli.get("lineItem"), f"{at}.lineItem", nullable=False)
        out[REFUND_LINE_ITEMS.name].append(
            {
                **base,
                "id": _id(rli.get("id"), f"{at}.id"),
                "refund_id": refund_id,
                "line_item_id": _id(line.get("id"), f"{at}.lineItem.id"),
                "sku": coerce.text(line.get("sku"), f"{at}.lineItem.sku"),
                "quantity": _count(rli.get("quantity"), f"{at}.quantity"),
                "restock_type": coerce.enum(rli.get("restockType"), f"{at}.restockType", cfg.RESTOCK_TYPES),
                "restocked": _bool(rli.get("restocked"), f"{at}.restocked"),
                "location_id": _ref(rli, "location", f"{at}."),
                "subtotal": _money(rli, "subtotalSet", f"{at}.", expected=currency)[0],
            }
        )
    for at, line in _nodes(refund, "refundShippingLines", f"{where}."):
        out[REFUND_SHIPPING_LINES.name].append(
            {
                **base,
                "id": _id(line.get("id"), f"{at}.id"),
                "refund_id": refund_id,
                "subtotal_amount": _money(line, "subtotalAmountSet", f"{at}.", expected=currency)[0],
            }
        )
    for at, tx in _nodes(refund, "transactions", f"{where}."):
        out[REFUND_TRANSACTIONS.name].append({**base, "refund_id": refund_id, **_transaction(tx, at, currency)})


def _transaction(tx: dict[str, Any], where: str, currency: str) -> Row:
    return {
        "id": _id(tx.get("id"), f"{where}.id"),
        "kind": coerce.enum(tx.get("kind"), f"{where}.kind", cfg.TRANSACTION_KINDS),
        "status": coerce.enum(tx.get("status"), f"{where}.status", cfg.TRANSACTION_STATUSES),
        "gateway": coerce.text(tx.get("gateway"), f"{where}.gateway"),
        "amount": _money(tx, "amountSet", f"{where}.", expected=currency)[0],
        "processed_at": _ts(tx.get("processedAt"), f"{where}.processedAt", nullable=True),
    }


# --------------------------------------------------------------------------- catalog and inventory


def product_rows(connection_id: str, rec: dict[str, Any], currency: str) -> Rows:
    """The product and its variants; ``currency`` is the shop's (``ProductVariant.price`` carries none)."""
    product_id = _id(rec.get("id"), "id")
    media = _obj(rec.get("mediaCount"), "mediaCount")
    product: Row = {
        "connection_id": connection_id,
        "id": product_id,
        "legacy_resource_id": coerce.text(rec.get("legacyResourceId"), "legacyResourceId"),
        "title": coerce.text(rec.get("title"), "title"),
        "description_html": coerce.text(rec.get("descriptionHtml"), "descriptionHtml", max_len=1_000_000),
        "status": coerce.enum(rec.get("status"), "status", cfg.PRODUCT_STATUSES),
        "vendor": coerce.text(rec.get("vendor"), "vendor"),
        "product_type": coerce.text(rec.get("productType"), "productType"),
        "media_count": coerce.integer(media.get("count"), "mediaCount.count", minimum=0) if media else None,
        "tiktok_title": coerce.text(_obj(rec.get("tiktokTitle"), "tiktokTitle").get("value"), "tiktokTitle.value"),
        "package_dimensions": coerce.text(
            _obj(rec.get("packageDimensions"), "packageDimensions").get("value"), "packageDimensions.value"
        ),
        "created_at": _ts(rec.get("createdAt"), "createdAt"),
        "updated_at": _ts(rec.get("updatedAt"), "updatedAt"),
    }
    variants = []
    for where, v in _nodes(rec, "variants", ""):
        item = _obj(v.get("inventoryItem"), f"{where}.inventoryItem")
        at = f"{where}.inventoryItem.measurement.weight"
        weight = _obj(_obj(item.get("measurement"), f"{where}.inventoryItem.measurement").get("weight"), at)
        value = weight.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidField(f"{at}.value", f"must be a number, got {type(value).__name__} {str(value)[:20]!r}")
        variants.append(
            {
                "connection_id": connection_id,
                "id": _id(v.get("id"), f"{where}.id"),
                "product_id": product_id,
                "legacy_resource_id": coerce.text(v.get("legacyResourceId"), f"{where}.legacyResourceId"),
                "title": coerce.text(v.get("title"), f"{where}.title"),
                "sku": coerce.text(v.get("sku"), f"{where}.sku"),
                "barcode": coerce.text(v.get("barcode"), f"{where}.barcode"),
                "price": _amount(v.get("price"), f"{where}.price", currency),
                "inventory_item_id": _id(item.get("id"), f"{where}.inventoryItem.id") if item else None,
                "weight_value": float(value) if value is not None else None,
                "weight_unit": coerce.enum(weight.get("unit"), f"{at}.unit", cfg.WEIGHT_UNITS, nullable=True),
                "variant_updated_at": _ts(v.get("updatedAt"), f"{where}.updatedAt"),
            }
        )
    return {PRODUCTS.name: [product], VARIANTS.name: variants}


def location_rows(connection_id: str, rec: dict[str, Any]) -> Rows:
    address = _obj(rec.get("address"), "address")
    return {
        LOCATIONS.name: [
            {
                "connection_id": connection_id,
                "id": _id(rec.get("id"), "id"),
                "name": coerce.text(rec.get("name"), "name"),
                "is_active": _bool(rec.get("isActive"), "isActive"),
                "country_code": coerce.text(address.get("countryCode"), "address.countryCode"),
            }
        ]
    }


def inventory_level_rows(connection_id: str, rec: dict[str, Any]) -> Rows:
    """One level; ``available``/``on_hand`` may be negative (Shopify allows overselling), committed not."""
    item = _obj(rec.get("item"), "item", nullable=False)
    quantities: dict[str, int | None] = {}
    for where, q in _items(rec, "quantities", ""):
        name = coerce.text(q.get("name"), f"{where}.name", nullable=False)
        quantities[str(name)] = coerce.integer(
            q.get("quantity"), f"{where}.quantity", minimum=0 if name == "committed" else None
        )
    return {
        INVENTORY_LEVELS.name: [
            {
                "connection_id": connection_id,
                "id": _id(rec.get("id"), "id"),
                "inventory_item_id": _id(item.get("id"), "item.id"),
                "variant_id": _ref(item, "variant", "item."),
                "sku": coerce.text(item.get("sku"), "item.sku"),
                "location_id": _ref(rec, "location", ""),
                "available": quantities.get("available"),
                "committed": quantities.get("committed"),
                "on_hand": quantities.get("on_hand"),
                "updated_at": _ts(rec.get("updatedAt"), "updatedAt"),
            }
        ]
    }
