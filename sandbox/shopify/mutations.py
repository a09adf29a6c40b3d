"""Mutations: the writes the pipeline's writeback makes, with Shopify's payloads and userErrors.

Every mutation validates everything first and writes nothing when it returns userErrors.  A
successful write stamps the touched orders / inventory levels with the merchant clock (one stamp
per call) and counts ``shopify.mutation.<name>``.  Inventory keeps Shopify's identity
``on_hand = available + committed`` (plus any other reserved states a record carries):

* ordering commits stock (done by the generator), ``fulfillmentCreate`` ships it
  (committed -n, on_hand -n), ``orderCancel(restock: true)`` releases it (committed -n,
  available +n; without restock the units leave on_hand instead);
* ``refundCreate`` with ``RETURN`` puts units back (available +n, on_hand +n); with ``CANCEL`` it
  releases unfulfilled units (committed -n, available +n) and shrinks the fulfillment order.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.resolvers import (
    RequestContext,
    bag_amount,
    ctx_of,
    money_bag,
    quantize,
    refunded_quantity,
)
from sandbox.shopify.store import ShopStore, gid_type
from sandbox.state import iso

Record = dict[str, Any]

INVENTORY_REASONS = {
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
_MAX_QUANTITY = 1_000_000_000


def _err(path: list[Any] | None, message: str, code: str | None = None, with_code: bool = True) -> Record:
    out: Record = {"field": None if path is None else [str(p) for p in path], "message": message}
    if with_code:
        out["code"] = code
    return out


def _done(rctx: RequestContext, name: str) -> str:
    """Count a successful mutation and return the write stamp for it."""
    rctx.sandbox.counters.incr(f"shopify.mutation.{name}")
    return iso(rctx.sandbox.state.clock.stamp())


def _nodes(obj: Record, name: str) -> list[Record]:
    return (obj.get(name) or {}).get("nodes") or []


# --------------------------------------------------------------------------- inventory helpers


def get_qty(level: Record, name: str) -> int:
    for q in level.get("quantities") or []:
        if q.get("name") == name:
            return int(q.get("quantity") or 0)
    return 0


def _add_qty(level: Record, name: str, delta: int) -> int:
    quantities = level.setdefault("quantities", [])
    for q in quantities:
        if q.get("name") == name:
            q["quantity"] = int(q.get("quantity") or 0) + delta
            return q["quantity"]
    quantities.append({"name": name, "quantity": delta})
    return delta


def _item_of_line(store: ShopStore, line_item: Record) -> str | None:
    variant = store.variant_by_id.get((line_item.get("variant") or {}).get("id"))
    if variant is None:
        return None
    return (variant.get("inventoryItem") or {}).get("id")


def _move(
    store: ShopStore, item_id: str | None, location_id: str | None, deltas: dict[str, int], touched: list[Record]
) -> None:
    if not item_id or not location_id:
        return
    level = store.level_by_pair.get((item_id, location_id))
    if level is None:
        return
    for name, delta in deltas.items():
        if delta:
            _add_qty(level, name, delta)
    touched.append(level)


def _stamp(store: ShopStore, now: str, orders: list[Record], levels: list[Record]) -> None:
    for order in orders:
        order["updatedAt"] = now
        store.reindex_order(order)
    for level in levels:
        level["updatedAt"] = now
    if orders:
        store.invalidate("orders")
    if levels:
        store.invalidate("inventory_levels")


# --------------------------------------------------------------------------- inventorySetQuantities


def inventory_set_quantities(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:  # noqa: A002
    rctx = ctx_of(info)
    store = rctx.store
    name = input["name"]
    errors: list[Record] = []
    if name not in ("available", "on_hand"):
        errors.append(
            _err(["input", "name"], "The quantity name must be either 'available' or 'on_hand'.", "INVALID_NAME")
        )
    if input["reason"] not in INVENTORY_REASONS:
        errors.append(_err(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON"))
    ignore_compare = bool(input.get("ignoreCompareQuantity"))
    seen: set[tuple[str, str]] = set()
    plan: list[tuple[Record, int, Record]] = []
    for i, q in enumerate(input["quantities"]):
        where = ["input", "quantities", i]
        item_id, loc_id = q["inventoryItemId"], q["locationId"]
        if item_id not in store.item_by_id:
            errors.append(
                _err(
                    [*where, "inventoryItemId"],
                    "The specified inventory item could not be found.",
                    "INVALID_INVENTORY_ITEM",
                )
            )
            continue
        if loc_id not in store.location_by_id:
            errors.append(
                _err([*where, "locationId"], "The specified location could not be found.", "INVALID_LOCATION")
            )
            continue
        level = store.level_by_pair.get((item_id, loc_id))
        if level is None:
            errors.append(
                _err(
                    [*where, "locationId"],
                    "The specified inventory item is not stocked at the location.",
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                )
            )
            continue
        if (item_id, loc_id) in seen:
            errors.append(
                _err(
                    where,
                    "The combination of inventoryItemId and locationId must be unique.",
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                )
            )
            continue
        seen.add((item_id, loc_id))
        if q["quantity"] < 0:
            errors.append(_err([*where, "quantity"], "The quantity can't be negative.", "INVALID_QUANTITY_NEGATIVE"))
            continue
        if q["quantity"] > _MAX_QUANTITY:
            errors.append(
                _err(
                    [*where, "quantity"],
                    "The total quantity can't be higher than 1,000,000,000.",
                    "INVALID_QUANTITY_TOO_HIGH",
                )
            )
            continue
        if not ignore_compare and name in ("available", "on_hand"):
            compare = q.get("compareQuantity")
            if compare is None:
                errors.append(
                    _err(
                        [*where, "compareQuantity"],
                        "The compareQuantity argument must be given to each quantity or ignored using "
                        "ignoreCompareQuantity.",
                        "COMPARE_QUANTITY_REQUIRED",
                    )
                )
                continue
            if compare != get_qty(level, name):
                errors.append(
                    _err(
                        [*where, "compareQuantity"],
                        "The specified compare quantity does not match the current quantity.",
                        "COMPARE_QUANTITY_STALE",
                    )
                )
                continue
        plan.append((level, q["quantity"], q))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}

    other = "on_hand" if name == "available" else "available"
    changes: list[Record] = []
    touched: list[Record] = []
    for level, quantity, _q in plan:
        delta = quantity - get_qty(level, name)
        if delta == 0:
            continue
        after = _add_qty(level, name, delta)
        other_after = _add_qty(level, other, delta)
        touched.append(level)
        for qname, qafter in ((name, after), (other, other_after)):
            changes.append(
                {
                    "name": qname,
                    "delta": delta,
                    "quantityAfterChange": qafter,
                    "ledgerDocumentUri": None,
                    "item": {"id": level["item"]["id"]},
                    "location": {"id": level["location"]["id"]},
                }
            )
    now = _done(rctx, "inventorySetQuantities")
    if not touched:
        return {"inventoryAdjustmentGroup": None, "userErrors": []}
    _stamp(store, now, [], touched)
    group = {
        "id": store.next_gid("InventoryAdjustmentGroup"),
        "createdAt": now,
        "reason": input["reason"],
        "referenceDocumentUri": input.get("referenceDocumentUri"),
        "changes": changes,
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


# --------------------------------------------------------------------------- orderCancel


def _open_lines(order: Record) -> list[tuple[Record, Record]]:
    out = []
    for fo in _nodes(order, "fulfillmentOrders"):
        if fo.get("status") in ("CLOSED", "CANCELLED"):
            continue
        for foli in _nodes(fo, "lineItems"):
            if int(foli.get("remainingQuantity") or 0) > 0:
                out.append((fo, foli))
    return out


def order_cancel(
    _root: Any,
    info: GraphQLResolveInfo,
    orderId: str,  # noqa: N803
    reason: str,
    refund: bool,
    restock: bool,
    notifyCustomer: bool = False,  # noqa: N803
    staffNote: str | None = None,  # noqa: N803
) -> Record:
    rctx = ctx_of(info)
    store = rctx.store
    order = store.order_by_id.get(orderId)

    def fail(message: str, code: str) -> Record:
        return {
            "job": None,
            "orderCancelUserErrors": [_err(["orderId"], message, code)],
            "userErrors": [_err(["orderId"], message, with_code=False)],
        }

    if order is None:
        return fail("Order does not exist", "NOT_FOUND")
    if order.get("cancelledAt"):
        return fail("Cannot cancel an order that has already been cancelled", "INVALID")
    if any(f.get("status") == "SUCCESS" for f in order.get("fulfillments") or []):
        return fail("Cannot cancel an order with fulfillments. Cancel the fulfillments first.", "INVALID")

    currency = order.get("currencyCode") or rctx.currency
    touched: list[Record] = []
    refund_lines: list[Record] = []
    line_by_id = {li["id"]: li for li in _nodes(order, "lineItems")}
    for fo, foli in _open_lines(order):
        qty = int(foli["remainingQuantity"])
        loc_id = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
        li_id = (foli.get("lineItem") or {}).get("id")
        li = line_by_id.get(li_id, {})
        item_id = _item_of_line(store, li)
        if restock:
            _move(store, item_id, loc_id, {"committed": -qty, "available": qty}, touched)
        else:
            _move(store, item_id, loc_id, {"committed": -qty, "on_hand": -qty}, touched)
        foli["remainingQuantity"] = 0
        refund_lines.append(
            _refund_line(store, li, qty, "CANCEL" if restock else "NO_RESTOCK", loc_id if restock else None, currency)
        )
    for fo in _nodes(order, "fulfillmentOrders"):
        if fo.get("status") not in ("CLOSED", "CANCELLED"):
            fo["status"] = "CLOSED"

    now = _done(rctx, "orderCancel")
    transactions: list[Record] = []
    if refund:
        refundable = bag_amount(order.get("totalPriceSet")) - bag_amount(order.get("totalRefundedSet"))
        paid = order.get("displayFinancialStatus") in ("PAID", "PARTIALLY_REFUNDED", "PARTIALLY_PAID")
        if paid and refundable > 0:
            gateway = (order.get("paymentGatewayNames") or ["manual"])[0]
            transactions.append(_transaction(store, "REFUND", gateway, refundable, currency, now))
    if refund_lines or transactions:
        # the staff note travels with the cancellation's refund record (an emulator assumption,
        # documented in docs/sandbox.md): that is how a repair names the TikTok cancellation it mirrors
        note = f"Order canceled: {reason.lower()}" + (f" - {staffNote}" if staffNote else "")
        _append_refund(store, rctx, order, refund_lines, transactions, note, now, currency)
    if not transactions and order.get("displayFinancialStatus") in ("PENDING", "AUTHORIZED"):
        order["displayFinancialStatus"] = "VOIDED"
    order["cancelledAt"] = now
    order["cancelReason"] = reason
    order["closedAt"] = now
    _stamp(store, now, [order], touched)
    return {"job": rctx.bulk_manager.new_job(), "orderCancelUserErrors": [], "userErrors": []}


# --------------------------------------------------------------------------- refunds


def _transaction(
    store: ShopStore, kind: str, gateway: str, amount: Decimal, currency: str, now: str, parent: str | None = None
) -> Record:
    tx: Record = {
        "id": store.next_gid("OrderTransaction"),
        "kind": kind,
        "status": "SUCCESS",
        "gateway": gateway,
        "amountSet": money_bag(amount, currency),
        "processedAt": now,
        "createdAt": now,
    }
    if parent:
        tx["parentTransaction"] = {"id": parent}
    return tx


def _unit_paid(line_item: Record) -> Decimal:
    """What one unit was sold for: the discounted total over the quantity, else the unit price."""
    qty = int(line_item.get("quantity") or 0)
    if line_item.get("discountedTotalSet") and qty:
        return bag_amount(line_item["discountedTotalSet"]) / qty
    return bag_amount(line_item.get("originalUnitPriceSet"))


def _refund_line(
    store: ShopStore, line_item: Record, qty: int, restock_type: str, location_id: str | None, currency: str
) -> Record:
    unit = _unit_paid(line_item)
    return {
        "id": store.next_gid("RefundLineItem"),
        "quantity": qty,
        "restockType": restock_type,
        "restocked": restock_type in ("RETURN", "CANCEL"),
        "location": {"id": location_id} if location_id else None,
        "lineItem": {"id": line_item.get("id"), "sku": line_item.get("sku")},
        "priceSet": money_bag(unit, currency),
        "subtotalSet": money_bag(unit * qty, currency),
        "totalTaxSet": money_bag(Decimal("0"), currency),
    }


def _append_refund(
    store: ShopStore,
    rctx: RequestContext,
    order: Record,
    lines: list[Record],
    transactions: list[Record],
    note: str | None,
    now: str,
    currency: str,
) -> Record:
    total = sum((bag_amount(t["amountSet"]) for t in transactions), Decimal("0"))
    refund = {
        "id": store.next_gid("Refund"),
        "createdAt": now,
        "updatedAt": now,
        "note": note,
        "totalRefundedSet": money_bag(total, currency),
        "refundLineItems": {"nodes": lines},
        "transactions": {"nodes": transactions},
    }
    order.setdefault("refunds", []).append(refund)
    if transactions:
        rctx.sandbox.counters.incr("shopify.refund_money_transactions", len(transactions))
        order.setdefault("transactions", []).extend(transactions)
        refunded = bag_amount(order.get("totalRefundedSet")) + total
        order["totalRefundedSet"] = money_bag(refunded, currency)
        if order.get("netPaymentSet"):
            order["netPaymentSet"] = money_bag(bag_amount(order["netPaymentSet"]) - total, currency)
        received = bag_amount(order.get("totalPriceSet"))
        order["displayFinancialStatus"] = "REFUNDED" if refunded >= received else "PARTIALLY_REFUNDED"
    return refund


def _fo_location_of_line(order: Record, line_item_id: str) -> str | None:
    for fo in _nodes(order, "fulfillmentOrders"):
        for foli in _nodes(fo, "lineItems"):
            if (foli.get("lineItem") or {}).get("id") == line_item_id:
                return ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
    return None


def _parse_money(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def refund_create(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:  # noqa: A002
    rctx = ctx_of(info)
    store = rctx.store
    order = store.order_by_id.get(input["orderId"])

    def fail(errors: list[Record]) -> Record:
        return {"refund": None, "order": None, "userErrors": errors}

    if order is None:
        return fail([_err(["orderId"], "Order does not exist", with_code=False)])
    currency = order.get("currencyCode") or rctx.currency
    line_by_id = {li["id"]: li for li in _nodes(order, "lineItems")}
    errors: list[Record] = []
    planned: list[tuple[Record, Record]] = []
    asked: dict[str, int] = {}
    for i, rli in enumerate(input.get("refundLineItems") or []):
        where = ["refundLineItems", i]
        li = line_by_id.get(rli["lineItemId"])
        if li is None:
            errors.append(_err([*where, "lineItemId"], "Line item does not exist on this order", with_code=False))
            continue
        qty = int(rli["quantity"])
        asked[li["id"]] = asked.get(li["id"], 0) + qty
        refundable = int(li.get("quantity") or 0) - refunded_quantity(order, li["id"])
        if qty <= 0:
            errors.append(_err([*where, "quantity"], "Quantity must be greater than 0", with_code=False))
            continue
        if asked[li["id"]] > refundable:
            errors.append(
                _err([*where, "quantity"], "Quantity cannot refund more items than were purchased", with_code=False)
            )
            continue
        restock_type = rli.get("restockType") or "NO_RESTOCK"
        loc_id = rli.get("locationId")
        if loc_id is not None and loc_id not in store.location_by_id:
            errors.append(_err([*where, "locationId"], "Location does not exist", with_code=False))
            continue
        if restock_type == "CANCEL":
            open_qty = sum(
                int(foli.get("remainingQuantity") or 0)
                for fo, foli in _open_lines(order)
                if (foli.get("lineItem") or {}).get("id") == li["id"]
            )
            if qty > open_qty:
                errors.append(
                    _err([*where, "restockType"], "Cannot cancel more items than are unfulfilled", with_code=False)
                )
                continue
        planned.append((li, {**rli, "restockType": restock_type}))
    tx_total = Decimal("0")
    tx_inputs = input.get("transactions") or []
    for i, tx in enumerate(tx_inputs):
        amount = _parse_money(tx["amount"])
        if amount is None or amount <= 0:
            errors.append(_err(["transactions", i, "amount"], "Amount must be greater than 0", with_code=False))
            continue
        if tx["orderId"] != order["id"]:
            errors.append(
                _err(["transactions", i, "orderId"], "Transaction must belong to the refunded order", with_code=False)
            )
            continue
        tx_total += amount
    refundable_money = bag_amount(order.get("totalPriceSet")) - bag_amount(order.get("totalRefundedSet"))
    if tx_total > refundable_money:
        errors.append(
            _err(
                ["transactions"],
                f"Refund amount {tx_total} exceeds the refundable amount {refundable_money}",
                with_code=False,
            )
        )
    shipping = input.get("shipping") or {}
    shipping_amount = Decimal("0")
    if shipping.get("fullRefund"):
        shipping_amount = bag_amount(order.get("totalShippingPriceSet")) - bag_amount(
            order.get("totalRefundedShippingSet")
        )
    elif shipping.get("amount") is not None:
        parsed = _parse_money(shipping["amount"])
        if parsed is None or parsed < 0:
            errors.append(_err(["shipping", "amount"], "Shipping refund amount is invalid", with_code=False))
        else:
            shipping_amount = parsed
    if not planned and not tx_inputs and not shipping_amount and not errors:
        errors.append(_err(None, "Refund must include line items, shipping or transactions", with_code=False))
    if errors:
        return fail(errors)

    now = _done(rctx, "refundCreate")
    touched: list[Record] = []
    lines: list[Record] = []
    for li, rli in planned:
        qty = int(rli["quantity"])
        restock_type = rli["restockType"]
        loc_id = rli.get("locationId")
        if restock_type in ("RETURN", "CANCEL") and loc_id is None:
            loc_id = _fo_location_of_line(order, li["id"]) or (store.locations[0]["id"] if store.locations else None)
        item_id = _item_of_line(store, li)
        if restock_type == "RETURN":
            _move(store, item_id, loc_id, {"available": qty, "on_hand": qty}, touched)
        elif restock_type == "CANCEL":
            _move(store, item_id, loc_id, {"committed": -qty, "available": qty}, touched)
            remaining = qty
            for _fo, foli in _open_lines(order):
                if remaining and (foli.get("lineItem") or {}).get("id") == li["id"]:
                    take = min(remaining, int(foli["remainingQuantity"]))
                    foli["remainingQuantity"] = int(foli["remainingQuantity"]) - take
                    remaining -= take
            _settle_fulfillment_status(order)
        lines.append(
            _refund_line(store, li, qty, restock_type, loc_id if restock_type != "NO_RESTOCK" else None, currency)
        )
    transactions = [
        _transaction(store, tx["kind"], tx["gateway"], Decimal(str(tx["amount"])), currency, now, tx.get("parentId"))
        for tx in tx_inputs
    ]
    refund = _append_refund(store, rctx, order, lines, transactions, input.get("note"), now, currency)
    if shipping_amount:
        refund["refundShippingLines"] = {
            "nodes": [
                {
                    "id": store.next_gid("RefundShippingLine"),
                    "subtotalAmountSet": money_bag(quantize(shipping_amount, currency), currency),
                }
            ]
        }
    if shipping_amount and transactions:
        refunded_shipping = bag_amount(order.get("totalRefundedShippingSet")) + shipping_amount
        order["totalRefundedShippingSet"] = money_bag(quantize(refunded_shipping, currency), currency)
    _stamp(store, now, [order], touched)
    return {"refund": refund, "order": order, "userErrors": []}


# --------------------------------------------------------------------------- fulfillmentCreate


def _settle_fulfillment_status(order: Record) -> None:
    """Close drained fulfillment orders and derive displayFulfillmentStatus from what shipped."""
    remaining = 0
    for fo in _nodes(order, "fulfillmentOrders"):
        if fo.get("status") == "CANCELLED":
            continue
        fo_remaining = sum(int(x.get("remainingQuantity") or 0) for x in _nodes(fo, "lineItems"))
        remaining += fo_remaining
        if fo.get("status") in ("OPEN", "IN_PROGRESS") and fo_remaining == 0:
            fo["status"] = "CLOSED"
    shipped = any(f.get("status") == "SUCCESS" for f in order.get("fulfillments") or [])
    if shipped:
        order["displayFulfillmentStatus"] = "PARTIALLY_FULFILLED" if remaining else "FULFILLED"


def fulfillment_create(_root: Any, info: GraphQLResolveInfo, fulfillment: Record, message: str | None = None) -> Record:
    rctx = ctx_of(info)
    store = rctx.store
    errors: list[Record] = []
    groups = fulfillment.get("lineItemsByFulfillmentOrder") or []
    if not groups:
        errors.append(
            _err(
                ["fulfillment", "lineItemsByFulfillmentOrder"],
                "Line items by fulfillment order must not be empty.",
                with_code=False,
            )
        )
    plan: list[tuple[Record, Record, int]] = []
    orders: dict[str, Record] = {}
    location_id: str | None = None
    for i, group in enumerate(groups):
        where = ["fulfillment", "lineItemsByFulfillmentOrder", i]
        hit = store.children["FulfillmentOrder"].get(group["fulfillmentOrderId"])
        if hit is None:
            errors.append(_err([*where, "fulfillmentOrderId"], "Fulfillment order does not exist.", with_code=False))
            continue
        order, fo = hit
        orders[order["id"]] = order
        if fo.get("status") not in ("OPEN", "IN_PROGRESS"):
            errors.append(
                _err(
                    [*where, "fulfillmentOrderId"],
                    f"Fulfillment order {fo['id']} has an unfulfillable status= {fo.get('status', '').lower()}.",
                    with_code=False,
                )
            )
            continue
        location_id = location_id or ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
        by_id = {x["id"]: x for x in _nodes(fo, "lineItems")}
        requested = group.get("fulfillmentOrderLineItems")
        if not requested:
            plan.extend(
                (fo, x, int(x.get("remainingQuantity") or 0))
                for x in by_id.values()
                if int(x.get("remainingQuantity") or 0) > 0
            )
            continue
        for j, req in enumerate(requested):
            foli = by_id.get(req["id"])
            if foli is None:
                errors.append(
                    _err(
                        [*where, "fulfillmentOrderLineItems", j, "id"],
                        "Fulfillment order line item does not exist.",
                        with_code=False,
                    )
                )
                continue
            if req["quantity"] <= 0 or req["quantity"] > int(foli.get("remainingQuantity") or 0):
                errors.append(
                    _err(
                        [*where, "fulfillmentOrderLineItems", j, "quantity"],
                        "Invalid fulfillment order line item quantity requested.",
                        with_code=False,
                    )
                )
                continue
            plan.append((fo, foli, int(req["quantity"])))
    if len(orders) > 1:
        errors.append(_err(["fulfillment"], "All fulfillment orders must belong to the same order.", with_code=False))
    if not errors and not plan:
        errors.append(
            _err(["fulfillment"], "Fulfillment order has no remaining line items to fulfill.", with_code=False)
        )
    if errors:
        return {"fulfillment": None, "userErrors": errors}

    order = next(iter(orders.values()))
    now = _done(rctx, info.field_name)
    touched: list[Record] = []
    line_by_id = {li["id"]: li for li in _nodes(order, "lineItems")}
    fulfillment_lines = []
    for fo, foli, qty in plan:
        foli["remainingQuantity"] = int(foli["remainingQuantity"]) - qty
        if fo.get("status") == "OPEN":
            fo["status"] = "IN_PROGRESS"
        li = line_by_id.get((foli.get("lineItem") or {}).get("id"), foli.get("lineItem") or {})
        loc_id = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
        _move(store, _item_of_line(store, li), loc_id, {"committed": -qty, "on_hand": -qty}, touched)
        fulfillment_lines.append(
            {
                "id": store.next_gid("FulfillmentLineItem"),
                "quantity": qty,
                "lineItem": {"id": li.get("id"), "sku": li.get("sku")},
            }
        )
    tracking = fulfillment.get("trackingInfo") or {}
    numbers = [n for n in [tracking.get("number"), *(tracking.get("numbers") or [])] if n]
    urls = [u for u in [tracking.get("url"), *(tracking.get("urls") or [])] if u]
    tracking_info = [
        {"number": n, "company": tracking.get("company"), "url": urls[i] if i < len(urls) else None}
        for i, n in enumerate(numbers)
    ]
    record = {
        "id": store.next_gid("Fulfillment"),
        "status": "SUCCESS",
        "createdAt": now,
        "updatedAt": now,
        "location": {"id": location_id} if location_id else None,
        "trackingInfo": tracking_info,
        "fulfillmentLineItems": {"nodes": fulfillment_lines},
    }
    order.setdefault("fulfillments", []).append(record)
    _settle_fulfillment_status(order)
    _stamp(store, now, [order], touched)
    return {"fulfillment": record, "userErrors": []}


# --------------------------------------------------------------------------- tagsAdd


def tags_add(_root: Any, info: GraphQLResolveInfo, id: str, tags: list[str]) -> Record:  # noqa: A002
    rctx = ctx_of(info)
    store = rctx.store
    kind = gid_type(id)
    target = {"Order": store.order_by_id, "Product": store.product_by_id}.get(kind or "", {}).get(id)
    if target is None:
        return {"node": None, "userErrors": [_err(["id"], "Resource not found", with_code=False)]}
    wanted = [t.strip() for tag in tags for t in tag.split(",") if t.strip()]
    current = target.setdefault("tags", [])
    lower = {t.lower() for t in current}
    added = False
    for tag in wanted:
        if tag.lower() not in lower:
            current.append(tag)
            lower.add(tag.lower())
            added = True
    now = _done(rctx, "tagsAdd")
    if added:
        target["updatedAt"] = now
        for entity in ("orders",) if kind == "Order" else ("products", "variants", "inventory_items"):
            store.invalidate(entity)
    return {"node": target, "userErrors": []}


# --------------------------------------------------------------------------- bulk


def bulk_run_query(_root: Any, info: GraphQLResolveInfo, query: str, groupObjects: bool | None = None) -> Record:  # noqa: N803
    rctx = ctx_of(info)
    payload = rctx.bulk_manager.run_query(rctx, query)
    if payload.get("bulkOperation"):
        rctx.sandbox.counters.incr("shopify.mutation.bulkOperationRunQuery")
    return payload


def bulk_cancel(_root: Any, info: GraphQLResolveInfo, id: str) -> Record:  # noqa: A002
    rctx = ctx_of(info)
    return rctx.bulk_manager.cancel(rctx, id)


MUTATIONS: dict[tuple[str, str], Callable[..., Any]] = {
    ("Mutation", "inventorySetQuantities"): inventory_set_quantities,
    ("Mutation", "orderCancel"): order_cancel,
    ("Mutation", "refundCreate"): refund_create,
    ("Mutation", "fulfillmentCreate"): fulfillment_create,
    ("Mutation", "fulfillmentCreateV2"): fulfillment_create,
    ("Mutation", "tagsAdd"): tags_add,
    ("Mutation", "bulkOperationRunQuery"): bulk_run_query,
    ("Mutation", "bulkOperationCancel"): bulk_cancel,
}
