"""Stock on both sides at ``as_of``, and inventory drift.

Shopify is the source of truth for stock. For an in-sync SKU × mapped warehouse, TikTok shows
``max(0, shopify_available − in_flight_units − buffer)`` where in-flight units are those of
seller-fulfilled TikTok orders that reduced TikTok stock (paid, not cancelled) but have no linked
Shopify order yet. Injected drift moves TikTok away from that by a known amount.
"""

from __future__ import annotations

from collections import defaultdict

from sandbox.generator.world import ConnCtx

IN_FLIGHT_STATUSES = {
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
}
MART = "fct_inventory_drift"
SAFETY_BUFFER = 0


def build_inventory(ctx: ConnCtx) -> None:
    rng = ctx.rng("inventory")
    committed: dict[tuple[int, str], int] = defaultdict(int)
    for o in ctx.orders:
        so = o.shopify
        if so is None or so.cancelled_at or so.location is None:
            continue
        shipped: dict[int, int] = defaultdict(int)
        for f in so.fulfillments:
            for num, q in f["qty"].items():
                shipped[num] += q
        for v, q, _, _ in so.lines:
            committed[(v.num, so.location)] += max(0, q - shipped[v.num])
    for so in ctx.shopify_orders:
        if so.cancelled_at or so.fulfillments or so.location is None:
            continue
        for v, q, _, _ in so.lines:
            committed[(v.num, so.location)] += q
    in_flight: dict[tuple[int, str], int] = defaultdict(int)
    for o in ctx.orders:
        if o.seller_fulfilled and o.shopify is None and o.status in IN_FLIGHT_STATUSES:
            for u in o.units:
                in_flight[(u.variant.num, o.warehouse_id)] += 1
    mapped = ctx.mapped_warehouses
    pairs = []
    for v in ctx.variants():
        for loc, _, _ in ctx.locations:
            v.committed[loc] = committed[(v.num, loc)]
        if v.tiktok_sku_id is None:
            continue
        for w, loc in mapped:
            v.tiktok_available[w] = max(0, v.available[loc] - in_flight[(v.num, w)] - SAFETY_BUFFER)
            pairs.append((v, w))
        if v.fbt_enrolled and ctx.fbt_warehouse:
            v.tiktok_available[ctx.fbt_warehouse] = rng.randint(0, 80)
    for v, w in ctx.pick(rng, "inventory.tiktok_overstated", pairs):
        v.tiktok_available[w] += rng.randint(3, 25)
        ctx.add_truth(MART, {"tiktok_sku_id": v.tiktok_sku_id, "tiktok_warehouse_id": w}, "tiktok_overstated")
        pairs.remove((v, w))
    for v, w in ctx.pick(rng, "inventory.tiktok_understated", [(v, w) for v, w in pairs if v.tiktok_available[w] >= 2]):
        v.tiktok_available[w] -= rng.randint(1, v.tiktok_available[w])
        ctx.add_truth(MART, {"tiktok_sku_id": v.tiktok_sku_id, "tiktok_warehouse_id": w}, "tiktok_understated")
    unmapped = ctx.unmapped_warehouse
    if unmapped:
        listed = [v for v in ctx.variants() if v.tiktok_sku_id]
        for v in ctx.pick(rng, "inventory.warehouse_unmapped", listed):
            v.tiktok_available[unmapped] = rng.randint(1, 30)
            ctx.add_truth(
                MART, {"tiktok_sku_id": v.tiktok_sku_id, "tiktok_warehouse_id": unmapped}, "warehouse_unmapped"
            )
