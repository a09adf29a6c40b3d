"""return_refund/202309: returns and cancellations search, and the seller cancel write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.tiktok_shop import paging
from sandbox.tiktok_shop.call import Call, Record, fmt, money
from sandbox.tiktok_shop.errors import (
    CANCEL_NOT_ALLOWED,
    LINE_ITEM_INVALID,
    ORDER_NOT_FOUND,
    ApiError,
    invalid_param,
)
from sandbox.tiktok_shop.index import COMMITTED_STATUSES, line_cancelled, line_shipped

_TIME_FILTERS = ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt")
CANCELLABLE_STATUSES = frozenset({"UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "AWAITING_COLLECTION"})


def _search(
    call: Call,
    entity: str,
    id_field: str,
    out_key: str,
    size_range: tuple[int, int],
    list_filters: dict[str, str],
) -> dict[str, Any]:
    q = call.query
    size = paging.page_size(q, *size_range, default=10)
    field = paging.sort_field(q, ("create_time", "update_time"), "create_time")
    desc = paging.sort_order(q)
    body = call.body()
    lists = {}
    for param, rec_field in list_filters.items():
        values = paging.str_list(body, param)
        if values is not None:
            lists[rec_field] = values
    sets = {f: set(v) for f, v in lists.items()}
    times = paging.time_filters(body, _TIME_FILTERS)
    in_window = paging.time_predicate(times)

    def pred(r: Record) -> bool:
        return all(str(r.get(f)) in allowed for f, allowed in sets.items()) and in_window(r)

    d = paging.digest(entity, sorted(lists.items()), times, field, desc)
    view = call.idx.view(d, lambda: paging.build_view(call.idx.records(entity), pred, field, id_field))
    items, token = paging.take_page(view, size, q.get("page_token", ""), d, desc)
    return {out_key: items, "next_page_token": token, "total_count": len(view)}


def returns_search(call: Call) -> dict[str, Any]:
    return _search(
        call,
        "returns",
        "return_id",
        "return_orders",
        (10, 50),
        {
            "return_ids": "return_id",
            "order_ids": "order_id",
            "buyer_user_ids": "buyer_user_id",
            "return_types": "return_type",
            "return_status": "return_status",
            "arbitration_status": "arbitration_status",
        },
    )


def cancellations_search(call: Call) -> dict[str, Any]:
    return _search(
        call,
        "cancellations",
        "cancel_id",
        "cancellations",
        (1, 50),
        {
            "cancel_ids": "cancel_id",
            "order_ids": "order_id",
            "cancel_status": "cancel_status",
            "cancel_types": "cancel_type",
        },
    )


def _lines_to_cancel(order: Record, body: Record) -> list[Record]:
    lines = order.get("line_items") or []
    open_lines = [li for li in lines if not line_cancelled(li) and not line_shipped(li)]
    open_ids = {id(li) for li in open_lines}
    line_ids = paging.str_list(body, "order_line_item_ids")
    skus = body.get("skus")
    if line_ids:
        by_id = {str(li.get("id")): li for li in lines}
        bad = [i for i in line_ids if i not in by_id or id(by_id[i]) not in open_ids]
        if bad:
            raise ApiError(LINE_ITEM_INVALID, f"Line items unknown, shipped or already cancelled: {', '.join(bad)}")
        return [by_id[i] for i in dict.fromkeys(line_ids)]
    if skus:
        if not isinstance(skus, list):
            raise invalid_param("skus must be a list of {sku_id, quantity}")
        chosen: list[Record] = []
        chosen_ids: set[int] = set()
        for entry in skus:
            if not isinstance(entry, dict) or not isinstance(entry.get("quantity", 1), int):
                raise invalid_param("skus[] entries must be {sku_id, quantity}")
            sku_id = str(entry.get("sku_id", ""))
            quantity = entry.get("quantity", 1)
            candidates = [li for li in open_lines if str(li.get("sku_id")) == sku_id and id(li) not in chosen_ids]
            if quantity < 1 or len(candidates) < quantity:
                raise ApiError(LINE_ITEM_INVALID, f"Order has fewer than {quantity} open unit(s) of SKU {sku_id}")
            chosen.extend(candidates[:quantity])
            chosen_ids.update(id(li) for li in candidates[:quantity])
        return chosen
    return open_lines


def _replenish(call: Call, order: Record, lines: list[Record], now: int) -> None:
    """Cancelled units that were committed go back to available stock at the order's warehouse."""
    warehouse = str(order.get("warehouse_id") or "")
    if order.get("status") not in COMMITTED_STATUSES or not warehouse:
        return
    sku_index = call.idx.sku_index()
    for li in lines:
        hit = sku_index.get(str(li.get("sku_id")))
        if hit is None:
            continue
        product, sku = hit
        rows = sku.setdefault("inventory", [])
        for row in rows:
            if str(row.get("warehouse_id")) == warehouse:
                row["quantity"] = int(row.get("quantity") or 0) + 1
                break
        else:
            rows.append({"warehouse_id": warehouse, "quantity": 1})
        product["update_time"] = now


