"""Incremental dbt runs give the same marts as a full refresh, and rebuild only what changed.

A small merchant is extracted and built; then orders change in the sandbox (TikTok orders
cancelled, a Shopify order cancelled, a Shopify order re-linked to another TikTok order, a TikTok
return completed), the clock moves on two days (so time rules flip on rows nobody touched), the
change is re-extracted over HTTP, and the warehouse is built twice from the same raw data:
incrementally and with ``--full-refresh``. Every mart and every incremental intermediate must be
equal row for row, and the incremental run must have recomputed only a small set of keys.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from sandbox.generator import GeneratorParams, generate
from sandbox.server import SandboxServer
from sandbox.state import iso, unix
from shoptok.transform import run_dbt
from tests.writeback.support import connections_for

pytestmark = pytest.mark.slow

PARAMS = {"tiktok_orders_per_connection": 250, "shopify_web_orders_per_connection": 80, "products_per_connection": 30}
INCREMENTAL = (
    "int_shopify_orders_linked",
    "int_shopify_lines_located",
    "int_tiktok_orders_linked",
    "int_order_lines_compared",
    "int_tracking_numbers_compared",
    "fct_order_reconciliation",
    "fct_refund_reconciliation",
)


def _tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    placeholders = ", ".join("?" for _ in schemas)
    return con.execute(
        f"select schema_name, table_name from duckdb_tables() where schema_name in ({placeholders}) order by 1, 2",
        list(schemas),
    ).fetchall()


def _differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Per table of marts and intermediate: rows only in a, rows only in b (multiset difference)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")
        con.execute("use a")
        out = {}
        for schema, table in _tables(con, ("marts", "intermediate")):
            name = f"{schema}.{table}"
            only_a = con.execute(f"select count(*) from (from a.{name} except all from b.{name})").fetchone()[0]
            only_b = con.execute(f"select count(*) from (from b.{name} except all from a.{name})").fetchone()[0]
            out[name] = (only_a, only_b)
        return out
    finally:
        con.close()


def _change_orders(srv: SandboxServer) -> dict[str, object]:
    """Edit records in the sandbox as the platforms would: each edit bumps the record's update time."""
    state = srv.ctx.state
    conn = state.connections[0]
    tiktok_orders = conn.tiktok_shop["orders"]
    shopify_orders = conn.shopify["orders"]
    mirrored = [o for o in shopify_orders if o.get("sourceIdentifier")]
    linked_ids = {o["sourceIdentifier"] for o in mirrored}

    cancelled = [o for o in tiktok_orders if o["status"] in ("AWAITING_SHIPMENT", "COMPLETED")][:3]
    for order in cancelled:
        order["status"] = "CANCELLED"
        order["update_time"] = unix(state.clock.stamp())

    # a Shopify order re-linked to a TikTok order that had no mirror: both TikTok orders change rows
    relinked = mirrored[10]
    old_link = relinked["sourceIdentifier"]
    new_link = next(o["id"] for o in tiktok_orders if o["id"] not in linked_ids)
    relinked["sourceIdentifier"] = new_link
    relinked["customAttributes"] = [{"key": "tiktok_order_id", "value": new_link}]
    relinked["tags"] = [t for t in relinked["tags"] if not t.startswith("tiktok_order:")] + [f"tiktok_order:{new_link}"]
    relinked["updatedAt"] = iso(state.clock.stamp())

    shop_cancelled = next(o for o in mirrored[20:] if not o.get("cancelledAt"))
    shop_cancelled["cancelledAt"] = iso(state.clock.stamp())
    shop_cancelled["cancelReason"] = "OTHER"
    shop_cancelled["updatedAt"] = iso(state.clock.stamp())

    completed = next(
        (r for r in conn.tiktok_shop["returns"] if r["return_status"] != "RETURN_OR_REFUND_REQUEST_COMPLETE"), None
    )
    if completed is not None:
        completed["return_status"] = "RETURN_OR_REFUND_REQUEST_COMPLETE"
        completed["update_time"] = unix(state.clock.stamp())
    return {
        "connection_id": conn.id,
        "cancelled": [o["id"] for o in cancelled],
        "old_link": old_link,
        "new_link": new_link,
        "shop_cancelled": shop_cancelled["id"],
    }


