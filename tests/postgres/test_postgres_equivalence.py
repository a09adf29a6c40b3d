"""The same pipeline on PostgreSQL 15 gives the same marts as on DuckDB: rows, drift, money to the cent.

The DuckDB side is the session's ``built_merchant``; the PostgreSQL side (``pg_merchant``) runs the
same default merchant through dlt's postgres destination, dbt-postgres, the GX checks and the
repair plan reader, switched by the engine setting alone. Rows are compared as multisets of
normalised values: money as ``Decimal`` (exact: 10.00 ≠ 10.01), timestamps as UTC, lists as tuples.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from shoptok.settings import WarehouseEngine
from shoptok.warehouse import PgConnection

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MART_PREFIXES = ("fct_", "dim_", "rpt_")
DRIFT_COLUMNS = {"drift_type", "violations", "drift_flags", "action_type", "reason_drift_type"}


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        raise AssertionError(f"float in a mart: {value!r} (money must be DECIMAL)")
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, list | tuple):
        return tuple(_norm(v) for v in value)
    return value  # Decimal compares (and hashes) by value: 10.00 == 10.0, 10.00 != 10.01


def _pg(cluster) -> PgConnection:
    engine = WarehouseEngine(
        engine="postgres",
        host=cluster.host,
        port=cluster.port,
        database=cluster.database,
        user=cluster.user,
        password=cluster.password,
    )
    return PgConnection(engine)


def _tables(con: Any, schema: str) -> set[str]:
    rows = con.execute("select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()
    return {r[0] for r in rows}


def _rows(con: Any, table: str) -> tuple[list[str], list[tuple]]:
    cur = con.execute(f"select * from marts.{table}")
    names = [d[0] for d in cur.description]
    return names, [tuple(_norm(v) for v in row) for row in cur.fetchall()]


@pytest.fixture(scope="module")
def both(built_merchant, pg_merchant):
    duck = duckdb.connect(str(built_merchant.warehouse), read_only=True)
    pg = _pg(pg_merchant.cluster)
    try:
        yield duck, pg
    finally:
        duck.close()
        pg.close()


def test_same_marts_on_both_engines(both, pg_merchant):
    duck, pg = both
    duck_marts = {t for t in _tables(duck, "marts") if t.startswith(MART_PREFIXES)}
    pg_marts = {t for t in _tables(pg, "marts") if t.startswith(MART_PREFIXES)}
    assert duck_marts == pg_marts
    assert {"fct_order_reconciliation", "fct_payout_reconciliation", "dim_catalog_health"} <= duck_marts
    print(f"\npostgres stages (s): {json.dumps({k: round(v, 1) for k, v in pg_merchant.timings.items()})}")
    for table in sorted(duck_marts | {"repair_actions"}):
        duck_cols, duck_rows = _rows(duck, table)
        pg_cols, pg_rows = _rows(pg, table)
        assert duck_cols == pg_cols, f"{table}: columns differ"
        assert duck_rows, f"{table} is empty: nothing was compared"
        d, p = Counter(duck_rows), Counter(pg_rows)
        only_duck, only_pg = list((d - p).elements()), list((p - d).elements())
        assert not only_duck and not only_pg, (
            f"{table}: {len(only_duck)} rows only on DuckDB, {len(only_pg)} only on PostgreSQL; "
            f"columns {duck_cols}\nduckdb: {only_duck[:3]}\npostgres: {only_pg[:3]}"
        )


@pytest.mark.parametrize(
    ("mart", "ok"),
    [
        ("fct_order_reconciliation", "in_sync"),
        ("fct_inventory_drift", "in_sync"),
        ("fct_refund_reconciliation", "in_sync"),
        ("fct_payout_reconciliation", "balanced"),
    ],
)
def test_same_drift_classification(both, mart, ok):
    duck, pg = both
    sql = f"select drift_type, count(*) from marts.{mart} group by drift_type"
    duck_counts = dict(duck.execute(sql).fetchall())
    pg_counts = dict(pg.execute(sql).fetchall())
    assert duck_counts == pg_counts
    assert set(duck_counts) - {ok}, f"{mart}: the merchant injects drift, none was found"


def test_money_to_the_cent(both):
    """Σ of every money column per connection × currency, exact as Decimal, on both engines."""
    duck, pg = both
    sql = """
        select connection_id, currency, sum(statement_settlement_amount), sum(transactions_settlement_amount),
               sum(payment_amount), sum(fee_amount), sum(revenue_amount)
        from marts.fct_payout_reconciliation group by 1, 2 order by 1, 2
    """
    duck_sums = duck.execute(sql).fetchall()
    pg_sums = pg.execute(sql).fetchall()
    assert duck_sums and all(isinstance(v, Decimal) for row in pg_sums for v in row[2:] if v is not None)
    assert [tuple(_norm(v) for v in r) for r in duck_sums] == [tuple(_norm(v) for v in r) for r in pg_sums]


def test_same_checks_verdicts(built_merchant, pg_merchant, tmp_path):
    from expectations.checks import run_all

    duck = run_all(built_merchant.warehouse, built_merchant.as_of, docs_dir=tmp_path / "docs",
                   history_path=tmp_path / "history.json")  # fmt: skip
    assert set(duck) == set(pg_merchant.checks)
    verdicts = {name: (duck[name].passed, pg_merchant.checks[name].passed) for name in duck}
    differ = {name: v for name, v in verdicts.items() if v[0] != v[1]}
    assert not differ, f"checks that pass on one engine only (duckdb, postgres): {differ}"
    assert sum(1 for v in verdicts.values() if v[1]) > len(verdicts) // 2


def test_same_repair_plan(built_merchant, pg_merchant):
    from orchestration.defs.writeback.plan import read_plan

    with duckdb.connect(str(built_merchant.warehouse), read_only=True) as con:
        duck_plan = read_plan(con)

    def key(a) -> tuple:
        return (a.action_id, a.connection_id, a.action_type, a.target_id, a.payload_text, a.money_moving,
                a.requires_approval, a.reason_drift_type, repr(sorted(a.before.items(), key=repr)))  # fmt: skip

    assert duck_plan, "the merchant's drift must produce a repair plan"
    assert sorted(map(key, duck_plan)) == sorted(map(key, pg_merchant.plan))
    # payloads are the API inputs the jobs send: the same bytes, valid JSON
    assert all(json.loads(a.payload_text) is not None for a in pg_merchant.plan)


def test_same_dry_run_ledger(built_copy, pg_merchant):
    """The repair stage on PostgreSQL: a dry run records the same planned actions and alerts."""
    from orchestration.defs.writeback.engine import apply_actions

    duck_report = apply_actions(built_copy, pg_merchant.connections, dry_run=True, actor="cli",
                                as_of=pg_merchant.as_of)  # fmt: skip
    assert duck_report.totals() == pg_merchant.dry_run.totals()
    assert duck_report.totals()["planned"] > 0
    sql = "select action_id, connection_id, action_type, status, dry_run, payload from ops.writeback_ledger"
    alerts = "select action_id, connection_id, reason_drift_type, money_moving, message from ops.alerts"
    pg = _pg(pg_merchant.cluster)
    try:
        with duckdb.connect(str(built_copy), read_only=True) as duck:
            for q in (sql, alerts):
                assert Counter(duck.execute(q).fetchall()) == Counter(pg.execute(q).fetchall())
    finally:
        pg.close()
