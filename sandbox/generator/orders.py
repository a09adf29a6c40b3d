"""Order lifecycles on both channels, the sales channel's mirroring, returns, cancellations, and
the order- and refund-level drift injected into them.

Every natural flow ends in sync at ``as_of``: a mirror that would land after ``as_of`` is clamped
to it, so only injected drift (listed in the truth file) breaks a reconciliation rule.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.generator.catalog import sellable
from sandbox.generator.params import money, uniform_td
from sandbox.generator.world import ConnCtx, Refund, Shipment, ShopifyOrder, TikTokOrder, Unit

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
GRACE = timedelta(minutes=30)
TRACKING_SLA = timedelta(hours=24)
DECISION_WINDOW = timedelta(days=5)

ORDER_MART = "fct_order_reconciliation"
REFUND_MART = "fct_refund_reconciliation"

PRE_SHIP = ("ON_HOLD", "AWAITING_SHIPMENT")
RETURN_REASONS = ["Wrong size", "Not as described", "Changed my mind", "Arrived damaged", "Quality not as expected"]


def _tracking(rng: random.Random, pattern: str) -> str:
    out = pattern
    for token, alphabet in (("{d", "0123456789"), ("{A", "ABCDEFGHJKLMNPRSTUVWXYZ")):
        while token in out:
            start = out.index(token)
            end = out.index("}", start)
            n = int(out[start + 2 : end])
            out = out[:start] + "".join(rng.choice(alphabet) for _ in range(n)) + out[end + 1 :]
    return out


def _day_floor(ts: datetime) -> datetime:
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


def _order_times(ctx: ConnCtx, rng: random.Random) -> list[datetime]:
    """Order creation times: spread over the window, plus a recent burst so holds are exercised."""
    p = ctx.params
    span = (p.as_of - p.start).total_seconds()
    n = p.tiktok_orders_per_connection
    n_recent = max(4, n // 40)
    times = [p.start + timedelta(seconds=rng.uniform(0, span - 3 * 3600)) for _ in range(n - n_recent)]
    times += [p.as_of - timedelta(seconds=rng.uniform(60, 3 * 3600)) for _ in range(n_recent)]
    return sorted(t.replace(microsecond=0) for t in times)


def build_orders(ctx: ConnCtx) -> None:
    rng = ctx.rng("tiktok-orders")
    as_of = ctx.params.as_of
    hold = timedelta(minutes=ctx.params.hold_minutes)
    pool = sellable(ctx)
    fbt_pool = [v for v in pool if v.fbt_enrolled]
    mapped = ctx.mapped_warehouses
    providers = ctx.profile["providers"]
    planned = ctx.params.tiktok_orders_per_connection
    for n, created in enumerate(_order_times(ctx, rng)):
        if ctx.progress is not None and n % 2000 == 0:
            ctx.progress(n, planned)
        fbt = bool(fbt_pool) and rng.random() < 0.08
        source = fbt_pool if fbt else pool
        chosen = rng.sample(source, k=min(len(source), rng.choice([1, 1, 1, 2, 2, 3])))
        units: list[Unit] = []
        for v in chosen:
            # one discount per SKU line, so every unit of it costs the same (a partial refund of
            # n units is then n × the unit price on both platforms)
            price = v.tiktok_price or v.price
            seller_disc = money(price * Decimal(rng.choice([0, 0, 0, 10, 15])) / 100)
            plat_disc = money(price * Decimal(rng.choice([0, 0, 0, 0, 5, 10])) / 100)
            for _ in range(rng.choice([1, 1, 1, 2])):
                units.append(Unit(str(ctx.ids.take("tt_line")), v, price, seller_disc, plat_disc))
        warehouse = ctx.fbt_warehouse if fbt else rng.choice(mapped)[0]
        free_ship = sum((u.sale_price for u in units), Decimal(0)) >= 35
        orig_ship = money(0 if free_ship else rng.choice(["4.99", "5.99", "6.49"]))
        ship_plat = money(orig_ship if orig_ship and rng.random() < 0.2 else 0)
        order = TikTokOrder(
            id=str(ctx.ids.take("tt_order")),
            created=created,
            paid=None,
            warehouse_id=warehouse,
            fulfillment_type="FULFILLMENT_BY_TIKTOK" if fbt else "FULFILLMENT_BY_SELLER",
            shipping_type="TIKTOK" if fbt or rng.random() < 0.4 else "SELLER",
            units=units,
            original_shipping_fee=orig_ship,
            shipping_fee_seller_discount=money(0),
            shipping_fee_platform_discount=ship_plat,
            buyer=ctx.ids.take("tt_buyer"),
            label_cost=money(rng.uniform(3.8, 8.5)) if not fbt else money(rng.uniform(2.5, 5.0)),
            affiliate=rng.random() < 0.2,
        )
        _simulate(ctx, order, rng, as_of, hold, providers)
        ctx.orders.append(order)
    if ctx.progress is not None:
        ctx.progress(planned, planned)
    _build_web_orders(ctx)


def _clamp(ts: datetime | None, as_of: datetime) -> datetime | None:
    return None if ts is None or ts > as_of else ts


def _simulate(ctx: ConnCtx, o: TikTokOrder, rng: random.Random, as_of: datetime, hold: timedelta, providers) -> None:
    paid = o.created + uniform_td(rng, MIN, 10 * MIN)
    if paid > as_of:
        o.status = "UNPAID"
        return
    o.paid = paid
    o.hold_end = paid + hold
    if rng.random() < 0.03:
        cancel = paid + uniform_td(rng, 5 * MIN, 55 * MIN)
        if cancel <= as_of:
            _cancel(ctx, o, rng, cancel, "BUYER_CANCEL", mirrored=False)
            return
    if as_of < o.hold_end:
        o.status = "ON_HOLD"
        return
    mirror = o.hold_end + uniform_td(rng, MIN, 10 * MIN)
    o.mirrored_at = min(mirror, as_of)
    o.shopify = _mirror(ctx, o, rng)
    if rng.random() < 0.02:
        cancel = o.mirrored_at + uniform_td(rng, 10 * MIN, 18 * HOUR)
        if cancel <= as_of:
            _cancel(ctx, o, rng, cancel, rng.choice(["BUYER_CANCEL", "CANCEL"]), mirrored=True)
        o.status = "CANCELLED" if o.cancel_at else "AWAITING_SHIPMENT"
        return
    # shipments
    distinct = list(dict.fromkeys(u.variant.num for u in o.units))
    groups: list[list[int]]
    if len(distinct) >= 2 and o.seller_fulfilled and rng.random() < 0.08:
        first = distinct[0]
        groups = [
            [i for i, u in enumerate(o.units) if u.variant.num == first],
            [i for i, u in enumerate(o.units) if u.variant.num != first],
        ]
    else:
        groups = [list(range(len(o.units)))]
    t = o.mirrored_at + uniform_td(rng, 2 * HOUR, 48 * HOUR)
    for gi, idx in enumerate(groups):
        if gi:
            t = t + uniform_td(rng, DAY, 4 * DAY)
        provider = rng.choice(providers)
        if o.seller_fulfilled:
            fulfilled = _clamp(t, as_of)
            pushed = min(t + uniform_td(rng, 5 * MIN, 60 * MIN), as_of) if fulfilled else None
        else:
            fulfilled = None
            pushed = _clamp(t, as_of)
        collected = _clamp(pushed + uniform_td(rng, 2 * HOUR, 20 * HOUR), as_of) if pushed else None
        o.shipments.append(
            Shipment(
                units=idx,
                provider=provider,
                tracking=_tracking(rng, provider[2]),
                fulfilled_at=fulfilled,
                pushed_at=pushed,
                collected_at=collected,
                package_id=str(ctx.ids.take("tt_package")),
            )
        )
    if all(s.collected_at for s in o.shipments):
        last = max(s.collected_at for s in o.shipments if s.collected_at)
        o.delivered_at = _clamp(last + uniform_td(rng, 2 * DAY, 5 * DAY), as_of)
        if o.delivered_at:
            o.completed_at = _clamp(o.delivered_at + 7 * DAY, as_of)
    if o.delivered_at and o.seller_fulfilled and rng.random() < 0.08:
        _return(ctx, o, rng, as_of)
    _derive_status(o)
    _settle(o, as_of)
    _sync_fulfillments(ctx, o)


def _derive_status(o: TikTokOrder) -> None:
    if o.cancel_at:
        o.status = "CANCELLED"
        return
    pushed = [s for s in o.shipments if s.pushed_at]
    if not pushed:
        o.status = "AWAITING_SHIPMENT"
    elif len(pushed) < len(o.shipments):
        o.status = "PARTIALLY_SHIPPING"
    elif not all(s.collected_at for s in o.shipments):
        o.status = "AWAITING_COLLECTION"
    elif o.completed_at:
        o.status = "COMPLETED"
    elif o.delivered_at:
        o.status = "DELIVERED"
    else:
        o.status = "IN_TRANSIT"


def _settle(o: TikTokOrder, as_of: datetime) -> None:
    """TikTok settles an order after delivery once no return or refund is pending."""
    o.settle_day = None
    if not o.delivered_at or o.cancel_at:
        return
    settle_at = o.delivered_at + 7 * DAY
    for r in o.refunds:
        if r.status in ("RETURN_OR_REFUND_REQUEST_COMPLETE", "REFUND_OR_RETURN_REQUEST_REJECT"):
            settle_at = max(settle_at, r.updated + DAY)
        else:
            return
    day = _day_floor(settle_at) + DAY
    if day <= as_of:
        o.settle_day = day


def _mirror(ctx: ConnCtx, o: TikTokOrder, rng: random.Random) -> ShopifyOrder:
    lines: dict[int, list] = {}
    for u in o.units:
        entry = lines.setdefault(u.variant.num, [u.variant, 0, u.original_price, Decimal(0)])
        entry[1] += 1
        entry[3] += u.seller_discount + u.platform_discount
    loc = next((loc for w, loc in ctx.mapped_warehouses if w == o.warehouse_id), None)
    style = rng.choices(["all", "attribute", "tag"], weights=[80, 10, 10])[0]
    return ShopifyOrder(
        num=0,
        created=o.mirrored_at,
        source="tiktok",
        lines=[tuple(v) for v in lines.values()],
        shipping=o.shipping_fee,
        location=loc,
        tiktok_id=o.id,
        link_style=style,
    )


def _sync_fulfillments(ctx: ConnCtx, o: TikTokOrder) -> None:
    if not o.shopify:
        return
    o.shopify.fulfillments = []
    for s in o.shipments:
        if s.fulfilled_at:
            if s.fulfillment_num is None:
                s.fulfillment_num = ctx.ids.take("fulfillment")
            qty: dict[int, int] = {}
            for i in s.units:
                qty[o.units[i].variant.num] = qty.get(o.units[i].variant.num, 0) + 1
            o.shopify.fulfillments.append(
                {
                    "num": s.fulfillment_num,
                    "created": s.fulfilled_at,
                    "provider": s.provider,
                    "tracking": s.tracking,
                    "qty": qty,
                }
            )


def _cancel(ctx: ConnCtx, o: TikTokOrder, rng: random.Random, at: datetime, ctype: str, mirrored: bool) -> None:
    o.cancel_at = at
    o.cancel_initiator = "BUYER" if ctype == "BUYER_CANCEL" else "SELLER"
    o.cancel_reason = (
        rng.choice(["No longer needed", "Ordered by mistake", "Out of stock"]) if ctype == "CANCEL" else "Changed mind"
    )
    o.status = "CANCELLED"
    o.shipments = []
    r = Refund(
        kind="cancel",
        id=str(ctx.ids.take("tt_cancel")),
        created=at - uniform_td(rng, MIN, 5 * MIN) if ctype == "BUYER_CANCEL" else at,
        type=ctype,
        status="CANCELLATION_REQUEST_COMPLETE",
        role=o.cancel_initiator,
        reason=o.cancel_reason,
        unit_idx=list(range(len(o.units))),
        refund_subtotal=o.sub_total,
        refund_shipping=o.shipping_fee,
        updated=at,
        completed_at=at,
    )
    o.refunds.append(r)
    if mirrored and o.shopify:
        when = min(at + uniform_td(rng, MIN, 5 * MIN), ctx.params.as_of)
        o.shopify.cancelled_at = when
        o.shopify.cancel_reason = "CUSTOMER"
        r.shopify.append(_shopify_refund(ctx, o, r, when, restock_type="CANCEL"))


def _shopify_refund(ctx: ConnCtx, o: TikTokOrder, r: Refund, when: datetime, restock_type: str) -> dict:
    """The sales channel's record-only refund mirroring a TikTok refund (no money moves in Shopify)."""
    lines: dict[int, list] = {}
    for i in r.unit_idx:
        u = o.units[i]
        entry = lines.setdefault(u.variant.num, [u.variant, 0, Decimal(0)])
        entry[1] += 1
        entry[2] += u.sale_price
    label = "cancellation" if r.kind == "cancel" else "return"
    return {
        "num": ctx.ids.take("refund"),
        "created": when,
        "note": f"TikTok Shop {label} {r.id}",
        "lines": [
            {
                "variant": v,
                "quantity": q,
                "subtotal": amt,
                "restock_type": restock_type,
                "location": o.shopify.location if o.shopify else None,
            }
            for v, q, amt in lines.values()
        ],
        "shipping": r.refund_shipping,
        "money": False,
    }


