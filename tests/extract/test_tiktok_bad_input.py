"""Malformed TikTok records: each lands in quarantine with the field named, everything else loads.

A generated merchant is exported as a scenario directory, a few JSONL lines are corrupted the
way real payloads go wrong (float money, exponent notation, NaN, too many decimals, unknown
status, empty SKU, bad timestamp, mixed currencies, an adjustment type the docs do not list),
and the sandbox serves the result.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sandbox.state import export_state, load_state

try:
    from .tiktok_support import expected_keys, extract, loaded_keys, records, rows, serving, small_merchant
except ImportError:
    from tiktok_support import expected_keys, extract, loaded_keys, records, rows, serving, small_merchant

pytestmark = pytest.mark.slow

CID = "us"


def corrupt(path: Path, edits: list[tuple[int, Any]]) -> list[dict[str, Any]]:
    """Apply ``edit(record)`` to the given line numbers (0-based); the edited records."""
    lines = path.read_text().splitlines()
    out = []
    for index, edit in edits:
        rec = json.loads(lines[index])
        edit(rec)
        lines[index] = json.dumps(rec)
        out.append(rec)
    path.write_text("\n".join(lines) + "\n")
    return out


def setter(*path: Any, value: Any) -> Any:
    def edit(rec: dict[str, Any]) -> None:
        target = rec
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return edit


#: (entity file, line, where to write, value, expected quarantine field)
CASES = [
    ("orders", 0, ("payment", "total_amount"), 12.5, "payment.total_amount"),
    ("orders", 1, ("payment", "sub_total"), "1e3", "payment.sub_total"),
    ("orders", 2, ("line_items", 0, "sale_price"), "10.123", "line_items[0].sale_price"),
    ("orders", 3, ("status",), "TELEPORTED", "status"),
    ("orders", 4, ("line_items", 0, "seller_sku"), "", "line_items[0].seller_sku"),
    ("orders", 5, ("paid_time",), "2026-11-01T10:00:00Z", "paid_time"),
    ("orders", 6, ("line_items", 0, "currency"), "EUR", "line_items[0].currency"),
    ("orders", 7, ("payment", "tax"), "NaN", "payment.tax"),
    ("returns", 0, ("return_status",), "LOST_IN_SPACE", "return_status"),
    ("returns", 1, ("refund_amount", "refund_total"), 5.5, "refund_amount.refund_total"),
    ("products", 0, ("skus", 0, "price", "sale_price"), "12.345", "skus[0].price.sale_price"),
    ("payments", 0, ("amount", "value"), "1,000.00", "amount.value"),
]
ID_FIELD = {"returns": "return_id"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("tiktok_bad")
    scenario = root / "scenario"
    export_state(small_merchant(), scenario)
    base = scenario / CID / "tiktok_shop"
    bad: dict[str, set[str]] = {}
    for entity, line, where, value, _ in CASES:
        (rec,) = corrupt(base / f"{entity}.jsonl", [(line, setter(*where, value=value))])
        bad.setdefault(entity, set()).add(str(rec[ID_FIELD.get(entity, "id")]))
    # an adjustment type the reference does not list: loaded and flagged, never quarantined
    txns = [json.loads(x) for x in (base / "statement_transactions.jsonl").read_text().splitlines()]
    novel = next(i for i, t in enumerate(txns) if t["type"] != "ORDER")
    (novel_rec,) = corrupt(base / "statement_transactions.jsonl", [(novel, setter("type", value="BRAND_NEW_FEE"))])
    with serving(load_state(scenario), qps_per_path=100_000) as srv:
        run = extract(srv, root, (CID,))[CID]
        yield srv, root / "warehouse.duckdb", run, bad, novel_rec


def test_each_bad_record_is_quarantined_with_the_field_named(loaded) -> None:
    _, db, run, bad, _ = loaded
    quarantined = {(q["entity"], q["record_key"]): q for q in rows(db, "quarantine", CID)}
    # the emulator derives a withdrawal from the broken payment, carrying the same amount
    (derived,) = [q for (entity, _), q in quarantined.items() if entity == "withdrawals"]
    assert derived["field"] == "amount" and "1,000.00" in derived["reason"]
    assert len(quarantined) == len(CASES) + 1
    for entity, _line, _, _, field in CASES:
        hits = [q for (e, _key), q in quarantined.items() if e == entity and q["field"] == field]
        assert len(hits) == 1, (entity, field, sorted(quarantined))
        assert field in hits[0]["reason"] and json.loads(hits[0]["payload"])
        assert hits[0]["record_key"] in bad[entity]
    per_entity = Counter(entity for entity, *_ in CASES)
    assert {e: run.stats.tables[e].quarantined for e in per_entity} == per_entity


def test_good_records_all_load_and_bad_ones_keep_their_children_out(loaded) -> None:
    srv, db, _, bad, _ = loaded
    want = expected_keys(srv, CID)
    orders = {o["id"]: o for o in records(srv, CID, "orders")}
    bad_lines = {li["id"] for oid in bad["orders"] for li in orders[oid]["line_items"]}
    assert set(loaded_keys(db, "orders", CID)) == want["orders"] - bad["orders"]
    assert set(loaded_keys(db, "order_line_items", CID)) == want["order_line_items"] - bad_lines
    returns = {r["return_id"]: r for r in records(srv, CID, "returns")}
    bad_return_lines = {li["return_line_item_id"] for rid in bad["returns"] for li in returns[rid]["return_line_items"]}
    assert set(loaded_keys(db, "returns", CID)) == want["returns"] - bad["returns"]
    assert set(loaded_keys(db, "return_line_items", CID)) == want["return_line_items"] - bad_return_lines
    products = {p["id"]: p for p in records(srv, CID, "products")}
    bad_skus = {s["id"] for pid in bad["products"] for s in products[pid]["skus"]}
    assert set(loaded_keys(db, "products", CID)) == want["products"] - bad["products"]
    assert set(loaded_keys(db, "product_skus", CID)) == want["product_skus"] - bad_skus
    assert set(loaded_keys(db, "payments", CID)) == want["payments"] - bad["payments"]
    for table in ("cancellations", "statements", "statement_transactions", "warehouses", "inventory"):
        assert set(loaded_keys(db, table, CID)) == want[table], table


def test_an_undocumented_transaction_type_is_loaded_and_flagged(loaded) -> None:
    _, db, run, _, novel = loaded
    (row,) = [t for t in rows(db, "statement_transactions", CID) if t["id"] == novel["id"]]
    assert row["type"] == "BRAND_NEW_FEE" and row["is_documented_type"] is False
    assert run.stats.undocumented_transaction_types == {"BRAND_NEW_FEE": 1}
