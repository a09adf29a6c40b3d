"""Read-only connections to the warehouse on either engine, with DuckDB's calling convention.

Code that reads the warehouse (row counts after a load, the checks' frames, the repair plan) was
written against DuckDB: ``con.execute(sql, [params]).fetchall()`` with ``?`` placeholders. On
PostgreSQL the same calls go through :class:`PgConnection`, a thin psycopg2 wrapper that translates
the placeholders, so callers switch engine without a second code path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shoptok.settings import WarehouseEngine, load_warehouse_engine

if TYPE_CHECKING:
    import pandas as pd

_QMARK = re.compile(r"\?")


class PgConnection:
    """A read-only, autocommit psycopg2 connection answering DuckDB-style ``execute``/``fetch*``.

    Autocommit, so one failed query does not poison the next (a check's bad SQL must not fail the
    rest). JSON columns come back as text, as DuckDB returns them; timestamps in UTC.
    """

    def __init__(self, engine: WarehouseEngine, *, read_only: bool = True) -> None:
        import psycopg2
        import psycopg2.extras

        self._con = psycopg2.connect(**engine.pg_params(), options="-c TimeZone=UTC", connect_timeout=30)
        self._con.set_session(readonly=read_only, autocommit=True)
        psycopg2.extras.register_default_json(self._con, loads=lambda text: text)
        psycopg2.extras.register_default_jsonb(self._con, loads=lambda text: text)
        self._cur: Any = None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgConnection:
        if self._cur is not None:
            self._cur.close()
        self._cur = self._con.cursor()
        if params:
            self._cur.execute(_QMARK.sub("%s", sql.replace("%", "%%")), list(params))
        else:
            self._cur.execute(sql)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> PgConnection:
        if self._cur is not None:
            self._cur.close()
        self._cur = self._con.cursor()
        self._cur.executemany(_QMARK.sub("%s", sql.replace("%", "%%")), [list(r) for r in rows])
        return self

    @property
    def description(self) -> Any:
        return self._cur.description

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cur.fetchall()

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cur.fetchone()

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()
        self._con.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect_read_only(warehouse: Path | None = None, engine: WarehouseEngine | None = None) -> Any:
    """A read-only connection: the DuckDB file at ``warehouse``, or the PostgreSQL database."""
    engine = engine or load_warehouse_engine()
    if engine.is_postgres:
        return PgConnection(engine)
    import duckdb

    return duckdb.connect(str(warehouse), read_only=True)


def errors() -> tuple[type[BaseException], ...]:
    """The exception types a query can raise on either engine."""
    import duckdb

    out: tuple[type[BaseException], ...] = (duckdb.Error,)
    try:
        import psycopg2

        out += (psycopg2.Error,)
    except ImportError:  # pragma: no cover - psycopg2 is locked with the project
        pass
    return out


def fetch_frame(con: Any, sql: str) -> pd.DataFrame:
    """A query's rows as a DataFrame with money as ``Decimal`` on both engines.

    DuckDB goes through Arrow (``.df()`` would turn DECIMAL into float64); psycopg2 already returns
    ``numeric`` as ``Decimal`` and arrays as lists.
    """
    import pandas as pd

    if isinstance(con, PgConnection):
        con.execute(sql)
        names = [d[0] for d in con.description]
        return pd.DataFrame.from_records(con.fetchall(), columns=names)
    return con.sql(sql).to_arrow_table().to_pandas()
