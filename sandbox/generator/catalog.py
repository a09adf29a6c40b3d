"""Catalog: Shopify products and variants, their TikTok listings, stock, and catalog-hygiene drift."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sandbox.generator.params import money, uniform_td
from sandbox.generator.world import ConnCtx, Product, TikTokOnlySku, Variant

ADJECTIVES = ["Classic", "Everyday", "Organic", "Relaxed", "Heritage", "Trail", "Urban", "Coastal", "Alpine", "Studio"]
MATERIALS = ["Cotton", "Merino", "Linen", "Recycled Nylon", "Bamboo", "Fleece", "Canvas", "Denim", "Hemp", "Wool"]
NOUNS = ["Crew Tee", "Hoodie", "Joggers", "Tote Bag", "Beanie", "Socks 3-Pack", "Overshirt", "Cap", "Shorts", "Scarf"]
DETAILS = ["with Pockets", "for Travel", "Unisex Fit", "Garment Dyed", "Limited Edition", "Made to Last", ""]
COLORS = [("BLK", "Black"), ("NVY", "Navy"), ("OLV", "Olive"), ("SND", "Sand"), ("RST", "Rust")]
SIZES = ["S", "M", "L", "XL"]
LONG_TAIL = " ".join(["Ultra-Soft Breathable Everyday Essential for Work, Weekend and Travel"] * 5)

MART = "dim_catalog_health"


def _title(rng) -> str:
    parts = [rng.choice(ADJECTIVES), rng.choice(MATERIALS), rng.choice(NOUNS), rng.choice(DETAILS)]
    return " ".join(p for p in parts if p)


def build_catalog(ctx: ConnCtx) -> None:
    rng = ctx.rng("catalog")
    params = ctx.params
    prefix = ctx.profile["sku_prefix"]
    for pno in range(1, params.products_per_connection + 1):
        title = _title(rng)
        while len(title) < 25:
            title += " " + rng.choice(DETAILS[:-1])
        created = params.start - timedelta(days=rng.randint(30, 400))
        meta = None
        if rng.random() < 0.15:
            meta = f"{title.split(' ')[1]} {title.split(' ')[2]} - Official {ctx.profile['shop_name']}"
        product = Product(
            num=ctx.ids.take("product"),
            title=title,
            description=f"<p>{title}. Designed in-house, shipped from our own warehouse.</p>",
            product_type=title.split(" ")[-1],
            media_count=rng.randint(1, 6),
            dimensions=f"{rng.randint(15, 45)}x{rng.randint(10, 35)}x{rng.randint(2, 15)} cm",
            tiktok_title_meta=meta,
            created=created,
        )
        base_price = money(
            rng.choice([12, 15, 18, 22, 25, 29, 35, 42, 48, 55, 65, 79]) - Decimal("0.01") * rng.choice([0, 1, 5])
        )
        n_variants = rng.choice([1, 1, 2, 3, 4])
        colors = rng.sample(COLORS, k=min(n_variants, len(COLORS)))
        for vno in range(n_variants):
            code, name = colors[vno % len(colors)]
            size = SIZES[vno % len(SIZES)]
            variant = Variant(
                num=ctx.ids.take("variant"),
                product=product,
                option=f"{name} / {size}",
                sku=f"{prefix}-{pno:05d}-{code}-{size}",
                price=base_price,
                barcode=f"{rng.randint(10**11, 10**12 - 1)}",
                weight=round(rng.uniform(0.1, 2.5), 2),
                item_num=ctx.ids.take("item"),
            )
            for loc, _, _ in ctx.locations:
                variant.available[loc] = rng.choice([0, rng.randint(1, 20), rng.randint(10, 150), rng.randint(20, 250)])
            product.variants.append(variant)
        ctx.products.append(product)
    _list_on_tiktok(ctx)
    _inject_catalog_drift(ctx)


def _list_on_tiktok(ctx: ConnCtx) -> None:
    rng = ctx.rng("tiktok-listing")
    fbt = ctx.fbt_warehouse
    for product in ctx.products:
        product.tiktok_product_id = str(ctx.ids.take("tt_product"))
        product.tiktok_title = product.tiktok_title_meta or product.title
        for v in product.variants:
            v.tiktok_sku_id = str(ctx.ids.take("tt_sku"))
            v.tiktok_price = v.price
            v.fbt_enrolled = fbt is not None and rng.random() < 0.3


def _inject_catalog_drift(ctx: ConnCtx) -> None:
    """Each violation lands on its own products, so a variant carries exactly the listed codes."""
    rng = ctx.rng("catalog-drift")
    free = list(ctx.products)
    rng.shuffle(free)

    def take(key: str) -> list[Product]:
        chosen = ctx.pick(rng, f"catalog.{key}", free)
        for p in chosen:
            free.remove(p)
        return chosen

    def truth(v: Variant, *codes: str) -> None:
        for code in codes:
            ctx.add_truth(MART, {"shopify_variant_id": v.gid}, code)

    for p in take("title_too_long"):
        p.title = (p.title + " - " + LONG_TAIL)[:270]
        p.tiktok_title_meta = None
        p.tiktok_title = p.title
        for v in p.variants:
            truth(v, "title_too_long")
    for p in take("title_too_short"):
        p.title = p.title.split(" ")[2][:18]
        p.tiktok_title_meta = None
        p.tiktok_title = p.title
        for v in p.variants:
            truth(v, "title_too_short")
    for p in take("missing_image"):
        p.media_count = 0
        for v in p.variants:
            truth(v, "missing_image")
    for p in take("missing_weight"):
        v = p.variants[0]
        v.weight = None
        truth(v, "missing_weight")
    for p in take("zero_weight"):
        v = p.variants[0]
        v.weight = 0.0
        truth(v, "zero_weight")
    for p in take("missing_dimensions"):
        p.dimensions = None
        for v in p.variants:
            truth(v, "missing_dimensions")
    for p in take("missing_sku"):
        # a variant with no SKU cannot be mapped, so it is not on TikTok either
        v = p.variants[0]
        v.sku = None
        v.listed = False
        truth(v, "missing_sku", "not_listed_on_tiktok")
    dup = take("duplicate_sku")
    for i in range(0, len(dup) - 1, 2):
        a, b = dup[i].variants[0], dup[i + 1].variants[0]
        b.sku = a.sku
        for v in (a, b):
            v.listed = False
            truth(v, "duplicate_sku", "not_listed_on_tiktok")
    for p in take("price_mismatch"):
        v = p.variants[0]
        v.tiktok_price = v.price + money(rng.choice([1, 2, 3, 5]))
        truth(v, "price_mismatch")
    for p in take("title_diverged"):
        p.tiktok_title_meta = None
        p.tiktok_title = f"{p.title} | Free Shipping"
        for v in p.variants:
            truth(v, "title_diverged")
    for p in take("not_listed_on_tiktok"):
        v = p.variants[-1]
        v.listed = False
        truth(v, "not_listed_on_tiktok")
    for p in take("tiktok_status_failed"):
        p.tiktok_status = "FAILED"
        for v in p.variants:
            truth(v, "tiktok_status_failed")
    for p in take("tiktok_status_draft"):
        p.tiktok_status = "DRAFT"
        for v in p.variants:
            truth(v, "tiktok_status_draft")
    for p in ctx.products:
        for v in p.variants:
            if not v.listed:
                v.tiktok_sku_id = None
                v.tiktok_price = None
                v.fbt_enrolled = False
        if not any(v.listed for v in p.variants):
            p.tiktok_product_id = None

    # inventory drift: TikTok-only SKUs (seller_sku unknown to Shopify)
    n_only = len(ctx.pick(rng, "inventory.sku_not_in_shopify", list(range(len(ctx.products)))))
    mapped = [w for w, _ in ctx.mapped_warehouses]
    for i in range(n_only):
        created = ctx.params.start - uniform_td(rng, timedelta(days=1), timedelta(days=60))
        only = TikTokOnlySku(
            product_id=str(ctx.ids.take("tt_product")),
            sku_id=str(ctx.ids.take("tt_sku")),
            seller_sku=f"BUNDLE-{ctx.profile['sku_prefix']}-{i + 1:03d}",
            title=f"Bundle Deal {i + 1}: {_title(rng)}",
            price=money(rng.choice([39, 49, 59])),
            available={w: rng.randint(1, 40) for w in mapped},
            created=created,
        )
        ctx.tiktok_only.append(only)
        for w in mapped:
            ctx.add_truth(
                "fct_inventory_drift", {"tiktok_sku_id": only.sku_id, "tiktok_warehouse_id": w}, "sku_not_in_shopify"
            )


def sellable(ctx: ConnCtx) -> list[Variant]:
    """Variants a TikTok buyer can order: listed, active on TikTok."""
    return [v for p in ctx.products if p.tiktok_status == "ACTIVATE" for v in p.variants if v.listed]
