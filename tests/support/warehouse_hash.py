"""Row-level fingerprints of warehouse tables, to compare two warehouses exactly.

A fingerprint is ``"<rows>:<sha256 prefix>"`` over every row of a table (views included), sorted,
with the volatile columns left out. Only columns that legitimately differ between two runs of the
same data are volatile, and each is named here with the reason:

* ``_dlt_load_id``, ``_dlt_id``: dlt's bookkeeping; a rerun gets new load ids and row ids.
* ``last_seen_at``: the quarantine's wall-clock stamp (extract/common/quarantine.py), when a bad
  record was last seen by an extraction, which a rerun moves by design.

Nothing else is excluded: dbt models use the ``as_of`` var and never ``now()``, so every mart,
view and seed must match a clean run byte for byte.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

#: columns that legitimately differ between two runs of the same data (dlt bookkeeping, wall-clock stamps)
VOLATILE = {"_dlt_load_id", "_dlt_id", "last_seen_at"}

RAW_SCHEMAS = ("raw_config", "raw_shopify", "raw_tiktok_shop")
#: what dbt builds: seeds (config), views (staging, intermediate) and tables (marts)
DBT_SCHEMAS = ("config", "staging", "intermediate", "marts")


def table_fingerprints(
    warehouse: Path, schemas: tuple[str, ...] = ("raw_shopify", "raw_tiktok_shop")
) -> dict[str, str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) and table_name not like '_dlt%' order by 1, 2",
            [list(schemas)],
        ).fetchall()
        for schema, table in tables:
            cols = [r[0] for r in con.execute(f'describe "{schema}"."{table}"').fetchall() if r[0] not in VOLATILE]
            collist = ", ".join(f'"{c}"' for c in sorted(cols))
            rows = con.execute(f'select {collist} from "{schema}"."{table}" order by all').fetchall()
            digest = hashlib.sha256(repr(rows).encode()).hexdigest()
            out[f"{schema}.{table}"] = f"{len(rows)}:{digest[:16]}"
        return out
    finally:
        con.close()


def differing(expected: dict[str, str], actual: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    """Tables whose fingerprint differs (or that exist on one side only): ``{table: (expected, actual)}``."""
    return {
        t: (expected.get(t), actual.get(t))
        for t in sorted(set(expected) | set(actual))
        if expected.get(t) != actual.get(t)
    }


def row_delta(expected: dict[str, str], actual: dict[str, str]) -> tuple[int, int]:
    """(rows missing, rows extra) summed over tables, from the fingerprints' row counts."""
    lost = extra = 0
    for t in set(expected) | set(actual):
        want = int((expected.get(t) or "0:").split(":")[0])
        got = int((actual.get(t) or "0:").split(":")[0])
        lost += max(0, want - got)
        extra += max(0, got - want)
    return lost, extra


def duplicate_keys(warehouse: Path, table: str, keys: list[str]) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        k = ", ".join(keys)
        return con.execute(
            f"select count(*) from (select {k} from {table} group by {k} having count(*) > 1)"
        ).fetchone()[0]
    finally:
        con.close()
