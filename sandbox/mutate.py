"""Change a share of the merchant's orders the way a day of business does (incremental benchmarks).

``mutate(state, fraction, seed)`` picks ``fraction`` of each connection's live TikTok orders
(seeded) and moves each one step along its lifecycle, on TikTok and, where the sales channel
would, on its Shopify mirror:

| TikTok status now | change | Shopify mirror |
|---|---|---|
| UNPAID | paid -> ON_HOLD | — |
| ON_HOLD | hold released -> AWAITING_SHIPMENT | — |
| AWAITING_SHIPMENT (15 %) | seller cancels (+ cancellation record) | cancelled + record-only refund naming it |
| AWAITING_SHIPMENT, PARTIALLY_SHIPPING | tracking added -> AWAITING_COLLECTION | fulfilment with the same tracking |
| AWAITING_COLLECTION | collected -> IN_TRANSIT | — |
| IN_TRANSIT | delivered -> DELIVERED | — |
| DELIVERED | completed -> COMPLETED | — |
| COMPLETED | buyer asks for a refund (+ pending return record) | — |

Every changed record gets one write stamp from the merchant clock (``Clock.stamp``), later than
anything before it, so an incremental extraction from the previous high-water mark sees exactly
these records.  Works on both stores (in-memory lists and ``DiskRecords``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.recordstore import is_disk, linked_tiktok_id
from sandbox.state import ConnectionState, MerchantState, iso, unix

Record = dict[str, Any]

#: a TikTok order's change, by its status
STEPS = {
    "UNPAID": "paid",
    "ON_HOLD": "hold_released",
    "AWAITING_SHIPMENT": "tracking_added",
    "PARTIALLY_SHIPPING": "tracking_added",
    "AWAITING_COLLECTION": "collected",
    "IN_TRANSIT": "delivered",
    "DELIVERED": "completed",
    "COMPLETED": "return_requested",
}
CANCEL_SHARE = 0.15
#: share of the changed orders that are completed orders getting a refund request
RETURN_SHARE = 0.2
CARRIERS = [("7117859084333745966", "UPS", "https://www.ups.com/track?tracknum=")]


def mutate(
    state: MerchantState,
    fraction: float,
    seed: int,
    on_changed: Callable[[str, list[Record]], None] | None = None,
    advance_seconds: float = 3600,
) -> dict[str, Any]:
    """Change ``fraction`` of every connection's TikTok orders; returns counts per connection.

    The merchant clock first moves ``advance_seconds`` on (the changes happen "later today"), so
    the one write stamp is after every existing record, including those stamped ``as_of``.
    ``on_changed(connection id, changed Shopify orders)`` lets the emulators re-index.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if advance_seconds < 1:
        raise ValueError(f"advance_seconds must be at least 1, got {advance_seconds}")
    with state.lock:
        state.clock.advance(advance_seconds)
        stamp = state.clock.stamp()
        out: dict[str, Any] = {"stamped_at": iso(stamp), "connections": {}}
        for conn in state.connections:
            counts, changed_shopify = _mutate_connection(state, conn, fraction, seed, stamp)
            out["connections"][conn.id] = counts
            if on_changed is not None:
                on_changed(conn.id, changed_shopify)
    return out


def _rows(orders: Sequence[Record]) -> Sequence[Any]:
    """Something with ``get("id")`` and ``get("status")`` per order: slim rows on disk, else the records."""
    return orders.slim_rows() if is_disk(orders) else orders  # type: ignore[attr-defined]


def _fetch(records: Sequence[Record], pos: int) -> Record:
    """The record to edit in place: pinned in a disk store's write cache (it is edited after the fetch)."""
    return records.get(pos, pin=True) if is_disk(records) else records[pos]  # type: ignore[attr-defined]