def _return(ctx: ConnCtx, o: TikTokOrder, rng: random.Random, as_of: datetime) -> None:
    created = o.delivered_at + uniform_td(rng, DAY, 6 * DAY)
    if created > as_of:
        return
    rtype = "RETURN_AND_REFUND" if rng.random() < 0.7 else "REFUND"
    idx = [0] if len(o.units) > 1 and rng.random() < 0.5 else list(range(len(o.units)))
    decision = created + uniform_td(rng, 4 * HOUR, 3 * DAY)
    r = Refund(
        kind="return",
        id=str(ctx.ids.take("tt_return")),
        created=created,
        type=rtype,
        status="RETURN_OR_REFUND_REQUEST_PENDING",
        role="BUYER",
        reason=rng.choice(RETURN_REASONS),
        unit_idx=idx,
        refund_subtotal=sum((o.units[i].sale_price for i in idx), Decimal(0)),
        refund_shipping=Decimal("0.00"),
        updated=created,
        completed_at=None,
    )
    o.refunds.append(r)
    if decision > as_of:
        return
    if rng.random() < 0.1:
        r.status, r.updated = "REFUND_OR_RETURN_REQUEST_REJECT", decision
        return
    if rtype == "REFUND":
        done = decision
    else:
        r.status, r.updated = "AWAITING_BUYER_SHIP", decision
        shipped = decision + uniform_td(rng, DAY, 3 * DAY)
        if shipped > as_of:
            return
        r.status, r.updated = "BUYER_SHIPPED_ITEM", shipped
        done = shipped + uniform_td(rng, DAY, 3 * DAY)
        if done > as_of:
            return
    r.status, r.updated, r.completed_at = "RETURN_OR_REFUND_REQUEST_COMPLETE", done, done
    if o.shopify:
        when = min(done + uniform_td(rng, 5 * MIN, 60 * MIN), as_of)
        r.shopify.append(_shopify_refund(ctx, o, r, when, "RETURN" if rtype == "RETURN_AND_REFUND" else "NO_RESTOCK"))


