"""TikTok emulator list endpoints: paging completeness, ordering, token rules and filters."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sandbox.state import MerchantState, load_state

try:
    from .tiktok_fixtures import AS_OF, MINI, W_RENO, TikTok, running
except ImportError:
    from tiktok_fixtures import AS_OF, MINI, W_RENO, TikTok, running

ORDERS = "/order/202309/orders/search"
PRODUCTS = "/product/202309/products/search"
RETURNS = "/return_refund/202309/returns/search"
CANCELS = "/return_refund/202309/cancellations/search"
STATEMENTS = "/finance/202309/statements"
PAYMENTS = "/finance/202309/payments"
WITHDRAWALS = "/finance/202309/withdrawals"
BULK_STATEMENT = "6970000000000000099"

# (method, path, data key, id field, entity, fixed params, min page size, max page size)
ENDPOINTS: dict[str, tuple[str, str, str, str, str, dict[str, Any], int, int]] = {
    "orders": ("POST", ORDERS, "orders", "id", "orders", {}, 1, 100),
    "orders_by_update": (
        "POST",
        ORDERS,
        "orders",
        "id",
        "orders",
        {"sort_field": "update_time", "sort_order": "ASC"},
        1,
        100,
    ),
    "products": ("POST", PRODUCTS, "products", "id", "products", {}, 1, 100),
    "returns": ("POST", RETURNS, "return_orders", "return_id", "returns", {}, 10, 50),
    "cancellations": ("POST", CANCELS, "cancellations", "cancel_id", "cancellations", {}, 1, 50),
    "statements": (
        "GET",
        STATEMENTS,
        "statements",
        "id",
        "statements",
        {"sort_field": "statement_time"},
        1,
        100,
    ),
    "payments": ("GET", PAYMENTS, "payments", "id", "payments", {"sort_field": "create_time"}, 1, 100),
}


@pytest.fixture(scope="module")
def tt():
    with running() as client:
        yield client


def bulk_state() -> MerchantState:
    """The mini scenario plus clones, with many equal sort keys to exercise tie-breaking."""
    state = load_state(MINI)
    data = state.connection("us").tiktok_shop

    def clone(entity: str, n: int, id_field: str, prefix: str, **times: Any) -> None:
        base = list(data[entity])
        for i in range(n):
            rec = copy.deepcopy(base[i % len(base)])
            rec[id_field] = f"{prefix}{i:0{19 - len(prefix)}d}"
            for field, fn in times.items():
                rec[field] = fn(i)
            data[entity].append(rec)

    clone(
        "orders",
        60,
        "id",
        "59",
        create_time=lambda i: AS_OF - 1000 - (i // 3) * 60,
        update_time=lambda i: AS_OF - 500 - (i % 7) * 30,
    )
    clone("products", 12, "id", "1788", create_time=lambda i: AS_OF - 9000 - (i // 4) * 10)
    clone("returns", 33, "return_id", "4099", create_time=lambda i: AS_OF - (i // 5) * 100)
    clone("cancellations", 14, "cancel_id", "5799", create_time=lambda i: AS_OF - (i // 2) * 100)
    clone("statements", 25, "id", "6971", statement_time=lambda i: AS_OF - (i // 2) * 86400)
    clone("payments", 15, "id", "8029", create_time=lambda i: AS_OF - (i // 3) * 86400)
    for i, p in enumerate(data["payments"][2:]):
        p["status"] = "PAID" if i % 2 else "PROCESSING"
        p["paid_time"] = p["create_time"] + 100 if i % 2 else None
    data["statements"].append({**data["statements"][0], "id": BULK_STATEMENT})
    base_txn = data["statement_transactions"][0]
    for i in range(23):
        data["statement_transactions"].append(
            {
                **base_txn,
                "id": f"6989{i:015d}",
                "statement_id": BULK_STATEMENT,
                "order_create_time": AS_OF - (i // 4),
            }
        )
    return state


@pytest.fixture(scope="module")
def bulk():
    with running(bulk_state()) as client:
        yield client


def _check(tt: TikTok, name: str, sizes: list[int]) -> None:
    method, path, key, id_field, entity, params, _, _ = ENDPOINTS[name]
    expected = {r[id_field] for r in tt.records(entity)}
    assert expected
    for size in sizes:
        got = tt.collect(method, path, key, id_field, size, params, {} if method == "POST" else None)
        assert {r[id_field] for r in got} == expected, (name, size)


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_every_page_size_pages_completely_on_the_mini_fixture(tt: TikTok, name: str) -> None:
    lo = ENDPOINTS[name][6]
    n = len(tt.records(ENDPOINTS[name][4]))
    _check(tt, name, list(range(lo, max(lo, n + 1) + 1)))


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_paging_completeness_with_ties_on_bulk_data(bulk: TikTok, name: str) -> None:
    lo, hi = ENDPOINTS[name][6], ENDPOINTS[name][7]
    _check(bulk, name, sorted({lo, lo + 1, 7 if lo <= 7 else lo + 3, 13, hi}))


def test_statement_transactions_and_withdrawals_page_completely(bulk: TikTok) -> None:
    path = f"/finance/202309/statements/{BULK_STATEMENT}/statement_transactions"
    expected = {t["id"] for t in bulk.records("statement_transactions") if t["statement_id"] == BULK_STATEMENT}
    assert len(expected) == 23
    for size in (1, 2, 5, 23, 100):
        got = bulk.collect("GET", path, "statement_transactions", "id", size, {"sort_field": "order_create_time"})
        assert {t["id"] for t in got} == expected
    paid = [p for p in bulk.records("payments") if p["status"] == "PAID"]
    for size in (1, 3, 100):
        got = bulk.collect("GET", WITHDRAWALS, "withdrawals", "id", size, {"types": "SETTLE,WITHDRAW"})
        assert len(got) == len(paid) > 5


def test_default_order_is_create_time_desc_and_sort_order_flips_it(bulk: TikTok) -> None:
    desc = bulk.collect("POST", ORDERS, "orders", "id", 9, {}, {})
    keys = [(o["create_time"], o["id"]) for o in desc]
    assert keys == sorted(keys, reverse=True)
    asc = bulk.collect("POST", ORDERS, "orders", "id", 9, {"sort_order": "ASC"}, {})
    assert [o["id"] for o in asc] == [o["id"] for o in reversed(desc)]
    by_update = bulk.collect("POST", ORDERS, "orders", "id", 4, {"sort_field": "update_time", "sort_order": "ASC"}, {})
    assert [o["update_time"] for o in by_update] == sorted(o["update_time"] for o in by_update)


def test_total_count_and_page_tokens_are_stable_and_bound_to_the_query(tt: TikTok) -> None:
    first = tt.ok("POST", ORDERS, {"page_size": 4}, {})
    assert first["total_count"] == 11 and len(first["orders"]) == 4
    assert tt.ok("POST", ORDERS, {"page_size": 4}, {})["next_page_token"] == first["next_page_token"]
    token = first["next_page_token"]
    # the same token continues with another page size
    second = tt.ok("POST", ORDERS, {"page_size": 5, "page_token": token}, {})
    assert not {o["id"] for o in second["orders"]} & {o["id"] for o in first["orders"]}
    # ...but not with other filters
    env = tt.call("POST", ORDERS, {"page_size": 4, "page_token": token}, {"order_status": "COMPLETED"})
    assert env["code"] == 36009004 and "page_token" in env["message"]
    last = tt.ok("POST", ORDERS, {"page_size": 100}, {})
    assert last["next_page_token"] == "" and last["total_count"] == 11


def test_page_size_bounds_per_endpoint(tt: TikTok) -> None:
    assert tt.call("POST", RETURNS, {"page_size": 9}, {})["code"] == 36009004
    assert tt.call("POST", RETURNS, {"page_size": 51}, {})["code"] == 36009004
    assert len(tt.ok("POST", RETURNS, {}, {})["return_orders"]) == 2  # default page size 10
    assert tt.call("POST", CANCELS, {"page_size": 51}, {})["code"] == 36009004
    assert tt.call("POST", PRODUCTS, {}, {})["code"] == 36009004  # page_size required
    assert tt.call("GET", STATEMENTS, {"sort_field": "statement_time", "page_size": 101})["code"] == 36009004


# --------------------------------------------------------------------------- filters


def _ids(rows: list[dict[str, Any]], field: str = "id") -> set[str]:
    return {r[field] for r in rows}


def test_order_filters(tt: TikTok) -> None:
    orders = tt.records("orders")
    got = tt.collect("POST", ORDERS, "orders", "id", 50, {}, {"order_status": "AWAITING_SHIPMENT"})
    assert _ids(got) == {"5760000000000000103", "5760000000000000110"}
    got = tt.collect("POST", ORDERS, "orders", "id", 50, {}, {"warehouse_ids": [W_RENO]})
    assert _ids(got) == _ids([o for o in orders if o["warehouse_id"] == W_RENO]) and len(got) == 3
    got = tt.collect("POST", ORDERS, "orders", "id", 50, {}, {"shipping_type": "TIKTOK"})
    assert _ids(got) == {"5760000000000000110"}
    got = tt.collect("POST", ORDERS, "orders", "id", 50, {}, {"is_buyer_request_cancel": True})
    assert _ids(got) == {"5760000000000000103"}
    times = sorted({o["update_time"] for o in orders})
    ge, lt = times[2], times[7]
    got = tt.collect("POST", ORDERS, "orders", "id", 2, {}, {"update_time_ge": ge, "update_time_lt": lt})
    assert _ids(got) == _ids([o for o in orders if ge <= o["update_time"] < lt])
    assert any(o["update_time"] == ge for o in got) and all(o["update_time"] != lt for o in got)
    got = tt.collect("POST", ORDERS, "orders", "id", 3, {}, {"create_time_ge": AS_OF - 86400 * 3})
    assert _ids(got) == _ids([o for o in orders if o["create_time"] >= AS_OF - 86400 * 3])


def test_order_detail_by_ids(tt: TikTok) -> None:
    ids = ["5760000000000000108", "5760000000000000104", "9999"]
    data = tt.ok("GET", "/order/202309/orders", {"ids": ",".join(ids)})
    assert [o["id"] for o in data["orders"]] == ids[:2]
    env = tt.call("GET", "/order/202309/orders", {"ids": ",".join(str(i) for i in range(51))})
    assert env["code"] == 36009004 and "at most 50" in env["message"]
    assert tt.call("GET", "/order/202309/orders")["code"] == 36009004


def test_product_filters_and_search_shape(tt: TikTok) -> None:
    products = tt.records("products")
    active = tt.collect("POST", PRODUCTS, "products", "id", 2, {}, {"status": "ACTIVATE"})
    assert _ids(active) == _ids([p for p in products if p["status"] == "ACTIVATE"]) and len(active) == 2
    assert len(tt.collect("POST", PRODUCTS, "products", "id", 2, {}, {"status": "ALL"})) == 3
    mugs = tt.collect("POST", PRODUCTS, "products", "id", 2, {}, {"seller_skus": ["MUG-15OZ"]})
    assert _ids(mugs) == {"1729000000000000103"}
    edge = sorted(p["update_time"] for p in products)[1]
    got = tt.collect("POST", PRODUCTS, "products", "id", 2, {}, {"update_time_le": edge})
    assert _ids(got) == _ids([p for p in products if p["update_time"] <= edge]) and len(got) == 2
    shape = active[0]
    assert set(shape) == {"id", "title", "status", "create_time", "update_time", "skus"}
    assert set(shape["skus"][0]) == {"id", "seller_sku", "price", "inventory"}
    detail = tt.ok("GET", f"/product/202309/products/{shape['id']}")
    assert "external_sku_id" in detail["skus"][0] and "main_images" in detail
    env = tt.call("GET", "/product/202309/products/123")
    assert env["code"] != 0 and "does not exist" in env["message"]


def test_return_and_cancellation_filters(tt: TikTok) -> None:
    got = tt.collect("POST", RETURNS, "return_orders", "return_id", 10, {}, {"return_types": ["REFUND"]})
    assert _ids(got, "return_id") == {"4035000000000000002"}
    got = tt.collect(
        "POST",
        RETURNS,
        "return_orders",
        "return_id",
        10,
        {},
        {"return_status": ["RETURN_OR_REFUND_REQUEST_COMPLETE"]},
    )
    assert _ids(got, "return_id") == {"4035000000000000001"}
    got = tt.collect("POST", RETURNS, "return_orders", "return_id", 10, {}, {"order_ids": ["5760000000000000107"]})
    assert [r["order_id"] for r in got] == ["5760000000000000107"]
    got = tt.collect("POST", RETURNS, "return_orders", "return_id", 10, {}, {"update_time_ge": AS_OF - 86400})
    assert _ids(got, "return_id") == {"4035000000000000002"}
    pending = {"cancel_status": ["CANCELLATION_REQUEST_PENDING"]}
    got = tt.collect("POST", CANCELS, "cancellations", "cancel_id", 5, {}, pending)
    assert [c["order_id"] for c in got] == ["5760000000000000103"]
    got = tt.collect("POST", CANCELS, "cancellations", "cancel_id", 5, {}, {"cancel_types": ["CANCEL"]})
    assert got == []
    got = tt.collect("POST", CANCELS, "cancellations", "cancel_id", 5, {}, {"create_time_lt": AS_OF - 86400})
    assert _ids(got, "cancel_id") == {"5791000000000000001"}


def test_finance_filters(tt: TikTok) -> None:
    statements = tt.records("statements")
    got = tt.collect(
        "GET", STATEMENTS, "statements", "id", 1, {"sort_field": "statement_time", "payment_status": "PAID"}
    )
    assert _ids(got) == _ids([s for s in statements if s["payment_status"] == "PAID"]) and len(got) == 1
    cut = sorted(s["statement_time"] for s in statements)[1]
    got = tt.collect(
        "GET", STATEMENTS, "statements", "id", 5, {"sort_field": "statement_time", "statement_time_lt": cut}
    )
    assert len(got) == 1
    got = tt.collect(
        "GET", STATEMENTS, "statements", "id", 5, {"sort_field": "statement_time", "statement_time_ge": cut}
    )
    assert len(got) == 2
    assert tt.call("GET", STATEMENTS, {})["code"] == 36009004  # sort_field is required
    payments = tt.records("payments")
    first = min(p["create_time"] for p in payments)
    got = tt.collect("GET", PAYMENTS, "payments", "id", 5, {"sort_field": "create_time", "create_time_ge": first + 1})
    assert len(got) == len(payments) - 1
    assert tt.call("GET", PAYMENTS, {})["code"] == 36009004
