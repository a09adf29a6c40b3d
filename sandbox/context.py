"""Runtime configuration, counters and the context object handed to both emulators."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.state import MerchantState


@dataclass
class FaultConfig:
    """Seeded fault injection for one emulator.

    Probabilities are per request and checked in this order: 429, 500, 503 (returned before the
    request reaches the emulator, so no state changes; ``burst`` > 1 makes each one the start of
    a storm: the next ``burst - 1`` requests get the same status), then ``cut`` (the connection
    drops mid-body) and ``truncate`` (a complete HTTP response whose JSON is cut short), which
    damage the response of a request that *was* processed -- the case a writer must survive.

    Listings (TikTok pages with ``next_page_token``, Shopify connections with ``pageInfo``):
    ``p_replay`` answers a request for a later page with the previous page again (its token
    included), ``p_shuffle`` shuffles a page's records, ``p_dup_records`` repeats up to two
    records of the previous page (or of the same page) inside a page.
    """

    p_429: float = 0.0
    p_500: float = 0.0
    p_503: float = 0.0
    p_cut: float = 0.0
    p_truncate: float = 0.0
    latency_ms: float = 0.0
    p_latency: float = 0.0
    retry_after_s: float = 1.0
    burst: int = 1
    p_replay: float = 0.0
    p_shuffle: float = 0.0
    p_dup_records: float = 0.0
    seed: int = 0

    def any(self) -> bool:
        return any(
            (
                self.p_429,
                self.p_500,
                self.p_503,
                self.p_cut,
                self.p_truncate,
                self.p_latency,
                self.p_replay,
                self.p_shuffle,
                self.p_dup_records,
            )
        )

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown fault setting {key!r}")
            setattr(self, key, type(getattr(self, key))(value))


#: bucket size and restore rate that no client can drain ("unthrottled")
UNTHROTTLED_BUCKET = 1_000_000_000.0


@dataclass
class ShopifyThrottleConfig:
    """Shopify's GraphQL leaky bucket: standard plan by default (2000 points, 100/s, 1000 per query)."""

    maximum_available: float = 2000.0
    restore_rate: float = 100.0
    max_query_cost: int = 1000


@dataclass
class TikTokConfig:
    qps_per_path: int = 50
    #: seconds added to the server's view of "now" when checking the request timestamp window
    clock_skew_s: float = 0.0
    #: tokens (access_token values) the sandbox treats as expired (code 105002)
    expired_tokens: list[str] = field(default_factory=list)


@dataclass
class BulkConfig:
    #: polls of a bulk operation that report RUNNING before it completes
    polls_until_complete: int = 1
    #: make the next bulk operation fail (FAILED with a partialDataUrl)
    fail_next: bool = False


@dataclass
class SandboxConfig:
    shopify_throttle: ShopifyThrottleConfig = field(default_factory=ShopifyThrottleConfig)
    tiktok: TikTokConfig = field(default_factory=TikTokConfig)
    bulk: BulkConfig = field(default_factory=BulkConfig)
    faults: dict[str, FaultConfig] = field(default_factory=lambda: {"shopify": FaultConfig(), "tiktok": FaultConfig()})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def unthrottle(self) -> None:
        """No rate limits (scale benchmarks): a bottomless Shopify bucket, no TikTok QPS window.

        Shopify still reports a throttle status (clients pace from it), so the bucket is made
        too big to drain rather than removed; the per-query cost limit stays (it is a query
        rule, not a rate).
        """
        self.shopify_throttle.maximum_available = UNTHROTTLED_BUCKET
        self.shopify_throttle.restore_rate = UNTHROTTLED_BUCKET
        self.tiktok.qps_per_path = 0


class Counters:
    """Thread-safe named counters read by tests and benchmarks through ``/_sandbox/counters``."""

    def __init__(self) -> None:
        self._c: Counter[str] = Counter()
        self._lock = threading.Lock()

    def incr(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._c[name] += n

    def get(self, name: str) -> int:
        with self._lock:
            return self._c.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._c.items()))

    def reset(self) -> None:
        with self._lock:
            self._c.clear()


@dataclass
class SandboxContext:
    state: MerchantState
    config: SandboxConfig = field(default_factory=SandboxConfig)
    counters: Counters = field(default_factory=Counters)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
