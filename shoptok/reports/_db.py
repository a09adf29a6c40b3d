"""Read-only access to the warehouse, held only as long as one report's queries take.

DuckDB lets one process write a database file and any connection, even a read-only one, holds a
lock that makes the pipeline's writer fail. Reports therefore open the file read-only, run all
their queries, and close before they start writing files, so the lock lasts milliseconds, not
the seconds an XLSX takes to write.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

Row = dict[str, Any]


@contextmanager
def read_only(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, closed on exit; a missing file is an error, not an empty database."""
    path = Path(warehouse)
    if not path.exists():
        raise FileNotFoundError(f"warehouse not found: {path} (build it with `shoptok transform` or `make demo`)")
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> list[Row]:
    """Query results as dicts keyed by column name (DECIMAL stays ``Decimal``, timestamps naive UTC)."""
    cur = con.execute(sql, list(params or []))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def warehouse_clock(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The ``as_of`` clock of the dbt run that built the marts (every mart row carries it)."""
    value = con.execute("select max(detected_at) from marts.fct_payout_reconciliation").fetchone()[0]
    if value is None:
        value = con.execute("select max(detected_at) from marts.fct_order_reconciliation").fetchone()[0]
    return None if value is None else value.replace(tzinfo=UTC)


def utc_naive(ts: datetime) -> datetime:
    """Marts store UTC as naive TIMESTAMPs: compare like with like."""
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write next to the target, then rename over it: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is for others to open
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))