def _build_web_orders(ctx: ConnCtx) -> None:
    rng = ctx.rng("web-orders")
    p = ctx.params
    variants = [v for v in ctx.variants() if v.sku]
    span = (p.as_of - p.start).total_seconds()
    providers = ctx.profile["providers"]
    for _ in range(p.shopify_web_orders_per_connection):
        created = (p.start + timedelta(seconds=rng.uniform(0, span))).replace(microsecond=0)
        chosen = rng.sample(variants, k=rng.choice([1, 1, 2, 3]))
        lines = [(v, rng.choice([1, 1, 2]), v.price, Decimal("0.00")) for v in chosen]
        subtotal = sum((q * price for _, q, price, _ in lines), Decimal(0))
        so = ShopifyOrder(
            num=0,
            created=created,
            source="web",
            lines=lines,
            shipping=money(0 if subtotal >= 50 else "7.95"),
            location=rng.choice(ctx.locations)[0],
            gateway="shopify_payments",
        )
        if rng.random() < 0.01:
            so.cancelled_at = _clamp(created + uniform_td(rng, HOUR, 10 * HOUR), p.as_of)
            so.cancel_reason = "CUSTOMER"
            if so.cancelled_at:
                so.refunds.append(_web_refund(ctx, so, so.cancelled_at, full=True))
        if not so.cancelled_at:
            shipped = _clamp(created + uniform_td(rng, 2 * HOUR, 72 * HOUR), p.as_of)
            if shipped:
                provider = rng.choice(providers)
                so.fulfillments.append(
                    {
                        "num": ctx.ids.take("fulfillment"),
                        "created": shipped,
                        "provider": provider,
                        "tracking": _tracking(rng, provider[2]),
                        "qty": {v.num: q for v, q, _, _ in lines},
                    }
                )
                if rng.random() < 0.04:
                    when = _clamp(shipped + uniform_td(rng, 2 * DAY, 12 * DAY), p.as_of)
                    if when:
                        so.refunds.append(_web_refund(ctx, so, when, full=False))
        ctx.shopify_orders.append(so)


