"""Batches go to dlt as Arrow tables: the same rows, columns and types as the dict path, and honest fallbacks.

The integration test runs both sources against the sandbox twice, once as shipped and once with
the ``ArrowBatches`` step taken out of every resource (dlt then normalizes dicts, as it did before
the step existed), and compares the raw tables row by row and column type by column type.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pyarrow as pa
import pytest

from extract.common.arrow import ArrowBatches, coalesce, to_arrow
from extract.pipeline import run_source
from extract.shopify.source import shopify_source
from extract.tiktok_shop.source import tiktok_shop_source
from tests.extract.tiktok_support import connections, serving, small_merchant
from tests.support.warehouse_hash import table_fingerprints

COLUMNS = {
    "id": {"data_type": "text"},
    "n": {"data_type": "bigint"},
    "ok": {"data_type": "bool"},
    "amount": {"data_type": "decimal", "precision": 18, "scale": 2},
    "at": {"data_type": "timestamp", "timezone": True},
}
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _row(**over: Any) -> dict[str, Any]:
    return {"id": "a", "n": 1, "ok": True, "amount": Decimal("1.50"), "at": AT, **over}


def test_declared_columns_take_their_declared_types() -> None:
    table = to_arrow("t", [_row(), _row(id="b", amount=None)], COLUMNS)
    assert table is not None
    assert table.schema.field("amount").type == pa.decimal128(18, 2)
    assert table.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert table.column("amount").to_pylist() == [Decimal("1.50"), None]
    assert table.column("at").to_pylist()[0] == AT


def test_undeclared_columns_are_typed_like_dlt_types_dicts() -> None:
    hints: dict[str, Any] = {}
    rows = [
        _row(note="x", flag=False, count=3, address={"zip": "1"}, never=None),
        _row(note=None, flag=True, count=None, address=[1, 2], never=None),
    ]
    table = to_arrow("t", rows, COLUMNS, hints)
    assert table is not None
    assert "never" not in table.column_names, "dlt creates no column for a key that is null in every row"
    assert table.schema.field("flag").type == pa.bool_()
    assert table.schema.field("count").type == pa.int64()
    assert table.column("address").to_pylist() == ['{"zip":"1"}', "[1,2]"]
    assert hints == {"address": {"data_type": "json"}}


@pytest.mark.parametrize(
    "bad",
    [
        {"amount": Decimal("1.005")},  # more places than the column's scale
        {"n": 2**70},  # past 64 bits
        {"n": "seven"},  # another type than declared
        {"extra": 1, "extra_mixed": "x"},  # fine, but the next row makes extra_mixed mixed
    ],
)
def test_a_batch_that_does_not_fit_stays_dicts(bad: dict[str, Any]) -> None:
    rows = [_row(**bad)]
    if "extra_mixed" in bad:
        rows.append(_row(extra_mixed=5))
    assert to_arrow("t", rows, COLUMNS) is None


def test_the_step_leaves_the_callers_column_hints_alone() -> None:
    columns = {"id": {"data_type": "text"}}
    before = {k: dict(v) for k, v in columns.items()}
    item = dlt.mark.with_hints(
        [{"id": "a", "address": {"zip": "1"}}],
        dlt.mark.make_hints(table_name="t", primary_key=["id"], columns=columns),
        create_table_variant=True,
    )
    table = ArrowBatches()(item.data, item.meta)
    assert isinstance(table, pa.Table)
    assert item.meta.hints["columns"]["address"]["data_type"] == "json", "this batch's hints declare the column"
    assert set(columns) == set(before), "the module-level table is not changed for later batches"


def _item(table: str, rows: list[Any]) -> Any:
    return dlt.mark.with_hints(rows, dlt.mark.make_hints(table_name=table), create_table_variant=True)


def test_coalesce_merges_batches_per_table_up_to_the_limit() -> None:
    empty = _item("a", dlt.mark.materialize_table_schema())
    items = [_item("a", [1, 2]), _item("b", [10]), empty, _item("a", [3]), _item("a", [4, 5]), _item("b", [11])]
    out = list(coalesce(items, max_rows=3))
    got = [(i.meta.hints["table_name"], list(i.data)) for i in out]
    assert out[0] is empty, "an empty batch passes at once"
    # "a" fills up first: everything held goes, first-seen table first (the parent, in a source)
    assert got[1:] == [("a", [1, 2, 3]), ("b", [10]), ("a", [4, 5]), ("b", [11])]
    assert sum(len(i.data) for i in out) == 7


def _raw_types(warehouse: Path) -> dict[tuple[str, str, str], str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_schema in ('raw_shopify', 'raw_tiktok_shop')"
        ).fetchall()
    finally:
        con.close()
    return {(s, t, c): d for s, t, c, d in rows}


def _without_arrow(source: Any) -> Any:
    for resource in source.resources.values():
        resource._pipe.remove_by_type(ArrowBatches)
    return source


@pytest.mark.slow
def test_arrow_batches_land_what_dicts_land(tmp_path: Path) -> None:
    state = small_merchant()
    with serving(state, qps_per_path=1000) as srv:
        conns = connections(srv)
        for variant, wrap in (("arrow", lambda s: s), ("dicts", _without_arrow)):
            root = tmp_path / variant
            for cid, conn in conns.items():
                for platform, source in (
                    ("shopify", shopify_source(conn)),
                    ("tiktok_shop", tiktok_shop_source(conn)),
                ):
                    if variant == "arrow":
                        steps = [type(s) for r in source.resources.values() for s in r._pipe.steps]
                        assert ArrowBatches in steps
                    run_source(
                        wrap(source),
                        platform=platform,
                        connection_id=cid,
                        warehouse=root / "warehouse.duckdb",
                        pipelines_dir=root / "pipelines",
                    )
    arrow, dicts = tmp_path / "arrow" / "warehouse.duckdb", tmp_path / "dicts" / "warehouse.duckdb"
    prints = table_fingerprints(arrow)
    assert int(prints["raw_tiktok_shop.orders"].split(":")[0]) > 0
    assert int(prints["raw_shopify.order_line_items"].split(":")[0]) > 0
    assert prints == table_fingerprints(dicts)
    assert _raw_types(arrow) == _raw_types(dicts)
    con = duckdb.connect(str(arrow), read_only=True)
    try:
        nulls = con.execute(
            "select count(*) filter (where _dlt_load_id is null) + count(*) filter (where _dlt_id is null) "
            "from raw_tiktok_shop.order_line_items"
        ).fetchone()[0]
    finally:
        con.close()
    assert nulls == 0, "dlt's bookkeeping columns are filled for Arrow batches too"


@pytest.mark.slow
def test_small_batches_survive_an_incremental_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches flushed mid-resource keep the parent's first: dlt's lagged incremental asserts otherwise.

    A 1M-order incremental run failed this way (child batches filled up before the orders batch);
    tiny batches make a small merchant do the same."""
    from extract.tiktok_shop import settings

    monkeypatch.setattr(settings, "ROWS_PER_BATCH", 7)
    state = small_merchant()
    root = tmp_path / "w"
    with serving(state, qps_per_path=1000) as srv:
        conn = next(iter(connections(srv).values()))
        # the second run starts from a cursor, with a lookback lag long enough to re-read every order
        for lookback in (timedelta(hours=2), timedelta(days=3650)):
            run_source(
                tiktok_shop_source(conn, lookback=lookback),
                platform="tiktok_shop",
                connection_id=conn.id,
                warehouse=root / "warehouse.duckdb",
                pipelines_dir=root / "pipelines",
            )
    prints = table_fingerprints(root / "warehouse.duckdb")
    assert int(prints["raw_tiktok_shop.order_line_items"].split(":")[0]) > 7
