"""The analyst copy: a snapshot DuckDB file that analysts query without ever blocking the pipeline.

DuckDB allows one writing process per file, and any open connection to the warehouse, even a
read-only one, holds a lock that makes the pipeline's next write fail. So analysts never open
the warehouse: after each successful run the pipeline publishes a copy, and analysts open that.

Publishing writes a new file next to the target and renames it over the old one (``os.replace``,
atomic on POSIX). Nobody ever sees a half-written copy, and publishing never waits for readers:

* a connection already open on the old copy keeps reading the old snapshot (it holds the old
  inode; the disk space is freed when it closes) and sees the new data after reconnecting;
* a connection opened after the rename, by another process, sees the new snapshot; within one
  process DuckDB shares one database instance per path, so a second connection opened while
  the first is still open also gets the old snapshot until all of them are closed;
* the pipeline's own warehouse is never opened by analysts, so nothing they do can block it.

(On Windows a rename over an open file fails; there the publish raises and the previous copy
stays in place until readers close it.)

How the copy is made: ``ATTACH`` the warehouse ``READ_ONLY`` and ``COPY FROM DATABASE`` into the
new file. Measured on the default demo merchant (35.1 MB warehouse file, 2 cores): 0.41–0.56 s
for a 27.5 MB copy (compacted), against 0.87–2.4 s for ``EXPORT DATABASE`` (Parquet) +
``IMPORT DATABASE``, which moreover fails on this warehouse as is: ``IMPORT`` recreates dbt's
views in name order and stops at the first view that reads a view not created yet (the figure
above had the views reordered by hand). The read-only ``ATTACH`` also takes DuckDB's shared
lock, so a copy can never be torn by a writer in the middle of a write (a plain file copy could
be): publishing while a writer holds the warehouse fails fast and leaves the old copy in place.

The copy also gets ``meta.snapshot`` (one row: when it was published, from which warehouse, and
the marts' ``as_of`` clock) so an analyst can tell how fresh it is.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb


def default_analyst_copy_path(warehouse: Path) -> Path:
    """``var/warehouse.duckdb`` → ``var/warehouse.analyst.duckdb`` (same folder, so the rename is atomic)."""
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.analyst{warehouse.suffix or '.duckdb'}")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publish_analyst_copy(warehouse: Path, target: Path) -> Path:
    """Snapshot ``warehouse`` into ``target`` atomically; returns ``target``.

    Call it after a successful run, when the run's writer has closed the warehouse: the
    read-only ``ATTACH`` fails fast (DuckDB lock error) rather than copy a database mid-write.
    """
    warehouse, target = Path(warehouse), Path(target)
    if not warehouse.exists():
        raise FileNotFoundError(f"warehouse not found: {warehouse}")
    if target.exists() and target.resolve() == warehouse.resolve():
        raise ValueError("the analyst copy must be a different file from the warehouse")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    started = time.perf_counter()
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"ATTACH {_quote_literal(str(warehouse.resolve()))} AS src (READ_ONLY)")
            this = con.execute("select current_database()").fetchone()[0]
            con.execute(f"COPY FROM DATABASE src TO {_quote_ident(this)}")
            has_marts = con.execute(
                "select count(*) from duckdb_tables() where database_name = 'src' "
                "and schema_name = 'marts' and table_name = 'fct_payout_reconciliation'"
            ).fetchone()[0]
            data_as_of = (
                con.execute("select max(detected_at) from src.marts.fct_payout_reconciliation").fetchone()[0]
                if has_marts
                else None
            )
            con.execute("DETACH src")
            con.execute("create schema if not exists meta")
            con.execute(
                "create or replace table meta.snapshot as select "
                "cast(? as timestamp) as published_at, cast(? as varchar) as source_warehouse, "
                "cast(? as timestamp) as data_as_of, cast(? as double) as copy_seconds",
                [
                    datetime.now(UTC).replace(tzinfo=None, microsecond=0),
                    str(warehouse.resolve()),
                    data_as_of,
                    round(time.perf_counter() - started, 3),
                ],
            )
            con.execute("CHECKPOINT")
        finally:
            con.close()
        # read-only on disk: an analyst who forgets -readonly gets an error instead of edits a publish will discard
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
        # a WAL left by someone who opened the old copy read-write would be replayed into the new file
        Path(f"{target}.wal").unlink(missing_ok=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise
    return target
