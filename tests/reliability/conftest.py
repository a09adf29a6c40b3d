"""Shared pieces of the reliability suite: the small merchant the matrices run on, and its sandbox.

The crash and fault matrices run the whole pipeline many times, so they use one small merchant
(one connection, 120 TikTok and 50 web orders, 15 products; every drift type is still injected,
so the repair plan holds every action type) instead of the default one. The generator is
deterministic: each sandbox ``new_sandbox`` makes serves the same merchant, untouched by earlier
tests' repairs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sandbox.generator import GeneratorParams, generate
from sandbox.server import SandboxServer

SMALL_MERCHANT = GeneratorParams(
    connections=("us",),
    tiktok_orders_per_connection=120,
    shopify_web_orders_per_connection=50,
    products_per_connection=15,
)


@pytest.fixture(scope="session")
def small_merchant() -> GeneratorParams:
    return SMALL_MERCHANT


@pytest.fixture(scope="session")
def new_sandbox(small_merchant: GeneratorParams) -> Callable[[], SandboxServer]:
    """A factory: a not-yet-started sandbox serving the small merchant as generated (use it with ``with``)."""

    def make() -> SandboxServer:
        state, _ = generate(small_merchant)
        return SandboxServer(state)

    return make