def _mirrors(shopify_orders: Sequence[Record], wanted: set[str]) -> dict[str, int]:
    """TikTok order id -> position of its Shopify mirror, for the ids in ``wanted``."""
    out: dict[str, int] = {}
    if is_disk(shopify_orders):
        for pos, slim in enumerate(shopify_orders.slim_rows()):  # type: ignore[attr-defined]
            tid = slim.get("_tiktok_id")
            if tid in wanted:
                out.setdefault(tid, pos)
        return out
    for pos, order in enumerate(shopify_orders):
        tid = linked_tiktok_id(order)
        if tid in wanted:
            out.setdefault(tid, pos)
    return out


def _mutate_connection(
    state: MerchantState, conn: ConnectionState, fraction: float, seed: int, stamp: datetime
) -> tuple[dict[str, Any], list[Record]]:
    rng = random.Random(f"{seed}:{conn.id}:mutate")
    orders = conn.tiktok_shop.setdefault("orders", [])
    shopify_orders = conn.shopify.setdefault("orders", [])
    rows = _rows(orders)
    statuses = [r.get("status") for r in rows]
    moving = [pos for pos, status in enumerate(statuses) if status in STEPS and status != "COMPLETED"]
    completed = [pos for pos, status in enumerate(statuses) if status == "COMPLETED"]
    k = min(len(moving) + len(completed), max(1, round(fraction * len(orders))))
    # most of a day's changes are open orders moving on; some are refund requests on completed ones
    k_done = min(len(completed), max(round(k * RETURN_SHARE), k - len(moving)))
    k_moving = k - k_done
    chosen = sorted(rng.sample(moving, k_moving) + rng.sample(completed, k_done))
    mirrors = _mirrors(shopify_orders, {str(rows[pos].get("id")) for pos in chosen})
    changes: Counter[str] = Counter()
    changed_shopify: list[Record] = []
    ts = unix(stamp)
    for pos in chosen:  # one order (and its mirror) at a time: a disk store holds only what is edited
        order = _fetch(orders, pos)
        step = STEPS[order["status"]]
        if step == "tracking_added" and order["status"] == "AWAITING_SHIPMENT" and rng.random() < CANCEL_SHARE:
            step = "cancelled"
        mirror_pos = mirrors.get(str(order["id"]))
        mirror = _fetch(shopify_orders, mirror_pos) if mirror_pos is not None else None
        if step == "tracking_added" and order.get("fulfillment_type") == "FULFILLMENT_BY_TIKTOK":
            mirror = None  # TikTok ships FBT orders; the merchant's Shopify store does not fulfil them
        _STEP_FUNCS[step](state, conn, order, mirror, rng, ts, stamp)
        order["update_time"] = ts
        changes[step] += 1
        if mirror is not None and step in ("tracking_added", "cancelled"):
            mirror["updatedAt"] = iso(stamp)
            changed_shopify.append(mirror)
    counts = {
        "tiktok_orders": len(orders),
        "tiktok_orders_changed": sum(changes.values()),
        "shopify_orders_changed": len(changed_shopify),
        "by_change": dict(sorted(changes.items())),
    }
    return counts, changed_shopify


# --------------------------------------------------------------------------- one lifecycle step each


def _lines(order: Record) -> list[Record]:
    return order.get("line_items") or []


def _set_lines(order: Record, **values: Any) -> None:
    for li in _lines(order):
        if li.get("display_status") != "CANCELLED":
            li.update(values)


def _paid(_s, _c, order: Record, _m, _r, ts: int, _st) -> None:
    order.update(status="ON_HOLD", paid_time=ts)
    _set_lines(order, display_status="ON_HOLD")


def _hold_released(_s, _c, order: Record, _m, _r, _ts, _st) -> None:
    order["status"] = "AWAITING_SHIPMENT"
    _set_lines(order, display_status="AWAITING_SHIPMENT")


