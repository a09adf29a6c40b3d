"""Bad records from the API: each lands in ``quarantine`` with the field named; everything else loads.

A generated merchant is exported, a few JSONL lines are corrupted, and the scenario is loaded
back into a sandbox (``export_state`` / ``load_state``). Two corruptions never reach a client as
data: the emulator's GraphQL layer refuses an unknown enum value and a non-integer ``Int`` with
field errors, which the paged reader isolates to the record. The bulk path sees only the
corruptions that GraphQL passes through (the emulator drops field errors from bulk output), so it
is checked on those after the other two are repaired.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sandbox.generator import generate
from sandbox.state import export_state, load_state
from tests.extract.shopify_support import (
    DATASET,
    KEYS,
    SMALL,
    expected_keys,
    extract,
    keys,
    query,
    serving,
)

pytestmark = pytest.mark.slow
CID = "us"
TINY = replace(
    SMALL,
    connections=(CID,),
    tiktok_orders_per_connection=40,
    shopify_web_orders_per_connection=20,
    products_per_connection=8,
)


def _rewrite(path: Path, edits: dict[int, Any]) -> list[str]:
    """Apply ``edits[line_no](record)`` to those lines; returns the ids of the edited records."""
    lines = path.read_text().splitlines()
    ids = []
    for n, edit in edits.items():
        record = json.loads(lines[n])
        edit(record)
        lines[n] = json.dumps(record)
        ids.append(record["id"])
    path.write_text("\n".join(lines) + "\n")
    return ids


def _set(path: str, value: Any) -> Any:
    def edit(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = record
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return edit


ORDER_EDITS = {
    0: ("totalPriceSet.shopMoney.amount", 42.5),
    1: ("subtotalPriceSet.shopMoney.amount", "12.005"),
    2: ("processedAt", "2026-13-45T25:61:00Z"),
    3: ("lineItems.nodes.0.quantity", -2),
    4: ("displayFinancialStatus", "PAID_OUT"),  # refused by GraphQL: a field error
    5: ("lineItems.nodes.0.quantity", "two"),  # refused by GraphQL: a field error
}
EXPECTED_FIELDS = {
    0: "totalPriceSet.shopMoney.amount",
    1: "subtotalPriceSet.shopMoney.amount",
    2: "processedAt",
    3: "lineItems.nodes[0].quantity",
    4: "displayFinancialStatus",
    5: "lineItems.nodes[0].quantity",
}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shopify_bad_scenario")
    export_state(generate(TINY)[0], out)
    return out


def quarantined(db: Path) -> dict[str, tuple[str, str, str]]:
    rows = query(db, f"select record_key, entity, field, reason from {DATASET}.quarantine")
    return {key: (entity, field, reason) for key, entity, field, reason in rows}


def test_each_bad_record_is_quarantined_naming_its_field(scenario: Path, tmp_path: Path) -> None:
    shop = scenario / CID / "shopify"
    orders = _rewrite(shop / "orders.jsonl", {n: _set(p, v) for n, (p, v) in ORDER_EDITS.items()})
    (product,) = _rewrite(shop / "products.jsonl", {0: _set("variants.nodes.0.price", "19.999")})
    (level,) = _rewrite(shop / "inventory_levels.jsonl", {0: _set("quantities.1.quantity", -3)})
    bad = frozenset([*orders, product, level])

    with serving(load_state(scenario)) as sandbox:
        paged = extract(sandbox, tmp_path / "paged", CID, use_bulk=False)
        db = tmp_path / "paged" / "warehouse.duckdb"
        found = quarantined(db)
        assert set(found) == bad
        for n, ident in enumerate(orders):
            entity, field, reason = found[ident]
            assert (entity, field) == ("orders", EXPECTED_FIELDS[n]), reason
        assert found[product][:2] == ("products", "variants.nodes[0].price")
        assert found[level][:2] == ("inventory_levels", "quantities[1].quantity")
        assert "float" in found[orders[0]][2] and "decimals" in found[orders[1]][2]
        assert "PAID_OUT" in found[orders[4]][2] and "two" in found[orders[5]][2]
        assert paged.summary.rows["quarantine"] == len(bad)

        expected = expected_keys(sandbox, CID, skip=bad)
        for table, key in KEYS.items():
            assert keys(db, table, key, CID) == expected.get(table, set()), table

        # bulk: the same data-level corruptions quarantine the same way once GraphQL can serve every record
        state = sandbox.srv.ctx.state.connection(CID).shopify["orders"]
        for record in state:
            if record["id"] == orders[4]:
                record["displayFinancialStatus"] = "PAID"
            if record["id"] == orders[5]:
                record["lineItems"]["nodes"][0]["quantity"] = 2
        extract(sandbox, tmp_path / "bulk", CID)
        bulk = quarantined(tmp_path / "bulk" / "warehouse.duckdb")
        assert {k: v[:2] for k, v in bulk.items()} == {k: v[:2] for k, v in found.items() if k not in orders[4:]}