def _row(warehouse: Path, sql: str, params: list[object]) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_incremental_build_equals_full_refresh_after_a_change(tmp_path: Path) -> None:
    from extract.run import run_extract

    state, _ = generate(GeneratorParams(**PARAMS))
    warehouse, pipelines = tmp_path / "incremental.duckdb", tmp_path / "dlt"
    with SandboxServer(state) as srv:
        srv.ctx.config.tiktok.qps_per_path = 100_000
        run_extract(connections_for(srv), warehouse=warehouse, pipelines_dir=pipelines)
        first = run_dbt(["build"], warehouse=warehouse, as_of=state.as_of)
        assert first.ok, first.output[-6000:]
        before = tmp_path / "before.duckdb"
        shutil.copy(warehouse, before)

        state.clock.advance(3600)
        changed = _change_orders(srv)
        run_extract(connections_for(srv), warehouse=warehouse, pipelines_dir=pipelines)

    full = tmp_path / "full_refresh.duckdb"
    shutil.copy(warehouse, full)
    later = state.as_of + timedelta(days=2)
    incremental = run_dbt(["build"], warehouse=warehouse, as_of=later)
    assert incremental.ok, incremental.output[-6000:]
    refreshed = run_dbt(["build", "--full-refresh"], warehouse=full, as_of=later)
    assert refreshed.ok, refreshed.output[-6000:]

    differences = _differences(warehouse, full)
    assert differences and all(v == (0, 0) for v in differences.values()), differences

    # the change reached the marts (so equality above is not two stale copies)
    cid = changed["connection_id"]
    statuses = _row(
        warehouse,
        "select tiktok_order_id, tiktok_status from marts.fct_order_reconciliation "
        "where connection_id = ? and tiktok_order_id in (select unnest(?))",
        [cid, changed["cancelled"]],
    )
    assert sorted(s for _, s in statuses) == ["CANCELLED"] * 3
    links = dict(
        _row(
            warehouse,
            "select tiktok_order_id, shopify_order_id from marts.fct_order_reconciliation "
            "where connection_id = ? and tiktok_order_id in (?, ?)",
            [cid, changed["old_link"], changed["new_link"]],
        )
    )
    assert links[changed["new_link"]] is not None
    assert links.get(changed["old_link"]) != links[changed["new_link"]]
    assert _differences(before, warehouse)["marts.fct_order_reconciliation"] != (0, 0)

    # only the changed keys were recomputed, and every incremental model recorded its watermark
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        orders = con.execute("select count(*) from intermediate.int_tiktok_orders_linked").fetchone()[0]
        marks = dict(con.execute("select model_name, as_of from incremental_state.watermarks").fetchall())
        assert set(marks) == set(INCREMENTAL)
        assert set(marks.values()) == {later.strftime("%Y-%m-%dT%H:%M:%S")}
        for model in INCREMENTAL:
            keys = con.execute(f"select count(*) from incremental_state.{model}__keys").fetchone()[0]
            assert 0 < keys < orders * 0.2, (model, keys, orders)
        detected = con.execute("select distinct detected_at from marts.fct_order_reconciliation").fetchall()
        assert detected == [(later.replace(tzinfo=None),)]
    finally:
        con.close()


def test_a_changed_rule_var_rebuilds_every_row(tmp_path: Path) -> None:
    """Changing a rule parameter (not as_of) cannot be applied incrementally: the model rebuilds."""
    from extract.run import run_extract

    state, _ = generate(GeneratorParams(**PARAMS))
    warehouse, pipelines = tmp_path / "w.duckdb", tmp_path / "dlt"
    with SandboxServer(state) as srv:
        srv.ctx.config.tiktok.qps_per_path = 100_000
        run_extract(connections_for(srv), warehouse=warehouse, pipelines_dir=pipelines)
    select = ["--select", "+fct_order_reconciliation", "--exclude-resource-type", "unit_test"]
    assert run_dbt(["build", *select], warehouse=warehouse, as_of=state.as_of).ok
    full, before = tmp_path / "full.duckdb", tmp_path / "before.duckdb"
    shutil.copy(warehouse, full)
    shutil.copy(warehouse, before)
    wider = {"hold_window_minutes": 60 * 24 * 30}
    built = run_dbt(["build", *select], warehouse=warehouse, as_of=state.as_of, extra_vars=wider)
    assert built.ok, built.output[-6000:]
    refreshed = run_dbt(["build", "--full-refresh", *select], warehouse=full, as_of=state.as_of, extra_vars=wider)
    assert refreshed.ok, refreshed.output[-6000:]
    differences = _differences(warehouse, full)
    assert differences["marts.fct_order_reconciliation"] == (0, 0), differences
    assert _differences(before, warehouse)["marts.fct_order_reconciliation"] != (0, 0)
