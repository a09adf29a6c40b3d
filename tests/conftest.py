"""Shared fixtures: one default merchant, extracted and built once per test session.

Building it (sandbox over HTTP → dlt → DuckDB → dbt build) takes about a minute on 2 cores, so
every end-to-end test reads the same warehouse; a test that needs to change it copies it first
(`built_copy`).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class BuiltMerchant:
    warehouse: Path
    truth: Path
    scenario: Path
    as_of: object


@pytest.fixture(scope="session")
def built_merchant(tmp_path_factory) -> BuiltMerchant:
    from extract.run import run_extract
    from sandbox.generator import GeneratorParams, generate
    from sandbox.server import SandboxServer
    from sandbox.state import export_state
    from shoptok.connections import connection_from_entry
    from shoptok.transform import run_dbt

    root = tmp_path_factory.mktemp("merchant")
    state, truth = generate(GeneratorParams())
    scenario = root / "scenario"
    export_state(state, scenario, truth)
    truth_path = root / "truth.jsonl"
    truth_path.write_text("".join(json.dumps(t) + "\n" for t in truth))
    warehouse = root / "warehouse.duckdb"
    with SandboxServer(state) as srv:
        conns = [
            connection_from_entry(
                c.manifest, shopify_base_url=srv.shopify_base(c.shop_domain), tiktok_base_url=srv.tiktok_base
            )
            for c in state.connections
        ]
        run_extract(conns, warehouse=warehouse, pipelines_dir=root / "dlt")
    result = run_dbt(["build"], warehouse=warehouse, as_of=state.as_of)
    assert result.ok, result.output[-6000:]
    return BuiltMerchant(warehouse=warehouse, truth=truth_path, scenario=scenario, as_of=state.as_of)


@pytest.fixture
def built_copy(built_merchant, tmp_path) -> Path:
    """A private copy of the built warehouse that a test may change."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(built_merchant.warehouse, target)
    return target
