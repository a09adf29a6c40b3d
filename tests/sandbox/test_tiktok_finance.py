"""TikTok emulator finance endpoints and money representation."""

from __future__ import annotations

from decimal import Decimal

import pytest

try:
    from .tiktok_fixtures import TikTok, dec, running, walk
except ImportError:
    from tiktok_fixtures import TikTok, dec, running, walk

TOTALS = ("settlement_amount", "revenue_amount", "fee_amount", "adjustment_amount", "shipping_cost_amount")


@pytest.fixture(scope="module")
def tt():
    with running() as client:
        yield client


def test_statement_transactions_sum_to_the_statement(tt: TikTok) -> None:
    statements = tt.collect(
        "GET", "/finance/202309/statements", "statements", "id", 2, {"sort_field": "statement_time"}
    )
    assert len(statements) == 3
    for st in statements:
        path = f"/finance/202309/statements/{st['id']}/statement_transactions"
        head = tt.ok("GET", path, {"sort_field": "order_create_time", "page_size": 1})
        assert head["statement_id"] == st["id"]
        for field in (*TOTALS, "statement_time", "net_sales_amount"):
            assert head[field] == st[field]
        txns = tt.collect("GET", path, "statement_transactions", "id", 1, {"sort_field": "order_create_time"})
        assert head["total_count"] == len(txns) > 0
        assert all(t["statement_id"] == st["id"] for t in txns)
        for field in TOTALS:
            assert sum((dec(t[field]) for t in txns), Decimal(0)) == dec(st[field]), (st["id"], field)
        for t in txns:  # US local seller formula
            assert dec(t["settlement_amount"]) == (
                dec(t["net_sales_amount"])
                + dec(t["shipping_cost_amount"])
                + dec(t["fee_amount"])
                + dec(t["adjustment_amount"])
            )


def test_statement_transactions_errors(tt: TikTok) -> None:
    env = tt.call("GET", "/finance/202309/statements/404/statement_transactions", {"sort_field": "order_create_time"})
    assert env["code"] not in (0, 36009004) and "does not exist" in env["message"]
    env = tt.call("GET", "/finance/202309/statements/6970000000000000001/statement_transactions")
    assert env["code"] == 36009004 and "sort_field" in env["message"]


def test_payments_match_paid_statements(tt: TikTok) -> None:
    payments = tt.collect("GET", "/finance/202309/payments", "payments", "id", 1, {"sort_field": "create_time"})
    statements = {s["payment_id"]: s for s in tt.records("statements") if s["payment_id"]}
    assert {p["id"] for p in payments} == set(statements)
    for p in payments:
        assert dec(p["amount"]["value"]) == dec(statements[p["id"]]["settlement_amount"])
        assert (p["status"] == "PAID") == (statements[p["id"]]["payment_status"] == "PAID")


def test_withdrawals_are_derived_from_paid_payments(tt: TikTok) -> None:
    paid = [p for p in tt.records("payments") if p["status"] == "PAID"]
    assert len(paid) == 1 < len(tt.records("payments"))
    data = tt.ok("GET", "/finance/202309/withdrawals", {"types": "WITHDRAW,SETTLE,TRANSFER,REVERSE"})
    assert data["next_page_token"] == ""
    (w,) = data["withdrawals"]
    assert w["type"] == "SETTLE" and w["status"] == "SUCCESS"
    assert w["amount"] == paid[0]["amount"]["value"] and w["currency"] == "USD"
    assert w["create_time"] == paid[0]["paid_time"]
    assert tt.ok("GET", "/finance/202309/withdrawals", {"types": "SETTLE"})["withdrawals"] == [w]
    assert tt.ok("GET", "/finance/202309/withdrawals", {"types": "REVERSE"})["withdrawals"] == []
    assert tt.ok("GET", "/finance/202309/withdrawals", {"types": "SETTLE", "create_time_ge": w["create_time"] + 1}) == {
        "withdrawals": [],
        "next_page_token": "",
    }
    assert tt.call("GET", "/finance/202309/withdrawals")["code"] == 36009004
    assert tt.call("GET", "/finance/202309/withdrawals", {"types": "REFUND"})["code"] == 36009004


def test_no_floats_anywhere_and_money_is_decimal_strings(tt: TikTok) -> None:
    responses = [
        tt.ok("POST", "/order/202309/orders/search", {"page_size": 100}, {}),
        tt.ok("POST", "/product/202309/products/search", {"page_size": 100}, {}),
        tt.ok("POST", "/return_refund/202309/returns/search", {"page_size": 50}, {}),
        tt.ok("POST", "/return_refund/202309/cancellations/search", {"page_size": 50}, {}),
        tt.ok("GET", "/finance/202309/statements", {"sort_field": "statement_time"}),
        tt.ok("GET", "/finance/202309/payments", {"sort_field": "create_time"}),
        tt.ok("GET", "/finance/202309/withdrawals", {"types": "SETTLE"}),
    ]
    for st in tt.records("statements"):
        path = f"/finance/202309/statements/{st['id']}/statement_transactions"
        responses.append(tt.ok("GET", path, {"sort_field": "order_create_time", "page_size": 100}))
    money_keys = {"sub_total", "total_amount", "tax", "shipping_fee", "original_price", "sale_price", "value"}
    checked = 0
    for data in responses:
        for path, value in walk(data):
            assert not isinstance(value, float), path
            leaf = path.rsplit(".", 1)[-1]
            if (leaf.endswith("_amount") or leaf in money_keys or leaf.startswith("refund_")) and value is not None:
                dec(value)
                checked += 1
    assert checked > 300