def _web_refund(ctx: ConnCtx, so: ShopifyOrder, when: datetime, full: bool) -> dict:
    v, q, price, _ = so.lines[0]
    qty = q if full else 1
    return {
        "num": ctx.ids.take("refund"),
        "created": when,
        "note": "Customer return" if not full else "Order cancelled",
        "lines": [
            {
                "variant": v,
                "quantity": qty,
                "subtotal": price * qty,
                "restock_type": "RETURN" if not full else "CANCEL",
                "location": so.location,
            }
        ],
        "shipping": so.shipping if full else Decimal("0.00"),
        "money": True,
    }


# --------------------------------------------------------------------------- drift injection


def _untouched(o: TikTokOrder) -> bool:
    return not o.touched


def inject_order_drift(ctx: ConnCtx) -> None:
    rng = ctx.rng("order-drift")
    as_of = ctx.params.as_of
    hold = timedelta(minutes=ctx.params.hold_minutes)
    orders = ctx.orders

    def choose(key: str, pred: Callable[[TikTokOrder], bool]) -> list[TikTokOrder]:
        eligible = [o for o in orders if _untouched(o) and pred(o)]
        chosen = ctx.pick(rng, key, eligible)
        for o in chosen:
            o.touched.add(key)
        return chosen

    def truth(o: TikTokOrder, drift: str) -> None:
        ctx.add_truth(ORDER_MART, {"tiktok_order_id": o.id}, drift)

    def unshipped_mirrored(o: TikTokOrder) -> bool:
        return (
            o.status == "AWAITING_SHIPMENT"
            and o.shopify is not None
            and not o.refunds
            and o.paid is not None
            and o.paid + hold + GRACE < as_of
        )

    for o in choose("order.missing_in_shopify", unshipped_mirrored):
        o.shopify = None
        truth(o, "missing_in_shopify")
    for o in choose("order.stuck_on_hold", unshipped_mirrored):
        o.shopify = None
        o.status = "ON_HOLD"
        o.mirrored_at = None
        truth(o, "stuck_on_hold")
    for o in choose("order.cancel_not_mirrored", unshipped_mirrored):
        at = min(o.mirrored_at + uniform_td(rng, 10 * MIN, 6 * HOUR), as_of)
        shopify = o.shopify
        o.shopify = None  # keep _cancel from mirroring it
        _cancel(ctx, o, rng, at, rng.choice(["BUYER_CANCEL", "CANCEL"]), mirrored=False)
        o.shopify = shopify
        truth(o, "cancel_not_mirrored")
        ctx.add_truth(REFUND_MART, {"tiktok_cancel_id": o.refunds[-1].id}, "refund_not_mirrored")
    for o in choose("order.cancelled_in_shopify_only", unshipped_mirrored):
        o.shopify.cancelled_at = min(o.mirrored_at + uniform_td(rng, 10 * MIN, 6 * HOUR), as_of)
        o.shopify.cancel_reason = "OTHER"
        truth(o, "cancelled_in_shopify_only")

    def late_single_shipment(o: TikTokOrder) -> bool:
        return (
            o.seller_fulfilled
            and o.shopify is not None
            and len(o.shipments) == 1
            and o.shipments[0].fulfilled_at is not None
            and o.shipments[0].fulfilled_at < as_of - TRACKING_SLA - HOUR
            and not o.refunds
            and o.settle_day is None
        )

    for o in choose("order.tracking_not_pushed", late_single_shipment):
        s = o.shipments[0]
        s.pushed_at = s.collected_at = None
        o.delivered_at = o.completed_at = None
        _derive_status(o)
        truth(o, "tracking_not_pushed")

    def shipped_single(o: TikTokOrder) -> bool:
        return (
            o.seller_fulfilled
            and o.shopify is not None
            and len(o.shipments) == 1
            and o.shipments[0].pushed_at is not None
        )

    for o in choose("order.tracking_mismatch", shipped_single):
        s = o.shipments[0]
        s.tiktok_tracking = _tracking(rng, s.provider[2])
        truth(o, "tracking_mismatch")

    def mirrored_open_unsettled(o: TikTokOrder) -> bool:
        return o.shopify is not None and not o.cancel_at and not o.refunds and o.settle_day is None

    for o in choose("order.amount_mismatch", mirrored_open_unsettled):
        delta = money(rng.choice(["0.01", "0.50", "1.00", "4.99"])) * rng.choice([1, -1])
        o.shopify.total_override = o.total_amount + delta
        truth(o, "amount_mismatch")
    for o in choose("order.line_items_mismatch", lambda o: o.shopify is not None and not o.cancel_at and not o.refunds):
        v, q, price, disc = o.shopify.lines[0]
        o.shopify.lines[0] = (v, q + 1, price, disc)
        o.shopify.total_override = o.total_amount
        truth(o, "line_items_mismatch")

    # orphans: TikTok-channel Shopify orders whose TikTok id matches no TikTok order
    donors = [o for o in orders if o.shopify is not None and not o.refunds and not o.cancel_at]
    for i, donor in enumerate(ctx.pick(rng, "order.orphan_in_shopify", donors)):
        ghost = ShopifyOrder(
            num=0,
            created=donor.shopify.created + uniform_td(rng, MIN, HOUR),
            source="tiktok",
            lines=list(donor.shopify.lines),
            shipping=donor.shopify.shipping,
            total_override=donor.total_amount,
            location=donor.shopify.location,
            tiktok_id=str(ctx.ids.take("tt_order") + 900_000 + i),
            link_style="all",
        )
        if ghost.created > as_of:
            ghost.created = as_of
        ctx.shopify_orders.append(ghost)
        ghost.orphan = True
        ctx.add_truth(ORDER_MART, {"shopify_order_id": f"__orphan__:{ghost.tiktok_id}"}, "orphan_in_shopify")