def _tracking_added(state: MerchantState, _c, order: Record, mirror: Record | None, rng, ts: int, stamp) -> None:
    provider_id, company, url = CARRIERS[0]
    tracking = "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(16))
    package_id = f"11589{state.next_mutation_number():014d}"
    for li in _lines(order):
        if li.get("display_status") in ("CANCELLED", "IN_TRANSIT", "DELIVERED", "COMPLETED"):
            continue
        li.update(
            display_status="AWAITING_COLLECTION",
            package_id=package_id,
            package_status="TO_FULFILL",
            tracking_number=tracking,
            shipping_provider_id=provider_id,
            shipping_provider_name=company,
            rts_time=ts,
        )
    packages = order.setdefault("packages", [])
    packages.append({"id": package_id})
    order.update(
        status="AWAITING_COLLECTION",
        tracking_number=tracking,
        shipping_provider=company,
        shipping_provider_id=provider_id,
        rts_time=ts,
    )
    if mirror is None:
        return
    mirror.setdefault("fulfillments", []).append(
        {
            "id": f"gid://shopify/Fulfillment/{90_000_000_000 + state.next_mutation_number()}",
            "status": "SUCCESS",
            "createdAt": iso(stamp),
            "trackingInfo": [{"number": tracking, "company": company, "url": url + tracking}],
        }
    )
    mirror["displayFulfillmentStatus"] = "FULFILLED"
    for fo in (mirror.get("fulfillmentOrders") or {}).get("nodes", []):
        fo["status"] = "CLOSED"
        for foli in (fo.get("lineItems") or {}).get("nodes", []):
            foli["remainingQuantity"] = 0


def _collected(_s, _c, order: Record, _m, _r, ts: int, _st) -> None:
    order.update(status="IN_TRANSIT", collection_time=ts)
    _set_lines(order, display_status="IN_TRANSIT", package_status="FULFILLING")


def _delivered(_s, _c, order: Record, _m, _r, ts: int, _st) -> None:
    order.update(status="DELIVERED", delivery_time=ts)
    _set_lines(order, display_status="DELIVERED", package_status="COMPLETED")


def _completed(_s, _c, order: Record, _m, _r, _ts, _st) -> None:
    order["status"] = "COMPLETED"
    _set_lines(order, display_status="COMPLETED", package_status="COMPLETED")


def _money_total(order: Record, lines: list[Record]) -> Decimal:
    return sum((Decimal(str(li.get("sale_price") or "0")) for li in lines), Decimal("0.00"))


def _refund_amount(currency: str, subtotal: Decimal, shipping: Decimal) -> Record:
    return {
        "buyer_service_fee": "0.00",
        "currency": currency,
        "refund_shipping_fee": f"{shipping:.2f}",
        "refund_subtotal": f"{subtotal:.2f}",
        "refund_tax": "0.00",
        "refund_total": f"{subtotal + shipping:.2f}",
        "retail_delivery_fee": "0.00",
    }


def _refund_items(order: Record, lines: list[Record], currency: str, id_field: str, base: str) -> list[Record]:
    return [
        {
            id_field: f"{base}{n:03d}",
            "order_line_item_id": li.get("id"),
            "product_name": li.get("product_name"),
            "refund_amount": _refund_amount(currency, Decimal(str(li.get("sale_price") or "0")), Decimal("0")),
            "seller_sku": li.get("seller_sku"),
            "sku_id": li.get("sku_id"),
            "sku_name": li.get("sku_name"),
        }
        for n, li in enumerate(lines)
    ]


