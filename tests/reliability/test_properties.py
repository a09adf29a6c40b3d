"""Property-based tests (Hypothesis): random merchants and event sequences, reconciliation invariants.

Two kinds:

* **End to end** (slow, few examples): Hypothesis draws a merchant (seed, sizes, history length,
  drift scale, connection) and an event sequence on top of it (orders, cancellations, returns,
  refunds, statements and payments come from the generator; the draw adds re-deliveries: a second
  incremental run over the lookback window and, optionally, a full re-read, i.e. every page
  delivered twice). The real pipeline runs (sandbox over HTTP, dlt, DuckDB, ``dbt build``) and:
  weekly settlement totals equal Σ statements (and, on the order-date basis, Σ transactions);
  every TikTok order appears exactly once in ``fct_order_reconciliation``; applying the repair
  plan to the sandbox, re-extracting and rebuilding leaves no repairable drift.
* **Pure Python** (many examples): the generator's truth file equals what the independent oracle
  finds in the exported records; the finance identities hold except where truth says they break;
  the typing code meets arbitrary JSON anywhere in a record and only ever answers rows or
  ``InvalidField`` (never another exception); money parsing never rounds.

Examples: ``SHOPTOK_FULL_MATRIX=1`` runs many (``make test-full``); CI runs a few, derandomized
(the same examples every run), with no deadline (a dbt build takes ~10 s).
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from extract.common import coerce
from extract.common.coerce import InvalidField
from sandbox.generator import DriftRates, GeneratorParams, generate
from sandbox.server import SandboxServer
from sandbox.state import MerchantState, export_state
from tests.support.oracle import as_set, classify

FULL = os.environ.get("SHOPTOK_FULL_MATRIX") == "1"
E2E_EXAMPLES = 12 if FULL else 3
ORACLE_EXAMPLES = 60 if FULL else 8
PURE_EXAMPLES = 2000 if FULL else 200

E2E = settings(
    max_examples=E2E_EXAMPLES,
    deadline=None,
    derandomize=True,
    # no shrinking: each example costs a minute; the failing example is printed as drawn
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PURE = settings(
    max_examples=PURE_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: drift that an executable repair action fixes (tests/writeback/test_repair_e2e.py keeps the same list)
REPAIRABLE = {
    "cancel_not_mirrored",
    "tracking_not_pushed",
    "refund_not_mirrored",
    "missing_restock",
    "tiktok_overstated",
    "tiktok_understated",
    "price_mismatch",
}
DRIFT = """
    select 'fct_order_reconciliation', drift_type, count(*) from marts.fct_order_reconciliation group by all
    union all select 'fct_inventory_drift', drift_type, count(*) from marts.fct_inventory_drift group by all
    union all select 'fct_refund_reconciliation', drift_type, count(*) from marts.fct_refund_reconciliation group by all
    union all select 'fct_payout_reconciliation', drift_type, count(*) from marts.fct_payout_reconciliation group by all
    union all select 'dim_catalog_health', v, count(*)
        from (select unnest(violations) as v from marts.dim_catalog_health) group by all
