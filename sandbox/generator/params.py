"""Generator parameters: sizes, clock and drift-injection rates (all documented in docs/sandbox.md)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

DEFAULT_AS_OF = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
CENT = Decimal("0.01")

#: the drift types a generated merchant can carry, per mart, in the marts contract's priority order
ORDER_DRIFTS = (
    "missing_in_shopify",
    "orphan_in_shopify",
    "stuck_on_hold",
    "cancel_not_mirrored",
    "cancelled_in_shopify_only",
    "tracking_not_pushed",
    "tracking_mismatch",
    "amount_mismatch",
    "line_items_mismatch",
)
INVENTORY_DRIFTS = ("sku_not_in_shopify", "warehouse_unmapped", "tiktok_overstated", "tiktok_understated")
REFUND_DRIFTS = (
    "refund_not_mirrored",
    "refunded_in_shopify_only",
    "double_refund",
    "missing_restock",
    "amount_mismatch",
    "decision_due",
)
PAYOUT_DRIFTS = ("statement_mismatch", "payment_mismatch", "unpaid", "order_not_in_shopify", "revenue_mismatch")
CATALOG_VIOLATIONS = (
    "title_too_long",
    "title_too_short",
    "missing_image",
    "missing_weight",
    "zero_weight",
    "missing_dimensions",
    "missing_sku",
    "duplicate_sku",
    "price_mismatch",
    "title_diverged",
    "not_listed_on_tiktok",
    "tiktok_status_failed",
    "tiktok_status_draft",
)

MART_DRIFTS = {
    "fct_order_reconciliation": ORDER_DRIFTS,
    "fct_inventory_drift": INVENTORY_DRIFTS,
    "fct_refund_reconciliation": REFUND_DRIFTS,
    "fct_payout_reconciliation": PAYOUT_DRIFTS,
    "dim_catalog_health": CATALOG_VIOLATIONS,
}


@dataclass
class DriftRates:
    """Share of eligible entities that get each drift; at least ``min_per_type`` where possible.

    Keys are ``<mart short name>.<drift type>`` so the refund and order ``amount_mismatch`` differ.
    """

    rates: dict[str, float] = field(
        default_factory=lambda: {
            **{f"order.{d}": 0.01 for d in ORDER_DRIFTS},
            **{f"inventory.{d}": 0.02 for d in INVENTORY_DRIFTS},
            **{f"refund.{d}": 0.05 for d in REFUND_DRIFTS},
            **{f"payout.{d}": 0.03 for d in PAYOUT_DRIFTS},
            **{f"catalog.{d}": 0.02 for d in CATALOG_VIOLATIONS},
            # these draw from every order or settled order line, so a lower rate gives similar counts
            "refund.refunded_in_shopify_only": 0.005,
            "payout.order_not_in_shopify": 0.005,
            "payout.revenue_mismatch": 0.005,
        }
    )
    min_per_type: int = 2

    def rate(self, key: str) -> float:
        return self.rates.get(key, 0.0)

    def scale(self, factor: float) -> None:
        for k in self.rates:
            self.rates[k] *= factor


@dataclass
class GeneratorParams:
    seed: int = 42
    as_of: datetime = DEFAULT_AS_OF
    days: int = 90
    connections: tuple[str, ...] = ("us", "uk")
    products_per_connection: int = 120
    tiktok_orders_per_connection: int = 1500
    shopify_web_orders_per_connection: int = 800
    hold_minutes: int = 60
    drift: DriftRates = field(default_factory=DriftRates)

    @property
    def start(self) -> datetime:
        return self.as_of - timedelta(days=self.days)

    def describe(self) -> dict[str, object]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "drift"}
        out["as_of"] = self.as_of.isoformat()
        return out


def money(value: Decimal | float | int | str) -> Decimal:
    # a Decimal goes straight to quantize (Decimal(str(d)) is d again, sign of zero included)
    exact = value if type(value) is Decimal else Decimal(str(value))
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)


def m(value: Decimal) -> str:
    """Decimal to the platforms' wire form: a string with exactly two decimals."""
    return str(money(value))


def rng_for(seed: int, *parts: object) -> random.Random:
    """An independent RNG per purpose, so adding a feature does not reshuffle everything else."""
    return random.Random(":".join([str(seed), *map(str, parts)]))


def uniform_td(rng: random.Random, lo: timedelta, hi: timedelta) -> timedelta:
    return timedelta(seconds=rng.randint(int(lo.total_seconds()), int(hi.total_seconds())))
