"""``run_extract(workers=2)``: sources extract and normalize in processes, loads stay one at a time.

The parallel path must land exactly the rows the one-process path lands (first load and an
incremental rerun), report the same per-table summary, and never hold two DuckDB writers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from extract.run import run_extract
from sandbox.generator import GeneratorParams, generate
from sandbox.server import SandboxServer
from shoptok.connections import connection_from_entry
from tests.support.warehouse_hash import table_fingerprints


def _summary(result) -> list[tuple]:
    return [(t.platform, t.connection_id, t.table, t.rows_after, t.new, t.quarantined) for t in result.tables]


@pytest.mark.slow
def test_parallel_extraction_lands_the_same_rows_as_sequential(tmp_path: Path) -> None:
    params = GeneratorParams(tiktok_orders_per_connection=120, shopify_web_orders_per_connection=40)
    params.products_per_connection = 30
    state, _ = generate(params)
    with SandboxServer(state) as srv:
        conns = [
            connection_from_entry(
                c.manifest, shopify_base_url=srv.shopify_base(c.shop_domain), tiktok_base_url=srv.tiktok_base
            )
            for c in state.connections
        ]
        runs = {}
        for workers in (1, 2):
            wh = tmp_path / f"w{workers}" / "warehouse.duckdb"
            first = run_extract(conns, warehouse=wh, pipelines_dir=wh.parent / "dlt", workers=workers, tiktok_qps=0)
            second = run_extract(conns, warehouse=wh, pipelines_dir=wh.parent / "dlt", workers=workers, tiktok_qps=0)
            runs[workers] = (wh, first, second)

    (seq_wh, seq_first, seq_second), (par_wh, par_first, par_second) = runs[1], runs[2]
    seq_prints = table_fingerprints(seq_wh)
    assert seq_prints and all(not v.startswith("0:") for k, v in seq_prints.items() if "orders" in k)
    assert table_fingerprints(par_wh) == seq_prints
    assert _summary(par_first) == _summary(seq_first)
    assert _summary(par_second) == _summary(seq_second)
    assert sum(t.new for t in par_second.tables) == 0, "an incremental rerun of unchanged data adds no rows"
    assert set(par_first.call_stats) == set(seq_first.call_stats)
    assert all(s.calls > 0 for s in par_first.call_stats.values())