"""


# --------------------------------------------------------------------------- strategies


@st.composite
def merchants(draw: st.DrawFn, *, max_orders: int = 120) -> GeneratorParams:
    drift = DriftRates()
    scale = draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]))
    if scale != 1.0:
        drift.scale(scale)
    if scale == 0.0:
        drift.min_per_type = 0
    return GeneratorParams(
        seed=draw(st.integers(0, 100_000)),
        days=draw(st.sampled_from([30, 60, 90])),
        connections=draw(st.sampled_from([("us",), ("uk",)])),
        tiktok_orders_per_connection=draw(st.integers(30, max_orders)),
        shopify_web_orders_per_connection=draw(st.integers(5, 40)),
        products_per_connection=draw(st.integers(6, 20)),
        drift=drift,
    )


@st.composite
def deliveries(draw: st.DrawFn) -> dict[str, Any]:
    """How the events reach the pipeline: re-delivered within the lookback, and maybe all again."""
    return {
        "advance_s": draw(st.sampled_from([0, 60, 3600])),
        "full_reread": draw(st.booleans()),
    }


# --------------------------------------------------------------------------- end to end helpers


def _connections(srv: SandboxServer) -> list[Any]:
    from shoptok.connections import connection_from_entry

    return [
        connection_from_entry(
            c.manifest, shopify_base_url=srv.shopify_base(c.shop_domain), tiktok_base_url=srv.tiktok_base
        )
        for c in srv.ctx.state.connections
    ]


def _query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _week(ts: datetime) -> Any:
    day = ts.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def check_settlement_totals(db: Path, state: MerchantState) -> int:
    """Weekly settlement totals equal Σ statement settlements (settlement-date basis) and Σ
    transaction settlements (order-date basis, summed over weeks), from the sandbox's records."""
    weeks = 0
    for conn in state.connections:
        statements = conn.tiktok_shop["statements"]
        want: dict[Any, Decimal] = defaultdict(Decimal)
        for s in statements:
            want[(_week(datetime.fromtimestamp(s["statement_time"], UTC)), s["currency"])] += Decimal(
                s["settlement_amount"]
            )
        got = {
            (w, c): amount
            for w, c, amount in _query(
                db,
                "select week_start, currency, net_settlement from marts.rpt_weekly_payout_reconciliation "
                "where connection_id = ? and basis = 'settlement_date'",
                conn.id,
            )
        }
        nonzero = {k: v for k, v in got.items() if v != 0 or k in want}
        assert nonzero == dict(want), conn.id
        weeks += len(want)
        tx_total = sum((Decimal(t["settlement_amount"]) for t in conn.tiktok_shop["statement_transactions"]), Decimal())
        order_basis = _query(
            db,
            "select coalesce(sum(net_settlement), 0) from marts.rpt_weekly_payout_reconciliation "
            "where connection_id = ? and basis = 'order_date'",
            conn.id,
        )[0][0]
        assert order_basis == tx_total, conn.id
    return weeks


def check_orders_once(db: Path, state: MerchantState) -> int:
    n = 0
    for conn in state.connections:
        rows = _query(
            db,
            "select tiktok_order_id, count(*), count(*) filter (where drift_type = 'orphan_in_shopify') "
            "from marts.fct_order_reconciliation where connection_id = ? and tiktok_order_id is not null group by 1",
            conn.id,
        )
        served = {o["id"] for o in conn.tiktok_shop["orders"]}
        counts = {k: c for k, c, _ in rows if k in served}
        assert set(counts) == served, conn.id
        assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
        # other rows name a TikTok id no TikTok order has: Shopify orders flagged as orphans, nothing else
        assert all(c == orphans for k, c, orphans in rows if k not in served), rows
        n += len(counts)
    return n


def drift_types(db: Path) -> dict[tuple[str, str], int]:
    return {(m, k): n for m, k, n in _query(db, DRIFT) if k not in ("in_sync", "balanced")}


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
@E2E
@given(params=merchants(), delivery=deliveries())
def test_reconciliation_invariants_hold_and_one_repair_cycle_clears_repairable_drift(
    params: GeneratorParams, delivery: dict[str, Any]
) -> None:
    from extract.run import run_extract
    from orchestration.defs.writeback.engine import apply_actions
    from shoptok.transform import run_dbt

    state, truth = generate(params)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db, pipes = root / "warehouse.duckdb", root / "dlt"
        srv = SandboxServer(state).start()
        try:
            srv.ctx.config.tiktok.qps_per_path = 100_000
            srv.ctx.config.shopify_throttle.maximum_available = 20_000
            srv.ctx.config.shopify_throttle.restore_rate = 1_000_000
            conns = _connections(srv)
            run_extract(conns, warehouse=db, pipelines_dir=pipes)
            # re-deliveries: the lookback window again, and maybe every page again
            srv.ctx.state.clock.advance(delivery["advance_s"])
            run_extract(conns, warehouse=db, pipelines_dir=pipes)
            if delivery["full_reread"]:
                run_extract(conns, warehouse=db, pipelines_dir=pipes, full_refresh=True)
            built = run_dbt(["build"], warehouse=db, as_of=state.as_of)
            assert built.ok, built.output[-6000:]
            assert check_orders_once(db, state) == sum(len(c.tiktok_shop["orders"]) for c in state.connections)
            check_settlement_totals(db, state)

            before = drift_types(db)
            report = apply_actions(db, conns, dry_run=False, allow={"all"}, as_of=state.as_of)
            assert report.totals()["failed"] == 0, [r for r in report.results if r.status == "failed"]
            as_of = srv.ctx.state.clock.advance(300)
            run_extract(conns, warehouse=db, pipelines_dir=pipes)
            rebuilt = run_dbt(["build"], warehouse=db, as_of=as_of)
            assert rebuilt.ok, rebuilt.output[-6000:]
            after = drift_types(db)
            assert {k for k in after if k[1] in REPAIRABLE} == set(), (before, after)
            assert srv.ctx.counters.get("shopify.refund_money_transactions") == 0
            # the invariants still hold on the repaired shop
            assert check_orders_once(db, srv.ctx.state) == sum(len(c.tiktok_shop["orders"]) for c in state.connections)
            check_settlement_totals(db, srv.ctx.state)
        finally:
            srv.stop()


