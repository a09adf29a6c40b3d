"""Incremental loading: writes made through the client's mutations, a clock advance, a backdated
record inside the lookback and one outside it; the next run must pick up exactly the window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.generator import generate
from sandbox.state import iso
from tests.extract.shopify_support import (
    DATASET,
    KEYS,
    SMALL,
    Run,
    Sandbox,
    expected_keys,
    extract,
    keys,
    query,
    serving,
)

pytestmark = pytest.mark.slow
CID = "us"


@dataclass
class Story:
    sandbox: Sandbox
    db: Path
    first: Run
    second: Run
    cursor: datetime
    report: dict[str, Any]
    ids: dict[str, str]
    level: tuple[str, str, int]
    tracking: str


def _order(sandbox: Sandbox, pred: Any) -> dict[str, Any]:
    return next(o for o in sandbox.srv.ctx.state.connection(CID).shopify["orders"] if pred(o))


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("shopify_incremental")
    state = generate(replace(SMALL, connections=(CID,)))[0]
    with serving(state) as sandbox:
        first = extract(sandbox, root, CID)
        db = root / "warehouse.duckdb"
        cursor = query(db, f"select max(updated_at) from {DATASET}.orders")[0][0]
        sandbox.advance_clock(3 * 3600)
        client = sandbox.client(CID)
        ids: dict[str, str] = {}

        tagged = _order(sandbox, lambda o: o["updatedAt"] < iso(cursor - timedelta(hours=3)))
        assert client.tags_add(tagged["id"], ["reconciled"]).ok
        ids["tagged"] = tagged["id"]

        level = state.connection(CID).shopify["inventory_levels"][0]
        item, location = level["item"]["id"], level["location"]["id"]
        current = client.inventory_level(item, location)
        available = next(q["quantity"] for q in current["quantities"] if q["name"] == "available")
        entry = {"inventoryItemId": item, "locationId": location, "quantity": available + 5}
        stale = client.inventory_set_quantities(
            "available", "correction", [{**entry, "compareQuantity": available - 1}]
        )
        assert not stale.ok and stale.user_errors[0]["code"] == "COMPARE_QUANTITY_STALE"
        assert client.inventory_set_quantities("available", "correction", [{**entry, "compareQuantity": available}]).ok

        def open_fo(o: dict[str, Any]) -> bool:
            return any(
                fo["status"] == "OPEN" and any(li["remainingQuantity"] > 0 for li in fo["lineItems"]["nodes"])
                for fo in o["fulfillmentOrders"]["nodes"]
            ) and not o.get("cancelledAt")

        shipped = _order(sandbox, open_fo)
        fo = next(fo for fo in shipped["fulfillmentOrders"]["nodes"] if fo["status"] == "OPEN")
        tracking = "1ZTESTINCREMENTAL01"
        made = client.fulfillment_create(fo["id"], None, {"number": tracking, "company": "UPS", "url": None})
        assert made.ok, made.user_errors
        ids["shipped"] = shipped["id"]

        refunded = _order(sandbox, lambda o: not o["refunds"] and o["displayFulfillmentStatus"] == "FULFILLED")
        line = refunded["lineItems"]["nodes"][0]
        result = client.refund_create_record_only(
            refunded["id"],
            "TikTok Shop return 4035000000000001",
            [{"lineItemId": line["id"], "quantity": 1, "restockType": "NO_RESTOCK"}],
            shipping_amount="1.00",
        )
        assert result.ok, result.user_errors
        ids["refunded"] = refunded["id"]

        # edits made behind the API's back: one stamped inside the lookback, one before it
        old = [o for o in state.connection(CID).shopify["orders"] if o["updatedAt"] < iso(cursor - timedelta(hours=4))]
        inside, outside = old[-1], old[-2]
        for order, stamp in ((inside, cursor - timedelta(minutes=1)), (outside, cursor - timedelta(hours=3))):
            order["tags"] = [*order["tags"], "edited-directly"]
            order["updatedAt"] = iso(stamp)
        sandbox.store(CID).invalidate("orders")
        ids["inside"], ids["outside"] = inside["id"], outside["id"]

        second = extract(sandbox, root, CID)
        pipeline = dlt.attach(pipeline_name=f"shoptok_shopify_{CID}", pipelines_dir=str(root / "pipelines"))
        report = pipeline.state["sources"]["shopify"]["resources"]["orders"]["last_run"]
        assert sandbox.counters().get("shopify.refund_money_transactions", 0) == 0
        yield Story(sandbox, db, first, second, cursor, report, ids, (item, location, available + 5), tracking)


def _loaded_by_second_run(story: Story, table: str) -> set[str]:
    load_id = story.second.summary.load_ids[-1]
    return {r[0] for r in query(story.db, f"select id from {DATASET}.{table} where _dlt_load_id = ?", [load_id])}


def test_the_next_run_reads_exactly_the_lookback_window(story: Story) -> None:
    assert story.report["mode"] == "paged"
    start = datetime.fromisoformat(story.report["window_start"])
    assert start == story.cursor - timedelta(hours=2)
    orders = [o for o in story.sandbox.records(CID, "orders") if o["updatedAt"] >= iso(start)]
    window = {o["id"] for o in orders}
    assert _loaded_by_second_run(story, "orders") == window
    assert {story.ids[k] for k in ("tagged", "shipped", "refunded", "inside")} <= window
    assert story.ids["outside"] not in window
    levels = {lv["id"] for lv in story.sandbox.records(CID, "inventory_levels") if lv["updatedAt"] >= iso(start)}
    assert _loaded_by_second_run(story, "inventory_levels") == levels
    assert story.report["records"] == len(window)
    assert story.report["new"] == sum(o["createdAt"] >= iso(start) for o in orders)
    assert story.report["updated"] == sum(o["createdAt"] < iso(start) for o in orders) >= 3


def test_writes_are_visible_in_the_warehouse(story: Story) -> None:
    db, ids = story.db, story.ids
    tags = dict(
        query(
            db,
            f"select id, tags from {DATASET}.orders where id in (?, ?, ?)",
            [ids["tagged"], ids["inside"], ids["outside"]],
        )
    )
    assert "reconciled" in tags[ids["tagged"]]
    assert "edited-directly" in tags[ids["inside"]]
    assert "edited-directly" not in tags[ids["outside"]]  # outside the lookback: not re-read, by design
    item, location, quantity = story.level
    sql = f"select available from {DATASET}.inventory_levels where inventory_item_id = ? and location_id = ?"
    assert query(db, sql, [item, location]) == [(quantity,)]
    sql = f"select count(*) from {DATASET}.order_fulfillments where order_id = ? and tracking_number = ?"
    assert query(db, sql, [ids["shipped"], story.tracking]) == [(1,)]
    refund = query(db, f"select id, note from {DATASET}.order_refunds where order_id = ?", [ids["refunded"]])
    assert [note for _, note in refund] == ["TikTok Shop return 4035000000000001"]
    sql = f"select subtotal_amount from {DATASET}.order_refund_shipping_lines where refund_id = ?"
    assert [str(a) for (a,) in query(db, sql, [refund[0][0]])] == ["1.00"]
    sql = f"select count(*) from {DATASET}.order_refund_transactions where refund_id = ?"
    assert query(db, sql, [refund[0][0]]) == [(0,)]


def test_keys_still_match_the_sandbox_after_the_increment(story: Story) -> None:
    expected = expected_keys(story.sandbox, CID)
    for table, key in KEYS.items():
        assert keys(story.db, table, key, CID) == expected.get(table, set()), table
