"""The generator's internal model of one connection: catalog, orders, money, and the truth rows.

Everything is decided here in plain Python objects; ``render`` turns them into platform-native
records at the end, so drift injection edits the model, never JSON.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sandbox.generator.params import GeneratorParams, rng_for

T = TypeVar("T")

CONNECTION_PROFILES: dict[str, dict[str, Any]] = {
    "us": {
        "currency": "USD",
        "region": "US",
        "shop_domain": "acme-outfitters-us.myshopify.com",
        "shop_name": "Acme Outfitters US",
        "shop_id": "7495100000000000101",
        "locations": [("101", "Newark DC", "US"), ("102", "Reno DC", "US")],
        # (warehouse id, name, mapped location number or None, fbt)
        "warehouses": [
            ("7300100000000000011", "Newark", "101", False),
            ("7300100000000000012", "Reno", "102", False),
            ("7300100000000000019", "FBT Ontario CA", None, True),
        ],
        "providers": [
            ("7117858858072016686", "USPS", "9400{d22}", "https://tools.usps.com/go/TrackConfirmAction?tLabels="),
            ("7117859084333745966", "UPS", "1Z{A6}{d10}", "https://www.ups.com/track?tracknum="),
            ("7129736293356193578", "FedEx", "{d12}", "https://www.fedex.com/fedextrack/?trknbr="),
        ],
        "commission": ("referral_fee_amount", Decimal("0.08")),
        "sku_prefix": "AU",
    },
    "uk": {
        "currency": "GBP",
        "region": "GB",
        "shop_domain": "acme-outfitters-uk.myshopify.com",
        "shop_name": "Acme Outfitters UK",
        "shop_id": "7495200000000000202",
        "locations": [("201", "Manchester Fulfilment", "GB")],
        "warehouses": [
            ("7300200000000000021", "Manchester", "201", False),
            ("7300200000000000028", "Leeds Overflow", None, False),
        ],
        "providers": [
            (
                "7208502187360519982",
                "Royal Mail",
                "{A2}{d9}GB",
                "https://www.royalmail.com/track-your-item#/tracking-results/",
            ),
            ("7208502187360519983", "DPD", "{d14}", "https://track.dpd.co.uk/parcels/"),
            ("7208502187360519984", "Evri", "H{d15}", "https://www.evri.com/track/parcel/"),
        ],
        "commission": ("platform_commission_amount", Decimal("0.09")),
        "sku_prefix": "AK",
    },
}


class IdSeq:
    """Deterministic, unique numeric ids per kind."""

    def __init__(self, bases: dict[str, int]) -> None:
        self._next = dict(bases)

    def take(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value


@dataclass(slots=True)
class Variant:
    num: int
    product: Product
    option: str
    sku: str | None
    price: Decimal
    barcode: str
    weight: float | None
    item_num: int
    tiktok_sku_id: str | None = None
    tiktok_price: Decimal | None = None
    listed: bool = True
    #: Shopify ``available`` per location number
    available: dict[str, int] = field(default_factory=dict)
    committed: dict[str, int] = field(default_factory=dict)
    #: TikTok available per warehouse id (set after orders, from the inventory rule)
    tiktok_available: dict[str, int] = field(default_factory=dict)
    fbt_enrolled: bool = False

    @property
    def gid(self) -> str:
        return f"gid://shopify/ProductVariant/{self.num}"

    @property
    def item_gid(self) -> str:
        return f"gid://shopify/InventoryItem/{self.item_num}"


@dataclass(slots=True)
class Product:
    num: int
    title: str
    description: str
    product_type: str
    media_count: int
    dimensions: str | None
    tiktok_title_meta: str | None
    created: datetime
    variants: list[Variant] = field(default_factory=list)
    tiktok_product_id: str | None = None
    tiktok_title: str | None = None
    tiktok_status: str = "ACTIVATE"

    @property
    def gid(self) -> str:
        return f"gid://shopify/Product/{self.num}"


@dataclass(slots=True)
class TikTokOnlySku:
    """A TikTok SKU whose seller_sku matches no Shopify variant (a bundle listed only on TikTok)."""

    product_id: str
    sku_id: str
    seller_sku: str
    title: str
    price: Decimal
    available: dict[str, int]
    created: datetime


@dataclass(slots=True)
class Unit:
    """One TikTok line item: TikTok lists one line per unit."""

    line_id: str
    variant: Variant
    original_price: Decimal
    seller_discount: Decimal
    platform_discount: Decimal

    @property
    def sale_price(self) -> Decimal:
        return self.original_price - self.seller_discount - self.platform_discount


@dataclass(slots=True)
class Shipment:
    units: list[int]  # indexes into order.units
    provider: tuple[str, str, str, str]
    tracking: str
    fulfilled_at: datetime | None  # Shopify fulfilment (None for FBT)
    pushed_at: datetime | None  # TikTok got the tracking
    collected_at: datetime | None
    package_id: str
    fulfillment_num: int | None = None
    tiktok_tracking: str | None = None  # what TikTok shows if it differs (tracking_mismatch)


@dataclass(slots=True)
class Refund:
    """A TikTok return or cancellation that carries a refund, plus its Shopify mirror(s)."""

    kind: str  # "return" | "cancel"
    id: str
    created: datetime
    type: str  # return_type or cancel_type
    status: str
    role: str
    reason: str
    unit_idx: list[int]
    refund_subtotal: Decimal
    refund_shipping: Decimal
    updated: datetime
    completed_at: datetime | None
    #: Shopify refunds mirroring this one: (created, amount override or None, restock)
    shopify: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refund_total(self) -> Decimal:
        return self.refund_subtotal + self.refund_shipping


@dataclass(slots=True)
class TikTokOrder:
    id: str
    created: datetime
    paid: datetime | None
    warehouse_id: str
    fulfillment_type: str
    shipping_type: str
    units: list[Unit]
    original_shipping_fee: Decimal
    shipping_fee_seller_discount: Decimal
    shipping_fee_platform_discount: Decimal
    buyer: int
    hold_end: datetime | None = None
    status: str = "UNPAID"
    mirrored_at: datetime | None = None
    shipments: list[Shipment] = field(default_factory=list)
    delivered_at: datetime | None = None
    completed_at: datetime | None = None
    cancel_at: datetime | None = None
    cancel_initiator: str | None = None
    cancel_reason: str | None = None
    refunds: list[Refund] = field(default_factory=list)
    shopify: ShopifyOrder | None = None
    settle_day: datetime | None = None
    label_cost: Decimal = Decimal("0")
    affiliate: bool = False
    drift: str | None = None  # the order-level drift injected, if any
    touched: set[str] = field(default_factory=set)  # injections that used this order

    @property
    def sub_total(self) -> Decimal:
        return sum((u.sale_price for u in self.units), Decimal("0"))

    @property
    def shipping_fee(self) -> Decimal:
        return self.original_shipping_fee - self.shipping_fee_seller_discount - self.shipping_fee_platform_discount

    @property
    def total_amount(self) -> Decimal:
        return self.sub_total + self.shipping_fee

    @property
    def seller_fulfilled(self) -> bool:
        return self.fulfillment_type == "FULFILLMENT_BY_SELLER"

    def update_time(self) -> datetime:
        times = [self.created, self.paid, self.hold_end if self.status != "UNPAID" else None, self.cancel_at]
        for s in self.shipments:
            times += [s.pushed_at, s.collected_at]
        times += [self.delivered_at, self.completed_at]
        return max(t for t in times if t is not None)


@dataclass(slots=True)
class ShopifyOrder:
    num: int
    created: datetime
    source: str  # "tiktok" | "web"
    lines: list[tuple[Variant, int, Decimal, Decimal]]  # variant, quantity, unit price, discount total
    shipping: Decimal
    total_override: Decimal | None = None
    location: str | None = None  # location number for fulfilment
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    tiktok_id: str | None = None
    link_style: str = "all"  # all | attribute | tag
    gateway: str = "TikTok Shop"
    name_num: int = 0
    updated: datetime | None = None
    orphan: bool = False


class ConnCtx:
    """Everything generated for one connection."""

    def __init__(self, conn_id: str, params: GeneratorParams, index: int) -> None:
        self.id = conn_id
        self.params = params
        self.profile = CONNECTION_PROFILES.get(conn_id) or _derived_profile(conn_id, index)
        self.currency: str = self.profile["currency"]
        base = (index + 1) * 10_000_000
        self.ids = IdSeq(
            {
                "product": 8_000_000_000 + base,
                "variant": 44_000_000_000 + base,
                "item": 46_000_000_000 + base,
                "order": 5_000_000_000 + base,
                "line": 13_000_000_000 + base,
                "fulfillment": 4_500_000_000 + base,
                "fulfillment_order": 6_000_000_000 + base,
                "fo_line": 14_000_000_000 + base,
                "refund": 900_000_000 + base,
                "transaction": 7_000_000_000 + base,
                "tt_order": 576_000_000_000_000_000 + base * 100,
                "tt_line": 577_000_000_000_000_000 + base * 100,
                "tt_product": 1_729_000_000_000_000_000 + base * 100,
                "tt_sku": 1_730_000_000_000_000_000 + base * 100,
                "tt_package": 1_152_000_000_000_000_000 + base * 100,
                "tt_return": 4_035_000_000_000_000_000 + base * 100,
                "tt_cancel": 4_036_000_000_000_000_000 + base * 100,
                "tt_statement": 7_000_100_000_000_000_000 + base * 100,
                "tt_transaction": 7_100_000_000_000_000_000 + base * 100,
                "tt_payment": 7_200_000_000_000_000_000 + base * 100,
                "tt_adjustment": 7_300_000_000_000_000_000 + base * 100,
                "tt_buyer": 7_494_000_000_000_000_000 + base * 100,
            }
        )
        self.locations: list[tuple[str, str, str]] = self.profile["locations"]
        self.warehouses: list[tuple[str, str, str | None, bool]] = self.profile["warehouses"]
        self.products: list[Product] = []
        self.tiktok_only: list[TikTokOnlySku] = []
        self.orders: list[TikTokOrder] = []
        self.shopify_orders: list[ShopifyOrder] = []
        self.statements: list[dict[str, Any]] = []
        self.transactions: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []
        self.truth: list[dict[str, Any]] = []
        #: called as progress(orders built, orders planned) while the orders are simulated
        self.progress: Callable[[int, int], None] | None = None

    def rng(self, purpose: str) -> random.Random:
        return rng_for(self.params.seed, self.id, purpose)

    @property
    def mapped_warehouses(self) -> list[tuple[str, str]]:
        return [(w, loc) for w, _, loc, fbt in self.warehouses if loc is not None and not fbt]

    @property
    def fbt_warehouse(self) -> str | None:
        return next((w for w, _, _, fbt in self.warehouses if fbt), None)

    @property
    def unmapped_warehouse(self) -> str | None:
        return next((w for w, _, loc, fbt in self.warehouses if loc is None and not fbt), None)

    def variants(self) -> list[Variant]:
        return [v for p in self.products for v in p.variants]

    def add_truth(self, mart: str, key: dict[str, str], drift_type: str) -> None:
        self.truth.append({"mart": mart, "connection_id": self.id, "key": key, "drift_type": drift_type})

    def pick(self, rng: random.Random, key: str, eligible: Sequence[T]) -> list[T]:
        """Choose which eligible entities get drift ``key``: rate × eligible, at least min_per_type."""
        if not eligible:
            return []
        drift = self.params.drift
        rate = drift.rate(key)
        if rate <= 0:
            return []
        n = max(drift.min_per_type, round(rate * len(eligible)))
        n = min(n, len(eligible))
        return rng.sample(list(eligible), n)


def _derived_profile(conn_id: str, index: int) -> dict[str, Any]:
    """Extra connections beyond us/uk reuse the US shape under their own ids and domain."""
    us = CONNECTION_PROFILES["us"]
    n = index + 1
    return {
        **us,
        "shop_domain": f"acme-{conn_id}.myshopify.com",
        "shop_name": f"Acme {conn_id.upper()}",
        "shop_id": f"74959000000000{n:05d}",
        "locations": [(f"{n}01", f"{conn_id.upper()} DC 1", "US"), (f"{n}02", f"{conn_id.upper()} DC 2", "US")],
        "warehouses": [
            (f"73009{n:05d}0000011", f"{conn_id.upper()} WH 1", f"{n}01", False),
            (f"73009{n:05d}0000012", f"{conn_id.upper()} WH 2", f"{n}02", False),
            (f"73009{n:05d}0000019", f"{conn_id.upper()} FBT", None, True),
        ],
        "sku_prefix": conn_id[:2].upper(),
    }