def seller_cancel(call: Call) -> dict[str, Any]:
    """POST return_refund/202309/cancellations: the seller cancels an order (or some of its units)."""
    body = call.body()
    order_id = paging.str_value(body, "order_id")
    if order_id is None:
        raise invalid_param("order_id is required")
    reason = paging.str_value(body, "cancel_reason")
    if reason is None:
        raise invalid_param("cancel_reason is required")
    order = call.idx.by_id("orders").get(order_id)
    if order is None:
        raise ApiError(ORDER_NOT_FOUND, f"Order {order_id} does not exist in this shop")
    status = order.get("status")
    if status == "CANCELLED":
        raise ApiError(CANCEL_NOT_ALLOWED, f"Order {order_id} is already cancelled")
    if status not in CANCELLABLE_STATUSES:
        raise ApiError(
            CANCEL_NOT_ALLOWED,
            f"Order {order_id} has status {status}; only unshipped orders can be cancelled",
        )
    lines = _lines_to_cancel(order, body)
    if not lines:
        raise ApiError(CANCEL_NOT_ALLOWED, f"Order {order_id} has no open line items to cancel")
    now = call.stamp()
    open_lines = [li for li in order.get("line_items") or [] if not line_cancelled(li)]
    whole = len(lines) == len(open_lines)
    payment = order.get("payment") or {}
    currency = payment.get("currency") or call.conn.tiktok.get("currency", "")  # type: ignore[union-attr]
    paid = status != "UNPAID"
    line_total = sum((money(li.get("sale_price")) for li in lines), Decimal(0)) if paid else Decimal(0)
    if whole and paid:
        refund = {
            "currency": currency,
            "refund_total": fmt(money(payment.get("total_amount"))),
            "refund_subtotal": fmt(money(payment.get("sub_total"))),
            "refund_shipping_fee": fmt(money(payment.get("shipping_fee"))),
            "refund_tax": fmt(money(payment.get("tax"))),
        }
    else:
        zero = fmt(Decimal(0))
        refund = {
            "currency": currency,
            "refund_total": fmt(line_total),
            "refund_subtotal": fmt(line_total),
            "refund_shipping_fee": zero,
            "refund_tax": zero,
        }
    taken = set(call.idx.by_id("cancellations", "cancel_id"))
    cancel_id = call.idx.new_id("5791", taken)
    record = {
        "cancel_id": cancel_id,
        "order_id": order_id,
        "cancel_type": "CANCEL",
        "cancel_status": "CANCELLATION_REQUEST_COMPLETE",
        "role": "SELLER",
        "cancel_reason": reason,
        "cancel_reason_text": reason,
        "refund_amount": refund,
        "cancel_line_items": [
            {
                "cancel_line_item_id": f"{cancel_id}{i:02d}",
                "order_line_item_id": li.get("id"),
                "sku_id": li.get("sku_id"),
                "seller_sku": li.get("seller_sku"),
                "product_name": li.get("product_name"),
                "sku_name": li.get("sku_name"),
                "refund_amount": {
                    "currency": currency,
                    "refund_total": fmt(money(li.get("sale_price")) if paid else Decimal(0)),
                },
            }
            for i, li in enumerate(lines, start=1)
        ],
        "should_replenish_stock": True,
        "create_time": now,
        "update_time": now,
    }
    _replenish(call, order, lines, now)
    for li in lines:
        li.update(display_status="CANCELLED", package_status="CANCELLED", cancel_reason=reason, cancel_user="SELLER")
    order["update_time"] = now
    if whole:
        order.update(status="CANCELLED", cancel_time=now, cancel_reason=reason, cancellation_initiator="SELLER")
    call.idx.records("cancellations").append(record)
    call.wrote("seller_cancel", added_records=True)
    return {"cancel_id": cancel_id, "cancel_status": record["cancel_status"]}
