"""The Shopify source end to end: real HTTP to the sandbox, real dlt, a real DuckDB file.

One module-scoped world runs a bulk first load and a paged first load of both connections into
two warehouses, then a paged increment on the bulk warehouse; the tests read those results.
Tokens are sentinels so the secrets test can look for them everywhere afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import dlt
import duckdb
import pytest

from extract.common.errors import AuthError, PlatformError
from extract.common.http import CallStats
from extract.shopify import ShopifyClient
from shoptok.connections import ShopifyConnection
from tests.extract.shopify_support import (
    DATASET,
    FAST,
    GENEROUS_BUCKET,
    KEYS,
    Capture,
    Run,
    Sandbox,
    capturing_logs,
    expected_keys,
    extract,
    keys,
    query,
    sentinel,
    serving,
    small_merchant,
    snapshot,
)

pytestmark = pytest.mark.slow
CONNECTIONS = ("us", "uk")


@dataclass
class World:
    sandbox: Sandbox
    bulk_root: Path
    paged_root: Path
    bulk: dict[str, Run] = field(default_factory=dict)
    paged: dict[str, Run] = field(default_factory=dict)
    increment: dict[str, Run] = field(default_factory=dict)
    #: the bulk warehouse, and each connection's orders report, before the increment ran on it
    bulk_tables: dict[str, list[tuple[object, ...]]] = field(default_factory=dict)
    bulk_reports: dict[str, dict[str, object]] = field(default_factory=dict)
    logs: Capture | None = None
    #: rows per table as reported to ``on_page`` during the paged runs
    progress: dict[str, dict[str, int]] = field(default_factory=dict)

    def db(self, root: Path) -> Path:
        return root / "warehouse.duckdb"


def last_run(root: Path, cid: str, resource: str) -> dict[str, object]:
    """The per-run report a resource keeps in its dlt state (what a CLI prints)."""
    pipeline = dlt.attach(pipeline_name=f"shoptok_shopify_{cid}", pipelines_dir=str(root / "pipelines"))
    return pipeline.state["sources"]["shopify"]["resources"][resource]["last_run"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("shopify_world")
    with capturing_logs() as logs, serving(small_merchant()) as sandbox:
        w = World(sandbox, base / "bulk", base / "paged", logs=logs)
        for cid in CONNECTIONS:
            w.bulk[cid] = extract(sandbox, w.bulk_root, cid)
        w.bulk_tables = snapshot(w.db(w.bulk_root))
        w.bulk_reports = {cid: last_run(w.bulk_root, cid, "orders") for cid in CONNECTIONS}
        for cid in CONNECTIONS:
            progress = w.progress.setdefault(cid, {})

            def on_page(entity: str, counts: dict[str, int], progress: dict[str, int] = progress) -> None:
                for table, n in counts.items():
                    progress[table] = progress.get(table, 0) + n

            w.paged[cid] = extract(sandbox, w.paged_root, cid, use_bulk=False, on_page=on_page)
        for cid in CONNECTIONS:
            w.increment[cid] = extract(sandbox, w.bulk_root, cid)
        yield w


def test_full_load_lands_every_record_of_both_connections(world: World) -> None:
    for root in (world.bulk_root, world.paged_root):
        for cid in CONNECTIONS:
            expected = expected_keys(world.sandbox, cid)
            for table, key in KEYS.items():
                assert keys(world.db(root), table, key, cid) == expected.get(table, set()), (root.name, cid, table)
            assert query(world.db(root), f"select count(*) from {DATASET}.quarantine") == [(0,)]
    for cid in CONNECTIONS:
        assert world.bulk_reports[cid]["mode"] == "bulk"
        assert (
            world.bulk_reports[cid]["records"]
            == world.bulk_reports[cid]["new"]
            == len(world.sandbox.records(cid, "orders"))
        )
        assert last_run(world.paged_root, cid, "orders")["mode"] == "paged"
        assert world.bulk[cid].client.cost.queries < 30  # bulk: a handful of polls, not one page per 3 orders


def test_progress_callbacks_add_up_to_the_loaded_rows(world: World) -> None:
    for cid in CONNECTIONS:
        loaded = {t: n for t, n in world.paged[cid].summary.rows.items() if n}
        assert world.progress[cid] == loaded


def test_bulk_and_paged_reads_give_identical_tables(world: World) -> None:
    paged = snapshot(world.db(world.paged_root))
    assert set(paged) == set(world.bulk_tables)
    for table, rows in paged.items():
        assert rows == world.bulk_tables[table], table


def test_types_keys_and_connection_id(world: World) -> None:
    db = world.db(world.paged_root)
    types = {
        (t, c): d
        for t, c, d in query(
            db,
            "select table_name, column_name, data_type from information_schema.columns where table_schema = ?",
            [DATASET],
        )
    }
    assert types[("orders", "total_price")] == "DECIMAL(18,2)"
    assert types[("order_line_items", "original_unit_price")] == "DECIMAL(18,2)"
    assert types[("product_variants", "price")] == "DECIMAL(18,2)"
    assert types[("orders", "updated_at")] == "TIMESTAMP WITH TIME ZONE"
    assert types[("orders", "closed_at")] == "TIMESTAMP WITH TIME ZONE"  # typed even where every value is null
    assert types[("inventory_levels", "available")] == "BIGINT"
    for table, key in KEYS.items():
        assert key[0] == "connection_id"
        total, distinct = query(db, f"select count(*), count(distinct ({', '.join(key)})) from {DATASET}.{table}")[0]
        assert total == distinct, table
    tags, attrs = query(
        db, f"select tags, custom_attributes from {DATASET}.orders where source_name = 'tiktok' limit 1"
    )[0]
    assert tags.startswith("[") and attrs.startswith("[")


def test_second_run_reads_only_the_lookback_window_and_changes_nothing(world: World) -> None:
    after = snapshot(world.db(world.bulk_root))
    assert after == world.bulk_tables
    for cid in CONNECTIONS:
        report = last_run(world.bulk_root, cid, "orders")
        assert report["mode"] == "paged"
        start = report["window_start"]
        assert start is not None
        recent = [o for o in world.sandbox.records(cid, "orders") if o["updatedAt"] >= _z(start)]
        assert world.increment[cid].summary.rows.get("orders", 0) == len(recent) < 100
        assert last_run(world.bulk_root, cid, "orders")["quarantined"] == 0


def _z(iso: str) -> str:
    """An ISO timestamp in the sandbox records' form (second precision, trailing Z)."""
    return datetime.fromisoformat(iso).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_injected_faults_land_the_same_tables(world: World, tmp_path: Path) -> None:
    """Bulk (us) and paged (uk) runs through 429s, 500s, cut and truncated bodies: same rows."""
    sandbox = world.sandbox
    sandbox.faults(p_429=0.04, p_500=0.03, p_cut=0.02, p_truncate=0.01, seed=7, retry_after_s=0.05)
    try:
        runs = {"us": extract(sandbox, tmp_path, "us"), "uk": extract(sandbox, tmp_path, "uk", use_bulk=False)}
        counters = sandbox.counters()
    finally:
        sandbox.faults(p_429=0, p_500=0, p_cut=0, p_truncate=0)
    assert sum(counters.get(f"shopify.faults.{k}", 0) for k in ("429", "500", "cut", "truncate")) >= 5
    assert sum(r.client.stats.retries for r in runs.values()) >= 5
    assert snapshot(tmp_path / "warehouse.duckdb") == snapshot(world.db(world.paged_root))


