"""Turn the generator's model into platform-native records (the scenario-directory shapes)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.generator.finance import render_payment, render_statement, render_transaction
from sandbox.generator.params import m
from sandbox.generator.world import ConnCtx, Product, Refund, ShopifyOrder, TikTokOrder
from sandbox.state import iso, unix

ZERO = Decimal("0.00")


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": m(amount), "currencyCode": currency}}


def secret(seed: int, *parts: str) -> str:
    return hashlib.sha256(":".join([str(seed), *parts]).encode()).hexdigest()


def manifest_entry(ctx: ConnCtx) -> dict[str, Any]:
    seed = ctx.params.seed
    prof = ctx.profile
    return {
        "id": ctx.id,
        "shopify": {
            "shop_domain": prof["shop_domain"],
            "access_token": "shpat_" + secret(seed, ctx.id, "shopify-token")[:32],
            "currency": ctx.currency,
            "locations": [{"id": f"gid://shopify/Location/{n}", "name": name} for n, name, _ in ctx.locations],
        },
        "tiktok_shop": {
            "shop_id": prof["shop_id"],
            "shop_name": prof["shop_name"],
            "shop_cipher": "ROW_" + secret(seed, ctx.id, "cipher")[:24],
            "app_key": "6" + secret(seed, ctx.id, "app-key")[:12],
            "app_secret": secret(seed, ctx.id, "app-secret")[:40],
            "access_token": "TTP_" + secret(seed, ctx.id, "tiktok-token")[:40],
            "region": prof["region"],
            "currency": ctx.currency,
            "warehouses": [{"id": w, "name": name, "fbt": fbt} for w, name, _, fbt in ctx.warehouses],
        },
        "warehouse_location_map": {w: f"gid://shopify/Location/{loc}" for w, loc in ctx.mapped_warehouses},
    }


# --------------------------------------------------------------------------- Shopify


def render_products(ctx: ConnCtx) -> list[dict[str, Any]]:
    out = []
    for p in ctx.products:
        updated = p.created + timedelta(days=p.num % 20)
        metafields = []
        if p.tiktok_title_meta:
            metafields.append(
                {"namespace": "tiktok", "key": "title", "value": p.tiktok_title_meta, "type": "single_line_text_field"}
            )
        if p.dimensions:
            metafields.append(
                {
                    "namespace": "tiktok",
                    "key": "package_dimensions",
                    "value": p.dimensions,
                    "type": "single_line_text_field",
                }
            )
        variants = []
        for v in p.variants:
            weight = None if v.weight is None else {"value": v.weight, "unit": "KILOGRAMS"}
            variants.append(
                {
                    "id": v.gid,
                    "legacyResourceId": str(v.num),
                    "title": v.option,
                    "sku": v.sku or "",
                    "barcode": v.barcode,
                    "price": m(v.price),
                    "createdAt": iso(p.created),
                    "updatedAt": iso(updated),
                    "inventoryItem": {"id": v.item_gid, "tracked": True, "measurement": {"weight": weight}},
                }
            )
        out.append(
            {
                "id": p.gid,
                "legacyResourceId": str(p.num),
                "title": p.title,
                "descriptionHtml": p.description,
                "status": "ACTIVE",
                "vendor": "Acme Outfitters",
                "productType": p.product_type,
                "createdAt": iso(p.created),
                "updatedAt": iso(updated),
                "mediaCount": {"count": p.media_count, "precision": "EXACT"},
                "images": {
                    "nodes": [
                        {
                            "id": f"gid://shopify/ProductImage/{p.num * 10 + i}",
                            "url": f"https://cdn.example.com/{p.num}/{i}.jpg",
                        }
                        for i in range(p.media_count)
                    ]
                },
                "metafields": {"nodes": metafields},
                "variants": {"nodes": variants},
            }
        )
    return out


def render_locations(ctx: ConnCtx) -> list[dict[str, Any]]:
    return [
        {"id": f"gid://shopify/Location/{n}", "name": name, "isActive": True, "address": {"countryCode": cc}}
        for n, name, cc in ctx.locations
    ]


def render_inventory_levels(ctx: ConnCtx) -> list[dict[str, Any]]:
    out = []
    as_of = ctx.params.as_of
    for v in ctx.variants():
        for loc, _, _ in ctx.locations:
            available, committed = v.available[loc], v.committed.get(loc, 0)
            out.append(
                {
                    "id": f"gid://shopify/InventoryLevel/{loc}?inventory_item_id={v.item_num}",
                    "updatedAt": iso(as_of - timedelta(minutes=(v.item_num + int(loc)) % 720)),
                    "item": {"id": v.item_gid, "sku": v.sku or "", "variant": {"id": v.gid}},
                    "location": {"id": f"gid://shopify/Location/{loc}"},
                    "quantities": [
                        {"name": "available", "quantity": available},
                        {"name": "committed", "quantity": committed},
                        {"name": "on_hand", "quantity": available + committed},
                    ],
                }
            )
    return out


def render_shopify_orders(ctx: ConnCtx) -> list[dict[str, Any]]:
    return list(iter_shopify_orders(ctx))


def iter_shopify_orders(ctx: ConnCtx) -> Iterator[dict[str, Any]]:
    """Shopify orders one at a time, in export order (numbers and ids are taken as they render)."""
    orders: list[ShopifyOrder] = [o.shopify for o in ctx.orders if o.shopify] + ctx.shopify_orders
    orders.sort(key=lambda so: (so.created, so.source, so.tiktok_id or "", so.lines[0][0].num))
    prefix = ctx.id.upper()
    refunds_of: dict[int, list[dict[str, Any]]] = {}
    for o in ctx.orders:
        if o.shopify:
            refunds_of[id(o.shopify)] = [rf for r in o.refunds for rf in r.shopify] + o.shopify.refunds
    for i, so in enumerate(orders):
        so.num = ctx.ids.take("order")
        so.name_num = 1001 + i
        if so.orphan:
            for row in ctx.truth:
                if row["key"].get("shopify_order_id") == f"__orphan__:{so.tiktok_id}":
                    row["key"]["shopify_order_id"] = f"gid://shopify/Order/{so.num}"
        refunds = sorted(refunds_of.get(id(so), so.refunds), key=lambda r: (r["created"], r["num"]))
        yield _render_shopify_order(ctx, so, refunds, f"#{prefix}{so.name_num}")


def _render_shopify_order(ctx: ConnCtx, so: ShopifyOrder, refunds: list[dict[str, Any]], name: str) -> dict[str, Any]:
    cur = ctx.currency
    line_gid: dict[int, str] = {}
    line_nodes = []
    subtotal = discounts = ZERO
    for v, q, price, disc in so.lines:
        gid = f"gid://shopify/LineItem/{ctx.ids.take('line')}"
        line_gid[v.num] = gid
        total = price * q - disc
        subtotal += total
        discounts += disc
        line_nodes.append(
            {
                "id": gid,
                "sku": v.sku or "",
                "quantity": q,
                "variant": {"id": v.gid},
                "originalUnitPriceSet": _money(price, cur),
                "discountedTotalSet": _money(total, cur),
            }
        )
    total = so.total_override if so.total_override is not None else subtotal + so.shipping
    refunded_money = ZERO
    refund_nodes = []
    refunded_units = 0
    for r in refunds:
        amount = sum((ln["subtotal"] for ln in r["lines"]), ZERO) + r["shipping"]
        refunded_units += sum(ln["quantity"] for ln in r["lines"])
        if r["money"]:
            refunded_money += amount
        refund_nodes.append(
            {
                "id": f"gid://shopify/Refund/{r['num']}",
                "createdAt": iso(r["created"]),
                "note": r["note"],
                "totalRefundedSet": _money(amount if r["money"] else ZERO, cur),
                "refundLineItems": {
                    "nodes": [
                        {
                            "quantity": ln["quantity"],
                            "restockType": ln["restock_type"],
                            "restocked": ln["restock_type"] != "NO_RESTOCK",
                            "location": {"id": f"gid://shopify/Location/{ln['location']}"} if ln["location"] else None,
                            "lineItem": {"id": line_gid.get(ln["variant"].num), "sku": ln["variant"].sku or ""},
                            "subtotalSet": _money(ln["subtotal"], cur),
                        }
                        for ln in r["lines"]
                    ]
                },
                "refundShippingLines": {
                    "nodes": [
                        {
                            "id": f"gid://shopify/RefundShippingLine/{r['num']}",
                            "subtotalAmountSet": _money(r["shipping"], cur),
                        }
                    ]
                    if r["shipping"] > 0
                    else []
                },
                "transactions": {
                    "nodes": [
                        {
                            "id": f"gid://shopify/OrderTransaction/{ctx.ids.take('transaction')}",
                            "kind": "REFUND",
                            "status": "SUCCESS",
                            "gateway": so.gateway,
                            "amountSet": _money(amount, cur),
                            "processedAt": iso(r["created"]),
                        }
                    ]
                    if r["money"]
                    else []
                },
            }
        )
    ordered = sum(q for _, q, _, _ in so.lines)
    shipped: dict[int, int] = {}
    fulfillment_nodes = []
    for f in so.fulfillments:
        for num, q in f["qty"].items():
            shipped[num] = shipped.get(num, 0) + q
        _, company, _, url = f["provider"]
        fulfillment_nodes.append(
            {
                "id": f"gid://shopify/Fulfillment/{f['num']}",
                "status": "SUCCESS",
                "createdAt": iso(f["created"]),
                "trackingInfo": [{"number": f["tracking"], "company": company, "url": url + f["tracking"]}],
            }
        )
    n_shipped = sum(min(q, shipped.get(v.num, 0)) for v, q, _, _ in so.lines)
    if n_shipped == 0:
        fstatus = "UNFULFILLED"
    elif n_shipped >= ordered:
        fstatus = "FULFILLED"
    else:
        fstatus = "PARTIALLY_FULFILLED"
    if refunded_units >= ordered and refunds:
        fin = "REFUNDED"
    elif refunds:
        fin = "PARTIALLY_REFUNDED"
    else:
        fin = "PAID"
    fo_nodes = []
    if so.location is not None:
        remaining_total = 0
        fo_lines = []
        for v, q, _, _ in so.lines:
            remaining = 0 if so.cancelled_at else max(0, q - shipped.get(v.num, 0))
            remaining_total += remaining
            fo_lines.append(
                {
                    "id": f"gid://shopify/FulfillmentOrderLineItem/{ctx.ids.take('fo_line')}",
                    "totalQuantity": q,
                    "remainingQuantity": remaining,
                    "lineItem": {"id": line_gid[v.num], "sku": v.sku or ""},
                }
            )
        if so.cancelled_at and n_shipped == 0:
            fo_status = "CANCELLED"
        elif remaining_total == 0:
            fo_status = "CLOSED"
        elif n_shipped:
            fo_status = "IN_PROGRESS"
        else:
            fo_status = "OPEN"
        fo_nodes.append(
            {
                "id": f"gid://shopify/FulfillmentOrder/{ctx.ids.take('fulfillment_order')}",
                "status": fo_status,
                "assignedLocation": {"location": {"id": f"gid://shopify/Location/{so.location}"}},
                "lineItems": {"nodes": fo_lines},
            }
        )
    times = [so.created, so.cancelled_at] + [f["created"] for f in so.fulfillments] + [r["created"] for r in refunds]
    updated = max(t for t in times if t is not None)
    tiktok = so.source == "tiktok"
    sale = {
        "id": f"gid://shopify/OrderTransaction/{ctx.ids.take('transaction')}",
        "kind": "SALE",
        "status": "SUCCESS",
        "gateway": so.gateway,
        "amountSet": _money(total, cur),
        "processedAt": iso(so.created),
    }
    refund_tx = [t for r in refund_nodes for t in r["transactions"]["nodes"]]
    return {
        "id": f"gid://shopify/Order/{so.num}",
        "legacyResourceId": str(so.num),
        "name": name,
        "createdAt": iso(so.created),
        "processedAt": iso(so.created),
        "updatedAt": iso(updated),
        "closedAt": None,
        "cancelledAt": iso(so.cancelled_at) if so.cancelled_at else None,
        "cancelReason": so.cancel_reason if so.cancelled_at else None,
        "displayFinancialStatus": fin,
        "displayFulfillmentStatus": fstatus,
        "sourceName": "tiktok" if tiktok else "web",
        "sourceIdentifier": so.tiktok_id if tiktok and so.link_style == "all" else None,
        "customAttributes": [{"key": "tiktok_order_id", "value": so.tiktok_id}]
        if tiktok and so.link_style in ("all", "attribute")
        else [],
        "tags": (["TikTok"] + ([f"tiktok_order:{so.tiktok_id}"] if so.link_style in ("all", "tag") else []))
        if tiktok
        else [],
        "paymentGatewayNames": [so.gateway],
        "test": False,
        "currencyCode": cur,
        "totalPriceSet": _money(total, cur),
        "subtotalPriceSet": _money(subtotal, cur),
        "totalTaxSet": _money(ZERO, cur),
        "totalShippingPriceSet": _money(so.shipping, cur),
        "totalDiscountsSet": _money(discounts, cur),
        "totalRefundedSet": _money(refunded_money, cur),
        "netPaymentSet": _money(total - refunded_money, cur),
        "lineItems": {"nodes": line_nodes},
        "refunds": refund_nodes,
        "fulfillments": fulfillment_nodes,
        "fulfillmentOrders": {"nodes": fo_nodes},
        "transactions": [sale, *refund_tx],
    }


# --------------------------------------------------------------------------- TikTok


def _tt_product(ctx: ConnCtx, p: Product) -> dict[str, Any]:
    updated = p.created + timedelta(days=p.num % 20, hours=1)
    skus = []
    for v in p.variants:
        if not v.listed:
            continue
        skus.append(
            {
                "id": v.tiktok_sku_id,
                "seller_sku": v.sku,
                "external_sku_id": str(v.num),
                "price": {
                    "currency": ctx.currency,
                    "sale_price": m(v.tiktok_price),
                    "tax_exclusive_price": m(v.tiktok_price),
                },
                "inventory": [{"warehouse_id": w, "quantity": q} for w, q in sorted(v.tiktok_available.items())],
            }
        )
    return {
        "id": p.tiktok_product_id,
        "title": p.tiktok_title,
        "status": p.tiktok_status,
        "create_time": unix(p.created),
        "update_time": unix(updated),
        "main_images": [{"uri": f"tos-maliva-i-{p.num}-{i}"} for i in range(max(1, p.media_count))],
        "skus": skus,
    }


def render_tiktok_products(ctx: ConnCtx) -> list[dict[str, Any]]:
    out = [_tt_product(ctx, p) for p in ctx.products if p.tiktok_product_id]
    for only in ctx.tiktok_only:
        out.append(
            {
                "id": only.product_id,
                "title": only.title,
                "status": "ACTIVATE",
                "create_time": unix(only.created),
                "update_time": unix(only.created),
                "main_images": [{"uri": f"tos-maliva-i-bundle-{only.sku_id}"}],
                "skus": [
                    {
                        "id": only.sku_id,
                        "seller_sku": only.seller_sku,
                        "external_sku_id": "",
                        "price": {
                            "currency": ctx.currency,
                            "sale_price": m(only.price),
                            "tax_exclusive_price": m(only.price),
                        },
                        "inventory": [{"warehouse_id": w, "quantity": q} for w, q in sorted(only.available.items())],
                    }
                ],
            }
        )
    return out


def render_warehouses(ctx: ConnCtx) -> list[dict[str, Any]]:
    return [
        {
            "id": w,
            "name": name,
            "effect_status": "ENABLED",
            "type": "SALES_WAREHOUSE",
            "sub_type": "DOMESTIC_WAREHOUSE",
            "is_default": i == 0,
            "address": {"region_code": ctx.profile["region"], "city": name.split(" ")[-1]},
        }
        for i, (w, name, _, _) in enumerate(ctx.warehouses)
    ]


def _ts(t: datetime | None) -> int | None:
    return unix(t) if t else None


def render_tiktok_orders(ctx: ConnCtx) -> list[dict[str, Any]]:
    return list(iter_tiktok_orders(ctx))


def iter_tiktok_orders(ctx: ConnCtx) -> Iterator[dict[str, Any]]:
    for o in ctx.orders:
        yield _tt_order(ctx, o)


def _tt_order(ctx: ConnCtx, o: TikTokOrder) -> dict[str, Any]:
    cur = ctx.currency
    ship_of: dict[int, Any] = {}
    for s in o.shipments:
        for i in s.units:
            ship_of[i] = s
    lines = []
    for i, u in enumerate(o.units):
        s = ship_of.get(i)
        pushed = s is not None and s.pushed_at is not None
        if o.status == "CANCELLED":
            display, pkg_status = "CANCELLED", "CANCELLED"
        elif o.status in ("UNPAID", "ON_HOLD"):
            display, pkg_status = ("UNPAID" if o.status == "UNPAID" else "AWAITING_SHIPMENT"), "TO_FULFILL"
        elif not pushed:
            display, pkg_status = "AWAITING_SHIPMENT", "TO_FULFILL"
        elif s.collected_at is None:
            display, pkg_status = "AWAITING_COLLECTION", "PROCESSING"
        elif o.completed_at:
            display, pkg_status = "COMPLETED", "COMPLETED"
        elif o.delivered_at:
            display, pkg_status = "DELIVERED", "COMPLETED"
        else:
            display, pkg_status = "IN_TRANSIT", "FULFILLING"
        tracking = (s.tiktok_tracking or s.tracking) if pushed else ""
        lines.append(
            {
                "id": u.line_id,
                "sku_id": u.variant.tiktok_sku_id,
                "seller_sku": u.variant.sku,
                "product_id": u.variant.product.tiktok_product_id,
                "product_name": u.variant.product.tiktok_title,
                "sku_name": u.variant.option,
                "sku_image": f"tos-maliva-i-{u.variant.product.num}-0",
                "sku_type": "NORMAL",
                "original_price": m(u.original_price),
                "sale_price": m(u.sale_price),
                "seller_discount": m(u.seller_discount),
                "platform_discount": m(u.platform_discount),
                "currency": cur,
                "display_status": display,
                "package_id": s.package_id if pushed else "",
                "package_status": pkg_status,
                "tracking_number": tracking,
                "shipping_provider_id": s.provider[0] if pushed else "",
                "shipping_provider_name": s.provider[1] if pushed else "",
                "rts_time": _ts(s.pushed_at) if pushed else None,
                "cancel_reason": o.cancel_reason or "" if o.status == "CANCELLED" else "",
                "cancel_user": o.cancel_initiator or "" if o.status == "CANCELLED" else "",
                "is_gift": False,
            }
        )
    pushed = [s for s in o.shipments if s.pushed_at]
    first = pushed[0] if pushed else None
    plat_disc = sum((u.platform_discount for u in o.units), ZERO)
    seller_disc = sum((u.seller_discount for u in o.units), ZERO)
    times = [o.created, o.paid, o.cancel_at, o.delivered_at, o.completed_at]
    if o.status not in ("UNPAID", "ON_HOLD"):
        times.append(o.hold_end)
    for s in o.shipments:
        times += [s.pushed_at, s.collected_at]
    update_time = max(t for t in times if t is not None)
    collected = [s.collected_at for s in o.shipments if s.collected_at]
    return {
        "id": o.id,
        "status": o.status,
        "order_type": "NORMAL",
        "user_id": str(o.buyer),
        "create_time": unix(o.created),
        "update_time": unix(update_time),
        "paid_time": _ts(o.paid),
        "rts_time": _ts(first.pushed_at) if first else None,
        "rts_sla_time": _ts(o.hold_end + timedelta(days=3)) if o.hold_end else None,
        "tts_sla_time": _ts(o.hold_end + timedelta(days=5)) if o.hold_end else None,
        "collection_time": _ts(min(collected)) if collected else None,
        "delivery_time": _ts(o.delivered_at),
        "cancel_time": _ts(o.cancel_at),
        "request_cancel_time": _ts(o.refunds[-1].created) if o.cancel_at and o.refunds else None,
        "cancel_reason": o.cancel_reason or "",
        "cancellation_initiator": o.cancel_initiator or "",
        "is_buyer_request_cancel": o.cancel_initiator == "BUYER",
        "is_on_hold_order": o.status == "ON_HOLD",
        "is_cod": False,
        "is_sample_order": False,
        "is_replacement_order": False,
        "fulfillment_type": o.fulfillment_type,
        "shipping_type": o.shipping_type,
        "shipping_provider": first.provider[1] if first else "",
        "shipping_provider_id": first.provider[0] if first else "",
        "tracking_number": (first.tiktok_tracking or first.tracking) if first else "",
        "packages": [{"id": s.package_id} for s in pushed],
        "split_or_combine_tag": "split" if len(o.shipments) > 1 else "",
        "warehouse_id": o.warehouse_id,
        "delivery_option_id": "7091146663229654785",
        "delivery_option_name": "Standard shipping",
        "buyer_email": f"v{o.buyer}@scs.tiktokw.us" if cur == "USD" else f"v{o.buyer}@scs.tiktokw.eu",
        "buyer_message": "",
        "seller_note": "",
        "recipient_address": {"region_code": ctx.profile["region"], "postal_code": "", "full_address": ""},
        "payment": {
            "currency": cur,
            "original_total_product_price": m(sum((u.original_price for u in o.units), ZERO)),
            "seller_discount": m(seller_disc),
            "platform_discount": m(plat_disc),
            "sub_total": m(o.sub_total),
            "original_shipping_fee": m(o.original_shipping_fee),
            "shipping_fee_seller_discount": m(o.shipping_fee_seller_discount),
            "shipping_fee_platform_discount": m(o.shipping_fee_platform_discount),
            "shipping_fee_cofunded_discount": "0.00",
            "shipping_fee": m(o.shipping_fee),
            "tax": "0.00",
            "product_tax": "0.00",
            "shipping_fee_tax": "0.00",
            "retail_delivery_fee": "0.00",
            "buyer_service_fee": "0.00",
            "handling_fee": "0.00",
            "item_insurance_fee": "0.00",
            "total_amount": m(o.total_amount),
        },
        "line_items": lines,
    }


def _refund_amount(cur: str, subtotal: Decimal, shipping: Decimal) -> dict[str, str]:
    return {
        "currency": cur,
        "refund_total": m(subtotal + shipping),
        "refund_subtotal": m(subtotal),
        "refund_shipping_fee": m(shipping),
        "refund_tax": "0.00",
        "retail_delivery_fee": "0.00",
        "buyer_service_fee": "0.00",
    }


def render_returns_and_cancellations(ctx: ConnCtx) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    cur = ctx.currency
    returns, cancels = [], []
    for o in ctx.orders:
        for r in o.refunds:
            items = [
                {
                    "order_line_item_id": o.units[i].line_id,
                    "sku_id": o.units[i].variant.tiktok_sku_id,
                    "seller_sku": o.units[i].variant.sku,
                    "sku_name": o.units[i].variant.option,
                    "product_name": o.units[i].variant.product.tiktok_title,
                    "refund_amount": _refund_amount(cur, o.units[i].sale_price, ZERO),
                }
                for i in r.unit_idx
            ]
            if r.kind == "return":
                returns.append(_render_return(ctx, o, r, items))
            else:
                for n, item in enumerate(items):
                    item["cancel_line_item_id"] = f"{r.id}{n:03d}"
                cancels.append(
                    {
                        "cancel_id": r.id,
                        "order_id": o.id,
                        "cancel_type": r.type,
                        "cancel_status": r.status,
                        "role": r.role,
                        "cancel_reason": r.reason,
                        "cancel_reason_text": r.reason,
                        "refund_amount": _refund_amount(cur, r.refund_subtotal, r.refund_shipping),
                        "cancel_line_items": items,
                        "should_replenish_stock": True,
                        "create_time": unix(r.created),
                        "update_time": unix(r.updated),
                    }
                )
    return returns, cancels


def _render_return(ctx: ConnCtx, o: TikTokOrder, r: Refund, items: list[dict[str, Any]]) -> dict[str, Any]:
    for n, item in enumerate(items):
        item["return_line_item_id"] = f"{r.id}{n:03d}"
    return {
        "return_id": r.id,
        "order_id": o.id,
        "return_type": r.type,
        "return_status": r.status,
        "role": r.role,
        "return_reason": r.reason.upper().replace(" ", "_"),
        "return_reason_text": r.reason,
        "create_time": unix(r.created),
        "update_time": unix(r.updated),
        "refund_amount": _refund_amount(ctx.currency, r.refund_subtotal, r.refund_shipping),
        "return_line_items": items,
        "return_tracking_number": "",
        "return_provider_name": "",
        "return_method": "PLATFORM_SHIPPED" if r.type == "RETURN_AND_REFUND" else "",
        "is_quick_refund": False,
        "can_buyer_keep_item": r.type == "REFUND",
        "partial_refund": {},
        "seller_next_action_response": [],
    }


def render_finance(ctx: ConnCtx) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    statements = [render_statement(s) for s in ctx.statements]
    transactions = list(iter_transactions(ctx))
    payments = [render_payment(p, ctx.currency) for p in ctx.payments]
    return statements, transactions, payments


def iter_transactions(ctx: ConnCtx) -> Iterator[dict[str, Any]]:
    for t in ctx.transactions:
        yield render_transaction(t, ctx.currency)
