"""Orders: search, detail, and the seller-shipping writes (mark shipped, fix tracking)."""

from __future__ import annotations

from typing import Any

from sandbox.tiktok_shop import paging
from sandbox.tiktok_shop.api_logistics import providers
from sandbox.tiktok_shop.call import Call, Record
from sandbox.tiktok_shop.errors import (
    LINE_ITEM_INVALID,
    ORDER_NOT_FOUND,
    ORDER_STATUS_CONFLICT,
    SHIPPING_PROVIDER_INVALID,
    ApiError,
    invalid_param,
)
from sandbox.tiktok_shop.index import line_cancelled, line_shipped

ORDER_STATUSES = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)
SHIPPABLE_STATUSES = frozenset({"AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION"})
TRACKING_FIXABLE_STATUSES = frozenset({"PARTIALLY_SHIPPING", "AWAITING_COLLECTION", "IN_TRANSIT"})
MAX_DETAIL_IDS = 50


def search(call: Call) -> dict[str, Any]:
    q = call.query
    size = paging.page_size(q, 1, 100)
    field = paging.sort_field(q, ("create_time", "update_time"), "create_time")
    desc = paging.sort_order(q)
    body = call.body()
    status = paging.str_value(body, "order_status", ORDER_STATUSES)
    shipping_type = paging.str_value(body, "shipping_type")
    buyer = paging.str_value(body, "buyer_user_id")
    warehouses = paging.str_list(body, "warehouse_ids")
    buyer_cancel = body.get("is_buyer_request_cancel")
    if buyer_cancel is not None and not isinstance(buyer_cancel, bool):
        raise invalid_param("is_buyer_request_cancel must be a boolean")
    times = paging.time_filters(body, ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt"))
    in_window = paging.time_predicate(times)
    wh_set = set(warehouses) if warehouses is not None else None

    def pred(o: Record) -> bool:
        return (
            (status is None or o.get("status") == status)
            and (shipping_type is None or o.get("shipping_type") == shipping_type)
            and (buyer is None or str(o.get("user_id")) == buyer)
            and (wh_set is None or str(o.get("warehouse_id")) in wh_set)
            and (buyer_cancel is None or bool(o.get("is_buyer_request_cancel")) == buyer_cancel)
            and in_window(o)
        )

    d = paging.digest("orders", status, shipping_type, buyer, warehouses, buyer_cancel, times, field, desc)
    view = call.idx.view(d, lambda: paging.build_view(call.idx.records("orders"), pred, field))
    orders, token = paging.take_page(view, size, q.get("page_token", ""), d, desc)
    return {"next_page_token": token, "orders": orders, "total_count": len(view)}


def detail(call: Call) -> dict[str, Any]:
    raw = call.query.get("ids", "")
    ids = list(dict.fromkeys(i.strip() for i in raw.split(",") if i.strip()))
    if not ids:
        raise invalid_param("ids is required (comma-separated order ids)")
    if len(ids) > MAX_DETAIL_IDS:
        raise invalid_param(f"ids accepts at most {MAX_DETAIL_IDS} order ids, got {len(ids)}")
    by_id = call.idx.by_id("orders")
    return {"orders": [by_id[i] for i in ids if i in by_id]}


# --------------------------------------------------------------------------- fulfillment


def _order(call: Call) -> Record:
    order_id = call.path_params["order_id"]
    order = call.idx.by_id("orders").get(order_id)
    if order is None:
        raise ApiError(ORDER_NOT_FOUND, f"Order {order_id} does not exist in this shop")
    return order


def _provider(call: Call, body: Record) -> tuple[str, str, str]:
    """(tracking number, provider id, provider name) from the request body."""
    tracking = body.get("tracking_number")
    if not isinstance(tracking, str) or not tracking.strip():
        raise invalid_param("tracking_number is required")
    provider_id = body.get("shipping_provider_id")
    if not isinstance(provider_id, str) or not provider_id:
        raise invalid_param("shipping_provider_id is required")
    names = providers(call)
    if provider_id not in names:
        raise ApiError(SHIPPING_PROVIDER_INVALID, f"Shipping provider {provider_id} is not available")
    return tracking.strip(), provider_id, names[provider_id]


def ship_package(call: Call) -> dict[str, Any]:
    """POST fulfillment/202309/orders/{order_id}/packages: seller ships lines with its own tracking."""
    order = _order(call)
    body = call.body()
    tracking, provider_id, provider_name = _provider(call, body)
    status = order.get("status")
    if order.get("fulfillment_type") == "FULFILLMENT_BY_TIKTOK":
        raise ApiError(ORDER_STATUS_CONFLICT, "Order is fulfilled by TikTok; the seller cannot ship it")
    if status not in SHIPPABLE_STATUSES:
        raise ApiError(ORDER_STATUS_CONFLICT, f"Order status {status} does not allow shipping")
    lines = order.get("line_items") or []
    by_id = {str(li.get("id")): li for li in lines}
    requested = paging.str_list(body, "order_line_item_ids")
    if requested:
        unknown = [i for i in requested if i not in by_id]
        if unknown:
            raise ApiError(LINE_ITEM_INVALID, f"Line items not in order {order['id']}: {', '.join(unknown)}")
        chosen = [by_id[i] for i in dict.fromkeys(requested)]
        cancelled = [str(li["id"]) for li in chosen if line_cancelled(li)]
        if cancelled:
            raise ApiError(LINE_ITEM_INVALID, f"Line items are cancelled: {', '.join(cancelled)}")
        shipped = [str(li["id"]) for li in chosen if line_shipped(li)]
        if shipped:
            raise ApiError(LINE_ITEM_INVALID, f"Line items are already shipped: {', '.join(shipped)}")
    else:
        chosen = [li for li in lines if not line_cancelled(li) and not line_shipped(li)]
        if not chosen:
            raise ApiError(LINE_ITEM_INVALID, "Order has no line items left to ship")
    now = call.stamp()
    existing = [li.get("package_id") for li in chosen if li.get("package_id")]
    package_id = str(existing[0]) if existing else call.idx.new_id("1159", call.idx.package_ids())
    for li in chosen:
        li.update(
            package_id=package_id,
            package_status="FULFILLING",
            display_status="IN_TRANSIT",
            tracking_number=tracking,
            shipping_provider_id=provider_id,
            shipping_provider_name=provider_name,
            rts_time=li.get("rts_time") or now,
        )
    packages = order.setdefault("packages", [])
    if all(str(p.get("id")) != package_id for p in packages):
        packages.append({"id": package_id})
    remaining = [li for li in lines if not line_cancelled(li) and not line_shipped(li)]
    order.update(
        status="PARTIALLY_SHIPPING" if remaining else "IN_TRANSIT",
        tracking_number=tracking,
        shipping_provider=provider_name,
        shipping_provider_id=provider_id,
        rts_time=order.get("rts_time") or now,
        collection_time=order.get("collection_time") or (None if remaining else now),
        update_time=now,
    )
    call.wrote("ship_package")
    return {
        "order_id": order["id"],
        "package_id": package_id,
        "order_line_item_ids": [str(li["id"]) for li in chosen],
        "warning": None,
    }


def update_shipping_info(call: Call) -> dict[str, Any]:
    """POST fulfillment/202309/orders/{order_id}/shipping_info/update: replace the tracking."""
    order = _order(call)
    tracking, provider_id, provider_name = _provider(call, call.body())
    status = order.get("status")
    shipped = [li for li in order.get("line_items") or [] if li.get("package_id") and not line_cancelled(li)]
    if status not in TRACKING_FIXABLE_STATUSES or not shipped:
        raise ApiError(ORDER_STATUS_CONFLICT, f"Order status {status} does not allow updating shipping info")
    now = call.stamp()
    for li in shipped:
        li.update(tracking_number=tracking, shipping_provider_id=provider_id, shipping_provider_name=provider_name)
    order.update(
        tracking_number=tracking,
        shipping_provider=provider_name,
        shipping_provider_id=provider_id,
        update_time=now,
    )
    call.wrote("shipping_info_update")
    return {}
