"""kill -9 inside an extraction (mid-extract, mid-normalize, in the dlt #3023 gap, before the
package is marked loaded), then rerun: the warehouse must equal a clean run's, row for row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.generator import GeneratorParams, generate
from sandbox.server import SandboxServer
from tests.support.warehouse_hash import duplicate_keys, table_fingerprints

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
POINTS = ["extract", "normalize", "load_committed", "load_complete"]


def _child(url: str, warehouse: Path, pipelines: Path, point: str = "") -> int:
    cmd = [sys.executable, "-m", "tests.support.crash_child", url, str(warehouse), str(pipelines)]
    if point:
        cmd.append(point)
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=600, check=False).returncode


@pytest.fixture(scope="module")
def sandbox():
    state, _ = generate(
        GeneratorParams(
            tiktok_orders_per_connection=200, shopify_web_orders_per_connection=80, products_per_connection=25
        )
    )
    with SandboxServer(state) as srv:
        yield srv


@pytest.fixture(scope="module")
def clean(sandbox, tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("clean")
    assert _child(sandbox.base_url, root / "w.duckdb", root / "dlt") == 0
    return table_fingerprints(root / "w.duckdb")


@pytest.mark.parametrize("point", POINTS)
def test_killed_extraction_reruns_to_the_clean_result(sandbox, clean, tmp_path, point):
    warehouse, pipelines = tmp_path / "w.duckdb", tmp_path / "dlt"
    code = _child(sandbox.base_url, warehouse, pipelines, point)
    assert code == -9, f"the crash point {point!r} was never reached (exit {code})"
    assert _child(sandbox.base_url, warehouse, pipelines) == 0
    after = table_fingerprints(warehouse)
    differing = {t: (clean.get(t), after.get(t)) for t in set(clean) | set(after) if clean.get(t) != after.get(t)}
    assert not differing, f"tables differ from a clean run after a crash at {point}: {differing}"
    assert duplicate_keys(warehouse, "raw_tiktok_shop.orders", ["connection_id", "id"]) == 0
    assert duplicate_keys(warehouse, "raw_shopify.orders", ["connection_id", "id"]) == 0
