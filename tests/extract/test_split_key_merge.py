"""The warehouse destination deletes by primary key and by merge key in two statements, with dlt's semantics.

A child table carries both keys: the merge key replaces every row of a parent in the batch, the
primary key replaces a row that moved. The split delete must keep both behaviours and must not
fall back to an ``OR`` join (quadratic on DuckDB at a million rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import duckdb

from extract.pipeline import destination, tune_dlt

HINTS = {
    "primary_key": ["connection_id", "id"],
    "merge_key": ["connection_id", "order_id"],
    "write_disposition": "merge",
}


def _load(tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    tune_dlt()

    @dlt.resource(name="lines", **HINTS)
    def lines() -> Any:
        yield rows

    pipeline = dlt.pipeline(
        pipeline_name="split_key",
        destination=destination(tmp_path / "w.duckdb"),
        dataset_name="raw",
        pipelines_dir=str(tmp_path / "dlt"),
    )
    pipeline.run(lines(), loader_file_format="parquet")


def _rows(tmp_path: Path) -> list[tuple[str, str, int]]:
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        return con.execute("select id, order_id, qty from raw.lines order by id").fetchall()
    finally:
        con.close()


def test_both_keys_replace_rows_without_an_or_join(tmp_path: Path) -> None:
    base = {"connection_id": "us"}
    _load(
        tmp_path,
        [
            {**base, "id": "l1", "order_id": "o1", "qty": 1},
            {**base, "id": "l2", "order_id": "o1", "qty": 1},
            {**base, "id": "l3", "order_id": "o2", "qty": 1},
            {**base, "id": "l4", "order_id": "o3", "qty": 1},
        ],
    )
    # o1 now has only l1 (l2 removed by an edit: the merge key drops it); l4 moved to o4 (the
    # primary key replaces it); o2 is not in the batch and keeps l3
    moved = [{**base, "id": "l1", "order_id": "o1", "qty": 5}, {**base, "id": "l4", "order_id": "o4", "qty": 2}]
    _load(tmp_path, moved)
    assert _rows(tmp_path) == [("l1", "o1", 5), ("l3", "o2", 1), ("l4", "o4", 2)]
    merges = [p.read_text() for p in (tmp_path / "dlt").rglob("lines.*.sql")]
    assert len(merges) == 2, "one merge job per load"
    for sql in merges:
        deletes = [line for line in sql.splitlines() if line.startswith("DELETE")]
        assert len(deletes) == 2, deletes
        assert not any(" OR " in d for d in deletes)
