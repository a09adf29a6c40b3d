"""Tunables and documented value sets for the TikTok Shop extraction.

Page sizes are each endpoint's documented maximum (fewer calls per record). The QPS target stays
under TikTok's default of 50 requests per second per API and shop, so a steady extraction never
meets a 429. Lookbacks re-read a window behind the last cursor because TikTok warns that update
times can land outside the searched range while its data refreshes, and because finance records
change after they are created (a statement's payment_status, a withdrawal's status).

Enum sets come from platform-apis.md §1. A value outside a strict set sends the record to
quarantine rather than guessing; the statement transaction types are an open list (the docs end
with "…"), so unknown types are loaded and counted, never quarantined.
"""

from __future__ import annotations

from datetime import timedelta

#: requests per second per API path and shop (TikTok's documented default limit is 50): 94% of
#: the limit, so a busy path runs at ≥ 0.9 of its quota (bench/bench_pacing.py) while the 3 calls/s
#: of headroom absorb arrival jitter; a 429 that still happens is retried after its Retry-After
QPS_TARGET = 47.0

#: (min, max) page_size per list endpoint; extraction uses the max, the start probe the min
PAGE_SIZE_BOUNDS = {
    "orders": (1, 100),
    "products": (1, 100),
    "returns": (10, 50),
    "cancellations": (1, 50),
    "statements": (1, 100),
    "statement_transactions": (1, 100),
    "payments": (1, 100),
    "withdrawals": (1, 100),
}

#: first loads and ``since`` backfills search in windows of this size (bounded result sets per query)
SEARCH_WINDOW = timedelta(days=30)

#: default re-read window for orders, products, returns and cancellations (the source's ``lookback``)
DEFAULT_LOOKBACK = timedelta(hours=2)
#: statements (payment_status moves PROCESSING -> PAID after the statement) and payments
FINANCE_LOOKBACK = timedelta(days=14)
#: withdrawals go PROCESSING -> SUCCESS|FAILED after they are created
WITHDRAWALS_LOOKBACK = timedelta(days=14)

#: the inventory search takes at most 100 product ids per call
INVENTORY_BATCH = 100
#: product detail and statement transaction fetches run this many at a time (QPS-limited anyway)
DETAIL_WORKERS = 4
#: rows of one table gathered across API pages before dlt gets them (``extract.common.arrow.coalesce``)
ROWS_PER_BATCH = 5_000

ORDER_STATUSES = frozenset(
    {
        "UNPAID",
        "ON_HOLD",
        "AWAITING_SHIPMENT",
        "PARTIALLY_SHIPPING",
        "AWAITING_COLLECTION",
        "IN_TRANSIT",
        "DELIVERED",
        "COMPLETED",
        "CANCELLED",
    }
)
#: line items have no ON_HOLD or PARTIALLY_SHIPPING (reference §Orders)
LINE_DISPLAY_STATUSES = ORDER_STATUSES - {"ON_HOLD", "PARTIALLY_SHIPPING"}
PACKAGE_STATUSES = frozenset({"TO_FULFILL", "PROCESSING", "FULFILLING", "COMPLETED", "CANCELLED"})
PRODUCT_STATUSES = frozenset(
    {
        "DRAFT",
        "PENDING",
        "FAILED",
        "ACTIVATE",
        "SELLER_DEACTIVATED",
        "PLATFORM_DEACTIVATED",
        "FREEZE",
        "DELETED",
        "SCHEDULED",
    }
)
RETURN_TYPES = frozenset({"REFUND", "RETURN_AND_REFUND", "REPLACEMENT"})
RETURN_STATUSES = frozenset(
    {
        "RETURN_OR_REFUND_REQUEST_PENDING",
        "REFUND_OR_RETURN_REQUEST_REJECT",
        "AWAITING_BUYER_SHIP",
        "BUYER_SHIPPED_ITEM",
        "REJECT_RECEIVE_PACKAGE",
        "RETURN_OR_REFUND_REQUEST_SUCCESS",
        "RETURN_OR_REFUND_REQUEST_CANCEL",
        "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "REPLACEMENT_REQUEST_PENDING",
        "REPLACEMENT_REQUEST_REJECT",
        "REPLACEMENT_REQUEST_REFUND_SUCCESS",
        "REPLACEMENT_REQUEST_CANCEL",
        "REPLACEMENT_REQUEST_COMPLETE",
        "AWAITING_BUYER_RESPONSE",
    }
)
CANCEL_TYPES = frozenset({"CANCEL", "BUYER_CANCEL"})
#: the reference spells the cancelled state both ways
CANCEL_STATUSES = frozenset(
    {
        "CANCELLATION_REQUEST_PENDING",
        "CANCELLATION_REQUEST_SUCCESS",
        "CANCELLATION_REQUEST_CANCEL",
        "CANCELLATION_REQUEST_CANCELLED",
        "CANCELLATION_REQUEST_COMPLETE",
    }
)
AFTERSALE_ROLES = frozenset({"BUYER", "SELLER", "OPERATOR", "SYSTEM"})
PAYMENT_STATUSES = frozenset({"PAID", "FAILED", "PROCESSING"})
WITHDRAWAL_TYPES = ("WITHDRAW", "SETTLE", "TRANSFER", "REVERSE")
WITHDRAWAL_STATUSES = frozenset({"PROCESSING", "SUCCESS", "FAILED"})
#: ORDER plus the documented adjustment types; the documented list is open-ended
TRANSACTION_TYPES = frozenset(
    {
        "ORDER",
        "SHIPPING_FEE_ADJUSTMENT",
        "SHIPPING_FEE_COMPENSATION",
        "CHARGE_BACK",
        "CUSTOMER_SERVICE_COMPENSATION",
        "PROMOTION_ADJUSTMENT",
        "PLATFORM_COMPENSATION",
        "PLATFORM_PENALTY",
        "SAMPLE_SHIPPING_FEE",
        "LOGISTICS_REIMBURSEMENT",
        "PLATFORM_REIMBURSEMENT",
        "DEDUCTIONS_INCURRED_BY_SELLER",
        "SHIPPING_FEE_REBATE",
        "PLATFORM_COMMISSION_ADJUSTMENT",
        "PLATFORM_COMMISSION_COMPENSATION",
        "OTHER_ADJUSTMENT",
        "FBT_WAREHOUSE_SERVICE_FEE",
        "GMV_PAYMENT_FOR_ADS",
        "REBATE",
    }
)
