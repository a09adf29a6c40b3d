"""The bad-input catalogue: malformed and hostile payloads, each with the outcome the pipeline owes.

Every case corrupts one record of a generated merchant, in the platform's own wire shape, before
the sandbox serves it; ``tests/reliability/test_bad_inputs.py`` runs the real extraction over HTTP
and checks the outcome:

* ``QUARANTINE``: the record lands in ``quarantine`` with the field named (a path from the record
  root) and a reason naming the record and what is wrong; none of its rows load;
* a rule id (``R1`` ...): the record is handled by the documented rule of that id in
  docs/reliability.md §"Bad-input rules", checked by the test named after the case.

Cases are data, so the catalogue is counted and listed in the docs from here. ``pick`` chooses
which record a case may corrupt (the first unused one that fits); ``mutate`` edits it in place and
may touch the connection's other records (a deletion, a duplicate).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

Record = dict[str, Any]
QUARANTINE = "quarantine"

#: the field that identifies a top-level record, per platform × entity
ID_FIELD = {("tiktok_shop", "returns"): "return_id", ("tiktok_shop", "cancellations"): "cancel_id"}
#: an undocumented field every TikTok case record carries (kept as sent, R7): it finds the record
#: in quarantine even when the case destroyed its id
MARKER = "reliability_case"

SQL_INJECTION = "x'); DROP TABLE raw_tiktok_shop.orders; --"
HUGE = 20_000
FAR_FUTURE_UNIX = 4_200_000_000  # 2103-02-04: past the accepted range (2000-2100)
IN_RANGE_FUTURE_UNIX = 4_070_908_800  # 2099-01-01: accepted, kept as sent (R8)


def id_field(platform: str, entity: str) -> str:
    return ID_FIELD.get((platform, entity), "id")


@dataclass(frozen=True)
class Case:
    kind: str
    platform: str
    entity: str
    mutate: Callable[[Record, Any], Any]
    expect: str = QUARANTINE
    #: the field the quarantine row must name, and a word its reason must hold
    field: str | None = None
    reason: str | None = None
    pick: Callable[[Record, Any], bool] = lambda rec, conn: True
    #: the quarantine row's entity when it differs from ``entity`` (inventory is derived from products)
    quarantine_entity: str | None = None


# --------------------------------------------------------------------------- editing helpers


def put(*path: Any, value: Any) -> Callable[[Record, Any], None]:
    """Set ``record[path...] = value`` (ints index lists)."""

    def edit(rec: Record, _conn: Any) -> None:
        target: Any = rec
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return edit


def drop(*path: Any) -> Callable[[Record, Any], None]:
    def edit(rec: Record, _conn: Any) -> None:
        target: Any = rec
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return edit


def prefix(*path: Any, text: str) -> Callable[[Record, Any], None]:
    def edit(rec: Record, _conn: Any) -> None:
        target: Any = rec
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = text + target[path[-1]]

    return edit


def has_lines(n: int = 1) -> Callable[[Record, Any], bool]:
    return lambda rec, _conn: len(rec.get("line_items") or []) >= n


def shopify_has_lines(rec: Record, _conn: Any) -> bool:
    return bool(rec["lineItems"]["nodes"])


def has_inventory(rec: Record, _conn: Any) -> bool:
    return bool(rec["skus"] and rec["skus"][0].get("inventory"))


def paid(rec: Record, _conn: Any) -> bool:
    return rec.get("payment_status") == "PAID"


def ordered_product(rec: Record, conn: Any) -> bool:
    return bool({s["id"] for s in rec["skus"]} & referenced_skus(conn))


def shopify_ordered_product(rec: Record, conn: Any) -> bool:
    return bool({v["id"] for v in rec["variants"]["nodes"]} & shopify_referenced_variants(conn))


def tiktok_duplicate(rec: Record, conn: Any) -> None:
    """A statement transaction listed twice under its statement (the emulator serves search results
    by id, so a duplicated order cannot reach the wire from state; the fault matrix replays pages)."""
    conn.tiktok_shop["statement_transactions"].append(copy.deepcopy(rec))


def last_statement(rec: Record, conn: Any) -> bool:
    """A transaction of one of the newest statements (the statement cases take the oldest paid ones)."""
    return rec.get("statement_id") in {s["id"] for s in conn.tiktok_shop["statements"][-10:]}


def shopify_duplicate(rec: Record, conn: Any) -> None:
    newer = copy.deepcopy(rec)
    stamp = datetime.fromisoformat(rec["updatedAt"].replace("Z", "+00:00")) + timedelta(hours=1)
    newer["updatedAt"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    newer["name"] = rec["name"] + "-newer"
    conn.shopify["orders"].append(newer)


def tiktok_delete_product(rec: Record, conn: Any) -> None:
    """The product is gone from the catalogue (deleted) while orders still reference its SKUs."""
    conn.tiktok_shop["products"].remove(rec)


def shopify_delete_product(rec: Record, conn: Any) -> None:
    """Deleted with its variants and their inventory levels, as Shopify does; orders keep their lines."""
    conn.shopify["products"].remove(rec)
    items = {v["inventoryItem"]["id"] for v in rec["variants"]["nodes"] if v.get("inventoryItem")}
    conn.shopify["inventory_levels"][:] = [
        lv for lv in conn.shopify["inventory_levels"] if lv["item"]["id"] not in items
    ]


def statement_and_transactions_renamed(new_id: str) -> Callable[[Record, Any], None]:
    """A statement id that cannot go into a URL path; its transactions follow it."""

    def edit(rec: Record, conn: Any) -> None:
        old = rec["id"]
        rec["id"] = new_id
        for txn in conn.tiktok_shop["statement_transactions"]:
            if txn.get("statement_id") == old:
                txn["statement_id"] = new_id

    return edit


def referenced_skus(conn: Any) -> set[str]:
    return {
        li.get("sku_id")
        for o in conn.tiktok_shop["orders"]
        if isinstance(o.get("line_items"), list)
        for li in o["line_items"]
        if isinstance(li, dict)
    }


def shopify_referenced_variants(conn: Any) -> set[str]:
    return {
        (li.get("variant") or {}).get("id")
        for o in conn.shopify["orders"]
        for li in o["lineItems"]["nodes"]
        if li.get("variant")
    }


# --------------------------------------------------------------------------- the catalogue

T, S = "tiktok_shop", "shopify"

CASES: list[Case] = [
    # ---- identity
    Case("missing id", T, "orders", put("id", value=None), field="id", reason="id is missing"),
    Case("id is an object", T, "orders", put("id", value={"id": 1}), field="id", reason="must be a string"),
    Case("empty id", T, "returns", put("return_id", value=""), field="return_id", reason="id is missing"),
    Case(
        "huge id",
        T,
        "cancellations",
        put("cancel_id", value="9" * 300),
        field="cancel_id",
        reason="characters long",
    ),
    Case(
        "id with path characters",
        T,
        "statements",
        statement_and_transactions_renamed("../../finance/202309/payments"),
        field="id",
        reason="not a plain token",
        pick=paid,
    ),
    # ---- enums
    Case("unknown order status", T, "orders", put("status", value="TELEPORTED"), field="status", reason="TELEPORTED"),
    Case(
        "unknown line status",
        T,
        "orders",
        put("line_items", 0, "display_status", value="LOST_IN_SPACE"),
        field="line_items[0].display_status",
        reason="LOST_IN_SPACE",
        pick=has_lines(),
    ),
    Case(
        "unknown return status",
        T,
        "returns",
        put("return_status", value="RETURN_TO_SENDER"),
        field="return_status",
        reason="unknown value",
    ),
    Case(
        "unknown financial status",
        S,
        "orders",
        put("displayFinancialStatus", value="PAID_OUT"),
        field="displayFinancialStatus",
        reason="PAID_OUT",
    ),
    # ---- money
    Case(
        "money as a float",
        T,
        "orders",
        put("payment", "total_amount", value=12.5),
        field="payment.total_amount",
        reason="float",
    ),
    Case(
        "money in exponent notation",
        T,
        "orders",
        put("payment", "sub_total", value="1e3"),
        field="payment.sub_total",
        reason="not a plain decimal",
    ),
    Case(
        "money with 3 decimals",
        T,
        "orders",
        put("line_items", 0, "sale_price", value="10.123"),
        field="line_items[0].sale_price",
        reason="more than 2 decimals",
        pick=has_lines(),
    ),
    Case("money NaN", T, "orders", put("payment", "tax", value="NaN"), field="payment.tax", reason="NaN"),
    Case(
        "money Infinity",
        T,
        "orders",
        put("payment", "shipping_fee", value="Infinity"),
        field="payment.shipping_fee",
        reason="Infinity",
    ),
    Case(
        "money with a thousands separator",
        T,
        "payments",
        put("amount", "value", value="1,000.00"),
        field="amount.value",
        reason="1,000.00",
    ),
    Case(
        "money as a boolean",
        T,
        "returns",
        put("refund_amount", "refund_total", value=True),
        field="refund_amount.refund_total",
        reason="bool",
    ),
    Case(
        "required money missing",
        T,
        "orders",
        put("payment", "total_amount", value=None),
        field="payment.total_amount",
        reason="money is missing",
    ),
    Case(
        "zero-decimal currency with a trailing .0",
        T,
        "payments",
        put("payment_amount_before_exchange", value={"value": "1000.0", "currency": "JPY"}),
        expect="R1",
    ),
    Case(
        "money as a float (Shopify)",
        S,
        "orders",
        put("totalPriceSet", "shopMoney", "amount", value=42.5),
        field="totalPriceSet.shopMoney.amount",
        reason="float",
    ),
    Case(
        "money with 3 decimals (Shopify)",
        S,
        "orders",
        put("subtotalPriceSet", "shopMoney", "amount", value="12.005"),
        field="subtotalPriceSet.shopMoney.amount",
        reason="decimals",
    ),
    Case(
        "money in exponent notation (Shopify)",
        S,
        "products",
        put("variants", "nodes", 0, "price", value="1E+2"),
        field="variants.nodes[0].price",
        reason="not a plain decimal",
    ),
    Case(
        "money NaN (Shopify)",
        S,
        "orders",
        put("totalTaxSet", "shopMoney", "amount", value="NaN"),
        field="totalTaxSet.shopMoney.amount",
        reason="NaN",
    ),
    Case(
        "money -Infinity (Shopify)",
        S,
        "orders",
        put("totalDiscountsSet", "shopMoney", "amount", value="-Infinity"),
        field="totalDiscountsSet.shopMoney.amount",
        reason="Infinity",
    ),
    # ---- currencies
    Case(
        "currency mismatch within an order",
        T,
        "orders",
        put("line_items", 0, "currency", value="EUR"),
        field="line_items[0].currency",
        reason="differs",
        pick=has_lines(),
    ),
    Case(
        "currency mismatch within a statement",
        T,
        "statement_transactions",
        put("currency", value="GBP"),
        field="currency",
        reason="differs",
        pick=last_statement,
    ),
    Case(
        "currency mismatch within an order (Shopify)",
        S,
        "orders",
        put("lineItems", "nodes", 0, "originalUnitPriceSet", "shopMoney", "currencyCode", value="EUR"),
        field="lineItems.nodes[0].originalUnitPriceSet.shopMoney.currencyCode",
        reason="differs",
        pick=shopify_has_lines,
    ),
    # ---- quantities and integers
    Case(
        "negative quantity (Shopify)",
        S,
        "orders",
        put("lineItems", "nodes", 0, "quantity", value=-2),
        field="lineItems.nodes[0].quantity",
        reason="below the minimum",
        pick=shopify_has_lines,
    ),
    Case(
        "quantity as a word (Shopify)",
        S,
        "orders",
        put("lineItems", "nodes", 0, "quantity", value="two"),
        field="lineItems.nodes[0].quantity",
        reason="two",
        pick=shopify_has_lines,
    ),
    Case(
        "negative committed stock (Shopify)",
        S,
        "inventory_levels",
        put("quantities", 1, "quantity", value=-3),
        field="quantities[1].quantity",
        reason="below the minimum",
    ),
    Case(
        "negative stock",
        T,
        "products",
        put("skus", 0, "inventory", 0, "quantity", value=-5),
        field="skus[0].warehouse_inventory[0].available_quantity",
        reason="below the minimum",
        pick=has_inventory,
        quarantine_entity="inventory",
    ),
    Case(
        "integer beyond 64 bits",
        T,
        "orders",
        put("user_id", value=2**80),
        field="user_id",
        reason="64-bit",
    ),
    # ---- timestamps
    Case(
        "timestamp as words",
        T,
        "orders",
        put("create_time", value="yesterday"),
        field="create_time",
        reason="not a Unix timestamp",
    ),
    Case("timestamp as a float", T, "orders", put("paid_time", value=1.7e9), field="paid_time", reason="float"),
    Case(
        "timestamp in milliseconds",
        T,
        "returns",
        lambda rec, _c: rec.__setitem__("create_time", rec["create_time"] * 1000),
        field="create_time",
        reason="milliseconds",
    ),
    Case(
        "timestamp in the far future",
        T,
        "cancellations",
        put("update_time", value=FAR_FUTURE_UNIX),
        field="update_time",
        reason="outside",
    ),
    Case(
        "timestamp before the epoch",
        T,
        "orders",
        put("create_time", value=-86_400),
        field="create_time",
        reason="outside",
    ),
    Case(
        "timestamp far ahead but in range",
        T,
        "orders",
        put("delivery_time", value=IN_RANGE_FUTURE_UNIX),
        expect="R8",
    ),
    Case(
        "timestamp without a time zone (Shopify)",
        S,
        "orders",
        put("processedAt", value="2026-11-01T10:00:00"),
        field="processedAt",
        reason="no time zone",
    ),
    Case(
        "impossible date (Shopify)",
        S,
        "orders",
        put("processedAt", value="2026-13-45T25:61:00Z"),
        field="processedAt",
        reason="not an ISO-8601",
    ),
    Case(
        "timestamp in the far future (Shopify)",
        S,
        "orders",
        put("closedAt", value="2150-01-01T00:00:00Z"),
        field="closedAt",
        reason="outside",
    ),
    Case(
        "timestamp before the epoch (Shopify)",
        S,
        "orders",
        put("processedAt", value="1969-12-31T23:59:59Z"),
        field="processedAt",
        reason="outside",
    ),
    Case(
        "timestamp with an offset (Shopify)",
        S,
        "orders",
        put("processedAt", value="2026-11-01T10:00:00+05:30"),
        expect="R9",
    ),
    # ---- structure
    Case("null where an object is expected", T, "orders", put("payment", value=None), field="payment", reason="object"),
    Case(
        "nested list replaced by a string",
        T,
        "orders",
        put("line_items", value="see attachment"),
        field="line_items",
        reason="expected a list",
    ),
    Case(
        "list replaced by a string (Shopify)",
        S,
        "orders",
        put("tags", value="TikTok, gift"),
        field="tags",
        reason="Iterable",
    ),
    Case(
        "null where an object is expected (Shopify)",
        S,
        "orders",
        put("lineItems", "nodes", 0, "originalUnitPriceSet", value={"shopMoney": None}),
        field="lineItems.nodes[0].originalUnitPriceSet.shopMoney",
        reason="null",
        pick=shopify_has_lines,
    ),
    Case(
        "boolean as a word (Shopify)",
        S,
        "orders",
        put("test", value="yes"),
        field="test",
        reason="yes",
    ),
    Case(
        "duplicate line id within an order",
        T,
        "orders",
        lambda rec, _c: rec["line_items"].__setitem__(1, {**rec["line_items"][1], "id": rec["line_items"][0]["id"]}),
        field="line_items[1].id",
        reason="repeats",
        pick=has_lines(2),
    ),
    Case(
        "unknown extra fields",
        T,
        "orders",
        put("brand_new_field", value={"added_by": "a later API version", "n": 3}),
        expect="R7",
    ),
    # ---- strings
    Case(
        "huge SKU",
        T,
        "orders",
        put("line_items", 0, "seller_sku", value="S" * HUGE),
        field="line_items[0].seller_sku",
        reason="characters long",
        pick=has_lines(),
    ),
    Case(
        "empty SKU",
        T,
        "orders",
        put("line_items", 0, "seller_sku", value="   "),
        field="line_items[0].seller_sku",
        reason="empty",
        pick=has_lines(),
    ),
    Case(
        "huge SKU (Shopify)",
        S,
        "orders",
        put("lineItems", "nodes", 0, "sku", value="S" * HUGE),
        field="lineItems.nodes[0].sku",
        reason="characters long",
        pick=shopify_has_lines,
    ),
    Case("huge free text", T, "products", put("title", value="T" * 100_000), expect="R3"),
    Case(
        "right-to-left override in a SKU",
        T,
        "orders",
        prefix("line_items", 0, "seller_sku", text="\u202e"),
        expect="R2",
        pick=has_lines(),
    ),
    Case(
        "zero-width space in a SKU",
        T,
        "products",
        lambda rec, _c: rec["skus"][0].__setitem__(
            "seller_sku", rec["skus"][0]["seller_sku"].replace("-", "-\u200b", 1)
        ),
        expect="R2",
    ),
    Case(
        "combining accent in a SKU (Shopify)",
        S,
        "products",
        lambda rec, _c: rec["variants"]["nodes"][0].__setitem__("sku", rec["variants"]["nodes"][0]["sku"] + "e\u0301"),
        expect="R2",
    ),
    Case(
        "SQL in a SKU",
        T,
        "orders",
        put("line_items", 0, "seller_sku", value=SQL_INJECTION),
        expect="R3",
        pick=has_lines(),
    ),
    Case(
        "markup in a title (Shopify)",
        S,
        "products",
        put("title", value="<script>alert('x')</script> Tee"),
        expect="R3",
    ),
    # ---- across records
    Case("duplicated id across pages", T, "statement_transactions", tiktok_duplicate, expect="R4", pick=last_statement),
    Case("duplicated id across pages (Shopify)", S, "orders", shopify_duplicate, expect="R4"),
    Case(
        "deleted product referenced by orders",
        T,
        "products",
        tiktok_delete_product,
        expect="R5",
        pick=ordered_product,
    ),
    Case(
        "deleted product referenced by orders (Shopify)",
        S,
        "products",
        shopify_delete_product,
        expect="R5",
        pick=shopify_ordered_product,
    ),
    Case(
        "return for an unknown order",
        T,
        "returns",
        put("order_id", value="576999999999999999"),
        expect="R5",
    ),
    Case(
        "statement quarantined with its transactions",
        T,
        "statements",
        put("payment_status", value="SENT_TO_THE_MOON"),
        field="payment_status",
        reason="SENT_TO_THE_MOON",
        pick=paid,
    ),
]

KINDS = [c.kind for c in CASES]
assert len(set(KINDS)) == len(KINDS), "catalogue kinds must be unique"