# --------------------------------------------------------------------------- pure Python


@settings(
    max_examples=ORACLE_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(params=merchants(max_orders=200))
def test_truth_is_exactly_what_the_oracle_finds(params: GeneratorParams) -> None:
    state, truth = generate(params)
    with tempfile.TemporaryDirectory() as tmp:
        export_state(state, Path(tmp), truth)
        found = classify(Path(tmp))
    assert as_set(found) == as_set(truth)


@settings(
    max_examples=ORACLE_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(params=merchants(max_orders=200))
def test_finance_identities_hold_except_where_truth_breaks_them(params: GeneratorParams) -> None:
    state, truth = generate(params)
    broken = {
        (t["connection_id"], t["key"].get("tiktok_statement_id"), t["drift_type"])
        for t in truth
        if t["mart"] == "fct_payout_reconciliation"
    }
    for conn in state.connections:
        txns: dict[str, Decimal] = defaultdict(Decimal)
        for t in conn.tiktok_shop["statement_transactions"]:
            txns[t["statement_id"]] += Decimal(t["settlement_amount"])
        by_payment: dict[str, Decimal] = defaultdict(Decimal)
        for s in conn.tiktok_shop["statements"]:
            balanced = Decimal(s["settlement_amount"]) == txns[s["id"]]
            assert balanced != ((conn.id, s["id"], "statement_mismatch") in broken), s["id"]
            if s.get("payment_id"):
                by_payment[s["payment_id"]] += Decimal(s["settlement_amount"])
        statements_of = defaultdict(list)
        for s in conn.tiktok_shop["statements"]:
            statements_of[s.get("payment_id")].append(s["id"])
        for p in conn.tiktok_shop["payments"]:
            paid = Decimal(p["amount"]["value"])
            expected = by_payment[p["id"]] + Decimal((p.get("reserve_amount") or {}).get("value") or "0")
            flagged = any((conn.id, sid, "payment_mismatch") in broken for sid in statements_of[p["id"]])
            assert (paid == expected) != flagged, p["id"]


# ---- the typing code against arbitrary JSON

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", " ", "NaN", "1e3", "12.345", "-0.00", "1,000.00", "\u202e", "\ud800", "2026-13-45T25:61:00Z"]),
)
#: values that broke (or would break) a load rather than one record: drawn as often as all the rest
HOSTILE = st.sampled_from(
    [2**63, -(2**63) - 1, 2**70, 10**30, "\ud800", "A\udfffB", float("nan"), float("inf"), -1, 1.5, [], {}, ""]
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _set(record: Any, path: tuple[Any, ...], value: Any) -> None:
    target = record
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


@pytest.fixture(scope="module")
def samples() -> dict[str, list[dict[str, Any]]]:
    state, _ = generate(
        GeneratorParams(
            connections=("us",),
            tiktok_orders_per_connection=60,
            shopify_web_orders_per_connection=20,
            products_per_connection=8,
        )
    )
    conn = state.connection("us")
    pick = lambda rows, n=6: rows[:: max(1, len(rows) // n)][:n]  # noqa: E731
    return {
        "tiktok_order": pick(conn.tiktok_shop["orders"]),
        "tiktok_return": pick(conn.tiktok_shop["returns"] + conn.tiktok_shop["cancellations"]),
        "tiktok_statement": pick(conn.tiktok_shop["statements"]),
        "tiktok_transaction": pick(conn.tiktok_shop["statement_transactions"]),
        "tiktok_payment": pick(conn.tiktok_shop["payments"]),
        "tiktok_product": pick(conn.tiktok_shop["products"]),
        "shopify_order": pick(conn.shopify["orders"]),
        "shopify_product": pick(conn.shopify["products"]),
        "shopify_level": pick(conn.shopify["inventory_levels"]),
    }


def _shape(kind: str, rec: Any) -> Any:
    from extract.shopify import rows as r
    from extract.tiktok_shop import shapes as sh

    if kind == "tiktok_order":
        return sh.shape_order(rec, "us")
    if kind == "tiktok_return":
        return sh.shape_return(rec, "us") if "return_id" in rec else sh.shape_cancellation(rec, "us")
    if kind == "tiktok_statement":
        return sh.shape_statement(rec, "us")
    if kind == "tiktok_transaction":
        return sh.shape_transaction(rec, "us", "7000", "USD")
    if kind == "tiktok_payment":
        return sh.shape_payment(rec, "us")
    if kind == "tiktok_product":
        return sh.shape_product(rec, "us"), sh.shape_inventory(
            {"product_id": rec.get("id"), "skus": rec.get("skus")}, "us"
        )
    if kind == "shopify_order":
        return r.order_rows("us", rec)
    if kind == "shopify_product":
        return r.product_rows("us", rec, "USD")
    return r.inventory_level_rows("us", rec)


KINDS = [
    "tiktok_order",
    "tiktok_return",
    "tiktok_statement",
    "tiktok_transaction",
    "tiktok_payment",
    "tiktok_product",
    "shopify_order",
    "shopify_product",
    "shopify_level",
]


@PURE
@given(data=st.data())
def test_typing_meets_arbitrary_json_anywhere_with_rows_or_invalid_field(samples, data: st.DataObject) -> None:
    """A record with random JSON put at a random path (one to three times) is typed or refused with
    InvalidField naming a field; any other exception would fail the whole load instead of one record."""
    kind = data.draw(st.sampled_from(KINDS))
    record = copy.deepcopy(data.draw(st.sampled_from(samples[kind])))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(record)
        assume(paths)
        path = data.draw(st.sampled_from(paths))
        try:
            _set(record, path, data.draw(st.one_of(HOSTILE, JSON)))
        except (KeyError, IndexError, TypeError):
            break  # an earlier replacement removed this path
    try:
        out = _shape(kind, record)
    except InvalidField as exc:
        assert exc.field and exc.reason
        return
    _assert_storable(out)


def _assert_storable(value: Any) -> None:
    """What the loader can write: 64-bit integers and valid Unicode, however deep (either would
    otherwise fail the whole load, not one record)."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, int) and not isinstance(value, bool):
        assert -(2**63) <= value < 2**63, value
    elif isinstance(value, dict):
        for k, v in value.items():
            _assert_storable(k)
            _assert_storable(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _assert_storable(v)


@PURE
@given(
    amount=st.decimals(min_value=Decimal("-999999999999.99"), max_value=Decimal("999999999999.99"), places=2),
    zeros=st.integers(0, 4),
    currency=st.sampled_from(["USD", "GBP", "EUR"]),
)
def test_money_round_trips_exactly_and_trailing_zeros_are_exact(amount: Decimal, zeros: int, currency: str) -> None:
    text = f"{amount:.2f}" + "0" * zeros
    parsed = coerce.money(text, "f", currency)
    assert parsed == amount and parsed.as_tuple().exponent >= -2


@PURE
@given(
    whole=st.integers(0, 10**9),
    digits=st.text(alphabet="0123456789", min_size=3, max_size=8).filter(lambda d: d[2:].strip("0") != ""),
)
def test_money_never_rounds_a_third_decimal(whole: int, digits: str) -> None:
    with pytest.raises(InvalidField, match="decimals"):
        coerce.money(f"{whole}.{digits}", "f", "USD")


@PURE
@given(value=st.integers(min_value=-(2**80), max_value=2**80))
def test_integers_fit_the_warehouse_or_are_refused(value: int) -> None:
    try:
        assert coerce.integer(value, "f") == value
        assert -(2**63) <= value < 2**63
    except InvalidField as exc:
        assert "64-bit" in exc.reason and not -(2**63) <= value < 2**63