def inject_refund_drift(ctx: ConnCtx) -> None:
    rng = ctx.rng("refund-drift")
    as_of = ctx.params.as_of
    mirrored_returns = [
        (o, r)
        for o in ctx.orders
        if _untouched(o) and o.shopify is not None
        for r in o.refunds
        if r.kind == "return" and r.completed_at and r.shopify
    ]
    used: set[str] = set()

    def choose(key: str, pred: Callable[[TikTokOrder, Refund], bool]) -> list[tuple[TikTokOrder, Refund]]:
        eligible = [(o, r) for o, r in mirrored_returns if o.id not in used and pred(o, r)]
        chosen = ctx.pick(rng, key, eligible)
        for o, _ in chosen:
            used.add(o.id)
            o.touched.add(key)
        return chosen

    def truth(r: Refund, drift: str) -> None:
        ctx.add_truth(REFUND_MART, {"tiktok_return_id": r.id}, drift)

    for _, r in choose("refund.refund_not_mirrored", lambda o, r: True):
        r.shopify = []
        truth(r, "refund_not_mirrored")
    for _, r in choose("refund.double_refund", lambda o, r: len(o.refunds) == 1):
        dup = dict(r.shopify[0])
        dup["num"] = ctx.ids.take("refund")
        dup["created"] = min(dup["created"] + uniform_td(rng, HOUR, 2 * DAY), as_of)
        r.shopify.append(dup)
        truth(r, "double_refund")
    for _, r in choose("refund.missing_restock", lambda o, r: r.type == "RETURN_AND_REFUND"):
        for line in r.shopify[0]["lines"]:
            line["restock_type"] = "NO_RESTOCK"
        truth(r, "missing_restock")
    for _, r in choose("refund.amount_mismatch", lambda o, r: r.refund_total > 2):
        first = r.shopify[0]["lines"][0]
        first["subtotal"] = first["subtotal"] - money(rng.choice(["0.01", "0.50", "1.00"]))
        truth(r, "amount_mismatch")

    # refunds issued in Shopify on TikTok orders that TikTok never refunded: the buyer got nothing
    plain = [o for o in ctx.orders if _untouched(o) and o.shopify and not o.refunds and not o.cancel_at and o.shipments]
    for o in ctx.pick(rng, "refund.refunded_in_shopify_only", plain):
        o.touched.add("refund.refunded_in_shopify_only")
        u = o.units[0]
        when = min(max(s.fulfilled_at or o.mirrored_at for s in o.shipments) + uniform_td(rng, HOUR, 3 * DAY), as_of)
        refund = {
            "num": ctx.ids.take("refund"),
            "created": when,
            "note": "Refund issued by staff",
            "lines": [
                {
                    "variant": u.variant,
                    "quantity": 1,
                    "subtotal": u.sale_price,
                    "restock_type": "NO_RESTOCK",
                    "location": o.shopify.location,
                }
            ],
            "shipping": Decimal("0.00"),
            "money": True,
        }
        o.shopify.refunds.append(refund)
        ctx.add_truth(
            REFUND_MART, {"shopify_refund_id": f"gid://shopify/Refund/{refund['num']}"}, "refunded_in_shopify_only"
        )

    # requests still pending close to TikTok's auto-approval deadline
    def deliverable(o: TikTokOrder) -> bool:
        return (
            _untouched(o)
            and o.seller_fulfilled
            and not o.refunds
            and o.delivered_at is not None
            and as_of - 10 * DAY <= o.delivered_at <= as_of - 5 * DAY - 20 * HOUR
        )

    for o in ctx.pick(rng, "refund.decision_due", [o for o in ctx.orders if deliverable(o)]):
        o.touched.add("refund.decision_due")
        created = as_of - 4 * DAY - uniform_td(rng, HOUR, 20 * HOUR)
        r = Refund(
            kind="return",
            id=str(ctx.ids.take("tt_return")),
            created=created,
            type="RETURN_AND_REFUND",
            status="RETURN_OR_REFUND_REQUEST_PENDING",
            role="BUYER",
            reason=rng.choice(RETURN_REASONS),
            unit_idx=[0],
            refund_subtotal=o.units[0].sale_price,
            refund_shipping=Decimal("0.00"),
            updated=created,
            completed_at=None,
        )
        o.refunds.append(r)
        _settle(o, as_of)
        truth(r, "decision_due")


def all_refunds(o: TikTokOrder) -> list[dict]:
    out = []
    if o.shopify:
        for r in o.refunds:
            out.extend(r.shopify)
        out.extend(o.shopify.refunds)
    return out
