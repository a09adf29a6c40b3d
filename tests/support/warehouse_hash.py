"""Row-level fingerprints of the raw tables, to compare two warehouses exactly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

#: columns that legitimately differ between two runs of the same data (dlt bookkeeping, wall-clock stamps)
VOLATILE = {"_dlt_load_id", "_dlt_id", "last_seen_at"}


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


def duplicate_keys(warehouse: Path, table: str, keys: list[str]) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        k = ", ".join(keys)
        return con.execute(
            f"select count(*) from (select {k} from {table} group by {k} having count(*) > 1)"
        ).fetchone()[0]
    finally:
        con.close()
