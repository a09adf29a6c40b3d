"""The bad-input catalogue (tests/reliability/bad_inputs.py) through the real pipeline.

One generated merchant gets every case's corruption, the sandbox serves it over HTTP, both
platforms are extracted by the real sources (Shopify paged: the path that sees GraphQL's own
refusals; a second run checks the bulk path) and ``dbt build`` runs on the result. Then, for
every case: quarantined naming the record, the field and the reason, or handled by its
documented rule (docs/reliability.md). For every entity: records served = rows loaded + rows
quarantined (+ the duplicates a rule collapses), and the children of every good record load
while those of a quarantined one do not. Nothing crashes, nothing is silently dropped.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from extract.common import coerce
from extract.common.coerce import InvalidField
from extract.common.quarantine import quarantine_row
from extract.config_source import config_source
from extract.pipeline import run_source
from extract.shopify import shopify_source
from extract.tiktok_shop import tiktok_shop_source
from sandbox.generator import DriftRates, GeneratorParams, generate
from sandbox.server import SandboxServer
from sandbox.state import MerchantState
from shoptok.connections import Connection, connection_from_entry
from shoptok.transform import run_dbt
from tests.reliability.bad_inputs import CASES, MARKER, QUARANTINE, SQL_INJECTION, Case, id_field

pytestmark = pytest.mark.slow

CID = "us"
DATASETS = {"shopify": "raw_shopify", "tiktok_shop": "raw_tiktok_shop"}
ENTITIES = {
    "shopify": ("orders", "products", "locations", "inventory_levels"),
    "tiktok_shop": (
        "orders",
        "products",
        "warehouses",
        "returns",
        "cancellations",
        "statements",
        "statement_transactions",
        "payments",
    ),
}


def merchant() -> MerchantState:
    """A small merchant without injected drift: every difference in the marts comes from a case."""
    drift = DriftRates()
    drift.scale(0)
    drift.min_per_type = 0
    params = GeneratorParams(
        connections=(CID,),
        tiktok_orders_per_connection=150,
        shopify_web_orders_per_connection=30,
        products_per_connection=12,
        drift=drift,
    )
    return generate(params)[0]


@dataclass
class Injected:
    case: Case
    record: dict[str, Any]
    #: the record's id before the case touched it
    key: str


def inject(state: MerchantState) -> list[Injected]:
    """Apply every case to its own record (the first unused one its ``pick`` accepts)."""
    conn = state.connection(CID)
    used: set[int] = set()
    out = []
    for case in CASES:
        records = getattr(conn, case.platform)[case.entity]
        record = next(r for r in records if id(r) not in used and case.pick(r, conn))
        used.add(id(record))
        key = str(record[id_field(case.platform, case.entity)])
        if case.platform == "tiktok_shop":
            record[MARKER] = case.kind
        case.mutate(record, conn)
        out.append(Injected(case, record, key))
    return out


def connection(srv: SandboxServer) -> Connection:
    entry = srv.ctx.state.connection(CID).manifest
    return connection_from_entry(
        entry, shopify_base_url=srv.shopify_base(entry["shopify"]["shop_domain"]), tiktok_base_url=srv.tiktok_base
    )


def served(srv: SandboxServer, platform: str, entity: str) -> list[dict[str, Any]]:
    """Every record the sandbox holds and serves, read over its admin endpoint."""
    resp = httpx.get(f"{srv.base_url}/_sandbox/records/{CID}/{platform}/{entity}", timeout=60).raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def dicts(db: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cur = con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def extract(srv: SandboxServer, root: Path, *, use_bulk: bool) -> None:
    conn = connection(srv)
    for platform, source in (
        ("config", config_source([conn])),
        ("shopify", shopify_source(conn, use_bulk=use_bulk)),
        ("tiktok_shop", tiktok_shop_source(conn)),
    ):
        run_source(
            source,
            platform=platform,
            connection_id=CID if platform != "config" else "all",
            warehouse=root / "warehouse.duckdb",
            pipelines_dir=root / "dlt",
        )


@dataclass
class Catalogue:
    warehouse: Path
    injected: list[Injected]
    served: dict[tuple[str, str], list[dict[str, Any]]]
    as_of: datetime
    dbt_output: str
    dbt_ok: bool
    bulk_warehouse: Path
    quarantine: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalogue]:
    root = tmp_path_factory.mktemp("bad_inputs")
    state = merchant()
    injected = inject(state)
    srv = SandboxServer(state).start()
    try:
        srv.ctx.config.tiktok.qps_per_path = 100_000
        srv.ctx.config.shopify_throttle.maximum_available = 20_000
        srv.ctx.config.shopify_throttle.restore_rate = 1_000_000
        extract(srv, root / "paged", use_bulk=False)
        extract(srv, root / "bulk", use_bulk=True)
        seen = {(p, e): served(srv, p, e) for p, entities in ENTITIES.items() for e in entities}
    finally:
        srv.stop()
    warehouse = root / "paged" / "warehouse.duckdb"
    built = run_dbt(["build"], warehouse=warehouse, as_of=state.as_of)
    cat = Catalogue(warehouse, injected, seen, state.as_of, built.output, built.ok, root / "bulk" / "warehouse.duckdb")
    for platform, dataset in DATASETS.items():
        cat.quarantine[platform] = dicts(warehouse, f"select * from {dataset}.quarantine where connection_id = ?", CID)
    yield cat


def quarantine_rows_of(cat: Catalogue, item: Injected) -> list[dict[str, Any]]:
    case = item.case
    entity = case.quarantine_entity or case.entity
    rows = [q for q in cat.quarantine[case.platform] if q["entity"] == entity]
    if case.platform == "shopify" or case.quarantine_entity == "inventory":
        return [q for q in rows if q["record_key"] == item.key]
    return [q for q in rows if json.loads(q["payload"]).get(MARKER) == case.kind]


# --------------------------------------------------------------------------- every case


def test_the_catalogue_holds_at_least_30_kinds_on_both_platforms() -> None:
    assert len(CASES) >= 30
    by_platform = Counter(c.platform for c in CASES)
    assert by_platform["shopify"] >= 10 and by_platform["tiktok_shop"] >= 20, by_platform
    assert {c.expect for c in CASES} >= {QUARANTINE, "R1", "R2", "R3", "R4", "R5", "R7", "R8", "R9"}


def test_nothing_crashed_and_dbt_builds_on_the_result(catalogue: Catalogue) -> None:
    # the fixture ran both extractions to completion; dbt must build (models and tests) on what they loaded
    assert catalogue.dbt_ok, catalogue.dbt_output[-6000:]


@pytest.mark.parametrize("kind", [c.kind for c in CASES if c.expect == QUARANTINE])
def test_each_bad_record_is_quarantined_naming_record_field_and_reason(catalogue: Catalogue, kind: str) -> None:
    (item,) = [i for i in catalogue.injected if i.case.kind == kind]
    rows = quarantine_rows_of(catalogue, item)
    assert len(rows) == 1, (kind, rows)
    row = rows[0]
    assert row["field"] == item.case.field, (kind, row["field"], row["reason"])
    assert item.case.reason in row["reason"], (kind, row["reason"])
    assert f"field '{item.case.field}'" in row["reason"]
    key = row["record_key"]
    if key is not None:
        assert key in row["reason"], row["reason"]
    else:  # an id that names nothing is said so
        assert "(no usable id)" in row["reason"]
    assert isinstance(json.loads(row["payload"]), dict)


def test_quarantined_records_leave_no_rows_behind(catalogue: Catalogue) -> None:
    """No table holds a row of a quarantined record (its id, its children's ids)."""
    db = catalogue.warehouse
    for item in catalogue.injected:
        case = item.case
        if case.expect != QUARANTINE or case.quarantine_entity:
            continue
        table = f"{DATASETS[case.platform]}.{case.entity}"
        column = id_field(case.platform, case.entity)
        still = [k for k in (item.key, item.record.get(column)) if isinstance(k, str)]
        for key in still:
            n = query(db, f'select count(*) from {table} where connection_id = ? and "{column}" = ?', CID, key)[0][0]
            if case.kind == "empty id" or key != item.key or not _id_reused(catalogue, case, key):
                assert n == 0, (case.kind, key)
        if case.platform == "tiktok_shop" and case.entity == "orders" and isinstance(item.record["line_items"], list):
            lines = [li.get("id") for li in item.record["line_items"] if isinstance(li, dict)]
            loaded = query(
                db,
                "select count(*) from raw_tiktok_shop.order_line_items where connection_id = ? "
                "and id in (select unnest(?::varchar[]))",
                CID,
                lines,
            )[0][0]
            assert loaded == 0, case.kind
        if case.platform == "shopify" and case.entity == "orders":
            lines = [li["id"] for li in item.record["lineItems"]["nodes"]]
            loaded = query(
                db,
                "select count(*) from raw_shopify.order_line_items where connection_id = ? "
                "and id in (select unnest(?::varchar[]))",
                CID,
                lines,
            )[0][0]
            assert loaded == 0, case.kind


def _id_reused(cat: Catalogue, case: Case, key: str) -> bool:
    """Whether another served record carries this id (a duplicate line id case keeps its order's id)."""
    column = id_field(case.platform, case.entity)
    return sum(1 for r in cat.served[(case.platform, case.entity)] if str(r.get(column)) == key) > 1


# --------------------------------------------------------------------------- counts


def _served_key(platform: str, entity: str, record: dict[str, Any]) -> Any:
    value = record.get(id_field(platform, entity))
    return value if isinstance(value, str) and value else None


def test_records_served_equal_rows_loaded_plus_rows_quarantined_per_entity(catalogue: Catalogue) -> None:
    db = catalogue.warehouse
    unreachable = _unreachable_transactions(catalogue)
    report = {}
    for (platform, entity), records in catalogue.served.items():
        dataset = DATASETS[platform]
        column = id_field(platform, entity)
        loaded = {r[0] for r in query(db, f'select "{column}" from {dataset}.{entity} where connection_id = ?', CID)}
        quarantined = [q for q in catalogue.quarantine[platform] if q["entity"] == entity]
        keys = [_served_key(platform, entity, r) for r in records]
        collapsed = sum(n - 1 for k, n in Counter(k for k in keys if k is not None).items() if n > 1)
        skipped = len(unreachable) if entity == "statement_transactions" else 0
        report[(platform, entity)] = (len(records), len(loaded), len(quarantined), collapsed, skipped)
        assert len(records) == len(loaded) + len(quarantined) + collapsed + skipped, report[(platform, entity)]
        bad_keys = {q["record_key"] for q in quarantined}
        # record_key keeps the first 255 characters of an id (a longer one is itself a reason to quarantine)
        expected = {k for k in keys if k is not None and k[:255] not in bad_keys and k not in unreachable}
        assert loaded == expected, (platform, entity, sorted(loaded ^ expected)[:5])


def _unreachable_transactions(cat: Catalogue) -> set[str]:
    """Transactions of a statement whose id cannot go into a URL (rule R6): never read, never counted."""
    (item,) = [i for i in cat.injected if i.case.kind == "id with path characters"]
    sid = item.record["id"]
    return {t["id"] for t in cat.served[("tiktok_shop", "statement_transactions")] if t["statement_id"] == sid}


def test_children_of_every_loaded_record_are_all_loaded(catalogue: Catalogue) -> None:
    db = catalogue.warehouse
    tiktok_orders = {o[0] for o in query(db, "select id from raw_tiktok_shop.orders where connection_id = ?", CID)}
    newest: dict[str, dict[str, Any]] = {}
    for o in catalogue.served[("tiktok_shop", "orders")]:
        if (
            isinstance(o.get("id"), str)
            and o["id"] in tiktok_orders
            and o["update_time"] >= newest.get(o["id"], {"update_time": -1})["update_time"]
        ):
            newest[o["id"]] = o
    want = {li["id"] for o in newest.values() for li in o["line_items"]}
    got = {r[0] for r in query(db, "select id from raw_tiktok_shop.order_line_items where connection_id = ?", CID)}
    assert got == want
    shopify_orders = {o[0] for o in query(db, "select id from raw_shopify.orders where connection_id = ?", CID)}
    want = {
        li["id"]
        for o in catalogue.served[("shopify", "orders")]
        if o["id"] in shopify_orders
        for li in o["lineItems"]["nodes"]
    }
    got = {r[0] for r in query(db, "select id from raw_shopify.order_line_items where connection_id = ?", CID)}
    assert got == want


def test_the_bulk_path_quarantines_exactly_what_the_paged_path_does(catalogue: Catalogue) -> None:
    """Rule R10: a record GraphQL cannot serve empties the emulator's bulk result; the source sees a
    paged read finding records, reads page by page, and loses nothing."""

    def summary(db: Path) -> tuple[set[tuple[Any, ...]], set[str]]:
        bad = {
            (q["entity"], q["record_key"], q["field"])
            for q in dicts(db, "select * from raw_shopify.quarantine where connection_id = ?", CID)
        }
        orders = {r[0] for r in query(db, "select id from raw_shopify.orders where connection_id = ?", CID)}
        return bad, orders

    paged, bulk = summary(catalogue.warehouse), summary(catalogue.bulk_warehouse)
    assert bulk == paged
    assert len(paged[1]) > 100


# --------------------------------------------------------------------------- rules


def _item(cat: Catalogue, kind: str) -> Injected:
    (item,) = [i for i in cat.injected if i.case.kind == kind]
    return item


def _one(db: Path, sql: str, *params: Any) -> dict[str, Any]:
    rows = dicts(db, sql, *params)
    assert len(rows) == 1, (sql, params, rows)
    return rows[0]


def test_r1_zero_decimal_currency_trailing_zero_is_exact(catalogue: Catalogue) -> None:
    item = _item(catalogue, "zero-decimal currency with a trailing .0")
    row = _one(
        catalogue.warehouse, "select * from raw_tiktok_shop.payments where connection_id = ? and id = ?", CID, item.key
    )
    assert row["payment_amount_before_exchange"] == Decimal("1000")
    assert row["payment_amount_before_exchange_currency"] == "JPY"


def test_r1_the_money_rule_in_isolation() -> None:
    assert coerce.money("1000.0", "f", "JPY") == Decimal("1000")
    assert coerce.money("12.500", "f", "USD") == Decimal("12.50")
    assert coerce.money("0.000", "f", "KWD") == Decimal("0.000")
    for value, currency in (("1000.5", "JPY"), ("12.345", "USD"), ("1.0001", "KWD")):
        with pytest.raises(InvalidField, match="decimals"):
            coerce.money(value, "f", currency)
    for value in ("1e3", "1E+2", "NaN", "Infinity", "-Infinity", "1,000.00", "+5.00", ".5", "5.", "0x10", "١٢٣"):
        with pytest.raises(InvalidField):
            coerce.money(value, "f", "USD")
    for value in (12.5, True, float("nan")):
        with pytest.raises(InvalidField):
            coerce.money(value, "f", "USD")


def test_r2_unicode_skus_are_kept_byte_exact(catalogue: Catalogue) -> None:
    db = catalogue.warehouse
    rtl = _item(catalogue, "right-to-left override in a SKU")
    sku = rtl.record["line_items"][0]["seller_sku"]
    assert sku.startswith("\u202e")
    row = _one(
        db,
        "select seller_sku from raw_tiktok_shop.order_line_items where connection_id = ? and id = ?",
        CID,
        rtl.record["line_items"][0]["id"],
    )
    assert row["seller_sku"] == sku
    zw = _item(catalogue, "zero-width space in a SKU")
    sku = zw.record["skus"][0]["seller_sku"]
    assert "\u200b" in sku
    row = _one(
        db,
        "select seller_sku from raw_tiktok_shop.product_skus where connection_id = ? and id = ?",
        CID,
        zw.record["skus"][0]["id"],
    )
    assert row["seller_sku"] == sku
    comb = _item(catalogue, "combining accent in a SKU (Shopify)")
    variant = comb.record["variants"]["nodes"][0]
    row = _one(
        db, "select sku from raw_shopify.product_variants where connection_id = ? and id = ?", CID, variant["id"]
    )
    assert row["sku"] == variant["sku"] and row["sku"].endswith("e\u0301")
    # never silently matched to the plain SKU: the marts see a different SKU
    health = dicts(db, "select * from marts.dim_catalog_health where shopify_variant_id = ?", variant["id"])
    assert health and all(h.get("sku", variant["sku"]) == variant["sku"] for h in health)


def test_r3_free_text_sql_and_markup_are_data(catalogue: Catalogue) -> None:
    db = catalogue.warehouse
    huge = _item(catalogue, "huge free text")
    row = _one(db, "select title from raw_tiktok_shop.products where connection_id = ? and id = ?", CID, huge.key)
    assert row["title"] == "T" * 100_000
    sql = _item(catalogue, "SQL in a SKU")
    row = _one(
        db,
        "select seller_sku from raw_tiktok_shop.order_line_items where connection_id = ? and id = ?",
        CID,
        sql.record["line_items"][0]["id"],
    )
    assert row["seller_sku"] == SQL_INJECTION
    assert query(db, "select count(*) from raw_tiktok_shop.orders")[0][0] > 100  # the table is still there
    markup = _item(catalogue, "markup in a title (Shopify)")
    row = _one(db, "select title from raw_shopify.products where connection_id = ? and id = ?", CID, markup.key)
    assert row["title"] == "<script>alert('x')</script> Tee"


def test_r4_a_record_served_twice_loads_once_newest_version(catalogue: Catalogue) -> None:
    db = catalogue.warehouse
    t = _item(catalogue, "duplicated id across pages")
    served = [x for x in catalogue.served[("tiktok_shop", "statement_transactions")] if x["id"] == t.key]
    assert len(served) == 2
    row = _one(
        db, "select * from raw_tiktok_shop.statement_transactions where connection_id = ? and id = ?", CID, t.key
    )
    assert row["settlement_amount"] == Decimal(t.record["settlement_amount"])
    s = _item(catalogue, "duplicated id across pages (Shopify)")
    row = _one(db, "select * from raw_shopify.orders where connection_id = ? and id = ?", CID, s.key)
    assert row["name"] == s.record["name"] + "-newer"
    mart = query(db, "select count(*) from marts.fct_order_reconciliation where shopify_order_id = ?", s.key)
    assert mart[0][0] == 1


def test_r5_references_to_missing_records_still_reach_the_marts(catalogue: Catalogue) -> None:
    db = catalogue.warehouse
    product = _item(catalogue, "deleted product referenced by orders")
    skus = {s["id"] for s in product.record["skus"]}
    orders = {
        o["id"]
        for o in catalogue.served[("tiktok_shop", "orders")]
        if any(li.get("sku_id") in skus for li in o.get("line_items") or [] if isinstance(li, dict))
    }
    loaded = {r[0] for r in query(db, "select id from raw_tiktok_shop.orders where connection_id = ?", CID)}
    orders &= loaded  # a referencing order may carry another case's corruption
    assert orders
    in_mart = {
        r[0]
        for r in query(db, "select tiktok_order_id from marts.fct_order_reconciliation where connection_id = ?", CID)
    }
    assert orders <= in_mart
    gone = _item(catalogue, "deleted product referenced by orders (Shopify)")
    variants = {v["id"] for v in gone.record["variants"]["nodes"]}
    lines = query(
        db,
        "select order_id, variant_id from raw_shopify.order_line_items where connection_id = ? and sku in "
        "(select unnest(?::varchar[]))",
        CID,
        [v["sku"] for v in gone.record["variants"]["nodes"]],
    )
    assert lines, "orders referencing the deleted variants must still load"
    assert all(v is None or v in variants for _, v in lines)
    ret = _item(catalogue, "return for an unknown order")
    _one(db, "select * from raw_tiktok_shop.returns where connection_id = ? and return_id = ?", CID, ret.key)
    n = query(db, "select count(*) from marts.fct_refund_reconciliation where tiktok_return_id = ?", ret.key)[0][0]
    assert n == 1


def test_r6_a_quarantined_statement_takes_its_transactions_with_it(catalogue: Catalogue) -> None:
    item = _item(catalogue, "statement quarantined with its transactions")
    txns = {
        t["id"] for t in catalogue.served[("tiktok_shop", "statement_transactions")] if t["statement_id"] == item.key
    }
    assert txns
    rows = [
        q
        for q in catalogue.quarantine["tiktok_shop"]
        if q["entity"] == "statement_transactions" and q["record_key"] in txns
    ]
    assert {q["record_key"] for q in rows} == txns
    assert all(q["field"] == "statement_id" and item.key in q["reason"] for q in rows)


def test_r7_unknown_fields_are_kept(catalogue: Catalogue) -> None:
    item = _item(catalogue, "unknown extra fields")
    row = _one(
        catalogue.warehouse, "select * from raw_tiktok_shop.orders where connection_id = ? and id = ?", CID, item.key
    )
    value = row["brand_new_field"]
    assert (json.loads(value) if isinstance(value, str) else value) == {"added_by": "a later API version", "n": 3}
    assert row[MARKER] == item.case.kind


def test_r8_a_far_but_in_range_timestamp_is_kept(catalogue: Catalogue) -> None:
    item = _item(catalogue, "timestamp far ahead but in range")
    row = _one(
        catalogue.warehouse,
        "select delivery_time from raw_tiktok_shop.orders where connection_id = ? and id = ?",
        CID,
        item.key,
    )
    assert row["delivery_time"] == datetime(2099, 1, 1, tzinfo=UTC)


def test_r9_offsets_become_utc(catalogue: Catalogue) -> None:
    item = _item(catalogue, "timestamp with an offset (Shopify)")
    row = _one(
        catalogue.warehouse,
        "select processed_at from raw_shopify.orders where connection_id = ? and id = ?",
        CID,
        item.key,
    )
    assert row["processed_at"] == datetime(2026, 11, 1, 4, 30, tzinfo=UTC)


# --------------------------------------------------------------------------- without HTTP


def test_payloads_the_sandbox_cannot_serve_are_refused_by_the_shapes() -> None:
    """Lone surrogates and NUL cannot travel through the emulators' UTF-8 JSON; a real API could
    still send ``"\\ud800"``. The shapes refuse them naming the field instead of failing the load."""
    from extract.tiktok_shop import shapes as sh

    order = {
        "id": "1",
        "status": "COMPLETED",
        "create_time": 1_763_000_000,
        "update_time": 1_763_000_000,
        "payment": {"currency": "USD", "total_amount": "1.00"},
        "line_items": [
            {"id": "2", "sku_id": "3", "seller_sku": "A\ud800", "display_status": "COMPLETED", "sale_price": "1.00"}
        ],
    }
    with pytest.raises(InvalidField) as info:
        sh.shape_order(copy.deepcopy(order), "us")
    assert info.value.field == "line_items[0].seller_sku"
    row = quarantine_row("us", "orders", order, info.value, "1")
    json.loads(row["payload"])
    row["payload"].encode("utf-8")