def test_pacing_keeps_a_small_bucket_busy_without_throttling(world: World, tmp_path: Path, record_property) -> None:
    """Bucket 200 points refilling 50/s: no THROTTLED answer, and the refill is put to work."""
    sandbox = world.sandbox
    sandbox.config(shopify_throttle={"maximum_available": 200, "restore_rate": 50})
    sandbox.reset_counters()
    try:
        client = sandbox.client("us")
        since = sandbox.srv.ctx.state.as_of - timedelta(days=1)
        extract(sandbox, tmp_path, "us", client=client, since=since, use_bulk=False, resources=["orders"])
        throttled = sandbox.counters().get("shopify.throttled", 0)
    finally:
        sandbox.config(shopify_throttle=GENEROUS_BUCKET)
    cost = client.cost
    throughput = cost.throughput() / 50
    utilisation = cost.refill_utilisation(50)
    record_property("pacing_throughput_ratio", round(throughput, 3))
    record_property("pacing_refill_utilisation", round(utilisation, 3))
    print(
        f"pacing: {cost.actual} points in {cost.window_s:.1f} s = {throughput:.0%} of restore rate; "
        f"refill utilisation {utilisation:.0%}; paced {cost.paced_s:.1f} s over {cost.queries} queries"
    )
    assert throttled == 0
    assert client.stats.throttled == 0
    assert cost.paced_s > 1  # the bucket really was the limit
    assert throughput >= 0.8
    assert utilisation >= 0.8


def test_a_failed_bulk_operation_falls_back_to_paged_reads(world: World, tmp_path: Path) -> None:
    world.sandbox.config(bulk={"fail_next": True})
    extract(world.sandbox, tmp_path, "uk", resources=["orders"])
    assert last_run(tmp_path, "uk", "orders")["mode"] == "bulk->paged"
    expected = expected_keys(world.sandbox, "uk")
    for table in ("orders", "order_line_items", "order_refund_line_items"):
        assert keys(tmp_path / "warehouse.duckdb", table, KEYS[table], "uk") == expected[table]


def test_no_secret_reaches_logs_errors_or_files(world: World) -> None:
    tokens = [sentinel(cid) for cid in CONNECTIONS]
    assert world.logs is not None and world.logs.lines, "the runs logged nothing at all?"
    log_text = "\n".join(world.logs.lines)
    for root in (world.bulk_root, world.paged_root):
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not any(t.encode() in data for t in tokens), path
        db = world.db(root)
        with duckdb.connect(str(db), read_only=True) as con:  # DuckDB may compress strings: ask SQL too
            for table, column in con.execute(
                "select table_name, column_name from information_schema.columns where table_schema = ? "
                "and data_type = 'VARCHAR'",
                [DATASET],
            ).fetchall():
                sql = f"select count(*) from {DATASET}.{table} where {column} like '%SENTINEL%'"
                assert con.execute(sql).fetchone()[0] == 0, (table, column)
    assert not any(t in log_text for t in tokens)
    # error messages: a refused token, and a token that works but meets a wall of 500s
    conn = world.sandbox.connection("us").shopify
    wrong = ShopifyConnection(conn.shop_domain, "shpat_SENTINEL_wrong_token_1234", base_url=conn.base_url)
    with pytest.raises(AuthError) as refused:
        ShopifyClient(wrong, FAST).execute("{ shop { id } }")
    world.sandbox.faults(p_500=1.0)
    try:
        with pytest.raises(PlatformError) as exhausted:
            ShopifyClient(conn, FAST, CallStats()).execute("{ shop { id } }")
    finally:
        world.sandbox.faults(p_500=0)
    for exc in (refused.value, exhausted.value):
        text = f"{exc} {exc!r} {exc.args}"
        assert "SENTINEL" not in text
        assert conn.base_url not in text
    assert "SENTINEL" not in repr(conn)