def _cancelled(state: MerchantState, conn: ConnectionState, order: Record, mirror, _r, ts: int, stamp) -> None:
    currency = (order.get("payment") or {}).get("currency") or conn.tiktok.get("currency", "")
    lines = [li for li in _lines(order) if li.get("display_status") != "CANCELLED"]
    shipping = Decimal(str((order.get("payment") or {}).get("shipping_fee") or "0"))
    subtotal = _money_total(order, lines)
    cancel_id = f"40389{state.next_mutation_number():014d}"
    for li in lines:
        li.update(display_status="CANCELLED", cancel_reason="Out of stock", cancel_user="SELLER")
    order.update(
        status="CANCELLED",
        cancel_time=ts,
        cancel_reason="Out of stock",
        cancellation_initiator="SELLER",
    )
    conn.tiktok_shop.setdefault("cancellations", []).append(
        {
            "cancel_id": cancel_id,
            "order_id": order["id"],
            "cancel_type": "CANCEL",
            "cancel_status": "CANCELLATION_REQUEST_COMPLETE",
            "role": "SELLER",
            "cancel_reason": "Out of stock",
            "cancel_reason_text": "Out of stock",
            "refund_amount": _refund_amount(currency, subtotal, shipping),
            "cancel_line_items": _refund_items(order, lines, currency, "cancel_line_item_id", cancel_id),
            "should_replenish_stock": True,
            "create_time": ts,
            "update_time": ts,
        }
    )
    if mirror is None:
        return
    money_zero = {"shopMoney": {"amount": "0.00", "currencyCode": mirror.get("currencyCode", currency)}}
    location = None
    for fo in (mirror.get("fulfillmentOrders") or {}).get("nodes", []):
        location = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id") or location
        fo["status"] = "CANCELLED"
        for foli in (fo.get("lineItems") or {}).get("nodes", []):
            foli["remainingQuantity"] = 0
    cur = mirror.get("currencyCode", currency)
    refund_lines = []
    for li in (mirror.get("lineItems") or {}).get("nodes", []):
        amount = ((li.get("discountedTotalSet") or {}).get("shopMoney") or {}).get("amount", "0.00")
        refund_lines.append(
            {
                "quantity": li.get("quantity"),
                "restockType": "CANCEL",
                "restocked": True,
                "location": {"id": location} if location else None,
                "lineItem": {"id": li.get("id"), "sku": li.get("sku")},
                "subtotalSet": {"shopMoney": {"amount": amount, "currencyCode": cur}},
            }
        )
    number = 95_000_000_000 + state.next_mutation_number()
    refund: Record = {
        "id": f"gid://shopify/Refund/{number}",
        "createdAt": iso(stamp),
        "note": f"TikTok Shop cancellation {cancel_id}",
        "totalRefundedSet": money_zero,
        "refundLineItems": {"nodes": refund_lines},
        "refundShippingLines": {"nodes": []},
        "transactions": {"nodes": []},
    }
    if shipping > 0:
        refund["refundShippingLines"]["nodes"].append(
            {
                "id": f"gid://shopify/RefundShippingLine/{number}",
                "subtotalAmountSet": {"shopMoney": {"amount": f"{shipping:.2f}", "currencyCode": cur}},
            }
        )
    mirror.setdefault("refunds", []).append(refund)
    mirror.update(cancelledAt=iso(stamp), cancelReason="CUSTOMER", displayFinancialStatus="REFUNDED")


def _return_requested(state: MerchantState, conn: ConnectionState, order: Record, _m, _r, ts: int, _st) -> None:
    currency = (order.get("payment") or {}).get("currency") or conn.tiktok.get("currency", "")
    lines = _lines(order)[:1]
    return_id = f"40379{state.next_mutation_number():014d}"
    conn.tiktok_shop.setdefault("returns", []).append(
        {
            "return_id": return_id,
            "order_id": order["id"],
            "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_PENDING",
            "role": "BUYER",
            "return_reason": "CHANGED_MY_MIND",
            "return_reason_text": "Changed my mind",
            "create_time": ts,
            "update_time": ts,
            "refund_amount": _refund_amount(currency, _money_total(order, lines), Decimal("0")),
            "return_line_items": _refund_items(order, lines, currency, "return_line_item_id", return_id),
            "return_tracking_number": "",
            "return_provider_name": "",
            "return_method": "",
            "is_quick_refund": False,
            "can_buyer_keep_item": True,
            "partial_refund": {},
            "seller_next_action_response": [],
        }
    )


_STEP_FUNCS: dict[str, Callable[..., None]] = {
    "paid": _paid,
    "hold_released": _hold_released,
    "tracking_added": _tracking_added,
    "collected": _collected,
    "delivered": _delivered,
    "completed": _completed,
    "return_requested": _return_requested,
    "cancelled": _cancelled,
}
