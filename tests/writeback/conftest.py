"""A small generated merchant, extracted and built once for the writeback end-to-end tests.

Small (30 products, 250 TikTok and 80 web orders per connection) yet carrying every drift type
(``min_per_type=2``), so every action type is in its plan; built in about 40 s on 2 cores. Each
test gets a private copy of the warehouse and dlt state, and a fresh sandbox with the same
merchant (the generator is deterministic), so tests never see each other's repairs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from sandbox.generator import GeneratorParams, generate
from sandbox.server import SandboxServer

PARAMS = {"tiktok_orders_per_connection": 250, "shopify_web_orders_per_connection": 80, "products_per_connection": 30}


@dataclass(frozen=True)
class SmallMerchant:
    warehouse: Path
    pipelines_dir: Path
    truth: list[dict]
    as_of: datetime


@dataclass
class Workspace:
    """One test's copy of the merchant: warehouse, dlt state and a running sandbox."""

    warehouse: Path
    pipelines_dir: Path
    srv: SandboxServer
    as_of: datetime
    truth: list[dict]


@pytest.fixture(scope="session")
def small_merchant(tmp_path_factory: pytest.TempPathFactory) -> SmallMerchant:
    from extract.run import run_extract
    from shoptok.transform import run_dbt
    from tests.writeback.support import connections_for

    root = tmp_path_factory.mktemp("small_merchant")
    state, truth = generate(GeneratorParams(**PARAMS))
    (root / "truth.jsonl").write_text("".join(json.dumps(t) + "\n" for t in truth))
    warehouse, pipelines = root / "warehouse.duckdb", root / "dlt"
    with SandboxServer(state) as srv:
        run_extract(connections_for(srv), warehouse=warehouse, pipelines_dir=pipelines)
    built = run_dbt(["build"], warehouse=warehouse, as_of=state.as_of)
    assert built.ok, built.output[-6000:]
    return SmallMerchant(warehouse, pipelines, truth, state.as_of)


@pytest.fixture
def workspace(small_merchant: SmallMerchant, tmp_path: Path) -> Iterator[Workspace]:
    warehouse, pipelines = tmp_path / "warehouse.duckdb", tmp_path / "dlt"
    shutil.copy(small_merchant.warehouse, warehouse)
    shutil.copytree(small_merchant.pipelines_dir, pipelines)
    state, _ = generate(GeneratorParams(**PARAMS))
    srv = SandboxServer(state).start()
    try:
        yield Workspace(warehouse, pipelines, srv, small_merchant.as_of, small_merchant.truth)
    finally:
        srv.stop()
