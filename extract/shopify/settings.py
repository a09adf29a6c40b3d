"""Shopify extraction knobs: API limits, nested page sizes, pacing, bulk polling, lookback, enum sets.

Everything tunable lives here so the numbers behind a page-size or pacing decision are in one
place. API facts are from shared/reference/platform-apis.md §2 and pipeline-facts.md (Shopify
GraphQL cost and bulk facts); the enum sets are Shopify's Admin API 2025-01 values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PLATFORM = "shopify"

# --------------------------------------------------------------------------- API limits

#: Shopify refuses a single query whose requestedQueryCost exceeds this (MAX_COST_EXCEEDED)
MAX_QUERY_COST = 1000
#: ``first``/``last`` above this are refused outside bulk operations
MAX_PAGE_SIZE = 250
#: what one mutation root field costs; used to pace writes
MUTATION_COST = 10
#: a bulk query may hold at most this many connections, nested at most this deep
BULK_MAX_CONNECTIONS = 5
BULK_MAX_DEPTH = 2

# --------------------------------------------------------------------------- nested page sizes
#
# A paged order costs 1 + its object fields + each nested connection (2 + first x node cost) and
# each plain list (first x node cost); ``queries.node_cost`` does the arithmetic. With the sizes
# below one order node costs 16 (scalars, customAttributes, 7 money sets) + lineItems 62
# + fulfillmentOrders 52 (each with lineItems(first:10)) + refunds 138 (each with
# refundLineItems 27, refundShippingLines 8, transactions 8) + fulfillments 24 + transactions 15
# = 307 points, so a page holds (1000 - 2) // 307 = 3 orders (requested 923). Shopify refunds the
# unused part of the requested cost, so big nested sizes cost bucket *admission*, not throughput:
# a typical order's actual cost is ~40-70. The sizes cover the generated merchant's largest
# orders (3 lines, 2 refunds, 2 fulfillments) without follow-ups; anything larger is completed
# by follow-up queries (``node(id:) { ... lineItems(after:) }``), never truncated.
ORDER_LINE_ITEMS = 10
ORDER_FULFILLMENT_ORDERS = 2
FULFILLMENT_ORDER_LINE_ITEMS = 10
#: plain lists (no cursor): a list that comes back full is re-read whole by a follow-up query
ORDER_REFUNDS = 3
REFUND_LINE_ITEMS = 5
REFUND_SHIPPING_LINES = 2
REFUND_TRANSACTIONS = 2
ORDER_FULFILLMENTS = 4
FULFILLMENT_TRACKING = 5
ORDER_TRANSACTIONS = 5
#: a product costs 4 (itself, mediaCount, two metafields) + variants 2 + 20 x 4 = 86 -> 11 per page
PRODUCT_VARIANTS = 20

INVENTORY_QUANTITY_NAMES = ("available", "committed", "on_hand")

# --------------------------------------------------------------------------- incremental loading

#: the earliest cursor a first load starts from (dlt ``initial_value`` when no ``since`` is given)
INITIAL_CURSOR = datetime(2000, 1, 1, tzinfo=UTC)
#: re-read window behind the last cursor: catches records whose updatedAt landed late
DEFAULT_LOOKBACK = timedelta(hours=2)
#: records per batch handed to dlt. API pages are small (3 orders) and dlt spends ~8 ms on each
#: item's table hints, so rows are gathered across API pages; bulk results are cut to this size
RECORDS_PER_BATCH = 500
#: warehouse money columns: Decimal, never float; amounts with more decimals are quarantined
MONEY_SCALE = 2
MONEY_COLUMN = {"data_type": "decimal", "precision": 18, "scale": MONEY_SCALE}


@dataclass(frozen=True)
class BulkPolling:
    """How a bulk operation is polled: exponential backoff up to ``max_s``, give up after ``timeout_s``.

    Shopify gives no completion estimate, so polling starts fast (small shops finish in seconds)
    and backs off (a million-order export takes tens of minutes; each poll costs one point).
    """

    initial_s: float = 0.5
    factor: float = 1.5
    max_s: float = 30.0
    timeout_s: float = 6 * 3600.0


# --------------------------------------------------------------------------- enum sets (Admin API 2025-01)

FINANCIAL_STATUSES = frozenset(
    {"AUTHORIZED", "EXPIRED", "PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED", "PENDING", "REFUNDED", "VOIDED"}
)
#: FULFILLMENT_NOT_REQUIRED appears in newer API versions (reference §2 "Enums"); accepted so an
#: API upgrade does not quarantine valid orders
FULFILLMENT_STATUSES = frozenset(
    {
        "FULFILLED",
        "IN_PROGRESS",
        "ON_HOLD",
        "OPEN",
        "PARTIALLY_FULFILLED",
        "PENDING_FULFILLMENT",
        "REQUEST_DECLINED",
        "RESTOCKED",
        "SCHEDULED",
        "UNFULFILLED",
        "FULFILLMENT_NOT_REQUIRED",
    }
)
RETURN_STATUSES = frozenset(
    {"INSPECTION_COMPLETE", "IN_PROGRESS", "NO_RETURN", "RETURNED", "RETURN_FAILED", "RETURN_REQUESTED"}
)
CANCEL_REASONS = frozenset({"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"})
RESTOCK_TYPES = frozenset({"CANCEL", "LEGACY_RESTOCK", "NO_RESTOCK", "RETURN"})
TRANSACTION_KINDS = frozenset(
    {"AUTHORIZATION", "CAPTURE", "CHANGE", "EMV_AUTHORIZATION", "REFUND", "SALE", "SUGGESTED_REFUND", "VOID"}
)
TRANSACTION_STATUSES = frozenset({"AWAITING_RESPONSE", "ERROR", "FAILURE", "PENDING", "SUCCESS", "UNKNOWN"})
FULFILLMENT_STATUS_VALUES = frozenset({"CANCELLED", "ERROR", "FAILURE", "OPEN", "PENDING", "SUCCESS"})
FULFILLMENT_ORDER_STATUSES = frozenset(
    {"CANCELLED", "CLOSED", "INCOMPLETE", "IN_PROGRESS", "ON_HOLD", "OPEN", "SCHEDULED"}
)
PRODUCT_STATUSES = frozenset({"ACTIVE", "ARCHIVED", "DRAFT"})
WEIGHT_UNITS = frozenset({"GRAMS", "KILOGRAMS", "OUNCES", "POUNDS"})
#: inventorySetQuantities accepts only these quantity names and reasons
SETTABLE_QUANTITY_NAMES = frozenset({"available", "on_hand"})
INVENTORY_REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
